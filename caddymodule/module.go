// Package caddymodule is the Caddy HTTP handler http.handlers.firstparty and
// its Caddyfile directive firstparty. It rewrites the HTML responses of the
// handlers after it with the rewrite package, on the policy that the
// blocklists package compiles, and serves the consent runtime.
package caddymodule

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/firstparty/firstparty/blocklists"
	"github.com/firstparty/firstparty/rewrite"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// List is one tracker list: a file read at provision time, or an HTTPS URL
// fetched at provision time (or taken from the copy in Caddy's storage)
// and fetched again every Refresh.
type List struct {
	// Path is a file path. Set Path or URL, not both. The builtin database
	// is controlled by NoBuiltin.
	Path string `json:"path,omitempty"`
	// URL is an https:// URL. Downloads are conditional (ETag,
	// Last-Modified), capped at 32 MiB and one minute, and kept in Caddy's
	// storage so that a restart or another instance starts from them. A
	// download that fails, or that does not parse well (no rules, more bad
	// lines than rules, or under half the rules of the copy in use), leaves
	// the last good copy in force and is logged.
	URL string `json:"url,omitempty"`
	// Refresh is how often URL is fetched again. Default: 24h; at least 1m.
	Refresh caddy.Duration `json:"refresh,omitempty"`
	// Category is given to the list's entries that carry none
	// (e.g. "advertising" for EasyList). Default: "unknown". A host or
	// URL the embedded database knows keeps the database's category
	// (docs/blocklists.md).
	Category string `json:"category,omitempty"`
	// Format is hosts, domains, abp or firstparty. Default: detected.
	Format string `json:"format,omitempty"`
}

