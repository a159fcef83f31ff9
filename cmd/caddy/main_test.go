package main

import (
	"testing"

	"github.com/caddyserver/caddy/v2"
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
