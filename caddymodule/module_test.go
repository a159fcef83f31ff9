package caddymodule

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"golang.org/x/net/html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/firstparty/firstparty/blocklists"
	"github.com/firstparty/firstparty/rewrite"
)

func TestCaddyfileExample(t *testing.T) {
	b, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(b, nil)
	if err != nil {
		t.Fatalf("adapting Caddyfile.example: %v", err)
	}
	s := string(out)
	for _, want := range []string{`"handler":"firstparty"`, `"categories":{"advertising":"remove","analytics":"defer","embeds":"placeholder"}`, `"exclude":["/admin","/checkout/api"]`, `"page_memo":67108864`, `"consent_maps":{"borlabs":{"shop-statistics":["analytics"]}}`, `"banner":{"enabled":true,"privacy_url":"/privacy","texts":{"fr":{"title":"Vos données, votre choix"}}}`, `"path":"/etc/caddy/easyprivacy.txt"`, `{"category":"advertising","format":"abp","refresh":43200000000000,"url":"https://easylist.to/easylist/easylist.txt"}`,
		`"proxies":[{"ip":"truncate","prefix":"/_fp/plausible","profile":"plausible"},{"client_ids":"pseudonym","ids":["G-ABC123XYZ"],"prefix":"/_fp/ga","profile":"ga4","rotate":86400000000000}]`} {
		if !strings.Contains(s, want) {
			t.Errorf("adapted JSON lacks %s:\n%s", want, s)
		}
	}
	if !strings.Contains(s, `"errors":{"routes":[`) || !strings.Contains(s, `"uri":"/{http.error.status_code}.html"`) {
		t.Errorf("adapted JSON lacks the handle_errors routes:\n%s", s)
	}
	// firstparty runs after encode, so it sees plain HTML.
	if strings.Index(s, `"handler":"encode"`) > strings.Index(s, `"handler":"firstparty"`) {
		t.Errorf("firstparty is ordered before encode:\n%s", s)
	}
}

func TestCaddyfileErrors(t *testing.T) {
	tests := map[string]string{
		"firstparty extra":                                                    "wrong argument count",
		"firstparty {\n bogus\n}":                                             `unknown subdirective "bogus"`,
		"firstparty {\n report_only\n report_only\n}":                         `duplicate subdirective "report_only"`,
		"firstparty {\n category analytics nuke\n}":                           `unknown action "nuke"`,
		"firstparty {\n category nosuch defer\n}":                             `unknown category "nosuch"`,
		"firstparty {\n unknown\n}":                                           "wrong argument count",
		"firstparty {\n max_token_size -1\n}":                                 "max_token_size",
		"firstparty {\n max_token_size 1073741825\n}":                         "from 1KiB to 1GiB",
		"firstparty {\n max_token_size 10\n}":                                 `have "10"`,
		"firstparty {\n consent_map cookiebot \"\" analytics\n}":              "the key is empty",
		"firstparty {\n consent_map zaraz __proto__ analytics\n}":             "cannot be a key",
		"firstparty {\n list /l.txt {\n refresh 1h\n }\n}":                    "refresh applies to URL lists only",
		"firstparty {\n list https://l.example/l.txt {\n refresh soon\n }\n}": "refresh:",
		"firstparty {\n list https://l.example/l.txt {\n refresh 10s\n }\n}":  "under the minimum",
		"firstparty {\n list https://l.example/l.txt {\n every 1h\n }\n}":     `unknown list option "every"`,
		"firstparty {\n list http://l.example/l.txt\n}":                       "only https",
		"firstparty {\n list /l.txt analytics xml\n}":                         `unknown format "xml"`,
		"firstparty {\n banner maybe\n}":                                      "banner: want on or off",
		"firstparty {\n banner on {\n position left\n }\n}":                   `banner position "left"`,
		"firstparty {\n banner on {\n colors #fff #000 #00f\n }\n}":           "quote hex colours",
		"firstparty {\n banner on {\n colors red blue url(x)\n }\n}":          `banner color "url(x)"`,
		"firstparty {\n banner on {\n text en titel Hi\n }\n}":                `unknown key`,
		"firstparty {\n banner on {\n language pt\n }\n}":                     `banner language "pt" has no texts`,
		"firstparty {\n banner on {\n privacy_url javascript:alert(1)\n }\n}": "privacy_url",
		"firstparty {\n banner on {\n blink yes\n }\n}":                       `unknown banner option "blink"`,
		"firstparty {\n banner on\n banner off\n}":                            `duplicate subdirective "banner"`,
		"firstparty {\n consent_map usercentrics x analytics\n}":              `unknown consent manager "usercentrics"`,
		"firstparty {\n consent_map zaraz x essential\n}":                     "not a category a visitor grants",
		"firstparty {\n consent_cookie a;b\n}":                                "not a valid cookie name",
		"firstparty {\n allow js.stripe.com \"bad host!\"\n}":                 `allow: "bad host!" is not a host name`,
		"firstparty {\n deny https://ads.example\n}":                          `deny: "https://ads.example" is not a host name`,
		"firstparty {\n first_party cdn..example\n}":                          "first_party:",
		"firstparty {\n third_party metrics.shop.example/x\n}":                "third_party:",
		"firstparty {\n exclude admin\n}":                                     `exclude "admin": want a path prefix`,
		"firstparty {\n allow js.stripe.com com\n}":                           `allow: "com" is a public suffix`,
		"firstparty {\n runtime_path consent.js\n}":                           `runtime_path "consent.js" must start with /`,
		"firstparty {\n runtime_path /_fp/c.js?v=1\n}":                        "runtime_path",
		"firstparty {\n style_sheets on\n}":                                   "style_sheets: want rewrite, consent or pass",
		"firstparty {\n style_sheets\n}":                                      "wrong argument count",
		"firstparty {\n style_sheets pass\n style_sheets rewrite\n}":          `duplicate subdirective "style_sheets"`,
		"firstparty {\n runtime_path \"/c.js\\\" onload=\\\"x\"\n}":           "runtime_path",
	}
	wantCaddyfileErrors(t, false, tests)
	// The JSON form: the runtime's path is written into every page.
	if err := (&Handler{RuntimePath: `/c.js" onload="x`}).Validate(); err == nil {
		t.Error("a runtime_path with a quote is valid JSON configuration")
	}
	if err := (&Handler{StyleSheets: "yes"}).Validate(); err == nil {
		t.Error("style_sheets yes is valid JSON configuration")
	}
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("firstparty")); err != nil {
		t.Errorf("bare firstparty: %v", err)
	}
}

// wantCaddyfileErrors parses each input (inside "firstparty {…}" when
// inBlock is set) and wants an error that contains its message and names
// the file and line.
// TestValidateMaxTokenSize checks the JSON form's bounds on max_token_size,
// which the rewriter keeps in 32 bits.
func TestValidateMaxTokenSize(t *testing.T) {
	for n, ok := range map[int]bool{-1: false, 0: true, 10: false, 1023: false, 1 << 10: true, 1 << 30: true, 1<<30 + 1: false} {
		h := Handler{MaxTokenSize: n}
		err := h.Validate()
		if ok != (err == nil) || err != nil && !strings.Contains(err.Error(), "max_token_size") {
			t.Errorf("max_token_size %d: %v", n, err)
		}
	}
}

