package caddymodule

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/certmagic"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// recorded is one request a stub vendor received.
type recorded struct {
	method, url string
	header      http.Header
	body        []byte
}

// sent is what r asked of the vendor, its headers aside: its method, URL
// and body.
func (r recorded) sent() string { return r.method + " " + r.url + "\n" + string(r.body) }

// stubVendor is a vendor that records every request, answers scripts with
// a body naming its endpoints, and sets a cookie on every answer (which
// must never reach the browser).
type stubVendor struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	script string
	status int
}

func newStubVendor(t testing.TB) *stubVendor {
	s := &stubVendor{status: http.StatusOK}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{r.Method, r.URL.String(), r.Header.Clone(), b})
		script, status := s.script, s.status
		s.mu.Unlock()
		w.Header().Set("Set-Cookie", "vendor_id=abc; Path=/")
		w.Header().Set("X-Vendor-Secret", "1")
		if strings.HasSuffix(r.URL.Path, ".js") || strings.HasSuffix(r.URL.Path, "/gtag/js") {
			w.Header().Set("Content-Type", "application/javascript")
			w.Header().Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` && status == http.StatusOK {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.WriteHeader(status)
			io.WriteString(w, script)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, `{"featureFlags":{"beta":true}}`)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stubVendor) take() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.reqs
	s.reqs = nil
	return r
}

// proxyHandler is a provisioned handler with the given proxies.
func proxyHandler(t *testing.T, ps ...Proxy) *Handler {
	t.Helper()
	h := &Handler{Proxies: ps}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	provisioned(t, h)
	for _, px := range h.proxies {
		px.logger = zap.NewNop()
	}
	return h
}

// call sends r through the handler; the next handler must not be reached.
func call(t testing.TB, h *Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	err := h.ServeHTTP(rec, r, caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		t.Errorf("%s %s reached the next handler", r.Method, r.URL)
		return nil
	}))
	if err != nil {
		t.Errorf("%s %s: %v", r.Method, r.URL, err)
	}
	return rec
}

// granted is a consent cookie that grants analytics.
func granted() string {
	now := time.Now().Unix()
	return fmt.Sprintf("fp_consent=1.%d.%d.analytics-g", now, now)
}

func TestProxyForwardsCleanCalls(t *testing.T) {
	v := newStubVendor(t)
	h := proxyHandler(t, Proxy{Profile: "plausible", Prefix: "/_fp/p", Upstream: v.srv.URL, IP: "truncate"})
	body := `{"n":"pageview","u":"https://shop.example/cart?utm_source=news&email=a%40b.example#x","d":"shop.example","r":"https://www.google.com/search?q=me","p":{"plan":"gold","email":"a@b.example"}}`
	r := httptest.NewRequest("POST", "https://shop.example/_fp/p/api/event", strings.NewReader(body))
	r.RemoteAddr = "81.2.69.142:5555"
	r.Header.Set("Cookie", granted()+"; _ga=GA1.1.123.456")
	r.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.86 Safari/537.36")
	r.Header.Set("X-Forwarded-For", "10.9.9.9")
	rec := call(t, h, r)
	if rec.Code != http.StatusNoContent || rec.Header().Get("Set-Cookie") != "" || rec.Header().Get("X-Vendor-Secret") != "" {
		t.Fatalf("reply %d %v", rec.Code, rec.Header())
	}
	got := v.take()
	if len(got) != 1 {
		t.Fatalf("vendor got %d requests", len(got))
	}
	g := got[0]
	want := `{"d":"shop.example","n":"pageview","p":{"plan":"gold"},"r":"https://www.google.com","u":"https://shop.example/cart?utm_source=news"}`
	if string(g.body) != want {
		t.Errorf("body\n got %s\nwant %s", g.body, want)
	}
	if g.url != "/api/event" || g.header.Get("Cookie") != "" || g.header.Get("X-Forwarded-For") != "81.2.69.0" {
		t.Errorf("url %s headers %v", g.url, g.header)
	}
	if ua := g.header.Get("User-Agent"); !strings.Contains(ua, "Chrome/131.0.0.0") || strings.Contains(ua, "Windows") {
		t.Errorf("user agent %q", ua)
	}

	// Under the kill switch the proxy still serves (docs/operations.md),
	// as cleanly.
	h.Disabled = true
	r = httptest.NewRequest("POST", "https://shop.example/_fp/p/api/event", strings.NewReader(body))
	r.Header.Set("Cookie", granted()+"; _ga=GA1.1.123.456")
	if rec := call(t, h, r); rec.Code != http.StatusNoContent {
		t.Errorf("under off: %d", rec.Code)
	}
	if got := v.take(); len(got) != 1 || string(got[0].body) != want || got[0].header.Get("Cookie") != "" {
		t.Errorf("under off, the vendor got %d calls", len(got))
	}
	h.Disabled = false

	// Without consent nothing is forwarded, and the browser sees success.
	r = httptest.NewRequest("POST", "https://shop.example/_fp/p/api/event", strings.NewReader(body))
	if rec := call(t, h, r); rec.Code != http.StatusNoContent || len(v.take()) != 0 {
		t.Errorf("without consent: %d, forwarded", rec.Code)
	}
	// A consent manager's choice counts as the runtime reads it: raw JSON,
	// which net/http's cookie parser dropped (so the proxy dropped the
	// calls of the scripts the runtime had run), CookieScript's and
	// tarteaucitron's.
	for _, c := range []string{`klaro={"app_analytics":true,"googleAnalytics":true}`,
		`CookieScriptConsent={"action":"accept","categories":"[\"performance\"]","key":"3cf302e4"}`,
		"tarteaucitron=!plausible=true!youtube=false"} {
		r = httptest.NewRequest("POST", "https://shop.example/_fp/p/api/event", strings.NewReader(body))
		r.Header.Set("Cookie", c+"; _ga=GA1.1.123.456")
		if rec := call(t, h, r); rec.Code != http.StatusNoContent || len(v.take()) != 1 {
			t.Errorf("granted by %s: not forwarded", c)
		}
	}
	r = httptest.NewRequest("POST", "https://shop.example/_fp/p/api/event", strings.NewReader(body))
	r.Header.Set("Cookie", `CookieScriptConsent={"action":"reject","categories":"[]"}`)
	if call(t, h, r); len(v.take()) != 0 {
		t.Errorf("refused in CookieScript: forwarded")
	}
	// tarteaucitron: an analytics service not answered yet refuses them all.
	r = httptest.NewRequest("POST", "https://shop.example/_fp/p/api/event", strings.NewReader(body))
	r.Header.Set("Cookie", "tarteaucitron=!plausible=true!matomo=wait")
	if call(t, h, r); len(v.take()) != 0 {
		t.Errorf("matomo waiting in tarteaucitron: forwarded")
	}
	// GPC does not deny analytics, but no signal does; a denial does.
	r = httptest.NewRequest("POST", "https://shop.example/_fp/p/api/event", strings.NewReader(body))
	r.Header.Set("Cookie", fmt.Sprintf("fp_consent=1.%d.%d.analytics-d", time.Now().Unix(), time.Now().Unix()))
	if call(t, h, r); len(v.take()) != 0 {
		t.Errorf("denied consent: forwarded")
	}
}

func TestProxyScript(t *testing.T) {
	v := newStubVendor(t)
	v.script = `(function(){var e="https://www.google-analytics.com/g/collect",h="region1.google-analytics.com",r=/google-analytics\.com/;send(e)})();`
	h := proxyHandler(t, Proxy{Profile: "ga4", Prefix: "/_fp/ga", Upstream: v.srv.URL, IDs: []string{"G-TEST1"}})
	r := httptest.NewRequest("GET", "https://shop.example/_fp/ga/gtag/js?id=G-TEST1&l=dataLayer&x=1", nil)
	r.Header.Set("Cookie", "_ga=secret")
	rec := call(t, h, r)
	if rec.Code != 200 || rec.Header().Get("Set-Cookie") != "" {
		t.Fatalf("script: %d %v", rec.Code, rec.Header())
	}
	want := `(function(){var e="/_fp/ga/g/collect",h="shop.example/_fp/ga",r=/google-analytics\.com/;send(e)})();`
	if rec.Body.String() != want {
		t.Errorf("script\n got %s\nwant %s", rec.Body, want)
	}
	got := v.take()
	if len(got) != 1 || got[0].url != "/gtag/js?id=G-TEST1&l=dataLayer" || got[0].header.Get("Cookie") != "" {
		t.Fatalf("vendor got %+v", got)
	}
	// Cached: the vendor is not asked again; 304 on our ETag.
	r = httptest.NewRequest("GET", "https://shop.example/_fp/ga/gtag/js?id=G-TEST1&l=dataLayer", nil)
	r.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	if rec := call(t, h, r); rec.Code != http.StatusNotModified || len(v.take()) != 0 {
		t.Errorf("cached: %d", rec.Code)
	}
	// A foreign container id is refused: it would run someone else's code.
	for _, q := range []string{"id=GTM-EVIL", "id=G-TEST1&id=GTM-EVIL", "", "id=G-TEST1%00"} {
		r = httptest.NewRequest("GET", "https://shop.example/_fp/ga/gtag/js?"+q, nil)
		if rec := call(t, h, r); rec.Code != http.StatusNotFound || len(v.take()) != 0 {
			t.Errorf("id %q: %d", q, rec.Code)
		}
	}
	// Stale if error: the vendor fails, the cached copy is served.
	px := h.proxies[0]
	for _, k := range px.scripts.lru.Keys() {
		e, _ := px.scripts.lru.Peek(k)
		e.fetched = time.Now().Add(-2 * time.Hour)
	}
	v.mu.Lock()
	v.status = 500
	v.mu.Unlock()
	r = httptest.NewRequest("GET", "https://shop.example/_fp/ga/gtag/js?id=G-TEST1&l=dataLayer", nil)
	if rec := call(t, h, r); rec.Code != 200 || rec.Body.String() != want {
		t.Errorf("stale if error: %d %s", rec.Code, rec.Body)
	}
	// A changed script is noticed.
	v.mu.Lock()
	v.status, v.script = 200, `var e="https://www.google-analytics.com/g/collect";`
	v.mu.Unlock()
	before := testutil.ToFloat64(metrics.proxyScriptChanges.WithLabelValues("ga4"))
	r = httptest.NewRequest("GET", "https://shop.example/_fp/ga/gtm.js?id=G-TEST1", nil)
	call(t, h, r)
	r = httptest.NewRequest("GET", "https://shop.example/_fp/ga/gtag/js?id=G-TEST1&l=dataLayer&v=2", nil)
	for _, k := range px.scripts.lru.Keys() {
		e, _ := px.scripts.lru.Peek(k)
		e.fetched, e.upETag = time.Now().Add(-2*time.Hour), ""
	}
	call(t, h, r)
	if after := testutil.ToFloat64(metrics.proxyScriptChanges.WithLabelValues("ga4")); after != before+1 {
		t.Errorf("script changes counted %v → %v", before, after)
	}
}

// TestProxyRewritesPageScripts: the rewriter points a proxied vendor's
// script at the proxy, deferred until consent, or live when exempt.
func TestProxyRewritesPageScripts(t *testing.T) {
	pageWith := `<html><head><script defer data-domain="shop.example" src="https://plausible.io/js/script.outbound-links.js"></script><script async src="https://www.googletagmanager.com/gtag/js?id=G-TEST1"></script><script async src="https://www.googletagmanager.com/gtag/js?id=G-OTHER"></script></head><body></body></html>`
	for _, tt := range []struct {
		consent string
		want    []string
	}{
		{"analytics", []string{`data-fp-src="/_fp/p/js/script.outbound-links.js"`, `data-fp-src="/_fp/ga/gtag/js?id=G-TEST1"`, `data-fp-src="https://www.googletagmanager.com/gtag/js?id=G-OTHER"`}},
		{"exempt", []string{`<script defer data-domain="shop.example" src="/_fp/p/js/script.outbound-links.js">`, `data-fp-src="/_fp/ga/gtag/js?id=G-TEST1"`}},
	} {
		h := proxyHandler(t, Proxy{Profile: "plausible", Prefix: "/_fp/p", Consent: tt.consent},
			Proxy{Profile: "ga4", Prefix: "/_fp/ga", IDs: []string{"G-TEST1"}})
		req := httptest.NewRequest("GET", "http://shop.example/", nil)
		rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, pageWith)
		})
		for _, w := range tt.want {
			if !strings.Contains(rec.Body.String(), w) {
				t.Errorf("consent %s: no %s in\n%s", tt.consent, w, rec.Body)
			}
		}
		if strings.Contains(rec.Body.String(), ` src="https://`) {
			t.Errorf("consent %s: a live vendor script:\n%s", tt.consent, rec.Body)
		}
	}
}

