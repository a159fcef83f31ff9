package caddymodule

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"runtime/debug"
	"strings"
)

// A rewritten page depends on the upstream's bytes and on firstparty's
// policy, which an operator can change (a reload, a list refreshed) while
// the page stays the same. A client or cache that holds a page rewritten
// under the old policy must not have it confirmed by the upstream's
// validators: the copy could load a tracker the new policy defers. So a
// rewritten page's ETag carries a tag of the policy (pageTag), and a
// request's validators are checked against it before they go upstream
// (conditionals).

// tagMark joins the upstream's opaque tag and the policy's tag in a
// rewritten page's ETag: W/"<upstream's>-fp<12 hex digits>".
const tagMark = "-fp"

// tagLen is the length of pageTag's tag.
const tagLen = 12

// pageTagCache is the tag for the lists' digest it was worked out for,
// and back, the tag of a page that carries the backstop's policy.
type pageTagCache struct{ digest, tag, back string }

// configTag hashes what, besides the lists, decides how a page is
// rewritten: the handler's configuration, the consent runtime's version
// and firstparty's build (its version, or its VCS revision), which
// embeds the default tracker database.
func (h *Handler) configTag() string {
	d := sha256.New()
	cfg, _ := json.Marshal(h) // the exported configuration
	d.Write(cfg)
	d.Write([]byte("\x00" + h.runtimeVersion + "\x00"))
	if bi, ok := debug.ReadBuildInfo(); ok {
		mods := append([]*debug.Module{&bi.Main}, bi.Deps...)
		for _, m := range mods {
			if m.Path == "github.com/firstparty/firstparty" {
				d.Write([]byte(m.Version + "\x00" + m.Sum + "\x00"))
			}
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
				d.Write([]byte(s.Key + "=" + s.Value + "\x00"))
			}
		}
	}
	return hex.EncodeToString(d.Sum(nil))
}

// pageTag names the policy pages are rewritten under now: the same on
// every instance with the same configuration, build and lists, and
// another after a change to any of them.
func (h *Handler) pageTag() string {
	return h.pageTags().tag
}

// pageTags works out both of the policy's tags (pageTag's, and
// requestTag's for a page with the backstop), once for each digest of the
// lists in force.
func (h *Handler) pageTags() *pageTagCache {
	digest := ""
	if h.lists != nil {
		digest = h.lists.Digest()
	}
	if h.tags != nil {
		if c := h.tags.Load(); c != nil && c.digest == digest {
			return c
		}
	}
	c := &pageTagCache{digest: digest, tag: tagOf(h.cfgTag, digest), back: tagOf(h.cfgTag+"\x00backstop", digest)}
	if h.tags != nil { // else not provisioned
		h.tags.Store(c)
	}
	return c
}

// requestTag is the policy's tag for a page's ETag: another one when the
// page carries the backstop's policy (backstop). A 304's header fields
// are merged into the copy it confirms, and one without the policy would
// leave a copy's stale one in force: a visitor who has just consented
// kept the backstop on a page seen before (found in Chromium on
// 2026-12-05, TestBrowserCMPScript), and one who has withdrawn would
// have a copy without it. With the state in the tag, such a copy is not
// confirmed, and comes again whole with the policy as it stands.
func (h *Handler) requestTag(backstop bool) string {
	if backstop {
		return h.pageTags().back
	}
	return h.pageTags().tag
}

func tagOf(cfg, digest string) string {
	sum := sha256.Sum256([]byte(cfg + "\x00" + digest))
	return hex.EncodeToString(sum[:tagLen/2])
}

// opaqueTag returns the opaque part of an entity-tag (RFC 9110, 8.8.3),
// weak or strong, and false if et is not one.
func opaqueTag(et string) (string, bool) {
	et = strings.TrimPrefix(strings.TrimSpace(et), "W/")
	if len(et) < 2 || et[0] != '"' || et[len(et)-1] != '"' {
		return "", false
	}
	op := et[1 : len(et)-1]
	for i := 0; i < len(op); i++ {
		if c := op[i]; c < 0x21 || c == '"' || c == 0x7f {
			return "", false
		}
	}
	return op, true
}

// markETag returns the ETag of a page rewritten under tag, whose upstream
// ETag is et: weak, as the bytes differ from the upstream's, and marked
// with the tag. It is false when et is not an entity-tag.
func markETag(et, tag string) (string, bool) {
	op, ok := opaqueTag(et)
	if !ok {
		return "", false
	}
	return `W/"` + op + tagMark + tag + `"`, true
}

