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
// maxCachedScript by their digest.
type factsGen[V any] struct {
	small map[string]V
	big   map[[2]uint64]V
}

func newFactsGen[V any](hint factsGen[V]) factsGen[V] {
	return factsGen[V]{small: make(map[string]V, len(hint.small)), big: make(map[[2]uint64]V, len(hint.big))}
}

// get looks a snippet up by its bytes (key) or, over maxCachedScript, its
// digest (d), and moves it forward from the old generation; size is what
// it takes in a generation. c.mu is held.
func (p *factsPool[V]) get(key string, d [2]uint64, big bool, budget int, size func(V) int) (V, bool) {
	if big {
		if v, ok := p.cur.big[d]; ok {
			return v, true
		}
		if v, ok := p.old.big[d]; ok {
			p.put(key, d, big, v, size(v), budget)
			return v, true
		}
	} else {
		if v, ok := p.cur.small[key]; ok {
			return v, true
		}
		if v, ok := p.old.small[key]; ok {
			// key may be a view of the caller's memory: the copy is kept.
			p.put(strings.Clone(key), d, big, v, size(v), budget)
			return v, true
		}
	}
	var zero V
	return zero, false
}

// put keeps v for a snippet; n is what it takes. key must not be a view
// of a caller's memory. c.mu is held.
func (p *factsPool[V]) put(key string, d [2]uint64, big bool, v V, n, budget int) {
	if big {
		n += int(unsafe.Sizeof(d))
	} else {
		n += len(key)
	}
	if p.used+n > budget {
		p.old, p.cur, p.used = p.cur, newFactsGen(p.cur), 0
	}
	p.used += n
	if big {
		p.cur.big[d] = v
	} else {
		p.cur.small[key] = v
	}
}

// NewFactsCache returns a cache of at most budget bytes per generation
// (DefaultFactsCacheBytes if budget ≤ 0).
func NewFactsCache(budget int) *FactsCache {
	if budget <= 0 {
		budget = DefaultFactsCacheBytes
	}
	c := &FactsCache{budget: budget, seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	c.scripts.cur, c.styles.cur = newFactsGen[*ScriptFacts](factsGen[*ScriptFacts]{}), newFactsGen[[]cssRef](factsGen[[]cssRef]{})
	return c
}

// keys returns a snippet's key: its bytes (a copy when keep is set, to
// be kept, else the view given), or over maxCachedScript its digest.
func (c *FactsCache) keys(s string, keep bool) (key string, d [2]uint64, big bool) {
	if len(s) > maxCachedScript {
		return "", [2]uint64{maphash.String(c.seeds[0], s), maphash.String(c.seeds[1], s)}, true
	}
	if keep {
		s = strings.Clone(s)
	}
	return s, d, false
}

// get returns the facts kept for script. They are shared: read only.
func (c *FactsCache) get(script []byte) (*ScriptFacts, bool) {
	if c == nil {
		return nil, false
	}
	key, d, big := c.keys(unsafe.String(unsafe.SliceData(script), len(script)), false)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.scripts.get(key, d, big, c.budget, factsSize)
}

// add keeps a copy of f for script; f itself stays the caller's.
func (c *FactsCache) add(script []byte, f *ScriptFacts) {
	if c == nil || f.Oversize {
		return
	}
	kept := cloneFacts(f)
	key, d, big := c.keys(unsafe.String(unsafe.SliceData(script), len(script)), true)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scripts.put(key, d, big, kept, factsSize(kept), c.budget)
}

// getStyle returns the URLs kept for the CSS css. They are shared: read
// only.
func (c *FactsCache) getStyle(css string) ([]cssRef, bool) {
	if c == nil {
		return nil, false
	}
	key, d, big := c.keys(css, false)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.styles.get(key, d, big, c.budget, refsSize)
}

// addStyle keeps a copy of refs for the CSS css.
func (c *FactsCache) addStyle(css string, refs []cssRef) {
	if c == nil {
		return
	}
	kept := cloneRefs(refs)
	key, d, big := c.keys(css, true)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.styles.put(key, d, big, kept, refsSize(kept), c.budget)
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
		if u := out[i].url; u != "" {
			start := len(buf)
			buf = append(buf, u...)
			out[i].url = unsafe.String(&buf[start], len(u))
		}
	}
	return out
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
			if s == "" {
				continue
			}
			start := len(buf)
			buf = append(buf, s...)
			out[i] = unsafe.String(&buf[start], len(s))
		}
		return out
	}
	return &ScriptFacts{Calls: list(f.Calls), Idents: list(f.Idents), Strings: list(f.Strings), Hosts: list(f.Hosts), Oversize: f.Oversize, Malformed: f.Malformed}
}
