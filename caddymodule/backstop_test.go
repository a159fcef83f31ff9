package caddymodule

import (
	"cmp"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
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
	const script = `importScripts("https://vendor.example/w.js")`
	marks := map[string]string{} // a mark's kind → the first mark of that kind seen
	for _, c := range []struct {
		mode, dest, cookie string
		csp                string // the header name, "" for none
		validators         bool   // the request's validators go upstream
		mark               string // the service worker's mark: "" for none, "on" (the enforce policy's), "on-ro" (report_only's) or "off"
		typ                string // the answer's Content-Type, text/javascript if ""
		gzip, head         bool   // the upstream compresses; the request is a HEAD
		reportOnly         bool   // the handler's report_only
	}{
		{mode: "enforce", dest: "worker", csp: "Content-Security-Policy"},
		{mode: "enforce", dest: "sharedworker", csp: "Content-Security-Policy"},
		{mode: "enforce", dest: "serviceworker", csp: "Content-Security-Policy", mark: "on"},
		{mode: "enforce", dest: "serviceworker", csp: "Content-Security-Policy", mark: "on", typ: "application/x-javascript; charset=utf-8"},
		{mode: "enforce", dest: "serviceworker", csp: "Content-Security-Policy", mark: "on", gzip: true},
		{mode: "enforce", dest: "serviceworker", csp: "Content-Security-Policy", head: true},
		{mode: "report_only", dest: "serviceworker", csp: "Content-Security-Policy-Report-Only", mark: "on-ro"},
		{mode: "enforce", dest: "serviceworker", cookie: granted, mark: "off"},
		{mode: "report_only", dest: "serviceworker", cookie: granted, mark: "off"},
		{mode: "enforce", dest: "serviceworker", csp: "Content-Security-Policy", typ: "text/html"},
		{mode: "enforce", dest: "serviceworker", csp: "Content-Security-Policy", typ: "text/plain"},
		{mode: "enforce", dest: "serviceworker", validators: true, reportOnly: true},
		{mode: "enforce", dest: "script", validators: true},
		{dest: "serviceworker", validators: true},
	} {
		h := &Handler{ReportOnly: c.reportOnly}
		if c.mode != "" {
			h.CSPBackstop = &CSPBackstop{Mode: c.mode}
		}
		h = provisioned(t, h)
		method := "GET"
		if c.head {
			method = "HEAD"
		}
		req := httptest.NewRequest(method, "http://shop.example/sw.js", nil)
		setHeaders(req.Header, "Sec-Fetch-Dest", c.dest, "Cookie", c.cookie, "If-None-Match", `"s1"`, "If-Modified-Since", "Mon, 07 Dec 2026 06:00:00 GMT")
		var upINM, upIMS string
		rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			upINM, upIMS = r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since")
			w.Header().Set("Content-Type", cmp.Or(c.typ, "text/javascript"))
			w.Header().Set("ETag", `"s1"`)
			body := []byte(script)
			if c.gzip {
				body = encodeWith(t, "gzip", body)
				w.Header().Set("Content-Encoding", "gzip")
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			if r.Method != "HEAD" {
				w.Write(body)
			}
		})
		name := fmt.Sprintf("%s %s %q %q gzip=%v head=%v report_only=%v", c.mode, c.dest, c.cookie, c.typ, c.gzip, c.head, c.reportOnly)
		hdr := rec.Result().Header
		for _, n := range []string{"Content-Security-Policy", "Content-Security-Policy-Report-Only"} {
			if got := hdr.Get(n); (got != "") != (n == c.csp) || got != "" && !strings.HasPrefix(got, "default-src 'self' data: blob:") {
				t.Errorf("%s: %s %q", name, n, got)
			}
		}
		body, mark, marked := strings.Cut(rec.Body.String(), "\n// firstparty csp_backstop: ")
		switch {
		case c.head && rec.Body.Len() > 0:
			t.Errorf("%s: a HEAD's body %q", name, rec.Body.String())
		case c.head:
		case body != script:
			t.Errorf("%s: body %q", name, rec.Body.String())
		case marked != (c.mark != ""):
			t.Errorf("%s: marked %v, want %q: %q", name, marked, c.mark, rec.Body.String())
		case marked:
			kind := c.mark
			if !strings.HasSuffix(mark, "\n") || kind == "off" && mark != "off\n" || kind != "off" && !regexp.MustCompile(`^[0-9a-f]{8}\n$`).MatchString(mark) {
				t.Errorf("%s: mark %q", name, mark)
			}
			if m, ok := marks[kind]; ok && m != mark {
				t.Errorf("%s: mark %q, where another of its kind was %q", name, mark, m)
			}
			marks[kind] = mark
			if hdr.Get("Content-Encoding") != "" || hdr.Get("Content-Length") != "" || hdr.Get("ETag") == `"s1"` {
				t.Errorf("%s: marked, with Content-Encoding %q, Content-Length %q, ETag %q", name, hdr.Get("Content-Encoding"), hdr.Get("Content-Length"), hdr.Get("ETag"))
			}
		case c.typ == "text/html":
			// Rewritten as a page (without a change), with its headers.
		default:
			if hdr.Get("Content-Length") != strconv.Itoa(len(script)) || hdr.Get("ETag") != `"s1"` {
				t.Errorf("%s: unmarked, with Content-Length %q, ETag %q", name, hdr.Get("Content-Length"), hdr.Get("ETag"))
			}
		}
		if (upINM != "" && upIMS != "") != c.validators || (upINM == "" && upIMS == "") == c.validators {
			t.Errorf("%s: upstream asked with If-None-Match %q, If-Modified-Since %q", name, upINM, upIMS)
		}
		if vary := strings.Join(hdr.Values("Vary"), ","); (vary == "Cookie,Sec-GPC") != (c.mode != "" && c.dest != "script" && !c.reportOnly) {
			t.Errorf("%s: Vary %q", name, vary)
		}
	}
	// The three kinds differ: a change of consent, or of the backstop's
	// header, changes the service worker's script.
	if len(marks) != 3 || marks["on"] == marks["on-ro"] || marks["on"] == marks["off"] || marks["on-ro"] == marks["off"] {
		t.Errorf("marks %q", marks)
	}
}
