package caddymodule

import (
	_ "embed"
	"net/http"
)

//go:embed assets/consent.js
var consentJS []byte

// serveRuntime serves the consent runtime.
func serveRuntime(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(consentJS)
}
