package rewrite

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

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
	out, _ := rewriteStats(t, in, opts)
	return out
}

// rewriteStats is rewriteString, with the rewrite's counts.
func rewriteStats(t testing.TB, in string, opts Options) (string, *Stats) {
	t.Helper()
	var out bytes.Buffer
	if opts.PageURL == nil {
		opts.PageURL = pageURL
	}
	st, err := Rewrite(&out, strings.NewReader(in), opts)
	if err != nil {
		t.Fatalf("rewrite %q: %v", in, err)
	}
	// The counts of bytes are the page's, a noscript's content and a
	// srcdoc counted once.
	if st.BytesIn != int64(len(in)) || st.BytesOut != int64(out.Len()) {
		t.Fatalf("rewrite %q: counted %d bytes in and %d out, for %d and %d", in, st.BytesIn, st.BytesOut, len(in), out.Len())
	}
	return out.String(), st
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

// oracleText is the text of every text node of doc as
// golang.org/x/net/html parses it, in document order.
func oracleText(t *testing.T, doc string) string {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return sb.String()
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
	return isDelayedScript(n)
}

// isDelayedScript reports a script whose type is a performance plugin's,
// which the plugin's loader runs for every visitor.
func isDelayedScript(n *html.Node) bool {
	typ, _ := attrOf(n, "type")
	switch t := strings.ToLower(strings.TrimSpace(typ)); t {
	case "rocketlazyloadscript", "litespeed/javascript", "pmdelayedscript", "text/rocketscript":
		return true
	default:
		// Cloudflare Rocket Loader: "<hex>-text/javascript"
		hex, js, ok := strings.Cut(t, "-")
		return ok && len(hex) >= 8 && strings.Trim(hex, "0123456789abcdef") == "" && (js == "text/javascript" || js == "module")
	}
}

// delayedSources are where delayed scripts keep their URL, besides src.
var delayedSources = []string{"data-rocket-src", "data-rocketsrc", "data-src"}

// violation describes a live element that the oracle flags.
type violation struct{ what, detail string }

// dataDocViolations reads the document in a frame's, an object's or an
// embed's data: URL (its attribute key), as dataBody decodes it, as the
// oracle reads a page; a body that does not decode loads nothing.
func dataDocViolations(n *html.Node, key string, scripting bool, badURL func(base, u string) bool, badScript func(text string) bool) []violation {
	v, _ := attrOf(n, key)
	body, isData, ok := dataBody(v)
	if !isData || !ok {
		return nil // a body that does not decode loads nothing
	}
	var out []violation
	for _, x := range liveViolations([]byte(body), scripting, badURL, badScript) {
		out = append(out, violation{n.Data + "[" + key + "] data: " + x.what, x.detail})
	}
	return out
}

// dataBody returns what the data: URL v holds, as the URL parser and
// the fetch standard's data: URL processor read it: C0 controls and
// spaces trimmed, tabs and newlines taken out, the body percent-decoded
// and, when the URL says base64, decoded by forgiving-base64. isData is
// false when v is no data: URL with a body, ok false when the body does
// not decode, and then the browser loads nothing.
func dataBody(v string) (body string, isData, ok bool) {
	v = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, strings.TrimFunc(v, func(r rune) bool { return r <= ' ' }))
	if len(v) < 5 || !strings.EqualFold(v[:5], "data:") {
		return "", false, false
	}
	meta, body, found := strings.Cut(v[5:], ",")
	if !found {
		return "", false, false // no document
	}
	if d, err := url.PathUnescape(body); err == nil {
		body = d
	}
	if strings.HasSuffix(strings.ToLower(strings.TrimSpace(meta)), ";base64") {
		// forgiving-base64: ASCII white space goes, then up to two "="
		// when the length is a multiple of four; what is left must be
		// base64 with no padding, and not one character past a group.
		body = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\n' || r == '\f' || r == '\r' {
				return -1
			}
			return r
		}, body)
		if len(body)%4 == 0 {
			body = strings.TrimSuffix(strings.TrimSuffix(body, "="), "=")
		}
		b, err := base64.RawStdEncoding.DecodeString(body)
		if err != nil || len(body)%4 == 1 {
			return "", true, false
		}
		body = string(b)
	}
	return body, true, true
}

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
		switch {
		case list && (key == "ping" || key == "attributionsrc"):
			// ping and attributionsrc are sets of space-separated tokens:
			// a comma is part of a URL.
			vals = strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\f' || r == '\r' })
		case list:
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
				// What lazy loaders copy into an element's background, on
				// any element: each word of the value may be a URL, read
				// as it is or as CSS (a loader may write it into a url()).
				for _, a := range n.Attr {
					if a.Namespace != "" || !lazyBgName(a.Key) {
						continue
					}
					for _, v := range []string{a.Val, cssUnescape(a.Val)} {
						for _, u := range strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(",|()[]\"' \t\n\f\r", r) }) {
							if badURL(base, u) {
								out = append(out, violation{n.Data + "[" + a.Key + "]", a.Val})
							}
						}
					}
				}
				switch n.Data {
				case "body", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "colgroup", "col":
					check(n, "background", false)
				}
				switch n.Data {
				case "img", "source", "iframe", "frame", "video", "audio":
					// What lazy-loading scripts copy into src, srcset and
					// poster: live as soon as the page's own script runs.
					for _, k := range []string{"data-src", "data-lazy-src", "data-original", "data-poster"} {
						check(n, k, false)
					}
					check(n, "data-srcset", true)
					check(n, "data-lazy-srcset", true)
				}
				switch n.Data {
				case "script":
					if t, _ := attrOf(n, "type"); strings.EqualFold(strings.TrimSpace(t), "importmap") {
						// What a module's import of a specifier loads. The
						// keys are matched exactly, as a browser's are (Go's
						// decoder would match a struct's fields in any case:
						// "sCopes" is no import map's, FuzzPassUsual
						// e4fef1a2af31fe8f).
						var top map[string]json.RawMessage
						json.Unmarshal([]byte(textOf(n)), &top)
						var imports map[string]any
						var scopes map[string]map[string]any
						json.Unmarshal(top["imports"], &imports)
						json.Unmarshal(top["scopes"], &scopes)
						maps := []map[string]any{imports}
						for _, s := range scopes {
							maps = append(maps, s)
						}
						for _, sm := range maps {
							for _, v := range sm {
								if u, ok := v.(string); ok && badURL(base, u) {
									out = append(out, violation{"importmap", u})
								}
							}
						}
					}
					if isExecType(n) {
						check(n, "src", false)
						check(n, "attributionsrc", true)
						if t, _ := attrOf(n, "type"); strings.TrimSpace(t) != "" {
							for _, k := range delayedSources {
								check(n, k, false)
							}
						}
						if _, has := attrOf(n, "src"); !has && badScript(textOf(n)) {
							out = append(out, violation{"inline script", textOf(n)})
						}
					}
				case "img":
					check(n, "src", false)
					check(n, "srcset", true)
					// The Attribution Reporting API's requests, here when
					// the image loads, on a link when it is followed, and on
					// a script (below) when it runs.
					check(n, "attributionsrc", true)
				case "source":
					check(n, "src", false)
					check(n, "srcset", true)
				case "iframe", "frame", "embed", "video", "audio", "track":
					check(n, "src", false)
					if n.Data != "video" && n.Data != "audio" && n.Data != "track" {
						out = append(out, dataDocViolations(n, "src", scripting, badURL, badScript)...)
					}
					if n.Data == "iframe" {
						if sd, ok := attrOf(n, "srcdoc"); ok {
							for _, v := range liveViolations([]byte(sd), scripting, badURL, badScript) {
								out = append(out, violation{"srcdoc " + v.what, v.detail})
							}
						}
					}
				case "object":
					check(n, "data", false)
					out = append(out, dataDocViolations(n, "data", scripting, badURL, badScript)...)
				case "input":
					if t, _ := attrOf(n, "type"); strings.EqualFold(t, "image") {
						check(n, "src", false)
					}
				case "link":
					rel, _ := attrOf(n, "rel")
					if _, ok := linkKind(rel); ok {
						check(n, "href", false)
					}
					// A style sheet in a data: URL loads what it names.
					if slices.ContainsFunc(strings.Fields(rel), func(t string) bool { return strings.EqualFold(t, "stylesheet") }) {
						href, _ := attrOf(n, "href")
						if body, isData, ok := dataBody(href); isData && ok && cssHit(body) {
							out = append(out, violation{"link[href] data: style sheet", href})
						}
					}
				case "a", "area":
					check(n, "ping", true)
					check(n, "attributionsrc", true)
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
						// Chromium runs no text of a script with an href,
						// even an empty one (as an HTML script's src).
						_, href := attrOf(n, "href")
						_, xlink := attrOf(n, "xlink:href")
						if !href && !xlink && badScript(textOf(n)) {
							out = append(out, violation{"svg inline script", textOf(n)})
						}
					}
				case "image", "use", "feImage":
					check(n, "href", false)
					check(n, "xlink:href", false)
				case "style":
					// A style sheet, as an HTML style is: its child text.
					if t, ok := attrOf(n, "type"); !ok || t == "" || strings.EqualFold(t, "text/css") {
						if cssHit(textOf(n)) {
							out = append(out, violation{"svg style", textOf(n)})
						}
					}
				case "set", "animate":
					// An animation of its target's href gives it each of
					// its values as the URL (values: a list split at ;);
					// of another attribute, maybe a presentation
					// attribute, each value as CSS.
					an, _ := attrOf(n, "attributeName")
					an = strings.TrimSpace(an)
					href := strings.EqualFold(an[strings.LastIndexByte(an, ':')+1:], "href")
					for _, k := range []string{"to", "from", "by", "values"} {
						v, _ := attrOf(n, k)
						if !href {
							if cssHit(v) {
								out = append(out, violation{n.Data + "[" + k + "]", v})
							}
							continue
						}
						for _, u := range strings.Split(v, ";") {
							if u = strings.TrimSpace(u); u != "" && badURL(base, u) {
								out = append(out, violation{n.Data + "[" + k + "]", v})
							}
						}
					}
				}
				// Presentation attributes are CSS values: a mask, a
				// cursor, a paint server, a clip path or a marker in
				// another document is fetched.
				for _, k := range []string{"fill", "stroke", "mask", "clip-path", "cursor", "filter", "marker-start", "marker-mid", "marker-end"} {
					if v, ok := attrOf(n, k); ok && cssHit(v) {
						out = append(out, violation{n.Data + "[" + k + "]", v})
					}
				}
			}
			// A javascript: URL that a link, an area or a form follows runs
			// as a handler does, on a click. Other elements follow no href:
			// Chromium ran none on <b>, MathML's or SVG <text>'s.
			navigates := map[string]bool{"a": true, "area": true, "form": true, "button": true, "input": true}
			for _, k := range []string{"href", "xlink:href", "action", "formaction"} {
				if v, ok := attrOf(n, k); ok && navigates[n.Data] {
					v = strings.Map(func(c rune) rune {
						if c == '\t' || c == '\n' || c == '\r' {
							return -1
						}
						return c
					}, strings.TrimFunc(v, func(c rune) bool { return c <= ' ' }))
					if len(v) >= 11 && strings.EqualFold(v[:11], "javascript:") {
						code := v[11:]
						if d, err := url.PathUnescape(code); err == nil {
							code = d
						}
						// As for a handler: code with no string names no host.
						if strings.ContainsAny(code, "`\"'\\") && badScript(code) {
							out = append(out, violation{n.Data + "[" + k + "] javascript:", code})
						}
					}
				}
			}
			// What Chromium's preload scanner fetches, reading tags by name
			// whatever their namespace or type: a style's leading @import
			// rules, and in SVG or MathML a link's, an image input's, a
			// video's poster, a source's srcset and a base's URLs.
			if n.Data == "style" {
				// Chromium's scanner fetched an @import whose name held a
				// NUL (2026-12-05), which x/net/html gives as it came, or
				// as U+FFFD in foreign content: read again without both.
				text := scannedText(n)
				for _, u := range append(preloadImports(text), preloadImports(nulls.Replace(text))...) {
					if badURL(base, u) {
						out = append(out, violation{n.Data + " @import (preload scanner)", u})
					}
				}
			}
			if n.Namespace != "" {
				switch n.Data {
				case "link":
					rel, _ := attrOf(n, "rel")
					if _, ok := linkKind(rel); ok {
						check(n, "href", false)
						check(n, "imagesrcset", true)
					}
				case "input":
					if t, _ := attrOf(n, "type"); strings.EqualFold(strings.TrimSpace(t), "image") {
						check(n, "src", false)
					}
				case "video":
					check(n, "poster", false)
				case "source":
					check(n, "srcset", true) // in a picture, which the scanner tells by name too
				case "base":
					check(n, "href", false)
				}
			}
			if s, ok := attrOf(n, "style"); ok && cssHit(s) {
				out = append(out, violation{n.Data + "[style]", s})
			}
			// An event handler is script that runs when its event fires
			// (an <img>'s onerror as soon as its load fails). One with no
			// string, template or escape in it (fbq(1), "return false")
			// names no host: it can only call what the page's scripts
			// define, which are decided where they load.
			for _, a := range n.Attr {
				if a.Namespace == "" && len(a.Key) > 2 && strings.HasPrefix(a.Key, "on") && strings.ContainsAny(a.Val, "`\"'\\") && badScript(a.Val) {
					out = append(out, violation{n.Data + "[" + a.Key + "]", a.Val})
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	// Live speculation rules whose document rules may match a link to a
	// tracker on the page: Chromium prefetches it.
	var links []string
	var rules []string
	var collect func(n *html.Node)
	collect = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Namespace == "" {
			switch n.Data {
			case "a", "area":
				if v, ok := attrOf(n, "href"); ok && badURL(base, v) {
					links = append(links, v)
				}
			case "script":
				if t, _ := attrOf(n, "type"); strings.EqualFold(strings.TrimSpace(t), "speculationrules") {
					rules = append(rules, textOf(n))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			collect(c)
		}
	}
	collect(root)
	// Chromium reads the rules against the document's base, the first
	// base in the tree even after the rules: under a tracker's, a path
	// is the tracker's.
	trackerBase := base != "" && badURL(base, "/")
	for _, body := range rules {
		if len(links) > 0 && documentRulesMatch(body, trackerBase) {
			out = append(out, violation{"speculation rules", body})
		}
		for _, u := range listRuleURLs(body) {
			if badURL(base, u) {
				out = append(out, violation{"speculation rules' list", body})
			}
		}
	}
	return out
}

// listRuleURLs returns the URLs of a speculation rules body's list rules,
// read loosely: every string in a rule's "urls".
func listRuleURLs(body string) (urls []string) {
	var rs map[string][]map[string]any
	if json.Unmarshal([]byte(body), &rs) != nil {
		return nil
	}
	for _, list := range rs {
		for _, r := range list {
			l, _ := r["urls"].([]any)
			for _, x := range l {
				if u, ok := x.(string); ok {
					urls = append(urls, u)
				}
			}
		}
	}
	return urls
}

// documentRulesMatch reports whether a speculation rules body has a
// document rule that may match a link to another site: its predicate,
// read loosely, with a path pattern ("/…") matching only the page's own
// links (a tracker's under a tracker's base, trackerBase), any other
// pattern and any selector a tracker's, and not, and and or read as
// written. A body that is no JSON matches nothing.
func documentRulesMatch(body string, trackerBase bool) bool {
	var rs map[string][]map[string]any
	if json.Unmarshal([]byte(body), &rs) != nil {
		return false
	}
	var eval func(p any) bool
	eval = func(p any) bool {
		m, ok := p.(map[string]any)
		if !ok {
			return true
		}
		for k, v := range m {
			switch k {
			case "not":
				return !eval(v)
			case "and", "or":
				l, _ := v.([]any)
				for _, q := range l {
					if eval(q) != (k == "and") {
						return k == "or"
					}
				}
				return k == "and"
			case "href_matches":
				pats, _ := v.([]any)
				if s, ok := v.(string); ok {
					pats = []any{s}
				}
				for _, x := range pats {
					if s, ok := x.(string); !ok || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || trackerBase {
						return true
					}
				}
				return false
			}
		}
		return true
	}
	for action, list := range rs {
		if action != "prefetch" && action != "prerender" {
			continue // a key Chromium does not read
		}
		for _, r := range list {
			if w, ok := r["where"]; ok {
				if eval(w) {
					return true
				}
			} else if r["source"] == "document" {
				return true
			}
		}
	}
	return false
}

// scannedText is a style element's content as Chromium's preload scanner
// reads it, as raw text: its text, its comments as they were written, and
// a < for a child element (in SVG or MathML, where the content is markup).
func scannedText(n *html.Node) string {
	var sb strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch c.Type {
		case html.TextNode:
			sb.WriteString(c.Data)
		case html.CommentNode:
			sb.WriteString("<!--" + c.Data + "-->")
		default:
			sb.WriteString("<")
		}
	}
	return sb.String()
}

// preloadImports returns the URLs of the @import rules that begin css, as
// Chromium's preload scanner reads them: white space and comments skipped,
// each rule's url() or string, up to the first byte that begins no rule.
func preloadImports(css string) (urls []string) {
	s := css
	for {
		s = strings.TrimLeft(s, " \t\n\r\f")
		if strings.HasPrefix(s, "/*") {
			i := strings.Index(s[2:], "*/")
			if i < 0 {
				return urls
			}
			s = s[2+i+2:]
			continue
		}
		// The rule's name runs to white space or a semicolon: "@import""x"
		// and "@importurl(" name no import.
		if len(s) < 8 || !strings.EqualFold(s[:7], "@import") || !strings.ContainsRune(" \t\n\r\f", rune(s[7])) {
			return urls
		}
		s = strings.TrimLeft(s[7:], " \t\n\r\f")
		// A semicolon there ends a rule with no value, and the scanner
		// starts again: Chromium 156 fetched nothing for "@import  ;00"
		// under a base on the tracker (a fuzz input, 2026-12-05).
		if strings.HasPrefix(s, ";") {
			s = s[1:]
			continue
		}
		// A brace ends the scan, as in preloadScanURLs.
		if strings.HasPrefix(s, "{") {
			return urls
		}
		// The value runs to white space, a semicolon included. Chromium
		// 156 fetched it when a semicolon or the end of the text followed
		// ("@import x.css ;", "@import //h/x.css;" at the end, taken
		// whole), and a url( up to its ")" ("@import url(a)x y;"); it
		// fetched nothing for "@import x.css screen;", "@import url(a b);"
		// or a second rule after "a.css;" with no white space between.
		end := strings.IndexAny(s, " \t\n\r\f")
		if end < 0 {
			end = len(s)
		}
		v, rest := s[:end], strings.TrimLeft(s[end:], " \t\n\r\f")
		if i := strings.IndexByte(v, ')'); i >= 0 {
			urls = append(urls, scannerURL(v[:i+1]))
		}
		switch {
		case rest == "":
			return append(urls, scannerURL(v))
		case rest[0] == ';':
			urls = append(urls, scannerURL(v))
			s = rest[1:]
		default:
			return urls
		}
	}
}

// scannerURL reads a rule's value as Chromium's preload scanner does: a
// url( … ) when it ends with ")", and quotes only in a matching pair
// ("x.css;" and "\"x;" are URLs as they are).
func scannerURL(v string) string {
	if len(v) >= 5 && strings.EqualFold(v[:4], "url(") && v[len(v)-1] == ')' {
		v = strings.TrimSpace(v[4 : len(v)-1])
	}
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	return v
}

// mentionsTracker is the oracle's URL test: independent of ResolveURL, it
// normalises the text loosely and looks for the tracker host, and treats a
// relative URL under a tracker base as a hit.
func mentionsTracker(base, u string) bool {
	norm := func(s string) string {
		s = strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(strings.ToLower(s))
		// A URL parser decodes percent-escapes in a host, never in a
		// scheme or in the slashes before a host: "https%3A//tracker…"
		// and "%2F%2Ftracker…" are relative paths, of the base's host
		// (FuzzPassUsual 921889b2d804f05a), and are left as written.
		if t := strings.TrimLeftFunc(s, func(r rune) bool { return r <= ' ' }); !schemeRe.MatchString(t) && !strings.HasPrefix(t, "//") {
			return s
		}
		if d, err := url.PathUnescape(s); err == nil {
			s = d
		}
		return s
	}
	if trackerHostRe.MatchString(norm(u)) {
		return true
	}
	if base == "" || !trackerHostRe.MatchString(norm(base)) || strings.TrimSpace(u) == "" || strings.Contains(norm(u), "//") {
		return false
	}
	// A URL with a scheme is absolute ("a:" loads nothing), except one
	// with the base's own special scheme and no slashes, which WHATWG URL
	// reads as relative ("http:a.js" under an http base).
	if m := schemeRe.FindStringSubmatch(norm(u)); m != nil {
		b := schemeRe.FindStringSubmatch(norm(base))
		return b != nil && m[1] == b[1] && specialScheme[m[1]]
	}
	return true
}

// schemeRe finds a URL's scheme after the C0 controls and spaces a URL
// parser strips.
var schemeRe = regexp.MustCompile(`^[\x00-\x20]*([a-z][a-z0-9+.-]*):`)

var specialScheme = map[string]bool{"http": true, "https": true, "ws": true, "wss": true, "ftp": true, "file": true}

// cssNonPrintable is CSS's non-printable code point, which makes an
// unquoted url() a bad-url token.
func cssNonPrintable(r rune) bool {
	return r <= 0x08 || r == 0x0B || (r >= 0x0E && r <= 0x1F) || r == 0x7F
}

// cssHit reports whether CSS text loads from the tracker host. It is the
// oracle's own small reading of CSS Syntax 3, independent of the lexer the
// rewriter uses: comments and strings are skipped, url( must be a whole
// identifier, an unquoted url() that holds a quote, a parenthesis, inner
// white space or a non-printable is a bad-url token and loads nothing, and
// after url("…") only ")" or URL modifiers may follow. @import "…" and the
// strings inside image-set() and -webkit-image-set() are URLs too.
func cssHit(css string) bool {
	c := &cssScan{s: []rune(css)}
	imageSet := 0 // depth of an open image-set(
	depth := 0
	afterImport := false
	for c.i < len(c.s) {
		r := c.s[c.i]
		switch {
		case c.startsComment():
			c.skipComment()
			continue
		case isCSSSpace(r):
			c.i++
			continue
		case r == '"' || r == '\'':
			v, good := c.string() // a bad string (a newline in it) loads nothing
			if good && (afterImport || imageSet > 0) && trackerHostRe.MatchString(strings.ToLower(v)) {
				return true
			}
			if good && afterImport && importsDataHit(v) {
				return true
			}
		case r == '#':
			c.i++
			if c.i < len(c.s) && (isCSSName(c.s[c.i]) || c.validEscapeAt(c.i)) {
				c.ident() // a hash token: "#url(" is not a function
			}
			continue
		case r == '@' && c.identStartsAt(c.i+1):
			c.i++
			afterImport = strings.EqualFold(c.ident(), "import")
			continue
		case c.numberStarts():
			c.number()
			if c.identStartsAt(c.i) {
				c.ident() // a dimension: "0url(" is not a function
			} else if c.i < len(c.s) && c.s[c.i] == '%' {
				c.i++
			}
		case c.identStartsAt(c.i):
			name := strings.ToLower(c.ident())
			if c.i < len(c.s) && c.s[c.i] == '(' {
				c.i++
				if name == "url" {
					if u, ok := c.url(); ok && (trackerHostRe.MatchString(strings.ToLower(u)) || afterImport && importsDataHit(u)) {
						return true
					}
				} else {
					depth++
					if name == "image-set" || name == "-webkit-image-set" {
						if imageSet == 0 {
							imageSet = depth
						}
					}
				}
			}
		case r == '(':
			depth++
			c.i++
		case r == ')':
			if depth == imageSet {
				imageSet = 0
			}
			if depth > 0 {
				depth--
			}
			c.i++
		case r == '\\':
			c.i++ // a lone backslash is a delim
		default:
			c.i++
		}
		if r == ';' || r == '{' || r == '}' {
			afterImport = false
		}
	}
	return false
}

// importsDataHit reports whether u, an @import's URL, is a data: URL whose
// style sheet loads a tracker.
func importsDataHit(u string) bool {
	body, isData, ok := dataBody(u)
	return isData && ok && cssHit(body)
}

type cssScan struct {
	s []rune
	i int
}

func isCSSSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' }

func isCSSNameStart(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r >= 0x80
}

func isCSSName(r rune) bool { return isCSSNameStart(r) || r >= '0' && r <= '9' || r == '-' }

func (c *cssScan) at(i int) rune {
	if i < len(c.s) {
		return c.s[i]
	}
	return -1
}

func (c *cssScan) validEscapeAt(i int) bool {
	return c.at(i) == '\\' && i+1 < len(c.s) && c.s[i+1] != '\n' && c.s[i+1] != '\r' && c.s[i+1] != '\f'
}

func (c *cssScan) identStartsAt(i int) bool {
	r := c.at(i)
	switch {
	case r == '-':
		n := c.at(i + 1)
		return isCSSNameStart(n) || n == '-' || c.validEscapeAt(i+1)
	case isCSSNameStart(r):
		return true
	}
	return c.validEscapeAt(i)
}

func (c *cssScan) startsComment() bool { return c.at(c.i) == '/' && c.at(c.i+1) == '*' }

func (c *cssScan) skipComment() {
	c.i += 2
	for c.i < len(c.s) && !(c.s[c.i] == '*' && c.at(c.i+1) == '/') {
		c.i++
	}
	c.i = min(c.i+2, len(c.s))
}

func (c *cssScan) numberStarts() bool {
	r := c.at(c.i)
	digit := func(r rune) bool { return r >= '0' && r <= '9' }
	switch {
	case digit(r):
		return true
	case r == '+' || r == '-':
		return digit(c.at(c.i+1)) || c.at(c.i+1) == '.' && digit(c.at(c.i+2))
	case r == '.':
		return digit(c.at(c.i + 1))
	}
	return false
}

func (c *cssScan) number() {
	digit := func(r rune) bool { return r >= '0' && r <= '9' }
	if r := c.at(c.i); r == '+' || r == '-' {
		c.i++
	}
	for digit(c.at(c.i)) {
		c.i++
	}
	if c.at(c.i) == '.' && digit(c.at(c.i+1)) {
		c.i++
		for digit(c.at(c.i)) {
			c.i++
		}
	}
	if r := c.at(c.i); r == 'e' || r == 'E' {
		j := c.i + 1
		if s := c.at(j); s == '+' || s == '-' {
			j++
		}
		if digit(c.at(j)) {
			c.i = j
			for digit(c.at(c.i)) {
				c.i++
			}
		}
	}
}

// escape reads a valid escape at c.i (the backslash) and returns its value.
func (c *cssScan) escape() rune {
	c.i++
	if c.i >= len(c.s) {
		return 0xFFFD
	}
	hex := func(r rune) (rune, bool) {
		switch {
		case r >= '0' && r <= '9':
			return r - '0', true
		case r >= 'a' && r <= 'f':
			return r - 'a' + 10, true
		case r >= 'A' && r <= 'F':
			return r - 'A' + 10, true
		}
		return 0, false
	}
	if _, ok := hex(c.s[c.i]); !ok {
		r := c.s[c.i]
		c.i++
		return r
	}
	var v rune
	for n := 0; n < 6 && c.i < len(c.s); n++ {
		d, ok := hex(c.s[c.i])
		if !ok {
			break
		}
		v = v*16 + d
		c.i++
	}
	if c.i < len(c.s) && isCSSSpace(c.s[c.i]) {
		c.i++
	}
	if v == 0 || v > 0x10FFFF || v >= 0xD800 && v <= 0xDFFF {
		v = 0xFFFD
	}
	return v
}

func (c *cssScan) ident() string {
	var sb strings.Builder
	for c.i < len(c.s) {
		r := c.s[c.i]
		switch {
		case isCSSName(r):
			sb.WriteRune(r)
			c.i++
		case c.validEscapeAt(c.i):
			sb.WriteRune(c.escape())
		default:
			return sb.String()
		}
	}
	return sb.String()
}

// string reads a string token; ok is false for a bad string (a newline).
func (c *cssScan) string() (string, bool) {
	q := c.s[c.i]
	c.i++
	var sb strings.Builder
	for c.i < len(c.s) {
		r := c.s[c.i]
		switch {
		case r == q:
			c.i++
			return sb.String(), true
		case r == '\n' || r == '\r' || r == '\f':
			return sb.String(), false
		case r == '\\':
			if c.i+1 >= len(c.s) {
				c.i++
			} else if n := c.s[c.i+1]; n == '\n' || n == '\r' || n == '\f' {
				c.i += 2
			} else {
				sb.WriteRune(c.escape())
			}
		default:
			sb.WriteRune(r)
			c.i++
		}
	}
	return sb.String(), true
}

// url reads what follows "url(": a function with a string, or a url token.
// ok is false when nothing is loaded from it.
func (c *cssScan) url() (string, bool) {
	for c.i < len(c.s) && isCSSSpace(c.s[c.i]) {
		c.i++
	}
	if r := c.at(c.i); r == '"' || r == '\'' {
		v, good := c.string()
		for c.i < len(c.s) && isCSSSpace(c.s[c.i]) {
			c.i++
		}
		// Only ")" (or the end), or a URL modifier (an identifier or
		// function), keeps url("…") valid.
		if !good || c.i < len(c.s) && c.s[c.i] != ')' && !c.identStartsAt(c.i) {
			return "", false
		}
		return v, true
	}
	var sb strings.Builder
	for c.i < len(c.s) {
		r := c.s[c.i]
		switch {
		case r == ')':
			c.i++
			return sb.String(), true
		case isCSSSpace(r):
			for c.i < len(c.s) && isCSSSpace(c.s[c.i]) {
				c.i++
			}
			if c.i >= len(c.s) {
				return sb.String(), true
			}
			if c.s[c.i] == ')' {
				c.i++
				return sb.String(), true
			}
			c.badURLRest()
			return "", false
		case r == '"' || r == '\'' || r == '(' || cssNonPrintable(r):
			c.badURLRest()
			return "", false
		case r == '\\':
			if !c.validEscapeAt(c.i) {
				c.badURLRest()
				return "", false
			}
			sb.WriteRune(c.escape())
		default:
			sb.WriteRune(r)
			c.i++
		}
	}
	return sb.String(), true
}

// badURLRest consumes the remnants of a bad url: up to ")" or the end.
func (c *cssScan) badURLRest() {
	for c.i < len(c.s) {
		if c.s[c.i] == ')' {
			c.i++
			return
		}
		if c.validEscapeAt(c.i) {
			c.escape()
			continue
		}
		c.i++
	}
}

// trackerHostRe finds the tracker as a host: after "//" (and any userinfo
// or subdomain), or after a special scheme with no slashes.
// A port must be digits: "tracker.example::" does not parse, so nothing
// loads. The test page is https: "https:x" without "//" is relative there, while
// another special scheme takes any number of slashes.
var trackerHostRe = regexp.MustCompile(`^(//|https://|(http|ftp|wss?):)/*([^/?#]*[@.])?tracker\.example\.?($|[/?#]|:[0-9]*($|[/?#]))`)

// urlInTextRe finds a tracker URL inside a string literal's text. After
// the host, a port is digits: in "//tracker.example:@x" the host is x and
// tracker.example: is user info (FuzzPassUsual ae38e1bcc2ad1a38).
// (A special scheme's URL with any slashes and backslashes after its
// colon, none included, or a run of two or more of them, names a host.)
var urlInTextRe = regexp.MustCompile(`(?i)(^|[^a-z0-9.+-])((https?|wss?|ftp):[/\\]*|[/\\]{2,})([^/\\'"\s]*[@.])?tracker\.example\.?($|[/?#'"\s\\]|:[0-9]*($|[/?#'"\s\\]))`)

// trackerScript reports whether an inline script would run a tracker: it
// calls gtag or fbq, or holds a string literal with a tracker URL.
func trackerScript(text string) bool {
	code, lits := splitJS(text)
	if !utf8.ValidString(code) || strings.ContainsRune(code, utf8.RuneError) {
		// The browser reads U+FFFD there, which no JavaScript token
		// contains: the script is a syntax error and runs nothing.
		return false
	}
	if trackerCallRe.MatchString(decodeJSIdentEscapes(code)) {
		return true
	}
	for _, l := range lits {
		if urlInTextRe.MatchString(jsUnescapeLoose(l)) {
			return true
		}
	}
	return false
}

// jsUnescapeLoose decodes a JavaScript string literal's escapes as the
// engine does in code that is not strict (independent of the rewriter's
// jsStringValue): \xHH, \uHHHH, \u{H…}, legacy octal and \0, the control
// escapes, line continuations, and any other character as itself ("\8"
// is 8: "//tracker.example\8" names tracker.example8, FuzzRewrite
// 7a84fd386dd9a7c8).
func jsUnescapeLoose(l string) string {
	var sb strings.Builder
	for i := 0; i < len(l); i++ {
		if l[i] != '\\' || i+1 >= len(l) {
			sb.WriteByte(l[i])
			continue
		}
		i++
		switch c := l[i]; {
		case c == 'u' && i+1 < len(l) && l[i+1] == '{':
			if j := strings.IndexByte(l[i:], '}'); j > 2 {
				if v, err := strconv.ParseUint(l[i+2:i+j], 16, 32); err == nil {
					sb.WriteRune(rune(v))
					i += j
					continue
				}
			}
			sb.WriteByte(c)
		case c == 'x' || c == 'u':
			n := 2 // \xHH, or \uHHHH
			if c == 'u' {
				n = 4
			}
			if i+n < len(l) {
				if v, err := strconv.ParseUint(l[i+1:i+1+n], 16, 16); err == nil {
					sb.WriteRune(rune(v))
					i += n
					continue
				}
			}
			sb.WriteByte(c)
		case c >= '0' && c <= '7':
			v, n := int(c-'0'), 0
			for limit := 2 - int(c-'0')/4; n < limit && i+1+n < len(l) && l[i+1+n] >= '0' && l[i+1+n] <= '7'; n++ {
				v = v*8 + int(l[i+1+n]-'0')
			}
			sb.WriteRune(rune(v))
			i += n
		case c == 'n':
			sb.WriteByte('\n')
		case c == 'r':
			sb.WriteByte('\r')
		case c == 't':
			sb.WriteByte('\t')
		case c == '\n':
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// splitJS blanks string literals and comments, so that a call is only
// seen in code, and returns the literals' contents. It is deliberately
// simple and independent of the rewriter's lexer; an unterminated literal
// runs to the end.
func splitJS(s string) (string, []string) {
	var lits []string
	b := []byte(s)
	blank := func(from, to int) {
		for k := from; k < len(b) && k < to; k++ {
			b[k] = ' '
		}
	}
	// prev is the last significant character, to tell a regular
	// expression literal from a division: a '/' after an operator or
	// punctuator, or at the start, opens a regex.
	prev := byte(0)
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '/' && i+1 < len(b) && b[i+1] == '/', c == '<' && strings.HasPrefix(s[i:], "<!--"):
			// A line comment; "<!--" starts one in classic scripts (Annex B).
			j := i
			for j < len(b) && b[j] != '\n' {
				j++
			}
			blank(i, j)
			i = j
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			end := len(b)
			if j := strings.Index(s[i+2:], "*/"); j >= 0 {
				end = i + 2 + j + 2
			}
			blank(i, end)
			i = end - 1
		case c == '/' && (prev == 0 || strings.IndexByte("(,=:[!&|?{};~+-*%<>^", prev) >= 0):
			// A regex literal: blanked, it loads nothing. It ends at an
			// unescaped '/' outside a class, or at the line's end.
			j, class := i+1, false
			for j < len(b) && b[j] != '\n' && (class || b[j] != '/') {
				switch b[j] {
				case '\\':
					j++
				case '[':
					class = true
				case ']':
					class = false
				}
				j++
			}
			blank(i+1, j)
			i = j
			prev = ')' // an operand: a '/' after it divides
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(b) && b[j] != c {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			lits = append(lits, s[i+1:min(j, len(s))])
			// The delimiters stay: fbq''( is a syntax error, not a call,
			// and fbq`…` is a tagged-template call.
			blank(i+1, j)
			i = j
			prev = '"'
		case c > ' ':
			prev = c
		}
	}
	return string(b), lits
}

// trackerCallRe finds a call of gtag or fbq as a whole identifier: Afbq(
// and ägtag( are other functions, #gtag( a private name; after an invalid
// byte (U+FFFD to the browser) the script is a syntax error. Identifier
// escapes are decoded first (jsIdentEscapeRe).
var trackerCallRe = regexp.MustCompile("(^|[^\\p{L}\\p{N}\\p{M}\\p{Pc}$#\\x{200C}\\x{200D}\\x{FFFD}])(gtag|fbq)\\s*[(`]")

// jsIdentEscapeRe matches the \uXXXX and \u{X…} escapes that JavaScript
// allows in identifiers.
var jsIdentEscapeRe = regexp.MustCompile(`\\u(\{[0-9a-fA-F]+\}|[0-9a-fA-F]{4})`)

func decodeJSIdentEscapes(code string) string {
	return jsIdentEscapeRe.ReplaceAllStringFunc(code, func(m string) string {
		v, err := strconv.ParseUint(strings.Trim(m[2:], "{}"), 16, 32)
		if err != nil {
			return m
		}
		return string(rune(v))
	})
}

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
	sharedDir(t, sub)
	out, err := readCorpus(sub, suffix)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readCorpus reads the files of ../shared/<sub> whose names end in
// suffix; its error wraps fs.ErrNotExist when ../shared is absent.
func readCorpus(sub, suffix string) (map[string][]byte, error) {
	d := filepath.Join("..", "..", "shared", sub)
	ents, err := os.ReadDir(d)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), suffix) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, e.Name()))
		if err != nil {
			return nil, err
		}
		out[e.Name()] = b
	}
	return out, nil
}

