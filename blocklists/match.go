package blocklists

import (
	"encoding/binary"
	"math"
	"math/bits"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"
)

// ReqType is a set of request types, as Adblock Plus options name them.
type ReqType uint16

// Request types. A rule restricted to some types applies to a request
// whose type set meets them; a request of unknown type is TypeAll, so it
// meets every restricted rule (the privacy-safe reading).
const (
	TypeScript ReqType = 1 << iota
	TypeImage
	TypeStylesheet
	TypeSubdocument
	TypeXHR
	TypePing
	TypeMedia
	TypeFont
	TypeObject
	TypeWebsocket
	TypeOther
	TypeAll = TypeOther<<1 - 1
)

var typeOptions = map[string]ReqType{
	"script": TypeScript, "image": TypeImage, "stylesheet": TypeStylesheet, "css": TypeStylesheet,
	"subdocument": TypeSubdocument, "frame": TypeSubdocument, "xmlhttprequest": TypeXHR, "xhr": TypeXHR,
	"ping": TypePing, "beacon": TypePing, "media": TypeMedia, "font": TypeFont, "object": TypeObject,
	"websocket": TypeWebsocket, "other": TypeOther,
}

// Request is one URL decision's input. URL is the whole URL, lower-case,
// as scheme://host/path?query with no port, user info or fragment; Host is
// its host; PageHost is the host of the page that loads it.
type Request struct {
	URL, Host, PageHost string
	Type                ReqType
	// hostStart and hostEnd are where Host lies in URL, when the caller
	// knows (DecideRequest, which builds the URL); 0 and 0 for Match to
	// find it.
	hostStart, hostEnd int
}

// rule is a compiled network filter other than a plain host rule.
type rule struct {
	// The fields a match reads of a rule that its ref lets by come first,
	// in the rule's first 64 bytes, one line of the CPU's cache (a rule
	// takes 192 bytes on 64-bit machines, a size class of whole lines, so
	// it starts on one):
	// a rule of one segment, most of them, is then matched from that line
	// and its pattern's bytes, where the match read three lines of the
	// rule (its types, its segments' slice, tokOff and lit0) and the
	// slice's array before the bytes, and the pattern's header for its
	// length (TestRuleLine).
	ans answer
	// types are the request types it applies to; 0: every type.
	types      ReqType
	hostAnchor bool // || (generic rules only: at a label start of the host)
	start, end bool // | anchors
	oneSeg     bool // segs holds one segment, seg0
	// plen is len(pattern), which a match that finds the rule weighs
	// its answer by (outcome.add's spec), or 1<<32-1 for a longer one.
	plen uint32
	// tokOff is the offset in segs[0] of the token the rule is indexed
	// under, when that token lies in the first segment of a pattern that
	// is no regex: the first segment is then matched right where the
	// token occurs in the URL, and the rest after it. Otherwise -1.
	tokOff int
	// lit0 is how many bytes segs[0] has before its first ^: they are
	// compared as one string.
	lit0 int
	// dom holds the $domain options; nil for a rule without them.
	dom *domainOpts
	// seg0 is segs[0], or "" when segs is empty (setPattern).
	seg0 string

	// pattern is the lower-case filter body, with anchors removed. For a
	// rule indexed under its host (||host/…), it is what follows the host
	// and is matched right where the URL's host ends.
	pattern string
	re      *regexp.Regexp
	// segs is the pattern split at its stars.
	segs []string
	// must are literals a URL must contain for a regex rule to match:
	// a cheap test before the regex runs.
	must []string
	// toks are the tokens the rule can be indexed under, and offs their
	// offsets in pattern (for a plain pattern).
	toks []string
	offs []int
	// edge is the length of the token that begins the pattern, for a
	// rule in DB.edges; 0 for the others.
	edge int
}

// setPattern sets the rule's pattern, p, and its segments.
func (r *rule) setPattern(p string) {
	r.pattern, r.segs = p, strings.Split(p, "*")
	r.seg0, r.oneSeg = r.segs[0], len(r.segs) == 1
	r.plen = uint32(min(uint64(len(p)), math.MaxUint32))
}

// matchAnchored is matchSegs over r's segments, anchored at the start
// of s, reading a single one from the rule's first line (seg0).
func (r *rule) matchAnchored(s string) bool {
	if r.oneSeg {
		e, ok := segAt(r.seg0, s, 0)
		return ok && (!r.end || e == len(s))
	}
	return matchSegs(r.segs, s, true, r.end)
}

// domainOpts are a rule's $domain options, kept apart from the rule: most
// rules have none.
type domainOpts struct {
	domains, notDomains []string
	set                 map[string]bool // domains, when there are many of them
	// onPage is the answer for the last page host appliesOn checked:
	// most sites serve one page host, and a rule with many domains costs
	// a map lookup for each of its labels.
	onPage atomic.Pointer[pageAnswer]
}

// pageAnswer is whether a rule applies on the pages of host.
type pageAnswer struct {
	host string
	ok   bool
}

// isSep reports whether c matches the ^ separator: anything but a letter,
// a digit or one of _ - . %.
func isSep(c byte) bool {
	return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '%')
}

// segAt matches seg, which holds no *, at s[i:], and returns where the
// match ends.
func segAt(seg, s string, i int) (int, bool) {
	for k := 0; k < len(seg); k++ {
		c := seg[k]
		if c == '^' {
			if i == len(s) {
				continue // ^ matches the end of the URL
			}
			if !isSep(s[i]) {
				return 0, false
			}
		} else if i >= len(s) || s[i] != c {
			return 0, false
		}
		i++
	}
	return i, true
}

// indexLit is strings.Index(s, lit). In a haystack of 64 bytes or more
// it takes as candidates the places where lit's first and last bytes
// both lie (indexPair, 32 places a step in SSE2 on amd64, 64 in AVX2)
// and compares lit at those alone: strings.Index goes from one place of
// lit's first byte to the next, a call each, and searched a 426-byte
// query with 33 "=" for "=bt1zdxy1jni9" (EasyList's .com/*=bt1zdxy1jni9,
// tried on most URLs on a .com host) in 215 ns, against 25 so.
func indexLit(s, lit string) int {
	n := len(lit)
	if n < 2 || len(s) < 64 {
		return strings.Index(s, lit)
	}
	for i := 0; i+n <= len(s); {
		j := indexPair(unsafe.StringData(s[i:]), len(s)-i, lit[0], lit[n-1], n-1)
		if j < 0 {
			return -1
		}
		if s[i+j:i+j+n] == lit {
			return i + j
		}
		i += j + 1
	}
	return -1
}

// indexPairGo is indexPair in Go.
func indexPairGo(p *byte, n int, c0, c1 byte, off int) int {
	b := unsafe.Slice(p, n)
	for i := 0; i+off < n; i++ {
		if b[i] == c0 && b[i+off] == c1 {
			return i
		}
	}
	return -1
}

// segFind finds the first match of seg in s at or after from.
func segFind(seg, s string, from int) (start, end int, ok bool) {
	lit := seg
	if i := strings.IndexByte(seg, '^'); i >= 0 {
		lit = seg[:i]
	}
	if lit == "" {
		for i := from; i <= len(s); i++ {
			if e, ok := segAt(seg, s, i); ok {
				return i, e, true
			}
		}
		return 0, 0, false
	}
	for off := from; off <= len(s); {
		j := indexLit(s[off:], lit)
		if j < 0 {
			return 0, 0, false
		}
		if e, ok := segAt(seg, s, off+j); ok {
			return off + j, e, true
		}
		off += j + 1
	}
	return 0, 0, false
}

// matchSegs matches a pattern split at its stars against s: at the start
// of s when anchored, anywhere otherwise, and up to the end of s when end
// is set. Each segment has a fixed length (a ^ matches empty only at the
// end of s), so taking every segment at its first match after the
// previous one is right, and the cost is a few substring searches.
func matchSegs(segs []string, s string, anchored, end bool) bool {
	pos := 0
	for k, seg := range segs {
		last := k == len(segs)-1
		if k == 0 && anchored {
			e, ok := segAt(seg, s, 0)
			if !ok {
				return false
			}
			pos = e
			if last {
				return !end || pos == len(s)
			}
			continue
		}
		if last && end {
			for from := pos; ; {
				st, e, ok := segFind(seg, s, from)
				if !ok {
					return false
				}
				if e == len(s) {
					return true
				}
				from = st + 1
			}
		}
		_, e, ok := segFind(seg, s, pos)
		if !ok {
			return false
		}
		pos = e
	}
	return true
}

func domainMatch(host, d string) bool {
	return host == d || len(host) > len(d) && host[len(host)-len(d)-1] == '.' && strings.HasSuffix(host, d)
}

// applies checks the rule's options against the request.
func (r *rule) applies(q *Request) bool {
	return r.appliesType(q) && r.appliesOn(q.PageHost)
}

// appliesType checks the rule's type options against the request.
func (r *rule) appliesType(q *Request) bool {
	if r.types != 0 && r.types&q.Type == 0 {
		return false
	}
	// A rule for every URL of some types ("$ping,third-party") says
	// nothing about a request of unknown type, such as a preconnect.
	return !(q.Type == TypeAll && r.types != 0 && r.pattern == "" && r.re == nil)
}

// appliesOn checks the rule's $domain options alone: whether it can
// apply on a page served from pageHost.
func (r *rule) appliesOn(pageHost string) bool {
	d := r.dom
	if d == nil {
		return true
	}
	if a := d.onPage.Load(); a != nil && a.host == pageHost {
		return a.ok
	}
	ok := d.allow(pageHost)
	// A copy: the caller's string may be a view of a buffer it reuses.
	d.onPage.Store(&pageAnswer{host: strings.Clone(pageHost), ok: ok})
	return ok
}

// allow checks the options against pageHost.
func (d *domainOpts) allow(pageHost string) bool {
	for _, n := range d.notDomains {
		if domainMatch(pageHost, n) {
			return false
		}
	}
	if d.set != nil {
		for h := pageHost; ; {
			if d.set[h] {
				return true
			}
			i := strings.IndexByte(h, '.')
			if i < 0 {
				return false
			}
			h = h[i+1:]
		}
	}
	if len(d.domains) > 0 {
		for _, x := range d.domains {
			if domainMatch(pageHost, x) {
				return true
			}
		}
		return false
	}
	return true
}

// matchAt matches a host-indexed rule, whose host ends at hostEnd in q.URL.
func (r *rule) matchAt(q *Request, hostEnd int) bool {
	return r.applies(q) && r.matchAnchored(q.URL[hostEnd:])
}

// match matches a generic rule anywhere in q.URL.
func (r *rule) match(q *Request) bool {
	return r.applies(q) && r.matchURL(q)
}