// Handler rewrites outgoing HTML so that third-party tags are removed, or
// held as inert markup until the visitor consents to their purpose.
type Handler struct {
	// Disabled turns the handler into a pass-through: the kill switch. It
	// takes effect on a config reload; the consent runtime and the
	// analytics proxies are still served. Default: false (enabled).
	Disabled bool `json:"disabled,omitempty"`
	// ReportOnly changes no byte: it counts and logs what would have changed
	// and sends a Firstparty-Report trailer summarising it. Default: false.
	ReportOnly bool `json:"report_only,omitempty"`
	// Categories maps a category (analytics, advertising, social,
	// session_replay, tag_manager, consent, embeds, fonts, cdn, payments,
	// essential) to an action (keep, remove, defer, placeholder; proxy
	// acts as defer: a vendor a proxy serves goes through it whatever the
	// action). Missing categories use the product defaults
	// (docs/configuration.md). consent (a consent manager's own script)
	// held until consent keeps its banner from showing: Provision warns.
	Categories map[string]string `json:"categories,omitempty"`
	// Unknown is the action for third parties that no list names.
	// Default: defer (fail closed).
	Unknown string `json:"unknown,omitempty"`
	// Allow lists hosts (and their subdomains) that are always kept. Here
	// and in the three lists below, hosts are compared in lower case, and a
	// leading "*." or a trailing dot is ignored; anything that is not a
	// host name is a configuration error, as is a public suffix (com,
	// github.io) here and in FirstParty.
	Allow []string `json:"allow,omitempty"`
	// Deny lists hosts (and their subdomains) that are always removed,
	// with the inline scripts that name them.
	Deny []string `json:"deny,omitempty"`
	// FirstParty lists hosts that count as the site's own (its CDN, its
	// analytics subdomain), besides the request's registrable domain.
	FirstParty []string `json:"first_party,omitempty"`
	// ThirdParty lists hosts under the site's domain that are third parties,
	// such as a subdomain CNAME-cloaked to a vendor (firstparty scan
	// reports those whose CNAME is a tracker's).
	ThirdParty []string `json:"third_party,omitempty"`
	// NoBuiltin leaves out the embedded tracker database. Default: false.
	NoBuiltin bool `json:"no_builtin,omitempty"`
	// Lists are extra tracker lists, from files or HTTPS URLs, merged over
	// the builtin database in order.
	Lists []List `json:"lists,omitempty"`
	// PlaceholderText is the text of click-to-load placeholders; "%s" is
	// replaced by the vendor. Default: the banner's placeholder text in
	// its language when one is set, else in English ("This content is
	// hosted by %s. Loading it shares your data with them."). Any
	// language: on a page in another encoding than UTF-8 its characters
	// outside ASCII are written as references.
	PlaceholderText string `json:"placeholder_text,omitempty"`
	// Exclude lists path prefixes that are never rewritten (e.g. /admin);
	// each starts with "/".
	Exclude []string `json:"exclude,omitempty"`
	// StyleSheets is what happens to the site's own style sheets: its CSS
	// responses (text/css, or any answer to a browser's request for a
	// style sheet, Sec-Fetch-Dest: style). "rewrite": each URL a sheet
	// loads (@import, url(), image-set() and src() strings) is decided as
	// one in a page's <style>, and one the policy does not keep is
	// neutralised in the file (url("data:,"), or "" for an @import), for
	// every visitor: a file cannot be held and given back on consent, so
	// a deferred URL there never loads, even after consent (a theme's
	// @import of Google Fonts with fonts deferred; docs/privacy.md). Every
	// other byte leaves as it came, and an unchanged sheet is byte for
	// byte the upstream's. "consent": as rewrite, but each sheet is
	// rewritten for the visitor who asks for it, and a URL the policy
	// defers is kept when the visitor's consent allows its category and
	// vendor, as the consent runtime would load it from a page; such a
	// sheet varies with consent, so it is marked Cache-Control: private,
	// no-cache and Vary: Cookie, Sec-GPC, and its ETag carries the
	// consent it was rewritten for. A choice applies to the sheets
	// fetched after it (the next page). "pass" or empty: sheets are
	// served as they come, and what they name loads with the page
	// (firstparty scan reports it). Default: pass.
	StyleSheets string `json:"style_sheets,omitempty"`
	// MaxTokenSize caps the bytes held to decide one tag, inline script or
	// style block, and a speculation rule set, web app manifest or SVG
	// file (asked for as an image) the site serves. Zero means 1 MiB;
	// otherwise from 1 KiB to 1 GiB (a tag over the cap ends the page; a
	// rule set, manifest or SVG file over it is sent empty).
	MaxTokenSize int `json:"max_token_size,omitempty"`
	// MaxDecodedSize caps the decoded size of an HTML body that the upstream
	// sent compressed (gzip, deflate, br, zstd) although firstparty asked
	// for identity, and of a compressed style sheet under StyleSheets
	// rewrite: past it the body is cut and the event logged and counted,
	// so a decompression bomb costs bounded work. Zero means 256 MiB.
	MaxDecodedSize int64 `json:"max_decoded_size,omitempty"`
	// PageMemo is the memory, in bytes, for the page memo: for each page
	// URL asked for more than once (its query without campaign and click
	// parameters such as utm_* and gclid), an upstream body rewritten and
	// its output. While a later response's body is the same byte for
	// byte, the kept output is sent (with the response's own token, and
	// its own CSP nonce in the loader) instead of
	// rewriting it again; from the first byte that differs, the page is
	// rewritten, until the rewriter reaches one of the kept rewrite's
	// checkpoints (about every 128 bytes) in the same state, where the
	// kept output takes over again. A page whose responses stop sending most
	// of their output from the memo (it changed) is kept again as it is
	// now. Pages over 2 MiB, or with URLs over 2 KiB, are not kept.
	// Default: 32 MiB; negative: off.
	PageMemo int64 `json:"page_memo,omitempty"`
	// RuntimePath is where the consent runtime is served: a path of
	// letters, digits, -, ., _, ~ and /, starting with /.
	// Default: /_fp/consent.js.
	RuntimePath string `json:"runtime_path,omitempty"`
	// ConsentCookie is the name of the first-party cookie that keeps the
	// visitor's choices. Default: fp_consent.
	ConsentCookie string `json:"consent_cookie,omitempty"`
	// ConsentMaps adds to or overrides how a consent manager's keys map to
	// categories, per manager (cookiebot, onetrust, klaro, zaraz,
	// complianz, borlabs, cookieyes, cookiefirst, cookiehub, iubenda,
	// cookiescript, didomi, tarteaucitron): {"zaraz": {"Xk3b":
	// ["analytics"]}}.
	// Zaraz's and Didomi's purposes have site-specific ids, so they are
	// read only through this map; a Borlabs group of the site's own is
	// added the same way.
	ConsentMaps map[string]map[string][]string `json:"consent_maps,omitempty"`
	// Banner configures the optional consent banner.
	Banner *Banner `json:"banner,omitempty"`
	// Proxies are the approved analytics vendors served from the site's
	// own domain, each under its own path prefix, with their calls
	// forwarded without personal identifiers (docs/analytics-proxy.md).
	// Their scripts on pages are pointed at the prefix: deferred until
	// analytics consent, or live with consent exempt.
	Proxies []Proxy `json:"proxies,omitempty"`
	// CSPBackstop adds a Content-Security-Policy for visitors who have
	// granted nothing, limiting pre-consent loads and connections to the
	// site's own and allowed hosts: to pages, and to the site's worker
	// scripts, which give a worker its own policy. Default: none.
	CSPBackstop *CSPBackstop `json:"csp_backstop,omitempty"`

	policy         *blocklists.Policy
	consent        *ConsentReader
	runtime        []byte
	runtimeVersion string
	lists          *blocklists.Set
	rp             rewrite.Policy
	proxies        []*proxy
	memo           *pageMemo
	logger         *zap.Logger
	// placeholderText and buttons write the placeholders' text and label
	// their buttons (PlaceholderText, Banner.placeholderLabels).
	placeholderText func(vendor string) string
	buttons         func(vendor string) (load, always string)
	// cfgTag and tags work out pageTag (etag.go).
	cfgTag string
	tags   *atomic.Pointer[pageTagCache]
	// confined is the Content-Security-Policy an XML document gets
	// (xmlDocument).
	confined string
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.firstparty",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision compiles the policy and, when a list comes from a URL, starts
// refreshing it until the config is unloaded.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if h.RuntimePath == "" {
		h.RuntimePath = "/_fp/consent.js"
	}
	if err := registerMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	h.consent = NewConsentReader(h.ConsentCookie, h.ConsentMaps)
	rt, ver, err := h.buildRuntime()
	if err != nil {
		return err
	}
	h.runtime, h.runtimeVersion = rt, ver
	text, load, always := h.Banner.placeholderLabels()
	if h.PlaceholderText != "" {
		text = h.PlaceholderText
	}
	h.placeholderText, h.buttons = rewrite.PlaceholderLabels(text, load, always)
	p, set, err := h.newPolicy()
	if err != nil {
		return err
	}
	if set.HasURLs() {
		// Downloaded lists are kept in Caddy's storage (the same as its
		// certificates), so every instance of a cluster shares them.
		set.Cache = ctx.Storage()
	}
	reports, err := set.Load(ctx)
	if err != nil {
		return err
	}
	h.logReports(reports)
	h.policy, h.lists = p, set
	if err := h.provisionProxies(ctx); err != nil {
		return err
	}
	h.rp = h.proxyPolicy(RewritePolicy(p))
	if h.PageMemo >= 0 {
		size := h.PageMemo
		if size == 0 {
			size = DefaultPageMemo
		}
		h.memo = newPageMemo(int(size))
	}
	var backstopAllow []string
	if b := h.CSPBackstop; b != nil {
		backstopAllow = b.Allow
	}
	h.confined = ownSources(h.FirstParty, h.Allow, backstopAllow)
	if b := h.CSPBackstop; b != nil {
		b.build(h) // (from h.confined)
	}
	h.cfgTag, h.tags = h.configTag(), new(atomic.Pointer[pageTagCache])
	if set.HasURLs() {
		go h.refreshLists(ctx)
	}
	for _, w := range h.warnings() {
		h.logger.Warn(w.msg, w.fields...)
	}
	return nil
}

