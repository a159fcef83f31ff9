package rewrite

// This file holds the tokenizer: the WHATWG tokenizer states that decide
// where a token ends. It never copies or lower-cases the caller's bytes.

import (
	"bytes"
	"encoding/binary"
	"strings"
)

type tokKind uint8

const (
	tokText tokKind = iota // a lone '<' that starts no markup: it is text
	tokStartTag
	tokEndTag
	tokComment  // <!-- … -->, <!-->, <!--->
	tokBogus    // <? …>, </1…>, <!x…> (a bogus comment, ends at the first '>')
	tokDoctype  // <!DOCTYPE …>
	tokCDATA    // <![CDATA[ … ]]> (only in foreign content)
	tokNothing  // </> : dropped by the tokenizer
	tokEOFInTag // a tag cut off by EOF: the browser drops it
)

func isASCIIAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// hasHigh reports whether s has a byte from 0x80 up.
func hasHigh[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 0x20
	}
	return c
}

// hasPrefixFold reports whether b starts with the lower-case ASCII prefix p,
// ignoring ASCII case. more is true when b is a strict prefix of p (so more
// input could still match).
func hasPrefixFold(b []byte, p string) (match, more bool) {
	for i := 0; i < len(p); i++ {
		if i >= len(b) {
			return false, true
		}
		if lower(b[i]) != p[i] {
			return false, false
		}
	}
	return true, false
}

func hasPrefix(b []byte, p string) (match, more bool) {
	for i := 0; i < len(p); i++ {
		if i >= len(b) {
			return false, true
		}
		if b[i] != p[i] {
			return false, false
		}
	}
	return true, false
}

// scanMarkup reads the token that starts at b[0] == '<'. It returns the token
// kind and its length. ok is false when b ends before the token does and eof
// is false: the caller must wait for more input. cdata tells whether the
// adjusted current node is in foreign content, where <![CDATA[ opens a CDATA
// section; elsewhere it opens a bogus comment.
//
// For a tag, info gets what scanTagEnd saw of its attributes.
func scanMarkup(b []byte, eof, cdata bool, info *scanInfo) (kind tokKind, n int, ok bool) {
	info.ok = false
	if len(b) < 2 {
		if eof {
			return tokText, 1, true
		}
		return 0, 0, false
	}
	c := b[1]
	switch {
	case isASCIIAlpha(c):
		return scanTagEnd(b, 1, tokStartTag, eof, info)
	case c == '/':
		if len(b) < 3 {
			if eof {
				return tokText, 2, true // "</" at EOF is text
			}
			return 0, 0, false
		}
		switch c2 := b[2]; {
		case isASCIIAlpha(c2):
			return scanTagEnd(b, 2, tokEndTag, eof, info)
		case c2 == '>':
			return tokNothing, 3, true
		default:
			return scanBogus(b, 2, eof)
		}
	case c == '!':
		return scanDeclaration(b, eof, cdata)
	case c == '?':
		return scanBogus(b, 1, eof)
	}
	return tokText, 1, true
}

// scanBogus finds the end of a bogus comment: the first '>'.
func scanBogus(b []byte, from int, eof bool) (tokKind, int, bool) {
	for i := from; i < len(b); i++ {
		if b[i] == '>' {
			return tokBogus, i + 1, true
		}
	}
	if eof {
		return tokBogus, len(b), true
	}
	return 0, 0, false
}

func scanDeclaration(b []byte, eof, cdata bool) (tokKind, int, bool) {
	rest := b[2:]
	if m, more := hasPrefix(rest, "--"); m {
		return scanComment(b, eof)
	} else if more && !eof {
		return 0, 0, false
	}
	if m, more := hasPrefixFold(rest, "doctype"); m {
		for i := 9; i < len(b); i++ {
			if b[i] == '>' {
				return tokDoctype, i + 1, true
			}
		}
		if eof {
			return tokDoctype, len(b), true
		}
		return 0, 0, false
	} else if more && !eof {
		return 0, 0, false
	}
	if m, more := hasPrefix(rest, "[CDATA["); m {
		if cdata {
			for i := 9; i+2 < len(b); i++ {
				if b[i] == ']' && b[i+1] == ']' && b[i+2] == '>' {
					return tokCDATA, i + 3, true
				}
			}
			if eof {
				return tokCDATA, len(b), true
			}
			return 0, 0, false
		}
	} else if more && !eof {
		return 0, 0, false
	}
	return scanBogus(b, 2, eof)
}

