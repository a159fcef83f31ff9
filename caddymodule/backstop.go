package caddymodule

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strings"

	"github.com/firstparty/firstparty/blocklists"
)

// CSPBackstop is an extra Content-Security-Policy for visitors who have
// granted nothing yet. It limits what the page may load or contact to its
// own origin, the first_party and allow hosts and the hosts listed here:
// the one guard the browser itself enforces against a tracker that
// first-party JavaScript injects after the page was rewritten. It goes on
// worker scripts too (backstopsWorker), since a worker runs under its own
// script's policy, not its page's, and a service worker's script ends
// with a comment naming the state it was sent in (serviceWorkerMark), so
// that a browser installs the worker again when that state changes. It
// is added
// beside the page's own policy, never in place of it, so it can only
// narrow what the page allows. Because the header depends on the
// visitor's consent, responses carry Cache-Control: private and Vary:
// Cookie, Sec-GPC.
type CSPBackstop struct {
	// Mode is report_only (Content-Security-Policy-Report-Only: the
	// browser reports what it would block) or enforce
	// (Content-Security-Policy: it blocks). Default: report_only.
	Mode string `json:"mode,omitempty"`
	// Allow lists further hosts (and their subdomains) that pages may load
	// from before consent: CDNs, fonts, payments, captchas.
	Allow []string `json:"allow,omitempty"`
	// ReportURI is where browsers send violation reports (the report-uri
	// directive). Default: none (violations show in the browser console).
	ReportURI string `json:"report_uri,omitempty"`

	policy string // the header value, built once
}

// CSPBackstopOptions are the options of the csp_backstop block.
var CSPBackstopOptions = []string{"allow", "report_uri"}

func (b *CSPBackstop) validate() error {
	if b == nil {
		return nil
	}
	if b.Mode != "" && b.Mode != "report_only" && b.Mode != "enforce" {
		return fmt.Errorf("csp_backstop: mode %q: want report_only or enforce", b.Mode)
	}
	for _, h := range b.Allow {
		if !validHost(strings.TrimPrefix(h, "*.")) {
			return fmt.Errorf("csp_backstop: allow %q is not a host name", h)
		}
	}
	if b.ReportURI != "" {
		u, err := url.Parse(b.ReportURI)
		if err != nil || strings.ContainsAny(b.ReportURI, " ;,'\"") || (u.Scheme != "" && u.Scheme != "https" && u.Scheme != "http") || (u.Scheme == "" && !strings.HasPrefix(b.ReportURI, "/")) {
			return fmt.Errorf("csp_backstop: report_uri %q: want a path or an http(s) URL", b.ReportURI)
		}
	}
	return nil
}

// build makes the header value: one default-src directive, which covers
// scripts, styles, images, frames, fonts, media, workers and connections.
// Inline code, eval, data: and blob: stay allowed here; the page's own
// policy, if any, still applies to them.
func (b *CSPBackstop) build(h *Handler) {
	p := h.confined // the same hosts: the page's own, first_party, allow and b.Allow
	if b.ReportURI != "" {
		p += "; report-uri " + b.ReportURI
	}
	b.policy = p
}

// ownSources is a default-src directive of the page's own origin and the
// hosts of lists (with their subdomains), with inline code, eval, data:
// and blob: left allowed: what the backstop and a confined document
// (xmlDocument) may load.
func ownSources(lists ...[]string) string {
	srcs := []string{"'self'"}
	seen := map[string]bool{}
	for _, list := range lists {
		for _, host := range list {
			host = strings.ToLower(strings.TrimPrefix(host, "*."))
			if !validHost(host) || seen[host] {
				continue
			}
			seen[host] = true
			srcs = append(srcs, host, "*."+host)
		}
	}
	return "default-src " + strings.Join(srcs, " ") + " data: blob: 'unsafe-inline' 'unsafe-eval'"
}

// backstopCategories are the categories whose grant lifts the backstop:
// the ones a visitor is asked about, which the product defers or
// placeholders by default (blocklists.DefaultActions).
var backstopCategories = func() []string {
	var cs []string
	for _, c := range blocklists.Categories {
		if a := blocklists.DefaultActions[c]; a == blocklists.ActionDefer || a == blocklists.ActionPlaceholder {
			cs = append(cs, c)
		}
	}
	return cs
}()

