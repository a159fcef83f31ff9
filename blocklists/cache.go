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
	e  answer
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
// The second hash is taken only for a request the doorkeeper has seen
// (DecideRequest): a first decision neither looks its request up nor
// holds its answer, and the doorkeeper reads the first hash's bits (its
// high half, and bits the shard and the held set do not use). It was a
// pass of the runtime's hash over the whole request on every decision,
// 116 of a first decision's 3,014 instructions on average over the
// corpus URLs (callgrind, 2026-12-03).
//
// A struct of two words, not an array: Go passes and returns a struct of
// a few words in registers and an array of more than one in memory, and
// a key written to memory as two words and read back as one 16-byte
// copy waits for the writes (the CPU cannot forward two stores to one
// load).
type urlKey struct{ a, b uint64 }

// urlCache is an LRU of full-URL decisions, split into shards so that
// concurrent rewrites rarely wait on the same lock. A request's answer
// reaches the LRU in three steps, so that no decision both matches the
// URL and inserts into the LRU:
//
//   - its first decision matches it and marks it seen (doorkeeper);
//   - its second matches it again and holds the answer (hold), in a
//     slot of a small table with no allocation;
//   - its third takes the held answer and inserts it into the LRU
//     (find), without a match;
//   - from its fourth on, the LRU answers.
//
// An insert into golang-lru's LRU allocates its list entry, inserts into
// its map and, once the cache is full, evicts the oldest answer, whose
// entry and map slot no decision has touched for 16,384 inserts. When a
// second decision made it after its match, second decisions' p99 was
// 0.1–0.3 µs above first decisions', and with the cache full 0.3–1.5 µs
// (make bench, ten runs on a loaded machine, 2026-12-03).
// A hold writes one set of a table whose lines the decision asked for
// before its match (prefetchHeld), so that the write does not wait on
// them.
//
// Each shard is golang-lru's LRU (simplelru) behind a plain mutex, which
// is what golang-lru's locked Cache is, less a read-write lock that its
// Get takes for writing all the same, and the buffers it keeps for an
// eviction callback. With the locked Cache, when every cold decision
// made a lookup and an insert, a cold decision took 40–60 ns more at p50
// (at p99, 0–130 ns more: the runs' spread), a warm one 10 ns more (make
// bench, five alternated runs, 2026-12-03).
type urlCache struct {
	seeds  [2]maphash.Seed
	door   doorkeeper
	shards [cacheShards]cacheShard
}

// cacheShard is one shard of a urlCache, a cache line long, so that two
// shards' locks never share a line. Its held answers are made at its
// first hold, which spares a policy that makes no URL decisions their
// 64 KB a shard, or, for a cache that replaces one that held answers,
// with the cache (prepare); the pointer is read without the lock
// (prefetchHeld), hence atomic. Its padding is worked out from its
// fields' size, which is smaller where pointers take 4 bytes.
type cacheShard struct {
	shardFields
	_ [64 - unsafe.Sizeof(shardFields{})]byte
}

// shardFields are a cacheShard's fields, apart so that its padding can
// be worked out from their size.
type shardFields struct {
	mu      sync.Mutex
	lru     *simplelru.LRU[uint64, keptAnswer]
	held    atomic.Pointer[[heldSets][2]heldAnswer]
	doorSet atomic.Int64 // this shard's requests the doorkeeper marked seen since its reset
	holds   uint32       // this shard's holds, which stamp its held answers (under mu)
}

// A shard holds answers (hold) in sets of two: a request's answer is
// held in one of the two slots of its set (heldSet), as many answers in
// all as its LRU keeps.
//
// A hold takes a free slot of its set, or one whose answer is stale, held
// for more than heldStale of the shard's holds and not asked for since;
// when both of the set's answers are fresh, the new answer is not held,
// and the request is matched again at its next decision, which then tries
// to hold it again. A hold that took the oldest slot whatever its age
// (first in, first out) starved the requests of a set that more than two
// requests share, in turn: in make bench's passes over the corpus URLs,
// a quarter of them were matched at every decision and never reached the
// LRU. A set's answers leave it at their requests' next decisions, so the
// requests left out get their turn: in those passes 9% of third decisions
// were matched again, 0.2% of fourth ones and none after.
const (
	heldSets  = urlCacheSize / cacheShards / 2
	heldStale = 4 * heldSets // twice the shard's slots
)

// heldAnswer is an answer held for its request's next decision, under
// the request's key; a slot whose full is false holds nothing. 64 bytes,
// a cache line, so that a hold writes one line (its fields take 36 bytes
// with pointers of 4 bytes or 8).
type heldAnswer struct {
	k        urlKey
	e        answer
	ok, full bool
	at       uint32 // the shard's holds when held
	_        [28]byte
}