type configWarning struct {
	msg    string
	fields []zap.Field
}

// warnings are what a valid configuration does that its author may not
// expect, logged once at provision.
func (h *Handler) warnings() []configWarning {
	var ws []configWarning
	if b := h.CSPBackstop; b != nil && b.Mode == "enforce" {
		ws = append(ws, configWarning{"csp_backstop enforce: before consent, pages may load only from their own origin and the allowed hosts; content the visitor grants in the page runs from the next page on",
			[]zap.Field{zap.String("policy", b.policy)}})
	}
	// A consent manager held until consent waits for a choice that only
	// it can record: its banner never shows, and what waits for consent
	// stays held for every visitor who has not chosen in firstparty's.
	switch a := h.Categories["consent"]; a {
	case "defer", "placeholder", "proxy":
		hint := "keep it (the default), or, to ask in firstparty's banner instead, remove it and turn banner on"
		if h.Banner != nil && h.Banner.Enabled {
			hint = "the visitor must grant consent managers in firstparty's banner before theirs shows; to ask in firstparty's banner alone, remove it"
		}
		ws = append(ws, configWarning{"category consent " + a + ": a consent manager's script waits for a choice that only it can record, so its banner does not show; " + hint, nil})
	}
	if h.Disabled {
		ws = append(ws, configWarning{"firstparty is disabled: pages pass through unrewritten", nil})
	}
	return ws
}

// refreshLists fetches the URL lists again when they are due, until ctx
// ends (the config is unloaded).
func (h *Handler) refreshLists(ctx caddy.Context) {
	for {
		t := time.NewTimer(h.lists.Due())
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		reports, err := h.lists.Refresh(ctx, false)
		if err != nil {
			h.logger.Error("compiling refreshed lists failed; the previous policy stays", zap.Error(err))
		}
		h.logReports(reports)
	}
}

