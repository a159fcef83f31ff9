package rewrite

import "strings"

// Chromium's preload scanner reads the @import rules that begin a style
// element's text with a small state machine of its own, not CSS, and
// fetches what it reads: "@import //h/x.css;", which CSS ignores (a bare
// value is no URL), reached the vendor, and so did "@import x.css" at the
// end of the text under a base. preloadScanURLs lists what it may fetch,
// erring towards more: the scanner's states as Chromium's source has
// them (white space, comments, a rule's name up to white space or ";", its
// value up to white space), and a value taken whole, up to each ";" in it
// and through each ")" in it, the forms that Chromium 156 and its source
// fetched, each as its ParseCSSStringOrURL reads it (white space,
// url( … ) and matching quotes taken off). At a ";" or ")" in a value the
// source's scanner starts over, so the rest is read again from there too.
// Past maxScanRules such restarts the text is not read (ok is false).

// maxScanRules bounds how many rules preloadScanURLs reads from a ";" or
// ")" inside another's value: minified sheets hold no white space, so a
// value may run over the whole sheet, and each of its ";" may begin
// another "@import". Each place is read once.
const maxScanRules = 64

func preloadScanURLs(css string, out []string) (urls []string, ok bool) {
	var done map[int]bool // made when a rule begins inside a value
	rules := 0
	var scan func(p int) bool
	scan = func(p int) bool {
		for p < len(css) {
			switch c := css[p]; {
			case isSpace(c):
				p++
				continue
			case c == '/':
				if p+1 < len(css) && css[p+1] == '*' {
					i := strings.Index(css[p+2:], "*/")
					if i < 0 {
						return true
					}
					p += 2 + i + 2
				} else {
					p += 2 // "/" and the byte after it: back to the start state
				}
				continue
			case c != '@':
				return true
			case p+1 >= len(css):
				return true
			case !isASCIIAlpha(css[p+1]):
				p += 2
				continue
			}
			n := strings.IndexAny(css[p:], " \t\n\r\f;")
			if n < 0 {
				return true
			}
			name := css[p+1 : p+n]
			p += n
			if css[p] == ';' {
				p++
				continue
			}
			for p < len(css) && isSpace(css[p]) {
				p++
			}
			switch {
			case p == len(css):
				return true
			case css[p] == ';':
				p++
				continue
			case css[p] == '{':
				return true
			}
			e := p
			for e < len(css) && !isSpace(css[e]) {
				e++
			}
			v := css[p:e]
			imp := strings.EqualFold(name, "import")
			if imp {
				out = append(out, scannedURL(v))
			}
			for i := 0; i < len(v); i++ {
				c := v[i]
				if c != ';' && c != ')' {
					continue
				}
				if imp && c == ';' {
					out = append(out, scannedURL(v[:i]))
				} else if imp {
					out = append(out, scannedURL(v[:i+1]))
				}
				// Read on from here only where a rule may begin.
				q := p + i + 1
				for q < len(css) && isSpace(css[q]) {
					q++
				}
				if q < len(css) && (css[q] == '@' || css[q] == '/') && !done[q] {
					if done == nil {
						done = map[int]bool{}
					}
					done[q] = true
					if rules++; rules > maxScanRules || !scan(q) {
						return false
					}
				}
			}
			p = e
			for p < len(css) && isSpace(css[p]) {
				p++
			}
			switch {
			case p == len(css) || css[p] == '{':
				return true
			default:
				p++ // ";" ends the rule; any other byte is read in the start state
			}
		}
		return true
	}
	ok = scan(0)
	return out, ok
}

// nulls drops NULs and the U+FFFD an HTML parser reads them as.
var nulls = strings.NewReplacer("\x00", "", "\uFFFD", "")

// dropHigh returns s without its bytes from 0x80 up.
func dropHigh(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] < 0x80 {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// scannedURL is Chromium's ParseCSSStringOrURL: v without the white space
// around it, its url( and ) when it has both, the white space inside, and
// its quotes when it begins and ends with the same one.
func scannedURL(v string) string {
	v = strings.Trim(v, " \t\n\r\f")
	if len(v) >= 5 && strings.EqualFold(v[:4], "url(") && v[len(v)-1] == ')' {
		v = strings.Trim(v[4:len(v)-1], " \t\n\r\f")
	}
	if len(v) >= 2 && v[0] == v[len(v)-1] && (v[0] == '"' || v[0] == '\'') {
		v = v[1 : len(v)-1]
	}
	return v
}

// preloadScan returns d, the decision for the sheet css of a style
// element as CSS reads it, made stronger by what Chromium's preload
// scanner may fetch from its text (preloadScanURLs). Those URLs are
// counted only when they change d, as one resource: most are the sheet's
// own @import URLs, counted already. Text the scanner model cannot read
// is decided as an unresolvable URL (ambiguous_context).
func (r *Writer) preloadScan(d Decision, css, tagName string) Decision {
	if !strings.Contains(css, "@") {
		return d
	}
	urls, ok := preloadScanURLs(css, r.scanURLs[:0])
	if ok && (strings.IndexByte(css, 0) >= 0 || hasHigh(css)) {
		// Chromium fetched "@imp\x00ort url", "@\x00import url" and
		// "@import\x00 url", JavaScript on and off, and nothing when the
		// NUL was anywhere else that was tried (a generated Chromium test,
		// 2026-12-05; testdata/adversarial.txt): read again without the
		// NULs, erring towards more, and without any U+FFFD: x/net/html,
		// the rewriter's oracle, gives a NUL in foreign content as one.
		if clean := nulls.Replace(css); clean != css {
			urls, ok = preloadScanURLs(clean, urls)
			css = clean
		}
		// A byte that is no character of the encoding the browser reads
		// the page in is a U+FFFD to it (0x85 in UTF-8, 0xD1 before an
		// ASCII byte), which the reading above drops: read a third time
		// without any byte from 0x80 up (FuzzEncodings f866577c0a16f143,
		// d6ab3318d5a9c2b4).
		if ok && hasHigh(css) {
			urls, ok = preloadScanURLs(dropHigh(css), urls)
		}
	}
	r.scanURLs = urls
	var best Decision
	if !ok {
		r.stats.failClosed(FailAmbiguous)
		best = r.decideUnresolvable(KindCSS, tagName)
	}
	for _, u := range urls {
		if u != "" {
			best = stronger(best, r.decideURL(KindCSS, tagName, u))
		}
	}
	if best.outranks(&d) {
		r.record(KindCSS, &best)
		return best
	}
	return d
}
