package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/firstparty/firstparty/rewrite"
)

// The site's own style sheets. By default (style_sheets pass) the Caddy
// module rewrites HTML responses only: a style sheet the page links from
// its own site passes as it came, so its @import of a vendor's sheet (a
// theme's Google Fonts) or a url() of a vendor's image loads with the
// page, before any choice. scan reads those sheets too, and reports what
// they name as the browser would load it: kept, whatever the policy says
// of the host (docs/privacy.md, Known limits; csp_backstop enforce and
// style_sheets rewrite are the guards). Under style_sheets rewrite, the
// module neutralises in the sheet what the policy does not keep, for
// every visitor: it is reported removed. Under style_sheets consent, what
// the policy defers is kept in the sheets of a visitor who allows it, and
// neutralised in the others': it is reported deferred.

// kindOwnSheet is the kind of a third party named in one of the site's
// own style sheets.
const kindOwnSheet = "in own style sheet"

const (
	// maxSheetBytes caps what scan reads of one style sheet.
	maxSheetBytes = 8 << 20
	// maxSheets caps the own style sheets read for one page, @imports
	// included; maxSheetDepth, how deep @imports are followed.
	maxSheets     = 32
	maxSheetDepth = 4
)

// SheetReport is one of the site's own style sheets that a page loads:
// its URL, and why it could not be read if it could not.
type SheetReport struct {
	URL   string `json:"url"`
	Error string `json:"error,omitempty"`
}

// sheetResult is what one style sheet (or another own file, ownfiles.go) gave: the
// third parties it names, the site's own sheets it imports, or why it
// could not be read.
type sheetResult struct {
	once     sync.Once
	findings map[rewrite.Finding]int
	imports  []*url.URL
	// failClosed counts where the rewriter could not read the sheet
	// safely: what it names may be more than findings.
	failClosed map[string]int
	err        error
}

// sheetCache holds each sheet's result for one scan (one policy): the
// pages of a site share their sheets. mode is what the module does with
// them (style_sheets: rewrite, consent, or pass or ""), and maxToken the
// module's max_token_size (0: its default).
type sheetCache struct {
	m        sync.Map // URL and file → *sheetResult
	files    sync.Map // kind, URL and file → *sheetResult (ownfiles.go: no imports)
	mode     string
	maxToken int
}

// ownURLs are the site's own files that a page, a sheet or a header
// names, which scan reads too: style sheets (the @imports of a sheet),
// SVG files, manifests and rule sets (ownfiles.go).
type ownURLs struct {
	sheets, svgs, manifests, ruleSets []*url.URL
	// hosts counts, in a page, the elements of each kind that load from
	// each host of the site's own (a form's action aside), whose
	// CNAME chains scan looks up (cname.go); nil, and not kept, when
	// it looks none up.
	hosts map[hostKind]int
}

// policy records in o the site's own files among the resources pol
// decides, those pol keeps as first party: a linked sheet, or a URL in
// CSS (an @import) whose path ends in .css; and, in a page (page set),
// the files that an <svg><use href> draws in it, the manifests it links
// and the hosts it loads from. A rule set that a Speculation-Rules
// header names is recorded when it is on the page's own host, the one
// the module reads (rewrite.FilterSpeculationRules).
func (o *ownURLs) policy(pol rewrite.Policy, page bool) rewrite.Policy {
	return rewrite.PolicyFunc(func(pg *url.URL, r *rewrite.Resource) rewrite.Decision {
		d := pol.Decide(pg, r)
		if d.Category != "" || d.Host != "" || r.URL == nil || r.URL.Scheme != "http" && r.URL.Scheme != "https" {
			return d
		}
		if o.hosts != nil && page && r.Kind != rewrite.KindForm && r.URL.Host != "" {
			k := hostKind{strings.ToLower(r.URL.Hostname()), r.Kind}
			if _, ok := o.hosts[k]; !ok {
				k.host = strings.Clone(k.host) // (the rewriter's memory)
			}
			o.hosts[k]++
		}
		var to *[]*url.URL
		switch {
		case r.Tag == "speculationrules":
			if pg == nil || !strings.EqualFold(r.URL.Hostname(), pg.Hostname()) {
				return d
			}
			to = &o.ruleSets
		case r.Kind == rewrite.KindStylesheet || r.Kind == rewrite.KindCSS && strings.HasSuffix(strings.ToLower(r.URL.Path), ".css"):
			to = &o.sheets
		case r.Kind == rewrite.KindImage && r.Tag == "use" && page:
			to = &o.svgs
		case r.Kind == rewrite.KindManifest && page:
			to = &o.manifests
		default:
			return d
		}
		// (The rewriter's memory: copied. Its path may keep dot
		// segments, "/../theme.css", which a browser removes.)
		base := &url.URL{Scheme: strings.Clone(r.URL.Scheme), Host: strings.Clone(r.URL.Host)}
		*to = append(*to, base.ResolveReference(&url.URL{Path: strings.Clone(r.URL.Path), RawQuery: strings.Clone(r.URL.RawQuery)}))
		return d
	})
}