// matchURL matches the rule's pattern anywhere in q.URL, its options
// aside.
func (r *rule) matchURL(q *Request) bool {
	u := q.URL
	if r.re != nil {
		for _, m := range r.must {
			if !strings.Contains(u, m) {
				return false
			}
		}
		// A copy: the regexp package keeps the string it matches in a
		// pooled machine, and Go's escape analysis then has every
		// request's URL escape, DecideRequest's key buffer with it,
		// which could not be on its stack. Regex rules are few, and run
		// where their literals are found (4 runs over make bench's
		// 7,801 corpus URLs).
		return r.re.MatchString(strings.Clone(u))
	}
	if r.start {
		return r.matchAnchored(u)
	}
	if r.hostAnchor {
		hs := strings.Index(u, "://")
		if hs < 0 {
			return false
		}
		hs += 3
		he := min(hs+len(q.Host), len(u))
		// A pattern that begins with a byte can match only where the
		// host has it: most URLs are passed by with one IndexByte.
		var first byte
		if r.seg0 != "" && r.seg0[0] != '^' {
			first = r.seg0[0]
		}
		for i := hs; i < he; i++ {
			if first != 0 {
				j := strings.IndexByte(u[i:he], first)
				if j < 0 {
					return false
				}
				i += j
			}
			if (i == hs || u[i-1] == '.') && r.matchAnchored(u[i:]) {
				return true
			}
		}
		return false
	}
	return matchSegs(r.segs, u, false, r.end)
}

// matchFrom matches a rule whose first segment may begin at p in u (one
// with a tokOff, or in DB.edges): its first segment there, and its other
// segments after it. A | anchor needs p at the start of u, and a ||
// anchor needs p at the start of a label of the host, which lies between
// hostStart and hostEnd.
func (r *rule) matchFrom(u string, p, hostStart, hostEnd int) bool {
	switch {
	case p < 0:
		return false
	case r.start && p != 0:
		return false
	case r.hostAnchor && (hostStart < 0 || p < hostStart || p >= hostEnd || p > hostStart && u[p-1] != '.'):
		return false
	}
	seg := r.seg0
	if len(u)-p < r.lit0 || u[p:p+r.lit0] != seg[:r.lit0] {
		return false
	}
	e, ok := segAt(seg[r.lit0:], u, p+r.lit0)
	if !ok {
		return false
	}
	if r.oneSeg {
		return !r.end || e == len(u)
	}
	return matchSegs(r.segs[1:], u[e:], false, r.end)
}

// ruleRef is a rule in one of the indexes, with what lets most URLs
// pass it by without reading it: the request types it applies to, up to
// eight bytes of its literal at a fixed offset from where the index
// finds it, and up to eight more that the URL must hold somewhere (its
// later bytes). A decision on a URL not seen before mostly waits for
// memory, and the rule, its segments and their bytes lie in three
// places; the refs of one token or host lie together.
//
// The later bytes are searched for in the URL, which is in the CPU's
// caches: over the corpus URLs (make bench), the rules read went from
// 3,633 to 60 under tokens, from 415 to 152 under hosts, and from 1,745
// to 1,456 searched for in the whole URL (most of those, two regexes
// that most URLs on a .com host pass to their $domain check). The first
// decisions' p99 was lower in 12 of 14 runs, the two alternated in one
// process, by about 200 ns at the median (2026-12-03;
// docs/blocklists-performance.md, What made it faster).
type ruleRef struct {
	r     *rule
	lit   uint64  // the bytes, the first in the low byte
	off   int16   // where they lie in the URL, from the index's position
	n     uint8   // how many; 0 checks none
	rest  uint8   // 64 - 8n, the bits of a word past them: kept, not derived (nextPass)
	types ReqType // r.types, or TypeAll for a rule of every type
	// later are up to eight bytes of the pattern, besides those above,
	// that a URL it matches holds at no fixed place: after the index's
	// position for a rule matched from there, anywhere for one searched
	// for in the whole URL (withLater). nl counts them; 0 checks none.
	nl    uint8
	later [8]byte
}

// refTo makes a ruleRef for r, checking the n bytes of lit that lie
// off bytes from the index's position.
func refTo(r *rule, lit string, off, n int) ruleRef {
	x := ruleRef{r: r, types: r.types, off: int16(off), n: uint8(n), rest: uint8(64 - 8*n)}
	if x.types == 0 {
		x.types = TypeAll
	}
	for k := n - 1; k >= 0; k-- {
		x.lit = x.lit<<8 | uint64(lit[k])
	}
	return x
}

// tokenRef makes the ruleRef of a rule indexed under the token of tl
// bytes at r.tokOff in its first segment, which matchFrom compares up to
// the first ^ (lit0 bytes): the bytes it checks are those next to the
// token, after it or else before it, since the index has matched the
// token itself.
func tokenRef(r *rule, tl int) ruleRef {
	lit := r.segs[0][:r.lit0]
	a, b := min(r.tokOff+tl, len(lit)), min(r.tokOff, len(lit))
	switch {
	case len(lit)-a >= min(b, 8) && len(lit) > a:
		n := min(len(lit)-a, 8)
		return refTo(r, lit[a:a+n], a-r.tokOff, n)
	case b > 0:
		n := min(b, 8)
		return refTo(r, lit[b-n:b], b-n-r.tokOff, n)
	}
	return refTo(r, "", 0, 0)
}

// hostRef makes the ruleRef of a rule indexed under a host, whose
// pattern matchAt matches right where the URL's host ends: the bytes it
// checks are the first of the pattern's, up to its first * or ^.
func hostRef(r *rule) ruleRef {
	if len(r.segs) == 0 {
		return refTo(r, "", 0, 0)
	}
	lit := r.segs[0]
	if i := strings.IndexByte(lit, '^'); i >= 0 {
		lit = lit[:i]
	}
	n := min(len(lit), 8)
	return refTo(r, lit[:n], 0, n).withLater(laterLit(r.segs[1:], r.segs[0][len(lit):]))
}

// laterLit returns the longest run of literal bytes (no * and no ^) in
// segs and in the extra strings, which are parts of segments: the run
// a ref's later bytes are taken from. "" when the longest is under two
// bytes, which rule out too few URLs to be worth a search.
func laterLit(segs []string, extra ...string) string {
	best := ""
	try := func(s string) {
		for run := range strings.SplitSeq(s, "^") {
			if len(run) > len(best) {
				best = run
			}
		}
	}
	for _, s := range segs {
		try(s)
	}
	for _, s := range extra {
		try(s)
	}
	if len(best) < 2 {
		return ""
	}
	return best
}

// withLater returns x checking the first eight bytes of lit, a literal
// that a URL its rule matches holds (laterLit): from the index's position
// on, or anywhere in the URL, as its rule is matched (laterIn's from).
func (x ruleRef) withLater(lit string) ruleRef {
	x.nl = uint8(copy(x.later[:], lit))
	return x
}

// laterIn reports whether u holds x's later bytes at from or after it
// (a from before u's start is its start, and one past its end holds
// none): true for a ref that has none. A URL a decision has just read
// its tokens from is in the CPU's caches, and the search (indexLit)
// costs less than the load of a rule that it rules out.
func (x *ruleRef) laterIn(u string, from int) bool {
	if x.nl == 0 {
		return true
	}
	from = max(from, 0)
	if from > len(u) {
		return false
	}
	return indexLit(u[from:], unsafe.String(&x.later[0], int(x.nl))) >= 0
}

// reqTypes is the type set nextPass takes for q: a request of no
// type passes every ref, and the rule's own check decides.
func reqTypes(q *Request) ReqType {
	if q.Type == 0 {
		return TypeAll
	}
	return q.Type
}

func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '%'
}

// patternTokens returns the pattern's runs of token characters that a matching
// URL must contain as whole tokens: not at an unanchored edge of the
// pattern and not next to a *.
func patternTokens(p string, start, end bool) (out []string, offs []int) {
	for i := 0; i < len(p); {
		if !isTokenChar(p[i]) {
			i++
			continue
		}
		j := i
		for j < len(p) && isTokenChar(p[j]) {
			j++
		}
		okStart := i > 0 && p[i-1] != '*' || i == 0 && start
		okEnd := j < len(p) && p[j] != '*' || j == len(p) && end
		if okStart && okEnd {
			out = append(out, p[i:j])
			offs = append(offs, i)
		}
		i = j
	}
	return out, offs
}

// outcome accumulates the rules that match one request: an important
// block wins, then an exception, then the most specific block.
type outcome struct {
	important answer
	hasImp    bool
	exception bool
	best      answer
	bestSpec  int
	vendor    uint32 // the most specific vendor name seen on the host (names)
	fact      bool   // a host of the embedded database was seen (nodeFact)
	// deep is 1 + the index of the entry of the host's deepest suffix in
	// a frozen table, as walkHost found it, or 0 (factsTo).
	deep uint32
}

func (o *outcome) add(e *answer, spec int) {
	switch {
	case e.flags&nodeException != 0:
		o.exception = true
	case e.flags&nodeImportant != 0:
		if !o.hasImp {
			setAnswer(&o.important, e)
			o.hasImp = true
		}
	case spec > o.bestSpec:
		setAnswer(&o.best, e)
		o.bestSpec = spec
	}
}

// resultTo writes o's result to *out, which must be the zero answer, and
// reports whether there is one.
func (o *outcome) resultTo(out *answer) bool {
	var e *answer
	switch {
	case o.hasImp:
		e = &o.important
	case o.exception:
		out.flags = nodeException
		return true
	case o.bestSpec > 0:
		e = &o.best
	default:
		return false
	}
	// (setAnswer: the answer may have been written field by field, by
	// addHost.)
	setAnswer(out, e)
	if out.vendor == 0 {
		out.vendor = o.vendor
	}
	return true
}

// setAnswer copies *src to *dst field by field, not as one copy: an
// answer written field by field and read back 8 bytes at a time makes
// the read wait for the writes to reach the cache (a store the CPU
// cannot forward to a wider load).
func setAnswer(dst, src *answer) {
	dst.vendor, dst.category, dst.flags = src.vendor, src.category, src.flags
}

// addHost is add for the entry of the host node n, written from its
// fields into o (answerTo), not into an answer of its own first, which
// add would copy.
func (o *outcome) addHost(n node, spec int) {
	switch {
	case n.flags&nodeException != 0:
		o.exception = true
	case n.flags&nodeImportant != 0:
		if !o.hasImp {
			n.answerTo(&o.important)
			o.hasImp = true
		}
	case spec > o.bestSpec:
		n.answerTo(&o.best)
		o.bestSpec = spec
	}
}

// specificity: a rule with a path beats a host entry, and a longer host
// beats its parent.
const urlRuleSpec = 1 << 16

// addURLRule adds a generic rule that matched.
func (o *outcome) addURLRule(r *rule) { o.add(&r.ans, urlRuleSpec+int(r.plen)) }

// walkHost visits the nodes of host's label suffixes, most specific first.
func (db *DB) walkHost(host string, o *outcome, q *Request, hostEnd int) (hasRules bool) {
	if a := db.frozen(); a != nil {
		return db.walkFrozen(a, db.hosts.deepest(host, a.recs), o, q, hostEnd)
	}
	ix := db.hostIndex.Load()
	last := lastDot(host)
	for h, p := host, 0; ; h = host[p:] {
		if n, ok := db.hosts.get(h); ok && db.visitHost(n, len(h), o, q, hostEnd, ix) {
			hasRules = true
		}
		var more bool
		if p, more = nextSuffix(host, p, last); !more {
			return hasRules
		}
	}
}

// frozen returns the answers Freeze worked out, when they cover the
// table (hosts are only ever added, and a table that holds more than
// they cover is walked suffix by suffix), or nil.
func (db *DB) frozen() *hostAnswers {
	if a := db.answers.Load(); a != nil && len(a.recs) == db.hosts.len() {
		return a
	}
	return nil
}

