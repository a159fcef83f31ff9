package rewrite

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/net/html/charset"
)

// SVGType is the media type of an SVG file.
const SVGType = "image/svg+xml"

// EmptySVG is what an SVG file that cannot be read is sent as: an SVG
// document that draws and loads nothing.
const EmptySVG = `<svg xmlns="http://www.w3.org/2000/svg"/>`

const svgNS = "http://www.w3.org/2000/svg"

// svgMaxDepth caps how deeply an SVG file's elements may nest: the XML
// decoder keeps a record of each open one.
const svgMaxDepth = 4096

// errUnreadSVG stops FilterSVG's reading where the file cannot be read
// safely.
var errUnreadSVG = errors.New("rewrite: SVG file not read")

// FilterSVG applies the policy to an SVG file (or another XML document)
// of the site's, the body of the response from file, against which its
// URLs resolve. A page's <svg><use href="/icons.svg#a"> draws the
// file's element in the page, and Chromium 156 loaded what the element
// named there, before any choice: an <image>'s href (under any prefix
// the file binds to XLink), a fill's url() on another host, a style
// attribute's mask-image and cursor. The file's own
// Content-Security-Policy does not apply to it there.
//
// The file is read as XML, with its namespaces: each element's href (in
// no namespace or any other, but not an <a>'s, which is a link) and src
// is decided as an image, and each attribute in no namespace that may
// name a URL as CSS (cssMayLoad: a style attribute, fill, filter, mask,
// …) is read as CSS, its
// URLs decided as a style sheet's are. An SVG <style>'s text is read as
// a style sheet. An animation of an href (<set attributeName="href"
// to=…>) has its to, from, by and values decided as URLs. An href or src
// that the policy removes or defers is dropped from its element, an
// animation's value with it; a URL in CSS is neutralised in place
// (url("data:,")), as in a style sheet the module rewrites. A file has
// no consent runtime to give anything back: what it defers does not load
// after consent either.
//
// Chromium used the elements of a file that is not well-formed up to its
// first error, so a file that is not well-formed XML in UTF-8 (as
// encoding/xml reads it, with no entities but XML's own; one declared in
// another encoding is read when it reads as UTF-8 does, svgReadsAsUTF8),
// that declares
// entities (an internal DTD subset), or that nests more than 4,096
// elements deep, is not read: it becomes EmptySVG, counted as
// FailUnreadSVG. When nothing changes, body is returned as it is;
// otherwise only the attributes and sheets that change are written
// again, and the other bytes leave as they came. Decisions are counted in
// st, which may be nil, only for a file that is read.
func FilterSVG(body []byte, file *url.URL, p Policy, st *Stats) (out []byte, changed int) {
	if p == nil {
		return body, 0
	}
	if st == nil {
		st = &Stats{}
	}
	// A file that cannot be read is sent empty: what it named up to its
	// error loads nothing, and is not counted.
	read := Stats{findings: st.findings}
	r := NewWriter(io.Discard, Options{Policy: p, PageURL: file})
	r.stats = &read
	edits, err := svgEdits(body, r)
	if err != nil {
		st.failClosed(FailUnreadSVG)
		return []byte(EmptySVG), 1
	}
	st.Merge(&read)
	if len(edits) == 0 {
		return body, 0
	}
	var b bytes.Buffer
	b.Grow(len(body))
	last := 0
	for _, e := range edits {
		b.Write(body[last:e.start])
		b.WriteString(e.repl)
		last = e.end
	}
	b.Write(body[last:])
	return b.Bytes(), len(edits)
}

