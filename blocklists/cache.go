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

// urlCache is an LRU of full-URL decisions, split into shards so that
// concurrent rewrites rarely wait on the same lock.
type urlCache struct {
	seed   maphash.Seed
	shards [cacheShards]*lru.Cache[string, cached]
}

func newURLCache(size int) *urlCache {
	c := &urlCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		// lru.New fails only for a size below one.
		c.shards[i], _ = lru.New[string, cached](max(size/cacheShards, 1))
	}
	return c
}

func (c *urlCache) shard(key string) *lru.Cache[string, cached] {
	return c.shards[maphash.String(c.seed, key)%cacheShards]
}

func (c *urlCache) get(key string) (cached, bool) { return c.shard(key).Get(key) }

func (c *urlCache) add(key string, v cached) { c.shard(key).Add(key, v) }
