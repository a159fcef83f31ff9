package rewrite

import (
	"hash/maphash"
	"sync"
	"unsafe"
)

// DefaultFactsCacheBytes is the default budget of a FactsCache.
const DefaultFactsCacheBytes = 4 << 20

// maxCachedScript is the largest inline script a FactsCache keeps by its
// bytes; a larger one is kept by its digest.
const maxCachedScript = 64 << 10

// FactsCache remembers what the JavaScript lexer read from inline scripts,
// keyed by the scripts' exact bytes. A shop serves the same snippets (a tag
// manager's loader, a pixel's init, its own theme code) on every page, and
// lexing them is the dearest step of rewriting a page's head; with a cache
// each distinct snippet is lexed once per process. The facts are a function
// of the bytes alone, so a hit decides exactly as a fresh read would; the
// policy is still asked for every script.
//
// A script over 64 KiB (a site-wide inline bundle or settings blob, which
// take the longest to lex) is kept by a digest of its bytes instead: two
// 64-bit hashes under seeds drawn when the cache is made, so that its
// memory is that of the facts alone. Two scripts share a digest only if
// both hashes collide, about once in 2^128 pairs, and the seeds are secret
// to the process, so a page cannot aim for a collision.
//
// It is safe for concurrent use by many Writers. Memory is bounded: the
// cache holds two generations of at most its budget each (scripts or
// digests, plus facts). When the current one is full it becomes the old
// one, the old one is dropped, and a hit in the old one moves the entry
// forward, so snippets in steady use stay.
type FactsCache struct {
	mu       sync.Mutex
	cur, old map[string]*ScriptFacts
	// curBig and oldBig are the generations' scripts over
	// maxCachedScript, by digest.
	curBig, oldBig map[scriptDigest]*ScriptFacts
	seeds          [2]maphash.Seed
	used           int
	budget         int
}

// scriptDigest is a large script's key in a FactsCache.
type scriptDigest [2]uint64

// NewFactsCache returns a cache of at most budget bytes per generation
// (DefaultFactsCacheBytes if budget ≤ 0).
func NewFactsCache(budget int) *FactsCache {
	if budget <= 0 {
		budget = DefaultFactsCacheBytes
	}
	return &FactsCache{cur: map[string]*ScriptFacts{}, curBig: map[scriptDigest]*ScriptFacts{}, budget: budget,
		seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

func (c *FactsCache) digest(script []byte) scriptDigest {
	return scriptDigest{maphash.Bytes(c.seeds[0], script), maphash.Bytes(c.seeds[1], script)}
}

// get returns the facts kept for script. They are shared: read only.
func (c *FactsCache) get(script []byte) (*ScriptFacts, bool) {
	if c == nil {
		return nil, false
	}
	if len(script) > maxCachedScript {
		k := c.digest(script)
		c.mu.Lock()
		defer c.mu.Unlock()
		if f, ok := c.curBig[k]; ok {
			return f, true
		}
		if f, ok := c.oldBig[k]; ok {
			c.putBig(k, f)
			return f, true
		}
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.cur[string(script)]; ok {
		return f, true
	}
	if f, ok := c.old[string(script)]; ok {
		c.put(string(script), f)
		return f, true
	}
	return nil, false
}

// add keeps a copy of f for script; f itself stays the caller's.
func (c *FactsCache) add(script []byte, f *ScriptFacts) {
	if c == nil || f.Oversize {
		return
	}
	kept := cloneFacts(f)
	if len(script) > maxCachedScript {
		k := c.digest(script)
		c.mu.Lock()
		defer c.mu.Unlock()
		c.putBig(k, kept)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.put(string(script), kept)
}

func (c *FactsCache) put(key string, f *ScriptFacts) {
	c.room(len(key) + factsSize(f))
	c.cur[key] = f
}

func (c *FactsCache) putBig(k scriptDigest, f *ScriptFacts) {
	c.room(int(unsafe.Sizeof(k)) + factsSize(f))
	c.curBig[k] = f
}

// room counts size bytes into the current generation, which becomes the
// old one first if they do not fit.
func (c *FactsCache) room(size int) {
	if c.used+size > c.budget {
		c.old, c.cur = c.cur, make(map[string]*ScriptFacts, len(c.cur))
		c.oldBig, c.curBig = c.curBig, make(map[scriptDigest]*ScriptFacts, len(c.curBig))
		c.used = 0
	}
	c.used += size
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
