package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := runRewrite(args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

const gtagPage = `<html><head><script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script></head>` +
	`<body><img src="https://pixel.example-ads.test/p.gif"><img src="/logo.png"><p>hi</p></body></html>`

func TestRewriteStdinDefaultPolicy(t *testing.T) {
	out, _, err := run(t, gtagPage)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`type="text/plain"`, `data-fp-src="https://www.googletagmanager.com/gtag/js?id=G-1"`, `<img src="/logo.png">`, `<script src="/_fp/consent.js"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}

// TestRewriteStats checks that --stats prints each third party found, with
// what was done to it.
func TestRewriteStats(t *testing.T) {
	_, errOut, err := run(t, gtagPage, "--stats")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Elements int
		Actions  map[string]int
		Findings []struct {
			Host, Vendor, Category, Kind, Action string
			Count                                int
		}
	}
	if err := json.Unmarshal([]byte(errOut), &st); err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	hosts := map[string]string{}
	for _, f := range st.Findings {
		hosts[f.Host] = f.Action + " " + f.Kind
	}
	want := map[string]string{"www.googletagmanager.com": "defer script", "pixel.example-ads.test": "defer pixel/image"}
	if len(hosts) != len(want) || hosts["www.googletagmanager.com"] != want["www.googletagmanager.com"] || hosts["pixel.example-ads.test"] != want["pixel.example-ads.test"] {
		t.Errorf("findings %v, want %v (stats %s)", hosts, want, errOut)
	}
}

// TestRewriteStatsFields pins the --stats JSON to the scan report's field
// names (json.Unmarshal into a struct would accept any case), its findings
// to the report's order, and fail_closed to being left out when empty.
func TestRewriteStatsFields(t *testing.T) {
	page := `<img src="https://b.example-ads.test/p.gif"><script src="https://a.example-ads.test/x.js"></script><script>fbq('init','1');fbq('track','PageView')</script>`
	_, errOut, err := run(t, page, "--stats")
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]json.RawMessage
	if err := json.Unmarshal([]byte(errOut), &st); err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	keys := slices.Sorted(maps.Keys(st))
	if want := []string{"actions", "elements", "file", "findings"}; !slices.Equal(keys, want) {
		t.Errorf("top-level keys %q, want %q", keys, want)
	}
	var fs []map[string]any
	if err := json.Unmarshal(st["findings"], &fs); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		if ks := slices.Sorted(maps.Keys(f)); !slices.Equal(ks, []string{"action", "category", "count", "host", "kind", "vendor"}) {
			t.Errorf("finding keys %q", ks)
		}
		got = append(got, fmt.Sprint(f["category"], " ", f["vendor"], " ", f["host"], " ", f["kind"]))
	}
	want := []string{"social Meta Pixel (inline) inline snippet", "unknown unknown a.example-ads.test script", "unknown unknown b.example-ads.test pixel/image"}
	if !slices.Equal(got, want) {
		t.Errorf("findings\n%q\nwant\n%q", got, want)
	}
}

func TestRewriteBlocklistAction(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "hosts.txt")
	if err := os.WriteFile(list, []byte("# my list\n0.0.0.0 example-ads.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, `<img src="https://pixel.example-ads.test/p.gif"><img src="https://cdn.other.test/x.png">`,
		"--no-builtin", "--blocklist", list, "--action", "remove")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "example-ads") {
		t.Errorf("listed host not removed: %s", out)
	}
	// An unlisted third party gets the policy's action (defer), not --action.
	if !strings.Contains(out, `data-fp-src="https://cdn.other.test/x.png"`) {
		t.Errorf("unlisted host not deferred: %s", out)
	}
	out, _, err = run(t, `<img src="https://cdn.other.test/x.png">`, "--no-builtin", "--blocklist", list, "--unknown", "keep")
	if err != nil || out != `<img src="https://cdn.other.test/x.png">` {
		t.Errorf("--unknown keep: %q, %v", out, err)
	}
}

// TestRewriteFilesLayout checks where rewritten files go: a directory's
// pages keep their place under --out (two index.html are two files), a
// second input for the same output is refused rather than written over
// the first, and an output that would be read as input is refused before
// anything is written. That last case grew a 2 KB page without end
// (66 GB, until the disk was full) when --out was the page's own
// directory, so it is checked on checkOutside and writeOnce directly, not
// by running it.
func TestRewriteFilesLayout(t *testing.T) {
	in, outDir := t.TempDir(), filepath.Join(t.TempDir(), "out")
	for _, f := range []string{"a/index.html", "b/index.HTM", "top.html"} {
		os.MkdirAll(filepath.Join(in, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(in, f), []byte(gtagPage), 0o644)
	}
	if _, stderr, err := run(t, "", in, "--out", outDir); err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	for _, f := range []string{"a/index.html", "b/index.HTM", "top.html"} {
		if b, err := os.ReadFile(filepath.Join(outDir, f)); err != nil || !strings.Contains(string(b), "data-fp-src=") {
			t.Errorf("%s not rewritten in place under --out: %v", f, err)
		}
	}

	// The same name from two inputs: the first is kept, the second fails.
	flat := filepath.Join(t.TempDir(), "flat")
	os.WriteFile(filepath.Join(in, "b", "index.html"), []byte("<p>b</p>"), 0o644)
	_, stderr, err := run(t, "", filepath.Join(in, "a", "index.html"), filepath.Join(in, "b", "index.html"), "--out", flat)
	if err == nil || !strings.Contains(stderr, "already holds the rewrite of") {
		t.Errorf("a second input for the same output: %v, %s", err, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(flat, "index.html")); !strings.Contains(string(b), "data-fp-src=") {
		t.Errorf("the first input's rewrite was written over: %s", b)
	}

	// Outputs that would be read as input.
	for _, out := range []string{in, filepath.Join(in, "a"), filepath.Join(in, "new")} {
		if err := checkOutside(out, []string{filepath.Join(in, "top.html"), in}); err == nil {
			t.Errorf("--out %s inside the input directory: no error", out)
		}
	}
	if err := checkOutside(outDir, []string{in}); err != nil {
		t.Errorf("--out outside the input: %v", err)
	}
	page := filepath.Join(in, "top.html")
	if err := writeOnce(map[string]string{}, page, page); err == nil || !strings.Contains(err.Error(), "is the input itself") {
		t.Errorf("an output that is its input: %v", err)
	}
}

func TestRewriteFilesOutDir(t *testing.T) {
	in, outDir := t.TempDir(), filepath.Join(t.TempDir(), "out")
	os.WriteFile(filepath.Join(in, "a.html"), []byte(gtagPage), 0o644)
	os.WriteFile(filepath.Join(in, "b.html"), []byte("\xff\xfe<\x00p\x00>\x00"), 0o644)
	os.WriteFile(filepath.Join(in, "notes.txt"), []byte("not html"), 0o644)
	_, stderr, err := run(t, "", in, "--out", outDir, "--stats")
	if err == nil || !strings.Contains(err.Error(), "1 file(s) failed") {
		t.Errorf("want one failed file, got %v", err)
	}
	if !strings.Contains(stderr, "b.html") || !strings.Contains(stderr, "utf-16le") {
		t.Errorf("the UTF-16 file's error is not reported: %s", stderr)
	}
	a, err := os.ReadFile(filepath.Join(outDir, "a.html"))
	if err != nil || !strings.Contains(string(a), `data-fp-src=`) {
		t.Errorf("a.html not rewritten: %v %s", err, a)
	}
	if _, err := os.Stat(filepath.Join(outDir, "b.html")); !os.IsNotExist(err) {
		t.Errorf("b.html written although refused: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outDir, "notes.txt")); !os.IsNotExist(err) {
		t.Errorf("notes.txt rewritten: %v", err)
	}
	// --stats is JSON on stderr.
	line := stderr[strings.Index(stderr, "{"):]
	line = line[:strings.Index(line, "\n")]
	var st map[string]any
	if err := json.Unmarshal([]byte(line), &st); err != nil {
		t.Errorf("stats are not JSON: %v: %s", err, line)
	}
}

func TestRewriteBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--action", "keep"}, {"--category", "analytics"}, {"--blocklist", "/nonexistent/list"}, {"a.html"}} {
		if _, _, err := run(t, "", args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestListsCheck(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "l.txt")
	os.WriteFile(list, []byte("[Adblock Plus 2.0]\n||a.example^\n||b.example/px$image\n@@||a.example/ok.js\nexample.com##.ad\n||c.example^$domain=bad host\n||d.example^$popup\n"), 0o644)
	var out bytes.Buffer
	if err := runLists([]string{"check", list}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"format abp, 7 lines",
		"rules: exception_host_url 1, host 1, host_url 1",
		"skipped: bad_line 1, cosmetic 1, document_or_popup 1",
		"l.txt:5: cosmetic: example.com##.ad",
		"l.txt:7: document_or_popup: ||d.example^$popup",
		`error ` + list + `:6: bad domain "bad host" in domain=`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("lists check output lacks %q:\n%s", want, s)
		}
	}
	out.Reset()
	err := runLists([]string{"check", filepath.Join(dir, "missing.txt"), "http://plain.example/l.txt"}, &out, io.Discard)
	if err == nil || !strings.Contains(out.String(), "missing.txt: open") || !strings.Contains(out.String(), "only https") {
		t.Errorf("unreadable lists: %v\n%s", err, out.String())
	}

	// --format names the format: the same list read as hosts holds no
	// rules, which the module refuses, so the check fails too.
	out.Reset()
	err = runLists([]string{"check", list, "--format", "hosts"}, &out, io.Discard)
	if err == nil || !strings.Contains(out.String(), "format hosts") || !strings.Contains(out.String(), "refused: the list holds no rules") {
		t.Errorf("--format hosts: %v\n%s", err, out.String())
	}
	// A list with nothing to tell its format by says so.
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, []byte("# only a comment\n"), 0o644)
	out.Reset()
	if err := runLists([]string{"check", empty}, &out, io.Discard); err == nil || !strings.Contains(out.String(), "format not detected, 1 lines") {
		t.Errorf("empty list: %v\n%s", err, out.String())
	}
	for _, args := range [][]string{{"check", "--format", "own", list}, {"check", "--bogus", list}, {"check"}, {"check", "--format", "abp"}} {
		out.Reset()
		if err := runLists(args, &out, io.Discard); err == nil || out.Len() != 0 {
			t.Errorf("%q: error %v, output %q", args, err, out.String())
		}
	}
}

func TestRewriteABPBlocklist(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "abp.txt")
	os.WriteFile(list, []byte("||ads.example^$script\n/pixel.gif?\n"), 0o644)
	out, _, err := run(t, `<script src="https://ads.example/a.js"></script><img src="https://ads.example/b.png"><img src="https://cdn.other.test/pixel.gif?x=1">`,
		"--no-builtin", "--unknown", "keep", "--blocklist", list, "--action", "remove")
	if err != nil {
		t.Fatal(err)
	}
	if out != `<img src="https://ads.example/b.png">` {
		t.Errorf("ABP list through the CLI: %q", out)
	}
}

// TestHelp: -h on each command prints its usage and flags on stderr, and the
// process exits 0 without an error line; a real error still exits 1.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(stderr io.Writer) error
		want []string
	}{
		{"rewrite", func(w io.Writer) error { return runRewrite([]string{"-h"}, strings.NewReader(""), io.Discard, w) },
			[]string{"firstparty rewrite [flags] < in.html", "-site", "-blocklist"}},
		{"scan", func(w io.Writer) error { return runScan([]string{"--help"}, io.Discard, w, false) },
			[]string{"firstparty scan [flags]", "-fail-on"}},
		{"lists check", func(w io.Writer) error { return runLists([]string{"check", "-h"}, io.Discard, w) },
			[]string{"firstparty lists check", "-format"}},
	} {
		var stderr bytes.Buffer
		err := tc.run(&stderr)
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s -h: err %v, want flag.ErrHelp", tc.name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%s -h: usage lacks %q:\n%s", tc.name, w, stderr.String())
			}
		}
		var msg bytes.Buffer
		if st := exitStatus(err, &msg); st != 0 || msg.Len() != 0 {
			t.Errorf("%s -h: exit %d, stderr %q; want 0 and nothing", tc.name, st, msg.String())
		}
	}
	var msg bytes.Buffer
	if st := exitStatus(errors.New("boom"), &msg); st != 1 || !strings.Contains(msg.String(), "firstparty: boom") {
		t.Errorf("an error: exit %d, stderr %q", st, msg.String())
	}
}

// TestRewriteStyleSheet: rewrite --style-sheet reads stdin as one of the
// site's own style sheets, as style_sheets rewrite does.
func TestRewriteStyleSheet(t *testing.T) {
	in := "@import url(https://fonts.googleapis.com/css?family=X);\n.a{background:url(https://www.facebook.com/tr?id=1)}\n.b{background:url(/own.png)}\n"
	out, _, err := run(t, in, "--style-sheet", "--category", "fonts=remove")
	if want := "@import \"\";\n.a{background:url(\"data:,\")}\n.b{background:url(/own.png)}\n"; err != nil || out != want {
		t.Errorf("%q (%v), want %q", out, err, want)
	}
	if out, _, err := run(t, in, "--style-sheet"); err != nil || !strings.HasPrefix(out, "@import url(https://fonts.googleapis.com/css?family=X);") {
		t.Errorf("fonts kept by default: %q (%v)", out, err)
	}
	if _, _, err := run(t, "\xff\xfea\x00{\x00", "--style-sheet"); err == nil || !strings.Contains(err.Error(), "utf-16le") {
		t.Errorf("a UTF-16 sheet: %v", err)
	}
	if _, _, err := run(t, "", "--style-sheet", "a.css"); err == nil {
		t.Error("--style-sheet with a file")
	}
}
