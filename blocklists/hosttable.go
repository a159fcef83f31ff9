package blocklists

import (
	"math/bits"
	"math/rand/v2"
	"slices"
	"unsafe"
)

// hostTable maps host names to their nodes. It is the map of every host
// decision, which looks up two or three suffixes of a host, most of them
// absent; a Go map's lookups were two fifths of a host decision in its
// profile, on a table of tens of thousands of hosts. This one probes
// 8-byte slots, each a tag of the key's hash and the index of a dense
// entry, so an absent key is told by the slots alone and only a tag that
// matches reads the key. Its hash takes a string's 8-byte words from the
// end, so the suffixes of a host share their common words: a walk over
// them (deepest) hashes the host once, where the runtime's hash would
// start again for each suffix.
//
// It grows by doubling and never deletes (a DB only adds and updates).
// Entries keep their order of insertion. The zero table is empty and
// ready for use; like a map, it is safe for concurrent readers but not
// for a writer beside them.
type hostTable struct {
	k0, k1, k2 uint64     // the hash's keys, random for each table
	slots      []hostSlot // a power of two long, at most half full; nil when empty
	keys       []string
	nodes      []node
	// filter has a bit set for the tag of each key (its low bits): a
	// suffix whose bit is clear is absent, told without reading its slot.
	// It is 4 bits a slot, 8–16 a key, 128 KB for the 97,579 hosts of
	// the embedded database with EasyPrivacy and EasyList, small enough
	// to stay in the CPU's caches where the slots (2 MB) are not: a walk
	// over a host the table does not know mostly reads no slot.
	filter []uint64
	fmask  uint32 // len(filter)*64 - 1
}

// hostSlot is a slot of a hostTable: idx is 1 + the entry's index (0 for
// a free slot), tag the high half of the key's hash.
type hostSlot struct {
	tag, idx uint32
}

// newHostTable returns a table sized for n hosts.
func newHostTable(n int) hostTable {
	t := hostTable{k0: rand.Uint64(), k1: rand.Uint64(), k2: rand.Uint64()}
	if n > 0 {
		t.keys, t.nodes = make([]string, 0, n), make([]node, 0, n)
		t.resize(n)
	}
	return t
}

// resize makes room for n entries, at most half the slots, and files the
// entries again.
func (t *hostTable) resize(n int) {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	t.slots = make([]hostSlot, size)
	t.filter, t.fmask = make([]uint64, size/16), uint32(size*4-1)
	mask := uint64(size - 1)
	for j, k := range t.keys {
		// (The keys are spread over the heap: see fetchAhead.)
		if j+fetchAhead < len(t.keys) {
			prefetchString(t.keys[j+fetchAhead])
		}
		x := t.hash(k)
		i := x & mask
		for t.slots[i].idx != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = hostSlot{tag: uint32(x >> 32), idx: uint32(j + 1)}
		t.mark(x)
	}
}

// mark sets the filter's bit for the hash x.
func (t *hostTable) mark(x uint64) {
	w, m := t.filterBit(x)
	t.filter[w] |= m
}

// filterBit is the word of the filter and the bit in it for the hash x:
// its tag's low bits.
func (t *hostTable) filterBit(x uint64) (int, uint64) {
	f := uint32(x>>32) & t.fmask
	return int(f >> 6), 1 << (f & 63)
}

// get returns host's node.
func (t *hostTable) get(host string) (node, bool) {
	if j := t.index(host); j >= 0 {
		return t.nodes[j], true
	}
	return node{}, false
}

// index returns the index of host's entry, or -1.
func (t *hostTable) index(host string) int {
	if len(t.slots) == 0 {
		return -1
	}
	// The filter tells most absent hosts without a read of the slots,
	// which the table's size keeps out of the CPU's caches: Freeze asks
	// for every parent of every host, most of them absent, and took 34–37
	// ms with this test against 40–42 without (builtin + EasyPrivacy +
	// EasyList, alternated in one process, 2026-12-03).
	x := t.hash(host)
	if !t.maybe(x) {
		return -1
	}
	_, j := t.probe(host, x)
	return j
}

// probe looks for host, whose hash is x, from x's slot on: it returns the
// index of host's entry, or -1 and the free slot where host would go. The
// table must have slots.
func (t *hostTable) probe(host string, x uint64) (free uint64, j int) {
	mask, tag := uint64(len(t.slots)-1), uint32(x>>32)
	for i := x & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s.idx == 0 {
			return i, -1
		}
		if s.tag == tag && t.keys[s.idx-1] == host {
			return i, int(s.idx - 1)
		}
	}
}

