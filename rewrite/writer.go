package rewrite

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/net/html/charset"
)

// DefaultMaxTokenSize is the default cap on a held token (a tag, or the
// body of an inline script or style block being classified).
const DefaultMaxTokenSize = 1 << 20

// maxTokenCap is the largest MaxTokenSize: a tag's attribute offsets are
// int32.
const maxTokenCap = 1 << 30

// ErrTokenTooLarge is returned when a single tag, comment or declaration is
// larger than MaxTokenSize. The output stops there: nothing unscanned is
// written.
var ErrTokenTooLarge = errors.New("rewrite: token larger than the size cap")

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("rewrite: write after close")

// The placeholder's English texts, which Options' PlaceholderText and
// PlaceholderButtons replace: its text, with %s for the vendor, and its
// buttons' labels (the second followed by the vendor).
const (
	DefaultPlaceholderText = "This content is hosted by %s. Loading it shares your data with them."
	DefaultLoadLabel       = "Load content"
	DefaultAlwaysLabel     = "Always allow"
)

// PlaceholderLabels returns Options' PlaceholderText and
// PlaceholderButtons for a text with %s for the vendor and two labels,
// the second followed by the vendor, as the English defaults are.
func PlaceholderLabels(text, load, always string) (textOf func(vendor string) string, buttons func(vendor string) (load, always string)) {
	return func(vendor string) string { return strings.ReplaceAll(text, "%s", vendor) },
		func(vendor string) (string, string) { return load, always + " " + vendor }
}

// The English defaults, made once.
var defaultPlaceholderText, defaultPlaceholderButtons = PlaceholderLabels(DefaultPlaceholderText, DefaultLoadLabel, DefaultAlwaysLabel)

// Options configure a Writer.
type Options struct {
	// Policy decides each resource. Nil keeps everything.
	Policy Policy
	// PageURL is the URL of the page: the base for relative URLs and, for
	// the policy, what is first party.
	PageURL *url.URL
	// MaxTokenSize caps the bytes held to decide one token or one inline
	// script or style. Zero means DefaultMaxTokenSize; more than 1 GiB
	// means 1 GiB (a tag's offsets are kept in 32 bits).
	MaxTokenSize int
	// Token marks the deferred markup of this response (data-fp-token), so
	// the consent runtime activates only markup the rewriter produced.
	Token string
	// ReportMentions makes Stats.Mentions() count the listed third parties
	// that inline scripts name besides the one that decided them, for a
	// full report (firstparty scan). It costs a policy decision per host
	// named, so it is off by default.
	ReportMentions bool
	// ReportFindings makes Stats.Findings() count each distinct third
	// party (host, vendor, category, kind and action), for a report of the
	// page (firstparty rewrite and scan). The counts by action, category
	// and vendor are kept either way; the findings cost a map and copies of
	// their strings per page, so they are off by default.
	ReportFindings bool
	// Nonce is the page's CSP nonce, for the inserted loader. If empty, the
	// nonce of a <meta http-equiv="Content-Security-Policy"> or of the first
	// script tag seen before the loader goes in is used.
	Nonce string
	// Loader returns the snippet inserted once, before the first deferred or
	// placeholder element, or before a <base> on another host, which would
	// move a root-relative URL in it there. Nil inserts nothing.
	Loader func(token, nonce string) []byte
	// PlaceholderText returns the text of a click-to-load placeholder.
	// Nil gives DefaultPlaceholderText.
	PlaceholderText func(vendor string) string
	// PlaceholderButtons returns the labels of a placeholder's two
	// buttons: the one that loads the content, and the one that always
	// allows its vendor. Nil gives DefaultLoadLabel, and DefaultAlwaysLabel
	// followed by the vendor. Both are written with the placeholder, so that the
	// consent runtime, which may relabel them in the visitor's language,
	// adds nothing that moves the page.
	PlaceholderButtons func(vendor string) (load, always string)
	// ReportOnly decides and counts everything but changes no byte.
	ReportOnly bool
	// Facts, if set, remembers what inline scripts were read to contain,
	// across the Writers that share it (see FactsCache). Nil lexes every
	// script.
	Facts *FactsCache
	// Encoding is the page's character encoding, as DetectEncoding names
	// it. On a page in Shift_JIS, Big5, GBK, gb18030 or EUC-KR, whose
	// characters may end in an ASCII byte (a backslash, a backtick, a
	// brace), scripts and style sheets are read as the browser decodes
	// them (encview.go). Undeclared, for a page that declares none (the
	// browser chooses one, which may be any of those), holds each text
	// that one of them reads differently where it matters (a character
	// takes a backslash, a backtick, a brace…; ambiguous), and drops a
	// later <meta> that would put the page in ISO-2022-JP. Empty reads
	// the page as UTF-8.
	Encoding string
}

type rawKind uint8

const (
	rawNone    rawKind = iota
	rawText            // RAWTEXT or RCDATA
	rawScript          // script data, with its escaped states
	rawPlain           // plaintext: to the end
	rawComment         // inside <!-- … -->, streamed
)

type disposition uint8

const (
	dispPass disposition = iota
	dispDrop
	dispHold
	dispNested
)

type heldKind uint8

const (
	heldScript heldKind = iota
	heldStyle
	heldImportMap
)

// script data substates
const (
	sData uint8 = iota
	sEscaped
	sEscapedDash
	sEscapedDashDash
	sDouble
	sDoubleDash
	sDoubleDashDash
)

// Writer is a streaming HTML rewriter. Write the page to it in any chunks;
// it writes the rewritten page to the underlying writer as soon as each
// token is decided. Close must be called at the end of the page.
type Writer struct {
	w    io.Writer
	opts Options
	max  int

	buf    []byte  // undecided input
	bufBox *[]byte // the pool's box for buf, while the Writer holds it
	out    []byte  // decided output not yet written
	// pend is input that passes through as it came and follows out: a
	// view of the bytes consume is reading, copied to out (or written
	// out) only when something else is written or consume returns, so
	// that a run of unchanged tokens is one copy, not one per token.
	pend     []byte
	lastFail int // pending length at the last incomplete scan

	// carried is the state that outlives a token, which a SyncPoint
	// keeps and NewWriterAt restores.
	carried

	names nameCache
	tg    tag
	scan  scanInfo // what the scanner saw of tg's attributes
	// seen holds start tags plainStart has passed, each in the slot of
	// seenKey of its first two bytes after '<', with the contents of
	// their quoted values cut out: a start tag the page repeats but for
	// its values (<a href="/products/7">) is then known by a compare of
	// the rest and a search for each value's closing quote, without
	// scanning it again. A tag's bytes alone decide what the scanner and
	// plainStart make of it, and a plain tag's values none of it, so an
	// entry stays true for any page (they ask only the tree and the head
	// phase besides). An <img> is kept too (seenTag.keepImg), and known
	// again when its URLs are the page's own paths the policy keeps
	// unasked: a product grid's images.
	seen [32]seenTag
	// usualOff turns passUsual off, for tests that hold its runs against
	// consume's token by token reading.
	usualOff bool
	// What an OwnHostPolicy said of the page's own URLs (ownPath), asked
	// at the first URL.
	ownAsked   bool
	ownKinds   uint64
	ownMarkers []string
	ownStop    [4]uint64 // the bytes ownPath looks at: the markers' first, and escapes
	heldTg     tag       // the start tag of a held script or style, parsed at its end
	attrBuf    [24]attr  // the first attributes of tg and heldTg

	raw      rawKind
	disp     disposition
	held     []byte
	heldBox  *[]byte // the pool's box for held, while the Writer holds it (holdTag)
	heldLen  int     // length of the held start tag
	heldKind heldKind
	// heldSrc is, for a held delayed script with a source attribute, the
	// decision on its sources, which its text's joins (decideHeld).
	heldSrc    Decision
	heldHasSrc bool
	// lateBase tells element to drop the href of the base start tag it
	// is given (startTag).
	lateBase bool
	// noscriptBase says that this Writer reads a noscript's content and
	// that no base has set the document's yet (noscriptBaseHref).
	noscriptBase bool
	// breaksOut says that the start tag being read left foreign content
	// (startTag): removed, it keeps its tag.
	breaksOut bool
	// tagHeld are the held attributes of the current script or style
	// start tag (ownAttrs), decided when it was read, and tagHeldD the
	// strongest of those deferred.
	tagHeld  []heldAttr
	tagHeldD Decision
	// fixed holds the current start tag when scannerHrefs has dropped
	// attributes from it.
	fixed    []byte
	nested   *Writer
	spare    *Writer // a closed nested Writer, for the next (nestedWriter)
	sink     sink    // the nested Writer's way into this one's output
	isNested bool
	// svgStyle is the sheet of the SVG style start tag being handled
	// (svgStyleAhead).
	svgStyle svgStyle
	// nest is how deep in documents inside the page (srcdoc, data:) this
	// Writer reads: 0 for the page, 1 for a document in it, and so on.
	nest int
	// enc is the page's encoding, when its characters may end in an
	// ASCII byte (Options.Encoding, textOf).
	enc mbEncoding
	// guess is set when the page declares no encoding (Undeclared): the
	// browser may read it in any of guessed (ambiguous).
	guess bool

	deciding  bool     // deciding a held element: the output is at its start tag
	strongest Decision // the strongest decision so far (for a srcdoc's iframe)
	// The loader's place: output from holdAt on is held (up to loaderHold
	// bytes) after <head>, before the first script or at the start of the
	// body, whichever comes first, until the first deferral puts the
	// loader there or the hold is given up (holdDone).
	holding  bool
	holdAt   int
	stats    *Stats
	outBox   *[]byte // the pool's box for out, while the Writer holds it
	spareAdd []byte  // the edits' buffer for added attributes, when free (addAttr)
	refs     []cssRef
	replaced []replaced // scratch for rewriteCSS
	// utf8Out is whether what the Writer writes lands in a UTF-8 page (or
	// one whose encoding it was not told), where a character may be
	// written as its UTF-8 bytes; elsewhere what it makes is written in
	// ASCII, a character as a reference (appendEscapedIn).
	utf8Out  bool
	decoded  []replaced // scratch for styleAttr
	scanURLs []string   // scratch for preloadScan
	url      url.URL    // scratch for decideURL
	res      Resource   // scratch for decideURL
	arena    []byte     // scratch for tmpAttr
	// nestedOut is a srcdoc's rewrite, read until its iframe is written
	// (element), from scratchPools in nestedOutBox.
	nestedOut    []byte
	nestedOutBox *[]byte
	urls         []string    // scratch for urlsOf
	facts        factScratch // scratch for inline scripts' facts
	err          error
	closed       bool
}

// carried is the part of a Writer's state that outlives a token: the
// tree context, the base URL, where the page is, the CSP nonce and the
// loader's progress (see SyncState).
type carried struct {
	tree        tree
	base        *url.URL
	baseSet     bool
	rawName     string
	sstate      uint8
	heldOver    bool
	headPhase   bool // no body content yet: a parser is before or in the head
	opensBody   bool // the current start tag is the one that opens the body
	nonce       string
	loaderState uint8 // 0 not needed, 1 pending, 2 inserted
	holdDone    bool  // the loader's hold was given up or used
	pastBOM     bool  // the page's first bytes were read for a byte-order mark
	// urlSeen is set once a URL was decided or passed against the page's
	// base: a later <base href> would move it (startTag drops such a
	// base's href unless the policy keeps its URL).
	urlSeen bool
}

// NewWriter returns a Writer that writes the rewritten page to w.
func NewWriter(w io.Writer, opts Options) *Writer {
	r := new(Writer)
	r.init(w, opts, &Stats{findings: opts.ReportFindings})
	return r
}

// init sets r, zeroed first, up to write a page to w, counting into
// stats.
func (r *Writer) init(w io.Writer, opts Options, stats *Stats) {
	// A Writer used before (a page's nested one) keeps its scratch
	// memory, emptied.
	buf, held, heldBox, arena, urls, refs, add, names := r.buf[:0], r.held[:0], r.heldBox, r.arena[:0], r.urls[:0], r.refs[:0], r.spareAdd[:0], r.names
	facts, nestedOut, nestedOutBox := r.facts, r.nestedOut[:0], r.nestedOutBox // the facts emptied by their reset at each script
	*r = Writer{w: w, opts: opts, stats: stats}
	r.buf, r.held, r.heldBox, r.arena, r.urls, r.refs, r.spareAdd, r.names = buf, held, heldBox, arena, urls, refs, add, names
	r.facts, r.nestedOut, r.nestedOutBox = facts, nestedOut, nestedOutBox
	r.headPhase = true
	r.max = opts.MaxTokenSize
	if r.max <= 0 {
		r.max = DefaultMaxTokenSize
	}
	r.max = min(r.max, maxTokenCap)
	r.base = opts.PageURL
	r.nonce = opts.Nonce
	r.enc = multiByte(opts.Encoding)
	r.guess = opts.Encoding == Undeclared
	r.utf8Out = opts.Encoding == "" || opts.Encoding == "utf-8"
	r.tg.attrs, r.heldTg.attrs = r.attrBuf[:0:16], r.attrBuf[16:16]
}

// outPool recycles output buffers between rewrites: a closed Writer gives
// its buffer back, sized for a batch plus the loader's hold.
var outPool = sync.Pool{New: func() any {
	b := make([]byte, 0, outBatch+4<<10)
	return &b
}}

// acquire takes an output buffer from the pool, if the Writer has none: a
// Writer holds one only while it is writing (see idle).
func (r *Writer) acquire() {
	if r.out == nil {
		take(&outPool, &r.out, &r.outBox)
	}
}

// idle gives the output buffer back between writes when all of it went
// out, so that a response waiting on its upstream holds none, and the
// pending token's buffer when no token is pending.
func (r *Writer) idle() {
	if len(r.out) == 0 && !r.holding {
		r.recycle()
	}
	if len(r.buf) == 0 {
		giveBack(&pendPool, &r.buf, &r.bufBox)
	}
}

// pendPool recycles the buffers of tokens pending between writes: most
// writes end inside a token, whose start waits there for the next.
var pendPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 2*writeStep)
	return &b
}}

// pendBytes appends p to the pending token, taking a pooled buffer first if
// the Writer holds none.
func (r *Writer) pendBytes(p []byte) {
	if r.buf == nil && len(p) <= 2*writeStep {
		take(&pendPool, &r.buf, &r.bufBox)
	}
	r.buf = append(r.buf, p...)
}

// scratchPools recycle the scratch memory a page's inline scripts and
// styles grow, between Writers: the held element's bytes (holdTag), the
// script facts' strings and the JavaScript lexer's copy of a script
// (factScratch). A new Writer for each page grew them again for each
// page: over the 59 saved pages of ../shared, 36 of the 68 MB a pass
// allocated (2026-12-04, docs/rewriter.md, Streaming and memory). A
// closed Writer gives them back; buffers grown past scratchKeep are left
// to the collector, so that the pools keep no more than a page's usual
// scripts need. A Writer that finds none starts from nothing and grows
// what it needs, as it did before the pools: a page of small scripts
// keeps its scratch small (make bench's heap per in-flight rewrite).
//
// Each kind of buffer has a pool of its own (scratchKind), and a nested
// document's Writer a set of its own (scratchSet): in one pool, a page's
// held bytes were often given a nested document's few bytes, or the
// facts' strings, and grew again. Over the saved pages with a shared
// FactsCache, as the Caddy module rewrites, a pass allocated 12.2–12.9 MB
// with the pools apart and 16.3–17.0 in one (34.8 before any pool).
var scratchPools [2][scratchKinds]sync.Pool

func init() {
	// An empty pool gives an empty box: its buffer grows from nothing.
	for set := range scratchPools {
		for k := range scratchPools[set] {
			scratchPools[set][k].New = func() any { return new([]byte) }
		}
	}
}

// scratchKind names a scratch buffer's pool in a set of scratchPools.
type scratchKind int

const (
	scratchHeld  scratchKind = iota // the held element (holdTag)
	scratchArena                    // the facts' strings (factScratch.arena)
	scratchLex                      // the lexer's copy of a script (factScratch.lex)
	scratchOut                      // a srcdoc's rewrite (Writer.nestedOut)
	scratchKinds
)

// scratchKeep is the largest scratch buffer a closed Writer gives back
// (scratchPools): the default cap on a held element, and its start tag.
const scratchKeep = DefaultMaxTokenSize + 64<<10

// holdTag starts the bytes of an element held to its end tag with its
// start tag raw, in a buffer from scratchPools if the Writer holds none.
func (r *Writer) holdTag(raw []byte) {
	if r.heldBox == nil {
		take(&r.scratchSet()[scratchHeld], &r.held, &r.heldBox)
	}
	r.held = append(r.held[:0], raw...)
	r.heldLen = len(raw)
}

// scratchSet is the Writer's set of scratchPools: a nested document's
// scratch is kept apart from a page's, which is larger.
func (r *Writer) scratchSet() *[scratchKinds]sync.Pool {
	if r.isNested {
		return &scratchPools[1]
	}
	return &scratchPools[0]
}

// releaseScratch gives the Writer's scratch back to scratchPools at
// Close: nothing refers to the held bytes once they are written, nor to
// the facts' strings once the script they came from is decided, nor to a
// srcdoc's rewrite once its iframe is written.
func (r *Writer) releaseScratch() {
	giveScratch(r.scratchSet(), scratchHeld, &r.held, &r.heldBox)
	giveScratch(r.scratchSet(), scratchOut, &r.nestedOut, &r.nestedOutBox)
	r.facts.release()
}

// giveScratch returns *b to set's pool of kind k (giveBackUpTo, up to
// scratchKeep).
func giveScratch(set *[scratchKinds]sync.Pool, k scratchKind, b *[]byte, box **[]byte) {
	giveBackUpTo(&set[k], b, box, scratchKeep)
}

// recycle returns the output buffer to the pool once nothing refers to it.
func (r *Writer) recycle() { giveBack(&outPool, &r.out, &r.outBox) }

// take sets *b to an empty buffer from p, and *box to the box that
// carried it.
func take(p *sync.Pool, b *[]byte, box **[]byte) {
	*box = p.Get().(*[]byte)
	*b = (**box)[:0]
}

// giveBack returns *b, emptied, to p, unless it grew past 64 KiB, and
// leaves the Writer holding neither it nor its box. The box that carried
// it from the pool carries it back, so a round trip allocates nothing.
// Nothing may refer to *b's bytes any more.
func giveBack(p *sync.Pool, b *[]byte, box **[]byte) { giveBackUpTo(p, b, box, 64<<10) }

// giveBackUpTo is giveBack for buffers of up to max bytes.
func giveBackUpTo(p *sync.Pool, b *[]byte, box **[]byte, max int) {
	if *b != nil && cap(*b) <= max {
		if *box == nil {
			*box = new([]byte)
		}
		**box = (*b)[:0]
		p.Put(*box)
	}
	*b, *box = nil, nil
}

// readPool recycles Rewrite's read buffers, 32 KiB each: a scan of a
// site rewrites page after page.
var readPool = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// Rewrite rewrites the page read from src into w.
func Rewrite(w io.Writer, src io.Reader, opts Options) (*Stats, error) {
	rw := NewWriter(w, opts)
	rb := readPool.Get().(*[32 << 10]byte)
	defer readPool.Put(rb)
	buf := rb[:]
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := rw.Write(buf[:n]); werr != nil {
				return rw.Stats(), werr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return rw.Stats(), fmt.Errorf("reading page: %w", err)
		}
	}
	return rw.Stats(), rw.Close()
}

// Stats returns the counts so far.
func (r *Writer) Stats() *Stats { return r.stats }

// Write rewrites p. The rewritten bytes that are decided are written to the
// underlying writer before Write returns.
func (r *Writer) Write(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.closed {
		return 0, ErrClosed
	}
	if !r.isNested {
		// (A nested document's bytes are the page's, counted once, as
		// the page read and wrote them.)
		r.stats.BytesIn += int64(len(p))
	}
	total := len(p)
	r.acquire()
	defer r.idle()
	for len(p) > 0 && r.err == nil {
		if len(r.buf) == 0 {
			// Nothing pending: tokenize p where it lies and keep only its
			// undecided tail, so the writer holds no copy of the input.
			pos := r.consume(p, false)
			r.keepTail(p[pos:])
			break
		}
		// A token is pending: feed it a step at a time, so that once it is
		// complete the rest of p is again read in place and the buffer
		// stays the size of the pending token plus one step.
		n := min(len(p), writeStep)
		r.pendBytes(p[:n])
		step := p[:n]
		p = p[n:]
		// A pending tag or declaration can only end at a '>'. Skip
		// rescanning a long pending token until one arrives and the token
		// has grown.
		if r.lastFail > 64 && len(r.buf) <= r.max {
			if bytes.IndexByte(step, '>') < 0 || len(r.buf) < r.lastFail+r.lastFail/8 {
				continue
			}
		}
		r.process(false)
	}
	if err := r.drain(); err != nil {
		return 0, err
	}
	if r.err != nil {
		return 0, r.err
	}
	return total, nil
}

// utf8BOM is the byte-order mark a UTF-8 page may start with.
const utf8BOM = "\xef\xbb\xbf"

// writeStep is how much input is added at a time to a pending token.
const writeStep = 4 << 10

// Flush writes out everything decided so far and flushes the underlying
// writer if it can be flushed.
func (r *Writer) Flush() error {
	if r.err != nil {
		return r.err
	}
	r.lastFail = 0
	r.acquire()
	defer r.idle()
	r.process(false)
	r.releaseHold() // a flush sends everything decided
	if err := r.drain(); err != nil {
		return err
	}
	if r.err != nil {
		return r.err
	}
	return FlushWriter(r.w)
}

