package rewrite

// This file holds the little tree context that changes tokenizer states:
// which namespace a start tag lands in (HTML, SVG or MathML), the
// integration points and breakout tags of foreign content, and the open
// select, template and frameset elements whose parsing browsers disagree on.

type namespace uint8

const (
	nsHTML namespace = iota
	nsSVG
	nsMath
)

type node struct {
	name   string
	ns     namespace
	htmlIP bool // HTML integration point (svg foreignObject/desc/title, math annotation-xml text/html)
	textIP bool // MathML text integration point (mi, mo, mn, ms, mtext)
	// counted is which of the tree's counts (selects, template, paras)
	// the element is in, set by push, so that pop compares no name.
	counted uint8
	// flags are the tagFlags of name, so that an end tag that closes the
	// element on top needs no lookup of its name (Writer.endName), and an
	// HTML element that bounds the default scope (fScope) is known
	// without one too.
	flags uint16
}

// Values of node.counted.
const (
	countedNone uint8 = iota
	countedSelect
	countedTemplate
	countedPara
)

// maxDepth bounds the stack. Past it, HTML elements are no longer pushed;
// foreign elements still are, so the namespace stays exact on deep pages.
const maxDepth = 2048

type tree struct {
	stack    []node
	selects  int // open HTML select elements
	template int // open HTML template elements
	paras    int // open HTML p elements: a start tag that closes a p looks for one only if there is one
	frameset bool
}

func (t *tree) top() *node {
	if len(t.stack) == 0 {
		return nil
	}
	return &t.stack[len(t.stack)-1]
}

// plainTop returns the element on top when an end tag that names it
// closes it by a pop alone: an HTML element whose end tag the tree does
// not handle specially (fTree), or a p, which pop counts. Else nil.
func (t *tree) plainTop() *node {
	n := t.top()
	if n == nil || n.ns != nsHTML || n.flags&fTree != 0 && n.counted != countedPara {
		return nil
	}
	return n
}

// foreign reports whether the adjusted current node is in foreign content:
// where a CDATA section is allowed.
func (t *tree) foreign() bool {
	n := t.top()
	return n != nil && n.ns != nsHTML
}

// htmlRulesForStart reports whether a start tag called name is processed by
// the HTML insertion modes (true) or by the rules for foreign content.
func (t *tree) htmlRulesForStart(name string) bool {
	n := t.top()
	if n == nil || n.ns == nsHTML {
		return true
	}
	if n.textIP && name != "mglyph" && name != "malignmark" {
		return true
	}
	if n.ns == nsMath && n.name == "annotation-xml" && name == "svg" {
		return true
	}
	return n.htmlIP
}

// breakout lists the start tags that leave foreign content.
var breakout = map[string]bool{
	"b": true, "big": true, "blockquote": true, "body": true, "br": true, "center": true,
	"code": true, "dd": true, "div": true, "dl": true, "dt": true, "em": true, "embed": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "head": true,
	"hr": true, "i": true, "img": true, "li": true, "listing": true, "menu": true, "meta": true,
	"nobr": true, "ol": true, "p": true, "pre": true, "ruby": true, "s": true, "small": true,
	"span": true, "strong": true, "strike": true, "sub": true, "sup": true, "table": true,
	"tt": true, "u": true, "ul": true, "var": true,
}

// popForeign pops foreign elements until the current node is an HTML
// element or an integration point.
func (t *tree) popForeign() {
	for len(t.stack) > 0 {
		n := t.top()
		if n.ns == nsHTML || n.htmlIP || n.textIP {
			return
		}
		t.pop()
	}
}

func (t *tree) pop() {
	switch t.stack[len(t.stack)-1].counted {
	case countedNone:
	case countedSelect:
		t.selects--
	case countedTemplate:
		t.template--
	case countedPara:
		t.paras--
	}
	t.stack = t.stack[:len(t.stack)-1]
}

func (t *tree) popTo(i int) {
	for len(t.stack) > i {
		t.pop()
	}
}

