package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestModulesBuiltIn: the binary this package builds (make caddy →
// bin/caddy) has firstparty beside Caddy's standard modules, so
// `bin/caddy list-modules` lists http.handlers.firstparty.
func TestModulesBuiltIn(t *testing.T) {
	for _, id := range []string{"http.handlers.firstparty", "http.handlers.reverse_proxy", "http.handlers.encode", "http.handlers.file_server", "caddy.adapters.caddyfile"} {
		if _, err := caddy.GetModule(id); err != nil {
			t.Errorf("%s is not built in: %v", id, err)
		}
	}
	found := false
	for _, m := range caddy.GetModules("http.handlers") {
		found = found || m.ID == "http.handlers.firstparty"
	}
	if !found {
		t.Errorf("http.handlers.firstparty is not among the listed http.handlers modules")
	}
}

// TestMakeRun starts what `make run` starts (testdata/run.Caddyfile: the
// demo shop behind firstparty on the embedded default policy) in this
// process and checks the shop comes back rewritten.
func TestMakeRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Caddy; skipped with -short")
	}
	port, shop := freePort(t), freePort(t)
	t.Setenv("FP_PORT", port)
	t.Setenv("FP_SHOP_PORT", shop)
	root, err := filepath.Abs("../../testdata/demo")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("FP_DEMO_ROOT", root)
	src, err := os.ReadFile("../../testdata/run.Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	cfg, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(src, map[string]any{"filename": "run.Caddyfile"})
	if err != nil {
		t.Fatalf("adapting testdata/run.Caddyfile: %v", err)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %v", warnings)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("starting the demo: %v", err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	get := func(p string) string {
		var body []byte
		for i := 0; i < 50; i++ {
			resp, err := http.Get("http://localhost:" + p + "/")
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode == 200 {
					return string(body)
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("the demo on port %s did not answer", p)
		return ""
	}
	original, rewritten := get(shop), get(port)
	if !strings.Contains(original, `src="https://www.googletagmanager.com/gtag/js?id=G-DEMO123"`) {
		t.Fatalf("the shop page lacks its vendor tags")
	}
	for _, want := range []string{`data-fp-src="https://www.googletagmanager.com/gtag/js?id=G-DEMO123"`, `<script src="/_fp/consent.js?v=`, `data-fp-placeholder="YouTube"`} {
		if !strings.Contains(rewritten, want) {
			t.Errorf("the demo through firstparty lacks %s", want)
		}
	}
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

// TestMakeHelp: `make help` lists the targets the README names.
func TestMakeHelp(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	out, err := exec.Command("make", "-s", "-C", "../..", "help").CombinedOutput()
	if err != nil {
		t.Fatalf("make help: %v\n%s", err, out)
	}
	for _, target := range []string{"run", "test", "bench", "caddy", "cli", "fuzz", "screenshots"} {
		if !regexp.MustCompile(`(?m)^\s+` + target + `\s`).Match(out) {
			t.Errorf("make help does not list %s:\n%s", target, out)
		}
	}
}
