package caddymodule

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/firstparty/firstparty/rewrite"
)

// responseWriter records the status in WriteHeader and decides on the first
// Write whether the body is HTML to rewrite.
type responseWriter struct {
	*caddyhttp.ResponseWriterWrapper
	h       *Handler
	req     *http.Request
	status  int
	decided bool
	rw      pageWriter
	failed  bool // fail-closed: the body is dropped
	// rangeSent: the request went upstream with its Range header (its
	// Accept did not name HTML). A partial HTML answer is then dropped
	// unsent (partial), and the handler asks again for the whole page.
	rangeSent, partial bool
	// head: the request is a HEAD. An HTML answer gets a GET's headers,
	// and nothing is rewritten (decide).
	head bool
	// marked: the request's If-None-Match named a copy rewritten under
	// the current policy (Handler.conditionals); a 304 confirming it
	// carries that copy's ETag.
	marked bool
	// bs says whether the answer carries the backstop's policy, and the
	// policy's tag for its ETag, which says so (Handler.requestTag): a
	// copy of the one conditionals asked, with what it worked out.
	bs  backstopState
	err error
	// pending holds the first bytes of a body that may be HTML until they
	// decide its type and encoding (at most rewrite.PrescanSize bytes).
	pending []byte
	// first gathers the rewritten page's first bytes (firstWrite).
	first *firstWrite
	// encoding is the page's, as a browser finds it (rewrite.DetectEncoding).
	encoding string
}

// firstWriteMin is the least a rewritten page's first write downstream
// carries, unless the page is shorter or the upstream flushes first.
//
// Caddy's encode decides on the first write whether to compress: only if
// it is longer than its minimum_length (512 by default), or the
// Content-Length says the body will be. A rewritten page has no
// Content-Length, and the rewriter's first output can be a few bytes (the
// page up to <head>, written while the rest waits to learn whether the
// consent loader goes there), so without this the page went uncompressed.
// 4 KiB covers any minimum_length below 4096; net/http buffers the first
// 2 KiB of a response anyway.
const firstWriteMin = 4 << 10

// firstWrite passes a rewritten page on to w once it has firstWriteMin
// bytes of it, at an upstream flush, or at the end of the page, and from
// then on as it comes.
type firstWrite struct {
	w    io.Writer
	buf  []byte
	sent bool
}

func (f *firstWrite) Write(p []byte) (int, error) {
	if f.sent {
		return f.w.Write(p)
	}
	if len(f.buf) == 0 && len(p) >= firstWriteMin {
		f.sent = true
		return f.w.Write(p) // long enough as it is: no copy
	}
	k := min(len(p), firstWriteMin-len(f.buf))
	if f.buf == nil {
		f.buf = make([]byte, 0, firstWriteMin)
	}
	f.buf = append(f.buf, p[:k]...)
	if len(f.buf) < firstWriteMin {
		return len(p), nil
	}
	if err := f.send(); err != nil {
		return 0, err
	}
	n, err := f.w.Write(p[k:])
	return k + n, err
}

// send writes what was gathered, if anything, and lets the rest through.
func (f *firstWrite) send() error {
	f.sent = true
	if len(f.buf) == 0 {
		return nil
	}
	b := f.buf
	f.buf = nil
	return writeAll(f.w, b)
}

// writeAll writes p to w, a short write being an error.
func writeAll(w io.Writer, p []byte) error {
	n, err := w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return err
}

func (f *firstWrite) FlushError() error {
	if err := f.send(); err != nil {
		return err
	}
	return rewrite.FlushWriter(f.w)
}

func (w *responseWriter) WriteHeader(status int) {
	if status >= 100 && status < 200 {
		if status == http.StatusEarlyHints {
			w.filterLinks(pageURL(w.req)) // 103 Early Hints preconnect and preload too
		}
		w.ResponseWriter.WriteHeader(status)
		return
	}
	if w.status == 0 {
		w.status = status
	}
}

