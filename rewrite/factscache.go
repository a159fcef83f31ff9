package rewrite

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// DefaultFactsCacheBytes is the default budget of a FactsCache.
const DefaultFactsCacheBytes = 4 << 20

// maxCachedScript is the largest inline script or style a FactsCache
// keeps by its bytes; a larger one is kept by its digest.
const maxCachedScript = 64 << 10

// FactsCache remembers what the JavaScript lexer read from inline scripts,
// and the CSS lexer from style blocks and attributes, keyed by their exact
// bytes. A shop serves the same snippets (a tag manager's loader, a pixel's
// init, its own theme code, its inlined critical CSS) on every page, and
// lexing them is the dearest step of rewriting a page's head; with a cache
// each distinct snippet is lexed once per process. The facts (a script's
// calls, names, strings and hosts; a style's URLs and where they are) are a
// function of the bytes alone, so a hit decides exactly as a fresh read
// would; the policy is still asked for every script and every URL.
//
// A snippet over 64 KiB (a site-wide inline bundle, settings blob or
// stylesheet, the dearest to lex) is kept by a digest of its bytes: two
// 64-bit hashes under seeds drawn when the cache is made, so that its
// memory is that of the facts alone. Two snippets share a digest only if
// both hashes collide, about once in 2^128 pairs, and the seeds are secret
// to the process, so a page cannot aim for a collision.
//
// It is safe for concurrent use by many Writers. Memory is bounded:
// scripts and styles each have two generations of at most the budget
// (snippets or digests, plus facts), so that one kind does not push the
// other out. When the current one is full it becomes the old one, the old
// one is dropped, and a hit in the old one moves the entry forward, so
// snippets in steady use stay.
type FactsCache struct {
	mu      sync.Mutex
	scripts factsPool[*ScriptFacts]
	styles  factsPool[[]cssRef]
	seeds   [2]maphash.Seed
	budget  int
}

// factsPool is one kind of snippet's two generations.
type factsPool[V any] struct {
	cur, old factsGen[V]
	used     int
}

// factsGen is one generation: snippets by their bytes, and those over
// maxCachedScript by their digest (a map of strings is the faster to
// look a string up in).
type factsGen[V any] struct {
	small map[string]V
	big   map[[2]uint64]V
}

// factsKey is a snippet's key: its bytes, or over maxCachedScript its
// digest with no bytes.
type factsKey struct {
	s   string
	d   [2]uint64
	big bool
}

// size is what the key takes in a generation.
func (k factsKey) size() int {
	if k.big {
		return int(unsafe.Sizeof(k.d))
	}
	return len(k.s)
}

// get looks a snippet up, and moves it forward from the old generation;
// size is what its value takes. c.mu is held.
func (p *factsPool[V]) get(k factsKey, budget int, size func(V) int) (V, bool) {
	if v, ok := p.cur.lookup(k); ok {
		return v, true
	}
	if v, ok := p.old.lookup(k); ok {
		k.s = strings.Clone(k.s) // k.s may be a view of the caller's memory
		p.put(k, v, size(v), budget)
		return v, true
	}
	var zero V
	return zero, false
}

func (g factsGen[V]) lookup(k factsKey) (V, bool) {
	if k.big {
		v, ok := g.big[k.d]
		return v, ok
	}
	v, ok := g.small[k.s]
	return v, ok
}

// put keeps v, which takes n bytes, under k, whose bytes must not be a
// view of a caller's memory. c.mu is held.
func (p *factsPool[V]) put(k factsKey, v V, n, budget int) {
	n += k.size()
	if p.cur.small == nil || p.used+n > budget {
		p.old, p.used = p.cur, 0
		p.cur = factsGen[V]{small: make(map[string]V, len(p.old.small)), big: make(map[[2]uint64]V, len(p.old.big))}
	}
	p.used += n
	if k.big {
		p.cur.big[k.d] = v
	} else {
		p.cur.small[k.s] = v
	}
}