// walkFrozen is walkHost on a frozen DB, whose answers are a, from j,
// the entry of the host's deepest suffix in the table (-1 for none):
// then from each entry to the next suffix that has one.
func (db *DB) walkFrozen(a *hostAnswers, j int, o *outcome, q *Request, hostEnd int) (hasRules bool) {
	ix := db.hostIndex.Load()
	o.deep = uint32(j + 1)
	for ; j >= 0; j = int(a.recs[j].l.parent) {
		r := &a.recs[j]
		l := &r.l
		hl := int(l.hl)
		if hl == 0 {
			hl = len(db.hosts.keys[j])
		}
		n := r.n
		if l.nrefs == 0 || q == nil {
			if db.visitHost(n, hl, o, q, hostEnd, ix) {
				hasRules = true
			}
			continue
		}
		// The host's rules from the link: visitHost's, but for where
		// they are read from.
		db.visitNode(n, hl, o)
		hasRules = true
		db.tryHostRefs(a.refsAt(l, q.URL, hostEnd), hl, o, q, hostEnd)
	}
	return hasRules
}

// refsAt returns the rules that l, the link of a host with rules in a.refs
// (nrefs not 0), gives for a URL u whose host ends at hostEnd: all of
// them, or the part of its refIndex for the URL's byte (refIndex.refsAt).
func (a *hostAnswers) refsAt(l *hostLink, u string, hostEnd int) []ruleRef {
	if l.nrefs == splitRefs {
		sp := a.spans[l.refs+uint32(splitByte(u, hostEnd))]
		return a.refs[sp.off : sp.off+sp.n]
	}
	return a.refs[l.refs : l.refs+uint32(l.nrefs)]
}

// visitHost adds to o the entry and the matching rules of n, the node
// of a suffix of hl bytes of q's host (its rules only when q is not nil),
// and reports whether n has rules.
func (db *DB) visitHost(n node, hl int, o *outcome, q *Request, hostEnd int, ix *[]*refIndex) bool {
	db.visitNode(n, hl, o)
	if n.rules == 0 {
		return false
	}
	if q != nil {
		refs := db.hostRules[n.rules-1]
		if ix != nil && (*ix)[n.rules-1] != nil {
			refs = (*ix)[n.rules-1].refsAt(q.URL, hostEnd)
		}
		db.tryHostRefs(refs, hl, o, q, hostEnd)
	}
	return true
}

// visitNode adds to o the entry of n, the node of a suffix of hl bytes
// of the host.
func (db *DB) visitNode(n node, hl int, o *outcome) {
	o.fact = o.fact || n.flags&nodeFact != 0
	if n.has() {
		if o.vendor == 0 {
			o.vendor = n.vendor
		}
		o.addHost(n, hl)
	}
}

// tryHostRefs adds to o the rules of refs, under a suffix of hl bytes
// of q's host, that match q.
func (db *DB) tryHostRefs(refs []ruleRef, hl int, o *outcome, q *Request, hostEnd int) {
	t := reqTypes(q)
	for i := nextPass(refs, 0, q.URL, hostEnd, t); i < len(refs); i = nextPass(refs, i+1, q.URL, hostEnd, t) {
		x := &refs[i]
		if x.laterIn(q.URL, hostEnd) && x.r.matchAt(q, hostEnd) {
			o.add(&x.r.ans, urlRuleSpec+hl+int(x.r.plen))
		}
	}
}

// lastDot returns the index of host's last dot, or len(host) when it has
// none: entries have two labels at least, and a bare top-level domain,
// after the last dot, is never looked up (nextSuffix).
func lastDot(host string) int {
	if i := strings.LastIndexByte(host, '.'); i >= 0 {
		return i
	}
	return len(host)
}

// nextSuffix returns where the suffix of host after the label at p
// begins, and whether a walk visits it: not when it is a bare top-level
// domain, after last, host's last dot (len(host) when it has none). It
// walks the label's few bytes in a loop, where two IndexByte a suffix
// dispatched on the length of what was left: the match's p50 10 ns lower
// and its p99 0–50 ns (2026-12-03, alternated in one process, before a
// frozen DB's walk followed links instead; a DB not frozen still steps so).
func nextSuffix(host string, p, last int) (int, bool) {
	for p < last && host[p] != '.' {
		p++
	}
	return p + 1, p < last
}

// hostIndexMin is the longest list of rules under a host that walkHost
// reads whole. The embedded database and EasyPrivacy and EasyList put 60
// rules under cloudfront.net, 39 under amazonaws.com, 25 under
// google.com: a URL on such a host read every one of their refs. Split,
// a walk over a cloudfront.net host with its data in the CPU's caches
// takes 72 ns, against 184 ns whole (2026-12-03, the same process).
const hostIndexMin = 8

// refIndex is a list of rules under a host split by the second byte of
// their refs, the byte after the URL's host and the one after that: the
// first is mostly the path's "/", the second the path's first letter.
// lists[at[c]] holds, in the list's order, the refs whose second byte is
// c and those that check fewer than two bytes; lists[0] the latter
// alone, for a URL whose byte there no ref checks, or which ends before
// it. A ref whose second byte is not the URL's is a rule whose pattern
// has another byte there, right after the host, which cannot match: the
// refs a list leaves out are rules walkHost would find no match in.
type refIndex struct {
	at    [256]uint8
	lists [][]ruleRef
}

// newRefIndex splits refs, or returns nil when they are too few to gain
// from it, have too many second bytes for at's 255 lists, or so many refs
// that check fewer than two bytes that their copies in every list would
// take more than refIndexCopies times the refs' own room (a list of
// thousands of "||host^$domain=…" rules beside rules with many paths).
func newRefIndex(refs []ruleRef) *refIndex {
	if len(refs) <= hostIndexMin {
		return nil
	}
	ix := &refIndex{lists: [][]ruleRef{nil}}
	short := 0
	for _, x := range refs {
		if x.n < 2 {
			short++
			continue
		}
		c := byte(x.lit >> 8)
		if ix.at[c] != 0 {
			continue
		}
		if len(ix.lists) == 256 {
			return nil
		}
		ix.at[c] = uint8(len(ix.lists))
		ix.lists = append(ix.lists, nil)
	}
	if len(ix.lists) == 1 || len(refs)-short+short*len(ix.lists) > refIndexCopies*len(refs) {
		return nil
	}
	for _, x := range refs {
		if x.n < 2 {
			for k := range ix.lists {
				ix.lists[k] = append(ix.lists[k], x)
			}
			continue
		}
		k := ix.at[byte(x.lit>>8)]
		ix.lists[k] = append(ix.lists[k], x)
	}
	return ix
}

// refIndexCopies bounds the room a refIndex takes, in times its refs'.
const refIndexCopies = 4

// refsAt returns the refs that may pass for a URL u whose host ends at
// hostEnd.
func (ix *refIndex) refsAt(u string, hostEnd int) []ruleRef {
	return ix.lists[ix.at[splitByte(u, hostEnd)]]
}

// splitByte is the byte of u whose value picks a refIndex's part: the
// one after the "/" that follows the host, which ends at hostEnd, or 0
// when u ends before it.
func splitByte(u string, hostEnd int) byte {
	if hostEnd+1 < len(u) {
		return u[hostEnd+1]
	}
	return 0
}

// indexHostRules makes DB.hostIndex.
func (db *DB) indexHostRules() {
	ix := make([]*refIndex, len(db.hostRules))
	for i, refs := range db.hostRules {
		ix[i] = newRefIndex(refs)
	}
	db.hostIndex.Store(&ix)
}

// parentHost returns h without its first label, and whether that is a
// suffix a host lookup visits: false when h has one label, or when what
// is left is a bare top-level domain, which is never looked up (entries
// have two labels at least).
func parentHost(h string) (string, bool) {
	_, p, ok := strings.Cut(h, ".")
	return p, ok && strings.Contains(p, ".")
}

// LookupHost answers for a bare host (lower-case, no trailing dot) from
// the host entries alone: who runs it, its category, or an exception. As
// in Match, an important block wins, then an exception, then the most
// specific entry. It does not allocate.
//
// Once the DB is frozen (Freeze; a Policy freezes its DB), the answer is
// the one kept for host's deepest suffix in the table, found by one walk
// (hostTable.deepest); before, the nodes of every suffix are combined on
// each call (combineHost).
func (db *DB) LookupHost(host string) (Entry, bool) {
	a, ok := db.lookupHost(host)
	return a.entry(), ok
}

// lookupHost is LookupHost's answer, as an answer.
func (db *DB) lookupHost(host string) (answer, bool) {
	if a := db.answers.Load(); a != nil {
		if k := a.find(&db.hosts, host); k != 0 {
			return a.list[k-1], true
		}
		return answer{}, false
	}
	return db.combineHost(host)
}

// hostAnswers holds LookupHost's answer for every host in a DB's table,
// as the host and each of its suffixes combine: of[j] is 1 + the index in
// list of the answer for the table's entry j, or 0 for none. A host's
// answer is that of its deepest suffix in the table, since the suffixes
// above it are that suffix's own. cat[k] is list[k]'s category as
// Policy.DecideHost looks its action up (categoryIndex).
type hostAnswers struct {
	of   []uint32
	list []answer
	cat  []uint8
	// recs[j] is what a frozen walk over a host whose deepest suffix in
	// the table is entry j reads there (hostRec). It is good while the
	// table holds as many hosts (they are only ever added).
	recs []hostRec
	// factList holds the answers of the facts that hostLink.fact gives,
	// worked out from factsDB, DB.facts as it was when Freeze ran, or
	// nil when they were not worked out.
	factList []answer
	factsDB  *DB
	// refs holds the rules under each host, host after host
	// (hostLink.refs), copied from DB.hostRules at Freeze: for a host
	// with a refIndex, each of its parts; spans holds, for such a host,
	// where the part for each byte lies in refs, 256 spans a host.
	refs  []ruleRef
	spans []refSpan
}

// hostRec is a frozen DB's record of its table's entry j, 64 bytes: the
// entry's node, its link and its host's first bytes, what a decision's
// walk reads of the entry, in one line of the CPU's cache (a slice of
// them starts on a line: Go rounds an allocation of whole lines up to a
// size class of whole lines, and a large one to pages). The walk read
// four lines an entry, from four tables: the key's string header (1.5
// MB for the 97,579 hosts of builtin + EasyPrivacy + EasyList) and its
// bytes, spread over the heap, the link (1.5 MB) and the node (1.5 MB).
// The records take 6.2 MB where the links took 1.5.
// Over the 78 slowest first decisions of the corpus URLs, callgrind's
// simulated last level of 1 MB missed 1,169 times against 1,283; the
// first decisions' p99 was 4–8% lower in eight runs of eight, the two
// layouts timed URL by URL in one process (2026-12-04,
// docs/blocklists-performance.md).
type hostRec struct {
	n   node     // db.hosts.nodes[j]
	l   hostLink // the entry's link
	key [hostRecKey]byte
}

// hostRecKey is how many of a host's bytes its record holds: the whole
// host when it is no longer (hostLink.hl), and the walk compares the
// record's bytes in place of the table's key. 1,954 of the 97,579 hosts
// of builtin + EasyPrivacy + EasyList are longer, the deepest entry of
// one corpus URL in the 4,426 that have one.
const hostRecKey = 32

// setHost puts h, the entry's host, in r: its length (hostLink.hl) and
// its first bytes.
func (r *hostRec) setHost(h string) {
	if len(h) <= math.MaxUint16 {
		r.l.hl = uint16(len(h))
	}
	copy(r.key[:], h)
}

