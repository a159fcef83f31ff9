package caddymodule

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// adversarialRows reads testdata/adversarial.txt, the rewriter's
// adversarial rows (Go string literals, one a line, # for comments).
func adversarialRows(t *testing.T) []string {
	const path = "../testdata/adversarial.txt"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for i, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l == "" || l[0] == '#' {
			continue
		}
		s, err := strconv.Unquote(l)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, i+1, err)
		}
		rows = append(rows, s)
	}
	return rows
}

// expandRow gives a row's T, the tracker, as host, in each form the rows
// write it.
func expandRow(row, host string) string {
	return strings.NewReplacer("://T", "://"+host, "//T", "//"+host, `\\T\`, `\\`+host+`\`, "https:T/", "https:"+host+"/").Replace(row)
}

// metaRefresh matches a row whose page navigates itself: the rewriter
// reports a refresh's URL and never changes it (docs/rewriter.md), as a
// link the visitor follows.
var metaRefresh = regexp.MustCompile(`(?i)http-equiv=["']?refresh`)

// rowPages serves rows of markup, each as a page of its own (/in/<n>,
// with the headers its first lines name: rowHeader), and rowsPerPage of
// them to a page of frames (/frames/<k>), from an upstream
// behind Caddy + firstparty, where a list makes tracker.example
// advertising and every other third party is unknown to the policy
// (deferred). Row n names its tracker i<n>.tracker.example, so a contact
// names the row.
type rowPages struct {
	e      *browserEnv
	inputs []string
	list   string
	up     string // the upstream's address
	// top are the rows loaded again each as the page itself: those with
	// speculation rules, which Chromium reads only there (it fetched the
	// rule set a page's Speculation-Rules header named and a page's list
	// rule's URLs, and nothing a frame's named), and those with a
	// manifest, which it reads only there too.
	top []int
}

// topSettle is how long noContact waits after each row it loads as the
// page itself.
const topSettle = 200 * time.Millisecond

const rowsPerPage = 100

// rowHeader begins each of a row's first lines that is a response
// header ("header:Link: <…>; rel=preload"), which the upstream sends as
// one, before the rest of the row as the body.
const rowHeader = "header:"

// rowHost matches the host a row names, as the stub reports a request
// ("h/path") or a connection ("h:port").
var rowHost = regexp.MustCompile(`^i(\d+)\.tracker\.example\.?($|[:/])`)

func newRowPages(t *testing.T, inputs []string) *rowPages {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if n, ok := strings.CutPrefix(r.URL.Path, "/in/"); ok {
			if k, err := strconv.Atoi(n); err == nil && k >= 0 && k < len(inputs) {
				body, child, _ := strings.Cut(inputs[k], rowChild)
				body, rules, _ := strings.Cut(body, rowRules)
				switch r.URL.RawQuery {
				case "child":
					// A frame of the row's own, which declares no
					// encoding unless its header lines do: it takes the
					// row's.
					w.Header().Set("Content-Type", "text/html")
					writeRowPart(w, child)
					return
				case "rules":
					w.Header().Set("Content-Type", "application/speculationrules+json")
					writeRowPart(w, rules)
					return
				}
				writeRowPart(w, body)
				return
			}
		}
		if n, ok := strings.CutPrefix(r.URL.Path, "/frames/"); ok {
			if k, err := strconv.Atoi(n); err == nil {
				fmt.Fprint(w, "<!doctype html><title>rows</title><body>")
				for j := k; j < min(k+rowsPerPage, len(inputs)); j++ {
					fmt.Fprintf(w, `<iframe src="/in/%d" width=40 height=40></iframe>`, j)
				}
				return
			}
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(up.Close)
	list := filepath.Join(t.TempDir(), "trackers.txt")
	if err := os.WriteFile(list, []byte("||tracker.example^\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newBrowserEnv(t, "unknown defer")
	// A browser loads every row, in pages of frames, and the top rows
	// again each as the page: 76 ms a row with JavaScript off and 114
	// with it on, on a slow 2-core machine, where FP_GEN_ROWS=4000 ran
	// past a fixed 5 minutes.
	e.timeout = max(5*time.Minute, time.Duration(len(inputs))*300*time.Millisecond)
	p := &rowPages{e: e, inputs: inputs, list: list, up: up.Listener.Addr().String()}
	for k, in := range inputs {
		if speculationRules.MatchString(in) || strings.HasPrefix(in, rowUndeclared) || strings.Contains(in, "rel=manifest") {
			p.top = append(p.top, k)
		}
	}
	return p
}

// writeRowPart writes a part of a row: the header lines that begin it
// (rowHeader), as headers, then the rest as the body.
func writeRowPart(w http.ResponseWriter, part string) {
	for {
		line, rest, ok := strings.Cut(part, "\n")
		h, isHeader := strings.CutPrefix(line, rowHeader)
		name, value, hasColon := strings.Cut(h, ": ")
		if !ok || !isHeader || !hasColon {
			break
		}
		if strings.EqualFold(name, "Content-Type") {
			w.Header().Set(name, value) // in place of the upstream's
		} else {
			w.Header().Add(name, value)
		}
		part = rest
	}
	fmt.Fprint(w, part)
}

// rowChild ends a row's page and begins its frame's (/in/<n>?child),
// which declares no encoding.
const rowChild = "\n@child\n"

// rowRules ends a row's page (before any rowChild) and begins the
// speculation rule set it serves at /in/<n>?rules, which its
// Speculation-Rules header names as "?rules".
const rowRules = "\n@rules\n"

// ruleSetRows are rows whose page names a rule set of its own in a
// Speculation-Rules header: a first-party file, which Chromium fetched,
// then prefetched or prerendered the vendor's URL it lists and the
// vendor's link its document rules match (or, with "relative_to":
// "document", the page's own paths under a vendor's <base>), before any
// choice. The rewriter's oracle reads markup, not a rule set served
// apart, so they are written here and not in testdata/adversarial.txt.
var ruleSetRows = []string{
	"header:Speculation-Rules: \"?rules\"\n<a href=\"https://T/x\">x</a>" + rowRules + `{"prefetch":[{"source":"document","eagerness":"immediate"}]}`,
	"header:Speculation-Rules: \"?rules\"\n<a href=\"https://T/x\">x</a>" + rowRules + `{"prerender":[{"where":{"selector_matches":"a"},"eagerness":"immediate"}]}`,
	"header:Speculation-Rules: \"?rules\"\n<a href=\"https://T/x\">x</a>" + rowRules + `{"prefetch":[{"where":{"href_matches":"https://*/*"},"eagerness":"immediate"}]}`,
	"header:Speculation-Rules: \"?rules\"\n<p>x</p>" + rowRules + `{"prefetch":[{"urls":["/p","https://T/p"]}]}`,
	"header:Speculation-Rules: \"?rules\"\n<p>x</p>" + rowRules + `{"tag":"t","prerender":[{"urls":["https://T/p"]}]}`,
	"header:Speculation-Rules: \"?rules\"\n<base href=\"https://T/\"><a href=\"/x\">x</a>" + rowRules + `{"prefetch":[{"source":"list","urls":["/p"],"relative_to":"document"}]}`,
	"header:Speculation-Rules: \"?rules\"\n<base href=\"https://T/\"><a href=\"/x\">x</a>" + rowRules + `{"prefetch":[{"where":{"href_matches":"/*","relative_to":"document"},"eagerness":"immediate"}]}`,
}

// xmlDocumentRows are rows whose frame of their own (rowChild) is an XML
// document of the site's: SVG files in an <object>, <iframe> and
// <embed>, an XML file with XHTML in it, and one with an
// <?xml-stylesheet?>. Chromium fetched the vendor's image, style sheet or
// script from each before the module confined them (xmlDocument).
var xmlDocumentRows = []string{
	`<object data="?child" type="image/svg+xml"></object>` + rowChild + svgRow,
	`<iframe src="?child"></iframe>` + rowChild + svgRow,
	`<embed src="?child" type="image/svg+xml">` + rowChild + svgRow,
	`<iframe src="?child"></iframe>` + rowChild + "header:Content-Type: image/svg+xml\n" + `<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://T/s.css);</style><script>fetch("https://T/f")</script></svg>`,
	`<iframe src="?child"></iframe>` + rowChild + "header:Content-Type: application/xml\n" + `<html xmlns="http://www.w3.org/1999/xhtml"><body><img src="https://T/p.gif"/></body></html>`,
	`<iframe src="?child"></iframe>` + rowChild + "header:Content-Type: text/xml\n" + `<?xml-stylesheet href="https://T/s.css" type="text/css"?><r>x</r>`,
}

// manifestRows are rows whose page names a web app manifest of its own
// (rowChild), which Chromium reads only for the page itself: it fetched
// the vendor's icon a first-party manifest named as the page loaded,
// before any choice (rewrite.FilterManifest); whatever the manifest's
// type, which Chromium does not check.
var manifestRows = []string{
	`<link rel=manifest href="?child"><p>x</p>` + rowChild + "header:Content-Type: application/manifest+json\n" + `{"name":"x","start_url":"/","display":"standalone","icons":[{"src":"https://T/i.png","sizes":"192x192","type":"image/png"}]}`,
	`<link rel=manifest href="?child"><p>x</p>` + rowChild + "header:Content-Type: text/plain\n" + `{"name":"x","start_url":"/","display":"standalone","icons":[{"src":"/i.png","sizes":"96x96"},{"src":"//T/i.png","sizes":"192x192","type":"image/png"}]}`,
	// Chromium reads a manifest's comments (Blink's
	// ParseJSONWithCommentsDeprecated), and fetched this icon unfiltered.
	`<link rel=manifest href="?child"><p>x</p>` + rowChild + "header:Content-Type: application/manifest+json\n" + "{\"name\":\"x\", // the shop\n\"start_url\":\"/\",\"display\":\"standalone\",/* icons */\"icons\":[{\"src\":\"https://T/i.png\",\"sizes\":\"192x192\",\"type\":\"image/png\"}]}",
}

// svgSpriteRows are rows whose page draws an element of an SVG file of
// its own (rowChild) with <svg><use href>, in the page, where the file's
// Content-Security-Policy does not apply: Chromium 156 fetched the vendor's
// image or resource each names before the module filtered them
// (rewrite.FilterSVG), under any XLink prefix or SVG prefix, in a fill,
// a style attribute (escaped in CSS or in XML), through an entity, before
// the error of a file that is not well-formed, in a file declared in
// another encoding, of another XML type, or with a charset its header
// names and Chromium did not use; and a file that the page's script
// fetches and writes into the page, as icon libraries do.
var svgSpriteRows = []string{
	`<div id="d"></div><script>fetch("?child").then(function(r){return r.text()}).then(function(t){document.getElementById("d").innerHTML=t})</script>` + rowChild + svgType + `<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><image href="https://T/p.gif" width="9" height="9"/></svg>`,
	`<svg width=20 height=20><use href="?child#a"/></svg>` + rowChild + svgType + `<svg xmlns="http://www.w3.org/2000/svg"><symbol id="a"><image href="https://T/p.gif" width="9" height="9"/></symbol></svg>`,
	`<svg width=20 height=20><use href="?child#a"/></svg>` + rowChild + svgType + `<svg xmlns="http://www.w3.org/2000/svg" xmlns:q="http://www.w3.org/1999/xlink"><symbol id="a"><image q:href="https://T/p.gif" width="9" height="9"/></symbol></svg>`,
	`<svg width=20 height=20><use href="?child#a"/></svg>` + rowChild + svgType + `<s:svg xmlns:s="http://www.w3.org/2000/svg"><s:symbol id="a"><s:image href="https://T/p.gif" width="9" height="9"/></s:symbol></s:svg>`,
	`<svg width=20 height=20><use href="?child"/></svg>` + rowChild + svgType + `<svg xmlns="http://www.w3.org/2000/svg"><image href="https://T/p.gif" width="9" height="9"/></svg>`,
	`<svg width=20 height=20><use href="?child#a"/></svg>` + rowChild + svgType + `<svg xmlns="http://www.w3.org/2000/svg"><g id="a"><rect width="9" height="9" filter="url(https://T/f.svg#f)" fill="url(https://T/g.svg#g)"/></g></svg>`,
	`<svg width=20 height=20><use href="?child#a"/></svg>` + rowChild + svgType + `<svg xmlns="http://www.w3.org/2000/svg"><g id="a"><rect width="9" height="9" style="mask-image:url(https://T/m.png);cursor:url(https://T/c.png),auto"/></g></svg>`,
	`<svg width=20 height=20><use href="?child#a"/></svg>` + rowChild + svgType + `<svg xmlns="http://www.w3.org/2000/svg"><g id="a"><rect width="9" height="9" style="fill:u\72 l(https://T/g.svg#g)"/></g></svg>`,
	`<svg width=20 height=20><use href="?child#a"/></svg>` + rowChild + svgType + `<svg xmlns="http://www.w3.org/2000/svg"><g id="a"><rect width="9" height="9" fill="&#x75;rl(https://T/g.svg#g)"/></g></svg>`,
	`<svg width=20 height=20><use href="?child#a"/></svg>` + rowChild + svgType + `<!DOCTYPE svg [<!ENTITY v "https://T/p.gif">]><svg xmlns="http://www.w3.org/2000/svg"><symbol id="a"><image href="&v;" width="9" height="9"/></symbol></svg>`,
	`<svg width=20 height=20><use href="?child#a"/></svg>` + rowChild + svgType + `<svg xmlns="http://www.w3.org/2000/svg"><symbol id="a"><image href="https://T/p.gif" width="9" height="9"/></symbol><g></svg>`,
	`<svg width=20 height=20><use href="?child#a"/></svg>` + rowChild + svgType + "\xef\xbb\xbf" + `<?xml version="1.0" encoding="iso-8859-1"?><svg xmlns="http://www.w3.org/2000/svg"><symbol id="a"><image href="https://T/p.gif" width="9" height="9"/></symbol></svg>`,
	`<svg width=20 height=20><use href="?child#a"/></svg>` + rowChild + svgType + `<?xml version="1.0" encoding="iso-8859-1"?><!-- as old editors wrote it --><svg xmlns="http://www.w3.org/2000/svg"><symbol id="a"><image href="https://T/p.gif" width="9" height="9"/></symbol></svg>`,
	`<svg width=20 height=20><use href="?child#a"/></svg>` + rowChild + "header:Content-Type: application/xml\n" + `<svg xmlns="http://www.w3.org/2000/svg"><symbol id="a"><image href="https://T/p.gif" width="9" height="9"/></symbol></svg>`,
	`<svg width=20 height=20><use href="?child#a"/></svg>` + rowChild + "header:Content-Type: image/svg+xml; charset=utf-16\n" + `<svg xmlns="http://www.w3.org/2000/svg"><symbol id="a"><image href="https://T/p.gif" width="9" height="9"/></symbol></svg>`,
}

// svgType begins an SVG file's part of a row.
const svgType = "header:Content-Type: image/svg+xml\n"

// svgRow is an SVG file that shows a vendor's image.
const svgRow = "header:Content-Type: image/svg+xml\n" + `<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><image href="https://T/p.gif" width="9" height="9"/></svg>`

// rowUndeclared begins a row whose page declares no encoding. Such a
// row is also loaded as the page itself: in a frame, it takes its
// parent's encoding, where Chromium guessed one from the page's own
// bytes.
const rowUndeclared = rowHeader + "Content-Type: text/html\n"

// speculationRules matches a row with speculation rules, in a
// Speculation-Rules header or a script.
var speculationRules = regexp.MustCompile(`(?i)speculation-?rules`)

// serve has Caddy take the list's category to action.
func (p *rowPages) serve(action string) {
	p.e.tester.InitServer(testGlobals(browserPort)+fmt.Sprintf(`http://localhost:%d {
	firstparty {
		list %q advertising abp
		category advertising %s
	}
	reverse_proxy %s
}
`, browserPort, p.list, action, p.up), "caddyfile")
}

// load navigates to the page of rows k to k+rowsPerPage.
func (p *rowPages) load(t *testing.T, ctx context.Context, k int) {
	p.navigate(t, ctx, fmt.Sprintf("/frames/%d", k), p.rows(k))
}

// rows names the rows of the page of frames k.
func (p *rowPages) rows(k int) string {
	return fmt.Sprintf("rows %d–%d", k, min(k+rowsPerPage, len(p.inputs))-1)
}

// navigate loads path, failing t with what on an error.
func (p *rowPages) navigate(t *testing.T, ctx context.Context, path, what string) {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(pctx, chromedp.Navigate(p.e.base+path)); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// noContact loads every page of rows in a browser with JavaScript on or
// off, then each of the top rows as the page itself, and reports each
// contact the stub saw with a third party within settle of a page of
// rows' load (topSettle of a row's): a row's tracker as that row's error.
func (p *rowPages) noContact(t *testing.T, js bool, settle time.Duration) {
	ctx := p.browser(t, js)
	for k := 0; k < len(p.inputs); k += rowsPerPage {
		p.e.stub.reset()
		p.load(t, ctx, k)
		time.Sleep(settle)
		p.contacts(t, p.rows(k))
	}
	for _, k := range p.top {
		p.e.stub.reset()
		p.navigate(t, ctx, fmt.Sprintf("/in/%d", k), fmt.Sprintf("row %d", k))
		time.Sleep(topSettle)
		p.contacts(t, fmt.Sprintf("row %d", k))
	}
}

// browser starts a browser for t with JavaScript on or off.
func (p *rowPages) browser(t *testing.T, js bool) context.Context {
	e := p.e
	e.t = t
	ctx := e.browser(1280, 800, false)
	e.run(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !js})
		return err
	}))
	return ctx
}

// contacts reports each contact the stub saw with a third party: a
// row's tracker as that row's error, any other as what's.
func (p *rowPages) contacts(t *testing.T, what string) {
	conns, reqs := p.e.stub.seen()
	for _, c := range append(conns, reqs...) {
		host := c // a request's "h/path", a connection's "tls h"
		if _, h, ok := strings.Cut(c, " "); ok {
			host = h
		}
		if m := rowHost.FindStringSubmatch(host); m != nil {
			n, _ := strconv.Atoi(m[1])
			t.Errorf("row %q reached %s", p.inputs[n], c)
		} else {
			t.Errorf("%s: %s was contacted", what, c)
		}
	}
}

// encodingRows write rows, for a tracker's host, in encodings a reader
// of bytes gets wrong: pages and data: documents whose characters take an
// ASCII byte (a backslash: 表 in Shift_JIS is 0x95 0x5C, 許 in Big5 0xB3
// 0x5C), and data: documents in UTF-16. Each reached the vendor in
// Chromium, deferred, before the rewriter read the encoding
// (rewrite.Options.Encoding). They are written here, not in
// testdata/adversarial.txt: the oracle there reads UTF-8 markup, and a
// UTF-16 document's host is not text a row's T can stand for.
var encodingRows = []func(host string) string{
	func(h string) string {
		return "header:Content-Type: text/html; charset=shift_jis\n<script>x=\"\x95\x5c\";fetch(\"https://" + h + "/f\")//\"</script>"
	},
	func(h string) string {
		return "header:Content-Type: text/html; charset=big5\n<script>x='\xb3\x5c';new Image().src='https://" + h + "/p.gif'//'</script>"
	},
	func(h string) string {
		return "header:Content-Type: text/html; charset=gbk\n<script>x=`\x81\x5c`;fetch(`https://" + h + "/f`)//`</script>"
	},
	func(h string) string {
		return "header:Content-Type: text/html; charset=shift_jis\n<p style=\"background:url(/a\x95\x5c), url(https://" + h + "/p.gif);width:9px;height:9px\">x</p>"
	},
	func(h string) string {
		return "header:Content-Type: text/html; charset=shift_jis\n<style>p{background:url(\"/a\x95\x5c\"), url(https://" + h + "/p.gif)}</style><p>x</p>"
	},
	func(h string) string {
		return "header:Content-Type: text/html; charset=shift_jis\n<img src=/a.png onerror=\"x='\x95\x5c';fetch('https://" + h + "/f')//'\">"
	},
	func(h string) string {
		return "header:Content-Type: text/html; charset=shift_jis\n<iframe srcdoc=\"<script>x='\x95\x5c';fetch('https://" + h + "/f')//'</script>\"></iframe>"
	},
	func(h string) string {
		return `<link rel=stylesheet href="data:text/css;charset=shift_jis,p{background:url('/a%95%5C'),url(https://` + h + `/p.gif)}"><p>x</p>`
	},
	func(h string) string {
		return `<iframe src="data:text/html;charset=shift_jis,%3Cscript%3Ex='%95%5C';fetch('https://` + h + `/f')//'%3C/script%3E"></iframe>`
	},
	func(h string) string {
		return `<iframe src="data:text/html,%3Cmeta%20charset=shift_jis%3E%3Cscript%3Ex='%95%5C';fetch('https://` + h + `/f')//'%3C/script%3E"></iframe>`
	},
	func(h string) string {
		return `<iframe src="data:text/html;charset=utf-16le,` + utf16Percent("<img src=https://"+h+"/p.gif>", false, false) + `"></iframe>`
	},
	func(h string) string {
		return `<iframe src="data:text/html,` + utf16Percent("<img src=https://"+h+"/p.gif>", false, true) + `"></iframe>`
	},
	func(h string) string {
		return `<object data="data:text/html;charset=utf-16be,` + utf16Percent("<img src=https://"+h+"/p.gif>", true, false) + `"></object>`
	},
	func(h string) string {
		return `<embed type=text/html src="data:text/html;charset=utf-16,` + utf16Percent("<img src=https://"+h+"/p.gif>", false, false) + `">`
	},
	// Pages that declare no encoding (rewrite.Undeclared): Chromium
	// guessed Shift_JIS, GBK and Big5 from their bytes, took a <meta>
	// charset past the first 1,024 bytes (ISO-2022-JP too), and gave a
	// frame its parent's encoding.
	func(h string) string {
		return rowUndeclared + "<p>\x93\xfa\x96\x7b\x8c\xea\x82\xcc\x83\x65\x83\x4c\x83\x58\x83\x67</p><script>x=\"\x95\x5c\";fetch(\"https://" + h + "/f\")//\"</script>"
	},
	func(h string) string {
		return rowUndeclared + "<p>\xd5\xe2\xca\xc7\xd6\xd0\xce\xc4\xce\xc4\xb1\xbe</p><script>x=`\x81\x5c`;fetch(`https://" + h + "/f`)//`</script>"
	},
	func(h string) string {
		return rowUndeclared + "<p>\xb3\x6f\xac\x4f\xa4\xa4\xa4\xe5</p><script>x='\xb3\x5c';new Image().src='https://" + h + "/p.gif'//'</script>"
	},
	func(h string) string {
		return rowUndeclared + "<p>\x93\xfa\x96\x7b\x8c\xea</p><p style=\"background:url(/a\x95\x5c), url(https://" + h + "/p.gif);width:9px;height:9px\">x</p>"
	},
	func(h string) string {
		return rowUndeclared + "<head><title>t</title>" + strings.Repeat("<meta name=x content=yyyyyyyyyyyyyyyyyyyy>", 40) + "<script>x=\"\x95\x5c\";fetch(\"https://" + h + "/f\")//\"</script><meta charset=shift_jis></head>"
	},
	func(h string) string {
		return rowUndeclared + "<head><title>t</title>" + strings.Repeat("<meta name=x content=yyyyyyyyyyyyyyyyyyyy>", 40) + "<meta charset=iso-2022-jp></head><body>\x1b$B<!\x1b(B--<img src=https://" + h + "/p.gif>-->"
	},
	func(h string) string {
		return "header:Content-Type: text/html; charset=shift_jis\n<iframe src=\"?child\"></iframe>" + rowChild + "<script>x=\"\x95\x5c\";fetch(\"https://" + h + "/f\")//\"</script>"
	},
}

// utf16Percent percent-encodes s (ASCII) as UTF-16, big-endian or not,
// after a byte order mark or not.
func utf16Percent(s string, be, bom bool) string {
	var b strings.Builder
	if bom {
		b.WriteString(map[bool]string{false: "%FF%FE", true: "%FE%FF"}[be])
	}
	for _, c := range []byte(s) {
		if be {
			fmt.Fprintf(&b, "%%00%%%02X", c)
		} else {
			fmt.Fprintf(&b, "%%%02X%%00", c)
		}
	}
	return b.String()
}

// TestBrowserAdversarial loads each of the rewriter's adversarial rows
// (testdata/adversarial.txt, the inputs its oracle, golang.org/x/net/html,
// checks) in Chromium as a page of its own, through Caddy + firstparty,
// with the tracker's host listed as advertising: deferred, then removed,
// each with JavaScript off and on. Each row gets a host of its own
// (i<n>.tracker.example), so a contact names the row; every other third
// party is unknown to the policy and waits too. Nothing may reach any of
// them: what x/net/html and the rewriter's models of Chromium (its preload
// scanner) agree on, the browser must do. A row's frame is one of a
// hundred on a page, which Chromium loads together; a row with
// speculation rules is loaded again as the page itself (rowPages.top).
func TestBrowserAdversarial(t *testing.T) {
	var inputs []string
	for _, r := range adversarialRows(t) {
		if !metaRefresh.MatchString(r) {
			inputs = append(inputs, expandRow(r, fmt.Sprintf("i%d.tracker.example", len(inputs))))
		}
	}
	for _, r := range encodingRows {
		inputs = append(inputs, r(fmt.Sprintf("i%d.tracker.example", len(inputs))))
	}
	for _, r := range xmlDocumentRows {
		inputs = append(inputs, expandRow(r, fmt.Sprintf("i%d.tracker.example", len(inputs))))
	}
	for _, r := range manifestRows {
		inputs = append(inputs, expandRow(r, fmt.Sprintf("i%d.tracker.example", len(inputs))))
	}
	for _, r := range ruleSetRows {
		inputs = append(inputs, expandRow(r, fmt.Sprintf("i%d.tracker.example", len(inputs))))
	}
	for _, r := range svgSpriteRows {
		inputs = append(inputs, expandRow(r, fmt.Sprintf("i%d.tracker.example", len(inputs))))
	}
	p := newRowPages(t, inputs)
	e := p.e
	for _, action := range []string{"defer", "remove"} {
		for _, js := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/js=%v", action, js), func(t *testing.T) {
				p.serve(action)
				p.noContact(t, js, 300*time.Millisecond)
			})
		}
	}
	// With every category granted before (a returning visitor's cookie),
	// each row's runtime gives back or runs all that the row held as the
	// row parses, and throws nothing (the rows' own scripts may: they
	// call vendors' functions that the stub's scripts do not define).
	t.Run("defer/granted", func(t *testing.T) {
		e.t = t
		p.serve("defer")
		ctx := e.browser(1280, 800, false)
		throws := listenRuntimeThrows(ctx)
		e.run(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, network.SetCookie, e.grantedAll())
			return err
		}))
		var loaders int
		for k := 0; k < len(inputs); k += rowsPerPage {
			p.load(t, ctx, k)
			// Each frame: "<held left> <whether its loader is there>".
			var frames []string
			waitFor(5*time.Second, func() bool {
				e.eval(ctx, `[].map.call(document.querySelectorAll("iframe"), function(f){var d = f.contentDocument; return d ? (`+heldLeft+`)(d).length + " " + (`+hasLoader+`)(d) : "none"})`, &frames)
				return !slices.ContainsFunc(frames, func(f string) bool { return f != "0 true" && f != "0 false" })
			})
			for i, f := range frames {
				if f == "0 true" {
					loaders++
				} else if f != "0 false" {
					t.Errorf("row %q, every category granted: held left, loader: %s", inputs[k+i], f)
				}
			}
		}
		if thrown := throws.take(); len(thrown) > 0 {
			t.Errorf("the runtime threw: %q", thrown)
		}
		t.Logf("%d rows with a loader, all given back", loaders)
		if loaders == 0 {
			t.Error("no row held anything")
		}
	})
}