// ---- the canary scan ----

// canaries are one request's personal data, to be searched for in what
// the vendor received.
type canaries struct {
	ip4, ip6, sixTo4, email, phone, token, cookie, cid, hexID, uuid, login string
}

func (c *canaries) list() []string {
	return []string{c.ip4, c.ip6, c.sixTo4, c.email, c.phone, digitsOnly(c.phone), c.token, c.cookie, c.cid, c.hexID, c.uuid, c.login}
}

func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randString(rng *rand.Rand, n int, chars string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[rng.IntN(len(chars))]
	}
	return string(b)
}

func newCanaries(rng *rand.Rand) *canaries {
	a, b, c, d := 1+rng.IntN(222), rng.IntN(256), rng.IntN(256), 1+rng.IntN(254)
	if a == 10 || a == 127 || a == 100 || a == 172 || a == 192 {
		a = 81
	}
	tok := randString(rng, 24, alnum)
	for !strings.ContainsAny(tok, "0123456789") || len(strings.Trim(tok, "0123456789")) < 4 {
		tok = randString(rng, 24, alnum)
	}
	return &canaries{
		ip4:    fmt.Sprintf("%d.%d.%d.%d", a, b, c, d),
		ip6:    fmt.Sprintf("2a01:%x:%x:%x::%x", 0x1000+rng.IntN(0xe000), rng.IntN(0xffff), rng.IntN(0xffff), 1+rng.IntN(0xfffe)),
		sixTo4: fmt.Sprintf("2002:%02x%02x:%02x%02x::1", a, b, c, d+0),
		email:  fmt.Sprintf("%s.%s@%s.example", randString(rng, 6, "abcdefghij"), randString(rng, 5, "klmnopqrs"), randString(rng, 7, "abcdefghijklmnopqrstuvwxyz")),
		phone:  fmt.Sprintf("+33 6 %02d %02d %02d %02d", rng.IntN(100), rng.IntN(100), rng.IntN(100), rng.IntN(100)),
		token:  "sk_" + tok,
		cookie: "ck" + randString(rng, 20, alnum),
		cid:    fmt.Sprintf("%d.%d", 100000000+rng.IntN(900000000), 1700000000+rng.IntN(99999999)),
		hexID:  randString(rng, 16, "0123456789abcdef"),
		uuid:   fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", rng.Uint32(), rng.IntN(0xffff), rng.IntN(0xfff), rng.IntN(0xfff), rng.Uint64()&0xffffffffffff),
		login:  "member-" + randString(rng, 10, alnum) + "7",
	}
}