// TestPolicyHosts checks the hosts of allow, deny, first_party and
// third_party as the JSON form gives them: compared in lower case, with a
// trailing dot or a leading "*." ignored, and an error for one that is not
// a host name (or an exclude that is not a path), which would never match.
func TestPolicyHosts(t *testing.T) {
	h := provisioned(t, &Handler{Allow: []string{"WWW.GoogleTagManager.COM."}, Deny: []string{"*.Facebook.NET"}, ThirdParty: []string{"Metrics.Shop.Example"}})
	rec := serve(h, httptest.NewRequest("GET", "http://shop.example/", nil), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script><script src="https://connect.facebook.net/en_US/fbevents.js"></script><script src="https://metrics.shop.example/t.js"></script>`)
	})
	body := rec.Body.String()
	if !strings.Contains(body, `<script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>`) || strings.Contains(body, "facebook") {
		t.Errorf("allow and deny in other cases not applied: %s", body)
	}
	// A CNAME-cloaked subdomain declared in another case is still a
	// third party: unlisted, so it waits (it was kept as first party).
	if strings.Contains(body, `<script src="https://metrics.shop.example/t.js">`) {
		t.Errorf("third_party in another case not applied: %s", body)
	}
	if h.Allow[0] != "WWW.GoogleTagManager.COM." {
		t.Errorf("the configuration was changed: %q", h.Allow)
	}
	for _, bad := range []Handler{{Allow: []string{"bad host!"}}, {Deny: []string{""}}, {FirstParty: []string{"a..b"}}, {ThirdParty: []string{"x.example:443"}}, {Exclude: []string{"admin"}},
		// A public suffix would keep every site under it.
		{Allow: []string{"com"}}, {Allow: []string{"CO.UK"}}, {FirstParty: []string{"github.io"}}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	// Removing or declaring third party a whole suffix is the owner's
	// call: it loses no privacy.
	if err := (&Handler{Deny: []string{"com"}, ThirdParty: []string{"github.io"}, FirstParty: []string{"shop.github.io"}}).Validate(); err != nil {
		t.Errorf("deny com, third_party github.io, first_party shop.github.io: %v", err)
	}
}

// TestPageHostForms checks that the page's own absolute URLs stay first
// party whatever form the Host header takes: a port, upper case, a fully
// qualified name's final dot.
func TestPageHostForms(t *testing.T) {
	h := provisioned(t, &Handler{})
	const in = `<script src="https://shop.example/app.js"></script><script src="https://cdn.shop.example/lib.js"></script>`
	for _, host := range []string{"shop.example", "SHOP.Example:8443", "shop.example.", "shop.example.:443"} {
		req := httptest.NewRequest("GET", "http://shop.example/", nil)
		req.Host = host
		rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, in)
		})
		if got := rec.Body.String(); got != in {
			t.Errorf("Host %q: first-party scripts changed: %s", host, got)
		}
	}
}

func wantCaddyfileErrors(t *testing.T, inBlock bool, cases map[string]string) {
	t.Helper()
	for in, want := range cases {
		src := in
		if inBlock {
			src = "firstparty {\n " + in + "\n}"
		}
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
			continue
		}
		if !strings.Contains(err.Error(), "Testfile:") {
			t.Errorf("%q: error %v does not name the file and line", in, err)
		}
	}
}

func TestCaddyfileConsent(t *testing.T) {
	var h Handler
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`firstparty {
	consent_cookie shop_consent
	consent_map zaraz Xk3b analytics session_replay
	banner on {
		privacy_url /privacy
		position top
		colors "#fffdf7" "#222" rgb(11,110,79)
		language pt
		text pt title "A sua privacidade"
	}
}`))
	if err != nil {
		t.Fatal(err)
	}
	b := h.Banner
	if h.ConsentCookie != "shop_consent" || strings.Join(h.ConsentMaps["zaraz"]["Xk3b"], ",") != "analytics,session_replay" ||
		b == nil || !b.Enabled || b.PrivacyURL != "/privacy" || b.Position != "top" || b.Colors[2] != "rgb(11,110,79)" ||
		b.Language != "pt" || b.Texts["pt"]["title"] != "A sua privacidade" {
		t.Fatalf("parsed %+v %+v", h, b)
	}
	// Portuguese, not built in, starts from the English texts; the runtime
	// is built with them.
	if got := b.texts()["pt"]; got["title"] != "A sua privacidade" || got["accept"] != "Accept all" {
		t.Errorf("merged texts %v", got)
	}
	p := provisioned(t, &h)
	if !bytes.Contains(p.runtime, []byte(`"cookie":"shop_consent"`)) || !bytes.Contains(p.runtime, []byte(`"Xk3b":["analytics","session_replay"]`)) {
		t.Errorf("the served runtime lacks the config")
	}
	// One language for every visitor: the runtime carries its texts alone.
	if !bytes.Contains(p.runtime, []byte(`A sua privacidade`)) || bytes.Contains(p.runtime, []byte(`Tout accepter`)) || bytes.Contains(p.runtime, []byte(`Alle akzeptieren`)) {
		t.Errorf("the runtime of a site in Portuguese alone carries other languages' texts")
	}
}

// The served runtime: cached for a year under its version, briefly
// otherwise, and the loader asks for that version.
func TestServeRuntime(t *testing.T) {
	h := provisioned(t, &Handler{})
	for _, c := range []struct{ url, cache string }{
		{"/_fp/consent.js?v=" + h.runtimeVersion, "public, max-age=31536000, immutable"},
		{"/_fp/consent.js", "public, max-age=300"},
		{"/_fp/consent.js?v=old", "public, max-age=300"},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", c.url, nil), nil)
		if w.Code != 200 || w.Header().Get("Cache-Control") != c.cache || !bytes.Equal(w.Body.Bytes(), h.runtime) ||
			w.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
			t.Errorf("%s: %d %q %d bytes", c.url, w.Code, w.Header().Get("Cache-Control"), w.Body.Len())
		}
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/_fp/consent.js", nil)
	r.Header.Set("If-None-Match", `"`+h.runtimeVersion+`"`)
	h.ServeHTTP(w, r, nil)
	if w.Code != http.StatusNotModified {
		t.Errorf("conditional GET: %d", w.Code)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/_fp/consent.js", nil), nil)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}
	if l := string(h.loader("tok", "")); l != `<script src="/_fp/consent.js?v=`+h.runtimeVersion+`" data-fp-token="tok"></script>` {
		t.Errorf("loader %s", l)
	}
}

func provisioned(t testing.TB, h *Handler) *Handler {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := h.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	h.logger = zap.NewNop()
	return h
}

const page = `<html><head><script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script></head><body><p>hi</p></body></html>`

// setHeaders sets each header named in kv (name, value, name, value…) to
// its value, where the value is not empty.
func setHeaders(h http.Header, kv ...string) {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			h.Set(kv[i], kv[i+1])
		}
	}
}

func serve(h *Handler, req *http.Request, next http.HandlerFunc) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		next(w, r)
		return nil
	}))
	return rec
}

func TestServeHTML(t *testing.T) {
	h := provisioned(t, &Handler{})
	req := httptest.NewRequest("GET", "http://shop.example/", nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Range", "bytes=0-10")
	var sawRange, sawAE string
	rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
		sawRange, sawAE = r.Header.Get("Range"), r.Header.Get("Accept-Encoding")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", "999")
		w.Header().Set("ETag", `"abc"`)
		// no-transform binds intermediaries; firstparty is the site's own
		// edge, and honouring it would let the page's trackers load.
		w.Header().Set("Cache-Control", "no-transform")
		w.Write([]byte(page))
	})
	body := rec.Body.String()
	if !strings.Contains(body, `data-fp-src="https://www.googletagmanager.com/gtag/js?id=G-1"`) || !strings.Contains(body, `<script src="/_fp/consent.js?v=`) {
		t.Errorf("not deferred: %s", body)
	}
	if rec.Header().Get("Content-Length") != "" || rec.Header().Get("ETag") != `W/"abc-fp`+h.pageTag()+`"` {
		t.Errorf("headers: %v", rec.Header())
	}
	if sawRange != "" || sawAE != "identity" {
		t.Errorf("upstream saw Range %q, Accept-Encoding %q", sawRange, sawAE)
	}
}

// TestServeRangeWithoutHTMLAccept checks a Range request that does not
// say it wants HTML, as a download tool's: the Range goes upstream, so a
// script keeps its 206, and a page answered with a partial body is asked
// for again whole, then rewritten, with the headers set before firstparty.
func TestServeRangeWithoutHTMLAccept(t *testing.T) {
	h := provisioned(t, &Handler{})
	var ranges []string
	upstream := func(w http.ResponseWriter, r *http.Request) {
		ranges = append(ranges, r.Header.Get("Range")+"|"+r.Header.Get("If-Range"))
		ct, body := "text/html; charset=utf-8", page
		if strings.HasSuffix(r.URL.Path, ".js") {
			ct, body = "text/javascript", `var s="https://www.googletagmanager.com/gtag/js"`
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(body))
	}
	req := httptest.NewRequest("GET", "http://shop.example/p", nil)
	req.Header.Set("Accept", "*/*")
	req.Header.Set("Range", "bytes=0-10")
	req.Header.Set("If-Range", `"v1"`)
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Before", "kept") // as a header directive before firstparty
	h.ServeHTTP(rec, req, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		upstream(w, r)
		return nil
	}))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `data-fp-src="https://www.googletagmanager.com/gtag/js?id=G-1"`) || !strings.HasSuffix(body, "</body></html>") {
		t.Errorf("page: %d %q", rec.Code, body)
	}
	if len(ranges) != 2 || ranges[0] != `bytes=0-10|"v1"` || ranges[1] != "|" {
		t.Errorf("upstream saw Range|If-Range %q, want the range, then none", ranges)
	}
	if hdr := rec.Header(); hdr.Get("X-Before") != "kept" || hdr.Get("Content-Range") != "" || hdr.Get("Content-Length") != "" || hdr.Get("ETag") != `W/"v1-fp`+h.pageTag()+`"` {
		t.Errorf("headers: %v", hdr)
	}

	ranges = nil
	req = httptest.NewRequest("GET", "http://shop.example/a.js", nil)
	req.Header.Set("Range", "bytes=0-5")
	rec = serve(h, req, upstream)
	if rec.Code != http.StatusPartialContent || rec.Body.String() != "var s=" || len(ranges) != 1 {
		t.Errorf("script range: %d %q, %d upstream calls", rec.Code, rec.Body.String(), len(ranges))
	}

	// A method that is not GET is not sent twice: its partial HTML fails
	// closed, as before.
	ranges = nil
	req = httptest.NewRequest("POST", "http://shop.example/p", strings.NewReader("x=1"))
	req.Header.Set("Range", "bytes=0-10")
	rec = serve(h, req, func(w http.ResponseWriter, r *http.Request) {
		ranges = append(ranges, r.Method)
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Range", "bytes 0-10/100")
		w.WriteHeader(http.StatusPartialContent)
		io.WriteString(w, page[:11])
	})
	if rec.Code != http.StatusBadGateway || len(ranges) != 1 || strings.Contains(rec.Body.String(), page[:11]) {
		t.Errorf("POST partial HTML: %d %q, %d upstream calls", rec.Code, rec.Body.String(), len(ranges))
	}
}

func TestServePassthroughAndFailClosed(t *testing.T) {
	h := provisioned(t, &Handler{})
	js := `var s="https://www.googletagmanager.com/gtag/js"`
	rec := serve(h, httptest.NewRequest("GET", "http://shop.example/a.js", nil), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write([]byte(js))
	})
	if rec.Body.String() != js {
		t.Errorf("non-HTML changed: %q", rec.Body.String())
	}
	rec = serve(h, httptest.NewRequest("GET", "http://shop.example/", nil), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "compress") // LZW: not decoded
		w.Write([]byte("\x1f\x9dcompressed"))
	})
	if rec.Code != http.StatusBadGateway || rec.Body.String() != "502 Bad Gateway: the page could not be checked for third-party content.\n" || rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("encoded HTML not failed closed: %d %v %q", rec.Code, rec.Header(), rec.Body.String())
	}
	// So does each answer that is read whole or marked at its end (a
	// style sheet under style_sheets rewrite, an SVG file, a manifest, a
	// speculation rule set, a service worker's script under the
	// backstop); the same answer in no coding is served.
	whole := provisioned(t, &Handler{StyleSheets: "rewrite", CSPBackstop: &CSPBackstop{Mode: "enforce"}})
	vendor := "https://www.googletagmanager.com/gtag/js?id=G-1"
	for _, c := range []struct{ dest, path, ct, body string }{
		{"style", "/a.css", "text/css", `b{background:url(https://www.facebook.com/tr?id=1)}`},
		{"image", "/icons.svg", "image/svg+xml", `<svg xmlns="http://www.w3.org/2000/svg"><image href="` + vendor + `"/></svg>`},
		{"manifest", "/app.webmanifest", "application/manifest+json", `{"icons":[{"src":"` + vendor + `"}]}`},
		{"speculationrules", "/rules.json", "application/speculationrules+json", `{"prefetch":[{"urls":["/a"]}]}`},
		{"serviceworker", "/sw.js", "text/javascript", `importScripts("` + vendor + `")`},
	} {
		for _, coding := range []string{"compress", ""} {
			req := httptest.NewRequest("GET", "http://shop.example"+c.path, nil)
			req.Header.Set("Sec-Fetch-Dest", c.dest)
			rec := serve(whole, req, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", c.ct)
				body := c.body
				if coding != "" {
					w.Header().Set("Content-Encoding", coding)
					body = "\x1f\x9d" + body
				}
				w.Write([]byte(body))
			})
			switch {
			case coding != "" && (rec.Code != http.StatusBadGateway || strings.Contains(rec.Body.String(), c.body) || rec.Header().Get("Content-Encoding") != ""):
				t.Errorf("%s in an unknown coding not failed closed: %d %v %q", c.dest, rec.Code, rec.Header(), rec.Body.String())
			case coding == "" && rec.Code != http.StatusOK:
				t.Errorf("%s in no coding: %d %q", c.dest, rec.Code, rec.Body.String())
			}
		}
	}
	off := provisioned(t, &Handler{Disabled: true})
	rec = serve(off, httptest.NewRequest("GET", "http://shop.example/", nil), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(page))
	})
	if rec.Body.String() != page {
		t.Errorf("kill switch did not pass through: %q", rec.Body.String())
	}
	// The consent runtime is still served (docs/operations.md).
	rec = serve(off, httptest.NewRequest("GET", "http://shop.example/_fp/consent.js", nil), func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	})
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Type"), "javascript") {
		t.Errorf("runtime under off: %d %v", rec.Code, rec.Header())
	}
}

