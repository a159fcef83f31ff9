package rewrite

import (
	"errors"

	"github.com/tdewolff/parse/v2/js"
)

// ErrScriptUnreadable is returned by ReplaceJSStrings for a script the
// JavaScript lexer cannot read to its end.
var ErrScriptUnreadable = errors.New("script not readable to its end")

// ReplaceJSStrings copies the JavaScript src, passing the raw content of
// every string and template literal to fn: the bytes between the quotes
// (or between ` and ${, } and `), escapes as written. Where fn returns
// true, its result replaces that content; every other byte is copied as it
// came. It returns the new script and the number of literals replaced.
//
// The analytics proxy uses it to point a vendor script's endpoints at the
// site's own paths. Regular expression literals, comments and code are
// never passed to fn. A script the lexer cannot read to its end is an
// error, and nothing is returned: a half-rewritten vendor script could
// still call the vendor.
func ReplaceJSStrings(src []byte, fn func(raw string) (string, bool)) ([]byte, int, error) {
	l := js.NewLexer(newInput(src))
	out := make([]byte, 0, len(src)+len(src)/16)
	n, consumed := 0, 0
	prev := js.ErrorToken
	for {
		tt, data := l.Next()
		switch tt {
		case js.ErrorToken:
			if l.Err() != nil && l.Err().Error() != "EOF" || consumed < len(src) {
				return nil, 0, ErrScriptUnreadable
			}
			return out, n, nil
		case js.DivToken, js.DivEqToken:
			if regexAllowed(prev) {
				tt, data = l.RegExp()
				if tt == js.ErrorToken {
					return nil, 0, ErrScriptUnreadable
				}
			}
		}
		consumed += len(data)
		switch tt {
		case js.WhitespaceToken, js.LineTerminatorToken, js.CommentToken, js.CommentLineTerminatorToken:
			out = append(out, data...)
			continue
		case js.StringToken, js.TemplateToken, js.TemplateStartToken, js.TemplateMiddleToken, js.TemplateEndToken:
			open, close := 1, 1
			switch tt {
			case js.TemplateStartToken, js.TemplateMiddleToken:
				close = 2 // ${
			}
			if len(data) >= open+close {
				if s, ok := fn(string(data[open : len(data)-close])); ok {
					out = append(out, data[:open]...)
					out = append(out, s...)
					out = append(out, data[len(data)-close:]...)
					n++
					prev = tt
					continue
				}
			}
		}
		if js.IsIdentifier(tt) && !js.IsReservedWord(tt) {
			tt = js.IdentifierToken
		}
		out = append(out, data...)
		prev = tt
	}
}
