package rewrite

import (
	"strings"
	"testing"
)

func TestReplaceJSStrings(t *testing.T) {
	host := func(raw string) (string, bool) {
		if !strings.Contains(raw, "vendor.example") {
			return "", false
		}
		return strings.ReplaceAll(raw, "https://vendor.example", "/_fp/v"), true
	}
	tests := []struct {
		in, want string
		n        int
	}{
		{`var u="https://vendor.example/collect";`, `var u="/_fp/v/collect";`, 1},
		{`x('https://vendor.example/a', "keep")`, `x('/_fp/v/a', "keep")`, 1},
		{"f(`https://vendor.example/${a}/b`)", "f(`/_fp/v/${a}/b`)", 1},
		// a regular expression literal is not a string
		{`var r=/https:\/\/vendor.example/; var s="https://vendor.example"`, `var r=/https:\/\/vendor.example/; var s="/_fp/v"`, 1},
		// nor is a comment
		{"// https://vendor.example\nvar a=1", "// https://vendor.example\nvar a=1", 0},
		{`a = b / 2; c = "https://vendor.example/x" / 1`, `a = b / 2; c = "/_fp/v/x" / 1`, 1},
		{``, ``, 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			out, n, err := ReplaceJSStrings([]byte(tt.in), host)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want || n != tt.n {
				t.Errorf("got %q (%d), want %q (%d)", out, n, tt.want, tt.n)
			}
		})
	}
	// Untouched scripts come back byte for byte.
	src := "function f(a){return a/2}/*x*/\n`t${1}`;var s='\\'';"
	out, n, err := ReplaceJSStrings([]byte(src), host)
	if err != nil || string(out) != src || n != 0 {
		t.Errorf("passthrough: %q %d %v", out, n, err)
	}
	for _, bad := range []string{`var s = "unterminated`, "var t = `open", `a = /unterminated`} {
		if _, _, err := ReplaceJSStrings([]byte(bad), host); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}