// whole reports whether r holds all of its host's bytes, in which a walk
// compares the host (hostTable.isKey): not when the host is longer than
// hostRecKey, or than hostLink.hl can say.
func (r *hostRec) whole() bool { return r.l.hl != 0 && r.l.hl <= hostRecKey }

// refSpan is where a list of refs lies in hostAnswers.refs.
type refSpan struct{ off, n uint32 }

// splitRefs in hostLink.nrefs: the host's rules are split by a byte of
// the URL (refIndex), and hostLink.refs is where its 256 spans begin in
// hostAnswers.spans.
const splitRefs = math.MaxUint8

// hostLink is the part of a host's record (hostRec) that walkHost and
// factsTo read besides its node and its bytes, 16 bytes.
type hostLink struct {
	// parent is the index of the entry of the longest suffix of the
	// entry's host that walkHost visits and the table holds, or -1: a
	// frozen walk goes from the deepest suffix from entry to entry,
	// without probing the absent ones.
	parent int32
	// fact is the embedded database's answer (DB.facts) for any URL on
	// a host whose deepest suffix in the table is the entry, when the
	// facts hold no URL rule under any suffix of it: 1 + its index in
	// factList, factNone when they give none (they do not know the
	// host, or except it), or 0 when the facts must be asked (factsTo);
	// with factDecides set when that answer is Match's for every URL on
	// the host.
	fact uint32
	// refs is where the rules under the entry's host lie in
	// hostAnswers.refs, and nrefs how many; or, nrefs splitRefs, where
	// the spans of its refIndex's parts begin in hostAnswers.spans (nrefs
	// 0 for a host without rules, or whose rules the walk reads from
	// DB.hostRules).
	refs  uint32
	nrefs uint8
	// hl is the length of the entry's host, or 0 when it does not fit,
	// which the walk then reads from the table's keys.
	hl uint16
}

const (
	// factNone in hostLink.fact: the facts give no answer.
	factNone = 1<<31 - 1
	// factDecides in hostLink.fact: the facts' answer is Match's for
	// every URL on the host, whatever its path, type or page (factFirst
	// holds for every URL: factAnswers).
	factDecides = 1 << 31
)

// find returns 1 + the index in a.list of host's answer over t, the
// table a was worked out for, or 0 for none.
func (a *hostAnswers) find(t *hostTable, host string) uint32 {
	if j := t.deepest(host, a.recs); uint(j) < uint(len(a.of)) {
		return a.of[j]
	}
	return 0
}

// categoryIndex is c's index in Categories, len(Categories) for
// "unknown", and catOther for any other name.
func categoryIndex(c string) uint8 {
	if c == "unknown" {
		return uint8(len(Categories))
	}
	if i := slices.Index(Categories, c); i >= 0 {
		return uint8(i)
	}
	return catOther
}

const catOther = 255

// Freeze works out LookupHost's answer for every host in the table, so
// that a lookup walks the host once and reads its answer (it takes about
// a fifth of a microsecond per host in the table), links each host to
// the entry of its longest suffix in the table (hostLink.parent, which
// walkHost follows), and splits the longer lists of rules under a host
// (refIndex), and lays the token index out for Match (tokenRefs). It is
// safe to call while readers look up, and more than once; a change to the
// DB's hosts or host rules undoes the first three, a change to its generic
// rules the last, until the next Freeze.
func (db *DB) Freeze() {
	if db.hostIndex.Load() == nil {
		db.indexHostRules()
	}
	if db.tokenRefs.Load() == nil {
		db.tokenRefs.Store(db.tokens.refsTable())
	}
	if db.answers.Load() != nil {
		return
	}
	a := &hostAnswers{of: make([]uint32, db.hosts.len()), recs: make([]hostRec, db.hosts.len())}
	idx := map[node]uint32{}
	facts := map[answer]uint32{} // the answers an exception or a list's block gives way to
	keys := db.hosts.keys
	for j, h := range keys {
		// The bytes of the host some entries on, which its walk reads
		// first, asked for now: the keys are strings spread over the
		// heap, and each walk waited on memory for them. With EasyPrivacy
		// alone, Freeze took 10.7–11.8 ms against 12.0–14.0 without; with
		// builtin + EasyPrivacy + EasyList, 26.8–35.4 against 28.9–39.1
		// (medians of ten, alternated, four runs, 2026-12-03). Asking
		// for the parent's slot as well gained nothing.
		if j+fetchAhead < len(keys) {
			prefetchString(keys[j+fetchAhead])
		}
		// The host's own node is at hand: a walk over a host of two
		// labels probes nothing, and Freeze's time is that of its probes
		// into a table too large for the CPU's caches.
		n, ok, parent := db.combineNodes(h, j)
		a.recs[j].n, a.recs[j].l.parent = db.hosts.nodes[j], parent
		a.recs[j].setHost(h)
		a.linkRefs(db, j)
		if !ok {
			continue
		}
		if f, ok := db.factOf(h, n); ok {
			k, seen := facts[f]
			if !seen {
				k = a.add(f)
				facts[f] = k
			}
			a.of[j] = k
			continue
		}
		k, seen := idx[n]
		if !seen {
			k = a.add(n.answer())
			idx[n] = k
		}
		a.of[j] = k
	}
	db.factAnswers(a)
	db.answers.Store(a)
}

// factAnswers works out hostAnswers.fact. A URL whose host's walk meets
// a host of the facts (nodeFact) asks them what they say of it
// (factsTo), and when no URL rule of theirs lies under any suffix of the
// host, what they say is what they say of the host, whatever its path:
// the facts hold no generic rules (Builtin and the project's own format
// give hosts and URL rules under hosts), and their hosts are all in the
// table, so their deepest suffix of the host is on the walk from the
// table's. Asking them walked a second table, whose lines a decision
// mostly found in memory, not in the CPU's caches: of the corpus URLs
// whose first decisions waited longest on memory, most were on such
// hosts.
func (db *DB) factAnswers(a *hostAnswers) {
	f := db.facts
	if f == nil || f.generic != 0 {
		return
	}
	// Every host of the facts is one of the table's (Merge adds them):
	// checked, since the answers rest on it.
	for _, h := range f.hosts.keys {
		if db.hosts.index(h) < 0 {
			return
		}
	}
	a.factsDB = f
	idx := map[answer]uint32{}
	for j, h := range db.hosts.keys {
		met, rules := false, false
		for k := int32(j); k >= 0; k = a.recs[k].l.parent {
			if db.hosts.nodes[k].flags&nodeFact == 0 {
				continue
			}
			met = true
			if n, ok := f.hosts.get(db.hosts.keys[k]); ok && n.rules != 0 {
				rules = true
				break
			}
		}
		if !met || rules {
			continue
		}
		var e answer
		q := Request{URL: "https://" + h + "/", Host: h}
		if !f.matchTo(&q, &e) || e.exception() {
			a.recs[j].l.fact = factNone
			continue
		}
		k, seen := idx[e]
		if !seen {
			a.factList = append(a.factList, e)
			k = uint32(len(a.factList))
			idx[e] = k
		}
		if !e.servedFrom() && db.factsDecide(a, j, e) {
			k |= factDecides
		}
		a.recs[j].l.fact = k
	}
}

// factsDecide reports whether f, the facts' answer for a host whose
// deepest suffix in the table is entry j, is Match's answer for every
// URL on the host: factFirst holds for every one. It does when the walk
// from j meets a host entry, which no condition keeps from applying, so
// that the host's entries and rules always give a result, and each of
// them, as resultTo would give it (its vendor, when it names none, the
// walk's), is an exception, a list's block, or f: the generic rules
// then add only lists' blocks and exceptions, which give way to f too.
// A URL on such a host is then decided by the walk alone, without
// reading the host's entries and rules (cdn.jsdelivr.net has 14 rules
// of the lists under it, Google's hosts 27).
func (db *DB) factsDecide(a *hostAnswers, j int, f answer) bool {
	vendor, entry := uint32(0), false
	for k := int32(j); k >= 0; k = a.recs[k].l.parent {
		if n := db.hosts.nodes[k]; n.has() {
			entry = true
			if vendor == 0 {
				vendor = n.vendor
			}
		}
	}
	gives := func(e answer) bool {
		if e.flags&(nodeException|nodeFromList) != 0 {
			return true
		}
		if e.vendor == 0 {
			e.vendor = vendor
		}
		return e == f
	}
	for k := int32(j); k >= 0; k = a.recs[k].l.parent {
		n := db.hosts.nodes[k]
		if n.has() && !gives(n.answer()) {
			return false
		}
		for _, x := range db.rulesOf(n) {
			if !gives(x.r.ans) {
				return false
			}
		}
	}
	return entry
}

// linkRefs fills in the link of the table's entry j with its rules when
// they are few enough to have no refIndex. (The walk read them through
// DB.hostRules: two loads, one after the other.)
func (a *hostAnswers) linkRefs(db *DB, j int) {
	l := &a.recs[j].l
	n := db.hosts.nodes[j]
	if n.rules == 0 {
		return
	}
	refs := db.hostRules[n.rules-1]
	if len(refs) == 0 || uint64(len(a.refs)+len(refs)) > math.MaxUint32 {
		return
	}
	if len(refs) <= hostIndexMin {
		l.refs, l.nrefs = uint32(len(a.refs)), uint8(len(refs))
		a.refs = append(a.refs, refs...)
		return
	}
	ix := db.hostIndex.Load()
	if ix == nil || len(*ix) != len(db.hostRules) || (*ix)[n.rules-1] == nil {
		return
	}
	x := (*ix)[n.rules-1]
	size := 0
	for _, p := range x.lists {
		size += len(p)
	}
	if uint64(len(a.refs)+size) > math.MaxUint32 || uint64(len(a.spans)+256) > math.MaxUint32 {
		return
	}
	parts := make([]refSpan, len(x.lists))
	for k, p := range x.lists {
		parts[k] = refSpan{uint32(len(a.refs)), uint32(len(p))}
		a.refs = append(a.refs, p...)
	}
	l.refs, l.nrefs = uint32(len(a.spans)), splitRefs
	for c := range 256 {
		a.spans = append(a.spans, parts[x.at[c]])
	}
}

// add appends the answer e to a.list and returns 1 + its index.
func (a *hostAnswers) add(e answer) uint32 {
	a.list, a.cat = append(a.list, e), append(a.cat, categoryIndex(names.name(e.category)))
	return uint32(len(a.list))
}

// combineHost is LookupHost from the nodes of host's suffixes.
func (db *DB) combineHost(host string) (answer, bool) {
	n, ok, _ := db.combineNodes(host, -1)
	if !ok {
		return answer{}, false
	}
	if f, ok := db.factOf(host, n); ok {
		return f, true
	}
	return n.answer(), true
}

// factOf returns, for host whose combined node n (combineNodes) is an
// exception or a list's block, the embedded database's entry for it
// (DB.facts), and whether there is one to give: none when the
// combination met no host of the facts (nodeFact). A list's block of a
// host the facts file as a CDN stands, without the CDN's name
// (answer.servedFrom).
func (db *DB) factOf(host string, n node) (answer, bool) {
	if n.flags&(nodeException|nodeFromList) == 0 || n.flags&nodeFact == 0 || db.facts == nil {
		return answer{}, false
	}
	f, known := db.facts.lookupHost(host)
	if !known || f.exception() {
		return answer{}, false
	}
	a := n.answer()
	giveWay(&a, &f)
	return a, true
}

