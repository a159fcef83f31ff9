package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/firstparty/firstparty/blocklists"
	"github.com/firstparty/firstparty/caddymodule"
	"github.com/firstparty/firstparty/rewrite"
)

// ReportVersion is the version of the --json schema (docs/cli.md).
const ReportVersion = 1

// Report is what scan found, as --json writes it.
type Report struct {
	Version int          `json:"version"`
	Pages   []PageReport `json:"pages"`
	Summary Summary      `json:"summary"`
}

// PageReport is one page: the third parties it contacts and what the
// policy does with each, or why it could not be scanned.
type PageReport struct {
	Page     string          `json:"page"`
	Error    string          `json:"error,omitempty"`
	Elements int             `json:"elements"`
	Findings []FindingReport `json:"findings"`
	// FailClosed counts places where the rewriter could not decide safely.
	FailClosed map[string]int `json:"fail_closed,omitempty"`
	// Sheets are the site's own style sheets the page loads, which scan
	// reads too (sheets.go).
	Sheets []SheetReport `json:"sheets,omitempty"`
	// SVGFiles are the site's own SVG files the page draws with
	// <svg><use href>, Manifests the web app manifests it links, and
	// RuleSets the speculation rule sets its Speculation-Rules header
	// names, which scan reads too (ownfiles.go).
	SVGFiles  []SheetReport `json:"svg_files,omitempty"`
	Manifests []SheetReport `json:"manifests,omitempty"`
	RuleSets  []SheetReport `json:"rule_sets,omitempty"`
	// ConsentManagers are the consent managers the page loads from their
	// hosts (its findings of the category consent), sorted by vendor.
	ConsentManagers []ConsentManagerReport `json:"consent_managers,omitempty"`
}

// ConsentManagerReport is a consent manager a page loads, and whether
// firstparty reads the choice it stores (caddymodule.ReadConsentManagers).
// Unless the site passes the choice of one it does not read on
// (firstparty.consent.set), what firstparty holds waits for its own
// banner (docs/consent.md).
type ConsentManagerReport struct {
	Vendor string `json:"vendor"`
	Read   bool   `json:"read"`
	// ConsentMap is, for a consent manager whose keys are the site's own
	// (caddymodule.MappedConsentManagers: Didomi's purposes), its name in
	// consent_map, through which alone its choice is read.
	ConsentMap string `json:"consent_map,omitempty"`
}

