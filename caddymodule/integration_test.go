package caddymodule

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// The integration tests run a real Caddy in this process (caddytest), with
// firstparty in front of reverse_proxy and real upstream servers.

const itPort = 9080

// testGlobals is the global options block of the tests' Caddy, serving
// HTTP on port.
func testGlobals(port int) string {
	return fmt.Sprintf(`{
	admin localhost:2999
	http_port %d
	https_port 9443
	grace_period 1s
	skip_install_trust
}
`, port)
}

func itConfig(upstream, firstparty string) string {
	return testGlobals(itPort) + fmt.Sprintf(`http://localhost:%d {
	%s
	reverse_proxy %s {
		flush_interval -1
	}
}
`, itPort, firstparty, strings.TrimPrefix(upstream, "http://"))
}

// itLongPage is long enough for encode to compress, with a tracker in the
// head: the rewriter writes the page up to <head> first, a few bytes.
var itLongPage = `<!doctype html><html><head><title>t</title><script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script></head><body>` +
	strings.Repeat("<p>A product, described at some length.</p>\n", 150) + `</body></html>`

const itPage = `<!doctype html><html><head><script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script></head><body><p>shop</p></body></html>`

// origin is the upstream for the integration tests; each path is one
// shape of response.
func origin() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/plain", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Accept-Ranges", "bytes")
		io.WriteString(w, itPage)
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		// An upstream that compresses although asked for identity.
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		io.WriteString(zw, itPage)
		zw.Close()
	})
	for _, coding := range []string{"br", "zstd"} {
		var buf bytes.Buffer
		var zw io.WriteCloser
		if coding == "br" {
			zw = brotli.NewWriter(&buf)
		} else {
			zw, _ = zstd.NewWriter(&buf)
		}
		io.WriteString(zw, itPage)
		zw.Close()
		body := buf.Bytes()
		mux.HandleFunc("/"+coding, func(w http.ResponseWriter, r *http.Request) {
			// Compressed although asked for identity, sent in flushed chunks.
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Encoding", coding)
			rc := http.NewResponseController(w)
			for i := 0; i < len(body); i += 16 {
				w.Write(body[i:min(i+16, len(body))])
				rc.Flush()
			}
		})
	}
	mux.HandleFunc("/ranged", func(w http.ResponseWriter, r *http.Request) {
		// An upstream that answers Range requests, as file_server does.
		w.Header().Set("Content-Type", "text/html")
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(itPage))
	})
	mux.HandleFunc("/ranged.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(`var s="https://www.googletagmanager.com/gtag/js"`))
	})
	mux.HandleFunc("/csp-hash", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Security-Policy", "script-src 'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='")
		io.WriteString(w, itPage)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<!doctype html><html><head><title>slow</title></head><body><p>first part</p>`)
		http.NewResponseController(w).Flush()
		time.Sleep(1500 * time.Millisecond)
		io.WriteString(w, `<script src="https://connect.facebook.net/en_US/fbevents.js"></script><p>last part</p></body></html>`)
	})
	mux.HandleFunc("/long", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, itLongPage)
	})
	mux.HandleFunc("/csp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Security-Policy", "script-src 'self' 'nonce-abc123'")
		io.WriteString(w, itPage)
	})
	mux.HandleFunc("/data.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"src":"https://www.googletagmanager.com/gtag/js"}`)
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		bw := bufio.NewWriterSize(w, 64<<10)
		bw.WriteString("<!doctype html><html><head></head><body>")
		chunk := strings.Repeat("<p>a line of the catalogue, with <a href=\"/p/1\">a link</a></p>\n", 100) +
			`<img src="https://www.facebook.com/tr?id=1&ev=PageView&noscript=1">` + "\n"
		for n := 0; n < hugeSize; n += len(chunk) {
			if _, err := bw.WriteString(chunk); err != nil {
				return
			}
		}
		bw.WriteString("</body></html>")
		bw.Flush()
	})
	return httptest.NewServer(mux)
}

