package rewrite

import (
	"bytes"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/tdewolff/parse/v2"
	"github.com/tdewolff/parse/v2/css"
	"github.com/tdewolff/parse/v2/js"
)

// newInput wraps b for the tdewolff lexers. NewInputBytes writes a NUL
// sentinel after the slice when capacity allows; capping the capacity makes
// it copy instead of writing into our buffers.
func newInput(b []byte) *parse.Input {
	return parse.NewInputBytes(b[:len(b):len(b)])
}

// lexerText returns script or style text as the browser's parsers see it:
// NUL bytes become U+FFFD, as the HTML tokenizer makes them in script and
// style text and in attribute values. The tdewolff lexers
// read a NUL as the end of input: left in, "'\x00';gtag()" would hide the
// call after it.
//
// Invalid UTF-8 is replaced too, as a UTF-8 decoder does: the lexers take a
// lead byte's length on trust, so "\xc5'" would swallow the quote and
// shift every string after it. (On a single-byte page those bytes are
// letters; U+FFFD reads as a name character in CSS and a syntax error in
// JavaScript, which changes no call a browser would make.)
func lexerText(b []byte) []byte {
	out, _ := lexerTextSpans(b, nil)
	return out
}

// lexerTextSpans is lexerText that appends to spans where the text as
// read differs from b (replaceInvalid): b itself, and spans as they were,
// when nothing is replaced.
func lexerTextSpans(b []byte, spans []replaced) ([]byte, []replaced) {
	if bytes.IndexByte(b, 0) < 0 && utf8.Valid(b) {
		return b, spans
	}
	return replaceInvalid(b, spans)
}

// replaced is where a text was replaced in reading it: b[from:to] of the
// text as written is out[at:at+n] of the text as read (lexerText's U+FFFD,
// an attribute's character reference).
type replaced struct{ from, to, at, n int }

// replaceInvalid is lexerText's replacement: each NUL, and each run of
// bytes that are not valid UTF-8, becomes one U+FFFD (as
// bytes.ToValidUTF8 makes a run one). It appends where each lies to
// spans, so that a text read by the lexer can be written with the bytes
// it came with (origOffset).
func replaceInvalid(b []byte, spans []replaced) ([]byte, []replaced) {
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		c := b[i]
		if c != 0 && c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		if c != 0 {
			if r, n := utf8.DecodeRune(b[i:]); r != utf8.RuneError || n > 1 {
				out = append(out, b[i:i+n]...)
				i += n
				continue
			}
		}
		from := i
		if c == 0 {
			i++
		} else {
			for i < len(b) && b[i] != 0 && b[i] >= utf8.RuneSelf {
				if r, n := utf8.DecodeRune(b[i:]); r != utf8.RuneError || n > 1 {
					break
				}
				i++
			}
		}
		spans = append(spans, replaced{from, i, len(out), 3})
		out = append(out, "\uFFFD"...)
	}
	return out, spans
}

// origOffset maps an offset in a text as read to one in the text as
// written, by the spans where they differ (replaceInvalid,
// appendDecodedSpans): an offset inside a replacement maps to the start
// of the bytes it replaced, or, when end is true, to their end.
func origOffset(off int, spans []replaced, end bool) int {
	shift := 0
	for _, s := range spans {
		switch {
		case off <= s.at:
			return off + shift
		case off < s.at+s.n:
			if end {
				return s.to
			}
			return s.from
		}
		shift = s.to - (s.at + s.n)
	}
	return off + shift
}

// cssRef is one URL in CSS: url(…), or the string of @import "…".
type cssRef struct {
	start, end int // the bytes to replace to neutralise it
	url        string
	isImport   bool
	str        bool // a string inside url(…): replaced by a string
}

// quotedAfterURL finds the string that follows "url(" and optional
// whitespace in a bad-URL token: its start in b.
func quotedAfterURL(b []byte) (start int, ok bool) {
	if len(b) < 5 || !bytes.EqualFold(b[:4], []byte("url(")) {
		return 0, false
	}
	return quoteAfter(b, 4)
}

