package rewrite

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestScriptHosts checks the hosts read from an inline script's strings,
// where a URL parser finds them: after the last two of any run of slashes
// ("///host" is the host, as the fuzzer found), before a port, after user
// info.
func TestScriptHosts(t *testing.T) {
	for in, want := range map[string][]string{
		`"///trACker.eXAmple "`:                     {"tracker.example"},
		`"////a.example/p"`:                         {"a.example"},
		`"https://u:p@b.example:8443/x"`:            {"b.example"},
		`"//c.example" + "x//d.example"`:            {"c.example", "d.example"},
		`"https://e.example/r?u=https://f.example"`: {"e.example", "f.example"},
		`"a//"`: nil,
		// percent-encoded, once, twice, in either case, beside a bad escape
		`"sdc=%3Cscript%20src%3Dhttps%3A%2F%2FPagead2.example%2Fa.js%3E"`: {"pagead2.example"},
		`"r?u=https%253A%252F%252Fg.example%252Fp"`:                       {"g.example"},
		`"%zz https%3a%2f%2fh.example%2f"`:                                {"h.example"},
		`"//i.example/?next=%2F%2Fj.example%2F"`:                          {"i.example", "j.example"},
		`"%2F%2F"`:                                                        nil,
		// Without "//", as a URL parser reads a special scheme's URL and
		// any run of slashes and backslashes (2026-12-05): the JavaScript
		// string's value is read, so "\\" is one backslash.
		`"https:k.example/m.js"`:        {"k.example"},
		`"HTTP:/l.example"`:             {"l.example"},
		`"x=wss:\\m.example\\s"`:        {"m.example"},
		`"https:\\\\n.example\\p.gif"`:  {"n.example"},
		`"\\\\o.example/p"`:             {"o.example"},
		`"/\\p.example/p"`:              {"p.example"},
		`"<img src=https:q.example/p>"`: {"q.example"},
		`"ht\ttps:r.example/p"`:         {"r.example"},
		`"https:/\n/s.example/p"`:       {"s.example"},
		`"a\nhttps:t.example"`:          {"t.example"},
		`"https:u:p@u.example:8443/x"`:  {"u.example"},
		`"xhttps:v.example"`:            nil, // the scheme is xhttps
		`"file:w.example"`:              nil,
		`"https:"`:                      nil,
		`"http: x.example"`:             nil, // a space: no URL
		`"C:\\\\share\\y"`:              nil, // a host with no dot
		`"\\d+\\.\\d+"`:                 nil, // a regexp's source
		// a tab past a string's start, and beside bytes of 0x80 or more
		`"0123456789abcdefhttps:/\t/z1.example/p"`: {"z1.example"},
		`"ünïcödé\nhttps:z2.example"`:              {"z2.example"},
	} {
		var f ScriptFacts
		scriptFacts([]byte("var s = "+in+";"), &f)
		if !slices.Equal(f.Hosts, want) {
			t.Errorf("%s: hosts %q, want %q", in, f.Hosts, want)
		}
	}
}

// TestScriptLenientURLStrings checks that a URL written without "//" is
// also in the facts' strings as "//host/path", where the policy looks
// for the paths a script names under a host (blocklists.namedURLs): a
// rule on a path ("||tracker.example/tr") then meets it. Scripts that
// name a tracker so are held: testdata/adversarial.txt.
func TestScriptLenientURLStrings(t *testing.T) {
	for in, want := range map[string]string{
		`new Image().src = "https:\\\\www.t.example\\tr?id=1";`: "http://www.t.example/tr?id=1",
		`x = "<img src=https:t.example/p.gif>";`:                "https://t.example/p.gif",
		`fetch("\\\\t.example/x?a=1#f")`:                        "http://t.example/x?a=1",
	} {
		var f ScriptFacts
		scriptFacts([]byte(in), &f)
		if !slices.Contains(f.Strings, want) {
			t.Errorf("%s: strings %q, want %s among them", in, f.Strings, want)
		}
	}
}