// encodings returns v in a form picked by i: raw, percent-encoded,
// double-encoded or base64.
func encoded(v string, i int) string {
	switch i % 4 {
	case 1:
		return url.QueryEscape(v)
	case 2:
		return url.QueryEscape(url.QueryEscape(v))
	case 3:
		return base64.StdEncoding.EncodeToString([]byte(v))
	}
	return v
}

var b64Run = regexp.MustCompile(`[A-Za-z0-9+/_-]{8,}={0,2}`)

// scanViews returns s and what it decodes to: percent-decoded (repeated),
// gunzipped, and each base64 run decoded.
func scanViews(s string) []string {
	out := []string{s}
	if len(s) > 2 && s[0] == 0x1f && s[1] == 0x8b {
		if zr, err := gzip.NewReader(strings.NewReader(s)); err == nil {
			if b, err := io.ReadAll(zr); err == nil {
				out = append(out, scanViews(string(b))...)
			}
		}
	}
	cur := s
	for range 4 {
		d, err := url.QueryUnescape(cur)
		if err != nil {
			d, err = url.PathUnescape(cur)
		}
		if err != nil || d == cur {
			break
		}
		out = append(out, d)
		cur = d
	}
	n := len(out)
	for _, v := range out[:n] {
		for _, run := range b64Run.FindAllString(v, -1) {
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
				if b, err := enc.DecodeString(run); err == nil {
					out = append(out, string(b))
					break
				}
			}
		}
	}
	return out
}

// hits returns the canaries found in what the vendor received.
func hits(got []recorded, c *canaries) []string {
	var found []string
	for _, g := range got {
		var hdr bytes.Buffer
		g.header.Write(&hdr)
		for _, part := range []string{g.url, hdr.String(), string(g.body)} {
			for _, v := range scanViews(part) {
				lv := strings.ToLower(v)
				for _, k := range c.list() {
					if k != "" && strings.Contains(lv, strings.ToLower(k)) {
						found = append(found, fmt.Sprintf("%q in %.300q", k, v))
					}
				}
			}
		}
	}
	return found
}