// quoteAfter skips the white space at b[i:] and reports where what
// follows begins, and whether it is a quote: CSS reads a url( followed
// so as a function with a string argument, and else as a url token.
func quoteAfter(b []byte, i int) (int, bool) {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i, i < len(b) && (b[i] == '"' || b[i] == '\'')
}

// cssURLs lists the URLs that a block of CSS (a <style> body or a style
// attribute, already decoded) makes the browser fetch: url(), @import and
// the strings in image-set(), whatever the case of their names and however
// the names are escaped.
func cssURLs(b []byte, refs []cssRef) []cssRef {
	return cssURLsFrom(b, newInput(b), refs, nil)
}

// cssURLsIn is cssURLs over css, read from a copy in fs.lex (lexInput),
// its buffer from pools (the Writer's set of scratchPools), where
// cssURLs would copy it twice, into bytes and again for the lexer's NUL.
// The refs' URLs are strings of their own (cssURLBody), so nothing of the
// copy outlives the call, and the script facts keep nothing in fs.lex
// (their strings are in fs.arena).
func (fs *factScratch) cssURLsIn(pools *[scratchKinds]sync.Pool, css string, refs []cssRef) []cssRef {
	fs.pools = pools
	in := fs.lexInput(unsafe.Slice(unsafe.StringData(css), len(css)))
	return cssURLsFrom(fs.lex[:len(css)], in, refs, nil)
}

// cssURLsFrom is cssURLs over b, read by in. With ends set, it also
// calls ends with the offset after each ";", "{" and "}" outside any
// parentheses, where CSS's tokens start again with nothing carried over
// (StyleSheetWriter's runs).
func cssURLsFrom(b []byte, in *parse.Input, refs []cssRef, ends func(int)) []cssRef {
	l := css.NewLexer(in)
	off := 0
	afterImport := false
	depth := 0    // open functions and parentheses
	fnDepth := -1 // the depth inside a url(, src( or image-set(, whose strings are URLs
	for {
		tt, data := l.Next()
		if tt == css.ErrorToken {
			return refs
		}
		if tt == css.URLToken || tt == css.BadURLToken {
			data, tt = escapedURLName(in, data, tt)
		}
		start := off
		off += len(data)
		switch tt {
		case css.AtKeywordToken:
			afterImport = cssNameIs(data, "@import")
			continue
		case css.URLToken:
			// (An escaped name is read above, as a function.)
			refs = append(refs, cssRef{start: start, end: off, url: cssURLBody(data), isImport: afterImport})
		case css.BadURLToken:
			// CSS reads "url(" then a quote as a function and a string,
			// which stays valid when URL modifiers follow; the lexer calls
			// the whole a bad URL, to a ")" that may lie in a string or
			// close a parenthesis inside the function. It reads on from
			// the string, as CSS does, inside the function: its strings
			// are URLs, and a url( among its arguments is one of its own
			// (FuzzRewrite), each read once.
			if s, ok := quotedAfterURL(data); ok {
				in.Rewind(s - len(data))
				in.Skip()
				off = start + s
				depth++
				if fnDepth < 0 {
					fnDepth = depth
				}
				continue
			} else if afterImport {
				// CSS loads no bad URL, but Chromium's preload scanner
				// fetches an @import's all the same (url(…#") among them),
				// taking what the parentheses hold as the URL.
				refs = append(refs, cssRef{start: start, end: off, url: cssURLBody(data), isImport: true})
			}
		case css.FunctionToken:
			if cssNameIs(data, "url(") && !bytes.EqualFold(data, []byte("url(")) {
				// An escaped url( ("u\72l(") is read by the lexer as a
				// function, and by CSS as the plain name is: a function
				// when a quote follows, read on below as one, and else a
				// url token, which CSS reads to the first unescaped ")",
				// quotes and all (a quote makes it a bad URL that runs
				// there), where the lexer would read strings that run past
				// that ")" and hide what follows (Chromium fetched a
				// background after 'u\72l(a"b)"c)d;e";'). The lexer reads
				// on after it.
				if end, ok := unquotedURLEnd(b, off); ok {
					refs = append(refs, cssRef{start: start, end: end, url: cssURLBody(b[start:end]), isImport: afterImport})
					in.Move(end - off)
					in.Skip()
					off = end
					continue
				}
			}
			depth++
			if fnDepth < 0 && (cssNameIs(data, "url(") || cssNameIs(data, "src(") || cssNameIs(data, "image-set(") || cssNameIs(data, "-webkit-image-set(")) {
				fnDepth = depth
			}
		case css.LeftParenthesisToken:
			depth++
		case css.RightParenthesisToken:
			if depth > 0 {
				depth--
			}
			if depth < fnDepth {
				fnDepth = -1
			}
		case css.StringToken:
			if afterImport || fnDepth >= 0 {
				refs = append(refs, cssRef{start: start, end: off, url: unquoteCSSString(data), isImport: afterImport, str: !afterImport})
			}
		case css.WhitespaceToken, css.CommentToken:
			continue
		}
		if tt == css.SemicolonToken || tt == css.LeftBraceToken || tt == css.RightBraceToken {
			afterImport = false
			if ends != nil && depth == 0 {
				ends(off)
			}
		}
	}
}

