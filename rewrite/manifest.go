package rewrite

import (
	"bytes"
	"encoding/json"
	"net/url"
)

// ManifestType is the media type of a web app manifest. Chromium reads a
// manifest whatever its type, so the Caddy module also filters any
// answer to a request for one (Sec-Fetch-Dest: manifest).
const ManifestType = "application/manifest+json"

// FilterManifest applies the policy to a web app manifest, the body of
// the response to a <link rel=manifest> from manifest (its URL, against
// which its URLs resolve). Chromium fetched the icon a first-party
// manifest named on a vendor's host as the page loaded, before any
// choice, to learn whether the site can be installed. Every object in
// the manifest with a "src" string is an image the browser may fetch:
// icons, screenshots, shortcuts' and file handlers' icons, and any that
// later versions add. Each is decided as an icon; one that the policy
// removes or defers, or whose URL does not resolve, is dropped from the
// list that holds it (or, outside a list, its member is). The other
// URLs (start_url, scope, a shortcut's url, share_target's action) are
// pages the visitor goes to, not loads, and stay.
//
// Chromium reads a manifest as JSON with comments, and the \v escape
// (Blink's ParseJSONWithCommentsDeprecated): so does FilterManifest
// (manifestJSON). A body that is not JSON so (after a UTF-8 byte order
// mark, which Chromium skips) cannot be read: it becomes {}, counted as
// FailUnreadManifest.
// When nothing is dropped, body is returned as it is; otherwise the
// manifest is written again by encoding/json, its objects' members in
// the order of their names, compacted, and numbers as they were
// written. st may be nil.
func FilterManifest(body []byte, manifest *url.URL, p Policy, st *Stats) (out []byte, dropped int) {
	if p == nil {
		return body, 0
	}
	if st == nil {
		st = &Stats{}
	}
	// Chromium's JSON reader skips a UTF-8 byte order mark.
	doc, ok := manifestJSON(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var v any
	if !ok || !json.Valid(doc) || d.Decode(&v) != nil {
		st.failClosed(FailUnreadManifest)
		return []byte("{}"), 1
	}
	v, _, dropped = dropImages(v, manifest, p, st)
	if dropped == 0 {
		return body, 0
	}
	return mustMarshal(v), dropped
}

// dropImages drops from v the objects whose "src" the policy holds
// (FilterManifest). gone reports that v itself is such an object.
func dropImages(v any, manifest *url.URL, p Policy, st *Stats) (out any, gone bool, dropped int) {
	switch v := v.(type) {
	case map[string]any:
		if src, ok := v["src"].(string); ok && headerURLHeld(src, KindIcon, "link", manifest, p, st) {
			return nil, true, 1
		}
		for k, m := range v {
			o, g, n := dropImages(m, manifest, p, st)
			dropped += n
			if g {
				delete(v, k)
			} else {
				v[k] = o
			}
		}
		return v, false, dropped
	case []any:
		kept := v[:0]
		for _, m := range v {
			o, g, n := dropImages(m, manifest, p, st)
			dropped += n
			if !g {
				kept = append(kept, o)
			}
		}
		return kept, false, dropped
	}
	return v, false, 0
}

// manifestJSON returns doc as encoding/json reads what Chromium's
// manifest reader reads in it: a comment (// to the next newline or the
// end, or /* to the next */) between tokens as a space, and a string's
// \v escape as \u000b. ok is false for a comment left open, which
// Chromium does not read. A doc with neither is returned as it is.
func manifestJSON(doc []byte) (out []byte, ok bool) {
	if bytes.IndexByte(doc, '/') < 0 && !bytes.Contains(doc, []byte(`\v`)) {
		return doc, true
	}
	out = make([]byte, 0, len(doc))
	inString := false
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		switch {
		case inString && c == '\\' && i+1 < len(doc):
			if i++; doc[i] == 'v' {
				out = append(out, `\u000b`...)
			} else {
				out = append(out, c, doc[i])
			}
			continue
		case inString:
			inString = c != '"'
		case c == '"':
			inString = true
		case c == '/' && i+1 < len(doc) && doc[i+1] == '/':
			end := bytes.IndexByte(doc[i:], '\n')
			if end < 0 {
				return append(out, ' '), true
			}
			i += end - 1 // (the newline is written next)
			out = append(out, ' ')
			continue
		case c == '/' && i+1 < len(doc) && doc[i+1] == '*':
			end := bytes.Index(doc[i+2:], []byte("*/"))
			if end < 0 {
				return nil, false
			}
			i += 2 + end + 1
			out = append(out, ' ')
			continue
		}
		out = append(out, c)
	}
	return out, true
}
