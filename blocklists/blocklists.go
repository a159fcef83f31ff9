// Package blocklists is firstparty's tracker knowledge: the embedded
// categorised database, the list formats operators bring (hosts files,
// domain lists, an Adblock Plus subset, the project's own format), the
// first/third-party logic (Public Suffix List) and the matcher that
// answers, for a URL, who runs it and what the site's policy does with it.
//
// It never logs and never imports Caddy or the rewriter: it returns errors,
// counts and verdicts; caddymodule and the CLI wire it to the rewriter.
package blocklists

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// Categories are the tracker categories, in report order.
var Categories = []string{"analytics", "advertising", "social", "session_replay", "tag_manager", "consent", "embeds", "fonts", "cdn", "payments", "essential"}

// ValidCategory reports whether c is a known category (or "unknown").
func ValidCategory(c string) bool {
	if c == "unknown" {
		return true
	}
	for _, x := range Categories {
		if x == c {
			return true
		}
	}
	return false
}

// Entry is what the knowledge base says about a host or host+path.
type Entry struct {
	Vendor   string
	Category string
	// Exception marks an @@ rule: the host is not a tracker.
	Exception bool
	// Important marks a $important block, which beats exceptions.
	Important bool
	// fromList marks an entry of a list whose category is the list's
	// (ParseList's category: EasyPrivacy's analytics), not the vendor's.
	// Where the embedded database knows the host or URL, its category
	// and vendor stand (DB.facts): EasyPrivacy loaded as analytics would
	// otherwise file Hotjar and the Meta Pixel under analytics, and a
	// visitor who granted analytics alone would get them.
	fromList bool
}

// Signature recognises a vendor's inline loader.
type Signature struct {
	Vendor, Category string
	Terms            []string // call:NAME, ident:NAME, str:SUBSTRING, pre:PREFIX
}

// Shape recognises a vendor loader by its path and query, on any host.
type Shape struct {
	Vendor, Category string
	Prefix           string
}

// node holds what the DB knows under one host: its entry (a plain host
// rule or a vendor fact) and the URL rules anchored at it.
// It is kept small (16 bytes) because lists hold tens of thousands of
// hosts: the vendor and category are indexes into names.
type node struct {
	vendor, category uint32
	flags            uint8
	rules            int32 // 1 + the index of its rules in DB.hostRules; 0: none
}

const (
	nodeHas uint8 = 1 << iota
	nodeException
	nodeImportant
	nodeFromList
	// nodeFact marks a host of the embedded database (DB.facts), entry
	// or rules: a match that visits none needs no look at the facts.
	nodeFact
)

func (n node) has() bool { return n.flags&nodeHas != 0 }

// answer is an Entry as the matcher and the decision cache carry it:
// its vendor and category as indexes into names, its marks as a node's
// (nodeException, nodeImportant, nodeFromList). It holds no pointer, so
// that a decision that writes one, to the outcome it gathers, to the
// cache or to its own stack through a pointer, writes nothing through
// the collector's write barrier (keyStack); the names are looked up
// when a verdict or an Entry is made of it.
type answer struct {
	vendor, category uint32
	flags            uint8
}

// answerFlags are the node flags an answer keeps.
const answerFlags = nodeException | nodeImportant | nodeFromList

func (a *answer) exception() bool { return a.flags&nodeException != 0 }

// listBlock reports whether a is a block of a list that gives its rules
// the list's category (nodeFromList), not an exception.
func (a *answer) listBlock() bool { return a.flags&(nodeFromList|nodeException) == nodeFromList }

// servedFrom reports whether a, an answer of the embedded database, names
// where a file is served from rather than whose it is: a public CDN
// (jsDelivr, Google's static hosts, Akamai…), on which anyone serves
// anything. A list's block of a URL there stands: EasyPrivacy's
// ||jsdelivr.net/npm/@snowplow/ names a tracker that the CDN's entry
// would keep before consent. Every other fact stands against a list's
// block (one vendor, one category): payments, fraud screening and
// consent managers among them, which a shop needs before any choice.
func (a *answer) servedFrom() bool { return a.category == cdnName }

// cdnName is the index of the category "cdn" in names.
var cdnName = func() uint32 {
	i, _ := names.intern("cdn")
	return i
}()

// entry expands a into an Entry.
func (a answer) entry() Entry {
	return Entry{
		Vendor: names.name(a.vendor), Category: names.name(a.category),
		Exception: a.flags&nodeException != 0, Important: a.flags&nodeImportant != 0, fromList: a.flags&nodeFromList != 0,
	}
}

// answerOf is e as an answer, its names interned.
func (db *DB) answerOf(e Entry) answer {
	a := answer{vendor: db.intern(e.Vendor), category: db.intern(e.Category)}
	if e.Exception {
		a.flags |= nodeException
	}
	if e.Important {
		a.flags |= nodeImportant
	}
	if e.fromList {
		a.flags |= nodeFromList
	}
	return a
}

// answer is a node's entry as an answer.
func (n node) answer() (a answer) {
	n.answerTo(&a)
	return a
}

// answerTo writes n's entry to *a field by field. (An answer built
// whole and copied is read back 8 bytes at a time, and the copy waits
// for the stores of its halves.)
func (n node) answerTo(a *answer) {
	a.vendor, a.category, a.flags = n.vendor, n.category, n.flags&answerFlags
}

// intern returns s's index in names, or 0 when the table holds its most
// and s is new. It keeps the last name it returned, which a list's
// every line asks for again (its category), so that a list's load does
// not take the names' lock for each line.
func (db *DB) intern(s string) uint32 {
	if s == "" {
		return 0
	}
	if s == db.lastName {
		return db.lastIdx
	}
	i, ok := names.intern(s)
	if !ok {
		return 0
	}
	db.lastName, db.lastIdx = names.name(i), i
	return i
}

// names holds each vendor and category name that any DB of the process
// has held, once, under the index that nodes, rules and answers name it
// by: one table for every DB, so that an answer means the same wherever
// it was made (a decision gathers answers from the lists' DB and from
// the embedded database's, DB.facts, and the cache keeps them across
// reloads). names[0] is "". A name is never removed: the names are the
// embedded database's vendors and categories and those of the
// operator's lists (their categories, and the vendors that files in the
// project's own format name), and a list loaded again with the same
// names adds none. So that lists whose vendor names change at each
// refresh cannot grow it without end, it holds maxNames at most: past
// that, a new vendor name is not kept (its entry keeps its category),
// and a list that names one reports the line (parseOwn). The categories
// are in it from the start.
var names = newNameTable()

// maxNames is how many names the process keeps: the embedded database
// names 2,928 with the categories, and the lists' formats other than the
// project's own name none but their category.
const maxNames = 1 << 18

type nameTable struct {
	mu   sync.Mutex
	idx  map[string]uint32
	list atomic.Pointer[[]string]
	max  int // maxNames, but in tests
}

// newNameTable returns a table that holds "", the categories and
// "unknown", which the table's most never keeps out.
func newNameTable() *nameTable {
	l := append([]string{""}, Categories...)
	l = append(l, "unknown")
	t := &nameTable{idx: map[string]uint32{}, max: maxNames}
	for i, s := range l {
		t.idx[s] = uint32(i)
	}
	t.list.Store(&l)
	return t
}

