package caddymodule

import (
	"bufio"
	"bytes"
	"errors"
	"hash/maphash"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/firstparty/firstparty/blocklists"
	"github.com/firstparty/firstparty/rewrite"
)

// The page memo remembers, for each page URL, an upstream body that
// was rewritten and what the rewriter wrote for it. When the same page is
// asked for again, the upstream body is compared with the one kept as it
// arrives, and for as long as it is the same byte for byte, the output kept
// for it goes out, with the response's own token and CSP nonce in place of
// those it was made with (memoSecrets): the rewriter's output is a
// function of its input, its options and the flushes it was given, and a
// streaming rewriter decides each byte it writes from the input before it.
//
// The recording keeps checkpoints, about every memoStride input bytes, each
// at a point where its rewriter's whole state is known (rewrite.SyncPoint).
// At the first byte that differs (or an early end), a rewriter takes over,
// started in the recording's state at the last checkpoint before it
// (rewrite.NewWriterAt): it reads the matched input since then again, with
// the flushes of the recording, writing nothing of what was already sent,
// and goes on with the new bytes. The bytes it would have written again are
// compared with those that were sent, and a difference ends the response
// (fail closed).
//
// A page that changed in one place (a token in a form, a count in a cart
// badge, a block of recommendations) is the same again after it. The
// rewriter that took over looks, at each '<' it reads, for the bytes that
// follow one of the checkpoints after where it took over (their first
// memoAnchor bytes are indexed by hash); where it finds them, and its own
// state there equals the recording's, the memo sends the output kept
// after that checkpoint again, for as long as the input matches, and the
// rewriter is parked in that state, to be reset to a later checkpoint
// (rewrite.Writer.ResetAt) if the page differs again. Checkpoints are
// about memoStride bytes apart, so that a page with a token in every
// product tile still goes out mostly from the memo. Nothing is ever sent
// that was not decided from the bytes this response's upstream sent.
//
// A page that changed for good is kept again as it is now. Each replay
// that sends at least half of the kept output from the memo counts for the
// recording, up to memoScoreMax, and each that does not counts against it;
// below zero the recording gives way, and the next request for the page is
// recorded. A page that differs on every request never replays well: its
// recordings start with more credit each time (1, 2, 4 … up to 256 poor
// replays), so that copying it again costs less and less.

// pageWriter rewrites one response body: a rewrite.Writer, a recording of
// one for the memo, or a replay from the memo.
type pageWriter interface {
	io.Writer
	Flush() error
	Close() error
	Stats() *rewrite.Stats
}

// DefaultPageMemo is the default budget of the page memo, in bytes.
const DefaultPageMemo = 32 << 20

// maxMemoPage is the largest upstream body kept in the memo.
const maxMemoPage = 2 << 20

// maxMemoKey is the longest page URL, query included, the memo keeps or
// remembers: a key is held besides the budget's bytes, and a request line
// can be a megabyte long.
const maxMemoKey = 2 << 10

var errMemoDiverged = errors.New("page memo: the rewriter's output differs from what was sent")

// pageMemo is a byte-bounded LRU of rewritten pages.
type pageMemo struct {
	mu     sync.Mutex
	lru    *simplelru.LRU[string, *memoEntry]
	seen   *simplelru.LRU[string, seenPage] // pages asked for once since they were last kept
	used   int
	budget int
}

// memoSeen bounds the pages remembered as asked for once.
const memoSeen = 8192

func newPageMemo(budget int) *pageMemo {
	m := &pageMemo{budget: budget}
	// The count bound is only a backstop: the budget in bytes evicts first.
	m.lru, _ = simplelru.NewLRU[string, *memoEntry](1<<16, func(k string, e *memoEntry) { m.used -= len(k) + e.size() })
	m.seen, _ = simplelru.NewLRU[string, seenPage](memoSeen, nil)
	return m
}

// seenPage is a page the memo does not hold that was asked for since it
// was last kept: its size the last time it was rewritten (0 before), the
// generation its next recording is of, and when a recording of it began,
// if one is under way.
type seenPage struct {
	size      int
	gen       int
	recording time.Time // on the monotonic clock; zero if none
	tooLarge  bool      // over maxMemoPage, or its recording over a quarter of the budget
}

// memoRecordingStale is how long after a recording began another may
// begin: one whose response never ended (a handler that panicked) must
// not keep the page from being kept for good.
const memoRecordingStale = 30 * time.Second

// admit reports whether a page the memo does not hold is to be kept this
// time: from its second request on, or right away when its recording gave
// way, unless a recording of it is under way or it is too large to keep.
// Keeping a page costs a copy of it and of its rewrite; one asked for once
// (a search with its own query) is not worth it, and would push out pages
// that are asked for again. It also returns the size the page had the
// last time, to size the copies, and the recording's generation, which
// the requests that come during a recording leave as it is.
func (m *pageMemo) admit(key string) (bool, seenPage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sp, ok := m.seen.Get(key)
	switch {
	case !ok:
		m.seen.Add(key, seenPage{})
		return false, seenPage{}
	case sp.tooLarge, !sp.recording.IsZero() && time.Since(sp.recording) < memoRecordingStale:
		return false, sp
	}
	sp.recording = time.Now()
	m.seen.Add(key, sp)
	return true, sp
}

// sawSize notes the size of a page the memo does not hold, and that its
// recording, if one was under way, ended without it being kept.
func (m *pageMemo) sawSize(key string, size int, recorded bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if sp, ok := m.seen.Peek(key); ok {
		sp.size, sp.tooLarge = size, size > maxMemoPage
		if recorded {
			sp.recording = time.Time{}
		}
		m.seen.Add(key, sp)
	}
}

// memoFirst rewrites a page's first response, and notes its size.
type memoFirst struct {
	*rewrite.Writer
	memo *pageMemo
	key  string
}

func (f *memoFirst) Close() error {
	err := f.Writer.Close()
	if err == nil {
		f.memo.sawSize(f.key, int(f.Writer.Stats().BytesIn), false)
	}
	return err
}

// get returns the entry for key if it was made under db.
func (m *pageMemo) get(key string, db *blocklists.DB) *memoEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.lru.Get(key)
	if !ok {
		return nil
	}
	if e.db != db { // the lists were reloaded: decisions may differ
		m.lru.Remove(key)
		return nil
	}
	return e
}