// decide looks at the status, headers and the first bytes of the body.
func (w *responseWriter) decide(first []byte) {
	w.decided = true
	if w.status == 0 {
		w.status = http.StatusOK
	}
	hdr := w.Header()
	html, css := false, false
	var file func(io.Writer, rewrite.Options) *rewrite.FileWriter // a file read whole to filter
	switch w.status {
	case http.StatusNotModified:
		// A 304's header fields replace those of the copy it confirms
		// (RFC 9111, 4.3.4): they are filtered as a page's are, whatever
		// the copy is (a 304 does not say its type). For a page confirmed
		// by its marked ETag, the ETag and a Cache-Control the 304 carries
		// are made the page's.
		w.filterLinks(pageURL(w.req))
		if w.marked {
			if m, ok := markETag(hdr.Get("ETag"), w.bs.validatorTag()); ok {
				hdr.Set("ETag", m)
			}
			switch {
			case w.h.sheetRequest(w.req):
				// A style sheet rewritten for the visitor's consent,
				// confirmed for the consent the request carries.
				varyWithConsent(hdr)
			case len(hdr.Values("Cache-Control")) > 0:
				pageFreshness(hdr)
				if w.h.CSPBackstop != nil && !w.h.ReportOnly {
					privateCache(hdr)
				}
			}
		}
	case http.StatusNoContent:
	default:
		// The type a browser takes from the header (mediaType), or, when
		// the header gives none, the type it sniffs from the body.
		mt, charset, typed, _ := w.declared()
		if !typed && len(first) > 0 {
			mt, _, _, _ = parseMIMEType(http.DetectContentType(first))
		}
		if !typed && len(first) == 0 && w.head {
			// No type and no body to sniff: a GET's body may read as
			// HTML, so the answer gets a page's headers, the safe side
			// (its Link headers filtered, no length vouched for).
			mt = "text/html"
		}
		html = mt == "text/html"
		css = !html && w.styleSheet(mt)
		if !html && !css {
			file = w.fileFilter(mt)
		}
		if mt == "application/xhtml+xml" {
			// XHTML is parsed as XML, not HTML: the tokenizer cannot vouch for
			// it, so it fails closed.
			w.failClosed("xhtml")
			return
		}
		if xmlDocument(mt) && !w.h.ReportOnly {
			hdr.Add("Content-Security-Policy", w.h.confined)
		}
		if w.h.backstopsWorker(w.req.Header.Get("Sec-Fetch-Dest")) && !html {
			// A worker runs under the policy its own script's answer
			// carries, not the page's (CSP 3; Chromium 156 let the site's
			// own dedicated, shared and service workers fetch and import
			// from a vendor under the page's backstop): the script gets
			// the backstop too (an HTML answer gets a page's, below).
			w.h.applyBackstop(hdr, w.bs.on())
		}
		if html {
			// A page in an encoding that is not ASCII-compatible (UTF-16,
			// ISO-2022-JP, …) cannot be read as bytes: it fails closed.
			name, ok := rewrite.DetectEncoding(first, htmlContentType(charset))
			if !ok {
				w.failClosed("encoding_" + name)
				return
			}
			w.encoding = name
		}
	}
	if w.serviceWorker() {
		w.startServiceWorker()
		return
	}
	if css {
		w.startStyleSheet(first)
		return
	}
	if file != nil {
		w.startFile(file)
		return
	}
	if !html {
		w.ResponseWriter.WriteHeader(w.status)
		return
	}
	if w.status == http.StatusPartialContent {
		if w.rangeSent {
			w.partial, w.failed = true, true
			return
		}
		w.failClosed("partial_html")
		return
	}
	if w.undecoded() {
		w.failClosed("content_encoding")
		return
	}
	w.rewrittenHeaders(hdr, w.bs.tag())
	page := pageURL(w.req)
	w.filterLinks(page)
	nonce := rewrite.CSPNonce(hdr.Get("Content-Security-Policy")) // the page's, before the backstop's
	if w.h.ReportOnly {
		if !w.head { // a response without a body sends no trailer
			hdr.Add("Trailer", "Firstparty-Report")
		}
	} else {
		w.h.applyBackstop(hdr, w.bs.on())
	}
	w.ResponseWriter.WriteHeader(w.status)
	if w.head {
		return // a GET's headers, and nothing to rewrite
	}
	opts := w.h.rewriteOptions(page)
	opts.Nonce = nonce
	opts.Encoding = w.encoding
	w.first = &firstWrite{w: w.ResponseWriter}
	w.rw = w.h.pageWriter(w.first, opts, w.req, hdr)
}