// scanComment finds the end of a comment that starts with "<!--".
func scanComment(b []byte, eof bool) (tokKind, int, bool) {
	// Comment start state: "<!-->" and "<!--->" are complete comments.
	if len(b) >= 5 && b[4] == '>' {
		return tokComment, 5, true
	}
	if len(b) >= 6 && b[4] == '-' && b[5] == '>' {
		return tokComment, 6, true
	}
	if len(b) < 6 && !eof {
		return 0, 0, false
	}
	// Comment state: ends at "-->" or "--!>". The nested "<!--" states only
	// raise parse errors; they never move the end.
	for i := 4; i+2 < len(b); i++ {
		if b[i] != '-' || b[i+1] != '-' {
			continue
		}
		if b[i+2] == '>' {
			return tokComment, i + 3, true
		}
		if b[i+2] == '!' && i+3 < len(b) && b[i+3] == '>' {
			return tokComment, i + 4, true
		}
	}
	if eof {
		return tokComment, len(b), true
	}
	return 0, 0, false
}

// Byte classes for the tag states, so that runs of ordinary bytes are
// skipped in tight loops.
const (
	clSpace uint8 = 1 << iota
	clSlash
	clGT
	clEq
)

var byteClass = func() (t [256]uint8) {
	for _, c := range []byte(" \t\n\f\r") {
		t[c] = clSpace
	}
	t['/'], t['>'], t['='] = clSlash, clGT, clEq
	return t
}()

// letterBit is the bit of an attribute name's first byte in the set that
// scanTagEnd reports: one per ASCII letter in any case, one for the rest.
func letterBit(c byte) uint32 {
	if l := c | 0x20; l >= 'a' && l <= 'z' {
		return 1 << (l - 'a')
	}
	return 1 << 26
}

// rawAttr is where scanTagEnd saw one attribute, as offsets in the tag:
// the same offsets parseAttrs would find (see attr).
type rawAttr struct {
	nameStart, nameEnd, valStart, valEnd, end int32
}

// maxScanAttrs is how many attributes scanTagEnd records; a tag with more
// is parsed again by parseAttrs.
const maxScanAttrs = 16

// scanInfo is what scanTagEnd saw of a complete tag besides its length.
type scanInfo struct {
	ok          bool   // set for a complete tag: the rest is valid
	letters     uint32 // the first letters of the attribute names (letterBit)
	nameEnd     int    // the offset just past the tag's name
	n           int    // attributes seen; over maxScanAttrs, only the first are in attrs
	attrs       [maxScanAttrs]rawAttr
	selfClosing bool // the tag ends with "/>" (not in an unquoted value)
}

