package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/firstparty/firstparty/rewrite"
)

var update = flag.Bool("update", false, "rewrite the scan goldens in testdata/scan/golden")

const scanDir = "../../testdata/scan"

func scan(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := runScan(args, &out, &errb, false)
	return out.String(), errb.String(), err
}

// scanPage runs scan --json with args over one page and returns its
// report.
func scanPage(t *testing.T, args ...string) PageReport {
	t.Helper()
	out, stderr, err := scan(t, append([]string{"--json"}, args...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var r Report
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Pages) != 1 {
		t.Fatalf("%v\n%s", err, out)
	}
	return r.Pages[0]
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(scanDir, "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/firstparty -run Scan -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden (go test ./cmd/firstparty -run Scan -update rewrites it):\n%s", name, got)
	}
}

func TestScanGoldens(t *testing.T) {
	pages := filepath.Join(scanDir, "pages")
	table, _, err := scan(t, pages)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "table.txt", table)
	js, _, err := scan(t, "--json", pages)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json", js)
	var r Report
	if err := json.Unmarshal([]byte(js), &r); err != nil || r.Version != ReportVersion || r.Summary.Pages != 3 {
		t.Fatalf("JSON report: %v %+v", err, r.Summary)
	}
	html := filepath.Join(t.TempDir(), "report.html")
	if _, _, err := scan(t, "--html", html, pages); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(html)
	golden(t, "report.html", string(b))

	// What the fixtures must show, beyond the goldens' say-so (spaces
	// collapsed: column widths are the table's business).
	flat := strings.Join(strings.Fields(table), " ")
	for _, want := range []string{
		"analytics Google Analytics www.googletagmanager.com script 1 defer",
		"analytics Google Analytics (inline) inline snippet 1 defer",
		"tag_manager Google Tag Manager localhost (first-party copy) script 1 keep",
		"social Meta Pixel www.facebook.com pixel/image 1 defer",
		"session_replay Hotjar (inline) inline snippet 1 defer",
		"embeds YouTube www.youtube.com iframe 1 placeholder",
		"advertising Google Marketing Platform ad.doubleclick.net css 1 defer",
		"payments Stripe js.stripe.com script 1 keep",
		"tag_manager Google Tag Manager www.googletagmanager.com resource hint 1 defer",
		"unknown unknown widgets.unlisted-vendor.example script 1 defer",
		"social TikTok Pixel (inline) inline snippet 1 defer",
		"embeds Vimeo player.vimeo.com iframe 1 placeholder",  // lazy-loaded: data-src
		"advertising Criteo static.criteo.net script 1 defer", // delayed by WP Rocket
		"pages/clean.html (8 elements, 0 third-party findings, 1 own style sheet(s)) no third party",
		// The theme's own sheet, css/theme.css, and the part it imports
		// (parts/icons.css): what they name loads with the page, whatever
		// the policy says of its host.
		"pages/shop.html (22 elements, 19 third-party findings, 2 own style sheet(s))",
		"advertising Google Marketing Platform ad.doubleclick.net in own style sheet 1 keep",
		"fonts Google Fonts fonts.googleapis.com in own style sheet 1 keep",
		"fonts Google Fonts fonts.gstatic.com in own style sheet 1 keep",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("table lacks %q", want)
		}
	}
}

