package caddymodule

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestCSPBackstop(t *testing.T) {
	h := provisioned(t, &Handler{FirstParty: []string{"cdn.shop.example"}, Allow: []string{"js.stripe.com"},
		CSPBackstop: &CSPBackstop{Mode: "enforce", Allow: []string{"fonts.example.net"}, ReportURI: "/csp-reports"}})
	const want = "default-src 'self' cdn.shop.example *.cdn.shop.example js.stripe.com *.js.stripe.com fonts.example.net *.fonts.example.net data: blob: 'unsafe-inline' 'unsafe-eval'; report-uri /csp-reports"
	page := func(cookie string) http.Header {
		req := httptest.NewRequest("GET", "http://shop.example/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Security-Policy", "script-src 'nonce-abc'")
			w.Header().Set("Cache-Control", "public, max-age=60, s-maxage=600")
			fmt.Fprint(w, "<p>hi</p>")
		})
		return rec.Result().Header
	}
	hdr := page("")
	csp := hdr.Values("Content-Security-Policy")
	if len(csp) != 2 || csp[0] != "script-src 'nonce-abc'" || csp[1] != want {
		t.Errorf("before consent: CSP %q", csp)
	}
	if cc := hdr.Get("Cache-Control"); cc != "private, max-age=60" {
		t.Errorf("Cache-Control %q", cc)
	}
	if v := strings.Join(hdr.Values("Vary"), ","); v != "Cookie,Sec-GPC" {
		t.Errorf("Vary %q", v)
	}
	// After a grant the backstop is lifted; the response still varies.
	now := time.Now().Unix()
	hdr = page(fmt.Sprintf("fp_consent=1.%d.%d.analytics-g", now, now))
	if csp := hdr.Values("Content-Security-Policy"); len(csp) != 1 || hdr.Get("Cache-Control") != "private, max-age=60" {
		t.Errorf("after consent: CSP %q, Cache-Control %q", csp, hdr.Get("Cache-Control"))
	}
	// A denial is no grant.
	if csp := page(fmt.Sprintf("fp_consent=1.%d.%d.*-d", now, now)).Values("Content-Security-Policy"); len(csp) != 2 {
		t.Errorf("after a denial: CSP %q", csp)
	}
	// A vendor's grant (Always allow) lifts it as a category's does; a
	// TCF string's vendor signals, which only ever deny (Criteo's consent
	// given, the other vendors' refused), do not.
	if csp := page(fmt.Sprintf("fp_consent=1.%d.%d.*-d.@youtube-g", now, now)).Values("Content-Security-Policy"); len(csp) != 1 {
		t.Errorf("after a vendor's grant: CSP %q", csp)
	}
	if csp := page("euconsent-v2=" + tcfString(nil, []int{91}, now-60, false)).Values("Content-Security-Policy"); len(csp) != 2 {
		t.Errorf("after TCF vendor consents without purposes: CSP %q", csp)
	}
	// report_only mode reports; the handler's report_only changes nothing.
	h.CSPBackstop.Mode = "report_only"
	if got := page("").Get("Content-Security-Policy-Report-Only"); got != want {
		t.Errorf("report_only: %q", got)
	}
	h.ReportOnly = true
	if hdr := page(""); hdr.Get("Content-Security-Policy-Report-Only") != "" || len(hdr.Values("Vary")) != 0 {
		t.Errorf("handler report_only changed headers: %v", hdr)
	}
	// Non-HTML responses are untouched.
	h.ReportOnly = false
	rec := serve(h, httptest.NewRequest("GET", "http://shop.example/a.js", nil), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, "1")
	})
	if rec.Header().Get("Content-Security-Policy-Report-Only") != "" || rec.Header().Get("Vary") != "" {
		t.Errorf("non-HTML: %v", rec.Header())
	}
}

