package rewrite

import (
	"encoding/binary"
	"io"
	"slices"
)

// SyncState appends to dst the Writer's state between two writes, and
// reports whether it is at a point where that state is all there is: no
// undecided input, no output held back (for the loader or otherwise), and
// not inside raw text, a comment, a held element or a nested document.
//
// Two Writers made with the same Options (Token and Nonce aside: each
// writes its own, but both must have a Nonce or neither) whose states are
// equal write the same bytes for the same input from there on, and count
// the same for it. The Caddy module's page memo uses this to pick a kept
// rewrite up again after a stretch of a page that changed: where the
// rewriter of the changed page reaches the state the kept one had at the
// same bytes, the kept output for the rest is what it would write.
//
// The state holds everything that outlives a token: the tree context, the
// base URL, where the page is (head or body), the CSP nonce and the
// loader's progress. A nonce from the Options is the Writer's own, like
// its Token: the state says only that there is one, so that a page whose
// every response has a nonce of its own reaches the same states. Scratch
// memory, caches and the counts (which add up, see Stats.Since) are not
// part of it, nor the strongest decision, which only a nested document's
// Writer reports. The counts of open select, template and p elements
// follow from the tree, and are in it all the same.
func (r *Writer) SyncState(dst []byte) ([]byte, bool) {
	if !r.synced() {
		return dst, false
	}
	var flags byte
	optNonce := r.opts.Nonce != "" // then r.nonce is that nonce
	for i, b := range [...]bool{r.baseSet, r.headPhase, r.opensBody, r.holdDone, r.tree.frameset, r.heldOver, r.pastBOM, optNonce} {
		if b {
			flags |= 1 << i
		}
	}
	var flags2 byte
	if r.urlSeen {
		flags2 = 1
	}
	dst = append(dst, flags, flags2, r.loaderState, r.sstate)
	dst = appendSyncString(dst, r.rawName)
	if !optNonce {
		dst = appendSyncString(dst, r.nonce)
	}
	// Until a <base href> sets it, the base URL is the options' PageURL,
	// which the flags' baseSet stands for.
	base := ""
	if r.baseSet && r.base != nil {
		base = r.base.String()
	}
	dst = appendSyncString(dst, base)
	for _, n := range [...]int{r.tree.selects, r.tree.template, r.tree.paras, len(r.tree.stack)} {
		dst = binary.AppendUvarint(dst, uint64(n))
	}
	for i := range r.tree.stack {
		n := &r.tree.stack[i]
		var f byte
		for j, b := range [...]bool{n.htmlIP, n.textIP} {
			if b {
				f |= 1 << j
			}
		}
		dst = append(dst, byte(n.ns), f)
		dst = appendSyncString(dst, n.name)
	}
	return dst, true
}

// A SyncPoint is a Writer's whole state where SyncState gives one, kept
// so that a new Writer can start from it (NewWriterAt).
type SyncPoint struct {
	key []byte
	st  carried
}

// SyncPoint returns the Writer's state as a SyncPoint, if SyncState has
// one.
func (r *Writer) SyncPoint() (*SyncPoint, bool) {
	key, ok := r.SyncState(nil)
	if !ok {
		return nil, false
	}
	p := &SyncPoint{key: key, st: r.carried}
	p.st.tree.stack = slices.Clone(p.st.tree.stack)
	return p, true
}

// Key is the SyncState of the point.
func (p *SyncPoint) Key() []byte { return p.key }

// NewWriterAt returns a Writer in the state p describes, as if it had
// rewritten the input before p: for the same input from there on, it
// writes and counts what the Writer p was taken from would have, with its
// own Token and Nonce. Its Stats count from p on. opts must be those of
// that Writer, Token and Nonce aside (as for SyncState).
func NewWriterAt(w io.Writer, opts Options, p *SyncPoint) *Writer {
	r := NewWriter(w, opts)
	r.carry(p)
	r.tree.stack = slices.Clone(p.st.tree.stack)
	return r
}

// carry takes p's state, but for the stack, with the Writer's own nonce
// when its Options give one.
func (r *Writer) carry(p *SyncPoint) {
	r.carried = p.st
	if !r.baseSet {
		// The base is this Writer's page, not the one p was taken on
		// (as a SyncPoint's bytes have it): ownPath looks for it.
		r.base = r.opts.PageURL
	}
	if r.opts.Nonce != "" {
		r.nonce = r.opts.Nonce
	}
}

