package rewrite

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
)

func fuzzSeeds(f *testing.F) {
	for _, row := range adversarial {
		f.Add(expandT(row))
	}
	for _, g := range generated()[:200] {
		f.Add(g)
	}
}

// FuzzRewrite is the escape oracle: after rewriting with the tracker policy,
// x/net/html finds no live tracker, with scripting on or off. A rewrite
// that defers, with the loader, must also write the same however the input
// is cut.
func FuzzRewrite(f *testing.F) {
	fuzzSeeds(f)
	loader := func(tok, nonce string) []byte { return []byte("<script src=/l.js></script>") }
	f.Fuzz(func(t *testing.T, in string) {
		out := rewriteString(t, in, Options{Policy: trackerPolicy(Remove), Token: "tok"})
		oracleCheck(t, "fuzz", in, out, mentionsTracker, trackerScript)
		if len(in) > 2 {
			opts := Options{Policy: trackerPolicy(Defer), Token: "tok", Loader: loader}
			if whole, cut := rewriteString(t, in, opts), chunked(t, in, opts, []int{len(in) / 3, len(in) / 2}); whole != cut {
				t.Fatalf("cut into writes, %q becomes\n%q\nnot\n%q", in, cut, whole)
			}
		}
	})
}

// FuzzPassthrough checks that the empty policy writes the input back byte
// for byte, whatever the chunking.
func FuzzPassthrough(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		if out := rewriteString(t, in, Options{}); out != in {
			t.Fatalf("passthrough changed %q to %q", in, out)
		}
		if len(in) > 2 {
			if out := chunked(t, in, Options{}, []int{len(in) / 3, len(in) / 2}); out != in {
				t.Fatalf("chunked passthrough changed %q", in)
			}
		}
	})
}

// FuzzPassUsual holds the read loop's runs of usual tokens (passUsual),
// the tags and images it knows again (Writer.seen) and the page's own
// URLs kept unasked (OwnHostPolicy) against the token-by-token reading:
// the same output, tree and counts, written whole and in three writes. A
// removal with them leaves no live tracker (the escape oracle).
func FuzzPassUsual(f *testing.F) {
	fuzzSeeds(f)
	for i, a := range usualPieces {
		f.Add(a + usualPieces[(i*7+3)%len(usualPieces)] + a)
	}
	loader := func(tok, nonce string) []byte { return []byte("<script src=/l.js></script>") }
	f.Fuzz(func(t *testing.T, in string) {
		doc := "<!doctype html><html><head><title>t</title></head><body>" + in + in
		opts := Options{Policy: ownTracker{trackerPolicy(Defer)}, PageURL: pageURL, Token: "tok", Loader: loader}
		checkPassUsual(t, doc, len(doc), opts)
		checkPassUsual(t, doc, 1+len(doc)/3, opts)
		out := rewriteString(t, doc, Options{Policy: ownTracker{trackerPolicy(Remove)}, Token: "tok"})
		oracleCheck(t, "fuzz", doc, out, mentionsTracker, trackerScript)
	})
}

// fuzzEncodings are the pages FuzzEncodings rewrites: one declared in each
// encoding whose characters may take an ASCII byte, one in UTF-8 and one
// in windows-1252, and one that declares none (Undeclared), which the
// browser may read in any of the guessed encodings, in windows-1252, or,
// in a frame, in its parent's UTF-8. Each is checked as each of its views
// decodes it.
var fuzzEncodings = []struct {
	name  string
	views []string
}{
	{"shift_jis", []string{"shift_jis"}},
	{"big5", []string{"big5"}},
	{"gbk", []string{"gbk"}},
	{"euc-kr", []string{"euc-kr"}},
	{"utf-8", []string{"utf-8"}},
	{"windows-1252", []string{"windows-1252"}},
	{Undeclared, []string{"windows-1252", "utf-8", "shift_jis", "big5", "gbk", "euc-kr"}},
}

// FuzzEncodings is the escape oracle as the browser reads the page: the
// output of the removing rewrite, decoded in each encoding the browser
// may read the page in, has no live tracker for x/net/html, with
// scripting on or off. A deferring rewrite writes the same however the
// input is cut.
func FuzzEncodings(f *testing.F) {
	undeclared := uint8(len(fuzzEncodings) - 1)
	for i, s := range encodingSeeds() {
		f.Add(s, uint8(i))
		if i%2 == 1 {
			f.Add(s, undeclared) // read as each of the guessed encodings
		}
	}
	f.Fuzz(func(t *testing.T, in string, pick uint8) {
		e := fuzzEncodings[int(pick)%len(fuzzEncodings)]
		out := rewriteString(t, in, Options{Policy: trackerPolicy(Remove), Token: "tok", Encoding: e.name})
		for _, v := range e.views {
			oracleCheck(t, e.name+" read as "+v, in, decodeAs(t, v, out), mentionsTracker, trackerScript)
		}
		if len(in) > 2 {
			opts := Options{Policy: trackerPolicy(Defer), Token: "tok", Encoding: e.name}
			if whole, cut := rewriteString(t, in, opts), chunked(t, in, opts, []int{len(in) / 3, len(in) / 2}); whole != cut {
				t.Fatalf("%s, cut into writes, %q becomes\n%q\nnot\n%q", e.name, in, cut, whole)
			}
		}
	})
}