// ref returns host's node to change, adding an empty one if it has none.
// The pointer is good until the next ref.
func (t *hostTable) ref(host string) *node {
	t.ready()
	return t.refHashed(host, t.hash(host))
}

// ready gives an empty table its first slots, which hash and prefetch
// need.
func (t *hostTable) ready() {
	if t.slots == nil {
		*t = newHostTable(8)
	}
}

// reserve makes room for n more entries, so that adding them resizes
// the table at most once, here.
func (t *hostTable) reserve(n int) {
	if t.slots == nil { // empty
		*t = newHostTable(n)
		return
	}
	if total := len(t.keys) + n; 2*total > len(t.slots) {
		t.keys, t.nodes = slices.Grow(t.keys, n), slices.Grow(t.nodes, n)
		t.resize(total)
	}
}

// fetchAhead is how many hosts ahead a pass over a table's hosts (resize,
// DB.Freeze, DB.Merge) asks the CPU for what it will read of them: their
// keys are strings spread over the heap, and their slots lie at random in
// a table too large for the CPU's caches, so that a pass waited on
// memory at each host.
const fetchAhead = 8

// prefetchString asks the CPU for the first bytes of s, and goes on
// without waiting for them.
func prefetchString(s string) {
	prefetchLines(unsafe.Pointer(unsafe.StringData(s)))
}

// prefetch asks the CPU for the slots where a probe for a key hashed x
// starts, and goes on without waiting for them. The table must have
// slots.
func (t *hostTable) prefetch(x uint64) {
	prefetchLines(unsafe.Pointer(&t.slots[x&uint64(len(t.slots)-1)]))
}

// refHashed is ref for a host whose hash is x. The table must have slots.
func (t *hostTable) refHashed(host string, x uint64) *node {
	i, j := t.probe(host, x)
	if j >= 0 {
		return &t.nodes[j]
	}
	t.keys, t.nodes = append(t.keys, host), append(t.nodes, node{})
	n := len(t.keys)
	if 2*n > len(t.slots) {
		t.resize(n)
	} else {
		t.slots[i] = hostSlot{tag: uint32(x >> 32), idx: uint32(n)}
		t.mark(x)
	}
	return &t.nodes[n-1]
}

// deepest returns the index of the entry of host's longest suffix in the
// table: host itself, or host after one of its dots but for the last (a
// bare top-level domain is never looked up); -1 when there is none. It
// reads the host in the hash's words, from the end, finds the dots in
// each word at once, and finishes the hash's chain at each label (final):
// a suffix that starts in the word [e-8, e) has the words from e on as
// its whole words, and host[p:e] as its head. The walk goes from the last
// two labels to the whole host, so a later candidate is a deeper one.
//
// The walk compares tags only (candidate), and the deepest candidate's
// key is compared once, after it: a call in the loop, to compare keys,
// would have the compiler keep the loop's values on the stack. When that
// key is not the suffix's, a tag matched by chance, and the walk is done
// again with keys compared at each suffix (deepestExact). recs are the
// records of a frozen DB's hosts (hostRec), in which the key is compared
// (isKey), or nil.
func (t *hostTable) deepest(host string, recs []hostRec) int {
	if len(t.slots) == 0 {
		return -1
	}
	// cand is -2 until the dot before the top-level domain is passed.
	cand, at := -2, 0
	acc, e := t.k0, len(host)
	for {
		// w is the word [e-8, e); at the start of the host, where e < 8,
		// the bytes before e in its top bytes and zeros below. (The
		// shifts are masked to tell the compiler they are under 64, which
		// spares each its fix-up for larger ones.)
		var w uint64
		switch {
		case e >= 8:
			w = le64(host, e-8)
		case e == 0:
		case len(host) >= 8:
			w = le64(host, 0) << (uint(8-e) * 8 & 63)
		default:
			w = leading(host, e) << (uint(8-e) * 8 & 63)
		}
		// Dots from the word's top byte down: from the end of the host.
		for m := dots(w); m != 0; {
			b := uint(63-bits.LeadingZeros64(m)) & 63
			m &^= 1 << b
			if cand == -2 { // the dot before the top-level domain
				cand = -1
				continue
			}
			// The dot is byte k of the word: the suffix starts at p, and
			// its head is the word's bytes above k.
			k := b >> 3
			p := e - 7 + int(k)
			if x := t.final(acc, w>>8>>(8*k), len(host)-p); t.maybe(x) {
				if j := t.candidate(x); j >= 0 {
					cand, at = j, p
				}
			}
		}
		if e < 8 {
			// The whole host: its head is the word's top e bytes.
			if x := t.final(acc, w>>8>>(uint(7-e)*8&63), len(host)); t.maybe(x) {
				if j := t.candidate(x); j >= 0 {
					cand, at = j, 0
				}
			}
			break
		}
		acc = t.step(acc, w)
		e -= 8
	}
	if cand < 0 {
		return -1
	}
	if t.isKey(cand, host[at:], recs) {
		return cand
	}
	return t.deepestExact(host)
}

