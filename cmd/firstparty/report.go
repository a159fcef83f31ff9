package main

import (
	"bufio"
	"fmt"
	"html/template"
	"io"
	"os"
	"sort"
	"strings"
	"unicode/utf8"
)

// trackerCategories are those whose "keep" means a tracker loads before
// consent.
var trackerCategories = map[string]bool{"analytics": true, "advertising": true, "social": true, "session_replay": true, "tag_manager": true, "unknown": true}

const (
	colRed    = "\033[31m"
	colYellow = "\033[33m"
	colGreen  = "\033[32m"
	colDim    = "\033[2m"
	colBold   = "\033[1m"
	colReset  = "\033[0m"
)

// loadsBeforeConsent reports whether the page loads what a finding names
// before any choice: it is kept, and not a form, which sends nothing
// until the visitor submits it (a newsletter form's action on its
// mailing service's host).
func loadsBeforeConsent(f *FindingReport) bool {
	return f.Action == "keep" && f.Kind != kindForm
}

// trackerBeforeConsent reports whether a finding is a tracker the page
// loads before any choice: red in the table, marked in the HTML report.
func trackerBeforeConsent(f *FindingReport) bool {
	return trackerCategories[f.Category] && loadsBeforeConsent(f)
}

// consentManagerNote is what the reports say of a consent manager the
// page loads: whether firstparty reads the choice it stores, and what
// the owner of one it does not read can do.
func consentManagerNote(c ConsentManagerReport) string {
	const passOn = "pass it on with firstparty.consent.set, or what is held waits for firstparty's own banner"
	switch {
	case c.Read:
		return "consent manager " + c.Vendor + ": firstparty reads the choice it stores"
	case c.ConsentMap != "":
		return "consent manager " + c.Vendor + ": firstparty reads the choice it stores once consent_map " + c.ConsentMap + " maps the site's own ids to categories (and a TC string in the euconsent-v2 cookie): otherwise " + passOn
	}
	return "consent manager " + c.Vendor + ": firstparty does not read the choice it stores (a TC string in the euconsent-v2 cookie aside): " + passOn
}

func actionColour(f *FindingReport) string {
	switch f.Action {
	case "keep":
		if trackerBeforeConsent(f) {
			return colRed
		}
		return ""
	case "remove":
		return colGreen
	default:
		return colYellow
	}
}