// consentManagers lists the consent managers among a page's findings.
func consentManagers(fs []FindingReport) []ConsentManagerReport {
	var out []ConsentManagerReport
	seen := map[string]bool{}
	for _, f := range fs {
		if f.Category != "consent" || seen[f.Vendor] {
			continue
		}
		seen[f.Vendor] = true
		_, read := caddymodule.ReadConsentManagers[f.Vendor]
		out = append(out, ConsentManagerReport{Vendor: f.Vendor, Read: read, ConsentMap: caddymodule.MappedConsentManagers[f.Vendor]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Vendor < out[j].Vendor })
	return out
}

// FindingReport is one third party (or first-party copy of vendor code)
// on a page, per element kind and action.
type FindingReport struct {
	Host       string `json:"host"`
	Vendor     string `json:"vendor"`
	Category   string `json:"category"`
	Kind       string `json:"kind"`
	Action     string `json:"action"`
	Count      int    `json:"count"`
	FirstParty bool   `json:"first_party,omitempty"`
	// CNAME is the first tracker's name that the CNAME chain of a host
	// of the site's own leads through (cname.go): the module keeps what
	// it serves unless the configuration's third_party names it.
	CNAME string `json:"cname,omitempty"`
}

// Summary totals the report.
type Summary struct {
	Pages      int            `json:"pages"`
	Errors     int            `json:"errors"`
	Categories map[string]int `json:"categories"` // elements per category (hosts named in inline scripts are not elements)
	Vendors    map[string]int `json:"vendors"`    // pages per vendor
}

// kindNames are the element kinds as the report names them.
var kindNames = map[rewrite.Kind]string{
	rewrite.KindScript: "script", rewrite.KindInlineScript: "inline snippet", rewrite.KindImage: "pixel/image",
	rewrite.KindFrame: "iframe", rewrite.KindEmbed: "embed", rewrite.KindMedia: "media", rewrite.KindHint: "resource hint",
	rewrite.KindStylesheet: "stylesheet", rewrite.KindIcon: "icon", rewrite.KindPing: "ping", rewrite.KindCSS: "css",
	rewrite.KindRefresh: "refresh", rewrite.KindForm: "form", rewrite.KindManifest: "manifest",
}

// kindForm is the kind of a form's action, reported only.
const kindForm = "form"

// kindMentioned is the kind of a tracker host named in an inline script
// that another vendor's signature or host decided.
const kindMentioned = "named in inline script"

// maxPageBytes caps what scan reads of one page.
const maxPageBytes = 64 << 20

const scanUsage = `usage: firstparty scan [flags] FILE|DIR|URL...`

// errFailOn is returned when --fail-on found offending pages.
var errFailOn = errors.New("would load trackers before consent")

func runScan(args []string, stdout, stderr io.Writer, tty bool) error {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, scanUsage); fs.PrintDefaults() }
	var pf policyFlags
	pf.register(fs)
	site := fs.String("site", "", "the pages' own site, which decides what is third party (default: a URL's host; localhost for files)")
	asJSON := fs.Bool("json", false, "write the report as JSON (schema: docs/cli.md)")
	htmlOut := fs.String("html", "", "also write a self-contained HTML report to this file")
	failOn := fs.String("fail-on", "", "CATEGORY[,…]: exit non-zero when a page keeps (loads before consent) a tracker of these categories")
	jobs := fs.Int("jobs", runtime.GOMAXPROCS(0), "pages scanned at once")
	noColor := fs.Bool("no-color", false, "no colour in the table")
	cname := fs.String("cname", "auto", "auto, on or off: look up the CNAME chains of the site's own hosts that pages load from, and report those that lead through a tracker's name (auto: for URLs, not saved files)")
	styleSheets := fs.String("style-sheets", "", "rewrite, consent or pass: what the module does with the site's own style sheets (default: the --config Caddyfile's style_sheets, else pass)")
	inputs, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *styleSheets != "" && !slices.Contains(caddymodule.StyleSheetModes, *styleSheets) {
		return fmt.Errorf("--style-sheets: want rewrite, consent or pass, not %q", *styleSheets)
	}
	pf.styleSheets = *styleSheets
	if !slices.Contains(cnameModes, *cname) {
		return fmt.Errorf("--cname: want auto, on or off, not %q", *cname)
	}
	if len(inputs) == 0 {
		fs.Usage()
		return errors.New("nothing to scan")
	}
	if err := checkSite(*site); err != nil {
		return err
	}
	failCats := map[string]bool{}
	for _, c := range strings.Split(*failOn, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		if !blocklists.ValidCategory(c) {
			return fmt.Errorf("--fail-on: unknown category %q", c)
		}
		failCats[c] = true
	}
	p, err := pf.build(stderr)
	if err != nil {
		return err
	}
	pol := caddymodule.RewritePolicy(p)

	// Expand folders into their files, recursively.
	// roots[i] is the folder scanned for targets[i], where the site's own
	// style sheets are looked for ("" for a URL).
	var targets, roots []string
	var report Report
	for _, in := range inputs {
		if isURL(in) {
			targets, roots = append(targets, in), append(roots, "")
			continue
		}
		st, err := os.Stat(in)
		if err != nil {
			report.Pages = append(report.Pages, errorPage(in, err))
			continue
		}
		if !st.IsDir() {
			targets, roots = append(targets, in), append(roots, filepath.Dir(in))
			continue
		}
		err = filepath.WalkDir(in, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				report.Pages = append(report.Pages, errorPage(path, err))
				return nil
			}
			if d.IsDir() || !isPageFile(path) {
				return nil
			}
			if err := readableEntry(path, d); err != nil {
				report.Pages = append(report.Pages, errorPage(path, err))
				return nil
			}
			targets, roots = append(targets, path), append(roots, in)
			return nil
		})
		if err != nil {
			return err
		}
	}

	if err := checkReportPath(*htmlOut, targets); err != nil {
		return err
	}
	results := make([]PageReport, len(targets))
	sheets := sheetCache{mode: pf.styleSheets, maxToken: pf.maxTokenSize}
	var names cnameCache
	var done atomic.Int64
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < max(1, *jobs); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = scanOne(targets[i], roots[i], *site, pol, &sheets, cnameFor(*cname, targets[i], &names))
				done.Add(1)
			}
		}()
	}
	stopProgress := progress(stderr, tty && os.Getenv("CI") == "", len(targets), &done)
	for i := range targets {
		next <- i
	}
	close(next)
	wg.Wait()
	stopProgress()
	report.Pages = append(report.Pages, results...)
	sort.SliceStable(report.Pages, func(i, j int) bool { return report.Pages[i].Page < report.Pages[j].Page })
	report.Version = ReportVersion
	report.Summary = summarize(report.Pages)

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else if err := writeTable(stdout, &report, tty && !*noColor && os.Getenv("NO_COLOR") == ""); err != nil {
		return err
	}
	if *htmlOut != "" {
		if err := writeHTMLFile(*htmlOut, &report); err != nil {
			return err
		}
	}
	offending := 0
	if len(failCats) > 0 {
		for _, pg := range report.Pages {
			if line := failLine(pg, failCats); line != "" {
				fmt.Fprintln(stderr, line)
				offending++
			}
		}
	}
	switch {
	case report.Summary.Errors > 0 && offending > 0:
		return fmt.Errorf("%d page(s) could not be scanned, and %d page(s) %w", report.Summary.Errors, offending, errFailOn)
	case report.Summary.Errors > 0:
		return fmt.Errorf("%d page(s) could not be scanned", report.Summary.Errors)
	case offending > 0:
		return fmt.Errorf("%d page(s) %w", offending, errFailOn)
	}
	return nil
}

