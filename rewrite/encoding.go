package rewrite

import "golang.org/x/net/html/charset"

// PrescanSize is how many leading bytes a browser reads to find a <meta>
// charset; DetectEncoding needs at most this much of the page.
const PrescanSize = 1024

// DetectEncoding determines the character encoding of a page as browsers
// do (golang.org/x/net/html/charset): a byte-order mark, then the charset
// parameter of contentType, then a <meta> charset in head, then a guess.
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
	_, name, _ = charset.DetermineEncoding(head, contentType)
	return name, readsASCII(name)
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
