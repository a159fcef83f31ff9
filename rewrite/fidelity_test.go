package rewrite

import (
	"bytes"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Removal fidelity: apart from the elements the policy changed, the DOM
// that x/net/html builds from the output equals the DOM of the input.
//
// Under defer and placeholder, the test undoes every change the way the
// consent runtime does (data-fp-* attributes back to their names, the
// placeholder box and the loader dropped) and then requires the two DOMs
// to be identical: that also proves a defer is reversible. Under remove,
// it walks both DOMs together and lets the input side skip exactly the
// elements the policy removes.

var deferAll = PolicyFunc(func(page *url.URL, r *Resource) Decision {
	d := removeAll.Decide(page, r)
	if d.Action == Remove {
		d.Action = Defer
		if r.Kind == KindFrame || r.Kind == KindEmbed {
			d.Action, d.Vendor = Placeholder, "Vendor"
		}
	}
	return d
})

var fidelityLoader = func(token, nonce string) []byte {
	return []byte(`<script src="/_fp/consent.js" data-fp-loader></script>`)
}

// parseDoc parses s. The defer checks parse with scripting off, so that
// <noscript> content, which the rewriter rewrites too, is part of the DOM
// compared; the remove checks parse with scripting on, because removing a
// pixel from a <noscript> in the head legitimately changes where a
// scripting-off parser puts what follows.
func parseDoc(t testing.TB, s string, scripting bool) *html.Node {
	t.Helper()
	doc, err := html.ParseWithOptions(strings.NewReader(s), html.ParseOptionEnableScripting(scripting))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func hasAttrNS(n *html.Node, a html.Attribute) bool {
	for _, b := range n.Attr {
		if b.Namespace == a.Namespace && b.Key == a.Key {
			return true
		}
	}
	return false
}

func hasAttr(n *html.Node, key string) bool {
	_, ok := attrOf(n, key)
	return ok
}

func delAttr(n *html.Node, key string) {
	n.Attr = slices.DeleteFunc(n.Attr, func(a html.Attribute) bool { return a.Namespace == "" && a.Key == key })
}

// undoDefer reverses the rewriter's defer and placeholder markup in place.
func undoDefer(n *html.Node) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if c.Type == html.ElementNode && (hasAttr(c, "data-fp-loader") || hasClass(c, "fp-placeholder") || hasAttr(c, "data-fp-neutral")) {
			n.RemoveChild(c)
		} else {
			undoDefer(c)
		}
		c = next
	}
	if n.Type != html.ElementNode || !hasAttr(n, "data-fp-token") {
		return
	}
	if v, ok := attrOf(n, "type"); ok && v == "text/plain" && (n.Data == "script" || n.Data == "style") {
		delAttr(n, "type")
	}
	if n.Data == "style" {
		// The runtime leaves the preload scanner's stop (preloadStop)
		// before the sheet: in raw text a CDO and a CDC, which a sheet's
		// top level skips; in SVG a comment, no part of the sheet.
		if c := n.FirstChild; c != nil && c.Type == html.TextNode && strings.HasPrefix(c.Data, preloadStop) {
			c.Data = c.Data[len(preloadStop):]
		} else if c != nil && c.Type == html.CommentNode && c.Data == "" {
			n.RemoveChild(c)
		}
	}
	if _, ok := attrOf(n, "data-fp-srcdoc"); ok {
		delAttr(n, "srcdoc")
	}
	if v, ok := attrOf(n, "data-fp-style"); ok {
		delAttr(n, "style")
		n.Attr = append(n.Attr, html.Attribute{Key: "style", Val: v})
	}
	var attrs []html.Attribute
	for _, a := range n.Attr {
		name, ok := strings.CutPrefix(a.Key, "data-fp-")
		switch {
		case !ok || a.Namespace != "":
			attrs = append(attrs, a)
		case name == "category" || name == "vendor" || name == "token" || name == "placeholder" || name == "style":
		case name == "src" && n.Namespace == "svg" && n.Data == "script":
			// a copy of the SVG script's href or xlink:href, for the
			// HTML script the runtime runs in its place
		default:
			a.Key = name
			if name == "xlink:href" {
				a.Namespace, a.Key = "xlink", "href"
			}
			attrs = append(attrs, a)
		}
	}
	n.Attr = attrs
}

