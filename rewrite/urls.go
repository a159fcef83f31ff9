package rewrite

import (
	"bytes"
	"errors"
	"html"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/net/idna"
)

// decodeAttr decodes an attribute value as a browser's tokenizer does:
// character references, including the attribute rule for legacy named
// references without a semicolon (not decoded before '=' or an
// alphanumeric), and each NUL byte becomes U+FFFD. A NUL is therefore
// never a C0 control that URL parsing strips: "\x00a.js" is the relative
// "\uFFFDa.js".
func decodeAttr(b []byte) string {
	if plainAttr(b) {
		return string(b)
	}
	d := appendDecoded(make([]byte, 0, len(b)), b)
	if len(d) == 0 {
		return ""
	}
	return unsafe.String(&d[0], len(d)) // d is never written again
}

// nonASCIIRef reports whether b, an attribute value, has a character
// reference that names a character outside ASCII.
func nonASCIIRef(b []byte) bool {
	d, spans := appendDecodedSpans(nil, b, nil, true)
	for _, s := range spans {
		if b[s.from] == '&' && hasHigh(d[s.at:s.at+s.n]) {
			return true
		}
	}
	return false
}

// appendDecoded appends b, an attribute value, decoded as decodeAttr
// decodes it, to dst.
func appendDecoded(dst, b []byte) []byte {
	dst, _ = appendDecodedSpans(dst, b, nil, false)
	return dst
}

// appendDecodedSpans is appendDecoded that, when track is set, appends to
// spans where each NUL and reference of b lies in b and in what it
// appends (from dst's start), for origOffset.
func appendDecodedSpans(dst, b []byte, spans []replaced, track bool) ([]byte, []replaced) {
	base := len(dst)
	for i := 0; i < len(b); {
		if c := b[i]; c != 0 && c != '&' {
			j := i + 1 // a run of bytes that are themselves, copied whole
			for j < len(b) && b[j] != 0 && b[j] != '&' {
				j++
			}
			dst = append(dst, b[i:j]...)
			i = j
			continue
		}
		at, from := len(dst), i
		switch {
		case b[i] == 0:
			dst = append(dst, "\uFFFD"...)
			i++
		case i+1 < len(b) && b[i+1] == '#':
			n, v := numericRef(b[i:])
			if n == 1 {
				dst = append(dst, '&')
			} else {
				dst = utf8.AppendRune(dst, v)
			}
			i += n
		default:
			n, s := namedRef(b[i:])
			dst = append(dst, s...)
			i += n
		}
		if track && (i-from != 1 || len(dst)-at != 1) {
			spans = append(spans, replaced{from, i, at - base, len(dst) - at})
		}
	}
	return dst, spans
}

func containsByte(b []byte, c byte) bool { return bytes.IndexByte(b, c) >= 0 }

// plainAttr reports whether an attribute value reads as its bytes: it
// holds no character reference and no NUL.
func plainAttr(b []byte) bool { return !containsByte(b, '&') && !containsByte(b, 0) }

func isAlnum(c byte) bool { return isASCIIAlpha(c) || (c >= '0' && c <= '9') }

// windows1252 maps numeric references 0x80–0x9F as the HTML spec does.
var windows1252 = map[rune]rune{
	0x80: 0x20AC, 0x82: 0x201A, 0x83: 0x0192, 0x84: 0x201E, 0x85: 0x2026, 0x86: 0x2020,
	0x87: 0x2021, 0x88: 0x02C6, 0x89: 0x2030, 0x8A: 0x0160, 0x8B: 0x2039, 0x8C: 0x0152,
	0x8E: 0x017D, 0x91: 0x2018, 0x92: 0x2019, 0x93: 0x201C, 0x94: 0x201D, 0x95: 0x2022,
	0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02DC, 0x99: 0x2122, 0x9A: 0x0161, 0x9B: 0x203A,
	0x9C: 0x0153, 0x9E: 0x017E, 0x9F: 0x0178,
}

// commonRefs are the named references attribute values hold most, read
// without a lookup or a new string: "&amp;" in a URL's query, the others
// in a srcdoc's markup.
var commonRefs = [...]struct{ name, value string }{
	{"&amp;", "&"}, {"&quot;", `"`}, {"&lt;", "<"}, {"&gt;", ">"},
}

