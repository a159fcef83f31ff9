package caddymodule

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/firstparty/firstparty/rewrite"
)

// The site's own style sheets (Handler.StyleSheets). Under "rewrite" a
// sheet is the same bytes for every visitor, and what the policy defers
// is neutralised in it for good. Under "consent" each sheet is rewritten
// for the visitor who asks for it: what the policy defers and the
// visitor's consent allows is kept, as the consent runtime would load it
// from a page. Such a sheet varies with the request's cookies, so it is
// kept out of shared caches, revalidated before each use, and its ETag
// names the consent it was rewritten for.

// StyleSheetModes are StyleSheets' values (and firstparty scan's
// --style-sheets').
var StyleSheetModes = []string{"rewrite", "consent", "pass"}

// rewritesSheets reports whether the site's own style sheets are
// rewritten (StyleSheets rewrite or consent).
func (h *Handler) rewritesSheets() bool {
	return h.StyleSheets == "rewrite" || h.StyleSheets == "consent"
}

// consentSheets reports whether sheets are rewritten for each visitor's
// consent: StyleSheets consent, outside report_only (which changes
// nothing, so a sheet does not vary).
func (h *Handler) consentSheets() bool {
	return h.StyleSheets == "consent" && !h.ReportOnly
}

// consentedPolicy is base, with what it defers kept where the visitor's
// consent allows it: Granted and VendorAllowed, the rule the consent
// runtime applies to a deferred element. A removed URL stays removed, and
// a deferred one that would load elsewhere once allowed (RewriteTo, a
// proxied script) stays deferred.
type consentedPolicy struct {
	base rewrite.Policy
	st   *ConsentState
}

// Decide implements rewrite.Policy.
func (p consentedPolicy) Decide(page *url.URL, r *rewrite.Resource) rewrite.Decision {
	d := p.base.Decide(page, r)
	if (d.Action == rewrite.Defer || d.Action == rewrite.Placeholder) && d.RewriteTo == "" && p.st.VendorAllowed(d.Category, d.Vendor) {
		d.Action = rewrite.Keep
	}
	return d
}

// OwnHost implements rewrite.OwnHostPolicy: the page's own URLs are kept
// whatever the consent.
func (p consentedPolicy) OwnHost(page *url.URL) ([]string, uint64) {
	if b, ok := p.base.(rewrite.OwnHostPolicy); ok {
		return b.OwnHost(page)
	}
	return nil, 0
}

// sheetRequest reports whether r asks for a style sheet that is
// rewritten for the visitor's consent: its validators are checked, and a
// 304 marked, against the tag of that consent.
func (h *Handler) sheetRequest(r *http.Request) bool {
	return h.consentSheets() && r.Header.Get("Sec-Fetch-Dest") == "style"
}

// consent is the request's consent, read once.
func (s *backstopState) consent() *ConsentState {
	if s.st == nil {
		st := s.h.consent.Read(s.r, time.Now())
		s.st = &st
	}
	return s.st
}

// sheetTag is the policy's tag for a style sheet rewritten for the
// request's consent: another one for each consent that allows another
// set of categories and vendors.
func (s *backstopState) sheetTag() string {
	if s.sheet == "" {
		s.sheet = tagOf(s.h.cfgTag+"\x00sheet\x00"+s.consent().Key(), s.h.pageTags().digest)
	}
	return s.sheet
}

// validatorTag is the tag a copy the request's client holds must carry to
// be confirmed (Handler.conditionals): sheetTag for a request for a style
// sheet rewritten for the visitor's consent (sheetRequest), else tag.
func (s *backstopState) validatorTag() string {
	if s.h.sheetRequest(s.r) {
		return s.sheetTag()
	}
	return s.tag()
}

// varyWithConsent marks a style sheet's answer rewritten for the
// request's consent: out of shared caches (privateCache), used by a
// browser only once revalidated, for whatever consent the request then
// carries, and varying with the cookies and GPC. (Without no-cache,
// Chromium used a sheet of max-age=3600 and Vary: Cookie again for the
// next page after the consent cookie had changed: TestBrowserStyleSheets.)
func varyWithConsent(hdr http.Header) {
	hdr.Add("Vary", "Cookie")
	hdr.Add("Vary", "Sec-GPC")
	privateCache(hdr)
	for _, d := range strings.Split(hdr.Get("Cache-Control"), ",") {
		if strings.EqualFold(strings.TrimSpace(d), "no-cache") {
			return
		}
	}
	hdr.Set("Cache-Control", hdr.Get("Cache-Control")+", no-cache")
}