func isURL(s string) bool { return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") }

// isPageFile reports whether a file in a scanned folder is a saved page.
func isPageFile(path string) bool {
	p := strings.ToLower(strings.TrimSuffix(path, ".gz"))
	return strings.HasSuffix(p, ".html") || strings.HasSuffix(p, ".htm")
}

// errorPage is the report of a page that could not be scanned.
func errorPage(page string, err error) PageReport {
	return PageReport{Page: page, Error: err.Error(), Findings: []FindingReport{}}
}

// scanFacts is shared by the pages of a scan, which often carry the same
// snippets.
var scanFacts = rewrite.NewFactsCache(0)

// scanOne reads and scans one file or URL, and the site's own style
// sheets it loads (through sc); root is the folder scanned for a file, ""
// for a URL. names, when not nil, looks up the CNAME chains of the
// site's own hosts that the page loads from (cname.go).
func scanOne(target, root, site string, pol rewrite.Policy, sc *sheetCache, names *cnameCache) PageReport {
	sp, err := readPage(target, site)
	if err != nil {
		return errorPage(target, err)
	}
	page := sp.page
	pr := PageReport{Page: target, Findings: []FindingReport{}}
	var own ownURLs
	if names != nil {
		own.hosts = map[hostKind]int{}
	}
	opts := rewrite.Options{Policy: own.policy(pol, true), PageURL: page, Token: "scan", ReportMentions: true, ReportFindings: true, Facts: scanFacts, Encoding: sp.enc,
		Loader: func(tok, nonce string) []byte { return nil }}
	st, err := rewrite.Rewrite(io.Discard, bytes.NewReader(sp.body), opts)
	if err != nil {
		return errorPage(target, err)
	}
	pr.Elements = st.Elements
	pr.FailClosed = st.FailClosed
	for f, n := range st.Findings() {
		pr.Findings = append(pr.Findings, findingReport(f, n, page.Host))
	}
	for f, n := range st.Mentions() {
		pr.Findings = append(pr.Findings, FindingReport{Host: f.Host, Vendor: f.Vendor, Category: f.Category, Kind: kindMentioned, Action: f.Action.String(), Count: n})
	}
	if names != nil {
		pr.Findings = append(pr.Findings, names.cloaked(own.hosts, page, pol)...)
	}
	scanHeaders(&pr, sp.header, sp.hints, page, &own, pol)
	if sp.origin != nil {
		// The page's URL names its host without the port, which decides
		// what is first party; its own files are fetched where it was.
		for _, list := range [][]*url.URL{own.sheets, own.svgs, own.manifests, own.ruleSets} {
			for _, u := range list {
				if u.Host == page.Host {
					u.Scheme, u.Host = sp.origin.Scheme, sp.origin.Host
				}
			}
		}
	}
	sc.scan(&pr, own.sheets, target, root, pol)
	sc.scanFiles(&pr, svgFiles, own.svgs, target, root, pol)
	sc.scanFiles(&pr, manifestFiles, own.manifests, target, root, pol)
	sc.scanFiles(&pr, ruleSetFiles, own.ruleSets, target, root, pol)
	sortFindings(pr.Findings)
	pr.ConsentManagers = consentManagers(pr.Findings)
	return pr
}

// findingReport is a finding as the report names it, on a page of the
// site at host.
func findingReport(f rewrite.Finding, n int, host string) FindingReport {
	fr := FindingReport{Host: f.Host, Vendor: f.Vendor, Category: f.Category, Kind: kindNames[f.Kind], Action: f.Action.String(), Count: n}
	if fr.Kind == "" {
		fr.Kind = f.Kind.String()
	}
	switch {
	case f.Host != "":
	case f.Kind == rewrite.KindInlineScript:
		fr.Host = "(inline)"
	default:
		// Vendor code recognised by its URL shape on the page's own host.
		fr.FirstParty, fr.Host = true, host
		fr.Vendor = strings.TrimSuffix(fr.Vendor, " (first-party copy)")
	}
	if fr.Vendor == "" {
		fr.Vendor = "unknown"
	}
	return fr
}

// sortFindings orders findings by category, vendor, host, kind and
// action, as the report and --stats print them.
func sortFindings(fs []FindingReport) {
	sort.Slice(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Category != b.Category {
			return a.Category < b.Category
		}
		if a.Vendor != b.Vendor {
			return a.Vendor < b.Vendor
		}
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Action < b.Action
	})
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// scannedPage is a page as scan reads it.
type scannedPage struct {
	body []byte
	// page is the page's URL: a file's on localhost, or as --site says.
	page *url.URL
	// origin is the URL the page was fetched from after redirects (nil
	// for a file), header its response's header and hints its 103 Early
	// Hints' headers (nil for a file).
	origin        *url.URL
	header, hints http.Header
	// enc is its encoding: from the response's Content-Type, a byte
	// order mark or a <meta>.
	enc string
}

// readPage reads a page's bytes (gunzipped) from a file or URL.
func readPage(target, site string) (*scannedPage, error) {
	rp, contentType, err := readPageBytes(target, site)
	if err != nil {
		return nil, err
	}
	if rp.enc, err = asciiCompatible(rp.body, contentType, "scanned"); err != nil {
		return nil, err
	}
	return rp, nil
}

// readPageBytes reads a page's bytes (gunzipped), and returns them with
// the Content-Type it was served with ("" for a file).
func readPageBytes(target, site string) (*scannedPage, string, error) {
	var r io.Reader
	var contentType string
	rp := &scannedPage{page: &url.URL{Scheme: "https", Host: "localhost", Path: "/" + filepath.Base(target)}}
	if isURL(target) {
		rp.hints = http.Header{}
		resp, err := getHinted(target, "text/html", rp.hints)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		contentType = resp.Header.Get("Content-Type")
		if ct := contentType; ct != "" && !strings.Contains(strings.ToLower(ct), "html") {
			return nil, "", fmt.Errorf("not HTML (Content-Type %s)", ct)
		}
		u := resp.Request.URL // after redirects
		rp.origin, rp.header = u, resp.Header
		rp.page = &url.URL{Scheme: u.Scheme, Host: strings.ToLower(u.Hostname()), Path: u.Path}
		r = resp.Body
	} else {
		f, err := os.Open(target)
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		r = f
	}
	if site != "" {
		rp.page.Host = strings.ToLower(site)
	}
	body, err := readBody(r, maxPageBytes)
	if err != nil {
		return nil, "", err
	}
	if len(body) > maxPageBytes {
		return nil, "", fmt.Errorf("page larger than %d MiB", maxPageBytes>>20)
	}
	if len(body) == 0 {
		return nil, "", errors.New("empty file")
	}
	head := body[:min(len(body), 1024)]
	ct := http.DetectContentType(head)
	if !strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "text/plain") && !bytes.Contains(head, []byte("<")) {
		return nil, "", fmt.Errorf("not HTML (looks like %s)", ct)
	}
	rp.body = body
	return rp, contentType, nil
}