// svgReadsAsUTF8 reports whether a browser reads body, whose XML
// declaration names the encoding label, as the same characters as
// UTF-8: after a UTF-8 byte order mark, which Chromium follows over the
// declaration; or, in an encoding that gives ASCII bytes their ASCII
// meaning (ISO-8859-1, windows-1252, Shift_JIS…, the labels of the
// Encoding Standard; not UTF-16 nor ISO-2022-JP), a body of ASCII bytes
// alone, as the files that old SVG editors declared ISO-8859-1 are.
// Another file is sent empty; it is broken in Chromium 156 too, which
// read SVG files as UTF-8 whatever their declaration or Content-Type
// charset said, so that one declared ISO-8859-1 with an "é" in it failed
// to load as an image, and a <use> drew its file's elements only up to
// that byte.
func svgReadsAsUTF8(body []byte, label string) bool {
	if bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) {
		return true
	}
	enc, name := charset.Lookup(label)
	if name == "utf-8" {
		return true
	}
	if enc == nil || name == "utf-16be" || name == "utf-16le" || name == "replacement" || name == "iso-2022-jp" {
		return false
	}
	for _, c := range body {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// svgEdit replaces body[start:end] with repl.
type svgEdit struct {
	start, end int
	repl       string
}

// svgEdits reads body (FilterSVG) and returns its edits, in order.
func svgEdits(body []byte, r *Writer) ([]svgEdit, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		if svgReadsAsUTF8(body, label) {
			return in, nil
		}
		return nil, errUnreadSVG
	}
	var edits []svgEdit
	var sheet strings.Builder
	prev, depth := 0, 0
	// The open SVG <style>'s depth, where its content begins, and how
	// many edits came before it: those after it, in elements inside it,
	// are dropped with the content when the sheet is written again.
	styleDepth, styleStart, styleEdits := 0, 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return edits, nil
		}
		if err != nil {
			return nil, err
		}
		end := int(d.InputOffset())
		if end < prev || end > len(body) {
			return nil, errUnreadSVG
		}
		raw := body[prev:end]
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > svgMaxDepth {
				return nil, errUnreadSVG
			}
			e, err := svgAttrEdits(r, raw, prev, &t)
			if err != nil {
				return nil, err
			}
			edits = append(edits, e...)
			if styleDepth == 0 && t.Name.Space == svgNS && t.Name.Local == "style" {
				styleDepth, styleStart, styleEdits = depth, end, len(edits)
				sheet.Reset()
			}
		case xml.EndElement:
			if depth == styleDepth {
				if css, ok := svgCSS(r, sheet.String(), "style"); !ok {
					edits = append(edits[:styleEdits], svgEdit{start: styleStart, end: prev, repl: xmlEscape(css, 0)})
				}
				styleDepth = 0
			}
			depth--
		case xml.CharData:
			if styleDepth > 0 && depth == styleDepth {
				sheet.Write(t)
			}
		case xml.Directive:
			// A DOCTYPE with an internal subset may declare entities,
			// which encoding/xml does not expand as the browser does.
			if bytes.IndexByte(t, '[') >= 0 {
				return nil, errUnreadSVG
			}
		}
		prev = end
	}
}

// svgAttrEdits decides the attributes of t, a start tag whose bytes, at
// off in the file, are raw, and returns the edits to them (FilterSVG).
func svgAttrEdits(r *Writer, raw []byte, off int, t *xml.StartElement) ([]svgEdit, error) {
	spans, ok := xmlAttrSpans(raw)
	if !ok || len(spans) != len(t.Attr) {
		return nil, errUnreadSVG
	}
	animatesHref := false
	switch t.Name.Local {
	case "set", "animate", "animateColor", "animateMotion", "animateTransform":
		for _, a := range t.Attr {
			if a.Name.Local == "attributeName" && a.Name.Space == "" {
				_, local, _ := strings.Cut(a.Value, ":")
				animatesHref = strings.TrimSpace(a.Value) == "href" || strings.TrimSpace(local) == "href"
			}
		}
	}
	var edits []svgEdit
	for i, a := range t.Attr {
		sp := spans[i]
		if name := raw[sp.name:sp.nameEnd]; len(name) < len(a.Name.Local) || string(name[len(name)-len(a.Name.Local):]) != a.Name.Local {
			return nil, errUnreadSVG // not the attribute encoding/xml read
		}
		drop := false
		switch {
		case a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns":
		case a.Name.Local == "href" && t.Name.Local != "a",
			a.Name.Space == "" && a.Name.Local == "src":
			drop = svgURLHeld(r, t.Name.Local, a.Value)
		case animatesHref && a.Name.Space == "" && (a.Name.Local == "to" || a.Name.Local == "from" || a.Name.Local == "by"):
			drop = svgURLHeld(r, t.Name.Local, a.Value)
		case animatesHref && a.Name.Space == "" && a.Name.Local == "values":
			for _, v := range strings.Split(a.Value, ";") {
				if v = strings.TrimSpace(v); v != "" && svgURLHeld(r, t.Name.Local, v) {
					drop = true
				}
			}
		case a.Name.Space == "" && cssMayLoad(a.Value):
			if css, ok := svgCSS(r, a.Value, t.Name.Local); !ok {
				q := raw[sp.val-1]
				edits = append(edits, svgEdit{start: off + sp.val, end: off + sp.valEnd, repl: xmlEscape(css, q)})
			}
		}
		if drop {
			// The attribute goes with the whitespace before it; one that
			// the next begins right after (which encoding/xml reads) is
			// kept apart from it by a space.
			e := svgEdit{start: off + sp.start, end: off + sp.valEnd + 1}
			if next := raw[sp.valEnd+1]; !xmlSpace(next) && next != '/' && next != '>' {
				e.repl = " "
			}
			edits = append(edits, e)
		}
	}
	return edits, nil
}