// logReports logs what loading or refreshing each list did, and counts
// URL fetches.
func (h *Handler) logReports(reports []blocklists.Report) {
	for _, r := range reports {
		list := redactURL(r.Source.Location)
		if r.Stats != nil {
			for _, e := range r.Stats.Errors {
				h.logger.Warn("skipping bad list line", zap.Error(e))
			}
		}
		outcome := "unchanged"
		switch {
		case r.Err != nil && !r.Changed:
			outcome = "failed"
			h.logger.Error("tracker list not updated; the last good copy stays in use", zap.String("list", list), zap.Error(r.Err))
		case r.Changed:
			outcome = "changed"
			if r.Err != nil {
				h.logger.Warn("tracker list", zap.String("list", list), zap.Error(r.Err))
			}
			if r.Stats != nil {
				h.logger.Info("tracker list loaded", zap.String("list", list), zap.Bool("from_cache", r.FromCache),
					zap.Any("rules", r.Stats.Rules), zap.Any("skipped", r.Stats.Skipped))
			}
		}
		if r.Source.IsURL() && !r.FromCache {
			metrics.listFetches.WithLabelValues(outcome).Inc()
		}
	}
}

// redactURL drops the user info, query and fragment of a list URL before
// it is logged: a list URL may carry an access token.
func redactURL(loc string) string {
	u, err := url.Parse(loc)
	if err != nil || u.Scheme == "" {
		return loc
	}
	u.User, u.RawQuery, u.Fragment, u.ForceQuery = nil, "", "", false
	return u.String()
}

// BuildPolicy compiles the policy a handler configuration describes, as
// the module does at provision time, without a storage cache (the CLI
// uses it).
func BuildPolicy(h *Handler) (*blocklists.Policy, error) {
	p, set, err := h.newPolicy()
	if err != nil {
		return nil, err
	}
	reports, err := set.Load(context.Background())
	if err != nil {
		return nil, err
	}
	for _, r := range reports {
		if r.Err != nil && !r.Changed {
			return nil, r.Err
		}
	}
	return p, nil
}

// newPolicy sets up the policy and the list set that feeds it; Load
// fills it.
func (h *Handler) newPolicy() (*blocklists.Policy, *blocklists.Set, error) {
	p := blocklists.NewPolicy(nil)
	p.Actions = h.Categories
	if h.Unknown != "" {
		p.Unknown = h.Unknown
	}
	p.Allow, p.Deny, p.FirstParty, p.ThirdParty = h.Allow, h.Deny, h.FirstParty, h.ThirdParty
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	set := &blocklists.Set{Policy: p, Fetcher: &blocklists.Fetcher{UserAgent: "firstparty (Caddy module)"}}
	if !h.NoBuiltin {
		set.Base = blocklists.Builtin
	}
	for _, l := range h.Lists {
		set.Sources = append(set.Sources, l.source())
	}
	return p, set, nil
}

func (l List) source() blocklists.Source {
	loc := l.Path
	if l.URL != "" {
		loc = l.URL
	}
	return blocklists.Source{Location: loc, Format: blocklists.Format(l.Format), Category: l.Category, Refresh: time.Duration(l.Refresh)}
}

