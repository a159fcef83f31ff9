package blocklists

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Source is one list an operator brings: a file, or an HTTPS URL that is
// fetched again every Refresh.
type Source struct {
	// Location is a file path or an https:// URL.
	Location string
	// Format is the list's format; FormatAuto detects it.
	Format Format
	// Category is given to entries that carry none ("" means unknown);
	// a host or URL the embedded database knows keeps its category there
	// (DB.facts).
	Category string
	// Refresh is how often a URL is fetched again (default 24h, at least
	// one minute). Files are read once per load.
	Refresh time.Duration
}

// IsURL reports whether the source is fetched over HTTPS.
func (s Source) IsURL() bool { return strings.HasPrefix(s.Location, "https://") }

// Validate checks the location, format and category.
func (s Source) Validate() error {
	if s.Location == "" {
		return errors.New("list: empty location")
	}
	if strings.HasPrefix(s.Location, "http://") {
		return fmt.Errorf("list %s: only https URLs are fetched", s.Location)
	}
	if !s.Format.Valid() {
		return fmt.Errorf("list %s: unknown format %q (want hosts, domains, abp or firstparty)", s.Location, s.Format)
	}
	if s.Category != "" && !ValidCategory(s.Category) {
		return fmt.Errorf("list %s: unknown category %q", s.Location, s.Category)
	}
	if s.Refresh != 0 && s.Refresh < time.Minute {
		return fmt.Errorf("list %s: refresh %v is under the minimum of one minute", s.Location, s.Refresh)
	}
	return nil
}

// Cache keeps downloaded copies of lists, so a restart or another
// instance starts from them. The Caddy module backs it with Caddy's
// storage.
type Cache interface {
	Load(ctx context.Context, key string) ([]byte, error)
	Store(ctx context.Context, key string, value []byte) error
}

// Defaults for fetching lists.
const (
	DefaultRefresh  = 24 * time.Hour
	DefaultMaxBytes = 32 << 20
	DefaultTimeout  = time.Minute
)

// Fetcher downloads lists with conditional GET, size and time limits.
type Fetcher struct {
	// Client does the requests; nil means a client that follows at most
	// five redirects, all to https.
	Client *http.Client
	// MaxBytes caps a list's size (default DefaultMaxBytes).
	MaxBytes int64
	// Timeout caps one fetch (default DefaultTimeout).
	Timeout time.Duration
	// UserAgent is sent with each request.
	UserAgent string
}

var defaultClient = &http.Client{
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("more than 5 redirects")
		}
		if req.URL.Scheme != "https" {
			return fmt.Errorf("redirect to %s: only https is followed", req.URL.Redacted())
		}
		return nil
	},
}

// copyMeta is what is kept beside a downloaded copy.
type copyMeta struct {
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	Fetched      int64  `json:"fetched"`
}

// displayableError is an error of the HTTP client's, whose text may quote
// what a server sent as it came (x509 names the certificate's hosts when
// none is the URL's), shown as displayable shows a list's lines: `lists
// check` prints it to a terminal, where a server must not be able to move
// the cursor or forge output. It unwraps to the error, for errors.Is.
type displayableError struct{ err error }

func (e displayableError) Error() string { return displayable(e.err.Error()) }
func (e displayableError) Unwrap() error { return e.err }

// ErrNotModified is returned by Fetch when the server answered 304.
var ErrNotModified = errors.New("not modified")

// Fetch downloads url. With a previous copy's meta it asks conditionally
// and returns ErrNotModified when the list did not change.
func (f *Fetcher) fetch(ctx context.Context, url string, prev *copyMeta) ([]byte, copyMeta, error) {
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	max := f.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, copyMeta{}, err
	}
	if f.UserAgent != "" {
		req.Header.Set("User-Agent", f.UserAgent)
	}
	if prev != nil {
		if prev.ETag != "" {
			req.Header.Set("If-None-Match", prev.ETag)
		}
		if prev.LastModified != "" {
			req.Header.Set("If-Modified-Since", prev.LastModified)
		}
	}
	c := f.Client
	if c == nil {
		c = defaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, copyMeta{}, displayableError{err}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && prev != nil:
		return nil, *prev, ErrNotModified
	case resp.StatusCode != http.StatusOK:
		return nil, copyMeta{}, fmt.Errorf("HTTP status %s", displayable(resp.Status))
	case resp.ContentLength > max:
		return nil, copyMeta{}, fmt.Errorf("list of %d bytes is over the limit of %d", resp.ContentLength, max)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, copyMeta{}, fmt.Errorf("reading body: %w", displayableError{err})
	}
	if int64(len(body)) > max {
		return nil, copyMeta{}, fmt.Errorf("list is over the limit of %d bytes", max)
	}
	return body, copyMeta{URL: url, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), Fetched: time.Now().Unix()}, nil
}