// workerRows are rows whose page starts a worker or worklet of the site's
// own (rowChild, served as JavaScript) that fetches or imports from the
// vendor. A worker runs under the Content-Security-Policy its own script
// carries, not the page's: under csp_backstop enforce, Chromium 156 let
// each worker below (dedicated, module, shared and service) reach the
// vendor until the module gave its script the backstop too; a worklet
// runs under its page's.
var workerRows = []string{
	`<p>w</p><script>new Worker("?child")</script>` + rowChild + jsType + `fetch("https://T/worker-fetch")`,
	`<p>w</p><script>new Worker("?child")</script>` + rowChild + jsType + `importScripts("https://T/worker-import.js")`,
	`<p>w</p><script>new Worker("?child", {type: "module"})</script>` + rowChild + jsType + `import "https://T/module-import.js"`,
	`<p>w</p><script>new SharedWorker("?child")</script>` + rowChild + jsType + `fetch("https://T/shared-fetch")`,
	`<p>w</p><script>navigator.serviceWorker.register("?child")</script>` + rowChild + jsType + `importScripts("https://T/sw-import.js")`,
	`<p>w</p><script>navigator.serviceWorker.register("?child")</script>` + rowChild + jsType + `self.addEventListener("install", function(){ fetch("https://T/sw-install") })`,
	`<p>w</p><script>CSS.paintWorklet.addModule("?child")</script>` + rowChild + jsType + `import "https://T/worklet-import.js"`,
	`<p>w</p><script>new AudioContext().audioWorklet.addModule("?child")</script>` + rowChild + jsType + `import "https://T/audio-import.js"`,
}

