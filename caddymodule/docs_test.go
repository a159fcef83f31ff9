package caddymodule

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/prometheus/client_golang/prometheus"
)

// The docs must not drift from the code: these tests adapt every Caddyfile
// snippet in README.md and docs/, and check that every subdirective and
// every metric is documented.

// docFiles are README.md and docs/*.md.
func docFiles(t *testing.T) map[string]string {
	files, _ := filepath.Glob("../docs/*.md")
	files = append(files, "../README.md")
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(b)
	}
	return out
}

// snippets returns the code blocks of a Markdown text: fenced, or indented
// by four spaces or a tab.
func snippets(md string) []string {
	var out []string
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "```"):
			var b []string
			for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
				b = append(b, lines[i])
			}
			out = append(out, strings.Join(b, "\n"))
		case strings.HasPrefix(l, "    ") && (i == 0 || strings.TrimSpace(lines[i-1]) == ""):
			var b []string
			for ; i < len(lines) && (strings.HasPrefix(lines[i], "    ") || strings.TrimSpace(lines[i]) == ""); i++ {
				b = append(b, strings.TrimPrefix(lines[i], "    "))
			}
			out = append(out, strings.Join(b, "\n"))
		}
	}
	return out
}

var placeholder = regexp.MustCompile(`<[a-z][a-z_|-]*(\.\.\.)?>`)

func TestDocCaddyfileSnippets(t *testing.T) {
	n := 0
	for file, md := range docFiles(t) {
		for _, s := range snippets(md) {
			trimmed := strings.TrimSpace(s)
			first, _, _ := strings.Cut(trimmed, "\n")
			isDirective := first == "firstparty" || first == "firstparty {"
			isSite := regexp.MustCompile(`(?m)^[a-z0-9.:*-]+ \{$`).MatchString(trimmed) && strings.Contains(s, "firstparty")
			if !isDirective && !isSite || placeholder.MatchString(s) {
				continue // not a Caddyfile, or the reference block with <placeholders>
			}
			src := s
			if isDirective {
				src = ":8080 {\n" + s + "\n}\n"
			}
			out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), nil)
			if err != nil {
				t.Errorf("%s: a Caddyfile snippet does not adapt: %v\n%s", file, err, s)
				continue
			}
			if !strings.Contains(string(out), `"handler":"firstparty"`) {
				t.Errorf("%s: snippet adapted without the firstparty handler:\n%s", file, s)
			}
			n++
		}
	}
	if n < 3 {
		t.Errorf("only %d Caddyfile snippets found in the docs", n)
	}
}

func TestSubdirectivesDocumented(t *testing.T) {
	ref := docFiles(t)["../docs/configuration.md"]
	for _, name := range Subdirectives {
		if !regexp.MustCompile(`(?m)^\t` + name + `\b`).MatchString(ref) {
			t.Errorf("subdirective %s is not in docs/configuration.md's reference", name)
		}
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("firstparty {\n" + name + "\n}"))
		if err != nil && strings.Contains(err.Error(), "unknown subdirective") {
			t.Errorf("subdirective %s is listed but not parsed: %v", name, err)
		}
	}
	for block, opts := range map[string][]string{"banner": BannerOptions, "proxy": ProxyOptions, "csp_backstop": CSPBackstopOptions} {
		for _, name := range opts {
			if !regexp.MustCompile(`(?m)^\t\t` + name + `\b`).MatchString(ref) {
				t.Errorf("%s option %s is not in docs/configuration.md's reference", block, name)
			}
		}
	}
	for _, name := range ProxyOptions {
		if !strings.Contains(docFiles(t)["../docs/analytics-proxy.md"], "\t"+name+" ") {
			t.Errorf("proxy option %s is not in docs/analytics-proxy.md", name)
		}
	}
	// And the reference lists nothing the parser does not accept.
	block := ref[strings.Index(ref, "firstparty {"):]
	block = block[:strings.Index(block, "\n}")]
	for _, m := range regexp.MustCompile(`(?m)^\t([a-z_]+)`).FindAllStringSubmatch(block, -1) {
		if m[1] == "refresh" {
			continue // inside list's block
		}
		found := false
		for _, name := range Subdirectives {
			found = found || name == m[1]
		}
		if !found {
			t.Errorf("docs/configuration.md documents %q, which the parser does not accept", m[1])
		}
	}
}

func TestMetricsDocumented(t *testing.T) {
	doc := docFiles(t)["../docs/operations.md"]
	reg := prometheus.NewRegistry()
	if err := registerMetrics(reg); err != nil {
		t.Fatal(err)
	}
	ch := make(chan *prometheus.Desc, 64)
	for _, c := range allMetrics() {
		c.Describe(ch)
	}
	close(ch)
	n := 0
	for d := range ch {
		m := regexp.MustCompile(`fqName: "([a-z_]+)"`).FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("no name in %s", d)
		}
		n++
		if !strings.Contains(doc, "`"+m[1]+"`") {
			t.Errorf("metric %s is not documented in docs/operations.md", m[1])
		}
	}
	if n != len(allMetrics()) {
		t.Errorf("%d metrics described, %d registered", n, len(allMetrics()))
	}
}

// mdLink is a Markdown link or image's target, relative or absolute.
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// headingSlug is the anchor GitHub gives a Markdown heading: lower case,
// punctuation but hyphens and underscores dropped, spaces to hyphens.
func headingSlug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 0x7f && (r < 0x2000 || r > 0x2bff):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors are the heading anchors of a Markdown text, outside code blocks.
func anchors(md string) map[string]bool {
	out := map[string]bool{}
	fenced := false
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "```") {
			fenced = !fenced
		}
		if !fenced && strings.HasPrefix(l, "#") {
			out[headingSlug(strings.TrimLeft(l, "#"))] = true
		}
	}
	return out
}

// TestDocLinks checks that every relative link in README.md and docs/
// names a file that exists and, with a #fragment into a Markdown file, a
// heading of that file: a section moved or renamed breaks no reader's
// link unnoticed. Links are reported as file:line.
func TestDocLinks(t *testing.T) {
	docs := docFiles(t)
	heads := map[string]map[string]bool{} // each linked file's anchors, read once
	for f, md := range docs {
		for n, l := range strings.Split(md, "\n") {
			for _, m := range mdLink.FindAllStringSubmatch(l, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				path, frag, _ := strings.Cut(target, "#")
				file := f
				if path != "" {
					file = filepath.Join(filepath.Dir(f), path)
				}
				if _, err := os.Stat(file); err != nil {
					t.Errorf("%s:%d: link to %q: no such file", f, n+1, target)
					continue
				}
				if frag == "" || !strings.HasSuffix(file, ".md") {
					continue
				}
				if heads[file] == nil {
					text, ok := docs[file]
					if !ok {
						b, err := os.ReadFile(file)
						if err != nil {
							t.Errorf("%s:%d: %v", f, n+1, err)
							continue
						}
						text = string(b)
					}
					heads[file] = anchors(text)
				}
				if !heads[file][frag] {
					t.Errorf("%s:%d: link to %q: %s has no heading #%s", f, n+1, target, file, frag)
				}
			}
		}
	}
}
