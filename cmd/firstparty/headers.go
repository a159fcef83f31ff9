package main

import (
	"net/http"
	"net/url"

	"github.com/firstparty/firstparty/caddymodule"
	"github.com/firstparty/firstparty/rewrite"
)

// The page's own response headers that name what a browser contacts: a
// Link header's preconnect or preload, a Speculation-Rules header's rule
// sets, the reporting endpoints of Reporting-Endpoints, Report-To and a
// Content-Security-Policy's report-uri. The module drops from them what
// the policy removes or defers (caddymodule.HeaderFilters), since a
// header cannot be held inert. scan reads them for a page it fetches, and
// reports what they name as the module serves it: kept, or removed.

// kindHeader is the kind of a third party named in the page's header
// name, or in its 103 Early Hints' (hint).
func kindHeader(name string, hint bool) string {
	if hint {
		return "in Early Hints " + name + " header"
	}
	return "in " + name + " header"
}

// scanHeaders adds to pr what the page's response header and its 103
// Early Hints' headers name, and records in own the rule sets the
// response's Speculation-Rules header names on the page's own host. Both
// are nil for a saved page.
func scanHeaders(pr *PageReport, header, hints http.Header, page *url.URL, own *ownURLs, pol rewrite.Policy) {
	counts := map[FindingReport]int{}
	for _, h := range []struct {
		header http.Header
		hint   bool
		pol    rewrite.Policy
	}{{header, false, own.policy(pol, false)}, {hints, true, pol}} {
		for _, f := range caddymodule.HeaderFilters {
			values := h.header.Values(f.Name)
			if len(values) == 0 {
				continue
			}
			st := rewrite.NewStats(true)
			f.Filter(values, page, h.pol, st)
			pr.addFailClosed(st.FailClosed)
			for fd, n := range st.Findings() {
				fr := findingReport(fd, n, page.Host)
				fr.Kind, fr.Action, fr.Count = kindHeader(f.Name, h.hint), heldAction(fd.Action), 0
				counts[fr] += n
			}
		}
	}
	pr.addCounted(counts)
}
