package caddymodule

import (
	"bufio"
	"compress/flate"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"go.uber.org/zap"
)

// DefaultMaxDecodedSize caps the decoded size of one compressed HTML body.
const DefaultMaxDecodedSize = 256 << 20

// decodingWriter sits in front of responseWriter. The upstream is asked
// for identity, but one that compresses anyway is decoded here: an HTML
// body in gzip, deflate, br or zstd (or a stack of them) is decoded in a
// goroutine fed through a pipe, and responseWriter sees plain HTML, which
// the encode handler compresses again for the client. Bodies that are not
// HTML pass through encoded and untouched; an unknown encoding on HTML
// reaches responseWriter, which fails closed.
type decodingWriter struct {
	*responseWriter
	active      bool
	wroteHeader bool
	pw          *io.PipeWriter
	done        chan error
	closed      bool // the decoder stopped: later upstream bytes are dropped
}

// decoders are the content codings firstparty decodes.
var decoders = map[string]func(io.Reader) (io.Reader, error){
	"gzip":   func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
	"x-gzip": func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
	"deflate": func(r io.Reader) (io.Reader, error) {
		// HTTP deflate is zlib (RFC 1950); some servers send raw deflate.
		br := bufio.NewReader(r)
		if h, err := br.Peek(2); err == nil && h[0]&0x0f == 8 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0 {
			return zlib.NewReader(br)
		}
		return flate.NewReader(br), nil
	},
	"br": func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil },
	"zstd": func(r io.Reader) (io.Reader, error) {
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(8<<20), zstd.WithDecoderMaxMemory(DefaultMaxDecodedSize))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	},
	"identity": func(r io.Reader) (io.Reader, error) { return r, nil },
}

// contentCodings returns the codings of a Content-Encoding header in the
// order they were applied, and whether firstparty can decode them all.
func contentCodings(hdr http.Header) ([]string, bool) {
	var codings []string
	for _, v := range hdr.Values("Content-Encoding") {
		for _, c := range strings.Split(v, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			if c == "" {
				continue
			}
			if _, ok := decoders[c]; !ok {
				return nil, false
			}
			codings = append(codings, c)
		}
	}
	return codings, true
}

func (d *decodingWriter) WriteHeader(status int) {
	if status >= 200 && !d.wroteHeader {
		d.wroteHeader = true
		d.maybeStart(status)
	}
	d.responseWriter.WriteHeader(status)
}

// maybeStart starts decoding when the response is HTML (or untyped, which
// may sniff as HTML), a style sheet to rewrite or a speculation rule set,
// manifest or SVG file to filter, with a content coding firstparty knows.
func (d *decodingWriter) maybeStart(status int) {
	hdr := d.Header()
	if hdr.Get("Content-Encoding") == "" || status == http.StatusPartialContent {
		return // a partial body cannot be decoded alone; responseWriter fails it closed
	}
	d.status = status
	if !d.mayBeHTML() && !d.mayBeSheetOrFile() {
		return // not HTML, a style sheet to rewrite nor a rule set, manifest or SVG file to filter, or a status without a body (204, 304)
	}
	codings, ok := contentCodings(hdr)
	if !ok {
		return // responseWriter fails closed on the encoding it cannot read
	}
	hdr.Del("Content-Encoding")
	hdr.Del("Content-Length")
	if d.head {
		return // no body to decode: the headers are a GET's
	}
	pr, pw := io.Pipe()
	d.active, d.pw, d.done = true, pw, make(chan error, 1)
	max := d.h.MaxDecodedSize
	if max <= 0 {
		max = DefaultMaxDecodedSize
	}
	go func() {
		err := d.decode(pr, codings, max)
		pr.CloseWithError(errDecoderStopped) // the upstream's later writes are dropped
		d.done <- err
	}()
}

var (
	errDecoderStopped = errors.New("decoder stopped")
	errDecodedTooBig  = errors.New("decoded body over max_decoded_size")
)

// decode undoes the codings, last applied first, into responseWriter.
func (d *decodingWriter) decode(r io.Reader, codings []string, max int64) error {
	for i := len(codings) - 1; i >= 0; i-- {
		next, err := decoders[codings[i]](r)
		if err != nil {
			return fmt.Errorf("%s: %w", codings[i], err)
		}
		if c, ok := next.(io.Closer); ok {
			defer c.Close()
		}
		r = next
	}
	lr := &io.LimitedReader{R: r, N: max + 1}
	_, err := io.Copy(writerOnly{d.responseWriter}, lr)
	if err == nil && lr.N <= 0 {
		err = errDecodedTooBig
	}
	return err
}

func (d *decodingWriter) Write(p []byte) (int, error) {
	if !d.wroteHeader {
		d.WriteHeader(http.StatusOK)
	}
	if !d.active {
		return d.responseWriter.Write(p)
	}
	if d.closed {
		return len(p), nil
	}
	if _, err := d.pw.Write(p); err != nil {
		// The decoder stopped (an error, the size cap, or the end of the
		// coded stream): what follows is dropped; finish reports why.
		d.closed = true
	}
	return len(p), nil
}

// ReadFrom keeps responseWriter's zero-copy path when nothing is decoded.
func (d *decodingWriter) ReadFrom(r io.Reader) (int64, error) {
	if !d.wroteHeader {
		d.WriteHeader(http.StatusOK)
	}
	if !d.active {
		return d.responseWriter.ReadFrom(r)
	}
	return io.Copy(writerOnly{d}, r)
}

// FlushError passes flushes on when nothing is decoded. While decoding,
// the decoder holds bytes of its own, so a flush cannot promise anything
// and is left out; the goroutine writes as soon as it has output.
func (d *decodingWriter) FlushError() error {
	if d.active {
		return nil
	}
	return d.responseWriter.FlushError()
}

// finish waits for the decoder, then ends the rewrite.
func (d *decodingWriter) finish() error {
	if d.active {
		d.pw.Close()
		if err := <-d.done; err != nil {
			reason := "decode_error"
			if errors.Is(err, errDecodedTooBig) {
				reason = "decoded_size_cap"
			}
			if !d.decided {
				d.failClosed(reason)
			} else {
				// The page is cut where decoding stopped; the rewriter
				// ends it safely (a token cut short is decided as such).
				metrics.failClosed.WithLabelValues(reason).Inc()
				d.h.logger.Error("compressed upstream body could not be decoded to the end; the page is cut there",
					zap.String("reason", reason), zap.String("path", d.req.URL.Path), zap.Error(err))
			}
		}
	}
	return d.responseWriter.finish()
}