// vendorCall builds one realistic call for a profile, with canaries in
// every field a browser or an attacker could fill.
func vendorCall(profile string, prefix string, c *canaries, i int) *http.Request {
	page := fmt.Sprintf("https://shop.example/account/%s/orders?utm_source=mail&email=%s&t=%s#tok=%s", encoded(c.email, i), url.QueryEscape(encoded(c.email, i+1)), c.token, c.token)
	title := fmt.Sprintf("Order for %s (%s) %s", encoded(c.email, i), c.phone, encoded(c.token, i+2))
	ref := "https://mail.example.net/inbox?u=" + url.QueryEscape(c.email)
	var r *http.Request
	switch profile {
	case "ga4":
		q := url.Values{"v": {"2"}, "tid": {"G-TEST1"}, "cid": {c.cid}, "sid": {strings.Split(c.cid, ".")[1]}, "uid": {c.login}, "_uip": {c.ip4},
			"dl": {page}, "dr": {ref}, "dt": {title}, "en": {"page_view"}, "ep.plan": {encoded(c.phone, i)}, "ep.user_id": {c.cid},
			"up.email": {c.email}, "_p": {c.hexID}, "sr": {"1920x1080"}, "ul": {"fr-fr"}, "gcs": {"G111"}, "ep.note": {"call me at " + c.phone}}
		body := "en=purchase&ep.coupon=" + url.QueryEscape(encoded(c.email, i+3)) + "&ep.order=" + c.hexID + "\nen=scroll&epn.percent=90&ep.ref=" + url.QueryEscape(c.token)
		r = httptest.NewRequest("POST", prefix+"/g/collect?"+q.Encode(), strings.NewReader(body))
		r.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	case "plausible":
		body := fmt.Sprintf(`{"n":"Signup %s","u":%q,"d":"shop.example","r":%q,"p":{"plan":"gold","note":%q,"ref":%q,"email":%q},"h":0}`,
			encoded(c.email, i), page, ref, "call "+c.phone, encoded(c.token, i), c.email)
		r = httptest.NewRequest("POST", prefix+"/api/event", strings.NewReader(body))
		r.Header.Set("Content-Type", "text/plain")
	case "matomo":
		q := url.Values{"idsite": {"1"}, "rec": {"1"}, "action_name": {title}, "url": {page}, "urlref": {ref}, "_id": {c.hexID},
			"uid": {c.login}, "cid": {c.hexID}, "cip": {c.ip4}, "token_auth": {c.token}, "res": {"1280x720"}, "dimension1": {c.email},
			"ec_id": {c.cid}, "e_c": {"form"}, "e_a": {"submit " + encoded(c.phone, i)}, "ua": {"Mozilla " + c.token}, "_cvar": {`{"1":["email","` + c.email + `"]}`},
			"ec_items": {`[["sku1","Shoe for ` + c.email + `","shoes",49.9,1]]`}, "pv_id": {"a1B2c3"}}
		if i%2 == 0 {
			bulk := fmt.Sprintf(`{"requests":["?%s","?idsite=1&rec=1&_id=%s&url=%s"],"token_auth":%q}`, q.Encode(), c.hexID, url.QueryEscape(page), c.token)
			r = httptest.NewRequest("POST", prefix+"/matomo.php", strings.NewReader(bulk))
			r.Header.Set("Content-Type", "application/json")
		} else {
			r = httptest.NewRequest("POST", prefix+"/matomo.php", strings.NewReader(q.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	case "umami":
		typ := "event"
		if i%10 == 0 {
			typ = "identify"
		}
		body := fmt.Sprintf(`{"type":%q,"payload":{"website":"9a3c1f52-1e0b-4c7d-a2b1-0d9c1e2f3a4b","hostname":"shop.example","screen":"1920x1080","language":"fr-FR","title":%q,"url":%q,"referrer":%q,"name":"checkout","data":{"email":%q,"note":%q,"total":42},"id":%q}}`,
			typ, title, strings.TrimPrefix(page, "https://shop.example"), ref, c.email, "ring "+encoded(c.phone, i), c.uuid)
		r = httptest.NewRequest("POST", prefix+"/api/send", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Umami-Cache", c.token)
	case "custom":
		q := url.Values{"e": {title}, "url": {page}, "vid": {c.cid}, "uid": {c.login}, "email": {c.email}, "ip": {c.ip4}}
		if i%2 == 0 {
			r = httptest.NewRequest("GET", prefix+"/collect?"+q.Encode(), nil)
		} else {
			body := fmt.Sprintf(`{"e":%q,"url":%q,"vid":%q,"sid":%q,"note":%q}`, title, page, c.hexID, c.uuid, "call "+c.phone)
			r = httptest.NewRequest("POST", prefix+"/collect", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
		}
	case "posthog":
		ev := func(name string) string {
			return fmt.Sprintf(`{"event":%q,"properties":{"token":"phc_TESTKEY","distinct_id":%q,"$device_id":%q,"$session_id":%q,"$window_id":%q,"$current_url":%q,"$host":"shop.example","$pathname":"/account/%s","$referrer":%q,"$browser":"Chrome","$browser_version":131.2,"$os":"Mac OS X","$ip":%q,"$set":{"email":%q},"$anon_distinct_id":%q,"$raw_user_agent":%q,"email":%q,"plan":"gold","note":%q},"timestamp":"2026-11-30T10:00:00.000Z","uuid":%q}`,
				name, c.login, c.uuid, c.uuid, c.hexID, page, encoded(c.email, i), ref, c.ip4, c.email, c.cid, "Mozilla "+c.token, c.email, "tel "+c.phone, c.uuid)
		}
		body := `[` + ev("$pageview") + `,` + ev("$identify") + `,` + ev("signup "+encoded(c.email, i)) + `]`
		path := "/e/"
		switch i % 3 {
		case 1:
			path = "/e/?compression=gzip-js"
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write([]byte(body))
			zw.Close()
			body = buf.String()
		case 2:
			path = "/e/?compression=base64"
			body = "data=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(body)))
		}
		r = httptest.NewRequest("POST", prefix+path, strings.NewReader(body))
		if i%3 == 2 {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r.Header.Set("Content-Type", "application/json")
		}
	}
	ip := c.ip4
	switch i % 3 {
	case 1:
		ip = c.ip6
	case 2:
		ip = c.sixTo4
	}
	if strings.Contains(ip, ":") {
		r.RemoteAddr = "[" + ip + "]:40000"
	} else {
		r.RemoteAddr = ip + ":40000"
	}
	r.Header.Set("Cookie", granted()+"; _ga=GA1.1."+c.cid+"; session="+c.cookie+"; email="+url.QueryEscape(c.email))
	r.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 "+c.token)
	r.Header.Set("Referer", page)
	for _, hd := range []string{"X-Forwarded-For", "X-Real-IP", "True-Client-IP", "CF-Connecting-IP", "X-Plausible-IP", "Forwarded"} {
		r.Header.Set(hd, c.ip4)
	}
	r.Header.Set("Authorization", "Bearer "+c.token)
	r.Header.Set("X-Login", c.login)
	return r
}

// TestProxyCanaries: for each vendor, 10,000 calls full of personal data
// in every field and encoding; the vendor must receive none of it, under
// each ip option.
func TestProxyCanaries(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 500
	}
	for _, profile := range []string{"ga4", "plausible", "matomo", "umami", "posthog", "custom"} {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			v := newStubVendor(t)
			ips := []string{"none", "truncate", "pseudonym"}
			var hs []*Handler
			for _, ip := range ips {
				hs = append(hs, proxyHandler(t, canaryProxy(profile, v.srv.URL, ip, -1)))
			}
			rng := rand.New(rand.NewPCG(uint64(len(profile)), 7))
			forwarded, bad := 0, 0
			for i := range n {
				c := newCanaries(rng)
				rec := call(t, hs[i%3], vendorCall(profile, "/_fp/v", c, i))
				if rec.Code >= 300 || rec.Header().Get("Set-Cookie") != "" {
					t.Fatalf("call %d: reply %d %v", i, rec.Code, rec.Header())
				}
				got := v.take()
				forwarded += len(got)
				for _, g := range got {
					if g.header.Get("Cookie") != "" || g.header.Get("Authorization") != "" || g.header.Get("Referer") != "" {
						t.Fatalf("call %d: forwarded headers %v", i, g.header)
					}
				}
				if h := hits(got, c); len(h) > 0 {
					bad++
					if bad <= 5 {
						t.Errorf("call %d (ip %s): canary reached the vendor: %s", i, ips[i%3], strings.Join(h, "; "))
					}
				}
			}
			// Most calls must get through: a proxy that drops everything
			// would pass the scan and count nothing.
			if forwarded < n*8/10 {
				t.Errorf("only %d of %d calls forwarded", forwarded, n)
			}
			if bad > 0 {
				t.Errorf("%d of %d calls leaked a canary", bad, n)
			}
			t.Logf("%d calls, %d forwarded, 0 canary hits expected, %d found", n, forwarded, bad)
		})
	}
}

// TestProxyConcurrent: one proxy handler serving many calls at once, as
// a server does. Its limiter, script cache and keyring are shared by
// every request, and make test runs this under the race detector. The
// same calls, made one at a time and then from eight goroutines at once
// (four client addresses, so that they share the limiter's buckets),
// must reach the vendor as the same requests: concurrency changes
// nothing that is forwarded. The one-at-a-time pass is scanned for the
// calls' canaries, as TestProxyCanaries scans; for ga4, the script is
// fetched and revalidated beside the calls.
func TestProxyConcurrent(t *testing.T) {
	const workers, each = 8, 20
	addrs := []string{"81.2.69.142:1", "81.2.69.143:2", "[2a01:4f8::1]:3", "[2a01:4f8::2]:4"}
	for _, profile := range []string{"ga4", "plausible", "matomo", "umami", "posthog", "custom"} {
		t.Run(profile, func(t *testing.T) {
			v := newStubVendor(t)
			v.script = `var e="https://www.google-analytics.com/g/collect";`
			h := proxyHandler(t, canaryProxy(profile, v.srv.URL, "pseudonym", 1<<20))
			rng := rand.New(rand.NewPCG(uint64(len(profile)), 11))
			cs := make([]*canaries, workers*each)
			for i := range cs {
				cs[i] = newCanaries(rng)
			}
			req := func(i int) *http.Request {
				r := vendorCall(profile, "/_fp/v", cs[i], i)
				r.RemoteAddr = addrs[i%len(addrs)]
				return r
			}
			// The calls one at a time: each scanned for its canaries.
			var one []string
			for i := range cs {
				if rec := call(t, h, req(i)); rec.Code >= 300 || rec.Header().Get("Set-Cookie") != "" {
					t.Fatalf("call %d: reply %d %v", i, rec.Code, rec.Header())
				}
				got := v.take()
				if hs := hits(got, cs[i]); len(hs) > 0 {
					t.Fatalf("call %d: canary reached the vendor: %s", i, strings.Join(hs, "; "))
				}
				for _, g := range got {
					one = append(one, g.sent())
				}
			}
			if len(one) < len(cs)*8/10 {
				t.Fatalf("only %d of %d calls forwarded one at a time", len(one), len(cs))
			}
			// The same calls from eight goroutines at once.
			script := "/_fp/v/gtag/js?id=G-TEST1&l=dataLayer"
			want := `var e="/_fp/v/g/collect";`
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := range each {
						i := w*each + k
						if rec := call(t, h, req(i)); rec.Code >= 300 || rec.Header().Get("Set-Cookie") != "" {
							t.Errorf("call %d at once: reply %d %v", i, rec.Code, rec.Header())
							return
						}
						if profile != "ga4" || k%5 != 0 {
							continue
						}
						r := httptest.NewRequest("GET", "https://shop.example"+script, nil)
						rec := call(t, h, r)
						if rec.Code != 200 || rec.Body.String() != want {
							t.Errorf("script at once: %d %q", rec.Code, rec.Body)
							return
						}
						r = httptest.NewRequest("GET", "https://shop.example"+script, nil)
						r.Header.Set("If-None-Match", rec.Header().Get("ETag"))
						if rec := call(t, h, r); rec.Code != http.StatusNotModified {
							t.Errorf("script revalidated at once: %d", rec.Code)
							return
						}
					}
				}()
			}
			wg.Wait()
			var many []string
			for _, g := range v.take() {
				if strings.Contains(g.url, "/gtag/js") {
					continue // the script's fetches: the cache decides how many
				}
				many = append(many, g.sent())
			}
			slices.Sort(one)
			slices.Sort(many)
			if !slices.Equal(one, many) {
				t.Errorf("%d requests forwarded at once, %d one at a time, not the same: concurrency changed what reached the vendor", len(many), len(one))
				for i := range min(len(one), len(many)) {
					if one[i] != many[i] {
						t.Errorf("first difference:\n one at a time %.300q\n at once       %.300q", one[i], many[i])
						break
					}
				}
			}
			t.Logf("%d calls, %d forwarded, one at a time and from %d goroutines alike", len(cs), len(one), workers)
		})
	}
}