// numericRef reads b, which begins "&#", as a numeric character reference
// and returns its length and the character it stands for, or a length of
// 1 when no digit follows (a bare "&"). An out-of-range or surrogate
// value is U+FFFD, and 0x80–0x9F map as windows-1252 does.
func numericRef(b []byte) (int, rune) {
	i := 2
	hex := false
	if i < len(b) && (b[i] == 'x' || b[i] == 'X') {
		hex = true
		i++
	}
	start := i
	var v rune
	for i < len(b) {
		c := b[i]
		var d rune
		switch {
		case c >= '0' && c <= '9':
			d = rune(c - '0')
		case hex && (c|0x20) >= 'a' && (c|0x20) <= 'f':
			d = rune(c|0x20) - 'a' + 10
		default:
			goto done
		}
		if v < 0x110000 {
			if hex {
				v = v*16 + d
			} else {
				v = v*10 + d
			}
		}
		i++
	}
done:
	if i == start {
		return 1, 0
	}
	if i < len(b) && b[i] == ';' {
		i++
	}
	if r, ok := windows1252[v]; ok {
		v = r
	}
	if v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) {
		v = utf8.RuneError
	}
	return i, v
}

// namedRef decodes the named reference at b (b[0] == '&', and b[1] no
// '#': numericRef reads those) and returns how many bytes it used and its
// text, "&" alone when b holds no reference.
func namedRef(b []byte) (int, string) {
	for _, r := range commonRefs {
		if len(b) >= len(r.name) && string(b[:len(r.name)]) == r.name {
			return len(r.name), r.value
		}
	}
	i := 1
	for i < len(b) && isAlnum(b[i]) && i < 40 {
		i++
	}
	if i == 1 {
		return 1, "&"
	}
	if i < len(b) && b[i] == ';' {
		full := string(b[:i+1]) // "&name;"
		if d := html.UnescapeString(full); d != full && !strings.HasSuffix(d, ";") {
			return i + 1, d
		}
		return 1, "&"
	}
	if i < len(b) && b[i] == '=' {
		return 1, "&"
	}
	// Legacy reference without a semicolon: decoded only when the whole
	// alphanumeric run is the name (else the next char is alphanumeric).
	full := string(b[:i]) // "&name"
	if d := html.UnescapeString(full); d != full && d == html.UnescapeString(full+";") {
		return i, d
	}
	return 1, "&"
}

var errNoHost = errors.New("no host")

var errBadPort = errors.New("invalid port")

func isSpecialScheme(s string) bool {
	switch s {
	case "http", "https", "ws", "wss", "ftp", "file":
		return true
	}
	return false
}

// cleanURL strips leading and trailing C0 controls and spaces and removes
// every tab, LF and CR, as the URL parser does.
func cleanURL(s string) string {
	s = trimC0Space(s)
	if hasTabOrNewline(s) {
		s = tabNewline.Replace(s)
	}
	return s
}

// trimC0Space strips leading and trailing C0 controls and spaces.
func trimC0Space(s string) string {
	i, j := 0, len(s)
	for i < j && s[i] <= 0x20 {
		i++
	}
	for j > i && s[j-1] <= 0x20 {
		j--
	}
	return s[i:j]
}

// tabNewline strips the tabs and newlines a URL parser ignores.
var tabNewline = strings.NewReplacer("\t", "", "\n", "", "\r", "")

// isSchemeByte reports whether c may be part of a URL's scheme.
func isSchemeByte(c byte) bool { return isAlnum(c) || c == '+' || c == '-' || c == '.' }

// splitScheme returns the lower-case scheme of s and the rest, if s has one.
func splitScheme(s string) (scheme, rest string, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isASCIIAlpha(c):
		case i > 0 && isSchemeByte(c):
		case i > 0 && c == ':':
			return strings.ToLower(s[:i]), s[i+1:], true
		default:
			return "", s, false
		}
	}
	return "", s, false
}

// ResolveURL resolves ref against base as a browser's URL parser does for the
// parts that decide which host is contacted: backslashes in special URLs,
// scheme-relative URLs, missing or extra slashes after a special scheme,
// userinfo, percent-encoded and IDN hosts, any case and a trailing dot.
// The returned URL has a lower-case ASCII host without a trailing dot.
func ResolveURL(base *url.URL, ref string) (*url.URL, error) {
	u := new(url.URL)
	if err := resolveInto(u, base, ref); err != nil {
		return nil, err
	}
	return u, nil
}

