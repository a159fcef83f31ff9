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

// TestJSStringEscapes checks jsStringValue's decoding of the escapes a
// host can hide behind: \0 alone is NUL, and a legacy octal escape, which
// code that is not strict reads, is its character ("\141" is "a"; three
// digits from 0-3, two from 4-7; \8 is 8), as are the control escapes and
// a line continuation (FuzzRewrite, 3eca52f6426da3cd: "\0" was read as 0).
func TestJSStringEscapes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`"//tr\141cker.example/x"`, "//tracker.example/x"},
		{`"a\0b"`, "a\x00b"},
		{`"\101\1011"`, "AA1"},
		{`"\477"`, "'7"},
		{`"\400"`, " 0"},
		{`"\8\9"`, "89"},
		{`'a\rb\bc\fd\ve'`, "a\rb\bc\fd\ve"},
		{"\"a\\\nb\"", "ab"},
		{`"\x2f\u002f\/"`, "///"},
	} {
		if got := jsStringValue([]byte(c.in), nil); got != c.want {
			t.Errorf("%s: %q, want %q", c.in, got, c.want)
		}
	}
}
