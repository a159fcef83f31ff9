package caddymodule

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/firstparty/firstparty/rewrite"
)

// TestOwnHostSameAsAsked: the page's own URLs that the handler's policy
// keeps unasked (rewrite.OwnHostPolicy) are those it would keep if asked,
// with nothing to report: rewriting a page with the shortcut and with a
// policy that hides it writes the same bytes and counts the same, on the
// demo shop, the scan fixtures, pages of own URLs in every shape that
// matters (vendor loaders' shapes copied to the shop's host, escapes,
// a <base>), and the saved pages of ../shared when it is there.
func TestOwnHostSameAsAsked(t *testing.T) {
	pages := map[string][]byte{"load": []byte(loadPage(t, 100<<10))}
	for _, glob := range []string{"../testdata/demo/*.html", "../testdata/scan/pages/*.html"} {
		names, _ := filepath.Glob(glob)
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			pages[n] = b
		}
	}
	var own strings.Builder
	for _, u := range []string{"/i/1.jpg", "/gtag/js?id=G-1", "/x/gtm.js?id=GTM-1", "/fbevents.js", "/js/matomo.js", "/gtag/j%73?id=G-1",
		"/gtag\\js?id=G-1", "/gtag/j&#9;s?id=G-1", "/", "/a.css", "//www.googletagmanager.com/gtag/js?id=G-2"} {
		for _, tag := range []string{`<img src="%s">`, `<script src="%s"></script>`, `<link rel=preload as=script href="%s">`,
			`<iframe src="%s"></iframe>`, `<div style="background:url('%s')"></div>`, `<a href="/" ping="%s">x</a>`} {
			own.WriteString(strings.ReplaceAll(tag, "%s", u))
		}
	}
	pages["own"] = []byte("<!doctype html><html><head><title>t</title></head><body>" + own.String())
	pages["own, base"] = []byte(`<!doctype html><html><head><base href="https://cdn.example/"></head><body>` + own.String())
	for name, b := range corpusPages(t, -1) {
		pages[name] = b
	}
	h := provisioned(t, &Handler{})
	req := httptest.NewRequest("GET", "https://shop.example/p/1", nil)
	opts := h.rewriteOptions(pageURL(req))
	opts.ReportFindings = true
	if _, ok := opts.Policy.(rewrite.OwnHostPolicy); !ok {
		t.Fatalf("the handler's policy %T keeps no URL unasked", opts.Policy)
	}
	asked := opts
	asked.Policy = rewrite.PolicyFunc(opts.Policy.Decide)
	for name, page := range pages {
		var outs [2]bytes.Buffer
		var stats [2]*rewrite.Stats
		for k, o := range []rewrite.Options{opts, asked} {
			w := rewrite.NewWriter(&outs[k], o)
			if _, err := w.Write(page); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			stats[k] = w.Stats()
		}
		if outs[0].String() != outs[1].String() {
			t.Errorf("%s: the shortcut wrote other bytes", name)
		}
		a, b := stats[0], stats[1]
		if !reflect.DeepEqual(a.Findings(), b.Findings()) || a.Elements != b.Elements || a.Actions != b.Actions ||
			!reflect.DeepEqual(a.Categories, b.Categories) || !reflect.DeepEqual(a.Vendors, b.Vendors) || !reflect.DeepEqual(a.FailClosed, b.FailClosed) {
			t.Errorf("%s: the shortcut counted\n%v\nasking\n%v", name, stats[0].Findings(), stats[1].Findings())
		}
	}
}
