package rewrite

import (
	"bytes"
	"io"
	"strings"

	"golang.org/x/net/html/charset"
)

// StyleSheetWriter rewrites a style sheet file (a text/css response of
// the site's own) as it is written. Each URL its CSS loads (url(),
// @import, the strings of image-set() and src()) is decided as one of a
// <style>'s is, and one that the policy does not keep is neutralised in
// place, as in a held style's neutral copy: url("data:,"), "data:,", or
// "" for an @import. A file has no markup to hold and no consent runtime
// to give it back, so a URL deferred is neutralised as a removed one is,
// for every visitor whatever they chose: the sheet is the same bytes for
// all, and caches stay safe. The other bytes leave as they came.
//
// The sheet is read in runs that end after a ";", "{" or "}" outside any
// parentheses: CSS's tokens carry no state past such a token, so a run
// reads as it does within the whole sheet. A run is written once the next
// one has begun (16 KiB or more at a time, or at a flush or the end). A
// run longer than Options.MaxTokenSize (a URL or a declaration of more
// than a mebibyte by default) cannot be read whole: the sheet is cut
// there, counted as FailOversizeStyle, and nothing after it is written.
type StyleSheetWriter struct {
	r    *Writer // decides and counts; it writes nothing itself
	w    io.Writer
	buf  []byte // the run being read, and what came after it
	next int    // len(buf) at which a run's end is looked for again
	// Scratch for runs: buf's URLs, its runs' ends, and where its text
	// as read differs from its bytes.
	refs   []cssRef
	ends   []int
	spans  []replaced
	cut    bool // the sheet was cut: later bytes are dropped
	closed bool
	err    error
}

// styleRunMin is how much a StyleSheetWriter gathers before it looks for
// runs' ends: what follows the last end is read again with what comes
// after it, and a lexer's start costs a copy of what it reads.
const styleRunMin = 16 << 10

// NewStyleSheetWriter returns a StyleSheetWriter that writes the
// rewritten sheet to w. opts.PageURL is the sheet's URL, against which
// its relative URLs resolve; opts.Encoding is its encoding
// (StyleSheetEncoding).
func NewStyleSheetWriter(w io.Writer, opts Options) *StyleSheetWriter {
	opts.Facts = nil // a sheet's runs are not the page's styles, asked for again
	return &StyleSheetWriter{r: NewWriter(io.Discard, opts), w: w, next: styleRunMin}
}

// Stats returns the counts so far.
func (s *StyleSheetWriter) Stats() *Stats { return s.r.stats }

// Write rewrites p: the runs that end in it are written before Write
// returns.
func (s *StyleSheetWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.closed {
		return 0, ErrClosed
	}
	s.r.stats.BytesIn += int64(len(p))
	total := len(p)
	for len(p) > 0 && !s.cut && s.err == nil {
		// A step at a time, so that what is held stays within the cap
		// and a step, however long p is.
		k := min(len(p), styleRunMin)
		s.buf = append(s.buf, p[:k]...)
		p = p[k:]
		if len(s.buf) >= s.next {
			s.runs(false)
		}
	}
	if s.err != nil {
		return 0, s.err
	}
	return total, nil
}

// runs writes the runs that have ended in buf, and the rest with them at
// the sheet's end (final). A run longer than the cap, ended or not, cuts
// the sheet where it begins. buf is read once: the URLs it finds in the
// runs written are decided there, and what follows them is read again
// with what comes after it.
func (s *StyleSheetWriter) runs(final bool) {
	r := s.r
	r.decoded = r.decoded[:0]
	view, _ := r.enc.textView(s.buf, nil, &r.decoded)
	text, spans := lexerTextSpans(view, s.spans[:0])
	s.spans = spans
	ends := s.ends[:0]
	s.refs = cssURLsFrom(text, newInput(text), s.refs[:0], func(off int) {
		if off < len(text) {
			ends = append(ends, off)
		}
	})
	if final {
		ends = append(ends, len(text))
	}
	s.ends = ends
	lastText, last, long := 0, 0, false
	for _, e := range ends {
		// (Each end follows an ASCII byte, which no replacement holds.)
		raw := origOffset(origOffset(e, spans, true), r.decoded, true)
		if raw-last > r.max {
			long = true
			break
		}
		lastText, last = e, raw
	}
	n := 0
	for n < len(s.refs) && s.refs[n].start < lastText {
		n++
	}
	if n > 0 && s.refs[n-1].end > lastText {
		last = 0 // (no URL runs across an end; were one to, it waits, up to the cap)
	}
	if last > 0 {
		s.emit(s.buf[:last], s.refs[:n], spans)
		k := copy(s.buf, s.buf[last:])
		s.buf = s.buf[:k]
	}
	if long || len(s.buf) > r.max {
		r.stats.failClosed(FailOversizeStyle)
		s.cut = true
		s.buf = nil
		return
	}
	// Looked at again once it has doubled (linear in all), or has
	// passed the cap.
	s.next = min(max(styleRunMin, 2*len(s.buf)), r.max+1)
}

// emit decides refs, the URLs of run, and writes it, those not kept
// neutralised.
func (s *StyleSheetWriter) emit(run []byte, refs []cssRef, spans []replaced) {
	r := s.r
	raw := string(run)
	out, _ := r.neutraliseCSS(raw, refs, spans, r.decoded, "style")
	if r.opts.ReportOnly {
		out = raw
	}
	n, err := io.WriteString(s.w, out)
	r.stats.BytesOut += int64(n)
	if err == nil && n < len(out) {
		err = io.ErrShortWrite
	}
	if err != nil && s.err == nil {
		s.err = err
	}
}

// Flush writes the runs that have ended, then flushes the underlying
// writer if it can.
func (s *StyleSheetWriter) Flush() error {
	if s.err != nil {
		return s.err
	}
	if !s.cut && len(s.buf) > 0 {
		s.runs(false)
		if s.err != nil {
			return s.err
		}
	}
	return FlushWriter(s.w)
}

// Close writes the last run: the sheet's end ends it.
func (s *StyleSheetWriter) Close() error {
	if s.closed {
		return s.err
	}
	s.closed = true
	if s.err == nil && !s.cut && len(s.buf) > 0 {
		s.runs(true)
	}
	s.buf = nil
	return s.err
}

// StyleSheetEncoding determines a style sheet's encoding as CSS Syntax 3
// (3.2) does, from what the sheet's response says of it: a byte order
// mark, then the charset parameter of contentType, then an @charset rule
// that begins head, exactly '@charset "…";' (one that names UTF-16 means
// UTF-8). Else the browser takes the encoding of the page that links the
// sheet, which the response does not tell: such a sheet is read as UTF-8,
// the encoding of every page served as UTF-8. asciiCompatible is false
// for the encodings whose sheets cannot be read as bytes (UTF-16,
// ISO-2022-JP, replacement); the caller fails closed on them.
func StyleSheetEncoding(head []byte, contentType string) (name string, asciiCompatible bool) {
	if _, name, certain := charset.DetermineEncoding(head[:min(len(head), 3)], contentType); certain {
		return name, readsASCII(name)
	}
	const rule = `@charset "`
	if rest, ok := bytes.CutPrefix(head, []byte(rule)); ok {
		if i := bytes.Index(rest, []byte(`";`)); i >= 0 {
			if _, name := charset.Lookup(string(rest[:i])); name != "" {
				if strings.HasPrefix(name, "utf-16") {
					name = "utf-8"
				}
				return name, readsASCII(name)
			}
		}
	}
	return "utf-8", true
}