// scanTagEnd runs the tag name and attribute states from b[from] (the first
// letter of the name) and returns the length of the tag. It records in
// info where each attribute lies and the first letters of their names, so
// that a tag can be known to lack an attribute, and its attributes read,
// without scanning it again.
func scanTagEnd(b []byte, from int, kind tokKind, eof bool, info *scanInfo) (tokKind, int, bool) {
	info.letters, info.n, info.selfClosing = 0, 0, false
	cur := -1 // the attribute being read, or -1 when it is not recorded
	// name starts an attribute at i; value ends it.
	name := func(i int) {
		info.letters |= letterBit(b[i])
		cur = -1
		if info.n < maxScanAttrs {
			cur = info.n
			info.attrs[cur] = rawAttr{nameStart: int32(i), nameEnd: -1, valStart: -1, valEnd: -1}
		}
		info.n++
	}
	nameEnd := func(i int) {
		if cur >= 0 {
			info.attrs[cur].nameEnd, info.attrs[cur].end = int32(i), int32(i)
		}
	}
	value := func(start, end, after int) {
		if cur >= 0 {
			a := &info.attrs[cur]
			a.valStart, a.valEnd, a.end = int32(start), int32(end), int32(after)
		}
	}
	done := func(i int, selfClosing bool) (tokKind, int, bool) {
		info.ok, info.selfClosing = true, selfClosing
		return kind, i + 1, true
	}
	// The states of the tokenizer, each a label: i is the next byte to
	// read, and a state that reads none (the name's states and the
	// spaces) reads a run of bytes in a tight loop.
	var c byte
	afterName := false
	i := from
	// Tag name state.
	for i < len(b) && byteClass[b[i]]&(clSpace|clSlash|clGT) == 0 {
		i++
	}
	if i >= len(b) {
		goto out
	}
	info.nameEnd = i
	switch b[i] {
	case '>':
		return done(i, false)
	case '/':
		i++
		goto selfClosing
	}
	i++
	// Before attribute name state, and after attribute name state when
	// afterName is set: they differ only in what '=' does.
beforeAttrName:
	if i = skipSpace(b, i); i >= len(b) {
		goto out
	}
	switch c = b[i]; c {
	case '/':
		i++
		goto selfClosing
	case '>':
		return done(i, false)
	case '=':
		if afterName {
			i++
			goto beforeValue
		}
	}
	name(i) // before a name, '=' starts one
	i++
attrName:
	for i < len(b) && byteClass[b[i]] == 0 {
		i++
	}
	if i >= len(b) {
		goto out
	}
	nameEnd(i)
	switch c = b[i]; c {
	case '>':
		return done(i, false)
	case '/':
		i++
		goto selfClosing
	case '=':
		i++
		goto beforeValue
	}
	i++
	afterName = true
	goto beforeAttrName
beforeValue:
	if i = skipSpace(b, i); i >= len(b) {
		goto out
	}
	switch c = b[i]; c {
	case '"', '\'':
		j := bytes.IndexByte(b[i+1:], c)
		if j < 0 {
			goto out
		}
		value(i+1, i+1+j, i+2+j)
		i += j + 2 // past the closing quote
	case '>':
		value(i, i, i)
		return done(i, false)
	default: // unquoted: to the next space or '>'
		start := i
		for i < len(b) && byteClass[b[i]]&(clSpace|clGT) == 0 {
			i++
		}
		if i >= len(b) {
			goto out
		}
		value(start, i, i)
		if b[i] == '>' {
			return done(i, false)
		}
		i++
		afterName = false
		goto beforeAttrName
	}
	// After attribute value (quoted) state: the self-closing start tag
	// state's but for '>', which does not make the tag self-closing.
	if i < len(b) && b[i] == '>' {
		return done(i, false)
	}
selfClosing:
	if i >= len(b) {
		goto out
	}
	switch c = b[i]; {
	case c == '>':
		return done(i, true)
	case isSpace(c):
		i++
		afterName = false
		goto beforeAttrName
	case c == '/':
		// "//" : before attribute name sees '/' and returns here
		i++
		goto selfClosing
	}
	name(i) // including '=': it starts a name (after a value: reconsumed)
	i++
	goto attrName
out:
	if eof {
		return tokEOFInTag, len(b), true
	}
	return 0, 0, false
}

// skipSpace returns the offset of the first byte from b[i] on that is not
// white space, or len(b).
func skipSpace(b []byte, i int) int {
	for i < len(b) && byteClass[b[i]] == clSpace {
		i++
	}
	return i
}

// attr is one attribute of a parsed tag, as offsets into the tag's bytes.
type attr struct {
	// The offsets are int32 (a tag is at most MaxTokenSize bytes, which
	// Options caps below 2 GiB): a Writer keeps 24 of these inline.
	nameStart, nameEnd int32 // raw name bytes
	valStart, valEnd   int32 // raw value bytes, without quotes; valStart == -1 if no value
	end                int32 // offset just after the attribute (including any closing quote)
	start              int32 // offset of the first byte of the name
	dup                bool
	name               string // lower-case name
}

