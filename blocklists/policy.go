package blocklists

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/net/publicsuffix"
)

// Actions a policy can give.
const (
	ActionKeep        = "keep"
	ActionRemove      = "remove"
	ActionDefer       = "defer"
	ActionPlaceholder = "placeholder"
	ActionProxy       = "proxy"
)

// ValidAction reports whether a is an action name.
func ValidAction(a string) bool {
	switch a {
	case ActionKeep, ActionRemove, ActionDefer, ActionPlaceholder, ActionProxy:
		return true
	}
	return false
}

// defaultAction is the product policy: trackers wait for consent, embeds
// become click-to-load, and what a shop needs to work is kept. It is a
// switch, not a map lookup, because every decision asks it (about 12 ns a
// host decision, measured against the map); DefaultActions is built from
// it.
func defaultAction(category string) string {
	switch category {
	case "analytics", "advertising", "social", "session_replay", "tag_manager":
		return ActionDefer
	case "embeds":
		return ActionPlaceholder
	case "consent", "fonts", "cdn", "payments", "essential":
		return ActionKeep
	}
	return ""
}

// DefaultActions maps each category to its default action.
var DefaultActions = func() map[string]string {
	m := map[string]string{}
	for _, c := range Categories {
		m[c] = defaultAction(c)
	}
	return m
}()

// Verdict is the policy's answer for one resource.
type Verdict struct {
	Action   string
	Category string // "" for first party
	Vendor   string
	Host     string // the third-party host, "" for first party
}

// Script is what the rewriter read from an inline script.
type Script struct {
	Calls, Idents, Strings, Hosts []string
	Unclassifiable                bool // oversize or unlexable: fail closed
	// PageHost is the host of the page the script is on: each of Hosts
	// is decided as a URL of that host requested from it, by every rule
	// such a URL meets ($third-party and $domain ones included).
	PageHost string
}

// Policy resolves URLs and inline scripts to actions. Its DB can be swapped
// atomically (SetDB) while readers decide, with no lock on the hot path.
// Configure the exported fields before the first decision; they are read
// without synchronisation, and the categories' actions are worked out
// from them once (Validate has them worked out again).
type Policy struct {
	state atomic.Pointer[compiled]
	site  atomic.Pointer[siteMemo]
	// acts holds the action of each of Categories, then of "unknown", as
	// action gives them; worked out at the first host decision and again
	// after Validate.
	acts atomic.Pointer[[]string]
	// Actions maps a category to an action; missing categories use
	// DefaultActions.
	Actions map[string]string
	// Unknown is the action for unlisted third parties (default defer).
	Unknown string
	// Allow and Deny are hosts (and their subdomains) always kept, or always
	// given DenyAction (default remove). Validate puts these and the two
	// lists below in the form hosts are compared in (HostName).
	Allow, Deny []string
	DenyAction  string
	// FirstParty lists hosts (and subdomains) that count as first party:
	// the site's CDN, its analytics subdomain.
	FirstParty []string
	// ThirdParty lists first-party-looking hosts that are third parties,
	// such as a subdomain CNAME-cloaked to a vendor.
	ThirdParty []string
}

// compiled is a DB with the URL decision cache that belongs to it, so a
// swap retires both at once.
type compiled struct {
	db     *DB
	cache  *urlCache
	shapes []shapeTest // db.Shapes, cut once
	// anchors holds, for every shape, the last two bytes of its path part
	// (fewer when the path is shorter), each once: a path that contains
	// none of them matches no shape, so most first-party URLs are told so
	// by one or two searches instead of a test per shape. nil when a shape
	// has no path part, and then every shape is tested.
	anchors []string
}

// siteMemo remembers the registrable domain of the last page host: most
// servers serve one site, and the Public Suffix List lookup is the dearest
// step of a host decision.
type siteMemo struct {
	host, site string
	ok         bool
}

// NewPolicy returns a policy over db with the default actions.
func NewPolicy(db *DB) *Policy {
	p := &Policy{Unknown: ActionDefer, DenyAction: ActionRemove}
	p.SetDB(db)
	return p
}