// combineNodes works out LookupHost's answer as a node of its own (with
// no rules) from the nodes of host's suffixes, most specific first: the
// first important block, the first plain entry and the first vendor name
// win. self is host's own entry in the table, or -1 to look it up. It also
// returns the index of the entry of host's longest suffix below host
// itself in the table, or -1 (hostLink.parent, which Freeze takes from
// this walk).
func (db *DB) combineNodes(host string, self int) (node, bool, int32) {
	var best, imp node
	var vendor uint32
	exc := false
	var fact uint8 // nodeFact, when a host of the facts is met (factOf)
	parent := int32(-1)
	for h := host; ; {
		var n node
		ok := self >= 0 && len(h) == len(host)
		if ok {
			n = db.hosts.nodes[self]
		} else if j := db.hosts.index(h); j >= 0 {
			n, ok = db.hosts.nodes[j], true
			if parent < 0 && len(h) < len(host) {
				parent = int32(j)
			}
		}
		if ok {
			fact |= n.flags & nodeFact
		}
		if ok && n.has() {
			if vendor == 0 {
				vendor = n.vendor
			}
			switch {
			case n.flags&nodeException != 0:
				exc = true
			case n.flags&nodeImportant != 0:
				if !imp.has() {
					imp = n
				}
			case !best.has():
				best = n
			}
		}
		var more bool
		if h, more = parentHost(h); !more {
			break
		}
	}
	switch {
	case imp.has():
		best = imp
	case exc:
		return node{flags: nodeHas | nodeException | fact}, true, parent
	case !best.has():
		return node{}, false, parent
	}
	if best.vendor == 0 {
		best.vendor = vendor
	}
	best.rules = 0
	best.flags = best.flags&^nodeFact | fact
	return best, true, parent
}

// needsURL reports whether a decision for host can depend on more than
// the host: the DB has generic URL rules, or rules under one of host's
// suffixes.
func (db *DB) needsURL(host string) bool {
	if db.generic > 0 {
		return true
	}
	var o outcome
	return db.walkHost(host, &o, nil, 0)
}

// MatchHost decides q against the host entries and the rules indexed
// under the host's suffixes (||host… rules), without the generic rules
// that Match also finds through the URL's tokens: for a host named in a
// script, whose URL is partly guessed, those would take a file name
// read as a host ("gtm.js") for the file.
func (db *DB) MatchHost(q *Request) (Entry, bool) {
	var a answer
	ok := db.matchHostTo(q, &a)
	return a.entry(), ok
}

// matchHostTo is MatchHost, its answer written to *out, which must be the
// zero answer.
func (db *DB) matchHostTo(q *Request, out *answer) bool {
	var o outcome
	_, hostEnd := hostSpan(q)
	db.walkHost(q.Host, &o, q, hostEnd)
	return db.withFactsOf(q, &o, out)
}

// hostSpan returns where q's host lies in q.URL, as the caller gave it
// (Request.hostStart) or else found after "://": hostStart is -1 (and
// hostEnd 0) in a URL with no "://", where no rule anchored at the host
// matches.
func hostSpan(q *Request) (hostStart, hostEnd int) {
	if q.hostEnd != 0 {
		return q.hostStart, q.hostEnd
	}
	i := strings.Index(q.URL, "://")
	if i < 0 {
		return -1, 0
	}
	return i + 3, min(i+3+len(q.Host), len(q.URL))
}

// Match decides q against every rule: host entries, rules indexed under
// the host's suffixes, and generic rules found through the URL's tokens.
func (db *DB) Match(q *Request) (Entry, bool) {
	var a answer
	ok := db.matchTo(q, &a)
	return a.entry(), ok
}

// matchTo is Match, its answer written to *out, which must be the zero
// answer. (A decision keeps the answer in memory, for resolved and the
// cache: an answer returned in registers and stored where the decision
// keeps it, then copied whole, made the copy wait for the stores.)
func (db *DB) matchTo(q *Request, out *answer) bool {
	var o outcome
	hostStart, hostEnd := q.hostStart, q.hostEnd
	if hostEnd == 0 {
		// (hostSpan, written out: it does not inline.)
		hostStart = strings.Index(q.URL, "://")
		if hostStart >= 0 {
			hostStart += 3
			hostEnd = min(hostStart+len(q.Host), len(q.URL))
		}
	}
	if a := db.frozen(); a != nil {
		j := db.hosts.deepest(q.Host, a.recs)
		// The facts decide every URL on the host (hostLink.fact): the
		// walk would read its entries and rules for nothing.
		if j >= 0 && a.recs[j].l.fact&factDecides != 0 && a.factsDB == db.facts {
			setAnswer(out, &a.factList[a.recs[j].l.fact&^factDecides-1])
			return true
		}
		db.walkFrozen(a, j, &o, q, hostEnd)
	} else {
		db.walkHost(q.Host, &o, q, hostEnd)
	}
	var f answer
	known := db.factsTo(q, &o, &f)
	if factFirst(&o, &f, known) {
		setAnswer(out, &f)
		return true
	}
	db.matchGeneric(q, &o, hostStart, hostEnd)
	return withFactsTo(&o, &f, known, out)
}

// matchGeneric adds to o the generic rules that match q, found through
// the URL's tokens; q's host lies at URL[hostStart:hostEnd].
//
// The URL is read 64 bytes at a time, into a bit per byte that is a
// token's (tokenBits64); its tokens are where those bits begin and end,
// and each is hashed from its last 8 bytes, read as one word, and its
// length (tokenHashOf). A loop over the bytes, which branched at the end
// of each token and hashed byte by byte, read the longest URLs pages
// load (745 bytes at p99) in 1.1 µs with nothing to look up (make
// bench's floor); this reads them in 0.73, and 0.61–0.73 with the bits
// found 16 bytes at a time in assembly (tokenBits64). The tokens' loop in
// assembly too (scanHits) took the floor's match of a 723-byte URL from
// 329–335 to 267–270 ns in a loop (the two in one run).
func (db *DB) matchGeneric(q *Request, o *outcome, hostStart, hostEnd int) {
	if db.generic == 0 {
		return
	}
	u := q.URL
	if len(u) < 8 {
		// The words are read 8 bytes at a time: a URL shorter than that
		// is read from a copy padded with zeros, which no token holds.
		var pad [8]byte
		copy(pad[:], u)
		db.scanTokens(q, o, string(pad[:]), hostStart, hostEnd)
	} else {
		db.scanTokens(q, o, u, hostStart, hostEnd)
	}
	for _, r := range db.fallbackOn(q.PageHost) {
		if r.appliesType(q) && r.matchURL(q) {
			o.addURLRule(r)
		}
	}
}

// scanTokens tries the rules indexed under the tokens of s, which is
// q.URL or, for a URL under 8 bytes, the URL padded with zeros to 8. It
// finds the token bits of up to scanChunk blocks at a time; scanHits
// writes their tokens down as hits, and the hits are looked up in
// batches (lookupHits).
func (db *DB) scanTokens(q *Request, o *outcome, s string, hostStart, hostEnd int) {
	// Rules that are searched for in the whole URL are tried once per
	// URL, however often their token repeats.
	var seen tokenSeen
	var hits [hitBatch]tokenHit
	var tb [scanChunk + 1]uint64
	// Field by field: a scanState built whole is built in a temporary
	// and copied 16 bytes at a time, and the copy waits for the stores.
	var st scanState
	st.s, st.bits, st.bitset, st.edges, st.hits = unsafe.StringData(s), &tb[0], &db.tokenBits[0], &db.edgeBits[0], &hits[0]
	for base := 0; base < len(s); base += 64 * scanChunk {
		st.chunk(s, base, &tb)
		for {
			switch scanHits(&st) {
			case scanDone:
			case scanFull:
				db.lookupHits(q, o, s, hits[:], &seen, hostStart, hostEnd)
				st.nh = 0
				continue
			default: // scanEdge
				// The hits before the token are looked up first: the
				// rules are added in the URL's order, and the first of
				// two that tie wins.
				a := st.edgeAt
				db.lookupHits(q, o, s, hits[:a], &seen, hostStart, hostEnd)
				x := &hits[a]
				db.matchEdges(o, q, edgeHashOf(uint32(x.w)), uint64(uint32(x.w)), x.i, x.j, hostStart, hostEnd)
				st.nh = copy(hits[:], hits[a:st.nh])
				continue
			}
			break
		}
	}
	db.lookupHits(q, o, s, hits[:st.nh], &seen, hostStart, hostEnd)
}

// scanChunk is how many 64-byte blocks of a URL scanTokens finds the
// token bits of before it reads their tokens (scanHits).
const scanChunk = 16

// scanState is scanTokens' place in a URL: the token bits of a chunk of
// its 64-byte blocks, the block being read, and the batch of hits.
// scanHits moves it on. scan_amd64.s reads its fields at their offsets,
// which TestScanStateLayout pins.
type scanState struct {
	s     *byte   // the URL (scanTokens' s: 8 bytes or more)
	bits  *uint64 // the token bits of the chunk's nb blocks, then the next block's (0 past the end)
	nb    int
	blk   int    // the block being read, from 0
	base  int    // the chunk's first byte in s
	ends  uint64 // while a block is under way (mid is 1): its token ends not yet read,
	rest  uint64 // and its token starts not yet paired with one
	start int    // where the last token to begin before the block began
	top   uint64 // the last token bit of the block before
	mid   int

	bitset, edges *uint64   // DB.tokenBits, DB.edgeBits
	hits          *tokenHit // the batch, hitBatch long, of which nh are written
	nh            int
	edgeAt        int     // at scanEdge, the index in hits of the token whose end is in the edge set
	end           uintptr // scan_amd64.s's own: the batch's end
}

// chunk sets st to read s's chunk of blocks from base, whose token bits
// it finds into tb (st.bits): the chunk's whole blocks and the one after
// at one call, and a last block shorter than 64 bytes from a padded copy
// (tokenBits64). It does not set st.bits itself: a pointer to tb kept
// through a method's argument moves tb to the heap (TestMatchAllocs).
func (st *scanState) chunk(s string, base int, tb *[scanChunk + 1]uint64) {
	nb := min((len(s)-base+63)>>6, scanChunk)
	full := min((len(s)-base)>>6, nb+1)
	if full > 0 {
		tokenBitsBlocks((*byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), base)), full, &tb[0])
	}
	for k := full; k <= nb; k++ {
		tb[k] = 0
		if b := base + 64*k; b < len(s) {
			tb[k] = tokenBits64(s, b)
		}
	}
	st.nb, st.blk, st.base, st.mid = nb, 0, base, 0
}

// What scanHits stopped at.
const (
	scanDone = iota // the chunk's last token: the hits in the batch are still to look up
	scanFull        // a full batch, hitBatch hits
	scanEdge        // a token (hits[edgeAt], which nh counts if the bit set holds it) whose last edgeLen bytes are in the edge set
)