// memoScoreMax bounds a recording's credit from good replays: a page that
// changed for good is kept again after at most memoScoreMax+1 replays.
const memoScoreMax = 4

// memoGenMax bounds the generations of a page that never replays well:
// it is recorded again after 2^memoGenMax poor replays at most.
const memoGenMax = 8

// replayed counts a replay of e, the recording kept under key: good when
// it sent at least half of e's output from the memo. When the count falls
// below zero, e gives way, and the next request for the page is recorded.
func (m *pageMemo) replayed(key string, e *memoEntry, good bool) {
	if good {
		e.good.Store(true)
		if s := e.score.Load(); s < memoScoreMax {
			e.score.CompareAndSwap(s, s+1)
		}
		return
	}
	if e.score.Add(-1) >= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.lru.Peek(key); !ok || cur != e {
		return // already replaced, or evicted
	}
	m.lru.Remove(key)
	gen := 0
	if !e.good.Load() {
		gen = min(e.gen+1, memoGenMax)
	}
	m.seen.Add(key, seenPage{size: len(e.input), gen: gen})
	metrics.pageMemo.WithLabelValues("replaced").Inc()
}

func (m *pageMemo) add(key string, e *memoEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.size() > m.budget/4 {
		if sp, ok := m.seen.Peek(key); ok {
			sp.recording, sp.tooLarge = time.Time{}, true
			m.seen.Add(key, sp)
		}
		return
	}
	m.seen.Remove(key)
	m.lru.Remove(key)
	m.lru.Add(key, e)
	m.used += len(key) + e.size()
	for m.used > m.budget && m.lru.Len() > 0 {
		m.lru.RemoveOldest()
	}
}

// memoEvent is the end of one Write (or a Flush) of the recording: in input
// bytes had been read and out output bytes written.
type memoEvent struct {
	in, out int
	flush   bool
}

// memoEntry is one page as it was rewritten.
type memoEntry struct {
	db      *blocklists.DB
	input   []byte
	output  []byte
	secrets memoSecrets // the recording's own
	subs    []memoSub   // where they lie in output, ascending
	events  []memoEvent
	checks  []memoCheck
	end     memoCheck // the end of the page: end.snap is the page's counts
	// anchors lists the checkpoints, ascending, by the hash of their
	// anchors.
	anchors *anchorIndex

	// score is the recording's credit (pageMemo.replayed), good whether a
	// replay of it ever went well, and gen its generation: how many
	// recordings of the page before it never replayed well.
	score atomic.Int32
	good  atomic.Bool
	gen   int
	bytes int // see size
}

// memoCheck is a checkpoint of the recording: after in input bytes, the
// first ev events, and out output bytes, its rewriter was at sp, and its
// counts were snap (shared by the checkpoints between which it counted
// nothing else) but for elements and bytes. The rewriter's counts of
// bytes read and written there are in and out: it was given the page's
// first in bytes, and what it wrote went whole to the recording's copy
// (memoTee), or the recording was not kept.
type memoCheck struct {
	// (int32: a page is at most maxMemoPage, its output twice that, and
	// a checkpoint 32 bytes where it was 48; a 534 KB page has 3,700.)
	in, out, ev, elements int32
	sp                    *rewrite.SyncPoint
	snap                  *rewrite.Stats
}

// between is what the recording counted from checkpoint a to checkpoint
// b (e.end for the end of the page); the zero checkpoint, with no counts,
// is the start of the page.
func (e *memoEntry) between(a, b *memoCheck) *rewrite.Stats {
	t := b.snap.Since(a.snap)
	t.Elements, t.BytesIn, t.BytesOut = int(b.elements-a.elements), int64(b.in-a.in), int64(b.out-a.out)
	return t
}

// addBetween adds to acc what the recording counted from checkpoint a to
// checkpoint b, as addStats(acc, e.between(a, b)) does, copying nothing
// where the two share their counts but for elements and bytes.
func (e *memoEntry) addBetween(acc *rewrite.Stats, a, b *memoCheck) *rewrite.Stats {
	if acc == nil {
		return e.between(a, b)
	}
	el, in, out := acc.Elements+int(b.elements-a.elements), acc.BytesIn+int64(b.in-a.in), acc.BytesOut+int64(b.out-a.out)
	acc.MergeSince(b.snap, a.snap)
	acc.Elements, acc.BytesIn, acc.BytesOut = el, in, out
	return acc
}

// addStats adds src to dst, a copy of src if dst is nil, and returns it.
func addStats(dst, src *rewrite.Stats) *rewrite.Stats {
	if dst == nil {
		return src.Clone()
	}
	dst.Merge(src)
	return dst
}

// memoSnapSize is about what a copy of a page's counts holds: its maps
// of a few dozen findings, categories and vendors.
const memoSnapSize = 6 << 10

// memoStride is the input between checkpoints, memoAnchor how many bytes
// after a checkpoint are looked up to find it in a changed page, and
// memoVerify how many bytes after it must match the kept ones, as far as
// the write they are in goes, for a replay to take it. On a 500 KB page
// with a token every 2 KB, a replay took 0.7-1.3 ms with checkpoints
// every 128 bytes, 1.3-1.9 ms every 256, and 0.8-1.2 ms every 64, whose
// kept page is counted 13% larger (alternated runs).
const (
	memoStride = 128
	memoAnchor = 32
	memoVerify = 128
)

// size is the memory the entry holds, capacities included.
func (e *memoEntry) size() int { return e.bytes }

// measure sets the entry's size: its copies, and its checkpoints with the
// counts they share and sps, the states the recorder kept once each.
func (e *memoEntry) measure(sps map[string]*rewrite.SyncPoint) {
	n := cap(e.input) + cap(e.output) + 24*cap(e.events) + int(unsafe.Sizeof(memoSub{}))*cap(e.subs) + int(unsafe.Sizeof(memoCheck{}))*cap(e.checks) + 1024
	n += e.anchors.size()
	for _, sp := range sps {
		n += 64 + 3*len(sp.Key()) // the key, and the open elements it was made from
	}
	var last *rewrite.Stats
	for _, c := range e.checks {
		if c.snap != last {
			n += memoSnapSize
			last = c.snap
		}
	}
	e.bytes = n
}

