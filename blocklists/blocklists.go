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
	"sort"
	"strings"
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
}

// Signature recognises a vendor's inline loader.
type Signature struct {
	Vendor, Category string
	Terms            []string // call:NAME, ident:NAME, str:SUBSTRING
}

// Shape recognises a vendor loader by its path and query, on any host.
type Shape struct {
	Vendor, Category string
	Prefix           string
}

// pathRule is a host+path entry.
type pathRule struct {
	prefix string
	Entry
}

// DB is a compiled knowledge base. It is immutable once built, so readers
// need no locks.
type DB struct {
	hosts      map[string]Entry
	paths      map[string][]pathRule
	Signatures []Signature
	Shapes     []Shape
}

// NewDB returns an empty DB.
func NewDB() *DB {
	return &DB{hosts: map[string]Entry{}, paths: map[string][]pathRule{}}
}

// Len is the number of host and path entries.
func (db *DB) Len() int {
	n := len(db.hosts)
	for _, p := range db.paths {
		n += len(p)
	}
	return n
}

// AddHost adds or replaces a host entry.
func (db *DB) AddHost(host string, e Entry) { db.hosts[host] = e }

// AddPath adds a host+path entry.
// Rules stay ordered longest prefix first, so Lookup takes the first match.
func (db *DB) AddPath(host, prefix string, e Entry) {
	rules := db.paths[host]
	i := sort.Search(len(rules), func(i int) bool { return len(rules[i].prefix) < len(prefix) })
	rules = append(rules, pathRule{})
	copy(rules[i+1:], rules[i:])
	rules[i] = pathRule{prefix, e}
	db.paths[host] = rules
}

// Merge copies every entry of o into db; o's entries win.
func (db *DB) Merge(o *DB) {
	for h, e := range o.hosts {
		db.hosts[h] = e
	}
	for h, p := range o.paths {
		for _, r := range p {
			db.AddPath(h, r.prefix, r.Entry)
		}
	}
	db.Signatures = append(db.Signatures, o.Signatures...)
	db.Shapes = append(db.Shapes, o.Shapes...)
}

// Lookup finds the entry for host (lower-case, no trailing dot) and path,
// walking the label suffixes from the full host to the registrable
// domain's parent. A path rule beats a host rule on the same suffix. It
// does not allocate.
func (db *DB) Lookup(host, path string) (Entry, bool) {
	h := host
	for {
		if rules, ok := db.paths[h]; ok {
			for _, r := range rules {
				if strings.HasPrefix(path, r.prefix) {
					return r.Entry, true
				}
			}
		}
		if e, ok := db.hosts[h]; ok {
			return e, true
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return Entry{}, false
		}
		h = h[i+1:]
	}
}

//go:embed data/trackers.json
var companiesDB []byte

//go:embed data/overrides.txt
var overrides []byte

