// Package rewrite is firstparty's streaming HTML rewriter.
//
// It owns the tokenizer that decides what a browser will load: the WHATWG
// tokenizer states (data, tags and attributes, RAWTEXT, RCDATA, script data
// with its escaped and double-escaped states, PLAINTEXT, comments, bogus
// comments, DOCTYPE, CDATA in foreign content) plus the little tree context
// that changes them (SVG and MathML, their integration points and breakout
// tags, and the select and frameset contexts where parsers disagree). It
// finds every vector through which a page makes the browser contact a host,
// resolves URLs as browsers do, asks a Policy what to do with each, and
// applies the answer: keep, remove, defer, placeholder or rewrite URL.
//
// Bytes the policy does not change pass through exactly as they came;
// output is written as soon as each token is decided, and only the token
// being decided is held (up to Options.MaxTokenSize). Where the rewriter
// cannot decide safely, it takes the privacy-safe outcome and counts it in
// Stats.FailClosed.
//
// Deferred markup keeps every original attribute recoverable: URL-bearing
// attributes move to data-fp-<name>, scripts and style blocks get
// type="text/plain" (the original type moves to data-fp-type), and the
// element is marked with data-fp-category, data-fp-vendor and the
// per-response data-fp-token. Removal keeps an element that opens the body
// as an empty shell, so the rest of the page parses as before.
//
// The consent loader (Options.Loader) goes after <head>, else before the
// first script, else at the start of the body, and only when something was
// deferred: the output from that place is held, at most 16 KiB, until the
// first deferral decides it.
//
// Pages are read as bytes, which is exact for ASCII-compatible encodings;
// DetectEncoding tells the others (UTF-16, ISO-2022-JP, the replacement
// encoding), on which callers fail closed. See docs/rewriter.md.
//
// The package never logs and never imports Caddy: it returns errors and
// Stats, and declares the Policy interface that other packages implement.
package rewrite
