package caddymodule

import (
	"net/http"
	"strings"
)

// mediaType returns the MIME type essence and charset a browser takes
// from a response's Content-Type header fields, by Fetch's "extract a
// MIME type": the fields' values joined and split at commas outside
// quoted strings, the last value that parses as a MIME type (other than
// */*), and the charset of the latest of those with the same essence
// that names one. typed is false when no value parses, and a browser
// then sniffs the body.
//
// mime.ParseMediaType refuses what browsers take: "text/plain,
// text/html", "text/html, x" and a repeated charset are HTML to a
// browser, and were no HTML type here, so the page would have passed
// unrewritten.
func mediaType(hdr http.Header) (essence, charset string, typed bool) {
	values := hdr.Values("Content-Type")
	switch {
	case len(values) == 0:
		return "", "", false
	case len(values) == 1 && !strings.Contains(values[0], ","):
		// The usual header: one value, read without joining and splitting.
		e, cs, _, ok := parseMIMEType(values[0])
		if !ok || e == "*/*" {
			return "", "", false
		}
		return e, cs, true
	}
	var first string // the charset of the first value of this essence
	for _, v := range splitOutsideQuotes(strings.Join(values, ",")) {
		e, cs, hasCS, ok := parseMIMEType(v)
		if !ok || e == "*/*" {
			continue
		}
		switch {
		case e != essence:
			essence, first, charset = e, cs, cs
		case hasCS:
			charset = cs
		default:
			charset = first
		}
		typed = true
	}
	return essence, charset, typed
}

// splitOutsideQuotes splits a header value at the commas that are not in
// a quoted string (Fetch's "get, decode, and split").
func splitOutsideQuotes(s string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == ',':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// parseMIMEType parses one value as the MIME Sniffing standard does and
// returns its essence, lower-case, and its charset parameter (the first
// valid one, which may be empty), or false when it is no MIME type.
func parseMIMEType(s string) (essence, charset string, hasCharset, ok bool) {
	s = strings.Trim(s, " \t\r\n")
	slash := strings.IndexByte(s, '/')
	if slash <= 0 || !isToken(s[:slash]) {
		return "", "", false, false
	}
	rest := s[slash+1:]
	end := strings.IndexByte(rest, ';')
	if end < 0 {
		end = len(rest)
	}
	sub := strings.TrimRight(rest[:end], " \t\r\n")
	if sub == "" || !isToken(sub) {
		return "", "", false, false
	}
	essence = strings.ToLower(s[:slash+1+len(sub)]) // type, '/', subtype
	for rest = rest[end:]; rest != ""; {
		rest = strings.TrimLeft(rest[1:], " \t\r\n") // past the ';'
		i := strings.IndexAny(rest, ";=")
		if i < 0 {
			break // a name with no value
		}
		name := strings.ToLower(rest[:i])
		if rest[i] == ';' {
			rest = rest[i:]
			continue
		}
		rest = rest[i+1:]
		var value string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			j := 1
			for ; j < len(rest) && rest[j] != '"'; j++ {
				if rest[j] == '\\' && j+1 < len(rest) {
					j++
				}
				b.WriteByte(rest[j])
			}
			value = b.String()
			if k := strings.IndexByte(rest[min(j, len(rest)):], ';'); k >= 0 {
				rest = rest[j+k:]
			} else {
				rest = ""
			}
		} else {
			k := strings.IndexByte(rest, ';')
			if k < 0 {
				k = len(rest)
			}
			value = strings.TrimRight(rest[:k], " \t\r\n")
			rest = rest[k:]
			if value == "" {
				continue
			}
		}
		if name == "charset" && !hasCharset && validParamValue(value) {
			charset, hasCharset = value, true
		}
	}
	return essence, charset, hasCharset, true
}

// isToken reports whether s is made of HTTP token code points only.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// validParamValue reports whether a parameter value holds only HTTP
// quoted-string code points (tab, and space to U+00FF but DEL).
func validParamValue(s string) bool {
	for _, r := range s {
		if r != '\t' && (r < 0x20 || r == 0x7f || r > 0xff) {
			return false
		}
	}
	return true
}
