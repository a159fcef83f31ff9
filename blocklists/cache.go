package blocklists

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
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

// keptAnswer is an answer as a shard keeps it, under its key's first
// hash (urlKey.a), with the second (b), which a lookup compares.
type keptAnswer struct {
	cached
	b uint64
}

// urlKey is a request's digest: two 64-bit hashes of the type, the page
// host and the URL, under two seeds drawn when the cache is made. Keeping
// digests, not the URLs, bounds the cache's memory whatever the URLs'
// length, and a lookup hashes the URL once and compares 16 bytes: the
// shards' maps are keyed by the first hash, and each answer keeps the
// second, compared on a hit (keptAnswer). A map whose key is one word
// takes Go's fast path for 64-bit keys, where a key of two words took
// the generic one. Two
// requests share a key only if both hashes collide, which for 2^14 kept
// keys happens about once in 2^114 lookups, and the seeds are secret to
// the process, so a page cannot aim for a collision.
//
// A struct of two words, not an array: Go passes and returns a struct of
// a few words in registers and an array of more than one in memory, and
// a key written to memory as two words and read back as one 16-byte
// copy waits for the writes (the CPU cannot forward two stores to one
// load).
type urlKey struct{ a, b uint64 }

// urlCache is an LRU of full-URL decisions, split into shards so that
// concurrent rewrites rarely wait on the same lock, which keeps a
// request's answer from its second decision on (doorkeeper).
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
	door   doorkeeper
	shards [cacheShards]cacheShard
}

// cacheShard is one shard of a urlCache, a cache line long, so that two
// shards' locks never share a line.
type cacheShard struct {
	mu      sync.Mutex
	lru     *simplelru.LRU[uint64, keptAnswer]
	doorSet atomic.Int64 // the doorkeeper's bits this shard's requests set since its reset
	_       [40]byte
}

func newURLCache(size int) *urlCache {
	c := &urlCache{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	for i := range c.shards {
		// NewLRU fails only for a size below one.
		c.shards[i].lru, _ = simplelru.NewLRU[uint64, keptAnswer](max(size/cacheShards, 1), nil)
	}
	return c
}

// doorkeeper admits a request to the cache at its second decision, as
// TinyLFU's doorkeeper does: a bit set of the requests decided once. Most
// of the URLs a page loads that are not seen again carry ids, times or
// counters in their queries, and those are also the longest URLs and the
// slowest to decide; their first decision no longer pays golang-lru's
// insert (its list entry, its map insert and, once the cache is full, an
// eviction), nor evicts an answer that will be asked for again.
//
// One bit a request, at the request's second hash (the first picks the
// shard): a request whose bit another set is admitted at its first
// decision, which costs what every decision cost before. The set starts
// again empty once doorReset bits are set, at most an eighth of them, so
// that fewer than one request in eight is admitted early. It is read and
// set with atomic operations, without the shards' locks: two decisions of
// one request at once may both find its bit clear, and a reset may lose a
// bit being set; either only delays an admission.
//
// 2^18 bits (32 KB), started again after 32,768 requests decided once,
// twice the cache's size: a request asked for again within that many
// others is kept. The set is read on every decision, at a bit no other
// decision made ready, and 2^20 bits (128 KB) cost first decisions 30 ns
// more at p50 than these (make bench, three alternated runs each): the
// larger the set, the less of it stays in the CPU's caches.
type doorkeeper struct {
	bits atomic.Pointer[[doorBits / 64]uint64]
}

const (
	doorBits  = 1 << 18 // 32 KB
	doorReset = doorBits / 8
)

// admit reports whether the request keyed k was decided before, since
// the last reset, and remembers that it now was. The bits set are counted
// in the request's shard (set), each shard to its share of doorReset, so
// that concurrent decisions do not all count on one cache line.
func (d *doorkeeper) admit(k urlKey, set *atomic.Int64) bool {
	b := d.bits.Load()
	if b == nil {
		b = new([doorBits / 64]uint64)
		if !d.bits.CompareAndSwap(nil, b) {
			b = d.bits.Load()
		}
	}
	w, m := doorBit(k)
	if atomic.OrUint64(&b[w], m)&m != 0 {
		return true
	}
	if set.Add(1) >= doorReset/cacheShards {
		set.Store(0)
		d.bits.Store(new([doorBits / 64]uint64))
	}
	return false
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
	return &c.shards[k.a%cacheShards]
}

func (c *urlCache) get(k urlKey) (cached, bool) {
	s := c.shard(k)
	s.mu.Lock()
	v, ok := s.lru.Get(k.a)
	s.mu.Unlock()
	return v.cached, ok && v.b == k.b
}

// seen reports whether the request keyed k was decided before, since the
// last reset, without marking it.
func (d *doorkeeper) seen(k urlKey) bool {
	b := d.bits.Load()
	if b == nil {
		return false
	}
	w, m := doorBit(k)
	return atomic.LoadUint64(&b[w])&m != 0
}

// doorBit is the word and the bit of the doorkeeper's set that stand for
// the request keyed k.
func doorBit(k urlKey) (int, uint64) {
	i := k.b & (doorBits - 1)
	return int(i >> 6), 1 << (i & 63)
}

// seen reports whether the cache may keep an answer for the request keyed
// k: whether the doorkeeper has seen it. A request it has not seen is not
// looked up (get): it was never admitted, or it was before a reset, and
// is then decided again once and found from its next decision on. A
// first decision so spares the shard's lock and a map lookup that
// misses, most often in memory the CPU's caches no longer hold. (A test
// the caller makes before get, not a lookup that makes both: that would
// not inline, and every decision would make one more call.)
func (c *urlCache) seen(k urlKey) bool { return c.door.seen(k) }

// keep adds the answer *v for the request keyed k from its second
// decision on (doorkeeper). (*v: the answer is copied only when kept; a
// copy made on every call, of an answer just written field by field,
// waits for those stores.)
func (c *urlCache) keep(k urlKey, v *cached) {
	if c.admit(k) {
		c.add(k, *v)
	}
}

// admit is the doorkeeper's answer for k (doorkeeper.admit).
func (c *urlCache) admit(k urlKey) bool { return c.door.admit(k, &c.shard(k).doorSet) }

func (c *urlCache) add(k urlKey, v cached) {
	s := c.shard(k)
	s.mu.Lock()
	s.lru.Add(k.a, keptAnswer{v, k.b})
	s.mu.Unlock()
}

// len is how many answers the cache keeps.
func (c *urlCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += s.lru.Len()
		s.mu.Unlock()
	}
	return n
}