// FlushWriter flushes w if it can: FlushError, Flush() error, or
// http.Flusher, in that order.
func FlushWriter(w io.Writer) error {
	switch f := w.(type) {
	case interface{ FlushError() error }:
		return f.FlushError()
	case interface{ Flush() error }:
		return f.Flush()
	case http.Flusher:
		f.Flush()
	}
	return nil
}

// Close processes the end of the page as a browser does at EOF and writes
// the rest. It does not close the underlying writer.
func (r *Writer) Close() error {
	if r.closed {
		return r.err
	}
	r.closed = true
	if r.err != nil {
		return r.err
	}
	r.acquire()
	r.process(true)
	r.finishRaw(nil)
	r.releaseHold()
	if r.loaderState == 1 && !r.isNested {
		r.insertLoader()
	}
	err := r.drain()
	r.recycle()
	giveBack(&pendPool, &r.buf, &r.bufBox)
	r.releaseScratch()
	if r.spare != nil {
		putNested(r.spare)
		r.spare = nil
	}
	if err != nil {
		return err
	}
	return r.err
}

func (r *Writer) drain() error {
	r.flushPend()
	if r.holding {
		// Write what precedes the loader's place; keep the rest.
		if r.holdAt == 0 {
			return nil
		}
		err := r.writeOut(r.out[:r.holdAt])
		r.out = r.out[:copy(r.out, r.out[r.holdAt:])]
		r.holdAt = 0
		return err
	}
	if len(r.out) == 0 {
		return nil
	}
	err := r.writeOut(r.out)
	r.out = r.out[:0]
	return err
}

// loaderHold bounds the output held while waiting to learn whether the
// loader is needed at its place.
const loaderHold = 16 << 10

// holdForLoader marks the current output position as the loader's place.
func (r *Writer) holdForLoader() {
	if r.holdDone || r.loaderState != 0 || r.isNested || r.opts.Loader == nil || r.opts.ReportOnly || !r.loaderContextOK() {
		return
	}
	r.flushPend()
	r.holdDone = true
	r.holding = true
	r.holdAt = len(r.out)
}

// releaseHold gives up the loader's place: the held output flows, and a
// later deferral puts the loader right before the deferred element.
func (r *Writer) releaseHold() {
	r.holding = false
}

// writeOut writes b downstream and records the first error.
func (r *Writer) writeOut(b []byte) error {
	n, err := r.w.Write(b)
	if !r.isNested {
		r.stats.BytesOut += int64(n)
	}
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil && r.err == nil {
		r.err = err
	}
	return err
}

// outBatch is how much decided output is gathered before it is written.
const outBatch = 32 << 10

// emitIn passes through b, which lies in the input consume is reading.
func (r *Writer) emitIn(b []byte) {
	// The usual case, kept short: most tokens pass as they came, right
	// after the run already pending.
	n := len(r.pend)
	if room := r.pend[n:cap(r.pend)]; len(b) <= len(room) && !r.holding && unsafe.SliceData(room) == unsafe.SliceData(b) {
		r.pend = r.pend[:n+len(b)] // b follows pend in the input
		return
	}
	r.emitInSlow(b)
}

func (r *Writer) emitInSlow(b []byte) {
	if r.holding {
		r.emit(b) // the hold's bound counts each byte as it comes
		return
	}
	if len(b) == 0 {
		return
	}
	r.flushPend() // b does not follow pend (emitIn has tested it)
	r.pend = b
}

// flushPend moves the input passed through since the last write to the
// output.
func (r *Writer) flushPend() {
	if len(r.pend) > 0 {
		b := r.pend
		r.pend = nil
		r.emitNow(b)
	}
}

// emit writes b, which may be scratch memory, after the output so far.
func (r *Writer) emit(b []byte) {
	r.flushPend()
	r.emitNow(b)
}

func (r *Writer) emitNow(b []byte) {
	if r.holding {
		if len(b) >= outBatch/2 && len(r.out)+len(b)-r.holdAt > loaderHold {
			// Past the hold's bound, as settle would find it once b
			// was added: the loader's place is given up and a long run
			// goes out as it lies, after the held output, not copied
			// onto its end (which grew the output to b's size).
			r.releaseHold()
			r.drain()
			r.writeOut(b)
			return
		}
		r.out = append(r.out, b...)
		r.settle()
		return
	}
	if len(r.out)+len(b) <= outBatch {
		r.out = append(r.out, b...)
		return
	}
	r.drain()
	if len(b) >= outBatch/2 {
		r.writeOut(b) // a long run goes out as it lies, uncopied
		return
	}
	r.out = append(r.out, b...)
}

func (r *Writer) emitString(s string) {
	r.flushPend()
	r.out = append(r.out, s...)
}

// consume tokenizes as much of b as can be decided and returns how much.
func (r *Writer) consume(b []byte, eof bool) int {
	pos := 0
	if !r.pastBOM {
		// A browser's decoder takes a byte-order mark off before the
		// tokenizer reads the page: it is not text, and does not open
		// the body. It passes as it came, still first, so the browser
		// still finds it (and a doctype after it still counts).
		m, more := hasPrefix(b, utf8BOM)
		if more && !eof {
			return 0
		}
		r.pastBOM = true
		if m {
			r.emitIn(b[:len(utf8BOM)])
			pos = len(utf8BOM)
		}
	}
read:
	for pos < len(b) && r.err == nil {
		if r.raw == rawComment {
			n, done := scanCommentEnd(b[pos:], eof)
			r.emitIn(b[pos : pos+n])
			pos += n
			if !done {
				break
			}
			r.raw = rawNone
			continue
		}
		if r.raw != rawNone {
			n, done := r.scanRaw(b[pos:], eof)
			if n > 0 {
				r.rawContent(b[pos : pos+n])
				pos += n
			}
			if !done {
				break
			}
			kind, m, ok := scanMarkup(b[pos:], eof, false, &r.scan)
			if !ok {
				if len(b)-pos > r.max {
					r.err = ErrTokenTooLarge
				}
				break
			}
			r.endRaw(b[pos:pos+m], kind)
			pos += m
			continue
		}
		var kind tokKind
		var n int
		var ok, scanned bool
		if !r.headPhase && !r.holding && r.loaderState != 1 && !r.usualOff {
			if pos, kind, n, ok, scanned = r.passUsual(b, pos, eof); pos >= len(b) {
				break
			}
		}
		if !scanned {
			i := textLen(b[pos:])
			if i < 0 {
				r.text(b[pos:])
				pos = len(b)
				break
			}
			if i > 0 {
				r.text(b[pos : pos+i])
				pos += i
			}
			// Most markup is a start or end tag, told apart by its second
			// and third bytes: as scanMarkup would, without its call.
			switch {
			case pos+2 < len(b) && isASCIIAlpha(b[pos+1]):
				r.scan.ok = false
				kind, n, ok = scanTagEnd(b[pos:], 1, tokStartTag, eof, &r.scan)
			case pos+2 < len(b) && b[pos+1] == '/' && isASCIIAlpha(b[pos+2]):
				r.scan.ok = false
				kind, n, ok = scanTagEnd(b[pos:], 2, tokEndTag, eof, &r.scan)
			default:
				// Comments stream: only their start is decided here.
				if m, more := hasPrefix(b[pos:], "<!--"); m {
					rest := b[pos+4:]
					if len(rest) < 2 && !eof {
						break read // "<!-->" and "<!--->" are whole comments: wait to see
					}
					if !(len(rest) >= 1 && rest[0] == '>') && !(len(rest) >= 2 && rest[0] == '-' && rest[1] == '>') {
						r.emitIn(b[pos : pos+4])
						pos += 4
						r.raw = rawComment
						continue
					}
				} else if more && !eof {
					break read
				}
				kind, n, ok = scanMarkup(b[pos:], eof, r.tree.foreign(), &r.scan)
			}
		}
		if !ok {
			if len(b)-pos > r.max {
				r.err = ErrTokenTooLarge
			}
			break
		}
		raw := b[pos : pos+n]
		pos += n
		if kind == tokStartTag && r.tree.foreign() && !r.svgStyleAhead(raw, b[pos:], eof) {
			pos -= n // an SVG style waits for its sheet's end
			break
		}
		// The usual tags are passed here, as token would pass them.
		switch top := r.tree.plainTop(); {
		case scanned: // passUsual has declined it
			r.token(kind, raw)
			if kind == tokStartTag && n >= 4 {
				r.seen[seenKey(raw[1], raw[2])].keepImg(&r.tg, raw, &r.scan)
			}
			continue
		case kind == tokStartTag && r.plainStart(raw) != nil:
			r.emitIn(raw)
		case kind == tokEndTag && top != nil && closesTop(raw, top):
			r.tree.pop() // it closes the element on top (a p: and counts it)
			r.emitIn(raw)
		default:
			r.token(kind, raw)
			continue
		}
		if r.loaderState == 1 && r.loaderContextOK() {
			r.insertLoader()
		}
	}
	r.flushPend() // b may change once consume returns
	return pos
}

// passUsual passes what consume would pass unchanged, from b[pos] on, in
// one run: text outside the head, the start tags plainStart passes, the
// images Writer.seen knows again, and the end tags that close the HTML
// element on top. None of them changes
// what lets it run (the head phase, a hold, a loader waiting for its
// place), which consume checks before the call. It stops at the first
// token it does not pass and returns where that token starts; when it has
// read the token as a tag, scanned is set and kind, n and ok are what
// scanTagEnd returned for it.
func (r *Writer) passUsual(b []byte, pos int, eof bool) (end int, kind tokKind, n int, ok, scanned bool) {
	start := pos
	t := &r.tree
	for pos < len(b) {
		if b[pos] != '<' {
			i := textLen(b[pos:])
			if i < 0 {
				pos = len(b)
				break
			}
			pos += i
			continue
		}
		if pos+2 >= len(b) {
			break
		}
		if c := b[pos+1]; isASCIIAlpha(c) {
			e := &r.seen[seenKey(c, b[pos+2])]
			if m := r.seenLen(e, b[pos:]); m != 0 && !t.foreign() {
				if e.img {
					r.stats.Elements++ // what startTag does for it
					r.opensBody = false
					pos += m
					continue
				}
				if r.pushUsual(e.idx, e.flags) {
					pos += m
					continue
				}
			}
			r.scan.ok = false
			kind, n, ok = scanTagEnd(b[pos:], 1, tokStartTag, eof, &r.scan)
			if !ok || kind != tokStartTag {
				scanned = true
				break
			}
			s := r.plainStart(b[pos : pos+n])
			if s == nil {
				scanned = true
				break
			}
			e.keep(b[pos:pos+n], &r.scan, s.idx, s.flags)
		} else if c == '/' && isASCIIAlpha(b[pos+2]) {
			// The usual end tag is "</" and the name of the element on
			// top, as the tree keeps it, and '>': what the scanner would
			// read as that name, and closesTop pass. It is the only end
			// tag passed here, so any other is scanned and handed on.
			if top := t.plainTop(); top != nil {
				if m := len(top.name) + 3; m <= len(b)-pos && closesTop(b[pos:pos+m], top) {
					t.pop() // a p: and counts it
					pos += m
					continue
				}
			}
			r.scan.ok = false
			kind, n, ok = scanTagEnd(b[pos:], 2, tokEndTag, eof, &r.scan)
			scanned = true
			break
		} else {
			break
		}
		pos += n
	}
	r.emitIn(b[start:pos])
	return pos, kind, n, ok, scanned
}

// textLen returns how many bytes of text b starts with, up to its first
// '<', or -1 when it holds none. Text between tags is often one byte (a
// newline), found without a call.
func textLen(b []byte) int {
	if b[0] == '<' {
		return 0
	}
	if len(b) > 1 && b[1] == '<' {
		return 1
	}
	return bytes.IndexByte(b, '<')
}

// process tokenizes as much of r.buf as can be decided.
func (r *Writer) process(eof bool) {
	b := r.buf
	pos := r.consume(b, eof)
	rest := len(b) - pos
	if pos > 0 {
		copy(b, b[pos:])
		r.buf = b[:rest]
	}
	r.noteRest(rest, eof)
	if eof && r.raw == rawNone {
		r.buf = r.buf[:0]
	}
}

// keepTail keeps the undecided tail of an input that was consumed in place.
func (r *Writer) keepTail(rest []byte) {
	r.buf = r.buf[:0]
	r.pendBytes(rest)
	r.noteRest(len(rest), false)
}

func (r *Writer) noteRest(rest int, eof bool) {
	if rest > 0 && !eof {
		r.lastFail = rest
	} else {
		r.lastFail = 0
	}
}

// scanRaw consumes raw-text content. It returns how many bytes are content
// and whether the end ("</name" or "-->") starts right after them.
func (r *Writer) scanRaw(b []byte, eof bool) (n int, done bool) {
	switch r.raw {
	case rawPlain:
		return len(b), false
	case rawText:
		for i := 0; i < len(b); i++ {
			j := bytes.IndexByte(b[i:], '<')
			if j < 0 {
				break
			}
			i += j
			m, more := r.endTagAt(b[i:], eof)
			if m {
				return i, true
			}
			if more {
				return i, false
			}
		}
		return len(b), false
	}
	return r.scanScript(b, eof)
}

// scanCommentEnd returns how many bytes of comment content (with its end)
// can be written, and whether the comment ended: at "-->" or "--!>".
func scanCommentEnd(b []byte, eof bool) (int, bool) {
	for i := 0; i < len(b); i++ {
		if b[i] != '-' {
			continue
		}
		if !eof && (i+2 >= len(b) || (b[i+1] == '-' && b[i+2] == '!' && i+3 >= len(b))) {
			return i, false
		}
		if i+2 < len(b) && b[i+1] == '-' && b[i+2] == '>' {
			return i + 3, true
		}
		if i+3 < len(b) && b[i+1] == '-' && b[i+2] == '!' && b[i+3] == '>' {
			return i + 4, true
		}
	}
	return len(b), false
}

// endTagAt reports whether b starts with the appropriate end tag "</name"
// followed by a delimiter; more is set when b is too short to tell.
func (r *Writer) endTagAt(b []byte, eof bool) (match, more bool) {
	need := 2 + len(r.rawName) + 1
	if len(b) < need {
		if eof {
			return false, false
		}
		if m, mm := hasPrefixFold(b, "</"+r.rawName); m || mm {
			return false, true
		}
		return false, false
	}
	if b[1] != '/' {
		return false, false
	}
	if m, _ := hasPrefixFold(b[2:], r.rawName); !m {
		return false, false
	}
	c := b[need-1]
	return isSpace(c) || c == '/' || c == '>', false
}

// scanScript runs the script data states, including the escaped and
// double-escaped states that "<!--" and "<script" open.
func (r *Writer) scanScript(b []byte, eof bool) (int, bool) {
	st := r.sstate
	i := 0
	for i < len(b) {
		if st == sData {
			// Only a '<' changes the state: jump to the next one.
			j := bytes.IndexByte(b[i:], '<')
			if j < 0 {
				i = len(b)
				break
			}
			i += j
		}
		c := b[i]
		if c == '<' {
			// "<" handling needs up to 9 bytes of lookahead.
			if len(b)-i < 9 && !eof {
				r.sstate = st
				return i, false
			}
			switch st {
			case sData:
				if m, _ := r.endTagAt(b[i:], eof); m {
					r.sstate = st
					return i, true
				}
				if m, _ := hasPrefix(b[i:], "<!--"); m {
					st = sEscapedDashDash
					i += 4
					continue
				}
				i++
				continue
			case sEscaped, sEscapedDash, sEscapedDashDash:
				if m, _ := r.endTagAt(b[i:], eof); m {
					r.sstate = st
					return i, true
				}
				if m, _ := hasPrefixFold(b[i+1:], "script"); m && i+7 < len(b) && (isSpace(b[i+7]) || b[i+7] == '/' || b[i+7] == '>') {
					st = sDouble
					i += 8
					continue
				}
				st = sEscaped
				i++
				continue
			default: // double escaped
				if m, _ := hasPrefixFold(b[i+1:], "/script"); m && i+8 < len(b) && (isSpace(b[i+8]) || b[i+8] == '/' || b[i+8] == '>') {
					st = sEscaped
					i += 9
					continue
				}
				st = sDouble
				i++
				continue
			}
		}
		switch st {
		case sEscaped:
			if c == '-' {
				st = sEscapedDash
			}
		case sEscapedDash:
			if c == '-' {
				st = sEscapedDashDash
			} else {
				st = sEscaped
			}
		case sEscapedDashDash:
			switch c {
			case '-':
			case '>':
				st = sData
			default:
				st = sEscaped
			}
		case sDouble:
			if c == '-' {
				st = sDoubleDash
			}
		case sDoubleDash:
			if c == '-' {
				st = sDoubleDashDash
			} else {
				st = sDouble
			}
		case sDoubleDashDash:
			switch c {
			case '-':
			case '>':
				st = sData
			default:
				st = sDouble
			}
		}
		i++
	}
	r.sstate = st
	return i, false
}

func (r *Writer) enterRaw(k rawKind, name string, d disposition) {
	r.raw, r.rawName, r.disp, r.sstate = k, name, d, sData
}

// rawContent disposes of raw-text content.
func (r *Writer) rawContent(b []byte) {
	switch r.disp {
	case dispPass:
		r.emitIn(b)
	case dispDrop:
	case dispNested:
		r.nested.Write(b)
	case dispHold:
		if len(r.held)-r.heldLen+len(b) > r.max {
			// Fail closed: decide on what we have, as unclassified.
			r.heldOver = true
			r.decideHeld(nil)
			r.rawContent(b)
			return
		}
		r.held = append(r.held, b...)
	}
}

// endRaw handles the end tag (or EOF cut) of a raw-text element.
func (r *Writer) endRaw(end []byte, kind tokKind) {
	r.finishRaw(end)
	if kind == tokEndTag {
		parseTagName(&r.tg, end, &r.names)
		r.tree.end(r.tg.name, r.tg.flags)
	}
}

// finishRaw ends the raw-text element with the given end tag bytes (nil at
// EOF).
func (r *Writer) finishRaw(end []byte) {
	if r.raw == rawNone {
		return
	}
	if r.raw == rawComment {
		r.raw = rawNone
		return
	}
	switch r.disp {
	case dispPass:
		r.emitIn(end)
	case dispDrop:
	case dispNested:
		r.closeNested()
		r.emit(end)
	case dispHold:
		r.decideHeld(end)
		if r.disp == dispPass {
			r.emit(end)
		}
	}
	r.raw = rawNone
}

// token handles a complete token in the data state.
func (r *Writer) token(kind tokKind, raw []byte) {
	switch kind {
	case tokStartTag:
		r.startTag(raw)
	case tokEndTag:
		name, flags := r.endName(raw)
		r.tree.end(name, flags)
		r.emitIn(raw)
	case tokCDATA:
		r.cdataSection(raw)
	default:
		r.emitIn(raw)
	}
	if r.loaderState == 1 && r.loaderContextOK() {
		r.insertLoader()
	}
}

// cdataSection writes a CDATA section of foreign content, text to a
// browser's parser. Chromium's preload scanner does not know CDATA: it
// reads "<![CDATA[" as a bogus comment, which ends at the first '>', and
// the rest of the section as markup, breakout tags and all:
// <svg><![CDATA[><img src=//vendor/p.gif>]]> fetched the image in
// Chromium 156 before any choice (TestBrowserAdversarial; a section
// with no '>' before its tags fetched nothing). When that markup loads
// what the policy holds, cannot be read, or holds a <base>, which would
// move where the scanner resolves what follows, the section is cut after
// each '>' (…>]]><![CDATA[…): the same text to the parser, and nothing but
// bogus comments to the scanner. Counted as ambiguous_context.
func (r *Writer) cdataSection(raw []byte) {
	const open, end = "<![CDATA[", "]]>"
	body := raw[len(open):]
	closed := bytes.HasSuffix(body, []byte(end))
	if closed {
		body = body[:len(body)-len(end)]
	}
	i := bytes.IndexByte(body, '>')
	if i < 0 || r.opts.Policy == nil || bytes.IndexByte(body[i:], '<') < 0 {
		r.emitIn(raw)
		return
	}
	view := body[i+1:]
	d, err := r.readNested(io.Discard, view)
	if err == nil && d.Action < Defer && !containsFold(view, keyBaseTag) {
		r.emitIn(raw)
		return
	}
	r.stats.failClosed(FailAmbiguous)
	if r.opts.ReportOnly {
		r.emitIn(raw)
		return
	}
	r.emitString(open)
	for len(body) > 0 {
		j := bytes.IndexByte(body, '>')
		if j < 0 {
			r.emit(body)
			break
		}
		r.emit(body[:j+1])
		r.emitString(end + open)
		body = body[j+1:]
	}
	if closed {
		r.emitString(end)
	}
}

// endName returns the lower-case name and the tagFlags of an end tag. When
// the tag is exactly "</" + the name of the element on top + ">", the
// usual case, they are that element's, and the name is not looked up.
func (r *Writer) endName(raw []byte) (string, uint16) {
	if n := r.tree.top(); n != nil && closesTop(raw, n) {
		return n.name, n.flags
	}
	parseTagName(&r.tg, raw, &r.names)
	return r.tg.name, r.tg.flags
}

// closesTop reports whether raw, an end tag, is exactly "</" + n's name +
// ">".
func closesTop(raw []byte, n *node) bool {
	return len(raw) == len(n.name)+3 && raw[len(raw)-1] == '>' && string(raw[2:len(raw)-1]) == n.name
}

// ambiguous lists start tags whose parsing browsers and parsers disagree on
// inside an open select or after a frameset: some ignore the tag (its
// content is markup), others honour it (its content is raw text). The start
// tag is dropped so that every reader sees markup, and that markup is then
// rewritten like any other.
var ambiguous = map[string]bool{
	"style": true, "xmp": true, "iframe": true, "noembed": true, "noframes": true,
	"noscript": true, "title": true, "plaintext": true, "svg": true, "math": true,
}