// companiesCategory maps AdGuard companiesdb categories to ours; the
// others (misc, unknown, extensions…) are left to the unknown action.
var companiesCategory = map[string]string{
	"advertising": "advertising", "pornvertising": "advertising", "site_analytics": "analytics",
	"mobile_analytics": "analytics", "telemetry": "analytics", "social_media": "social",
	"audio_video_player": "embeds", "comments": "embeds", "customer_interaction": "embeds",
	"cdn": "cdn", "hosting": "cdn", "essential": "essential", "consent": "consent",
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
// the project's overrides applied.
func Builtin() (*DB, error) {
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
	for h := range db.hosts {
		if _, ok := ov.hosts[h]; ok {
			continue
		}
		for p := h; ; {
			i := strings.IndexByte(p, '.')
			if i < 0 {
				break
			}
			p = p[i+1:]
			if _, ok := ov.hosts[p]; ok {
				delete(db.hosts, h)
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
	FormatAuto    Format = ""
	FormatHosts   Format = "hosts"
	FormatDomains Format = "domains"
	FormatABP     Format = "abp"
	FormatOwn     Format = "firstparty"
)

// ListStats counts what a list held.
type ListStats struct {
	Format  Format
	Lines   int
	Rules   map[string]int // by rule type
	Skipped map[string]int // by reason
	Errors  []error        // bad lines, as "file:line: reason"
}

func (s *ListStats) skip(reason string) {
	if s.Skipped == nil {
		s.Skipped = map[string]int{}
	}
	s.Skipped[reason]++
}

func (s *ListStats) rule(kind string) {
	if s.Rules == nil {
		s.Rules = map[string]int{}
	}
	s.Rules[kind]++
}

const maxErrors = 100

func (s *ListStats) bad(name string, line int, format string, args ...any) {
	if len(s.Errors) < maxErrors {
		s.Errors = append(s.Errors, fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, args...)))
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
	st := &ListStats{Format: f}
	db := NewDB()
	lineNo := 0
	for {
		line, err := readLine(br)
		if len(line) > 0 || err == nil {
			lineNo++
			st.Lines++
			if len(line) > maxLine {
				st.bad(name, lineNo, "line longer than %d bytes", maxLine)
			} else {
				if st.Format == FormatAuto {
					st.Format = detect(line)
				}
				parseLine(db, st, name, lineNo, strings.TrimSpace(line), category)
			}
		}
		if err == io.EOF {
			return db, st, nil
		}
		if err != nil {
			return nil, st, fmt.Errorf("reading %s: %w", name, err)
		}
	}
}

// readLine reads one line, keeping at most maxLine+1 bytes of it.
func readLine(br *bufio.Reader) (string, error) {
	var sb []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(sb) <= maxLine {
			sb = append(sb, chunk...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return strings.TrimRight(string(sb), "\r\n"), err
	}
}

// detect guesses the format from the first significant line.
func detect(line string) Format {
	l := strings.TrimSpace(line)
	switch {
	case l == "":
		return FormatAuto
	case strings.HasPrefix(l, "[Adblock") || strings.HasPrefix(l, "||") || strings.HasPrefix(l, "@@") || strings.HasPrefix(l, "!"):
		return FormatABP
	case strings.Count(l, "|") >= 3:
		return FormatOwn
	case strings.HasPrefix(l, "#"):
		return FormatAuto
	}
	f := strings.Fields(l)
	if len(f) >= 2 && (f[0] == "0.0.0.0" || f[0] == "127.0.0.1" || f[0] == "::1" || f[0] == "::") {
		return FormatHosts
	}
	return FormatDomains
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 || strings.HasPrefix(h, ".") || strings.Contains(h, "..") {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return strings.IndexByte(h, '.') > 0
}

func parseLine(db *DB, st *ListStats, name string, n int, l, category string) {
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
		h := f[0]
		if st.Format == FormatHosts {
			if len(f) < 2 {
				st.bad(name, n, "hosts line without a host")
				return
			}
			h = f[1]
		}
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if h == "localhost" || h == "localhost.localdomain" || h == "broadcasthost" || h == "local" || h == "0.0.0.0" {
			st.skip("local_host")
			return
		}
		if !validHost(h) {
			st.bad(name, n, "invalid host %q", clipString(h))
			return
		}
		db.AddHost(h, Entry{Category: category})
		st.rule("host")
	case FormatABP:
		parseABP(db, st, name, n, l, category)
	case FormatOwn:
		parseOwn(db, st, name, n, l)
	}
}

func clipString(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// parseABP handles the network-filter subset that decides third-party
// requests: ||host^ with options, and @@ exceptions. Other rules are
// skipped and counted by reason.
func parseABP(db *DB, st *ListStats, name string, n int, l, category string) {
	switch {
	case l[0] == '!' || l[0] == '[':
		return
	case strings.Contains(l, "##") || strings.Contains(l, "#@#") || strings.Contains(l, "#?#") || strings.Contains(l, "#$#"):
		st.skip("cosmetic")
		return
	}
	exception := strings.HasPrefix(l, "@@")
	if exception {
		l = l[2:]
	}
	opts := ""
	if i := strings.LastIndexByte(l, '$'); i >= 0 && !strings.HasPrefix(l, "/") {
		opts, l = l[i+1:], l[:i]
	}
	if len(l) > 1 && l[0] == '/' && l[len(l)-1] == '/' {
		st.skip("regex")
		return
	}
	e := Entry{Category: category, Exception: exception}
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "", "third-party", "3p", "script", "image", "subdocument", "stylesheet", "xmlhttprequest", "ping", "other", "media", "font", "object":
		case "important":
			e.Important = true
		default:
			if strings.HasPrefix(o, "domain=") {
				// Per-site rules apply on some sites only: a page-independent
				// matcher cannot honour them, so they are skipped.
				st.skip("domain_option")
				return
			}
			st.skip("unsupported_option")
			return
		}
	}
	if !strings.HasPrefix(l, "||") {
		st.skip("pattern")
		return
	}
	p := strings.TrimPrefix(l, "||")
	host, path := p, ""
	if i := strings.IndexAny(p, "^/*"); i >= 0 {
		host, path = p[:i], p[i:]
	}
	path = strings.TrimPrefix(path, "^")
	host = strings.ToLower(host)
	if !validHost(host) {
		st.bad(name, n, "invalid host %q", clipString(host))
		return
	}
	switch {
	case path == "" || path == "|":
		db.AddHost(host, e)
		st.rule("host")
	case strings.HasPrefix(path, "/") && !strings.ContainsAny(path, "*^|"):
		db.AddPath(host, path, e)
		st.rule("host_path")
	default:
		st.skip("pattern")
	}
}

// parseOwn reads the project's own format (see data/overrides.txt).
func parseOwn(db *DB, st *ListStats, name string, n int, l string) {
	if l[0] == '#' {
		return
	}
	f := strings.Split(l, "|")
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	if len(f) != 4 {
		st.bad(name, n, "want 4 fields separated by |, have %d", len(f))
		return
	}
	if !ValidCategory(f[1]) {
		st.bad(name, n, "unknown category %q", f[1])
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
			st.bad(name, n, "invalid host %q", clipString(host))
			return
		}
		e := Entry{Vendor: f[3], Category: f[1]}
		if path == "" {
			db.AddHost(host, e)
		} else {
			db.AddPath(host, path, e)
		}
		st.rule("host")
	case "sig":
		terms := strings.Fields(f[3])
		for _, t := range terms {
			if !strings.HasPrefix(t, "call:") && !strings.HasPrefix(t, "ident:") && !strings.HasPrefix(t, "str:") {
				st.bad(name, n, "signature term %q is not call:, ident: or str:", t)
				return
			}
		}
		if len(terms) == 0 {
			st.bad(name, n, "empty signature")
			return
		}
		db.Signatures = append(db.Signatures, Signature{Vendor: f[2], Category: f[1], Terms: terms})
		st.rule("signature")
	case "shape":
		db.Shapes = append(db.Shapes, Shape{Vendor: f[2], Category: f[1], Prefix: f[3]})
		st.rule("shape")
	default:
		st.bad(name, n, "unknown rule kind %q (want host, sig or shape)", f[0])
	}
}