func (t *tree) push(n node) {
	if n.ns == nsHTML {
		if len(t.stack) >= maxDepth {
			return
		}
		switch n.name {
		case "select":
			t.selects++
			n.counted = countedSelect
		case "template":
			t.template++
			n.counted = countedTemplate
		case "p":
			t.paras++
			n.counted = countedPara
		}
	}
	t.stack = append(t.stack, n)
}

// pushPlain pushes an HTML element that needs none of push's bookkeeping
// (its tag flags lack fTree and fScope).
func (t *tree) pushPlain(name string, flags uint16) {
	if len(t.stack) < maxDepth {
		t.stack = append(t.stack, node{name: name, flags: flags})
	}
}

// defaultScope lists the HTML elements that bound the default scope.
var defaultScope = map[string]bool{
	"applet": true, "caption": true, "html": true, "table": true, "td": true, "th": true,
	"marquee": true, "object": true, "template": true,
}

// startForeign reports whether a start tag is handled as foreign content
// and, if it breaks out, pops the foreign elements first.
func (t *tree) startForeign(tg *tag) (foreign bool) {
	if t.htmlRulesForStart(tg.name) {
		return false
	}
	if tg.flags&fBreakout != 0 || (tg.name == "font" && (tg.index("color") >= 0 || tg.index("face") >= 0 || tg.index("size") >= 0)) {
		t.popForeign()
		return !t.htmlRulesForStart(tg.name)
	}
	return true
}

// pushForeign inserts a foreign element in the namespace of the adjusted
// current node.
func (t *tree) pushForeign(tg *tag) namespace {
	ns := t.top().ns
	n := node{name: tg.name, ns: ns, flags: tg.flags}
	switch ns {
	case nsSVG:
		n.htmlIP = tg.name == "foreignobject" || tg.name == "desc" || tg.name == "title"
	case nsMath:
		switch tg.name {
		case "mi", "mo", "mn", "ms", "mtext":
			n.textIP = true
		case "annotation-xml":
			if v, ok := tg.get("encoding"); ok {
				e := string(lowerBytes(v))
				n.htmlIP = e == "text/html" || e == "application/xhtml+xml"
			}
		}
	}
	if !tg.selfClosing {
		t.push(n)
	}
	return ns
}

func lowerBytes(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = lower(c)
	}
	return out
}

// voidElements never take content or an end tag.
var voidElements = map[string]bool{
	"area": true, "base": true, "basefont": true, "bgsound": true, "br": true, "col": true,
	"embed": true, "frame": true, "hr": true, "image": true, "img": true, "input": true,
	"keygen": true, "link": true, "meta": true, "param": true, "source": true, "track": true,
	"wbr": true,
}

// rawTextElements switch the tokenizer to a raw-text state in HTML content;
// their content and end tag are consumed by the raw-text scanner.
var rawTextElements = map[string]bool{
	"script": true, "style": true, "xmp": true, "iframe": true, "noembed": true,
	"noframes": true, "noscript": true, "textarea": true, "title": true, "plaintext": true,
}

// closesP lists the start tags that close an open p element.
var closesP = map[string]bool{
	"address": true, "article": true, "aside": true, "blockquote": true, "center": true,
	"details": true, "dialog": true, "dir": true, "div": true, "dl": true, "fieldset": true,
	"figcaption": true, "figure": true, "footer": true, "header": true, "hgroup": true,
	"main": true, "menu": true, "nav": true, "ol": true, "p": true, "search": true,
	"section": true, "summary": true, "ul": true, "h1": true, "h2": true, "h3": true,
	"h4": true, "h5": true, "h6": true, "pre": true, "listing": true, "form": true,
	"table": true, "hr": true, "xmp": true, "plaintext": true,
}

// Tag flags, looked up once per tag (tag.flags) instead of a map lookup
// per question.
const (
	fVoid uint16 = 1 << iota
	fRawText
	fClosesP
	fBreakout
	fHeadable
	fAmbiguous
	fAttrs // the rewriter reads this HTML element's attributes, not only style
	fTree  // the tree handles this start or end tag specially (treeElements)
	fScope // the element bounds the default scope (defaultScope)
)