// record counts a decision and keeps the strongest one of the document.
func (r *Writer) record(kind Kind, d *Decision) {
	r.stats.record(kind, d)
	if d.Action > r.strongest.Action {
		r.strongest = Decision{Action: d.Action, Category: r.stats.keep(d.Category), Vendor: r.stats.keep(d.Vendor)}
	}
}

// lacksKeyAttr reports whether an element that matters only through one
// attribute lacks that attribute's name in its raw bytes (attribute names
// are never escaped, so the test is exact).
func (r *Writer) lacksKeyAttr(name string, raw []byte, from int) bool {
	key, ok := keyAttr(name)
	return ok && !r.mayHave(raw, from, key)
}

// keyAttr returns, for an element that matters only through one
// attribute, that attribute.
func keyAttr(name string) (foldKey, bool) {
	switch name {
	case "a", "area":
		return keyPing, true
	case "body", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "colgroup", "col":
		return keyBackground, true
	case "meta":
		return keyHTTPEquiv, true
	case "form":
		return keyAction, true
	case "button":
		return keyFormAction, true
	}
	return foldKey{}, false
}

// plainStart passes raw, the start tag scanTagEnd has just read into
// r.scan, when it is a known HTML element that nothing in it can make
// contact a host and that the tree pushes plainly, outside the head and
// foreign content: what startTag would do for it but emit it, without
// reading it again. It reports whether it did; the caller emits raw.
func (r *Writer) plainStart(raw []byte) *knownSlot {
	if r.headPhase || r.tree.foreign() {
		return nil
	}
	w, ok := nameWord(raw[1:r.scan.nameEnd])
	if !ok {
		return nil
	}
	s := knownShort(r.scan.nameEnd-1, w)
	if s == nil || !s.plain || r.scan.letters&s.keyLetters != 0 || r.attrsCanLoad(raw) || !r.pushUsual(s.idx, s.flags) {
		return nil
	}
	return s
}

// pushUsual does what startTag does for a start tag that plainStart may
// pass, of the known name idx with the tagFlags flags, outside the head
// and foreign content: unless it would close a p, which it leaves to
// startTag, reporting false.
func (r *Writer) pushUsual(idx int16, flags uint16) bool {
	if flags&fClosesP != 0 && r.tree.paras > 0 {
		return false
	}
	r.stats.Elements++
	r.opensBody = false
	if flags&fTree != 0 {
		r.tree.push(node{name: knownNames[idx], flags: flags}) // p, counted
	} else {
		r.tree.pushPlain(knownNames[idx], flags)
	}
	return true
}

// seenTag is an entry of Writer.seen: a start tag that plainStart has
// passed, with the contents of its first quoted values cut out, and its
// name's index and tagFlags.
type seenTag struct {
	b     [56]byte // the tag, without the cut values
	n     uint8    // its length in b; 0 for an empty entry
	nv    uint8    // how many values are cut out
	cut   [4]uint8 // where each was in b: right after its opening quote
	idx   int16
	flags uint16
	// img marks an <img> that is passed whole when the values cut at
	// the bits of vecs, its URLs, are paths the policy keeps unasked
	// (Writer.seenLen).
	img  bool
	vecs uint8
	// hands marks the values cut that are event handlers': another value
	// there must name no host either (handlerMayLoad).
	hands uint8
	// bgs marks the values cut that are lazy background attributes'
	// (lazyBgName) or an attributionsrc, which plainStart passed empty:
	// another value there must be empty too.
	bgs uint8
	// navs marks the values cut that are navigation attributes'
	// (jsURLAttr): another value there must be no javascript: URL either
	// (jsURLStart).
	navs uint8
}

// keep makes e the start tag raw, which the scanner has just read into
// info and plainStart passed as the known name idx with flags; or empty,
// when raw, without its values, is longer than e can hold.
func (e *seenTag) keep(raw []byte, info *scanInfo, idx int16, flags uint16) {
	e.n, e.nv, e.img, e.vecs, e.hands, e.bgs, e.navs = 0, 0, false, 0, 0, 0, 0
	if !info.ok || info.n > maxScanAttrs {
		return
	}
	j, k, nv := 0, 0, 0 // j: raw copied up to; k: bytes in e.b
	var hands, bgs, navs uint8
	for i := range info.attrs[:info.n] {
		a := &info.attrs[i]
		if !quotedValue(a.valStart, a.valEnd, a.end) || nv == len(e.cut) {
			continue
		}
		// Another value in a handler's place is checked as plainStart
		// checked this one (seenLen).
		if rawHandler(raw, a) {
			hands |= 1 << nv
		}
		if rawLazyBg(raw, a) || rawAttributionSrc(raw, a) {
			bgs |= 1 << nv
		}
		if rawNavName(raw, a) {
			navs |= 1 << nv
		}
		seg := int(a.valStart) - j
		if k+seg > len(e.b) {
			return
		}
		k += copy(e.b[k:], raw[j:a.valStart])
		e.cut[nv] = uint8(k)
		nv++
		j = int(a.valEnd)
	}
	if k+len(raw)-j > len(e.b) {
		return
	}
	k += copy(e.b[k:], raw[j:])
	e.n, e.nv, e.idx, e.flags, e.hands, e.bgs, e.navs = uint8(k), uint8(nv), idx, flags, hands, bgs, navs
}

// seenLen returns the length of the start tag at the start of b when it
// is e's but for the contents of the quoted values cut out of e, or 0.
// Inside a quoted value the tokenizer looks for nothing but the closing
// quote, so the rest of such a tag reads as e's did, with the same names.
// The values at e.vecs, an <img>'s URLs, must also be paths of the page's
// own that the policy keeps unasked (ownPath), with no character
// reference in them: startTag and element would then pass the <img>
// whole, counting it and deciding nothing.
func (r *Writer) seenLen(e *seenTag, b []byte) int {
	if e.n == 0 {
		return 0
	}
	i, j := 0, 0 // i in b, j in e.b
	for k, c := range e.cut[:e.nv] {
		s := int(c)
		if s-j > len(b)-i || string(b[i:i+s-j]) != string(e.b[j:s]) {
			return 0
		}
		i += s - j
		x := bytes.IndexByte(b[i:], e.b[s-1]) // the closing quote
		if x < 0 {
			return 0
		}
		if e.vecs&(1<<k) != 0 {
			v := b[i : i+x]
			if bytes.IndexByte(v, '&') >= 0 || !r.ownPath(KindImage, unsafe.String(unsafe.SliceData(v), len(v))) {
				return 0
			}
		}
		if e.hands&(1<<k) != 0 && handlerMayLoad(b[i:i+x]) || e.bgs&(1<<k) != 0 && x > 0 || e.navs&(1<<k) != 0 && jsURLStart(b[i:i+x]) {
			return 0
		}
		i, j = i+x, s
	}
	n := int(e.n)
	if n-j > len(b)-i || string(b[i:i+n-j]) != string(e.b[j:n]) {
		return 0
	}
	return i + n - j
}

// keepImg makes e, the seen slot of raw, the <img> t that startTag has
// just parsed from what the scanner read into info: when none of its
// attributes is one whose value may hold a list of URLs or CSS (style,
// srcset and its lazy loaders' copies, data-poster) or is an event
// handler, and each of those that hold a URL (src and its lazy loaders'
// copies, a browser's ignored duplicate among them, which is checked all
// the same) has a quoted value among those cut. Otherwise e is left as it
// was.
func (e *seenTag) keepImg(t *tag, raw []byte, info *scanInfo) {
	if t.name != "img" || unsafe.SliceData(t.raw) != unsafe.SliceData(raw) || !info.ok || info.n > maxScanAttrs || len(t.attrs) != info.n {
		return
	}
	var vecs uint8
	quoted := 0
	for i := range t.attrs {
		a := &t.attrs[i] // as the scanner saw info.attrs[i], its name lower-cased
		q := quotedValue(a.valStart, a.valEnd, a.end)
		switch {
		case a.name == "style" || a.name == "srcset" || a.name == "data-srcset" || a.name == "data-lazy-srcset" || a.name == "data-poster" || a.name == "attributionsrc" || isHandler(a.name) || lazyBgName(a.name):
			// (A handler's, a lazy background's or an attributionsrc's
			// value, cut or not, may be one that element held: seenLen
			// passes the image without asking. FuzzPassUsual found
			// <img data-bg=//tracker…> and <img attributionsrc=//tracker…>,
			// whose unquoted values are not cut.)
			return
		case a.valStart >= 0 && (a.name == "src" || a.name == "data-src" || a.name == "data-lazy-src" || a.name == "data-original"):
			if !q || quoted >= len(e.cut) {
				return
			}
			vecs |= 1 << quoted
		}
		if q {
			quoted++
		}
	}
	var s seenTag
	s.keep(raw, info, 0, 0)
	if s.n == 0 {
		return
	}
	*e = s
	e.img, e.vecs = true, vecs
}

// quotedValue reports whether an attribute's value, from valStart to
// valEnd, is quoted: its end is then past the closing quote. An unquoted
// value ends at end; valStart is -1 when there is no value.
func quotedValue(valStart, valEnd, end int32) bool {
	return valStart >= 0 && end == valEnd+1
}

// seenKey is the slot in Writer.seen of a start tag whose first two bytes
// after '<' are c and d.
func seenKey(c, d byte) uint {
	return (uint(c)*7 + uint(d)) % 32
}

// mayHave reports whether the current tag, raw, whose attributes start at
// from, may have an attribute called k: it does not when none of its
// names starts with k's letter, or when none of the names the scanner saw
// is k in any case (or, past the names it keeps, when its bytes do not
// hold k).
func (r *Writer) mayHave(raw []byte, from int, k foldKey) bool {
	if r.scan.letters&letterBit(k.word[0]) == 0 {
		return false
	}
	if !r.scan.ok || r.scan.n > maxScanAttrs {
		return containsFold(raw[from:], k)
	}
	return r.scanned(raw, k) != nil
}

// scanned returns the first attribute of raw, the current tag, that the
// scanner saw called k in any case, or nil. The scanner's record must be
// whole (scan.ok, at most maxScanAttrs attributes).
func (r *Writer) scanned(raw []byte, k foldKey) *rawAttr {
	for i := range r.scan.attrs[:r.scan.n] {
		a := &r.scan.attrs[i]
		if int(a.nameEnd-a.nameStart) == len(k.word) {
			if m, _ := hasPrefixFold(raw[a.nameStart:a.nameEnd], k.word); m {
				return a
			}
		}
	}
	return nil
}

// styleCanLoad reports whether the current tag, raw, whose attributes
// start at from, may have a style attribute whose value can load
// anything: false when it has none, or when the scanner saw the first one
// (the one browsers use) and its value has nothing that can
// (styleMayLoad, which reads the raw bytes: a character reference counts
// as something that can).
func (r *Writer) styleCanLoad(raw []byte, from int) bool {
	if !r.scan.ok || r.scan.n > maxScanAttrs {
		return r.mayHave(raw, from, keyStyle)
	}
	if r.scan.letters&letterBit(keyStyle.word[0]) == 0 {
		return false
	}
	a := r.scanned(raw, keyStyle)
	return a != nil && a.valStart >= 0 && styleMayLoad(raw[a.valStart:a.valEnd])
}

// attrsCanLoad reports whether the current tag, raw, may have an event
// handler whose value can name a host (handlerMayLoad), a lazy background
// attribute or an attributionsrc with a value (data-bg…, lazyBgName;
// attributionSrc), or a javascript: URL in a navigation attribute
// (rawJSURL): false when none of its names starts with o, d or a
// navigation attribute's letter (a among them), or when the scanner saw
// every attribute and none is such an attribute.
func (r *Writer) attrsCanLoad(raw []byte) bool {
	if r.scan.letters&(letterBit('o')|letterBit('d')|jsURLLetters) == 0 {
		return false
	}
	if !r.scan.ok || r.scan.n > maxScanAttrs {
		return true
	}
	for i := range r.scan.attrs[:r.scan.n] {
		a := &r.scan.attrs[i]
		if a.valStart < 0 {
			continue
		}
		if rawHandler(raw, a) && handlerMayLoad(raw[a.valStart:a.valEnd]) || a.valEnd > a.valStart && (rawLazyBg(raw, a) || rawJSURL(raw, a) || rawAttributionSrc(raw, a)) {
			return true
		}
	}
	return false
}

// rawHandler reports whether the attribute a of raw, as the scanner saw
// it, is named like an event handler, in any case.
func rawHandler(raw []byte, a *rawAttr) bool {
	return a.nameEnd-a.nameStart > 2 && raw[a.nameStart]|0x20 == 'o' && raw[a.nameStart+1]|0x20 == 'n'
}

// rawLazyBg reports whether the attribute a of raw, as the scanner saw
// it, is named like a lazy background attribute (lazyBgName), in any
// case.
func rawLazyBg(raw []byte, a *rawAttr) bool {
	n := raw[a.nameStart:a.nameEnd]
	if len(n) < 7 || n[5]|0x20 != 'b' {
		return false
	}
	if m, _ := hasPrefixFold(n, "data-bg"); m {
		return true
	}
	m, _ := hasPrefixFold(n, "data-background")
	return m
}

// rawAttributionSrc reports whether the attribute a of raw, as the scanner
// saw it, is called attributionsrc, in any case.
func rawAttributionSrc(raw []byte, a *rawAttr) bool {
	n := raw[a.nameStart:a.nameEnd]
	return len(n) == 14 && foldEq(n, "attributionsrc")
}

// lazyBgName reports whether the lower-case attribute name is one that
// lazy loaders copy into an element's background image once it nears the
// viewport: data-bg and data-background and every name they begin
// (data-bg-multi, data-bgset, data-bg-set, data-background-image…), as
// lazysizes, vanilla-lazyload, lozad and WordPress plugins name them.
func lazyBgName(name string) bool {
	return strings.HasPrefix(name, "data-bg") || strings.HasPrefix(name, "data-background")
}

var (
	keyStyle      = newFoldKey("style")
	keyPing       = newFoldKey("ping")
	keyBackground = newFoldKey("background")
	keyHTTPEquiv  = newFoldKey("http-equiv")
	keyAction     = newFoldKey("action")
	keyFormAction = newFoldKey("formaction")
	keyBaseTag    = newFoldKey("<base") // (cdataSection)
)

// notePhase tracks the head phase for a start tag. An element that opens
// the body from the head keeps its tag when it is removed (only its URLs
// go): taking it out would move everything up to the real body start into
// the head. It is also the loader's place when nothing earlier was.
func (r *Writer) notePhase(t *tag) {
	r.opensBody = r.headPhase && t.flags&fHeadable == 0
	if r.opensBody {
		r.headPhase = false
		if t.name != "body" {
			r.holdForLoader() // the start of the body: before this element
		}
	}
}

// holdAfter makes the place right after <head> or <body> the loader's.
func (r *Writer) holdAfter(name string) {
	if name == "head" || name == "body" {
		r.holdForLoader()
	}
}

// ambiguousStart drops a start tag that parsers read differently in an
// open select or after a frameset (see ambiguous), counting it.
func (r *Writer) ambiguousStart(t *tag, name string) bool {
	amb := t.flags&fAmbiguous != 0
	if r.active() && (r.tree.selects > 0 && amb || r.tree.frameset && (amb || name == "script" || name == "textarea")) {
		r.stats.failClosed(FailAmbiguous)
		return true
	}
	return false
}

// text writes character data in the data state.
func (r *Writer) text(b []byte) {
	if r.headPhase {
		i := 0
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i < len(b) {
			// Its first character other than white space opens the body:
			// the loader's place is right before it, wherever the text
			// was cut into writes.
			r.emitIn(b[:i])
			r.headPhase = false
			r.holdForLoader()
			b = b[i:]
		}
	}
	r.emitIn(b)
}

// headable are the start tags that leave a parser in (or before) the head:
// any other start tag, or text, opens the body.
var headable = map[string]bool{
	"html": true, "head": true, "base": true, "basefont": true, "bgsound": true, "link": true,
	"meta": true, "noframes": true, "script": true, "style": true, "template": true,
	"title": true, "noscript": true,
}

func (r *Writer) startTag(raw []byte) {
	t := &r.tg
	if r.scan.ok {
		nameAt(t, raw, 1, r.scan.nameEnd, &r.names)
	} else {
		parseTagName(t, raw, &r.names)
	}
	r.stats.Elements++
	r.notePhase(t)
	if r.guess && t.name == "meta" && !readsASCII(metaCharset(raw)) {
		// A <meta> past the first PrescanSize bytes, which Chromium
		// takes in the head: it put the whole page in ISO-2022-JP, whose
		// escapes hide markup from a reader of bytes. It is not written,
		// and the page stays one that declares no encoding.
		r.stats.failClosed(FailUndeclaredEncoding)
		r.tree.startHTML(t.name, t.flags, false)
		r.holdAfter(t.name)
		return
	}
	if t.flags&fRawText == 0 && !r.tree.foreign() && !r.styleCanLoad(raw, t.nameEnd) &&
		(t.flags&fAttrs == 0 || r.lacksKeyAttr(t.name, raw, t.nameEnd)) && !r.attrsCanLoad(raw) {
		// A plain HTML element with no style attribute or event handler
		// that can load anything: nothing in it can contact a host, so
		// its attributes are not read.
		if !r.ambiguousStart(t, t.name) {
			r.tree.startHTML(t.name, t.flags, false)
			r.emitIn(raw)
			r.holdAfter(t.name)
		}
		return
	}
	parseAttrsFrom(t, &r.names, &r.scan)
	if r.nonce == "" {
		switch t.name {
		case "script":
			if v, ok := t.get("nonce"); ok {
				r.nonce = decodeAttr(v)
			}
		case "meta":
			// <meta http-equiv="Content-Security-Policy" content="… 'nonce-X' …">
			if v, ok := t.get("http-equiv"); ok && strings.EqualFold(strings.TrimSpace(decodeAttr(v)), "content-security-policy") {
				if c, ok := t.get("content"); ok {
					r.nonce = CSPNonce(decodeAttr(c))
				}
			}
		}
	}
	// A start tag that breaks out of foreign content (an <img> in an
	// <svg>) ends it: removed whole, it would leave what follows in the
	// foreign content, where it parses otherwise (a CDATA section there
	// is text, a comment in HTML). Removed, it keeps its tag (element).
	r.breaksOut = r.tree.foreign()
	if r.tree.startForeign(t) {
		ns := r.tree.pushForeign(t)
		r.foreignElement(t, ns)
		return
	}
	name := t.name
	if (name == "image" || name == "script") && r.opts.Policy != nil {
		r.scannerHrefs(t)
	}
	if name == "image" {
		name = "img"
	}
	if r.ambiguousStart(t, name) {
		return
	}
	if name == "frameset" {
		r.tree.frameset = true
	}
	r.tree.startHTML(name, t.flags, t.selfClosing)
	switch name {
	case "script":
		r.holdForLoader() // before the first script
		r.startScript(t)
	case "style":
		r.startStyle(t)
	case "noscript":
		r.emitIn(raw)
		r.nested = r.newNested()
		r.enterRaw(rawText, "noscript", dispNested)
	case "xmp", "noembed", "noframes", "textarea", "title":
		r.element(t, name)
		r.enterRaw(rawText, name, dispPass)
	case "plaintext":
		r.element(t, name)
		r.enterRaw(rawPlain, name, dispPass)
	case "base":
		if r.noscriptBase {
			r.noscriptBaseHref(t)
		} else if !r.baseSet {
			if v, ok := t.get("href"); ok {
				if u, err := ResolveURL(r.opts.PageURL, decodeAttr(v)); err == nil && u.Host != "" {
					// A base after URLs were decided against the page's
					// would move them where they resolve later (a lazy
					// loader's copy, a ping), and a reader that takes the
					// document's first base for all: unless the policy
					// keeps its URL, it loses its href (element), and the
					// page stays the base.
					if r.urlSeen && !r.keepsBase(u) {
						r.lateBase = true
						r.stats.failClosed(FailAmbiguous)
					} else {
						r.base = u
						r.baseSet = true
						r.loaderBeforeBase(u)
					}
				}
			}
		}
		r.element(t, name)
	default:
		r.element(t, name)
		r.holdAfter(name)
	}
}

// vector is one URL-bearing attribute of an element.
type vector struct {
	attr int
	kind Kind
	list byte // 0 single URL, 's' srcset, 'p' space-separated (ping), 'r' refresh
	// fills is, for a lazy loader's attribute (data-src…), the attribute
	// the loader copies it into (src…); "" for the others.
	fills string
	held  bool // a URL of it is deferred or removed
}

// viewAttr decodes an attribute value to compare, without copying one
// with no character reference: the string is valid only while the tag's
// bytes are, and must not be kept.
func viewAttr(v []byte) string {
	if len(v) == 0 || !plainAttr(v) {
		return decodeAttr(v)
	}
	return unsafe.String(&v[0], len(v))
}

func linkKind(rel string) (Kind, bool) {
	k, ok := Kind(0), false
	var buf [32]byte
	for f := range strings.FieldsSeq(rel) {
		if len(f) > len(buf) {
			continue // longer than any keyword
		}
		// Keywords match ASCII case-insensitively, as browsers compare
		// them; lowered on the stack, not in a new string.
		n := copy(buf[:], f)
		for i := range n {
			buf[i] = lower(buf[i])
		}
		switch string(buf[:n]) {
		case "stylesheet":
			return KindStylesheet, true
		case "preconnect", "dns-prefetch", "preload", "modulepreload", "prefetch", "prerender",
			"compression-dictionary", "dictionary":
			// (Chromium fetches a compression dictionary when idle.)
			k, ok = KindHint, true
		case "icon", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon":
			if !ok {
				k, ok = KindIcon, true
			}
		case "manifest":
			// Browsers fetch a linked web app manifest to see whether
			// the page is installable, without the page asking.
			if !ok {
				k, ok = KindManifest, true
			}
		}
	}
	return k, ok
}