// intern returns s's index, adding s (a copy: a list's name is often a
// slice of its line, whose buffer the table would keep) if it is new,
// and false for a new name when the table holds its most.
func (t *nameTable) intern(s string) (uint32, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i, ok := t.idx[s]; ok {
		return i, true
	}
	if len(*t.list.Load()) >= t.max {
		return 0, false
	}
	s = strings.Clone(s)
	l := append(*t.list.Load(), s)
	i := uint32(len(l) - 1)
	t.idx[s] = i
	// Readers load the list without the lock: the new header is
	// published whole, and the entries before it are never written again.
	t.list.Store(&l)
	return i, true
}

// name returns the name of index i, which intern returned.
func (t *nameTable) name(i uint32) string { return (*t.list.Load())[i] }

// DB is a compiled knowledge base. It is immutable once built (the
// Add and Merge methods are for building), so readers need no locks.
type DB struct {
	hosts     hostTable
	hostRules [][]ruleRef
	lastName  string // the name intern returned last, and its index
	lastIdx   uint32
	// tokens indexes generic URL rules by one token a matching URL must
	// contain (tokenTable finds a token's rules by its hash, tokenBits
	// says without a probe that most of a URL's tokens index nothing,
	// and screen that most of the rest index no rule that can match
	// there, by the two bytes beside the token: screenKeyOf); fallback holds
	// the rules with no usable token, and those searched for in the whole
	// URL on the pages of the sites their $domain names alone (addGeneric).
	tokens    tokenTable
	tokenBits *[(tokenMask + 1) / 64]uint64
	screen    *[(screenMask + 1) / 64]uint64
	// edges indexes the rules whose only usable token begins the pattern
	// unanchored and ends before a separator ("%2fevent.gif%3f"): a URL
	// token that matches ends with it. They are found by the last
	// edgeLen bytes of the URL's tokens, which edgeBits screens.
	edges    tokenTable
	edgeBits *[(edgeMask + 1) / 64]uint64
	fallback []*rule
	// fallbackMemo holds the fallback rules that apply on the last page
	// host asked about (fallbackOn).
	fallbackMemo atomic.Pointer[fallbackMemo]
	// answers is LookupHost's answer for every host in the table, worked
	// out by Freeze; nil before, and after a change to the hosts.
	answers atomic.Pointer[hostAnswers]
	// hostIndex splits the longer lists of hostRules by a byte of the
	// URL (refIndex), in hostRules' order: nil for a list of
	// hostIndexMin refs or fewer, and nil as a whole before Freeze and
	// after a change to the host rules.
	hostIndex atomic.Pointer[[]*refIndex]
	// tokenRefs is tokens laid out for Match by Freeze (tokenRefs): nil
	// before, and after a change to the generic rules.
	tokenRefs atomic.Pointer[tokenRefs]
	generic   int // rules in tokens, edges and fallback
	regexes   int
	// Signatures recognise vendors' inline loaders.
	Signatures []Signature
	// Shapes recognise vendor loaders by path, on any host.
	Shapes []Shape
	// facts is the embedded database as Builtin made it, before any list
	// was merged onto it: where a list's exception cancels the blocks on
	// a host or URL, or a list's block gives it the list's category
	// (Entry.fromList), what the embedded database says of it stands
	// (Match, LookupHost). EasyPrivacy excepts Adobe's tag manager
	// loader, which would otherwise be kept before consent. nil when the
	// DB was not built on Builtin. A file in the project's own format
	// merged onto the DB joins them (Merge): its entries name their
	// vendors' categories, as the database's do, and a list's block or
	// exception gives way to them the same way.
	facts *DB
	// own marks a DB read from a file in the project's own format
	// (ParseList): Merge adds its entries to the facts too.
	own bool
	// soon holds the host entries ParseList has read and not yet added
	// (addHostSoon), in their order; empty outside ParseList.
	soon hostQueue
}

// hostQueue holds host entries to add, with their hashes, whose slots
// the CPU has been asked for: a ring of n entries from q[at].
type hostQueue struct {
	at, n int
	q     [hostQueueLen]struct {
		host string
		e    answer
		x    uint64
	}
}

// hostQueueLen is how many host entries a list's parse holds before it
// adds the first. The host table of a list of tens of thousands of hosts
// outgrows the CPU's caches, and each new host's probe waited on memory:
// 22% of EasyPrivacy's load in its profile, on a machine whose memory
// answered in 200–290 ns. With its slots asked for some lines ahead, the wait
// overlaps the parse of the lines between. (A power of two.)
const hostQueueLen = 8

// addHostSoon is AddHost for ParseList: the entry is added once
// hostQueueLen more have come, or at flushHosts, in the order of the
// calls.
func (db *DB) addHostSoon(host string, e answer) {
	db.hosts.ready()
	x := db.hosts.hash(host)
	db.hosts.prefetch(x)
	q := &db.soon
	if q.n == hostQueueLen {
		db.addFirst()
	}
	p := &q.q[(q.at+q.n)%hostQueueLen]
	p.host, p.e, p.x = host, e, x
	q.n++
}

// addFirst adds the first host entry of the queue, which must hold one.
func (db *DB) addFirst() {
	q := &db.soon
	p := &q.q[q.at]
	db.addHost(db.hosts.refHashed(p.host, p.x), p.e)
	p.host = "" // not kept alive by the queue
	q.at, q.n = (q.at+1)%hostQueueLen, q.n-1
}

// flushHosts adds the host entries addHostSoon holds.
func (db *DB) flushHosts() {
	for db.soon.n > 0 {
		db.addFirst()
	}
}

// NewDB returns an empty DB.
func NewDB() *DB {
	return newDB(0)
}

func newDB(hosts int) *DB {
	return &DB{hosts: newHostTable(hosts), tokenBits: new([(tokenMask + 1) / 64]uint64), screen: new([(screenMask + 1) / 64]uint64), edgeBits: new([(edgeMask + 1) / 64]uint64)}
}

// Len is the number of host entries and URL rules.
func (db *DB) Len() int {
	n := db.generic
	for _, h := range db.hosts.nodes {
		if h.has() {
			n++
		}
	}
	for _, r := range db.hostRules {
		n += len(r)
	}
	return n
}

// rulesOf returns the URL rules anchored at a host's node.
func (db *DB) rulesOf(n node) []ruleRef {
	if n.rules == 0 {
		return nil
	}
	return db.hostRules[n.rules-1]
}

// mergeAnswer combines a later entry for the same host with an earlier
// one: the later wins, except over an important block, or over an
// exception when it is a list's block that is not important (an @@ rule
// beats a block wherever each stands in the lists, as in Adblock Plus:
// "@@||x.com^" then "||x.com^" let x.com by, as the two the other way
// round did), and a vendor name is never lost.
func mergeAnswer(old, e answer) answer {
	if old.flags&(nodeImportant|nodeException) == nodeImportant && e.flags&nodeImportant == 0 ||
		old.flags&nodeException != 0 && e.flags&(nodeException|nodeImportant|nodeFromList) == nodeFromList {
		if old.vendor == 0 {
			old.vendor = e.vendor
		}
		return old
	}
	if e.vendor == 0 {
		e.vendor = old.vendor
	}
	return e
}

