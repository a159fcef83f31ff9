package rewrite

import (
	"bytes"
	"html"
	"strings"
)

// An SVG <style> is a style sheet, as an HTML one is: Chromium loads its
// @import, and its url()s wherever the rules apply (an HTML element's
// background included). A MathML <style> is no style sheet, but
// Chromium's preload scanner, which reads tags by name, fetches its
// @import rules all the same: it is read the same way, with its raw text
// too. Its content is not raw text, though: it is parsed
// as markup, and the sheet is its child text, with character references
// decoded, CDATA sections taken in and comments left out. Its start tag is
// decided once that whole text is read (svgStyleAhead): a sheet that loads
// a URL the policy does not keep gets type="text/plain", which switches it
// off, and the element's mark for the runtime, which gives the type back.

// svgStyle is what svgStyleAhead read for the SVG <style> start tag that
// startTag is about to handle: its sheet, or failed when the sheet could
// not be read (fail closed).
type svgStyle struct {
	set, failed bool
	css         string
	// raw is the content as it came, which Chromium's preload scanner
	// reads as a style's raw text, @import rules and all.
	raw string
}

// svgStyleAhead reads, for the start tag raw, when it opens a style
// element in SVG or MathML, the sheet in rest (the input after it) into
// r.svgStyle. It reports false when the sheet's end is not in rest yet and more input may
// bring it: the caller waits, with the tag not consumed. A sheet whose
// content runs past MaxTokenSize, or that holds markup other than
// comments and CDATA sections, is not read: failed is set.
//
// The caller asks only in foreign content, where each start tag clears
// what the last one read.
func (r *Writer) svgStyleAhead(raw, rest []byte, eof bool) bool {
	r.svgStyle = svgStyle{}
	if r.opts.Policy == nil || len(raw) < 7 {
		return true
	}
	if m, _ := hasPrefixFold(raw[1:], "style"); !m || !tagDelim(raw[6]) || raw[len(raw)-2] == '/' {
		return true
	}
	if r.tree.htmlRulesForStart("style") {
		return true
	}
	css, end, clean := svgSheet(rest, eof)
	switch {
	case end < 0 && !eof && len(rest) <= r.max:
		return false
	case end < 0 || end > r.max || !clean || r.ambiguous(rest[:end]):
		// Unreadable, or read differently in an encoding the page does
		// not declare (ambiguous).
		r.svgStyle = svgStyle{set: true, failed: true}
	default:
		raw := rest[:end]
		if text, decoded := r.textOf(raw); decoded {
			// As the browser decodes the page (textOf): the markup in it
			// (comments, CDATA) is where it was, its bytes all ASCII.
			raw = text
			css, _, _ = svgSheet(text, true)
		}
		r.svgStyle = svgStyle{set: true, css: css, raw: string(raw)}
	}
	return true
}

// tagDelim reports whether c ends a tag name.
func tagDelim(c byte) bool {
	return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// svgSheet reads the content of an SVG style element from b: the text, its
// character references decoded, and the text of CDATA sections, up to the
// element's end (</style>, or the </svg> that closes it too). It returns
// the sheet, where the end starts (-1 when b holds no end yet; at eof, the
// end of b), and clean false when the content holds other markup: a child
// element or another end tag, whose handling a reading this simple would
// get wrong.
func svgSheet(b []byte, eof bool) (css string, end int, clean bool) {
	var sb strings.Builder
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			j = len(b) - i
		}
		if j > 0 {
			sb.WriteString(html.UnescapeString(string(b[i : i+j])))
			i += j
			continue
		}
		m := b[i:]
		if !eof && tooShort(m) {
			return "", -1, true
		}
		switch {
		case endTagNamed(m, "style") || endTagNamed(m, "svg"):
			return sb.String(), i, true
		case bytes.HasPrefix(m, []byte("<!--")):
			k, done := commentLen(m, eof)
			if !done {
				if eof {
					return sb.String(), len(b), true
				}
				return "", -1, true
			}
			i += k
		case bytes.HasPrefix(m, []byte("<![CDATA[")):
			k := bytes.Index(m[9:], []byte("]]>"))
			if k < 0 {
				if eof {
					sb.Write(m[9:])
					return sb.String(), len(b), true
				}
				return "", -1, true
			}
			sb.Write(m[9 : 9+k])
			i += 9 + k + 3
		case len(m) >= 2 && (isASCIIAlpha(m[1]) || m[1] == '/' || m[1] == '!' || m[1] == '?'):
			return "", i, false
		default:
			sb.WriteByte('<')
			i++
		}
	}
	if eof {
		return sb.String(), len(b), true
	}
	return "", -1, true
}

// tooShort reports whether b, which starts with <, is too short to tell
// an end of the sheet (whose name needs a byte after it), a comment or a
// CDATA section from other markup or text.
func tooShort(b []byte) bool {
	for _, p := range [...]string{"</style", "</svg"} {
		if m, more := hasPrefixFold(b, p); more || m && len(b) == len(p) {
			return true
		}
	}
	_, cdata := hasPrefix(b, "<![CDATA[")
	_, comment := hasPrefix(b, "<!--")
	return cdata || comment || len(b) < 2
}

// endTagNamed reports whether b starts with the end tag </name (any case)
// and a byte that ends its name.
func endTagNamed(b []byte, name string) bool {
	m, _ := hasPrefixFold(b, "</"+name)
	return m && len(b) > len(name)+2 && tagDelim(b[len(name)+2])
}

// commentLen returns the length of the comment b starts with, and false
// when b holds no end for it.
func commentLen(b []byte, eof bool) (int, bool) {
	if bytes.HasPrefix(b, []byte("<!-->")) {
		return 5, true
	}
	if bytes.HasPrefix(b, []byte("<!--->")) {
		return 6, true
	}
	n, done := scanCommentEnd(b[4:], eof)
	return 4 + n, done
}

// svgStyleDecision decides the sheet svgStyleAhead read for the SVG style
// element t, and clears it. A proxied URL or a placeholder is deferred:
// the sheet is given back as it came.
func (r *Writer) svgStyleDecision(tagName string) Decision {
	s := r.svgStyle
	r.svgStyle = svgStyle{}
	var d Decision
	switch {
	case !s.set:
	case s.failed:
		r.stats.failClosed(FailAmbiguous)
		d = r.decideUnresolvable(KindCSS, tagName)
		r.record(KindCSS, &d)
	default:
		if styleMayLoad([]byte(s.css)) {
			_, d = r.rewriteCSS(s.css, tagName)
		}
		if s.raw != s.css && styleMayLoad([]byte(s.raw)) {
			_, rd := r.rewriteCSS(s.raw, tagName)
			d = stronger(d, rd)
		}
		d = r.preloadScan(d, s.raw, tagName)
	}
	if d.Action == RewriteURL || d.Action == Placeholder {
		d.Action = Defer
	}
	return d
}