// vector appends to vs the attribute attr of t, when it has a value, as
// a URL of kind k (list as in vector.list).
func (t *tag) vector(vs []vector, attr string, k Kind, list byte) []vector {
	if i := t.index(attr); i >= 0 && t.attrs[i].valStart >= 0 {
		vs = append(vs, vector{attr: i, kind: k, list: list})
	}
	return vs
}

// scannerHrefs decides the href and xlink:href attributes of t, an HTML
// image or script start tag, and drops from t those whose URLs the
// policy defers or removes. The element reads neither (an <image> becomes
// an <img>, which loads its src; an HTML script runs its src or its
// text), but Chromium's preload scanner, inside an svg element it saw
// open, reads an <image> or a <script> as SVG's and fetches its href:
// <svg><foreignObject><image href> and <svg><desc><image xlink:href>
// reached the vendor, and a script's href with JavaScript on, whatever
// its type (found by a generated Chromium test, 2026-12-05). As the
// element never loads them, they are dropped whatever the action, and
// counted as removed; the element is then decided as it would be
// without them. In report-only mode they are counted and kept.
func (r *Writer) scannerHrefs(t *tag) {
	kind := KindImage
	if t.name == "script" {
		kind = KindScript
	}
	out, last := r.fixed[:0], 0
	for i := range t.attrs {
		a := &t.attrs[i]
		if a.valStart < 0 || a.name != "href" && a.name != "xlink:href" {
			continue
		}
		d := r.decideURL(kind, t.name, decodeAttr(t.raw[a.valStart:a.valEnd]))
		if d.Action >= Defer && !r.opts.ReportOnly {
			d.Action = Remove
			out = append(out, t.raw[last:a.start]...)
			last = int(a.end)
		}
		r.record(kind, &d)
	}
	if last == 0 {
		return
	}
	out = append(out, t.raw[last:]...)
	r.fixed = out
	r.scan.ok = false // it described the tag as it came
	parseTagName(t, out, &r.names)
	parseAttrsFrom(t, &r.names, &r.scan)
}

// vectors lists the URL-bearing attributes of an HTML element.
func vectors(t *tag, name string, vs []vector) []vector {
	add := func(attr string, k Kind, list byte) { vs = t.vector(vs, attr, k, list) }
	switch name {
	case "img":
		add("src", KindImage, 0)
		add("srcset", KindImage, 's')
		vs = lazyVectors(t, KindImage, vs)
	case "source":
		add("src", KindMedia, 0)
		add("srcset", KindImage, 's')
		vs = lazyVectors(t, KindMedia, vs)
	case "iframe", "frame":
		add("src", KindFrame, 0)
		vs = lazyVectors(t, KindFrame, vs)
	case "embed":
		add("src", KindEmbed, 0)
	case "object":
		add("data", KindEmbed, 0)
	case "video", "audio":
		add("src", KindMedia, 0)
		add("poster", KindImage, 0)
		vs = lazyVectors(t, KindMedia, vs)
	case "track":
		add("src", KindMedia, 0)
	case "input":
		if v, ok := t.get("type"); ok {
			switch typ := strings.TrimSpace(string(v)); {
			case strings.EqualFold(typ, "image"):
				add("src", KindImage, 0)
				add("formaction", KindForm, 0)
			case strings.EqualFold(typ, "submit"):
				add("formaction", KindForm, 0)
			}
		}
	case "button":
		// A submit button's formaction sends the form elsewhere than its
		// action; reported only, as the action is. (A button is a submit
		// button unless its type says otherwise; reporting a reset or
		// plain button's formaction, which nothing reads, is harmless.)
		add("formaction", KindForm, 0)
	case "link":
		if v, ok := t.get("rel"); ok {
			if k, ok := linkKind(viewAttr(v)); ok {
				add("href", k, 0)
				add("imagesrcset", k, 's')
			}
		}
	case "a", "area":
		add("ping", KindPing, 'p')
	case "body", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "colgroup", "col":
		add("background", KindImage, 0)
	case "meta":
		if v, ok := t.get("http-equiv"); ok && strings.EqualFold(strings.TrimSpace(string(v)), "refresh") {
			add("content", KindRefresh, 'r')
		}
	case "form":
		add("action", KindForm, 0)
	case "script":
		add("src", KindScript, 0)
	}
	return vs
}

// lazyVectors adds the attributes that lazy-loading scripts (lazysizes,
// lozad, vanilla-lazyload, jQuery lazyload, WordPress plugins) copy into
// src, srcset or poster when the element nears the viewport: a page's
// own script would otherwise load a tracker's URL that the rewriter let
// through as data. k is the kind of the element's src.
func lazyVectors(t *tag, k Kind, vs []vector) []vector {
	for i := range t.attrs {
		a := &t.attrs[i]
		// An empty value gives a loader nothing to load.
		if len(a.name) < 8 || a.name[:5] != "data-" || a.dup || a.valStart < 0 || a.valStart == a.valEnd {
			continue
		}
		switch a.name {
		case "data-src", "data-lazy-src", "data-original":
			vs = append(vs, vector{attr: i, kind: k, fills: "src"})
		case "data-srcset", "data-lazy-srcset":
			vs = append(vs, vector{attr: i, kind: KindImage, list: 's', fills: "srcset"})
		case "data-poster":
			vs = append(vs, vector{attr: i, kind: KindImage, fills: "poster"})
		}
	}
	return vs
}

// filledBy reports whether vs[j], which would be held as name, gives way to
// a held lazy loader's attribute that fills name: the first such attribute
// wins over the element's own and over later ones.
func filledBy(vs []vector, j int, name string) bool {
	for k := range vs {
		if k != j && vs[k].fills == name && vs[k].held && (vs[j].fills == "" || k < j) {
			return true
		}
	}
	return false
}

// urlsOf appends the URLs of an attribute value to out.
func urlsOf(v string, list byte, out []string, based bool) []string {
	switch list {
	case 's':
		n := len(out)
		out = srcsetURLs(v, out, based)
		// A candidate's URL runs to white space, commas included, so the
		// spec reads "https,//t.example 1x" as one relative URL; a reader
		// that split candidates at every comma (simpler parsers do, and
		// so does the test oracle) would load //t.example. Failing
		// closed, a URL with a comma is also decided by its pieces: at
		// worst an odd first-party image waits.
		for _, u := range out[n:] {
			if strings.IndexByte(u, ',') >= 0 {
				out = appendTokens(out, u)
			}
		}
		return out
	case 'p':
		for f := range strings.FieldsSeq(v) {
			out = append(out, f)
		}
		return out
	case 'r':
		// "url" in any ASCII case: an index into a lower-cased copy is no
		// index into v, whose non-ASCII bytes may change length in it.
		i := 0
		for ; i+3 <= len(v); i++ {
			if lower(v[i]) == 'u' && lower(v[i+1]) == 'r' && lower(v[i+2]) == 'l' {
				break
			}
		}
		if i+3 > len(v) {
			return out
		}
		u := strings.TrimLeft(v[i+3:], " \t\n\r\f")
		if !strings.HasPrefix(u, "=") {
			return out
		}
		u = strings.Trim(strings.TrimSpace(u[1:]), `"'`)
		return append(out, u)
	}
	return append(out, v)
}

// srcsetURLs appends the candidate URLs of a srcset value to out. The
// spec reads only each candidate's first token as its URL, but a reader
// that took every token for one (the test oracle does) would load a
// descriptor that names a host. Failing closed, the tokens of a
// descriptor that holds ':', '/' or '\' are appended too, split at
// white space and commas; with every set (a <base> makes even "2x" a URL
// on the base's host), the tokens of every descriptor are.
func srcsetURLs(v string, out []string, every bool) []string {
	i := 0
	for i < len(v) {
		for i < len(v) && (byteClass[v[i]] == clSpace || v[i] == ',') {
			i++
		}
		j := indexMarked(v, &byteClass, clSpace, i)
		if j == i {
			break
		}
		u := v[i:j]
		if strings.HasSuffix(u, ",") {
			out = append(out, strings.TrimRight(u, ","))
			i = j
			continue
		}
		out = append(out, u)
		k, odd := descriptorsEnd(v, j)
		if odd || every {
			out = appendTokens(out, v[j:k])
		}
		i = k
	}
	return out
}

// descriptorsEnd returns where the descriptors that start at v[j] end: at
// the next comma outside parentheses, or at the end. odd reports whether
// they hold ':', '/' or '\', with which a token could name a host.
func descriptorsEnd(v string, j int) (end int, odd bool) {
	depth := 0
	for ; j < len(v); j++ {
		switch v[j] {
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				return j, odd
			}
		case ':', '/', '\\':
			odd = true
		}
	}
	return j, odd
}

// appendTokens appends the tokens of s, split at white space and commas.
func appendTokens(out []string, s string) []string {
	for t := range strings.FieldsFuncSeq(s, func(r rune) bool {
		return r == ',' || r < 0x80 && byteClass[r] == clSpace
	}) {
		out = append(out, t)
	}
	return out
}

// tmpAttr decodes an attribute value into the element's scratch arena and
// returns it as a string without allocating. The arena is reset at the
// start of each element and only appended to within it, so the strings
// stay intact until the element is written; anything kept longer (the
// stats) copies them.
func (r *Writer) tmpAttr(b []byte) string {
	start := len(r.arena)
	if plainAttr(b) {
		r.arena = append(r.arena, b...)
	} else {
		r.arena = appendDecoded(r.arena, b)
	}
	if len(r.arena) == start {
		return ""
	}
	return unsafe.String(&r.arena[start], len(r.arena)-start)
}

// decideURL resolves raw against the base and asks the policy.
func (r *Writer) decideURL(kind Kind, tagName, raw string) Decision {
	if r.ownPath(kind, raw) {
		return Decision{}
	}
	u := &r.url
	err := resolveInto(u, r.base, raw)
	if err != nil {
		if r.base == nil && err == errNoHost {
			return Decision{}
		}
		r.stats.failClosed(FailUnresolvableURL)
		return r.decideUnresolvable(kind, tagName)
	}
	if u.Host == "" {
		// Code carried in the URL itself runs in the page: data: scripts and
		// javascript: frames and embeds are read as inline scripts.
		var body []byte
		switch {
		case u.Scheme == "data" && kind == KindScript:
			b, ok := dataURLBody(u.Opaque)
			if ok {
				b, ok = r.dataText(u.Opaque, b)
			}
			if !ok {
				return r.decide(&Resource{Kind: KindInlineScript, Tag: tagName, Script: &ScriptFacts{Malformed: true}})
			}
			body = b
		case u.Scheme == "data" && (kind == KindFrame || kind == KindEmbed):
			return r.dataDocument(u.Opaque, kind, tagName)
		case u.Scheme == "data" && kind == KindStylesheet:
			return r.dataSheet(u.Opaque, kind, tagName)
		case u.Scheme == "javascript" && (kind == KindFrame || kind == KindEmbed || kind == KindScript):
			if r.rawEats(u.Opaque) {
				return r.decide(&Resource{Kind: KindInlineScript, Tag: tagName, Script: &ScriptFacts{Malformed: true}})
			}
			s, err := url.PathUnescape(u.Opaque)
			if err != nil {
				s = u.Opaque
			}
			body = []byte(s)
		default:
			return Decision{}
		}
		f := &ScriptFacts{}
		scriptFacts(body, f)
		return r.decide(&Resource{Kind: KindInlineScript, Tag: tagName, Script: f})
	}
	r.res = Resource{Kind: kind, Tag: tagName, URL: u}
	return r.decide(&r.res)
}

// pageHost reports whether host is the page's own (PageURL's), in any
// case: a base there moves no URL to another host.
func (r *Writer) pageHost(host string) bool {
	return r.opts.PageURL != nil && strings.EqualFold(host, r.opts.PageURL.Host)
}

// ownPath reports whether raw, a URL of kind k, is a path from the root
// of the page's own host that an OwnHostPolicy keeps unasked (see there).
func (r *Writer) ownPath(k Kind, raw string) bool {
	r.urlSeen = true // (decideURL and seenLen ask here first)
	// Without a <base> the base is the page (init, carry).
	if !rootPath(raw) || r.baseSet || r.base == nil {
		return false
	}
	if !r.ownAsked {
		r.askOwn()
	}
	if r.ownKinds&(1<<k) == 0 {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; r.ownStop[c>>6]&(1<<(c&63)) != 0 {
			// A marker may start here; '%' may hide one from a policy
			// that decodes, and the bytes that send a path to the general
			// parser (pathStop 1) may change it.
			if c == '%' || pathStop[c] == 1 {
				return false
			}
			for _, m := range r.ownMarkers {
				if strings.HasPrefix(raw[i:], m) {
					return false
				}
			}
		}
	}
	return true
}

// askOwn asks an OwnHostPolicy about the page's own URLs, for ownPath.
func (r *Writer) askOwn() {
	r.ownAsked = true
	r.ownKinds, r.ownMarkers, r.ownStop = 0, nil, [4]uint64{}
	p, ok := r.opts.Policy.(OwnHostPolicy)
	if !ok {
		return
	}
	r.ownMarkers, r.ownKinds = p.OwnHost(r.opts.PageURL)
	for c := range 256 {
		if c == '%' || pathStop[c] == 1 {
			r.ownStop[c>>6] |= 1 << (c & 63)
		}
	}
	for _, m := range r.ownMarkers {
		if m == "" {
			r.ownKinds = 0 // every URL holds it
			return
		}
		r.ownStop[m[0]>>6] |= 1 << (m[0] & 63)
	}
}

func dataURLBody(s string) ([]byte, bool) {
	i := strings.IndexByte(s, ',')
	if i < 0 {
		return nil, false
	}
	meta, data := s[:i], s[i+1:]
	if d, err := url.PathUnescape(data); err == nil {
		data = d
	}
	if strings.HasSuffix(strings.ToLower(strings.TrimSpace(meta)), ";base64") {
		b, err := base64.StdEncoding.DecodeString(strings.Map(func(r rune) rune {
			if r <= ' ' {
				return -1
			}
			return r
		}, data))
		if err != nil {
			return nil, false
		}
		return b, true
	}
	return []byte(data), true
}

// rawEats reports whether the page's bytes in a URL's text (an
// attribute's, decoded) hold a character of the page's encoding that
// takes an ASCII byte. The browser decodes the attribute before it reads
// the URL, and a data: or javascript: URL's percent-encoded bytes are
// not the page's: text that mixes the two is not read here (fail
// closed).
func (r *Writer) rawEats(s string) bool {
	if r.guess {
		return r.ambiguous([]byte(s))
	}
	if r.enc == mbNone {
		return false
	}
	var buf [16]byte
	return r.enc.eatsASCII([]byte(s), r.enc.codec().NewDecoder(), buf[:])
}

// dataCharset returns the encoding a data: URL's charset parameter
// names (DetectEncoding's names), or "" without one or with a label no
// encoding has, which the browser ignores as it does a missing one.
func dataCharset(opaque string) string {
	meta, _, _ := strings.Cut(opaque, ",")
	for p := range strings.SplitSeq(meta, ";") {
		k, v, ok := strings.Cut(p, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "charset") {
			_, name := charset.Lookup(strings.Trim(strings.TrimSpace(v), `"`))
			return name
		}
	}
	return ""
}

// dataText returns the body of a data: URL that is loaded as a script
// or a style sheet as the browser reads it: in the encoding of its
// charset parameter or, without one, the page's (textView). ok is false
// when it cannot be read so: an encoding that is not ASCII-compatible
// (UTF-16, by the parameter or a byte order mark), or the page's bytes in
// the URL where a character takes an ASCII byte (rawEats).
func (r *Writer) dataText(opaque string, body []byte) ([]byte, bool) {
	if r.rawEats(opaque) || bytes.HasPrefix(body, []byte{0xfe, 0xff}) || bytes.HasPrefix(body, []byte{0xff, 0xfe}) {
		return nil, false
	}
	enc := r.enc
	if name := dataCharset(opaque); name != "" {
		if !readsASCII(name) {
			return nil, false
		}
		enc = multiByte(name)
	} else if r.ambiguous(body) {
		return nil, false // in the page's encoding, which it does not declare
	}
	if enc == mbNone {
		return body, true
	}
	text, _ := enc.textView(body, nil, nil)
	return text, true
}

// dataDocument decides a data: URL (its opaque part) that a frame, an
// object or an embed loads: the document in it can load what a page can
// (Chromium loaded an image from an iframe's data:text/html, an object's
// data:image/svg+xml and an embed's). It is read as HTML, whatever its
// media type, as an iframe's srcdoc is, and decided as the strongest of
// its decisions: a kept document stays as it came, and one with a
// tracker is held or removed whole, as a frame of the tracker's would be
// (a proxied URL cannot be rewritten inside it: it is deferred). A body
// that does not decode, an XML style sheet (<?xml-stylesheet…?>, which
// an HTML reading does not see), or a document nested too deep is
// decided as an unresolvable URL (fail closed).
func (r *Writer) dataDocument(opaque string, kind Kind, tagName string) Decision {
	body, ok := dataURLBody(opaque)
	ok = ok && !bytes.Contains(bytes.ToLower(body), []byte("<?xml-stylesheet")) && !r.rawEats(opaque)
	var enc string
	if ok {
		// Its own encoding, as the browser finds it: a byte order mark,
		// the charset parameter, a <meta>. One that is not
		// ASCII-compatible (UTF-16) is not read: Chromium loaded an image
		// from an iframe's data:text/html;charset=utf-16le.
		ct := "text/html"
		if cs := dataCharset(opaque); cs != "" {
			ct += "; charset=" + cs
		}
		enc, ok = DetectEncoding(body, ct)
	}
	var d Decision
	if ok {
		var err error
		d, err = r.readNestedIn(io.Discard, body, enc, r.utf8Out)
		ok = err == nil
	}
	if !ok {
		r.stats.failClosed(FailAmbiguous)
		return r.decideUnresolvable(kind, tagName)
	}
	if d.Action == RewriteURL {
		d.Action = Defer
	}
	return d
}

// unresolvable is the URL a resource is decided as when what it loads
// cannot be read or resolved: the policy decides it as a third party it
// does not know (the product's defers it), so the outcome fails closed.
var unresolvable = url.URL{Scheme: "invalid", Host: "invalid."}

// decideUnresolvable decides a resource of kind on tagName as the
// unresolvable URL. The caller counts why (Stats.failClosed).
func (r *Writer) decideUnresolvable(kind Kind, tagName string) Decision {
	r.url = unresolvable
	r.res = Resource{Kind: kind, Tag: tagName, URL: &r.url}
	return r.decide(&r.res)
}

// textOf returns b, the text of a script, a style sheet or an
// attribute, as the browser reads it on the page (textView): a copy,
// decoded, and true when a character of the page's encoding takes one of
// its ASCII bytes; otherwise b itself.
func (r *Writer) textOf(b []byte) ([]byte, bool) {
	return r.enc.textView(b, nil, nil)
}

// ambiguous reports whether b, the text of a script, a style sheet or an
// attribute, reads differently where it matters in an encoding the
// browser may take for a page that declares none (guessed): whether one
// of their characters takes an ASCII byte that is syntax (syntaxByte).
// Such a text is not read: the callers hold it, as an unreadable one.
func (r *Writer) ambiguous(b []byte) bool {
	if !r.guess || !syntaxAfterHigh(b) {
		return false
	}
	var buf [16]byte
	for _, e := range guessed {
		if e.eatsSyntax(b, e.codec().NewDecoder(), buf[:]) {
			return true
		}
	}
	return false
}

// ambiguousCSS returns d made as strong as an unresolvable URL's decision
// on tagName, counted, and true, when b, CSS, is ambiguous: what it loads
// depends on an encoding the page does not declare.
func (r *Writer) ambiguousCSS(b []byte, d Decision, tagName string) (Decision, bool) {
	if !r.ambiguous(b) {
		return d, false
	}
	r.stats.failClosed(FailUndeclaredEncoding)
	ud := r.decideUnresolvable(KindCSS, tagName)
	r.record(KindCSS, &ud)
	return stronger(d, ud), true
}

// syntaxAfterHigh reports whether a byte that is syntax (syntaxByte)
// follows a byte from 0x80 up in b: a character can take an ASCII byte
// only as its second, the one after its lead, so without such a pair no
// encoding reads b differently where it matters, and no decoder is made.
func syntaxAfterHigh(b []byte) bool {
	for i := 1; i < len(b); i++ {
		if b[i-1] >= 0x80 && syntaxByte(b[i]) {
			return true
		}
	}
	return false
}

func (r *Writer) decide(res *Resource) (d Decision) {
	// The page, not a <base>, decides what is first party: a base on a
	// tracker's host must not make the tracker first party.
	if f, ok := r.opts.Policy.(PolicyFunc); ok {
		d = f(r.opts.PageURL, res) // one indirect call, not two
	} else if r.opts.Policy != nil {
		d = r.opts.Policy.Decide(r.opts.PageURL, res)
	}
	if d.RewriteTo != "" && r.baseSet && rootPath(d.RewriteTo) && r.otherOrigin(r.base) {
		// A first-party URL is a path from the page's root, which a
		// <base> on another host would move there: the resource waits
		// for consent at its own URL instead.
		d.RewriteTo = ""
		if d.Action == RewriteURL {
			d.Action = Defer
		}
	}
	return d
}

// stronger returns the decision with the stronger action; on a tie, a
// third-party decision wins over a first-party one, for the reports. Two
// held decisions of different categories join theirs (joinCategories):
// what is held under the result is given back as one, once every one of
// them is granted. Two held decisions of different vendors join theirs
// (joinVendors), of one category too.
func stronger(a, b Decision) Decision {
	a.take(&b)
	return a
}

