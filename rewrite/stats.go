package rewrite

import (
	"strings"
	"unsafe"
)

// Counts holds a count per Action, indexed by Action.
type Counts [5]int

// Total is the sum over all actions.
func (c *Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Finding is one third party seen on a page, with what the policy did.
type Finding struct {
	Host     string
	Vendor   string
	Category string
	Kind     Kind
	Action   Action
}

// maxFindings bounds the distinct findings kept per page.
const maxFindings = 4096

// Stats counts what one rewrite saw and did. Only third-party resources are
// counted per action, category and vendor.
type Stats struct {
	// Elements is the number of start tags seen.
	Elements int
	// Actions counts third-party resources by action.
	Actions Counts
	// Categories counts third-party resources by category, then action,
	// and Vendors by vendor, then action: each for its first 4,096 keys
	// (a page's resources all count in Actions).
	Categories map[string]*Counts
	Vendors    map[string]*Counts
	// FailClosed counts the places where the rewriter could not decide
	// safely and took the privacy-safe outcome, by reason.
	FailClosed map[string]int
	// LoaderInserted is set when the consent loader was inserted.
	LoaderInserted bool
	// BytesIn and BytesOut count the page's bytes read and written: a
	// document inside it (a noscript's content, an iframe's srcdoc) is
	// counted as the page's bytes, once.
	BytesIn, BytesOut int64

	fc, mc   map[Finding]*int // the counts behind Findings and Mentions
	findings bool             // Options.ReportFindings: fc is kept
	mem      *statsMem
	changes  int // see Changes
}

// NewStats returns empty counts for a caller of a filter that takes a
// *Stats (FilterLinkHeader and the other header filters): with
// findings, the decisions are kept as Findings, as
// Options.ReportFindings keeps a rewrite's.
func NewStats(findings bool) *Stats { return &Stats{findings: findings} }

// statsMem holds the copies of the strings and the counters that Stats
// keeps, carved from chunks: a page's few dozen findings cost a few
// allocations, not one per string and counter. Chunks are never written
// again where a string or counter was handed out, so what they back stays
// valid while anything refers to it.
type statsMem struct {
	bytes []byte
	ints  []int
	cnts  []Counts
}

// keep returns a copy of str that outlives the rewriter's scratch memory.
func (s *Stats) keep(str string) string {
	if str == "" {
		return ""
	}
	if len(str) > 256 {
		return strings.Clone(str)
	}
	m := s.memory()
	if cap(m.bytes)-len(m.bytes) < len(str) {
		// A page names a few vendors and categories: the first chunk is
		// small, later ones larger.
		m.bytes = make([]byte, 0, min(2*cap(m.bytes)+256, 2048))
	}
	start := len(m.bytes)
	m.bytes = append(m.bytes, str...)
	return unsafe.String(&m.bytes[start], len(str))
}

// counter returns a new zero counter.
func (s *Stats) counter() *int { return carve(&s.memory().ints, 64) }

// counts returns new zero Counts.
func (s *Stats) counts() *Counts { return carve(&s.memory().cnts, 16) }

// carve returns the next zero element of *chunk, starting a new chunk of
// n when it is full: elements handed out never move.
func carve[T any](chunk *[]T, n int) *T {
	if len(*chunk) == cap(*chunk) {
		*chunk = make([]T, 0, n)
	}
	*chunk = (*chunk)[:len(*chunk)+1]
	return &(*chunk)[len(*chunk)-1]
}

func (s *Stats) memory() *statsMem {
	if s.mem == nil {
		s.mem = new(statsMem)
	}
	return s.mem
}

// Changed reports whether any element was rewritten.
func (s *Stats) Changed() int {
	return s.Actions[RewriteURL] + s.Actions[Defer] + s.Actions[Placeholder] + s.Actions[Remove]
}

func (s *Stats) record(kind Kind, d *Decision) {
	if d.Host == "" && d.Category == "" {
		return
	}
	s.Actions[d.Action]++
	s.changes++
	if s.Categories == nil {
		// Sized for a page's usual third parties, so they do not grow.
		s.Categories = make(map[string]*Counts, 8)
		s.Vendors = make(map[string]*Counts, 16)
	}
	cat := d.Category
	if cat == "" {
		cat = "unknown"
	}
	s.bump(s.Categories, cat, d.Action)
	if d.Vendor != "" {
		s.bump(s.Vendors, d.Vendor, d.Action)
	}
	if s.findings {
		s.fc = s.count(s.fc, Finding{Host: d.Host, Vendor: d.Vendor, Category: cat, Kind: kind, Action: d.Action}, 1)
	}
}

// bump counts a for key in m, unless m is full and lacks key.
func (s *Stats) bump(m map[string]*Counts, key string, a Action) {
	if c := s.countsFor(m, key); c != nil {
		c[a]++
	}
}

// countsFor returns key's Counts in m, new ones if it has none yet, or nil
// if m is full. The key may point into the rewriter's scratch memory: a
// new key is copied before it is kept.
func (s *Stats) countsFor(m map[string]*Counts, key string) *Counts {
	c := m[key]
	if c == nil && len(m) < maxFindings {
		c = s.counts()
		m[s.keep(key)] = c
	}
	return c
}

// count adds n to f's count, dropping it if that makes it zero. The
// counts are pointers so that an existing entry is never assigned to: a Go
// map assignment replaces a string key with the one given, and f's strings
// may point into the rewriter's scratch memory, which the next element
// overwrites. A new entry gets copies of the strings.
func (s *Stats) count(m map[Finding]*int, f Finding, n int) map[Finding]*int {
	if c, ok := m[f]; ok {
		if *c += n; *c == 0 {
			delete(m, f)
		}
		return m
	}
	if m == nil {
		m = make(map[Finding]*int, 32)
	}
	if len(m) < maxFindings {
		f.Host, f.Vendor, f.Category = s.keep(f.Host), s.keep(f.Vendor), s.keep(f.Category)
		c := s.counter()
		*c = n
		m[f] = c
	}
	return m
}

// Findings counts each distinct (host, vendor, category, kind, action)
// among the third-party resources, when Options.ReportFindings was set;
// nil otherwise. It builds the map on each call from the counts the
// rewrite keeps.
func (s *Stats) Findings() map[Finding]int { return flatten(s.fc) }

// Mentions counts the listed third parties named in inline scripts
// besides the one that decided each script, with the script's action
// (Options.ReportMentions). They are not counted in Actions. Like
// Findings, it builds the map on each call.
func (s *Stats) Mentions() map[Finding]int { return flatten(s.mc) }

func flatten(m map[Finding]*int) map[Finding]int {
	if m == nil {
		return nil
	}
	out := make(map[Finding]int, len(m))
	for f, n := range m {
		out[f] = *n
	}
	return out
}

func (s *Stats) failClosed(reason string) {
	if s.FailClosed == nil {
		s.FailClosed = map[string]int{}
	}
	s.FailClosed[reason]++
	s.changes++
}

// Fail-closed reasons.
const (
	FailOversizeScript  = "oversize_script"
	FailOversizeStyle   = "oversize_style"
	FailAmbiguous       = "ambiguous_context"
	FailUnresolvableURL = "unresolvable_url"
	FailNoscriptUnclean = "noscript_unclean_end"
	FailMalformedScript = "malformed_script"
	FailUnparsableLink  = "unparsable_link_header"
	// A text the browser may read differently, on a page that declares
	// no encoding (Undeclared, Writer.ambiguous).
	FailUndeclaredEncoding = "undeclared_encoding"
	// A Reporting-Endpoints or Report-To value that is not what the
	// Reporting API reads (FilterReportingEndpoints, FilterReportTo).
	FailUnparsableReport = "unparsable_reporting_header"
	// A speculation rule set that cannot be read: one a Speculation-Rules
	// header names on another host (FilterSpeculationRules), or a rule
	// set's body that is not a JSON object or is longer than the cap
	// (FilterRuleSet, NewRuleSetWriter). It is dropped, or written empty.
	FailUnreadRuleSet = "unread_rule_set"
	// A web app manifest that cannot be read: not JSON, or longer than
	// the cap (FilterManifest, NewManifestWriter). It is written empty.
	FailUnreadManifest = "unread_manifest"
	// An SVG file (or other XML document) that cannot be read: not
	// well-formed XML in UTF-8, with entities declared, nested too deep,
	// or longer than the cap (FilterSVG, NewSVGWriter). It is written as
	// EmptySVG.
	FailUnreadSVG = "unread_svg"
)

func (s *Stats) mention(f Finding) { s.mc, s.changes = s.count(s.mc, f, 1), s.changes+1 }

// loader notes that the consent loader was inserted.
func (s *Stats) loader() { s.LoaderInserted, s.changes = true, s.changes+1 }