// SetDB swaps in a new database atomically, with an empty URL cache.
// Decisions in flight finish on the old one. When the old cache held
// answers, the new one's tables are made now, not by the first decisions
// that need them (urlCache.prepare).
func (p *Policy) SetDB(db *DB) {
	if db == nil {
		db = NewDB()
	}
	c := &compiled{db: db, cache: newURLCache(urlCacheSize)}
	if old := p.state.Load(); old != nil && old.cache.holding() {
		c.cache.prepare()
	}
	for _, s := range db.Shapes {
		c.shapes = append(c.shapes, newShapeTest(s))
	}
	c.anchors = shapeAnchors(c.shapes)
	db.Freeze()
	p.state.Store(c)
}

// DB returns the current database.
func (p *Policy) DB() *DB { return p.state.Load().db }

// Validate checks the configured actions and hosts.
func (p *Policy) Validate() error {
	for c, a := range p.Actions {
		if !ValidCategory(c) {
			return fmt.Errorf("unknown category %q", c)
		}
		if !ValidAction(a) {
			return fmt.Errorf("category %s: unknown action %q", c, a)
		}
	}
	if p.Unknown != "" && !ValidAction(p.Unknown) {
		return fmt.Errorf("unknown action %q for unlisted third parties", p.Unknown)
	}
	for _, l := range []struct {
		name  string
		hosts *[]string
	}{{"allow", &p.Allow}, {"deny", &p.Deny}, {"first_party", &p.FirstParty}, {"third_party", &p.ThirdParty}} {
		if len(*l.hosts) == 0 {
			continue
		}
		hosts := make([]string, len(*l.hosts)) // the caller's slice stays as given
		for i, h := range *l.hosts {
			n, err := PolicyHost(l.name, h)
			if err != nil {
				return err
			}
			hosts[i] = n
		}
		*l.hosts = hosts
	}
	p.acts.Store(nil) // the actions are worked out again from the fields
	return nil
}

// PolicyHost checks a host given to one of the policy's host lists
// (allow, deny, first_party, third_party) and returns it as HostName
// does. A public suffix is refused for allow and first_party: a host
// stands for its subdomains, so "allow com" or "first_party github.io"
// would keep every site under it, trackers included.
func PolicyHost(list, h string) (string, error) {
	n, err := HostName(h)
	if err != nil {
		return "", fmt.Errorf("%s: %w", list, err)
	}
	if (list == "allow" || list == "first_party") && isPublicSuffix(n) {
		return "", fmt.Errorf("%s: %q is a public suffix: it would cover every site under it", list, h)
	}
	return n, nil
}

// HostName returns a host given in a policy as hosts are compared:
// lower-case, without a trailing dot, and without a leading "*." (a host
// stands for its subdomains too). It is an error for anything that is not
// a host name, which would never match and leave the policy silently
// other than configured.
func HostName(h string) (string, error) {
	n := strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(h), "*."), ".")
	ok := n != "" && len(n) <= 253
	for _, label := range strings.Split(n, ".") {
		if !ok {
			break
		}
		ok = label != "" && len(label) <= 63
		for i := 0; ok && i < len(label); i++ {
			ok = hostByte(label[i])
		}
	}
	if !ok {
		return "", fmt.Errorf("%q is not a host name", h)
	}
	return n, nil
}

func (p *Policy) action(category string) string {
	// A map access is a runtime call even on an empty map, and most
	// policies set no action of their own.
	if len(p.Actions) > 0 {
		if a, ok := p.Actions[category]; ok {
			return a
		}
	}
	if category == "unknown" {
		if p.Unknown == "" {
			return ActionDefer
		}
		return p.Unknown
	}
	if a := defaultAction(category); a != "" {
		return a
	}
	return p.action("unknown")
}

// matchesAny reports whether host is one of list's hosts or a subdomain.
func matchesAny(host string, list []string) bool {
	for _, h := range list {
		if domainMatch(host, h) {
			return true
		}
	}
	return false
}