// tag is a parsed start or end tag.
type tag struct {
	raw         []byte
	name        string // lower-case
	flags       uint16 // tagFlags of name
	nameEnd     int
	attrs       []attr
	selfClosing bool
	end         bool
	tail        int // offset of the closing "/>" or ">" sequence to keep
}

// parseTag parses a complete tag (as returned by scanTagEnd) into t, reusing
// t's attribute slice. Attribute names are lower-cased; a repeated name is
// marked dup, because the browser keeps only the first.
func parseTag(t *tag, b []byte, names *nameCache) {
	parseTagName(t, b, names)
	parseAttrs(t, names)
}

// parseTagName reads only the name of a tag: enough for end tags, and for
// start tags whose attributes cannot matter (see fAttrs).
func parseTagName(t *tag, b []byte, names *nameCache) {
	i := 1
	if b[1] == '/' {
		i = 2
	}
	start := i
	for i < len(b) && byteClass[b[i]]&(clSpace|clSlash|clGT) == 0 {
		i++
	}
	nameAt(t, b, start, i, names)
}

// nameAt is parseTagName for a tag whose name is b[start:i], as
// scanTagEnd found it.
func nameAt(t *tag, b []byte, start, i int, names *nameCache) {
	t.raw = b
	t.attrs = t.attrs[:0]
	t.selfClosing = false
	t.end = start == 2
	t.nameEnd = i
	t.tail = len(b) - 1
	if w, ok := nameWord(b[start:i]); ok {
		if s := knownShort(i-start, w); s != nil {
			t.name, t.flags = knownNames[s.idx], s.flags
			return
		}
	}
	if k := knownIndex(b[start:i]); k >= 0 {
		t.name, t.flags = knownNames[k], knownFlags[k]
	} else {
		t.name = names.lower(b[start:i])
		t.flags = tagFlags[t.name]
	}
}

// parseAttrs reads the attributes of a tag after parseTagName.
func parseAttrs(t *tag, names *nameCache) {
	var buf [maxScanAttrs]rawAttr
	raws := buf[:0]
	b := t.raw
	i := t.nameEnd
	defer func() { addAttrs(t, names, raws) }()
	for i < len(b) {
		c := b[i]
		if byteClass[c] == clSpace {
			i++
			continue
		}
		if c == '>' {
			t.tail = i
			return
		}
		if c == '/' {
			if i+1 < len(b) && b[i+1] == '>' {
				t.selfClosing = true
				t.tail = i
				return
			}
			i++
			continue
		}
		// attribute name: first char may be '='
		a := rawAttr{nameStart: int32(i), valStart: -1, valEnd: -1}
		i++
		for i < len(b) && byteClass[b[i]] == 0 {
			i++
		}
		a.nameEnd = int32(i)
		j := i
		for j < len(b) && byteClass[b[j]] == clSpace {
			j++
		}
		if j < len(b) && b[j] == '=' {
			j++
			for j < len(b) && byteClass[b[j]] == clSpace {
				j++
			}
			if j < len(b) && b[j] != '>' {
				switch q := b[j]; q {
				case '"', '\'':
					k := len(b)
					if e := bytes.IndexByte(b[j+1:], q); e >= 0 {
						k = j + 1 + e
					}
					a.valStart, a.valEnd = int32(j+1), int32(k)
					if k < len(b) {
						k++
					}
					i = k
				default:
					k := j
					for k < len(b) && byteClass[b[k]]&(clSpace|clGT) == 0 {
						k++
					}
					a.valStart, a.valEnd = int32(j), int32(k)
					i = k
				}
			} else {
				a.valStart, a.valEnd = int32(j), int32(j)
				i = j
			}
		}
		a.end = int32(i)
		raws = append(raws, a)
	}
}

