package rewrite

import (
	"bytes"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// The markup of a page in any ASCII-compatible encoding reads the same as
// bytes: no byte below 0x40, where '<', '>', quotes, '=' and '/' lie, is
// ever part of a multi-byte character. CSS and JavaScript read more of
// ASCII than that. In Shift_JIS, Big5, GBK, gb18030 and EUC-KR the second
// byte of a character may be an ASCII byte from 0x40 up: 表 in Shift_JIS
// is 0x95 0x5C, a backslash to a reader of bytes. Chromium, on a
// Shift_JIS page, ran fetch("https://tracker/…") in
//
//	<script>x="表";fetch("https://tracker/…")//"</script>
//
// which a reader of bytes takes for one string, its quote escaped; and
// loaded the second image of background:url(/a表), url(https://tracker/…).
// So the text of a script, a style sheet, a style attribute or a handler
// on such a page is read as the browser decodes it (textView), whenever
// one of its ASCII bytes is part of a character there.

// mbEncoding is a multi-byte encoding whose characters may end in an ASCII
// byte, or mbNone.
type mbEncoding uint8

const (
	mbNone mbEncoding = iota
	mbShiftJIS
	mbBig5
	mbGB18030 // and GBK, which the Encoding Standard decodes as gb18030
	mbEUCKR
)

// multiByte returns the mbEncoding of an encoding's name, as DetectEncoding
// gives it; mbNone for every other (UTF-8, EUC-JP, whose second bytes are
// never ASCII, and the single-byte encodings).
func multiByte(name string) mbEncoding {
	switch name {
	case "shift_jis":
		return mbShiftJIS
	case "big5":
		return mbBig5
	case "gbk", "gb18030":
		return mbGB18030
	case "euc-kr":
		return mbEUCKR
	}
	return mbNone
}

// codec is the encoding whose tables give a character's code point. Its
// decoder is not used for the lengths of characters: golang.org/x/text
// takes an unmapped pair whole, where the Encoding Standard (and
// Chromium) gives an ASCII second byte back to the stream.
func (e mbEncoding) codec() encoding.Encoding {
	switch e {
	case mbShiftJIS:
		return japanese.ShiftJIS
	case mbBig5:
		return traditionalchinese.Big5
	case mbGB18030:
		return simplifiedchinese.GB18030
	}
	return korean.EUCKR
}

// charAt returns the length of the character that starts at b[i] as the
// Encoding Standard's decoder for e reads it, and whether it is a
// multi-byte character whose bytes dec (e's decoder) maps: an error
// (false) is one byte, or two when the second is not ASCII. The end of b
// ends a character: b is text that an ASCII byte below 0x40 follows in
// the page (a quote, or the '<' of an end tag), which no character takes.
func (e mbEncoding) charAt(b []byte, i int, dec *encoding.Decoder, buf []byte) (n int, mapped bool) {
	c := b[i]
	if c < 0x80 {
		return 1, false
	}
	lead := false
	switch e {
	case mbShiftJIS:
		lead = c >= 0x81 && c <= 0x9f || c >= 0xe0 && c <= 0xfc
	case mbBig5, mbGB18030, mbEUCKR:
		lead = c >= 0x81 && c <= 0xfe
	}
	if !lead || i+1 >= len(b) {
		return 1, false
	}
	t := b[i+1]
	if e == mbGB18030 && t >= 0x30 && t <= 0x39 {
		// Four bytes: lead, digit, 0x81–0xFE, digit; taken whole even
		// when they map to nothing.
		if i+3 < len(b) && b[i+2] >= 0x81 && b[i+2] <= 0xfe && b[i+3] >= 0x30 && b[i+3] <= 0x39 {
			return 4, true
		}
		return 1, false
	}
	var trail bool
	switch e {
	case mbShiftJIS:
		trail = t >= 0x40 && t <= 0x7e || t >= 0x80 && t <= 0xfc
		if trail && c >= 0xf0 && c <= 0xf9 {
			return 2, true // user-defined: private use, whatever the table says
		}
	case mbBig5:
		trail = t >= 0x40 && t <= 0x7e || t >= 0xa1 && t <= 0xfe
	case mbGB18030:
		trail = t >= 0x40 && t <= 0x7e || t >= 0x80 && t <= 0xfe
	case mbEUCKR:
		trail = t >= 0x41 && t <= 0xfe
	}
	if trail {
		if _, ok := decodeChar(dec, b[i:i+2], buf); ok {
			return 2, true
		}
	}
	if t < 0x80 {
		return 1, false // the ASCII byte is read again, on its own
	}
	return 2, false
}

// decodeChar decodes b, one character's bytes, into buf with dec: false
// when dec maps them to nothing (U+FFFD) or not as one.
func decodeChar(dec *encoding.Decoder, b, buf []byte) ([]byte, bool) {
	dec.Reset()
	m, n, err := dec.Transform(buf, b, true)
	if err != nil || n != len(b) || !utf8.Valid(buf[:m]) || bytes.Contains(buf[:m], []byte("\uFFFD")) {
		return nil, false
	}
	return buf[:m], true
}

// guessed are the encodings whose characters take an ASCII byte, which a
// browser may read a page that declares none in (Undeclared): Chromium
// 156 guessed Shift_JIS, GBK and Big5 from such pages' bytes, and a frame
// takes its parent's encoding, whatever it is.
var guessed = [...]mbEncoding{mbShiftJIS, mbBig5, mbGB18030, mbEUCKR}

// syntaxByte reports whether c, an ASCII byte from 0x40 up that a
// character may take, changes how a script or a style sheet reads: an
// escape (\), a template's quote (`) or brace ({ }), a regular
// expression's class ([ ]), an at-sign (with 0x81 or 0xA1 before it, a
// space in Shift_JIS and Big5) and the operators after which a slash
// starts a regular expression (^ | ~). Letters and _ are not: taken into
// a character, they leave a name, or make a character no script or
// sheet can hold where a name was.
func syntaxByte(c byte) bool {
	switch c {
	case '@', '[', '\\', ']', '^', '`', '{', '|', '}', '~':
		return true
	}
	return false
}

// eatsSyntax reports whether a character of e, in b, takes an ASCII byte
// that is syntax (syntaxByte).
func (e mbEncoding) eatsSyntax(b []byte, dec *encoding.Decoder, buf []byte) bool {
	return e.eats(b, dec, buf, syntaxByte)
}

// eatsASCII reports whether a character of e, in b, takes an ASCII byte.
func (e mbEncoding) eatsASCII(b []byte, dec *encoding.Decoder, buf []byte) bool {
	return e.eats(b, dec, buf, nil)
}

// eats reports whether a character of e, in b, takes an ASCII byte that
// only reports true of (any, when only is nil).
func (e mbEncoding) eats(b []byte, dec *encoding.Decoder, buf []byte, only func(byte) bool) bool {
	for i := 0; i < len(b); {
		if b[i] < 0x80 {
			i++
			continue
		}
		n, _ := e.charAt(b, i, dec, buf)
		for _, c := range b[i+1 : i+n] {
			if c < 0x80 && (only == nil || only(c)) {
				return true
			}
		}
		i += n
	}
	return false
}

// textView returns b as the browser reads it on a page in e: b itself
// when no character of e in it takes an ASCII byte (every ASCII byte of b
// is then an ASCII character to the browser, and the rewriter reads the
// bytes as before); otherwise b decoded to UTF-8 by the Encoding
// Standard's rules, errors as U+FFFD, appended to dst. ok is false when
// b is returned. With spans set, where b and the decoded text differ is
// appended to *spans (decodeSpans).
func (e mbEncoding) textView(b, dst []byte, spans *[]replaced) (view []byte, ok bool) {
	if e == mbNone {
		return b, false
	}
	i := 0
	for i < len(b) && b[i] < 0x80 {
		i++
	}
	if i == len(b) {
		return b, false
	}
	var buf [16]byte
	if !e.eatsASCII(b[i:], e.codec().NewDecoder(), buf[:]) {
		return b, false
	}
	return e.decodeSpans(b, dst, spans), true
}

// decodeAll returns b decoded to UTF-8 by the Encoding Standard's rules
// for e, errors as U+FFFD, appended to dst.
func (e mbEncoding) decodeAll(b, dst []byte) []byte {
	return e.decodeSpans(b, dst, nil)
}

// decodeSpans is decodeAll, which, with spans set, also appends to *spans
// where each run of characters outside ASCII lies in b and in the text
// (its offsets from the start of what it appends to dst): origOffset maps
// an offset of the text read back to b's, so that a sheet read decoded is
// written with the page's bytes.
func (e mbEncoding) decodeSpans(b, dst []byte, spans *[]replaced) []byte {
	dec := e.codec().NewDecoder()
	var buf [16]byte
	base := len(dst)
	i := 0
	for i < len(b) {
		if b[i] < 0x80 {
			dst = append(dst, b[i])
			i++
			continue
		}
		from, at := i, len(dst)-base
		n, mapped := e.charAt(b, i, dec, buf[:])
		switch c := b[i]; {
		case e == mbShiftJIS && n == 2 && mapped && c >= 0xf0 && c <= 0xf9:
			// User-defined: the private use area, by the pointer.
			t, off := int(b[i+1]), 0x40
			if t >= 0x80 {
				off = 0x41
			}
			dst = utf8.AppendRune(dst, rune(0xe000+(int(c)-0xc1)*188+t-off-8836))
		case mapped || n == 1: // a single byte may be a character (half-width kana)
			if ch, ok := decodeChar(dec, b[i:i+n], buf[:]); ok {
				dst = append(dst, ch...)
				break
			}
			dst = utf8.AppendRune(dst, utf8.RuneError)
		default:
			dst = utf8.AppendRune(dst, utf8.RuneError)
		}
		i += n
		if spans != nil {
			// (A run of such characters is one span: a URL's bounds in
			// CSS are ASCII, outside any.)
			if k := len(*spans) - 1; k >= 0 && (*spans)[k].to == from {
				(*spans)[k].to, (*spans)[k].n = i, len(dst)-base-(*spans)[k].at
			} else {
				*spans = append(*spans, replaced{from, i, at, len(dst) - base - at})
			}
		}
	}
	return dst
}