// checkServedPath checks a path the handler serves (runtime_path, a
// proxy's prefix), which it also writes into pages: a path of URL-safe
// characters that needs no escaping anywhere, matched as given.
func checkServedPath(what, p string) error {
	ok := strings.HasPrefix(p, "/") && !strings.HasSuffix(p, "/") && !strings.Contains(p, "//") && !strings.Contains(p+"/", "/./") && !strings.Contains(p, "..")
	for i := 0; ok && i < len(p); i++ {
		c := p[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/", c) >= 0
	}
	if !ok {
		return fmt.Errorf("%s %q must start with / and not end with one, and hold only letters, digits, -, ., _, ~ and /, with no //, . or .. segment", what, p)
	}
	return nil
}

// checkHostOrPath checks one argument of allow, deny, first_party,
// third_party (a host name) or exclude (a path prefix).
func checkHostOrPath(option, arg string) error {
	if option == "exclude" {
		if !strings.HasPrefix(arg, "/") {
			return fmt.Errorf("exclude %q: want a path prefix, starting with /", arg)
		}
		return nil
	}
	_, err := blocklists.PolicyHost(option, arg)
	return err
}

// Validate checks the configuration.
func (h *Handler) Validate() error {
	for _, l := range []struct {
		option string
		args   []string
	}{{"allow", h.Allow}, {"deny", h.Deny}, {"first_party", h.FirstParty}, {"third_party", h.ThirdParty}, {"exclude", h.Exclude}} {
		for _, a := range l.args {
			if err := checkHostOrPath(l.option, a); err != nil {
				return err
			}
		}
	}
	for _, l := range h.Lists {
		if (l.Path == "") == (l.URL == "") {
			return fmt.Errorf("list: set path or url, not both or neither (path %q, url %q)", l.Path, l.URL)
		}
		if l.URL != "" && !strings.HasPrefix(l.URL, "https://") {
			return fmt.Errorf("list %q: only https URLs are fetched", l.URL)
		}
		if l.Path != "" && l.Refresh != 0 {
			return fmt.Errorf("list %q: refresh applies to URL lists only", l.Path)
		}
		if err := l.source().Validate(); err != nil {
			return err
		}
	}
	if h.MaxTokenSize != 0 && (h.MaxTokenSize < minTokenSize || h.MaxTokenSize > maxTokenSize) {
		return fmt.Errorf("max_token_size must be 0 (the default) or between %d (1 KiB) and %d (1 GiB)", minTokenSize, maxTokenSize)
	}
	if h.MaxDecodedSize < 0 {
		return fmt.Errorf("max_decoded_size must not be negative")
	}
	if h.StyleSheets != "" && !slices.Contains(StyleSheetModes, h.StyleSheets) {
		return fmt.Errorf("style_sheets: want rewrite, consent or pass, have %q", h.StyleSheets)
	}
	if h.ConsentCookie != "" && !cookieName.MatchString(h.ConsentCookie) {
		return fmt.Errorf("consent_cookie %q is not a valid cookie name", h.ConsentCookie)
	}
	for cmp, m := range h.ConsentMaps {
		for k, cats := range m {
			if err := checkConsentMap(cmp, k, cats); err != nil {
				return fmt.Errorf("%w (key %q)", err, k)
			}
		}
	}
	if h.RuntimePath != "" {
		if err := checkServedPath("runtime_path", h.RuntimePath); err != nil {
			return err
		}
	}
	if err := validateProxies(h.Proxies, h.RuntimePath); err != nil {
		return err
	}
	if err := h.CSPBackstop.validate(); err != nil {
		return err
	}
	return h.Banner.validate()
}

// ServeHTTP rewrites the HTML responses of next.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if r.URL.Path == h.RuntimePath {
		h.serveRuntime(w, r)
		return nil
	}
	for _, px := range h.proxies {
		if under(r.URL.Path, px.cfg.Prefix) {
			return px.serve(w, r)
		}
	}
	h.consentPlaceholders(r)
	if r.Context().Value(rewritingKey{}) != nil {
		// Another firstparty handler already rewrites this response (one
		// in handle_errors, under the site's): once is enough. This one
		// still serves its own runtime and proxies, above.
		return next.ServeHTTP(w, r)
	}
	if h.Disabled || r.Method == http.MethodConnect || r.Header.Get("Upgrade") != "" {
		return next.ServeHTTP(w, r)
	}
	for _, p := range h.Exclude {
		if strings.HasPrefix(r.URL.Path, p) {
			return next.ServeHTTP(w, r)
		}
	}
	// A HEAD request goes the same way as a GET, so that its answer carries
	// the headers the GET's would (no upstream Content-Length, the page's
	// marked ETag, the filtered Link headers, the backstop's policy), and nothing is
	// rewritten or kept in the page memo: it has no body.
	//
	// Ask the upstream for plain bytes, and for whole pages: a partial HTML
	// response could not be rewritten. A browser's request for a script,
	// style sheet, image or font keeps its Accept-Encoding, so that such
	// files come compressed as the upstream has them (file_server's
	// precompressed copies) instead of being compressed again by encode;
	// if the answer is HTML after all, it is decoded and rewritten.
	r.Header = r.Header.Clone()
	if !subresource(r.Header.Get("Sec-Fetch-Dest")) {
		r.Header.Set("Accept-Encoding", "identity")
	}
	nav := strings.Contains(r.Header.Get("Accept"), "text/html")
	// A browser's request for a style sheet, which is rewritten, or a
	// speculation rule set, manifest or SVG file, which is filtered, asks
	// for the whole, and has its validators checked as a page's are. An
	// SVG file is known before its answer by its path's extension alone;
	// another's answer that is filtered still has its ETag marked.
	dest := r.Header.Get("Sec-Fetch-Dest")
	sheet := h.rewritesSheets() && dest == "style" || !h.ReportOnly && (dest == "speculationrules" || dest == "manifest" ||
		svgPath(r.URL.Path) && svgDest(dest, rewrite.SVGType))
	if nav || sheet {
		dropRange(r)
	}
	if h.backstopsWorker(dest) {
		// A worker's script carries the backstop for the consent its
		// request carries (decide): it is not confirmed from a copy
		// sent for another.
		r.Header.Del("If-None-Match")
		r.Header.Del("If-Modified-Since")
	}
	// A copy the client holds is confirmed only if it was rewritten under
	// the policy in force (etag.go).
	bs := backstopState{h: h, r: r}
	marked := h.conditionals(r, nav || sheet, bs.validatorTag)
	// A Range header goes upstream when the request does not say it wants
	// HTML (media players and download tools send "*/*"), so that other
	// bodies keep their ranges. If the answer is a partial HTML body, it is
	// dropped unsent and the whole page asked for again, with the headers
	// the handlers before this one had set.
	var before http.Header
	rangeSent := (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.Header.Get("Range") != ""
	if rangeSent {
		before = w.Header().Clone()
	}
	r = r.WithContext(context.WithValue(r.Context(), rewritingKey{}, true))
	rw := h.writers(w, r, rangeSent, marked, bs)
	err := next.ServeHTTP(rw, r)
	if rangeSent {
		rw.decidePartial()
	}
	if rw.partial {
		if cerr := rw.finish(); cerr != nil {
			h.logger.Debug("dropped partial HTML response", zap.Error(cerr))
		}
		hdr := w.Header()
		clear(hdr)
		for k, v := range before {
			hdr[k] = v
		}
		dropRange(r)
		rw = h.writers(w, r, false, marked, bs)
		err = next.ServeHTTP(rw, r)
	}
	if err != nil {
		srv := errorServer(r)
		switch {
		case rw.untouched() && srv != nil:
			// The site's handle_errors routes would write the error page
			// to the response outside this handler, unrewritten: they are
			// run here instead, through a rewriter.
			return h.serveError(w, r, err, srv)
		case rw.untouched():
			// Nothing was written: Caddy answers with the error's status.
			return err
		case srv != nil:
			// Part of the page is out: an error page after it would be
			// read as more of the page, unscanned. The response ends here.
			if cerr := rw.finish(); cerr != nil {
				h.logger.Debug("ending a response cut by an error", zap.Error(cerr))
			}
			h.logger.Error("response cut by an error; no error page appended", zap.Error(causeOf(err)), zap.String("path", r.URL.Path))
			return nil
		}
	}
	if cerr := rw.finish(); cerr != nil && err == nil {
		h.logger.Error("rewriting response failed, ended fail-closed", zap.Error(cerr))
	}
	return err
}