// Get downloads url once, within the size and time limits.
func (f *Fetcher) Get(ctx context.Context, url string) ([]byte, error) {
	b, _, err := f.fetch(ctx, url, nil)
	return b, err
}

// Report says what one load or refresh did with one source.
type Report struct {
	Source Source
	Stats  *ListStats
	// Err is the failure, if any; the last good copy stays in use.
	Err error
	// Changed is set when a new copy replaced the old one.
	Changed bool
	// FromCache is set when the copy came from the Cache.
	FromCache bool
}

// loaded is a source's last good copy.
type loaded struct {
	db    *DB
	rules int
	meta  copyMeta
	next  time.Time
	sum   [sha256.Size]byte // of the list's bytes (Set.Digest)
}

// Set is a policy's lists: it loads them, fetches again those that come
// from URLs, and swaps a newly compiled DB into the policy, atomically,
// only when every changed list parsed well. Its methods are safe for
// concurrent use.
type Set struct {
	// Base returns the database the lists are merged into (the builtin,
	// or an empty one); it is called for each compile.
	Base func() (*DB, error)
	// Sources are the lists, merged in order: later ones win.
	Sources []Source
	// Fetcher fetches URL sources.
	Fetcher *Fetcher
	// Cache, if set, keeps downloaded copies.
	Cache Cache
	// Policy receives each compiled DB.
	Policy *Policy

	mu     sync.Mutex
	have   map[int]*loaded
	digest atomic.Pointer[string] // Digest
}

func cacheKey(url string) string {
	sum := sha256.Sum256([]byte(url))
	return "firstparty/lists/" + hex.EncodeToString(sum[:12])
}

func encodeCopy(m copyMeta, body []byte) []byte {
	j, _ := json.Marshal(m)
	return append(append(j, '\n'), body...)
}

func decodeCopy(b []byte) (copyMeta, []byte, error) {
	i := bytes.IndexByte(b, '\n')
	var m copyMeta
	if i < 0 {
		return m, nil, errors.New("cached copy without a header")
	}
	if err := json.Unmarshal(b[:i], &m); err != nil {
		return m, nil, fmt.Errorf("cached copy header: %w", err)
	}
	return m, b[i+1:], nil
}

// parseChecked parses a list and refuses one that cannot be a good copy
// of prev: empty, mostly bad lines, or less than half the rules of the
// copy in use (a truncated download).
func parseChecked(src Source, body []byte, prev *loaded) (*DB, *ListStats, int, error) {
	db, st, err := ParseList(bytes.NewReader(body), src.Location, src.Format, src.Category)
	if err != nil {
		return nil, st, 0, err
	}
	if err := st.Usable(); err != nil {
		return nil, st, 0, err
	}
	rules := st.RuleCount()
	if prev != nil && rules < prev.rules/2 {
		return nil, st, 0, fmt.Errorf("the list shrank from %d to %d rules: refused as truncated", prev.rules, rules)
	}
	return db, st, rules, nil
}

// RuleCount is how many rules the list held, of every kind.
func (st *ListStats) RuleCount() int {
	rules := 0
	for _, n := range st.Rules {
		rules += n
	}
	return rules
}

// Usable reports why the module would refuse a parsed list, whatever copy
// it has: it holds no rules, or more bad lines than rules (it is not in
// the format it was read as). It is nil for a list the module loads.
func (st *ListStats) Usable() error {
	rules, bad := st.RuleCount(), st.Skipped["bad_line"]
	switch {
	case rules == 0:
		return errors.New("the list holds no rules")
	case bad > rules:
		return fmt.Errorf("more bad lines (%d) than rules (%d): not a list in a supported format", bad, rules)
	}
	return nil
}

// Load reads every source and compiles the policy's DB. A file that cannot
// be read or parsed is an error (the configuration is wrong). A URL is
// taken from the cache when it holds a copy, and fetched otherwise; a URL
// that cannot be had is reported, left out, and tried again at the next
// Refresh.
func (s *Set) Load(ctx context.Context) ([]Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.have = map[int]*loaded{}
	var reports []Report
	for i, src := range s.Sources {
		if err := src.Validate(); err != nil {
			return nil, err
		}
		if !src.IsURL() {
			b, err := os.ReadFile(src.Location)
			if err != nil {
				return nil, fmt.Errorf("loading list: %w", err)
			}
			db, st, rules, err := parseChecked(src, b, nil)
			if err != nil {
				return nil, fmt.Errorf("loading list %s: %w", src.Location, err)
			}
			s.have[i] = &loaded{db: db, rules: rules, sum: sha256.Sum256(b)}
			reports = append(reports, Report{Source: src, Stats: st, Changed: true})
			continue
		}
		r := Report{Source: src}
		if s.Cache != nil {
			if b, err := s.Cache.Load(ctx, cacheKey(src.Location)); err == nil {
				if m, body, err := decodeCopy(b); err == nil && m.URL == src.Location {
					if db, st, rules, err := parseChecked(src, body, nil); err == nil {
						s.have[i] = &loaded{db: db, rules: rules, meta: m, next: time.Unix(m.Fetched, 0).Add(refresh(src)), sum: sha256.Sum256(body)}
						r.Stats, r.Changed, r.FromCache = st, true, true
					}
				}
			}
		}
		if s.have[i] == nil {
			r = s.fetchOne(ctx, i, src)
		}
		reports = append(reports, r)
	}
	return reports, s.compile()
}