// workOutSite works out pageHost's registrable domain (Public Suffix
// List) and keeps it, for ThirdPartyHost to read while the page host
// stays the same.
func (p *Policy) workOutSite(pageHost string) *siteMemo {
	s, err := publicsuffix.EffectiveTLDPlusOne(pageHost)
	m := &siteMemo{host: pageHost, site: s, ok: err == nil}
	p.site.Store(m)
	return m
}

// ThirdPartyHost reports whether host is a third party on a page served
// from pageHost: a different registrable domain (Public Suffix List) that
// is not a configured first-party alias, or a host declared third party.
func (p *Policy) ThirdPartyHost(pageHost, host string) bool {
	// Most decisions are on a page whose site is kept (the rewriter
	// passes one page URL's Host, the very string, for a whole page), for
	// a policy with neither list, about a host that plainly does not end
	// in ".site". That is told here without a call, which would have the
	// compiler store the arguments on the stack first; the rest is
	// thirdParty's.
	if m := p.site.Load(); m != nil && m.ok && len(p.ThirdParty) == 0 && len(p.FirstParty) == 0 &&
		unsafe.StringData(m.host) == unsafe.StringData(pageHost) && len(m.host) == len(pageHost) {
		if n := len(host) - len(m.site); n < 0 || n > 0 && host[n-1] != '.' {
			return true
		}
	}
	return p.thirdParty(pageHost, host)
}

// thirdParty is ThirdPartyHost the whole way, for what its shortcut
// leaves: the lists, the page's own host, the page host's site worked out
// when it changes, and the host's end compared with the site's name.
func (p *Policy) thirdParty(pageHost, host string) bool {
	// (The lists' lengths are checked first to spare most policies, which
	// have neither list, the loops' setting up.)
	if len(p.ThirdParty) != 0 && matchesAny(host, p.ThirdParty) {
		return true
	}
	if host == pageHost || len(p.FirstParty) != 0 && matchesAny(host, p.FirstParty) {
		return false
	}
	m := p.site.Load()
	if m == nil || m.host != pageHost {
		m = p.workOutSite(pageHost)
	}
	// host shares the page's registrable domain exactly when it is that
	// domain or a subdomain of it, so host needs no lookup of its own.
	return !m.ok || !domainMatch(host, m.site)
}

// DecideHost decides a bare host on a page at pageHost (a resource hint, a
// host named in a script, a proxy upstream) from the host entries alone.
// It does not allocate.
func (p *Policy) DecideHost(pageHost, host string) (v Verdict) {
	v.Action, v.Category, v.Vendor, v.Host = p.hostVerdict(pageHost, host, false)
	return v
}

// hostVerdict decides host on a page at pageHost from the host entries
// of the current DB, and returns the Verdict's fields; thirdParty says
// that the caller has found host a third party already. A Verdict is too
// large for the compiler to keep in registers, and returned as one it is
// built in memory, read into registers to return, and stored again by
// the caller; its four strings are returned in registers, and DecideHost,
// which builds the Verdict from them, inlines.
func (p *Policy) hostVerdict(pageHost, host string, thirdParty bool) (action, category, vendor, vhost string) {
	if !thirdParty && !p.ThirdPartyHost(pageHost, host) {
		return ActionKeep, "", "", ""
	}
	db := p.state.Load().db
	// Over a frozen DB, and with no allow or deny hosts to check, the
	// answer and its category's action are read off tables: resolve's
	// steps, done once for each answer instead of on each decision.
	a := db.answers.Load()
	if a == nil || len(p.Allow) != 0 || len(p.Deny) != 0 {
		e, ok := db.lookupHost(host)
		v := p.resolved(host, &e, ok)
		return v.Action, v.Category, v.Vendor, v.Host
	}
	k := a.find(&db.hosts, host)
	acts := p.categoryActions()
	if k == 0 {
		return (*acts)[len(Categories)], "unknown", "", host
	}
	e, c := &a.list[k-1], a.cat[k-1]
	if e.exception() {
		return ActionKeep, "unknown", "", host
	}
	category, vendor = names.name(e.category), names.name(e.vendor)
	if c == catOther {
		return p.action(category), category, vendor, host
	}
	return (*acts)[c], category, vendor, host
}

