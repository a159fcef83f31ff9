package caddymodule

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/firstparty/firstparty/blocklists"
	"github.com/firstparty/firstparty/rewrite"
)

// The page memo remembers, for each page URL, an upstream body that
// was rewritten and what the rewriter wrote for it. When the same page is
// asked for again, the upstream body is compared with the one kept as it
// arrives, and for as long as it is the same byte for byte, the output kept
// for it goes out, with the response's own token in place of the one it was
// made with: the rewriter's output is a function of its input, its options
// and the flushes it was given, and a streaming rewriter decides each byte
// it writes from the input before it.
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
// rewriter that took over looks for the bytes that follow the next
// checkpoint; where it finds them, and its own state there equals the
// recording's, the memo sends the output kept after that checkpoint again,
// for as long as the input matches, and the rewriter is parked in that
// state in case it differs again. Nothing is ever sent that was not decided
// from the bytes this response's upstream sent.
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

// seenPage is a page asked for once since it was last kept: its size,
// and the generation its next recording is of.
type seenPage struct {
	size int
	gen  int
}

// admit reports whether a page the memo does not hold is to be kept this
// time: from its second request on, or right away when its recording gave
// way. Keeping a page costs a copy of it and of its rewrite; one asked for
// once (a search with its own query) is not worth it, and would push out
// pages that are asked for again. It also returns the size the page had
// the first time, to size the copies, and the recording's generation.
func (m *pageMemo) admit(key string) (bool, seenPage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if sp, ok := m.seen.Get(key); ok {
		m.seen.Remove(key)
		return true, sp
	}
	m.seen.Add(key, seenPage{})
	return false, seenPage{}
}

