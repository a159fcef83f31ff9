package rewrite

import (
	"sync"
	"unsafe"
)

// DefaultFactsCacheBytes is the default budget of a FactsCache.
const DefaultFactsCacheBytes = 4 << 20

// maxCachedScript is the largest inline script a FactsCache keeps.
const maxCachedScript = 64 << 10

// FactsCache remembers what the JavaScript lexer read from inline scripts,
// keyed by the scripts' exact bytes. A shop serves the same snippets (a tag
// manager's loader, a pixel's init, its own theme code) on every page, and
// lexing them is the dearest step of rewriting a page's head; with a cache
// each distinct snippet is lexed once per process. The facts are a function
// of the bytes alone, so a hit decides exactly as a fresh read would; the
// policy is still asked for every script.
//
// It is safe for concurrent use by many Writers. Memory is bounded: a
// script over 64 KiB is never kept, and the cache holds two generations of
// at most its budget each (scripts plus facts). When the current one is
// full it becomes the old one, the old one is dropped, and a hit in the old
// one moves the entry forward, so snippets in steady use stay.
type FactsCache struct {
	mu       sync.Mutex
	cur, old map[string]*ScriptFacts
	used     int
	budget   int
}

// NewFactsCache returns a cache of at most budget bytes per generation
// (DefaultFactsCacheBytes if budget ≤ 0).
func NewFactsCache(budget int) *FactsCache {
	if budget <= 0 {
		budget = DefaultFactsCacheBytes
	}
	return &FactsCache{cur: map[string]*ScriptFacts{}, budget: budget}
}

// get returns the facts kept for script. They are shared: read only.
func (c *FactsCache) get(script []byte) (*ScriptFacts, bool) {
	if c == nil || len(script) > maxCachedScript {
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
	if c == nil || len(script) > maxCachedScript || f.Oversize {
		return
	}
	kept := cloneFacts(f)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.put(string(script), kept)
}

func (c *FactsCache) put(key string, f *ScriptFacts) {
	size := len(key) + factsSize(f)
	if c.used+size > c.budget {
		c.old, c.cur, c.used = c.cur, make(map[string]*ScriptFacts, len(c.cur)), 0
	}
	c.cur[key] = f
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