// subresource reports whether a Sec-Fetch-Dest names a destination that
// is never a document: what a page loads to run, style or show.
func subresource(dest string) bool {
	switch dest {
	case "script", "style", "image", "font", "audio", "video", "track", "manifest",
		"worker", "sharedworker", "serviceworker", "audioworklet", "paintworklet", "xslt":
		return true
	}
	return false
}

// rewritingKey marks a request whose response a firstparty handler is
// rewriting.
type rewritingKey struct{}

// errorServer returns r's server if it has error routes (handle_errors)
// and r is not already in them.
func errorServer(r *http.Request) *caddyhttp.Server {
	if r.Context().Value(caddyhttp.ErrorCtxKey) != nil {
		return nil
	}
	srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	if !ok || srv.Errors == nil || len(srv.Errors.Routes) == 0 {
		return nil
	}
	return srv
}

// serveError does what Caddy's server does with an error from the routes
// when it has error routes, with the response going through a rewriter:
// it restores the original request, puts the error in its context and
// placeholders, and runs the error routes. Their error page is rewritten
// like any other page. Range is dropped: an error page is sent whole.
func (h *Handler) serveError(w http.ResponseWriter, r *http.Request, err error, srv *caddyhttp.Server) error {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok {
		r.Method, r.RemoteAddr, r.RequestURI = orig.Method, orig.RemoteAddr, orig.RequestURI
		if orig.URL != nil {
			u := *orig.URL
			if u.User != nil {
				ui := *u.User
				u.User = &ui
			}
			*r.URL = u
		}
	}
	r = srv.Errors.WithError(r, err)
	dropRange(r)
	rw := h.writers(w, r, false, false, backstopState{h: h, r: r})
	err2 := srv.Errors.Routes.Compile(errorStatus).ServeHTTP(rw, r)
	if err2 != nil && rw.untouched() {
		// As Caddy does when its error routes fail: the status alone.
		_ = errorStatus.ServeHTTP(rw, r) // writes a status: no error
	}
	if cerr := rw.finish(); cerr != nil {
		h.logger.Error("rewriting the error page failed, ended fail-closed", zap.Error(cerr))
	}
	if err2 != nil {
		h.logger.Error("error handling handler error", zap.Error(causeOf(err2)), zap.NamedError("first_error", causeOf(err)))
	} else if c := h.logger.Check(zapcore.DebugLevel, "error page served through the rewriter"); c != nil {
		c.Write(zap.Error(causeOf(err)), zap.String("path", r.URL.Path))
	}
	return nil
}

