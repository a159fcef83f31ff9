package rewrite

import "net/url"

// Action is what the rewriter does with an element.
type Action uint8

const (
	// Keep leaves the element's bytes as they came.
	Keep Action = iota
	// RewriteURL points the element at a first-party URL (Decision.RewriteTo).
	RewriteURL
	// Defer turns the element into inert markup that the consent runtime
	// can reverse: URL-bearing attributes move to data-fp-* attributes and
	// scripts and styles get type="text/plain".
	Defer
	// Placeholder replaces an iframe, embed or object with a click-to-load
	// box that names the vendor, followed by the deferred element.
	Placeholder
	// Remove drops the element and its content.
	Remove
)

var actionNames = [...]string{"keep", "rewrite", "defer", "placeholder", "remove"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// ParseAction parses the name of an action ("keep", "defer", …).
func ParseAction(s string) (Action, bool) {
	for i, n := range actionNames {
		if n == s {
			return Action(i), true
		}
	}
	return 0, false
}

// Kind is the kind of vector through which an element makes the browser
// contact a host.
type Kind uint8

const (
	KindScript       Kind = iota // script[src], svg script[href]
	KindInlineScript             // inline script, classified by signature
	KindImage                    // img, source, input[type=image], poster, background
	KindFrame                    // iframe, frame
	KindEmbed                    // embed, object
	KindMedia                    // video, audio, track
	KindHint                     // link rel=preconnect|dns-prefetch|preload|modulepreload|prefetch|prerender
	KindStylesheet               // link rel=stylesheet
	KindIcon                     // link rel=icon
	KindPing                     // a[ping], area[ping]
	KindCSS                      // url() and @import in style attributes and <style>
	KindRefresh                  // meta http-equiv=refresh (reported only)
	KindForm                     // form[action] (reported only)
	KindManifest                 // link rel=manifest
)

var kindNames = [...]string{"script", "inline", "image", "frame", "embed", "media", "hint", "stylesheet", "icon", "ping", "css", "refresh", "form", "manifest"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Resource is one thing on the page that the policy decides about.
type Resource struct {
	Kind Kind
	// Tag is the lower-case element name.
	Tag string
	// URL is the resolved absolute URL, or nil for inline scripts.
	URL *url.URL
	// Script holds what was read from an inline script. It may be shared
	// with other rewrites through a FactsCache: read it, never modify it.
	Script *ScriptFacts
}

// ScriptFacts is what the rewriter reads from an inline script with the
// JavaScript lexer: enough for signatures, not a parse.
type ScriptFacts struct {
	// Calls are identifiers that are called: `fbq(`, `gtag(`, `x.push(` → "push".
	Calls []string
	// Idents are the distinct identifiers (capped).
	Idents []string
	// Strings are the string and template literal values (capped).
	Strings []string
	// Hosts are the hosts of absolute or scheme-relative URLs found in the
	// string literals, lower-case, with no trailing dot.
	Hosts []string
	// Oversize is set when the script was larger than the cap, or named
	// more distinct hosts than the facts keep (512): the facts are
	// incomplete and the script counts as unclassified.
	Oversize bool
	// Malformed is set when the lexer failed before the end.
	Malformed bool
}

// Decision is the policy's answer for one resource.
type Decision struct {
	Action Action
	// Category is the tracker category ("analytics", …), "unknown" for an
	// unlisted third party, or "" for first party.
	Category string
	// Vendor names who runs the host, if known.
	Vendor string
	// Host is the third-party host the resource contacts, "" if none.
	Host string
	// RewriteTo is the first-party URL for RewriteURL. With Defer, a
	// non-empty RewriteTo is the URL the deferred element is activated at
	// (the analytics proxy's path): data-fp-src carries it instead of the
	// original.
	RewriteTo string
}

// Policy answers what to do with each resource on a page. page is the URL
// of the page being rewritten; it decides what is first party. Decide must
// be safe for concurrent use and should not allocate on its fast path.
//
// r, r.URL and the strings in them belong to the rewriter and are valid
// only during the call: the rewriter reuses their memory for the next
// resource. A policy that keeps any of them (a cache key, a log line
// written later) must copy it first, with strings.Clone. The Decision may
// return substrings of them; the rewriter copies what it keeps.
type Policy interface {
	Decide(page *url.URL, r *Resource) Decision
}

// OwnHostPolicy is a Policy that can tell the rewriter, once per page,
// which of the page's own URLs need no call to Decide: for each kind k
// with bit 1<<k set in kinds, a URL of that kind on the page's own
// scheme and host gets Decision{} (kept, first party, nothing to report)
// whatever its path and query, unless they hold one of markers. The
// rewriter then decides a path from the root ("/img/1.jpg") on a page
// with no <base>, which holds no marker, no '%', and none of '#', '\\',
// tab and newline (which send a path to the general URL parser), as
// Decision{} without resolving it or asking Decide: most of a shop's
// images and links.
type OwnHostPolicy interface {
	Policy
	OwnHost(page *url.URL) (markers []string, kinds uint64)
}

// PolicyFunc adapts a function to Policy.
type PolicyFunc func(page *url.URL, r *Resource) Decision

// Decide calls f.
func (f PolicyFunc) Decide(page *url.URL, r *Resource) Decision { return f(page, r) }
