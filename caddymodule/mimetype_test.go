package caddymodule

import (
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMediaType checks the Content-Type a browser takes: the examples of
// Fetch's "extract a MIME type", and values mime.ParseMediaType refuses.
func TestMediaType(t *testing.T) {
	for _, c := range []struct {
		fields           []string
		essence, charset string
		typed            bool
	}{
		// The Fetch standard's examples.
		{[]string{"text/plain;charset=gbk, text/html"}, "text/html", "", true},
		{[]string{"text/html;charset=gbk;a=b, text/html;x=y"}, "text/html", "gbk", true},
		{[]string{"text/html;charset=gbk;a=b", "text/html;x=y"}, "text/html", "gbk", true},
		{[]string{"text/html;charset=gbk", "x/x", "text/html;x=y"}, "text/html", "", true},
		{[]string{"text/html", "cannot-parse"}, "text/html", "", true},
		{[]string{"text/html", "*/*"}, "text/html", "", true},
		{[]string{"text/html", ""}, "text/html", "", true},
		// Beyond them.
		{nil, "", "", false},
		{[]string{"cannot-parse"}, "", "", false},
		{[]string{"TEXT/HTML; Charset=UTF-8"}, "text/html", "UTF-8", true},
		{[]string{"text/html, foo"}, "text/html", "", true},
		{[]string{"text/html, text/plain"}, "text/plain", "", true},
		{[]string{"text/html; charset=utf-8; charset=latin1"}, "text/html", "utf-8", true},
		{[]string{`text/html; charset="utf-16le"`}, "text/html", "utf-16le", true},
		{[]string{`text/html; x="a,b"; charset=utf-16le`}, "text/html", "utf-16le", true},
		{[]string{`text/html; charset="utf\"8", text/html`}, "text/html", `utf"8`, true},
		{[]string{"text/html;charset=gbk, text/html;charset=big5, text/html"}, "text/html", "gbk", true},
		{[]string{"text/html; charset", "text/html ; charset=  ; a=b"}, "text/html", "", true},
		{[]string{"text /html"}, "", "", false},
	} {
		hdr := http.Header{}
		for _, f := range c.fields {
			hdr.Add("Content-Type", f)
		}
		e, cs, typed := mediaType(hdr)
		if e != c.essence || cs != c.charset || typed != c.typed {
			t.Errorf("%q: %q %q %v, want %q %q %v", c.fields, e, cs, typed, c.essence, c.charset, c.typed)
		}
	}
}

// TestServeBrowserContentTypes checks that a page whose Content-Type a
// browser reads as HTML is rewritten though mime.ParseMediaType refuses
// it, that a UTF-16 charset in quotes fails closed, and that a header a
// browser reads as another type passes byte for byte.
func TestServeBrowserContentTypes(t *testing.T) {
	h := provisioned(t, &Handler{})
	const in = `<p>x</p><script src="https://connect.facebook.net/en_US/fbevents.js"></script>`
	get := func(fields ...string) *httptest.ResponseRecorder {
		return serve(h, httptest.NewRequest("GET", "http://shop.example/", nil), func(w http.ResponseWriter, r *http.Request) {
			for _, f := range fields {
				w.Header().Add("Content-Type", f)
			}
			io.WriteString(w, in)
		})
	}
	for _, fields := range [][]string{{"text/html, foo"}, {"text/plain", "text/html"}, {"text/html; charset=utf-8; charset=latin1"}, {"nonsense"}, {"application/unknown"}, {"unknown/unknown"}} {
		if rec := get(fields...); rec.Code != 200 || !strings.Contains(rec.Body.String(), `data-fp-src="https://connect.facebook.net/en_US/fbevents.js"`) {
			t.Errorf("%q: not rewritten: %d %s", fields, rec.Code, rec.Body.String())
		}
	}
	if rec := get(`text/html; charset=" utf-16le"`); rec.Code != http.StatusBadGateway {
		t.Errorf("UTF-16 named in quotes: %d %s", rec.Code, rec.Body.String())
	}
	if rec := get("text/html, text/plain"); rec.Body.String() != in {
		t.Errorf("text/plain last: changed to %s", rec.Body.String())
	}
}

// BenchmarkMediaType is the per-response cost of reading the usual
// header, beside mime.ParseMediaType on the same header (which the
// handler used before mediaType) as the baseline.
func BenchmarkMediaType(b *testing.B) {
	hdr := http.Header{"Content-Type": {"text/html; charset=utf-8"}}
	b.Run("mediaType", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			mediaType(hdr)
		}
	})
	b.Run("mime.ParseMediaType", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			mime.ParseMediaType(hdr.Get("Content-Type"))
		}
	})
}
