package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/firstparty/firstparty/rewrite"
)

// The site's own SVG files that a page draws. A page's <svg><use
// href="/icons.svg#cart"> draws an element of the file in the page, where
// what the element names loads (an <image>'s href, a fill's url()). The
// Caddy module filters such a file as it serves it (rewrite.FilterSVG),
// for every visitor: what the policy removes or defers is dropped from it,
// and does not load after consent either. scan reads those files too, and
// reports what they name as the module serves it: kept, or removed.

// kindOwnSVG is the kind of a third party named in one of the site's own
// SVG files that a page draws.
const kindOwnSVG = "in own SVG file"

// maxSVGs caps the own SVG files read for one page.
const maxSVGs = 32

// scanSVGs reads the site's own SVG files that a page draws, and adds to
// pr what they name. root is the folder scanned for a file (looked for
// as a sheet is, sheetFile), "" for a URL.
func (c *sheetCache) scanSVGs(pr *PageReport, files []*url.URL, target, root string, pol rewrite.Policy) {
	seen := map[string]bool{}
	counts := map[FindingReport]int{}
	for _, u := range files {
		key := u.String()
		if seen[key] {
			continue
		}
		if len(seen) == maxSVGs {
			pr.SVGFiles = append(pr.SVGFiles, SheetReport{URL: key, Error: fmt.Sprintf("not read: the page draws from more than %d of the site's own SVG files", maxSVGs)})
			break
		}
		seen[key] = true
		file := ""
		if root != "" {
			file = sheetFile(u, target, root)
		}
		res := c.svg(u, file, pol)
		ownFileRead(pr, &pr.SVGFiles, key, res.err, res.failClosed)
		for f, n := range res.findings {
			fr := findingReport(f, n, u.Host)
			fr.Kind, fr.Action, fr.Count = kindOwnSVG, rewrite.Keep.String(), 0
			if f.Action != rewrite.Keep {
				fr.Action = rewrite.Remove.String() // dropped from the file
			}
			counts[fr] += n
		}
	}
	for fr, n := range counts {
		fr.Count = n
		pr.Findings = append(pr.Findings, fr)
	}
}

// svg reads and scans one SVG file, once for the whole scan, as the
// module filters it: read whole up to max_token_size.
func (c *sheetCache) svg(u *url.URL, file string, pol rewrite.Policy) *sheetResult {
	v, _ := c.svgs.LoadOrStore(u.String()+"\x00"+file, &sheetResult{})
	res := v.(*sheetResult)
	res.once.Do(func() {
		body, _, err := readOwn(u, file, "image/svg+xml,image/*;q=0.8,*/*;q=0.5", func(ct string) error {
			mt, _, _ := strings.Cut(strings.ToLower(ct), ";")
			if mt = strings.TrimSpace(mt); !strings.HasSuffix(mt, "/xml") && !strings.HasSuffix(mt, "+xml") {
				return fmt.Errorf("not SVG (Content-Type %s): a browser does not draw it", ct)
			}
			return nil
		})
		if err != nil {
			res.err = err
			return
		}
		sw := rewrite.NewSVGWriter(io.Discard, rewrite.Options{Policy: pol, PageURL: u, ReportFindings: true, MaxTokenSize: c.maxToken})
		res.findings, res.failClosed, res.err = readThrough(sw, body)
	})
	return res
}
