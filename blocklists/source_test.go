package blocklists

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type memCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *memCache) Load(_ context.Context, k string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[k]
	if !ok {
		return nil, errors.New("not found")
	}
	return b, nil
}

func (c *memCache) Store(_ context.Context, k string, v []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string][]byte{}
	}
	c.m[k] = append([]byte(nil), v...)
	return nil
}

// listServer serves whatever body holds, with an ETag of its version.
type listServer struct {
	mu      sync.Mutex
	body    string
	status  int
	version int
	gets    atomic.Int32
	cond    atomic.Int32 // conditional requests answered 304
}

func (l *listServer) set(body string, status int) {
	l.mu.Lock()
	l.body, l.status = body, status
	l.version++
	l.mu.Unlock()
}

func (l *listServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	body, status, etag := l.body, l.status, fmt.Sprintf(`"v%d"`, l.version)
	l.mu.Unlock()
	l.gets.Add(1)
	if status != 0 && status != 200 {
		http.Error(w, "broken", status)
		return
	}
	if r.Header.Get("If-None-Match") == etag {
		l.cond.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	fmt.Fprint(w, body)
}

func hostsList(prefix string, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "||%s%d.example^\n", prefix, i)
	}
	return b.String()
}

func TestSetRefresh(t *testing.T) {
	ls := &listServer{}
	ls.set(hostsList("a", 100), 200)
	srv := httptest.NewTLSServer(ls)
	defer srv.Close()
	cache := &memCache{}
	p := NewPolicy(NewDB())
	set := &Set{
		Sources: []Source{{Location: srv.URL + "/list.txt", Category: "advertising"}},
		Fetcher: &Fetcher{Client: srv.Client(), MaxBytes: 1 << 20},
		Cache:   cache,
		Policy:  p,
	}
	reports, err := set.Load(context.Background())
	if err != nil || len(reports) != 1 || reports[0].Err != nil || !reports[0].Changed {
		t.Fatalf("load: %v %+v", err, reports)
	}
	blocked := func(host string) bool { return p.DecideHost("shop.example", host).Category == "advertising" }
	if !blocked("a7.example") {
		t.Fatal("list from URL not in force")
	}
	// The digest names the copy in force: it stays through refreshes that
	// change nothing or fail, and moves with a new copy.
	first := set.Digest()
	if len(first) != 16 {
		t.Fatalf("digest %q", first)
	}
	if !set.HasURLs() {
		t.Error("a URL source not seen")
	}
	if d := set.Due(); d < time.Hour {
		t.Errorf("next refresh due in %v, want about a day", d)
	}

	// Readers decide throughout the swaps below.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				p.DecideRequest("shop.example", "https", "a1.example", "/x", "", TypeScript)
				p.DecideHost("shop.example", "b1.example")
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	step := func(name string, wantErr string, wantChanged bool) {
		t.Helper()
		rs, err := set.Refresh(context.Background(), true)
		if err != nil || len(rs) != 1 {
			t.Fatalf("%s: %v %+v", name, err, rs)
		}
		r := rs[0]
		if wantErr == "" && r.Err != nil || wantErr != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), wantErr)) {
			t.Errorf("%s: error %v, want %q", name, r.Err, wantErr)
		}
		if r.Changed != wantChanged {
			t.Errorf("%s: changed %v", name, r.Changed)
		}
	}
	step("unchanged", "", false)
	if ls.cond.Load() != 1 {
		t.Errorf("refresh was not a conditional GET")
	}
	ls.set(hostsList("a", 20), 200)
	step("truncated", "refused as truncated", false)
	ls.set("", 500)
	step("server error", "500", false)
	ls.set("<html><body>maintenance</body></html>\n<p>x</p>\n", 200)
	step("an HTML page", "the list is an HTML page", false)
	ls.set("<div>maintenance</div>\n<p>x</p>\n", 200)
	step("garbage", "no rules", false)
	ls.set(hostsList("a", 100)+strings.Repeat("x", 1<<20), 200)
	step("oversize", "over the limit", false)
	if !blocked("a7.example") {
		t.Fatal("a failed refresh replaced the last good list")
	}
	if d := set.Digest(); d != first {
		t.Errorf("digest moved from %s to %s without a new copy", first, d)
	}
	ls.set(hostsList("b", 120), 200)
	step("new list", "", true)
	if !blocked("b7.example") || blocked("a7.example") {
		t.Fatal("new list not swapped in")
	}
	second := set.Digest()
	if second == first {
		t.Errorf("digest %s stayed with a new copy", second)
	}

	// A second instance, with the upstream gone, starts from the cache.
	srv.Close()
	p2 := NewPolicy(NewDB())
	set2 := &Set{Sources: set.Sources, Fetcher: set.Fetcher, Cache: cache, Policy: p2}
	reports, err = set2.Load(context.Background())
	if err != nil || !reports[0].FromCache || p2.DecideHost("shop.example", "b7.example").Category != "advertising" {
		t.Fatalf("from cache: %v %+v", err, reports)
	}
	if d := set2.Digest(); d != second {
		t.Errorf("another instance with the same copy has digest %s, want %s", d, second)
	}
	// Without a cache, an unreachable URL is reported and left out; the
	// other lists and the base still load.
	set3 := &Set{Sources: set.Sources, Fetcher: set.Fetcher, Policy: NewPolicy(nil), Base: Builtin}
	reports, err = set3.Load(context.Background())
	if err != nil || reports[0].Err == nil {
		t.Fatalf("unreachable: %v %+v", err, reports)
	}
	if set3.Policy.DB().Len() == 0 {
		t.Error("base lost when a URL list failed")
	}
	if d := set3.Digest(); d == "" || d == second {
		t.Errorf("digest with the list left out: %q (with it: %s)", d, second)
	}
	if d := set3.Due(); d > 5*time.Minute {
		t.Errorf("failed list retried in %v, want at most 5m", d)
	}
}