// offsets returns where token occurs in b, ascending, not overlapping.
func offsets(b []byte, token string) []int {
	var at []int
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte(token))
		if j < 0 {
			return at
		}
		at = append(at, i+j)
		i += j + len(token)
	}
}

// memoSecrets are what a response has of its own that its rewrite
// writes: its token (in the loader and in each deferred element) and the
// CSP nonce of its header, as the loader's attribute holds it (empty
// without one). A kept output holds the recording's; a replay sends the
// response's own in their places, which must be as long.
type memoSecrets [2]string

// secretsOf returns the secrets of a response rewritten with opts.
func secretsOf(opts *rewrite.Options) memoSecrets {
	s := memoSecrets{opts.Token, ""}
	if opts.Nonce != "" {
		s[1] = loaderNonce(opts.Nonce)
	}
	return s
}

// fits reports whether a response with secrets s can be sent from e.
func (e *memoEntry) fits(s *memoSecrets) bool {
	return len(e.secrets[0]) == len(s[0]) && len(e.secrets[1]) == len(s[1])
}

// memoSub is a place in a kept output where secret, an index into
// memoSecrets, lies.
type memoSub struct {
	at, secret int
}

// secretPlaces returns where the secrets sec lie in out, the output of a
// rewrite with them, ascending: the token wherever it occurs (it is
// random, and was not in the input), the nonce only inside each loader,
// whose tag is loader, with the nonce nonceAt bytes in. A nonce anywhere
// else (the page's own scripts carry it too) came from the input, and is
// sent from the memo only where the input matched. It reports false if
// two places overlap.
func secretPlaces(out []byte, sec memoSecrets, loader []byte, nonceAt int) ([]memoSub, bool) {
	var subs []memoSub
	for _, at := range offsets(out, sec[0]) {
		subs = append(subs, memoSub{at, 0})
	}
	if sec[1] == "" {
		return subs, true
	}
	for _, at := range offsets(out, string(loader)) {
		subs = append(subs, memoSub{at + nonceAt, 1})
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].at < subs[j].at })
	for i := 1; i < len(subs); i++ {
		if p := subs[i-1]; subs[i].at < p.at+len(sec[p.secret]) {
			return nil, false
		}
	}
	return subs, true
}

// piece returns the entry's output from a on, up to b at most, with the
// secrets sec, the response's own, in place of the entry's: the output
// itself (read only) up to the next secret, or the part of one secret
// from a, put in scratch. Sending a stretch without a secret costs no
// copy. It also returns scratch, to be used again.
func (e *memoEntry) piece(scratch []byte, a, b int, sec *memoSecrets) ([]byte, []byte) {
	// The first place that ends after a: places do not overlap, so their
	// ends ascend too.
	k := sort.Search(len(e.subs), func(i int) bool { s := &e.subs[i]; return s.at+len(e.secrets[s.secret]) > a })
	if k == len(e.subs) || e.subs[k].at >= b {
		return e.output[a:b], scratch
	}
	s := e.subs[k]
	if s.at > a {
		return e.output[a:s.at], scratch
	}
	end := min(s.at+len(e.secrets[s.secret]), b)
	scratch = append(scratch[:0], sec[s.secret][a-s.at:end-s.at]...)
	return scratch, scratch
}

// equalOut reports whether p is the entry's output from a on, with the
// secrets sec in place of the entry's.
func (e *memoEntry) equalOut(p []byte, a int, sec *memoSecrets, scratch []byte) (bool, []byte) {
	for len(p) > 0 {
		var q []byte
		q, scratch = e.piece(scratch, a, a+len(p), sec)
		if !bytes.Equal(p[:len(q)], q) {
			return false, scratch
		}
		p, a = p[len(q):], a+len(q)
	}
	return true, scratch
}

// lastCheck returns the last checkpoint at or before input offset in, or
// -1 if there is none.
func (e *memoEntry) lastCheck(in int) int {
	return sort.Search(len(e.checks), func(i int) bool { return int(e.checks[i].in) > in }) - 1
}

// lastCheckFrom is lastCheck(in) for a replay that handed back at
// checkpoint from (at or before in): the next difference mostly lies a
// few checkpoints on, so it steps forward from there before it searches.
func (e *memoEntry) lastCheckFrom(from, in int) int {
	k := from
	if k < 0 || k >= len(e.checks) || int(e.checks[k].in) > in {
		return e.lastCheck(in)
	}
	for end := min(len(e.checks), k+32); k+1 < end && int(e.checks[k+1].in) <= in; k++ {
	}
	if k+1 < len(e.checks) && int(e.checks[k+1].in) <= in {
		return e.lastCheck(in)
	}
	return k
}

// memoSeed hashes the checkpoints' anchors.
var memoSeed = maphash.MakeSeed()

// anchorIndex lists a recording's checkpoints by the hash of their
// anchors (the memoAnchor input bytes after each, which start with the '<'
// it was taken at), for a replay to find where a changed page is the same
// again (memoReplay.find). While the page is recorded it is the set of the
// anchors taken so far, which the recorder asks to pass over markup that
// repeats; at the end (finish) it lists each anchor's checkpoints.
//
// Its tables are flat: for the 534 KB page of the load report's /new, a
// map of lists (map[uint64][]int32) and the recorder's map of the anchors
// taken (map[uint64]bool) allocated 480 KB at each recording, where these
// take 120 KB, of which the entry keeps 100 KB (counted in its size).
type anchorIndex struct {
	slots []uint32 // open addressing by hash, a power of two long: 0 empty, else a key's index+1
	keys  []uint64 // the anchors' hashes, each once
	// After finish, key i's checkpoints, ascending, are at[start[i]:start[i+1]].
	start []int32
	at    []int32
	of    []int32 // while recording, each checkpoint's key, or -1 when its anchor was not whole yet
}

// newAnchorIndex makes an index with room for about n checkpoints.
func newAnchorIndex(n int) *anchorIndex {
	x := &anchorIndex{keys: make([]uint64, 0, n), of: make([]int32, 0, n)}
	x.slots = make([]uint32, slotsFor(n))
	return x
}

// slotsFor is the table's length for n keys: a power of two at most two
// thirds full.
func slotsFor(n int) int {
	m := 16
	for m*2 < n*3 {
		m *= 2
	}
	return m
}

// slot returns the place of h in the table: the slot that holds it, or the
// empty one where it would go.
func (x *anchorIndex) slot(h uint64) int {
	mask := len(x.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		if k := x.slots[i]; k == 0 || x.keys[k-1] == h {
			return i
		}
	}
}

