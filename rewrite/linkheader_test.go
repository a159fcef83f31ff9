package rewrite

import (
	"bytes"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestFilterLinkHeader(t *testing.T) {
	p := trackerPolicy(Defer)
	for _, c := range []struct {
		in, want []string
		dropped  int
	}{
		{[]string{`</app.css>; rel=preload; as=style`}, []string{`</app.css>; rel=preload; as=style`}, 0},
		{[]string{`<https://tracker.example>; rel=preconnect`}, nil, 1},
		{[]string{`</a.js>; rel=modulepreload, <https://tracker.example/x.js>; rel="preload"; as=script, <https://cdn.ok.example/f.woff2>; rel=preload`},
			[]string{`</a.js>; rel=modulepreload, <https://cdn.ok.example/f.woff2>; rel=preload`}, 1},
		{[]string{`<//TRACKER.example.>; rel="dns-prefetch"`, `<https://x.example/a,b>; rel=canonical`},
			[]string{`<https://x.example/a,b>; rel=canonical`}, 1},
		{[]string{`<https://tracker.example/p>; rel=author`}, []string{`<https://tracker.example/p>; rel=author`}, 0},
		{[]string{`https://tracker.example; rel=preconnect`}, nil, 1},
		{[]string{`<https://tracker.example/a.css>; title="x, y"; rel=stylesheet`}, nil, 1},
	} {
		got, n := FilterLinkHeader(c.in, pageURL, p, nil)
		if !slices.Equal(got, c.want) || n != c.dropped {
			t.Errorf("%q:\n got %q (%d dropped)\nwant %q (%d)", c.in, got, n, c.want, c.dropped)
		}
	}
	if got, _ := FilterLinkHeader([]string{`<https://tracker.example>; rel=preconnect`}, pageURL, nil, nil); len(got) != 1 {
		t.Errorf("no policy changed the header: %q", got)
	}
}

func TestCSPNonceFromMeta(t *testing.T) {
	if CSPNonce("default-src 'self'; script-src 'nonce-r4nd' 'strict-dynamic'") != "r4nd" || CSPNonce("script-src 'sha256-abc'") != "" || CSPNonce("script-src 'nonce-'") != "" {
		t.Error("CSPNonce")
	}
	page := `<html><head><meta http-equiv="Content-Security-Policy" content="script-src 'nonce-m3ta'"><script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script></head></html>`
	var out bytes.Buffer
	w := NewWriter(&out, Options{Policy: PolicyFunc(func(_ *url.URL, r *Resource) Decision {
		if r.URL != nil && r.URL.Host != "shop.example" {
			return Decision{Action: Defer, Category: "analytics", Host: r.URL.Host}
		}
		return Decision{}
	}), PageURL: &url.URL{Scheme: "https", Host: "shop.example", Path: "/"}, Token: "t", Loader: func(token, nonce string) []byte {
		return []byte(`<script src="/_fp/consent.js" nonce="` + nonce + `"></script>`)
	}})
	w.Write([]byte(page))
	w.Close()
	if !strings.Contains(out.String(), `<script src="/_fp/consent.js" nonce="m3ta">`) {
		t.Errorf("loader without the meta CSP nonce: %s", out.String())
	}
}