// undecoded reports whether the body is in a content coding that
// decodingWriter did not undo, one it does not know: it cannot be read.
func (w *responseWriter) undecoded() bool {
	ce := strings.TrimSpace(w.Header().Get("Content-Encoding"))
	return ce != "" && !strings.EqualFold(ce, "identity")
}

// rewrittenHeaders makes hdr a rewritten body's: without the upstream
// bytes' length, ranges and digests, with an ETag that names the
// upstream's body and the policy it was rewritten under (etag.go), and,
// without explicit freshness, no-cache: a cache would otherwise reuse it
// unasked for a time it works out, whatever the policy.
func (w *responseWriter) rewrittenHeaders(hdr http.Header, tag string) {
	hdr.Del("Content-Length")
	hdr.Del("Accept-Ranges")
	hdr.Del("Content-MD5")
	hdr.Del("Digest")
	if et := hdr.Get("ETag"); et != "" {
		if m, ok := markETag(et, tag); ok {
			hdr.Set("ETag", m)
		} else {
			hdr.Del("ETag")
		}
	}
	pageFreshness(hdr)
}

// styleSheet reports whether the answer, of media type mt, is one of the
// site's own style sheets to rewrite (Handler.StyleSheets): a whole one
// (a 2xx status other than 204 and 206; a browser applies no other), of
// type text/css, or whatever its type the answer to a browser's request
// for a style sheet, which it applies in quirks mode when it comes from
// the page's own site.
func (w *responseWriter) styleSheet(mt string) bool {
	return w.status >= 200 && w.status < 300 && w.status != http.StatusNoContent &&
		w.status != http.StatusPartialContent && w.styleType(mt)
}

// styleType reports whether style sheets are rewritten and a body of
// media type mt is one: CSS, or anything a browser asked for as a style
// sheet.
func (w *responseWriter) styleType(mt string) bool {
	return w.h.rewritesSheets() && (mt == "text/css" || w.req.Header.Get("Sec-Fetch-Dest") == "style")
}

// startStyleSheet sets a style sheet's rewrite going (styleSheet), in the
// encoding that its first bytes and its header give it.
func (w *responseWriter) startStyleSheet(first []byte) {
	hdr := w.Header()
	if w.undecoded() {
		w.failClosed("content_encoding")
		return
	}
	enc, ok := rewrite.StyleSheetEncoding(first, hdr.Get("Content-Type"))
	if !ok {
		w.failClosed("encoding_" + enc)
		return
	}
	consent := w.h.consentSheets()
	if consent {
		w.rewrittenHeaders(hdr, w.bs.sheetTag())
		varyWithConsent(hdr)
	} else {
		w.rewrittenHeaders(hdr, w.bs.tag())
	}
	if w.h.ReportOnly && !w.head {
		hdr.Add("Trailer", "Firstparty-Report")
	}
	w.ResponseWriter.WriteHeader(w.status)
	if w.head {
		return
	}
	opts := w.h.sheetOptions(pageURL(w.req))
	opts.Encoding = enc
	if consent {
		opts.Policy = consentedPolicy{base: opts.Policy, st: w.bs.consent()}
	}
	w.first = &firstWrite{w: w.ResponseWriter}
	w.rw = rewrite.NewStyleSheetWriter(w.first, opts)
}