// backstopped says whether the answer to a request with consent st
// carries the backstop, where it is on (backstopState.on): the request
// grants none of the categories a visitor is asked about, nor any vendor.
// (A vendor's grant, Always allow, lifts it as a category's does: the
// policy names no vendor's hosts, and kept on, it blocked the vendor's
// frame on every page.)
func (h *Handler) backstopped(st *ConsentState) bool {
	for _, c := range backstopCategories {
		if st.Granted(c) {
			return false
		}
	}
	return !st.AnyVendorAllowed()
}

// backstopsWorker reports whether the answer to a request of
// Sec-Fetch-Dest dest gets the backstop as a worker's script: the
// backstop is on, outside report_only, and dest names a worker's script,
// whose answer gives the worker its Content-Security-Policy (a
// worklet's module runs under its page's). The request side drops the
// validators of such a request (ServeHTTP), the response side adds the
// header (decide) and marks a service worker's script (serviceWorker).
func (h *Handler) backstopsWorker(dest string) bool {
	return h.CSPBackstop != nil && !h.ReportOnly && (dest == "worker" || dest == "sharedworker" || dest == "serviceworker")
}

// serviceWorkerMark is the line written after a service worker's script
// (startServiceWorker): a comment that names the backstop's policy in
// its answer, when on, or says it is off. A browser installs a service
// worker again only when its script's bytes change, and the worker keeps
// the policy it was installed with: without the mark, one installed
// after a grant went on reaching vendors after the grant was withdrawn
// (Chromium 156), and one installed before a choice kept the backstop
// after it. With it, the browser's update check at the next page finds
// the script changed with the consent and installs it again, under the
// policy its new answer carries.
func (h *Handler) serviceWorkerMark(on bool) string {
	if !on {
		return "\n// firstparty csp_backstop: off\n"
	}
	f := fnv.New32a()
	f.Write([]byte(h.CSPBackstop.header() + ": " + h.CSPBackstop.policy))
	return fmt.Sprintf("\n// firstparty csp_backstop: %08x\n", f.Sum32())
}

// backstopState is one request's backstop, worked out when first asked
// (a page's ETag, its headers): a script's or an image's request, which
// needs neither, does not read the consent cookies.
type backstopState struct {
	h           *Handler
	r           *http.Request
	done, value bool
	st          *ConsentState // the request's consent, once read (consent)
	sheet       string        // sheetTag, once worked out
}

// on is backstopped's answer for the request.
func (s *backstopState) on() bool {
	if !s.done {
		// (The consent is read only where the backstop is on, and not in
		// report_only.)
		s.value = s.h.CSPBackstop != nil && !s.h.ReportOnly && s.h.backstopped(s.consent())
		s.done = true
	}
	return s.value
}

// tag is the policy's tag for the request's page (requestTag).
func (s *backstopState) tag() string {
	return s.h.requestTag(s.on())
}

// applyBackstop marks an HTML response as varying with consent, and adds
// the backstop policy when on (backstopped's answer for its request).
func (h *Handler) applyBackstop(hdr http.Header, on bool) {
	b := h.CSPBackstop
	if b == nil {
		return
	}
	hdr.Add("Vary", "Cookie")
	hdr.Add("Vary", "Sec-GPC")
	privateCache(hdr)
	if !on {
		return
	}
	hdr.Add(b.header(), b.policy)
}

// header is the name of the header the backstop goes in.
func (b *CSPBackstop) header() string {
	if b.Mode == "enforce" {
		return "Content-Security-Policy"
	}
	return "Content-Security-Policy-Report-Only"
}

// privateCache keeps a response out of shared caches: of its
// Cache-Control (every field line of it), public and s-maxage go, private
// is added, the rest stays.
func privateCache(hdr http.Header) {
	out := []string{"private"}
	for _, d := range strings.Split(strings.Join(hdr.Values("Cache-Control"), ","), ",") {
		d = strings.TrimSpace(d)
		name := strings.ToLower(strings.SplitN(d, "=", 2)[0])
		if d == "" || name == "public" || name == "s-maxage" || name == "private" {
			continue
		}
		out = append(out, d)
	}
	hdr.Set("Cache-Control", strings.Join(out, ", "))
}