// TestScriptFactCaps: what the facts keep is capped, and no cap hides a
// host. A URL past the kept length of a long string is found
// (FuzzPassUsual 48ac2ad8386b38df), and a script naming more distinct
// hosts than the facts keep is unclassifiable; as many as they keep, or
// one host many times, is not.
func TestScriptFactCaps(t *testing.T) {
	var f ScriptFacts
	scriptFacts([]byte(`new Image().src = "`+strings.Repeat("x", 3*maxStringFact)+` https://tracker.example/p.gif";`), &f)
	if !slices.Contains(f.Hosts, "tracker.example") || len(f.Strings) != 1 || len(f.Strings[0]) != maxStringFact {
		t.Errorf("a long string: hosts %q, %d strings, the first %d bytes long", f.Hosts, len(f.Strings), len(f.Strings[0]))
	}
	hosts := func(n int) []byte {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "u(\"//h%d.example/\");", i)
		}
		return []byte(b.String())
	}
	for _, c := range []struct {
		src      []byte
		oversize bool
	}{
		{hosts(maxFactItems), false},
		{hosts(maxFactItems + 1), true},
		{[]byte(strings.Repeat(`u("//same.example/");`, 2*maxFactItems)), false},
	} {
		var f ScriptFacts
		scriptFacts(c.src, &f)
		if f.Oversize != c.oversize || len(f.Hosts) > maxFactItems {
			t.Errorf("%.40s…: oversize %v, want %v (%d hosts kept)", c.src, f.Oversize, c.oversize, len(f.Hosts))
		}
	}
}

// TestScriptPrivateName: a "/" after a private name (this.#a) divides,
// as after any other operand. Read as a regular expression, it hid the
// string that followed (FuzzPassUsual 1b2f31d01b0e927c: #A/"//tracker…",
// a string to the oracle and to JavaScript) and made a class's own
// arithmetic unreadable, its script deferred as unknown.
func TestScriptPrivateName(t *testing.T) {
	for in, want := range map[string][]string{
		`class C{#a=2;m(){return this.#a/2}};fetch("https://tracker.example/x")`: {"tracker.example"},
		`x = this.#a/"//tracker.example/".length`:                                {"tracker.example"},
		`x = #a in y; z = /"\/\/not.example/`:                                    nil,
	} {
		var f ScriptFacts
		scriptFacts([]byte(in), &f)
		if f.Malformed || !slices.Equal(f.Hosts, want) {
			t.Errorf("%s: malformed %v, hosts %q; want %q", in, f.Malformed, f.Hosts, want)
		}
	}
}

// TestScriptAfterDot: a "/" right after "." or "?." cannot be read
// (nothing but a name follows them), so the script is malformed and its
// decision fails closed; a division or a regular expression elsewhere,
// and a comment or a number after a dot, are read as before.
func TestScriptAfterDot(t *testing.T) {
	for in, malformed := range map[string]bool{
		`./"//tracker.example`:           true,
		`a./"/; x = "//tracker.example"`: true,
		`a?./x/`:                         true,
		`a./=b`:                          true,
		`a.b / c / d`:                    false,
		`x = .5 / 2`:                     false,
		`a./* c */b(/re/)`:               false,
		`a?.b; x = /"/`:                  false,
	} {
		var f ScriptFacts
		scriptFacts([]byte(in), &f)
		if f.Malformed != malformed {
			t.Errorf("%s: malformed %v, want %v", in, f.Malformed, malformed)
		}
	}
}