// decodeAs decodes b as the Encoding Standard's decoder for name does,
// errors as U+FFFD. golang.org/x/text gives each character's code point,
// but takes an unmapped pair whole where the standard (and Chromium) gives
// an ASCII second byte back to the stream; so the multi-byte encodings are
// read here a character at a time, by the standard's lengths.
func decodeAs(t testing.TB, name, b string) string {
	t.Helper()
	if name == "utf-8" {
		return strings.ToValidUTF8(b, "\uFFFD")
	}
	label := name
	if name == "gbk" {
		label = "gb18030" // the standard decodes GBK as gb18030
	}
	enc, err := htmlindex.Get(label)
	if err != nil {
		t.Fatal(err)
	}
	dec := enc.NewDecoder()
	one := func(s string) (string, bool) {
		d, err := dec.String(s)
		return d, err == nil && d != "" && !strings.ContainsRune(d, utf8.RuneError)
	}
	if name == "windows-1252" {
		d, err := dec.String(b)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	in := func(c byte, lo, hi byte) bool { return c >= lo && c <= hi }
	var sb strings.Builder
	for i := 0; i < len(b); {
		c := b[i]
		lead := c >= 0x81 && c <= 0xfe
		if name == "shift_jis" {
			lead = in(c, 0x81, 0x9f) || in(c, 0xe0, 0xfc)
		}
		if c < 0x80 || !lead {
			if d, ok := one(b[i : i+1]); ok {
				sb.WriteString(d)
			} else {
				sb.WriteRune(utf8.RuneError)
			}
			i++
			continue
		}
		if i+1 >= len(b) {
			sb.WriteRune(utf8.RuneError)
			break
		}
		tr := b[i+1]
		if name == "gbk" && in(tr, 0x30, 0x39) {
			if i+3 < len(b) && in(b[i+2], 0x81, 0xfe) && in(b[i+3], 0x30, 0x39) {
				if d, ok := one(b[i : i+4]); ok {
					sb.WriteString(d)
				} else {
					sb.WriteRune(utf8.RuneError)
				}
				i += 4
				continue
			}
			sb.WriteRune(utf8.RuneError) // the rest is read again
			i++
			continue
		}
		var trail bool
		switch name {
		case "shift_jis":
			trail = in(tr, 0x40, 0x7e) || in(tr, 0x80, 0xfc)
		case "big5":
			trail = in(tr, 0x40, 0x7e) || in(tr, 0xa1, 0xfe)
		case "gbk":
			trail = in(tr, 0x40, 0x7e) || in(tr, 0x80, 0xfe)
		case "euc-kr":
			trail = in(tr, 0x41, 0xfe)
		default:
			t.Fatalf("no decoder for %s", name)
		}
		if trail {
			if name == "shift_jis" && in(c, 0xf0, 0xf9) {
				sb.WriteRune(0xe000) // user-defined: private use
				i += 2
				continue
			}
			if d, ok := one(b[i : i+2]); ok {
				sb.WriteString(d)
				i += 2
				continue
			}
		}
		sb.WriteRune(utf8.RuneError)
		if tr < 0x80 {
			i++ // the ASCII byte is read again
		} else {
			i += 2
		}
	}
	return sb.String()
}

// encodingSeeds are the adversarial rows, as they are and with a pair of
// bytes put before each quote and after each "(": a character that takes
// a backslash in Shift_JIS (0x95 0x5C) or in Big5 (0xB3 0x5C), a
// backquote (0x81 0x60) or a brace (0xA1 0x7B).
func encodingSeeds() []string {
	var out []string
	for i, row := range adversarial {
		s := expandT(row)
		pair := []string{"\x95\x5c", "\x81\x60", "\xa1\x7b", "\xb3\x5c"}[i%4]
		out = append(out, s, strings.NewReplacer(`"`, pair+`"`, `'`, pair+`'`, "(", "("+pair).Replace(s))
	}
	return out
}