// writeTable writes the readable report: per page, one row per finding.
func writeTable(w io.Writer, r *Report, colour bool) error {
	bw := bufio.NewWriter(w)
	paint := func(c, s string) string {
		if !colour || c == "" {
			return s
		}
		return c + s + colReset
	}
	head := []string{"CATEGORY", "VENDOR", "HOST", "KIND", "COUNT", "ACTION"}
	for _, p := range r.Pages {
		if p.Error != "" {
			fmt.Fprintf(bw, "%s  %s\n\n", paint(colBold, p.Page), paint(colRed, "error: "+p.Error))
			continue
		}
		files := ""
		for _, l := range ownFileLists(p) {
			files += fmt.Sprintf(", %d %s(s)", len(l.Files), l.Noun)
		}
		fmt.Fprintf(bw, "%s  %s\n", paint(colBold, p.Page), paint(colDim, fmt.Sprintf("(%d elements, %d third-party findings%s)", p.Elements, len(p.Findings), files)))
		for _, l := range ownFileLists(p) {
			for _, f := range l.Files {
				if f.Error != "" {
					fmt.Fprintf(bw, "  %s\n", paint(colYellow, l.Noun+" "+f.URL+" not read: "+f.Error))
				}
			}
		}
		if len(p.Findings) == 0 {
			fmt.Fprintf(bw, "  %s\n\n", paint(colDim, "no third party"))
			continue
		}
		rows := [][]string{head}
		for _, f := range p.Findings {
			host := f.Host
			if f.FirstParty {
				host += " (first-party copy)"
			}
			if f.CNAME != "" {
				host += " (CNAME " + f.CNAME + ")"
			}
			rows = append(rows, []string{f.Category, f.Vendor, host, f.Kind, fmt.Sprint(f.Count), f.Action})
		}
		width := make([]int, len(head))
		for _, row := range rows {
			for i, c := range row {
				width[i] = max(width[i], utf8.RuneCountInString(c))
			}
		}
		for k, row := range rows {
			var cells []string
			for i, c := range row {
				// Colour the text, then pad: escapes take no columns.
				text := c
				switch {
				case k == 0:
					text = paint(colDim, c)
				case i == 5:
					text = paint(actionColour(&p.Findings[k-1]), c)
				}
				spaces := strings.Repeat(" ", max(0, width[i]-utf8.RuneCountInString(c)))
				if i == 4 {
					cells = append(cells, spaces+text) // counts right-aligned
				} else {
					cells = append(cells, text+spaces)
				}
			}
			fmt.Fprintf(bw, "  %s\n", strings.TrimRight(strings.Join(cells, "  "), " "))
		}
		for _, c := range p.ConsentManagers {
			if c.Read {
				fmt.Fprintf(bw, "  %s\n", paint(colDim, consentManagerNote(c)))
			} else {
				fmt.Fprintf(bw, "  %s\n", paint(colYellow, consentManagerNote(c)+" (docs/consent.md)"))
			}
		}
		fmt.Fprintln(bw)
	}
	s := r.Summary
	fmt.Fprintf(bw, "%d page(s), %d error(s)", s.Pages, s.Errors)
	if len(s.Categories) > 0 {
		var cats []string
		for _, c := range sortedKeys(s.Categories) {
			cats = append(cats, fmt.Sprintf("%s %d", c, s.Categories[c]))
		}
		fmt.Fprintf(bw, "; elements by category: %s", strings.Join(cats, ", "))
	}
	fmt.Fprintln(bw)
	return bw.Flush()
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// htmlCell is one cell of the vendor × page matrix.
type htmlCell struct {
	Count  int
	Action string // the strongest action on the page for the vendor
}

type htmlBar struct {
	Category string
	Count    int
	Percent  float64
}

type htmlVendor struct {
	Vendor, Category string
	Cells            []htmlCell
}

type htmlData struct {
	Report  *Report
	Bars    []htmlBar
	Vendors []htmlVendor
}

// actionRank orders actions from the least to the most private, so a cell
// shows the weakest treatment its vendor gets on the page.
var actionRank = map[string]int{"keep": 0, "rewrite": 1, "placeholder": 2, "defer": 3, "remove": 4}

func htmlReportData(r *Report) htmlData {
	d := htmlData{Report: r}
	maxCount := 0
	for _, c := range sortedKeys(r.Summary.Categories) {
		maxCount = max(maxCount, r.Summary.Categories[c])
	}
	for _, c := range sortedKeys(r.Summary.Categories) {
		n := r.Summary.Categories[c]
		d.Bars = append(d.Bars, htmlBar{c, n, 100 * float64(n) / float64(max(1, maxCount))})
	}
	type key struct{ vendor, category string }
	idx := map[key]int{}
	for pi, p := range r.Pages {
		for _, f := range p.Findings {
			k := key{f.Vendor, f.Category}
			i, ok := idx[k]
			if !ok {
				i = len(d.Vendors)
				idx[k] = i
				d.Vendors = append(d.Vendors, htmlVendor{Vendor: f.Vendor, Category: f.Category, Cells: make([]htmlCell, len(r.Pages))})
			}
			c := &d.Vendors[i].Cells[pi]
			act := f.Action
			if f.Kind == kindForm {
				act = kindForm // loads nothing before the visitor submits it
			}
			if c.Count == 0 || c.Action == kindForm || act != kindForm && actionRank[act] < actionRank[c.Action] {
				c.Action = act
			}
			c.Count += f.Count
		}
	}
	sort.Slice(d.Vendors, func(i, j int) bool {
		if d.Vendors[i].Category != d.Vendors[j].Category {
			return d.Vendors[i].Category < d.Vendors[j].Category
		}
		return d.Vendors[i].Vendor < d.Vendors[j].Vendor
	})
	return d
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"inc":                func(i int) int { return i + 1 },
	"tracker":            func(c string) bool { return trackerCategories[c] },
	"beforeConsent":      func(f FindingReport) bool { return trackerBeforeConsent(&f) },
	"consentManagerNote": consentManagerNote,
	"ownFileLists":       ownFileLists,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>firstparty scan: {{.Report.Summary.Pages}} page(s)</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse}td,th{padding:.25em .6em;border:1px solid #ddd;text-align:left}
th{background:#f5f5f5}.n{text-align:right}
.bar{display:flex;align-items:center;gap:.6em;margin:.2em 0}.bar span{display:inline-block;width:9em}
.bar div{background:#4a6fa5;height:1em}
.keep.t{background:#f8d0d0}.defer,.placeholder,.rewrite{background:#fbecc0}.remove{background:#cfeccf}
.err{color:#b00}details{margin:.4em 0}summary{cursor:pointer}
.legend span{padding:.1em .5em;margin-right:.5em}
</style></head><body>
<h1>firstparty scan</h1>
<p>{{.Report.Summary.Pages}} page(s), {{.Report.Summary.Errors}} error(s). Each cell counts a vendor's elements on a page, coloured by what the policy does with them:</p>
<p class="legend"><span class="keep t">kept: loads before consent</span><span class="defer">deferred until consent</span><span class="remove">removed</span></p>
<h2>Third-party elements by category</h2>
{{range .Bars}}<div class="bar"><span>{{.Category}}</span><div style="width:{{printf "%.1f" .Percent}}%;max-width:40em"></div>{{.Count}}</div>
{{else}}<p>No third party found.</p>{{end}}
<h2>Vendors × pages</h2>
{{if .Vendors}}<table><tr><th>vendor</th><th>category</th>{{range $i, $p := .Report.Pages}}<th title="{{$p.Page}}"><a href="#p{{inc $i}}">{{inc $i}}</a></th>{{end}}</tr>
{{range .Vendors}}{{$cat := .Category}}<tr><td>{{.Vendor}}</td><td>{{.Category}}</td>{{range .Cells}}<td class="n {{.Action}}{{if tracker $cat}} t{{end}}">{{if .Count}}{{.Count}}{{end}}</td>{{end}}</tr>
{{end}}</table>{{else}}<p>No third party found.</p>{{end}}
<h2>Pages</h2>
{{range $i, $p := .Report.Pages}}<details id="p{{inc $i}}"{{if $p.Error}} open{{end}}><summary>{{inc $i}}. {{$p.Page}}{{if $p.Error}} <span class="err">error: {{$p.Error}}</span>{{else}} ({{len $p.Findings}} findings){{end}}</summary>
{{if $p.Findings}}<table><tr><th>category</th><th>vendor</th><th>host</th><th>kind</th><th>count</th><th>action</th></tr>
{{range $p.Findings}}<tr><td>{{.Category}}</td><td>{{.Vendor}}</td><td>{{.Host}}{{if .FirstParty}} (first-party copy){{end}}{{with .CNAME}} (CNAME {{.}}){{end}}</td><td>{{.Kind}}</td><td class="n">{{.Count}}</td><td class="{{.Action}}{{if beforeConsent .}} t{{end}}">{{.Action}}</td></tr>
{{end}}</table>{{end}}{{range ownFileLists $p}}{{$noun := .Noun}}{{range .Files}}{{if .Error}}<p class="err">{{$noun}} {{.URL}} not read: {{.Error}}</p>{{end}}{{end}}{{end}}{{range $p.ConsentManagers}}<p{{if not .Read}} class="err"{{end}}>{{consentManagerNote .}}</p>{{end}}</details>
{{end}}
</body></html>
`))

// ownFileList is one kind of the site's own files that a page names
// and scan read, as the report names one.
type ownFileList struct {
	Noun  string
	Files []SheetReport
}

// ownFileLists are the page's own files that scan read, by kind, those
// of which it names none left out.
func ownFileLists(p PageReport) []ownFileList {
	var out []ownFileList
	for _, l := range []ownFileList{
		{"own style sheet", p.Sheets}, {svgFiles.noun, p.SVGFiles}, {manifestFiles.noun, p.Manifests}, {ruleSetFiles.noun, p.RuleSets},
	} {
		if len(l.Files) > 0 {
			out = append(out, l)
		}
	}
	return out
}

func writeHTML(w io.Writer, r *Report) error {
	return reportTemplate.Execute(w, htmlReportData(r))
}

func writeHTMLFile(path string, r *Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeHTML(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
