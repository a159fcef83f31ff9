package rewrite

import "strings"

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
	// Categories counts third-party resources by category, then action.
	Categories map[string]*Counts
	// Vendors counts third-party resources by vendor, then action.
	Vendors map[string]*Counts
	// Findings counts each distinct (host, vendor, category, kind, action).
	Findings map[Finding]int
	// FailClosed counts the places where the rewriter could not decide
	// safely and took the privacy-safe outcome, by reason.
	FailClosed map[string]int
	// LoaderInserted is set when the consent loader was inserted.
	LoaderInserted bool
	// BytesIn and BytesOut count the bytes read and written.
	BytesIn, BytesOut int64
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
	if s.Categories == nil {
		s.Categories = map[string]*Counts{}
		s.Vendors = map[string]*Counts{}
		s.Findings = map[Finding]int{}
	}
	cat := d.Category
	if cat == "" {
		cat = "unknown"
	}
	// The decision's strings may point into the rewriter's scratch memory:
	// a new key is copied before it is kept.
	c := s.Categories[cat]
	if c == nil {
		c = new(Counts)
		s.Categories[strings.Clone(cat)] = c
	}
	c[d.Action]++
	if d.Vendor != "" {
		v := s.Vendors[d.Vendor]
		if v == nil && len(s.Vendors) < maxFindings {
			v = new(Counts)
			s.Vendors[strings.Clone(d.Vendor)] = v
		}
		if v != nil {
			v[d.Action]++
		}
	}
	f := Finding{Host: d.Host, Vendor: d.Vendor, Category: cat, Kind: kind, Action: d.Action}
	if _, ok := s.Findings[f]; ok {
		s.Findings[f]++
	} else if len(s.Findings) < maxFindings {
		f.Host, f.Vendor, f.Category = strings.Clone(f.Host), strings.Clone(f.Vendor), strings.Clone(f.Category)
		s.Findings[f] = 1
	}
}

func (s *Stats) failClosed(reason string) {
	if s.FailClosed == nil {
		s.FailClosed = map[string]int{}
	}
	s.FailClosed[reason]++
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
)