func TestReportOnlyTrailer(t *testing.T) {
	h := provisioned(t, &Handler{ReportOnly: true})
	rec := serve(h, httptest.NewRequest("GET", "http://shop.example/", nil), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(page))
	})
	if rec.Body.String() != page {
		t.Errorf("report_only changed the page: %q", rec.Body.String())
	}
	if got := rec.Result().Trailer.Get("Firstparty-Report"); !strings.Contains(got, "defer=1") {
		t.Errorf("Firstparty-Report trailer: %q (headers %v)", got, rec.Header())
	}
}

func TestJSONFieldsDocumented(t *testing.T) {
	b, _ := json.Marshal(Handler{Disabled: true, ReportOnly: true})
	if !strings.Contains(string(b), `"disabled":true`) || !strings.Contains(string(b), `"report_only":true`) {
		t.Errorf("json: %s", b)
	}
}

// TestBaseOnTrackerHost: a <base> on a tracker's host must not make the
// tracker's relative URLs first party. The page's own URL decides that.
func TestBaseOnTrackerHost(t *testing.T) {
	h := provisioned(t, &Handler{})
	for _, in := range []string{
		`<base href="https://www.googletagmanager.com/"><script src="gtag/js?id=G-1"></script>`,
		`<base href="https://connect.facebook.net/"><iframe srcdoc="<script src=en_US/fbevents.js></script>"></iframe>`,
	} {
		req := httptest.NewRequest("GET", "http://shop.example/", nil)
		rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(in))
		})
		body := rec.Body.String()
		// The live markup: the page without the inert data-fp-srcdoc copy.
		live := regexp.MustCompile(`data-fp-srcdoc="[^"]*"`).ReplaceAllString(body, "")
		if strings.Contains(live, `<script src=`) && !strings.Contains(live, `<script src="/_fp/`) || strings.Contains(live, "script src=en_US") {
			t.Errorf("tracker kept behind a third-party base:\n in: %s\nout: %s", in, body)
		}
	}
}

// TestServeEncodings: pages in encodings that are not ASCII-compatible fail
// closed, whether the BOM, the header or a <meta> in the first KiB says so
// and however the first bytes are split; ASCII-compatible ones are
// rewritten.
func TestServeEncodings(t *testing.T) {
	h := provisioned(t, &Handler{})
	tracker := `<script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>`
	utf16 := "\xff\xfe" + strings.Join(strings.Split(tracker, ""), "\x00") + "\x00"
	pad := strings.Repeat(" ", 300)
	for _, c := range []struct {
		name, ct string
		writes   []string
		closed   bool
	}{
		{"utf-16 by BOM", "text/html", []string{utf16}, true},
		{"utf-16 BOM split", "text/html; charset=utf-8", []string{"\xff", utf16[1:]}, true},
		{"iso-2022-jp by header", "text/html; charset=ISO-2022-JP", []string{tracker}, true},
		{"iso-2022-jp by meta, split", "text/html", []string{"<html><head>" + pad, `<meta charset="iso-2022-jp">` + pad, tracker}, true},
		{"replacement by header", "text/html; charset=iso-2022-kr", []string{tracker}, true},
		{"shift_jis", "text/html; charset=shift_jis", []string{"<p>\x82\xa0</p>", tracker}, false},
		{"meta utf-16 means utf-8", "text/html", []string{`<meta charset="utf-16">`, tracker}, false},
		{"no type, sniffed", "", []string{"<!DOCTYPE html><html>", tracker}, false},
	} {
		rec := serve(h, httptest.NewRequest("GET", "http://shop.example/", nil), func(w http.ResponseWriter, r *http.Request) {
			if c.ct != "" {
				w.Header().Set("Content-Type", c.ct)
			}
			for _, s := range c.writes {
				w.Write([]byte(s))
			}
		})
		body := rec.Body.String()
		switch {
		case c.closed && (rec.Code != http.StatusBadGateway || strings.Contains(body, "gtag")):
			t.Errorf("%s: not failed closed: %d %q", c.name, rec.Code, body)
		case !c.closed && (rec.Code != http.StatusOK || !strings.Contains(body, `data-fp-src="https://www.googletagmanager.com/gtag/js?id=G-1"`) || !strings.Contains(body, c.writes[0])):
			t.Errorf("%s: not rewritten: %d %q", c.name, rec.Code, body)
		}
	}
}

// TestDefaultPolicyDemoPage runs the embedded default policy over the demo
// shop: afterwards no executable script, image, frame or hint reaches a
// third-party host, no vendor snippet runs, and each vendor is named.
func TestDefaultPolicyDemoPage(t *testing.T) {
	page, err := os.ReadFile("../testdata/demo/index.html")
	if err != nil {
		t.Fatal(err)
	}
	h := provisioned(t, &Handler{})
	rec := serve(h, httptest.NewRequest("GET", "http://shop.example/", nil), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	out := rec.Body.String()
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
			}
			for _, k := range []string{"src", "href", "srcset", "data-src", "data-srcset", "data-rocket-src"} {
				if v := attrs[k]; strings.Contains(v, "//") && n.Data != "a" && !strings.Contains(v, "shop.example") {
					t.Errorf("live %s[%s]=%s", n.Data, k, v)
				}
			}
			if n.Data == "script" && attrs["type"] == "" && n.FirstChild != nil {
				for _, sig := range []string{"gtag(", "fbq(", "_hjSettings"} {
					if strings.Contains(n.FirstChild.Data, sig) {
						t.Errorf("live vendor snippet %s", sig)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	for _, v := range []string{`data-fp-vendor="Google Analytics"`, `data-fp-vendor="Meta Pixel"`, `data-fp-vendor="Hotjar"`, `class="fp-placeholder"`, `data-fp-src="https://static.criteo.net/`} {
		if !strings.Contains(out, v) {
			t.Errorf("output lacks %s", v)
		}
	}
}

// TestPlaceholderButtons checks that the placeholders' two buttons are
// served with them, and that they and the placeholder's text are in the
// banner's language when one is set, in English with language auto (the
// runtime relabels the buttons in the visitor's language), and that
// placeholder_text is the operator's text in every language.
func TestPlaceholderButtons(t *testing.T) {
	page := `<p>Our shop</p><iframe src="https://www.youtube.com/embed/x"></iframe>`
	const enText = `<span>This content is hosted by YouTube. Loading it shares your data with them.</span> `
	for _, c := range []struct {
		name string
		h    *Handler
		want string
	}{
		{"no banner", &Handler{}, enText + `<button type="button" data-fp-load>Load content</button> <button type="button" data-fp-load="always">Always allow YouTube</button>`},
		{"auto", &Handler{Banner: &Banner{Enabled: true, Language: "auto"}}, enText + `<button type="button" data-fp-load>Load content</button> <button type="button" data-fp-load="always">Always allow YouTube</button>`},
		{"fr", &Handler{Banner: &Banner{Enabled: true, Language: "fr"}},
			`<span>Ce contenu est hébergé par YouTube. Le charger partage vos données avec ce service.</span> <button type="button" data-fp-load>Charger le contenu</button> <button type="button" data-fp-load="always">Toujours autoriser YouTube</button>`},
		{"de, the operator's", &Handler{Banner: &Banner{Enabled: true, Language: "de", Texts: map[string]map[string]string{"de": {"load": "Inhalt laden", "always": "Immer erlauben", "placeholder": "Von %s."}}}},
			`<span>Von YouTube.</span> <button type="button" data-fp-load>Inhalt laden</button> <button type="button" data-fp-load="always">Immer erlauben YouTube</button>`},
		{"placeholder_text over fr", &Handler{PlaceholderText: "Hosted by %s!", Banner: &Banner{Enabled: true, Language: "fr"}},
			`<span>Hosted by YouTube!</span> <button type="button" data-fp-load>Charger le contenu</button>`},
	} {
		h := provisioned(t, c.h)
		rec := serve(h, httptest.NewRequest("GET", "http://shop.example/", nil), func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(page))
		})
		if out := rec.Body.String(); !strings.Contains(out, c.want) {
			t.Errorf("%s: the placeholder lacks %s:\n%s", c.name, c.want, out)
		}
		// The placeholder's text is the rewriter's: the runtime is not
		// sent it.
		if bytes.Contains(h.runtime, []byte("Loading it shares")) || bytes.Contains(h.runtime, []byte(`"placeholder"`)) {
			t.Errorf("%s: the runtime carries the placeholder's text", c.name)
		}
	}
}

// hintRecorder keeps a copy of the headers sent with each 1xx response.
type hintRecorder struct {
	*httptest.ResponseRecorder
	hints []http.Header
}

func (r *hintRecorder) WriteHeader(code int) {
	if code >= 100 && code < 200 {
		r.hints = append(r.hints, r.Header().Clone())
		return
	}
	r.ResponseRecorder.WriteHeader(code)
}

// TestLinkHeaders: Link preconnects and preloads to trackers are dropped
// from HTML responses and from 103 Early Hints, and so are speculation
// rule sets on their hosts; first-party ones stay.
func TestLinkHeaders(t *testing.T) {
	h := provisioned(t, &Handler{})
	rec := &hintRecorder{ResponseRecorder: httptest.NewRecorder()}
	req := httptest.NewRequest("GET", "http://shop.example/", nil)
	unparsable := testutil.ToFloat64(metrics.failClosed.WithLabelValues(rewrite.FailUnparsableReport))
	err := h.ServeHTTP(rec, req, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Add("Link", "<https://www.googletagmanager.com>; rel=preconnect")
		w.Header().Add("Link", "</app.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", "text/html")
		w.Header().Add("Link", "<https://connect.facebook.net/en_US/fbevents.js>; rel=preload; as=script, </font.woff2>; rel=preload; as=font")
		w.Header().Add("Speculation-Rules", `"https://www.googletagmanager.com/rules.json", "/rules.json"`)
		w.Header().Add("Report-To", `{"group":"ga","max_age":60,"endpoints":[{"url":"https://www.google-analytics.com/r"}]}, {"group":"own","max_age":60,"endpoints":[{"url":"/r"}]}`)
		w.Header().Add("Reporting-Endpoints", `ga="https://www.google-analytics.com/r", own="/r", bad=1`)
		_, err := w.Write([]byte(page))
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.hints) != 1 {
		t.Fatalf("want one 103, got %d", len(rec.hints))
	}
	for name, hdr := range map[string]http.Header{"103": rec.hints[0], "200": rec.Header()} {
		links := strings.Join(hdr.Values("Link"), " | ")
		if strings.Contains(links, "googletagmanager") || strings.Contains(links, "facebook") || !strings.Contains(links, "</app.css>") {
			t.Errorf("%s Link: %s", name, links)
		}
	}
	if links := strings.Join(rec.Header().Values("Link"), " | "); !strings.Contains(links, "</font.woff2>") {
		t.Errorf("first-party preload dropped: %s", links)
	}
	// Chromium fetches a speculation rule set named by the header, then
	// what it lists: a tracker's goes, the shop's own stays.
	if rules := rec.Header().Values("Speculation-Rules"); !slices.Equal(rules, []string{`"/rules.json"`}) {
		t.Errorf("Speculation-Rules: %q, want the shop's own only", rules)
	}
	// The browser posts reports, with the page's URL, to the endpoints
	// these name: a tracker's go, the shop's own stay.
	if rt := rec.Header().Values("Report-To"); !slices.Equal(rt, []string{`{"group":"own","max_age":60,"endpoints":[{"url":"/r"}]}`}) {
		t.Errorf("Report-To: %q, want the shop's own group only", rt)
	}
	if re := rec.Header().Values("Reporting-Endpoints"); !slices.Equal(re, []string{`own="/r"`}) {
		t.Errorf("Reporting-Endpoints: %q, want the shop's own only", re)
	}
	// The member that is no endpoint (bad=1) went, and was counted.
	if n := testutil.ToFloat64(metrics.failClosed.WithLabelValues(rewrite.FailUnparsableReport)); n != unparsable+1 {
		t.Errorf("fail_closed_total{reason=%q} went from %v to %v, want one more", rewrite.FailUnparsableReport, unparsable, n)
	}
}

// TestListRequestTypes: a list's rule restricted to a request type applies
// to the elements that load that type only.
func TestListRequestTypes(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "l.txt")
	os.WriteFile(list, []byte("[Adblock Plus 2.0]\n||cdn.vendor.example^$image\n||w.vendor.example^$domain=other.example\n"), 0o644)
	h := provisioned(t, &Handler{Unknown: "keep", Lists: []List{{Path: list, Category: "advertising"}}, Categories: map[string]string{"advertising": "remove"}})
	in := `<html><head></head><body><script src="https://cdn.vendor.example/a.js"></script><img src="https://cdn.vendor.example/p.gif"><img src="https://w.vendor.example/p.gif"></body></html>`
	req := httptest.NewRequest("GET", "https://shop.example/", nil)
	rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, in)
	})
	out := rec.Body.String()
	if !strings.Contains(out, `<script src="https://cdn.vendor.example/a.js">`) || strings.Contains(out, "p.gif\"><img") || strings.Contains(out, `src="https://cdn.vendor.example/p.gif"`) {
		t.Errorf("$image rule: %s", out)
	}
	if !strings.Contains(out, `<img src="https://w.vendor.example/p.gif">`) {
		t.Errorf("$domain rule for another site applied: %s", out)
	}
}