// holds reports whether h holds the answer of the request keyed k.
func (h *heldAnswer) holds(k urlKey) bool { return h.full && h.k == k }

func newURLCache(size int) *urlCache {
	c := &urlCache{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	for i := range c.shards {
		// NewLRU fails only for a size below one.
		c.shards[i].lru, _ = simplelru.NewLRU[uint64, keptAnswer](max(size/cacheShards, 1), nil)
	}
	return c
}

// doorkeeper admits a request to the cache at its second decision (which
// holds its answer; urlCache), as TinyLFU's doorkeeper does: a set of
// bits for the requests decided once. Most
// of the URLs a page loads that are not seen again carry ids, times or
// counters in their queries, and those are also the longest URLs and the
// slowest to decide; their one decision pays no hold, nor, later,
// golang-lru's insert (its list entry, its map insert and, once the cache
// is full, an eviction), nor evicts an answer that will be asked for
// again.
//
// Two bits a request, at the request's second hash (the first picks the
// shard): seen, set at its first decision, and kept, set when its answer
// is held at its second (hold). Only a request marked kept is looked up
// (find): one seen once has no answer in the cache, and its second
// decision spares the shard's lock and a map lookup that would miss. A request
// whose bits another set is admitted at its first decision, or looked
// up in vain, which costs what every decision cost before. The set
// starts again empty once doorReset requests have been marked seen, at
// most a seventh of its pairs, so that fewer than one request in seven
// is admitted early. It is read and set with atomic operations, without
// the shards' locks: two decisions of one request at once may both find
// it unseen, and a reset may lose a bit being set; either only delays an
// admission. A request marked kept whose answer was evicted, or not
// held, is looked up in vain, matched and held again.
//
// 229,376 pairs (64 KB), started again after 32,768 requests decided once,
// twice the cache's size: a request asked for again within that many
// others is held. The set is read on every decision, at a word no other
// decision made ready; the larger the set, the less of it stays in the
// CPU's caches (2^20 bits, one a request, cost first decisions 30 ns
// more at p50 than 2^18 pairs: make bench, three alternated runs each).
//
// A reset (urlCache.admit) clears no bit: each word of the set keeps,
// in its low byte, the low byte of the reset count (epoch) when it was
// last written, and a word written before the last reset reads as empty
// (doorWord). A reset made a new set, 64 KB that the deciding request
// allocated, zeroed and wrote a word of each page of (4–250 µs, 5.5 at
// the median), and since each shard then started its own count again,
// the 16 shards' counts, which reach their shares together, made 16 such
// resets within a few thousand requests every 32,768: 128 in a pass of
// 300,000 new requests (2026-12-03). A set cleared by a goroutine, put
// back when done, still cost the deciding request 6–28 µs, waking a
// thread for it. Now a reset adds one to the epoch, and a pass of
// 300,000 new requests makes 8 (TestDoorkeeperReset). The byte's check
// costs a first decision about 2 ns (the doorkeeper's work on 2^20 new
// requests in a loop: 13.6–15.2 ns a request, against 10.9–13.0 before,
// its resets' allocations included). A word untouched for 256 resets,
// about 8 million new requests, reads its bits again: a request
// admitted early, or looked up in vain.
type doorkeeper struct {
	bits  atomic.Pointer[[doorWords]uint64]
	epoch atomic.Uint32 // the resets so far; a word's low byte is its low byte
}

const (
	doorWords   = 1 << 13 // 64 KB
	doorPerWord = 28      // pairs a word holds, above its epoch byte
	doorPairs   = doorWords * doorPerWord
	doorReset   = doorPairs / 7 // 32,768

	doorSeen = 1 // a request's state (doorkeeper.state): decided once
	doorKept = 2 // its answer held, or kept in the LRU
)

// doorWord is word x of the set as of the epoch e: x, or an empty word
// of e when x was last written before e.
func doorWord(x uint64, e uint32) uint64 {
	if uint8(x) != uint8(e) {
		return uint64(uint8(e))
	}
	return x
}

// state is the doorkeeper's two bits for the request keyed k: doorSeen,
// doorKept, both or neither (0). A request's answer is looked up (find)
// only when it is marked doorKept. (Called as c.door.state: a method of
// urlCache around it would not inline.)
func (d *doorkeeper) state(k urlKey) uint64 {
	b := d.bits.Load()
	if b == nil {
		return 0
	}
	w, sh := doorPair(k)
	x := atomic.LoadUint64(&b[w])
	if uint8(x) != uint8(d.epoch.Load()) {
		return 0 // written before the last reset (doorWord)
	}
	return x >> sh & 3
}

// admit reports whether the answer for the request keyed k, whose state
// was ds, is to be held (urlCache.hold): whether the request was decided
// before, since the last reset (ds not 0). It marks the request seen, or
// seen and kept when admitted; marked reports a request it marked seen,
// which urlCache.admit counts. A request found unseen (ds 0) is not
// admitted even when its bits were set since, by another request or a
// decision of its own at once: its decision took no second hash, which
// a hold keeps.
func (d *doorkeeper) admit(k urlKey, ds uint64) (admitted, marked bool) {
	if ds&doorKept != 0 {
		return true, false // marked kept already
	}
	b := d.bits.Load()
	if b == nil {
		// The first decision that needs the set makes it (unless
		// urlCache.prepare has).
		b = newDoorBits()
		if !d.bits.CompareAndSwap(nil, b) {
			b = d.bits.Load()
		}
	}
	w, sh := doorPair(k)
	e := d.epoch.Load()
	admitted = ds != 0
	for {
		old := atomic.LoadUint64(&b[w])
		x := doorWord(old, e)
		if admitted {
			x |= (doorSeen | doorKept) << sh
		} else {
			x |= doorSeen << sh
		}
		if x == old {
			return admitted, false
		}
		if atomic.CompareAndSwapUint64(&b[w], old, x) {
			return admitted, !admitted
		}
	}
}

// reset starts the set again, empty (doorkeeper).
func (d *doorkeeper) reset() { d.epoch.Add(1) }

// doorPair is the word of the doorkeeper's set that holds the two bits of
// the request keyed k, and their shift in it, both from k.a (k.b is not
// taken for a first decision: urlKey): the word by the low bits of its
// high half, the pair by its low half scaled to the word's 28 (its high
// bits, as a fraction), past the epoch byte. The shard and the held set
// take k.a's low 12 bits, which the pair's scaling hardly reads. (So
// written, state inlines: taking the pair from bits 12–31 put it 2 over
// the compiler's budget, and each decision made a call.)
func doorPair(k urlKey) (int, uint) {
	return int(k.a >> 32 & (doorWords - 1)), 8 + 2*uint(k.a&(1<<32-1)*doorPerWord>>32)
}

// hash is the key's hash i, 0 for urlKey.a and 1 for urlKey.b, of a
// request's bytes (DecideRequest takes the second only for a request the
// doorkeeper has seen).
//
// A hash over 128 bytes is maphash.Comparable's of the bytes as a
// string, which is the hash Go's maps give a string key: one pass of the
// runtime's hash (AES on amd64 and arm64) over the whole request.
// maphash.Bytes, which must equal a Hash fed in pieces, hashes 128 bytes
// a call and chains the calls: its two hashes of a 745-byte request took
// 132 ns, these 36 (60 bytes: 6 against 8 ns; go test -bench, 2026-12-03).
func (c *urlCache) hash(i int, b []byte) uint64 {
	if len(b) <= 128 {
		return maphash.Bytes(c.seeds[i&1], b)
	}
	return hashLong(c.seeds[i&1], b)
}

func (c *urlCache) shard(k urlKey) *cacheShard {
	return &c.shards[k.a%cacheShards]
}

// admit is the doorkeeper's answer for k, whose state was ds
// (doorkeeper.admit): whether to hold its answer. The requests marked
// seen are counted in the request's shard (doorSet), so that concurrent
// decisions do not all count on one cache line; when a shard's count
// reaches its share of doorReset, the set starts again, and every
// shard's count with it.
func (c *urlCache) admit(k urlKey, ds uint64) bool {
	admitted, marked := c.door.admit(k, ds)
	if marked && c.shard(k).doorSet.Add(1) >= doorReset/cacheShards {
		for i := range c.shards {
			c.shards[i].doorSet.Store(0)
		}
		c.door.reset()
	}
	return admitted
}

// find looks the request keyed k up, and writes its answer to out: the
// answer kept in the LRU, or else the one held for it (hold), which it
// then moves into the LRU; both under one hold of the shard's lock.
func (c *urlCache) find(k urlKey, out *cached) bool {
	s := c.shard(k)
	s.mu.Lock()
	v, ok := s.lru.Get(k.a)
	ok = ok && v.b == k.b
	if !ok {
		if h := s.heldFor(k); h != nil {
			h.full = false
			v, ok = keptAnswer{cached{h.e, h.ok}, k.b}, true
			s.lru.Add(k.a, v)
		}
	}
	if ok {
		setAnswer(&out.e, &v.e)
		out.ok = v.ok
	}
	s.mu.Unlock()
	return ok
}

// heldFor returns the slot that holds the answer of the request keyed k,
// or nil. The shard's lock must be held.
func (s *cacheShard) heldFor(k urlKey) *heldAnswer {
	if held := s.held.Load(); held != nil {
		set := &held[heldSet(k)]
		for i := range set {
			if set[i].holds(k) {
				return &set[i]
			}
		}
	}
	return nil
}

// hold holds the answer (e, ok) of the request keyed k for its next
// decision, which moves it into the LRU (find): in the slot of its set
// that held it already, or a free or stale one, or, when the set's two
// answers are fresh, not at all (heldSets).
func (c *urlCache) hold(k urlKey, e *answer, ok bool) {
	s := c.shard(k)
	s.mu.Lock()
	held := s.held.Load()
	if held == nil {
		held = newHeld()
		s.held.Store(held)
	}
	s.holds++
	set := &held[heldSet(k)]
	var h *heldAnswer
	for i := range set {
		x := &set[i]
		if x.holds(k) {
			h = x
			break
		}
		if h == nil && (!x.full || s.holds-x.at > heldStale) {
			h = x
		}
	}
	if h != nil {
		h.k, h.full, h.at = k, true, s.holds
		setAnswer(&h.e, e)
		h.ok = ok
	}
	s.mu.Unlock()
}

// prefetchHeld asks the CPU for the lines of the set where a hold of the
// request keyed k would write, and goes on without them. A decision
// about to match a request it will hold calls it first, so that the
// lines arrive during the match; a hold that found them cold waited
// for them at the lock's release, which waits for every store before
// it. Without it, second decisions took 70–340 ns more than first ones
// at p50 (120–140 in the quietest run), with it 20–130 (40–50):
// alternated rounds in one process, three runs, 2026-12-03.
func (c *urlCache) prefetchHeld(k urlKey) {
	if held := c.shard(k).held.Load(); held != nil {
		prefetchLines(unsafe.Pointer(&held[heldSet(k)]))
	}
}

// holding reports whether any shard of c has held an answer.
func (c *urlCache) holding() bool {
	for i := range c.shards {
		if c.shards[i].held.Load() != nil {
			return true
		}
	}
	return false
}

// prepare makes every shard's held answers and the doorkeeper's bits now,
// off the decisions' path. Each is made by the first decision that needs
// it, 64 KB of zeroed memory that decision waited for: a shard's held
// answers at its first hold, which then took 5–6.5 µs where a hold takes
// 50–60 ns, and the doorkeeper's bits at the first decision. After each
// list load that was 17 of the first decisions of make bench's pass over
// the corpus URLs (16 shards, and the doorkeeper), all among the 1%
// slowest. SetDB calls it for a cache that replaces one that held
// answers, so that a policy that decides URLs pays it at its list loads,
// and one that does not still pays nothing.
//
// The tables are made by newHeld and newDoorBits, which write a word of
// each page: without the writes, the decisions' holds met the pages'
// faults instead, 16 a shard, and first decisions' p99 was 80–340 ns
// higher than when each shard made its own, where with them it is 0–60
// ns lower (alternated rounds in one process, three runs each,
// 2026-12-03).
func (c *urlCache) prepare() {
	for i := range c.shards {
		if c.shards[i].held.Load() == nil {
			c.shards[i].held.Store(newHeld())
		}
	}
	c.door.bits.CompareAndSwap(nil, newDoorBits())
}

// newHeld returns a shard's held answers, their pages mapped (touchPages).
func newHeld() *[heldSets][2]heldAnswer {
	h := new([heldSets][2]heldAnswer)
	touchPages(unsafe.Pointer(h), unsafe.Sizeof(*h))
	return h
}

// newDoorBits returns a doorkeeper's bits, their pages mapped (touchPages).
func newDoorBits() *[doorWords]uint64 {
	b := new([doorWords]uint64)
	touchPages(unsafe.Pointer(b), unsafe.Sizeof(*b))
	return b
}

// touchPages writes a zero byte at the start of each 4 KB page of the n
// bytes at p, memory just allocated and zero, so that the system maps
// the pages now: memory fresh from it is mapped at its first write,
// which would otherwise fall to whichever decision writes there first.
func touchPages(p unsafe.Pointer, n uintptr) {
	for off := uintptr(0); off < n; off += 4096 {
		*(*byte)(unsafe.Add(p, off)) = 0
	}
}

// heldSet is the set of its shard that holds the request keyed k: the
// first hash's bits above those that pick the shard.
func heldSet(k urlKey) uint64 { return k.a / cacheShards % heldSets }

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