func hasClass(n *html.Node, c string) bool {
	v, _ := attrOf(n, "class")
	return slices.Contains(strings.Fields(v), c)
}

// sameTree compares two DOMs; skip, if not nil, names input elements that
// the output may lack, and changed output elements are compared by name
// only. Adjacent text nodes are compared joined, since a removed element
// between them leaves one text node.
func sameTree(in, out *html.Node, skip func(*html.Node) bool, path string) error {
	if in.Type != out.Type || in.Data != out.Data || in.Namespace != out.Namespace {
		return fmt.Errorf("%s: %s differs from %s", path, describe(in), describe(out))
	}
	if skip != nil && changedInPlace(out) {
		return nil
	}
	if in.Type == html.ElementNode && in.Data == "base" && in.Namespace == "" && !hasAttr(out, "href") {
		// A base after URLs were decided against the page's, on another
		// host than the page's, loses its href (startTag): the pages here
		// are read with a page URL that is not their own.
		in = &html.Node{Type: in.Type, Data: in.Data, Attr: slices.DeleteFunc(slices.Clone(in.Attr), func(a html.Attribute) bool { return a.Namespace == "" && a.Key == "href" }), FirstChild: in.FirstChild}
	}
	if in.Type == html.ElementNode && !(sameAttrs(in.Attr, out.Attr) || skip != nil && sameAfterRemove(in, out)) {
		return fmt.Errorf("%s/%s: attributes %v became %v", path, in.Data, in.Attr, out.Attr)
	}
	var oskip, iskip func(*html.Node) bool
	if skip != nil {
		// An element that opens the body from the head is kept as a shell
		// without its URLs: such shells are compared on neither side.
		oskip = removalShell
		iskip = func(n *html.Node) bool { return skip(n) || removalShell(n) }
	}
	ic, oc := children(in, iskip), children(out, oskip)
	for i := 0; i < len(ic) || i < len(oc); i++ {
		if i >= len(ic) || i >= len(oc) {
			var extra *html.Node
			if i < len(ic) {
				extra = ic[i]
			} else {
				extra = oc[i]
			}
			return fmt.Errorf("%s/%s: %d children became %d; first unmatched %s", path, in.Data, len(ic), len(oc), describe(extra))
		}
		if ic[i].Type == html.TextNode && oc[i].Type == html.TextNode && ic[i].Data != oc[i].Data {
			return fmt.Errorf("%s/%s: text %q became %q (next: %s / %s)", path, in.Data, clip(ic[i].Data), clip(oc[i].Data), describeAt(ic, i+1), describeAt(oc, i+1))
		}
		if err := sameTree(ic[i], oc[i], skip, path+"/"+in.Data); err != nil {
			return err
		}
	}
	return nil
}

// children lists n's children without the skipped ones, with adjacent
// text nodes joined into one.
func children(n *html.Node, skip func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if skip != nil && skip(c) {
			continue
		}
		if c.Type == html.TextNode && len(out) > 0 && out[len(out)-1].Type == html.TextNode {
			joined := *out[len(out)-1]
			joined.Data += c.Data
			out[len(out)-1] = &joined
			continue
		}
		out = append(out, c)
	}
	return out
}

// changedInPlace reports whether remove left an output element in place
// but changed: a style neutralised, a <noscript> whose content was
// rewritten (text with scripting on).
func changedInPlace(n *html.Node) bool {
	if n.Type != html.ElementNode {
		return false
	}
	if n.Data == "noscript" {
		return true
	}
	for _, a := range n.Attr {
		if strings.HasPrefix(a.Key, "data-fp-") {
			return true
		}
	}
	return false
}

func sameAttrs(a, b []html.Attribute) bool {
	key := func(x html.Attribute) string { return x.Namespace + ":" + x.Key + "=" + x.Val }
	as, bs := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		as[i] = key(a[i])
	}
	for i := range b {
		bs[i] = key(b[i])
	}
	slices.Sort(as)
	slices.Sort(bs)
	return slices.Equal(as, bs)
}

func describeAt(ns []*html.Node, i int) string {
	if i < len(ns) {
		return describe(ns[i])
	}
	return "end"
}