// jsType is a row part's header line that serves it as JavaScript.
const jsType = rowHeader + "Content-Type: text/javascript\n"

// TestBrowserBackstopWorkers: under csp_backstop enforce, nothing the
// site's own workers and worklets fetch or import reaches a third party,
// with JavaScript on; without the backstop (the control) each row reaches
// its vendor, which shows that each runs.
func TestBrowserBackstopWorkers(t *testing.T) {
	var inputs []string
	for i, r := range workerRows {
		inputs = append(inputs, expandRow(r, fmt.Sprintf("i%d.tracker.example", i)))
	}
	p := newRowPages(t, inputs)
	for _, backstop := range []string{"", "csp_backstop enforce"} {
		p.e.tester.InitServer(testGlobals(browserPort)+fmt.Sprintf(`http://localhost:%d {
	firstparty {
		list %q advertising abp
		category advertising defer
		%s
	}
	reverse_proxy %s
}
`, browserPort, p.list, backstop, p.up), "caddyfile")
		if backstop != "" {
			t.Run("enforce", func(t *testing.T) { p.noContact(t, true, 3*time.Second) })
			continue
		}
		ctx := p.browser(t, true)
		p.e.stub.reset()
		p.load(t, ctx, 0)
		reached := map[int]bool{}
		waitFor(10*time.Second, func() bool {
			conns, reqs := p.e.stub.seen()
			for _, c := range append(conns, reqs...) {
				if m := rowHost.FindStringSubmatch(c); m != nil {
					n, _ := strconv.Atoi(m[1])
					reached[n] = true
				}
			}
			return len(reached) == len(inputs)
		})
		for i := range inputs {
			if !reached[i] {
				t.Errorf("control, no backstop: row %q did not reach its vendor", inputs[i])
			}
		}
	}
}