// AddHost adds an entry for host and its subdomains. Once the process
// holds maxNames vendor and category names, a new vendor name is not
// kept (names), as for AddPath.
func (db *DB) AddHost(host string, e Entry) {
	db.flushHosts()
	db.addHost(db.hosts.ref(host), db.answerOf(e))
}

// addHost merges e into n, a host's node.
func (db *DB) addHost(n *node, e answer) {
	db.answers.Store(nil)
	if n.has() {
		e = mergeAnswer(n.answer(), e)
	}
	n.vendor, n.category, n.flags = e.vendor, e.category, nodeHas|n.flags&nodeFact|e.flags
}

// AddPath adds an entry for URLs on host (or a subdomain) whose path
// starts with prefix.
func (db *DB) AddPath(host, prefix string, e Entry) {
	p := strings.ToLower(prefix)
	r := &rule{ans: db.answerOf(e)}
	r.setPattern(p)
	db.addHostRule(host, r)
}

func (db *DB) addHostRule(host string, r *rule) {
	db.flushHosts()
	db.addHostRef(db.hosts.ref(host), hostRef(r))
}

// addHostRef adds x, the ref of a rule under a host, to n, the host's
// node.
func (db *DB) addHostRef(n *node, x ruleRef) {
	db.answers.Store(nil)
	db.hostIndex.Store(nil)
	if n.rules == 0 {
		db.hostRules = append(db.hostRules, nil)
		n.rules = int32(len(db.hostRules))
	}
	db.hostRules[n.rules-1] = append(db.hostRules[n.rules-1], x)
}

// Merge copies every entry and rule of o into db; o's entries win. A db
// with no embedded facts of its own takes o's (DB.facts). A file in the
// project's own format (DB.own) merged onto a db with facts joins them:
// db gets a copy of its facts with o's entries merged on, so that an
// owner's "host | advertising | googletagmanager.com | …" stands where a
// list's rule matches the URL too (before 2026-12-03 such a rule gave way
// to the embedded database's tag_manager, whatever the owner's file said).
func (db *DB) Merge(o *DB) {
	if db.facts == nil {
		db.facts = o.facts
	}
	// ownFacts: o's entries join the facts, and its hosts are theirs.
	ownFacts := o.own && db.facts != nil
	if ownFacts {
		f := NewDB()
		f.Merge(db.facts)
		f.Merge(o)
		f.Freeze()
		db.facts = f
	}
	// The table is made large enough for o's hosts at once, and each
	// host is hashed and its slot asked for some hosts ahead (its bytes
	// a step before that: o's keys are spread over the heap), then
	// added with that hash and its node found once for its entry, its
	// rules (whose refs o has made already) and its mark. Merging
	// EasyPrivacy and EasyList onto the embedded database resized the
	// table four times and waited on memory for each host's probe, and
	// took 35–45 ms with the room made at once, 31–40 with the slots
	// asked for too, against 50–72 ms (medians of nine, the three
	// alternated in one process, four runs, two in each order;
	// 2026-12-03). Asking for the hosts' bytes a step earlier, here and
	// in resize, took it from 24.5–27.7 to 23.0–24.7 ms (the same way,
	// in a quieter hour).
	db.flushHosts()
	db.hosts.reserve(o.hosts.len())
	keys := o.hosts.keys
	var ahead [fetchAhead]uint64 // the hashes of keys[i:i+fetchAhead], at i%fetchAhead
	hashAhead := func(k int) {
		if k < len(keys) {
			x := db.hosts.hash(keys[k])
			db.hosts.prefetch(x)
			ahead[k%fetchAhead] = x
		}
		if k+fetchAhead < len(keys) {
			prefetchString(keys[k+fetchAhead])
		}
	}
	for k := range min(fetchAhead, len(keys)) {
		hashAhead(k)
	}
	for i, h := range keys {
		x := ahead[i%fetchAhead]
		hashAhead(i + fetchAhead)
		n := o.hosts.nodes[i]
		refs := o.rulesOf(n)
		fact := ownFacts || n.flags&nodeFact != 0 && db.facts == o.facts
		if !n.has() && len(refs) == 0 && !fact {
			continue
		}
		to := db.hosts.refHashed(h, x)
		if n.has() {
			db.addHost(to, n.answer())
		}
		for _, r := range refs {
			db.addHostRef(to, r)
		}
		if fact {
			// A walk that meets the host asks the facts (nodeFact).
			to.flags |= nodeFact
		}
	}
	// Generic rules are copied: indexing sets fields of the rule, and o
	// may be in use by readers.
	for r := range o.genericRules {
		c := *r
		db.addGeneric(&c)
	}
	db.regexes += o.regexes
	db.Signatures = append(db.Signatures, o.Signatures...)
	db.Shapes = append(db.Shapes, o.Shapes...)
}

//go:embed data/trackers.json
var companiesDB []byte

//go:embed data/overrides.txt
var overrides []byte

// companiesCategory maps AdGuard companiesdb categories to ours; the
// others (misc, unknown, extensions…) are left to the unknown action.
// So is hosting: its entries are cloud platforms (cloudfront.net,
// amazonaws.com, herokuapp.com, github.io…) on which anyone serves
// anything, a tracker as well as a shop's images, so the platform names
// no vendor. Filed as a CDN, which is kept, every tracker no list names
// there loaded before consent; a shop's own bucket or distribution is
// declared with first_party.
var companiesCategory = map[string]string{
	"advertising": "advertising", "pornvertising": "advertising", "site_analytics": "analytics",
	"mobile_analytics": "analytics", "telemetry": "analytics", "social_media": "social",
	"audio_video_player": "embeds", "comments": "embeds", "customer_interaction": "embeds",
	"cdn": "cdn", "essential": "essential", "consent": "consent",
}