// parseAttrsFrom is parseAttrs for the tag scanTagEnd has just read into
// info: it takes the attributes from there instead of reading the tag
// again, unless the tag had more than info holds.
func parseAttrsFrom(t *tag, names *nameCache, info *scanInfo) {
	if !info.ok || info.n > maxScanAttrs {
		parseAttrs(t, names)
		return
	}
	addAttrs(t, names, info.attrs[:info.n])
	if info.selfClosing {
		t.selfClosing = true
		t.tail = len(t.raw) - 2
	}
}

// addAttrs adds the attributes found in t to t.attrs with their lower-case
// names, each marked dup if an earlier one has its name: the browser keeps
// only the first.
func addAttrs(t *tag, names *nameCache, raws []rawAttr) {
	b := t.raw
	for k := range raws {
		ra := &raws[k]
		a := attr{start: ra.nameStart, nameStart: ra.nameStart, nameEnd: ra.nameEnd,
			valStart: ra.valStart, valEnd: ra.valEnd, end: ra.end}
		a.name = names.lower(b[a.nameStart:a.nameEnd])
		for j := range t.attrs {
			if t.attrs[j].name == a.name {
				a.dup = true
				break
			}
		}
		t.attrs = append(t.attrs, a)
	}
}

// get returns the raw value of the first attribute called name.
func (t *tag) get(name string) (val []byte, ok bool) {
	for i := range t.attrs {
		a := &t.attrs[i]
		if a.name == name && !a.dup {
			if a.valStart < 0 {
				return nil, true
			}
			return t.raw[a.valStart:a.valEnd], true
		}
	}
	return nil, false
}

func (t *tag) index(name string) int {
	for i := range t.attrs {
		if t.attrs[i].name == name && !t.attrs[i].dup {
			return i
		}
	}
	return -1
}

// nameCache interns lower-cased tag and attribute names so that parsing a
// tag does not allocate for names already seen.
type nameCache struct {
	m   map[string]string
	buf []byte
	// recent holds the last names that knownNames lacks (data-*
	// attributes, mostly), each in the slot of its length and last byte,
	// so that a name the page repeats is found with one compare, without
	// lower-casing it again and hashing it for the map.
	recent [16]string
}

// foldKey is a lower-case ASCII word to find in any case (containsFold),
// with the index of its rarest letter, which the search scans for: markup
// is full of the common ones.
type foldKey struct {
	word string
	at   int
}

// letterRank orders letters from rare to common in markup.
const letterRank = "qjzxkvywgbfphmucdlnrsoiate"

func newFoldKey(word string) foldKey {
	k, rank := foldKey{word: word}, len(letterRank)
	for i := 0; i < len(word); i++ {
		if r := strings.IndexByte(letterRank, word[i]); r >= 0 && r < rank {
			k.at, rank = i, r
		}
	}
	return k
}

// containsFold reports whether b contains k.word in any case.
func containsFold(b []byte, k foldKey) bool {
	after := len(k.word) - k.at // the anchor and what follows it
	if len(b) < len(k.word) {
		return false
	}
	c := k.word[k.at]
	for _, anchor := range [2]byte{c, c &^ 0x20} {
		for i := k.at; i+after <= len(b); i++ {
			j := bytes.IndexByte(b[i:len(b)-after+1], anchor)
			if j < 0 {
				break
			}
			i += j
			if m, _ := hasPrefixFold(b[i-k.at:], k.word); m {
				return true
			}
		}
		if c < 'a' || c > 'z' {
			break // no upper case to try
		}
	}
	return false
}

