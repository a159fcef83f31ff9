package rewrite

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/html/charset"
)

func TestDetectEncoding(t *testing.T) {
	for _, c := range []struct {
		head, ct, name string
		compatible     bool
	}{
		{"<p>hi", "text/html", Undeclared, true},
		{"<p>h\xc3\xa9 ok", "text/html", Undeclared, true},
		{"<p>h\x95\x5c", "", Undeclared, true},
		{`<meta charset="windows-1252"><p>hi`, "text/html", "windows-1252", true},
		{`<meta charset=latin1><p>h\xc3\xa9`, "", "windows-1252", true},
		{`<meta charset="utf-8"><p>h\xc3\xa9`, "", "utf-8", true},
		{`<meta charset="bogus"><meta charset=shift_jis>`, "", "shift_jis", true},
		{`<meta content="text/html; charset=big5"><p>hi`, "", Undeclared, true},
		{`<meta http-equiv=Content-Type content="text/html; charset='gbk'">`, "", "gbk", true},
		{`<script>"<meta charset=shift_jis>"</script>`, "", Undeclared, true},
		{strings.Repeat("<meta name=x>", 80) + `<meta charset=shift_jis>`, "", Undeclared, true},
		{"<p>hi", "text/html; charset=bogus", Undeclared, true},
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

// TestMetaCharset checks metaCharset, which tells DetectEncoding whether
// x/net's charset found a <meta> or guessed, against DetermineEncoding
// over the shared corpus's heads: where it finds a charset, x/net
// names the same; where it finds none, x/net's name is its guess.
func TestMetaCharset(t *testing.T) {
	var n, found int
	for _, sub := range []string{"corpus/pages", "corpus/html5lib"} {
		for name, b := range corpusFiles(t, sub, "") {
			for _, head := range [][]byte{b, asciiHighBytes(b)} {
				if len(head) > PrescanSize {
					head = head[:PrescanSize]
				}
				n++
				_, want, _ := charset.DetermineEncoding(head, "")
				got := metaCharset(head)
				switch {
				case got != "":
					found++
					if got != want {
						t.Errorf("%s: metaCharset %q, x/net %q", name, got, want)
					}
				case want != "utf-8" && want != "windows-1252" && !bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) && !bytes.HasPrefix(head, []byte("\xfe\xff")) && !bytes.HasPrefix(head, []byte("\xff\xfe")):
					t.Errorf("%s: metaCharset found none, x/net %q", name, want)
				}
			}
		}
	}
	if found == 0 {
		t.Fatalf("no <meta> charset in %d heads", n)
	}
	t.Logf("%d heads, %d with a <meta> charset", n, found)
}

// asciiHighBytes returns b with each byte from 0x80 up as 0x80: the
// same markup to a tokenizer, never valid UTF-8.
func asciiHighBytes(b []byte) []byte {
	out := bytes.Clone(b)
	for i, c := range out {
		if c >= 0x80 {
			out[i] = 0x80
		}
	}
	return out
}