// xmlDocument reports whether a body of media type mt is an XML document
// other than XHTML (which fails closed): SVG, or any other type of XML.
// A browser shows one as a document (an <object>, <embed> or <iframe>
// of the site's, or a visit), in which SVG's <image> and <script>,
// XHTML's elements and an <?xml-stylesheet?> load what they name:
// Chromium 156 fetched a vendor's image from an SVG file in each of the
// three, and a vendor's style sheet that an XML file's
// <?xml-stylesheet?> named. The rewriter reads HTML, not XML (entities,
// CDATA sections, namespace prefixes and processing instructions read
// otherwise), so such a response is not read: it is confined instead,
// with a Content-Security-Policy beside its own that lets it load from
// the site's own origin, first_party, allow and csp_backstop allow hosts
// alone (Handler.confined), outside report_only. As an image (an <img>,
// a CSS background) a browser ignores the header, and the image loads
// nothing of its own.
func xmlDocument(mt string) bool {
	return strings.HasSuffix(mt, "/xml") || strings.HasSuffix(mt, "+xml")
}

// ruleSet reports whether a body of media type mt is a speculation
// rule set to filter: the site's own, which a Speculation-Rules header
// names (rewrite.FilterSpeculationRules keeps no other), outside
// report_only.
func (w *responseWriter) ruleSet(mt string) bool {
	return mt == rewrite.RuleSetType && !w.h.ReportOnly
}

// manifest reports whether a body of media type mt is a web app manifest
// to filter (rewrite.FilterManifest): one of that type, or whatever its
// type the answer to a browser's request for a manifest, which Chromium
// reads whatever its type; outside report_only.
func (w *responseWriter) manifest(mt string) bool {
	return !w.h.ReportOnly && (mt == rewrite.ManifestType || w.req.Header.Get("Sec-Fetch-Dest") == "manifest")
}

// svg reports whether a body of media type mt is an SVG file (or other
// XML document) to filter (rewrite.FilterSVG), outside report_only: an
// answer of an XML type to a browser's request for an image, which a
// page's <svg><use href> makes (and a CSS or SVG reference to a file's
// paint server, mask or filter), or an image/svg+xml answer to a
// script's fetch (Sec-Fetch-Dest: empty: an icon library that writes the
// file into the page) or to a request that does not say what it is for (a
// browser without fetch metadata). As a document (Sec-Fetch-Dest
// document, iframe, object, embed) the file is confined by its
// Content-Security-Policy instead (xmlDocument), and an XML file that is
// no image (a feed, a sitemap, an API's answer) passes as it came.
func (w *responseWriter) svg(mt string) bool {
	if w.h.ReportOnly || !xmlDocument(mt) {
		return false
	}
	return svgDest(w.req.Header.Get("Sec-Fetch-Dest"), mt)
}

// svgDest reports whether an answer of an XML media type mt to a request
// for dest (its Sec-Fetch-Dest) is an SVG file to filter (svg).
func svgDest(dest, mt string) bool {
	return dest == "image" || (dest == "" || dest == "empty") && mt == rewrite.SVGType
}

// svgPath reports whether path names an SVG file by its extension, in
// any case.
func svgPath(path string) bool {
	return len(path) >= 4 && strings.EqualFold(path[len(path)-4:], ".svg")
}

// fileFilter returns the writer that filters a body of media type mt as a
// file read whole (startFile): a speculation rule set's, a manifest's or
// an SVG file's; nil for any other body.
func (w *responseWriter) fileFilter(mt string) func(io.Writer, rewrite.Options) *rewrite.FileWriter {
	switch {
	case w.ruleSet(mt):
		return rewrite.NewRuleSetWriter
	case w.manifest(mt):
		return rewrite.NewManifestWriter
	case w.svg(mt):
		return rewrite.NewSVGWriter
	}
	return nil
}