// ResetAt puts r in the state p describes, as NewWriterAt would start a
// Writer, and reports whether it did: only a Writer between writes where
// SyncState gives a state can be reset, else r is left as it was. Unlike a
// new Writer, r keeps its scratch memory and its counts: its Stats go on
// counting what it reads from p on, added to what it counted before.
func (r *Writer) ResetAt(p *SyncPoint) bool {
	if !r.synced() {
		return false
	}
	// At a sync point a Writer holds nothing but its carried state: the
	// rest of it is empty (synced), scratch memory, which it keeps, or
	// these, which start over. It is not zeroed whole, which cost an
	// eighth of a replay of a page with a token every 2 KB
	// (TestResetAtFields keeps this list whole).
	stack := r.tree.stack[:0]
	r.carry(p)
	r.tree.stack = append(stack, p.st.tree.stack...)
	r.lastFail, r.heldLen, r.holdAt, r.strongest = 0, 0, 0, Decision{}
	r.ownAsked = false // the policy may have changed since
	return true
}

// synced reports whether the Writer is between writes at a point where
// its state is all there is (see SyncState).
func (r *Writer) synced() bool {
	return len(r.buf) == 0 && len(r.out) == 0 && len(r.pend) == 0 && !r.holding && r.raw == rawNone && r.disp == dispPass &&
		len(r.held) == 0 && r.nested == nil && !r.deciding && !r.isNested && r.err == nil && !r.closed
}

func appendSyncString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// Since returns what s counted beyond base, an earlier copy of the same
// count (see Clone): s minus base. Since(nil) is a copy of s.
func (s *Stats) Since(base *Stats) *Stats {
	out := &Stats{findings: s.findings}
	out.merge(s, 1)
	if base != nil {
		out.merge(base, -1)
	}
	return out
}

// MergeSince adds to s what t counted beyond base, an earlier copy of the
// same count, as s.Merge(t.Since(base)) would, without making that copy:
// nothing at all when t is base. base may be nil.
func (s *Stats) MergeSince(t, base *Stats) {
	if t == base {
		return
	}
	loader := s.LoaderInserted || t.LoaderInserted && (base == nil || !base.LoaderInserted)
	s.merge(t, 1)
	if base != nil {
		s.merge(base, -1)
	}
	s.LoaderInserted = loader
}

// Changes counts the changes to what s counts besides Elements, BytesIn
// and BytesOut: two copies of one rewrite's Stats with equal Changes differ
// in those three at most.
func (s *Stats) Changes() int { return s.changes }

// Clone returns a copy of s that later counts do not change.
func (s *Stats) Clone() *Stats { return s.Since(nil) }

// Merge adds o's counts to s.
func (s *Stats) Merge(o *Stats) { s.merge(o, 1) }

// merge adds sign (1 or -1) times o's counts to s, dropping keyed counts
// that reach zero. Taking away an earlier copy's LoaderInserted leaves it
// set only if the loader came after the copy.
func (s *Stats) merge(o *Stats, sign int) {
	s.Elements += sign * o.Elements
	s.BytesIn += int64(sign) * o.BytesIn
	s.BytesOut += int64(sign) * o.BytesOut
	for i := range s.Actions {
		s.Actions[i] += sign * o.Actions[i]
	}
	if sign > 0 {
		s.LoaderInserted = s.LoaderInserted || o.LoaderInserted
	} else {
		s.LoaderInserted = s.LoaderInserted && !o.LoaderInserted
	}
	s.changes += sign * o.changes
	s.Categories = s.mergeCounts(s.Categories, o.Categories, sign)
	s.Vendors = s.mergeCounts(s.Vendors, o.Vendors, sign)
	for k, n := range o.FailClosed {
		if s.FailClosed == nil {
			s.FailClosed = map[string]int{}
		}
		if s.FailClosed[k] += sign * n; s.FailClosed[k] == 0 {
			delete(s.FailClosed, k)
		}
	}
	for f, n := range o.fc {
		s.fc = s.count(s.fc, f, sign*(*n))
	}
	for f, n := range o.mc {
		s.mc = s.count(s.mc, f, sign*(*n))
	}
}

func (s *Stats) mergeCounts(dst, src map[string]*Counts, sign int) map[string]*Counts {
	if dst == nil && len(src) > 0 {
		dst = make(map[string]*Counts, len(src))
	}
	for k, c := range src {
		d := s.countsFor(dst, k)
		if d == nil {
			continue
		}
		zero := true
		for i := range d {
			d[i] += sign * c[i]
			zero = zero && d[i] == 0
		}
		if zero {
			delete(dst, k)
		}
	}
	return dst
}
