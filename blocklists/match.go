package blocklists

import (
	"regexp"
	"strings"
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
}

// rule is a compiled network filter other than a plain host rule.
type rule struct {
	Entry
	// pattern is the lower-case filter body, with anchors removed. For a
	// rule indexed under its host (||host/…), it is what follows the host
	// and is matched right where the URL's host ends.
	pattern    string
	hostAnchor bool // || (generic rules only: at a label start of the host)
	start, end bool // | anchors
	re         *regexp.Regexp
	types      ReqType // 0: every type
	domains    []string
	notDomains []string
	// lit is the pattern's first literal run, used to find candidate
	// starts of an unanchored pattern.
	lit string
}

// isSep reports whether c matches the ^ separator: anything but a letter,
// a digit or one of _ - . %.
func isSep(c byte) bool {
	return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '%')
}

// glob reports whether pat matches a prefix of s (all of s when end is
// set). * matches any run and ^ one separator or the end of s. It
// backtracks to the last star only, so it runs in O(len(pat)·len(s)).
func glob(pat, s string, end bool) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for {
		if p == len(pat) {
			if !end || i == len(s) {
				return true
			}
		} else {
			switch c := pat[p]; {
			case c == '*':
				star, mark = p, i
				p++
				continue
			case c == '^':
				if i == len(s) {
					p++
					continue
				}
				if isSep(s[i]) {
					p++
					i++
					continue
				}
			case i < len(s) && s[i] == c:
				p++
				i++
				continue
			}
		}
		if star < 0 || mark >= len(s) {
			return false
		}
		mark++
		p, i = star+1, mark
	}
}

func domainMatch(host, d string) bool {
	return host == d || len(host) > len(d) && host[len(host)-len(d)-1] == '.' && strings.HasSuffix(host, d)
}

// applies checks the rule's options against the request.
func (r *rule) applies(q *Request) bool {
	if r.types != 0 && r.types&q.Type == 0 {
		return false
	}
	for _, d := range r.notDomains {
		if domainMatch(q.PageHost, d) {
			return false
		}
	}
	if len(r.domains) > 0 {
		for _, d := range r.domains {
			if domainMatch(q.PageHost, d) {
				return true
			}
		}
		return false
	}
	return true
}

// matchAt matches a host-indexed rule, whose host ends at hostEnd in q.URL.
func (r *rule) matchAt(q *Request, hostEnd int) bool {
	return r.applies(q) && glob(r.pattern, q.URL[hostEnd:], r.end)
}

// match matches a generic rule anywhere in q.URL.
func (r *rule) match(q *Request) bool {
	if !r.applies(q) {
		return false
	}
	u := q.URL
	if r.re != nil {
		return r.re.MatchString(u)
	}
	if r.start {
		return glob(r.pattern, u, r.end)
	}
	if r.hostAnchor {
		hs := strings.Index(u, "://")
		if hs < 0 {
			return false
		}
		hs += 3
		he := hs + len(q.Host)
		for i := hs; i < he; i++ {
			if (i == hs || u[i-1] == '.') && glob(r.pattern, u[i:], r.end) {
				return true
			}
		}
		return false
	}
	if r.lit == "" {
		for i := 0; i <= len(u); i++ {
			if glob(r.pattern, u[i:], r.end) {
				return true
			}
		}
		return false
	}
	// The pattern starts with its literal run: try where it occurs.
	for off := 0; ; {
		j := strings.Index(u[off:], r.lit)
		if j < 0 {
			return false
		}
		if glob(r.pattern, u[off+j:], r.end) {
			return true
		}
		off += j + 1
	}
}

func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '%'
}

// tokens returns the pattern's runs of token characters that a matching
// URL must contain as whole tokens: not at an unanchored edge of the
// pattern and not next to a *.
func (r *rule) tokens() []string {
	p := r.pattern
	var out []string
	for i := 0; i < len(p); {
		if !isTokenChar(p[i]) {
			i++
			continue
		}
		j := i
		for j < len(p) && isTokenChar(p[j]) {
			j++
		}
		okStart := i > 0 && p[i-1] != '*' || i == 0 && (r.start || r.hostAnchor)
		okEnd := j < len(p) && p[j] != '*' || j == len(p) && r.end
		if okStart && okEnd && j-i >= 2 {
			out = append(out, p[i:j])
		}
		i = j
	}
	return out
}

