package caddymodule

import (
	"fmt"
	"html"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The generated rows: markup that names a tracker in the places and the
// forms a page may, put together at random, for TestBrowserGenerated. The
// adversarial rows are written one by one for what each tests; these
// combine the same kinds of parts, so that Chromium, not a model of it,
// says which combinations reach the vendor. Its first runs (2026-12-05)
// found four the rewriter let through, each now an adversarial row: an
// inline script's URL without "//" ("https:tracker…/p"), a source's
// srcset in a picture in an svg, a style's @import whose name held a NUL,
// and a base in a noscript. Six parts were added after them (image-set,
// @font-face, CSS url() properties, a data: frame, a preload's
// imagesrcset, document.write); 6,000 rows with them reached nothing.
// Then five more and the response headers (genHeader): an SVG animation
// of an href, srcdoc in srcdoc, scripts' other fetches, a style in SVG
// with a character reference, and Link, Speculation-Rules and CSP
// report-uri headers. Their first runs found a Link header's imagesrcset,
// which FilterLinkHeader did not read, and an HTML image's or script's
// href inside an svg (in a foreignObject, a desc), which Chromium's
// preload scanner reads as an SVG one's; the HTML image and script with
// an href were then added as a part of their own, and so were documents
// and scripts in data: and javascript: URLs, speculation rules that match
// the page's links, and more CSS that loads. CSS where the CSS lexer and
// CSS may part before a URL (escaped url( names, quotes, parentheses,
// backslashes) was added on 2026-12-06, night, after Chromium fetched a
// background that came after 'u\72l(a"b)"c)d;e";', which the rewriter let
// through.

// genURL writes a URL to host and path in one of the forms a URL parser
// reads as naming the host.
func genURL(r *rand.Rand, host, path string) string {
	h := host
	switch r.IntN(10) {
	case 0:
		h = strings.ToUpper(host)
	case 1: // a letter of the first label percent-encoded
		h = fmt.Sprintf("%%%02x", host[0]) + host[1:]
	case 2:
		h = host + "."
	case 3:
		h = host + ":443"
	case 4:
		h = "ok.example@" + host
	}
	switch r.IntN(12) {
	case 0, 1, 2:
		return "https://" + h + path
	case 3, 4:
		return "//" + h + path
	case 5:
		return "HTTPS://" + h + path
	case 6:
		return `https:\\` + h + strings.ReplaceAll(path, "/", `\`)
	case 7:
		return "ht\ttps://" + h + path
	case 8:
		return " \n https://" + h + path + " "
	case 9:
		return "https:" + h + path
	case 10:
		return `\\` + h + path
	}
	return "http://" + h + path
}

// genJS writes u as the text of a JavaScript string in double or single
// quotes: its value is u.
func genJS(u string) string {
	return strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, `"`, `\"`, "'", `\'`).Replace(u)
}

// genJSON writes u as the text of a JSON string: its value is u (JSON has
// no \' escape).
func genJSON(u string) string { return strings.ReplaceAll(genJS(u), `\'`, "'") }

// genAttr writes v as an attribute's value: quoted one way or another,
// unquoted, or with a character reference in it.
func genAttr(r *rand.Rand, v string) string {
	switch r.IntN(8) {
	case 0:
		if !strings.ContainsAny(v, " \t\n\f>\"'`=") && v != "" {
			return v
		}
	case 1:
		if !strings.Contains(v, "'") {
			return "'" + v + "'"
		}
	case 2: // the colon, or else a t, as a character reference
		if i := strings.IndexByte(v, ':'); i >= 0 {
			return `"` + v[:i] + "&#x3a;" + v[i+1:] + `"`
		}
		return `"` + strings.Replace(v, "t", "&#116;", 1) + `"`
	case 3:
		return `"` + strings.Replace(v, "/", "&sol;", 1) + `"`
	case 4:
		return `"` + strings.Replace(v, "t", "&#x74", 1) + `"` // no semicolon
	}
	return `"` + strings.ReplaceAll(v, `"`, "&quot;") + `"`
}

// genParts are the places a page names a URL: each writes one, with u
// giving the URL of a path and a the attribute value of a text, and r
// choosing among forms.
var genParts = []func(r *rand.Rand, u, a func(string) string) string{
	func(_ *rand.Rand, u, a func(string) string) string { return "<img src=" + a(u("/p.gif")) + ">" },
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<img srcset=" + a("/a.png 1x, "+u("/p.gif")+" 2x") + ">"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<img src=/a.png srcset=" + a(u("/p.gif")) + " sizes=auto loading=lazy>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<script src=" + a(u("/a.js")) + "></script>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<script type=module src=" + a(u("/a.js")) + "></script>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return `<script type=module>import "` + genJS(u("/m.js")) + `";</script>`
	},
	func(r *rand.Rand, u, a func(string) string) string {
		rels := []string{"stylesheet", "preload", "prefetch", "preconnect", "dns-prefetch", "modulepreload", "icon", "manifest", "prerender", "compression-dictionary", "STYLESHEET", "alternate stylesheet", "preload prefetch", "apple-touch-icon"}
		as := []string{"", " as=script", " as=image", " as=style", " as=fetch", " as=font crossorigin"}
		return "<link rel=" + a(rels[r.IntN(len(rels))]) + " href=" + a(u("/x")) + as[r.IntN(len(as))] + ">"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<iframe src=" + a(u("/f.html")) + "></iframe>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<iframe srcdoc=" + a("<img src="+strings.ReplaceAll(u("/p.gif"), " ", "")+">") + "></iframe>"
	},
	func(_ *rand.Rand, u, a func(string) string) string { return "<embed src=" + a(u("/x.swf")) + ">" },
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<object data=" + a(u("/x.swf")) + "></object>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<video poster=" + a(u("/p.gif")) + " src=" + a(u("/v.mp4")) + "></video>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<audio src=" + a(u("/a.mp3")) + " preload=auto></audio>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<video><source src=" + a(u("/v.mp4")) + "><track default src=" + a(u("/t.vtt")) + "></video>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<picture><source srcset=" + a(u("/p.webp")) + "><img src=/a.png></picture>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<input type=image src=" + a(u("/p.gif")) + ">"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<svg><image href=" + a(u("/p.gif")) + "/></svg>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<svg><use href=" + a(u("/s.svg#a")) + "/></svg>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<svg><image xlink:href=" + a(u("/p.gif")) + "/></svg>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<svg><rect fill=" + a("url("+u("/f.svg#g")+")") + " width=9 height=9 /></svg>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<svg><filter id=f><feImage href=" + a(u("/p.gif")) + "/></filter><rect filter=url(#f) width=9 height=9 /></svg>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<p style=" + a("background:url("+u("/p.gif")+")") + ">x</p>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<style>.a{background:url(" + u("/p.gif") + ")}</style><p class=a>x</p>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<style>@import " + a(u("/s.css")) + ";</style>"
	},
	func(_ *rand.Rand, u, a func(string) string) string { return "<body background=" + a(u("/p.gif")) + ">" },
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<table background=" + a(u("/p.gif")) + "><tr><td>x</td></tr></table>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<base href=" + a(u("/")) + "><img src=p.gif>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<img src=/a.png data-src=" + a(u("/p.gif")) + " class=lazyload>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<div data-bg=" + a(u("/p.gif")) + ">x</div>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<img src=/a.png attributionsrc=" + a(u("/a")) + ">"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return `<script type=importmap>{"imports":{"a":"` + genJSON(u("/a.js")) + `"}}</script><script type=module>import "a"</script>`
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return `<script type=speculationrules>{"prefetch":[{"source":"list","urls":["` + genJSON(u("/s")) + `"]}]}</script>`
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<img src=x onerror=" + a("new Image().src='"+genJS(u("/p.gif"))+"'") + ">"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return `<script>new Image().src="` + genJS(u("/p.gif")) + `"</script>`
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return `<script>fetch("` + genJS(u("/f")) + `")</script>`
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<link rel=stylesheet href=" + a("data:text/css,@import '"+strings.TrimSpace(u("/s.css"))+"';") + ">"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<svg><a href=" + a(u("/x")) + "><text>x</text></a></svg>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<svg><script href=" + a(u("/a.js")) + "></script></svg>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<frameset><frame src=" + a(u("/f.html")) + "></frameset>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<p style=" + a("background-image:image-set('"+strings.TrimSpace(u("/p.gif"))+"' 1x)") + ">x</p>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<style>@font-face{font-family:g;src:url(" + u("/f.woff") + ")}p{font-family:g}</style><p>x</p>"
	},
	func(r *rand.Rand, u, a func(string) string) string {
		css := []string{"cursor", "list-style-image", "border-image-source", "mask-image", "content"}[r.IntN(5)]
		return "<p style=" + a(css+":url("+u("/p.gif")+")") + ">x</p>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<iframe src=" + a("data:text/html,<img src="+strings.ReplaceAll(u("/p.gif"), " ", "")+">") + "></iframe>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return "<link rel=preload as=image href=/a.png imagesrcset=" + a(u("/p.gif")+" 1x") + ">"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		return `<script>document.write('<img src="` + genJS(u("/p.gif")) + `">')</script>`
	},
	func(r *rand.Rand, u, a func(string) string) string {
		// An SVG animation that sets an element's href: Chromium loads
		// what it sets, with or without JavaScript.
		el := []string{"image width=9 height=9", "use", "feImage"}[r.IntN(3)]
		name := []string{"href", "xlink:href"}[r.IntN(2)]
		anim := []string{"set attributeName=" + name + " to=" + a(u("/p.gif")),
			"animate attributeName=" + name + " values=" + a(u("/p.gif")+";/a.png") + " dur=1s",
			"animate attributeName=" + name + " from=/a.png to=" + a(u("/p.gif")) + " dur=1s"}[r.IntN(3)]
		tag := strings.Fields(el)[0]
		if tag == "feImage" {
			return "<svg><filter id=f><feImage><" + anim + " /></feImage></filter><rect filter=url(#f) width=9 height=9 /></svg>"
		}
		return "<svg><" + el + "><" + anim + " /></" + tag + "></svg>"
	},
	func(r *rand.Rand, u, a func(string) string) string {
		// srcdoc in srcdoc, each level's markup escaped into the next.
		s := "<img src=" + strings.ReplaceAll(u("/p.gif"), " ", "") + ">"
		if r.IntN(2) == 0 {
			s = "<script src=" + strings.ReplaceAll(u("/a.js"), " ", "") + "></script>"
		}
		for range 2 + r.IntN(2) {
			s = `<iframe srcdoc="` + html.EscapeString(s) + `"></iframe>`
		}
		return s
	},
	func(r *rand.Rand, u, a func(string) string) string {
		call := []string{"import", "navigator.sendBeacon", "new Worker", "new EventSource"}[r.IntN(4)]
		return "<script>" + call + `("` + genJS(u("/x.js")) + `")</script>`
	},
	func(r *rand.Rand, u, a func(string) string) string {
		// SVG references the rewriter leaves: an href of an element's
		// in the same document, which Chromium does not fetch.
		if r.IntN(2) == 0 {
			return "<svg><text><textPath href=" + a(u("/p.svg#p")) + ">x</textPath></text></svg>"
		}
		return "<svg><circle r=2><animateMotion dur=1s><mpath href=" + a(u("/p.svg#p")) + " /></animateMotion></circle></svg>"
	},
	func(r *rand.Rand, u, a func(string) string) string {
		// Documents and scripts in URLs: data: and javascript:.
		v := strings.ReplaceAll(u("/p.gif"), " ", "")
		switch r.IntN(5) {
		case 0:
			return "<script src=" + a("data:text/javascript,fetch('"+genJS(v)+"')") + "></script>"
		case 1:
			return "<iframe src=" + a("javascript:'<img src="+genJS(v)+">'") + "></iframe>"
		case 2:
			return "<object data=" + a("data:text/html,<img src="+v+">") + "></object>"
		case 3:
			return "<iframe src=" + a("data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg'><image href='"+v+"' width='9' height='9'/></svg>") + "></iframe>"
		}
		return "<embed type=image/svg+xml src=" + a("data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' xmlns:xlink='http://www.w3.org/1999/xlink'><image xlink:href='"+v+"' width='9' height='9'/></svg>") + ">"
	},
	func(r *rand.Rand, u, a func(string) string) string {
		// A speculation rule that matches the page's links, and a link to
		// the tracker.
		where := []string{`{"href_matches":"/*"}`, `{"href_matches":"*"}`, `{"not":{"href_matches":"/x"}}`, `{"selector_matches":"a"}`}[r.IntN(4)]
		kind := []string{"prefetch", "prerender"}[r.IntN(2)]
		return `<script type=speculationrules>{"` + kind + `":[{"where":` + where + `,"eagerness":"immediate"}]}</script><a href=` + a(u("/page")) + `>x</a>`
	},
	func(r *rand.Rand, u, a func(string) string) string {
		// More CSS that loads: properties and an @import with layer and
		// supports conditions.
		if r.IntN(2) == 0 {
			return "<style>@import url(" + u("/s.css") + ") layer(x) supports(display:grid);</style>"
		}
		css := []string{"shape-outside", "-webkit-mask-box-image", "-webkit-box-reflect:below 0", "border-image", "mask"}[r.IntN(5)]
		sep := ":"
		if strings.Contains(css, ":") {
			sep = " "
		}
		return "<div style=" + a("float:left;width:9px;height:9px;"+css+sep+"url("+u("/p.gif")+")") + ">x</div>"
	},
	func(r *rand.Rand, u, a func(string) string) string {
		// An HTML image or script with an href: nothing to the element,
		// an SVG one's URL to Chromium's preload scanner inside an svg.
		switch r.IntN(4) {
		case 0:
			return "<image href=" + a(u("/p.gif")) + ">"
		case 1:
			return "<image src=/a.png xlink:href=" + a(u("/p.gif")) + ">"
		case 2:
			return "<script href=" + a(u("/a.js")) + "></script>"
		}
		return "<script type=text/plain xlink:href=" + a(u("/a.js")) + "></script>"
	},
	func(_ *rand.Rand, u, a func(string) string) string {
		// Foreign content's text decodes character references.
		return "<svg><style>@import url(" + strings.Replace(u("/s.css"), ":", "&#58;", 1) + ");</style></svg>"
	},
	func(r *rand.Rand, u, a func(string) string) string {
		// CSS where the CSS lexer and CSS may part before a URL (escaped
		// url( names, quotes, parentheses, backslashes, comments:
		// TestCSSURLsOracle's pieces), then the tracker's background.
		pieces := []string{`u\72l(`, `\75rl(`, `url(`, `\url(`, `\\url(`, `"`, `'`, `(`, `)`, `\`, `;`, ` `, `a`, `/*`, `*/`}
		var sb strings.Builder
		for range 1 + r.IntN(6) {
			sb.WriteString(pieces[r.IntN(len(pieces))])
		}
		if r.IntN(2) == 0 {
			return "<style>p{b:" + sb.String() + ";background:url(" + u("/p.gif") + ")}</style><p>x</p>"
		}
		return "<p style=" + a("b:"+sb.String()+";background:url("+u("/p.gif")+")") + ">x</p>"
	},
}

// genHeader writes response headers that name a URL of u's (rowHeader
// lines), and what the body needs for the browser to use them.
func genHeader(r *rand.Rand, u func(string) string) string {
	v := func(path string) string { return strings.ReplaceAll(strings.TrimSpace(u(path)), "\n", "") }
	switch r.IntN(6) {
	case 0, 1:
		rels := []string{"preconnect", "dns-prefetch", "preload", "modulepreload", "prefetch", "prerender", "stylesheet", "icon", "compression-dictionary", "preload prefetch"}
		rel := rels[r.IntN(len(rels))]
		rel = []string{"; rel=" + rel, `; rel="` + rel + `"`, ";REL=" + strings.ToUpper(rel), `; title="a, b"; rel=` + rel, "; rel=" + rel + "; rel=icon"}[r.IntN(5)]
		as := []string{"", "; as=script", "; as=image", "; as=style", "; as=font; crossorigin", "; as=fetch"}[r.IntN(6)]
		link := "<" + v("/x") + ">" + rel + as
		if r.IntN(3) == 0 {
			link = "</a.css>; rel=preload; as=style, " + link
		}
		return rowHeader + "Link: " + link + "\n"
	case 2:
		set := []string{`"` + v("/p.gif") + ` 1x"`, v("/p.gif"), `"/a.png 1x, ` + v("/p.gif") + ` 2x"`, `"` + v("/p.gif") + ` 600w"; imagesizes=100vw`}[r.IntN(4)]
		return rowHeader + "Link: </a.png>; rel=preload; as=image; imagesrcset=" + set + "\n"
	case 3:
		return rowHeader + `Speculation-Rules: "` + v("/rules.json") + `"` + "\n"
	case 4:
		return rowHeader + "Content-Security-Policy: script-src 'none'; report-uri " + v("/r") + "\n<script>1</script>"
	}
	return rowHeader + "Content-Security-Policy-Report-Only: img-src 'none'; report-uri " + v("/r") + "\n<img src=/a.png>"
}

// genOpen and genClose are the contexts a part is put in, and the tags
// that may end them (or not) after it.
var (
	genOpen = []string{"", "", "", "<svg>", "<math>", "<noscript>", "<template>", "<template shadowrootmode=open>", "<table>", "<select>", "<textarea>", "<title>",
		"<svg><foreignObject>", "<math><mtext>", "<math><annotation-xml encoding=text/html>", "<p title=\"", "<!--", "<![CDATA[", "<style>", "<xmp>", "<noembed>", "<noframes>",
		"<div popover>", "<object>", "<details>", "<dialog>", "<form>", "<button>", "<head>", "</head><body>", "<frameset>", "<colgroup>", "<svg><desc>", "<svg><title>",
		"<script>", "<iframe>", "<a href=/>", "<ruby>", "<image>", "<isindex>", "<keygen>", "<listing>", "<pre>", "<b><table><i>", "<table><td>", "<select><option>"}
	genClose = []string{"", "", "", "</svg>", "</math>", "</noscript>", "</template>", "</table>", "</select>", "</textarea>", "</title>", "-->", "]]>", "</style>", "\">", "</script>", "</iframe>", "</object>"}
)

// genRow writes a row that names host: up to two contexts, one or two
// parts (each now and then with its first space changed: a slash, a
// form feed, a NUL, another attribute, an upper-case tag) and now and
// then a closing tag after each.
func genRow(r *rand.Rand, host string) string {
	var b strings.Builder
	u := func(path string) string { return genURL(r, host, path) }
	if r.IntN(6) == 0 {
		b.WriteString(genHeader(r, u))
	}
	if r.IntN(3) == 0 {
		b.WriteString("<!doctype html>")
	}
	for range r.IntN(3) {
		b.WriteString(genOpen[r.IntN(len(genOpen))])
	}
	a := func(v string) string { return genAttr(r, v) }
	for range 1 + r.IntN(2) {
		e := genParts[r.IntN(len(genParts))](r, u, a)
		switch r.IntN(12) {
		case 0:
			e = strings.Replace(e, " ", "/", 1)
		case 1:
			e = strings.ToUpper(e[:4]) + e[4:]
		case 2:
			e = strings.Replace(e, " ", "\x00 ", 1)
		case 3:
			e = strings.Replace(e, " ", ` a="b" `, 1)
		case 4:
			e = strings.Replace(e, " ", "\f", 1)
		}
		b.WriteString(e)
		if r.IntN(3) == 0 {
			b.WriteString(genClose[r.IntN(len(genClose))])
		}
	}
	return b.String()
}

// TestBrowserGenerated loads generated rows (genRow) in Chromium as the
// adversarial rows are loaded (rowPages), deferred, with JavaScript off
// and on: nothing may reach a row's tracker or any other third party.
// The rows with speculation rules are loaded again each as the page
// itself, where Chromium reads them (rowPages.top). The rows come from a
// fixed seed, so that a run is repeatable; to look
// further, FP_GEN_SEED picks another seed and FP_GEN_ROWS how many (1,000
// by default), and each failure names its row.
func TestBrowserGenerated(t *testing.T) {
	seed, rows := uint64(20261205), 1000
	if s := os.Getenv("FP_GEN_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("FP_GEN_SEED: %v", err)
		}
		seed = v
	}
	if s := os.Getenv("FP_GEN_ROWS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("FP_GEN_ROWS: want a count, got %q", s)
		}
		rows = v
	}
	r := rand.New(rand.NewPCG(seed, 1))
	inputs := make([]string, rows)
	for i := range inputs {
		inputs[i] = genRow(r, fmt.Sprintf("i%d.tracker.example", i))
	}
	t.Logf("%d rows from seed %d", rows, seed)
	p := newRowPages(t, inputs)
	for _, js := range []bool{false, true} {
		t.Run(fmt.Sprintf("defer/js=%v", js), func(t *testing.T) {
			p.serve("defer")
			p.noContact(t, js, 500*time.Millisecond)
		})
	}
}
