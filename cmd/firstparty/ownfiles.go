package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/firstparty/firstparty/rewrite"
)

// The site's own files that the module filters whole as it serves them
// (rewrite.FileWriter), for every visitor, and that scan reads as it
// does:
//   - SVG files that a page draws: its <svg><use href="/icons.svg#cart">
//     draws an element of the file in the page, where what the element
//     names loads (an <image>'s href, a fill's url());
//   - the web app manifest a page links (<link rel=manifest>), which
//     Chromium fetches unasked, and whose icons and screenshots it
//     fetches when the site is installed;
//   - the speculation rule sets a page's Speculation-Rules header names
//     on its own host, whose pages Chromium prefetches or prerenders.
//
// What the policy removes or defers is dropped from such a file, and does
// not load after consent either: scan reports what a file names as kept,
// or removed.

// ownFileKind is one kind of the site's own files that scan reads.
type ownFileKind struct {
	kind   string // the findings' kind
	noun   string // what the report calls one
	max    int    // read for one page at most
	names  string // how a page names them, for the error past max
	accept string // the request's Accept header
	// typeOK checks a response's Content-Type: as the browser reads it,
	// and the module filters it.
	typeOK func(contentType string) error
	writer func(io.Writer, rewrite.Options) *rewrite.FileWriter
	list   func(pr *PageReport) *[]SheetReport
}

// The kinds of a third party named in the site's own files.
const (
	kindOwnSVG      = "in own SVG file"
	kindOwnManifest = "in own manifest"
	kindOwnRuleSet  = "in own rule set"
)

var (
	svgFiles = &ownFileKind{kind: kindOwnSVG, noun: "own SVG file", max: 32, names: "draws from",
		accept: "image/svg+xml,image/*;q=0.8,*/*;q=0.5",
		typeOK: func(ct string) error {
			if mt := mediaType(ct); !strings.HasSuffix(mt, "/xml") && !strings.HasSuffix(mt, "+xml") {
				return fmt.Errorf("not SVG (Content-Type %s): a browser does not draw it", ct)
			}
			return nil
		},
		writer: rewrite.NewSVGWriter, list: func(pr *PageReport) *[]SheetReport { return &pr.SVGFiles }}
	// A manifest is read whatever its type, as Chromium reads it and the
	// module filters the answer to a request for one.
	manifestFiles = &ownFileKind{kind: kindOwnManifest, noun: "own manifest", max: 4, names: "links",
		accept: "application/manifest+json,*/*;q=0.5",
		typeOK: func(string) error { return nil },
		writer: rewrite.NewManifestWriter, list: func(pr *PageReport) *[]SheetReport { return &pr.Manifests }}
	// Chromium reads a rule set served as application/speculationrules+json
	// alone, and the module filters that type.
	ruleSetFiles = &ownFileKind{kind: kindOwnRuleSet, noun: "own rule set", max: 8, names: "names",
		accept: rewrite.RuleSetType,
		typeOK: func(ct string) error {
			if mediaType(ct) != rewrite.RuleSetType {
				return fmt.Errorf("not a rule set (Content-Type %s): Chromium does not read it", ct)
			}
			return nil
		},
		writer: rewrite.NewRuleSetWriter, list: func(pr *PageReport) *[]SheetReport { return &pr.RuleSets }}
)

// mediaType is a Content-Type's media type, lower case.
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(strings.ToLower(ct), ";")
	return strings.TrimSpace(mt)
}

// scanFiles reads the site's own files of kind k that a page names, and
// adds to pr what they name. root is the folder scanned for a file (a
// file looked for as a sheet is, sheetFile), "" for a URL.
func (c *sheetCache) scanFiles(pr *PageReport, k *ownFileKind, files []*url.URL, target, root string, pol rewrite.Policy) {
	seen := map[string]bool{}
	counts := map[FindingReport]int{}
	list := k.list(pr)
	for _, u := range files {
		key := u.String()
		if seen[key] {
			continue
		}
		if len(seen) == k.max {
			*list = append(*list, SheetReport{URL: key, Error: fmt.Sprintf("not read: the page %s more than %d of the site's %ss", k.names, k.max, k.noun)})
			break
		}
		seen[key] = true
		file := ""
		if root != "" {
			file = sheetFile(u, target, root)
		}
		res := c.file(k, u, file, pol)
		ownFileRead(pr, list, key, res.err, res.failClosed)
		for f, n := range res.findings {
			fr := findingReport(f, n, u.Host)
			fr.Kind, fr.Action, fr.Count = k.kind, heldAction(f.Action), 0
			counts[fr] += n
		}
	}
	pr.addCounted(counts)
}

// heldAction is the action reported for a URL named where the module
// drops what the policy holds (a file read whole, a header): remove, or
// keep.
func heldAction(a rewrite.Action) string {
	if a >= rewrite.Defer {
		return rewrite.Remove.String()
	}
	return rewrite.Keep.String()
}

// file reads and scans one file of kind k, once for the whole scan, as
// the module filters it: read whole up to max_token_size.
func (c *sheetCache) file(k *ownFileKind, u *url.URL, file string, pol rewrite.Policy) *sheetResult {
	v, _ := c.files.LoadOrStore(k.kind+"\x00"+u.String()+"\x00"+file, &sheetResult{})
	res := v.(*sheetResult)
	res.once.Do(func() {
		body, _, err := readOwn(u, file, k.accept, k.typeOK)
		if err != nil {
			res.err = err
			return
		}
		w := k.writer(io.Discard, rewrite.Options{Policy: pol, PageURL: u, ReportFindings: true, MaxTokenSize: c.maxToken})
		res.findings, res.failClosed, res.err = readThrough(w, body)
	})
	return res
}
