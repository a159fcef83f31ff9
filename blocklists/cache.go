package blocklists

import (
	"hash/maphash"
	"sync"
	"unsafe"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// urlCacheSize is how many full-URL decisions a policy keeps.
const urlCacheSize = 1 << 14

const cacheShards = 16

type cached struct {
	e  Entry
	ok bool
}

// urlKey is a request's digest: two 64-bit hashes of the type, the page
// host and the URL, under two seeds drawn when the cache is made. Keeping
// digests, not the URLs, bounds the cache's memory whatever the URLs'
// length, and a lookup hashes the URL once and compares 16 bytes. Two
// requests share a key only if both hashes collide, which for 2^14 kept
// keys happens about once in 2^114 lookups, and the seeds are secret to
// the process, so a page cannot aim for a collision.
type urlKey [2]uint64

// urlCache is an LRU of full-URL decisions, split into shards so that
// concurrent rewrites rarely wait on the same lock.
//
// Each shard is golang-lru's LRU (simplelru) behind a plain mutex, which
// is what golang-lru's locked Cache is, less a read-write lock that its
// Get takes for writing all the same, and the buffers it keeps for an
// eviction callback. A cold decision makes a lookup and an insert, a
// warm one a lookup: with the locked Cache, a cold decision took 40–60 ns
// more at p50 (at p99, 0–130 ns more: the runs' spread), a warm one 10 ns
// more (make bench, five alternated runs, 2026-12-03).
type urlCache struct {
	seeds  [2]maphash.Seed
	shards [cacheShards]cacheShard
}

// cacheShard is one shard of a urlCache, a cache line long, so that two
// shards' locks never share a line.
type cacheShard struct {
	mu  sync.Mutex
	lru *simplelru.LRU[urlKey, cached]
	_   [48]byte
}

func newURLCache(size int) *urlCache {
	c := &urlCache{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	for i := range c.shards {
		// NewLRU fails only for a size below one.
		c.shards[i].lru, _ = simplelru.NewLRU[urlKey, cached](max(size/cacheShards, 1), nil)
	}
	return c
}

// key digests a request's bytes.
//
// Each hash is maphash.Comparable's of the bytes as a string, which is
// the hash Go's maps give a string key: one pass of the runtime's hash
// (AES on amd64 and arm64) over the whole request. maphash.Bytes, which
// must equal a Hash fed in pieces, hashes 128 bytes a call and chains
// the calls: its two hashes of a 745-byte request took 132 ns, these 36
// (60 bytes: 6 against 8 ns; go test -bench, 2026-12-03).
func (c *urlCache) key(b []byte) urlKey {
	if len(b) <= 128 {
		return urlKey{maphash.Bytes(c.seeds[0], b), maphash.Bytes(c.seeds[1], b)}
	}
	s := unsafe.String(unsafe.SliceData(b), len(b))
	return urlKey{maphash.Comparable(c.seeds[0], s), maphash.Comparable(c.seeds[1], s)}
}

func (c *urlCache) shard(k urlKey) *cacheShard {
	return &c.shards[k[0]%cacheShards]
}

func (c *urlCache) get(k urlKey) (cached, bool) {
	s := c.shard(k)
	s.mu.Lock()
	v, ok := s.lru.Get(k)
	s.mu.Unlock()
	return v, ok
}

func (c *urlCache) add(k urlKey, v cached) {
	s := c.shard(k)
	s.mu.Lock()
	s.lru.Add(k, v)
	s.mu.Unlock()
}