// startFile sets the filter of a file read whole going
// (rewrite.FileWriter): a speculation rule set's, a manifest's or an SVG
// file's. The file is written at its end, whole.
func (w *responseWriter) startFile(newWriter func(io.Writer, rewrite.Options) *rewrite.FileWriter) {
	// A filtered file is confirmed by its marked ETag alone: without its
	// date, a browser cannot ask by If-Modified-Since, which an upstream
	// would confirm across a policy change (a file at a path the request
	// side cannot know it by, an SVG file's not ending in .svg).
	w.Header().Del("Last-Modified")
	if out := w.startWhole(); out != nil {
		w.rw = newWriter(out, rewrite.Options{Policy: w.h.rp, PageURL: pageURL(w.req), MaxTokenSize: w.h.MaxTokenSize})
	}
}

// startWhole sends the status and the headers, marked as a rewritten
// answer's, of an answer whose body passes through a writer that reads
// it whole (startFile) or adds to its end (startServiceWorker), and
// returns where that writer writes; nil when no body follows: for a HEAD
// request, or a body in a coding the module does not decode, which fails
// closed.
func (w *responseWriter) startWhole() io.Writer {
	if w.undecoded() {
		w.failClosed("content_encoding")
		return nil
	}
	w.rewrittenHeaders(w.Header(), w.bs.tag())
	w.ResponseWriter.WriteHeader(w.status)
	if w.head {
		return nil
	}
	w.first = &firstWrite{w: w.ResponseWriter}
	return w.first
}

// serviceWorker reports whether the answer is a service worker's script
// that gets the backstop (decide) and so its mark (serviceWorkerMark): a
// whole one, served as JavaScript, which a browser installs.
func (w *responseWriter) serviceWorker() bool {
	if dest := w.req.Header.Get("Sec-Fetch-Dest"); dest != "serviceworker" || !w.h.backstopsWorker(dest) ||
		w.status < 200 || w.status >= 300 || w.status == http.StatusNoContent || w.status == http.StatusPartialContent {
		return false
	}
	mt, _, typed, _ := w.declared()
	return typed && rewrite.JavaScriptType(mt)
}

// startServiceWorker sends a service worker's script as it comes, with
// the backstop's mark for the request's consent after its last byte.
func (w *responseWriter) startServiceWorker() {
	if out := w.startWhole(); out != nil {
		w.rw = &tailWriter{w: out, tail: w.h.serviceWorkerMark(w.bs.on())}
	}
}

// tailWriter passes a body on as it comes and writes tail after it.
type tailWriter struct {
	w     io.Writer
	tail  string
	stats rewrite.Stats
}

func (t *tailWriter) Write(p []byte) (int, error) { return t.w.Write(p) }
func (t *tailWriter) Flush() error                { return rewrite.FlushWriter(t.w) }
func (t *tailWriter) Close() error                { return writeAll(t.w, []byte(t.tail)) }
func (t *tailWriter) Stats() *rewrite.Stats       { return &t.stats }

// HeaderFilters are the response headers of a page (and its Early
// Hints) that name what a browser contacts, each with the filter that
// drops from it what the policy removes or defers (filterLinks).
// firstparty scan reads them as the module does.
var HeaderFilters = []struct {
	Name   string
	Filter func(values []string, page *url.URL, p rewrite.Policy, st *rewrite.Stats) (kept []string, dropped int)
}{
	{"Link", rewrite.FilterLinkHeader},
	{"Speculation-Rules", rewrite.FilterSpeculationRules},
	{"Reporting-Endpoints", rewrite.FilterReportingEndpoints},
	{"Report-To", rewrite.FilterReportTo},
	{"Content-Security-Policy", rewrite.FilterCSPReports},
	{"Content-Security-Policy-Report-Only", rewrite.FilterCSPReports},
}