// has reports whether an anchor of hash h was taken.
func (x *anchorIndex) has(h uint64) bool { return x.slots[x.slot(h)] != 0 }

// add records the next checkpoint, whose anchor hashes to h; with whole
// false, its anchor was not all read yet, and finish hashes it.
func (x *anchorIndex) add(h uint64, whole bool) {
	if !whole {
		x.of = append(x.of, -1)
		return
	}
	x.of = append(x.of, x.key(h))
}

// key returns the index of h in keys, adding it if it is new.
func (x *anchorIndex) key(h uint64) int32 {
	i := x.slot(h)
	if k := x.slots[i]; k != 0 {
		return int32(k - 1)
	}
	if (len(x.keys)+1)*3 > len(x.slots)*2 {
		x.grow()
		i = x.slot(h)
	}
	x.keys = append(x.keys, h)
	x.slots[i] = uint32(len(x.keys))
	return int32(len(x.keys) - 1)
}

// grow doubles the table.
func (x *anchorIndex) grow() {
	x.slots = make([]uint32, 2*len(x.slots))
	for k, h := range x.keys {
		x.slots[x.slot(h)] = uint32(k + 1)
	}
}

// finish lists the checkpoints of checks by their anchors: the
// recording's first ones, whose anchors input holds whole (those after
// were never hashed). Those whose anchor was not whole when taken are
// hashed now.
func (x *anchorIndex) finish(checks []memoCheck, input []byte) {
	x.of = x.of[:len(checks)]
	for k, c := range checks {
		if x.of[k] < 0 {
			x.of[k] = x.key(maphash.Bytes(memoSeed, input[c.in:c.in+memoAnchor]))
		}
	}
	// Counted by key, the counts summed into where each key's list
	// starts, and the checkpoints placed in their order.
	x.start = make([]int32, len(x.keys)+1)
	for _, k := range x.of {
		x.start[k+1]++
	}
	for i := range len(x.keys) {
		x.start[i+1] += x.start[i]
	}
	x.at = make([]int32, len(x.of))
	next := x.start[:len(x.keys)] // each key's next place, moved on as it fills
	for k, key := range x.of {
		x.at[next[key]] = int32(k)
		next[key]++
	}
	// next (start's first len(keys)) now holds each key's end: moved up
	// one, the starts again.
	copy(x.start[1:], x.start[:len(x.keys)])
	x.start[0] = 0
	x.of = nil
}

// lookup returns the checkpoints whose anchors hash to h, ascending.
func (x *anchorIndex) lookup(h uint64) []int32 {
	k := x.slots[x.slot(h)]
	if k == 0 {
		return nil
	}
	return x.at[x.start[k-1]:x.start[k]]
}

// size is the memory the finished index holds.
func (x *anchorIndex) size() int {
	return 4*cap(x.slots) + 8*cap(x.keys) + 4*cap(x.start) + 4*cap(x.at)
}

// pageWriter returns what rewrites one HTML response for req: a replay if
// the memo holds the page, else a rewriter, whose work the memo keeps if
// the page was asked for before.
// hdr is the upstream response's header, whose Vary may make the page one
// of several under its URL (memoVariant); nil for none.
func (h *Handler) pageWriter(w io.Writer, opts rewrite.Options, req *http.Request, hdr http.Header) pageWriter {
	if h.memo == nil {
		return rewrite.NewWriter(w, opts)
	}
	key := memoKey(opts, req) + memoVariant(hdr, req)
	if len(key) > maxMemoKey {
		return rewrite.NewWriter(w, opts)
	}
	db := h.policy.DB()
	sec := secretsOf(&opts)
	if e := h.memo.get(key, db); e != nil && e.fits(&sec) {
		return &memoReplay{e: e, out: newMemoOut(w), opts: opts, sec: sec, memo: h.memo, key: key, search: e.searches()}
	}
	admit, sp := h.memo.admit(key)
	if !admit {
		return &memoFirst{Writer: rewrite.NewWriter(w, opts), memo: h.memo, key: key}
	}
	rec := &memoRecorder{memo: h.memo, key: key, db: db, secrets: sec, nextAt: 1, gen: sp.gen}
	if sec[1] != "" {
		rec.loader, rec.nonceAt = h.loaderTag(opts.Token, opts.Nonce)
	}
	rec.tee = &memoTee{w: w, keep: true}
	size := sp.size // 0 if the page's last rewrite did not end
	if size > 0 {
		// Sized for the page as it was, with room for the changes and
		// the loader: growing a copy page by page costs as much again.
		rec.in = make([]byte, 0, size+size/16)
		rec.tee.kept = make([]byte, 0, size+size/8+4<<10)
	}
	// A checkpoint about every memoStride bytes, each with its anchor:
	// grown check by check, the list and the index allocated three times
	// what they end with.
	n := size/memoStride + size/(8*memoStride) + 16
	rec.checks = make([]memoCheck, 0, n)
	rec.anchors = newAnchorIndex(n)
	rec.rw = rewrite.NewWriter(rec.tee, opts)
	return rec
}

// memoKey is what the memo keeps a page under: its URL with the query as
// asked for, less campaign and click parameters (pageQuery), and whether
// its response's header carries a CSP nonce, and the page's encoding. The nonce itself is the
// response's own, as its token is (memoSecrets): a page with a new one on
// every response is the same page.
//
// The key only picks the recording a body is compared with: the rewrite
// does not depend on the query (the page URL it resolves against has
// none), and a body is sent from a recording only where it is the same
// byte for byte.
func memoKey(opts rewrite.Options, req *http.Request) string {
	k := opts.PageURL.String() + "?" + pageQuery(req.URL.RawQuery) + "\x00"
	if opts.Nonce != "" {
		k += "nonce"
	}
	if opts.Encoding != "" {
		// The header's charset, which the body need not repeat, decides
		// how scripts and styles read (rewrite.Options.Encoding).
		k += "\x00" + opts.Encoding
	}
	return k
}