// TestBrowserBackstopServiceWorker: a service worker keeps the
// Content-Security-Policy it was installed with, and a browser installs
// it again only when its script's bytes change. Under csp_backstop
// enforce, the site's service worker (one that takes over at once, as
// most do: skipWaiting and clients.claim), installed after a grant,
// reached a vendor after the grant was withdrawn, and one installed
// before a choice kept the backstop after a grant, in Chromium 156,
// until the module marked the script with the backstop's state
// (serviceWorkerMark). Each subtest asks the worker to fetch from the
// vendor under its first consent and again, after the next page, under
// its second: the reach it must have under each says the worker ran, and
// that the second answer's policy replaced the first's.
func TestBrowserBackstopServiceWorker(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sw.js" {
			w.Header().Set("Content-Type", "text/javascript")
			w.Header().Set("Cache-Control", "max-age=3600")
			fmt.Fprint(w, `self.addEventListener("install", function () { self.skipWaiting() });
self.addEventListener("activate", function (e) { e.waitUntil(clients.claim()) });
self.addEventListener("message", function (e) { fetch("https://sw.tracker.example/" + e.data, {mode: "no-cors"}) });
`)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>sw</title><p>sw</p><script>navigator.serviceWorker.register("/sw.js");
navigator.serviceWorker.addEventListener("controllerchange", function () { window.changes = (window.changes || 0) + 1 })</script>`)
	}))
	t.Cleanup(up.Close)
	list := filepath.Join(t.TempDir(), "trackers.txt")
	if err := os.WriteFile(list, []byte("||tracker.example^\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newBrowserEnv(t, "unknown defer")
	e.tester.InitServer(testGlobals(browserPort)+fmt.Sprintf(`http://localhost:%d {
	firstparty {
		list %q advertising abp
		category advertising defer
		csp_backstop enforce
	}
	reverse_proxy %s
}
`, browserPort, list, up.Listener.Addr().String()), "caddyfile")
	at := time.Now().Add(-time.Minute).Unix()
	grant, refuse := fmt.Sprintf("1.%d.%d.*-a", at, at), fmt.Sprintf("1.%d.%d.*-d", at, at)
	for _, c := range []struct {
		name          string
		first, second string // fp_consent before each page
	}{
		{"withdrawn", grant, refuse},
		{"granted", refuse, grant},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			ctx := e.browser(1280, 800, false)
			for i, consent := range []string{c.first, c.second} {
				e.run(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
					_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: "fp_consent", Value: consent, URL: e.base + "/"})
					return err
				}))
				e.open(ctx, "/")
				// The first page waits for the worker to control it; the
				// second for a new worker to take over, once the browser's
				// update check at the page (2 s after it loads, in
				// Chromium 156) found the script changed. Without the mark
				// none does: the wait ends, and the old worker answers.
				wait := `!!navigator.serviceWorker.controller`
				if i > 0 {
					wait = `window.changes > 0`
				}
				if ok := waitFor(8*time.Second, func() bool {
					var ok bool
					e.eval(ctx, wait, &ok)
					return ok
				}); !ok && i == 0 {
					t.Fatal("no service worker controls the page")
				}
				e.stub.reset()
				path := fmt.Sprintf("page%d", i+1)
				e.eval(ctx, `navigator.serviceWorker.controller.postMessage(`+strconv.Quote(path)+`)`, nil)
				want := consent == grant
				reached := waitFor(3*time.Second, func() bool {
					_, reqs := e.stub.seen()
					return slices.Contains(reqs, "sw.tracker.example/"+path)
				})
				if reached != want {
					conns, reqs := e.stub.seen()
					t.Errorf("page %d, fp_consent %s: the service worker reached the vendor: %v, want %v (connections %v, requests %v)", i+1, consent, reached, want, conns, reqs)
				}
			}
		})
	}
}