// take makes d the stronger of d and b, as stronger does, in place: a
// Decision is copied only when b outranks it (the element loop's way).
// Two held decisions of one category and two vendors name both vendors
// (joinVendors): the runtime holds an element while any of its vendors is
// refused, and marked with one, <img src=google-ads srcset=bing-ads> was
// given back with Microsoft's vendor consent refused in a TCF string.
func (d *Decision) take(b *Decision) {
	joined, vendors := "", ""
	if (d.Category != b.Category || d.Vendor != b.Vendor) && d.Action >= Defer && b.Action >= Defer {
		joined, vendors = joinCategories(d.Category, b.Category), joinVendors(d.Vendor, b.Vendor)
	}
	if b.outranks(d) {
		*d = *b
	}
	if joined != "" && d.Action != Remove {
		d.Category, d.Vendor = joined, vendors
	}
}

// joinCategories returns the categories of a and b, each a category or a
// space-separated list of them, as one sorted list without repeats. The
// runtime restores an element marked with a list once every category of
// it is granted.
func joinCategories(a, b string) string { return joinLists(a, b, " ") }

// joinVendors returns the vendors of a and b, each a vendor or a list of
// them separated by "; ", as one sorted list without repeats: the
// data-fp-vendor of an element held for several vendors, of one category
// or more, which the consent runtime lists and checks one by one. ("; " is in
// no vendor's name; ", " is, in "ComScore, Inc.".)
func joinVendors(a, b string) string { return joinLists(a, b, "; ") }

// joinLists joins a and b, each an item or a list of items separated by
// sep, into one sorted list without repeats.
func joinLists(a, b, sep string) string {
	switch {
	case a == "" || a == b:
		return b
	case b == "":
		return a
	}
	vs := append(strings.Split(a, sep), strings.Split(b, sep)...)
	slices.Sort(vs)
	return strings.Join(slices.Compact(vs), sep)
}

// inCategories reports whether every category of c, a category or a
// list, is one of list's.
func inCategories(c, list string) bool {
	if c == list {
		return true
	}
	have := strings.Fields(list)
	for f := range strings.FieldsSeq(c) {
		if !slices.Contains(have, f) {
			return false
		}
	}
	return c != ""
}

// outranks reports whether d is stronger than a (see stronger).
func (d *Decision) outranks(a *Decision) bool {
	return d.Action > a.Action || d.Action == a.Action && a.Host == "" && a.Category == ""
}

// edit describes how to re-serialise a changed tag. The first few attribute
// changes sit in the edit itself, so that an edit can live on the stack.
type edit struct {
	add []byte // attributes added after the name
	// marks is set once the edit marks the element for the runtime
	// (deferAttrs): the tag's own data-fp- attributes are then dropped,
	// since the runtime would take them for held ones and restore them.
	marks bool
	n     int // changes in few
	few   [6]attrOp
	more  []attrOp // changes past the sixth
}

// attrOp changes one attribute: renames it, replaces its value or drops it.
type attrOp struct {
	i              int
	rename, value  string
	drop, hasValue bool
	raw            bool // value is as a page writes one: only '"' escaped
	ascii          bool // value is written in ASCII (appendEscapedIn)
}

func (e *edit) op(i int) *attrOp {
	if o := e.find(i); o != nil {
		return o
	}
	if e.n < len(e.few) {
		e.few[e.n] = attrOp{i: i}
		e.n++
		return &e.few[e.n-1]
	}
	e.more = append(e.more, attrOp{i: i})
	return &e.more[len(e.more)-1]
}

func (e *edit) find(i int) *attrOp {
	for k := range e.n {
		if e.few[k].i == i {
			return &e.few[k]
		}
	}
	for k := range e.more {
		if e.more[k].i == i {
			return &e.more[k]
		}
	}
	return nil
}

func (e *edit) setRename(i int, n string)  { e.op(i).rename = n }
func (e *edit) setDrop(i int)              { e.op(i).drop = true }
func (e *edit) setReplace(i int, v string) { o := e.op(i); o.value, o.hasValue = v, true }

// setReplaceRaw replaces attribute i's value with v, as a page writes one:
// its character references are written as they are.
func (e *edit) setReplaceRaw(i int, v string) {
	o := e.op(i)
	o.value, o.hasValue, o.raw = v, true, true
}

// appendEscapedIn is appendEscaped, and, when ascii is set, writes each
// character outside ASCII as a numeric reference (a byte that is not
// UTF-8 as U+FFFD's), which a page in any ASCII-compatible encoding reads
// as that character.
func appendEscapedIn(b []byte, s string, ascii bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var ref string
		switch s[i] {
		case '&':
			ref = "&amp;"
		case '"':
			ref = "&quot;"
		case '<':
			ref = "&lt;"
		case '>':
			ref = "&gt;"
		default:
			continue
		}
		b = appendASCII(b, s[start:i], ascii)
		b = append(b, ref...)
		start = i + 1
	}
	return appendASCII(b, s[start:], ascii)
}

// errNoDecoder is pageText's error for an encoding x/net does not know.
var errNoDecoder = errors.New("rewrite: no decoder for the page's encoding")

// pageText returns b, text of the page, decoded from the encoding the page
// declares (not UTF-8) to UTF-8 by the Encoding Standard's rules, errors
// as U+FFFD.
func (r *Writer) pageText(b []byte) ([]byte, error) {
	if r.enc != mbNone {
		return r.enc.decodeAll(b, nil), nil
	}
	e, _ := charset.Lookup(r.opts.Encoding)
	if e == nil {
		return nil, errNoDecoder
	}
	return e.NewDecoder().Bytes(b)
}

// appendRawValue appends v, an attribute's value as the page wrote it
// (quoted either way or not at all), for a double-quoted value: only '"'
// becomes a reference. Its own references stay as they came, so that a
// character one names is written in no encoding: a value decoded and
// escaped again would write é of &eacute; as UTF-8, two characters on a
// windows-1252 page.
func appendRawValue(b []byte, v string, ascii bool) []byte {
	for {
		i := strings.IndexByte(v, '"')
		if i < 0 {
			return appendASCII(b, v, ascii)
		}
		b = appendASCII(b, v[:i], ascii)
		b = append(b, "&quot;"...)
		v = v[i+1:]
	}
}

// appendASCII appends s, and, when ascii is set, each character outside
// ASCII in it as a numeric reference (a byte that is not UTF-8 as
// U+FFFD's), which a page in any ASCII-compatible encoding reads as that
// character.
func appendASCII(b []byte, s string, ascii bool) []byte {
	if !ascii {
		return append(b, s...)
	}
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] < utf8.RuneSelf {
			i++
		}
		b = append(b, s[:i]...)
		if i == len(s) {
			break
		}
		c, n := utf8.DecodeRuneInString(s[i:])
		b = append(b, "&#x"...)
		b = strconv.AppendUint(b, uint64(c), 16)
		b = append(b, ';')
		s = s[i+n:]
	}
	return b
}

// appendEscaped appends s to b escaped for a double-quoted attribute value
// or for text: & " < > become references.
func appendEscaped(b []byte, s string) []byte {
	return appendEscapedIn(b, s, false)
}

func addAttr(b []byte, name, value string, ascii bool) []byte {
	if b == nil {
		b = make([]byte, 0, 192+len(name)+len(value))
	}
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, `="`...)
	b = appendEscapedIn(b, value, ascii)
	return append(b, '"')
}

// writeTag writes t with edits. Duplicate attributes, which browsers ignore,
// are dropped so that a renamed attribute cannot promote its duplicate.
func (r *Writer) writeTag(t *tag, e *edit) {
	// The tag is built in the output in one go, then the output's bounds
	// are checked once (settle), not at each of its pieces.
	r.flushPend()
	raw, b := t.raw, r.out
	b = append(b, raw[:t.nameEnd]...)
	b = append(b, e.add...)
	valueless := false // the attribute written last has no value
	for i := range t.attrs {
		a := &t.attrs[i]
		o := e.find(i)
		if a.dup || o != nil && o.drop || o == nil && e.marks && strings.HasPrefix(a.name, "data-fp-") {
			continue
		}
		renamed := o != nil && o.rename != ""
		if valueless && !renamed && raw[a.nameStart] == '=' {
			// A name that starts with "=" came after a "/" or a value:
			// after a name without a value and a space, the "=" would
			// give that name this one's value, and free a name that a
			// dropped attribute held (FuzzRewrite, adb2ed8bfdba47c0).
			b = append(b, '/')
		} else {
			b = append(b, ' ')
		}
		valueless = !(o != nil && o.hasValue) && a.valStart < 0
		if renamed {
			b = append(b, o.rename...)
		} else {
			b = append(b, raw[a.nameStart:a.nameEnd]...)
		}
		if o != nil && o.hasValue {
			b = append(b, `="`...)
			if o.raw {
				b = appendRawValue(b, o.value, o.ascii)
			} else {
				b = appendEscapedIn(b, o.value, o.ascii)
			}
			b = append(b, '"')
			continue
		}
		b = append(b, raw[a.nameEnd:a.end]...)
	}
	if t.tail < len(raw) && t.tail >= t.nameEnd {
		if raw[t.tail] == '/' {
			b = append(b, ' ')
		}
		b = append(b, raw[t.tail:]...)
	} else {
		b = append(b, '>')
	}
	r.out = b
	r.settle()
	if e.add != nil { // copied
		r.spareAdd, e.add = e.add[:0], nil
	}
}

// settle checks the output's bounds after an append to out: past the
// loader hold's bound it gives the hold up, and a full batch goes out.
// emitNow and writeTag append, then settle.
func (r *Writer) settle() {
	if r.holding {
		if len(r.out)-r.holdAt > loaderHold {
			r.releaseHold()
			r.drain()
		}
		return
	}
	if len(r.out) > outBatch {
		r.drain()
	}
}

func (r *Writer) deferAttrs(e *edit, d *Decision) {
	e.marks = true
	r.addAttr(e, "data-fp-category", d.Category)
	if d.Vendor != "" {
		r.addAttr(e, "data-fp-vendor", d.Vendor)
	}
	r.addAttr(e, "data-fp-token", r.opts.Token)
}

// addAttr adds an attribute to e. The first one takes the Writer's spare
// buffer, if free; writeTag hands it back. One buffer, held by one edit at
// a time, so edits alive together never share memory.
func (r *Writer) addAttr(e *edit, name, value string) {
	if e.add == nil {
		e.add, r.spareAdd = r.spareAdd, nil
	}
	e.add = addAttr(e.add, name, value, !r.utf8Out)
}

// addRawAttr adds an attribute whose value is raw, another attribute's
// value as the page wrote it (appendRawValue).
func (r *Writer) addRawAttr(e *edit, name string, raw []byte) {
	if e.add == nil {
		e.add, r.spareAdd = r.spareAdd, nil
	}
	e.add = append(e.add, ' ')
	e.add = append(e.add, name...)
	e.add = append(e.add, `="`...)
	e.add = appendRawValue(e.add, unsafe.String(unsafe.SliceData(raw), len(raw)), false)
	e.add = append(e.add, '"')
}

// styleAttr decides the style attribute of an element, if any.
// styleMayLoad reports whether a style attribute's raw value could hold a
// URL: a url( or image-set( in any case, an @import, or an escape or a
// character reference that could spell one.
func styleMayLoad(v []byte) bool {
	for i, c := range v {
		switch c {
		case '@', '\\', '&':
			return true
		case 'u', 'U':
			if i+2 < len(v) && v[i+1]|0x20 == 'r' && v[i+2]|0x20 == 'l' {
				return true
			}
		case '-':
			if i+3 < len(v) && v[i+1]|0x20 == 's' && v[i+2]|0x20 == 'e' && v[i+3]|0x20 == 't' {
				return true // image-set(, -webkit-image-set(
			}
		case 's', 'S':
			if i+3 < len(v) && v[i+1]|0x20 == 'r' && v[i+2]|0x20 == 'c' && v[i+3] == '(' {
				return true
			}
		}
	}
	return false
}

// newCSS is the value to write when d holds the style, as the page writes
// one (setReplaceRaw), and in ASCII when ascii is set: a value the page's
// encoding made characters of (textOf) is written with each character
// outside ASCII as a reference.
func (r *Writer) styleAttr(t *tag, name string) (i int, d Decision, newCSS string, ascii bool) {
	i = t.index("style")
	if i < 0 || t.attrs[i].valStart < 0 {
		return -1, Decision{}, "", false
	}
	v := t.raw[t.attrs[i].valStart:t.attrs[i].valEnd]
	if !styleMayLoad(v) {
		return -1, Decision{}, "", false
	}
	text, decoded := r.textOf(v)
	// css is read, and raw written (rewriteCSSFrom), dec between them.
	raw := unsafe.String(unsafe.SliceData(text), len(text))
	var css string
	var dec []replaced
	if plainAttr(text) {
		css = string(text)
	} else {
		var b []byte
		b, dec = appendDecodedSpans(nil, text, r.decoded[:0], true)
		r.decoded = dec
		css = unsafe.String(unsafe.SliceData(b), len(b)) // b is not written again
	}
	newCSS, d = r.rewriteCSSFrom(css, raw, dec, name)
	if amb, ok := r.ambiguousCSS(v, d, name); ok {
		return i, amb, "", false
	}
	switch {
	case decoded && newCSS != raw:
		ascii = true // not the page's bytes
	case decoded:
		newCSS = unsafe.String(unsafe.SliceData(v), len(v))
	}
	return i, d, newCSS, ascii
}

// rewriteCSS decides every URL in css and returns the CSS with the URLs
// that are not kept neutralised, and the strongest decision.
func (r *Writer) rewriteCSS(css, tagName string) (string, Decision) {
	return r.rewriteCSSFrom(css, css, nil, tagName)
}

// rewriteCSSFrom is rewriteCSS of css, which is raw as read: the CSS it
// returns is raw with the URLs that are not kept neutralised, where dec
// (appendDecodedSpans) says where raw and css differ. A style attribute
// is so written with its character references as they came.
func (r *Writer) rewriteCSSFrom(css, raw string, dec []replaced, tagName string) (string, Decision) {
	// The browser's CSS sees U+FFFD for NUL and for invalid UTF-8, and
	// so must the lexer (lexerText); a changed block is written with the
	// bytes it came with, where they are not changed (origOffset): on a
	// windows-1252 page 0xD1 is Ñ, where U+FFFD's bytes would be three
	// characters.
	b, spans := lexerTextSpans(unsafe.Slice(unsafe.StringData(css), len(css)), r.replaced[:0])
	if len(spans) > 0 {
		r.replaced = spans
		css = string(b)
	}
	refs, hit := r.opts.Facts.getStyle(css)
	if !hit {
		r.refs = r.facts.cssURLsIn(r.scratchSet(), css, r.refs[:0])
		r.opts.Facts.addStyle(css, r.refs)
		refs = r.refs
	}
	return r.neutraliseCSS(raw, refs, spans, dec, tagName)
}

// neutraliseCSS decides refs, the URLs of CSS read as the browser reads
// it, and returns raw, the CSS as written, with those not kept
// neutralised, and the strongest decision. spans and dec map the
// offsets of the CSS as read to raw's (origOffset): spans replaceInvalid's,
// then dec's.
func (r *Writer) neutraliseCSS(raw string, refs []cssRef, spans, dec []replaced, tagName string) (string, Decision) {
	var best Decision
	var sb strings.Builder
	last, changed := 0, false
	for _, ref := range refs {
		d := r.decideCSSRef(&ref, tagName)
		best = stronger(best, d)
		if d.Action >= Defer {
			start, end := ref.start, ref.end
			if len(spans) > 0 {
				start, end = origOffset(start, spans, false), origOffset(end, spans, true)
			}
			if len(dec) > 0 {
				start, end = origOffset(start, dec, false), origOffset(end, dec, true)
			}
			if start < last {
				start = last // a replaced run the previous URL ended in
			}
			sb.WriteString(raw[last:start])
			if ref.isImport {
				sb.WriteString(`""`)
			} else if ref.str {
				sb.WriteString(`"data:,"`)
			} else {
				sb.WriteString(`url("data:,")`)
			}
			last, changed = end, true
		}
	}
	if !changed {
		return raw, best
	}
	sb.WriteString(raw[last:])
	return sb.String(), best
}

// decideCSSRef decides and counts one URL of a style sheet: an
// @import's data: URL is a style sheet read as one (dataSheet).
func (r *Writer) decideCSSRef(ref *cssRef, tagName string) Decision {
	var d Decision
	switch {
	case ref.isImport && r.isData(ref.url):
		d = r.dataSheet(r.url.Opaque, KindCSS, tagName)
	default:
		d = r.decideURL(KindCSS, tagName, ref.url)
	}
	r.record(KindCSS, &d)
	return d
}

// isData reports whether raw resolves to a data: URL, left in r.url.
func (r *Writer) isData(raw string) bool {
	return resolveInto(&r.url, r.base, raw) == nil && r.url.Scheme == "data"
}

// dataSheet decides a data: URL (its opaque part) that is loaded as a
// style sheet, a stylesheet link's or an @import's: its sheet loads what
// the page's own sheets can (Chromium fetched an @import and a background
// from a link's data:text/css, base64 or not, and a background from an
// @import's). It is read as CSS, whatever its media type, and decided as
// the strongest of its URLs, each decided and counted as one of a style
// element's: a kept sheet stays as it came, and one with a tracker is held
// or removed whole (a proxied URL cannot be rewritten inside it: it is
// deferred). The sheet is read in the encoding of its charset parameter
// or else the page's, as the browser reads it (dataText). A body that
// does not decode, one that may be in an encoding where ASCII is not one
// byte a character (a NUL, UTF-16 by byte order mark or parameter), or
// sheets nested past maxNest are decided as an unresolvable URL (fail
// closed).
func (r *Writer) dataSheet(opaque string, kind Kind, tagName string) Decision {
	body, ok := dataURLBody(opaque)
	if ok {
		body, ok = r.dataText(opaque, body)
	}
	if !ok || r.nest >= maxNest || bytes.IndexByte(body, 0) >= 0 {
		r.stats.failClosed(FailAmbiguous)
		return r.decideUnresolvable(kind, tagName)
	}
	if !utf8.Valid(body) {
		body = lexerText(body)
	}
	r.nest++
	var best Decision
	for _, ref := range cssURLs(body, nil) {
		best = stronger(best, r.decideCSSRef(&ref, tagName))
	}
	r.nest--
	if best.Action == RewriteURL {
		best.Action = Defer
	}
	return best
}