// filterLinks drops from the Link header the hints and preloads to hosts
// the policy removes or defers (rewrite.FilterLinkHeader), from the
// Speculation-Rules header the rule sets there
// (rewrite.FilterSpeculationRules), and the reporting endpoints there
// from the Reporting-Endpoints and Report-To headers and from CSP
// report-uri directives (rewrite.FilterReportingEndpoints,
// FilterReportTo, FilterCSPReports). In report-only mode nothing changes.
func (w *responseWriter) filterLinks(page *url.URL) {
	if w.h.ReportOnly {
		return
	}
	for _, f := range HeaderFilters {
		hdr := w.Header()
		values := hdr.Values(f.Name)
		if len(values) == 0 {
			continue
		}
		var st rewrite.Stats
		kept, dropped := f.Filter(values, page, w.h.rp, &st)
		for reason, n := range st.FailClosed {
			// (unparsable_link_header, unparsable_reporting_header,
			// unresolvable_url)
			metrics.failClosed.WithLabelValues(reason).Add(float64(n))
		}
		if dropped == 0 {
			continue
		}
		metrics.linksDropped.Add(float64(dropped))
		hdr.Del(f.Name)
		for _, v := range kept {
			hdr.Add(f.Name, v)
		}
		w.h.logger.Debug(f.Name+" header entries dropped", zap.Int("dropped", dropped), zap.String("path", w.req.URL.Path))
	}
}

// failClosed replaces the response with a 502 and drops the body.
func (w *responseWriter) failClosed(reason string) {
	w.failed = true
	metrics.responses.WithLabelValues("failed_closed").Inc()
	metrics.failClosed.WithLabelValues(reason).Inc()
	w.h.logger.Error("response not rewritable, failing closed", zap.String("reason", reason), zap.String("path", w.req.URL.Path))
	hdr := w.Header()
	for k := range hdr {
		delete(hdr, k)
	}
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	w.ResponseWriter.WriteHeader(http.StatusBadGateway)
	if w.head {
		return
	}
	if _, err := io.WriteString(w.ResponseWriter, "502 Bad Gateway: the page could not be checked for third-party content.\n"); err != nil {
		w.h.logger.Debug("writing the 502's body failed", zap.Error(err))
	}
}

// htmlContentType is a text/html Content-Type naming charset, as
// DetectEncoding reads one: the charset a browser took from the header.
func htmlContentType(charset string) string {
	if charset != "" {
		if ct := mime.FormatMediaType("text/html", map[string]string{"charset": charset}); ct != "" {
			return ct
		}
	}
	return "text/html"
}

// declared returns the media type and charset that the Content-Type
// header gives the body, as a browser reads them (mediaType); typed is
// false without a type there, and body is false for statuses that have
// none.
func (w *responseWriter) declared() (mt, charset string, typed, body bool) {
	if w.status == http.StatusNoContent || w.status == http.StatusNotModified {
		return "", "", false, false
	}
	mt, charset, typed = mediaType(w.Header())
	if mt == "unknown/unknown" || mt == "application/unknown" {
		return "", "", false, true // a browser sniffs these as if untyped
	}
	return mt, charset, typed, true
}

// needMore reports whether the body's first bytes so far are too few to
// decide on: its type when there is no Content-Type, its encoding when it
// is HTML and the header names no charset (a BOM or a <meta> may).
func (w *responseWriter) needMore(first []byte) bool {
	mt, charset, typed, body := w.declared()
	switch {
	case len(first) >= rewrite.PrescanSize || !body:
		return false
	case !typed:
		return true
	}
	return (mt == "text/html" || w.styleType(mt)) && (charset == "" || len(first) < 3)
}

// mayBeHTML reports whether the headers leave open that the body is HTML.
func (w *responseWriter) mayBeHTML() bool {
	mt, _, typed, body := w.declared()
	return body && (!typed || mt == "text/html" || mt == "application/xhtml+xml")
}