func TestCaddyfileMaxDecodedSize(t *testing.T) {
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("firstparty {\n max_decoded_size 64MiB\n}")); err != nil || h.MaxDecodedSize != 64<<20 {
		t.Errorf("max_decoded_size 64MiB: %d, %v", h.MaxDecodedSize, err)
	}
	for _, bad := range []string{"lots", "0"} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("firstparty {\n max_decoded_size " + bad + "\n}")); err == nil || !strings.Contains(err.Error(), "Testfile:2") {
			t.Errorf("max_decoded_size %s: %v", bad, err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:p@lists.example/l.txt?token=s3cret#x": "https://lists.example/l.txt",
		"/etc/caddy/list.txt":                            "/etc/caddy/list.txt",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// writeLog records the writes and flushes a firstWrite passes on.
type writeLog struct {
	writes  []int
	flushAt []int // the count of writes at each flush
	body    []byte
}

func (l *writeLog) Write(p []byte) (int, error) {
	l.writes = append(l.writes, len(p))
	l.body = append(l.body, p...)
	return len(p), nil
}

func (l *writeLog) FlushError() error {
	l.flushAt = append(l.flushAt, len(l.writes))
	return nil
}

// TestFirstWrite checks that a rewritten page's first write downstream
// carries firstWriteMin bytes, or all of a shorter page, or what there is
// at a flush; that the bytes arrive whole and in order; and that a flush
// reaches downstream.
func TestFirstWrite(t *testing.T) {
	const flush = -1
	for _, seq := range [][]int{
		{10},
		{28, 20, 5000},
		{firstWriteMin},
		{firstWriteMin - 1, 1},
		{firstWriteMin - 1, 2, 7},
		{3000, 3000, 3000},
		{100, flush, 100, 9000},
		{flush, 50},
		{9000, 10},
		{},
	} {
		l := &writeLog{}
		f := &firstWrite{w: l}
		var in []byte
		flushed := -1 // bytes in at the first flush
		for i, n := range seq {
			if n == flush {
				if err := f.FlushError(); err != nil {
					t.Fatal(err)
				}
				if flushed < 0 {
					flushed = len(in)
				}
				continue
			}
			p := bytes.Repeat([]byte{byte('a' + i)}, n)
			in = append(in, p...)
			if k, err := f.Write(p); k != n || err != nil {
				t.Fatalf("%v: Write = %d, %v", seq, k, err)
			}
			if len(l.body) > 0 && len(in) < firstWriteMin && flushed < 0 {
				t.Fatalf("%v: %d bytes went out before there were %d", seq, len(l.body), firstWriteMin)
			}
		}
		if err := f.send(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(l.body, in) {
			t.Fatalf("%v: %d bytes out of %d, or out of order", seq, len(l.body), len(in))
		}
		if len(in) == 0 {
			if len(l.writes) != 0 {
				t.Errorf("%v: wrote %v for an empty page", seq, l.writes)
			}
			continue
		}
		want := min(len(in), firstWriteMin)
		if flushed >= 0 && flushed < want {
			want = flushed
		}
		if l.writes[0] < want || (flushed == 0 && len(l.flushAt) == 0) {
			t.Errorf("%v: first write %d bytes, want at least %d (writes %v, flushes %v)", seq, l.writes[0], want, l.writes, l.flushAt)
		}
		if flushed > 0 && (len(l.flushAt) == 0 || l.flushAt[0] != 1) {
			t.Errorf("%v: the flush did not send what was gathered first: writes %v, flushes %v", seq, l.writes, l.flushAt)
		}
	}
}

// TestServeSubresourceEncoding checks which requests keep their
// Accept-Encoding upstream: a browser's requests for scripts, styles,
// images and fonts do, so their files come compressed as the upstream
// keeps them, and pass untouched; requests that may be for a page do not.
// A subresource answered with compressed HTML is still decoded and
// rewritten.
func TestServeSubresourceEncoding(t *testing.T) {
	h := provisioned(t, &Handler{})
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return b.Bytes()
	}
	for dest, keeps := range map[string]bool{"script": true, "style": true, "image": true, "font": true, "worker": true,
		"document": false, "iframe": false, "empty": false, "": false, "nested-document": false} {
		req := httptest.NewRequest("GET", "http://shop.example/app.js", nil)
		req.Header.Set("Accept-Encoding", "gzip, br")
		if dest != "" {
			req.Header.Set("Sec-Fetch-Dest", dest)
		}
		js := gz("var u = 'https://www.googletagmanager.com/gtag/js';")
		var saw string
		rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			saw = r.Header.Get("Accept-Encoding")
			w.Header().Set("Content-Type", "text/javascript")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(js)
		})
		if want := map[bool]string{true: "gzip, br", false: "identity"}[keeps]; saw != want {
			t.Errorf("Sec-Fetch-Dest %q: upstream saw Accept-Encoding %q, want %q", dest, saw, want)
		}
		if !bytes.Equal(rec.Body.Bytes(), js) || rec.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("Sec-Fetch-Dest %q: compressed script not passed as it came: %v", dest, rec.Header())
		}
	}
	req := httptest.NewRequest("GET", "http://shop.example/app.js", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Sec-Fetch-Dest", "script")
	rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gz(page))
	})
	if body := rec.Body.String(); rec.Code != 200 || rec.Header().Get("Content-Encoding") != "" || !strings.Contains(body, `data-fp-src="https://www.googletagmanager.com/gtag/js?id=G-1"`) {
		t.Errorf("compressed HTML for a script request: %d %v %q", rec.Code, rec.Header(), body)
	}
}

// TestErrorLogsNoURL checks that an error that cuts a page, logged by the
// handler, is logged without the URL an HTTP client's error quotes, query
// and all.
func TestErrorLogsNoURL(t *testing.T) {
	h := provisioned(t, &Handler{})
	core, logs := observer.New(zapcore.DebugLevel)
	h.logger = zap.New(core)
	srv := &caddyhttp.Server{Errors: &caddyhttp.HTTPErrorConfig{Routes: caddyhttp.RouteList{{}}}}
	req := httptest.NewRequest("GET", "http://shop.example/", nil)
	req = req.WithContext(context.WithValue(req.Context(), caddyhttp.ServerCtxKey, srv))
	rec := httptest.NewRecorder()
	err := h.ServeHTTP(rec, req, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(page))
		return caddyhttp.Error(http.StatusBadGateway, &url.Error{Op: "Get", URL: "http://upstream.internal/p?email=visitor%40mail.example", Err: errors.New("connection reset")})
	}))
	if err != nil || !strings.Contains(rec.Body.String(), "data-fp-src") {
		t.Fatalf("a cut page: %v, %q", err, rec.Body.String())
	}
	if logs.Len() == 0 {
		t.Fatal("the error was not logged")
	}
	for _, e := range logs.All() {
		all := e.Message
		for k, v := range e.ContextMap() {
			all += fmt.Sprintf(" %s=%v", k, v)
		}
		if strings.Contains(all, "email") || strings.Contains(all, "upstream.internal") {
			t.Errorf("logged the URL: %s", all)
		}
		if !strings.Contains(all, "connection reset") && e.Level >= zapcore.ErrorLevel {
			t.Errorf("logged without the cause: %s", all)
		}
	}
}