// A copy held with the backstop is not confirmed once the visitor has
// consented, nor one held without it once they have withdrawn: a 304's
// fields are merged into the copy, and one without the policy left the
// copy's in force (a visitor who had just consented kept the backstop on a
// page seen before, TestBrowserCMPScript). The ETag's tag says which.
func TestBackstopRevalidation(t *testing.T) {
	h := provisioned(t, &Handler{CSPBackstop: &CSPBackstop{Mode: "enforce"}})
	now := time.Now().Unix()
	granted := fmt.Sprintf("fp_consent=1.%d.%d.analytics-g", now, now)
	get := func(cookie, inm string) (*httptest.ResponseRecorder, string) {
		req := httptest.NewRequest("GET", "http://shop.example/", nil)
		setHeaders(req.Header, "Accept", "text/html", "Cookie", cookie, "If-None-Match", inm)
		var upINM string
		rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			upINM = r.Header.Get("If-None-Match")
			w.Header().Set("ETag", `"v7"`)
			if upINM == `W/"v7"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<p>hi</p>")
		})
		return rec, upINM
	}
	before, _ := get("", "")
	after, _ := get(granted, "")
	bt, at := before.Header().Get("ETag"), after.Header().Get("ETag")
	if bt == "" || at == "" || bt == at {
		t.Fatalf("ETags with and without the backstop: %q, %q", bt, at)
	}
	for _, c := range []struct {
		name, cookie, inm string
		confirmed         bool
	}{
		{"backstopped copy, still no consent", "", bt, true},
		{"consented copy, still consented", granted, at, true},
		{"backstopped copy, consent since", granted, bt, false},
		{"consented copy, withdrawn since", "", at, false},
	} {
		rec, up := get(c.cookie, c.inm)
		if confirmed := rec.Code == http.StatusNotModified; confirmed != c.confirmed || (up != "") != c.confirmed {
			t.Errorf("%s: status %d (upstream asked with %q), want confirmed %v", c.name, rec.Code, up, c.confirmed)
		}
		if hasCSP := rec.Header().Get("Content-Security-Policy") != ""; !c.confirmed && hasCSP != (c.cookie == "") {
			t.Errorf("%s: the page sent again has the backstop %v", c.name, hasCSP)
		}
	}
}

func TestCaddyfileCSPBackstop(t *testing.T) {
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("firstparty {\n csp_backstop enforce {\n allow cdn.example *.fonts.example\n report_uri https://r.example/csp\n }\n}")); err != nil {
		t.Fatal(err)
	}
	if b := h.CSPBackstop; b == nil || b.Mode != "enforce" || strings.Join(b.Allow, " ") != "cdn.example *.fonts.example" || b.ReportURI != "https://r.example/csp" {
		t.Errorf("parsed %+v", h.CSPBackstop)
	}
	h = Handler{}
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("firstparty {\n csp_backstop\n}")); err != nil || h.CSPBackstop == nil || h.CSPBackstop.Mode != "" {
		t.Errorf("bare csp_backstop: %v %+v", err, h.CSPBackstop)
	}
	wantCaddyfileErrors(t, true, map[string]string{
		"csp_backstop block":                                 "want report_only or enforce",
		"csp_backstop enforce extra":                         "want report_only or enforce",
		"csp_backstop\n csp_backstop":                        `duplicate subdirective "csp_backstop"`,
		"csp_backstop {\n allow 'unsafe-inline'\n }":         "is not a host name",
		"csp_backstop {\n allow\n }":                         "wrong arguments",
		"csp_backstop {\n report_uri /a; script-src *\n }":   "wrong arguments",
		"csp_backstop {\n report_uri javascript:x\n }":       "want a path or an http(s) URL",
		"csp_backstop {\n report_uri /a\n report_uri /b\n }": "repeated",
		"csp_backstop {\n nonce abc\n }":                     `unknown csp_backstop option "nonce"`,
	})
}

// The backstop is lifted by the categories a visitor is asked about.
func TestBackstopCategories(t *testing.T) {
	if got := strings.Join(backstopCategories, " "); got != "analytics advertising social session_replay tag_manager embeds" {
		t.Errorf("backstop categories %q", got)
	}
}

// TestBackstopWorkers: a worker's script, whose answer gives the worker
// its policy (not the page's), carries the backstop for a visitor who has
// granted nothing, and is never confirmed from a copy sent for another
// consent; a page's script, which runs under the page's, does not.
func TestBackstopWorkers(t *testing.T) {
	now := time.Now().Unix()
	granted := fmt.Sprintf("fp_consent=1.%d.%d.analytics-g", now, now)
	for _, c := range []struct {
		mode, dest, cookie string
		csp                string // the header name, "" for none
		validators         bool   // the request's validators go upstream
	}{
		{"enforce", "worker", "", "Content-Security-Policy", false},
		{"enforce", "sharedworker", "", "Content-Security-Policy", false},
		{"enforce", "serviceworker", "", "Content-Security-Policy", false},
		{"report_only", "serviceworker", "", "Content-Security-Policy-Report-Only", false},
		{"enforce", "serviceworker", granted, "", false},
		{"enforce", "script", "", "", true},
		{"", "serviceworker", "", "", true},
	} {
		h := &Handler{}
		if c.mode != "" {
			h.CSPBackstop = &CSPBackstop{Mode: c.mode}
		}
		h = provisioned(t, h)
		req := httptest.NewRequest("GET", "http://shop.example/sw.js", nil)
		setHeaders(req.Header, "Sec-Fetch-Dest", c.dest, "Cookie", c.cookie, "If-None-Match", `"s1"`, "If-Modified-Since", "Mon, 07 Dec 2026 06:00:00 GMT")
		var upINM, upIMS string
		rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			upINM, upIMS = r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since")
			w.Header().Set("Content-Type", "text/javascript")
			w.Header().Set("ETag", `"s1"`)
			fmt.Fprint(w, `importScripts("https://vendor.example/w.js")`)
		})
		name := fmt.Sprintf("%s %s %q", c.mode, c.dest, c.cookie)
		hdr := rec.Result().Header
		for _, n := range []string{"Content-Security-Policy", "Content-Security-Policy-Report-Only"} {
			if got := hdr.Get(n); (got != "") != (n == c.csp) || got != "" && !strings.HasPrefix(got, "default-src 'self' data: blob:") {
				t.Errorf("%s: %s %q", name, n, got)
			}
		}
		if rec.Body.String() != `importScripts("https://vendor.example/w.js")` {
			t.Errorf("%s: body %q", name, rec.Body.String())
		}
		if (upINM != "" && upIMS != "") != c.validators || (upINM == "" && upIMS == "") == c.validators {
			t.Errorf("%s: upstream asked with If-None-Match %q, If-Modified-Since %q", name, upINM, upIMS)
		}
		if vary := strings.Join(hdr.Values("Vary"), ","); (vary == "Cookie,Sec-GPC") != (c.mode != "" && c.dest != "script") {
			t.Errorf("%s: Vary %q", name, vary)
		}
	}
}
