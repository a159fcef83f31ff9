package rewrite

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// The test oracle: golang.org/x/net/html's spec-tested parser reads the
// rewritten page, and we look for live elements that still contact a host
// the policy removes or defers.

const trackerHost = "tracker.example"

var pageURL = &url.URL{Scheme: "https", Host: "shop.example", Path: "/"}

// trackerPolicy removes (or defers) trackerHost and its subdomains, inline
// scripts that call gtag or fbq or mention trackerHost, and unclassified
// inline scripts (fail closed).
func trackerPolicy(a Action) Policy {
	return PolicyFunc(func(page *url.URL, r *Resource) Decision {
		if r.Kind == KindInlineScript {
			f := r.Script
			if f == nil || f.Oversize || f.Malformed {
				return Decision{Action: a, Category: "unknown"}
			}
			for _, c := range f.Calls {
				if c == "gtag" || c == "fbq" {
					return Decision{Action: a, Category: "analytics", Vendor: "Tracker"}
				}
			}
			for _, h := range f.Hosts {
				if h == trackerHost || strings.HasSuffix(h, "."+trackerHost) || strings.HasSuffix(h, "facebook.com") {
					return Decision{Action: a, Category: "analytics", Vendor: "Tracker"}
				}
			}
			return Decision{}
		}
		if r.URL == nil {
			return Decision{}
		}
		h := r.URL.Host
		if h == trackerHost || strings.HasSuffix(h, "."+trackerHost) || h == "invalid." || strings.HasSuffix(h, "facebook.com") {
			return Decision{Action: a, Category: "advertising", Vendor: "Tracker", Host: h}
		}
		if h != page.Host {
			return Decision{Host: h, Category: "unknown"}
		}
		return Decision{}
	})
}

// removeAll is the corpus policy: every script, iframe and pixel is third
// party and removed.
var removeAll = PolicyFunc(func(page *url.URL, r *Resource) Decision {
	switch r.Kind {
	case KindRefresh, KindForm:
		return Decision{}
	}
	return Decision{Action: Remove, Category: "advertising", Host: "any"}
})

func rewriteString(t testing.TB, in string, opts Options) string {
	t.Helper()
	var out bytes.Buffer
	if opts.PageURL == nil {
		opts.PageURL = pageURL
	}
	if _, err := Rewrite(&out, strings.NewReader(in), opts); err != nil {
		t.Fatalf("rewrite %q: %v", in, err)
	}
	return out.String()
}

func attrOf(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val, true
		}
		if a.Namespace == "xlink" && key == "xlink:href" && a.Key == "href" {
			return a.Val, true
		}
	}
	return "", false
}

func textOf(n *html.Node) string {
	var sb strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			sb.WriteString(c.Data)
		}
	}
	return sb.String()
}

func isExecType(n *html.Node) bool {
	typ, ok := attrOf(n, "type")
	if !ok || strings.TrimSpace(typ) == "" {
		return true
	}
	switch strings.ToLower(strings.TrimSpace(typ)) {
	case "module", "text/javascript", "application/javascript":
		return true
	}
	return false
}

// violation describes a live element that the oracle flags.
type violation struct{ what, detail string }