// TestNestedPassesThrough checks a firstparty under another that already
// rewrites the response (one in handle_errors under the site's): it passes
// the page through, so the page is rewritten once, and still serves its
// own runtime.
func TestNestedPassesThrough(t *testing.T) {
	h := provisioned(t, &Handler{})
	ctx := context.WithValue(context.Background(), rewritingKey{}, true)
	rec := serve(h, httptest.NewRequest("GET", "http://shop.example/", nil).WithContext(ctx), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, page)
	})
	if rec.Body.String() != page {
		t.Errorf("rewritten a second time: %s", rec.Body.String())
	}
	rec = serve(h, httptest.NewRequest("GET", "http://shop.example"+h.RuntimePath, nil).WithContext(ctx), func(w http.ResponseWriter, r *http.Request) {
		t.Error("the runtime's request went on")
	})
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Type"), "javascript") {
		t.Errorf("runtime: %d %v", rec.Code, rec.Header())
	}
}

// TestKindTypes checks that every element kind the rewriter has maps to
// the request types list rules name, and none to nothing.
func TestKindTypes(t *testing.T) {
	for k := rewrite.Kind(0); k.String() != "unknown"; k++ {
		if int(k) >= len(kindTypes) || kindTypes[k] == 0 {
			t.Errorf("kind %v has no request type", k)
		}
	}
	if got := reqType(rewrite.KindManifest); got != blocklists.TypeOther {
		t.Errorf("a manifest's request type is %v, want other", got)
	}
}

// TestServeHEAD checks that a HEAD request is answered with the headers a
// GET for the same page gets (RFC 9110, 9.3.2), the trailer aside: no
// upstream Content-Length on a page whose rewrite has another length, the
// page's marked ETag, the Link headers filtered, the backstop's policy and its
// Cache-Control and Vary, and the same fail-closed status.
func TestServeHEAD(t *testing.T) {
	h := provisioned(t, &Handler{CSPBackstop: &CSPBackstop{Mode: "enforce"}})
	gz := encodeWith(t, "gzip", []byte(page))
	for _, c := range []struct {
		name, ct, ce, accept, rng, body string
		status                          int
	}{
		{name: "html", ct: "text/html; charset=utf-8", body: page, status: 200},
		{name: "gzip html", ct: "text/html", ce: "gzip", body: string(gz), status: 200},
		{name: "untyped html", body: page, status: 200},
		{name: "range without an HTML accept", ct: "text/html", accept: "*/*", rng: "bytes=0-10", body: page, status: 200},
		{name: "script", ct: "text/javascript", body: `var s="https://www.googletagmanager.com/gtag/js"`, status: 200},
		{name: "xhtml", ct: "application/xhtml+xml", body: page, status: http.StatusBadGateway},
		{name: "iso-2022-jp", ct: "text/html; charset=ISO-2022-JP", body: page, status: http.StatusBadGateway},
		{name: "unknown coding", ct: "text/html", ce: "compress", body: "\x1f\x9dcompressed", status: http.StatusBadGateway},
	} {
		t.Run(c.name, func(t *testing.T) {
			var methods []string
			upstream := func(w http.ResponseWriter, r *http.Request) {
				methods = append(methods, r.Method+" "+r.Header.Get("Accept-Encoding"))
				hdr := w.Header()
				if c.ct != "" {
					hdr.Set("Content-Type", c.ct)
				} else {
					hdr["Content-Type"] = nil // neither sent nor sniffed by ServeContent
				}
				if c.ce != "" {
					hdr.Set("Content-Encoding", c.ce)
				}
				hdr.Set("ETag", `"v1"`)
				hdr.Set("Content-MD5", "x")
				hdr.Set("Cache-Control", "public, max-age=60")
				hdr.Add("Link", "<https://www.googletagmanager.com>; rel=preconnect")
				hdr.Add("Link", "</app.css>; rel=preload; as=style")
				// ServeContent answers a HEAD with a GET's headers, the
				// Content-Length and a 206 for a range too, and no body.
				http.ServeContent(w, r, "", time.Time{}, strings.NewReader(c.body))
			}
			answers := map[string]*httptest.ResponseRecorder{}
			for _, m := range []string{"GET", "HEAD"} {
				req := httptest.NewRequest(m, "http://shop.example/p", nil)
				req.Header.Set("Accept-Encoding", "gzip")
				if c.accept != "" {
					req.Header.Set("Accept", c.accept)
				}
				if c.rng != "" {
					req.Header.Set("Range", c.rng)
				}
				answers[m] = serve(h, req, upstream)
			}
			get, head := answers["GET"], answers["HEAD"]
			if get.Code != c.status || head.Code != c.status {
				t.Fatalf("status: GET %d, HEAD %d, want %d", get.Code, head.Code, c.status)
			}
			if head.Body.Len() != 0 {
				t.Errorf("HEAD has a body: %q", head.Body.String())
			}
			for _, m := range methods {
				if strings.HasPrefix(m, "HEAD") && m != "HEAD identity" {
					t.Errorf("upstream saw %q", m)
				}
			}
			want := get.Header().Clone()
			want.Del("Trailer")
			if got := head.Header(); !reflect.DeepEqual(got, want) {
				t.Errorf("HEAD headers\n%v\nGET's\n%v", got, want)
			}
			if c.status == 200 && c.ct != "text/javascript" {
				// (The range case with no charset: a partial page too short
				// to tell its encoding went out as an empty 200 with the
				// 206's headers, GET or HEAD.)
				if !strings.Contains(get.Body.String(), `data-fp-src="https://www.googletagmanager.com/gtag/js?id=G-1"`) || !strings.HasSuffix(get.Body.String(), "</html>") {
					t.Errorf("GET not the whole page rewritten: %q", get.Body.String())
				}
				// (No consent, and the backstop on: its tag.)
				if head.Header().Get("Content-Length") != "" || head.Header().Get("ETag") != `W/"v1-fp`+h.requestTag(true)+`"` || strings.Contains(strings.Join(head.Header().Values("Link"), ","), "googletagmanager") {
					t.Errorf("HEAD headers not a rewritten page's: %v", head.Header())
				}
			}
		})
	}
}

// TestServeHEADReportOnly: under report_only a HEAD gets the headers the
// GET gets, less the Firstparty-Report trailer, which only a body
// carries, and the GET's body is the upstream's, byte for byte.
func TestServeHEADReportOnly(t *testing.T) {
	h := provisioned(t, &Handler{ReportOnly: true})
	upstream := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Add("Link", "<https://www.googletagmanager.com>; rel=preconnect")
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(page))
	}
	get := serve(h, httptest.NewRequest("GET", "http://shop.example/p", nil), upstream)
	head := serve(h, httptest.NewRequest("HEAD", "http://shop.example/p", nil), upstream)
	if get.Code != 200 || head.Code != 200 || head.Body.Len() != 0 {
		t.Fatalf("GET %d, HEAD %d with %d bytes of body", get.Code, head.Code, head.Body.Len())
	}
	if get.Body.String() != page {
		t.Errorf("report_only changed the page:\n%s", get.Body.String())
	}
	if !strings.Contains(get.Header().Get("Trailer"), "Firstparty-Report") || head.Header().Get("Trailer") != "" || head.Header().Get("Firstparty-Report") != "" {
		t.Errorf("the trailer: GET %v, HEAD %v", get.Header(), head.Header())
	}
	want := get.Header().Clone()
	want.Del("Trailer")
	want.Del("Firstparty-Report") // the trailer's value, once the body ended
	if got := head.Header(); !reflect.DeepEqual(got, want) {
		t.Errorf("HEAD headers\n%v\nGET's\n%v", got, want)
	}
}