func TestSetFiles(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "hosts.txt")
	os.WriteFile(f, []byte("0.0.0.0 t.example\n"), 0o644)
	p := NewPolicy(nil)
	set := &Set{Sources: []Source{{Location: f, Category: "analytics"}}, Policy: p}
	if _, err := set.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p.DecideHost("shop.example", "t.example").Category != "analytics" {
		t.Error("file list not in force")
	}
	if set.HasURLs() || set.Due() != 0 {
		t.Error("a file list taken for a URL list")
	}
	set.Sources = append(set.Sources, Source{Location: filepath.Join(dir, "missing.txt")})
	if _, err := set.Load(context.Background()); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("missing file: %v", err)
	}
	for _, s := range []Source{{Location: "http://x.example/l"}, {Location: f, Format: "xml"}, {Location: f, Category: "nope"}, {Location: "https://x.example/l", Refresh: time.Second}} {
		if err := s.Validate(); err == nil {
			t.Errorf("%+v validated", s)
		}
	}
}

func TestFetchRedirect(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "||x.example^\n") }))
	defer plain.Close()
	srv := httptest.NewTLSServer(http.RedirectHandler(plain.URL+"/l", http.StatusFound))
	defer srv.Close()
	c := srv.Client()
	c.CheckRedirect = defaultClient.CheckRedirect
	_, _, err := (&Fetcher{Client: c}).fetch(context.Background(), srv.URL, nil)
	if err == nil || !strings.Contains(err.Error(), "only https") {
		t.Errorf("redirect to http: %v", err)
	}
}

// A server's words in a fetch's error (a status line's reason, the names
// its certificate gives, a header line it could not parse) are shown
// escaped: `lists check` prints the error to a terminal.
func TestFetchErrorDisplayable(t *testing.T) {
	fetchErr := func(srv *httptest.Server, c *http.Client, url string) error {
		defer srv.Close()
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
		_, _, err := (&Fetcher{Client: c}).fetch(context.Background(), url, nil)
		return err
	}
	errs := map[string]error{}
	for name, resp := range map[string]string{
		"reason":   "HTTP/1.1 503 Busy\x1b[2J\x1b]0;title\x07\xff\r\nContent-Length: 0\r\n\r\n",
		"header":   "HTTP/1.1 200 OK\r\nX-Bad\x1b[31m: y\r\nContent-Length: 0\r\n\r\n",
		"no colon": "HTTP/1.1 200 OK\r\nnot a header\x1b[2J\r\n\r\n",
	} {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			buf.WriteString(resp)
			if err := buf.Flush(); err != nil {
				t.Error(err)
			}
		}))
		errs[name] = fetchErr(srv, srv.Client(), srv.URL)
	}
	// A certificate whose name holds an escape: the client's error names
	// it, as Go's x509 writes it, when it does not match the host.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"evil\x1b[2J.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	errs["certificate"] = fetchErr(srv, &http.Client{}, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))

	for name, err := range errs {
		if err == nil {
			t.Errorf("%s: fetched", name)
			continue
		}
		msg := err.Error()
		if !isDisplayable(msg) {
			t.Errorf("%s: %q: invalid UTF-8, or a character that is not graphic", name, msg)
		}
		if !strings.Contains(msg, `\x1b`) {
			t.Errorf("%s: %q does not show the escape it was sent", name, msg)
		}
	}
}