// leadingLiteral is the pattern's first run before any * or ^.
func leadingLiteral(p string) string {
	if i := strings.IndexAny(p, "*^"); i >= 0 {
		return p[:i]
	}
	return p
}

// outcome accumulates the rules that match one request: an important
// block wins, then an exception, then the most specific block.
type outcome struct {
	important *Entry
	exception bool
	best      Entry
	bestSpec  int
	vendor    string // the most specific vendor name seen on the host
}

func (o *outcome) add(e *Entry, spec int) {
	switch {
	case e.Exception:
		o.exception = true
	case e.Important:
		if o.important == nil {
			o.important = e
		}
	case spec > o.bestSpec:
		o.best, o.bestSpec = *e, spec
	}
}

func (o *outcome) result() (Entry, bool) {
	var e Entry
	switch {
	case o.important != nil:
		e = *o.important
	case o.exception:
		return Entry{Exception: true}, true
	case o.bestSpec > 0:
		e = o.best
	default:
		return Entry{}, false
	}
	if e.Vendor == "" {
		e.Vendor = o.vendor
	}
	return e, true
}

// specificity: a rule with a path beats a host entry, and a longer host
// beats its parent.
const urlRuleSpec = 1 << 16

// walkHost visits the nodes of host's label suffixes, most specific first.
func (db *DB) walkHost(host string, o *outcome, q *Request, hostEnd int) (hasRules bool) {
	h := host
	for {
		if n, ok := db.hosts[h]; ok {
			if n.has {
				if o.vendor == "" {
					o.vendor = n.entry.Vendor
				}
				o.add(&n.entry, len(h))
			}
			if len(n.rules) > 0 {
				hasRules = true
				if q != nil {
					for _, r := range n.rules {
						if r.matchAt(q, hostEnd) {
							o.add(&r.Entry, urlRuleSpec+len(h)+len(r.pattern))
						}
					}
				}
			}
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return hasRules
		}
		h = h[i+1:]
	}
}

// LookupHost answers for a bare host (lower-case, no trailing dot) from
// the host entries alone: who runs it, its category, or an exception. It
// walks the label suffixes over one map and does not allocate.
func (db *DB) LookupHost(host string) (Entry, bool) {
	var o outcome
	db.walkHost(host, &o, nil, 0)
	return o.result()
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

// Match decides q against every rule: host entries, rules indexed under
// the host's suffixes, and generic rules found through the URL's tokens.
func (db *DB) Match(q *Request) (Entry, bool) {
	var o outcome
	hostEnd := strings.Index(q.URL, "://")
	if hostEnd < 0 {
		hostEnd = 0
	} else {
		hostEnd += 3 + len(q.Host)
		if hostEnd > len(q.URL) {
			hostEnd = len(q.URL)
		}
	}
	db.walkHost(q.Host, &o, q, hostEnd)
	if db.generic > 0 {
		u := q.URL
		for i := 0; i < len(u); {
			if !isTokenChar(u[i]) {
				i++
				continue
			}
			j := i
			for j < len(u) && isTokenChar(u[j]) {
				j++
			}
			if rs, ok := db.byToken[u[i:j]]; ok {
				for _, r := range rs {
					if r.match(q) {
						o.add(&r.Entry, urlRuleSpec+len(r.pattern))
					}
				}
			}
			i = j
		}
		for _, r := range db.fallback {
			if r.match(q) {
				o.add(&r.Entry, urlRuleSpec+len(r.pattern))
			}
		}
	}
	return o.result()
}

// addGeneric indexes r under its least used token, or in the fallback
// list when it has none.
func (db *DB) addGeneric(r *rule) {
	db.generic++
	best := ""
	for _, t := range r.tokens() {
		if best == "" || len(db.byToken[t]) < len(db.byToken[best]) {
			best = t
		}
	}
	if best == "" {
		db.fallback = append(db.fallback, r)
		return
	}
	db.byToken[best] = append(db.byToken[best], r)
}