func refresh(src Source) time.Duration {
	if src.Refresh > 0 {
		return src.Refresh
	}
	return DefaultRefresh
}

// fetchOne fetches source i; on success it replaces the copy in use.
func (s *Set) fetchOne(ctx context.Context, i int, src Source) Report {
	r := Report{Source: src}
	prev := s.have[i]
	var pm *copyMeta
	if prev != nil && prev.db != nil {
		pm = &prev.meta
	}
	f := s.Fetcher
	if f == nil {
		f = &Fetcher{}
	}
	body, meta, err := f.fetch(ctx, src.Location, pm)
	if errors.Is(err, ErrNotModified) && prev != nil {
		prev.next = time.Now().Add(refresh(src))
		return r
	}
	if err == nil {
		var db *DB
		var st *ListStats
		var rules int
		db, st, rules, err = parseChecked(src, body, prev)
		r.Stats = st
		if err == nil {
			s.have[i] = &loaded{db: db, rules: rules, meta: meta, next: time.Now().Add(refresh(src)), sum: sha256.Sum256(body)}
			r.Changed = true
			if s.Cache != nil {
				if cerr := s.Cache.Store(ctx, cacheKey(src.Location), encodeCopy(meta, body)); cerr != nil {
					r.Err = fmt.Errorf("list %s: caching the copy: %w", src.Location, cerr)
				}
			}
			return r
		}
	}
	r.Err = fmt.Errorf("list %s: %w", src.Location, err)
	// Try again sooner than a full interval, but not in a tight loop.
	retry := min(refresh(src), 5*time.Minute)
	if prev != nil {
		prev.next = time.Now().Add(retry)
	} else {
		s.have[i] = &loaded{next: time.Now().Add(retry)}
	}
	return r
}

// HasURLs reports whether any source is fetched from a URL, and so needs
// refreshing.
func (s *Set) HasURLs() bool {
	for _, src := range s.Sources {
		if src.IsURL() {
			return true
		}
	}
	return false
}

// Due returns how long until the next URL source is due (at least a
// second), or 0 if none comes from a URL.
func (s *Set) Due() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	for i, src := range s.Sources {
		if !src.IsURL() {
			continue
		}
		t := time.Now()
		if l := s.have[i]; l != nil {
			t = l.next
		}
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if next.IsZero() {
		return 0
	}
	return max(time.Until(next), time.Second)
}

// Refresh fetches the URL sources that are due (all of them when force is
// set) and, when any changed, compiles a new DB and swaps it in. A failed
// fetch or a list that does not parse well leaves the last good copy in
// use and is reported.
func (s *Set) Refresh(ctx context.Context, force bool) ([]Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var reports []Report
	changed := false
	now := time.Now()
	for i, src := range s.Sources {
		if !src.IsURL() {
			continue
		}
		if l := s.have[i]; !force && l != nil && now.Before(l.next) {
			continue
		}
		r := s.fetchOne(ctx, i, src)
		changed = changed || r.Changed
		reports = append(reports, r)
	}
	if !changed {
		return reports, nil
	}
	return reports, s.compile()
}

// compile merges the base and every good copy, in order, and swaps the
// result into the policy. On error the policy keeps its DB.
func (s *Set) compile() error {
	db := NewDB()
	if s.Base != nil {
		var err error
		if db, err = s.Base(); err != nil {
			return err
		}
	}
	d := sha256.New()
	for i := range s.Sources {
		if l := s.have[i]; l != nil && l.db != nil {
			db.Merge(l.db)
			d.Write(l.sum[:])
		} else {
			d.Write(make([]byte, sha256.Size)) // none yet
		}
	}
	if s.Policy != nil {
		s.Policy.SetDB(db)
	}
	digest := hex.EncodeToString(d.Sum(nil)[:8])
	s.digest.Store(&digest)
	return nil
}

// Digest names the lists the policy's DB was last compiled from: a hash
// of each list's bytes, in order (a list not had yet counts as none). It
// changes when a refresh swaps in a new copy, and is the same on every
// instance that holds the same copies. Empty before the first Load.
func (s *Set) Digest() string {
	if d := s.digest.Load(); d != nil {
		return *d
	}
	return ""
}