// categoryActions returns the action of each of Categories, then of
// "unknown" (Policy.acts).
func (p *Policy) categoryActions() *[]string {
	if a := p.acts.Load(); a != nil {
		return a
	}
	return p.workOutActions()
}

// workOutActions works out and keeps categoryActions' answer.
func (p *Policy) workOutActions() *[]string {
	a := make([]string, len(Categories)+1)
	for i, c := range Categories {
		a[i] = p.action(c)
	}
	a[len(Categories)] = p.action("unknown")
	p.acts.Store(&a)
	return &a
}

// DecideURL decides a resource of unknown type at host/path?query on a
// page at pageHost, over https.
func (p *Policy) DecideURL(pageHost, host, path, query string) Verdict {
	return p.DecideRequest(pageHost, "https", host, path, query, TypeAll)
}

// DecideRequest decides a resource of type t at scheme://host/path?query
// on a page at pageHost. host is lower-case with no port or trailing dot.
// A host with no URL rules is decided from its host entries; otherwise the
// full URL is matched, its answer held from its second decision and kept
// in an LRU cache from its third (urlCache, doorkeeper).
func (p *Policy) DecideRequest(pageHost, scheme, host, path, query string, t ReqType) Verdict {
	st := p.state.Load()
	db := st.db
	if !p.ThirdPartyHost(pageHost, host) {
		// First-party copies of vendor loaders are recognised by shape.
		if !st.mayBeShape(path) {
			return Verdict{Action: ActionKeep}
		}
		for i := range st.shapes {
			if s := &st.shapes[i]; s.matches(path, query) {
				return Verdict{Action: ActionKeep, Category: s.category, Vendor: s.vendor}
			}
		}
		return Verdict{Action: ActionKeep}
	}
	if !db.needsURL(host) {
		a, c, v, h := p.hostVerdict(pageHost, host, true)
		return Verdict{Action: a, Category: c, Vendor: v, Host: h}
	}
	if t == 0 {
		t = TypeAll
	}
	// The cache key is a digest of the type, the page host and the URL
	// as given, built on the stack, or for a long URL in a pooled buffer
	// grown to fit it first: a decision allocates nothing. The lower-cased
	// URL that the rules match is made only on a miss, in the same buffer
	// (a URL seen in two cases takes two entries with the same answer);
	// the 15 bytes past it are lowerPadded's room. The buffer is never
	// written back to the pool: a pointer written to the heap goes through
	// the collector's write barrier, which while the collector marks
	// costs a decision far more than the write (keyStack).
	var stack [keyStack]byte
	var bp *[]byte
	b := stack[:0]
	if need := keyRoom(pageHost, scheme, host, path, query); need > len(stack) {
		bp = keyPool.Get().(*[]byte)
		if cap(*bp) < need {
			*bp = make([]byte, 0, need)
		}
		b = (*bp)[:0]
	}
	b = append(b, byte(t), byte(t>>8))
	b = append(b, pageHost...)
	b = append(b, 0)
	n := len(b)
	b = append(b, scheme...)
	b = append(b, "://"...)
	b = append(b, host...)
	b = append(b, path...)
	if query != "" {
		b = append(b, '?')
		b = append(b, query...)
	}
	// The key's second hash only for a request seen before, which may be
	// looked up or held (urlKey).
	k := urlKey{a: st.cache.hash(0, b)}
	ds := st.cache.door.state(k)
	if ds != 0 {
		k.b = st.cache.hash(1, b)
	}
	// The answer the cache keeps for a request the doorkeeper has seen
	// twice, or else the match's.
	var r cached
	if ds&doorKept == 0 || !st.cache.find(k, &r) {
		// The URL is lower-cased in place, after the digest, with the room
		// keyRoom left past it: Match keeps nothing of the request, so a
		// view of the buffer is safe.
		u := b[n:]
		lowerPadded(u)
		hs := len(scheme) + len("://")
		if ds != 0 {
			// Most likely held after the match: its lines are asked for
			// now, so that the hold does not wait for them.
			st.cache.prefetchHeld(k)
		}
		r.ok = db.matchTo(&Request{URL: unsafe.String(unsafe.SliceData(u), len(u)), Host: host, PageHost: pageHost, Type: t, hostStart: hs, hostEnd: hs + len(host)}, &r.e)
		if st.cache.admit(k, ds) {
			st.cache.hold(k, &r.e, r.ok)
		}
	}
	if bp != nil {
		keyPool.Put(bp)
	}
	return p.resolved(host, &r.e, r.ok)
}