// policyMark splits the policy's tag off an opaque tag that carries one.
func policyMark(op string) (upstream, tag string, ok bool) {
	i := len(op) - len(tagMark) - tagLen
	if i < 0 || op[i:i+len(tagMark)] != tagMark {
		return "", "", false
	}
	tag = op[i+len(tagMark):]
	for j := 0; j < len(tag); j++ {
		if c := tag[j]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", "", false
		}
	}
	return op[:i], tag, true
}

// splitETags reads an If-None-Match value: its entity-tags, or star for
// "*", or ok false for a value that is neither.
func splitETags(v string) (tags []string, star, ok bool) {
	for i := 0; i < len(v); {
		switch c := v[i]; {
		case c == ' ' || c == '\t' || c == ',':
			i++
		case c == '*':
			star = true
			i++
		default:
			start := i
			if strings.HasPrefix(v[i:], "W/") {
				i += 2
			}
			if i >= len(v) || v[i] != '"' {
				return nil, false, false
			}
			end := strings.IndexByte(v[i+1:], '"')
			if end < 0 {
				return nil, false, false
			}
			i += end + 2
			tags = append(tags, v[start:i])
		}
	}
	return tags, star, true
}

// conditionals edits r's validators before they go upstream, and reports
// whether a copy rewritten under the current policy (whose tag, for this
// request, cur gives: requestTag, asked only when a validator needs it)
// is among them.
//   - An If-None-Match entry marked with the current policy's tag goes
//     upstream as the upstream's own tag (weak: If-None-Match compares
//     weakly), so an unchanged page is confirmed (304) as before.
//   - One marked with another policy's tag is dropped: that copy is
//     rewritten again.
//   - For a navigation (nav: its Accept names text/html), an unmarked one
//     is dropped too (a copy from before firstparty, or from the kill
//     switch), and so is If-Modified-Since, which cannot tell under which
//     policy a copy was rewritten: a page is confirmed only by its
//     marked ETag. Other requests (scripts, images, feeds) keep theirs,
//     but for a date beside a marked ETag: the copy was filtered here.
func (h *Handler) conditionals(r *http.Request, nav bool, curTag func() string) (marked bool) {
	if nav {
		r.Header.Del("If-Modified-Since")
	}
	v := strings.Join(r.Header.Values("If-None-Match"), ", ")
	if v == "" || !nav && !strings.Contains(v, tagMark) {
		return false // nothing of ours: a script's or an image's, as it came
	}
	tags, star, ok := splitETags(v)
	if !ok || star {
		if nav {
			r.Header.Del("If-None-Match")
		}
		return false
	}
	cur := curTag()
	kept := tags[:0]
	for _, et := range tags {
		op, _ := opaqueTag(et)
		up, tag, isMarked := policyMark(op)
		if isMarked {
			// The copy was rewritten or filtered here (an SVG file at a
			// path of any name among them): only its marked ETag, not a
			// date, tells under which policy.
			r.Header.Del("If-Modified-Since")
		}
		switch {
		case isMarked && tag == cur:
			kept, marked = append(kept, `W/"`+up+`"`), true
		case isMarked:
		case !nav:
			kept = append(kept, et)
		}
	}
	if len(kept) == 0 {
		r.Header.Del("If-None-Match")
	} else {
		r.Header.Set("If-None-Match", strings.Join(kept, ", "))
	}
	return marked
}

// pageFreshness keeps a rewritten page from being reused unasked by a
// browser for a time it works out itself: a response that says nothing
// of how long it may be used (no Expires, no max-age, no-cache or
// no-store) may be kept for a tenth of its age since Last-Modified (RFC
// 9111, 4.2.2), and then used without a revalidation that conditionals
// could check. Such a page gets no-cache; one with s-maxage alone, which
// binds only shared caches, gets max-age=0, so that a CDN keeps it for
// the time the upstream gave and a browser asks.
func pageFreshness(hdr http.Header) {
	if hdr.Get("Expires") != "" {
		return
	}
	shared := false
	for _, v := range hdr.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "max-age", "no-cache", "no-store":
				return
			case "s-maxage":
				shared = true
			}
		}
	}
	add := "no-cache"
	if shared {
		add = "max-age=0"
	}
	hdr.Set("Cache-Control", strings.Join(append(hdr.Values("Cache-Control"), add), ", "))
}