// resolveInto is ResolveURL writing into dst, which it resets first; its
// strings are ref's substrings wherever possible, so the common cases do not
// allocate.
func resolveInto(dst, base *url.URL, ref string) error {
	*dst = url.URL{}
	if base != nil && resolvePath(dst, base, ref) {
		return nil
	}
	s := cleanURL(ref)
	scheme, rest, has := splitScheme(s)
	if has && !isSpecialScheme(scheme) {
		// data:, blob:, javascript:, mailto:, about: … carry no host to contact
		// (blob: and javascript: are same-origin).
		dst.Scheme, dst.Opaque = scheme, rest
		return nil
	}
	if !has {
		if base == nil {
			return errNoHost
		}
		scheme = base.Scheme
		rest = s
		if isSpecialScheme(scheme) && len(rest) >= 2 && isSlash(rest[0]) && isSlash(rest[1]) {
			return parseAuthority(dst, scheme, rest)
		}
		return resolveRelative(dst, base, rest)
	}
	if base != nil && base.Scheme == scheme && !(len(rest) >= 2 && isSlash(rest[0]) && isSlash(rest[1])) {
		// "https:foo" on an https page is relative.
		return resolveRelative(dst, base, rest)
	}
	return parseAuthority(dst, scheme, rest)
}

func hasTabOrNewline(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= '\r' && isTabNewline(c) {
			return true
		}
	}
	return false
}

func isTabNewline(c byte) bool { return c == '\t' || c == '\n' || c == '\r' }

func isSlash(c byte) bool { return c == '/' || c == '\\' }

// parseAuthority reads "//user@host:port/path?q#f" (any number of slashes or
// backslashes first) for a special scheme.
func parseAuthority(u *url.URL, scheme, rest string) error {
	i := 0
	for i < len(rest) && isSlash(rest[i]) {
		i++
	}
	rest = rest[i:]
	end := indexMarked(rest, &authStop, 1, 0)
	auth, tail := rest[:end], rest[end:]
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
	}
	host := auth
	if strings.HasPrefix(host, "[") {
		if j := strings.IndexByte(host, ']'); j >= 0 {
			host = host[:j+1]
		}
	} else if j := strings.IndexByte(host, ':'); j >= 0 {
		// A port is digits; anything else fails the URL parser.
		for _, c := range []byte(host[j+1:]) {
			if c < '0' || c > '9' {
				return errBadPort
			}
		}
		host = host[:j]
	}
	h, err := normalizeHost(host)
	if err != nil {
		return err
	}
	if h == "" && scheme != "file" {
		return errNoHost
	}
	u.Scheme, u.Host = scheme, h
	splitPathQuery(u, tail)
	if strings.IndexByte(u.Path, '\\') >= 0 {
		// A backslash is a slash in the path of a special URL, and only
		// there: the query keeps it.
		u.Path = strings.ReplaceAll(u.Path, "\\", "/")
	}
	return nil
}

// indexMarked returns the index of the first byte of s at or after k
// whose entry in t has a bit of mask set, or len(s). The bytes looked for
// are rare (the end of a URL's authority or path, white space in a
// srcset), so four are tested at a time: one OR of their entries and one
// branch.
func indexMarked(s string, t *[256]uint8, mask uint8, k int) int {
	for k+4 <= len(s) && (t[s[k]]|t[s[k+1]]|t[s[k+2]]|t[s[k+3]])&mask == 0 {
		k += 4
	}
	for k < len(s) && t[s[k]]&mask == 0 {
		k++
	}
	return k
}

// authStop marks the bytes that end a URL's authority.
var authStop = func() (t [256]uint8) {
	t['/'], t['\\'], t['?'], t['#'] = 1, 1, 1, 1
	return t
}()

func splitPathQuery(u *url.URL, tail string) {
	if i := strings.IndexByte(tail, '#'); i >= 0 {
		tail = tail[:i]
	}
	if i := strings.IndexByte(tail, '?'); i >= 0 {
		u.RawQuery = tail[i+1:]
		tail = tail[:i]
	}
	if tail == "" {
		tail = "/"
	}
	u.Path = tail
}

// pathStop marks the bytes after which resolvePath gives a reference up
// to the general parser: '#', '\\', and the tab, LF and CR that it strips.
// '?' ends the path (pathStop 2).
var pathStop = func() (t [256]uint8) {
	t['#'], t['\\'], t['\t'], t['\n'], t['\r'] = 1, 1, 1, 1, 1
	t['?'] = 2
	return t
}()