// canaryProxy is the proxy the canary tests put before the stub vendor
// at upstream: the profile under /_fp/v with its ids, the ip option, the
// rate limit, and for custom, the page's own parameters, its visitor id
// pseudonymised.
func canaryProxy(profile, upstream, ip string, rate int) Proxy {
	p := Proxy{Profile: profile, Prefix: "/_fp/v", Upstream: upstream, IP: ip, IDs: idsFor(profile), RateLimit: rate}
	if profile == "custom" {
		p.Paths, p.Params, p.IDParams = []string{"/collect"}, []string{"e", "note"}, []string{"vid"}
	}
	return p
}

func idsFor(profile string) []string {
	switch profile {
	case "ga4":
		return []string{"G-TEST1"}
	case "posthog":
		return []string{"phc_TESTKEY"}
	}
	return nil
}

// TestGuardDial: a public vendor host that resolves inside is refused,
// whatever form the address takes.
func TestGuardDial(t *testing.T) {
	for addr, blocked := range map[string]bool{
		"127.0.0.1:443": true, "10.1.2.3:443": true, "192.168.0.1:443": true, "172.16.5.5:443": true,
		"169.254.169.254:80": true, "[::1]:443": true, "[fe80::1]:443": true, "[fc00::1]:443": true,
		"[::ffff:127.0.0.1]:443": true, "[2002:7f00:1::1]:443": true, "[64:ff9b::a9fe:a9fe]:80": true,
		"100.64.1.1:443": true, "0.0.0.0:443": true, "[::]:443": true, "224.0.0.1:443": true,
		"8.8.8.8:443": false, "[2a00:1450:4007::200e]:443": false, "142.250.74.36:443": false,
	} {
		err := guardDial("tcp", addr, nil)
		if (err != nil) != blocked {
			t.Errorf("%s: blocked %v, want %v", addr, err != nil, blocked)
		}
	}
}

// TestProxySSRF: nothing reaches anywhere but the configured upstream.
func TestProxySSRF(t *testing.T) {
	v := newStubVendor(t)
	var elsewhere sync.Map
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Store(r.URL.String(), true)
	}))
	t.Cleanup(other.Close)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/config/", http.StatusFound) // as if to Caddy's admin API
	}))
	t.Cleanup(redirector.Close)
	h := proxyHandler(t, Proxy{Profile: "plausible", Prefix: "/_fp/p", Upstream: v.srv.URL, Consent: "exempt"},
		Proxy{Profile: "umami", Prefix: "/_fp/u", Upstream: redirector.URL, Consent: "exempt"},
		Proxy{Profile: "custom", Prefix: "/_fp/c", Upstream: v.srv.URL, Paths: []string{"/collect"}, Params: []string{"e"}, Consent: "exempt"})
	otherHost := strings.TrimPrefix(other.URL, "http://")
	event := `{"n":"pageview","u":"https://shop.example/","d":"shop.example"}`
	for _, tt := range []struct {
		name, method, target, host, body string
		forwarded                        int
	}{
		{"metadata url in the query", "POST", "/_fp/p/api/event?url=http://169.254.169.254/latest/meta-data/", "", event, 1},
		{"metadata url as a parameter", "GET", "/_fp/c/collect?e=1&url=http://169.254.169.254/&host=" + otherHost, "", "", 1},
		{"absolute form", "POST", "http://" + otherHost + "/_fp/p/api/event", otherHost, event, 1},
		{"Host: evil", "POST", "/_fp/p/api/event", "evil.example", event, 1},
		{"encoded dot-dot", "POST", "/_fp/p/..%2f..%2fapi/event", "", event, 0},
		{"dot-dot", "POST", "/_fp/p/api/../../admin", "", event, 0},
		{"scheme-relative path", "POST", "/_fp/p//" + otherHost + "/api/event", "", event, 0},
		{"encoded slashes", "POST", "/_fp/p/%2f%2f" + otherHost + "%2fapi/event", "", event, 0},
		{"backslash", "POST", `/_fp/p/\\` + otherHost + `/api/event`, "", event, 0},
		{"unknown path", "GET", "/_fp/p/admin", "", "", 0},
		{"custom unknown path", "GET", "/_fp/c/collect/../../" + otherHost, "", "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			r := httptest.NewRequest(tt.method, "https://shop.example/", body)
			u, err := url.Parse(tt.target)
			if err != nil {
				t.Fatal(err)
			}
			r.URL = u
			if tt.host != "" {
				r.Host = tt.host
			}
			call(t, h, r)
			got := v.take()
			if len(got) != tt.forwarded {
				t.Fatalf("vendor got %d requests, want %d", len(got), tt.forwarded)
			}
			for _, g := range got {
				if strings.Contains(g.url, "169.254") || strings.Contains(g.url, otherHost) || (g.url != "/api/event" && g.url != "/collect?e=1") {
					t.Errorf("forwarded %s", g.url)
				}
			}
		})
	}
	// A vendor that redirects (to the admin API) is not followed, for
	// calls and for scripts.
	r := httptest.NewRequest("POST", "https://shop.example/_fp/u/api/send", strings.NewReader(`{"type":"event","payload":{"website":"abc","url":"/"}}`))
	call(t, h, r)
	r = httptest.NewRequest("GET", "https://shop.example/_fp/u/script.js", nil)
	if rec := call(t, h, r); rec.Code != http.StatusBadGateway {
		t.Errorf("redirected script: %d", rec.Code)
	}
	elsewhere.Range(func(k, _ any) bool {
		t.Errorf("a request reached another host: %s", k)
		return true
	})
	// A public vendor host that resolves to loopback is refused: the
	// builtin profile's guarded client, pointed at the stub as a DNS
	// answer would.
	g := proxyHandler(t, Proxy{Profile: "plausible", Prefix: "/_fp/p", Consent: "exempt"})
	px := g.proxies[0]
	stub, _ := url.Parse(v.srv.URL)
	px.collect, px.script = stub, stub
	r = httptest.NewRequest("POST", "https://shop.example/_fp/p/api/event", strings.NewReader(event))
	call(t, g, r)
	r = httptest.NewRequest("GET", "https://shop.example/_fp/p/js/script.js", nil)
	if rec := call(t, g, r); rec.Code != http.StatusBadGateway {
		t.Errorf("guarded script: %d", rec.Code)
	}
	if got := v.take(); len(got) != 0 {
		t.Errorf("a public vendor host resolving to loopback was reached: %v", got)
	}
}