// errorStatus ends the error routes as Caddy's do: with the error's
// status, or 500.
var errorStatus caddyhttp.Handler = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	status := http.StatusInternalServerError
	if he, ok := r.Context().Value(caddyhttp.ErrorCtxKey).(caddyhttp.HandlerError); ok {
		status = he.StatusCode
	}
	w.WriteHeader(status)
	return nil
})

// dropRange asks the upstream for the whole body.
func dropRange(r *http.Request) {
	r.Header.Del("Range")
	r.Header.Del("If-Range")
}

// writers wraps w for one pass through the handlers after this one
// (rangeSent, marked and bs as in responseWriter).
func (h *Handler) writers(w http.ResponseWriter, r *http.Request, rangeSent, marked bool, bs backstopState) *decodingWriter {
	return &decodingWriter{responseWriter: &responseWriter{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w}, h: h, req: r, rangeSent: rangeSent, marked: marked, bs: bs, head: r.Method == http.MethodHead}}
}

// consentPlaceholders makes the visitor's consent available to the rest
// of the config as {firstparty.consent.<category>} ("granted" or
// "denied") and {firstparty.consent.gpc} ("1" or "0"), read from the
// request only when a placeholder is used.
func (h *Handler) consentPlaceholders(r *http.Request) {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return
	}
	var st *ConsentState
	repl.Map(func(key string) (any, bool) {
		cat, ok := strings.CutPrefix(key, "firstparty.consent.")
		if !ok {
			return nil, false
		}
		if st == nil {
			s := h.consent.Read(r, time.Now())
			st = &s
		}
		if cat == "gpc" {
			if st.GPC {
				return "1", true
			}
			return "0", true
		}
		if !blocklists.ValidCategory(cat) {
			return nil, false
		}
		if st.Granted(cat) {
			return "granted", true
		}
		return "denied", true
	})
}

// pageURL is the URL of the page the request asks for.
func pageURL(r *http.Request) *url.URL {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	// Lower-case, without the port or a fully qualified name's final dot,
	// as the policy compares hosts.
	return &url.URL{Scheme: scheme, Host: strings.TrimSuffix(strings.ToLower(stripPort(r.Host)), "."), Path: r.URL.Path}
}

// stripPort returns a Host header's host without its port.
func stripPort(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		return host[:i]
	}
	return host
}

// scriptFacts remembers what inline scripts and styles were read to
// contain, for every handler in the process and across config reloads:
// facts depend on a snippet's bytes alone, not on any policy, and a shop's
// snippets repeat on every page. It holds at most 2 × 4 MiB of each kind.
var scriptFacts = rewrite.NewFactsCache(0)

// rewriteOptions are a page's options, with the response's random token
// that its loader and placeholders carry.
func (h *Handler) rewriteOptions(page *url.URL) rewrite.Options {
	var tok [12]byte
	rand.Read(tok[:])
	opts := h.sheetOptions(page)
	opts.Token = hex.EncodeToString(tok[:])
	return opts
}

// sheetOptions are a page's options but the token, which a style sheet,
// holding no markup of firstparty's, does not carry.
func (h *Handler) sheetOptions(page *url.URL) rewrite.Options {
	opts := rewrite.Options{
		Policy:       h.rp,
		PageURL:      page,
		MaxTokenSize: h.MaxTokenSize,
		ReportOnly:   h.ReportOnly,
		Loader:       h.loader,
		Facts:        scriptFacts,
		// (Nil before Provision, as in a test's Handler: the rewriter's
		// English ones.)
		PlaceholderText:    h.placeholderText,
		PlaceholderButtons: h.buttons,
	}
	return opts
}

// loader is the snippet inserted before the first deferred element.
func (h *Handler) loader(token, nonce string) []byte {
	b, _ := h.loaderTag(token, nonce)
	return b
}

// loaderTag returns the loader, and where in it the nonce lies as
// loaderNonce writes it (-1 without one).
func (h *Handler) loaderTag(token, nonce string) ([]byte, int) {
	s := `<script src="` + h.RuntimePath + `?v=` + h.runtimeVersion + `" data-fp-token="` + token + `"`
	at := -1
	if nonce != "" {
		s += ` nonce="`
		at = len(s)
		s += loaderNonce(nonce) + `"`
	}
	return []byte(s + `></script>`), at
}

// loaderNonce is a CSP nonce as the loader's attribute holds it.
func loaderNonce(nonce string) string { return html.EscapeString(nonce) }