// escapedURLName reads again a url or bad-url token of the lexer's,
// data, when its name is escaped. The lexer reads a url token after a
// name that is "url" escaped ("\url(") as after the plain name, and after
// one that only ends in it once unescaped ("\\url(", a function named
// "\url" to CSS). CSS reads the first as the plain name (as an escaped
// url( function is read in cssURLsFrom) and the second as a function
// whose argument is tokens: the name is taken as a function token, and
// the lexer reads on after its "(".
func escapedURLName(in *parse.Input, data []byte, tt css.TokenType) ([]byte, css.TokenType) {
	p := bytes.IndexByte(data, '(')
	if p <= 0 || bytes.IndexByte(data[:p], '\\') < 0 {
		return data, tt
	}
	in.Rewind(p + 1 - len(data))
	in.Skip()
	return data[:p+1], css.FunctionToken
}

// unquotedURLEnd reads what follows a url( at b[from:] as CSS does
// (CSS Syntax 4.3.6): after white space, a quote makes it a function
// with a string argument (ok is false); anything else is a url token,
// which ends after the first ")" that no valid escape takes (a backslash
// before anything but a newline), or at the end of b, whether the URL
// turns bad on the way or not.
func unquotedURLEnd(b []byte, from int) (end int, ok bool) {
	i, quoted := quoteAfter(b, from)
	if quoted {
		return 0, false
	}
	for i < len(b) {
		switch b[i] {
		case '\\':
			if i+1 < len(b) && b[i+1] != '\n' && b[i+1] != '\r' && b[i+1] != '\f' {
				i++ // the escaped byte; a character's later bytes are never ")"
			}
		case ')':
			return i + 1, true
		}
		i++
	}
	return len(b), true
}

// cssNameIs reports whether a CSS name (an at-keyword or function token,
// possibly escaped) is want, ignoring ASCII case.
func cssNameIs(name []byte, want string) bool {
	if bytes.IndexByte(name, '\\') < 0 {
		return bytes.EqualFold(name, []byte(want))
	}
	return strings.EqualFold(cssUnescape(string(name)), want)
}

// cssURLBody returns the URL of a url token read whole: the text between
// "(" and ")", unquoted and unescaped.
func cssURLBody(b []byte) string {
	i := bytes.IndexByte(b, '(')
	if i < 0 {
		return ""
	}
	body := bytes.TrimSuffix(b[i+1:], []byte(")"))
	body = bytes.Trim(body, " \t\n\r\f")
	if len(body) > 0 && (body[0] == '"' || body[0] == '\'') {
		return unquoteCSSString(body)
	}
	return cssUnescape(string(body))
}

func unquoteCSSString(b []byte) string {
	s := string(b)
	if len(s) >= 1 && (s[0] == '"' || s[0] == '\'') {
		q := s[0]
		s = s[1:]
		if len(s) > 0 && s[len(s)-1] == q {
			s = s[:len(s)-1]
		}
	}
	return cssUnescape(s)
}

