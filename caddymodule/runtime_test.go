package caddymodule

import (
	"bytes"
	"compress/gzip"
	"os/exec"
	"strings"
	"testing"
)

// gzipSize is the gzipped size of b.
func gzipSize(b []byte) int {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Len()
}

// The runtime's size, minified and gzipped: the code alone (budget
// 6,220 B) and as served with the default config (the texts of the six
// built-in languages, the consent managers' mappings). make bench prints
// it too.
func TestRuntimeSize(t *testing.T) {
	h := &Handler{}
	served, ver, err := h.buildRuntime()
	if err != nil {
		t.Fatal(err)
	}
	code, codeGz := len(minifiedRuntime), gzipSize(minifiedRuntime)
	t.Logf("consent runtime: source %d B; minified %d B, gzipped %d B; served with the default config %d B, gzipped %d B (version %s)",
		len(consentSource), code, codeGz, len(served), gzipSize(served), ver)
	// The aim is 5 KB: docs/consent.md, Size, says what took the
	// code past it, and what each change cost.
	if codeGz > 6220 {
		t.Errorf("the runtime is %d B gzipped, over its 6,220 B budget (docs/consent.md, Size)", codeGz)
	}
	if !bytes.HasPrefix(served, []byte("/* firstparty consent runtime */")) || !bytes.HasSuffix(served, []byte(");\n")) {
		t.Errorf("served runtime is not the minified function called with the config")
	}
}

// Every built-in language has every text, translated: a missing key would
// fall back to nothing (the runtime reads the language's own map), and a
// copy of the English would show English under another language's name.
func TestBuiltinTexts(t *testing.T) {
	en := DefaultTexts["en"]
	for lang, texts := range DefaultTexts {
		for k := range en {
			if strings.TrimSpace(texts[k]) == "" {
				t.Errorf("%s: %s missing", lang, k)
			}
		}
		for k := range texts {
			if _, ok := en[k]; !ok {
				t.Errorf("%s: %s is not a text key", lang, k)
			}
		}
		if lang == "en" {
			continue
		}
		for _, k := range []string{"title", "body", "accept", "reject", "settings", "save", "reopen", "always", "load", "cat_analytics", "cat_advertising"} {
			if texts[k] == en[k] {
				t.Errorf("%s: %s is the English %q", lang, k, en[k])
			}
		}
		if strings.Count(texts["placeholder"], "%s") != 1 || strings.Contains(strings.ReplaceAll(texts["placeholder"], "%s", ""), "%") {
			t.Errorf("%s: the placeholder text must hold %%s once and no other verb: %q", lang, texts["placeholder"])
		}
	}
}

// The served runtime parses as JavaScript (node --check), when Node is
// installed.
func TestRuntimeParses(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed; the browser tests run the runtime anyway")
	}
	h := &Handler{Banner: &Banner{Enabled: true, Texts: map[string]map[string]string{"de": {"title": "</script><b>\u2028"}}}}
	served, _, err := h.buildRuntime()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "--check", "-")
	cmd.Stdin = bytes.NewReader(served)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node --check: %v\n%s", err, out)
	}
	if strings.Contains(string(served), "</script>") {
		t.Error("a text closed the script: the config must escape < in strings")
	}
}