// scanHitsGo reads the tokens of st's chunk from where st is, writes each
// down as a hit (its word, hash and place), and counts those whose hash
// is in the bit set, until the batch is full, a token may end with an
// edge rule's token, or the chunk ends (scanDone, scanFull, scanEdge).
// It is scanHits in Go; scan_amd64.s is the same steps in assembly.
//
// Most of a URL's tokens index no rule, and the bit set says so without
// a probe; which ones it holds, the branch predictor cannot tell from one
// token to the next, and a branch on it was the largest single source of
// mispredictions in the scan (callgrind's branch simulation). So every
// token is written down and the count of hits moves on by the bit, with
// no branch. (The match's p99 over the corpus URLs went from 1.02–1.10 to
// 0.94–0.99 µs, each URL's fastest of five, the two alternated in one
// process, 2026-12-03; docs/blocklists-performance.md, What made it faster.)
func scanHitsGo(st *scanState) int {
	tb := unsafe.Slice(st.bits, st.nb+1)
	hits := (*[hitBatch]tokenHit)(unsafe.Pointer(st.hits))
	bitset := (*[(tokenMask + 1) / 64]uint64)(unsafe.Pointer(st.bitset))
	edges := (*[(edgeMask + 1) / 64]uint64)(unsafe.Pointer(st.edges))
	s := st.s
	nh, ends, rest, base := st.nh, st.ends, st.rest, st.base+64*st.blk
	var i int
	if st.mid != 0 {
		goto next
	}
block:
	if st.blk == st.nb {
		st.nh, st.mid = nh, 0
		return scanDone
	}
	{
		// The bits where a token begins, and where one ends (its last
		// byte), in this block. Starts and ends alternate: the block's
		// k-th end is its k-th start's token's, but where its first token
		// began in the block before (cont), whose start is st.start.
		m, after := tb[st.blk], tb[st.blk+1]
		base = st.base + 64*st.blk
		rest = m &^ (m<<1 | st.top)
		ends = m &^ (m>>1 | after<<63)
		cont := st.top & m
		st.top = m >> 63
		if cont != 0 && ends != 0 {
			i = st.start
			goto token
		}
	}
next:
	if ends == 0 {
		if rest != 0 {
			// A token that ends in a block to come.
			st.start = base + 63 - bits.LeadingZeros64(rest)
		}
		st.blk++
		goto block
	}
	i = base + bits.TrailingZeros64(rest)
	rest &= rest - 1
token:
	{
		e := bits.TrailingZeros64(ends)
		ends &= ends - 1
		j := base + e + 1
		// The token's last 8 bytes, the last in the low byte, and no byte
		// before the token. (Read through an array pointer, which the
		// compiler takes as it is: unsafe.Slice would check on each read
		// that the 8 bytes do not wrap around the address space, four
		// instructions a token; the floor's match of a 740-byte URL took
		// 920 against 970 ns in a loop, 2026-12-03.)
		var w uint64
		if j >= 8 {
			w = bits.ReverseBytes64(binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(unsafe.Pointer(s), j-8))[:]))
		} else {
			w = bits.ReverseBytes64(binary.LittleEndian.Uint64((*[8]byte)(unsafe.Pointer(s))[:])) >> (8 * uint(8-j) & 63)
		}
		// (No branch on the token's length, which the branch predictor
		// cannot tell from one token to the next: n is min(j-i, 8),
		// worked out with a sign mask where min compiles to a branch.)
		d := j - i - 8
		n := 8 + d&(d>>(bits.UintSize-1))
		w &= ^uint64(0) >> ((64 - 8*uint(n)) & 63)
		h := tokenHashOf(w, j-i)
		hits[nh] = tokenHit{w: w, h: h, i: i, j: j}
		before := nh
		nh += int(bitset[h&tokenMask>>6] >> (h & 63) & 1)
		if e := edgeHashOf(uint32(w)); edges[e>>6]&(1<<(e&63)) != 0 && j-i >= edgeLen {
			st.nh, st.ends, st.rest, st.mid, st.edgeAt = nh, ends, rest, 1, before
			return scanEdge
		}
		if nh == hitBatch {
			st.nh, st.ends, st.rest, st.mid = nh, ends, rest, 1
			return scanFull
		}
	}
	goto next
}

// tokenHit is a token of the URL, s[i:j], with its word (tokenWord) and
// its hash: scanHits writes every token down as one, and counts it in
// the batch only when its hash is in the token bit set.
type tokenHit struct {
	w    uint64
	h    uint32
	i, j int
}

// hitBatch is how many hits scanTokens holds before it looks them up.
const hitBatch = 16

// lookupHits tries the rules indexed under the tokens hits, in order, of
// s (scanTokens). Most of the hits index no rule whose first check passes
// where the token lies, and the screen says so by the bytes beside it
// (screenKeyOf): the hits it lets through are kept, again with no branch,
// and only those are looked up.
func (db *DB) lookupHits(q *Request, o *outcome, s string, hits []tokenHit, seen *tokenSeen, hostStart, hostEnd int) {
	n := screenHits(db.screen, s, hits)
	u, t := q.URL, reqTypes(q)
	tr := db.tokenRefs.Load()
	for _, x := range hits[:n] {
		// The token's refs, and a number that names the token (tokenSeen).
		var refs []ruleRef
		var id uint32
		if tr != nil {
			off, c := tr.find(x.h, x.w, u[x.i:x.j])
			if c == 0 {
				continue
			}
			refs, id = tr.refs[off:off+c:off+c], off
		} else {
			k := db.tokens.find(x.h, x.w, u[x.i:x.j])
			if k < 0 {
				continue
			}
			refs, id = db.tokens.list[k].rules, uint32(k)
		}
		// Whether the token was met before is asked at its first rule
		// searched in the whole URL whose ref passes. Such a ref checks
		// the request's type alone, and its later bytes anywhere in the
		// URL: its answer does not depend on where the token lies, and
		// where none passed at the token's first sight, none passes at
		// the next.
		asked, again := false, false
		for y := nextPass(refs, 0, u, x.i, t); y < len(refs); y = nextPass(refs, y+1, u, x.i, t) {
			ref := &refs[y]
			if r := ref.r; r.tokOff >= 0 {
				if ref.laterIn(u, x.i) && r.appliesType(q) && r.matchFrom(u, x.i-r.tokOff, hostStart, hostEnd) && r.appliesOn(q.PageHost) {
					o.addURLRule(r)
				}
			} else {
				if !asked {
					asked, again = true, seen.add(id)
				}
				if !again && ref.laterIn(u, 0) && r.match(q) {
					o.addURLRule(r)
				}
			}
		}
	}
}

// screenHits moves to the front of hits, in their order, those whose
// token the screen may index with the bytes beside it in s (screenKey),
// and returns how many. A function of its own, so that its loop keeps
// its values in registers: in lookupHits, the compiler kept a dozen of
// them on the stack and loaded them again for each hit.
func screenHits(screen *[(screenMask + 1) / 64]uint64, s string, hits []tokenHit) int {
	n := 0
	p := unsafe.Pointer(unsafe.StringData(s))
	for k := range hits {
		x := hits[k]
		// The two bytes beside the token on each side, the nearer first:
		// read as one 16-bit word each where both lie in s.
		var after, before uint32
		if x.i >= 2 && x.j <= len(s)-2 {
			after = uint32(binary.LittleEndian.Uint16((*[2]byte)(unsafe.Add(p, x.j))[:]))
			before = uint32(bits.ReverseBytes16(binary.LittleEndian.Uint16((*[2]byte)(unsafe.Add(p, x.i-2))[:])))
		} else {
			after = screenPair(byteAt(s, x.j), byteAt(s, x.j+1))
			before = screenPair(byteAt(s, x.i-1), byteAt(s, x.i-2))
		}
		h := x.h
		ka, kb := screenKey(h, after, afterSide), screenKey(h, before, beforeSide)
		hits[n] = x
		n += int((screen[h&screenMask>>6]>>(h&63) | screen[ka&screenMask>>6]>>(ka&63) | screen[kb&screenMask>>6]>>(kb&63)) & 1)
	}
	return n
}

// nextPass returns the index of the first ref of refs from y on that
// passes at p in u, of types t, or len(refs): the rule may match u, where
// the index found it at p, unless the ref's types or bytes rule it out.
// The bytes are read as one word, the eight from where they lie, or the
// last eight of u shifted down to start there (a URL under eight bytes
// is passed, for the rule to decide). A token of the lists' commonest
// reads tens of refs, most of which fail: a function of its own, the
// loop's values stay in registers, where inlined in lookupHits, the
// compiler kept a dozen of them on the stack and loaded them again for
// each ref; what does not change from ref to ref is worked out once.
func nextPass(refs []ruleRef, y int, u string, p int, t ReqType) int {
	if len(u) < 8 {
		for ; y < len(refs); y++ {
			if refs[y].types&t != 0 {
				return y
			}
		}
		return len(refs)
	}
	b, last := unsafe.Pointer(unsafe.StringData(u)), len(u)-8
	for ; y < len(refs); y++ {
		x := &refs[y]
		if x.types&t == 0 {
			continue
		}
		s := p + int(x.off)
		if uint(s) > uint(len(u)-int(x.n)) { // s < 0 too
			continue
		}
		e := min(s, last)
		w := binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(b, e))[:]) >> (8 * uint(s-e) & 63)
		if (w^x.lit)<<x.rest == 0 {
			return y
		}
	}
	return len(refs)
}

// tokenBits64 returns a bit for each of the 64 bytes of s from base (bit
// k for s[base+k]) that is a token byte (isTokenChar), and 0 for those
// past the end; base is less than len(s). A last block shorter than 64
// bytes is read from a copy padded with zeros, which no token holds.
//
// On amd64 the bytes are tested 16 at a time in SSE2 assembly, or 32 in
// AVX2 (tokenBitsBlocks): in SSE2, a 704-byte URL is read in 50 ns
// where, 8 bytes at a time in Go (tokenBitsBlockGo), it took 220 ns, a
// quarter of the match of a URL that long whose tokens index nothing
// (2026-12-03).
func tokenBits64(s string, base int) uint64 {
	var m uint64
	if base+64 <= len(s) {
		tokenBitsBlocks((*byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), base)), 1, &m)
		return m
	}
	var tail [64]byte
	copy(tail[:], s[base:])
	tokenBitsBlocks(&tail[0], 1, &m)
	return m
}

// tokenBitsBlockGo is tokenBitsBlock in Go: each 8 bytes are tested at
// once, the high bit of each byte set where it lies in a-z, in 0-9 or is
// '%', then the 8 high bits gathered by one multiply.
func tokenBitsBlockGo(p *byte) uint64 {
	b := (*[64]byte)(unsafe.Pointer(p))
	var m uint64
	for k := 0; k < 64; k += 8 {
		m |= tokenBits8(binary.LittleEndian.Uint64(b[k:])) << k
	}
	return m
}

// tokenBitsBlocksGo is tokenBitsBlocks in Go.
func tokenBitsBlocksGo(p *byte, n int, out *uint64) {
	o := unsafe.Slice(out, n)
	for k := range o {
		o[k] = tokenBitsBlockGo((*byte)(unsafe.Add(unsafe.Pointer(p), 64*k)))
	}
}

// tokenBits8 returns a bit for each byte of w (bit k for the byte k*8
// bits up) that is a token byte.
func tokenBits8(w uint64) uint64 {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	x := w &^ high // each byte's low seven bits: no carry crosses bytes below
	// The high bit of each byte of x+ones*(0x80-lo) is set where x ≥ lo.
	letter := (x + ones*(0x80-'a')) &^ (x + ones*(0x80-'z'-1))
	digit := (x + ones*(0x80-'0')) &^ (x + ones*(0x80-'9'-1))
	y := x ^ ones*'%'
	nonzero := (y&^high + ^uint64(high)) | y // high bit set where y's byte is not zero
	tok := (letter | digit | ^nonzero) &^ w & high
	// Bit 7 of byte k moves to bit 56+k: the multiplier's bits at 56-7k
	// for k = 0…7 do not carry into one another.
	return (tok >> 7) * 0x0102040810204080 >> 56
}