// scan reads the site's own style sheets that a page links (and
// those they @import), and adds to pr what they name. root is the
// folder scanned for a file (a sheet is looked for from the page's
// folder up to it), "" for a URL.
func (c *sheetCache) scan(pr *PageReport, sheets []*url.URL, target, root string, pol rewrite.Policy) {
	seen := map[string]bool{}
	counts := map[FindingReport]int{}
	type queued struct {
		u     *url.URL
		depth int
	}
	var queue []queued
	for _, u := range sheets {
		queue = append(queue, queued{u, 0})
	}
	for len(queue) > 0 {
		q := queue[0]
		queue = queue[1:]
		key := q.u.String()
		if seen[key] {
			continue
		}
		if len(seen) == maxSheets {
			pr.Sheets = append(pr.Sheets, SheetReport{URL: key, Error: fmt.Sprintf("not read: the page loads more than %d of the site's own style sheets", maxSheets)})
			break
		}
		seen[key] = true
		file := ""
		if root != "" {
			file = sheetFile(q.u, target, root)
		}
		res := c.sheet(q.u, file, pol)
		ownFileRead(pr, &pr.Sheets, key, res.err, res.failClosed)
		for f, n := range res.findings {
			fr := findingReport(f, n, q.u.Host)
			fr.Kind, fr.Action, fr.Count = kindOwnSheet, rewrite.Keep.String(), 0
			switch {
			case f.Action == rewrite.Keep || c.mode != "rewrite" && c.mode != "consent":
			case c.mode == "consent" && (f.Action == rewrite.Defer || f.Action == rewrite.Placeholder):
				fr.Action = rewrite.Defer.String() // kept for a visitor who allows it
			default:
				fr.Action = rewrite.Remove.String() // neutralised in the file
			}
			counts[fr] += n
		}
		if q.depth+1 < maxSheetDepth {
			for _, u := range res.imports {
				queue = append(queue, queued{u, q.depth + 1})
			}
		}
	}
	pr.addCounted(counts)
}

// ownFileRead adds to pr what reading one of the site's own files (at
// key) gave: its report to list, with err if it could not be read, and
// its fail-closed counts to the page's.
func ownFileRead(pr *PageReport, list *[]SheetReport, key string, err error, failClosed map[string]int) {
	sr := SheetReport{URL: key}
	if err != nil {
		sr.Error = err.Error()
	}
	*list = append(*list, sr)
	pr.addFailClosed(failClosed)
}

// addFailClosed adds fail-closed counts to the page's.
func (pr *PageReport) addFailClosed(failClosed map[string]int) {
	for k, n := range failClosed {
		if pr.FailClosed == nil {
			pr.FailClosed = map[string]int{}
		}
		pr.FailClosed[k] += n
	}
}

// addCounted adds to the page's findings those of its own files or
// headers, each counted once over them all.
func (pr *PageReport) addCounted(counts map[FindingReport]int) {
	for fr, n := range counts {
		fr.Count = n
		pr.Findings = append(pr.Findings, fr)
	}
}