// memoVariant names the variant of a page that its upstream response says
// it varies by, for a request header whose values name few variants: the
// first language of Accept-Language, when the response has Vary:
// Accept-Language. A multilingual shop that answers one URL in several
// languages would otherwise have its languages share one kept page, each
// replacing the other, so that none was ever sent from the memo. Other
// headers a page varies by (Cookie, User-Agent) have a value per visitor
// or per device; their variants share the key, and the byte comparison
// keeps the output right whatever the key.
func memoVariant(hdr http.Header, req *http.Request) string {
	for _, v := range hdr.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "Accept-Language") {
				return "\x00lang=" + firstLanguage(req.Header.Get("Accept-Language"))
			}
		}
	}
	return ""
}

// firstLanguage returns the first language range of an Accept-Language
// value, lower-cased, or "" if it is not one (at most 35 letters, digits
// and hyphens, or "*").
func firstLanguage(v string) string {
	tag, _, _ := strings.Cut(v, ",")
	tag, _, _ = strings.Cut(tag, ";")
	tag = strings.ToLower(strings.TrimSpace(tag))
	if tag == "*" {
		return tag
	}
	if len(tag) > 35 {
		return ""
	}
	for i := 0; i < len(tag); i++ {
		if c := tag[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return ""
		}
	}
	return tag
}

// pageQuery returns a query without the parameters that ads, mails and
// shopping listings add to a link, with a value of their own for each
// click, campaign or recipient, and which leave the page the same:
// utm_* and those in campaignParams. The others stay, in their order.
// Without it, every visitor who comes from an ad asks for a page of
// their own, which the memo never keeps.
func pageQuery(q string) string {
	if q == "" {
		return q
	}
	var b strings.Builder
	dropped := false
	for rest := q; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		name, _, _ := strings.Cut(pair, "=")
		if strings.HasPrefix(name, "utm_") || campaignParams[name] {
			dropped = true
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pair)
	}
	if !dropped {
		return q
	}
	return b.String()
}

// campaignParams are the click and campaign parameters besides utm_*:
// Google Ads (gclid, gbraid, wbraid, dclid, gclsrc, gad_source,
// gad_campaignid), Google's shopping listings (srsltid), Google
// Analytics' cross-domain linker (_gl), Meta (fbclid), Instagram
// (igshid), Microsoft Ads (msclkid), TikTok (ttclid), X (twclid),
// LinkedIn (li_fat_id), Pinterest (epik), Snapchat (ScCid), Reddit
// (rdt_cid), Yandex (yclid), Mailchimp (mc_cid, mc_eid), Klaviyo (_kx),
// HubSpot (_hsenc, _hsmi), Marketo (mkt_tok) and Impact (irclickid).
var campaignParams = map[string]bool{
	"gclid": true, "gbraid": true, "wbraid": true, "dclid": true, "gclsrc": true, "gad_source": true, "gad_campaignid": true,
	"srsltid": true, "_gl": true, "fbclid": true, "igshid": true, "msclkid": true, "ttclid": true, "twclid": true,
	"li_fat_id": true, "epik": true, "ScCid": true, "rdt_cid": true, "yclid": true, "mc_cid": true, "mc_eid": true,
	"_kx": true, "_hsenc": true, "_hsmi": true, "mkt_tok": true, "irclickid": true,
}

// memoRecorder is a rewriter whose input, output and call sequence are
// kept, to be added to the memo when the page ends cleanly.
type memoRecorder struct {
	rw      *rewrite.Writer
	tee     *memoTee
	secrets memoSecrets
	loader  []byte // the loader's tag, with nonceAt, if there is a nonce
	nonceAt int
	in      []byte
	events  []memoEvent
	checks  []memoCheck
	nextAt  int // input offset from which the next checkpoint is looked for
	tries   int // places tried for it
	failed  bool
	memo    *pageMemo
	key     string
	db      *blocklists.DB
	gen     int // the generation of the page's recordings this one is
	state   []byte
	sps     map[string]*rewrite.SyncPoint // the checkpoints' states, by key
	anchors *anchorIndex                  // the checkpoints' anchors
}

// memoTries bounds the places tried for a checkpoint after each stride.
const memoTries = 16

func (r *memoRecorder) Write(p []byte) (int, error) {
	if r.tee.keep {
		if len(r.in)+len(p) > maxMemoPage {
			r.drop()
		} else {
			r.in = append(r.in, p...)
		}
	}
	n, err := r.write(p)
	if serr := r.tee.send(); err == nil {
		err = serr
	}
	r.mark(false, err)
	return n, err
}

// write writes p to the rewriter, stopping at the first '<' after each
// stride to take a checkpoint if the rewriter's state is all there is
// there (the output does not depend on how the input is cut). A place
// whose anchor is an earlier checkpoint's is passed over for the next
// '<', but for the last try: markup that repeats (a product tile's
// opening) would have a replay look for the wrong one.
func (r *memoRecorder) write(p []byte) (int, error) {
	start := len(r.in) - len(p) // p's offset in the page, while it is kept
	off := 0
	for r.tee.keep && start+len(p) > r.nextAt {
		i := max(r.nextAt-start, off)
		j := bytes.IndexByte(p[i:], '<')
		if j < 0 {
			break
		}
		cut := i + j
		if cut > off {
			if n, err := r.rw.Write(p[off:cut]); err != nil {
				return off + n, err
			}
			off = cut
		}
		// The anchor is not all there yet at the end of a write; such a
		// place is taken as it is.
		var h uint64
		hashed := start+cut+memoAnchor <= len(r.in)
		if hashed {
			if h = maphash.Bytes(memoSeed, r.in[start+cut:start+cut+memoAnchor]); r.anchors.has(h) && r.tries < memoTries-1 {
				r.nextAt, r.tries = start+cut+1, r.tries+1
				continue
			}
		}
		if sp, ok := r.syncPoint(); ok {
			r.anchors.add(h, hashed)
			st := r.rw.Stats()
			c := memoCheck{in: int32(start + cut), out: int32(len(r.tee.kept)), ev: int32(len(r.events)), sp: sp, elements: int32(st.Elements)}
			if k := len(r.checks); k > 0 && r.checks[k-1].snap.Changes() == st.Changes() {
				c.snap = r.checks[k-1].snap
			} else {
				c.snap = st.Clone()
			}
			r.checks = append(r.checks, c)
			r.nextAt, r.tries = start+cut+memoStride, 0
		} else if r.tries++; r.tries < memoTries {
			r.nextAt = start + cut + 1
		} else {
			r.nextAt, r.tries = start+cut+memoStride, 0
		}
	}
	n, err := r.rw.Write(p[off:])
	return off + n, err
}