// TestProxyBadInput: every bad call is dropped, nothing is forwarded, and
// nothing panics.
func TestProxyBadInput(t *testing.T) {
	v := newStubVendor(t)
	h := proxyHandler(t, Proxy{Profile: "ga4", Prefix: "/_fp/ga", Upstream: v.srv.URL, IDs: []string{"G-TEST1"}, Consent: "exempt"},
		Proxy{Profile: "plausible", Prefix: "/_fp/p", Upstream: v.srv.URL, Consent: "exempt"},
		Proxy{Profile: "posthog", Prefix: "/_fp/ph", Upstream: v.srv.URL, IDs: []string{"phc_K"}, RateLimit: 60})
	var many strings.Builder
	many.WriteString("v=2&tid=G-TEST1")
	for i := range 10001 {
		fmt.Fprintf(&many, "&p%d=1", i)
	}
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zw.Write(bytes.Repeat([]byte{' '}, 64<<20))
	zw.Close()
	event := `{"n":"pageview","u":"https://shop.example/","d":"shop.example"}`
	for _, tt := range []struct {
		name, method, target, body string
		header                     map[string]string
		status                     int
	}{
		{"10,001 parameters", "GET", "/_fp/ga/g/collect?" + many.String(), "", nil, 204},
		{"duplicate parameter", "GET", "/_fp/ga/g/collect?v=2&tid=G-TEST1&tid=G-OTHER&cid=1.2", "", nil, 204},
		{"duplicate client id", "GET", "/_fp/ga/g/collect?v=2&tid=G-TEST1&cid=1.2&cid=3.4", "", nil, 204},
		{"foreign measurement id", "GET", "/_fp/ga/g/collect?v=2&tid=G-OTHER&cid=1.2", "", nil, 204},
		{"no measurement id", "GET", "/_fp/ga/g/collect?v=2&cid=1.2", "", nil, 204},
		{"bad escape", "GET", "/_fp/ga/g/collect?v=2&tid=G-TEST1&dt=%zz", "", nil, 204},
		{"oversized value", "GET", "/_fp/ga/g/collect?v=2&tid=G-TEST1&dt=" + strings.Repeat("a", 9000), "", nil, 204},
		{"oversized body", "POST", "/_fp/p/api/event", strings.Repeat(" ", 70000) + event, nil, 413},
		{"gzip bomb", "POST", "/_fp/ph/e/?compression=gzip-js", bomb.String(), map[string]string{"Cookie": granted()}, 413},
		{"unknown compression", "POST", "/_fp/ph/e/?compression=lz64", "abc", map[string]string{"Cookie": granted()}, 204},
		{"not base64", "POST", "/_fp/ph/e/?compression=base64", "data=%%%", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Cookie": granted()}, 204},
		{"duplicate JSON key", "POST", "/_fp/p/api/event", `{"n":"pageview","u":"https://shop.example/","d":"shop.example","d":"evil.example"}`, nil, 204},
		{"nested duplicate JSON key", "POST", "/_fp/ph/e/", `[{"event":"x","properties":{"token":"phc_K","distinct_id":"a","distinct_id":"b"}}]`, map[string]string{"Cookie": granted()}, 204},
		{"malformed JSON", "POST", "/_fp/p/api/event", `{"n":"pageview",`, nil, 204},
		{"trailing JSON", "POST", "/_fp/p/api/event", event + `{"n":"x"}`, nil, 204},
		{"wrong JSON types", "POST", "/_fp/p/api/event", `{"n":["pageview"],"u":1,"d":true}`, nil, 204},
		{"deep JSON", "POST", "/_fp/ph/e/", strings.Repeat("[", 100) + strings.Repeat("]", 100), map[string]string{"Cookie": granted()}, 204},
		{"bad page URL", "POST", "/_fp/p/api/event", `{"n":"pageview","u":"javascript:alert(1)","d":"shop.example"}`, nil, 204},
		{"bad domain", "POST", "/_fp/p/api/event", `{"n":"pageview","u":"https://shop.example/","d":"shop.example\r\nX: y"}`, nil, 204},
		{"unknown content encoding", "POST", "/_fp/p/api/event", event, map[string]string{"Content-Encoding": "br"}, 204},
		{"method", "PUT", "/_fp/p/api/event", event, nil, 405},
		{"foreign project key", "POST", "/_fp/ph/e/", `{"event":"x","properties":{"token":"phc_OTHER","distinct_id":"a"}}`, map[string]string{"Cookie": granted()}, 204},
		{"mixed project keys", "POST", "/_fp/ph/batch/", `{"api_key":"phc_K","batch":[{"event":"x","properties":{"token":"phc_OTHER"}}]}`, map[string]string{"Cookie": granted()}, 204},
		{"no consent", "POST", "/_fp/ph/e/", `{"event":"x","properties":{"token":"phc_K","distinct_id":"a"}}`, nil, 204},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			r := httptest.NewRequest(tt.method, "https://shop.example"+tt.target, body)
			for k, val := range tt.header {
				r.Header.Set(k, val)
			}
			rec := call(t, h, r)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			if got := v.take(); len(got) != 0 {
				t.Errorf("forwarded: %+v", got)
			}
		})
	}
	// Header injection: values reach the vendor only rebuilt and encoded.
	r := httptest.NewRequest("GET", "https://shop.example/_fp/ga/g/collect?v=2&tid=G-TEST1&en=x%0d%0aX-Injected:%201&dt=a%0aSet-Cookie:%20b", nil)
	r.Header["User-Agent"] = []string{"Mozilla/5.0 Chrome/120.0\r\nX-Injected: 1"}
	call(t, h, r)
	got := v.take()
	if len(got) != 1 {
		t.Fatalf("vendor got %d requests", len(got))
	}
	if got[0].header.Get("X-Injected") != "" || got[0].header.Get("Set-Cookie") != "" || strings.ContainsAny(got[0].url, "\r\n") {
		t.Errorf("injected: %s %v", got[0].url, got[0].header)
	}
	// Rate limit: a client address that floods gets 429s, and nothing more
	// is forwarded.
	limited := 0
	for range 100 {
		r := httptest.NewRequest("POST", "https://shop.example/_fp/ph/e/", strings.NewReader(`{"event":"x","properties":{"token":"phc_K","distinct_id":"a"}}`))
		r.Header.Set("Cookie", granted())
		if rec := call(t, h, r); rec.Code == http.StatusTooManyRequests {
			limited++
		}
	}
	if got := len(v.take()); limited == 0 || got+limited != 100 || got > 12 {
		t.Errorf("rate limit: %d limited, %d forwarded", limited, got)
	}
}