// keyRoom is the room DecideRequest's key takes for a request: the type
// (2 bytes), the page host and a 0, then the URL, and 15 bytes past it
// for lowerPadded, which lower-cases the URL 16 bytes at a time.
func keyRoom(pageHost, scheme, host, path, query string) int {
	return 2 + len(pageHost) + 1 + len(scheme) + len("://") + len(host) + len(path) + len("?") + len(query) + 15
}

// keyStack is the room for a decision's key on its stack; a longer one
// is built in a pooled buffer (keyPool). On the stack, a decision writes
// no pointer to memory (its answer holds none: answer), where the pool's
// Get and Put and the buffer stored back wrote three: while the
// collector marks, each pointer written is buffered by the write
// barrier, and the decision that fills the buffer shades all of them
// (docs/blocklists-performance.md, What made it faster). 512 bytes hold
// the key of 98% of the URLs pages name (7,631 of make bench's 7,801
// corpus URLs, whose p99 is 745 bytes); zeroing them takes eight 64-byte
// steps.
const keyStack = 512

// keyPool holds the buffers of keys longer than keyStack, each grown to
// the longest key it has held: a new one is empty, and grown at once.
var keyPool = sync.Pool{New: func() any { return new([]byte) }}

// lowerASCII lower-cases the ASCII letters of b in place and leaves every
// other byte as it is (strings.ToLower would rewrite invalid UTF-8 in a
// query). The bytes are lower-cased 16 at a time (lower16, in SSE2
// assembly on amd64, or 32 in AVX2: 30 ns for a URL of 746 bytes in
// SSE2, against 134 ns eight bytes at a time in Go), then 8 at a time,
// and the last few one by one.
func lowerASCII(b []byte) {
	n := len(b) &^ 15
	if n > 0 {
		lower16(&b[0], n)
	}
	n += lowerWords(b[n:])
	for i := n; i < len(b); i++ {
		if c := b[i]; c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}

// lowerPadded is lowerASCII for a buffer with room past its end, as
// DecideRequest's has: its bytes are lower-cased 16 at a time up to the
// next multiple of 16, those past len(b) (which hold nothing) included.
// The few bytes past the last 16 took lowerASCII more instructions than
// the 16-byte blocks of an average corpus URL did (90 against 69 a first
// decision, callgrind, 2026-12-03). Without the room it is lowerASCII.
func lowerPadded(b []byte) {
	n := (len(b) + 15) &^ 15
	if n > cap(b) {
		lowerASCII(b)
		return
	}
	if n > 0 {
		lower16(unsafe.SliceData(b), n)
	}
}

// lower16Go is lower16 in Go.
func lower16Go(p *byte, n int) { lowerWords(unsafe.Slice(p, n)) }

// lowerWords lower-cases the ASCII letters of b's whole 8-byte words in
// place, eight bytes at a time, and returns how many bytes that is: a
// loop that tests each byte mispredicts on the mixed case of long URLs
// ("%2F", ids), and took a microsecond for a URL of 650 bytes.
func lowerWords(b []byte) int {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		x := w &^ high // each byte's low seven bits: no carry crosses bytes below
		// The high bit of each byte of ge is set where x ≥ 'A', of gt where
		// x > 'Z'; a byte with its own high bit set is no ASCII letter.
		ge := x + ones*(0x80-'A')
		gt := x + ones*(0x80-'Z'-1)
		upper := ge &^ gt &^ w & high
		binary.LittleEndian.PutUint64(b[i:], w|upper>>2)
	}
	return i
}