// liveElements walks doc and calls bad for every live URL and inline
// script; it returns the flagged ones.
func liveViolations(doc []byte, scripting bool, badURL func(base, u string) bool, badScript func(text string) bool) []violation {
	var opts []html.ParseOption
	opts = append(opts, html.ParseOptionEnableScripting(scripting))
	root, err := html.ParseWithOptions(bytes.NewReader(doc), opts...)
	if err != nil {
		return []violation{{"parse", err.Error()}}
	}
	base := ""
	var find func(n *html.Node)
	find = func(n *html.Node) {
		if base != "" {
			return
		}
		if n.Type == html.ElementNode && n.Namespace == "" && n.Data == "base" {
			if v, ok := attrOf(n, "href"); ok {
				base = v
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(root)
	var out []violation
	check := func(n *html.Node, key string, list bool) {
		v, ok := attrOf(n, key)
		if !ok {
			return
		}
		vals := []string{v}
		if list {
			vals = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
		}
		for _, u := range vals {
			if badURL(base, u) {
				out = append(out, violation{n.Data + "[" + key + "]", v})
			}
		}
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Namespace {
			case "":
				switch n.Data {
				case "script":
					if isExecType(n) {
						check(n, "src", false)
						if _, has := attrOf(n, "src"); !has && badScript(textOf(n)) {
							out = append(out, violation{"inline script", textOf(n)})
						}
					}
				case "img":
					check(n, "src", false)
					check(n, "srcset", true)
				case "source":
					check(n, "src", false)
					check(n, "srcset", true)
				case "iframe", "frame", "embed", "video", "audio", "track":
					check(n, "src", false)
					if n.Data == "iframe" {
						if sd, ok := attrOf(n, "srcdoc"); ok {
							for _, v := range liveViolations([]byte(sd), scripting, badURL, badScript) {
								out = append(out, violation{"srcdoc " + v.what, v.detail})
							}
						}
					}
				case "object":
					check(n, "data", false)
				case "input":
					if t, _ := attrOf(n, "type"); strings.EqualFold(t, "image") {
						check(n, "src", false)
					}
				case "link":
					rel, _ := attrOf(n, "rel")
					if _, ok := linkKind(rel); ok {
						check(n, "href", false)
					}
				case "a", "area":
					check(n, "ping", true)
				case "style":
					if t, ok := attrOf(n, "type"); !ok || t == "" || strings.EqualFold(t, "text/css") {
						if cssHit(textOf(n)) {
							out = append(out, violation{"style", textOf(n)})
						}
					}
				}
			case "svg":
				switch n.Data {
				case "script":
					if isExecType(n) {
						check(n, "href", false)
						check(n, "xlink:href", false)
						if badScript(textOf(n)) {
							out = append(out, violation{"svg inline script", textOf(n)})
						}
					}
				case "image", "use", "feImage":
					check(n, "href", false)
					check(n, "xlink:href", false)
				}
			}
			if s, ok := attrOf(n, "style"); ok && cssHit(s) {
				out = append(out, violation{n.Data + "[style]", s})
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return out
}

// mentionsTracker is the oracle's URL test: independent of ResolveURL, it
// normalises the text loosely and looks for the tracker host, and treats a
// relative URL under a tracker base as a hit.
func mentionsTracker(base, u string) bool {
	norm := func(s string) string {
		s = strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(strings.ToLower(s))
		if d, err := url.PathUnescape(s); err == nil {
			s = d
		}
		return s
	}
	if trackerHostRe.MatchString(norm(u)) {
		return true
	}
	return base != "" && trackerHostRe.MatchString(norm(base)) && strings.TrimSpace(u) != "" && !strings.Contains(norm(u), "//")
}

// cssNonPrintable is CSS's non-printable code point, which makes an
// unquoted url() a bad-url token.
func cssNonPrintable(r rune) bool {
	return r <= 0x08 || r == 0x0B || (r >= 0x0E && r <= 0x1F) || r == 0x7F
}

func cssNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c >= 0x80
}

// cssHit reports whether CSS text loads from the tracker host, reading
// url() and @import as CSS does: an unquoted url() that holds a quote, a
// parenthesis or inner white space is a bad-url token and loads nothing.
func cssHit(css string) bool {
	low := strings.ToLower(strings.ReplaceAll(css, "\\", ""))
	for i := 0; i < len(low); i++ {
		if i > 0 && cssNameChar(low[i-1]) {
			continue // "0url(" is a dimension, "-url(" another function
		}
		var rest string
		switch {
		case strings.HasPrefix(low[i:], "url("):
			rest = low[i+4:]
		case strings.HasPrefix(low[i:], "@import"):
			rest = strings.TrimLeft(low[i+7:], " \t\n\r\f")
			if strings.HasPrefix(rest, "url(") {
				rest = rest[4:]
			} else if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
				continue
			}
		default:
			continue
		}
		rest = strings.TrimLeft(rest, " \t\n\r\f")
		var u string
		if rest != "" && (rest[0] == '"' || rest[0] == '\'') {
			end := strings.IndexByte(rest[1:], rest[0])
			if end < 0 {
				u = rest[1:]
			} else {
				u = rest[1 : 1+end]
				// After the string only ")" (or the end), or a URL modifier
				// (an identifier or function) keeps the url() valid.
				tail := strings.TrimLeft(rest[2+end:], " \t\n\r\f")
				if tail != "" && tail[0] != ')' && !(tail[0] >= 'a' && tail[0] <= 'z' || tail[0] == '-' || tail[0] == '_' || tail[0] >= 0x80) {
					continue
				}
			}
		} else {
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				end = len(rest)
			}
			u = strings.TrimRight(rest[:end], " \t\n\r\f")
			if strings.ContainsAny(u, "\"'( \t\n\r\f") || strings.ContainsFunc(u, cssNonPrintable) {
				continue // bad-url token
			}
		}
		if trackerHostRe.MatchString(u) {
			return true
		}
	}
	return false
}

// trackerHostRe finds the tracker as a host: after "//" (and any userinfo
// or subdomain), or after a special scheme with no slashes.
// The test page is https: "https:x" without "//" is relative there, while
// another special scheme takes any number of slashes.
var trackerHostRe = regexp.MustCompile(`^(//|https://|(http|ftp|wss?):)/*([^/?#]*[@.])?tracker\.example\.?($|[/:?#])`)

// urlInTextRe finds a tracker URL inside a string literal's text.
var urlInTextRe = regexp.MustCompile(`(?i)(^|[^a-z0-9.+-])(https?:)?//([^/'"\s]*[@.])?tracker\.example\.?($|[/:?#'"\s\\])`)

// trackerScript reports whether an inline script would run a tracker: it
// calls gtag or fbq, or holds a string literal with a tracker URL.
func trackerScript(text string) bool {
	code, lits := splitJS(text)
	if trackerCallRe.MatchString(code) {
		return true
	}
	for _, l := range lits {
		if urlInTextRe.MatchString(l) {
			return true
		}
	}
	return false
}

// splitJS blanks string literals and comments, so that a call is only
// seen in code, and returns the literals' contents. It is deliberately
// simple and independent of the rewriter's lexer; an unterminated literal
// runs to the end.
func splitJS(s string) (string, []string) {
	var lits []string
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(b) && b[j] != c {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			lits = append(lits, s[i+1:min(j, len(s))])
			for k := i; k < len(b) && k <= j; k++ {
				b[k] = ' '
			}
			i = j
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for i < len(b) && b[i] != '\n' {
				b[i] = ' '
				i++
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			j := strings.Index(s[i+2:], "*/")
			end := len(b)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			for k := i; k < end; k++ {
				b[k] = ' '
			}
			i = end - 1
		}
	}
	return string(b), lits
}

// trackerCallRe finds a call of gtag or fbq as a whole identifier (Afbq( is
// another function).
var trackerCallRe = regexp.MustCompile(`(^|[^\w$])(gtag|fbq)\s*\(`)

// anyURL flags every URL that contacts a host: not data:, blob: or about:.
func anyURL(base, u string) bool {
	u = strings.ToLower(strings.TrimSpace(u))
	for _, p := range []string{"data:", "blob:", "about:"} {
		if strings.HasPrefix(u, p) {
			return false
		}
	}
	return u != ""
}

func anyScript(text string) bool { return strings.TrimSpace(text) != "" }

// oracleCheck fails t if the output has a live tracker, with scripting on
// or off.
func oracleCheck(t testing.TB, name, in, out string, badURL func(string, string) bool, badScript func(string) bool) {
	t.Helper()
	for _, scripting := range []bool{true, false} {
		if v := liveViolations([]byte(out), scripting, badURL, badScript); len(v) > 0 {
			t.Errorf("%s (scripting=%v): live %s %q\n in: %q\nout: %q", name, scripting, v[0].what, clip(v[0].detail), clip(in), clip(out))
			return
		}
	}
}

func clip(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

// sharedDir returns ../shared/<sub>, or skips the test when it is absent.
func sharedDir(t testing.TB, sub string) string {
	t.Helper()
	d := filepath.Join("..", "..", "shared", sub)
	if _, err := os.Stat(d); err != nil {
		t.Skipf("%s absent: the shared corpus is only beside CI and the developers' checkouts", d)
	}
	return d
}

func corpusFiles(t testing.TB, sub, suffix string) map[string][]byte {
	t.Helper()
	d := sharedDir(t, sub)
	ents, err := os.ReadDir(d)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), suffix) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// TestOracleJS checks that the inline-script oracle can fail.
func TestOracleJS(t *testing.T) {
	for _, s := range []string{"gtag('js')", `s.src="https://tracker.example/x.js"`, "u='//a.tracker.example'", "x; fbq ('init')"} {
		if !trackerScript(s) {
			t.Errorf("oracle misses %q", s)
		}
	}
	for _, s := range []string{"Afbq(", `"//tracker.example0/x"`, "// tracker.example", "mygtag()", "'gtag('0", "/* fbq( */ x()", "''//tracker.example"} {
		if trackerScript(s) {
			t.Errorf("oracle flags %q", s)
		}
	}
}

// TestOracleCSS checks that the CSS oracle can fail: it flags tracker URLs
// and passes relative paths that only spell the name.
func TestOracleCSS(t *testing.T) {
	for _, s := range []string{"background:url(https://tracker.example/p.gif)", "@import url('//tracker.example/x.css')", `@import "https://a.tracker.example/x.css"`, `url('//tracker.example/x' crossorigin(anonymous))`, `url( "//tracker.example/x" )`} {
		if !cssHit(s) {
			t.Errorf("oracle misses %q", s)
		}
	}
	for _, s := range []string{"url(0trACker.eXAmple", "url(tracker.example/p.gif)", "url(/img/tracker.example.png)", "url(http:trACker.eXAmple0", `url(http:trACker.eXAmple"`, "0url(http:trACker.eXAmple", "url(http:trACker.eXAmple#\x7f", "url('//trACker.eXAmple'00"} {
		if cssHit(s) {
			t.Errorf("oracle flags %q", s)
		}
	}
}
