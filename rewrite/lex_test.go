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

// TestScriptAfterDot: a "/" right after "." or "?." cannot be read
// (nothing but a name follows them), so the script is malformed and its
// decision fails closed; a division or a regular expression elsewhere,
// and a comment or a number after a dot, are read as before.
func TestScriptAfterDot(t *testing.T) {
	for in, malformed := range map[string]bool{
		`./"//tracker.example`:           true,
		`a./"/; x = "//tracker.example"`: true,
		`a?./x/`:                         true,
		`a./=b`:                          true,
		`a.b / c / d`:                    false,
		`x = .5 / 2`:                     false,
		`a./* c */b(/re/)`:               false,
		`a?.b; x = /"/`:                  false,
	} {
		var f ScriptFacts
		scriptFacts([]byte(in), &f)
		if f.Malformed != malformed {
			t.Errorf("%s: malformed %v, want %v", in, f.Malformed, malformed)
		}
	}
}