// cssUnescape decodes CSS escapes (\2f, \/) so that "ht\74ps://" is seen.
func cssUnescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			sb.WriteByte(c)
			continue
		}
		j := i + 1
		var v rune
		n := 0
		for j < len(s) && n < 6 {
			h := s[j] | 0x20
			switch {
			case s[j] >= '0' && s[j] <= '9':
				v = v*16 + rune(s[j]-'0')
			case h >= 'a' && h <= 'f':
				v = v*16 + rune(h-'a'+10)
			default:
				goto end
			}
			j++
			n++
		}
	end:
		if n == 0 {
			if s[j] != '\n' {
				sb.WriteByte(s[j])
			}
			i = j
			continue
		}
		if j < len(s) && isSpace(s[j]) {
			j++
		}
		if v == 0 || v > 0x10FFFF {
			v = 0xFFFD
		}
		sb.WriteRune(v)
		i = j - 1
	}
	return sb.String()
}

const (
	maxFactItems  = 512
	maxStringFact = 2048
)

// factScratch is the memory scriptFacts reuses from one script to the
// next: the strings in the facts point into arena, valid until the next
// script (the Policy contract).
type factScratch struct {
	facts ScriptFacts
	seen  map[string]string
	arena []byte
	dec   []byte // scratch for decoding a string literal's escapes
	// lex is the script's text as the lexer reads it, with a byte of room
	// after it for the NUL the lexer puts there (lexInput). arena and lex
	// come from scratchPools, in the boxes that carried them.
	lex              []byte
	arenaBox, lexBox *[]byte
	pools            *[scratchKinds]sync.Pool // the Writer's set (reset)
}

// reset empties the scratch for a new script, whose buffers come from
// pools, the Writer's set of scratchPools, and returns its facts.
func (fs *factScratch) reset(pools *[scratchKinds]sync.Pool) *ScriptFacts {
	fs.pools = pools
	f := &fs.facts
	*f = ScriptFacts{Calls: f.Calls[:0], Idents: f.Idents[:0], Strings: f.Strings[:0], Hosts: f.Hosts[:0]}
	if fs.seen == nil {
		fs.seen = map[string]string{}
	}
	clear(fs.seen)
	if fs.arenaBox == nil {
		take(&fs.pools[scratchArena], &fs.arena, &fs.arenaBox)
	}
	fs.arena = fs.arena[:0]
	return f
}

// release gives the arena and the lexer's copy back to scratchPools (a
// Writer's Close): the facts' strings are no longer read.
func (fs *factScratch) release() {
	if fs.pools == nil {
		return // no script was read
	}
	giveScratch(fs.pools, scratchArena, &fs.arena, &fs.arenaBox)
	giveScratch(fs.pools, scratchLex, &fs.lex, &fs.lexBox)
}

// lexInput wraps src for the JavaScript lexer from a copy in fs.lex,
// which has room for the lexer's NUL after it: newInput's copy, made in
// memory the Writer keeps.
func (fs *factScratch) lexInput(src []byte) *parse.Input {
	if fs.lexBox == nil {
		take(&fs.pools[scratchLex], &fs.lex, &fs.lexBox)
	}
	fs.lex = append(append(fs.lex[:0], src...), 0)
	return parse.NewInputBytes(fs.lex[:len(src)])
}

// str returns b as a string in the arena, or a new string without one.
func (fs *factScratch) str(b []byte) string {
	if fs == nil || len(b) == 0 {
		return string(b)
	}
	start := len(fs.arena)
	fs.arena = append(fs.arena, b...)
	return unsafe.String(&fs.arena[start], len(b))
}

// scriptFacts reads the identifiers, calls and string literals of a script.
func scriptFacts(b []byte, f *ScriptFacts) { scriptFactsIn(b, f, nil) }