// sawSize notes the size of a page asked for once.
func (m *pageMemo) sawSize(key string, size int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if sp, ok := m.seen.Peek(key); ok {
		sp.size = size
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
	if n := f.Writer.Stats().BytesIn; err == nil && n <= maxMemoPage {
		f.memo.sawSize(f.key, int(n))
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
	if e.size() > m.budget/4 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
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
	token   string
	tokenAt []int // offsets of token in output, ascending
	events  []memoEvent
	checks  []memoCheck
	end     memoCheck // the end of the page: end.snap is the page's counts

	// score is the recording's credit (pageMemo.replayed), good whether a
	// replay of it ever went well, and gen its generation: how many
	// recordings of the page before it never replayed well.
	score atomic.Int32
	good  atomic.Bool
	gen   int
}

// memoCheck is a checkpoint of the recording: after in input bytes, the
// first ev events, and out output bytes, its rewriter was at sp, and its
// counts were snap (shared by the checkpoints between which it counted
// nothing else) but for elements and bytes.
type memoCheck struct {
	in, out, ev int
	// rare is the offset in the checkpoint's anchor (the memoAnchor input
	// bytes after it) of the byte find looks for: one seldom seen in the
	// page, not the '<' every anchor starts with.
	rare     int
	sp       *rewrite.SyncPoint
	snap     *rewrite.Stats
	elements int
	bytesIn  int64
	bytesOut int64
}

// between is what the recording counted from checkpoint a to checkpoint
// b (e.end for the end of the page); the zero checkpoint, with no counts,
// is the start of the page.
func (e *memoEntry) between(a, b *memoCheck) *rewrite.Stats {
	t := b.snap.Since(a.snap)
	t.Elements, t.BytesIn, t.BytesOut = b.elements-a.elements, b.bytesIn-a.bytesIn, b.bytesOut-a.bytesOut
	return t
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

// memoStride is the input between checkpoints, and memoAnchor how many
// bytes after a checkpoint are looked for to find it in a changed page.
const (
	memoStride = 4 << 10
	memoAnchor = 32
)

// size is the memory the entry holds, capacities included.
func (e *memoEntry) size() int {
	n := cap(e.input) + cap(e.output) + 24*cap(e.events) + 8*cap(e.tokenAt) + 1024
	var last *rewrite.Stats
	for _, c := range e.checks {
		n += 128 + 3*len(c.sp.Key()) // the key, and the open elements it was made from
		if c.snap != last {
			n += memoSnapSize
			last = c.snap
		}
	}
	return n
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

// piece returns the entry's output from a on, up to b at most, with
// token, the response's own, in place of the entry's: the output itself
// (read only) up to the next token, or the part of one token from a, put
// in scratch. Sending a stretch without a token costs no copy. It also
// returns scratch, to be used again.
func (e *memoEntry) piece(scratch []byte, a, b int, token string) ([]byte, []byte) {
	n := len(e.token)
	k := sort.SearchInts(e.tokenAt, a-n+1) // the first token that ends after a
	if k == len(e.tokenAt) || e.tokenAt[k] >= b {
		return e.output[a:b], scratch
	}
	if t := e.tokenAt[k]; t > a {
		return e.output[a:t], scratch
	}
	t := e.tokenAt[k]
	end := min(t+n, b)
	scratch = append(scratch[:0], token[a-t:end-t]...)
	return scratch, scratch
}

// equalOut reports whether p is the entry's output from a on, with token
// in place of the entry's.
func (e *memoEntry) equalOut(p []byte, a int, token string, scratch []byte) (bool, []byte) {
	for len(p) > 0 {
		var q []byte
		q, scratch = e.piece(scratch, a, a+len(p), token)
		if !bytes.Equal(p[:len(q)], q) {
			return false, scratch
		}
		p, a = p[len(q):], a+len(q)
	}
	return true, scratch
}

// pickRare sets each checkpoint's rare to the offset of the least frequent
// byte of its anchor, by the counts of a sample of the page (every 61st
// byte, a stride that no repeated markup keeps in step with) and of the
// anchors themselves.
func (e *memoEntry) pickRare() {
	var freq [256]int32
	for i := 0; i < len(e.input); i += 61 {
		freq[e.input[i]]++
	}
	for _, c := range e.checks {
		for _, b := range e.input[c.in : c.in+memoAnchor] {
			freq[b]++
		}
	}
	for k := range e.checks {
		a := e.input[e.checks[k].in : e.checks[k].in+memoAnchor]
		best := 0
		for i := 1; i < len(a); i++ {
			if freq[a[i]] < freq[a[best]] {
				best = i
			}
		}
		e.checks[k].rare = best
	}
}

// indexAnchor returns the offset of the first instance of a in p, as
// bytes.Index does, or -1; it looks for a[rare] and compares around it.
// bytes.Index looks for a's first byte, and an anchor's is '<', which
// markup holds every few bytes.
func indexAnchor(p, a []byte, rare int) int {
	c := a[rare]
	for i := rare; i < len(p); {
		j := bytes.IndexByte(p[i:], c)
		if j < 0 {
			return -1
		}
		s := i + j - rare
		if s+len(a) > len(p) {
			return -1
		}
		if bytes.Equal(p[s:s+len(a)], a) {
			return s
		}
		i += j + 1
	}
	return -1
}

// pageWriter returns what rewrites one HTML response for req: a replay if
// the memo holds the page, else a rewriter, whose work the memo keeps if
// the page was asked for before.
func (h *Handler) pageWriter(w io.Writer, opts rewrite.Options, req *http.Request) pageWriter {
	if h.memo == nil {
		return rewrite.NewWriter(w, opts)
	}
	key := opts.PageURL.String() + "?" + req.URL.RawQuery + "\x00" + opts.Nonce
	if len(key) > maxMemoKey {
		return rewrite.NewWriter(w, opts)
	}
	db := h.policy.DB()
	if e := h.memo.get(key, db); e != nil && len(e.token) == len(opts.Token) {
		return &memoReplay{e: e, w: w, opts: opts, memo: h.memo, key: key}
	}
	admit, sp := h.memo.admit(key)
	if !admit {
		return &memoFirst{Writer: rewrite.NewWriter(w, opts), memo: h.memo, key: key}
	}
	rec := &memoRecorder{memo: h.memo, key: key, db: db, token: opts.Token, nextAt: 1, gen: sp.gen}
	rec.tee = &memoTee{w: w, keep: true}
	if size := sp.size; size > 0 {
		// Sized for the page as it was, with room for the changes and
		// the loader: growing a copy page by page costs as much again.
		rec.in = make([]byte, 0, size+size/16)
		rec.tee.kept = make([]byte, 0, size+size/8+4<<10)
	}
	rec.rw = rewrite.NewWriter(rec.tee, opts)
	return rec
}

// memoRecorder is a rewriter whose input, output and call sequence are
// kept, to be added to the memo when the page ends cleanly.
type memoRecorder struct {
	rw     *rewrite.Writer
	tee    *memoTee
	in     []byte
	events []memoEvent
	checks []memoCheck
	nextAt int // input offset from which the next checkpoint is looked for
	tries  int // places tried for it
	failed bool
	memo   *pageMemo
	key    string
	db     *blocklists.DB
	token  string
	gen    int // the generation of the page's recordings this one is
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
	r.mark(false, err)
	return n, err
}

// write writes p to the rewriter, stopping at the first '<' after each
// stride to take a checkpoint if the rewriter's state is all there is
// there (the output does not depend on how the input is cut).
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
		if sp, ok := r.rw.SyncPoint(); ok {
			st := r.rw.Stats()
			c := memoCheck{in: start + cut, out: len(r.tee.kept), ev: len(r.events), sp: sp, elements: st.Elements, bytesIn: st.BytesIn, bytesOut: st.BytesOut}
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
	r.in, r.events, r.checks = nil, nil, nil
	r.tee.keep, r.tee.kept = false, nil
}

func (r *memoRecorder) Close() error {
	err := r.rw.Close()
	if err != nil || r.failed || !r.tee.keep || r.token == "" || bytes.Contains(r.in, []byte(r.token)) {
		return err
	}
	st := r.rw.Stats()
	e := &memoEntry{db: r.db, input: r.in, output: r.tee.kept, token: r.token, events: r.events,
		end: memoCheck{snap: st, elements: st.Elements, bytesIn: st.BytesIn, bytesOut: st.BytesOut}, gen: r.gen}
	e.score.Store(int32(1)<<r.gen - 1)
	e.tokenAt = offsets(e.output, r.token)
	for _, c := range r.checks {
		if c.in+memoAnchor <= len(e.input) {
			e.checks = append(e.checks, c)
		}
	}
	e.pickRare()
	r.memo.add(r.key, e)
	metrics.pageMemo.WithLabelValues("kept").Inc()
	return nil
}

func (r *memoRecorder) Stats() *rewrite.Stats { return r.rw.Stats() }

// memoTee passes the rewriter's output on and keeps a copy of it.
type memoTee struct {
	w    io.Writer
	keep bool
	kept []byte
}

func (t *memoTee) Write(p []byte) (int, error) {
	if t.keep {
		if len(t.kept)+len(p) > 2*maxMemoPage {
			t.keep, t.kept = false, nil
		} else {
			t.kept = append(t.kept, p...)
		}
	}
	return t.w.Write(p)
}

func (t *memoTee) FlushError() error { return rewrite.FlushWriter(t.w) }

// memoReplay sends a page from the memo while the upstream body matches
// it, and hands over to a rewriter where it stops matching. The rewriter
// hands back at a checkpoint where it is in the recording's state again.
type memoReplay struct {
	e    *memoEntry
	w    io.Writer
	opts rewrite.Options // the response's own, token included
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
	rw    *rewrite.Writer
	skip  *memoSkip
	live  bool
	base  memoCheck
	acc   *rewrite.Stats
	look  int    // the checkpoint the live rewriter looks for
	seen  int    // input the live rewriter read since look last moved
	state []byte // scratch for the live rewriter's state
	// credit is how much more live input may be searched for checkpoints:
	// each byte searched costs one, each byte sent from the memo after a
	// hand-back earns one, so a page that differs everywhere pays a bounded
	// search and then is only rewritten.
	credit int
}

// memoCredit is the search credit a replay starts with.
const memoCredit = 64 << 10

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

// commonPrefix returns how many bytes a and b start with in common.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	if bytes.Equal(a[:n], b[:n]) {
		return n
	}
	i := 0
	for ; n-i >= 64 && bytes.Equal(a[i:i+64], b[i:i+64]); i += 64 {
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
		p, r.buf = r.e.piece(r.buf, r.sent, target, r.opts.Token)
		r.sent += len(p)
		r.fromMemo += len(p)
		if err := writeAll(r.w, p); err != nil {
			return err
		}
	}
	return nil
}

// goLive brings a rewriter to the recording's state after the events
// already sent, then feeds it the rest of the matched input, and lets it
// rewrite from there. It starts a new rewriter at the last checkpoint the
// body matched up to (rewrite.NewWriterAt) when there is no rewriter yet,
// or when that saves the parked one reading two strides or more again:
// a new one costs a Writer and a merge of counts.
func (r *memoReplay) goLive() error {
	if r.skip == nil {
		r.skip = &memoSkip{w: r.w, e: r.e, token: r.opts.Token}
		r.credit = memoCredit
	}
	r.credit += r.in - r.base.in // earned since the hand-back
	next := sort.Search(len(r.e.checks), func(i int) bool { return r.e.checks[i].in > r.in })
	if k := next - 1; k >= 0 && (r.rw == nil || r.e.checks[k].in-r.base.in >= 2*memoStride) {
		c := &r.e.checks[k]
		if r.rw != nil {
			r.acc = addStats(r.acc, r.rw.Stats())
		}
		r.acc = addStats(r.acc, r.e.between(&r.base, c))
		// What the recording wrote up to the checkpoint follows from input
		// this body matched.
		if err := r.send(c.out); err != nil {
			return err
		}
		r.rw, r.base = rewrite.NewWriterAt(r.skip, r.opts, c.sp), *c
	}
	if r.rw == nil {
		r.rw = rewrite.NewWriter(r.skip, r.opts)
	}
	r.skip.pos, r.skip.n = r.base.out, r.sent
	pos := r.base.in
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
	r.live, r.look, r.seen = true, next, 0
	return nil
}

// liveWrite rewrites p, stopping where the bytes after one of the next
// checkpoints are, to hand back to the memo if the rewriter's state there
// is the recording's.
func (r *memoReplay) liveWrite(p []byte) (int, error) {
	total := len(p)
	for {
		k, at := r.find(p)
		if k < 0 {
			r.seen += len(p)
			n, err := r.rw.Write(p)
			return total - len(p) + n, err
		}
		if at > 0 {
			if n, err := r.rw.Write(p[:at]); err != nil {
				return total - len(p) + n, err
			}
			p = p[at:]
		}
		r.look, r.seen = k+1, 0
		c := &r.e.checks[k]
		var ok bool
		r.state, ok = r.rw.SyncState(r.state[:0])
		if ok && bytes.Equal(r.state, c.sp.Key()) {
			r.live, r.base = false, *c
			r.in, r.sent, r.ev = c.in, c.out, c.ev
			n, err := r.Write(p)
			return total - len(p) + n, err
		}
	}
}

// find returns the next checkpoint if the bytes that follow it are in p,
// and where they start; k < 0 if they are not, or the search credit is
// spent. A checkpoint not met within two strides is given up for the one
// after it: that part of the page is gone.
func (r *memoReplay) find(p []byte) (k, at int) {
	checks := r.e.checks
	if r.seen > 2*memoStride && r.look < len(checks) {
		r.look, r.seen = r.look+1, 0
	}
	if r.look >= len(checks) || r.credit <= 0 {
		return -1, 0
	}
	c := checks[r.look]
	at = indexAnchor(p, r.e.input[c.in:c.in+memoAnchor], c.rare)
	if at < 0 {
		r.credit -= len(p)
		return -1, 0
	}
	r.credit -= at
	return r.look, at
}

func (r *memoReplay) Flush() error {
	if r.live {
		return r.rw.Flush()
	}
	return rewrite.FlushWriter(r.w)
}

func (r *memoReplay) Close() error {
	err := r.close()
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
		s.Merge(r.e.between(&r.base, &r.e.end))
	}
	return s
}

// memoSkip drops the first n bytes a taking-over rewriter writes, which
// went out from the memo, checking that they are those bytes.
type memoSkip struct {
	w     io.Writer
	e     *memoEntry
	token string
	n     int
	pos   int
	buf   []byte
}

func (s *memoSkip) Write(p []byte) (int, error) {
	total := len(p)
	if s.pos < s.n {
		k := min(len(p), s.n-s.pos)
		var same bool
		if same, s.buf = s.e.equalOut(p[:k], s.pos, s.token, s.buf); !same {
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