// element decides and writes an HTML element (not script or style).
func (r *Writer) element(t *tag, name string) {
	lateHref := -1 // a late base's href, dropped (startTag)
	if r.lateBase {
		r.lateBase = false
		lateHref = t.index("href")
	}
	var vbuf [4]vector
	vs := vectors(t, name, vbuf[:0])
	var best Decision
	r.arena = r.arena[:0]
	for k, v := range vs {
		val := r.tmpAttr(t.raw[t.attrs[v.attr].valStart:t.attrs[v.attr].valEnd])
		r.urls = urlsOf(val, v.list, r.urls[:0], r.baseSet)
		for _, u := range r.urls {
			d := r.decideURL(v.kind, name, u)
			if v.kind == KindRefresh || v.kind == KindForm {
				d.Action = Keep // reported only
			}
			vs[k].held = vs[k].held || d.Action >= Defer
			r.record(v.kind, &d)
			best.take(&d) // held URLs of two categories join theirs
		}
	}
	si, sd, newCSS, cssASCII := r.styleAttr(t, name)
	var hbuf [4]heldAttr
	held := r.handlers(t, name, hbuf[:0])
	held = r.lazyBackgrounds(t, name, held)
	held = r.attributionSrc(t, name, held)
	if name == "svg" {
		// The svg element that opens SVG content is one, read here.
		held = r.presentationAttrs(t, held)
	}
	var srcdoc string
	var srcdocOrig []byte // as the page wrote it
	var srcdocDecision Decision
	srcdocChanged, srcdocASCII := false, false
	if name == "iframe" {
		if v, ok := t.get("srcdoc"); ok {
			// The document is the attribute's text as the browser
			// decodes the page (textOf), read as UTF-8: its character
			// references are characters, not the page's bytes.
			//
			// On a page that declares an encoding other than UTF-8 (full),
			// the whole document is decoded from it, and its rewrite is
			// written in ASCII, each character as a reference, which every
			// such encoding reads as the character: a byte of the page or
			// a reference's character written as UTF-8 would be another.
			// A page that declares none may be read in any, so there the
			// document is read as bytes, and its rewrite, which would write
			// a reference's character as UTF-8, is not written when the
			// document has one outside ASCII (unwritable).
			full := !r.utf8Out && r.opts.Encoding != Undeclared
			text, unwritable := v, false
			var err error
			if full {
				text, err = r.pageText(v)
			} else {
				unwritable = !r.utf8Out && nonASCIIRef(v)
			}
			in := r.tmpAttr(text) // in the element's arena, as its URLs are
			// The nested Writer reads in as an io.Writer reads p, writing
			// nothing into it and keeping nothing of it: a view, not a
			// copy. The srcdoc inherits the base URL until its own <base>.
			// Its rewrite, in r.nestedOut, is read until the iframe is
			// written below.
			if r.nestedOutBox == nil {
				take(&r.scratchSet()[scratchOut], &r.nestedOut, &r.nestedOutBox)
			}
			r.nestedOut = r.nestedOut[:0]
			// A document read differently in an encoding the page does
			// not declare is not read: it is decided as an unreadable one.
			var inner Decision
			switch {
			case err != nil:
			case r.ambiguous(v):
				err = errUndeclared
			default:
				inner, err = r.readNestedIn(appendWriter{&r.nestedOut}, unsafe.Slice(unsafe.StringData(in), len(in)), "", r.utf8Out || full)
			}
			out := unsafe.String(unsafe.SliceData(r.nestedOut), len(r.nestedOut))
			switch {
			case err != nil:
				r.stats.failClosed(FailAmbiguous)
				srcdoc, srcdocChanged = "", true
				srcdocOrig, srcdocDecision = v, Decision{Action: Defer, Category: "unknown"}
			case out != in && unwritable:
				// Its rewrite is not in the page's encoding: the frame
				// is empty until the original comes back.
				srcdoc, srcdocChanged = "", true
				srcdocOrig, srcdocDecision = v, inner
			case out != in:
				srcdoc, srcdocChanged, srcdocASCII = out, true, full
				srcdocOrig, srcdocDecision = v, inner
			}
		}
	}
	action := best.Action
	if r.opts.ReportOnly || (action == Keep && sd.Action < Defer && !srcdocChanged && len(held) == 0 && lateHref < 0) {
		r.emitIn(t.raw)
		r.afterElement(name, dispPass)
		return
	}
	if action == Placeholder && name != "iframe" && name != "embed" && name != "object" && name != "video" {
		action = Defer
	}
	var e edit
	if lateHref >= 0 {
		e.setDrop(lateHref)
	}
	// marked is the decision the element is marked with. The runtime
	// restores all of an element's held attributes at once, under its one
	// category: a held original of another category is not kept, and
	// stays neutralised (holdMark).
	var marked mark
	var first, style, doc *Decision
	if action == Defer || action == Placeholder {
		first = &best
	}
	if si >= 0 {
		style = &sd
	}
	if srcdocChanged {
		doc = &srcdocDecision
	}
	marked.vendor = heldVendors(first, style, doc, held, action == Remove)
	if first != nil {
		marked.set, marked.category = true, best.Category // marked below
		best.Vendor = marked.vendor
	}
	if si >= 0 && sd.Action >= Defer {
		e.setReplaceRaw(si, newCSS)
		e.op(si).ascii = cssASCII
		if sd.Action != Remove && r.holdMark(&e, &marked, &sd) {
			r.addRawAttr(&e, "data-fp-style", t.raw[t.attrs[si].valStart:t.attrs[si].valEnd])
		}
	}
	if srcdocChanged {
		if i := t.index("srcdoc"); i >= 0 {
			e.setReplace(i, srcdoc)
			e.op(i).ascii = srcdocASCII
		}
		// Unless removing, the original document is kept for the consent
		// runtime, which swaps it back in.
		if srcdocDecision.Action >= Defer && srcdocDecision.Action != Remove && r.holdMark(&e, &marked, &srcdocDecision) {
			r.addRawAttr(&e, "data-fp-srcdoc", srcdocOrig)
		}
	}
	switch action {
	case Remove:
		if (t.flags&fVoid != 0 || name == "iframe") && !r.opensBody && !r.breaksOut {
			if name == "iframe" {
				r.afterElement(name, dispDrop)
			}
			return
		}
		for _, v := range vs {
			if v.kind != KindRefresh && v.kind != KindForm {
				e.setDrop(v.attr)
			}
		}
	case Defer, Placeholder:
		r.needLoader()
		if action == Placeholder {
			r.placeholder(&best)
			r.addAttr(&e, "data-fp-placeholder", best.Vendor)
		}
		r.deferAttrs(&e, &best)
		for j, v := range vs {
			if v.kind != KindRefresh && v.kind != KindForm {
				// A lazy loader's attribute that is held becomes the one
				// it fills, which the runtime restores: the element then
				// loads once allowed, as the loader would have made it,
				// though the loader has come and gone meanwhile. The
				// element's own attribute of that name (a placeholder,
				// mostly) and a second lazy one that fills it are dropped;
				// a lazy attribute that is kept stays as it is.
				name := t.attrs[v.attr].name
				if v.fills != "" {
					if !v.held {
						continue
					}
					name = v.fills
					if i := t.index(name); i >= 0 {
						e.setDrop(i) // without a value, it is no vector
					}
				}
				if filledBy(vs, j, name) {
					e.setDrop(v.attr)
					continue
				}
				e.setRename(v.attr, dataFP(name))
				if best.RewriteTo != "" && v.list == 0 {
					// deferred, and activated at the first-party URL
					e.setReplace(v.attr, best.RewriteTo)
				}
			}
		}
	case RewriteURL:
		for _, v := range vs {
			if v.list == 0 && v.kind != KindRefresh && v.kind != KindForm {
				e.setReplace(v.attr, best.RewriteTo)
			}
		}
	}
	r.holdAttrs(&e, t, held, action == Remove, &marked)
	r.writeTag(t, &e)
	r.afterElement(name, dispPass)
}

// heldAttr is an event handler attribute of a tag, t.attrs[i], that
// its decision d defers or removes.
type heldAttr struct {
	i int
	d Decision
}

// holdAttrs edits t's held handlers into e: each is kept under
// data-fp-NAME for the runtime when neither the element's URLs (removed)
// nor its own decision remove it and the element's mark can take it
// (holdMark), and dropped otherwise.
func (r *Writer) holdAttrs(e *edit, t *tag, held []heldAttr, removed bool, marked *mark) {
	for k := range held {
		h := &held[k]
		if !removed && h.d.Action != Remove && r.holdMark(e, marked, &h.d) {
			e.setRename(h.i, "data-fp-"+t.attrs[h.i].name)
		} else {
			e.setDrop(h.i)
		}
	}
}

// mark is the category an element is marked with for the runtime, once
// it is (deferAttrs), and the vendors it names (heldVendors). A value,
// not a pointer to the decision: a pointer stored through a pointer would
// move the callers' decisions to the heap.
type mark struct {
	set      bool
	category string
	vendor   string
}

// holdMark reports whether a held attribute of decision d can be kept
// for the runtime on an element marked m: an element not yet marked is
// marked with d's category and m's vendors, or else d's (and the page
// gets the loader); one marked with another category cannot take it,
// since the runtime would restore it with that category's consent. The
// caller then drops it or leaves it neutralised.
func (r *Writer) holdMark(e *edit, m *mark, d *Decision) bool {
	if !m.set {
		r.needLoader()
		md := *d
		if m.vendor != "" {
			md.Vendor = m.vendor
		}
		r.deferAttrs(e, &md)
		m.set, m.category = true, d.Category
		return true
	}
	return m.keeps(d)
}

// keeps reports whether m, set, keeps a held attribute of decision d: one
// of its categories, or among them.
func (m *mark) keeps(d *Decision) bool { return inCategories(d.Category, m.category) }

// heldVendors returns the vendors an element names when held: those of
// first, second, third and then each handler of held (unless the element
// is removed), in the order holdMark meets them, that the mark keeps
// (held and not removed, of the first one's categories or among them).
// The runtime restores an element's held attributes together and holds
// it while any vendor it names is refused: named by its URLs' vendor
// alone, <iframe src=youtube style="background:url(vimeo)"> was given
// back whole, Vimeo with it, by Always allow YouTube. A nil decision is
// passed over.
func heldVendors(first, second, third *Decision, held []heldAttr, removed bool) string {
	var m mark
	m.gather(first)
	m.gather(second)
	m.gather(third)
	if !removed {
		for k := range held {
			m.gather(&held[k].d)
		}
	}
	return m.vendor
}

// gather adds d to the mark heldVendors works out, as holdMark would meet
// it: a held decision that is not removed sets an unset mark, and one the
// mark keeps adds its vendors.
func (m *mark) gather(d *Decision) {
	switch {
	case d == nil || d.Action < Defer || d.Action == Remove:
	case !m.set:
		*m = mark{true, d.Category, d.Vendor}
	case m.keeps(d):
		m.vendor = joinVendors(m.vendor, d.Vendor)
	}
}

// handlers decides the event handler attributes of t (onclick, onload…)
// whose values may name a host (handlerMayLoad): each is read as an
// inline script and decided as one (asScript). It appends to held the
// handlers that are deferred or removed. A handler's code runs in the page like an
// inline script's, when its event fires (an <img>'s onerror as soon as it
// fails to load), and can reach a host the same ways.
func (r *Writer) handlers(t *tag, tagName string, held []heldAttr) []heldAttr {
	// (Called from startTag, whose scan, when whole, is of this tag.)
	js := jsURLTag(tagName)
	if r.scan.ok && r.scan.letters&letterBit('o') == 0 && (!js || r.scan.letters&jsURLLetters == 0) {
		return held // no name starts with o, nor with a letter of a javascript: URL's
	}
	for i := range t.attrs {
		a := &t.attrs[i]
		if a.dup || a.valStart < 0 {
			continue
		}
		var body []byte
		switch {
		case isHandler(a.name):
			if !handlerMayLoad(t.raw[a.valStart:a.valEnd]) {
				continue
			}
			// Read only: a view of the tag's bytes, or of the decoded copy.
			text, _ := r.textOf(t.raw[a.valStart:a.valEnd])
			v := viewAttr(text)
			body = unsafe.Slice(unsafe.StringData(v), len(v))
		case js && jsURLAttr(a.name):
			text, _ := r.textOf(t.raw[a.valStart:a.valEnd])
			b, ok := jsURLBody(decodeAttr(text))
			if !ok {
				continue
			}
			body = b
		default:
			continue
		}
		f, hit := r.opts.Facts.get(body)
		switch amb := r.ambiguous(t.raw[a.valStart:a.valEnd]); {
		case amb:
			// Read as unreadable, as an ambiguous script is.
			r.stats.failClosed(FailUndeclaredEncoding)
			f = &ScriptFacts{Malformed: true}
		case !hit:
			f = &ScriptFacts{}
			scriptFacts(body, f)
			r.opts.Facts.add(body, f)
			fallthrough
		default:
			if f.Malformed {
				r.stats.failClosed(FailMalformedScript)
			}
		}
		d := r.decide(&Resource{Kind: KindInlineScript, Tag: tagName, Script: f})
		r.record(KindInlineScript, &d)
		r.asScript(&d)
		if d.Action >= Defer {
			held = append(held, heldAttr{i, d})
		}
	}
	return held
}

// lazyBackgrounds decides the lazy background attributes of t (data-bg,
// data-bgset, data-background-image…; lazyBgName) that have a value: a
// page's own lazy loader copies their URLs into the element's background
// once it nears the viewport, and the browser then loads them. Each URL
// in the value is decided as an image: the value is split at white
// space, commas, bars, brackets, parentheses and quotes, which covers a
// bare URL, a srcset, lazysizes' bgset and a CSS url() list (the words
// around the URLs are decided as relative URLs, of the page's own host).
// A value with a backslash, which a loader that writes it into CSS reads
// as an escape, is also decided with its CSS escapes decoded. It appends
// to held the attributes that are deferred or removed (holdIf: the loader
// would load a proxied URL's vendor's own).
func (r *Writer) lazyBackgrounds(t *tag, tagName string, held []heldAttr) []heldAttr {
	// (Called from startTag, whose scan, when whole, is of this tag.)
	if r.scan.ok && r.scan.letters&letterBit('d') == 0 {
		return held // no name starts with d
	}
	for i := range t.attrs {
		a := &t.attrs[i]
		if a.dup || a.valStart < 0 || a.valStart == a.valEnd || !lazyBgName(a.name) {
			continue
		}
		v := r.tmpAttr(t.raw[a.valStart:a.valEnd])
		r.urls = r.urls[:0]
		for u := range strings.FieldsFuncSeq(v, bgSeparator) {
			r.urls = append(r.urls, u)
		}
		if strings.IndexByte(v, '\\') >= 0 {
			// A loader that writes the value into CSS reads a backslash
			// as an escape: the value is decided as read both ways.
			for u := range strings.FieldsFuncSeq(cssUnescape(v), bgSeparator) {
				r.urls = append(r.urls, u)
			}
		}
		held = holdIf(held, i, r.decideURLs(KindImage, tagName))
	}
	return held
}

// decideURLs decides each of r.urls as a URL of kind k, counting each,
// and returns the strongest of their decisions, held URLs of two
// categories joining theirs (Decision.take): a lazy background or an
// attributionsrc that names an analytics host and a pixel is given back
// once both are granted, not with analytics alone.
func (r *Writer) decideURLs(k Kind, tagName string) Decision {
	var d Decision
	for _, u := range r.urls {
		ud := r.decideURL(k, tagName, u)
		r.record(k, &ud)
		d.take(&ud)
	}
	return d
}

// attributionSrc decides the attributionsrc attribute of an img, a
// script, an a or an area (the Attribution Reporting API): a browser that
// has the API on sends a request to each URL of its value (a list split
// at white space, as ping's is) when the image or script loads, or when
// the visitor follows the link, with the page as its referrer. Each URL
// is decided as a ping. An empty value sends no request of its own (the
// element's src or href carries the registration), and is not read. It
// appends the attribute to held when it is deferred or removed
// (holdIf): the element itself still loads, and its own URLs are decided
// as they are.
func (r *Writer) attributionSrc(t *tag, tagName string, held []heldAttr) []heldAttr {
	switch tagName {
	case "img", "script", "a", "area":
	default:
		return held
	}
	// (Called from startTag, whose scan, when whole, is of this tag.)
	if r.scan.ok && r.scan.letters&letterBit('a') == 0 {
		return held
	}
	i := t.index("attributionsrc")
	if i < 0 || t.attrs[i].valStart < 0 || t.attrs[i].valStart == t.attrs[i].valEnd {
		return held
	}
	v := r.tmpAttr(t.raw[t.attrs[i].valStart:t.attrs[i].valEnd])
	r.urls = urlsOf(v, 'p', r.urls[:0], r.baseSet)
	return holdIf(held, i, r.decideURLs(KindPing, tagName))
}

// holdIf appends the attribute t.attrs[i] to held when its decision d
// defers or removes it. A proxied URL (RewriteURL) or a placeholder is
// deferred: a held attribute is given back as it came, with the vendor's
// own URL.
func holdIf(held []heldAttr, i int, d Decision) []heldAttr {
	if d.Action == RewriteURL || d.Action == Placeholder {
		d.Action = Defer
	}
	if d.Action >= Defer {
		held = append(held, heldAttr{i, d})
	}
	return held
}

// bgSeparator reports whether c separates the URLs of a lazy background
// attribute's value (lazyBackgrounds).
func bgSeparator(c rune) bool {
	switch c {
	case ',', '|', '(', ')', '[', ']', '"', '\'':
		return true
	}
	return c < 0x80 && byteClass[c] == clSpace
}

// A link's, an area's or a form's javascript: URL is script that runs
// when the visitor follows the link or sends the form, as an onclick
// handler's does: its code is read and decided as a handler's (handlers).

// jsURLTag reports whether tagName's element follows a javascript: URL
// in a navigation attribute (jsURLAttr).
func jsURLTag(tagName string) bool {
	switch tagName {
	case "a", "area", "form", "button", "input":
		return true
	}
	return false
}

// jsURLAttr reports whether name is a navigation attribute: href (and an
// SVG link's xlink:href), action, formaction.
func jsURLAttr(name string) bool {
	return name == "href" || name == "xlink:href" || name == "action" || name == "formaction"
}

// jsURLLetters are the first letters of the jsURLAttr names.
var jsURLLetters = letterBit('h') | letterBit('x') | letterBit('a') | letterBit('f')

// jsURLBody returns the code of v, a decoded attribute value, when it is
// a javascript: URL that may name a host: as a URL parser reads it, with
// leading and trailing C0 controls and spaces taken off and tabs and
// newlines taken out, the scheme in any case, and the rest percent-decoded
// as the browser does before it runs it. Code with no quote, backtick,
// backslash or character reference names no host (handlerMayLoad).
func jsURLBody(v string) ([]byte, bool) {
	scheme, code, ok := splitScheme(cleanURL(v))
	if !ok || scheme != "javascript" {
		return nil, false
	}
	body := percentDecode(code)
	return body, handlerMayLoad(body)
}