// shapeTest is a Shape as DecideRequest tests it: its prefix cut at the
// '?' once, not on every first-party URL, and the vendor a match reports.
type shapeTest struct {
	prefix, path, query string
	hasQ                bool
	category, vendor    string
}

func newShapeTest(s Shape) shapeTest {
	t := shapeTest{prefix: s.Prefix, category: s.Category, vendor: s.Vendor + " (first-party copy)"}
	t.path, t.query, t.hasQ = strings.Cut(s.Prefix, "?")
	return t
}

// shapeAnchors returns the distinct last two bytes of the shapes' path
// parts, or nil when a shape has none (its prefix starts with '?').
// Whatever a shape matches, its path part lies within the path: whole
// when the path ends with it, or inside the prefix the path contains.
func shapeAnchors(shapes []shapeTest) []string {
	var out []string
	for i := range shapes {
		p := shapes[i].path
		if p == "" {
			return nil
		}
		a := p[max(0, len(p)-2):]
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// OwnHost reports whether DecideRequest keeps every URL on pageHost
// itself, for a page on pageHost, with no category or vendor, unless its
// path holds one of anchors (where a first-party copy of a vendor loader
// may lie): it does unless the page's own host is listed as a third
// party, or a shape has no path to anchor it. The slice is the policy's
// own: not to be changed.
func (p *Policy) OwnHost(pageHost string) (anchors []string, ok bool) {
	st := p.state.Load()
	if p.ThirdPartyHost(pageHost, pageHost) || st.anchors == nil && len(st.shapes) > 0 {
		return nil, false
	}
	return st.anchors, true
}

// mayBeShape reports whether path may match a shape: false only when it
// contains none of the anchors.
func (c *compiled) mayBeShape(path string) bool {
	if c.anchors == nil {
		return len(c.shapes) > 0
	}
	for _, a := range c.anchors {
		if len(a) == 2 && len(path) <= 64 {
			// Most paths are short: a loop over their bytes is quicker
			// than strings.Contains setting up its search.
			for i := 1; i < len(path); i++ {
				if path[i] == a[1] && path[i-1] == a[0] {
					return true
				}
			}
			continue
		}
		if strings.Contains(path, a) {
			return true
		}
	}
	return false
}

// matches reports whether path?query contains the shape's prefix. Every
// first-party URL is checked against every shape, so the cheap tests come
// first: a prefix with a query can only be contained in a path that has a
// '?'.
func (s *shapeTest) matches(path, query string) bool {
	if !s.hasQ {
		return strings.Contains(path, s.prefix)
	}
	if query != "" && strings.HasSuffix(path, s.path) && strings.HasPrefix(query, s.query) {
		return true
	}
	return strings.IndexByte(path, '?') >= 0 && strings.Contains(path, s.prefix)
}

// resolved turns the DB's answer for a third-party host into its
// verdict: the operator's allow and deny hosts first, then the lists'
// exceptions, then the category's action. The answer's names are looked
// up here, where a decision's strings are first made. (The verdict is
// returned, and built in a variable of its own: written through a
// pointer, each of its strings went through the garbage collector's
// write barrier, which while the collector marks buffers every pointer
// written and, when the buffer fills, shades them all in the decision
// that filled it; docs/blocklists-performance.md, What made it faster.)
func (p *Policy) resolved(host string, e *answer, ok bool) (v Verdict) {
	v.Host, v.Category = host, "unknown"
	if ok && !e.exception() {
		v.Category, v.Vendor = names.name(e.category), names.name(e.vendor)
	}
	switch {
	case len(p.Allow) > 0 && matchesAny(host, p.Allow):
		v.Action = ActionKeep
	case len(p.Deny) > 0 && matchesAny(host, p.Deny):
		v.Action = p.DenyAction
		if v.Action == "" {
			v.Action = ActionRemove
		}
	case ok && e.exception():
		v.Action = ActionKeep
	default:
		v.Action = p.action(v.Category)
	}
	return v
}

// DecideScript decides an inline script by the vendor signatures it
// matches and the tracker hosts its string literals name: each host is
// decided as the URLs of it the strings hold, or its root (decideNamed),
// and a host that is first party, unlisted, excepted, a CDN's or a font
// host's does not count, unless the policy denies it. The strongest
// action among them is the script's. A script held for vendors of two
// categories or more is filed under all of them, a space-separated list
// ("analytics social"), which the consent runtime runs only once each is
// granted: a shop's one script with Google Analytics' and the Meta
// Pixel's snippets would otherwise run, pixel and all, with analytics
// granted alone. A script
// that matches nothing is first party and kept; one that could not be
// read is unclassified and gets the unknown action.
//
// (Before 2026-12-02 the first signature, or else the first host, decided
// alone, and a host was looked up by its entry, which missed one that
// lists block with options: EasyPrivacy's ||sentry-cdn.com^$third-party.)
func (p *Policy) DecideScript(s *Script) Verdict {
	if s == nil || s.Unclassifiable {
		return Verdict{Action: p.action("unknown"), Category: "unknown"}
	}
	var c scriptVerdict
	for _, sig := range p.DB().Signatures {
		if sig.matches(s) {
			c.add(Verdict{Action: p.action(sig.Category), Category: sig.Category, Vendor: sig.Vendor})
		}
	}
	var paths map[string][]string
	if len(s.Hosts) > 0 {
		paths = namedURLs(s.Strings, s.Hosts)
	}
	for _, h := range s.Hosts {
		ps := paths[h]
		if len(ps) == 0 {
			ps = []string{"/"}
		}
		for _, path := range ps {
			v := p.decideNamed(s.PageHost, h, path)
			switch v.Category {
			case "unknown", "cdn", "fonts":
				// A host the operator denies counts whatever the lists
				// say of it: its loader is held with its tags. (resolved
				// has given it DenyAction, unless allow keeps it.)
				if len(p.Deny) != 0 && v.Action != ActionKeep && matchesAny(h, p.Deny) {
					break
				}
				continue
			case "":
				continue
			}
			c.add(v)
		}
	}
	return c.result()
}

// decideNamed decides the URL https://host + path (a path and query),
// named in a script on a page at pageHost, by the host's entries and the
// rules under its suffixes (DB.MatchHost).
func (p *Policy) decideNamed(pageHost, host, path string) Verdict {
	if !p.ThirdPartyHost(pageHost, host) {
		return Verdict{Action: ActionKeep}
	}
	u := []byte("https://" + host + path)
	lowerASCII(u) // the rules match a lower-case URL
	q := Request{URL: string(u), Host: host, PageHost: pageHost, Type: TypeAll}
	var e answer
	ok := p.DB().matchHostTo(&q, &e)
	return p.resolved(host, &e, ok)
}

// maxNamedURLs caps the URLs of one host that namedURLs keeps.
const maxNamedURLs = 4

// namedURLs returns, for each of hosts, the paths (with their queries) of
// the URLs in strs that name it: "//host/path?q" up to a quote, white
// space or the string's end, at most maxNamedURLs a host. One pass over
// the strings.
func namedURLs(strs, hosts []string) map[string][]string {
	want := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		want[h] = true
	}
	out := map[string][]string{}
	for _, str := range strs {
		for i := 0; ; {
			n := strings.Index(str[i:], "//")
			if n < 0 {
				break
			}
			j := i + n + 2
			k := j
			for k < len(str) && str[k] != '/' && str[k] != '?' && str[k] != '#' && str[k] > ' ' && str[k] != '"' && str[k] != '\'' {
				k++
			}
			h := strings.ToLower(str[j:k])
			if c := strings.LastIndexByte(h, '@'); c >= 0 {
				h = h[c+1:]
			}
			if c := strings.IndexByte(h, ':'); c >= 0 {
				h = h[:c]
			}
			h = strings.TrimSuffix(h, ".")
			end := k
			for end < len(str) && str[end] > ' ' && str[end] != '"' && str[end] != '\'' && str[end] != '`' {
				end++
			}
			if want[h] && k < len(str) && str[k] == '/' && len(out[h]) < maxNamedURLs {
				out[h] = append(out[h], str[k:end])
			}
			i = max(k, j)
		}
	}
	return out
}

// scriptVerdict combines the verdicts of what an inline script holds.
type scriptVerdict struct {
	best    Verdict
	found   bool
	held    []string // the categories of those held (deferred or more)
	vendors []string // the vendors of those held
}

func (c *scriptVerdict) add(v Verdict) {
	if actionRank(v.Action) >= actionRank(ActionDefer) {
		if !slices.Contains(c.held, v.Category) {
			c.held = append(c.held, v.Category)
		}
		if v.Vendor != "" && !slices.Contains(c.vendors, v.Vendor) {
			c.vendors = append(c.vendors, v.Vendor)
		}
	}
	if !c.found || actionRank(v.Action) > actionRank(c.best.Action) {
		c.best, c.found = v, true
	}
}

func (c *scriptVerdict) result() Verdict {
	if !c.found {
		return Verdict{Action: ActionKeep}
	}
	v := c.best
	if (len(c.held) > 1 || len(c.vendors) > 1) && v.Action != ActionRemove {
		// Held for vendors of more than one category, under one it would
		// run once that one was granted, or its vendor always loaded:
		// marked with all of them, it runs once each is granted. Its
		// vendors are named together, separated by "; " (no vendor's name
		// holds it; "ComScore, Inc." holds ", "), as the rewriter names
		// an element's: the banner lists each under each of its
		// categories, and a vendor refused holds it. So are two vendors
		// of one category: named by the first, Criteo's and Microsoft
		// Advertising's snippets in one script ran with Microsoft's TCF
		// vendor consent refused and Bing's tag loaded.
		slices.Sort(c.held)
		slices.Sort(c.vendors)
		v.Category, v.Vendor, v.Host = strings.Join(c.held, " "), strings.Join(c.vendors, "; "), ""
	}
	return v
}

// actionRank orders actions from the weakest to the strongest, as the
// rewriter ranks them: keep, proxy (done by a proxy, or else deferred),
// defer, placeholder, remove.
func actionRank(a string) int {
	switch a {
	case ActionKeep:
		return 0
	case ActionProxy:
		return 1
	case ActionPlaceholder:
		return 3
	case ActionRemove:
		return 4
	}
	return 2
}

// sigTermKinds are the kinds of a signature's terms, as matches reads
// them; a list's signature with another is a bad line.
var sigTermKinds = []string{"call:", "ident:", "str:", "pre:"}

// validSigTerm reports whether t is of one of sigTermKinds.
func validSigTerm(t string) bool {
	return slices.ContainsFunc(sigTermKinds, func(k string) bool { return strings.HasPrefix(t, k) })
}

func (sig *Signature) matches(s *Script) bool {
	for _, t := range sig.Terms {
		ok := false
		switch {
		case strings.HasPrefix(t, "call:"):
			ok = slices.Contains(s.Calls, t[5:])
		case strings.HasPrefix(t, "ident:"):
			ok = slices.Contains(s.Idents, t[6:])
		case strings.HasPrefix(t, "str:"):
			ok = slices.ContainsFunc(s.Strings, func(str string) bool { return strings.Contains(str, t[4:]) })
		case strings.HasPrefix(t, "pre:"):
			ok = slices.ContainsFunc(s.Strings, func(str string) bool { return strings.HasPrefix(str, t[4:]) })
		}
		if !ok {
			return false
		}
	}
	return true
}

// isPublicSuffix reports whether h is a public suffix (com, co.uk,
// github.io), under which every registrable domain is a different site.
func isPublicSuffix(h string) bool {
	s, _ := publicsuffix.PublicSuffix(h)
	return s == h
}