func (h *Handler) logStats(r *http.Request, st *rewrite.Stats) {
	if ce := h.logger.Check(zapcore.DebugLevel, "page rewritten"); ce != nil {
		ce.Write(zap.String("path", r.URL.Path), zap.Int("elements", st.Elements),
			zap.Int("removed", st.Actions[rewrite.Remove]), zap.Int("deferred", st.Actions[rewrite.Defer]),
			zap.Int("placeholders", st.Actions[rewrite.Placeholder]), zap.Any("fail_closed", st.FailClosed))
	}
	if len(st.FailClosed) > 0 {
		h.logger.Info("fail-closed decisions", zap.String("path", r.URL.Path), zap.Any("fail_closed", st.FailClosed))
	}
}

// kindTypes maps the rewriter's element kinds to the request types list
// rules name. A kind that can load several types gets them all, so a rule
// for any of them applies (the privacy-safe reading).
var kindTypes = [...]blocklists.ReqType{
	rewrite.KindScript:       blocklists.TypeScript,
	rewrite.KindInlineScript: blocklists.TypeAll,
	rewrite.KindImage:        blocklists.TypeImage,
	rewrite.KindFrame:        blocklists.TypeSubdocument,
	rewrite.KindEmbed:        blocklists.TypeObject | blocklists.TypeSubdocument,
	rewrite.KindMedia:        blocklists.TypeMedia,
	rewrite.KindHint:         blocklists.TypeAll,
	rewrite.KindStylesheet:   blocklists.TypeStylesheet,
	rewrite.KindIcon:         blocklists.TypeImage,
	rewrite.KindPing:         blocklists.TypePing,
	rewrite.KindCSS:          blocklists.TypeImage | blocklists.TypeFont | blocklists.TypeStylesheet,
	rewrite.KindRefresh:      blocklists.TypeAll,
	rewrite.KindForm:         blocklists.TypeAll,
	rewrite.KindManifest:     blocklists.TypeOther,
}

// reqType is the request type set of an element kind.
func reqType(k rewrite.Kind) blocklists.ReqType {
	if int(k) < len(kindTypes) {
		return kindTypes[k]
	}
	return blocklists.TypeAll
}

// RewritePolicy adapts a blocklists policy to the rewriter's Policy. It
// is a rewrite.OwnHostPolicy: the page's own URLs are kept unasked unless
// their path may hold a first-party copy of a vendor loader.
func RewritePolicy(p *blocklists.Policy) rewrite.Policy {
	return rewritePolicy{p}
}

type rewritePolicy struct{ p *blocklists.Policy }

// OwnHost implements rewrite.OwnHostPolicy: DecideRequest keeps a first-party URL
// of any kind, labelled only when its path is a vendor loader's shape.
func (rp rewritePolicy) OwnHost(page *url.URL) ([]string, uint64) {
	if page == nil {
		return nil, 0
	}
	if anchors, ok := rp.p.OwnHost(page.Host); ok {
		return anchors, ^uint64(0)
	}
	return nil, 0
}

// Decide implements rewrite.Policy.
func (rp rewritePolicy) Decide(page *url.URL, r *rewrite.Resource) rewrite.Decision {
	p := rp.p
	var v blocklists.Verdict
	if r.URL != nil {
		pageHost := ""
		if page != nil {
			pageHost = page.Host
		}
		v = p.DecideRequest(pageHost, r.URL.Scheme, r.URL.Host, r.URL.Path, r.URL.RawQuery, reqType(r.Kind))
	} else {
		var s *blocklists.Script
		if f := r.Script; f != nil {
			s = &blocklists.Script{Calls: f.Calls, Idents: f.Idents, Strings: f.Strings, Hosts: f.Hosts, Unclassifiable: f.Oversize || f.Malformed}
			if page != nil {
				s.PageHost = page.Host
			}
		}
		v = p.DecideScript(s)
	}
	a, ok := rewrite.ParseAction(v.Action)
	// "proxy" is done by the handler's proxies (proxyPolicy); what none
	// of them serves is deferred: fail closed.
	if !ok {
		a = rewrite.Defer
	}
	return rewrite.Decision{Action: a, Category: v.Category, Vendor: v.Vendor, Host: v.Host}
}

// maxTokenSize is the largest max_token_size: the rewriter keeps a tag's
// offsets in 32 bits, and caps its own option at 1 GiB. minTokenSize is
// the smallest: a tag over the cap ends the page, and a cap under any
// real tag ("10", meant as megabytes) would cut every page short.
const (
	maxTokenSize = 1 << 30
	minTokenSize = 1 << 10
)

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