func describe(n *html.Node) string {
	var b bytes.Buffer
	html.Render(&b, n)
	return clip(b.String())
}

// removedByRemoveAll reports whether removeAll takes an input element out
// whole: a running script, an iframe with a src, and a void element with a
// URL (other elements stay, without their URL attributes).
func removedByRemoveAll(n *html.Node) bool {
	if n.Type != html.ElementNode {
		return false
	}
	// has reports a URL attribute that contacts a host: data: and the like
	// are not decided.
	has := func(keys ...string) bool {
		for _, k := range keys {
			v, ok := attrOf(n, k)
			if !ok {
				continue
			}
			if k == "srcset" || k == "imagesrcset" || k == "ping" || k == "data-srcset" || k == "data-lazy-srcset" {
				return true
			}
			if u, err := ResolveURL(pageURL, v); err != nil || u.Host != "" || u.Scheme == "javascript" && n.Data != "img" && n.Data != "source" {
				return true
			}
		}
		return false
	}
	switch n.Data {
	case "script":
		return n.Namespace != "" || isExecType(n)
	case "embed", "track":
		return n.Namespace == "" && has("src")
	case "iframe", "frame":
		return n.Namespace == "" && has("src", "data-src", "data-lazy-src", "data-original")
	case "img", "source":
		return n.Namespace == "" && has("src", "srcset", "data-src", "data-lazy-src", "data-original", "data-srcset", "data-lazy-srcset")
	case "area":
		return has("ping")
	case "link":
		rel, _ := attrOf(n, "rel")
		_, ok := linkKind(rel)
		return ok && has("href", "imagesrcset")
	case "input":
		typ, _ := attrOf(n, "type")
		return strings.EqualFold(strings.TrimSpace(typ), "image") && has("src")
	}
	return false
}

// removalShell reports an element that remove may leave in place without
// its URLs, because it opens the body.
func removalShell(n *html.Node) bool {
	if n.Type != html.ElementNode || n.Namespace != "" {
		return false
	}
	switch n.Data {
	case "img", "iframe", "frame", "embed", "source", "track", "input", "area":
		for _, k := range removedAttrs {
			if hasAttr(n, k) {
				return false
			}
		}
		return true
	}
	return false
}

// removedAttrs are the attributes remove drops from an element it keeps.
var removedAttrs = []string{"src", "srcset", "data", "poster", "ping", "background", "imagesrcset", "href",
	"data-src", "data-lazy-src", "data-original", "data-srcset", "data-lazy-srcset", "data-poster"}