// sheetFile is where a sheet of a saved page lies: its URL's path under
// the page's folder, or under the nearest folder above it, up to root,
// that has it ("" when none does).
func sheetFile(u *url.URL, target, root string) string {
	rel := filepath.FromSlash(strings.TrimPrefix(path.Clean("/"+u.Path), "/"))
	top, _ := filepath.Abs(root)
	dir, _ := filepath.Abs(filepath.Dir(target))
	for {
		f := filepath.Join(dir, rel)
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
			return f
		}
		up := filepath.Dir(dir)
		if dir == top || up == dir || !strings.HasPrefix(dir, top) {
			return filepath.Join(filepath.Dir(target), rel) // (reported as not found)
		}
		dir = up
	}
}

// sheet reads and scans one style sheet, once for the whole scan.
func (c *sheetCache) sheet(u *url.URL, file string, pol rewrite.Policy) *sheetResult {
	v, _ := c.m.LoadOrStore(u.String()+"\x00"+file, &sheetResult{})
	res := v.(*sheetResult)
	res.once.Do(func() {
		body, ctype, err := readSheet(u, file)
		if err != nil {
			res.err = err
			return
		}
		// Read as the module reads it: in the encoding CSS gives it, in
		// runs, cut where a run is longer than max_token_size when the
		// module rewrites sheets (counted as oversize_style: what follows
		// the cut does not load). Served as it came, the sheet is read
		// whole.
		enc, ok := rewrite.StyleSheetEncoding(body, ctype)
		if !ok {
			res.err = fmt.Errorf("not read: in %s, which is not read as bytes (the module answers 502 for it under style_sheets rewrite)", enc)
			return
		}
		limit := maxSheetBytes + 64
		if c.mode == "rewrite" || c.mode == "consent" {
			limit = c.maxToken // (0: the rewriter's default, as the module's)
		}
		var own ownURLs
		opts := rewrite.Options{Policy: own.policy(pol, false), PageURL: u, Token: "scan", ReportFindings: true, Encoding: enc, MaxTokenSize: limit}
		res.findings, res.failClosed, res.err = readThrough(rewrite.NewStyleSheetWriter(io.Discard, opts), body)
		res.imports = own.sheets
	})
	return res
}

// readThrough writes body through w, a writer of the rewrite package
// that writes nowhere, and returns what it found.
func readThrough(w interface {
	io.WriteCloser
	Stats() *rewrite.Stats
}, body []byte) (findings map[rewrite.Finding]int, failClosed map[string]int, err error) {
	if _, err := w.Write(body); err != nil {
		return nil, nil, err
	}
	if err := w.Close(); err != nil {
		return nil, nil, err
	}
	return w.Stats().Findings(), w.Stats().FailClosed, nil
}

// readSheet returns a style sheet's bytes (gunzipped), and its
// Content-Type: the file's (with none) when file is set, else the URL's
// response.
func readSheet(u *url.URL, file string) (body []byte, contentType string, err error) {
	return readOwn(u, file, "text/css,*/*;q=0.1", func(ct string) error {
		if ct != "" && !strings.HasPrefix(strings.ToLower(ct), "text/css") {
			return fmt.Errorf("not CSS (Content-Type %s): a browser does not apply it", ct)
		}
		return nil
	})
}

// readOwn returns the bytes (gunzipped) of one of the site's own files
// that a page loads, and its Content-Type: the file's (with none) when
// file is set, else the response's to a request for the URL that
// accepts accept, which typeOK checks.
func readOwn(u *url.URL, file, accept string, typeOK func(contentType string) error) (body []byte, contentType string, err error) {
	var r io.Reader
	if file != "" {
		// (A file missing is the error Open gives.)
		if fi, err := os.Stat(file); err == nil {
			if err := readable(fi.Mode()); err != nil {
				return nil, "", err
			}
		}
		f, err := os.Open(file)
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		r = f
	} else {
		resp, err := get(u.String(), accept)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		if err := typeOK(resp.Header.Get("Content-Type")); err != nil {
			return nil, "", err
		}
		r, contentType = resp.Body, resp.Header.Get("Content-Type")
	}
	body, err = readBody(r, maxSheetBytes)
	if err != nil {
		return nil, "", err
	}
	if len(body) > maxSheetBytes {
		return nil, "", errors.New("not read: larger than 8 MiB")
	}
	return body, contentType, nil
}
