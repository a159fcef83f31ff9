package blocklists

import (
	"hash/maphash"

	lru "github.com/hashicorp/golang-lru/v2"
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
type urlCache struct {
	seeds  [2]maphash.Seed
	shards [cacheShards]*lru.Cache[urlKey, cached]
}

func newURLCache(size int) *urlCache {
	c := &urlCache{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	for i := range c.shards {
		// lru.New fails only for a size below one.
		c.shards[i], _ = lru.New[urlKey, cached](max(size/cacheShards, 1))
	}
	return c
}

// key digests a request's bytes.
func (c *urlCache) key(b []byte) urlKey {
	return urlKey{maphash.Bytes(c.seeds[0], b), maphash.Bytes(c.seeds[1], b)}
}

func (c *urlCache) shard(k urlKey) *lru.Cache[urlKey, cached] {
	return c.shards[k[0]%cacheShards]
}

func (c *urlCache) get(k urlKey) (cached, bool) { return c.shard(k).Get(k) }

func (c *urlCache) add(k urlKey, v cached) { c.shard(k).Add(k, v) }