// syncPoint returns the rewriter's SyncPoint, if it has one: the one
// kept for an earlier checkpoint in the same state, so that the many
// checkpoints of a page at the same depth share one.
func (r *memoRecorder) syncPoint() (*rewrite.SyncPoint, bool) {
	var ok bool
	if r.state, ok = r.rw.SyncState(r.state[:0]); !ok {
		return nil, false
	}
	if sp := r.sps[string(r.state)]; sp != nil {
		return sp, true
	}
	sp, ok := r.rw.SyncPoint()
	if ok {
		if r.sps == nil {
			r.sps = make(map[string]*rewrite.SyncPoint)
		}
		r.sps[string(sp.Key())] = sp
	}
	return sp, ok
}

func (r *memoRecorder) Flush() error {
	err := r.rw.Flush()
	r.mark(true, err)
	return err
}

func (r *memoRecorder) mark(flush bool, err error) {
	if err != nil {
		r.failed = true
	}
	if !r.tee.keep {
		r.drop()
		return
	}
	r.events = append(r.events, memoEvent{len(r.in), len(r.tee.kept), flush})
}

// drop gives up keeping the page: it is over maxMemoPage. Whether a page
// is still kept is the tee's keep.
func (r *memoRecorder) drop() {
	r.in, r.events, r.checks, r.anchors = nil, nil, nil, nil
	r.tee.stop()
}

func (r *memoRecorder) Close() error {
	err := r.rw.Close()
	if serr := r.tee.send(); err == nil {
		err = serr
	}
	var subs []memoSub
	ok := err == nil && !r.failed && r.tee.keep && r.secrets[0] != "" && !bytes.Contains(r.in, []byte(r.secrets[0]))
	if ok {
		subs, ok = secretPlaces(r.tee.kept, r.secrets, r.loader, r.nonceAt)
	}
	if !ok {
		r.memo.sawSize(r.key, int(r.rw.Stats().BytesIn), true)
		return err
	}
	st := r.rw.Stats()
	e := &memoEntry{db: r.db, input: r.in, output: r.tee.kept, secrets: r.secrets, subs: subs, events: r.events,
		end: memoCheck{in: int32(len(r.in)), out: int32(len(r.tee.kept)), snap: st, elements: int32(st.Elements)}, gen: r.gen}
	e.score.Store(startScore(e.gen))
	// The checkpoints whose anchors the input holds whole: a prefix, as
	// they are made in the input's order, kept without a copy (its room
	// counted by measure).
	k := len(r.checks)
	for k > 0 && int(r.checks[k-1].in)+memoAnchor > len(e.input) {
		k--
	}
	e.checks = r.checks[:k]
	r.anchors.finish(e.checks, e.input)
	e.anchors = r.anchors
	e.measure(r.sps)
	r.memo.add(r.key, e)
	metrics.pageMemo.WithLabelValues("kept").Inc()
	return nil
}

func (r *memoRecorder) Stats() *rewrite.Stats { return r.rw.Stats() }

// memoTee keeps a copy of the rewriter's output and passes it on. While
// it keeps the copy, it passes on what the copy holds past what it sent
// when the recorder asks (send): at the end of each of the recording's
// writes, flushes and its close, so that what the rewriter decided of a
// write goes out before the write returns, as a rewriter's output does;
// and within a long write, each time it holds memoOutSize bytes unsent,
// as the rewriter writes its own out in batches (outBatch).
// The recorder cuts each write at the places it tries for checkpoints,
// and the rewriter writes out after each piece: passed on piece by piece,
// a 534 KB page went out in 3,700 writes of about 140 bytes, each through
// the response's writers.
type memoTee struct {
	w    io.Writer
	keep bool
	kept []byte
	sent int   // how much of kept went on to w
	err  error // the first error from w
}

func (t *memoTee) Write(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	if t.keep {
		if len(t.kept)+len(p) <= 2*maxMemoPage {
			t.kept = append(t.kept, p...)
			if len(t.kept)-t.sent >= memoOutSize {
				// A long write goes out as the rewriter's own output
				// would, a batch at a time.
				return len(p), t.send()
			}
			return len(p), nil
		}
		if err := t.stop(); err != nil {
			return 0, err
		}
	}
	return t.w.Write(p)
}

// send passes on what the copy holds that was not sent yet.
func (t *memoTee) send() error {
	if t.err == nil && t.sent < len(t.kept) {
		// (After an error nothing more is written: what sent counts then
		// does not matter.)
		t.err, t.sent = writeAll(t.w, t.kept[t.sent:]), len(t.kept)
	}
	return t.err
}

// stop gives up the copy, once what it holds is passed on: the rest
// goes straight to w.
func (t *memoTee) stop() error {
	err := t.send()
	t.keep, t.kept, t.sent = false, nil, 0
	return err
}

func (t *memoTee) FlushError() error {
	if err := t.send(); err != nil {
		return err
	}
	return rewrite.FlushWriter(t.w)
}

// memoReplay sends a page from the memo while the upstream body matches
// it, and hands over to a rewriter where it stops matching. The rewriter
// hands back at a checkpoint where it is in the recording's state again.
type memoReplay struct {
	e    *memoEntry
	out  *memoOut        // where the response goes, until Close
	opts rewrite.Options // the response's own, token included
	sec  memoSecrets     // the response's own
	in   int             // input bytes of the recording matched
	ev   int             // events whose output has been sent
	sent int             // output bytes of the recording sent
	buf  []byte
	// memo and key are where e is kept, and fromMemo how much of e's
	// output this replay sent, to count the replay for e.
	memo     *pageMemo
	key      string
	fromMemo int

	// The rewriter, once one is needed: live while it rewrites the page,
	// else parked in the recording's state at base (the start of the page
	// until it hands back). acc is what the rewriters it took over from
	// counted, and what the recording counted between them.
	rw     *rewrite.Writer
	skip   *memoSkip
	live   bool
	base   memoCheck
	acc    *rewrite.Stats
	look   int    // the first checkpoint the live rewriter looks for
	liveIn int    // input the live rewriter read since it took over
	state  []byte // scratch for the live rewriter's state
	// credit is how much more live input may be searched for checkpoints:
	// each byte searched costs one, each hand-back memoHandBack, and each
	// byte of output sent from the memo earns one, so a page that differs
	// everywhere pays a bounded search and then is only rewritten. A
	// hand-back that matched a few bytes and sent nothing earns nothing.
	// earned is the fromMemo already credited.
	credit int
	earned int
	// search is whether the live rewriter looks for checkpoints at all
	// (memoEntry.searches).
	search bool
}

