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
// the generic one. Two requests share a key only if both hashes
// collide, which for 2^14 kept keys happens about once in 2^114
// lookups, and the seeds are secret to the process, so a page cannot aim
// for a collision.
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
// eviction callback. A request's second decision makes an insert, and
// each later one a lookup: with the locked Cache, when every cold
// decision made a lookup and an insert, a cold decision took 40–60 ns
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
	doorSet atomic.Int64 // this shard's requests the doorkeeper marked seen since its reset
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
// TinyLFU's doorkeeper does: a set of bits for the requests decided once. Most
// of the URLs a page loads that are not seen again carry ids, times or
// counters in their queries, and those are also the longest URLs and the
// slowest to decide; their first decision no longer pays golang-lru's
// insert (its list entry, its map insert and, once the cache is full, an
// eviction), nor evicts an answer that will be asked for again.
//
// Two bits a request, at the request's second hash (the first picks the
// shard): seen, set at its first decision, and kept, set when its answer
// is added at its second. Only a request marked kept is looked up (get):
// one seen once has no answer in the cache, and its second decision
// spares the shard's lock and a map lookup that would miss. A request
// whose bits another set is admitted at its first decision, or looked
// up in vain, which costs what every decision cost before. The set
// starts again empty once doorReset requests have been marked seen, at
// most an eighth of its pairs, so that fewer than one request in eight
// is admitted early. It is read and set with atomic operations, without
// the shards' locks: two decisions of one request at once may both find
// it unseen, and a reset may lose a bit being set; either only delays an
// admission. A request marked kept whose answer was evicted is looked up
// in vain, matched and added again.
//
// 2^18 pairs (64 KB), started again after 32,768 requests decided once,
// twice the cache's size: a request asked for again within that many
// others is kept. The set is read on every decision, at a word no other
// decision made ready; the larger the set, the less of it stays in the
// CPU's caches (2^20 bits, one a request, cost first decisions 30 ns
// more at p50 than 2^18: make bench, three alternated runs each).
type doorkeeper struct {
	bits atomic.Pointer[[doorWords]uint64]
}

const (
	doorPairs = 1 << 18
	doorWords = doorPairs / 32 // 64 KB
	doorReset = doorPairs / 8

	doorSeen = 1 // a request's state (doorkeeper.state): decided once
	doorKept = 2 // its answer added to the cache
)

// state is the doorkeeper's two bits for the request keyed k: doorSeen,
// doorKept, both or neither (0).
func (d *doorkeeper) state(k urlKey) uint64 {
	b := d.bits.Load()
	if b == nil {
		return 0
	}
	w, sh := doorPair(k)
	return atomic.LoadUint64(&b[w]) >> sh & 3
}

// admit reports whether the answer for the request keyed k, whose state
// was ds, is to be added to the cache: whether the request was decided
// before, since the last reset. It marks the request seen, or kept when
// admitted. The requests marked seen are counted in the request's shard
// (set), each shard to its share of doorReset, so that concurrent
// decisions do not all count on one cache line.
func (d *doorkeeper) admit(k urlKey, ds uint64, set *atomic.Int64) bool {
	b := d.bits.Load()
	if b == nil {
		b = new([doorWords]uint64)
		if !d.bits.CompareAndSwap(nil, b) {
			b = d.bits.Load()
		}
	}
	w, sh := doorPair(k)
	if ds == 0 {
		if atomic.OrUint64(&b[w], doorSeen<<sh)>>sh&doorSeen == 0 {
			if set.Add(1) >= doorReset/cacheShards {
				set.Store(0)
				d.bits.Store(new([doorWords]uint64))
			}
			return false
		}
	}
	if ds&doorKept == 0 {
		atomic.OrUint64(&b[w], doorKept<<sh)
	}
	return true
}

// doorPair is the word of the doorkeeper's set that holds the two bits of
// the request keyed k, and their shift in it.
func doorPair(k urlKey) (int, uint) {
	i := k.b & (doorPairs - 1)
	return int(i >> 5), uint(i&31) * 2
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

// state is the doorkeeper's state of the request keyed k: its answer is
// looked up (get) only when it is marked doorKept.
func (c *urlCache) state(k urlKey) uint64 { return c.door.state(k) }

// admit is the doorkeeper's answer for k, whose state was ds
// (doorkeeper.admit): whether to add its answer.
func (c *urlCache) admit(k urlKey, ds uint64) bool {
	return c.door.admit(k, ds, &c.shard(k).doorSet)
}

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