// knownNames are common lower-case tag and attribute names (fewer than
// the 512 slots of knownTable); knownIndex finds one without a map, and
// knownFlags holds each one's tagFlags.
var knownNames = [...]string{"a", "abbr", "accept", "action", "address", "allow", "allowfullscreen", "alt", "annotation-xml", "applet", "area", "aria-describedby", "aria-expanded", "aria-hidden", "aria-label", "aria-labelledby", "article", "as", "aside", "async", "audio", "autocomplete", "autoplay", "b", "background", "base", "basefont", "bgsound", "big", "blockquote", "body", "br", "button", "caption", "center", "charset", "checked", "cite", "class", "code", "col", "colgroup", "cols", "colspan", "content", "controls", "coords", "crossorigin", "cx", "cy", "d", "data", "datetime", "dd", "decoding", "defer", "desc", "details", "dfn", "dialog", "dir", "disabled", "div", "dl", "download", "dt", "em", "embed", "enctype", "fetchpriority", "fieldset", "figcaption", "figure", "fill", "font", "footer", "for", "foreignobject", "form", "frame", "frameborder", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "headers", "height", "hgroup", "hidden", "hr", "href", "hreflang", "hspace", "html", "http-equiv", "i", "id", "iframe", "image", "imagesrcset", "img", "input", "inputmode", "integrity", "itemprop", "itemscope", "itemtype", "keygen", "kind", "label", "lang", "legend", "li", "link", "listing", "loading", "loop", "main", "malignmark", "map", "marginheight", "marginwidth", "marquee", "math", "max", "maxlength", "media", "menu", "meta", "method", "mglyph", "mi", "min", "mn", "mo", "ms", "mtext", "muted", "name", "nav", "nobr", "noembed", "noframes", "nonce", "noscript", "novalidate", "object", "ol", "onclick", "onload", "option", "p", "param", "path", "picture", "ping", "placeholder", "plaintext", "playsinline", "points", "poster", "pre", "preload", "r", "rb", "readonly", "referrerpolicy", "rel", "required", "role", "rows", "rowspan", "rp", "rt", "rtc", "ruby", "rx", "ry", "s", "sandbox", "scope", "script", "scrolling", "search", "section", "select", "selected", "shape", "size", "sizes", "small", "source", "span", "src", "srcdoc", "srclang", "srcset", "start", "step", "strike", "stroke", "stroke-width", "strong", "style", "sub", "summary", "sup", "svg", "tabindex", "table", "target", "tbody", "td", "template", "textarea", "tfoot", "th", "thead", "time", "title", "tr", "track", "transform", "tt", "type", "u", "ul", "use", "usemap", "value", "var", "video", "viewbox", "vspace", "wbr", "width", "x", "x1", "x2", "xlink:href", "xmlns", "xmlns:xlink", "xmp", "y", "y1", "y2"}

var knownFlags = func() (f [len(knownNames)]uint16) {
	for i, n := range knownNames {
		f[i] = tagFlags[n]
	}
	return f
}()

// knownTable is an open-addressing hash table over knownNames, so that
// knownIndex finds a name without a map: it probes it for the names over
// 8 bytes, and knownSlots, laid out at the same places, for the others.
// knownWords holds each name's packName word, for knownSlots.
var knownTable, knownWords = func() (t [512]int16, w [len(knownNames)]uint64) {
	for i := range t {
		t[i] = -1
	}
	for i, n := range knownNames {
		w[i], _ = packName([]byte(n))
		h := knownHash([]byte(n), w[i])
		for t[h] >= 0 {
			h = (h + 1) % uint(len(t))
		}
		t[h] = int16(i)
	}
	return t, w
}()

// packName packs a name of at most 8 bytes into a word, its first byte
// lowest; ok is false for a longer name.
func packName(b []byte) (w uint64, ok bool) {
	if w, ok := nameWord(b); ok {
		return w, true
	}
	if len(b) > 8 {
		return 0, false
	}
	for i := len(b) - 1; i >= 0; i-- {
		w = w<<8 | uint64(b[i])
	}
	return w, true
}

// knownHash hashes a name: a short one by its packed word and length, a
// long one by its length and three of its bytes.
func knownHash(b []byte, w uint64) uint {
	if len(b) <= 8 {
		return shortHash(len(b), w)
	}
	return (uint(len(b))*131 + uint(b[0])*31 + uint(b[len(b)-1])*7 + uint(b[len(b)/2])) % 512
}