// get asks for target as scan does, accepting accept: the response,
// whose body the caller closes, or an error for a status from 400 up.
func get(target, accept string) (*http.Response, error) {
	return getHinted(target, accept, nil)
}

// getHinted is get that adds to hints, when it is not nil, the headers of
// the 103 Early Hints answers before the response (what a browser
// preconnects to and preloads while it waits).
func getHinted(target, accept string, hints http.Header) (*http.Response, error) {
	req, err := http.NewRequest("GET", target, nil)
	if err != nil {
		return nil, err
	}
	if hints != nil {
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
				if code == http.StatusEarlyHints {
					for k, vs := range h {
						hints[k] = append(hints[k], vs...)
					}
				}
				return nil
			},
		}))
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "firstparty-scan")
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		resp.Body.Close()
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	return resp, nil
}

// readBody reads r, gunzipped when it is gzip, up to one byte more than
// limit: a body longer than limit was cut.
func readBody(r io.Reader, limit int) ([]byte, error) {
	br := bufio.NewReader(io.LimitReader(r, int64(limit)+1))
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(io.LimitReader(zr, int64(limit)+1))
	}
	return io.ReadAll(br)
}

func summarize(pages []PageReport) Summary {
	s := Summary{Pages: len(pages), Categories: map[string]int{}, Vendors: map[string]int{}}
	for _, p := range pages {
		if p.Error != "" {
			s.Errors++
			continue
		}
		seen := map[string]bool{}
		for _, f := range p.Findings {
			if f.Kind != kindMentioned { // a host named in a script is not an element
				s.Categories[f.Category] += f.Count
			}
			if !seen[f.Vendor] {
				seen[f.Vendor] = true
				s.Vendors[f.Vendor]++
			}
		}
	}
	return s
}

