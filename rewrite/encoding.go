package rewrite

import (
	"bytes"
	"slices"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
)

// PrescanSize is how many leading bytes a browser reads to find a <meta>
// charset; DetectEncoding needs at most this much of the page.
const PrescanSize = 1024

// Undeclared is the name DetectEncoding gives a page that declares no
// encoding (Options.Encoding): no byte order mark, no charset in its
// Content-Type and no <meta> charset in its first PrescanSize bytes.
// The browser then chooses one the rewriter cannot know. Chromium 156
// guessed Shift_JIS, GBK and Big5 from such pages' bytes (one character
// was enough), took a <meta> charset it found further into the head,
// and gave a frame its parent's encoding.
const Undeclared = "undeclared"

// DetectEncoding determines the character encoding of a page as browsers
// do (golang.org/x/net/html/charset): a byte-order mark, then the charset
// parameter of contentType, then a <meta> charset in head; Undeclared
// when none of them names one.
//
// The rewriter reads markup as bytes, which is exact for every
// ASCII-compatible encoding: in UTF-8, the single-byte encodings,
// Shift_JIS, EUC-JP, GBK, gb18030, Big5 and EUC-KR no byte below 0x40
// (where '<', '>', quotes, '=' and '/' lie) is ever part of a multi-byte
// character. Scripts and style sheets read more of ASCII: the name goes
// in Options.Encoding, so that they are read as the browser decodes them
// where a character takes an ASCII byte (encview.go). asciiCompatible is
// false for the encodings where that fails: UTF-16 (by BOM or by header;
// a <meta> that says UTF-16 means UTF-8, as in browsers), ISO-2022-JP, and
// the replacement encoding (ISO-2022-KR, ISO-2022-CN, HZ-GB-2312). Such a
// page cannot be rewritten as bytes; the callers fail closed on it.
func DetectEncoding(head []byte, contentType string) (name string, asciiCompatible bool) {
	if len(head) > PrescanSize {
		head = head[:PrescanSize]
	}
	// A byte order mark (three bytes at most) or the header's charset;
	// x/net's reading of a <meta> and its guess (UTF-8 when the bytes
	// are, else windows-1252, which is not the browser's) are not taken:
	// metaCharset reads the <meta>, and its tokenizer is the only one
	// that reads the head.
	_, name, certain := charset.DetermineEncoding(head[:min(len(head), 3)], contentType)
	if !certain {
		if name = metaCharset(head); name == "" {
			return Undeclared, true
		}
	}
	return name, readsASCII(name)
}

// metaCharset returns the encoding (DetectEncoding's names) that the
// first <meta> of head with a charset a label names declares, as the
// Encoding Standard's prescan finds it (golang.org/x/net/html/charset
// does, unexported): a charset attribute, or http-equiv=content-type
// with a content that names one; UTF-16 there means UTF-8. "" when none
// does.
func metaCharset(head []byte) string {
	z := html.NewTokenizer(bytes.NewReader(head))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			tag, more := z.TagName()
			if string(tag) != "meta" {
				continue
			}
			var seen []string
			var label string
			pragma, fromContent := false, false
			for more {
				var k, v []byte
				k, v, more = z.TagAttr()
				ks := string(k)
				if slices.Contains(seen, ks) {
					continue
				}
				seen = append(seen, ks)
				switch ks {
				case "http-equiv":
					pragma = strings.EqualFold(string(v), "content-type")
				case "content":
					if label == "" {
						if l := labelInContent(strings.ToLower(string(v))); l != "" {
							_, label = charset.Lookup(l)
							fromContent = label != ""
						}
					}
				case "charset":
					_, label = charset.Lookup(string(v))
					fromContent = false
				}
			}
			if label == "" || fromContent && !pragma {
				continue
			}
			if strings.HasPrefix(label, "utf-16") {
				return "utf-8"
			}
			return label
		}
	}
}

// labelInContent returns the label a <meta>'s content names after
// "charset=" (the Encoding Standard's algorithm for extracting one).
func labelInContent(s string) string {
	for {
		i := strings.Index(s, "charset")
		if i < 0 {
			return ""
		}
		s = strings.TrimLeft(s[i+len("charset"):], " \t\n\f\r")
		if !strings.HasPrefix(s, "=") {
			continue
		}
		s = strings.TrimLeft(s[1:], " \t\n\f\r")
		if s == "" {
			return ""
		}
		if q := s[0]; q == '"' || q == '\'' {
			v, _, ok := strings.Cut(s[1:], string(q))
			if !ok {
				return ""
			}
			return v
		}
		if end := strings.IndexAny(s, "; \t\n\f\r"); end >= 0 {
			return s[:end]
		}
		return s
	}
}

// readsASCII reports whether the encoding name (DetectEncoding's
// names) reads ASCII as one byte a character, as the rewriter reads.
func readsASCII(name string) bool {
	switch name {
	case "utf-16be", "utf-16le", "iso-2022-jp", "replacement":
		return false
	}
	return true
}