// sameAfterRemove compares attributes under remove: the output may lack a
// URL attribute, and a style may have its URLs neutralised.
func sameAfterRemove(in, out *html.Node) bool {
	keep := func(n *html.Node, other *html.Node) []html.Attribute {
		var as []html.Attribute
		for _, a := range n.Attr {
			if (a.Namespace == "" && slices.Contains(removedAttrs, a.Key) || a.Namespace == "xlink" && a.Key == "href") && !hasAttrNS(other, a) {
				continue
			}
			if a.Namespace == "" && a.Key == "srcdoc" {
				continue // rewritten in place
			}
			if a.Namespace == "" && handlerMayName(a) && !hasAttrNS(other, a) {
				continue // an event handler that can name a host, read as a script
			}
			if a.Namespace == "" && lazyBgName(a.Key) && a.Val != "" && !hasAttrNS(other, a) {
				continue // a lazy loader's background, which may name a host
			}
			if n.Namespace == "svg" && a.Namespace == "" && !hasAttrNS(other, a) {
				// A presentation attribute with a url(), and the values an
				// animation gives its target, may name a host.
				switch a.Key {
				case "fill", "stroke", "mask", "clip-path", "cursor", "filter", "marker", "marker-start", "marker-mid", "marker-end":
					if strings.Contains(strings.ToLower(a.Val), "url") || strings.Contains(a.Val, `\`) {
						continue
					}
				case "to", "from", "by", "values":
					if n.Data == "set" || n.Data == "animate" {
						continue
					}
				}
			}
			if a.Namespace == "" && a.Key == "style" {
				if v, _ := attrOf(out, "style"); strings.Contains(v, `"data:,"`) || strings.Contains(v, `""`) {
					continue
				}
			}
			as = append(as, a)
		}
		return as
	}
	return sameAttrs(keep(in, out), keep(out, in))
}

// handlerMayName reports whether a, parsed, is an event handler whose
// value the rewriter reads as a script: one whose source held a quote, a
// backtick, a backslash or a character reference (which decodes to one
// of these, or to <, > or a non-ASCII character, in the values here).
func handlerMayName(a html.Attribute) bool {
	if len(a.Key) <= 2 || a.Key[:2] != "on" {
		return false
	}
	return strings.ContainsAny(a.Val, "\"'`\\&<>") || strings.IndexFunc(a.Val, func(c rune) bool { return c >= 0x80 }) >= 0
}

// lazyFills maps a lazy loader's attribute to the one it fills.
var lazyFills = map[string]string{"data-src": "src", "data-lazy-src": "src", "data-original": "src",
	"data-srcset": "srcset", "data-lazy-srcset": "srcset", "data-poster": "poster"}

// loadLazy does to a DOM what lazy loaders and performance plugins'
// script loaders do, for what deferAll holds: the first lazy attribute
// with a URL that is decided fills its attribute, and the others that fill
// the same go; a delayed script loses its plugin type and has its URL in
// src. A deferred element comes back in that state, as if its loader had
// run.
func loadLazy(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		loadLazy(c)
	}
	if n.Type != html.ElementNode || n.Namespace != "" {
		return
	}
	switch n.Data {
	case "img", "source", "iframe", "frame", "video", "audio":
	case "script":
		// A performance plugin's delayed script comes back as the script
		// its loader would have run.
		if !isDelayedScript(n) {
			return
		}
		typ, _ := attrOf(n, "type")
		delAttr(n, "type")
		rt, _ := attrOf(n, "data-rocket-type")
		pt, _ := attrOf(n, "data-perfmatters-type")
		if strings.HasSuffix(strings.ToLower(strings.TrimSpace(typ)), "-module") || strings.EqualFold(strings.TrimSpace(rt), "module") || strings.EqualFold(strings.TrimSpace(pt), "module") {
			n.Attr = append(n.Attr, html.Attribute{Key: "type", Val: "module"})
		}
		sources := append([]string{"src"}, delayedSources...)
		for _, k := range sources {
			if v, ok := attrOf(n, k); ok {
				for _, k := range sources {
					delAttr(n, k)
				}
				n.Attr = append(n.Attr, html.Attribute{Key: "src", Val: v})
				break
			}
		}
		return
	default:
		return
	}
	decided := func(v string, list bool) bool {
		vals := []string{v}
		if list {
			vals = nil
			for c := range strings.SplitSeq(v, ",") {
				if f := strings.Fields(c); len(f) > 0 {
					vals = append(vals, f[0])
				}
			}
		}
		for _, v := range vals {
			u, err := ResolveURL(pageURL, v)
			if err != nil || u.Host != "" || u.Scheme == "javascript" && (n.Data == "iframe" || n.Data == "frame") {
				return true
			}
		}
		return false
	}
	filled := map[string]string{}
	var order []string
	var attrs []html.Attribute
	for _, a := range n.Attr {
		fill, lazy := lazyFills[a.Key]
		if !lazy || a.Namespace != "" || a.Val == "" || !decided(a.Val, fill == "srcset") {
			attrs = append(attrs, a)
			continue
		}
		if _, ok := filled[fill]; !ok {
			filled[fill] = a.Val
			order = append(order, fill)
		}
	}
	for _, f := range order {
		attrs = slices.DeleteFunc(attrs, func(a html.Attribute) bool { return a.Namespace == "" && a.Key == f })
		attrs = append(attrs, html.Attribute{Key: f, Val: filled[f]})
	}
	n.Attr = attrs
}

func checkFidelity(t *testing.T, name, in string) {
	t.Helper()
	src := parseDoc(t, in, false)
	loadLazy(src)
	out := rewriteString(t, in, Options{Policy: deferAll, Token: "tok", Loader: fidelityLoader})
	got := parseDoc(t, out, false)
	undoDefer(got)
	if err := sameTree(src, got, nil, ""); err != nil {
		t.Errorf("%s: defer is not reversible: %v", name, err)
	}
}

func TestRemovalFidelityShop(t *testing.T) {
	checkFidelity(t, "shop page", string(shopPage(200<<10)))
	in := string(shopPage(100 << 10))
	out := rewriteString(t, in, Options{Policy: shopPolicy(Remove), PageURL: benchPageURL})
	if err := sameTree(parseDoc(t, in, true), parseDoc(t, out, true), shopRemoved, ""); err != nil {
		t.Errorf("shop page, remove: %v", err)
	}
}

// shopRemoved names the shop page's elements that the shop policy removes
// whole: those removeAll removes that name a listed host in a URL
// attribute or inline script.
func shopRemoved(n *html.Node) bool {
	if !removedByRemoveAll(n) {
		return false
	}
	var texts []string
	for _, a := range n.Attr {
		if a.Key == "src" || a.Key == "href" || a.Key == "ping" || a.Key == "srcset" {
			texts = append(texts, a.Val)
		}
	}
	if n.Data == "script" && isExecType(n) {
		texts = append(texts, textOf(n))
	}
	for _, s := range texts {
		for _, h := range shopHosts {
			if strings.Contains(s, h) {
				return true
			}
		}
		for _, c := range []string{"gtag(", "fbq(", "_paq", "clarity", "ttq"} {
			if strings.Contains(s, c) {
				return true
			}
		}
	}
	return false
}

func TestRemovalFidelityRows(t *testing.T) {
	for _, in := range []string{
		`<p>a<img src="https://tracker.example/p.gif">b</p>`,
		`<p>text <iframe src="https://tracker.example/embed"></iframe> more</p><p>next</p>`,
		`<ul><li><a href="/x" ping="https://tracker.example/p">x</a></li></ul>`,
		`<table><tr><td><img srcset="https://tracker.example/1.gif 1x, /a.png 2x"></td></tr></table>`,
		`<div style="color:red;background:url(https://tracker.example/p.gif)">x</div>`,
		`<head><link rel=preconnect href="https://tracker.example"><script>gtag('js')</script></head><body>x</body>`,
		`<svg><script href="https://tracker.example/a.js"></script><image href="https://tracker.example/i.png"/></svg>`,
		`<video poster="https://tracker.example/p.jpg"><source src="https://tracker.example/v.mp4"></video>`,
		`<p><img class=lazyload src="data:image/gif;base64,R0lG" data-src="https://tracker.example/p.gif" data-srcset="/a.png 1x" alt=x></p>`,
		`<iframe data-src="https://tracker.example/e" src="about:blank" data-lazy-src="https://tracker.example/f"></iframe><img data-src="">`,
		`<script type="rocketlazyloadscript" data-rocket-src="https://tracker.example/a.js" defer></script><script type="litespeed/javascript">gtag('js')</script>`,
		`<script type="0123abcd-module" src="https://tracker.example/a.js" data-src="/b.js"></script>`,
		`<script type="rocketlazyloadscript" data-rocket-src="https://tracker.example/m.js" data-rocket-type="module"></script>`,
	} {
		checkFidelity(t, in, in)
	}
}

func TestRemovalFidelityPages(t *testing.T) {
	for n, b := range corpusFiles(t, "corpus/pages", ".html") {
		in := string(b)
		checkFidelity(t, n, in)
		out := rewriteString(t, in, Options{Policy: removeAll, Token: "tok"})
		if err := sameTree(parseDoc(t, in, true), parseDoc(t, out, true), removedByRemoveAll, ""); err != nil {
			t.Errorf("%s, remove: %v", n, err)
		}
	}
}

// TestChangedStyleBytes checks that a style whose tracker URL is replaced
// keeps every other byte as it came: a NUL, bytes that are not UTF-8 (Ñ
// on a windows-1252 page, a Shift_JIS character), a literal U+FFFD and
// character references, which the CSS lexer reads as characters, are not
// written as UTF-8 (é of &eacute; would be two characters on a
// windows-1252 page). The held original, and an SVG script's URL given as
// its src, are the attribute as the page wrote it.
func TestChangedStyleBytes(t *testing.T) {
	const tracker, neutral = "url(https://tracker.example/\xd1x.gif)", `url("data:,")`
	for _, css := range []string{
		"content:'\xd1';background:" + tracker,
		"content:'\x00\xd1\xd2\x00';background:" + tracker + ";content:'\xe2\x82'",
		"content:'\uFFFD\xd1';background:" + tracker + "\xd1;color:red",
		"content:'\x95\x96\x95';background:" + tracker + ";border-image:" + tracker,
		"content:'&eacute;&#0;&amp;&#x2192;&notin;&not';background:" + tracker + ";color:r&#x65;d",
		"content:'&eacute;';background:url(https://tracker.example/&eacute;.gif)&#x3B;color:red",
	} {
		for _, enc := range []string{"utf-8", "windows-1252", "shift_jis"} {
			want := strings.ReplaceAll(css, tracker, neutral)
			want = strings.ReplaceAll(want, "url(https://tracker.example/&eacute;.gif)", neutral)
			for _, a := range []Action{Defer, Remove} {
				opts := Options{Policy: trackerPolicy(a), Token: "tok", Encoding: enc}
				out := rewriteString(t, "<p style=\""+css+"\">x</p>", opts)
				if w := `style="` + strings.ReplaceAll(want, `"`, "&quot;") + `"`; !strings.Contains(out, w) {
					t.Errorf("%s %v: %q\n got %q\nwant %q in it", enc, a, css, out, w)
				}
				if w := `data-fp-style="` + css + `"`; a == Defer && !strings.Contains(out, w) {
					t.Errorf("%s %v: %q\n got %q\nwant %q in it", enc, a, css, out, w)
				}
				// Single-quoted, its double quotes are written as references.
				sq := strings.ReplaceAll(css, "'", `"`)
				out = rewriteString(t, "<p style='"+sq+"'>x</p>", opts)
				if w := `style="` + strings.ReplaceAll(strings.ReplaceAll(want, "'", `"`), `"`, "&quot;") + `"`; !strings.Contains(out, w) {
					t.Errorf("%s %v: %q\n got %q\nwant %q in it", enc, a, sq, out, w)
				}
				if strings.Contains(css, "&") {
					continue // a style element's text has no references
				}
				out = rewriteString(t, "<style>p{"+css+"}</style>", opts)
				if w := "<style data-fp-neutral=\"\">p{" + want + "}</style>"; !strings.HasPrefix(out, w) {
					t.Errorf("%s %v: %q\n got %q\nwant %q first", enc, a, css, out, w)
				}
			}
		}
	}
	// On a Shift_JIS page, a character that takes an ASCII byte (表 is
	// 0x95 0x5C) has the sheet read decoded: its neutral copy is still the
	// page's bytes, with the tracker's URLs replaced (it was empty).
	for css, want := range map[string]string{
		"content:'\x95\x5c';background:url(https://tracker.example/x.gif);color:red":                                                            "content:'\x95\x5c';background:" + neutral + ";color:red",
		"content:'\x95\x5c\x83\x5c\x82\xa0';background:url(https://tracker.example/x.gif)":                                                      "content:'\x95\x5c\x83\x5c\x82\xa0';background:" + neutral,
		"content:'\x95\x5c\x00';background:url(https://tracker.example/\x83\x5c.gif);b:url(/\x95\x5c.png);c:url(https://tracker.example/y.gif)": "content:'\x95\x5c\x00';background:" + neutral + ";b:url(/\x95\x5c.png);c:" + neutral,
	} {
		for _, a := range []Action{Defer, Remove} {
			out := rewriteString(t, "<style>p{"+css+"}</style>", Options{Policy: trackerPolicy(a), Token: "tok", Encoding: "shift_jis"})
			if w := "<style data-fp-neutral=\"\">p{" + want + "}</style>"; !strings.HasPrefix(out, w) {
				t.Errorf("shift_jis %v: %q\n got %q\nwant %q first", a, css, out, w)
			}
		}
	}
	// Held for its handler alone, such a sheet's neutral copy is the
	// page's bytes too (it was the decoded text, 表 as UTF-8's three).
	out := rewriteString(t, "<style onload=\"x('https://tracker.example/h')\">p{content:'\x95\x5c'}</style>", Options{Policy: trackerPolicy(Defer), Token: "tok", Encoding: "shift_jis"})
	if w := "<style data-fp-neutral=\"\">p{content:'\x95\x5c'}</style>"; !strings.HasPrefix(out, w) {
		t.Errorf("shift_jis, held for its handler:\n got %q\nwant %q first", out, w)
	}
	out = rewriteString(t, `<svg><script href="https://tracker.example/&eacute;'.js"></script></svg>`, Options{Policy: trackerPolicy(Defer), Token: "tok", Encoding: "windows-1252"})
	if w := `data-fp-src="https://tracker.example/&eacute;'.js"`; !strings.Contains(out, w) {
		t.Errorf("got %q\nwant %q in it", out, w)
	}
}

// TestSrcdocReferences checks a srcdoc whose rewrite has a character
// outside ASCII, from a character reference or from the page's bytes. On a
// page that declares an encoding other than UTF-8 the document is decoded
// from it and its rewrite written in ASCII, each such character as a
// reference; on one that declares none, whose encoding is unknown, a
// reference's character cannot be written, and the frame is empty until
// the original comes back. The original is the attribute as the page
// wrote it. Placeholder texts and vendor names are written in ASCII too.
func TestSrcdocReferences(t *testing.T) {
	in := "<iframe srcdoc=\"<p>&eacute;\xe9\xd1</p><img src=https://tracker.example/x.gif>\"></iframe>"
	orig := "data-fp-srcdoc=\"<p>&eacute;\xe9\xd1</p><img src=https://tracker.example/x.gif>\""
	for enc, want := range map[string][]string{
		"utf-8":        {"srcdoc=\"&lt;p&gt;é\xe9\xd1&lt;/p&gt;&lt;img data-fp-", orig},
		"windows-1252": {"srcdoc=\"&lt;p&gt;&#xe9;&#xe9;&#xd1;&lt;/p&gt;&lt;img data-fp-", orig},
		"shift_jis":    {"srcdoc=\"&lt;p&gt;&#xe9;&#x9c09;&lt;/p&gt;&lt;img data-fp-", orig},
		Undeclared:     {`srcdoc=""`, orig},
	} {
		out := rewriteString(t, in, Options{Policy: trackerPolicy(Defer), Token: "tok", Encoding: enc})
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: got %q\nwant %q in it", enc, out, w)
			}
		}
	}
	// Without such a reference, the rewrite is written on an undeclared
	// page with the page's bytes.
	out := rewriteString(t, "<iframe srcdoc=\"<p>&amp;\xd1</p><img src=https://tracker.example/x.gif>\"></iframe>", Options{Policy: trackerPolicy(Defer), Token: "tok", Encoding: Undeclared})
	if w := "srcdoc=\"&lt;p&gt;&amp;\xd1&lt;/p&gt;&lt;img data-fp-"; !strings.Contains(out, w) {
		t.Errorf("got %q\nwant %q in it", out, w)
	}
	// What the rewriter makes: a placeholder's texts, a vendor's name.
	policy := PolicyFunc(func(*url.URL, *Resource) Decision {
		return Decision{Action: Placeholder, Category: "embeds", Vendor: "Vimeo Ünïcode"}
	})
	opts := Options{Policy: policy, Token: "tok", Encoding: "windows-1252", PlaceholderText: func(v string) string { return "Inhalt von " + v + " — laden?" }}
	out = rewriteString(t, `<iframe src="https://player.example/v"></iframe>`, opts)
	for _, w := range []string{`data-fp-vendor="Vimeo &#xdc;n&#xef;code"`, `aria-label="Inhalt von Vimeo &#xdc;n&#xef;code &#x2014; laden?"`, `<span>Inhalt von Vimeo &#xdc;n&#xef;code &#x2014; laden?</span>`} {
		if !strings.Contains(out, w) {
			t.Errorf("got %q\nwant %q in it", out, w)
		}
	}
	if !utf8.ValidString(out) || strings.ContainsFunc(out, func(r rune) bool { return r >= utf8.RuneSelf }) {
		t.Errorf("a windows-1252 page got characters outside ASCII: %q", out)
	}
}
