package rewrite

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
)

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