func TestScanBadInputs(t *testing.T) {
	out, _, err := scan(t, filepath.Join(scanDir, "bad"), filepath.Join(scanDir, "nonexistent"))
	if err == nil || !strings.Contains(err.Error(), "5 page(s) could not be scanned") {
		t.Errorf("error: %v", err)
	}
	for _, want := range []string{
		"bad/empty.html  error: empty file",
		"bad/image.html  error: not HTML (looks like image/png)",
		"bad/missing.html  error: open ",
		"bad/utf16.html  error: the page is in utf-16le, which is not ASCII-compatible",
		"nonexistent  error: stat ",
		"bad/fine.html  (8 elements, 0 third-party findings, 1 own style sheet(s))",
		// (its /site.css is not beside it: a page's own sheet that cannot
		// be read is said, and is no error of the page's)
		"own style sheet https://localhost/site.css not read: open ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestScanBadFlags checks that --html never writes the report over a page
// being scanned, and that --site takes a host name only (with a scheme or
// a port, every host was third party).
func TestScanBadFlags(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "index.html")
	const body = `<p>shop</p><script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>`
	os.WriteFile(page, []byte(body), 0o644)
	if _, _, err := scan(t, "--html", page, dir); err == nil || !strings.Contains(err.Error(), "is one of the pages scanned") {
		t.Errorf("--html over a scanned page: %v", err)
	}
	if b, _ := os.ReadFile(page); string(b) != body {
		t.Errorf("the page was written over: %.60s", b)
	}
	if _, _, err := scan(t, "--html", filepath.Join(dir, "report.html"), page); err != nil {
		t.Errorf("--html beside the page: %v", err)
	}
	for _, site := range []string{"https://shop.example", "shop.example:8443", "bad host"} {
		if _, _, err := scan(t, "--site", site, page); err == nil || !strings.Contains(err.Error(), "--site") {
			t.Errorf("scan --site %q: %v", site, err)
		}
		if _, _, err := run(t, body, "--site", site); err == nil || !strings.Contains(err.Error(), "--site") {
			t.Errorf("rewrite --site %q: %v", site, err)
		}
	}
}

func TestScanFailOn(t *testing.T) {
	shop := filepath.Join(scanDir, "pages", "shop.html")
	if _, stderr, err := scan(t, "--fail-on", "analytics,social", shop); err != nil || stderr != "" {
		t.Errorf("default policy defers analytics and social: %v %q", err, stderr)
	}
	_, stderr, err := scan(t, "--fail-on", "analytics", "--category", "analytics=keep", shop)
	if err == nil || !strings.Contains(err.Error(), "1 page(s) would load trackers before consent") ||
		!strings.Contains(stderr, "FAIL "+shop+": loads before consent: analytics Google Analytics ((inline) ×1); analytics Google Analytics (www.googletagmanager.com ×1)") {
		t.Errorf("--category analytics=keep: %v\n%s", err, stderr)
	}
	// The policy of a Caddyfile, parsed as the module parses it.
	dir := t.TempDir()
	cf := filepath.Join(dir, "Caddyfile")
	os.WriteFile(cf, []byte("shop.example {\n\tfirstparty {\n\t\tcategory social keep\n\t}\n\treverse_proxy localhost:3000\n}\n"), 0o644)
	_, stderr, err = scan(t, "--fail-on", "social", "--config", cf, shop)
	if err == nil || !strings.Contains(stderr, "social Meta Pixel") {
		t.Errorf("--config: %v\n%s", err, stderr)
	}
	os.WriteFile(cf, []byte("shop.example {\n\tfirstparty {\n\t\tcategory social nuke\n\t}\n}\n"), 0o644)
	if _, _, err := scan(t, "--config", cf, shop); err == nil || !strings.Contains(err.Error(), "Caddyfile:3") {
		t.Errorf("bad Caddyfile: %v", err)
	}
	if _, _, err := scan(t, "--fail-on", "nonsense", shop); err == nil {
		t.Error("unknown --fail-on category accepted")
	}
}

// TestScanMentionFileName: a file name that reads as a host in an inline
// script ('gtm.js' in GTM's dataLayer.push, kept: it loads nothing) is
// decided as the script's decision decides it, by host, not as the URL
// https://gtm.js/, which EasyPrivacy's generic /gtm.js matched: the scan
// reported analytics loaded before consent, and --fail-on failed. A
// second tracker host that a held script names is still reported.
func TestScanMentionFileName(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "list.txt")
	cf := filepath.Join(dir, "Caddyfile")
	page := filepath.Join(dir, "p.html")
	for name, body := range map[string]string{
		list: "/gtm.js\n||tracker.example^\n||pixel.example^\n",
		cf:   "shop.example {\n\tfirstparty {\n\t\tlist " + list + " analytics\n\t}\n}\n",
		page: "<script>(function(w, l) { w[l] = w[l] || []; w[l].push({'gtm.start': new Date().getTime(), event: 'gtm.js'}); })(window, 'dataLayer');</script>\n" +
			"<script>var tag = 'https://tracker.example/t.js', beacon = 'https://pixel.example/b';</script>\n",
	} {
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, f := range scanPage(t, "--config", cf, page).Findings {
		got = append(got, f.Host+" "+f.Category+" "+f.Kind+" "+f.Action)
	}
	want := []string{"tracker.example analytics inline snippet defer", "pixel.example analytics named in inline script defer"}
	if !slices.Equal(got, want) && !slices.Equal(got, []string{want[1], want[0]}) {
		t.Errorf("findings %q, want %q", got, want)
	}
	if _, stderr, err := scan(t, "--fail-on", "analytics", "--config", cf, page); err != nil || stderr != "" {
		t.Errorf("--fail-on analytics: %v\n%s", err, stderr)
	}
}

// TestScanConsentManagers: a page's consent managers are listed, each
// with whether firstparty reads the choice it stores; the table and the
// HTML report tell the owner of one it does not read how to pass its
// choice on.
func TestScanConsentManagers(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "p.html")
	os.WriteFile(page, []byte(`<script src="https://cdn.cookielaw.org/scripttemplates/otSDKStub.js"></script>`+
		`<script src="https://app.usercentrics.eu/browser-ui/latest/loader.js"></script><script src="https://cdn.cookielaw.org/x.js"></script>`+
		`<script src="https://sdk.privacy-center.org/loader.js"></script><script src="https://tarteaucitron.io/load.js?domain=shop.example&uuid=0123"></script>`), 0o644)
	if got, want := scanPage(t, page).ConsentManagers, []ConsentManagerReport{{Vendor: "Didomi", ConsentMap: "didomi"}, {Vendor: "OneTrust", Read: true}, {Vendor: "Usercentrics"}, {Vendor: "tarteaucitron", Read: true}}; !slices.Equal(got, want) {
		t.Errorf("consent managers %v, want %v", got, want)
	}
	html := filepath.Join(dir, "r.html")
	out, _, err := scan(t, "--html", html, page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"consent manager OneTrust: firstparty reads the choice it stores\n", "consent manager Usercentrics: firstparty does not read the choice it stores",
		"consent manager Didomi: firstparty reads the choice it stores once consent_map didomi maps the site's own ids"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if b, _ := os.ReadFile(html); !strings.Contains(string(b), "consent manager Usercentrics: firstparty does not read") || !strings.Contains(string(b), "once consent_map didomi maps") {
		t.Errorf("HTML report lacks the consent manager's line")
	}
	// A page with no consent manager has none listed.
	os.WriteFile(page, []byte(`<script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>`), 0o644)
	if out, _, _ := scan(t, "--json", page); strings.Contains(out, "consent_managers") {
		t.Errorf("consent managers on a page with none:\n%s", out)
	}
}

// TestScanFailOnForm: a form whose action is a tracker's host (a
// newsletter form on its mailing service) sends nothing until the
// visitor submits it: --fail-on does not count it, and neither the table
// nor the HTML report marks it as a tracker loaded before consent. It is
// still reported. A kept pixel of the same vendor on the page is counted,
// once.
func TestScanFailOnForm(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "p.html")
	form := `<form action="https://shop.us1.list-manage.com/subscribe/post?u=a&amp;id=b" method="post"><input name="EMAIL"><button>Subscribe</button></form>`
	os.WriteFile(page, []byte(form), 0o644)
	html := filepath.Join(dir, "r.html")
	out, stderr, err := scan(t, "--fail-on", "advertising", "--html", html, page)
	if err != nil || stderr != "" {
		t.Errorf("a form failed --fail-on: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "shop.us1.list-manage.com  form") {
		t.Errorf("the form is not reported:\n%s", out)
	}
	var colour bytes.Buffer
	if err := writeTable(&colour, &Report{Pages: []PageReport{scanPage(t, page)}}, true); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(colour.String(), colRed) {
		t.Errorf("the form is painted as a tracker loaded before consent:\n%q", colour.String())
	}
	if b, _ := os.ReadFile(html); strings.Contains(string(b), `<td class="keep t">`) || strings.Contains(string(b), `class="n keep t"`) {
		t.Errorf("the HTML report marks the form as a tracker loaded before consent")
	}
	os.WriteFile(page, []byte(form+`<img src="https://shop.us1.list-manage.com/track/open.php?u=a">`), 0o644)
	if _, stderr, err := scan(t, "--fail-on", "advertising", "--category", "advertising=keep", page); err == nil || !strings.Contains(stderr, "advertising MailChimp Tracking (shop.us1.list-manage.com ×1)") {
		t.Errorf("a kept pixel did not fail --fail-on: %v\n%s", err, stderr)
	}
}

func TestScanURL(t *testing.T) {
	shop, _ := os.ReadFile(filepath.Join(scanDir, "pages", "shop.html"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			w.Write(shop)
		case "/data.json":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("{}"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	out, _, err := scan(t, "--json", srv.URL+"/", srv.URL+"/missing", srv.URL+"/data.json")
	if err == nil {
		t.Error("bad URLs not reported in the exit status")
	}
	var r Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	byPage := map[string]PageReport{}
	for _, p := range r.Pages {
		byPage[strings.TrimPrefix(p.Page, srv.URL)] = p
	}
	if p := byPage["/"]; p.Error != "" || len(p.Findings) < 10 {
		t.Errorf("page: %+v", p)
	}
	for _, f := range byPage["/"].Findings {
		if f.FirstParty && f.Host != "127.0.0.1" {
			t.Errorf("first-party copy on the URL's host: %+v", f)
		}
	}
	if !strings.Contains(byPage["/missing"].Error, "404") || !strings.Contains(byPage["/data.json"].Error, "not HTML") {
		t.Errorf("errors: %q, %q", byPage["/missing"].Error, byPage["/data.json"].Error)
	}
	srv.Close()
	if _, _, err := scan(t, srv.URL+"/"); err == nil {
		t.Error("unreachable URL not reported")
	}
}

// TestScanCorpus scans the saved pages and checks that the trackers their
// pages.json hints name are found: a page whose text mentions a tracker
// host yields a finding on that host, or by that host's vendor.
func TestScanCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus")
	b, err := os.ReadFile(filepath.Join(dir, "pages.json"))
	if err != nil {
		t.Skipf("%s absent: the shared corpus is only beside CI and the developers' checkouts", dir)
	}
	var pages []struct {
		File     string         `json:"file"`
		GrepHits map[string]int `json:"grep_hits"`
	}
	if err := json.Unmarshal(b, &pages); err != nil {
		t.Fatal(err)
	}
	out, _, err := scan(t, "--json", filepath.Join(dir, "pages"))
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	byFile := map[string]PageReport{}
	for _, p := range r.Pages {
		byFile[filepath.Base(p.Page)] = p
	}
	// Hints that name a host, and the vendors that may stand for it.
	hosts := map[string][]string{
		"googletagmanager.com":  {"Google Tag Manager", "Google Analytics"},
		"google-analytics.com":  {"Google Analytics"},
		"connect.facebook.net":  {"Meta Pixel"},
		"doubleclick.net":       {"Google Marketing Platform"},
		"googlesyndication.com": {"Google AdSense"},
		"scorecardresearch.com": nil,
		"amazon-adsystem.com":   nil,
		"platform.twitter.com":  {"X (Twitter)"},
		"bat.bing.com":          {"Microsoft Advertising"},
	}
	// Mentions that are not loads, each checked by hand: the host appears
	// only inside data (percent-encoded in a JSON blob, escaped twice inside
	// a string of a string) or as a redirect target in another host's URL.
	notLoaded := map[string]bool{
		"postlight--www.littlethings.com.html doubleclick.net":       true, // a redirect parameter of eb2.3lift.com links
		"postlight--www.littlethings.com.html googlesyndication.com": true, // percent-encoded in a JSON data blob
		"readability--yahoo-1.html googlesyndication.com":            true, // escaped markup inside a JSON string
		"readability--yahoo-2.html googlesyndication.com":            true, // the same
		"readability--yahoo-4.html doubleclick.net":                  true, // a parameter of an ib.adnxs.com pixel URL
	}
	checked := 0
	for _, pg := range pages {
		pr, ok := byFile[pg.File]
		if !ok || pr.Error != "" {
			t.Errorf("%s: not scanned (%q)", pg.File, pr.Error)
			continue
		}
		for hint := range pg.GrepHits {
			vendors, ok := hosts[hint]
			if !ok {
				continue
			}
			checked++
			found := false
			for _, f := range pr.Findings {
				if strings.HasSuffix(f.Host, hint) {
					found = true
				}
				for _, v := range vendors {
					found = found || f.Vendor == v
				}
			}
			if !found && !notLoaded[pg.File+" "+hint] {
				t.Errorf("%s: mentions %s, but the scan found neither the host nor its vendor", pg.File, hint)
			}
		}
	}
	t.Logf("%d pages, %d tracker hints checked", len(pages), checked)
}

func TestScanColourAndProgress(t *testing.T) {
	r := &Report{Pages: []PageReport{{Page: "p.html", Elements: 3, Findings: []FindingReport{
		{Host: "t.example", Vendor: "T", Category: "analytics", Kind: "script", Action: "keep", Count: 1},
		{Host: "f.example", Vendor: "F", Category: "fonts", Kind: "stylesheet", Action: "keep", Count: 1},
		{Host: "d.example", Vendor: "D", Category: "social", Kind: "script", Action: "defer", Count: 2},
	}}}}
	r.Summary = summarize(r.Pages)
	var out bytes.Buffer
	if err := writeTable(&out, r, true); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "analytics  T       t.example  script          1  "+colRed+"keep"+colReset+"\n") ||
		!strings.Contains(s, colYellow+"defer"+colReset) || !strings.Contains(s, "  fonts      F       f.example  stylesheet      1  keep\n") {
		t.Errorf("colours: %q", s)
	}
	out.Reset()
	writeTable(&out, r, false)
	if strings.Contains(out.String(), "\033[") {
		t.Errorf("colour without a terminal: %q", out.String())
	}
	// The progress bar draws on a terminal only, and ends with a cleared line.
	var done atomic.Int64
	var pb bytes.Buffer
	stop := progress(&pb, true, 4, &done)
	done.Store(4)
	stop()
	if !strings.Contains(pb.String(), "pages") || !strings.HasSuffix(pb.String(), "\r\033[K") {
		t.Errorf("progress: %q", pb.String())
	}
	pb.Reset()
	progress(&pb, false, 4, &done)()
	if pb.Len() != 0 {
		t.Errorf("progress off the terminal: %q", pb.String())
	}
}

// TestScanKindNames checks that the report names every element kind the
// rewriter has.
func TestScanKindNames(t *testing.T) {
	n := 0
	for k := rewrite.Kind(0); k.String() != "unknown"; k++ {
		if kindNames[k] == "" {
			t.Errorf("kind %v has no name in the report", k)
		}
		n++
	}
	if n < 14 {
		t.Errorf("only %d kinds", n)
	}
}

// TestScanOwnSheets scans pages whose own style sheets name third parties,
// over HTTP: a theme's sheet and the part it imports, read once for the
// two pages that link it; a sheet missing, one served as HTML, one that
// imports itself (read once), one with what would end a <style> in a
// comment, one of 1.6 MB, and @imports chained deeper than scan follows,
// from a <style>.
func TestScanOwnSheets(t *testing.T) {
	pages := filepath.Join(scanDir, "pages")
	shop, _ := os.ReadFile(filepath.Join(pages, "shop.html"))
	var mu sync.Mutex
	fetched := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetched[r.URL.Path]++
		mu.Unlock()
		css := func(s string) { w.Header().Set("Content-Type", "text/css; charset=utf-8"); w.Write([]byte(s)) }
		switch p := r.URL.Path; {
		case p == "/", p == "/again":
			w.Header().Set("Content-Type", "text/html")
			w.Write(shop)
		case p == "/odd":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<link rel="stylesheet" href="/nope.css"><link rel="stylesheet" href="/html.css"><link rel="stylesheet" href="/loop.css"><link rel="stylesheet" href="/end.css"><link rel="stylesheet" href="/big.css"><style>@import "/deep0.css";</style>`))
		case p == "/many":
			w.Header().Set("Content-Type", "text/html")
			for i := range maxSheets + 8 {
				fmt.Fprintf(w, `<link rel="stylesheet" href="/deep%d.css">`, 100+i)
			}
		case strings.HasPrefix(p, "/css/"):
			b, err := os.ReadFile(filepath.Join(pages, filepath.FromSlash(p)))
			if err != nil {
				http.NotFound(w, r)
				return
			}
			css(string(b))
		case p == "/html.css":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`.a { background: url(https://ad.doubleclick.net/html.gif) }`))
		case p == "/big.css":
			// Larger than the rewriter holds of a token by default (1 MiB).
			css(strings.Repeat(".x { color: red }\n", 90000) + `.y { background: url(https://ad.doubleclick.net/big.gif) }`)
		case p == "/end.css":
			// What would end a <style> is CSS here: a comment.
			css(`/* </style><script src="https://www.googletagmanager.com/gtag/js?id=G-X"></script> */ .e { background: url(https://ad.doubleclick.net/end.gif) }`)
		case p == "/loop.css":
			css(`@import "loop.css"; .a { background: url(https://ad.doubleclick.net/loop.gif) }`)
		case strings.HasPrefix(p, "/deep"):
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(p, "/deep"), ".css"))
			css(fmt.Sprintf(`@import "deep%d.css"; .a%d { background: url(https://www.facebook.com/tr?d=%d) }`, n+1, n, n))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	out, _, err := scan(t, "--json", "--jobs", "1", srv.URL+"/", srv.URL+"/again", srv.URL+"/odd", srv.URL+"/many")
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	own := func(p PageReport) map[string]string {
		m := map[string]string{}
		for _, f := range p.Findings {
			if f.Kind == kindOwnSheet {
				m[f.Host] = fmt.Sprintf("%s %s %d", f.Category, f.Action, f.Count)
			}
		}
		return m
	}
	byPage := map[string]PageReport{}
	for _, p := range r.Pages {
		byPage[strings.TrimPrefix(p.Page, srv.URL)] = p
	}
	for _, p := range []PageReport{byPage["/"], byPage["/again"]} {
		want := map[string]string{"ad.doubleclick.net": "advertising keep 1", "fonts.googleapis.com": "fonts keep 1", "fonts.gstatic.com": "fonts keep 1"}
		if got := own(p); !maps.Equal(got, want) {
			t.Errorf("%s: from its own sheets %v, want %v", p.Page, got, want)
		}
		if len(p.Sheets) != 2 || p.Sheets[0].URL != srv.URL+"/css/theme.css" || p.Sheets[1].URL != srv.URL+"/css/parts/icons.css" || p.Sheets[0].Error+p.Sheets[1].Error != "" {
			t.Errorf("%s: own sheets %+v", p.Page, p.Sheets)
		}
	}
	odd := byPage["/odd"]
	// loop.css once, end.css, and deep0–3: @imports are followed four
	// deep.
	if got, want := own(odd), map[string]string{"ad.doubleclick.net": "advertising keep 3", "www.facebook.com": "social keep 4"}; !maps.Equal(got, want) {
		t.Errorf("%s: from its own sheets %v, want %v", odd.Page, got, want)
	}
	errs := map[string]string{}
	for _, s := range odd.Sheets {
		errs[strings.TrimPrefix(s.URL, srv.URL)] = s.Error
	}
	if !strings.Contains(errs["/nope.css"], "404") || !strings.Contains(errs["/html.css"], "not CSS") || errs["/loop.css"] != "" || len(errs) != 9 || len(odd.FailClosed) > 0 {
		t.Errorf("%s: own sheets %q", odd.Page, errs)
	}
	// At most maxSheets for a page, and the next one said.
	if many := byPage["/many"]; len(many.Sheets) != maxSheets+1 || !strings.Contains(many.Sheets[maxSheets].Error, "more than 32") || own(many)["www.facebook.com"] != "social keep 32" {
		t.Errorf("%s: %d sheets, the last %+v; from them %v", many.Page, len(many.Sheets), many.Sheets[len(many.Sheets)-1], own(many))
	}
	for p, want := range map[string]int{"/css/theme.css": 1, "/css/parts/icons.css": 1, "/loop.css": 1, "/deep3.css": 1, "/deep4.css": 0} {
		if fetched[p] != want {
			t.Errorf("%s fetched %d times, want %d", p, fetched[p], want)
		}
	}
}

// TestScanOwnSheetsRewritten: under style_sheets rewrite (a --config
// Caddyfile's, or --style-sheets), what the site's own sheets name that
// the policy does not keep is neutralised in the file by the module, so
// scan reports it removed, and --fail-on does not count it; what the
// policy keeps there still loads with the page. Under style_sheets
// consent, what the policy defers is reported deferred.
func TestScanOwnSheetsRewritten(t *testing.T) {
	shop := filepath.Join(scanDir, "pages", "shop.html")
	own := func(args ...string) (map[string]string, error) {
		out, _, err := scan(t, append([]string{"--json"}, append(args, shop)...)...)
		var r Report
		if jerr := json.Unmarshal([]byte(out), &r); jerr != nil {
			t.Fatal(jerr)
		}
		m := map[string]string{}
		for _, f := range r.Pages[0].Findings {
			if f.Kind == kindOwnSheet {
				m[f.Host] = f.Action
			}
		}
		return m, err
	}
	if got, _ := own(); got["ad.doubleclick.net"] != "keep" || got["fonts.googleapis.com"] != "keep" {
		t.Errorf("pass (the default): %v", got)
	}
	if got, _ := own("--style-sheets", "rewrite"); got["ad.doubleclick.net"] != "remove" || got["fonts.googleapis.com"] != "keep" || got["fonts.gstatic.com"] != "keep" {
		t.Errorf("--style-sheets rewrite: %v", got)
	}
	cf := filepath.Join(t.TempDir(), "Caddyfile")
	os.WriteFile(cf, []byte("shop.example {\n\tfirstparty {\n\t\tcategory fonts remove\n\t\tstyle_sheets rewrite\n\t}\n}\n"), 0o644)
	got, err := own("--config", cf, "--fail-on", "advertising,fonts")
	if want := map[string]string{"ad.doubleclick.net": "remove", "fonts.googleapis.com": "remove", "fonts.gstatic.com": "remove"}; !maps.Equal(got, want) || err != nil {
		t.Errorf("--config with style_sheets rewrite: %v (%v), want %v", got, err, want)
	}
	// --style-sheets pass overrides the Caddyfile's, and --fail-on counts
	// the advertising the theme's sheet loads.
	if got, err := own("--config", cf, "--style-sheets", "pass", "--fail-on", "advertising"); got["ad.doubleclick.net"] != "keep" || err == nil {
		t.Errorf("--style-sheets pass over the Caddyfile: %v (%v)", got, err)
	}
	// consent: what the policy defers loads from the sheets of a visitor
	// who allows it, and is reported deferred; what it removes, removed.
	if got, _ := own("--style-sheets", "consent"); got["ad.doubleclick.net"] != "defer" || got["fonts.googleapis.com"] != "keep" {
		t.Errorf("--style-sheets consent: %v", got)
	}
	os.WriteFile(cf, []byte("shop.example {\n\tfirstparty {\n\t\tcategory fonts remove\n\t\tstyle_sheets consent\n\t}\n}\n"), 0o644)
	got, err = own("--config", cf, "--fail-on", "advertising,fonts")
	if want := map[string]string{"ad.doubleclick.net": "defer", "fonts.googleapis.com": "remove", "fonts.gstatic.com": "remove"}; !maps.Equal(got, want) || err != nil {
		t.Errorf("--config with style_sheets consent: %v (%v), want %v", got, err, want)
	}
	if _, _, err := scan(t, "--style-sheets", "yes", shop); err == nil || !strings.Contains(err.Error(), "--style-sheets") {
		t.Errorf("--style-sheets yes: %v", err)
	}
}

// TestScanOwnSheetFiles scans saved pages in folders: a page's own sheet
// is looked for under its folder by its URL's path, then under each folder
// above it up to the one scanned, and not above that.
func TestScanOwnSheetFiles(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site")
	write := func(name, body string) {
		p := filepath.Join(site, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("theme.css", `@import url(https://fonts.googleapis.com/css2?family=Lora);`)
	write("blog/post.html", `<link rel="stylesheet" href="/theme.css"><link rel="stylesheet" href="blog.css"><p>post`)
	write("blog/blog.css", `.b { background: url(https://ad.doubleclick.net/b.gif) }`)
	write("blog/2026/old.html", `<link rel="stylesheet" href="../theme.css"><link rel="stylesheet" href="/outside.css"><p>old`)
	// Above the folder scanned: not looked for.
	if err := os.WriteFile(filepath.Join(dir, "outside.css"), []byte(`.o { background: url(https://www.facebook.com/tr) }`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := scan(t, "--json", site)
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range r.Pages {
		var hosts, unread []string
		for _, f := range p.Findings {
			if f.Kind == kindOwnSheet {
				hosts = append(hosts, f.Host)
			}
		}
		for _, s := range p.Sheets {
			if s.Error != "" {
				unread = append(unread, s.URL)
			}
		}
		got[filepath.Base(p.Page)] = strings.Join(hosts, " ") + " | " + strings.Join(unread, " ")
	}
	want := map[string]string{
		"post.html": "ad.doubleclick.net fonts.googleapis.com | ",
		"old.html":  "fonts.googleapis.com | https://localhost/outside.css",
	}
	if !maps.Equal(got, want) {
		t.Errorf("own sheets by page (their third parties | not read): %q, want %q", got, want)
	}
}

// TestScanOwnSheetsAsServed: scan reads the site's own sheets as the
// module does. A sheet is read in the encoding CSS gives it (its
// @charset, or its Content-Type's charset): in Shift_JIS, "\x83\x5c" is
// one character, where read as UTF-8 its second byte escapes the string's
// quote and hides the URL after it on its line. A sheet in UTF-16 is said not read.
// Under style_sheets rewrite, a run longer than max_token_size cuts the
// sheet, as the module does: counted as oversize_style, and what follows
// is not reported, since it does not load.
func TestScanOwnSheetsAsServed(t *testing.T) {
	long := `.l { background: url(data:image/png;base64,` + strings.Repeat("A", 1200<<10) + `) }` +
		"\n.m { background: url(https://ad.doubleclick.net/long.gif) }\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		css := func(ct, s string) { w.Header().Set("Content-Type", ct); w.Write([]byte(s)) }
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			for _, s := range []string{"sjis", "sjis-header", "utf16", "long"} {
				fmt.Fprintf(w, `<link rel="stylesheet" href="/%s.css">`, s)
			}
		case "/sjis.css":
			css("text/css", "@charset \"Shift_JIS\";\n.a { content: \"\x83\x5c\" } .b { background: url(https://www.facebook.com/tr?id=1) }\n")
		case "/sjis-header.css":
			css("text/css; charset=shift_jis", ".a { content: \"\x83\x5c\" } .b { background: url(https://bat.bing.com/action/0) }\n")
		case "/utf16.css":
			css("text/css", "\xfe\xff\x00.\x00a\x00{\x00}")
		case "/long.css":
			css("text/css", long)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	page := func(args ...string) PageReport {
		out, _, err := scan(t, append([]string{"--json"}, append(args, srv.URL+"/")...)...)
		var r Report
		if jerr := json.Unmarshal([]byte(out), &r); jerr != nil || len(r.Pages) != 1 {
			t.Fatalf("%v %v: %s", err, jerr, out)
		}
		return r.Pages[0]
	}
	own := func(p PageReport) map[string]string {
		m := map[string]string{}
		for _, f := range p.Findings {
			if f.Kind == kindOwnSheet {
				m[f.Host] = f.Action
			}
		}
		return m
	}
	p := page()
	if got, want := own(p), map[string]string{"www.facebook.com": "keep", "bat.bing.com": "keep", "ad.doubleclick.net": "keep"}; !maps.Equal(got, want) || len(p.FailClosed) > 0 {
		t.Errorf("pass: %v (fail-closed %v), want %v", got, p.FailClosed, want)
	}
	errs := map[string]string{}
	for _, s := range p.Sheets {
		errs[strings.TrimPrefix(s.URL, srv.URL)] = s.Error
	}
	if !strings.Contains(errs["/utf16.css"], "utf-16") || errs["/sjis.css"]+errs["/sjis-header.css"]+errs["/long.css"] != "" {
		t.Errorf("pass: sheets %q", errs)
	}
	p = page("--style-sheets", "rewrite")
	if got, want := own(p), map[string]string{"www.facebook.com": "remove", "bat.bing.com": "remove"}; !maps.Equal(got, want) || p.FailClosed["oversize_style"] != 1 {
		t.Errorf("rewrite: %v (fail-closed %v), want %v and a cut", got, p.FailClosed, want)
	}
	cf := filepath.Join(t.TempDir(), "Caddyfile")
	os.WriteFile(cf, []byte("shop.example {\n\tfirstparty {\n\t\tmax_token_size 4MiB\n\t\tstyle_sheets rewrite\n\t}\n}\n"), 0o644)
	if p = page("--config", cf); own(p)["ad.doubleclick.net"] != "remove" || len(p.FailClosed) > 0 {
		t.Errorf("rewrite, max_token_size 4MiB: %v (fail-closed %v)", own(p), p.FailClosed)
	}
}

// TestScanOwnSVGFiles: scan reads the site's own SVG files that a page
// draws with <svg><use href>, fetched or saved beside the page, as the
// module filters them: what the policy removes or defers there is
// dropped from the file (reported removed, which --fail-on does not
// count), and what it keeps loads. A file that is not well-formed is
// sent empty (fail_closed unread_svg); one served as another type, or
// missing, is said not read. An <img> of an SVG file loads nothing of
// its own, and is not read.
func TestScanOwnSVGFiles(t *testing.T) {
	const ns = `xmlns="http://www.w3.org/2000/svg"`
	files := map[string]string{
		"/icons.svg":  `<svg ` + ns + `><symbol id="cart"><image href="https://www.facebook.com/tr?id=1"/><image href="https://fonts.gstatic.com/i.png"/></symbol></svg>`,
		"/broken.svg": `<svg ` + ns + `><symbol id="a"><image href="https://ad.doubleclick.net/p.gif"/></symbol>`,
		"/logo.svg":   `<svg ` + ns + `><image href="https://ad.doubleclick.net/logo.gif"/></svg>`,
		"/typed.svg":  `<svg ` + ns + `/>`,
	}
	page := `<svg><use href="/icons.svg#cart"/></svg><svg><use xlink:href="icons.svg#cart"/><use href="/broken.svg#a"/><use href="/typed.svg#a"/><use href="/nope.svg#a"/></svg><img src="/logo.svg">`
	var mu sync.Mutex
	fetched := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetched[r.URL.Path]++
		mu.Unlock()
		switch body, ok := files[r.URL.Path]; {
		case r.URL.Path == "/":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, page)
		case r.URL.Path == "/typed.svg":
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, body)
		case ok:
			w.Header().Set("Content-Type", "image/svg+xml")
			io.WriteString(w, body)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	for name, body := range files {
		if name != "/typed.svg" {
			os.WriteFile(filepath.Join(dir, name[1:]), []byte(body), 0o644)
		}
	}
	os.WriteFile(filepath.Join(dir, "page.html"), []byte(page), 0o644)
	for _, target := range []string{srv.URL + "/", dir} {
		out, _, err := scan(t, "--json", "--fail-on", "social,advertising", target)
		if err != nil {
			t.Errorf("%s: %v (what the files name does not load)", target, err)
		}
		var r Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		p := r.Pages[0]
		got := map[string]string{}
		for _, f := range p.Findings {
			if f.Kind == kindOwnSVG {
				got[f.Host] = fmt.Sprintf("%s %s %d", f.Category, f.Action, f.Count)
			}
		}
		if want := map[string]string{"www.facebook.com": "social remove 1", "fonts.gstatic.com": "fonts keep 1"}; !maps.Equal(got, want) {
			t.Errorf("%s: from its own SVG files %v, want %v", target, got, want)
		}
		errs := map[string]string{}
		for _, s := range p.SVGFiles {
			errs[s.URL[strings.LastIndex(s.URL, "/"):]] = s.Error
		}
		if len(errs) != 4 || errs["/icons.svg"] != "" || errs["/broken.svg"] != "" || errs["/nope.svg"] == "" || p.FailClosed[rewrite.FailUnreadSVG] != 1 {
			t.Errorf("%s: own SVG files %q, fail_closed %v", target, errs, p.FailClosed)
		}
		if target == dir && (!strings.Contains(errs["/typed.svg"], "no such file")) || target != dir && !strings.Contains(errs["/typed.svg"], "not SVG") {
			t.Errorf("%s: typed.svg %q", target, errs["/typed.svg"])
		}
	}
	if fetched["/icons.svg"] != 1 || fetched["/logo.svg"] != 0 {
		t.Errorf("fetched %v: want icons.svg once, logo.svg never", fetched)
	}
	out, _, _ := scan(t, srv.URL+"/")
	if !strings.Contains(out, "4 own SVG file(s)") || !strings.Contains(out, "own SVG file "+srv.URL+"/nope.svg not read: ") {
		t.Errorf("the table does not say the SVG files: %s", out)
	}
}

// TestScanHeadersAndOwnFiles: what a fetched page's response headers
// name (Link, Speculation-Rules, the reporting headers), the manifest it
// links and the rule sets its header names on its own host are reported
// as the module serves them; a saved page has no headers, and its
// manifest is looked for as a sheet is.
func TestScanHeadersAndOwnFiles(t *testing.T) {
	const manifest = `{"name":"Shop","icons":[{"src":"https://www.facebook.com/icon.png"},{"src":"https://fonts.gstatic.com/i.png"}]}`
	const rules = `{"prefetch":[{"source":"list","urls":["https://ad.doubleclick.net/p","/cart"]}]}`
	page := `<!doctype html><link rel="manifest" href="/app.webmanifest"><p>shop</p>`
	var mu sync.Mutex
	fetched := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetched[r.URL.Path]++
		mu.Unlock()
		h := w.Header()
		switch r.URL.Path {
		case "/":
			h.Set("Link", `<https://www.googletagmanager.com/gtm.js?id=GTM-X>; rel=preload; as=script`)
			w.WriteHeader(http.StatusEarlyHints)
			h.Del("Link")
			h.Set("Content-Type", "text/html")
			h.Add("Link", `<https://fonts.gstatic.com>; rel=preconnect, <https://www.google-analytics.com/analytics.js>; rel=preload; as=script`)
			h.Add("Link", `</theme.css>; rel=preload; as=style, no-angle-brackets; rel=preconnect`)
			// (The module reads a rule set on the page's host alone: one on
			// the site's CDN is dropped, FailUnreadRuleSet, and not read.)
			h.Set("Speculation-Rules", `"/rules.json", "/typed-rules.json", "https://static.cdn-vendor.example/rules.json", "https://cdn.shop-assets.example/rules.json"`)
			h.Set("Reporting-Endpoints", `csp="https://o1.ingest.sentry.io/api/1/security/"`)
			h.Set("Content-Security-Policy", `default-src 'self'; report-uri https://o1.ingest.sentry.io/api/1/security/`)
			io.WriteString(w, page)
		case "/app.webmanifest":
			io.WriteString(w, manifest) // (no type: Chromium reads it still)
		case "/rules.json":
			h.Set("Content-Type", "application/speculationrules+json")
			io.WriteString(w, rules)
		case "/typed-rules.json":
			h.Set("Content-Type", "application/json")
			io.WriteString(w, rules)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.webmanifest"), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(dir, "page.html"), []byte(page), 0o644)
	cf := filepath.Join(t.TempDir(), "Caddyfile")
	os.WriteFile(cf, []byte("shop.example {\n\tfirstparty {\n\t\tfirst_party cdn.shop-assets.example\n\t}\n}\n"), 0o644)
	for _, target := range []string{srv.URL + "/", dir} {
		out, _, err := scan(t, "--json", "--config", cf, "--fail-on", "social,advertising,analytics", target)
		if err != nil {
			t.Errorf("%s: %v (what the headers and files name does not load)", target, err)
		}
		var r Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		p := r.Pages[0]
		got := map[string]string{}
		for _, f := range p.Findings {
			got[f.Kind+" "+f.Host] = fmt.Sprintf("%s %s %d", f.Category, f.Action, f.Count)
		}
		want := map[string]string{
			kindOwnManifest + " www.facebook.com":  "social remove 1",
			kindOwnManifest + " fonts.gstatic.com": "fonts keep 1",
		}
		if target != dir {
			maps.Copy(want, map[string]string{
				"in Link header fonts.gstatic.com":                      "fonts keep 1",
				"in Early Hints Link header www.googletagmanager.com":   "tag_manager remove 1",
				"in Link header www.google-analytics.com":               "analytics remove 1",
				"in Speculation-Rules header static.cdn-vendor.example": "unknown remove 1",
				"in Reporting-Endpoints header o1.ingest.sentry.io":     got["in Reporting-Endpoints header o1.ingest.sentry.io"],
				"in Content-Security-Policy header o1.ingest.sentry.io": got["in Content-Security-Policy header o1.ingest.sentry.io"],
				kindOwnRuleSet + " ad.doubleclick.net":                  "advertising remove 1",
			})
			for _, k := range []string{"in Reporting-Endpoints header o1.ingest.sentry.io", "in Content-Security-Policy header o1.ingest.sentry.io"} {
				if !strings.HasSuffix(got[k], " remove 1") {
					t.Errorf("%s: %s: %q, want removed once", target, k, got[k])
				}
			}
			if p.FailClosed[rewrite.FailUnparsableLink] != 1 || p.FailClosed[rewrite.FailUnreadRuleSet] != 1 {
				t.Errorf("%s: fail_closed %v, want the Link value without <…> and the CDN's rule set counted", target, p.FailClosed)
			}
			errs := map[string]string{}
			for _, s := range p.RuleSets {
				errs[s.URL[strings.LastIndex(s.URL, "/"):]] = s.Error
			}
			if len(errs) != 2 || errs["/rules.json"] != "" || !strings.Contains(errs["/typed-rules.json"], "not a rule set") {
				t.Errorf("%s: rule sets %q", target, errs)
			}
		} else if len(p.RuleSets) != 0 || len(p.FailClosed) != 0 {
			t.Errorf("%s: rule sets %v, fail_closed %v: a saved page has no headers", target, p.RuleSets, p.FailClosed)
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s: findings %v, want %v", target, got, want)
		}
		if len(p.Manifests) != 1 || p.Manifests[0].Error != "" {
			t.Errorf("%s: manifests %v", target, p.Manifests)
		}
	}
	if fetched["/rules.json"] != 1 || fetched["/app.webmanifest"] != 1 || fetched["/theme.css"] != 0 {
		t.Errorf("fetched %v: want the rule set and manifest once each, the preloaded sheet never", fetched)
	}
	out, _, _ := scan(t, srv.URL+"/")
	if !strings.Contains(out, "1 own manifest(s), 2 own rule set(s)") || !strings.Contains(out, "own rule set "+srv.URL+"/typed-rules.json not read: not a rule set") {
		t.Errorf("the table does not say the own files: %s", out)
	}
}

// testCNAMEs are the CNAME chains the tests' resolver gives
// (stubChain): no test of the package asks the network's.
var testCNAMEs = map[string][]string{
	"metrics.shop.example":  {"shop.eulerian.net"},
	"smetrics.shop.example": {"shop.example.sc.omtrdc.net"},
	"cdn.shop.example":      {"d111abcdef8.cloudfront.net"},
	"img.shop.example":      nil, // no CNAME
	// Through a name of the site's own, then two trackers' (the first is
	// reported), then a CDN's.
	"t.shop.example": {"edge.shop.example", "shop.eulerian.net", "shop.example.sc.omtrdc.net", "d2abcdef9.cloudfront.net"},
}

var cnameLookups atomic.Int64

func stubChain(_ context.Context, host string) ([]string, error) {
	cnameLookups.Add(1)
	if chain, ok := testCNAMEs[host]; ok {
		return chain, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func init() { lookupChain = stubChain }

// TestScanCNAME: a host of the site's own that pages load from and whose
// CNAME chain leads through a tracker's name (the last, or one before a
// CDN's) is reported as that tracker (the chain's first), kept, with that
// name, once, and counted by --fail-on; one that is a CDN's, one with no
// CNAME, one that does not resolve and one the configuration declares
// third party are not. Each host is looked up once a scan, and not at
// all for saved pages unless --cname on.
func TestScanCNAME(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "index.html")
	os.WriteFile(page, []byte(`<!doctype html><p>shop</p>
<script src="https://metrics.shop.example/e.js"></script><script src="https://Metrics.Shop.Example/f.js"></script>
<img src="https://METRICS.shop.example/p.gif"><img src="https://smetrics.shop.example/b/ss/x">
<script src="https://cdn.shop.example/app.js"></script><img src="https://img.shop.example/a.png">
<img src="https://gone.shop.example/a.png"><form action="https://forms.shop.example/f"></form>
<script src="https://t.shop.example/t.js"></script>`), 0o644)
	cloaked := func(pr PageReport) map[string]FindingReport {
		m := map[string]FindingReport{}
		for _, f := range pr.Findings {
			if f.CNAME == "" {
				continue
			}
			if _, twice := m[f.Host+" "+f.Kind]; twice {
				t.Errorf("%s %s reported twice", f.Host, f.Kind)
			}
			m[f.Host+" "+f.Kind] = f
		}
		return m
	}
	cnameLookups.Store(0)
	if got := cloaked(scanPage(t, "--site", "shop.example", page)); len(got) != 0 || cnameLookups.Load() != 0 {
		t.Errorf("a saved page under --cname auto: %v, %d lookups", got, cnameLookups.Load())
	}
	out, stderr, err := scan(t, "--json", "--site", "shop.example", "--cname", "on", page, page)
	var r Report
	if jerr := json.Unmarshal([]byte(out), &r); err != nil || jerr != nil || len(r.Pages) != 2 {
		t.Fatalf("%v %v\n%s", err, jerr, stderr)
	}
	got := cloaked(r.Pages[0])
	if again := cloaked(r.Pages[1]); !maps.Equal(again, got) {
		t.Errorf("the page again: %v, where first %v", again, got)
	}
	want := map[string]FindingReport{
		"metrics.shop.example script":       {Host: "metrics.shop.example", CNAME: "shop.eulerian.net", Vendor: "Eulerian", Category: "analytics", Kind: "script", Action: "keep", Count: 2},
		"metrics.shop.example pixel/image":  {Host: "metrics.shop.example", CNAME: "shop.eulerian.net", Vendor: "Eulerian", Category: "analytics", Kind: "pixel/image", Action: "keep", Count: 1},
		"smetrics.shop.example pixel/image": {Host: "smetrics.shop.example", CNAME: "shop.example.sc.omtrdc.net", Vendor: "Adobe Experience Cloud", Category: "analytics", Kind: "pixel/image", Action: "keep", Count: 1},
		"t.shop.example script":             {Host: "t.shop.example", CNAME: "shop.eulerian.net", Vendor: "Eulerian", Category: "analytics", Kind: "script", Action: "keep", Count: 1},
	}
	if !maps.Equal(got, want) {
		t.Errorf("cloaked hosts:\n got %v\nwant %v", got, want)
	}
	// (The page twice: each host looked up once. The form's host is not
	// looked up: a form loads nothing.)
	if n := cnameLookups.Load(); n != 6 {
		t.Errorf("%d lookups, want 6", n)
	}
	htmlOut := filepath.Join(dir, "report.html")
	out, stderr, err = scan(t, "--site", "shop.example", "--cname", "on", "--fail-on", "analytics", "--html", htmlOut, page)
	if !errors.Is(err, errFailOn) || !strings.Contains(stderr, "analytics Eulerian (metrics.shop.example") || !strings.Contains(out, "metrics.shop.example (CNAME shop.eulerian.net)") {
		t.Errorf("--fail-on analytics: %v\n%s\n%s", err, stderr, out)
	}
	if b, _ := os.ReadFile(htmlOut); !strings.Contains(string(b), "metrics.shop.example (CNAME shop.eulerian.net)") {
		t.Errorf("the HTML report does not name the CNAME")
	}
	// Declared third party, the host is decided as one (an unknown
	// host, deferred), and not looked up.
	cfg := filepath.Join(dir, "Caddyfile")
	os.WriteFile(cfg, []byte("shop.example {\n\tfirstparty {\n\t\tthird_party metrics.shop.example smetrics.shop.example t.shop.example\n\t}\n}\n"), 0o644)
	pr := scanPage(t, "--site", "shop.example", "--cname", "on", "--config", cfg, page)
	if got := cloaked(pr); len(got) != 0 {
		t.Errorf("declared third party: %v", got)
	}
	found := false
	for _, f := range pr.Findings {
		found = found || f.Host == "metrics.shop.example" && f.Action != "keep"
	}
	if !found {
		t.Errorf("declared third party, metrics.shop.example not reported held: %+v", pr.Findings)
	}
	if _, _, err := scan(t, "--cname", "maybe", page); err == nil || !strings.Contains(err.Error(), "--cname") {
		t.Errorf("--cname maybe: %v", err)
	}
}

// TestCNAMENotLookedUp: addresses, localhost's names and names of one
// label are not looked up.
func TestCNAMENotLookedUp(t *testing.T) {
	var c cnameCache
	cnameLookups.Store(0)
	for _, h := range []string{"", "127.0.0.1", "::1", "::ffff:10.0.0.1", "localhost", "shop.localhost", "intranet"} {
		if got := c.chain(h); got != nil {
			t.Errorf("%q: %q", h, got)
		}
	}
	if n := cnameLookups.Load(); n != 0 {
		t.Errorf("%d lookups", n)
	}
	if got := c.chain("Metrics.Shop.Example."); !slices.Equal(got, []string{"shop.eulerian.net"}) || cnameLookups.Load() != 1 {
		t.Errorf("metrics.shop.example: %q, %d lookups", got, cnameLookups.Load())
	}
}
