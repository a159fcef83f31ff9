package rewrite

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
)

// RuleSetType is the media type of a speculation rule set that a
// Speculation-Rules header names: Chromium reads a rule set of no other
// type.
const RuleSetType = "application/speculationrules+json"

// FilterRuleSet applies the policy to a speculation rule set, the body of
// a response of type RuleSetType from set (the rule set's URL, against
// which its URLs and patterns resolve). Chromium prefetches or
// prerenders what the rules name, before any choice: a list rule's URLs,
// and the page's links that a document rule matches, a vendor's among
// them. A rule is dropped when
//   - it is a list rule with a URL the policy removes or defers, or one
//     that does not resolve (each decided as a header's URL is, and
//     counted), or with a relative URL that "relative_to": "document"
//     resolves against the page's base, which the rule set does not know;
//   - it is a document rule not confined to the rule set's origin
//     (specRulesStayHome's reading), or one with "relative_to":
//     "document";
//   - it is neither.
//
// A rule dropped for its shape is counted as FailAmbiguous. A body that
// is not a JSON object cannot be read: it becomes an empty rule set,
// counted as FailUnreadRuleSet, as a browser would read no rules in it.
// When nothing is dropped, body is returned as it is; otherwise the rule
// set is written again by encoding/json from its members, in the order
// of their names, with the rules that stay compacted (and <, > and &
// written as \u escapes) and each action whose rules are all dropped left
// out. st may be nil.
func FilterRuleSet(body []byte, set *url.URL, p Policy, st *Stats) (out []byte, dropped int) {
	if p == nil {
		return body, 0
	}
	if st == nil {
		st = &Stats{}
	}
	var rules map[string]json.RawMessage
	if json.Unmarshal(body, &rules) != nil {
		st.failClosed(FailUnreadRuleSet)
		return []byte("{}"), 1
	}
	kept := make(map[string]json.RawMessage, len(rules))
	for action, raw := range rules {
		if action == "tag" {
			kept[action] = raw
			continue
		}
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			st.failClosed(FailAmbiguous)
			dropped++
			continue
		}
		var stay []json.RawMessage
		for _, r := range list {
			if ruleStays(r, set, p, st) {
				stay = append(stay, r)
			} else {
				dropped++
			}
		}
		if len(stay) > 0 {
			kept[action] = mustMarshal(stay)
		}
	}
	if dropped == 0 {
		return body, 0
	}
	return mustMarshal(kept), dropped
}

// mustMarshal is json.Marshal of what FilterRuleSet and FilterManifest
// build from a decoder's output, which cannot fail; should it, the empty
// object is the safe answer.
func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("{}")
	}
	return b
}

// ruleStays reports whether one rule of a rule set from set stays
// (FilterRuleSet).
func ruleStays(raw json.RawMessage, set *url.URL, p Policy, st *Stats) bool {
	var rule map[string]json.RawMessage
	if json.Unmarshal(raw, &rule) != nil {
		st.failClosed(FailAmbiguous)
		return false
	}
	var relative string
	_ = json.Unmarshal(rule["relative_to"], &relative)
	list, home := documentRuleHome(rule)
	if !list {
		if !home || relative == "document" {
			st.failClosed(FailAmbiguous)
			return false
		}
		return true
	}
	var urls []string
	if json.Unmarshal(rule["urls"], &urls) != nil {
		st.failClosed(FailAmbiguous)
		return false
	}
	for _, s := range urls {
		if relative == "document" && !absoluteURL(s) {
			st.failClosed(FailAmbiguous)
			return false
		}
		if headerURLHeld(s, KindHint, "speculationrules", set, p, st) {
			return false
		}
	}
	return true
}

// Two bases that share nothing (absoluteURL).
var (
	baseOne = &url.URL{Scheme: "https", Host: "one.invalid", Path: "/a/"}
	baseTwo = &url.URL{Scheme: "http", Host: "two.invalid", Path: "/b/c"}
)