// failLine is the one-line summary of a page that keeps trackers of the
// --fail-on categories, or "".
func failLine(p PageReport, cats map[string]bool) string {
	var hits []string
	for i := range p.Findings {
		f := &p.Findings[i]
		if cats[f.Category] && loadsBeforeConsent(f) {
			hits = append(hits, fmt.Sprintf("%s %s (%s ×%d)", f.Category, f.Vendor, f.Host, f.Count))
		}
	}
	if len(hits) == 0 {
		return ""
	}
	return fmt.Sprintf("FAIL %s: loads before consent: %s", p.Page, strings.Join(hits, "; "))
}

// progress draws a progress bar on a terminal until the returned function
// is called; elsewhere it draws nothing.
func progress(w io.Writer, on bool, total int, done *atomic.Int64) func() {
	if !on || total < 2 {
		return func() {}
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			n := int(done.Load())
			el := time.Since(start)
			rate := float64(n) / el.Seconds()
			eta := "?"
			if n > 0 {
				eta = (time.Duration(float64(el) / float64(n) * float64(total-n))).Round(time.Second).String()
			}
			bar := strings.Repeat("█", 30*n/total) + strings.Repeat("░", 30-30*n/total)
			fmt.Fprintf(w, "\r%s %d/%d pages  %.1f/s  ETA %s ", bar, n, total, rate, eta)
			select {
			case <-stop:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(stop); <-finished }
}

// checkReportPath refuses an --html path that is one of the pages to scan:
// the report would be written over it.
func checkReportPath(out string, targets []string) error {
	if out == "" {
		return nil
	}
	o, err := os.Stat(out)
	if err != nil {
		return nil // a new file
	}
	for _, t := range targets {
		if isURL(t) {
			continue
		}
		if st, err := os.Stat(t); err == nil && os.SameFile(o, st) {
			return fmt.Errorf("--html %s is one of the pages scanned: give the report another path", out)
		}
	}
	return nil
}

// checkSite refuses a --site that is not a host name (a URL, a port):
// first-party hosts would not match it, and every host would be third
// party.
func checkSite(site string) error {
	if site == "" {
		return nil
	}
	if _, err := blocklists.HostName(site); err != nil {
		return fmt.Errorf("--site: %w; give the host alone, such as shop.example", err)
	}
	return nil
}
