package rewrite

import "testing"

func TestDetectEncoding(t *testing.T) {
	for _, c := range []struct {
		head, ct, name string
		compatible     bool
	}{
		{"<p>hi", "text/html", "windows-1252", true},
		{"<p>h\xc3\xa9 ok", "text/html", "utf-8", true},
		{"<p>hi", "text/html; charset=UTF-8", "utf-8", true},
		{"<p>hi", "text/html; charset=shift_jis", "shift_jis", true},
		{`<meta charset="euc-jp"><p>hi`, "text/html", "euc-jp", true},
		{"\xef\xbb\xbf<p>hi", "text/html; charset=utf-16le", "utf-8", true},
		{"\xff\xfe<\x00p\x00>\x00", "text/html", "utf-16le", false},
		{"\xfe\xff\x00<\x00p\x00>", "text/html; charset=utf-8", "utf-16be", false},
		{"<\x00p\x00>\x00", "text/html; charset=utf-16le", "utf-16le", false},
		{`<meta charset="utf-16"><p>hi`, "text/html", "utf-8", true},
		{"<p>hi", "text/html; charset=iso-2022-jp", "iso-2022-jp", false},
		{`<meta http-equiv="content-type" content="text/html; charset=ISO-2022-JP">`, "", "iso-2022-jp", false},
		{"<p>hi", "text/html; charset=iso-2022-kr", "replacement", false},
		{"<p>hi", "text/html; charset=hz-gb-2312", "replacement", false},
	} {
		name, ok := DetectEncoding([]byte(c.head), c.ct)
		if name != c.name || ok != c.compatible {
			t.Errorf("DetectEncoding(%q, %q) = %s, %v; want %s, %v", c.head, c.ct, name, ok, c.name, c.compatible)
		}
	}
}