// absoluteURL reports whether s resolves the same whatever the base
// (ResolveURL's reading): against two bases that share no part.
func absoluteURL(s string) bool {
	a, err := ResolveURL(baseOne, s)
	if err != nil {
		return false
	}
	b, err := ResolveURL(baseTwo, s)
	return err == nil && a.String() == b.String()
}

// FileWriter filters a file that is read whole as it is written: a
// speculation rule set (NewRuleSetWriter, FilterRuleSet), a web app
// manifest (NewManifestWriter, FilterManifest) or an SVG file
// (NewSVGWriter, FilterSVG). The file is gathered, up to
// Options.MaxTokenSize (a mebibyte by default), and written at Close.
// One longer cannot be read: it is written empty ({} for JSON, EmptySVG
// for SVG), and counted as its filter's unread reason
// (FailUnreadRuleSet, FailUnreadManifest, FailUnreadSVG).
// Options.PageURL is the file's URL, Options.Policy decides, and
// Options.ReportFindings keeps its findings; the other options play no
// part.
type FileWriter struct {
	w      io.Writer
	file   *url.URL
	p      Policy
	filter func(body []byte, file *url.URL, p Policy, st *Stats) ([]byte, int)
	unread string
	empty  string
	max    int
	buf    bytes.Buffer
	over   bool
	closed bool
	err    error
	stats  Stats
}

// NewRuleSetWriter returns a FileWriter that writes the filtered rule
// set to w.
func NewRuleSetWriter(w io.Writer, opts Options) *FileWriter {
	return newFileWriter(w, opts, FilterRuleSet, FailUnreadRuleSet, "{}")
}

// NewManifestWriter returns a FileWriter that writes the filtered web
// app manifest to w.
func NewManifestWriter(w io.Writer, opts Options) *FileWriter {
	return newFileWriter(w, opts, FilterManifest, FailUnreadManifest, "{}")
}

// NewSVGWriter returns a FileWriter that writes the filtered SVG file to
// w.
func NewSVGWriter(w io.Writer, opts Options) *FileWriter {
	return newFileWriter(w, opts, FilterSVG, FailUnreadSVG, EmptySVG)
}

func newFileWriter(w io.Writer, opts Options, filter func([]byte, *url.URL, Policy, *Stats) ([]byte, int), unread, empty string) *FileWriter {
	max := opts.MaxTokenSize
	if max <= 0 {
		max = DefaultMaxTokenSize
	}
	return &FileWriter{w: w, file: opts.PageURL, p: opts.Policy, filter: filter, unread: unread, empty: empty, max: min(max, maxTokenCap),
		stats: Stats{findings: opts.ReportFindings}}
}

// Stats returns the counts so far.
func (s *FileWriter) Stats() *Stats { return &s.stats }

// Write gathers p.
func (s *FileWriter) Write(p []byte) (int, error) {
	if s.closed {
		return 0, ErrClosed
	}
	s.stats.BytesIn += int64(len(p))
	if !s.over && s.buf.Len()+len(p) > s.max {
		s.over = true
		s.buf = bytes.Buffer{}
	}
	if !s.over {
		s.buf.Write(p)
	}
	return len(p), nil
}

// Flush writes nothing, as the file is written whole at Close; it
// flushes the underlying writer if it can.
func (s *FileWriter) Flush() error {
	return FlushWriter(s.w)
}

// Close filters the file and writes it.
func (s *FileWriter) Close() error {
	if s.closed {
		return s.err
	}
	s.closed = true
	out := s.buf.Bytes()
	if s.over {
		s.stats.failClosed(s.unread)
		out = []byte(s.empty)
	} else {
		out, _ = s.filter(out, s.file, s.p, &s.stats)
	}
	n, err := s.w.Write(out)
	s.stats.BytesOut = int64(n)
	if err == nil && n < len(out) {
		err = io.ErrShortWrite
	}
	s.err = err
	s.buf = bytes.Buffer{}
	return err
}