// TestOracleJS checks that the inline-script oracle can fail.
func TestOracleJS(t *testing.T) {
	for _, s := range []string{"gtag('js')", `s.src="https://tracker.example/x.js"`, "u='//a.tracker.example'", "x; fbq ('init')", `\u0067tag('config')`, `\u{66}bq('init')`, "fbq`init`", `a = b / 2; c = "//tracker.example/x"`, `x = (1) / gtag('js')`} {
		if !trackerScript(s) {
			t.Errorf("oracle misses %q", s)
		}
	}
	for _, s := range []string{"Afbq(", `"//tracker.example0/x"`, "// tracker.example", "mygtag()", "'gtag('0", "/* fbq( */ x()", "''//tracker.example", "#gtag(", "ägtag(x)", "\xefgtag(", `<!--"x //tracker.example`, "fbq''(", "\xc5 gtag(", `/"//trACker.eXAmple`, `x = /gtag(/`} {
		if trackerScript(s) {
			t.Errorf("oracle flags %q", s)
		}
	}
}

// TestOracleCSS checks that the CSS oracle can fail: it flags tracker URLs
// and passes relative paths that only spell the name.
func TestOracleCSS(t *testing.T) {
	for _, s := range []string{"background:url(https://tracker.example/p.gif)", "@import url('//tracker.example/x.css')", `@import "https://a.tracker.example/x.css"`, `url('//tracker.example/x' crossorigin(anonymous))`, `url( "//tracker.example/x" )`,
		`background:image-set("https://tracker.example/a.png" 1x)`, `background:-webkit-image-set("//tracker.example/a.png" 1x)`,
		`background:u\72l(//tracker.example/x)`, `a{b:url(//tracker.exa\mple/x)}`, "@import 'https://tracker.example/x.css'"} {
		if !cssHit(s) {
			t.Errorf("oracle misses %q", s)
		}
	}
	for _, s := range []string{"url(0trACker.eXAmple", "url(tracker.example/p.gif)", "url(/img/tracker.example.png)", "url(http:trACker.eXAmple0", `url(http:trACker.eXAmple"`, "0url(http:trACker.eXAmple", "url(http:trACker.eXAmple#\x7f", "url('//trACker.eXAmple'00",
		"0000'000 url('https://trACker.eXAmple", "/* url(//tracker.example/x) */", `a{content:"url(//tracker.example/x)"}`,
		`x:"https://tracker.example/a.png"`, `@media print{} "//tracker.example/x.css"`, "#url(http:trACker.eXAmple", "@\\69mport\"http:trACker.eXAmple\f"} {
		if cssHit(s) {
			t.Errorf("oracle flags %q", s)
		}
	}
}

// TestOracleURL pins the URL oracle both ways.
func TestOracleURL(t *testing.T) {
	for _, u := range []string{"https://tracker.example/x", "//a.tracker.example:8080/x", "http:tracker.example", "https://u:p@tracker.example.", "https://tracker.example:/"} {
		if !mentionsTracker("", u) {
			t.Errorf("oracle misses %q", u)
		}
	}
	for _, u := range []string{"http:%74rACker.eXAmple::", "https://tracker.example:80x/", "/tracker.example/x", "https://tracker.example0/"} {
		if mentionsTracker("", u) {
			t.Errorf("oracle flags %q", u)
		}
	}
}
