package caddymodule

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// tokenRE matches the per-response token, which differs between responses.
var tokenRE = regexp.MustCompile(`data-fp-token="[0-9a-f]+"`)

func encodeWith(t *testing.T, coding string, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	var w io.WriteCloser
	switch coding {
	case "gzip":
		w = gzip.NewWriter(&out)
	case "deflate":
		w, _ = zlib.NewWriterLevel(&out, zlib.BestSpeed)
	case "raw-deflate":
		w, _ = flate.NewWriter(&out, flate.BestSpeed)
	case "br":
		w = brotli.NewWriter(&out)
	case "zstd":
		w, _ = zstd.NewWriter(&out)
	default:
		t.Fatalf("no encoder for %s", coding)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// serveCoded serves body with the given Content-Encoding, in 100-byte writes.
func serveCoded(h *Handler, ct, ce string, body []byte) *httptest.ResponseRecorder {
	return serve(h, httptest.NewRequest("GET", "http://shop.example/", nil), func(w http.ResponseWriter, r *http.Request) {
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.Header().Set("Content-Encoding", ce)
		w.Header().Set("Content-Length", "12345")
		for len(body) > 0 {
			n := min(100, len(body))
			w.Write(body[:n])
			body = body[n:]
		}
	})
}

func TestServeCompressedUpstream(t *testing.T) {
	h := provisioned(t, &Handler{})
	big := strings.Replace(page, "<p>hi</p>", strings.Repeat("<p>some text of the shop</p>\n", 2000), 1)
	want := serve(h, httptest.NewRequest("GET", "http://shop.example/", nil), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, big)
	}).Body.String()
	want = tokenRE.ReplaceAllString(want, "TOKEN")
	if !strings.Contains(want, `type="text/plain"`) {
		t.Fatalf("plain page not rewritten: %.300s", want)
	}
	for _, tt := range []struct {
		header string
		stack  []string // applied in order
	}{
		{"gzip", []string{"gzip"}},
		{"x-gzip", []string{"gzip"}},
		{"deflate", []string{"deflate"}},
		{"deflate", []string{"raw-deflate"}},
		{"br", []string{"br"}},
		{"zstd", []string{"zstd"}},
		{"gzip, br", []string{"gzip", "br"}},
		{"identity, zstd", []string{"zstd"}},
	} {
		body := []byte(big)
		for _, c := range tt.stack {
			body = encodeWith(t, c, body)
		}
		for _, ct := range []string{"text/html; charset=utf-8", ""} {
			rec := serveCoded(h, ct, tt.header, body)
			if rec.Code != 200 || tokenRE.ReplaceAllString(rec.Body.String(), "TOKEN") != want {
				t.Errorf("%s %v (Content-Type %q): status %d, output differs from the plain page's (%d vs %d bytes)", tt.header, tt.stack, ct, rec.Code, rec.Body.Len(), len(want))
			}
			if rec.Header().Get("Content-Encoding") != "" || rec.Header().Get("Content-Length") != "" {
				t.Errorf("%s: headers %v", tt.header, rec.Header())
			}
		}
	}
}

func TestServeCompressedFailClosed(t *testing.T) {
	h := provisioned(t, &Handler{MaxDecodedSize: 10 << 10})
	// Not HTML: passes encoded and untouched.
	img := encodeWith(t, "gzip", bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 1000))
	rec := serveCoded(h, "image/png", "gzip", img)
	if !bytes.Equal(rec.Body.Bytes(), img) || rec.Header().Get("Content-Encoding") != "gzip" {
		t.Errorf("encoded non-HTML changed")
	}
	// A 304 has no body: nothing to decode, headers untouched.
	rec = serve(h, httptest.NewRequest("GET", "http://shop.example/", nil), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusNotModified)
	})
	if rec.Code != http.StatusNotModified || rec.Header().Get("Content-Encoding") != "gzip" || rec.Body.Len() != 0 {
		t.Errorf("304: %d %v %q", rec.Code, rec.Header(), rec.Body.String())
	}
	// Corrupt data: nothing decoded, a 502.
	before := testutil.ToFloat64(metrics.failClosed.WithLabelValues("decode_error"))
	rec = serveCoded(h, "text/html", "gzip", []byte("\x1f\x8b\x08\x00garbage<script src=https://t.example/a.js></script>"))
	if rec.Code != http.StatusBadGateway || strings.Contains(rec.Body.String(), "t.example") {
		t.Errorf("corrupt gzip: %d %q", rec.Code, rec.Body.String())
	}
	if testutil.ToFloat64(metrics.failClosed.WithLabelValues("decode_error")) != before+1 {
		t.Error("decode error not counted")
	}
	// A bomb: 100 MB of zeros behind a tracker, cut at the 10 KiB cap.
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	io.WriteString(zw, "<html><body>")
	zw.Write(make([]byte, 100<<20))
	io.WriteString(zw, `<script src="https://t.example/a.js"></script>`)
	zw.Close()
	before = testutil.ToFloat64(metrics.failClosed.WithLabelValues("decoded_size_cap"))
	rec = serveCoded(h, "text/html", "gzip", bomb.Bytes())
	if rec.Body.Len() > 11<<10 || strings.Contains(rec.Body.String(), "t.example") {
		t.Errorf("bomb not cut at the cap: %d bytes", rec.Body.Len())
	}
	if testutil.ToFloat64(metrics.failClosed.WithLabelValues("decoded_size_cap")) != before+1 {
		t.Error("cap not counted")
	}
}