// scriptFactsIn is scriptFacts with the strings kept in fs, if not nil.
func scriptFactsIn(b []byte, f *ScriptFacts, fs *factScratch) {
	src := lexerText(b)
	var l *js.Lexer
	var seen map[string]string
	if fs != nil {
		l, seen = js.NewLexer(fs.lexInput(src)), fs.seen
	} else {
		l, seen = js.NewLexer(newInput(src)), map[string]string{}
	}
	var prev js.TokenType = js.ErrorToken
	var prevIdent string
	addCall := func(name string) {
		if len(f.Calls) < maxFactItems && !slices.Contains(f.Calls, name) {
			f.Calls = append(f.Calls, name)
		}
	}
	consumed := 0 // bytes the lexer has read: short of the end is malformed
	for {
		tt, data := l.Next()
		consumed += len(data)
		switch tt {
		case js.ErrorToken:
			if l.Err() != nil && l.Err().Error() != "EOF" || consumed < len(src) {
				f.Malformed = true
			}
			return
		case js.WhitespaceToken, js.LineTerminatorToken, js.CommentToken, js.CommentLineTerminatorToken:
			continue
		case js.DivToken, js.DivEqToken:
			if prev == js.DotToken || prev == js.OptChainToken {
				// Only a name can follow "." or "?.": the script does
				// not parse, and whether "/" starts a regular
				// expression (hiding what follows) cannot be told.
				f.Malformed = true
				return
			}
			if regexAllowed(prev) {
				consumed -= len(data)
				tt, data = l.RegExp()
				consumed += len(data)
				if tt == js.ErrorToken || !regexFlagsValid(data) {
					// A flag that is no flag ("/a/gtag(") is a syntax
					// error, and a reader that took the / for a division
					// sees a call there (FuzzPassUsual, c468309662449f9b).
					f.Malformed = true
					return
				}
			}
		}
		if js.IsIdentifier(tt) && !js.IsReservedWord(tt) {
			tt = js.IdentifierToken
		}
		switch {
		case tt == js.IdentifierToken:
			if kept, ok := seen[string(data)]; ok {
				prevIdent = kept
				break
			}
			raw := fs.str(data)
			s := raw
			if bytes.IndexByte(data, '\\') >= 0 {
				s = jsUnescapeIdent(raw) // "\u0067tag" is gtag
			}
			if len(seen) < 4*maxFactItems {
				seen[raw] = s
			}
			if len(f.Idents) < maxFactItems && !slices.Contains(f.Idents, s) {
				f.Idents = append(f.Idents, s)
			}
			prevIdent = s
		case tt == js.OpenParenToken && prev == js.IdentifierToken:
			addCall(prevIdent)
		case tt == js.StringToken || tt == js.TemplateToken || tt == js.TemplateStartToken || tt == js.TemplateMiddleToken || tt == js.TemplateEndToken:
			if prev == js.IdentifierToken && (tt == js.TemplateToken || tt == js.TemplateStartToken) {
				addCall(prevIdent) // the tagged template f`…` calls f
			}
			s := jsStringValue(data, fs)
			// The hosts are found in the whole string, and only what is
			// kept of it is cut: a URL past maxStringFact bytes of a long
			// string was not read (FuzzPassUsual 48ac2ad8386b38df).
			addHosts(s, f)
			if len(s) > maxStringFact {
				s = s[:maxStringFact]
			}
			if len(f.Strings) < maxFactItems {
				f.Strings = append(f.Strings, s)
			}
		}
		prev = tt
	}
}

// jsUnescapeIdent decodes the \uXXXX and \u{X…} escapes of an identifier.
func jsUnescapeIdent(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) || s[i+1] != 'u' {
			sb.WriteByte(s[i])
			continue
		}
		j := i + 2
		hex := ""
		if j < len(s) && s[j] == '{' {
			k := strings.IndexByte(s[j:], '}')
			if k < 0 {
				sb.WriteString(s[i:])
				break
			}
			hex, i = s[j+1:j+k], j+k
		} else if j+4 <= len(s) {
			hex, i = s[j:j+4], j+3
		} else {
			sb.WriteString(s[i:])
			break
		}
		v, err := strconv.ParseUint(hex, 16, 32)
		if err != nil || v > utf8.MaxRune {
			sb.WriteRune(utf8.RuneError)
			continue
		}
		sb.WriteRune(rune(v))
	}
	return sb.String()
}