// treeElements are the tags that startHTML, end, push or pop handle by
// name: every other HTML element is pushed plainly and closed by the
// nearest match in scope.
var treeElements = map[string]bool{
	"svg": true, "math": true, "li": true, "dd": true, "dt": true, "option": true, "optgroup": true,
	"td": true, "th": true, "tr": true, "tbody": true, "thead": true, "tfoot": true, "caption": true,
	"select": true, "input": true, "keygen": true, "textarea": true, "html": true, "head": true,
	"body": true, "frameset": true, "template": true, "table": true, "br": true, "p": true,
}

// attrElements are the HTML start tags whose attributes the rewriter
// reads for more than a style attribute: vectors, script types, base,
// meta refresh, and the tags whose handling depends on attributes.
var attrElements = map[string]bool{
	"img": true, "image": true, "source": true, "iframe": true, "frame": true, "embed": true,
	"object": true, "video": true, "audio": true, "track": true, "input": true, "link": true,
	"a": true, "area": true, "body": true, "table": true, "td": true, "th": true, "tr": true,
	"thead": true, "tbody": true, "tfoot": true, "colgroup": true, "col": true,
	"meta": true, "form": true, "script": true, "style": true, "base": true, "font": true,
	"svg": true, "math": true, "frameset": true, "button": true,
}

var tagFlags = func() map[string]uint16 {
	m := map[string]uint16{}
	for _, set := range []struct {
		names map[string]bool
		flag  uint16
	}{{voidElements, fVoid}, {rawTextElements, fRawText}, {closesP, fClosesP}, {breakout, fBreakout}, {headable, fHeadable}, {ambiguous, fAmbiguous}, {attrElements, fAttrs}, {treeElements, fTree}, {defaultScope, fScope}} {
		for n := range set.names {
			m[n] |= set.flag
		}
	}
	return m
}()

// scopeBoundary is the default scope: the elements an end tag cannot see past.
func scopeBoundary(n *node, extra string) bool {
	switch n.ns {
	case nsHTML:
		return n.flags&fScope != 0 || n.name == extra
	case nsMath:
		return n.textIP || n.name == "annotation-xml"
	case nsSVG:
		return n.htmlIP
	}
	return false
}

// findInScope returns the index of the nearest HTML element called name
// that is in scope, or -1.
func (t *tree) findInScope(name string, extra string) int {
	for i := len(t.stack) - 1; i >= 0; i-- {
		n := &t.stack[i]
		if n.ns == nsHTML && n.name == name {
			return i
		}
		if scopeBoundary(n, extra) {
			return -1
		}
	}
	return -1
}

// startHTML applies an HTML start tag to the stack: implied end tags, then
// the push. Raw-text and void elements are not pushed: the caller handles
// their content.
func (t *tree) startHTML(name string, flags uint16, selfClosing bool) {
	if flags&(fClosesP|fTree|fScope|fVoid|fRawText) == 0 {
		t.pushPlain(name, flags) // most elements: no implied end tags, no bookkeeping
		return
	}
	if flags&fClosesP != 0 && t.paras > 0 {
		if i := t.findInScope("p", "button"); i >= 0 {
			t.popTo(i)
		}
	}
	if flags&(fTree|fVoid|fRawText) == 0 {
		t.pushPlain(name, flags) // closes a p (div, h3) or bounds the scope, and no more
		return
	}
	switch name {
	case "svg", "math":
		if selfClosing {
			return
		}
		ns := nsSVG
		if name == "math" {
			ns = nsMath
		}
		t.push(node{name: name, ns: ns, flags: flags})
		return
	case "li":
		t.closeListItem("li")
	case "dd", "dt":
		t.closeListItem("dd", "dt")
	case "option", "optgroup":
		if n := t.top(); n != nil && n.ns == nsHTML && n.name == "option" {
			t.pop()
		}
		if n := t.top(); name == "optgroup" && n != nil && n.ns == nsHTML && n.name == "optgroup" {
			t.pop()
		}
	case "td", "th":
		t.closeTable("td", "th")
	case "tr":
		t.closeTable("tr", "td", "th")
	case "tbody", "thead", "tfoot":
		t.closeTable("tbody", "thead", "tfoot", "tr", "td", "th")
	case "select", "input", "keygen", "textarea":
		if t.selects > 0 {
			if i := t.findHTMLBefore("select"); i >= 0 {
				t.popTo(i)
			}
		}
	case "html", "head", "body", "frameset":
		return
	}
	if flags&(fVoid|fRawText) != 0 {
		return
	}
	t.push(node{name: name, ns: nsHTML, flags: flags})
}