// LoadCompaniesDB reads AdGuard companiesdb's trackers.json.
func LoadCompaniesDB(b []byte) (*DB, error) {
	var raw struct {
		Categories map[string]string `json:"categories"`
		Trackers   map[string]struct {
			Name       string `json:"name"`
			CategoryID int    `json:"categoryId"`
		} `json:"trackers"`
		TrackerDomains map[string]string `json:"trackerDomains"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parsing companiesdb: %w", err)
	}
	db := NewDB()
	for host, id := range raw.TrackerDomains {
		t, ok := raw.Trackers[id]
		if !ok {
			continue
		}
		cat, ok := companiesCategory[raw.Categories[fmt.Sprint(t.CategoryID)]]
		if !ok {
			continue
		}
		db.AddHost(strings.ToLower(strings.TrimSuffix(host, ".")), Entry{Vendor: t.Name, Category: cat})
	}
	return db, nil
}

// Builtin returns the embedded default database: AdGuard companiesdb with
// the project's overrides applied. It is a copy of its facts (DB.facts),
// which are built once and shared, read only, by every DB Builtin
// returns; its hosts are marked as theirs. (A copy takes about 1 ms;
// building the database again took 10 ms at each list load.)
func Builtin() (*DB, error) {
	facts, err := embeddedFacts()
	if err != nil {
		return nil, err
	}
	db := NewDB()
	db.Merge(facts)
	db.facts = facts
	for j := range db.hosts.nodes {
		db.hosts.nodes[j].flags |= nodeFact
	}
	return db, nil
}

// embeddedFacts is the embedded database, built once and frozen: the
// facts that lists merged onto a Builtin DB do not change. It is a
// compact copy, without the entries the overrides emptied: a match asks
// it on every list block of a host it knows.
var embeddedFacts = sync.OnceValues(func() (*DB, error) {
	db, err := builtinDB()
	if err != nil {
		return nil, err
	}
	facts := NewDB()
	facts.Merge(db)
	facts.Freeze()
	return facts, nil
})

// builtinDB builds the embedded database.
func builtinDB() (*DB, error) {
	db, err := LoadCompaniesDB(companiesDB)
	if err != nil {
		return nil, err
	}
	ov, _, err := ParseList(bytes.NewReader(overrides), "overrides.txt", FormatOwn, "")
	if err != nil {
		return nil, err
	}
	// An override speaks for the whole domain: base entries for its
	// subdomains (companiesdb lists www.clarity.ms as analytics) give way.
	for j, h := range db.hosts.keys {
		if o, ok := ov.hosts.get(h); ok && o.has() {
			continue
		}
		for p := h; ; {
			i := strings.IndexByte(p, '.')
			if i < 0 {
				break
			}
			p = p[i+1:]
			if o, ok := ov.hosts.get(p); ok && o.has() {
				n := &db.hosts.nodes[j]
				n.flags, n.vendor, n.category = 0, 0, 0
				break
			}
		}
	}
	db.Merge(ov)
	return db, nil
}

// Format is a list format.
type Format string

const (
	// FormatAuto detects the format from the list's first lines.
	FormatAuto Format = ""
	// FormatHosts is a hosts file: an address, then a host's name and
	// its aliases, each a host of the list.
	FormatHosts Format = "hosts"
	// FormatDomains is one host a line, "*.x.com" and ".x.com" read as
	// x.com (which holds its subdomains).
	FormatDomains Format = "domains"
	// FormatABP is the Adblock Plus / uBlock network filter subset.
	FormatABP Format = "abp"
	// FormatOwn is the project's own category-tagged format.
	FormatOwn Format = "firstparty"
)

// Valid reports whether f is one of the formats, or FormatAuto.
func (f Format) Valid() bool {
	switch f {
	case FormatAuto, FormatHosts, FormatDomains, FormatABP, FormatOwn:
		return true
	}
	return false
}

// ListStats counts what a list held.
type ListStats struct {
	Format  Format
	Lines   int
	Rules   map[string]int // by rule type
	Skipped map[string]int // by reason
	Errors  []error        // bad lines, as "file:line: reason"
	// Samples quote the first few skipped rules of each reason, as
	// "file:line: reason: rule".
	Samples []string

	name, line string // the list and the line being parsed, for errors and samples
	// kinds counts the rules of each of ruleKinds until the list ends,
	// when they go into Rules: a map update for each rule was a twentieth
	// of loading EasyPrivacy.
	kinds [len(ruleKinds)]int
}

// The rule types a list's rules are counted by, as indexes into
// ruleKinds. The exception_ ones are those of @@ rules, in the order of
// the first four: a rule type's is exceptionKind after it.
const (
	kindHost = iota
	kindHostURL
	kindURLPattern
	kindRegex
	kindSignature
	kindShape
	kindExceptionHost
	kindExceptionHostURL
	kindExceptionURLPattern
	kindExceptionRegex

	exceptionKind = kindExceptionHost - kindHost
)

// ruleKinds names the rule types in ListStats.Rules.
var ruleKinds = [...]string{kindHost: "host", kindHostURL: "host_url", kindURLPattern: "url_pattern", kindRegex: "regex",
	kindSignature: "signature", kindShape: "shape", kindExceptionHost: "exception_host", kindExceptionHostURL: "exception_host_url",
	kindExceptionURLPattern: "exception_url_pattern", kindExceptionRegex: "exception_regex"}

func (s *ListStats) skip(reason string) {
	if s.Skipped == nil {
		s.Skipped = map[string]int{}
	}
	s.Skipped[reason]++
	if s.Skipped[reason] <= samplesPerReason && reason != "bad_line" {
		s.Samples = append(s.Samples, fmt.Sprintf("%s:%d: %s: %s", s.name, s.Lines, reason, displayable(clipString(s.line))))
	}
}

// samplesPerReason is how many skipped rules of each reason are quoted.
const samplesPerReason = 3

func (s *ListStats) rule(kind int) { s.kinds[kind]++ }

// finish puts the rules counted by kind into Rules.
func (s *ListStats) finish() {
	for k, n := range s.kinds {
		if n > 0 {
			if s.Rules == nil {
				s.Rules = map[string]int{}
			}
			s.Rules[ruleKinds[k]] += n
		}
	}
	s.kinds = [len(ruleKinds)]int{}
}

const maxErrors = 100

// bad reports the line being parsed as bad, as "file:line: reason".
func (s *ListStats) bad(format string, args ...any) {
	if len(s.Errors) < maxErrors {
		s.Errors = append(s.Errors, fmt.Errorf("%s:%d: %s", s.name, s.Lines, displayable(fmt.Sprintf(format, args...))))
	}
	s.skip("bad_line")
}

// maxLine bounds one line of a list; longer lines are skipped.
const maxLine = 64 << 10

// ParseList reads a list in format f (FormatAuto detects it). category is
// the category given to entries that carry none; "" means "unknown". name
// is used in error messages. Bad lines are skipped and reported in the
// stats; only a read error is fatal.
func ParseList(r io.Reader, name string, f Format, category string) (*DB, *ListStats, error) {
	if category == "" {
		category = "unknown"
	}
	br := bufio.NewReaderSize(r, 64<<10)
	st := &ListStats{Format: f, name: name}
	defer st.finish()
	// A byte order mark, which Windows editors write at the start of a
	// UTF-8 file, is not the first line's: read with it, a domain list's
	// first host was a bad line and an Adblock Plus list's first rule a
	// pattern that no URL holds. A list in UTF-16, or compressed, is not
	// read at all: its lines would be garbage, reported line by line.
	b, _ := br.Peek(6)
	for _, c := range notText {
		if bytes.HasPrefix(b, []byte(c.start)) {
			return nil, st, fmt.Errorf("reading %s: the list is %s", name, c.is)
		}
	}
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3) // b is not read after: Discard is a read
	}
	b, _ = br.Peek(htmlPeek)
	switch markup(b) {
	case "an HTML page":
		return nil, st, fmt.Errorf("reading %s: the list is an HTML page, not a list (for a file on GitHub or GitLab, give its raw URL)", name)
	case "an XML document":
		return nil, st, fmt.Errorf("reading %s: the list is an XML document, not a list (a storage bucket's or a server's error, say)", name)
	}
	hint := 0
	if l, ok := r.(interface{ Len() int }); ok {
		hint = min(l.Len()/32, 1<<20) // about one host per 32 bytes
	}
	db := newDB(hint)
	parse := func(l string) {
		if len(l) > maxLine {
			st.bad("line longer than %d bytes", maxLine)
		} else {
			parseLine(db, st, strings.TrimSpace(l), category)
		}
	}
	// With FormatAuto, the lines are held until the format is settled
	// (settle): then each is parsed, with its own line number.
	var held []string
	heldBytes, heldRules, guess := 0, 0, FormatAuto
	parseHeld := func() {
		st.Format = guess
		n := st.Lines - len(held)
		for i, l := range held {
			st.Lines, st.line = n+i+1, l
			parse(l)
		}
		held, heldBytes, heldRules = held[:0], 0, 0
	}
	for {
		line, err := readLine(br)
		if len(line) > 0 || err == nil {
			st.Lines++ // the line number of line, for errors and samples
			st.line = line
			if st.Format != FormatAuto {
				parse(line)
			} else {
				held = append(held, line)
				heldBytes += len(line)
				lf := lineFormat(line)
				if lf != FormatAuto {
					heldRules++
				}
				// (Adblock Plus syntax settles it at once.)
				if guess = settle(guess, lf); guess == FormatABP || heldRules >= detectLines || heldBytes >= detectBytes {
					parseHeld()
				}
			}
		}
		if err == io.EOF {
			if st.Format == FormatAuto {
				parseHeld()
			}
			db.flushHosts()
			db.own = st.Format == FormatOwn
			return db, st, nil
		}
		if err != nil {
			return nil, st, fmt.Errorf("reading %s: %w", name, err)
		}
	}
}

// notText are the files a list may be mistaken for (one saved as UTF-16,
// a downloaded list.txt.gz), by the bytes they begin with, none of which
// can begin a list's text, and what ParseList's error says each is.
var notText = [...]struct{ start, is string }{
	{"\xff\xfe", utf16Text},
	{"\xfe\xff", utf16Text},
	{"\x1f\x8b", "gzip-compressed; decompress it first"},
	{"PK\x03\x04", "zip-compressed; decompress it first"},
	{"\xfd7zXZ\x00", "xz-compressed; decompress it first"},
	{"\x28\xb5\x2f\xfd", "zstd-compressed; decompress it first"},
}

// htmlPeek is how many bytes of a list markup reads.
const htmlPeek = 512

// markup reports what the start of a list, b, is when it is markup: "an
// HTML page" for a doctype or an <html>, <head> or <body> tag after white
// space, comments and an XML declaration alone; "an XML document" for an
// XML declaration followed by anything else; "" otherwise. A page that
// shows a list (a repository's page of the file, a portal's sign-in page
// in front of it) is the usual wrong URL for one, and an XML document the
// error a storage bucket or an API answers with. Read as lines, such a
// page was an Adblock Plus list once a line of the list it shows settled
// the format, and its tags ("<html>", "</head>") loaded as URL patterns.
// No line of a list begins with '<'. A comment not closed within b is not
// looked past.
func markup(b []byte) string {
	xmlDecl := false
	for {
		b = bytes.TrimLeft(b, " \t\r\n")
		switch {
		case bytes.HasPrefix(b, []byte("<!--")):
			end := bytes.Index(b[4:], []byte("-->"))
			if end < 0 {
				return ""
			}
			b = b[4+end+3:]
			continue
		case bytes.HasPrefix(b, []byte("<?xml")) && len(b) > 5 && (b[5] == ' ' || b[5] == '\t' || b[5] == '\r' || b[5] == '\n' || b[5] == '?'):
			end := bytes.Index(b, []byte("?>"))
			if end < 0 {
				return ""
			}
			b, xmlDecl = b[end+2:], true
			continue
		}
		for _, start := range [...]string{"<!doctype html", "<html", "<head", "<body"} {
			if len(b) > len(start) && strings.EqualFold(string(b[:len(start)]), start) {
				switch b[len(start)] {
				case '>', ' ', '\t', '\r', '\n':
					return "an HTML page"
				}
			}
		}
		if xmlDecl {
			return "an XML document"
		}
		return ""
	}
}

const utf16Text = "UTF-16 text (it begins with a UTF-16 byte order mark); save it as UTF-8"

// readLine reads one line, keeping at most maxLine+1 bytes of it.
func readLine(br *bufio.Reader) (string, error) {
	chunk, err := br.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return string(trimEOL(chunk)), err
	}
	sb := append([]byte(nil), chunk...)
	for err == bufio.ErrBufferFull {
		chunk, err = br.ReadSlice('\n')
		if len(sb) <= maxLine {
			sb = append(sb, chunk...)
		}
	}
	return string(trimEOL(sb)), err
}

// trimEOL cuts the line ends ('\r' and '\n') off the end of b, as
// bytes.TrimRight(b, "\r\n") does at a quarter of the cost.
func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// FormatAuto reads up to detectLines lines that are not comments, or
// detectBytes of lines, before it settles the format (settle).
const (
	detectLines = 200
	detectBytes = 256 << 10
)

// settle returns the format of a list whose lines so far show f, given
// the format of one more line, lf (lineFormat): Adblock Plus once one of
// them has its syntax, since a bare host is an Adblock Plus rule too and
// a list need not begin with its header; otherwise the project's own
// format, a hosts file or a domain list, the first that one of them has,
// in that order; FormatAuto while they are all comments or blank.
func settle(f, lf Format) Format {
	switch {
	case f == FormatABP, lf == FormatAuto:
		return f
	case lf == FormatABP, lf == FormatOwn, lf == FormatHosts && f != FormatOwn, lf == FormatDomains && f == FormatAuto:
		return lf
	}
	return f
}

// lineFormat returns the format one line of a list has the syntax of, or
// FormatAuto for a blank line or a comment of every format but Adblock
// Plus (whose comments begin with '!').
func lineFormat(line string) Format {
	l := strings.TrimSpace(line)
	switch {
	case l == "":
		return FormatAuto
	case ownKind(l):
		return FormatOwn
	case strings.HasPrefix(l, "#"):
		// A comment, or an element-hiding rule ("##.ad") of a list that
		// has shown no other syntax yet.
		return FormatAuto
	case strings.HasPrefix(l, "[Adblock") || strings.HasPrefix(l, "!"):
		return FormatABP
	}
	f := strings.Fields(l)
	switch {
	case len(f) >= 2 && (f[0] == "0.0.0.0" || f[0] == "127.0.0.1" || f[0] == "::1" || f[0] == "::"):
		return FormatHosts
	case cosmetic(l):
		return FormatABP
	}
	// A network rule has no white space; what follows some in a domain
	// list is a comment ("a.example # costs $5").
	r := f[0]
	if strings.HasPrefix(r, "|") || strings.HasPrefix(r, "@@") || strings.HasPrefix(r, "/") || strings.ContainsAny(r, "$^") {
		return FormatABP
	}
	return FormatDomains
}

// cosmetic reports whether l is an element-hiding rule of sites
// ("example.com##.ad", "a.example,b.example#@#.ad"): its marker comes
// after sites written with no space, where a hosts file's comment ("# x")
// comes after one.
func cosmetic(l string) bool {
	for _, m := range [...]string{"##", "#@#", "#?#"} {
		if i := strings.Index(l, m); i > 0 && !strings.ContainsAny(l[:i], " \t") {
			return true
		}
	}
	return false
}

// ownKind reports whether l begins as a line of the project's own format
// does: a kind, then '|' (surrounding spaces aside).
func ownKind(l string) bool {
	kind, _, ok := strings.Cut(l, "|")
	switch strings.TrimSpace(kind) {
	case "host", "sig", "shape":
		return ok
	}
	return false
}

// addListHost adds h, a host of a hosts file or a domain list, with the
// list's category.
func addListHost(db *DB, st *ListStats, h, category string) {
	db.addHostSoon(h, answer{category: db.intern(category), flags: nodeFromList})
	st.rule(kindHost)
}

// localHost reports whether h (lower-case) is one of the names hosts
// files give the machine itself, which no list means to block.
func localHost(h string) bool {
	switch h {
	case "localhost", "localhost.localdomain", "broadcasthost", "local", "0.0.0.0":
		return true
	}
	return false
}

// machineName reports whether h is a name of one label, a machine's on
// the hosts file's network, not a site's.
func machineName(h string) bool {
	for i := 0; i < len(h); i++ {
		if !hostByte(h[i]) {
			return false
		}
	}
	return h != ""
}

func validHost(h string) bool {
	_, ok := hostPrefix(h, false)
	return ok
}

// hostPrefix reads a host name from the start of s, to its end or, in a
// pattern, to the first byte of patHostEnd, and returns its length and
// whether it is valid: at most 253 bytes of labels (hostByte) between
// dots, two at least, none empty but a last one (a trailing dot). One
// pass does it: this runs for every rule of a list.
func hostPrefix(s string, pattern bool) (int, bool) {
	ok, dot, prevDot := true, false, true // prevDot: a label must start at 0
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case hostByte(c):
			prevDot = false
		case c == '.':
			if prevDot {
				ok = false // a leading dot, or ".."
			}
			dot, prevDot = true, true
		case pattern && patClass[c]&patHostEnd != 0:
			return i, ok && dot && i <= 253
		default:
			ok = false
		}
	}
	return i, ok && dot && i <= 253
}

// hostByte reports whether c may be in a label of a host name as hosts
// are compared (lower case; '_' is in use in real hosts).
func hostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func parseLine(db *DB, st *ListStats, l, category string) {
	if l == "" {
		return
	}
	switch st.Format {
	case FormatAuto:
		return // comments before the first rule
	case FormatHosts, FormatDomains:
		if l[0] == '#' {
			return
		}
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = strings.TrimSpace(l[:i])
		}
		f := strings.Fields(l)
		if st.Format == FormatDomains {
			// One host a line, what follows it a comment. "*.x.com" (the
			// wildcard domain lists of DNS blockers) and ".x.com" are read
			// as x.com, whose entry holds its subdomains and x.com itself:
			// of the readings DNS blockers give it, the one that holds more.
			h := strings.ToLower(strings.TrimSuffix(f[0], "."))
			if strings.HasPrefix(h, "*.") {
				h = h[2:]
			} else if strings.HasPrefix(h, ".") {
				h = h[1:]
			}
			if localHost(h) {
				st.skip("local_host")
				return
			}
			if !validHost(h) {
				st.bad("invalid host %q", clipString(f[0]))
				return
			}
			addListHost(db, st, h, category)
			return
		}
		if len(f) < 2 {
			st.bad("hosts line without a host")
			return
		}
		// hosts(5): an address, then a host's name and its aliases, each
		// a host of the list ("compressed" hosts files put nine on a
		// line). A name of one label is a machine's ("ip6-localhost"),
		// not a site's, and is skipped as the local names are.
		var invalid string
		loaded, local := 0, false
		for _, h := range f[1:] {
			h = strings.ToLower(strings.TrimSuffix(h, "."))
			switch {
			case localHost(h) || machineName(h):
				local = true
			case !validHost(h):
				if invalid == "" {
					invalid = h
				}
			default:
				addListHost(db, st, h, category)
				loaded++
			}
		}
		if invalid != "" {
			st.bad("invalid host %q", clipString(invalid))
		} else if loaded == 0 && local {
			st.skip("local_host")
		}
	case FormatABP:
		parseABP(db, st, l, category)
	case FormatOwn:
		parseOwn(db, st, l)
	}
}

// patClass classifies the bytes of a network rule's pattern: those that
// need a check or a change, and those that end its host.
var patClass = func() (c [256]uint8) {
	for b := 0x80; b < 0x100; b++ {
		c[b] = patNonASCII
	}
	for _, b := range []byte(" \t\v\f\r") {
		c[b] = patSpace
	}
	for b := 'A'; b <= 'Z'; b++ {
		c[b] = patUpper
	}
	for _, b := range []byte("^/*|:?") {
		c[b] = patHostEnd
	}
	return c
}()

const (
	patNonASCII uint8 = 1 << iota
	patSpace
	patUpper
	patHostEnd
)

// clipString returns s, or its first 80 bytes or fewer, cut where a
// character begins, and "…".
func clipString(s string) string {
	if len(s) > 80 {
		i := 80
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		return s[:i] + "…"
	}
	return s
}

// displayable returns s with each byte of invalid UTF-8 and each character
// that is not graphic (controls, tabs, format characters) written as a Go
// escape (\x1b, \t, \u200b), and the rest as it is. A list's lines are
// quoted in its stats' samples and errors, which the CLI prints to a
// terminal: a line of a downloaded list must not move the cursor, clear
// the screen or forge an output line there.
func displayable(s string) string {
	var b strings.Builder
	done := 0 // s[:done] is in b
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		bad := r == utf8.RuneError && n == 1
		if !bad && unicode.IsGraphic(r) {
			i += n
			continue
		}
		b.WriteString(s[done:i])
		if bad {
			fmt.Fprintf(&b, `\x%02x`, s[i])
		} else {
			q := strconv.QuoteRuneToASCII(r) // '\x1b', '\t', '\u200b'
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
		done = i
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// Caps that keep a hostile list's cost bounded.
const (
	maxRegexLen   = 1 << 10 // bytes of one regex rule
	maxRegexInsts = 4096    // compiled program size of one regex rule
	maxRegexes    = 1000    // regex rules per list
)

// parseABP handles the Adblock Plus / uBlock network-filter subset that
// decides third-party requests. Other rules are skipped and counted by
// reason; only malformed ones are reported as bad lines.
func parseABP(db *DB, st *ListStats, l, category string) {
	switch {
	case l[0] == '!' || l[0] == '[':
		return
	case strings.IndexByte(l, '#') >= 0 && (strings.Contains(l, "##") || strings.Contains(l, "#@#") || strings.Contains(l, "#?#") || strings.Contains(l, "#$#") || strings.Contains(l, "#%#")):
		st.skip("cosmetic")
		return
	}
	// The rule stays on the stack unless it is kept as a URL rule.
	var rv rule
	r := &rv
	r.ans = answer{category: db.intern(category), flags: nodeFromList}
	if strings.HasPrefix(l, "@@") {
		r.ans.flags |= nodeException
		l = l[2:]
	}
	isRegex := len(l) > 1 && l[0] == '/' && (l[len(l)-1] == '/' || strings.Contains(l, "/$"))
	opts := ""
	if isRegex {
		if i := strings.LastIndex(l, "/$"); i > 0 {
			opts, l = l[i+2:], l[:i+1]
		}
	} else if i := strings.LastIndexByte(l, '$'); i >= 0 {
		opts, l = l[i+1:], l[:i]
	}
	if opts != "" {
		if reason := r.parseOptions(opts); reason != "" {
			if strings.HasPrefix(reason, "bad ") {
				st.bad("%s", reason)
				return
			}
			st.skip(reason)
			return
		}
	}
	kind := 0
	switch {
	case isRegex:
		if l[len(l)-1] != '/' {
			st.bad("regex rule without a closing /")
			return
		}
		src := l[1 : len(l)-1]
		if db.regexes >= maxRegexes {
			st.skip("regex_over_cap")
			return
		}
		if len(src) > maxRegexLen {
			st.skip("regex_too_long")
			return
		}
		re, err := compileRegex(src)
		if err != nil {
			st.bad("regex: %v", err)
			return
		}
		r.re = re
		lits, anchored := regexLiterals(src)
		r.must, r.toks = lits, literalTokens(lits, anchored)
		db.regexes++
		db.addGeneric(r.clone())
		kind = kindRegex
	default:
		if strings.HasPrefix(l, "||") {
			r.hostAnchor, l = true, l[2:]
		} else if strings.HasPrefix(l, "|") {
			r.start, l = true, l[1:]
		}
		if strings.HasSuffix(l, "|") {
			r.end, l = true, l[:len(l)-1]
		}
		// Checked before lower-casing, which turns invalid UTF-8 into
		// U+FFFD. A URL holds no white space, so a pattern with some is
		// garbage, not a rule that can never match.
		// One pass says which of these checks the pattern needs.
		var seen uint8
		for i := 0; i < len(l); i++ {
			seen |= patClass[l[i]]
		}
		if seen&patNonASCII != 0 && !utf8.ValidString(l) {
			st.bad("invalid UTF-8 in pattern")
			return
		}
		if seen&patSpace != 0 {
			st.bad("white space in pattern %q", clipString(l))
			return
		}
		if seen&(patUpper|patNonASCII) != 0 {
			l = strings.ToLower(l)
		}
		if onlyWildcards(l) {
			// A rule for every URL is kept only where an option narrows
			// it ("every third-party ping", "every XHR on site X").
			if r.types == 0 && (r.dom == nil || len(r.dom.domains) == 0) {
				st.skip("matches_everything")
				return
			}
			l = ""
		}
		kind = kindURLPattern
		if r.hostAnchor {
			n, ok := hostPrefix(l, true)
			// A host that ends in a dot ("||adservice.google.") is the
			// start of a host, any TLD after it: a generic rule, read at a
			// label start of the host, not the host "adservice.google.".
			if host, rest := l[:n], l[n:]; ok && host[n-1] != '.' && (rest == "" || rest[0] != '*') {
				if (rest == "" || rest == "^") && !r.end && r.types == 0 && r.dom == nil {
					db.addHostSoon(host, r.ans)
					kind = kindHost
					if rest == "^" {
						break
					}
				} else if rest != "" {
					r.setPattern(rest)
					r.hostAnchor = false
					db.addHostRule(host, r.clone())
					kind = kindHostURL
					break
				}
				// "||x.com", with no "^" after the host, also matches the
				// hosts that begin with it, x.com.evil.net and
				// x.community, as in Adblock Plus: a generic rule (below),
				// besides the host's entry where the rule has no options,
				// which bare host decisions read.
			}
		}
		if !r.hostAnchor {
			// A leading or trailing * matches what the pattern would match
			// without it ("/ads/*" is "/ads/", "*foo|" is "foo"); without
			// it, the pattern is one piece, checked where its token lies
			// rather than searched for in the whole URL.
			if t := strings.TrimRight(l, "*"); t != l {
				l, r.end = t, false
			}
			if t := strings.TrimLeft(l, "*"); t != l {
				l, r.start = t, false
			}
		}
		r.setPattern(l)
		r.toks, r.offs = patternTokens(l, r.start || r.hostAnchor, r.end)
		db.addGeneric(r.clone())
	}
	if r.ans.exception() {
		kind += exceptionKind
	}
	st.rule(kind)
}

func (r *rule) clone() *rule {
	c := *r
	return &c
}

func onlyWildcards(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '*' && s[i] != '^' {
			return false
		}
	}
	return true
}

// compileRegex compiles a regex rule case-insensitively with Go's
// linear-time engine, refusing programs over maxRegexInsts. The program
// is made for what Match gives it, a URL whose ASCII letters are lower
// case, and for a yes or no (forLowerURL).
func compileRegex(src string) (*regexp.Regexp, error) {
	re, err := syntax.Parse("(?i)"+src, syntax.Perl)
	if err != nil {
		return nil, err
	}
	re = forLowerURL(re)
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, err
	}
	if len(prog.Inst) > maxRegexInsts {
		return nil, fmt.Errorf("program of %d instructions is over the cap of %d", len(prog.Inst), maxRegexInsts)
	}
	return regexp.Compile(re.String())
}

// forLowerURL rewrites re, parsed case-insensitively, into a regex that
// answers the same yes or no on every string with no upper-case ASCII
// letter, and that Go's engine runs faster:
//
//   - A case-folded literal matches any rune of its case-folding orbit:
//     each comparison folds, and a regex that does not begin with an
//     exact literal is tried at every position of the URL. Upper-case
//     ASCII letters never occur, so each rune of such a literal is
//     written as the runes left of its orbit: itself alone for most
//     ("http" is an exact prefix again, found by strings.Index), a class
//     for the few with another form ('k' and the Kelvin sign, 's' and
//     the long s, and letters beyond ASCII).
//   - A match only needs to be found, not extended: anything that can
//     match nothing at the end of the regex ("/.*" ends many list rules)
//     would read the rest of the URL for nothing, and is dropped; a
//     trailing ".{n,}" needs only its first n.
func forLowerURL(re *syntax.Regexp) *syntax.Regexp {
	re = exactLiterals(re)
	return dropTail(re)
}

// exactLiterals rewrites re's case-folded literals (see forLowerURL).
func exactLiterals(re *syntax.Regexp) *syntax.Regexp {
	for i, s := range re.Sub {
		re.Sub[i] = exactLiterals(s)
	}
	if re.Op != syntax.OpLiteral || re.Flags&syntax.FoldCase == 0 {
		return re
	}
	flags := re.Flags &^ syntax.FoldCase
	var out []*syntax.Regexp
	var run []rune
	flush := func() {
		if len(run) > 0 {
			out = append(out, &syntax.Regexp{Op: syntax.OpLiteral, Flags: flags, Rune: run})
			run = nil
		}
	}
	for _, r := range re.Rune {
		forms := lowerForms(r)
		if len(forms) == 1 {
			run = append(run, forms[0])
			continue
		}
		flush()
		class := make([]rune, 0, 2*len(forms))
		for _, f := range forms {
			class = append(class, f, f)
		}
		out = append(out, &syntax.Regexp{Op: syntax.OpCharClass, Flags: flags, Rune: class})
	}
	flush()
	if len(out) == 1 {
		return out[0]
	}
	return &syntax.Regexp{Op: syntax.OpConcat, Flags: flags, Sub: out}
}

// lowerForms returns, in order, the runes of r's case-folding orbit that
// are not upper-case ASCII letters.
func lowerForms(r rune) []rune {
	var forms []rune
	f := r
	for {
		if f < 'A' || f > 'Z' {
			forms = append(forms, f)
		}
		if f = unicode.SimpleFold(f); f == r {
			break
		}
	}
	slices.Sort(forms)
	return forms
}

// dropTail removes from the end of re what can match the empty string,
// or shortens it, where that does not change whether re matches (see
// forLowerURL).
func dropTail(re *syntax.Regexp) *syntax.Regexp {
	switch re.Op {
	case syntax.OpCapture:
		re.Sub[0] = dropTail(re.Sub[0])
	case syntax.OpConcat:
		for len(re.Sub) > 0 {
			last := len(re.Sub) - 1
			re.Sub[last] = dropTail(re.Sub[last])
			if re.Sub[last].Op != syntax.OpEmptyMatch {
				break
			}
			re.Sub = re.Sub[:last]
		}
		switch len(re.Sub) {
		case 0:
			return &syntax.Regexp{Op: syntax.OpEmptyMatch, Flags: re.Flags}
		case 1:
			return re.Sub[0]
		}
	case syntax.OpAlternate:
		// Each alternative ends the regex where it matches.
		for i, s := range re.Sub {
			re.Sub[i] = dropTail(s)
		}
	case syntax.OpStar, syntax.OpQuest:
		return &syntax.Regexp{Op: syntax.OpEmptyMatch, Flags: re.Flags}
	case syntax.OpPlus:
		return dropTail(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min == 0 {
			return &syntax.Regexp{Op: syntax.OpEmptyMatch, Flags: re.Flags}
		}
		re.Max = re.Min
	}
	return re
}

// parseOptions reads a rule's $options. It returns "" when the rule
// applies, a skip reason when it is outside the supported subset, or a
// reason starting with "bad " when it is malformed.
func (r *rule) parseOptions(opts string) string {
	var incl, excl ReqType
	for opts != "" {
		o, rest, _ := strings.Cut(opts, ",")
		opts = rest
		o = strings.TrimSpace(o)
		neg := strings.HasPrefix(o, "~")
		base := strings.ToLower(strings.TrimPrefix(o, "~"))
		val := ""
		if i := strings.IndexByte(base, '='); i >= 0 {
			base, val = base[:i], o[strings.IndexByte(o, '=')+1:]
		}
		if t, ok := typeOptions[base]; ok && val == "" {
			if neg {
				excl |= t
			} else {
				incl |= t
			}
			continue
		}
		switch base {
		case "":
		case "third-party", "3p":
			// firstparty consults lists for third-party requests only.
			if neg {
				return "first_party_only"
			}
		case "strict3p":
			// Third party by host: every request a list is consulted for
			// (a third party's by registrable domain) is one.
			if neg {
				return "first_party_only"
			}
		case "first-party", "1p", "strict1p":
			if !neg {
				return "first_party_only"
			}
		case "redirect", "empty", "mp4", "rewrite":
			if base == "rewrite" && !strings.HasPrefix(val, "abp-resource:") {
				return "unsupported_option" // the old rewrite of URLs
			}
			// A block whose response the blocker replaces with a stand-in
			// (uBlock's redirect=noop.js, Adblock Plus's
			// rewrite=abp-resource:blank-js, the older empty and mp4): the
			// request is blocked all the same, and firstparty, which
			// serves no stand-ins, holds the element. On an exception it
			// lets the stand-in go, not the request: skipped.
			if neg || r.ans.exception() {
				return "unsupported_option"
			}
		case "important":
			r.ans.flags |= nodeImportant
		case "match-case":
			// URLs are matched lower-case: the rule matches more, never less.
		case "all":
			incl |= TypeAll
		case "document", "doc", "popup", "popunder":
			if neg {
				continue // "not a page load": every subresource still applies
			}
			return "document_or_popup"
		case "domain", "from":
			if val == "" {
				return "bad empty domain= option"
			}
			for _, d := range strings.Split(strings.ToLower(val), "|") {
				not := strings.HasPrefix(d, "~")
				d = strings.TrimSuffix(strings.TrimPrefix(d, "~"), ".")
				if strings.Contains(d, "*") || strings.HasPrefix(d, "/") {
					return "domain_pattern"
				}
				if !validDomainOption(d) {
					return "bad domain " + strconv.Quote(clipString(d)) + " in domain="
				}
				if r.dom == nil {
					r.dom = &domainOpts{}
				}
				if not {
					r.dom.notDomains = append(r.dom.notDomains, d)
				} else {
					r.dom.domains = append(r.dom.domains, d)
				}
			}
			if r.dom != nil && len(r.dom.domains) > 8 {
				r.dom.set = map[string]bool{}
				for _, d := range r.dom.domains {
					r.dom.set[d] = true
				}
			}
		default:
			return "unsupported_option"
		}
	}
	if incl == 0 && excl != 0 {
		incl = TypeAll
	}
	r.types = incl &^ excl
	if (incl != 0 || excl != 0) && r.types == 0 {
		return "no_request_type"
	}
	return ""
}

// validDomainOption accepts what lists put in domain=: host names, bare
// top-level domains ("edu"), IP literals and pseudo-domains, which simply
// never match a page.
func validDomainOption(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// parseOwn reads the project's own format (see data/overrides.txt).
func parseOwn(db *DB, st *ListStats, l string) {
	if l[0] == '#' {
		return
	}
	// Vendor names become metric labels and report fields, and hosts,
	// paths and signatures are matched as bytes: all must be text.
	if !utf8.ValidString(l) {
		st.bad("invalid UTF-8")
		return
	}
	f := strings.Split(l, "|")
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	if len(f) != 4 {
		st.bad("want 4 fields separated by |, have %d", len(f))
		return
	}
	if !ValidCategory(f[1]) {
		st.bad("unknown category %q", f[1])
		return
	}
	switch f[0] {
	case "host":
		host, path := f[2], ""
		if i := strings.IndexByte(host, '/'); i >= 0 {
			host, path = host[:i], host[i:]
		}
		host = strings.ToLower(host)
		if !validHost(host) {
			st.bad("invalid host %q", clipString(host))
			return
		}
		if f[3] != "" && db.intern(f[3]) == 0 {
			st.bad("vendor name %q not kept: the process holds %d names, its most; the entry keeps its category", clipString(f[3]), maxNames)
			f[3] = ""
		}
		e := Entry{Vendor: f[3], Category: f[1]}
		if path == "" {
			db.AddHost(host, e)
		} else {
			db.AddPath(host, path, e)
		}
		st.rule(kindHost)
	case "sig":
		terms := strings.Fields(f[3])
		for _, t := range terms {
			if !validSigTerm(t) {
				st.bad("signature term %q is not call:, ident:, str: or pre:", t)
				return
			}
		}
		if len(terms) == 0 {
			st.bad("empty signature")
			return
		}
		db.Signatures = append(db.Signatures, Signature{Vendor: f[2], Category: f[1], Terms: terms})
		st.rule(kindSignature)
	case "shape":
		db.Shapes = append(db.Shapes, Shape{Vendor: f[2], Category: f[1], Prefix: f[3]})
		st.rule(kindShape)
	default:
		st.bad("unknown rule kind %q (want host, sig or shape)", f[0])
	}
}