// TestConditionals checks that a client's copy of a page is confirmed
// (304) only when it was rewritten under the policy in force: a
// rewritten page's ETag carries the policy's tag, a request's validators
// are checked against it before they go upstream, and a page without
// explicit freshness is revalidated rather than reused unasked.
func TestConditionals(t *testing.T) {
	for _, c := range []struct {
		in       string
		tags     []string
		star, ok bool
	}{
		{`"a", W/"b-c" ,"d,e"`, []string{`"a"`, `W/"b-c"`, `"d,e"`}, false, true},
		{`*`, nil, true, true},
		{`W/x`, nil, false, false},
		{`"open`, nil, false, false},
	} {
		tags, star, ok := splitETags(c.in)
		if !slices.Equal(tags, c.tags) || star != c.star || ok != c.ok {
			t.Errorf("splitETags(%q) = %q %v %v", c.in, tags, star, ok)
		}
	}
	for et, want := range map[string]string{`"v1"`: `W/"v1-fpabc"`, `W/"v1"`: `W/"v1-fpabc"`, `v1`: "", `"a b"`: "", `""`: `W/"-fpabc"`} {
		if got, _ := markETag(et, "abc"); got != want {
			t.Errorf("markETag(%s) = %s, want %s", et, got, want)
		}
	}

	dir := t.TempDir()
	list := filepath.Join(dir, "list.txt")
	os.WriteFile(list, []byte("||tracker-one.example^\n"), 0o644)
	h := provisioned(t, &Handler{Lists: []List{{Path: list, Category: "advertising"}}})
	tag := h.pageTag()
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var saw []string // If-None-Match|If-Modified-Since, as the upstream saw them
	upstream := func(cc string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			saw = append(saw, r.Header.Get("If-None-Match")+"|"+r.Header.Get("If-Modified-Since"))
			ct := "text/html; charset=utf-8"
			if strings.HasSuffix(r.URL.Path, ".js") {
				ct = "text/javascript"
			}
			w.Header().Set("Content-Type", ct)
			w.Header().Set("ETag", `"v1"`)
			if cc != "" {
				w.Header().Set("Cache-Control", cc)
			}
			http.ServeContent(w, r, "", mod, strings.NewReader(page))
		}
	}
	get := func(h *Handler, path string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "http://shop.example"+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		saw = nil
		return serve(h, req, upstream(""))
	}
	const nav = "text/html,application/xhtml+xml"
	ims := mod.Format(http.TimeFormat)

	rec := get(h, "/", "Accept", nav)
	etag := rec.Header().Get("ETag")
	if rec.Code != 200 || etag != `W/"v1-fp`+tag+`"` || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("page: %d %v", rec.Code, rec.Header())
	}
	// The copy rewritten under this policy is confirmed, with its ETag.
	rec = get(h, "/", "Accept", nav, "If-None-Match", etag, "If-Modified-Since", ims)
	if rec.Code != http.StatusNotModified || rec.Header().Get("ETag") != etag || saw[0] != `W/"v1"|` {
		t.Errorf("current copy: %d %v, upstream saw %q", rec.Code, rec.Header(), saw)
	}
	// Under another policy (a category's action, or the list's bytes), the
	// same copy is rewritten again; so is one without the mark, or with
	// only a date, on a navigation.
	other := provisioned(t, &Handler{Lists: []List{{Path: list, Category: "advertising"}}, Categories: map[string]string{"analytics": "remove"}})
	os.WriteFile(list, []byte("||tracker-two.example^\n"), 0o644)
	relisted := provisioned(t, &Handler{Lists: []List{{Path: list, Category: "advertising"}}})
	for name, c := range map[string]struct {
		h   *Handler
		hdr []string
	}{
		"another category action": {other, []string{"Accept", nav, "If-None-Match", etag}},
		"another list":            {relisted, []string{"Accept", nav, "If-None-Match", etag, "If-Modified-Since", ims}},
		"unmarked":                {h, []string{"Accept", nav, "If-None-Match", `"v1"`, "If-Modified-Since", ims}},
		"a date alone":            {h, []string{"Accept", nav, "If-Modified-Since", ims}},
		"malformed":               {h, []string{"Accept", nav, "If-None-Match", `W/v1`}},
		"star":                    {h, []string{"Accept", nav, "If-None-Match", `*`}},
	} {
		rec := get(c.h, "/", c.hdr...)
		// (Rewritten: the tag is deferred, or removed under the other
		// category action.)
		if body := rec.Body.String(); rec.Code != 200 || !strings.Contains(body, "<p>hi</p>") || strings.Contains(body, ` src="https://www.googletagmanager.com`) || len(saw) != 1 || saw[0] != "|" {
			t.Errorf("%s: %d, upstream saw %q", name, rec.Code, saw)
		}
		if c.h.pageTag() == tag && c.h != h {
			t.Errorf("%s: the same tag %s", name, tag)
		}
	}
	// The same configuration, build and lists give the same tag, as on
	// another instance of a cluster.
	if again := provisioned(t, &Handler{Lists: []List{{Path: list, Category: "advertising"}}}); again.pageTag() != relisted.pageTag() {
		t.Errorf("tags %s and %s for the same policy", again.pageTag(), relisted.pageTag())
	}
	// Other requests keep their validators: a script is confirmed by its
	// own ETag or date, and a marked tag beside an unmarked one is restored.
	rec = get(h, "/a.js", "If-None-Match", `"v1"`)
	if rec.Code != http.StatusNotModified || rec.Header().Get("ETag") != `"v1"` || saw[0] != `"v1"|` {
		t.Errorf("script: %d %v, upstream saw %q", rec.Code, rec.Header(), saw)
	}
	rec = get(h, "/a.js", "If-Modified-Since", ims)
	if rec.Code != http.StatusNotModified || saw[0] != "|"+ims {
		t.Errorf("script by date: %d, upstream saw %q", rec.Code, saw)
	}
	// A marked tag beside a date on a request that is no navigation (an
	// SVG file at a path that does not say so): the copy was filtered
	// here, and the date does not go upstream, whichever policy.
	for _, inm := range []string{etag, `W/"v1-fp000000000000"`} {
		rec = get(h, "/a.js", "If-None-Match", inm, "If-Modified-Since", ims)
		if want := map[bool]string{true: `W/"v1"|`, false: "|"}[inm == etag]; saw[0] != want {
			t.Errorf("a marked tag %s and a date: upstream saw %q, want %q", inm, saw, want)
		}
	}
	rec = get(h, "/", "If-None-Match", `"zz", `+etag+`, W/"v0-fp000000000000"`)
	if rec.Code != http.StatusNotModified || rec.Header().Get("ETag") != etag || saw[0] != `"zz", W/"v1"|` {
		t.Errorf("fetch with tags: %d %v, upstream saw %q", rec.Code, rec.Header(), saw)
	}
	// A 304's fields replace the stored copy's: the reporting and hint
	// headers there are filtered as on the page, and a confirmed page's
	// Cache-Control stays the page's.
	for _, marked := range []bool{true, false} {
		req := httptest.NewRequest("GET", "http://shop.example/", nil)
		if marked {
			req.Header.Set("If-None-Match", etag)
		} else {
			req.Header.Set("If-Modified-Since", ims)
		}
		rec = serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Cache-Control", "public")
			w.Header().Set("Content-Security-Policy", "img-src 'none'; report-uri https://www.google-analytics.com/csp")
			w.Header().Set("Link", "<https://www.googletagmanager.com>; rel=preconnect")
			w.WriteHeader(http.StatusNotModified)
		})
		hdr := rec.Header()
		if rec.Code != http.StatusNotModified || hdr.Get("Content-Security-Policy") != "img-src 'none'" || hdr.Get("Link") != "" {
			t.Errorf("304 (marked %v): %d %v", marked, rec.Code, hdr)
		}
		wantET, wantCC := `"v1"`, "public"
		if marked {
			wantET, wantCC = etag, "public, no-cache"
		}
		if hdr.Get("ETag") != wantET || hdr.Get("Cache-Control") != wantCC {
			t.Errorf("304 (marked %v): ETag %s, Cache-Control %q", marked, hdr.Get("ETag"), hdr.Get("Cache-Control"))
		}
	}
	// Explicit freshness is the upstream's to give.
	for _, cc := range []string{"max-age=60", "private, no-store", "no-cache"} {
		req := httptest.NewRequest("GET", "http://shop.example/", nil)
		rec = serve(h, req, upstream(cc))
		if got := rec.Header().Values("Cache-Control"); len(got) != 1 || got[0] != cc {
			t.Errorf("Cache-Control %q became %q", cc, got)
		}
	}
	for cc, want := range map[string]string{"public": "public, no-cache", "": "no-cache", "public, s-maxage=600": "public, s-maxage=600, max-age=0", "S-MAXAGE=1": "S-MAXAGE=1, max-age=0"} {
		rec = serve(h, httptest.NewRequest("GET", "http://shop.example/", nil), upstream(cc))
		if got := rec.Header().Get("Cache-Control"); got != want {
			t.Errorf("Cache-Control %q became %q, want %q", cc, got, want)
		}
	}
	rec = serve(h, httptest.NewRequest("GET", "http://shop.example/", nil), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Expires", "Thu, 01 Jan 2037 00:00:00 GMT")
		upstream("")(w, r)
	})
	if got := rec.Header().Values("Cache-Control"); len(got) != 0 {
		t.Errorf("with Expires, Cache-Control %q", got)
	}
}

// TestConfigWarnings checks what Provision logs for a valid configuration
// that may not do what its author expects: a consent manager held until a
// consent only it can record (its banner never shows), enforce, disabled.
func TestConfigWarnings(t *testing.T) {
	for _, c := range []struct {
		config string
		want   []string // one substring for each warning, in order
	}{
		{"", nil},
		{"category consent keep", nil},
		{"category consent remove\n banner on", nil},
		{"category analytics defer\n category advertising remove", nil},
		{"category consent defer", []string{"category consent defer: a consent manager's script waits for a choice that only it can record, so its banner does not show; keep it (the default), or, to ask in firstparty's banner instead, remove it and turn banner on"}},
		{"category consent placeholder", []string{"category consent placeholder:"}},
		{"category consent proxy", []string{"category consent proxy:"}},
		{"category consent defer\n banner on", []string{"the visitor must grant consent managers in firstparty's banner before theirs shows"}},
		{"csp_backstop enforce", []string{"csp_backstop enforce:"}},
		{"off\n category consent defer\n csp_backstop enforce", []string{"csp_backstop enforce:", "category consent defer:", "firstparty is disabled"}},
	} {
		h := &Handler{}
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("firstparty {\n " + c.config + "\n}")); err != nil {
			t.Fatalf("%q: %v", c.config, err)
		}
		provisioned(t, h)
		ws := h.warnings()
		if len(ws) != len(c.want) {
			t.Errorf("%q: %d warnings, want %d: %v", c.config, len(ws), len(c.want), ws)
			continue
		}
		for i, w := range ws {
			if !strings.Contains(w.msg, c.want[i]) {
				t.Errorf("%q: warning %d is %q, want it to say %q", c.config, i, w.msg, c.want[i])
			}
		}
	}
}

// themeCSS is a theme's style sheet: Google Fonts imported, a tracker's
// pixel as a background, and the shop's own images.
const themeCSS = "@charset \"utf-8\";\n@import url(\"https://fonts.googleapis.com/css2?family=Inter\");\n" +
	".hero { background: url(/img/hero.jpg) }\n.promo::after { content: \"→\"; background-image: url(https://www.facebook.com/tr?id=1&ev=PageView) }\n"

// TestServeStyleSheets checks style_sheets rewrite: the site's own CSS
// responses have the URLs the policy does not keep neutralised, the rest
// as it came; a sheet with nothing to change leaves byte for byte; a
// compressed one is decoded and rewritten; the answer to a browser's
// request for a style sheet is read whatever its type; and with pass (the
// default) nothing changes.
func TestServeStyleSheets(t *testing.T) {
	h := provisioned(t, &Handler{StyleSheets: "rewrite", Categories: map[string]string{"fonts": "remove"}})
	sheet := func(h *Handler, dest, ct, body string, gzipped bool) (*httptest.ResponseRecorder, http.Header) {
		req := httptest.NewRequest("GET", "http://shop.example/css/theme.css", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		req.Header.Set("Range", "bytes=10-")
		if dest != "" {
			req.Header.Set("Sec-Fetch-Dest", dest)
		}
		var saw http.Header
		rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			saw = r.Header.Clone()
			if ct != "" {
				w.Header().Set("Content-Type", ct)
			}
			w.Header().Set("ETag", `"v1"`)
			b := []byte(body)
			if gzipped {
				b = encodeWith(t, "gzip", b)
				w.Header().Set("Content-Encoding", "gzip")
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b)
		})
		return rec, saw
	}
	want := strings.NewReplacer(`url("https://fonts.googleapis.com/css2?family=Inter")`, `""`,
		"url(https://www.facebook.com/tr?id=1&ev=PageView)", `url("data:,")`).Replace(themeCSS)
	for _, tt := range []struct {
		dest, ct string
		gzipped  bool
	}{
		{"style", "text/css; charset=utf-8", false},
		{"", "text/css", false},
		{"style", "text/css", true},
		{"style", "text/plain", false}, // applied in quirks mode all the same
		{"style", "", false},
	} {
		rec, saw := sheet(h, tt.dest, tt.ct, themeCSS, tt.gzipped)
		if got := rec.Body.String(); got != want {
			t.Errorf("%+v: %s", tt, got)
		}
		if rec.Header().Get("Content-Length") != "" || rec.Header().Get("Content-Encoding") != "" || rec.Header().Get("ETag") != `W/"v1-fp`+h.pageTag()+`"` {
			t.Errorf("%+v: headers %v", tt, rec.Header())
		}
		if tt.dest == "style" && saw.Get("Range") != "" {
			t.Errorf("%+v: the upstream was asked for a range of a sheet", tt)
		}
	}
	// A sheet with nothing to change is the upstream's, byte for byte.
	clean := "a{background:url(/a.png)}\n/* url(https://www.facebook.com/tr) */\n"
	if rec, _ := sheet(h, "style", "text/css", clean, false); rec.Body.String() != clean {
		t.Errorf("a clean sheet changed: %q", rec.Body.String())
	}
	// Not a style sheet: a script, an error page, a sheet in UTF-16.
	js := "var u = 'url(https://www.facebook.com/tr)';"
	if rec, _ := sheet(h, "script", "text/javascript", js, false); rec.Body.String() != js {
		t.Errorf("a script changed: %q", rec.Body.String())
	}
	req := httptest.NewRequest("GET", "http://shop.example/missing.css", nil)
	req.Header.Set("Sec-Fetch-Dest", "style")
	rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		w.WriteHeader(404)
		io.WriteString(w, themeCSS)
	})
	if rec.Code != 404 || rec.Body.String() != themeCSS {
		t.Errorf("a 404's body was read as a sheet: %d %q", rec.Code, rec.Body.String())
	}
	if rec, _ := sheet(h, "style", "text/css; charset=utf-16", "a\x00{\x00", false); rec.Code != http.StatusBadGateway {
		t.Errorf("a UTF-16 sheet: %d %q", rec.Code, rec.Body.String())
	}
	// pass, the default: as it came, headers and all.
	for _, p := range []*Handler{provisioned(t, &Handler{Categories: map[string]string{"fonts": "remove"}}), provisioned(t, &Handler{StyleSheets: "pass", Categories: map[string]string{"fonts": "remove"}})} {
		rec, saw := sheet(p, "style", "text/css", themeCSS, false)
		if rec.Body.String() != themeCSS || rec.Header().Get("ETag") != `"v1"` || saw.Get("Range") == "" {
			t.Errorf("style_sheets %q: %v %q", p.StyleSheets, rec.Header(), rec.Body.String())
		}
	}
}