// TestReplaceInvalid holds replaceInvalid to lexerText's definition (each
// NUL, and each run of invalid UTF-8 as bytes.ToValidUTF8 finds it,
// becomes U+FFFD) and origOffset to the spans it gives: the text between
// two U+FFFDs is the original's, and each U+FFFD maps to the bytes it
// replaced.
func TestReplaceInvalid(t *testing.T) {
	inputs := []string{
		"", "a", "\x00", "\xd1", "\xd1l", "a\x00\x00b", "\xff\xfe\x00\xff", "é\xe9é",
		"\xe2\x82", "\xe2\x82\xac\xe2\x82", "\xf0\x9f\x98", "\xed\xa0\x80", "\xc0\xaf", "\uFFFD\xd1",
		"p{content:'\xd1\x00'}q{background:url(https://tracker.example/\x85x.gif)}",
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"\x00", "\xd1", "\x85", "\xe2\x82", "é", "€", "\uFFFD", "a", "url(", ")", "\xf0\x9f\x98\x80"}
	for range 3000 {
		var sb strings.Builder
		for range rnd.IntN(12) {
			sb.WriteString(pieces[rnd.IntN(len(pieces))])
		}
		inputs = append(inputs, sb.String())
	}
	for _, in := range inputs {
		b := []byte(in)
		want := bytes.ToValidUTF8(bytes.ReplaceAll(b, []byte{0}, []byte("\uFFFD")), []byte("\uFFFD"))
		got, spans := replaceInvalid(b, nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("%q: %q, want %q", in, got, want)
		}
		if lt := lexerText(b); !bytes.Equal(lt, want) {
			t.Fatalf("lexerText(%q) = %q, want %q", in, lt, want)
		}
		var rebuilt strings.Builder
		last := 0
		for _, s := range spans {
			if string(got[s.at:s.at+3]) != "\uFFFD" {
				t.Fatalf("%q: span %+v is not at a U+FFFD in %q", in, s, got)
			}
			if r := in[s.from:s.to]; r != "\x00" && (strings.IndexByte(r, 0) >= 0 || utf8.ValidString(r)) {
				t.Fatalf("%q: span %+v replaced %q", in, s, r)
			}
			for k, w := range map[int]int{s.at: s.from, s.at + 1: s.from, s.at + 3: s.to} {
				if o := origOffset(k, spans, k == s.at+3); o != w {
					t.Fatalf("%q: origOffset(%d) = %d, want %d (%+v)", in, k, o, w, spans)
				}
			}
			if o := origOffset(s.at+2, spans, true); o != s.to {
				t.Fatalf("%q: origOffset(%d, end) = %d, want %d", in, s.at+2, o, s.to)
			}
			rebuilt.Write(got[last:s.at])
			rebuilt.WriteString(in[s.from:s.to])
			last = s.at + 3
		}
		rebuilt.Write(got[last:])
		if rebuilt.String() != in {
			t.Fatalf("%q: the spans rebuild %q", in, rebuilt.String())
		}
		if o := origOffset(len(got), spans, true); o != len(in) {
			t.Fatalf("%q: origOffset(end) = %d, want %d", in, o, len(in))
		}
	}
}

// TestCSSURLsOracle reads generated CSS, strings of pieces where the
// lexer and CSS may part (escaped names, quotes, parentheses,
// backslashes, comments, newlines, NUL), with cssURLs and with the
// oracle's own reading of CSS Syntax (cssHit): each text the oracle
// says loads from tracker.example must give a URL that names it. The lexer reads a url( whose
// name is escaped as a function, whose strings run past the ")" where
// CSS ends its URL, and "\\url(" as a URL: Chromium fetched a background
// that came after 'u\72l(a"b)"c)d;e";'.
func TestCSSURLsOracle(t *testing.T) {
	pieces := []string{
		`url(`, `URL(`, `uRl(  `, `u\72l(`, `\75rl(`, `\75 rl(`, `\55 RL(`, `u\rl(`, `\\`, `\`, `\0`,
		`image-set(`, `-webkit-image-set(`, `src(`, `@import `, `@\69mport `,
		`"`, `'`, `(`, `)`, `\)`, `\"`, "\\\n", `;`, `{`, `}`, `,`, `#`, `0`, `-`, `a`, ` `, "\n",
		`/*`, `*/`, "\x00", "\xc5",
		`https://tracker.example/p.gif`, `//tracker.example/x`, `url(//tracker.example/q)`,
		`"//tracker.example/s"`, `'https://tracker.example/t'`,
	}
	n := 300000
	if testing.Short() {
		n = 30000
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var sb strings.Builder
	hits, missed := 0, 0
	for range n {
		sb.Reset()
		for range 2 + rng.IntN(10) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := lexerText([]byte(sb.String())) // as the style's callers give it
		if !cssHit(string(text)) {
			continue
		}
		hits++
		if !slices.ContainsFunc(cssURLs(text, nil), func(r cssRef) bool {
			return strings.Contains(strings.ToLower(r.url), "tracker.example")
		}) {
			if missed++; missed <= 10 {
				t.Errorf("%q loads from tracker.example (the oracle), and cssURLs gave no URL naming it", text)
			}
		}
	}
	t.Logf("%d texts of %d load from tracker.example; %d missed", hits, n, missed)
	if hits < n/20 {
		t.Errorf("only %d texts of %d load from tracker.example: the pieces test little", hits, n)
	}
}