// NewFactsCache returns a cache of at most budget bytes per generation
// (DefaultFactsCacheBytes if budget ≤ 0).
func NewFactsCache(budget int) *FactsCache {
	if budget <= 0 {
		budget = DefaultFactsCacheBytes
	}
	return &FactsCache{budget: budget, seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

// key returns a snippet's key: its bytes (a copy when keep is set, to be
// kept, else the view given), or over maxCachedScript its digest.
func (c *FactsCache) key(s string, keep bool) factsKey {
	if len(s) > maxCachedScript {
		return factsKey{d: [2]uint64{maphash.String(c.seeds[0], s), maphash.String(c.seeds[1], s)}, big: true}
	}
	if keep {
		s = strings.Clone(s)
	}
	return factsKey{s: s}
}

// get returns the facts kept for script. They are shared: read only.
func (c *FactsCache) get(script []byte) (*ScriptFacts, bool) {
	if c == nil {
		return nil, false
	}
	k := c.key(unsafe.String(unsafe.SliceData(script), len(script)), false)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.scripts.get(k, c.budget, factsSize)
}

// add keeps a copy of f for script; f itself stays the caller's.
func (c *FactsCache) add(script []byte, f *ScriptFacts) {
	if c == nil || f.Oversize {
		return
	}
	kept := cloneFacts(f)
	k := c.key(unsafe.String(unsafe.SliceData(script), len(script)), true)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scripts.put(k, kept, factsSize(kept), c.budget)
}

// getStyle returns the URLs kept for the CSS css. They are shared: read
// only.
func (c *FactsCache) getStyle(css string) ([]cssRef, bool) {
	if c == nil {
		return nil, false
	}
	k := c.key(css, false)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.styles.get(k, c.budget, refsSize)
}

// addStyle keeps a copy of refs for the CSS css.
func (c *FactsCache) addStyle(css string, refs []cssRef) {
	if c == nil {
		return
	}
	kept := cloneRefs(refs)
	k := c.key(css, true)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.styles.put(k, kept, refsSize(kept), c.budget)
}

// refsSize approximates the bytes refs hold.
func refsSize(refs []cssRef) int {
	n := len(refs) * int(unsafe.Sizeof(cssRef{}))
	for _, r := range refs {
		n += len(r.url)
	}
	return n
}

// cloneRefs copies refs with their URLs in one new buffer: the URLs may
// point into a Writer's scratch memory.
func cloneRefs(refs []cssRef) []cssRef {
	if len(refs) == 0 {
		return nil
	}
	n := 0
	for _, r := range refs {
		n += len(r.url)
	}
	buf := make([]byte, 0, n)
	out := slices.Clone(refs)
	for i := range out {
		out[i].url = keepIn(&buf, out[i].url)
	}
	return out
}

// keepIn copies s to the end of *buf, which has room for it, and returns
// the copy: strings packed into one buffer sized for all of them.
func keepIn(buf *[]byte, s string) string {
	if s == "" {
		return ""
	}
	start := len(*buf)
	*buf = append(*buf, s...)
	return unsafe.String(&(*buf)[start], len(s))
}

// factsSize approximates the bytes f holds.
func factsSize(f *ScriptFacts) int {
	n := int(unsafe.Sizeof(*f))
	for _, l := range [...][]string{f.Calls, f.Idents, f.Strings, f.Hosts} {
		n += len(l) * int(unsafe.Sizeof(""))
		for _, s := range l {
			n += len(s)
		}
	}
	return n
}

// cloneFacts copies f with its strings in one new buffer: f's strings
// point into a Writer's scratch memory.
func cloneFacts(f *ScriptFacts) *ScriptFacts {
	n := 0
	for _, l := range [...][]string{f.Calls, f.Idents, f.Strings, f.Hosts} {
		for _, s := range l {
			n += len(s)
		}
	}
	buf := make([]byte, 0, n)
	list := func(l []string) []string {
		if len(l) == 0 {
			return nil
		}
		out := make([]string, len(l))
		for i, s := range l {
			out[i] = keepIn(&buf, s)
		}
		return out
	}
	return &ScriptFacts{Calls: list(f.Calls), Idents: list(f.Idents), Strings: list(f.Strings), Hosts: list(f.Hosts), Oversize: f.Oversize, Malformed: f.Malformed}
}