// factsTo writes the embedded database's answer for q (DB.facts) to *f,
// which must be the zero answer, and reports whether there is one that an
// exception or a list's block on q gives way to (withFactsTo): none when
// the walk over q's host (o) met no host of theirs (nodeFact), or when
// they do not know q, or except it.
func (db *DB) factsTo(q *Request, o *outcome, f *answer) bool {
	if !o.fact || db.facts == nil {
		return false
	}
	if a := db.answers.Load(); a != nil && o.deep != 0 && a.factsDB == db.facts && int(o.deep) <= len(a.recs) {
		switch k := a.recs[o.deep-1].l.fact &^ factDecides; k {
		case 0:
		case factNone:
			return false
		default:
			setAnswer(f, &a.factList[k-1])
			return true
		}
	}
	return db.facts.matchTo(q, f) && !f.exception()
}

// withFactsTo writes to *out, which must be the zero answer, o's result,
// or *f, the embedded database's answer for the request when there is
// one (known; factsTo), in its place when it is an exception or a list's
// block: an exception cancels the lists' blocks, not those facts, and a
// list's block gives way to them, its $important included, which only
// ever beat exceptions; but not to a CDN's (answer.servedFrom), which
// names no vendor of the file.
func withFactsTo(o *outcome, f *answer, known bool, out *answer) bool {
	ok := o.resultTo(out)
	if ok && known && out.flags&(nodeException|nodeFromList) != 0 {
		giveWay(out, f)
	}
	return ok
}

// giveWay puts f, the embedded database's answer, in the place of *out,
// an exception or a list's block: but a list's block of a URL the facts
// file under a CDN stands (answer.servedFrom), without the vendor its
// walk met, the CDN's.
func giveWay(out, f *answer) {
	if out.listBlock() && f.servedFrom() {
		out.vendor = 0
		return
	}
	setAnswer(out, f)
}

// withFactsOf is withFactsTo with the embedded database's answer for q,
// for a caller that has not asked for it before.
func (db *DB) withFactsOf(q *Request, o *outcome, out *answer) bool {
	var f answer
	known := db.factsTo(q, o, &f)
	return withFactsTo(o, &f, known, out)
}

// factFirst reports whether f, the embedded database's answer for the
// request when there is one (known; factsTo), is Match's answer whatever
// the lists' generic rules say, given o, the outcome of the host's
// entries and the rules under its suffixes: o's result is a list's block,
// an exception, or f itself. Generic rules are all the lists' (fromList),
// so what they add is a list's block or an exception, which give way to
// f (withFactsTo): the URL's tokens need not be read. Most of the URLs
// pages load from vendors are on their hosts, and the longest among them
// (an ad server's query, a CDN's combined files) took most of a cold
// decision's time in the token scan. An operator's own list naming
// another category for the host is still matched in full.
func factFirst(o *outcome, f *answer, known bool) bool {
	if !known || f.servedFrom() {
		return false
	}
	var e answer
	ok := o.resultTo(&e)
	return ok && (e.flags&(nodeException|nodeFromList) != 0 || e == *f)
}

// matchEdges tries the rules in DB.edges whose leading token may end
// the URL token u[i:j], whose last edgeLen bytes are the word w and hash
// to e: each where its token would start.
func (db *DB) matchEdges(o *outcome, q *Request, e uint32, w uint64, i, j, hostStart, hostEnd int) {
	k := db.edges.find(e, w, q.URL[j-edgeLen:j])
	if k < 0 {
		return
	}
	for x := range db.edges.list[k].rules {
		r := db.edges.list[k].rules[x].r
		if p := j - r.edge; p >= i && r.appliesType(q) && r.matchFrom(q.URL, p, hostStart, hostEnd) && r.appliesOn(q.PageHost) {
			o.addURLRule(r)
		}
	}
}

// edgeLen is how many bytes of a token DB.edges is keyed by.
const edgeLen = 4

// The edge bit set: edgeHash of each edge, 1<<12 bits. The lists hold
// a handful of edges, and a small set stays in the cache.
const edgeMask = 1<<12 - 1

// edgeHash hashes the edgeLen bytes that end a token as Match does: its
// tokenWord cut to those bytes (edgeHashOf).
func edgeHash(t string) uint32 { return edgeHashOf(uint32(tokenWord(t))) }

// edgeHashOf is the edge set's hash of a token's last edgeLen bytes, w:
// the top 12 bits of its product with the golden ratio, one bit of the
// set each. The scan asks it of every token of a URL, so it is the
// shortest that spreads: 7 instructions a token in scan_amd64.s with the
// set's test, where a product folded by a shift (mixToken) took 10.
func edgeHashOf(w uint32) uint32 { return w * 0x9e3779b1 >> (32 - bits.Len32(edgeMask)) }

// leadingEdge returns the length of the token that begins seg when it
// ends before another byte of seg, or 0.
func leadingEdge(seg string) int {
	n := 0
	for n < len(seg) && isTokenChar(seg[n]) {
		n++
	}
	if n == len(seg) {
		return 0
	}
	return n
}

// genericRules yields every generic rule: those indexed by a token, by
// the end of one, and the fallback.
func (db *DB) genericRules(yield func(*rule) bool) {
	for _, t := range [2]*tokenTable{&db.tokens, &db.edges} {
		for _, x := range t.list {
			for _, r := range x.rules {
				if !yield(r.r) {
					return
				}
			}
		}
	}
	for _, r := range db.fallback {
		if !yield(r) {
			return
		}
	}
}

// fallbackOn returns the rules with no token that can apply on a page
// served from pageHost: every URL tries them, and most sites serve one
// page host, so their $domain options are checked once per host, not per
// URL.
func (db *DB) fallbackOn(pageHost string) []*rule {
	if m := db.fallbackMemo.Load(); m != nil && m.pageHost == pageHost && m.of == len(db.fallback) {
		return m.rules
	}
	// (A copy, so that a request's page host does not escape: see
	// matchURL.)
	m := &fallbackMemo{pageHost: strings.Clone(pageHost), of: len(db.fallback)}
	for _, r := range db.fallback {
		if r.appliesOn(pageHost) {
			m.rules = append(m.rules, r)
		}
	}
	db.fallbackMemo.Store(m)
	return m.rules
}

// fallbackMemo is fallbackOn's answer for the last page host.
type fallbackMemo struct {
	pageHost string
	of       int // len(db.fallback) when computed: a merge adds rules
	rules    []*rule
}

// tokenSeen remembers the tokens (their indexes in DB.tokens) whose
// searched rules were already tried for one URL.
type tokenSeen struct {
	few  [32]uint32
	n    int
	more map[uint32]bool
}

// add reports whether k was already in the set, and adds it.
func (s *tokenSeen) add(k uint32) bool {
	for _, x := range s.few[:s.n] {
		if x == k {
			return true
		}
	}
	if s.n < len(s.few) {
		s.few[s.n] = k
		s.n++
		return false
	}
	if s.more == nil {
		s.more = map[uint32]bool{}
	}
	if s.more[k] {
		return true
	}
	s.more[k] = true
	return false
}

// addGeneric indexes r under its least used token, or in the fallback
// list when it has none, or when it is searched for in the whole URL on
// the pages of the sites its $domain names alone.
func (db *DB) addGeneric(r *rule) {
	db.generic++
	best, off, bestN := "", -1, 0
	for k, t := range r.toks {
		n := len(db.tokens.rulesOf(t))
		if c, m := tokenCost(t, n), tokenCost(best, bestN); best == "" || c < m || c == m && len(t) > len(best) {
			best, off, bestN = t, -1, n
			if r.re == nil && k < len(r.offs) && len(r.segs) > 0 && r.offs[k]+len(t) <= len(r.segs[0]) {
				off = r.offs[k]
			}
		}
	}
	r.tokOff = off
	if len(r.segs) > 0 {
		r.lit0 = len(r.segs[0])
		if i := strings.IndexByte(r.segs[0], '^'); i >= 0 {
			r.lit0 = i
		}
	}
	if best != "" && off < 0 && r.dom != nil && len(r.dom.domains) > 0 {
		// Searched for in the whole URL, and only on the pages of the
		// sites its $domain names: tried on those pages alone, after
		// the rules the URL's tokens find (fallbackOn). Under its token
		// every URL that held the token looked it up: nine rules of
		// EasyPrivacy and EasyList, among them regexes of streaming
		// sites under "www" and "com"; "www" alone was 2,193 of the
		// corpus URLs' 4,763 lookups that no ref passed (first
		// decisions' p50 20–50 ns lower, six alternated runs,
		// 2026-12-03). On the named sites' pages, it wins a tie with a
		// rule as specific after the URL's tokens' rules, not in the
		// URL's order (docs/blocklists.md, How a decision is made).
		db.fallback = append(db.fallback, r)
		return
	}
	if best == "" {
		// A token that begins the pattern unanchored can end a longer
		// token of the URL: such a rule is found by the end of the URL's
		// tokens.
		if r.re == nil && len(r.segs) > 0 {
			if n := leadingEdge(r.segs[0]); n >= edgeLen {
				r.edge = n
				e := edgeHash(r.segs[0][:n])
				db.edges.add(e, r.segs[0][n-edgeLen:n], refTo(r, "", 0, 0))
				db.edgeBits[e&edgeMask>>6] |= 1 << (e & 63)
				return
			}
		}
		db.fallback = append(db.fallback, r)
		return
	}
	h := tokenHash(best)
	var ref ruleRef
	switch {
	case off >= 0:
		// Matched from the token's place (matchFrom): the later
		// segments lie after it.
		ref = tokenRef(r, len(best)).withLater(laterLit(r.segs[1:]))
	case r.re != nil:
		ref = refTo(r, "", 0, 0).withLater(laterLit(r.must))
	default:
		ref = refTo(r, "", 0, 0).withLater(laterLit(r.segs))
	}
	db.tokenRefs.Store(nil)
	db.tokens.add(h, best, ref)
	db.tokenBits[h&tokenMask>>6] |= 1 << (h & 63)
	k := screenKeyOf(h, &ref, len(best))
	db.screen[k&screenMask>>6] |= 1 << (k & 63)
}

// The sides of a token that screenKey keys its bytes by.
const (
	afterSide  = 0x85ebca6b
	beforeSide = 0xc2b2ae35
)

// screenKey is the screen's key for a token hashed h (tokenHash) and the
// two bytes on one side of it, p (screenPair): right after the token or
// right before it.
func screenKey(h, p uint32, side uint32) uint32 {
	return mixToken(h + (p+1)*side)
}

// screenPair is the pair of bytes screenKey takes, c the nearer to the
// token and d the next: the index keys a ref's bytes with it
// (screenKeyOf), and a lookup the URL's (screenHits).
func screenPair(c, d byte) uint32 { return uint32(c) | uint32(d)<<8 }

// byteAt is s[i], or 0 past either end of s: no rule's bytes lie there.
func byteAt(s string, i int) byte {
	if uint(i) < uint(len(s)) {
		return s[i]
	}
	return 0
}