// percentDecode decodes %XX sequences, leaving any other % as it is.
func percentDecode(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, ok := hexVal(s[i+1 : i+3]); ok {
				b = append(b, byte(v))
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return b
}

// rawJSURL reports whether the attribute a of raw, as the scanner saw it,
// may be a javascript: URL in a navigation attribute (jsURLAttr): its
// name is one, in any case, and its value starts with j (any case) or a
// character reference, past leading white space and controls.
func rawJSURL(raw []byte, a *rawAttr) bool {
	return rawNavName(raw, a) && jsURLStart(raw[a.valStart:a.valEnd])
}

// rawNavName reports whether the attribute a of raw, as the scanner saw
// it, is named as a navigation attribute (jsURLAttr), in any case.
func rawNavName(raw []byte, a *rawAttr) bool {
	n := raw[a.nameStart:a.nameEnd]
	return len(n) == 4 && foldEq(n, "href") || len(n) == 6 && foldEq(n, "action") || len(n) == 10 && (foldEq(n, "formaction") || foldEq(n, "xlink:href"))
}

// jsURLStart reports whether a raw attribute value may be a javascript:
// URL: past leading white space and controls, it starts with j (any case)
// or a character reference.
func jsURLStart(v []byte) bool {
	for _, c := range v {
		if c <= ' ' {
			continue
		}
		return c|0x20 == 'j' || c == '&'
	}
	return false
}

// foldEq reports whether b is the lower-case ASCII s in any case.
func foldEq(b []byte, s string) bool {
	m, _ := hasPrefixFold(b, s)
	return m && len(b) == len(s)
}

// isHandler reports whether the lower-case attribute name is an event
// handler's: on and a letter at least.
func isHandler(name string) bool {
	return len(name) > 2 && name[0] == 'o' && name[1] == 'n'
}

// handlerMayLoad reports whether a handler's raw value may name a host:
// whether it has a quote or a backtick, which a string or template
// literal needs, or a backslash or a character reference, which may hide
// one. Code with none of them can only call what the page's scripts
// define, with what the page holds: those scripts are decided where they
// are loaded (a vendor's fbq is gone with its loader until consent), so
// it adds no host of its own.
func handlerMayLoad(v []byte) bool {
	for _, c := range v {
		if literalBytes[c] {
			return true
		}
	}
	return false
}

// literalBytes marks the bytes handlerMayLoad looks for.
var literalBytes = [256]bool{'`': true, '"': true, '\'': true, '\\': true, '&': true}

// afterElement enters the raw-text state of an iframe.
func (r *Writer) afterElement(name string, d disposition) {
	if name == "iframe" {
		r.enterRaw(rawText, "iframe", d)
	}
}

// placeholder writes the click-to-load box before a deferred embed.
func (r *Writer) placeholder(d *Decision) {
	vendor := d.Vendor
	if vendor == "" {
		vendor = d.Host
	}
	textOf, buttons := r.opts.PlaceholderText, r.opts.PlaceholderButtons
	if textOf == nil {
		textOf = defaultPlaceholderText
	}
	if buttons == nil {
		buttons = defaultPlaceholderButtons
	}
	text := textOf(vendor)
	var b []byte
	// Spans, not a div: the box must not close an open <p> around it.
	b = append(b, `<span class="fp-placeholder" role="region"`...)
	ascii := !r.utf8Out // the texts may be the owner's, in any language
	b = addAttr(b, "aria-label", text, ascii)
	b = addAttr(b, "data-fp-placeholder", vendor, ascii)
	b = addAttr(b, "data-fp-category", d.Category, ascii)
	b = addAttr(b, "data-fp-token", r.opts.Token, ascii)
	load, always := buttons(vendor)
	b = append(b, "><span>"...)
	b = appendEscapedIn(b, text, ascii)
	b = append(b, `</span> <button type="button" data-fp-load>`...)
	b = appendEscapedIn(b, load, ascii)
	b = append(b, `</button> <button type="button" data-fp-load="always">`...)
	b = appendEscapedIn(b, always, ascii)
	b = append(b, `</button></span>`...)
	r.emit(b)
}

// scriptType reports whether a script's type (and language) runs as
// script, whether it is speculation rules, and whether it is held by a
// performance plugin for its loader to run later (delayedType): such a
// script runs for every visitor, on the first scroll or tap.
func scriptType(t *tag) (exec, specRules, delayed bool) {
	v, ok := t.get("type")
	if !ok || len(bytes.TrimSpace(v)) == 0 {
		if lang, ok := t.get("language"); ok && len(lang) > 0 {
			l := strings.ToLower(decodeAttr(lang))
			return strings.HasPrefix(l, "javascript") || strings.HasPrefix(l, "livescript") || strings.HasPrefix(l, "ecmascript") || strings.HasPrefix(l, "jscript"), false, false
		}
		return true, false, false
	}
	s := strings.TrimSpace(viewAttr(v)) // compared only, never kept
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if isJSType(s) {
		return true, false, false
	}
	if delayedType(s) {
		return true, false, true
	}
	return false, strings.EqualFold(s, "speculationrules"), false
}

func isJSType(s string) bool {
	for _, js := range jsTypes {
		if len(s) == len(js) && strings.EqualFold(s, js) {
			return true
		}
	}
	return false
}

// delayedType reports whether a script type is a performance plugin's mark
// for a script that its loader runs later: WP Rocket's
// rocketlazyloadscript, LiteSpeed Cache's litespeed/javascript,
// Perfmatters' pmdelayedscript, and Cloudflare Rocket Loader's
// "<hex>-text/javascript" (or "-module") and older text/rocketscript.
func delayedType(s string) bool {
	for _, d := range delayedTypes {
		if strings.EqualFold(s, d) {
			return true
		}
	}
	hex, js, ok := strings.Cut(s, "-")
	if !ok || len(hex) < 8 {
		return false
	}
	for i := 0; i < len(hex); i++ {
		if c := lower(hex[i]); (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return isJSType(js)
}

var delayedTypes = []string{"rocketlazyloadscript", "litespeed/javascript", "pmdelayedscript", "text/rocketscript"}

// delayedModule reports whether a delayed script is a module: Cloudflare
// marks one "<hex>-module"; WP Rocket and Perfmatters keep the original
// type in an attribute of their own.
func delayedModule(t *tag) bool {
	for _, n := range []string{"type", "data-rocket-type", "data-perfmatters-type"} {
		if v, ok := t.get(n); ok {
			s := strings.ToLower(strings.TrimSpace(decodeAttr(v)))
			if s == "module" || n == "type" && strings.HasSuffix(s, "-module") {
				return true
			}
		}
	}
	return false
}

// scriptSources are the attributes that hold a script's URL: src, and
// where delayed scripts keep it for their loaders (WP Rocket, Cloudflare's
// old Rocket Loader, LiteSpeed).
var scriptSources = []string{"src", "data-rocket-src", "data-rocketsrc", "data-src"}

// sourceNames are the attributes that may hold the URL of a script,
// delayed or not.
func sourceNames(delayed bool) []string {
	if delayed {
		return scriptSources
	}
	return scriptSources[:1]
}

// scriptSrc returns the index of the first attribute of sourceNames that a
// script has, or -1.
func scriptSrc(t *tag, delayed bool) int {
	for _, n := range sourceNames(delayed) {
		if i := t.index(n); i >= 0 {
			return i
		}
	}
	return -1
}

// jsTypes are the script types that run as classic or module scripts.
var jsTypes = []string{"module", "text/javascript", "application/javascript", "application/ecmascript",
	"application/x-ecmascript", "application/x-javascript", "text/ecmascript",
	"text/javascript1.0", "text/javascript1.1", "text/javascript1.2", "text/javascript1.3",
	"text/javascript1.4", "text/javascript1.5", "text/jscript", "text/livescript",
	"text/x-ecmascript", "text/x-javascript"}

// JavaScriptType reports whether mt, a lower-case media type without
// parameters, is one a browser runs a script served as (a worker's, a
// service worker's: the MIME type check of the HTML standard's "fetch a
// classic worker script").
func JavaScriptType(mt string) bool {
	return mt != "module" && slices.Contains(jsTypes, mt)
}

func (r *Writer) startScript(t *tag) {
	r.tagHeld = r.tagHeld[:0] // none for a script that does not run
	exec, spec, delayed := scriptType(t)
	if !exec && !spec {
		if isImportMap(t) {
			// Its URLs load when a module imports their specifiers: the
			// map is held and decided at its end (decideImportMap).
			r.holdTag(t.raw)
			r.heldKind = heldImportMap
			r.heldOver = false
			r.enterRaw(rawScript, "script", dispHold)
			return
		}
		r.emitIn(t.raw)
		r.enterRaw(rawScript, "script", dispPass)
		return
	}
	r.heldHasSrc = false
	// Its handlers (onload runs once it has loaded), lazy background and
	// style attribute are held with the script: held, it is inert.
	var ad Decision
	r.tagHeld, ad = r.ownAttrs(t, "script", r.tagHeld)
	if scriptSrc(t, delayed) >= 0 && exec {
		// A delayed script's every source is decided: which one its
		// loader reads is the loader's business.
		d := Decision{}
		for _, n := range sourceNames(delayed) {
			if i := t.index(n); i >= 0 && t.attrs[i].valStart >= 0 {
				d = stronger(d, r.decideURL(KindScript, "script", decodeAttr(t.raw[t.attrs[i].valStart:t.attrs[i].valEnd])))
			}
		}
		r.record(KindScript, &d)
		d = stronger(d, ad)
		if delayed && t.index("src") < 0 {
			// Its loader may also run its text (a loader that reads
			// another attribute, or finds this one empty): the text is
			// held and decided too, and the stronger decision is the
			// script's.
			r.heldSrc, r.heldHasSrc = d, true
		} else {
			if r.opts.ReportOnly {
				d.Action = Keep
			}
			r.enterRaw(rawScript, "script", r.writeScript(t, &d, delayed))
			return
		}
	}
	if ad.Action != Keep && !r.heldHasSrc {
		r.heldSrc, r.heldHasSrc = ad, true // joined to the text's decision
	}
	r.holdTag(t.raw)
	r.heldKind = heldScript
	r.heldOver = false
	r.enterRaw(rawScript, "script", dispHold)
}

// ownAttrs decides the attributes of a script or style start tag that
// load on their own, apart from the element's text and sources: event
// handlers (a script's or a style's onload runs once it has loaded), lazy
// backgrounds and a style attribute (both inert on an element that is not
// rendered, unless the page's CSS renders it). It appends the held ones
// to held and returns the strongest decision of those deferred, which the
// element takes if it is stronger: a script is then held whole, as an
// inline script whose code mixes a tracker's call with the page's own is;
// a style's neutralised twin goes without them (decideStyle). One that
// is removed is dropped, and the element keeps its own decision
// (dropRemoved): removing a shop's own script for its onload would break
// the shop.
func (r *Writer) ownAttrs(t *tag, name string, held []heldAttr) ([]heldAttr, Decision) {
	r.arena = r.arena[:0] // as at each element: lazyBackgrounds decodes into it
	held = r.handlers(t, name, held)
	held = r.lazyBackgrounds(t, name, held)
	held = r.attributionSrc(t, name, held)
	if i, sd, _, _ := r.styleAttr(t, name); i >= 0 && sd.Action >= Defer {
		if sd.Action == Placeholder {
			sd.Action = Defer
		}
		held = append(held, heldAttr{i, sd})
	}
	var d Decision
	for k := range held {
		if held[k].d.Action != Remove {
			d = stronger(d, held[k].d)
		}
	}
	return held, d
}

// dropRemoved drops from e the attributes of the current script or style
// start tag that ownAttrs removed, and reports whether there were any.
func (r *Writer) dropRemoved(e *edit) bool {
	any := false
	for _, h := range r.tagHeld {
		if h.d.Action == Remove {
			e.setDrop(h.i)
			any = true
		}
	}
	return any
}

// writeScript writes a script start tag for decision d and returns the
// disposition of its body; delayed is scriptType's word on the tag.
func (r *Writer) writeScript(t *tag, d *Decision, delayed bool) disposition {
	switch d.Action {
	case Keep:
		var e edit
		if r.opts.ReportOnly || !r.dropRemoved(&e) {
			r.emit(t.raw)
		} else {
			r.writeTag(t, &e)
		}
	case RewriteURL:
		var e edit
		r.dropRemoved(&e)
		for _, n := range sourceNames(delayed) {
			if i := t.index(n); i >= 0 {
				e.setReplace(i, d.RewriteTo)
			}
		}
		r.writeTag(t, &e)
	case Remove:
		return dispDrop
	default:
		r.needLoader()
		var e edit
		// Its own held attributes wait with it, under data-fp-NAME,
		// which the runtime's copy of the script loses.
		marked := mark{true, d.Category, d.Vendor}
		r.holdAttrs(&e, t, r.tagHeld, false, &marked)
		r.addAttr(&e, "type", "text/plain")
		if i := t.index("type"); i >= 0 {
			if delayed {
				// Held as the script its loader would have run: the runtime
				// runs it once allowed, which the plugin's type would stop.
				e.setDrop(i)
				if delayedModule(t) {
					r.addAttr(&e, "data-fp-type", "module")
				}
			} else {
				e.setRename(i, "data-fp-type")
			}
		}
		if i := scriptSrc(t, delayed); i >= 0 {
			e.setRename(i, "data-fp-src")
			if d.RewriteTo != "" {
				e.setReplace(i, d.RewriteTo) // activated at the first-party URL
			}
			for _, n := range sourceNames(delayed) {
				if j := t.index(n); j >= 0 && j != i {
					e.setDrop(j)
				}
			}
		}
		r.deferAttrs(&e, d)
		r.writeTag(t, &e)
	}
	return dispPass
}

func (r *Writer) startStyle(t *tag) {
	if v, ok := t.get("type"); ok {
		s := strings.ToLower(strings.TrimSpace(decodeAttr(v)))
		if s != "" && s != "text/css" {
			r.emit(t.raw)
			r.enterRaw(rawText, "style", dispPass)
			return
		}
	}
	r.tagHeld, r.tagHeldD = r.ownAttrs(t, "style", r.tagHeld[:0])
	r.holdTag(t.raw)
	r.heldKind = heldStyle
	r.heldOver = false
	r.enterRaw(rawText, "style", dispHold)
}

// decideHeld decides a held inline script or style block and writes it.
// end is its end tag, or nil at EOF or when the cap was reached.
func (r *Writer) decideHeld(end []byte) {
	start := r.held[:r.heldLen]
	body := r.held[r.heldLen:]
	t := &r.heldTg
	parseTag(t, start, &r.names)
	r.disp = dispPass
	if r.heldKind == heldStyle {
		r.deciding = true
		r.decideStyle(t, body, end)
		r.deciding = false
		return
	}
	if r.heldKind == heldImportMap {
		r.deciding = true
		r.decideImportMap(t, body)
		r.deciding = false
		r.held = r.held[:0]
		return
	}
	// The code as the browser reads it; body, as it came, is what is
	// written.
	code, _ := r.textOf(body)
	var f *ScriptFacts
	hit := false
	if !r.heldOver { // a script cut at the cap is never in the cache
		f, hit = r.opts.Facts.get(code)
	}
	amb := !r.heldOver && r.ambiguous(body)
	if amb || !hit {
		f = r.facts.reset(r.scratchSet())
		f.Oversize = r.heldOver
		if amb {
			// Read as unreadable: what it runs depends on an encoding
			// the page does not declare.
			r.stats.failClosed(FailUndeclaredEncoding)
			f.Malformed = true
		} else {
			scriptFactsIn(code, f, &r.facts)
			r.opts.Facts.add(code, f)
		}
	}
	if f.Oversize {
		r.stats.failClosed(FailOversizeScript)
	} else if f.Malformed && !amb {
		r.stats.failClosed(FailMalformedScript)
	}
	r.res = Resource{Kind: KindInlineScript, Tag: "script", Script: f}
	d := r.decide(&r.res)
	r.record(KindInlineScript, &d)
	r.asScript(&d)
	_, spec, delayed := scriptType(t)
	if spec {
		// Speculation rules' URLs and path patterns resolve against the
		// document's base URL as Chromium reads it once the rules are
		// processed, after the parser has gone on: with a <base href> on
		// a tracker's host after the rules, it fetched a list rule's
		// "/p" and the links "/*" matched from that host. A later base
		// loses its href unless the policy keeps its URL (startTag).
		r.urlSeen = true
	}
	if spec && d.Action < Defer && (!specRulesStayHome(code) || r.baseSet && !r.pageHost(r.base.Host)) {
		// Rules that may match a vendor's link on the page (a path is
		// another host's under a <base> of its): decided as an
		// unresolvable URL (fail closed).
		r.stats.failClosed(FailAmbiguous)
		sd := r.decideUnresolvable(KindHint, "script")
		r.record(KindHint, &sd)
		r.asScript(&sd)
		d = stronger(d, sd)
	}
	if r.opts.ReportMentions {
		r.recordMentions(f, &d)
	}
	if r.heldHasSrc {
		// The sources' decision, as startScript would have written it
		// alone (a proxied source keeps its RewriteURL).
		src := r.heldSrc
		if r.opts.ReportOnly {
			src.Action = Keep
		}
		d, r.heldHasSrc = stronger(d, src), false
	}
	r.deciding = true
	r.disp = r.writeScript(t, &d, delayed)
	r.deciding = false
	if r.disp == dispPass {
		r.emit(body)
	}
	r.held = r.held[:0]
}

func (r *Writer) decideStyle(t *tag, body, end []byte) {
	defer func() { r.held = r.held[:0] }()
	if r.heldOver {
		r.stats.failClosed(FailOversizeStyle)
		d := Decision{Action: Defer, Category: "unknown"}
		r.record(KindCSS, &d)
		if r.opts.ReportOnly {
			r.emit(t.raw)
			r.emit(body)
			return
		}
		r.needLoader()
		r.writeStyleTwin(t, &d)
		r.emit(body)
		return
	}
	// A view of the held bytes, not a copy: they stay put until the
	// deferred reset above, and nothing the decision keeps points into
	// them (the FactsCache keys on a digest and copies the refs, whose
	// URLs are strings of their own; Stats.keep copies what it counts;
	// newCSS, when it is the body's bytes, is copied into the output
	// before return).
	// Decoded from the page's encoding (a character of it takes an ASCII
	// byte), the sheet is read as the browser reads it, and its neutral
	// copy written with the page's bytes, the URLs not kept replaced
	// (rewriteCSSFrom, by where the two differ).
	// (Read as its bytes, it has no spans: r.decoded stays empty.)
	r.decoded = r.decoded[:0]
	text, _ := r.enc.textView(body, nil, &r.decoded)
	css := unsafe.String(unsafe.SliceData(text), len(text))
	newCSS, d := r.rewriteCSSFrom(css, unsafe.String(unsafe.SliceData(body), len(body)), r.decoded, "style")
	d = r.preloadScan(d, css, "style")
	if amb, ok := r.ambiguousCSS(body, d, "style"); ok {
		// Its neutral copy would be read as the sheet is: empty.
		d, newCSS = amb, ""
	}
	// Its handlers, lazy background and style attribute (ownAttrs): held
	// ones hold the block, and removed ones go.
	d = stronger(d, r.tagHeldD)
	if r.opts.ReportOnly || d.Action < Defer {
		var e edit
		if r.opts.ReportOnly || !r.dropRemoved(&e) {
			r.emit(t.raw)
		} else {
			r.writeTag(t, &e)
		}
		r.emit(body)
		return
	}
	// The neutralised CSS applies now, marked data-fp-neutral, without the
	// held attributes; a deferred twin right after it holds the original
	// for the consent runtime, which drops the neutral one when it
	// restores the twin: its element just before the twin, so a loader
	// this style brings goes before the neutral copy.
	held := d.Action == Defer || d.Action == Placeholder
	if held {
		r.needLoader()
	}
	var ne edit
	r.addAttr(&ne, "data-fp-neutral", "")
	for _, h := range r.tagHeld {
		ne.setDrop(h.i)
	}
	r.writeTag(t, &ne)
	// The neutral copy keeps what CSS does not read as a URL, which the
	// preload scanner may (preloadScan): it stops at preloadStop. (It
	// reads nothing from a sheet with no "@".)
	if strings.IndexByte(newCSS, '@') >= 0 {
		r.emitString(preloadStop)
	}
	r.emitString(newCSS)
	if held {
		if end != nil {
			r.emit(end)
		} else {
			r.emitString("</style>")
		}
		d.Action = Defer
		r.writeStyleTwin(t, &d)
		r.emit(body)
	}
}

// writeStyleTwin writes the deferred twin's start tag (deferStyleTwin)
// and preloadStop, which its content follows.
func (r *Writer) writeStyleTwin(t *tag, d *Decision) {
	r.writeTag(t, r.deferStyleTwin(t, d))
	r.emitString(preloadStop)
}

// preloadStop begins the content of every style element the rewriter
// switches off (type="text/plain"). Chromium's preload scanner fetches
// the @import rules that begin a style element's text whatever its type
// (a Chromium test saw a held <style type="text/plain">@import url(…)
// reach the vendor before any choice), and stops at the first byte that
// starts no rule. In a style's raw text this is a CDO and a CDC token,
// which a style sheet's top level skips, so the @import rules after it
// still apply once the runtime gives the type back; in SVG or MathML it
// is a comment, which is no part of the sheet.
const preloadStop = "<!---->"

// deferStyleTwin is deferStyleEdit with the start tag's held attributes
// (ownAttrs) kept for the runtime under data-fp-NAME, or dropped when
// removed or of another category than d's (holdAttrs).
func (r *Writer) deferStyleTwin(t *tag, d *Decision) *edit {
	e := r.deferStyleEdit(t, d)
	marked := mark{true, d.Category, d.Vendor}
	r.holdAttrs(e, t, r.tagHeld, false, &marked)
	return e
}

// asScript makes d, an inline script's decision, the action its code
// takes as written: code is neither proxied nor a placeholder, and
// report-only keeps it.
func (r *Writer) asScript(d *Decision) {
	switch {
	case r.opts.ReportOnly || d.Action == RewriteURL:
		d.Action = Keep
	case d.Action == Placeholder:
		d.Action = Defer
	}
}

// isImportMap reports whether t, a script start tag, is an import map's.
func isImportMap(t *tag) bool {
	v, ok := t.get("type")
	return ok && strings.EqualFold(strings.TrimSpace(viewAttr(v)), "importmap")
}

// emptyModule is what a held import map entry is pointed at: a module
// that loads nothing and exports nothing, so that a page's import of the
// specifier still resolves (an import of a name it does not export fails
// as it would have without consent, where the vendor's module is absent).
const emptyModule = `"data:text/javascript,"`

// decideImportMap decides the URLs an import map maps specifiers to (in
// "imports", and in each of "scopes"), as script URLs, and writes the
// map with each held one pointed at emptyModule and each proxied one at
// its first-party URL; other bytes pass as they came. A module fetches
// such a URL when it imports the specifier, so the map is where it is
// decided. An entry that is deferred cannot come back: browsers take an
// import map once, and a later one cannot change an entry (the runtime
// restores no import map), so a held entry stays empty on the page, as
// a removed one does. A map cut at the cap or that Go's JSON decoder
// cannot read (a browser's JSON.parse reads the same grammar) is decided
// whole, as an unreadable script is.
func (r *Writer) decideImportMap(t *tag, body []byte) {
	var edits []importEdit
	ok := !r.heldOver
	if ok {
		text, decoded := r.textOf(body)
		edits, ok = r.importMapEdits(text)
		// Edits of the decoded map are not at the page's bytes: such a
		// map is decided whole, as an unreadable one.
		ok = ok && (!decoded || len(edits) == 0)
	}
	amb := ok && r.ambiguous(body)
	if !ok || amb {
		switch {
		case r.heldOver:
			r.stats.failClosed(FailOversizeScript)
		case amb:
			r.stats.failClosed(FailUndeclaredEncoding)
		default:
			r.stats.failClosed(FailMalformedScript)
		}
		// Decided as an unreadable script is: the policy's call (the
		// product's defers it, as an unknown).
		d := r.decide(&Resource{Kind: KindInlineScript, Tag: "script", Script: &ScriptFacts{Malformed: !r.heldOver, Oversize: r.heldOver}})
		r.record(KindInlineScript, &d)
		r.asScript(&d)
		if r.disp = r.writeScript(t, &d, false); r.disp == dispPass {
			r.emit(body)
		}
		return
	}
	r.emit(t.raw)
	at := 0
	for _, e := range edits {
		r.emit(body[at:e.start])
		r.emitString(e.with)
		at = e.end
	}
	r.emit(body[at:])
}

// importEdit replaces body[start:end], a JSON string, with with.
type importEdit struct {
	start, end int
	with       string
}

// importMapEdits reads an import map and decides the URLs of its
// specifier maps, returning the replacements of those that are not kept;
// false when the JSON cannot be read.
func (r *Writer) importMapEdits(body []byte) ([]importEdit, bool) {
	const (
		other = iota
		top
		specifiers // "imports", or a scope's map: its values are URLs
		scopes
	)
	type frame struct {
		role    int
		obj     bool
		wantKey bool
		key     string
	}
	var stack []frame
	var edits []importEdit
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			return edits, len(stack) == 0 // the decoder ends a stream cut inside a value with EOF too
		}
		if err != nil {
			return nil, false
		}
		var parent *frame
		if len(stack) > 0 {
			parent = &stack[len(stack)-1]
		}
		if d, isDelim := tok.(json.Delim); isDelim {
			if d == '}' || d == ']' {
				stack = stack[:len(stack)-1]
				continue
			}
			role := other
			switch {
			case parent == nil:
				role = top
			case parent.role == top && parent.key == "imports":
				role = specifiers
			case parent.role == top && parent.key == "scopes":
				role = scopes
			case parent.role == scopes:
				role = specifiers
			}
			if parent != nil && parent.obj {
				parent.wantKey = true
			}
			stack = append(stack, frame{role: role, obj: d == '{', wantKey: true})
			continue
		}
		if parent == nil || !parent.obj {
			continue
		}
		if parent.wantKey {
			parent.key, _ = tok.(string)
			parent.wantKey = false
			continue
		}
		parent.wantKey = true
		u, isString := tok.(string)
		if parent.role != specifiers || !isString {
			continue
		}
		d := r.decideURL(KindScript, "script", u)
		r.record(KindScript, &d)
		if r.opts.ReportOnly || d.Action == Keep {
			continue
		}
		// The string's bytes: from past the white space and the ':' that
		// follow the key, to where the decoder stopped.
		start := int(before)
		for start < len(body) && (body[start] == ':' || body[start] == ',' || body[start] == ' ' || body[start] == '\t' || body[start] == '\n' || body[start] == '\r') {
			start++
		}
		with := emptyModule
		if d.Action == RewriteURL {
			b, _ := json.Marshal(d.RewriteTo) // a string always marshals
			with = string(b)
		}
		edits = append(edits, importEdit{start, int(dec.InputOffset()), with})
	}
}

// dataFP is the name a deferred URL attribute is kept under: data-fp-NAME.
func dataFP(name string) string {
	switch name {
	case "src":
		return "data-fp-src"
	case "srcset":
		return "data-fp-srcset"
	case "href":
		return "data-fp-href"
	case "imagesrcset":
		return "data-fp-imagesrcset"
	case "data":
		return "data-fp-data"
	case "poster":
		return "data-fp-poster"
	case "ping":
		return "data-fp-ping"
	case "background":
		return "data-fp-background"
	}
	return "data-fp-" + name
}

// deferStyleEdit makes a style start tag inert: type="text/plain", with an
// original type kept as data-fp-type.
func (r *Writer) deferStyleEdit(t *tag, d *Decision) *edit {
	var e edit
	r.addAttr(&e, "type", "text/plain")
	if i := t.index("type"); i >= 0 {
		e.setRename(i, "data-fp-type")
	}
	r.deferAttrs(&e, d)
	return &e
}

// foreignElement decides an SVG or MathML element. The href of an SVG
// script, image, feImage or use is decided in MathML too: an <svg> inside
// a <math> is MathML to the parser (the DOM's namespace), but Chromium's
// preload scanner reads it as SVG, and fetched <math><svg><image href>
// with JavaScript off and <math><svg><script href> with it on
// (TestBrowserAdversarial, 2026-12-04).
func (r *Writer) foreignElement(t *tag, ns namespace) {
	var vs []vector
	for i := range t.attrs {
		a := &t.attrs[i]
		if a.dup || a.valStart < 0 || (a.name != "href" && a.name != "xlink:href") {
			continue
		}
		switch t.name {
		case "script":
			vs = append(vs, vector{attr: i, kind: KindScript})
		case "image", "feimage", "use":
			vs = append(vs, vector{attr: i, kind: KindImage})
		}
	}
	vs = foreignPreloads(t, vs)
	var best Decision
	for _, v := range vs {
		r.urls = urlsOf(decodeAttr(t.raw[t.attrs[v.attr].valStart:t.attrs[v.attr].valEnd]), v.list, r.urls[:0], r.baseSet)
		for _, u := range r.urls {
			d := r.decideURL(v.kind, t.name, u)
			r.record(v.kind, &d)
			best = stronger(best, d)
		}
	}
	isScript := ns == nsSVG && t.name == "script"
	isStyle := t.name == "style" // an SVG one, or a MathML one that Chromium's preload scanner reads
	if isStyle {
		best = stronger(best, r.svgStyleDecision(t.name))
	}
	if isScript && len(vs) == 0 {
		// An inline SVG script: its text is markup, not held; it counts as
		// unclassified.
		d := r.decide(&Resource{Kind: KindInlineScript, Tag: "script"})
		r.record(KindInlineScript, &d)
		best = stronger(best, d)
	}
	si, sd, newCSS, cssASCII := r.styleAttr(t, t.name)
	var hbuf [4]heldAttr
	held := r.handlers(t, t.name, hbuf[:0])
	if ns == nsSVG {
		held = r.presentationAttrs(t, held)
		if t.name == "set" || t.name == "animate" {
			vs, best, held = r.animation(t, vs, best, held)
		}
	}
	if r.opts.ReportOnly || (best.Action < Defer && sd.Action < Defer && len(held) == 0) {
		r.emit(t.raw)
		return
	}
	var e edit
	var marked mark // as in element
	var first, style *Decision
	if best.Action == Defer || best.Action == Placeholder {
		first = &best
	}
	if si >= 0 {
		style = &sd
	}
	marked.vendor = heldVendors(first, style, nil, held, best.Action == Remove)
	if first != nil {
		marked.set, marked.category = true, best.Category // marked below
		best.Vendor = marked.vendor
	}
	if si >= 0 && sd.Action >= Defer {
		e.setReplaceRaw(si, newCSS)
		e.op(si).ascii = cssASCII
		if sd.Action != Remove && r.holdMark(&e, &marked, &sd) {
			r.addRawAttr(&e, "data-fp-style", t.raw[t.attrs[si].valStart:t.attrs[si].valEnd])
		}
	}
	if best.Action >= Defer {
		if isScript || isStyle {
			r.addAttr(&e, "type", "text/plain")
			if i := t.index("type"); i >= 0 {
				e.setRename(i, "data-fp-type")
			}
		}
		if best.Action == Remove {
			for _, v := range vs {
				e.setDrop(v.attr)
			}
		} else {
			r.needLoader()
			r.deferAttrs(&e, &best)
			for _, v := range vs {
				// data-fp-href or data-fp-xlink:href: both may be present.
				e.setRename(v.attr, dataFP(t.attrs[v.attr].name))
			}
			if isScript {
				// The runtime runs a held SVG script as an HTML script, as
				// it does the others: its URL, href's or else xlink:href's
				// (as SVG 2 reads them), is also given as that script's src.
				if i := svgScriptSrc(t, vs); i >= 0 {
					a := &t.attrs[i]
					r.addRawAttr(&e, "data-fp-src", t.raw[a.valStart:a.valEnd])
				}
			}
		}
	}
	r.holdAttrs(&e, t, held, best.Action == Remove, &marked)
	r.writeTag(t, &e)
	if isStyle && best.Action >= Defer {
		r.emitString(preloadStop)
	}
}

// foreignPreloads appends to vs the attributes of a foreign element (SVG
// or MathML) that Chromium's preload scanner fetches all the same, since
// it reads tags by their names and not their namespace: a link's href and
// imagesrcset (for the rels linkKind knows), an image input's src, a
// video's poster and src, a source's srcset and src, and a base's href,
// against which the scanner resolves the page's later relative URLs. A
// Chromium test saw each but a video's and a source's src load from
// inside an svg or a math element.
func foreignPreloads(t *tag, vs []vector) []vector {
	add := func(attr string, k Kind, list byte) { vs = t.vector(vs, attr, k, list) }
	switch t.name {
	case "link":
		if v, ok := t.get("rel"); ok {
			if k, ok := linkKind(decodeAttr(v)); ok {
				add("href", k, 0)
				add("imagesrcset", k, 's')
			}
		}
	case "input":
		if v, ok := t.get("type"); ok && strings.EqualFold(strings.TrimSpace(decodeAttr(v)), "image") {
			add("src", KindImage, 0)
		}
	case "video":
		add("poster", KindImage, 0)
		add("src", KindMedia, 0)
	case "source":
		// The scanner reads a source's srcset inside a picture, which
		// it tells by the tag's name too: <svg><picture><source srcset>
		// loaded with JavaScript off and on (a generated Chromium test,
		// 2026-12-05). Its src is decided as well, erring towards more.
		add("srcset", KindImage, 's')
		add("src", KindMedia, 0)
	case "base":
		add("href", KindHint, 0)
	}
	return vs
}

// animation decides the values an SVG animation element (set, animate),
// t, gives the attribute of its target it animates: to, from, by and
// values (animValueAttr). An animation of an href (animatesHref) gives
// its target, an image, a use or an feImage, a URL: each of its values
// (values is a list split at semicolons) is decided as an image, and
// the attributes are added to vs, whose decision is best. Any other
// attribute it animates may be a presentation attribute (mask, cursor…),
// whose value is CSS: a value with a url() is decided as CSS, and held
// as one, appended to held, when deferred or removed.
func (r *Writer) animation(t *tag, vs []vector, best Decision, held []heldAttr) ([]vector, Decision, []heldAttr) {
	href := animatesHref(t)
	for i := range t.attrs {
		a := &t.attrs[i]
		if a.dup || a.valStart < 0 || !animValueAttr(a.name) {
			continue
		}
		if !href {
			held = r.cssValueAttr(t, i, held)
			continue
		}
		for part := range strings.SplitSeq(decodeAttr(t.raw[a.valStart:a.valEnd]), ";") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			d := r.decideURL(KindImage, t.name, part)
			r.record(KindImage, &d)
			best = stronger(best, d)
		}
		vs = append(vs, vector{attr: i, kind: KindImage})
	}
	return vs, best, held
}