// regexFlagsValid reports whether a regular expression literal's flags,
// after its last /, are flags JavaScript knows, each at most once.
func regexFlagsValid(re []byte) bool {
	i := bytes.LastIndexByte(re, '/')
	var seen [8]bool
	for _, c := range re[i+1:] {
		k := strings.IndexByte("dgimsuvy", c)
		if k < 0 || seen[k] {
			return false
		}
		seen[k] = true
	}
	return true
}

// regexAllowed reports whether a '/' after a token of type prev opens a
// regular expression literal rather than divides. A private name (#a)
// is an operand where a '/' can follow it (this.#a / 2): read as a
// regex, "//tracker.example" in `this.#a/"//tracker.example/"` was no
// string, and `this.#a/2` made the rest of the script unreadable.
func regexAllowed(prev js.TokenType) bool {
	if js.IsNumeric(prev) {
		return false
	}
	switch prev {
	case js.IdentifierToken, js.PrivateIdentifierToken, js.DecimalToken, js.BinaryToken, js.OctalToken, js.HexadecimalToken,
		js.StringToken, js.TemplateToken, js.TemplateEndToken, js.RegExpToken,
		js.CloseParenToken, js.CloseBracketToken, js.CloseBraceToken, js.ThisToken,
		js.TrueToken, js.FalseToken, js.NullToken, js.IncrToken, js.DecrToken:
		return false
	}
	return true
}

// jsStringValue strips the quotes of a string or template token and decodes
// the escapes that hide URLs (\/, \x2f, \u002f, the legacy octal \57).
func jsStringValue(b []byte, fs *factScratch) string {
	s := fs.str(b)
	if len(s) >= 2 {
		switch s[0] {
		case '"', '\'':
			s = s[1 : len(s)-1]
		case '`', '}':
			s = s[1:]
			s = strings.TrimSuffix(s, "`")
			s = strings.TrimSuffix(s, "${")
		}
	}
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var dec []byte
	if fs != nil {
		dec = fs.dec[:0]
	}
	for {
		i := strings.IndexByte(s, '\\')
		if i < 0 || i+1 >= len(s) {
			dec = append(dec, s...)
			break
		}
		dec = append(dec, s[:i]...)
		c, rest := s[i+1], s[i+2:]
		switch c {
		case 'x':
			if len(rest) >= 2 {
				if v, ok := hexVal(rest[:2]); ok {
					dec = utf8.AppendRune(dec, v)
					s = rest[2:]
					continue
				}
			}
		case 'u':
			if len(rest) >= 4 {
				if v, ok := hexVal(rest[:4]); ok {
					dec = utf8.AppendRune(dec, v)
					s = rest[4:]
					continue
				}
			}
		case 'n':
			c = '\n'
		case 't':
			c = '\t'
		case 'r':
			c = '\r'
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'v':
			c = '\v'
		case '\n':
			s = rest // a line continuation: nothing
			continue
		case '0', '1', '2', '3', '4', '5', '6', '7':
			// \0 alone is NUL; with digits, a legacy octal escape, which
			// code that is not strict reads ("\141" is "a"): up to three
			// digits from 0-3, two from 4-7.
			v, n := rune(c-'0'), 0
			for max := 2 - int(c-'0')/4; n < max && n < len(rest) && rest[n] >= '0' && rest[n] <= '7'; n++ {
				v = v*8 + rune(rest[n]-'0')
			}
			dec = utf8.AppendRune(dec, v)
			s = rest[n:]
			continue
		}
		dec = append(dec, c)
		s = rest
	}
	if fs == nil {
		return string(dec)
	}
	fs.dec = dec
	return fs.str(dec)
}