// TestServeStyleSheetsConsent checks style_sheets consent: a sheet is
// rewritten for the consent its request carries (a deferred URL kept once
// its category or its vendor is allowed, a removed one never), it is
// marked as varying with consent (private, no-cache, Vary: Cookie,
// Sec-GPC), and its ETag names the consent, so that a copy rewritten for
// another one is not confirmed by the upstream's 304.
func TestServeStyleSheetsConsent(t *testing.T) {
	h := provisioned(t, &Handler{StyleSheets: "consent", Categories: map[string]string{"fonts": "remove"}})
	now := time.Now().Unix()
	grant := func(items string) string { return fmt.Sprintf("fp_consent=1.%d.%d.%s", now, now, items) }
	sheet := func(h *Handler, cookie, gpc, inm string, status int) (*httptest.ResponseRecorder, http.Header) {
		req := httptest.NewRequest("GET", "http://shop.example/css/theme.css", nil)
		setHeaders(req.Header, "Sec-Fetch-Dest", "style", "Cookie", cookie, "Sec-GPC", gpc, "If-None-Match", inm)
		var saw http.Header
		rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			saw = r.Header.Clone()
			w.Header().Set("Content-Type", "text/css")
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			w.Header().Set("ETag", `"v1"`)
			if status == http.StatusNotModified {
				w.WriteHeader(status)
				return
			}
			io.WriteString(w, themeCSS)
		})
		return rec, saw
	}
	fonts := strings.NewReplacer(`url("https://fonts.googleapis.com/css2?family=Inter")`, `""`)
	denied := strings.NewReplacer(`url("https://fonts.googleapis.com/css2?family=Inter")`, `""`,
		"url(https://www.facebook.com/tr?id=1&ev=PageView)", `url("data:,")`).Replace(themeCSS)
	allowed := fonts.Replace(themeCSS)
	tags := map[string]string{}
	for _, c := range []struct {
		name, cookie, gpc, want string
	}{
		{"no consent", "", "", denied},
		{"analytics only", grant("analytics-g"), "", denied},
		{"social granted", grant("social-g"), "", allowed},
		{"all granted", grant("*-g"), "", allowed},
		{"all granted, social denied", grant("*-g.social-d"), "", denied},
		{"the vendor allowed", grant("*-d.@meta_pixel-g"), "", allowed},
		{"another vendor allowed", grant("*-d.@youtube-g"), "", denied},
		{"all granted, GPC", grant("*-g"), "1", allowed}, // an explicit grant beats GPC
	} {
		rec, _ := sheet(h, c.cookie, c.gpc, "", 200)
		if got := rec.Body.String(); got != c.want {
			t.Errorf("%s: %s", c.name, got)
		}
		hdr := rec.Header()
		if v := strings.Join(hdr.Values("Vary"), ", "); !strings.Contains(v, "Cookie") || !strings.Contains(v, "Sec-GPC") {
			t.Errorf("%s: Vary %q", c.name, v)
		}
		if cc := hdr.Get("Cache-Control"); cc != "private, max-age=31536000, immutable, no-cache" {
			t.Errorf("%s: Cache-Control %q", c.name, cc)
		}
		et := hdr.Get("ETag")
		if !strings.HasPrefix(et, `W/"v1-fp`) || et == `W/"v1-fp`+h.pageTag()+`"` {
			t.Errorf("%s: ETag %q", c.name, et)
		}
		tags[c.want] += et + " "
	}
	// One tag for each consent that allows another set: the three states
	// that keep the pixel and the five that do not differ in tag, and a
	// state read again has its tag again.
	if len(strings.Fields(tags[denied])) != 4 || len(strings.Fields(tags[allowed])) != 4 {
		t.Fatalf("tags %q", tags)
	}
	a, _ := sheet(h, grant("social-g"), "", "", 200)
	b, _ := sheet(h, grant("social-g"), "", "", 200)
	n, _ := sheet(h, "", "", "", 200)
	if a.Header().Get("ETag") != b.Header().Get("ETag") || a.Header().Get("ETag") == n.Header().Get("ETag") {
		t.Errorf("ETags for one consent %q, %q; for none %q", a.Header().Get("ETag"), b.Header().Get("ETag"), n.Header().Get("ETag"))
	}
	// A copy rewritten for the consent the request carries is confirmed;
	// one rewritten for another consent is not asked about upstream.
	_, saw := sheet(h, grant("social-g"), "", a.Header().Get("ETag"), 200)
	if saw.Get("If-None-Match") != `W/"v1"` {
		t.Errorf("the copy for this consent went upstream as %q", saw.Get("If-None-Match"))
	}
	_, saw = sheet(h, "", "", a.Header().Get("ETag"), 200)
	if saw.Get("If-None-Match") != "" {
		t.Errorf("a copy for another consent went upstream as %q", saw.Get("If-None-Match"))
	}
	rec, _ := sheet(h, grant("social-g"), "", a.Header().Get("ETag"), http.StatusNotModified)
	if rec.Code != http.StatusNotModified || rec.Header().Get("ETag") != a.Header().Get("ETag") ||
		rec.Header().Get("Cache-Control") != "private, max-age=31536000, immutable, no-cache" || len(rec.Header().Values("Vary")) != 2 {
		t.Errorf("304: %d %v", rec.Code, rec.Header())
	}
	// report_only changes nothing, so the sheet does not vary.
	ro := provisioned(t, &Handler{StyleSheets: "consent", ReportOnly: true, Categories: map[string]string{"fonts": "remove"}})
	rec, _ = sheet(ro, grant("social-g"), "", "", 200)
	if rec.Body.String() != themeCSS || len(rec.Header().Values("Vary")) != 0 || strings.Contains(rec.Header().Get("Cache-Control"), "private") {
		t.Errorf("report_only: %v %q", rec.Header(), rec.Body.String())
	}
}

// TestServeRuleSets checks the site's speculation rule sets: a
// Speculation-Rules header keeps only those on the page's host, and the
// rule set served there keeps only the rules that stay within what the
// policy keeps (rewrite.FilterRuleSet), coded or not, under a marked ETag
// and a page's validators; report_only and other JSON pass as they are.
func TestServeRuleSets(t *testing.T) {
	const rules = `{"prefetch":[{"urls":["/p"]},{"urls":["https://www.facebook.com/tr?id=1"]}],"prerender":[{"source":"document","eagerness":"immediate"}]}`
	const kept = `{"prefetch":[{"urls":["/p"]}]}`
	get := func(h *Handler, method, ct, coding string, body []byte) (*httptest.ResponseRecorder, http.Header) {
		req := httptest.NewRequest(method, "http://shop.example/rules.json", nil)
		setHeaders(req.Header, "Sec-Fetch-Dest", "speculationrules", "If-Modified-Since", "Mon, 07 Dec 2026 00:00:00 GMT")
		var saw http.Header
		rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			saw = r.Header.Clone()
			setHeaders(w.Header(), "Content-Type", ct, "Content-Encoding", coding, "ETag", `"r1"`, "Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
		})
		return rec, saw
	}
	// The CDN is kept: a rule set there is dropped all the same, as its
	// rules would not be read.
	h := provisioned(t, &Handler{Allow: []string{"cdn.example.net"}})
	rec, saw := get(h, "GET", "application/speculationrules+json", "", []byte(rules))
	if got := rec.Body.String(); got != kept {
		t.Errorf("rule set: %s", got)
	}
	if et := rec.Header().Get("ETag"); et != `W/"r1-fp`+h.pageTag()+`"` || rec.Header().Get("Content-Length") != "" {
		t.Errorf("headers: %v", rec.Header())
	}
	if saw.Get("If-Modified-Since") != "" {
		t.Error("If-Modified-Since went upstream: it cannot tell under which policy a copy was filtered")
	}
	rec, _ = get(h, "GET", "application/speculationrules+json; charset=utf-8", "gzip", encodeWith(t, "gzip", []byte(rules)))
	if got := rec.Body.String(); got != kept || rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip-coded rule set: %q, %v", got, rec.Header())
	}
	rec, _ = get(h, "HEAD", "application/speculationrules+json", "", nil)
	if rec.Body.Len() != 0 || !strings.Contains(rec.Header().Get("ETag"), "-fp") {
		t.Errorf("HEAD: %v %q", rec.Header(), rec.Body.String())
	}
	small := provisioned(t, &Handler{MaxTokenSize: 64})
	if rec, _ = get(small, "GET", "application/speculationrules+json", "", []byte(rules)); rec.Body.String() != "{}" {
		t.Errorf("a rule set over max_token_size: %q", rec.Body.String())
	}
	ro := provisioned(t, &Handler{ReportOnly: true})
	if rec, _ = get(ro, "GET", "application/speculationrules+json", "", []byte(rules)); rec.Body.String() != rules {
		t.Errorf("report_only: %q", rec.Body.String())
	}
	if rec, _ = get(h, "GET", "application/json", "", []byte(rules)); rec.Body.String() != rules {
		t.Errorf("JSON of another type: %q", rec.Body.String())
	}

	req := httptest.NewRequest("GET", "http://shop.example/", nil)
	req.Header.Set("Accept", "text/html")
	rec = serve(h, req, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Speculation-Rules", `"/rules.json", "https://cdn.example.net/rules.json", "https://www.facebook.com/r.json"`)
		io.WriteString(w, "<p>x</p>")
	})
	if got := rec.Header().Values("Speculation-Rules"); len(got) != 1 || got[0] != `"/rules.json"` {
		t.Errorf("Speculation-Rules %q", got)
	}
}