// knownSlot is a slot of knownSlots: a known name of up to 8 bytes, its
// packed word, length, index in knownNames and tagFlags.
type knownSlot struct {
	w     uint64
	idx   int16
	n     uint8 // 0 for an empty slot, longSlot for a longer name's
	plain bool  // an HTML start tag that Writer.plainStart may pass
	flags uint16
	// keyLetters are the letterBits of the attributes that can make a
	// plain tag matter: style, and the one lacksKeyAttr looks for.
	keyLetters uint32
}

const longSlot = 0xff

// knownSlots holds the names of up to 8 bytes of knownNames at the places
// knownTable does, so that a tag's name is found in one probe of one
// array, without the indirection through knownTable.
var knownSlots = func() (s [len(knownTable)]knownSlot) {
	for h, i := range knownTable {
		switch {
		case i < 0:
		case len(knownNames[i]) <= 8:
			name, f := knownNames[i], knownFlags[i]
			s[h] = knownSlot{w: knownWords[i], idx: i, n: uint8(len(name)), flags: f, keyLetters: letterBit('s')}
			// Pushed plainly by startHTML (fClosesP only with no open
			// p; p itself is counted by push), with no raw text, no
			// special handling in a select or after a frameset, and no
			// attribute read but style and the key one.
			s[h].plain = f&(fVoid|fRawText|fTree|fScope|fAmbiguous) == 0 || name == "p"
			if f&fAttrs != 0 {
				if k, ok := keyAttr(name); ok {
					s[h].keyLetters |= letterBit(k.word[0])
				} else {
					s[h].plain = false
				}
			}
		default:
			s[h].n = longSlot // taken: a probe goes on past it
		}
	}
	return s
}()

// nameWord is packName's word for a name of 1 to 8 bytes with 8 bytes
// from its start within its capacity: one load, with the bytes past the
// name masked off. Then knownShort finds the name if it is known; for
// any other name, knownIndex has the answer.
func nameWord(b []byte) (uint64, bool) {
	n := len(b)
	if n < 1 || n > 8 || cap(b) < 8 {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[:8]) & (^uint64(0) >> (64 - 8*n)), true
}

// knownShort returns the slot of the name of n bytes, 1 to 8, whose
// packed word is w, or nil.
func knownShort(n int, w uint64) *knownSlot {
	for h := shortHash(n, w); ; h++ {
		s := &knownSlots[h%uint(len(knownSlots))]
		if s.w == w && int(s.n) == n {
			return s
		}
		if s.n == 0 {
			return nil
		}
	}
}

func shortHash(n int, w uint64) uint {
	return uint(((w ^ uint64(n)<<59) * 0x9E3779B97F4A7C15) >> 55) // 9 bits: 512 slots
}

// knownIndex returns the index of b in knownNames, or -1.
func knownIndex(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	if w, short := packName(b); short {
		if s := knownShort(len(b), w); s != nil {
			return int(s.idx)
		}
		return -1
	}
	for h := knownHash(b, 0); ; h = (h + 1) % uint(len(knownTable)) {
		i := knownTable[h]
		if i < 0 {
			return -1
		}
		if knownNames[i] == string(b) {
			return int(i)
		}
	}
}

func (c *nameCache) lower(b []byte) string {
	if i := knownIndex(b); i >= 0 {
		return knownNames[i]
	}
	if len(b) == 0 {
		return ""
	}
	slot := &c.recent[(len(b)+int(b[len(b)-1])*3)&(len(c.recent)-1)]
	if *slot == string(b) {
		return *slot // b is lower-case: the interned copy
	}
	c.buf = c.buf[:0]
	for _, x := range b {
		c.buf = append(c.buf, lower(x))
	}
	if s, ok := c.m[string(c.buf)]; ok { // no allocation for the lookup
		*slot = s
		return s
	}
	s := string(c.buf)
	if c.m == nil {
		c.m = make(map[string]string)
	}
	if len(c.m) < 4096 && len(s) <= 64 {
		c.m[s] = s
	}
	*slot = s
	return s
}
