package rewrite

import (
	"bytes"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

var sheetURL = &url.URL{Scheme: "https", Host: "shop.example", Path: "/css/theme.css"}

// rewriteSheet writes in to a StyleSheetWriter in pieces of the sizes
// sizes gives (cycled; the whole at once when empty) and returns what it
// wrote and its stats. eager makes it look for runs' ends after every
// write, so that small sheets are cut into runs too.
func rewriteSheet(t testing.TB, in []byte, opts Options, eager bool, sizes ...int) (string, *Stats) {
	t.Helper()
	var out bytes.Buffer
	s := NewStyleSheetWriter(&out, opts)
	for i := 0; len(in) > 0; i++ {
		n := len(in)
		if len(sizes) > 0 {
			n = min(n, sizes[i%len(sizes)])
		}
		if eager {
			s.next = 1
		}
		if k, err := s.Write(in[:n]); err != nil || k != n {
			t.Fatalf("Write: %d, %v", k, err)
		}
		in = in[n:]
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return out.String(), s.Stats()
}

// wholeSheet is in rewritten as one run: what the Writer's reading of a
// <style> makes of it.
func wholeSheet(in []byte, opts Options) string {
	var w Writer
	w.init(nil, opts, &Stats{})
	out, _ := w.rewriteCSS(string(in), "style")
	return out
}

// TestStyleSheetWriter checks a style sheet file's rewrite: the URLs the
// policy does not keep are neutralised where they lie, whatever their
// action, relative ones resolved against the sheet's URL, and every
// other byte leaves as it came.
func TestStyleSheetWriter(t *testing.T) {
	opts := Options{Policy: trackerPolicy(Defer), PageURL: sheetURL}
	for _, tt := range []struct{ in, want string }{
		{"@charset \"utf-8\";\n@import url(https://tracker.example/x.css) screen;\n@import 'fonts.css';\na { color: red }\n",
			"@charset \"utf-8\";\n@import \"\" screen;\n@import 'fonts.css';\na { color: red }\n"},
		{`.hero{background:url(../img/a.png) no-repeat, url( "//tracker.example/p.gif" )}`,
			`.hero{background:url(../img/a.png) no-repeat, url("data:,")}`},
		{`@font-face{font-family:x;src:url(/f.woff2) format("woff2"),url(https://px.tracker.example/f.woff)}`,
			`@font-face{font-family:x;src:url(/f.woff2) format("woff2"),url("data:,")}`},
		{`b{background:image-set("https://tracker.example/a.png" 1x, "a@2x.png" 2x)}`,
			`b{background:image-set("data:," 1x, "a@2x.png" 2x)}`},
		// the escaped url( whose unquoted URL CSS ends at the first ")"
		{`p{b:u\72l(a"b)"c)d;e";background:url(https://tracker.example/p.gif)}`,
			`p{b:u\72l(a"b)"c)d;e";background:url("data:,")}`},
		// no scheme-relative URL left whole in a comment or a string
		{"/* url(https://tracker.example/no.gif) */ a::after{content:\"url(https://tracker.example/no.gif)\"}",
			"/* url(https://tracker.example/no.gif) */ a::after{content:\"url(https://tracker.example/no.gif)\"}"},
	} {
		got, st := rewriteSheet(t, []byte(tt.in), opts, false)
		if got != tt.want {
			t.Errorf("%s\n got %s\nwant %s", tt.in, got, tt.want)
		}
		if st.BytesIn != int64(len(tt.in)) || st.BytesOut != int64(len(got)) {
			t.Errorf("%s: bytes in %d out %d", tt.in, st.BytesIn, st.BytesOut)
		}
	}
	// Removed and deferred are the same in a file: it cannot be given back.
	in := `a{background:url(https://tracker.example/p.gif)}`
	rm, st := rewriteSheet(t, []byte(in), Options{Policy: trackerPolicy(Remove), PageURL: sheetURL}, false)
	if def, _ := rewriteSheet(t, []byte(in), opts, false); rm != def || st.Actions[Remove] != 1 {
		t.Errorf("remove %s (%v), defer %s", rm, st.Actions, def)
	}
	// A report-only rewrite counts and changes nothing.
	ro, st := rewriteSheet(t, []byte(in), Options{Policy: trackerPolicy(Defer), PageURL: sheetURL, ReportOnly: true}, false)
	if ro != in || st.Actions[Defer] != 1 {
		t.Errorf("report only: %s, %v", ro, st.Actions)
	}
}

// TestStyleSheetRuns writes generated sheets, made of the pieces where
// the lexer and CSS part (TestCSSURLsOracle's) and of rules, in random
// pieces: the output must be the same as the whole sheet's read as one
// run, so that the runs it is cut into read as they do in the whole.
func TestStyleSheetRuns(t *testing.T) {
	pieces := []string{
		`url(`, `u\72l(`, `\75rl(`, `\url(`, `image-set(`, `@import `, `"`, `'`, `(`, `)`, `\`, "\\\n",
		`;`, `{`, `}`, `/*`, `*/`, "\n", ` `, `a`, "\x00", "\xc5", "é",
		`https://tracker.example/p.gif`, `url(//tracker.example/q)`, `"//tracker.example/s"`,
		"a{background:url(/ok.png)}", "b{background:url(https://tracker.example/x.png)}\n",
	}
	opts := Options{Policy: trackerPolicy(Defer), PageURL: sheetURL}
	rng := rand.New(rand.NewPCG(7, 8))
	var sb strings.Builder
	changed := 0
	for range 3000 {
		sb.Reset()
		for range 1 + rng.IntN(40) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		in := []byte(sb.String())
		want := wholeSheet(in, opts)
		if want != string(in) {
			changed++
		}
		for _, sizes := range [][]int{nil, {1}, {3, 1, 7}, {rng.IntN(64) + 1}} {
			got, _ := rewriteSheet(t, in, opts, true, sizes...)
			if got != want {
				t.Fatalf("%q in pieces of %v:\n got %q\nwant %q", in, sizes, got, want)
			}
		}
	}
	if changed < 300 {
		t.Errorf("only %d sheets of 3000 changed: the pieces test little", changed)
	}
}

// TestStyleSheetStreams checks that a sheet's runs go out as they end,
// before its end, and that the writer holds no more than a run and what
// came after it.
func TestStyleSheetStreams(t *testing.T) {
	var out bytes.Buffer
	s := NewStyleSheetWriter(&out, Options{Policy: trackerPolicy(Defer), PageURL: sheetURL})
	rule := []byte(".r{background:url(https://tracker.example/p.gif)}\n")
	for range 20000 { // 1 MB
		if _, err := s.Write(rule); err != nil {
			t.Fatal(err)
		}
		if len(s.buf) > 2*styleRunMin+len(rule) {
			t.Fatalf("%d bytes held", len(s.buf))
		}
	}
	want := strings.Repeat(".r{background:url(\"data:,\")}\n", 20000)
	if out.Len() < len(want)-2*styleRunMin {
		t.Fatalf("%d bytes of %d out before the end", out.Len(), len(want))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != want || s.Stats().Actions[Defer] != 20000 {
		t.Errorf("%d bytes, %v", out.Len(), s.Stats().Actions)
	}
}

// TestStyleSheetOversize: a run longer than MaxTokenSize cannot be read
// whole; the sheet is cut there, counted, and nothing after it is
// written, however it arrives.
func TestStyleSheetOversize(t *testing.T) {
	head := "a{color:red}\nb{" // the long run begins after "{"
	long := "background:url(data:image/png;base64," + strings.Repeat("A", 4096) + ")}"
	in := []byte(head + long + "c{background:url(https://tracker.example/p.gif)}")
	opts := Options{Policy: trackerPolicy(Defer), PageURL: sheetURL, MaxTokenSize: 1024}
	for _, sizes := range [][]int{nil, {100}, {1}} {
		got, st := rewriteSheet(t, in, opts, false, sizes...)
		if got != head || st.FailClosed[FailOversizeStyle] != 1 {
			t.Errorf("pieces %v: %d bytes (%.40q…), %v", sizes, len(got), got, st.FailClosed)
		}
	}
	// Under the cap, the same sheet is read whole.
	opts.MaxTokenSize = 8192
	if got, _ := rewriteSheet(t, in, opts, false, 100); got != head+long+`c{background:url("data:,")}` {
		t.Errorf("under the cap: %d bytes (%.40q…)", len(got), got)
	}
}

// TestStyleSheetShiftJIS: in a sheet that declares Shift_JIS, 表 is 0x95
// 0x5C, a backslash to a reader of bytes, which would take the string's
// closing quote for an escaped one and hide the URL after it.
func TestStyleSheetShiftJIS(t *testing.T) {
	enc, ok := StyleSheetEncoding(nil, "text/css; charset=Shift_JIS")
	if enc != "shift_jis" || !ok {
		t.Fatalf("encoding %s %v", enc, ok)
	}
	opts := Options{Policy: trackerPolicy(Defer), PageURL: sheetURL, Encoding: enc}
	for in, want := range map[string]string{
		"a::after{content:\"\x95\x5c\"}b{background:url(https://tracker.example/p.gif)}c{}": "a::after{content:\"\x95\x5c\"}b{background:url(\"data:,\")}c{}",
		// The runs end where Shift_JIS reads a ";", not where the bytes
		// show one: here 表 and an escaped quote keep the string open past
		// the first ";", to the quote after "x:". Read from that ";", the
		// quote would open a string that hides the URL.
		"a{content:\"\x95\x5c\x5c\";x:\"};background:url(https://tracker.example/p.gif)}": "a{content:\"\x95\x5c\x5c\";x:\"};background:url(\"data:,\")}",
	} {
		for _, sizes := range [][]int{nil, {1}, {5}} {
			if got, _ := rewriteSheet(t, []byte(in), opts, true, sizes...); got != want {
				t.Errorf("%q in pieces %v: %q", in, sizes, got)
			}
		}
	}
}

// TestStyleSheetEncoding: a byte order mark, the Content-Type's charset,
// then an @charset that begins the sheet; else UTF-8.
func TestStyleSheetEncoding(t *testing.T) {
	for _, tt := range []struct {
		head, ct, want string
		ascii          bool
	}{
		{"a{}", "text/css", "utf-8", true},
		{"\xef\xbb\xbfa{}", "text/css; charset=latin1", "utf-8", true},
		{"\xff\xfea\x00", "text/css", "utf-16le", false},
		{"a{}", "text/css; charset=ISO-8859-1", "windows-1252", true},
		{"a{}", "text/css; charset=utf-16", "utf-16le", false},
		{`@charset "euc-jp";a{}`, "text/css", "euc-jp", true},
		{`@charset "UTF-16BE";a{}`, "text/css", "utf-8", true},
		{`@charset "iso-2022-jp";`, "text/css", "iso-2022-jp", false},
		{`@charset 'latin1';`, "text/css", "utf-8", true}, // not the rule's exact bytes
		{`@charset "nonsense";`, "text/css", "utf-8", true},
		{` @charset "latin1";`, "text/css", "utf-8", true},
	} {
		if got, ascii := StyleSheetEncoding([]byte(tt.head), tt.ct); got != tt.want || ascii != tt.ascii {
			t.Errorf("%q, %s: %s %v, want %s %v", tt.head, tt.ct, got, ascii, tt.want, tt.ascii)
		}
	}
}

// FuzzStyleSheet: a sheet written in pieces is rewritten as the whole
// is, read as one run, and nothing panics.
func FuzzStyleSheet(f *testing.F) {
	for _, s := range []string{
		"@import url(https://tracker.example/x.css);a{background:url(//tracker.example/p.gif)}",
		`p{b:u\72l(a"b)"c)d;e";background:url(https://tracker.example/p.gif)}`,
		`a{b:url("u" "x)y") url("https://tracker.example/p.gif")}`,
		"a{content:\"\x95\x5c\x5c\";x:\"};background:url(https://tracker.example/p.gif)}",
		"@charset \"utf-8\";\n.a{background:image-set(\"//tracker.example/a.png\" 1x)}",
	} {
		f.Add([]byte(s), uint8(1))
	}
	opts := Options{Policy: trackerPolicy(Defer), PageURL: sheetURL}
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		if len(in) > 1<<16 {
			return
		}
		want := wholeSheet(in, opts)
		if got, _ := rewriteSheet(t, in, opts, true, int(step%64)+1); got != want {
			t.Fatalf("in pieces of %d:\n got %q\nwant %q", step%64+1, got, want)
		}
	})
}