// isKey reports whether h is the key of the table's entry j: compared in
// the entry's record, recs[j], when recs has one that holds the whole
// key (hostRec.whole), else in the table's keys.
func (t *hostTable) isKey(j int, h string, recs []hostRec) bool {
	if uint(j) < uint(len(recs)) {
		if r := &recs[j]; r.whole() {
			return int(r.l.hl) == len(h) && string(r.key[:len(h)]) == h
		}
	}
	return t.keys[j] == h
}

// maybe reports whether a key hashed x may be in the table: false when
// its filter bit is clear. (A test of its own, before candidate's probe:
// in candidate, it made candidate too large to inline into deepest's
// loop, which then made a call for every suffix.)
func (t *hostTable) maybe(x uint64) bool {
	w, m := t.filterBit(x)
	return t.filter[w]&m != 0
}

// candidate returns the index of the first entry whose tag is that of
// the hash x on x's probe sequence, or -1 when a free slot comes first.
// An absent key's hash has no such entry but for a chance match of tags.
func (t *hostTable) candidate(x uint64) int {
	mask, tag := uint64(len(t.slots)-1), uint32(x>>32)
	for i := x & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s.idx == 0 {
			return -1
		}
		if s.tag == tag {
			return int(s.idx - 1)
		}
	}
}

// deepestExact is deepest, with each suffix hashed and its key compared
// in turn from the whole host down: the walk for when tags matched by
// chance.
func (t *hostTable) deepestExact(host string) int {
	for h := host; ; {
		if j := t.index(h); j >= 0 {
			return j
		}
		var more bool
		if h, more = parentHost(h); !more {
			return -1
		}
	}
}

// len is the number of hosts in the table.
func (t *hostTable) len() int { return len(t.keys) }

// The hash of a string of length l is a chain over its whole 8-byte words,
// taken from the end (step), then a last mix with the l%8 bytes before
// them and the length (final). A suffix's words are the last words of
// the longer string, so a walk from the top-level domain down carries
// one chain along and finishes it at each label (deepest).

// hash returns s's hash.
func (t *hostTable) hash(s string) uint64 {
	acc, e := t.k0, len(s)
	for ; e >= 8; e -= 8 {
		acc = t.step(acc, le64(s, e-8))
	}
	return t.final(acc, leading(s, e), len(s))
}

// step adds the word w to the chain acc.
func (t *hostTable) step(acc, w uint64) uint64 {
	return mix(w^t.k1, acc^t.k2)
}

// final is the hash of a string of length l, given the chain over its
// whole words and the little-endian value of the bytes before them.
func (t *hostTable) final(acc, head uint64, l int) uint64 {
	return mix(head^t.k1^uint64(l)<<56, acc^t.k2)
}

// leading is the little-endian value of s[:n], n < 8.
func leading(s string, n int) uint64 {
	if len(s) >= 8 {
		return le64(s, 0) & (1<<(8*n) - 1)
	}
	var w uint64
	for i := n - 1; i >= 0; i-- {
		w = w<<8 | uint64(s[i])
	}
	return w
}

// dots has the high bit of each byte of w that is a dot set.
func dots(w uint64) uint64 {
	const lo7, dot = 0x7f7f7f7f7f7f7f7f, 0x2e2e2e2e2e2e2e2e
	x := w ^ dot
	return ^((x&lo7 + lo7) | x | lo7)
}

// mix is the folded 128-bit product of a and b (wyhash's mum).
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// le64 is the little-endian word at s[i:i+8].
func le64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}