func (t *tree) closeListItem(names ...string) {
	for i := len(t.stack) - 1; i >= 0; i-- {
		n := &t.stack[i]
		if n.ns != nsHTML {
			return
		}
		for _, name := range names {
			if n.name == name {
				t.popTo(i)
				return
			}
		}
		switch n.name {
		case "address", "div", "p", "span", "a", "b", "i", "em", "strong", "font":
			continue
		}
		if closesP[n.name] || n.name == "ol" || n.name == "ul" || scopeBoundary(n, "") {
			return
		}
	}
}

func (t *tree) closeTable(names ...string) {
	for i := len(t.stack) - 1; i >= 0; i-- {
		n := &t.stack[i]
		if n.ns != nsHTML || n.name == "table" || n.name == "template" || n.name == "html" {
			return
		}
		for _, name := range names {
			if n.name == name {
				t.popTo(i)
				return
			}
		}
	}
}

// end applies an end tag called name.
func (t *tree) end(name string, flags uint16) {
	n := t.top()
	if flags&fTree == 0 && (n == nil || n.ns == nsHTML) {
		// Most end tags: the nearest such element in scope closes.
		for i := len(t.stack) - 1; i >= 0; i-- {
			n := &t.stack[i]
			if n.ns == nsHTML && n.name == name {
				t.popTo(i)
				return
			}
			if scopeBoundary(n, "") {
				return
			}
		}
		return
	}
	if n != nil && n.ns != nsHTML {
		if name == "br" || name == "p" {
			t.popForeign()
		} else {
			// Any other end tag in foreign content: walk down through the
			// foreign elements looking for a match.
			for i := len(t.stack) - 1; i >= 0; i-- {
				n := &t.stack[i]
				if n.ns == nsHTML {
					break
				}
				if n.name == name {
					t.popTo(i)
					return
				}
			}
		}
	}
	switch name {
	case "html", "body", "head", "br":
		return
	case "table":
		if i := t.findHTMLBefore(name, "template", "html"); i >= 0 {
			t.popTo(i)
		}
		return
	case "select":
		if t.selects > 0 {
			if i := t.findHTMLBefore("select"); i >= 0 {
				t.popTo(i)
			}
		}
		return
	case "td", "th", "tr", "tbody", "thead", "tfoot", "caption":
		if i := t.findHTMLBefore(name, "table", "template", "html"); i >= 0 {
			t.popTo(i)
		}
		return
	case "template":
		if i := t.findHTMLBefore("template"); i >= 0 {
			t.popTo(i)
		}
		return
	}
	extra := ""
	if name == "p" {
		extra = "button"
	}
	if name == "li" {
		extra = "ol"
	}
	if i := t.findInScope(name, extra); i >= 0 {
		t.popTo(i)
	}
}

// findHTMLBefore returns the index of the nearest open HTML element called
// name, or -1 if one of the stop elements comes first.
func (t *tree) findHTMLBefore(name string, stops ...string) int {
	for i := len(t.stack) - 1; i >= 0; i-- {
		n := &t.stack[i]
		if n.ns == nsHTML && n.name == name {
			return i
		}
		if n.ns == nsHTML {
			for _, s := range stops {
				if n.name == s {
					return -1
				}
			}
		}
	}
	return -1
}