// searches reports whether a replay of e is to look for checkpoints after
// a difference: unless the page has never replayed well, in this
// recording or the ones before it (a page that differs everywhere on
// every request), and this is not the recording's first replay. Such a
// replay sends what matches from the start of the page, and the rest is
// only rewritten: a search there, as bounded as it is, finds checkpoints
// a few hundred bytes before the next difference, and cost about a fifth
// more than the rewrite alone on such a page. The first replay of each
// recording still searches, so a page that now differs in places only
// goes on to be sent from the memo.
func (e *memoEntry) searches() bool {
	return e.gen == 0 || e.good.Load() || e.score.Load() == startScore(e.gen)
}

// startScore is the credit a recording of generation gen starts with: the
// poor replays it may have before it gives way, less one.
func startScore(gen int) int32 { return int32(1)<<gen - 1 }

// memoCredit is the search credit a replay starts with, and memoHandBack
// what each hand-back to the memo costs: about what rewriting that many
// bytes does (the rewriter is reset at the next difference, and the
// counts between are added). A page that differs every few hundred
// bytes (every product tile) would hand back and take over again at each
// difference and cost more than a rewrite; it spends its credit, and is
// then only rewritten.
const (
	memoCredit   = 64 << 10
	memoHandBack = 512
)

func (r *memoReplay) Write(p []byte) (int, error) {
	if r.live {
		return r.liveWrite(p)
	}
	m := commonPrefix(p, r.e.input[r.in:])
	if m > 0 {
		r.in += m
		target := r.sent
		for r.ev < len(r.e.events) && r.e.events[r.ev].in <= r.in {
			target = r.e.events[r.ev].out
			r.ev++
		}
		if err := r.send(target); err != nil {
			return 0, err
		}
	}
	if m == len(p) {
		return len(p), nil
	}
	if err := r.goLive(); err != nil {
		return m, err
	}
	n, err := r.liveWrite(p[m:])
	return m + n, err
}

// commonPrefix returns how many bytes a and b start with in common. The
// first difference is found in blocks that double from 64 bytes, then by
// halving the block that holds it: a page with a change every 2 KB costs a
// dozen comparisons per change, not one per 64 bytes.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	if bytes.Equal(a[:n], b[:n]) {
		return n
	}
	i, size := 0, 64
	for n-i >= size && bytes.Equal(a[i:i+size], b[i:i+size]) {
		i += size
		size *= 2
	}
	// The first difference lies in a[i:min(n, i+size)].
	for size > 64 {
		size /= 2
		if n-i >= size && bytes.Equal(a[i:i+size], b[i:i+size]) {
			i += size
		}
	}
	for a[i] == b[i] {
		i++
	}
	return i
}

// send writes the entry's output up to target: the kept bytes themselves
// where they hold no token, so that a replay copies nothing but the token.
func (r *memoReplay) send(target int) error {
	for r.sent < target {
		var p []byte
		p, r.buf = r.e.piece(r.buf, r.sent, target, &r.sec)
		r.sent += len(p)
		r.fromMemo += len(p)
		if err := writeAll(r.out, p); err != nil {
			return err
		}
	}
	return nil
}

// goLive brings a rewriter to the recording's state after the events
// already sent, then feeds it the rest of the matched input, and lets it
// rewrite from there. It starts the rewriter at the last checkpoint the
// body matched up to: a new one (rewrite.NewWriterAt) when there is none
// yet, else the parked one, reset there, which keeps its memory and goes
// on counting.
func (r *memoReplay) goLive() error {
	if r.skip == nil {
		r.skip = &memoSkip{w: r.out, e: r.e, sec: &r.sec}
		r.credit = memoCredit
	}
	k := r.e.lastCheckFrom(r.look-1, r.in)
	if k >= 0 && (r.rw == nil || r.e.checks[k].in > r.base.in) {
		c := &r.e.checks[k]
		// What the recording wrote up to the checkpoint follows from input
		// this body matched.
		if err := r.send(int(c.out)); err != nil {
			return err
		}
		// The parked rewriter is reset there, and goes on counting; a
		// new one counts from there, after what the old one counted.
		if r.rw == nil || !r.rw.ResetAt(c.sp) {
			if r.rw != nil {
				r.acc = addStats(r.acc, r.rw.Stats())
			}
			r.rw = rewrite.NewWriterAt(r.skip, r.opts, c.sp)
		}
		r.acc = r.e.addBetween(r.acc, &r.base, c)
		r.base = *c
	}
	if r.rw == nil {
		r.rw = rewrite.NewWriter(r.skip, r.opts)
	}
	r.credit += r.fromMemo - r.earned
	r.earned = r.fromMemo
	r.skip.pos, r.skip.n = int(r.base.out), r.sent
	pos := int(r.base.in)
	for _, ev := range r.e.events[r.base.ev:r.ev] {
		if ev.in > pos {
			if _, err := r.rw.Write(r.e.input[pos:ev.in]); err != nil {
				return err
			}
			pos = ev.in
		}
		if ev.flush {
			if err := r.rw.Flush(); err != nil {
				return err
			}
		}
	}
	if r.skip.pos != r.skip.n {
		// It wrote less than was sent: it must not write it later.
		metrics.pageMemo.WithLabelValues("diverged").Inc()
		return errMemoDiverged
	}
	if r.in > pos {
		if _, err := r.rw.Write(r.e.input[pos:r.in]); err != nil {
			return err
		}
	}
	r.live, r.look, r.liveIn = true, k+1, 0
	return nil
}

