package caddymodule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/firstparty/firstparty/rewrite"
)

// Vendor scripts, served from the site's own domain: fetched once by the
// server (no visitor data goes with the fetch), kept in an in-memory LRU,
// revalidated with conditional requests when stale, served stale when the
// vendor fails, and rewritten so that the endpoints inside point at the
// proxy's paths.

const (
	scriptFresh    = time.Hour      // served without asking the vendor
	scriptStaleMax = 24 * time.Hour // served stale while the vendor fails
	maxScript      = 4 << 20
)

type scriptEntry struct {
	body      []byte // rewritten
	etag      string // ours: of body
	upETag    string // the vendor's, for revalidation
	upLastMod string
	sum       string // of the vendor's bytes
	fetched   time.Time
}

type scriptCache struct {
	lru   *lru.Cache[string, *scriptEntry]
	group singleflight.Group
	mu    sync.Mutex
	sums  map[string]string // last vendor hash per script, across evictions
}

func newScriptCache() *scriptCache {
	c, _ := lru.New[string, *scriptEntry](64)
	return &scriptCache{lru: c, sums: map[string]string{}}
}

// scriptQuery is the query a script is fetched with: only the id (which
// must be configured) and GA's data layer name.
func (px *proxy) scriptQuery(r *http.Request, rt *route) (url.Values, error) {
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	out := url.Values{}
	if rt.idParam != "" {
		id, ok, err := single(q, rt.idParam)
		if err != nil || !ok || !px.ids[id] {
			return nil, dropReason("foreign_id")
		}
		out.Set(rt.idParam, id)
		if l, ok, _ := single(q, "l"); ok && jsIdent(l) {
			out.Set("l", l)
		}
	}
	return out, nil
}

func jsIdent(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// serveScript serves a vendor script from the cache.
func (px *proxy) serveScript(w http.ResponseWriter, r *http.Request, sub string, rt *route) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		px.count("method")
		w.Header().Set("Allow", "GET, HEAD")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return nil
	}
	q, err := px.scriptQuery(r, rt)
	if err != nil {
		px.count("foreign_id")
		http.Error(w, "not found", http.StatusNotFound)
		return nil
	}
	site := strings.ToLower(r.Host) // with its port: the bare-host rewrite keeps it
	if h := stripPort(site); !validHost(h) && net.ParseIP(h) == nil {
		site = ""
	}
	key := sub + "?" + q.Encode() + "|" + site
	e, err := px.cachedScript(r.Context(), key, sub, rt, q, site)
	if err != nil {
		px.count("upstream_error")
		px.logger.Warn("vendor script unavailable", zap.String("script", sub), zap.Error(causeOf(err)))
		http.Error(w, "script unavailable", http.StatusBadGateway)
		return nil
	}
	px.count("script")
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("ETag", e.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, e.etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := w.Write(e.body); err != nil {
		return fmt.Errorf("writing vendor script: %w", err)
	}
	return nil
}

// script returns the cached script, fetching or revalidating it (once for
// all concurrent requests) when missing or stale.
func (px *proxy) cachedScript(ctx context.Context, key, sub string, rt *route, q url.Values, site string) (*scriptEntry, error) {
	e, ok := px.scripts.lru.Get(key)
	if ok && time.Since(e.fetched) < scriptFresh {
		return e, nil
	}
	v, err, _ := px.scripts.group.Do(key, func() (any, error) {
		ne, err := px.fetchScript(context.WithoutCancel(ctx), key, sub, rt, q, site, e)
		if err != nil {
			return nil, err
		}
		px.scripts.lru.Add(key, ne)
		return ne, nil
	})
	if err != nil {
		if e != nil && time.Since(e.fetched) < scriptStaleMax {
			px.count("script_stale")
			return e, nil // stale-if-error
		}
		return nil, err
	}
	return v.(*scriptEntry), nil
}