// resolvePath resolves the most common reference, a path from the root
// ("/cdn/p.jpg?v=1"), in one pass over it: the scheme and host are the
// base's, the path and query the reference's. It reports false, having
// set nothing, for any other reference, and for one with a fragment, a
// backslash, a tab or a newline, which the general parser handles.
func resolvePath(u, base *url.URL, ref string) bool {
	s := trimC0Space(ref)
	if len(s) == 0 || s[0] != '/' || len(s) >= 2 && isSlash(s[1]) {
		return false
	}
	q := -1
	for k := indexMarked(s, &pathStop, 3, 1); k < len(s); k = indexMarked(s, &pathStop, 3, k+1) {
		if pathStop[s[k]] == 1 {
			return false
		}
		if q < 0 {
			q = k // '?'
		}
	}
	u.Scheme, u.Host = base.Scheme, base.Host
	if q < 0 {
		u.Path = s
	} else {
		u.Path, u.RawQuery = s[:q], s[q+1:]
	}
	return true
}

func resolveRelative(u, base *url.URL, rest string) error {
	if base == nil {
		return errNoHost
	}
	if isSpecialScheme(base.Scheme) && strings.IndexByte(rest, '\\') >= 0 {
		if i := strings.IndexAny(rest, "?#"); i >= 0 {
			rest = strings.ReplaceAll(rest[:i], "\\", "/") + rest[i:]
		} else {
			rest = strings.ReplaceAll(rest, "\\", "/")
		}
	}
	u.Scheme, u.Host = base.Scheme, base.Host
	p := rest
	if i := strings.IndexByte(p, '#'); i >= 0 {
		p = p[:i]
	}
	q := ""
	hasQ := false
	if i := strings.IndexByte(p, '?'); i >= 0 {
		q, p, hasQ = p[i+1:], p[:i], true
	}
	switch {
	case p == "":
		u.Path = base.Path
		if hasQ {
			u.RawQuery = q
		} else {
			u.RawQuery = base.RawQuery
		}
		return nil
	case p[0] == '/':
		u.Path = p
	default:
		dir := base.Path
		if i := strings.LastIndexByte(dir, '/'); i >= 0 {
			dir = dir[:i+1]
		} else {
			dir = "/"
		}
		u.Path = dir + p
	}
	u.RawQuery = q
	return nil
}

// normalizeHost percent-decodes, lower-cases and IDNA-encodes a host, and
// strips a trailing dot.
func normalizeHost(h string) (string, error) {
	if strings.IndexByte(h, '%') >= 0 {
		d, err := url.PathUnescape(h)
		if err != nil {
			return "", err
		}
		h = d
	}
	if strings.HasPrefix(h, "[") {
		return strings.ToLower(h), nil
	}
	if hasHigh(h) {
		a, err := idna.Lookup.ToASCII(h)
		if err != nil {
			return "", err
		}
		h = a
	}
	h = strings.ToLower(h)
	h = strings.TrimSuffix(h, ".")
	if v, ok := ipv4Number(h); ok {
		h = v
	}
	return h, nil
}

// ipv4Number turns the numeric host forms browsers accept (0x7f.1, 2130706433)
// into dotted decimal.
func ipv4Number(h string) (string, bool) {
	if h == "" || !(h[len(h)-1] >= '0' && h[len(h)-1] <= '9') && !strings.HasPrefix(h, "0x") {
		return "", false
	}
	parts := strings.Split(h, ".")
	if len(parts) > 4 {
		return "", false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		base := 10
		switch {
		case strings.HasPrefix(p, "0x") || strings.HasPrefix(p, "0X"):
			p, base = p[2:], 16
		case len(p) > 1 && p[0] == '0':
			p, base = p[1:], 8
		}
		if p == "" {
			nums[i] = 0
			continue
		}
		v, err := strconv.ParseUint(p, base, 64)
		if err != nil {
			return "", false
		}
		nums[i] = v
	}
	var v uint64
	for i, n := range nums[:len(nums)-1] {
		if n > 255 {
			return "", false
		}
		v |= n << (8 * (3 - i))
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return "", false
	}
	v |= last
	return strconv.Itoa(int(v>>24)) + "." + strconv.Itoa(int(v>>16&255)) + "." + strconv.Itoa(int(v>>8&255)) + "." + strconv.Itoa(int(v&255)), true
}