// presentationAttrs decides t's SVG presentation attributes whose value
// may be a url() (presentationURL), as CSS (cssValueAttr): the browser
// fetches a mask, a cursor, a paint server, a clip path or a marker from
// another document when the value names one. It appends to held those
// deferred or removed.
func (r *Writer) presentationAttrs(t *tag, held []heldAttr) []heldAttr {
	for i := range t.attrs {
		if a := &t.attrs[i]; !a.dup && a.valStart >= 0 && presentationURL(a.name) {
			held = r.cssValueAttr(t, i, held)
		}
	}
	return held
}

// cssValueAttr decides the attribute t.attrs[i] as a CSS value when it
// may load (styleMayLoad), and appends it to held when the decision
// defers or removes it (holdIf).
func (r *Writer) cssValueAttr(t *tag, i int, held []heldAttr) []heldAttr {
	a := &t.attrs[i]
	if !styleMayLoad(t.raw[a.valStart:a.valEnd]) {
		return held
	}
	_, d := r.rewriteCSS(decodeAttr(t.raw[a.valStart:a.valEnd]), t.name)
	return holdIf(held, i, d)
}

// presentationURL reports whether name is an SVG presentation attribute
// that can take a url(). A Chromium test saw fill, stroke, mask,
// clip-path, cursor and the markers load one from another host; filter
// did not, and is read all the same.
func presentationURL(name string) bool {
	switch name {
	case "fill", "stroke", "mask", "clip-path", "cursor", "filter", "marker-start", "marker-mid", "marker-end", "marker":
		return true
	}
	return false
}

// animatesHref reports whether an SVG animation element (set, animate)
// animates its target's href or xlink:href: its attributeName, whatever
// the prefix and the case, names href.
func animatesHref(t *tag) bool {
	i := t.index("attributename")
	if i < 0 || t.attrs[i].valStart < 0 {
		return false
	}
	name := strings.TrimSpace(decodeAttr(t.raw[t.attrs[i].valStart:t.attrs[i].valEnd]))
	if k := strings.LastIndexByte(name, ':'); k >= 0 {
		name = name[k+1:]
	}
	return strings.EqualFold(name, "href")
}

// animValueAttr reports whether an animation element's attribute name
// holds values it gives its target: to, from, by, or values (a list
// separated by semicolons).
func animValueAttr(name string) bool {
	return name == "to" || name == "from" || name == "by" || name == "values"
}

// svgScriptSrc returns the attribute among vs, an SVG script's URLs,
// that loads it: href, or else xlink:href; or -1.
func svgScriptSrc(t *tag, vs []vector) int {
	src := -1
	for _, v := range vs {
		if t.attrs[v.attr].name == "href" {
			return v.attr
		}
		src = v.attr
	}
	return src
}

// newNested returns the rewriter for the content of a <noscript>, which
// browsers without scripting read as markup.
func (r *Writer) newNested() *Writer {
	r.sink.r = r
	n := r.nestedWriter(&r.sink)
	n.opts.ReportOnly = r.opts.ReportOnly
	n.enc, n.guess = r.enc, r.guess // the page's bytes
	// The noscript's content is read against this page's base, whatever
	// base it holds (noscriptBaseHref).
	n.baseSet = true
	n.noscriptBase = !r.baseSet || r.noscriptBase
	n.headPhase = false
	return n
}

// noscriptBaseHref decides a base in a noscript's content, t, when no
// base has set the document's before it. A browser without scripting
// reads the content as markup and takes the base for the document's, for
// the page's URLs that follow the noscript too; one with scripting reads
// text, and has none. The rewriter reads both against the page's base:
// unless the base names the page's host or the policy keeps its URL, it
// loses its href (as a late base does), and the next base is read so in
// turn. With JavaScript off, Chromium loaded an image after such a base
// from the vendor (a generated Chromium test, 2026-12-05).
func (r *Writer) noscriptBaseHref(t *tag) {
	v, ok := t.get("href")
	if !ok {
		return
	}
	u, err := ResolveURL(r.opts.PageURL, decodeAttr(v))
	if err != nil || u.Host == "" || r.keepsBase(u) {
		// The first base with an href is the document's, even one whose
		// URL a browser cannot use: later ones are not.
		r.noscriptBase = false
		return
	}
	r.lateBase = true
	r.stats.failClosed(FailAmbiguous)
}

// keepsBase reports whether a base at u may keep its href where the
// rewriter reads the page against another base (a late base, a
// noscript's): u is on the page's host, the policy keeps its URL, or
// nothing is changed (report only).
func (r *Writer) keepsBase(u *url.URL) bool {
	return r.pageHost(u.Host) || r.opts.ReportOnly || r.decideURL(KindImage, "base", u.String()).Action == Keep
}

// maxNest is how deep documents inside the page (an iframe's srcdoc, a
// frame's data: URL) are read, each inside the one before: a document
// deeper than that is decided as unreadable (errTooDeep). Each level is a
// Writer of its own, so the bound keeps a page's memory bounded.
const maxNest = 4

var errTooDeep = errors.New("rewrite: documents nested too deep to read")

// errUndeclared is a nested document that reads differently in an
// encoding the page does not declare (ambiguous).
var errUndeclared = errors.New("rewrite: a document in a page that declares no encoding reads differently in one the browser may take")

// readNested rewrites doc, a document inside this page, into w with a
// nested Writer (nestedWriter), and returns the strongest of its
// decisions. Past maxNest it reads nothing and returns errTooDeep.
func (r *Writer) readNested(w io.Writer, doc []byte) (Decision, error) {
	return r.readNestedIn(w, doc, "", r.utf8Out)
}

// readNestedIn is readNested of a document in the encoding enc
// (Options.Encoding), whose Writer writes for a UTF-8 page when utf8Out is
// set (Writer.utf8Out).
func (r *Writer) readNestedIn(w io.Writer, doc []byte, enc string, utf8Out bool) (Decision, error) {
	if r.nest >= maxNest {
		return Decision{}, errTooDeep
	}
	nr := r.nestedWriter(w)
	nr.utf8Out = utf8Out
	nr.enc = multiByte(enc)
	nr.guess = enc == Undeclared
	err := rewriteNested(nr, doc)
	r.spare = nr // closed: nothing refers to it any more (nestedWriter took the spare)
	return nr.strongest, err
}

// nestedPool keeps closed nested Writers from page to page: a page's
// spare (nestedWriter) goes there when the page is closed.
var nestedPool sync.Pool

// putNested gives n, a closed nested Writer that nothing refers to, and
// its spare to nestedPool, emptied as init empties a Writer: its held
// bytes and facts' buffers go to scratchPools (or, grown past
// scratchKeep, to the collector), and it keeps nothing of the page.
func putNested(n *Writer) {
	if s := n.spare; s != nil {
		n.spare = nil
		putNested(s)
	}
	n.releaseScratch()
	giveBack(&pendPool, &n.buf, &n.bufBox)
	if cap(n.arena) > scratchKeep {
		n.arena = nil
	}
	n.init(nil, Options{}, nil)
	nestedPool.Put(n)
}

// rewriteNested writes doc through nr and closes it. It is called through
// this variable, not directly: a direct call would put every function
// that decides a URL in one cycle of calls with element (element decides
// a frame's data: URL, whose document has elements), and escape analysis
// would then move the buffers those functions are handed (the held
// attributes) to the heap, for every element. (Set in init: it refers to
// itself through the Writer's methods.)
var rewriteNested func(nr *Writer, doc []byte) error

func init() {
	rewriteNested = func(nr *Writer, doc []byte) error {
		nr.Write(doc)
		return nr.Close()
	}
}

// nestedWriter returns a Writer for a document inside this page (an
// iframe's srcdoc, a noscript's content): this page's policy, URL, caps,
// token and facts cache, counting into this page's stats, from this
// page's base URL, and inserting no loader of its own.
func (r *Writer) nestedWriter(w io.Writer) *Writer {
	n := r.spare // the page's noscripts and srcdocs take turns with one
	r.spare = nil
	if n == nil {
		n, _ = nestedPool.Get().(*Writer)
	}
	if n == nil {
		n = new(Writer)
	}
	// Encoding is the page's (pageText); the encoding the nested Writer
	// reads in (enc, guess) and whether it writes for a UTF-8 page
	// (utf8Out: a srcdoc's may not) are its caller's to set.
	n.init(w, Options{Policy: r.opts.Policy, PageURL: r.opts.PageURL, MaxTokenSize: r.max, Token: r.opts.Token, PlaceholderText: r.opts.PlaceholderText, PlaceholderButtons: r.opts.PlaceholderButtons, Facts: r.opts.Facts, Encoding: r.opts.Encoding}, r.stats)
	n.utf8Out = r.utf8Out
	n.base = r.base
	n.isNested = true
	n.nest = r.nest + 1
	n.pastBOM = true // a nested document is text already decoded: U+FEFF in it is a character
	return n
}

// appendWriter appends what is written to *b.
type appendWriter struct{ b *[]byte }

func (w appendWriter) Write(p []byte) (int, error) {
	*w.b = append(*w.b, p...)
	return len(p), nil
}

// sink is where a noscript's Writer writes: the output of the Writer
// that holds it, after what that has passed through.
type sink struct{ r *Writer }

func (s *sink) Write(p []byte) (int, error) {
	s.r.flushPend()
	s.r.out = append(s.r.out, p...)
	return len(p), nil
}

// closeNested ends a noscript's content. A browser without scripting keeps
// reading past </noscript> in whatever state the content left it in, so an
// unfinished token is dropped and an open raw-text element, comment or CDATA
// is closed: both readings then agree on what follows.
func (r *Writer) closeNested() {
	n := r.nested
	r.nested = nil
	if n == nil {
		return
	}
	n.process(false)
	if !r.active() {
		// Nothing may change: write what is pending as it came, including
		// a noscript opened inside this one.
		if n.raw != rawNone && n.disp == dispNested {
			n.closeNested()
		}
		if n.raw != rawNone && n.disp == dispHold {
			n.emit(n.held)
			n.held = n.held[:0]
		}
		n.emit(n.buf)
		n.buf = n.buf[:0]
		n.closed = true
		n.drain()
		n.recycle()
		r.spare = n // nothing refers to it any more
		return
	}
	if len(n.buf) > 0 && n.raw == rawNone {
		r.stats.failClosed(FailNoscriptUnclean)
		n.buf = n.buf[:0]
	}
	unclean := false
	switch n.raw {
	case rawText, rawScript:
		closer := "</" + n.rawName + ">"
		if n.raw == rawScript && n.sstate >= sDouble {
			closer += closer
		}
		n.process(false)
		n.buf = n.buf[:0]
		n.finishRaw([]byte(closer))
		unclean = true
	case rawComment:
		n.emitString("-->")
		n.raw = rawNone
		unclean = true
	case rawPlain:
		n.raw = rawNone
	}
	if unclean {
		r.stats.failClosed(FailNoscriptUnclean)
	}
	n.closed = true
	n.drain()
	n.recycle()
	r.spare = n // nothing refers to it any more
}

// active reports whether the rewriter may change bytes: it has a policy
// and is not in report-only mode.
func (r *Writer) active() bool { return r.opts.Policy != nil && !r.opts.ReportOnly }

func (r *Writer) loaderContextOK() bool {
	return (r.raw == rawNone || r.deciding) && r.tree.template == 0 && !r.tree.foreign()
}

// needLoader inserts the consent loader before the first deferred element,
// or at the next point where a script would run.
func (r *Writer) needLoader() {
	if r.loaderState != 0 || r.isNested || r.opts.Loader == nil || r.opts.ReportOnly {
		return
	}
	r.loaderState = 1
	if r.holding {
		// The loader goes to its place, held back for it.
		r.out = slices.Insert(r.out, r.holdAt, r.opts.Loader(r.opts.Token, r.nonce)...)
		r.holding = false
		r.loaderState = 2
		r.stats.loader()
		return
	}
	if r.loaderContextOK() {
		r.insertLoader()
	}
}

// rootPath reports whether u is a path from a host's root ("/p", not
// "//host/p").
func rootPath(u string) bool {
	return len(u) > 0 && u[0] == '/' && (len(u) == 1 || !isSlash(u[1]))
}

// otherOrigin reports whether a <base> at u moves the page's
// root-relative URLs to another host. The scheme is not compared: behind a
// proxy that ends TLS, the page's URL is http:// where the browser's, and
// a base the site writes, is https:// on the same host.
func (r *Writer) otherOrigin(u *url.URL) bool {
	p := r.opts.PageURL
	return p == nil || !strings.EqualFold(u.Hostname(), p.Hostname())
}

// loaderBeforeBase puts the loader, which the caller builds with a
// root-relative URL, before a <base> on another host: after it, the
// browser would ask the base's host for the runtime (a vendor's, when the
// base is a tracker's; a CDN's 404 on a shop's own), and consent would not
// load. At its held place when there is one (after <head>, before the
// base), else here; whether or not anything is deferred later, as the
// base would outlast the hold.
func (r *Writer) loaderBeforeBase(u *url.URL) {
	if r.loaderState == 2 || !r.loaderContextOK() || !r.otherOrigin(u) {
		return
	}
	r.loaderState = 0 // needLoader's own checks (a nested page, no loader, report only) stand
	r.needLoader()
}

func (r *Writer) insertLoader() {
	r.loaderState = 2
	r.stats.loader()
	r.emit(r.opts.Loader(r.opts.Token, r.nonce))
}

// recordMentions counts the listed third-party hosts an inline script
// names besides the one that decided it, with the script's action. Each
// is decided as the script's decision decides a host it names, by the
// host's entries and the rules under it: as an inline script that names
// that host alone (its strings left out, so that no vendor signature
// files the host under the script's vendor). Decided as a URL of its own
// ("https://gtm.js/"), a file name that reads as a host met
// EasyPrivacy's generic /gtm.js, and GTM's dataLayer.push({event:
// 'gtm.js'}), which the script's decision kept, was reported as
// analytics loaded before consent.
func (r *Writer) recordMentions(f *ScriptFacts, d *Decision) {
	for _, h := range f.Hosts {
		if h == d.Host {
			continue
		}
		md := r.opts.Policy.Decide(r.opts.PageURL, &Resource{Kind: KindInlineScript, Tag: "script", Script: &ScriptFacts{Hosts: []string{h}}})
		switch md.Category {
		case "", "unknown", "cdn", "fonts":
			continue // first party, unlisted, or not a tracker
		}
		r.stats.mention(Finding{Host: h, Vendor: md.Vendor, Category: md.Category, Kind: KindInlineScript, Action: d.Action})
	}
}