// mayBeSheetOrFile reports whether the headers leave open that the body
// is a style sheet to rewrite (styleSheet), or say that it is a file to
// filter (fileFilter: a manifest whatever its type, when asked for as
// one).
func (w *responseWriter) mayBeSheetOrFile() bool {
	mt, _, typed, body := w.declared()
	if !body {
		return false
	}
	return w.fileFilter(mt) != nil || w.h.rewritesSheets() && (!typed || w.styleType(mt)) || w.serviceWorker()
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.decided && len(w.pending) == 0 && !w.needMore(p) {
		w.decide(p) // the first write is enough: no copy of it is kept
	}
	if w.decided {
		return w.write(p)
	}
	w.pending = append(w.pending, p...)
	if w.needMore(w.pending) {
		return len(p), nil
	}
	if err := w.flushPending(); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *responseWriter) write(p []byte) (int, error) {
	switch {
	case w.failed:
		return len(p), nil
	case w.rw != nil:
		n, err := w.rw.Write(p)
		if err != nil {
			w.err = err
		}
		return n, err
	}
	return w.ResponseWriter.Write(p)
}

// untouched reports whether nothing of the response has been set going:
// no status, no byte of a body.
func (w *responseWriter) untouched() bool {
	return !w.decided && w.status == 0 && len(w.pending) == 0
}

// decidePartial decides on a 206 answer not yet decided on: one whose
// first bytes are too few to tell its encoding (text/html with no
// charset, a range shorter than rewrite.PrescanSize), or that has no body
// (HEAD). The handler then knows whether the partial page is to be
// dropped and the whole one asked for.
func (w *responseWriter) decidePartial() {
	if w.decided || w.status != http.StatusPartialContent {
		return
	}
	if len(w.pending) == 0 {
		w.decide(nil)
		return
	}
	if err := w.flushPending(); err != nil {
		w.err = err
	}
}

// flushPending decides on whatever first bytes have arrived.
func (w *responseWriter) flushPending() error {
	if w.decided || len(w.pending) == 0 {
		return nil
	}
	p := w.pending
	w.pending = nil
	w.decide(p)
	_, err := w.write(p)
	return err
}

// ReadFrom keeps the zero-copy path for bodies that are not rewritten.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.decided && !w.mayBeHTML() && !w.mayBeSheetOrFile() {
		w.decide(nil) // the headers are enough
	}
	if w.decided && w.rw == nil && !w.failed {
		return w.ResponseWriterWrapper.ReadFrom(r)
	}
	return io.Copy(writerOnly{w}, r)
}

type writerOnly struct{ io.Writer }

// FlushError writes out what the rewriter has decided, then flushes.
func (w *responseWriter) FlushError() error {
	if err := w.flushPending(); err != nil {
		return err
	}
	if !w.decided || w.partial {
		return nil // nothing to flush before the first byte, or ever
	}
	if w.rw != nil {
		return w.rw.Flush()
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// finish ends the rewrite at the end of the upstream body.
func (w *responseWriter) finish() error {
	if err := w.flushPending(); err != nil {
		return err
	}
	if !w.decided {
		w.decide(nil) // an empty body
	}
	if w.rw == nil {
		return nil
	}
	err := w.rw.Close()
	if serr := w.first.send(); err == nil {
		err = serr
	}
	st := w.rw.Stats()
	w.h.logStats(w.req, st)
	countStats(st, w.h.ReportOnly)
	if w.h.ReportOnly {
		w.Header().Set("Firstparty-Report", reportSummary(st))
	}
	if err == nil {
		err = w.err
	}
	return err
}

// reportSummary is the Firstparty-Report value: what would have changed.
func reportSummary(st *rewrite.Stats) string {
	var parts []string
	for _, a := range []rewrite.Action{rewrite.Remove, rewrite.Defer, rewrite.Placeholder} {
		if n := st.Actions[a]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", a, n))
		}
	}
	var cats []string
	for c, n := range st.Categories {
		if t := n[rewrite.Remove] + n[rewrite.Defer] + n[rewrite.Placeholder]; t > 0 {
			cats = append(cats, fmt.Sprintf("%s:%d", c, t))
		}
	}
	sort.Strings(cats)
	if len(cats) > 0 {
		parts = append(parts, "categories="+strings.Join(cats, ","))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// Interface guards
var (
	_ http.ResponseWriter = (*responseWriter)(nil)
	_ io.ReaderFrom       = (*responseWriter)(nil)
)