func TestCaddyfileProxy(t *testing.T) {
	var h Handler
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`firstparty {
	proxy plausible /_fp/plausible {
		upstream https://stats.example.org
		ip truncate
		consent exempt
		rotate 12h
	}
	proxy ga4 /_fp/ga {
		id G-ABC123 GTM-XYZ9
		client_ids drop
		query_params q page
		rate_limit off
		max_body 32KiB
		timeout 5s
	}
	proxy custom /_fp/stats {
		upstream http://10.0.0.5:8000
		path /collect /batch
		script /s.js
		param e url
		id_param vid
	}
}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Proxy{
		{Profile: "plausible", Prefix: "/_fp/plausible", Upstream: "https://stats.example.org", IP: "truncate", Consent: "exempt", Rotate: caddy.Duration(12 * time.Hour)},
		{Profile: "ga4", Prefix: "/_fp/ga", IDs: []string{"G-ABC123", "GTM-XYZ9"}, ClientIDs: "drop", QueryParams: []string{"q", "page"}, RateLimit: -1, MaxBody: 32 << 10, Timeout: caddy.Duration(5 * time.Second)},
		{Profile: "custom", Prefix: "/_fp/stats", Upstream: "http://10.0.0.5:8000", Paths: []string{"/collect", "/batch"}, Scripts: []string{"/s.js"}, Params: []string{"e", "url"}, IDParams: []string{"vid"}},
	}
	if !reflect.DeepEqual(h.Proxies, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v", h.Proxies, want)
	}
	if err := h.Validate(); err != nil {
		t.Errorf("validate: %v", err)
	}
	wantCaddyfileErrors(t, true, map[string]string{
		"proxy":                       "want a profile and a path prefix",
		"proxy plausible":             "want a profile and a path prefix",
		"proxy fathom /_fp/f":         `unknown profile "fathom"`,
		"proxy plausible _fp":         "must start with /",
		"proxy plausible /_fp/":       "not end with one",
		"proxy plausible /_fp/a/../b": "..",
		"proxy ga4 /_fp/ga":           "set id",
		"proxy matomo /_fp/m":         "set upstream",
		"proxy custom /_fp/c {\n upstream https://c.example\n }":         "set path",
		"proxy plausible /_fp/p {\n ip full\n }":                         `ip "full"`,
		"proxy plausible /_fp/p {\n consent never\n }":                   `consent "never"`,
		"proxy plausible /_fp/p {\n client_ids keep\n }":                 `client_ids "keep"`,
		"proxy plausible /_fp/p {\n rotate 10m\n }":                      "under the minimum",
		"proxy plausible /_fp/p {\n rotate soon\n }":                     "positive duration",
		"proxy plausible /_fp/p {\n rate_limit lots\n }":                 "rate_limit",
		"proxy plausible /_fp/p {\n max_body 1GB\n }":                    "max_body",
		"proxy plausible /_fp/p {\n upstream ftp://x\n }":                "must be an http(s) URL",
		"proxy plausible /_fp/p {\n upstream https://u:p@x.example\n }":  "no user",
		"proxy plausible /_fp/p {\n ip\n }":                              "want one value",
		"proxy plausible /_fp/p {\n ip none\n ip none\n }":               `duplicate option "ip"`,
		"proxy plausible /_fp/p {\n colour red\n }":                      `unknown proxy option "colour"`,
		"proxy plausible /_fp/p {\n path /x\n }":                         "for the custom profile",
		"proxy plausible /_fp/p {\n id bad/id\n }":                       `id "bad/id"`,
		"proxy ga4 /_fp/ga {\n id XX\n }":                                `want a measurement id (G-…)`,
		"proxy ga4 /_fp/ga {\n id G-ABC g-abc\n }":                       `id "g-abc"`,
		"proxy ga4 /_fp/ga {\n id AW-123\n }":                            `id "AW-123"`,
		"proxy plausible /_fp/p {\n consent exempt\n ip pseudonym\n }":   "consent exempt refused: ip must be none or truncate",
		"proxy plausible /_fp/p {\n consent exempt\n rotate 48h\n }":     "rotate must be 24h or less",
		"proxy plausible /_fp/p {\n consent exempt\n query_params q\n }": "query_params must be empty",
		"proxy posthog /_fp/ph {\n consent exempt\n }":                   "posthog profile",
		"proxy plausible /_fp/p\n proxy umami /_fp/p/u":                  "overlaps",
		"proxy plausible /_fp\n proxy umami /_fp":                        "overlaps",
	})
	// The runtime's path cannot be shadowed by a prefix.
	h = Handler{Proxies: []Proxy{{Profile: "plausible", Prefix: "/_fp"}}}
	if err := h.Validate(); err == nil || !strings.Contains(err.Error(), "consent runtime") {
		t.Errorf("prefix over the runtime: %v", err)
	}
}

// TestProxyKeyShared: the pseudonym key is made once in Caddy's storage;
// every instance that shares the storage reads the same key, so the same
// visitor gets the same pseudonym from each.
func TestProxyKeyShared(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	ctx := context.Background()
	var keys []*keyring
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range 4 { // instances starting together
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := loadKeyring(ctx, st)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			keys = append(keys, k)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k.key, keys[0].key) || len(k.key) != 32 {
			t.Fatalf("instances disagree on the key")
		}
	}
	now := time.Now()
	a := &proxy{cfg: Proxy{Prefix: "/_fp/ga"}, keys: keys[0], rotate: 24 * time.Hour}
	b := &proxy{cfg: Proxy{Prefix: "/_fp/ga"}, keys: keys[1], rotate: 24 * time.Hour}
	if a.pseudonym("ga", "123.456", now) != b.pseudonym("ga", "123.456", now) {
		t.Errorf("two instances give different pseudonyms")
	}
	// It rotates: the next period gives another pseudonym.
	if a.pseudonym("ga", "123.456", now) == a.pseudonym("ga", "123.456", now.Add(24*time.Hour)) {
		t.Errorf("the pseudonym does not rotate")
	}
	// A damaged key file is an error, not a silently new key.
	if err := st.Store(ctx, proxyKeyPath, []byte("not hex")); err != nil {
		t.Fatal(err)
	}
	if _, err := loadKeyring(ctx, st); err == nil {
		t.Errorf("a damaged key was accepted")
	}
}

// TestIntegrationProxy: the proxy in a real Caddy, from a Caddyfile: the
// key lands in Caddy's storage and survives a reload, a page's vendor
// script is pointed at the proxy, and a call is forwarded clean.
func TestIntegrationProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("integration tests start a real Caddy; skipped with -short")
	}
	v := newStubVendor(t)
	v.script = `var api="https://plausible.io/api/event";`
	storage := t.TempDir()
	up := origin()
	defer up.Close()
	config := testGlobals(itPort)[:len(testGlobals(itPort))-2] + fmt.Sprintf(`	storage file_system %s
}
http://localhost:%d {
	firstparty {
		proxy plausible /_fp/p {
			upstream %s
			ip truncate
		}
		proxy ga4 /_fp/ga {
			id G-1
		}
	}
	reverse_proxy %s
}
`, storage, itPort, v.srv.URL, strings.TrimPrefix(up.URL, "http://"))
	tc := caddytest.NewTester(t)
	tc.InitServer(config, "caddyfile")
	key, err := os.ReadFile(filepath.Join(storage, "firstparty", "proxy", "pseudonym.key"))
	if err != nil || len(key) != 64 {
		t.Fatalf("no pseudonym key in Caddy's storage: %v", err)
	}
	_, body := itGet(t, tc, "/plain")
	if !strings.Contains(body, `data-fp-src="/_fp/ga/gtag/js?id=G-1"`) {
		t.Errorf("page script not pointed at the proxy: %s", body)
	}
	_, js := itGet(t, tc, "/_fp/p/js/script.js")
	if js != `var api="/_fp/p/api/event";` {
		t.Errorf("served script %q", js)
	}
	post := func() recorded {
		req, _ := http.NewRequest("POST", fmt.Sprintf("http://localhost:%d/_fp/p/api/event", itPort),
			strings.NewReader(`{"n":"pageview","u":"https://shop.example/a?x=1","d":"shop.example"}`))
		req.Header.Set("Cookie", granted()+"; session=s3cr3t")
		resp, err := tc.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 || resp.Header.Get("Set-Cookie") != "" {
			t.Fatalf("call: %d %v", resp.StatusCode, resp.Header)
		}
		got := v.take()
		if len(got) != 2 && len(got) != 1 {
			t.Fatalf("vendor got %d requests", len(got))
		}
		return got[len(got)-1]
	}
	v.take()
	g := post()
	if string(g.body) != `{"d":"shop.example","n":"pageview","u":"https://shop.example/a"}` || g.header.Get("Cookie") != "" || g.header.Get("X-Forwarded-For") != "127.0.0.0" {
		t.Errorf("forwarded %s %v", g.body, g.header)
	}
	// A reload keeps the key.
	tc.InitServer(config, "caddyfile")
	again, _ := os.ReadFile(filepath.Join(storage, "firstparty", "proxy", "pseudonym.key"))
	if !bytes.Equal(key, again) {
		t.Errorf("the key changed across a reload")
	}
}

// FuzzProxyCall sends any query and body to each profile's collection
// path: no panic, and what is forwarded is well-formed and carries no
// cookie, no address header and no email from the input.
func FuzzProxyCall(f *testing.F) {
	for _, s := range []struct{ path, query, body string }{
		{"/g/collect", "v=2&tid=G-TEST1&cid=1.2&dl=https%3A%2F%2Fshop.example%2F%3Fa%3Db", "en=x&ep.a=b\nen=y"},
		{"/api/event", "", `{"n":"pageview","u":"https://shop.example/","d":"shop.example","p":{"a":"b"}}`},
		{"/matomo.php", "idsite=1&rec=1&_id=0123456789abcdef", `{"requests":["?idsite=1&rec=1"]}`},
		{"/api/send", "", `{"type":"event","payload":{"website":"w","url":"/a?b=c","data":{"k":1}}}`},
		{"/e/", "compression=base64", `W3siZXZlbnQiOiJ4IiwicHJvcGVydGllcyI6eyJ0b2tlbiI6InBoY19LIn19XQ==`},
		{"/decide/", "v=3", `{"token":"phc_K","distinct_id":"a@b.example"}`},
	} {
		f.Add(s.path, s.query, []byte(s.body))
	}
	v := newStubVendor(f)
	var hs []*Handler
	for _, p := range []Proxy{
		{Profile: "ga4", Prefix: "/_fp/v", Upstream: v.srv.URL, IDs: []string{"G-TEST1"}, Consent: "exempt", RateLimit: -1, IP: "truncate"},
		{Profile: "plausible", Prefix: "/_fp/v", Upstream: v.srv.URL, Consent: "exempt", RateLimit: -1},
		{Profile: "matomo", Prefix: "/_fp/v", Upstream: v.srv.URL, Consent: "exempt", RateLimit: -1},
		{Profile: "umami", Prefix: "/_fp/v", Upstream: v.srv.URL, Consent: "exempt", RateLimit: -1},
		{Profile: "posthog", Prefix: "/_fp/v", Upstream: v.srv.URL, RateLimit: -1, IP: "pseudonym"},
	} {
		h := &Handler{Proxies: []Proxy{p}}
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		defer cancel()
		if err := h.Provision(ctx); err != nil {
			f.Fatal(err)
		}
		h.logger = zap.NewNop()
		for _, px := range h.proxies {
			px.logger = zap.NewNop()
		}
		hs = append(hs, h)
	}
	f.Fuzz(func(t *testing.T, path, query string, body []byte) {
		for _, h := range hs {
			u := &url.URL{Path: "/_fp/v" + path, RawQuery: query}
			r := httptest.NewRequest("POST", "https://shop.example/", bytes.NewReader(body))
			r.URL = u
			r.Header.Set("Cookie", granted()+"; session=CANARYCOOKIE")
			r.Header.Set("X-Forwarded-For", "198.51.100.77")
			r.RemoteAddr = "198.51.100.77:1"
			rec := httptest.NewRecorder()
			_ = h.ServeHTTP(rec, r, caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil }))
			for _, g := range v.take() {
				all := g.url + string(g.body)
				for k := range g.header {
					all += k + ":" + g.header.Get(k)
				}
				if strings.Contains(all, "CANARYCOOKIE") || strings.Contains(all, "198.51.100.77") || g.header.Get("Cookie") != "" {
					t.Fatalf("forwarded an identifier: %s %v %s", g.url, g.header, g.body)
				}
				if len(g.body) > 0 && (g.body[0] == '{' || g.body[0] == '[') && !json.Valid(g.body) {
					t.Fatalf("forwarded invalid JSON: %s", g.body)
				}
			}
		}
	})
}

// TestProxyLogsNoVisitorData: a failed call is logged by its path and
// cause only, never with the query it would have sent.
func TestProxyLogsNoVisitorData(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close() // nothing listens: the call fails
	h := proxyHandler(t, Proxy{Profile: "ga4", Prefix: "/_fp/ga", Upstream: closed, IDs: []string{"G-TEST1"}, Consent: "exempt"})
	core, logs := observer.New(zapcore.DebugLevel)
	h.proxies[0].logger = zap.New(core)
	r := httptest.NewRequest("GET", "https://shop.example/_fp/ga/g/collect?v=2&tid=G-TEST1&cid=555.666&dl=https%3A%2F%2Fshop.example%2Fsecret-page", nil)
	if rec := call(t, h, r); rec.Code != http.StatusNoContent {
		t.Errorf("status %d", rec.Code)
	}
	// The vendor's script, which the proxy fetches with the ids in its
	// query, fails the same way.
	r = httptest.NewRequest("GET", "https://shop.example/_fp/ga/gtag/js?id=G-TEST1", nil)
	if rec := call(t, h, r); rec.Code != http.StatusBadGateway {
		t.Errorf("script: status %d", rec.Code)
	}
	if logs.Len() < 2 {
		t.Fatalf("the failures were not logged: %d entries", logs.Len())
	}
	for _, e := range logs.All() {
		all := e.Message
		for k, v := range e.ContextMap() {
			all += fmt.Sprintf(" %s=%v", k, v)
		}
		if strings.Contains(all, "cid") || strings.Contains(all, "secret-page") || strings.Contains(all, "tid=") || strings.Contains(all, "id=G-TEST1") {
			t.Errorf("logged visitor data: %s", all)
		}
	}
}

// TestTextCap: free text is cut at 300 bytes before the character that
// crosses the cap, never inside one.
func TestTextCap(t *testing.T) {
	for in, want := range map[string]string{
		strings.Repeat("é", 200):       strings.Repeat("é", 150),       // the cap falls between two
		"a" + strings.Repeat("é", 200): "a" + strings.Repeat("é", 149), // the cap falls inside one
		"short title":                  "short title",
	} {
		if got := text(in); got != want {
			t.Errorf("text(%.20q…) = %d bytes, want %d", in, len(got), len(want))
		}
	}
}

// TestEndpointRewriterNonASCII checks the vendor host found in a script's
// string after bytes that lower-case to another length: it was looked for
// in a lower-cased copy and cut from the string at that index, which put
// the prefix in the wrong place or panicked.
func TestEndpointRewriterNonASCII(t *testing.T) {
	h := proxyHandler(t, Proxy{Profile: "plausible", Prefix: "/_fp/p", Consent: "exempt"})
	rw := h.proxies[0].endpointRewriter("shop.example")
	for in, want := range map[string]string{
		"https://plausible.io/api/event":                "/_fp/p/api/event",
		"\xff\xfe\xfdhttps://PLAUSIBLE.io/api/event":    "\xff\xfe\xfd/_fp/p/api/event",
		"İİİ //plausible.io/js/script.js":               "İİİ /_fp/p/js/script.js",
		"\xc7\xc7\xc7\xc7\xc7\xc7 https://plausible.io": "\xc7\xc7\xc7\xc7\xc7\xc7 /_fp/p",
	} {
		got, changed := rw(in)
		if got != want || !changed {
			t.Errorf("%q: %q (changed %v), want %q", in, got, changed, want)
		}
	}
}