// TestServeXMLDocuments checks that the site's XML documents (SVG, XML of
// any type) pass as they came, with a Content-Security-Policy beside
// their own that confines them to the site's origin and the hosts it
// always keeps; not HTML, not under report_only.
func TestServeXMLDocuments(t *testing.T) {
	const svg = `<svg xmlns="http://www.w3.org/2000/svg"><image href="https://www.facebook.com/tr?id=1"/></svg>`
	get := func(h *Handler, ct, csp, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "http://shop.example/logo.svg", nil)
		req.Header.Set("Sec-Fetch-Dest", "iframe") // as a document (TestServeSVG: as an image)
		return serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			setHeaders(w.Header(), "Content-Type", ct, "Content-Security-Policy", csp)
			io.WriteString(w, body)
		})
	}
	h := provisioned(t, &Handler{FirstParty: []string{"cdn.shop.example"}, Allow: []string{"*.stripe.com"},
		CSPBackstop: &CSPBackstop{Allow: []string{"fonts.example.net"}}})
	want := "default-src 'self' cdn.shop.example *.cdn.shop.example stripe.com *.stripe.com fonts.example.net *.fonts.example.net data: blob: 'unsafe-inline' 'unsafe-eval'"
	for _, ct := range []string{"image/svg+xml", "application/xml; charset=utf-8", "text/xml", "application/atom+xml", ""} {
		body := svg
		if ct == "" {
			body = `<?xml version="1.0"?>` + svg // sniffed as XML
		}
		rec := get(h, ct, "", body)
		if got := rec.Header().Values("Content-Security-Policy"); len(got) != 1 || got[0] != want {
			t.Errorf("%q: Content-Security-Policy %q", ct, got)
		}
		if rec.Body.String() != body {
			t.Errorf("%q: body changed: %q", ct, rec.Body.String())
		}
	}
	rec := get(h, "image/svg+xml", "img-src 'self'", svg)
	if got := rec.Header().Values("Content-Security-Policy"); len(got) != 2 || got[0] != "img-src 'self'" || got[1] != want {
		t.Errorf("beside the file's own policy: %q", got)
	}
	for name, c := range map[string]struct {
		h  *Handler
		ct string
	}{
		"HTML":        {h, "text/html"},
		"JSON":        {h, "application/json"},
		"report_only": {provisioned(t, &Handler{ReportOnly: true}), "image/svg+xml"},
	} {
		if got := get(c.h, c.ct, "", "<p>x</p>").Header().Values("Content-Security-Policy"); len(got) != 0 {
			t.Errorf("%s: Content-Security-Policy %q", name, got)
		}
	}
}

// TestServeSVG checks that an SVG file (or another XML document) asked
// for as an image, which a page's <svg><use href> draws in the page,
// loses what the policy does not keep (rewrite.FilterSVG): coded or not,
// of any XML type; one that cannot be read is sent as rewrite.EmptySVG.
// An image/svg+xml answer to a script's fetch or to a request that does
// not say what it is for is filtered too; one asked for as a document,
// or an XML feed or API answer not asked for as an image, or any under
// report_only, passes as it came.
func TestServeSVG(t *testing.T) {
	const svg = `<svg xmlns="http://www.w3.org/2000/svg"><symbol id="a"><image href="/i.png"/><image href="https://www.facebook.com/tr?id=1"/></symbol></svg>`
	const kept = `<svg xmlns="http://www.w3.org/2000/svg"><symbol id="a"><image href="/i.png"/><image/></symbol></svg>`
	get := func(h *Handler, method, path, dest, ct, coding string, body []byte) (*httptest.ResponseRecorder, http.Header) {
		req := httptest.NewRequest(method, "http://shop.example"+path, nil)
		setHeaders(req.Header, "Sec-Fetch-Dest", dest, "Accept-Encoding", "gzip", "If-Modified-Since", "Mon, 07 Dec 2026 00:00:00 GMT")
		var saw http.Header
		rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			saw = r.Header.Clone()
			setHeaders(w.Header(), "Content-Type", ct, "Content-Encoding", coding, "ETag", `"s1"`, "Content-Length", strconv.Itoa(len(body)), "Last-Modified", "Mon, 07 Dec 2026 00:00:00 GMT")
			w.Write(body)
		})
		return rec, saw
	}
	h := provisioned(t, &Handler{})
	rec, saw := get(h, "GET", "/icons.svg", "image", "image/svg+xml", "", []byte(svg))
	if rec.Body.String() != kept || rec.Header().Get("ETag") != `W/"s1-fp`+h.pageTag()+`"` || saw.Get("If-Modified-Since") != "" || rec.Header().Get("Last-Modified") != "" ||
		rec.Header().Get("Content-Length") != "" || rec.Header().Get("Content-Security-Policy") != h.confined {
		t.Errorf("an SVG file asked for as an image: %q, %v; upstream saw %v", rec.Body.String(), rec.Header(), saw)
	}
	if rec, _ = get(h, "HEAD", "/icons.svg", "image", "image/svg+xml", "", nil); rec.Body.Len() != 0 || rec.Header().Get("ETag") != `W/"s1-fp`+h.pageTag()+`"` {
		t.Errorf("HEAD: %q, %v", rec.Body.String(), rec.Header())
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(svg))
	zw.Close()
	for _, c := range []struct{ path, dest, ct, coding, body, want string }{
		{"/icons.svg", "image", "image/svg+xml", "gzip", b.String(), kept},
		{"/icons", "image", "text/xml", "", svg, kept},
		{"/icons.svg", "", "image/svg+xml", "", svg, kept},
		{"/icons.svg", "empty", "image/svg+xml", "", svg, kept},
		{"/api", "empty", "application/xml", "", svg, svg},
		{"/icons.svg", "image", "image/svg+xml", "", svg[:len(svg)-1], rewrite.EmptySVG},
		{"/icons.svg", "iframe", "image/svg+xml", "", svg, svg},
		{"/feed", "", "application/atom+xml", "", svg, svg},
		{"/icons.svg", "image", "image/png", "", svg, svg},
	} {
		if rec, _ = get(h, "GET", c.path, c.dest, c.ct, c.coding, []byte(c.body)); rec.Body.String() != c.want {
			t.Errorf("%s, Sec-Fetch-Dest %q, %s %s: %q", c.path, c.dest, c.ct, c.coding, rec.Body.String())
		}
		// A filtered file goes without its date, which could confirm it
		// across a policy change; one passed keeps it.
		if filtered := c.want != c.body; (rec.Header().Get("Last-Modified") == "") != filtered {
			t.Errorf("%s, Sec-Fetch-Dest %q, %s: Last-Modified %q", c.path, c.dest, c.ct, rec.Header().Get("Last-Modified"))
		}
	}
	if _, saw = get(h, "GET", "/logo.png", "image", "image/png", "", nil); saw.Get("If-Modified-Since") == "" {
		t.Errorf("an image's request lost its If-Modified-Since: %v", saw)
	}
	small := provisioned(t, &Handler{MaxTokenSize: 64})
	if rec, _ = get(small, "GET", "/icons.svg", "image", "image/svg+xml", "", []byte(svg)); rec.Body.String() != rewrite.EmptySVG {
		t.Errorf("over max_token_size: %q", rec.Body.String())
	}
	ro := provisioned(t, &Handler{ReportOnly: true})
	if rec, _ = get(ro, "GET", "/icons.svg", "image", "image/svg+xml", "", []byte(svg)); rec.Body.String() != svg {
		t.Errorf("report_only: %q", rec.Body.String())
	}
}

// TestServeManifests checks that a web app manifest loses the images
// the policy does not keep (rewrite.FilterManifest): one asked for as a
// manifest whatever its type, and one of the manifest type; coded or
// not; as it came under report_only.
func TestServeManifests(t *testing.T) {
	const manifest = `{"name":"Shop","icons":[{"src":"/i.png"},{"src":"https://www.facebook.com/tr?id=1"}]}`
	const kept = `{"icons":[{"src":"/i.png"}],"name":"Shop"}`
	get := func(h *Handler, dest, ct, coding string, body []byte) (*httptest.ResponseRecorder, http.Header) {
		req := httptest.NewRequest("GET", "http://shop.example/site.webmanifest", nil)
		setHeaders(req.Header, "Sec-Fetch-Dest", dest, "Accept-Encoding", "gzip", "If-Modified-Since", "Mon, 07 Dec 2026 00:00:00 GMT")
		var saw http.Header
		rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			saw = r.Header.Clone()
			setHeaders(w.Header(), "Content-Type", ct, "Content-Encoding", coding, "ETag", `"m1"`)
			w.Write(body)
		})
		return rec, saw
	}
	h := provisioned(t, &Handler{})
	rec, saw := get(h, "manifest", "application/json", "", []byte(manifest))
	if rec.Body.String() != kept || rec.Header().Get("ETag") != `W/"m1-fp`+h.pageTag()+`"` || saw.Get("If-Modified-Since") != "" {
		t.Errorf("a manifest asked for as one: %q, %v; upstream saw %v", rec.Body.String(), rec.Header(), saw)
	}
	if rec, _ = get(h, "manifest", "", "gzip", encodeWith(t, "gzip", []byte(manifest))); rec.Body.String() != kept {
		t.Errorf("a gzip-coded manifest of no type: %q", rec.Body.String())
	}
	if rec, _ = get(h, "", "application/manifest+json", "", []byte(manifest)); rec.Body.String() != kept {
		t.Errorf("a manifest by its type: %q", rec.Body.String())
	}
	if rec, _ = get(h, "", "application/json", "", []byte(manifest)); rec.Body.String() != manifest {
		t.Errorf("other JSON: %q", rec.Body.String())
	}
	ro := provisioned(t, &Handler{ReportOnly: true})
	if rec, _ = get(ro, "manifest", "application/manifest+json", "", []byte(manifest)); rec.Body.String() != manifest {
		t.Errorf("report_only: %q", rec.Body.String())
	}
}
