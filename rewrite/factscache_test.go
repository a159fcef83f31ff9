package rewrite

import (
	"bytes"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// factsLog is a policy that decides like shopPolicy and records, in
// order, the facts of every inline script it is asked about.
type factsLog struct {
	inner Policy
	seen  []string
}

func (p *factsLog) Decide(page *url.URL, r *Resource) Decision {
	if f := r.Script; f != nil {
		p.seen = append(p.seen, fmt.Sprintf("%q %q %q %q %v %v", f.Calls, f.Idents, f.Strings, f.Hosts, f.Oversize, f.Malformed))
	}
	return p.inner.Decide(page, r)
}

// factsPages are the inputs of the cache tests: the generated shop page,
// scripts written here, and the shared corpus pages when present.
func factsPages(t *testing.T) map[string][]byte {
	pages := map[string][]byte{
		"shop":    shopPage(60 << 10),
		"escapes": []byte(`<script>\u0067tag('js')</script><script>x="https:\/\/static.hotjar.com/c"</script><script>a=b/2;fbq('init')</script><script>ttq.load('X'</script>`),
		"nul":     []byte("<script>'\x00';gtag('config')</script><script>\xc5'x';_paq.push([])</script>"),
		"big":     []byte("<script>" + strings.Repeat("var a=1;", 20000) + "gtag('js')</script>"),
		// Style blocks and attributes, the same twice, with URLs to
		// neutralise; and one over maxCachedScript.
		"styles": []byte(strings.Repeat(`<style>@import "https://static.hotjar.com/x.css"; .a{background:url(https://www.facebook.com/tr?id=1)} .b{color:red}</style>`+
			`<div style="background:url('//www.google-analytics.com/collect?v=1')">x</div><p style="color:blue;background:url(/own.png)">y</p>`, 2) +
			"<style>" + strings.Repeat(".c{color:red}", 6000) + ".d{background:url(https://www.facebook.com/tr?id=2)}</style>"),
		// Over maxCachedScript and under the token cap: kept by digest.
		"large": []byte("<script>" + strings.Repeat("var a=1;", 10000) + "gtag('js')</script><script>" +
			strings.Repeat("var a=1;", 10000) + "fbq('init')</script>"),
	}
	if !testing.Short() {
		for name, b := range corpusFiles(t, "corpus/pages", "") {
			pages[name] = b
		}
	}
	return pages
}

// TestFactsCacheSameDecisions checks that a rewrite with a facts cache,
// cold and then warm, writes the same bytes, counts the same and shows the
// policy the same facts as one that lexes every script.
func TestFactsCacheSameDecisions(t *testing.T) {
	cache := NewFactsCache(0)
	for name, page := range factsPages(t) {
		run := func(c *FactsCache) (string, Stats, []string) {
			pol := &factsLog{inner: shopPolicy(Defer)}
			var out bytes.Buffer
			// "big" is over the token cap; the others' scripts are not.
			maxTok := 1 << 20
			if name == "big" {
				maxTok = 64 << 10
			}
			rw := NewWriter(&out, Options{Policy: pol, PageURL: benchPageURL, Token: "t", Facts: c, MaxTokenSize: maxTok})
			if _, err := rw.Write(page); err != nil {
				t.Fatal(err)
			}
			if err := rw.Close(); err != nil {
				t.Fatal(err)
			}
			st := *rw.Stats()
			st.fc, st.mc, st.mem = nil, nil, nil
			return out.String(), st, pol.seen
		}
		want, wantStats, wantSeen := run(nil)
		for _, pass := range []string{"cold", "warm"} {
			got, gotStats, gotSeen := run(cache)
			if got != want {
				t.Errorf("%s, %s cache: output differs from the uncached rewrite", name, pass)
			}
			if !reflect.DeepEqual(gotStats, wantStats) {
				t.Errorf("%s, %s cache: stats %+v, want %+v", name, pass, gotStats, wantStats)
			}
			if !slices.Equal(gotSeen, wantSeen) {
				t.Errorf("%s, %s cache: the policy saw other facts", name, pass)
			}
		}
		if name == "shop" && len(wantSeen) < 8 {
			t.Errorf("shop page: only %d inline scripts decided", len(wantSeen))
		}
	}
	cache.mu.Lock()
	defer cache.mu.Unlock()
	scSmall, scBig := countKeys(&cache.scripts)
	stSmall, stBig := countKeys(&cache.styles)
	if scSmall == 0 {
		t.Error("the cache kept no script")
	}
	if stSmall == 0 {
		t.Error("the cache kept no style")
	}
	if scBig < 2 {
		t.Error("the cache kept no script over 64 KiB")
	}
	if stBig < 1 {
		t.Error("the cache kept no style over 64 KiB")
	}
	for _, g := range []factsGen[*ScriptFacts]{cache.scripts.cur, cache.scripts.old} {
		for k, f := range g.small {
			if f.Oversize {
				t.Errorf("an oversize script's facts were kept (%d bytes)", len(k))
			}
		}
		for _, f := range g.big {
			if f.Oversize {
				t.Error("an oversize script's facts were kept")
			}
		}
	}
}

// countKeys counts a pool's entries kept by their bytes and by their
// digest (over 64 KiB), in both generations.
func countKeys[V any](p *factsPool[V]) (small, big int) {
	for _, g := range []factsGen[V]{p.cur, p.old} {
		small += len(g.small)
		big += len(g.big)
	}
	return small, big
}

// TestFactsCacheBounded fills a small cache with distinct scripts: it
// stays within two generations of its budget, keeps no script over the
// size cap, and a script in steady use survives the turnover.
func TestFactsCacheBounded(t *testing.T) {
	const budget = 64 << 10
	c := NewFactsCache(budget)
	hot := []byte("gtag('config','G-HOT')")
	f := &ScriptFacts{Calls: []string{"gtag"}, Strings: []string{"config", "G-HOT"}}
	c.add(hot, f)
	for i := range 20000 {
		s := []byte(fmt.Sprintf("var x%d=%q;", i, strings.Repeat("y", i%500)))
		c.add(s, &ScriptFacts{Idents: []string{fmt.Sprint("x", i)}, Strings: []string{string(s)}})
		if i%20 == 0 { // more often than a generation (about 100 of these scripts) fills
			if _, ok := c.get(hot); !ok {
				t.Fatalf("the hot script was dropped after %d others", i)
			}
		}
		c.mu.Lock()
		used, total := c.scripts.used, 0
		for k, v := range c.scripts.old.small {
			total += len(k) + factsSize(v)
		}
		for _, v := range c.scripts.old.big {
			total += 16 + factsSize(v)
		}
		c.mu.Unlock()
		if used > budget || total > budget {
			t.Fatalf("after %d scripts: generation sizes %d and %d, over the budget of %d", i, used, total, budget)
		}
	}
	// A script over maxCachedScript is kept by its digest: its facts,
	// not its bytes, count against the budget, and a script that differs
	// only in its last byte is another.
	large := bytes.Repeat([]byte("a"), maxCachedScript+1)
	lf := &ScriptFacts{Idents: []string{"large"}}
	c.mu.Lock()
	before := c.scripts.used
	c.mu.Unlock()
	c.add(large, lf)
	c.mu.Lock()
	grew := c.scripts.used - before
	c.mu.Unlock()
	if got, ok := c.get(large); !ok || !slices.Equal(got.Idents, lf.Idents) {
		t.Errorf("a script over 64 KiB: got %+v, %v", got, ok)
	}
	if grew <= 0 || grew > 1024 {
		t.Errorf("a script of %d bytes took %d bytes of the budget, want its facts' size", len(large), grew)
	}
	other := bytes.Clone(large)
	other[len(other)-1] = 'b'
	if _, ok := c.get(other); ok {
		t.Error("a large script that differs in its last byte got the other's facts")
	}
	// So is a style over it; a style and a script of the same bytes are
	// two entries.
	refs := []cssRef{{start: 3, end: 9, url: "https://t.example/x"}}
	c.addStyle(string(large), refs)
	if got, ok := c.getStyle(string(large)); !ok || !slices.Equal(got, refs) {
		t.Errorf("a style over 64 KiB: got %+v, %v", got, ok)
	}
	if got, ok := c.get(large); !ok || !slices.Equal(got.Idents, lf.Idents) {
		t.Errorf("a script of the bytes of a style: got %+v, %v", got, ok)
	}
	if _, ok := c.getStyle(string(other)); ok {
		t.Error("a large style that differs in its last byte got the other's URLs")
	}
	// Styles have their own generations: filling them bounds them, and
	// pushes no script out.
	for i := range 20000 {
		css := fmt.Sprintf(".x%d{background:url(/i/%d.png)}%s", i, i, strings.Repeat(" ", i%500))
		c.addStyle(css, []cssRef{{start: 4, end: 20, url: fmt.Sprintf("/i/%d.png", i)}})
		c.mu.Lock()
		used := c.styles.used
		c.mu.Unlock()
		if used > budget {
			t.Fatalf("after %d styles: a generation of %d bytes, over the budget of %d", i, used, budget)
		}
	}
	got, ok := c.get(hot)
	if !ok || !slices.Equal(got.Calls, f.Calls) || !slices.Equal(got.Strings, f.Strings) {
		t.Errorf("hot script: got %+v, %v", got, ok)
	}
	f.Calls[0] = "changed" // the caller's facts are its own: the cache copied them
	if got, _ := c.get(hot); got.Calls[0] != "gtag" {
		t.Errorf("the cache shares the caller's memory: %q", got.Calls[0])
	}
}

// TestFactsCacheConcurrent shares one cache between concurrent rewrites
// (run it with -race): each output equals the serial one.
func TestFactsCacheConcurrent(t *testing.T) {
	page := shopPage(40 << 10)
	var want bytes.Buffer
	if err := rewriteWith(&want, page, shopPolicy(Defer), nil); err != nil {
		t.Fatal(err)
	}
	c := NewFactsCache(4 << 10) // small: generations turn over while rewriting
	concurrently(t, func(_, _ int) string {
		var out bytes.Buffer
		if err := rewriteWith(&out, page, shopPolicy(Defer), c); err != nil {
			return err.Error()
		}
		if !bytes.Equal(out.Bytes(), want.Bytes()) {
			return "output differs from the serial rewrite"
		}
		return ""
	})
}