// liveWrite rewrites p, stopping where the bytes after one of the
// checkpoints from look on are, to hand back to the memo if the
// rewriter's state there is the recording's.
func (r *memoReplay) liveWrite(p []byte) (int, error) {
	total := len(p)
	for from := 0; ; from = 1 {
		k, at := r.find(p, from)
		if k < 0 {
			r.liveIn += len(p)
			n, err := r.rw.Write(p)
			return total - len(p) + n, err
		}
		if at > 0 {
			r.liveIn += at
			if n, err := r.rw.Write(p[:at]); err != nil {
				return total - len(p) + n, err
			}
			p = p[at:]
		}
		c := &r.e.checks[k]
		var ok bool
		r.state, ok = r.rw.SyncState(r.state[:0])
		if ok && bytes.Equal(r.state, c.sp.Key()) {
			r.live, r.base, r.look = false, *c, k+1
			r.in, r.sent, r.ev = int(c.in), int(c.out), int(c.ev)
			r.credit -= memoHandBack
			n, err := r.Write(p)
			return total - len(p) + n, err
		}
	}
}

// find returns a checkpoint from look on whose input is in p at or after
// from, at a '<', and where it starts; k < 0 if there is none, or the
// search credit is spent. Any checkpoint from look on can be met, up to
// about twice as far as the input the live rewriter read: a stretch that
// changed can be longer or shorter than it was, and the page is the same
// again after it. A place is taken for a checkpoint if its anchor is that
// checkpoint's, and so are the bytes after it as far as p goes, up to
// memoVerify: markup repeats, and a hand-back at the wrong place would
// leave the checkpoints before it behind.
func (r *memoReplay) find(p []byte, from int) (k, at int) {
	checks := r.e.checks
	if r.look >= len(checks) || r.credit <= 0 || !r.search {
		return -1, 0
	}
	reach := int(checks[r.look].in) + 2*r.liveIn + 2*memoStride
	for i := from; ; {
		j := bytes.IndexByte(p[i:], '<')
		if j < 0 || i+j+memoAnchor > len(p) {
			r.credit -= len(p) - from
			return -1, 0
		}
		at = i + j
		ks := r.e.anchors.lookup(maphash.Bytes(memoSeed, p[at:at+memoAnchor]))
		x := sort.Search(len(ks), func(x int) bool { return int(ks[x]) >= r.look })
		for tries := 0; x < len(ks) && tries < 4; x, tries = x+1, tries+1 {
			c := &checks[ks[x]]
			if int(c.in) > reach+2*at {
				break
			}
			n := min(len(p)-at, len(r.e.input)-int(c.in), memoVerify)
			if in := int(c.in); bytes.Equal(p[at:at+n], r.e.input[in:in+n]) {
				r.credit -= at - from
				return int(ks[x]), at
			}
		}
		i = at + 1
	}
}

// Flush sends what the recording wrote up to the last checkpoint the
// body matched past, which follows from the bytes matched, and flushes.
// A rewriter flushed there would send that and the output of the tokens
// after it, about memoStride bytes more.
func (r *memoReplay) Flush() error {
	if r.live {
		return r.rw.Flush()
	}
	if k := r.e.lastCheckFrom(r.look-1, r.in); k >= 0 {
		if err := r.send(int(r.e.checks[k].out)); err != nil {
			return err
		}
	}
	return r.out.FlushError()
}

func (r *memoReplay) Close() error {
	err := r.close()
	if r.out != nil {
		if err == nil {
			err = r.out.Flush()
		}
		r.out.release()
		r.out = nil
	}
	if r.memo != nil && err == nil {
		// A response that failed (a client gone, a write error) says
		// nothing about the page.
		r.memo.replayed(r.key, r.e, 2*r.fromMemo >= len(r.e.output))
	}
	return err
}

func (r *memoReplay) close() error {
	if !r.live && r.in == len(r.e.input) {
		r.ev = len(r.e.events)
		outcome := "served"
		if r.rw != nil {
			outcome = "resynced"
		}
		metrics.pageMemo.WithLabelValues(outcome).Inc()
		return r.send(len(r.e.output))
	}
	if !r.live {
		if err := r.goLive(); err != nil {
			return err
		}
	}
	metrics.pageMemo.WithLabelValues("taken_over").Inc()
	return r.rw.Close()
}

// Stats returns the page's counts: those taken over from (acc), the
// rewriter's, and the recording's after the checkpoint it handed back at.
func (r *memoReplay) Stats() *rewrite.Stats {
	if r.rw == nil {
		return r.e.end.snap
	}
	s := r.rw.Stats().Clone()
	if r.acc != nil {
		s.Merge(r.acc)
	}
	if !r.live {
		s = r.e.addBetween(s, &r.base, &r.e.end)
	}
	return s
}

// memoOut gathers what a replay writes, the kept output's pieces and
// the rewriter's output between them, into writes of up to memoOutSize
// bytes: written as they come, each would be a write to the client's
// connection of its own. A flush sends what it holds, and flushes w.
type memoOut struct {
	*bufio.Writer
	w io.Writer
}

// memoOutSize is the most a replay holds before it writes, as much as a
// rewriter gathers (outBatch).
const memoOutSize = 32 << 10

var memoOutPool = sync.Pool{New: func() any {
	return &memoOut{Writer: bufio.NewWriterSize(nil, memoOutSize)}
}}

// newMemoOut returns a pooled memoOut that writes to w.
func newMemoOut(w io.Writer) *memoOut {
	o := memoOutPool.Get().(*memoOut)
	o.Reset(w)
	o.w = w
	return o
}

// release gives o back to the pool, holding nothing of its response.
func (o *memoOut) release() {
	o.Reset(nil)
	o.w = nil
	memoOutPool.Put(o)
}

func (o *memoOut) FlushError() error {
	if err := o.Writer.Flush(); err != nil {
		return err
	}
	return rewrite.FlushWriter(o.w)
}

// memoSkip drops the first n bytes a taking-over rewriter writes, which
// went out from the memo, checking that they are those bytes.
type memoSkip struct {
	w   io.Writer
	e   *memoEntry
	sec *memoSecrets
	n   int
	pos int
	buf []byte
}

func (s *memoSkip) Write(p []byte) (int, error) {
	total := len(p)
	if s.pos < s.n {
		k := min(len(p), s.n-s.pos)
		var same bool
		if same, s.buf = s.e.equalOut(p[:k], s.pos, s.sec, s.buf); !same {
			metrics.pageMemo.WithLabelValues("diverged").Inc()
			return 0, errMemoDiverged
		}
		s.pos += k
		p = p[k:]
	}
	if len(p) == 0 {
		return total, nil
	}
	n, err := s.w.Write(p)
	return total - len(p) + n, err
}

func (s *memoSkip) FlushError() error { return rewrite.FlushWriter(s.w) }