const hugeSize = 1 << 30

func itGet(t *testing.T, tc *caddytest.Tester, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://localhost:%d%s", itPort, path), nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := tc.Client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading: %v", path, err)
	}
	return resp, string(b)
}

// The consent placeholders reach the rest of the config.
func TestIntegrationConsentPlaceholders(t *testing.T) {
	if testing.Short() {
		t.Skip("integration tests start a real Caddy; skipped with -short")
	}
	tc := caddytest.NewTester(t)
	tc.InitServer(testGlobals(itPort)+fmt.Sprintf(`http://localhost:%d {
	firstparty
	respond "analytics={firstparty.consent.analytics} advertising={firstparty.consent.advertising} gpc={firstparty.consent.gpc}"
}
`, itPort), "caddyfile")
	now := time.Now().Unix()
	for _, c := range []struct{ cookie, gpc, want string }{
		{"", "", "analytics=denied advertising=denied gpc=0"},
		{fmt.Sprintf("fp_consent=1.%d.%d.*-a", now, now), "", "analytics=granted advertising=granted gpc=0"},
		{fmt.Sprintf("fp_consent=1.%d.%d.*-a", now, now), "1", "analytics=granted advertising=denied gpc=1"},
		{fmt.Sprintf("fp_consent=1.%d.%d.*-a; fp_consent=1.%d.%d.*-a", now, now, now, now), "", "analytics=denied advertising=denied gpc=0"},
	} {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://localhost:%d/", itPort), nil)
		if c.cookie != "" {
			req.Header.Set("Cookie", c.cookie)
		}
		if c.gpc != "" {
			req.Header.Set("Sec-GPC", c.gpc)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != c.want {
			t.Errorf("cookie %q gpc %q: %q, want %q", c.cookie, c.gpc, body, c.want)
		}
	}
}

func TestIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("integration tests start a real Caddy; skipped with -short")
	}
	up := origin()
	defer up.Close()
	tc := caddytest.NewTester(t)
	tc.InitServer(itConfig(up.URL, "firstparty"), "caddyfile")

	deferred := `data-fp-src="https://www.googletagmanager.com/gtag/js?id=G-1"`
	t.Run("plain", func(t *testing.T) {
		resp, body := itGet(t, tc, "/plain")
		if resp.StatusCode != 200 || !strings.Contains(body, deferred) || !strings.Contains(body, `<script src="/_fp/consent.js?v=`) {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
		if et := resp.Header.Get("ETag"); resp.Header.Get("Accept-Ranges") != "" || !strings.HasPrefix(et, `W/"v1-fp`) || len(et) != len(`W/"v1-fp`)+tagLen+1 {
			t.Errorf("headers: %v", resp.Header)
		}
	})
	t.Run("gzip upstream", func(t *testing.T) {
		resp, body := itGet(t, tc, "/gzip")
		if resp.StatusCode != 200 || !strings.Contains(body, deferred) {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("range gets the whole rewritten page", func(t *testing.T) {
		resp, body := itGet(t, tc, "/plain", "Range", "bytes=0-10")
		if resp.StatusCode != 200 || !strings.Contains(body, deferred) {
			t.Errorf("%d %q", resp.StatusCode, body)
		}
	})
	t.Run("range without an HTML accept gets the whole rewritten page", func(t *testing.T) {
		// The Range reaches the upstream, which answers 206; the partial
		// page is dropped and the whole one asked for and rewritten.
		resp, body := itGet(t, tc, "/ranged", "Range", "bytes=0-10", "Accept", "*/*")
		if resp.StatusCode != 200 || !strings.Contains(body, deferred) || resp.Header.Get("Content-Range") != "" {
			t.Errorf("%d %v %q", resp.StatusCode, resp.Header, body)
		}
		resp, body = itGet(t, tc, "/ranged.js", "Range", "bytes=0-5", "Accept", "*/*")
		if resp.StatusCode != http.StatusPartialContent || body != "var s=" {
			t.Errorf("script: %d %q", resp.StatusCode, body)
		}
	})
	t.Run("HEAD gets a GET's headers, 304 passes", func(t *testing.T) {
		req, _ := http.NewRequest("HEAD", fmt.Sprintf("http://localhost:%d/plain", itPort), nil)
		resp, err := tc.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		get, _ := itGet(t, tc, "/plain")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("ETag"), `W/"v1-fp`) || resp.Header.Get("ETag") != get.Header.Get("ETag") || resp.ContentLength != -1 || get.ContentLength != -1 {
			t.Errorf("HEAD: %d %v (%d bytes), GET's %v", resp.StatusCode, resp.Header, resp.ContentLength, get.Header)
		}
		resp, body := itGet(t, tc, "/plain", "If-None-Match", `"v1"`)
		if resp.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("304: %d %q", resp.StatusCode, body)
		}
	})
	t.Run("CSP nonce", func(t *testing.T) {
		resp, body := itGet(t, tc, "/csp")
		if !strings.Contains(body, `nonce="abc123"`) || resp.Header.Get("Content-Security-Policy") != "script-src 'self' 'nonce-abc123'" {
			t.Errorf("%v %s", resp.Header, body)
		}
	})
	t.Run("br and zstd upstreams, chunked with flushes", func(t *testing.T) {
		for _, p := range []string{"/br", "/zstd"} {
			resp, body := itGet(t, tc, p)
			if resp.StatusCode != 200 || !strings.Contains(body, deferred) || resp.Header.Get("Content-Encoding") != "" {
				t.Errorf("%s: %d %v %s", p, resp.StatusCode, resp.Header, body)
			}
		}
	})
	t.Run("hash-only CSP", func(t *testing.T) {
		// The loader is an external same-origin script, so 'self' lets it
		// run; the policy is passed on unchanged, with no nonce or
		// 'unsafe-inline' added.
		resp, body := itGet(t, tc, "/csp-hash")
		csp := resp.Header.Values("Content-Security-Policy")
		if len(csp) != 1 || csp[0] != "script-src 'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='" {
			t.Errorf("CSP changed: %q", csp)
		}
		if !strings.Contains(body, `<script src="/_fp/consent.js?v=`) || strings.Contains(body, "nonce=") || !strings.Contains(body, deferred) {
			t.Errorf("body %s", body)
		}
	})
	t.Run("non-HTML untouched", func(t *testing.T) {
		_, body := itGet(t, tc, "/data.json")
		if body != `{"src":"https://www.googletagmanager.com/gtag/js"}` {
			t.Errorf("%q", body)
		}
	})
	t.Run("slow upstream streams", func(t *testing.T) {
		start := time.Now()
		resp, err := tc.Client.Get(fmt.Sprintf("http://localhost:%d/slow", itPort))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		buf := make([]byte, 64)
		n, err := io.ReadAtLeast(resp.Body, buf, 10)
		first := time.Since(start)
		rest, _ := io.ReadAll(resp.Body)
		total := time.Since(start)
		if err != nil || first > time.Second || total < 1400*time.Millisecond {
			t.Errorf("first %d bytes after %v (err %v), whole page after %v: output did not start before the upstream ended", n, first, err, total)
		}
		if !strings.Contains(string(rest), `data-fp-src="https://connect.facebook.net/en_US/fbevents.js"`) {
			t.Errorf("late tracker not deferred: %s", rest)
		}
	})
	t.Run("encode compresses the rewritten page", func(t *testing.T) {
		// encode decides from the first write whether to compress, and a
		// rewritten page has no Content-Length: its first write must be
		// long enough (firstWriteMin).
		tc.InitServer(itConfig(up.URL, "encode gzip\n\tfirstparty"), "caddyfile")
		_, plain := itGet(t, tc, "/long")
		resp, body := itGet(t, tc, "/long", "Accept-Encoding", "gzip")
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("not compressed: %v, %d bytes", resp.Header, len(body))
		}
		zr, err := gzip.NewReader(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		token := regexp.MustCompile(`data-fp-token="[^"]*"`)
		if err != nil || token.ReplaceAllString(string(got), "") != token.ReplaceAllString(plain, "") || !strings.Contains(plain, deferred) {
			t.Errorf("decompressed body (%v) differs from the uncompressed one:\n%s\n%s", err, got, plain)
		}
		// A flush from upstream still goes out at once, compressed or not.
		start := time.Now()
		resp2, err := tc.Client.Get(fmt.Sprintf("http://localhost:%d/slow", itPort))
		if err != nil {
			t.Fatal(err)
		}
		defer resp2.Body.Close()
		if _, err := io.ReadAtLeast(resp2.Body, make([]byte, 10), 10); err != nil || time.Since(start) > time.Second {
			t.Errorf("first bytes of /slow after %v (err %v)", time.Since(start), err)
		}
	})
	t.Run("report_only", func(t *testing.T) {
		tc.InitServer(itConfig(up.URL, "firstparty {\n\t\treport_only\n\t}"), "caddyfile")
		resp, body := itGet(t, tc, "/plain")
		if body != itPage || resp.Trailer.Get("Firstparty-Report") == "" {
			t.Errorf("report_only: trailer %q, body %s", resp.Trailer.Get("Firstparty-Report"), body)
		}
	})
	t.Run("kill switch by reload, no failed request", func(t *testing.T) {
		tc.InitServer(itConfig(up.URL, "firstparty"), "caddyfile")
		var failed, rewritten, plain atomic.Int32
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					resp, err := tc.Client.Get(fmt.Sprintf("http://localhost:%d/plain", itPort))
					if err != nil {
						failed.Add(1)
						t.Logf("request failed: %v", err)
						continue
					}
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					switch {
					case err != nil || resp.StatusCode != 200:
						failed.Add(1)
						t.Logf("response failed: status %d, %v", resp.StatusCode, err)
					case string(b) == itPage:
						plain.Add(1)
					case strings.Contains(string(b), deferred):
						rewritten.Add(1)
					default:
						failed.Add(1)
						t.Logf("response neither rewritten nor plain: %.200s", b)
					}
				}
			}()
		}
		time.Sleep(300 * time.Millisecond)
		tc.InitServer(itConfig(up.URL, "firstparty {\n\t\toff\n\t}"), "caddyfile")
		time.Sleep(300 * time.Millisecond)
		close(stop)
		wg.Wait()
		if failed.Load() != 0 || rewritten.Load() == 0 || plain.Load() == 0 {
			t.Errorf("during the reload: %d failed, %d rewritten, %d passed through", failed.Load(), rewritten.Load(), plain.Load())
		}
		_, body := itGet(t, tc, "/plain")
		if body != itPage {
			t.Errorf("after the kill switch: %s", body)
		}
	})
	t.Run("1 GiB page in bounded memory", func(t *testing.T) {
		tc.InitServer(itConfig(up.URL, "firstparty"), "caddyfile")
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var peak atomic.Uint64
		done := make(chan struct{})
		go func() {
			var m runtime.MemStats
			for {
				select {
				case <-done:
					return
				case <-time.After(200 * time.Millisecond):
				}
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}()
		client := &http.Client{Timeout: 5 * time.Minute}
		resp, err := client.Get(fmt.Sprintf("http://localhost:%d/huge", itPort))
		if err != nil {
			t.Fatal(err)
		}
		// Count what arrives, and look for a live pixel across read edges.
		var n int64
		live, deferredPixels := 0, 0
		buf := make([]byte, 256<<10)
		var tail []byte
		pixel := []byte(`<img src="https://www.facebook.com/tr`)
		dpixel := []byte(`data-fp-src="https://www.facebook.com/tr`)
		for {
			k, err := resp.Body.Read(buf)
			if k > 0 {
				n += int64(k)
				win := append(tail, buf[:k]...)
				live += bytes.Count(win, pixel)
				deferredPixels += bytes.Count(win, dpixel)
				keep := min(len(win), len(dpixel)-1)
				tail = append(tail[:0], win[len(win)-keep:]...)
			}
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		close(done)
		grew := int64(peak.Load()) - int64(base.HeapInuse)
		t.Logf("1 GiB page: %d bytes out, %d pixels deferred, heap in use grew by at most %.1f MiB", n, deferredPixels, float64(grew)/(1<<20))
		if n < hugeSize || live != 0 || deferredPixels < 1000 {
			t.Errorf("huge page: %d bytes, %d live pixels, %d deferred", n, live, deferredPixels)
		}
		if grew > 64<<20 {
			t.Errorf("heap in use grew by %d MiB while streaming 1 GiB", grew>>20)
		}
	})
}

// TestIntegrationErrors checks error responses: a handler's error keeps its
// status (it was answered 200 with an empty body), and an error page from
// the site's handle_errors routes, which Caddy runs outside the handlers
// of the site's routes, is rewritten like any other page, once, even with
// a firstparty of its own; a response an error cuts short gets no error
// page after what was sent.
func TestIntegrationErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("integration tests start a real Caddy; skipped with -short")
	}
	root := t.TempDir()
	errPage := `<html><head><title>not here</title></head><body><p>ERROR PAGE</p><img src="https://www.facebook.com/tr?id=1&ev=PageView"></body></html>`
	if err := os.WriteFile(filepath.Join(root, "err.html"), []byte(errPage), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "ok.html"), []byte(itPage), 0o644); err != nil {
		t.Fatal(err)
	}
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Half a page, then the connection drops.
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", "100000")
		io.WriteString(w, `<html><head></head><body><p>first half</p>`)
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer cut.Close()
	config := func(errors string) string {
		return testGlobals(itPort) + fmt.Sprintf(`http://localhost:%d {
	firstparty
	handle /dead {
		reverse_proxy localhost:1
	}
	handle /cut {
		reverse_proxy %s
	}
	handle {
		root * %s
		file_server
	}
	%s
}
`, itPort, strings.TrimPrefix(cut.URL, "http://"), root, errors)
	}
	tc := caddytest.NewTester(t)
	deferredPixel := `data-fp-src="https://www.facebook.com/tr?id=1&ev=PageView"`

	tc.InitServer(config(""), "caddyfile")
	for path, want := range map[string]int{"/nope": 404, "/dead": 502, "/ok.html": 200} {
		if resp, _ := itGet(t, tc, path); resp.StatusCode != want {
			t.Errorf("no handle_errors, %s: status %d, want %d", path, resp.StatusCode, want)
		}
	}

	for _, inner := range []string{"", "firstparty"} {
		tc.InitServer(config(fmt.Sprintf(`handle_errors {
		%s
		root * %s
		rewrite * /err.html
		file_server
	}`, inner, root)), "caddyfile")
		for path, want := range map[string]int{"/nope": 404, "/dead": 502} {
			resp, body := itGet(t, tc, path)
			if resp.StatusCode != want || !strings.Contains(body, "ERROR PAGE") || !strings.Contains(body, deferredPixel) ||
				strings.Contains(body, `<img src="https://www.facebook.com`) || strings.Count(body, "/_fp/consent.js") != 1 {
				t.Errorf("handle_errors with %q, %s: status %d (want %d), body %s", inner, path, resp.StatusCode, want, body)
			}
		}
		// The client sees the cut (reverse_proxy aborts the response), and
		// no error page after the half that was sent.
		resp, err := tc.Client.Get(fmt.Sprintf("http://localhost:%d/cut", itPort))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if body := string(b); strings.Contains(body, "ERROR PAGE") || !strings.Contains(body, "first half") {
			t.Errorf("handle_errors with %q, a response cut short: %d %s", inner, resp.StatusCode, body)
		}
	}
}