// fetchScript gets a script from the vendor, conditionally when old is
// set, and rewrites its endpoints.
func (px *proxy) fetchScript(ctx context.Context, key, sub string, rt *route, q url.Values, site string, old *scriptEntry) (*scriptEntry, error) {
	base := px.script
	if rt.assets && px.assets != nil {
		base = px.assets
	}
	u := *base
	u.Path = strings.TrimSuffix(u.Path, "/") + sub
	u.RawPath = ""
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header = http.Header{"User-Agent": {"firstparty (Caddy module; script cache)"}, "Accept": {"*/*"}}
	if old != nil {
		if old.upETag != "" {
			req.Header.Set("If-None-Match", old.upETag)
		}
		if old.upLastMod != "" {
			req.Header.Set("If-Modified-Since", old.upLastMod)
		}
	}
	resp, err := px.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && old != nil {
		ne := *old
		ne.fetched = time.Now()
		return &ne, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("vendor answered %d", resp.StatusCode)
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
		return nil, fmt.Errorf("vendor sent an encoded script (%s)", ce)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxScript+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxScript {
		return nil, errors.New("vendor script over 4 MiB")
	}
	s := sha256.Sum256(body)
	sum := hex.EncodeToString(s[:])
	px.noteScriptHash(key, sub, sum)
	out, n, err := rewrite.ReplaceJSStrings(body, px.endpointRewriter(site))
	if err != nil {
		return nil, fmt.Errorf("rewriting the vendor script's endpoints: %w", err)
	}
	left := px.vendorMentions(out)
	px.logger.Info("vendor script fetched", zap.String("script", sub), zap.String("sha256", sum),
		zap.Int("endpoints_rewritten", n), zap.Int("vendor_hosts_left", left))
	es := sha256.Sum256(out)
	return &scriptEntry{body: out, etag: `"` + hex.EncodeToString(es[:12]) + `"`, upETag: resp.Header.Get("ETag"),
		upLastMod: resp.Header.Get("Last-Modified"), sum: sum, fetched: time.Now()}, nil
}

// noteScriptHash logs and counts a change in a vendor script's bytes,
// per script and id (key).
func (px *proxy) noteScriptHash(key, sub, sum string) {
	px.scripts.mu.Lock()
	prev, seen := px.scripts.sums[key]
	if len(px.scripts.sums) < 1024 || seen {
		px.scripts.sums[key] = sum
	}
	px.scripts.mu.Unlock()
	if seen && prev != sum {
		metrics.proxyScriptChanges.WithLabelValues(px.prof.name).Inc()
		px.logger.Warn("vendor script changed", zap.String("script", sub), zap.String("old_sha256", prev), zap.String("new_sha256", sum))
	}
}

// endpointRewriter points the vendor's endpoint URLs inside string
// literals at the proxy: "https://<vendor host>/x" and "//<vendor host>/x"
// become "<prefix>/x"; a bare "<vendor host>" (joined to a scheme in code)
// becomes "<site><prefix>"; and a literal that is exactly a collection
// path ("/api/event", joined to the script's origin in code) gets the
// prefix.
func (px *proxy) endpointRewriter(site string) func(string) (string, bool) {
	hosts := px.endpointHosts()
	var paths []string
	for _, rt := range px.prof.routes {
		if rt.build != nil && rt.path != "" {
			paths = append(paths, rt.path)
		}
	}
	prefix := px.cfg.Prefix
	return func(raw string) (string, bool) {
		for _, p := range paths {
			if raw == p {
				return prefix + p, true
			}
		}
		changed := false
		for _, h := range hosts {
			if !strings.Contains(strings.ToLower(raw), h) {
				continue
			}
			for _, scheme := range []string{"https://", "http://", "//", `https:\/\/`, `http:\/\/`, `\/\/`} {
				pat := scheme + h
				for {
					i := indexFold(raw, pat)
					if i < 0 || !hostEnds(raw, i+len(pat)) {
						break
					}
					raw = raw[:i] + prefix + raw[i+len(pat):]
					changed = true
				}
			}
			if site != "" && strings.EqualFold(raw, h) {
				raw, changed = site+prefix, true
			}
		}
		return raw, changed
	}
}

// endpointHosts are the vendor hosts pointed at the proxy in its scripts.
func (px *proxy) endpointHosts() []string {
	hosts := append([]string(nil), px.prof.endpointHosts...)
	for _, u := range []*url.URL{px.collect, px.script, px.assets} {
		if u != nil && !slices.Contains(hosts, strings.ToLower(u.Host)) {
			hosts = append(hosts, strings.ToLower(u.Host))
		}
	}
	return hosts
}

// vendorMentions counts the vendor hosts left in a served script (built
// in code the rewriter cannot follow); the docs say how to configure the
// snippet for those.
func (px *proxy) vendorMentions(b []byte) int {
	s := strings.ToLower(string(b))
	n := 0
	for _, h := range px.endpointHosts() {
		n += strings.Count(s, h)
	}
	return n
}

// indexFold returns the index in s of sub, lower-case ASCII, in any ASCII
// case, or -1. Only ASCII letters are folded, so the index is one into s:
// an index into strings.ToLower(s) is not, where s holds bytes that
// lower-case to another length (invalid UTF-8, "İ").
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for ; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == len(sub) {
			return i
		}
	}
	return -1
}

// hostEnds reports whether the host ends at i: the end of the string, or
// a character that cannot continue a host name.
func hostEnds(s string, i int) bool {
	if i >= len(s) {
		return true
	}
	switch c := s[i]; {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_', c == '@':
		return false
	}
	return true
}
