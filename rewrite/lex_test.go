package rewrite

import (
	"slices"
	"testing"
)

// TestScriptHosts checks the hosts read from an inline script's strings,
// where a URL parser finds them: after the last two of any run of slashes
// ("///host" is the host, as the fuzzer found), before a port, after user
// info.
func TestScriptHosts(t *testing.T) {
	for in, want := range map[string][]string{
		`"///trACker.eXAmple "`:                     {"tracker.example"},
		`"////a.example/p"`:                         {"a.example"},
		`"https://u:p@b.example:8443/x"`:            {"b.example"},
		`"//c.example" + "x//d.example"`:            {"c.example", "d.example"},
		`"https://e.example/r?u=https://f.example"`: {"e.example", "f.example"},
		`"a//"`: nil,
	} {
		var f ScriptFacts
		scriptFacts([]byte("var s = "+in+";"), &f)
		if !slices.Equal(f.Hosts, want) {
			t.Errorf("%s: hosts %q, want %q", in, f.Hosts, want)
		}
	}
}
