package blocklists

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"unsafe"
)

// TestURLCache checks the decision cache: a key added is found with its
// answer, each shard keeps at most its share (the least recently used
// key goes first), concurrent lookups and inserts from several goroutines
// each see their own answers, and a shard fills one cache line.
func TestURLCache(t *testing.T) {
	const size = 64 * cacheShards
	c := newURLCache(size)
	valueOf := func(i int) cached {
		return cached{e: Entry{Vendor: fmt.Sprint(i), Category: "analytics"}, ok: true}
	}
	key := func(i int) urlKey { return c.key([]byte(fmt.Sprintf("https://t.example/%d", i))) }
	for i := range 4 * size {
		c.add(key(i), valueOf(i))
		if i%7 == 0 {
			c.get(key(0)) // kept in use: never the least recently used
		}
	}
	if v, ok := c.get(key(0)); !ok || v != valueOf(0) {
		t.Errorf("the key kept in use: %+v %v", v, ok)
	}
	if v, ok := c.get(key(4*size - 1)); !ok || v != valueOf(4*size-1) {
		t.Errorf("the last key added: %+v %v", v, ok)
	}
	if _, ok := c.get(key(1)); ok {
		t.Error("an early key, never used again, is still kept after 4× the cache's size of others")
	}
	kept := 0
	for i := range c.shards {
		if n := c.shards[i].lru.Len(); n > size/cacheShards {
			t.Errorf("shard %d keeps %d keys, over its %d", i, n, size/cacheShards)
		} else {
			kept += n
		}
	}
	if kept < size/2 {
		t.Errorf("the shards keep %d keys of %d: the keys do not spread over them", kept, size)
	}

	concurrently(t, 8, func(g int) error {
		for i := range 5000 {
			n := g*1_000_000 + i%300
			if v, ok := c.get(key(n)); ok && v != valueOf(n) {
				return fmt.Errorf("key %d answered %+v", n, v)
			}
			c.add(key(n), valueOf(n))
		}
		return nil
	})

	if n := unsafe.Sizeof(cacheShard{}); n != 64 {
		t.Errorf("a cache shard is %d bytes, not a cache line", n)
	}
}

// concurrently runs f(0), …, f(n-1) in goroutines of their own and
// reports each error it returns on t.
func concurrently(t *testing.T, n int, f func(g int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(g); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestURLCacheKey checks that a request's key depends on all its bytes,
// on either side of the length where the key's hash changes (128 bytes),
// and that the same bytes give the same key.
func TestURLCacheKey(t *testing.T) {
	c := newURLCache(16)
	seen := map[urlKey]string{}
	for _, n := range []int{1, 8, 64, 127, 128, 129, 200, 745, 5000} {
		b := bytes.Repeat([]byte{'a'}, n)
		k := c.key(b)
		if again := c.key(bytes.Clone(b)); again != k {
			t.Fatalf("%d bytes: two keys for the same bytes", n)
		}
		if old, ok := seen[k]; ok {
			t.Fatalf("%d bytes: the key of %s", n, old)
		}
		seen[k] = fmt.Sprintf("%d bytes", n)
		for _, i := range []int{0, n / 2, n - 1} {
			b[i] = 'b'
			if c.key(b) == k {
				t.Fatalf("%d bytes: byte %d changed, the key did not", n, i)
			}
			b[i] = 'a'
		}
	}
	// The key's two hashes are under two seeds, short requests and long.
	for _, n := range []int{19, 300} {
		if k := c.key(bytes.Repeat([]byte{'u'}, n)); k[0] == k[1] {
			t.Fatalf("%d bytes: the key's two hashes are equal (%x): one seed for both", n, k[0])
		}
	}
}