// screenKeyOf returns the screen's key for ref, indexed under a token of
// tl bytes hashed h. Where a URL holds an indexed token, its rules are
// looked up only when the screen has a bit for the token's hash (a ref
// with fewer than two bytes to check, or with bytes apart from the token,
// which the key does not narrow), or for the hash with the two bytes
// right after the token or the two right before it (a ref whose bytes
// begin right after the token, or end right before it: tokenRef makes the
// one or the other). A ref's bytes are its rule's own, which its match
// needs where the token lies, so the screen passes by no rule that can
// match there. Past an end of the URL a byte is taken as 0: no rule's
// bytes lie there.
//
// It keyed one byte on each side until 2026-12-03: over the corpus URLs'
// tokens that index a rule (28,705), 18,551 were then looked up, and
// 7,054 have a ref that passes; with two bytes, 10,961 are (the refs with
// one byte to check, 6,160 of those met, keyed by the hash alone), the
// refs read 47,007 where they were 70,181. docs/blocklists-performance.md,
// What made it faster.
func screenKeyOf(h uint32, ref *ruleRef, tl int) uint32 {
	switch {
	case ref.n > 1 && int(ref.off) == tl:
		return screenKey(h, screenPair(byte(ref.lit), byte(ref.lit>>8)), afterSide)
	case ref.n > 1 && int(ref.off)+int(ref.n) == 0:
		return screenKey(h, screenPair(byte(ref.lit>>(8*(ref.n-1))), byte(ref.lit>>(8*(ref.n-2)))), beforeSide)
	}
	return h
}

// tokenCost is what indexing a rule under token t, which n rules share
// already, costs the URLs that hold t: every one of them tries the rule.
// Tokens that most URLs hold (a scheme, www, a top-level domain, a file
// type) or that are one or two characters long are avoided when the rule
// has another.
func tokenCost(t string, n int) int {
	if commonTokens[t] {
		return n + 1<<20
	}
	if len(t) <= 2 {
		return n + 1<<10
	}
	return n
}

// commonTokens are tokens that a large share of the URLs on pages hold.
var commonTokens = map[string]bool{
	"http": true, "https": true, "www": true, "com": true, "net": true, "org": true,
	"js": true, "css": true, "html": true, "php": true, "png": true, "jpg": true, "gif": true,
	"cdn": true, "static": true, "min": true, "assets": true, "img": true, "images": true,
}

// The token bit set: tokenHash of each indexed token, 1<<16 bits.
const tokenMask = 1<<16 - 1

// The screen: screenKeyOf of each token-indexed ref, 1<<18 bits (32 KB).
// With EasyPrivacy and EasyList, 28% of the corpus URLs' tokens index a
// rule, and 7% one whose ref passes where the token lies. With the
// screen of one byte a side 19% were looked up, where 33% were without
// it; with two bytes a side, 11%. Of the lookups it lets by, about 30%
// find no ref that passes, spread over many tokens (com, content, ver,
// utm): docs/blocklists-performance.md, What is left.
const screenMask = 1<<18 - 1

// tokenHash hashes a token as Match does while it reads the URL: by its
// last 8 bytes and its length (tokenHashOf). Longer tokens that end
// alike share a hash, and are told apart by their bytes (find).
func tokenHash(t string) uint32 { return tokenHashOf(tokenWord(t), len(t)) }

// tokenHashOf hashes a token whose tokenWord is w and length n: the high
// half of one multiply, whose low bits the index and the bit set take.
// The word's high half, which holds the length, is folded into its low
// half first: a product's bit k depends on the multiplicand's bits up to
// k alone, so without the fold the index's bits (32 to 44 of the
// product) read only the token's last five or six bytes and not its
// length, and tokens that end alike ("…nalytics", of any length) filled
// one run of slots, which a lookup of any of them read to its end (59
// slots at most over EasyPrivacy and EasyList, 14 with the fold; 1.98
// slots a lookup over the corpus URLs' tokens, 1.33 with it, and as many
// as a full 64-bit mixer's 1.39).
func tokenHashOf(w uint64, n int) uint32 {
	x := w ^ uint64(n)<<58
	return uint32((x ^ x>>32) * 0x9e3779b97f4a7c15 >> 32)
}

func mixToken(h uint32) uint32 {
	h *= 0x9e3779b1
	return h ^ h>>15
}

// tokenTable maps tokens to the generic rules indexed under them: an
// open-addressed table of their hashes, so that a URL's token is found
// with the hash Match has already computed and one string compare. The
// caller hashes: DB.tokens by tokenHash, DB.edges by edgeHash.
type tokenTable struct {
	list  []tokenRules
	slots []tokenSlot // len is a power of two, at most half full
}

type tokenRules struct {
	// w is tokenWord(tok): a token of up to 8 bytes is confirmed by it
	// and its length, without reading its bytes from elsewhere.
	w     uint64
	tok   string
	h     uint32 // the hash tok was added under
	rules []ruleRef
}

type tokenSlot struct {
	h uint32
	k uint32 // 1 + the token's index in list; 0: empty
}

// tokenWord is the last 8 bytes of a token, the last in the low byte, as
// Match gathers them while it reads the URL. Token bytes are never zero,
// so a token of 8 bytes or fewer is its word and its length.
func tokenWord(t string) uint64 {
	w := uint64(0)
	for i := max(len(t)-8, 0); i < len(t); i++ {
		w = w<<8 | uint64(t[i])
	}
	return w
}

// find returns the index in list of t, whose tokenHash is h and tokenWord
// w, or -1.
func (tt *tokenTable) find(h uint32, w uint64, t string) int {
	if len(tt.slots) == 0 {
		return -1
	}
	m := uint32(len(tt.slots) - 1)
	for i := h & m; ; i = (i + 1) & m {
		s := tt.slots[i]
		if s.k == 0 {
			return -1
		}
		if x := &tt.list[s.k-1]; s.h == h && x.w == w && len(x.tok) == len(t) && (len(t) <= 8 || x.tok == t) {
			return int(s.k - 1)
		}
	}
}

// rulesOf returns the rules indexed under t (in DB.tokens).
func (tt *tokenTable) rulesOf(t string) []ruleRef {
	if k := tt.find(tokenHash(t), tokenWord(t), t); k >= 0 {
		return tt.list[k].rules
	}
	return nil
}

// add indexes r under t, whose tokenHash is h.
func (tt *tokenTable) add(h uint32, t string, r ruleRef) {
	w := tokenWord(t)
	if k := tt.find(h, w, t); k >= 0 {
		tt.list[k].rules = append(tt.list[k].rules, r)
		return
	}
	tt.list = append(tt.list, tokenRules{w: w, tok: t, h: h, rules: []ruleRef{r}})
	if 2*len(tt.list) > len(tt.slots) {
		tt.slots = make([]tokenSlot, 1<<bits.Len(uint(4*len(tt.list))))
		for k, x := range tt.list {
			tt.put(x.h, uint32(k))
		}
		return
	}
	tt.put(h, uint32(len(tt.list)-1))
}

// tokenRefs is a tokenTable laid out for Match (Freeze): a token's slot
// holds its word, its length and where its refs lie in one array of all
// the tokens' refs, so that a hit reads the slot and then the refs. In
// the tokenTable a hit read the slot, then the token's entry for its word
// and its refs' place, then the refs: three loads one after the other,
// each from memory when the decision is a URL's first. (97% of the hits
// that found a token in the corpus URLs found one of up to 8 bytes,
// which the slot's word confirms.)
type tokenRefs struct {
	slots []refSlot // a power of two long, at most half full
	refs  []ruleRef
	// long[off] is the token of more than 8 bytes whose refs begin at
	// refs[off], whose bytes a hit compares besides its last eight.
	long []string
}

// refSlot is a slot of tokenRefs: an empty one has n 0.
type refSlot struct {
	w   uint64 // tokenWord of the token
	off uint32 // where its refs begin in tokenRefs.refs
	n   uint16 // how many
	l   uint8  // the token's length, or 9 for 9 and more
}

// refsTable lays tt out as a tokenRefs, or returns nil when it cannot: a
// token with more than 65,535 rules, or 2^32 refs in all, which Match
// then finds through tt itself.
func (tt *tokenTable) refsTable() *tokenRefs {
	n := 0
	for _, x := range tt.list {
		if len(x.rules) > math.MaxUint16 {
			return nil
		}
		n += len(x.rules)
	}
	if uint64(n) > math.MaxUint32 || len(tt.slots) == 0 {
		return nil
	}
	r := &tokenRefs{slots: make([]refSlot, len(tt.slots)), refs: make([]ruleRef, 0, n), long: make([]string, n)}
	m := uint32(len(r.slots) - 1)
	for _, x := range tt.list {
		s := refSlot{w: x.w, off: uint32(len(r.refs)), n: uint16(len(x.rules)), l: uint8(min(len(x.tok), 9))}
		if len(x.tok) > 8 {
			r.long[s.off] = x.tok
		}
		r.refs = append(r.refs, x.rules...)
		i := x.h & m
		for r.slots[i].n != 0 {
			i = (i + 1) & m
		}
		r.slots[i] = s
	}
	return r
}

// find returns where the refs of the token t, whose tokenHash is h and
// tokenWord w, lie in r.refs, and how many there are: none when t
// indexes no rule.
func (r *tokenRefs) find(h uint32, w uint64, t string) (off, n uint32) {
	m := uint32(len(r.slots) - 1)
	for i := h & m; ; i = (i + 1) & m {
		s := &r.slots[i]
		if s.n == 0 {
			return 0, 0
		}
		// The word holds all of a token of up to 8 bytes (a token has no
		// zero byte), and its length tells 8 bytes from more.
		if s.w == w && int(s.l) == min(len(t), 9) && (len(t) <= 8 || r.long[s.off] == t) {
			return s.off, uint32(s.n)
		}
	}
}

func (tt *tokenTable) put(h, k uint32) {
	m := uint32(len(tt.slots) - 1)
	i := h & m
	for tt.slots[i].k != 0 {
		i = (i + 1) & m
	}
	tt.slots[i] = tokenSlot{h: h, k: k + 1}
}

// regexLiterals returns the literal runs a match of the regex src must
// contain, lower-cased, and whether the first starts the URL: the
// top-level sequence's literals, including those in a capture group.
func regexLiterals(src string) (lits []string, anchored bool) {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil, false
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			lits = append(lits, strings.ToLower(cur.String()))
			cur.Reset()
		}
	}
	var lit func(x *syntax.Regexp) bool
	lit = func(x *syntax.Regexp) bool {
		switch x.Op {
		case syntax.OpLiteral:
			cur.WriteString(string(x.Rune))
			return true
		case syntax.OpCapture:
			return lit(x.Sub[0])
		case syntax.OpConcat:
			for _, y := range x.Sub {
				if !lit(y) {
					flush()
				}
			}
			return true
		}
		return false
	}
	for i, x := range subs {
		if i == 0 && (x.Op == syntax.OpBeginText || x.Op == syntax.OpBeginLine) {
			anchored = true
			continue
		}
		if !lit(x) {
			if i == 0 || i == 1 && anchored {
				anchored = false
			}
			flush()
		}
	}
	flush()
	return lits, anchored
}

// literalTokens returns the token runs inside lits that are whole tokens
// of any string containing them: bounded by a non-token character inside
// the literal on both sides (or by the start of the URL).
func literalTokens(lits []string, anchored bool) []string {
	var out []string
	for k, l := range lits {
		t, _ := patternTokens(l, k == 0 && anchored, false)
		out = append(out, t...)
	}
	return out
}