// cssMayLoad reports whether v, read as CSS, may name a URL: one needs
// "url(" (a URL token), a quote (a string in image-set(), src() or
// url()), or a backslash (an escape, "u\72 l("). A transform's
// "rotate(45)" has none of them, and is not lexed.
func cssMayLoad(v string) bool {
	return strings.ContainsAny(v, `"'\`) || containsFold(unsafe.Slice(unsafe.StringData(v), len(v)), urlFoldKey)
}

var urlFoldKey = newFoldKey("url(")

// svgURLHeld decides raw, an element's URL, as an image, and reports
// whether the policy removes or defers it.
func svgURLHeld(r *Writer, tagName, raw string) bool {
	kind := KindImage
	if tagName == "script" {
		kind = KindScript
	}
	d := r.decideURL(kind, tagName, raw)
	r.record(kind, &d)
	return d.Action >= Defer
}

// svgCSS decides the URLs of css, an attribute's value or a sheet, and
// returns it with those the policy does not keep neutralised; ok is true
// when nothing changed.
func svgCSS(r *Writer, css, tagName string) (string, bool) {
	text, spans := lexerTextSpans([]byte(css), nil)
	refs := cssURLsFrom(text, newInput(text), nil, nil)
	if len(refs) == 0 {
		return css, true
	}
	out, _ := r.neutraliseCSS(css, refs, spans, nil, tagName)
	return out, out == css
}

// xmlEscape writes s as the text of an XML element (q == 0) or an
// attribute value quoted by q.
func xmlEscape(s string, q byte) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '&':
			b.WriteString("&amp;")
		case c == '<':
			b.WriteString("&lt;")
		case c == '>' && q == 0:
			b.WriteString("&gt;")
		case c == q, c == '\r', q != 0 && (c == '\t' || c == '\n'):
			// The quote, and what XML would normalise as written: a
			// carriage return, and an attribute's tab or newline (to a
			// space). As a reference each stays.
			b.WriteString("&#" + strconv.Itoa(int(c)) + ";")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// xmlAttrSpan is where one attribute of a start tag lies: from start
// (the whitespace before it) to the value's closing quote at valEnd; its
// name at name:nameEnd, its value at val:valEnd.
type xmlAttrSpan struct{ start, name, nameEnd, val, valEnd int }

// xmlAttrSpans finds the attributes of raw, a start tag that encoding/xml
// has read (so well-formed: each value quoted), in order. ok is false
// when raw does not read as one.
func xmlAttrSpans(raw []byte) (spans []xmlAttrSpan, ok bool) {
	if len(raw) < 2 || raw[0] != '<' {
		return nil, false
	}
	i := 1
	for i < len(raw) && !xmlSpace(raw[i]) && raw[i] != '/' && raw[i] != '>' {
		i++
	}
	for {
		start := i
		for i < len(raw) && xmlSpace(raw[i]) {
			i++
		}
		if i >= len(raw) {
			return nil, false
		}
		if raw[i] == '/' || raw[i] == '>' {
			return spans, true
		}
		sp := xmlAttrSpan{start: start, name: i}
		for i < len(raw) && !xmlSpace(raw[i]) && raw[i] != '=' {
			i++
		}
		sp.nameEnd = i
		for i < len(raw) && xmlSpace(raw[i]) {
			i++
		}
		if i >= len(raw) || raw[i] != '=' {
			return nil, false
		}
		i++
		for i < len(raw) && xmlSpace(raw[i]) {
			i++
		}
		if i >= len(raw) || raw[i] != '"' && raw[i] != '\'' {
			return nil, false
		}
		q := raw[i]
		sp.val = i + 1
		k := bytes.IndexByte(raw[sp.val:], q)
		if k < 0 {
			return nil, false
		}
		sp.valEnd = sp.val + k
		i = sp.valEnd + 1
		spans = append(spans, sp)
	}
}

func xmlSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
