package blocklists

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// key is the whole key of a request's bytes, both hashes, as
// DecideRequest takes it for a request the doorkeeper has seen.
func (c *urlCache) key(b []byte) urlKey { return urlKey{c.hash(0, b), c.hash(1, b)} }

// TestURLCache checks the decision cache: a key added is found with its
// answer, each shard keeps at most its share (the least recently used
// key goes first), a key that shares its first hash with another is
// told from it by its second, concurrent lookups and inserts from several goroutines
// each see their own answers, and a shard fills one cache line.
func TestURLCache(t *testing.T) {
	const size = 64 * cacheShards
	c := newURLCache(size)
	valueOf := func(i int) cached {
		return cached{e: testAnswer(Entry{Vendor: fmt.Sprint(i), Category: "analytics"}), ok: true}
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

	// A shard's map is keyed by the first hash alone: a key that shares
	// it with a kept one but not the second hash is not that key.
	k1 := key(7)
	k2 := urlKey{k1.a, k1.b ^ 1}
	c.add(k1, valueOf(1))
	if v, ok := c.get(k2); ok {
		t.Fatalf("a key that shares the first hash of a kept key answered %+v", v)
	}
	c.add(k2, valueOf(2))
	if v, ok := c.get(k1); ok {
		t.Fatalf("a key whose first hash another key took over answered %+v", v)
	}
	if v, ok := c.get(k2); !ok || v != valueOf(2) {
		t.Fatalf("the key added last under a shared first hash: %+v %v", v, ok)
	}

	if n := unsafe.Sizeof(cacheShard{}); n != 64 {
		t.Errorf("a cache shard is %d bytes, not a cache line", n)
	}
	if n := unsafe.Sizeof(heldAnswer{}); n != 64 {
		t.Errorf("a held answer is %d bytes, not a cache line", n)
	}
}

// add puts v into the LRU under k, as find does with a held answer.
func (c *urlCache) add(k urlKey, v cached) {
	s := c.shard(k)
	s.mu.Lock()
	s.lru.Add(k.a, keptAnswer{v, k.b})
	s.mu.Unlock()
}

// get is find's answer for k, as two results.
func (c *urlCache) get(k urlKey) (cached, bool) {
	var r cached
	ok := c.find(k, &r)
	return r, ok
}

// TestHeld checks the answers held between a request's second and third
// decisions: find moves a held answer into the LRU and frees its slot; a
// key is answered only by its own slot; a set whose two answers are
// fresh holds no third, but a stale answer gives up its slot; a key held
// again takes its own slot; and concurrent holds and finds each see their
// own answers.
func TestHeld(t *testing.T) {
	c := newURLCache(urlCacheSize)
	key := func(i int) urlKey { return c.key([]byte(fmt.Sprintf("https://t.example/%d", i))) }
	valueOf := func(i int) cached {
		return cached{e: testAnswer(Entry{Vendor: fmt.Sprint(i), Category: "analytics", fromList: i%2 == 0}), ok: true}
	}
	hold := func(c *urlCache, k urlKey, i int) {
		v := valueOf(i)
		c.hold(k, &v.e, v.ok)
	}
	// wantAnswer fails the test unless c answers k with valueOf(i).
	wantAnswer := func(c *urlCache, k urlKey, i int, what string) {
		t.Helper()
		if v, ok := c.get(k); !ok || v != valueOf(i) {
			t.Fatalf("%s: %+v %v, want %+v", what, v, ok, valueOf(i))
		}
	}
	// Keys that share k0's shard and set, and keys of its shard in other
	// sets.
	k0 := key(0)
	var same, others []urlKey
	for i := 1; len(same) < 3 || len(others) < heldStale+1; i++ {
		switch k := key(i); {
		case c.shard(k) != c.shard(k0):
		case heldSet(k) == heldSet(k0):
			same = append(same, k)
		default:
			others = append(others, k)
		}
	}
	a, b, x := same[0], same[1], same[2]
	hold(c, a, 1)
	if n := c.len(); n != 0 {
		t.Fatalf("a held answer is in the LRU: it keeps %d", n)
	}
	if _, ok := c.get(b); ok {
		t.Fatal("a key of the same set, not held, is answered")
	}
	wantAnswer(c, a, 1, "the held key")
	if n, in := c.len(), heldCount(c, a); n != 1 || in != 0 {
		t.Fatalf("after the held answer was found the LRU keeps %d answers and its set %d of the key's, want 1 and 0", n, in)
	}
	wantAnswer(c, a, 1, "the key moved into the LRU")

	// A set of two fresh answers holds no third; a key held again takes
	// its own slot.
	c = newURLCache(urlCacheSize)
	hold(c, a, 1)
	hold(c, b, 2)
	hold(c, x, 3)
	if _, ok := c.get(x); ok {
		t.Fatal("a third key took the slot of a fresh answer")
	}
	hold(c, a, 4)
	if in := heldCount(c, a); in != 1 {
		t.Fatalf("a key held twice is in %d slots of its set", in)
	}
	wantAnswer(c, b, 2, "the other key of the set, after the first was held again")
	wantAnswer(c, a, 4, "the key held again")

	// An answer held for more than heldStale of its shard's holds gives
	// up its slot; one held for fewer does not.
	c = newURLCache(urlCacheSize)
	hold(c, a, 1)
	hold(c, b, 2)
	for _, k := range others[:heldStale-2] {
		hold(c, k, 5)
	}
	hold(c, x, 3)
	if _, ok := c.get(x); ok {
		t.Fatalf("a key took a slot held for %d holds, not more than %d", heldStale-1, heldStale)
	}
	for _, k := range others[heldStale-2:] {
		hold(c, k, 5)
	}
	hold(c, x, 3)
	wantAnswer(c, x, 3, "the key held after the set's answers went stale")
	if _, okA := c.get(a); okA {
		if _, okB := c.get(b); okB {
			t.Fatal("both stale answers are still held beside the new one")
		}
	}

	// Concurrently: each goroutine holds and finds keys of its own, in
	// shared sets, and finds only its own answers.
	d := newURLCache(urlCacheSize)
	concurrently(t, 8, func(g int) error {
		for i := range 5000 {
			n := g*1_000_000 + i%700
			k := d.key([]byte(fmt.Sprint(n)))
			if v, ok := d.get(k); ok && v != valueOf(n) {
				return fmt.Errorf("key %d answered %+v", n, v)
			}
			hold(d, k, n)
			d.prefetchHeld(k)
		}
		return nil
	})
}

// TestHeldMadeAtLoad checks when a policy's held answers are made: a
// policy that has decided no URL has none, a shard makes its own at its
// first hold, and a cache that replaces one that held answers (SetDB, at
// a list load) has every shard's made with it, and the doorkeeper's
// bits, so that no decision makes them.
func TestHeldMadeAtLoad(t *testing.T) {
	var p Policy
	p.SetDB(NewDB())
	p.SetDB(NewDB())
	c := p.state.Load().cache
	if c.holding() {
		t.Fatal("a policy that decided no URL made held answers at its list load")
	}
	v := cached{e: testAnswer(Entry{Category: "analytics"}), ok: true}
	k := c.key([]byte("https://t.example/1"))
	c.hold(k, &v.e, v.ok)
	made := 0
	for i := range c.shards {
		if c.shards[i].held.Load() != nil {
			made++
		}
	}
	if made != 1 {
		t.Fatalf("one hold made %d shards' held answers, want its own shard's alone", made)
	}
	p.SetDB(NewDB())
	c = p.state.Load().cache
	for i := range c.shards {
		if c.shards[i].held.Load() == nil {
			t.Fatalf("shard %d of the cache that replaced one that held answers has none made", i)
		}
	}
	if c.door.bits.Load() == nil {
		t.Fatal("the cache that replaced one that held answers has no doorkeeper bits made")
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
		if k := c.key(bytes.Repeat([]byte{'u'}, n)); k.a == k.b {
			t.Fatalf("%d bytes: the key's two hashes are equal (%x): one seed for both", n, k.a)
		}
	}
}

// TestDoorkeeper checks the admission of requests to the cache: a key is
// admitted from its second sight, others are not by its sight, the bits
// start again once a shard has set its share, and concurrent sights of
// the same keys admit each key by its second at the latest.
func TestDoorkeeper(t *testing.T) {
	c := newURLCache(64 * cacheShards)
	key := func(i int) urlKey { return c.key([]byte(fmt.Sprintf("https://t.example/%d", i))) }
	// A sight is a decision of k that the cache does not answer.
	sight := func(c *urlCache, k urlKey) bool { return c.admit(k, c.door.state(k)) }
	early := 0
	for i := range 1000 {
		if sight(c, key(i)) {
			early++ // its bit set by another key
		}
		if !sight(c, key(i)) {
			t.Fatalf("key %d not admitted at its second sight", i)
		}
	}
	// The two bits of a key: seen at its first sight, kept from its
	// second (in a cache of its own, whose bits no other key set).
	one := newURLCache(64 * cacheShards)
	k1 := one.key([]byte("https://t.example/one"))
	for n, want := range []uint64{doorSeen, doorSeen | doorKept, doorSeen | doorKept} {
		admitted := sight(one, k1)
		if got := one.door.state(k1); got != want || admitted != (n > 0) {
			t.Errorf("after sight %d: state %b, admitted %v; want %b, %v", n+1, got, admitted, want, n > 0)
		}
	}
	// A request found unseen is not admitted, though its bits are set
	// before its decision ends (here by another decision of it, at
	// once): that decision took no second hash, which a hold keeps
	// (urlKey).
	two := newURLCache(64 * cacheShards)
	k2 := two.key([]byte("https://t.example/two"))
	ds := two.door.state(k2)
	sight(two, k2)
	if ds != 0 || two.admit(k2, ds) {
		t.Error("a request found unseen is admitted once another decision has marked it seen")
	}
	if early > 10 {
		t.Errorf("%d of 1,000 keys admitted at their first sight: the bits are too few or too full", early)
	}
	// A shard's share of set bits starts the set again: a key seen before
	// is then unknown.
	k := key(0)
	set := &c.shard(k).doorSet
	set.Store(doorReset/cacheShards - 1)
	sight(c, key(1_000_001)) // a new key: the bit it sets is the share's last, whatever its shard
	for i := 1_000_002; set.Load() != 0 && i < 1_100_000; i++ {
		if kk := key(i); c.shard(kk) == c.shard(k) {
			sight(c, kk)
		}
	}
	if set.Load() != 0 {
		t.Fatal("the shard's count did not start again")
	}
	if sight(c, k) {
		t.Error("a key seen before the bits started again is admitted at its first sight after")
	}

	// Concurrently: every key admitted by its second sight in each
	// goroutine, whichever goroutine saw it first.
	d := newURLCache(64 * cacheShards)
	concurrently(t, 8, func(g int) error {
		for i := range 3000 {
			kk := d.key([]byte(fmt.Sprintf("https://t.example/%d", i%500)))
			sight(d, kk)
			if !sight(d, kk) {
				return fmt.Errorf("key %d not admitted at its second sight", i%500)
			}
		}
		return nil
	})
}

// TestDoorkeeperReset checks that the doorkeeper's set starts again once
// in each doorReset requests decided once, not once for each shard's
// count, and that a reset allocates nothing, where it made a new set of
// 64 KB 16 times every 32,768 requests.
func TestDoorkeeperReset(t *testing.T) {
	c := newURLCache(urlCacheSize)
	c.prepare()
	const n = 300_000
	for i := range n {
		k := c.key([]byte(fmt.Sprintf("https://t.example/%d", i)))
		c.admit(k, c.door.state(k))
	}
	// Each shard counts its share of doorReset, and the first to reach
	// it starts the set again, a little before doorReset requests; a
	// request whose bits another set is admitted, not counted.
	if got, lo, hi := c.door.epoch.Load(), uint32(n/doorReset/2), uint32(n/doorReset+1); got < lo || got > hi {
		t.Errorf("%d new requests made %d resets, want %d to %d", n, got, lo, hi)
	}
	// A reset: a shard's count one short of its share, and a request it
	// has not seen.
	var keys []urlKey
	for i := 0; len(keys) < 200; i++ {
		if k := c.key([]byte(fmt.Sprintf("https://u.example/%d", i))); k.a%cacheShards == 0 {
			keys = append(keys, k)
		}
	}
	// From an empty set: in the last epoch of the loop above up to a
	// seventh of the pairs are marked, and a key that found its pair
	// marked was admitted, not counted, so no reset came of it (two such
	// keys in a row failed this test about once in thirty runs).
	c.door.reset()
	j := 0
	before := c.door.epoch.Load()
	allocs := testing.AllocsPerRun(100, func() {
		c.shards[0].doorSet.Store(doorReset/cacheShards - 1)
		k := keys[j]
		j++
		c.admit(k, c.door.state(k))
	})
	if resets := c.door.epoch.Load() - before; resets < 100 {
		t.Fatalf("%d resets in 101 runs that each end a shard's share", resets)
	}
	if allocs != 0 {
		t.Errorf("a reset allocates %v times", allocs)
	}
}

// TestDecideAllocs checks that a URL decision allocates nothing, first
// (matched) or later (held, kept, answered by the LRU), for URLs short
// and long: the key is built on the stack up to keyStack bytes, with the
// room lower-casing takes past its end (lowerPadded), and beyond that in
// a pooled buffer, grown once. Paths of 462 and 463 bytes make keys of
// 512 and 513 with that room: the last on the stack and the first
// pooled. Whatever of the request the match lets escape (the URL a regex
// rule matches, the page host the fallback memo keeps) takes the key on
// the stack to the heap, and fails it at every size.
func TestDecideAllocs(t *testing.T) {
	db, _, err := ParseList(bytes.NewReader([]byte("/pixel/track^\n||ads.example^\n")), "t.txt", FormatABP, "advertising")
	if err != nil {
		t.Fatal(err)
	}
	p := NewPolicy(db)
	// With -tags purego the standard library's maphash is its Go
	// version, whose Comparable (the key of a request over 128 bytes)
	// allocates: there the long paths are not checked.
	sizes := []int{40, 462, 463, 900}
	if need := keyRoom("shop.example", "https", "cdn.example", strings.Repeat("x", 462), ""); need != keyStack {
		t.Fatalf("a path of 462 bytes makes a key of %d bytes with its room, where the stack holds %d: the sizes miss the boundary", need, keyStack)
	}
	long := strings.Repeat("x", 200)
	if n := testing.AllocsPerRun(10, func() { maphash.Comparable(maphash.MakeSeed(), long) }); n != 0 {
		t.Logf("maphash.Comparable allocates %v times in this build: paths over 128 bytes not checked", n)
		sizes = sizes[:1]
	}
	for _, size := range sizes {
		var paths []string
		for i := range 300 {
			pre := fmt.Sprintf("/Pixel/Track/%d?x=", i)
			paths = append(paths, pre+strings.Repeat("A", max(size-len(pre), 0)))
		}
		i := 0
		first := testing.AllocsPerRun(100, func() {
			p.DecideRequest("shop.example", "https", "cdn.example", paths[i], "", TypeImage)
			i++
		})
		later := testing.AllocsPerRun(100, func() {
			p.DecideRequest("shop.example", "https", "cdn.example", paths[0], "", TypeImage)
		})
		if first != 0 || later != 0 {
			t.Errorf("paths of %d bytes: a first decision allocates %v times, a later one %v", size, first, later)
		}
	}
}

// TestDecideAdmits checks that DecideRequest holds a URL's answer from
// its second decision and keeps it from its third, answers the third
// with the held answer and the fourth from the LRU, with the same
// verdict each time, matches a request at its second decision without
// looking it up, and matches a request the doorkeeper has not seen since
// its reset without looking it up.
func TestDecideAdmits(t *testing.T) {
	db, _, err := ParseList(bytes.NewReader([]byte("/pixel/track^\n")), "t.txt", FormatABP, "analytics")
	if err != nil {
		t.Fatal(err)
	}
	p := NewPolicy(db)
	c := p.state.Load().cache
	decide := func(p *Policy, host string) Verdict {
		return p.DecideRequest("shop.example", "https", host, "/pixel/track", "x=1", TypeImage)
	}
	// The key as DecideRequest digests the request: its type, the page
	// host, a zero byte and the URL (checked below, where the answer held
	// under it must be the second decision's).
	keyOf := func(c *urlCache, host string) urlKey {
		return c.key([]byte("\x02\x00shop.example\x00https://" + host + "/pixel/track?x=1"))
	}
	k := keyOf(c, "cdn.example")
	var verdicts []Verdict
	for sight, want := range []struct{ held, kept int }{{0, 0}, {1, 0}} {
		verdicts = append(verdicts, decide(p, "cdn.example"))
		if n, m := heldCount(c, k), c.len(); n != want.held || m != want.kept {
			t.Errorf("after decision %d the request's answer is held %d times and the LRU keeps %d answers, want %d and %d", sight+1, n, m, want.held, want.kept)
		}
	}
	// Which decisions the cache answers shows once the rules change under
	// it (as no caller changes them: SetDB makes a fresh cache): an
	// exception merged in is seen by a decision that matches, not by one
	// the cache answers, held or kept.
	except, _, err := ParseList(bytes.NewReader([]byte("@@/pixel/track^\n")), "x.txt", FormatABP, "analytics")
	if err != nil {
		t.Fatal(err)
	}
	db.Merge(except)
	verdicts = append(verdicts, decide(p, "cdn.example"))
	if n, m := heldCount(c, k), c.len(); n != 0 || m != 1 {
		t.Errorf("after the third decision the answer is held %d times and the LRU keeps %d, want 0 and 1", n, m)
	}
	verdicts = append(verdicts, decide(p, "cdn.example"))
	for i, v := range verdicts {
		if v != verdicts[0] || v.Action != p.action("analytics") {
			t.Errorf("decision %d: %+v, want the list's block, as the first decision's %+v", i+1, v, verdicts[0])
		}
	}
	// A request decided once is not looked up at its second decision:
	// an answer put in the LRU under its key is not the one given, and
	// the answer held under that key is the second decision's.
	q := NewPolicy(db)
	qc := q.state.Load().cache
	decide(q, "other.example")
	planted := cached{e: testAnswer(Entry{Vendor: "planted", Category: "advertising"}), ok: true}
	pk := keyOf(qc, "other.example")
	qc.add(pk, planted)
	if v := decide(q, "other.example"); v.Vendor == "planted" {
		t.Errorf("the second decision %+v is the answer put in the cache: a request decided once was looked up", v)
	}
	if n := heldCount(qc, pk); n != 1 {
		t.Fatalf("under the key the test built %d answers are held, not the second decision's: the key is not the request's", n)
	}
	// After the doorkeeper starts again, a request it has not seen since
	// is not looked up: it is matched once more.
	c.door.reset()
	if v := decide(p, "cdn.example"); v.Action != ActionKeep {
		t.Errorf("the decision after a reset %+v, want the exception's keep (matched again)", v)
	}
}

// heldCount is how many of the slots of k's set hold k's answer.
func heldCount(c *urlCache, k urlKey) int {
	held := c.shard(k).held.Load()
	if held == nil {
		return 0
	}
	set, n := &held[heldSet(k)], 0
	for i := range set {
		if set[i].holds(k) {
			n++
		}
	}
	return n
}

// testAnswer is e as an answer. It interns e's names through a DB of
// its own: the tests call it from several goroutines at once, and a DB,
// which is built by one, keeps the last name it interned unguarded (a
// shared one gave TestHeld's goroutines each other's names, about once
// in three hundred runs; go test -race told why).
func testAnswer(e Entry) answer {
	var db DB
	return db.answerOf(e)
}