func hexVal(s string) (rune, bool) {
	var v rune
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		switch {
		case s[i] >= '0' && s[i] <= '9':
			v = v*16 + rune(s[i]-'0')
		case c >= 'a' && c <= 'f':
			v = v*16 + rune(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// addHosts finds the hosts of URLs ("https://h/…", "//h/…") in a string
// literal, and bare host names ("connect.facebook.net", also with a
// leading dot or a path: ".google-analytics.com/ga.js").
func addHosts(s string, f *ScriptFacts) {
	add := func(h string) {
		if f.Oversize && len(f.Hosts) >= maxFactItems {
			return // past the cap: unclassifiable already
		}
		h, err := normalizeHost(h)
		if err != nil || h == "" || strings.IndexByte(h, '.') < 0 {
			return
		}
		for _, x := range f.Hosts {
			if x == h {
				return
			}
		}
		if len(f.Hosts) >= maxFactItems {
			// One host more than the facts keep: the rest may hide a
			// tracker's, so the script is not classified (fail closed).
			f.Oversize = true
			return
		}
		f.Hosts = append(f.Hosts, h)
	}
	found := urlHosts(s, add)
	// The forms of a URL that name a host without "//" (below), with the
	// URL as "//host/…" in the strings, where the policy looks for the
	// paths of the hosts a script names (blocklists.namedURLs).
	lenient := func(u *url.URL) {
		add(u.Host)
		if len(f.Strings) < maxFactItems {
			f.Strings = append(f.Strings, u.String())
		}
	}
	found = lenientURLs(s, lenient) || found
	if tabInURL(s) {
		// A URL parser drops tabs and newlines from anywhere in a URL
		// ("https:/\t/host", "ht\ttps:host"); read without them as well,
		// since dropped from the whole string they may join a URL to the
		// word before it.
		t := tabNewline.Replace(s)
		found = urlHosts(t, add) || lenientURLs(t, lenient) || found
	}
	// A URL percent-encoded into the string names its host as well: the
	// markup of a frame an ad script writes ("%3Cscript%20src%3Dhttps%3A
	// %2F%2Fpagead2…", a saved page's), a redirect's target. Its "//" is
	// read once decoded, and again for each further level of encoding
	// ("%252F%252F"), up to three.
	for d, e := 0, s; d < 3 && hasEncodedSlashes(e); d++ {
		e = string(percentDecode(e))
		found = urlHosts(e, add) || found
	}
	if !found && len(s) < 256 {
		// A bare host, possibly with a leading dot or a path after it:
		// "connect.facebook.net", ".google-analytics.com/ga.js".
		h := strings.TrimPrefix(s, ".")
		for i := 0; i < len(h); i++ {
			if c := h[i]; c == '/' || c == '?' || c == '#' {
				h = h[:i]
				break
			}
		}
		if strings.IndexByte(h, '.') <= 0 {
			return
		}
		for i := 0; i < len(h); i++ {
			if !isHostChar(h[i]) || h[i] == '@' || h[i] == ':' {
				return
			}
		}
		add(h)
	}
}

// urlHosts passes to add the host after each "//" in s, and reports
// whether there was one.
func urlHosts(s string, add func(string)) bool {
	found := false
	for i := 0; i+2 < len(s); i++ {
		n := strings.Index(s[i:], "//")
		if n < 0 {
			break
		}
		i += n
		j := i + 2
		k := j
		for k < len(s) && isHostChar(s[k]) {
			k++
		}
		if k > j {
			h := s[j:k]
			if at := strings.LastIndexByte(h, '@'); at >= 0 {
				h = h[at+1:]
			}
			if c := strings.IndexByte(h, ':'); c >= 0 {
				h = h[:c]
			}
			add(h)
			found = true
			i = k - 1
		}
		// With no host after it, the search goes on from the second
		// slash: in "///host" a URL parser skips the extra slashes, and
		// the host follows the last two.
	}
	return found
}

// lenientURLs passes to fn, resolved, each URL in s that names a host in
// a form urlHosts does not read, and reports whether there was one. A
// URL parser (the WHATWG URL standard, which browsers follow) takes a
// special scheme's URL with fewer than two slashes after its colon
// ("https:host/p", "https:/host", "http:\host"), and any run of two or
// more slashes and backslashes ("\\host", "/\host") as the start of a
// host, the second against an http(s) page. So new Image().src =
// "https:tracker…/p" contacts the tracker, and an inline script that
// named it so was kept (a generated Chromium test, 2026-12-05). A scheme
// counts after a byte that no scheme holds, or at the start, where the
// parser would read a URL that begins there; "file" names no host to
// contact. The URL runs to white space, a quote, a backtick or an angle
// bracket.
func lenientURLs(s string, fn func(*url.URL)) bool {
	found := false
	try := func(ref string) {
		if u, err := ResolveURL(nil, ref); err == nil && u.Host != "" {
			fn(u)
			found = true
		}
	}
	// A special scheme ends in p or s: http, https, ws, wss, ftp.
	for i := 0; i < len(s); i++ {
		n := strings.IndexByte(s[i:], ':')
		if n < 0 {
			break
		}
		i += n
		if i == 0 || s[i-1]|0x20 != 'p' && s[i-1]|0x20 != 's' || i+2 < len(s) && isSlash(s[i+1]) && isSlash(s[i+2]) {
			continue
		}
		j := i
		for j > 0 && isSchemeByte(s[j-1]) {
			j--
		}
		if sch := strings.ToLower(s[j:i]); sch != "file" && isSpecialScheme(sch) {
			try(s[j:urlEnd(s, i)])
		}
	}
	// A run of slashes and backslashes with a backslash in it, read from
	// its start (urlHosts reads "//").
	for i := 0; i < len(s); i++ {
		n := strings.IndexByte(s[i:], '\\')
		if n < 0 {
			break
		}
		i += n
		start, end := i, i+1
		for start > 0 && isSlash(s[start-1]) {
			start--
		}
		for end < len(s) && isSlash(s[end]) {
			end++
		}
		if end-start >= 2 {
			try("http:" + s[start:urlEnd(s, start)])
		}
		i = end - 1
	}
	return found
}

// tabInURL reports whether a tab or newline in s may lie inside a URL that
// reads otherwise without it: next to a colon, a slash or a backslash, or
// inside a word that a colon ends ("ht\ttps:"). Most strings that hold
// one are text or markup, which this spares a second reading: the saved
// pages rewritten with no facts cache took 77.8–79.5 ms (median 78.2)
// against 78.0–79.9 (79.1) when every such string was read again, each
// binary's fastest of 15 rounds in seven alternated runs (2026-12-05).
func tabInURL(s string) bool {
	for k := 0; k < len(s); k++ {
		if c := s[k]; c > '\r' || !isTabNewline(c) {
			continue
		}
		p, n := k-1, k+1
		for p >= 0 && isTabNewline(s[p]) {
			p--
		}
		for n < len(s) && isTabNewline(s[n]) {
			n++
		}
		if p < 0 || n == len(s) {
			continue
		}
		if strings.IndexByte(":/\\", s[p]) >= 0 || strings.IndexByte(":/\\", s[n]) >= 0 {
			return true
		}
		if isSchemeByte(s[p]) {
			for n < len(s) && (isSchemeByte(s[n]) || isTabNewline(s[n])) {
				n++
			}
			if n < len(s) && s[n] == ':' {
				return true
			}
		}
		k = n - 1
	}
	return false
}

// urlEnd returns where a URL in s that holds s[i] ends: at white space, a
// quote, a backtick, an angle bracket, or the end of s.
func urlEnd(s string, i int) int {
	for i < len(s) && s[i] > ' ' && s[i] != '"' && s[i] != '\'' && s[i] != '`' && s[i] != '<' && s[i] != '>' {
		i++
	}
	return i
}

// hasEncodedSlashes reports whether s holds a '/' percent-encoded once,
// twice or three times ("%2F", "%252F", "%25252F", in either case) with
// a '%' after it: the start of an encoded "//".
func hasEncodedSlashes(s string) bool {
	for i := 0; ; i++ {
		n := strings.IndexByte(s[i:], '%')
		if n < 0 {
			return false
		}
		i += n
		j := i + 1
		for k := 0; k < 2 && strings.HasPrefix(s[j:], "25"); k++ {
			j += 2
		}
		if j+3 <= len(s) && s[j] == '2' && s[j+1]|0x20 == 'f' && s[j+2] == '%' {
			return true
		}
	}
}

func isHostChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '-' || c == '_' || c == '@' || c == ':' || c == '%' || c >= 0x80
}
