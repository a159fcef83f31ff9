package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// The analytics proxy: an approved vendor's script and its collection
// calls, served from the site's own domain. Outgoing requests are built
// from an allowlist (proxy_vendors.go), never copied from the incoming
// request and stripped; identifiers are pseudonymised or dropped
// (proxy_clean.go); scripts are fetched once, cached and pointed at the
// site's own paths (proxy_script.go). docs/analytics-proxy.md says what
// each vendor receives.

// Proxy is one approved analytics vendor, served under a path prefix of
// the site.
type Proxy struct {
	// Profile is the vendor: ga4, plausible, matomo, umami, posthog or
	// custom. Required.
	Profile string `json:"profile"`
	// Prefix is the path the vendor is served under, such as
	// /_fp/plausible: /_fp/plausible/api/event goes to
	// <upstream>/api/event. Required; it must start with / and not end
	// with one.
	Prefix string `json:"prefix"`
	// Upstream is the vendor's base URL (scheme and host, and a path for a
	// self-hosted instance under one), for a self-hosted Matomo, Umami,
	// Plausible or PostHog, or a vendor region. It may be a private
	// address. Default: the vendor's public host (Matomo and custom have
	// none and require it). Requests to the public hosts refuse DNS answers
	// in loopback, private or link-local ranges.
	Upstream string `json:"upstream,omitempty"`
	// IP is what the vendor learns of the visitor's address: none (the
	// vendor sees only this server's address), truncate (/24 for IPv4, /48
	// for IPv6, after unwrapping IPv4-mapped, 6to4, NAT64 and Teredo
	// addresses) or pseudonym (a keyed, rotating address in 100.64.0.0/10
	// that counts visitors without locating them). Default: none.
	IP string `json:"ip,omitempty"`
	// Consent is analytics (forward only with analytics consent, read as
	// the consent runtime reads it: fp_consent, the consent managers'
	// cookies, GPC) or exempt (forward without consent; accepted only when
	// this profile meets the conditions in docs/analytics-proxy.md, and
	// the owner's legal call). Default: analytics.
	Consent string `json:"consent,omitempty"`
	// IDs are the measurement, container, site, website or project ids
	// this proxy serves and forwards (G-…, GTM-…, Matomo idsite, Umami
	// website id, PostHog project key, Plausible domain). Scripts and
	// calls for any other id are refused: a foreign tag container would
	// run someone else's code on the site. Required for ga4, where each
	// must be G-… or GTM-… in capitals; optional (any id) for the others.
	IDs []string `json:"ids,omitempty"`
	// ClientIDs is what happens to the vendor's client and device ids:
	// pseudonym (replaced by a keyed pseudonym that rotates every Rotate;
	// the key is kept in Caddy's storage so every instance agrees) or drop.
	// Default: pseudonym.
	ClientIDs string `json:"client_ids,omitempty"`
	// Rotate is how long a pseudonym lasts. Default: 24h. Zero means the
	// default; it must be at least 1h.
	Rotate caddy.Duration `json:"rotate,omitempty"`
	// QueryParams are the page URL query parameters kept in what the
	// vendor receives, besides utm_source, utm_medium, utm_campaign,
	// utm_term and utm_content. Every other parameter, and the fragment,
	// is dropped.
	QueryParams []string `json:"query_params,omitempty"`
	// RateLimit is the number of calls a client address may make per
	// minute (a token bucket with a burst of a tenth of it, at least 10).
	// Default: 600. -1 turns the limit off.
	RateLimit int `json:"rate_limit,omitempty"`
	// MaxBody caps a call's request body in bytes, and 16 times it caps
	// the decoded body (gzip, base64): beyond either the call is answered
	// 413 and nothing is forwarded. Default: 65536.
	MaxBody int64 `json:"max_body,omitempty"`
	// Timeout bounds each request to the vendor. Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// Paths are the collection paths of a custom profile, relative to
	// Upstream (/collect).
	Paths []string `json:"paths,omitempty"`
	// Scripts are the script paths of a custom profile (/script.js).
	Scripts []string `json:"scripts,omitempty"`
	// Params are the query, form or flat JSON keys a custom profile
	// forwards, their values scrubbed of personal data.
	Params []string `json:"params,omitempty"`
	// IDParams are the keys of a custom profile whose values are client
	// ids, pseudonymised or dropped as ClientIDs says.
	IDParams []string `json:"id_params,omitempty"`
}

// ProxyProfiles are the vendors the proxy knows.
var ProxyProfiles = []string{"ga4", "plausible", "matomo", "umami", "posthog", "custom"}

// ProxyOptions are the options of a proxy block in the Caddyfile.
var ProxyOptions = []string{"upstream", "ip", "consent", "id", "client_ids", "rotate", "query_params", "rate_limit",
	"max_body", "timeout", "path", "script", "param", "id_param"}

// replyKind is what the browser gets back from a collection call.
type replyKind uint8

const (
	replyEmpty  replyKind = iota // 204
	replyJSON                    // 200 {} (Umami reads its answer as JSON)
	replyGIF                     // 200 1×1 GIF for GET pixels
	replyVendor                  // 200 with the vendor's JSON (PostHog flags)
)

// route is one vendor path the proxy serves.
type route struct {
	path    string         // exact vendor path, or
	pattern *regexp.Regexp // a path pattern
	script  bool           // a script, fetched once and cached
	assets  bool           // served by the profile's assets host
	idParam string         // script query parameter that must be a configured id
	build   builder        // a collection call
	reply   replyKind
}

func (rt *route) match(p string) bool {
	if rt.pattern != nil {
		return rt.pattern.MatchString(p)
	}
	return p == rt.path
}

// profile is what the proxy knows of one vendor. The one channel each
// vendor reads a client address from is set by its builder: _uip (GA4),
// $ip (PostHog), X-Forwarded-For (the others).
type profile struct {
	name   string
	vendor string // the vendor's name, as the tracker database has it
	// scriptHost and collectHost are the default upstreams; assetsHost
	// serves static assets (PostHog).
	scriptHost, collectHost, assetsHost string
	// pageHosts are hosts whose script URLs on pages are pointed at the
	// proxy.
	pageHosts []string
	// endpointHosts are hosts whose URLs inside served scripts are pointed
	// at the proxy.
	endpointHosts []string
	routes        []route
}

func (pr *profile) route(p string) *route {
	for i := range pr.routes {
		if pr.routes[i].match(p) {
			return &pr.routes[i]
		}
	}
	return nil
}

var profiles = map[string]*profile{
	"ga4": {
		name: "ga4", vendor: "Google Analytics",
		scriptHost: "https://www.googletagmanager.com", collectHost: "https://www.google-analytics.com",
		pageHosts:     []string{"www.googletagmanager.com", "googletagmanager.com"},
		endpointHosts: []string{"www.google-analytics.com", "region1.google-analytics.com", "analytics.google.com", "region1.analytics.google.com"},
		routes: []route{
			{path: "/gtag/js", script: true, idParam: "id"},
			{path: "/gtm.js", script: true, idParam: "id"},
			{path: "/g/collect", build: buildGA4},
		},
	},
	"plausible": {
		name: "plausible", vendor: "Plausible",
		scriptHost: "https://plausible.io", collectHost: "https://plausible.io",
		pageHosts: []string{"plausible.io"}, endpointHosts: []string{"plausible.io"},
		routes: []route{
			{pattern: regexp.MustCompile(`^/js/(script|plausible|pa-[A-Za-z0-9_-]{1,64})(\.[a-z-]{1,32}){0,8}\.js$`), script: true},
			{path: "/api/event", build: buildPlausible, reply: replyEmpty},
		},
	},
	"matomo": {
		name: "matomo", vendor: "Matomo",
		routes: []route{
			{path: "/matomo.js", script: true},
			{path: "/piwik.js", script: true},
			{path: "/matomo.php", build: buildMatomo, reply: replyGIF},
			{path: "/piwik.php", build: buildMatomo, reply: replyGIF},
		},
	},
	"umami": {
		name: "umami", vendor: "Umami",
		scriptHost: "https://cloud.umami.is", collectHost: "https://cloud.umami.is",
		pageHosts: []string{"cloud.umami.is"}, endpointHosts: []string{"cloud.umami.is", "api-gateway.umami.dev"},
		routes: []route{
			{path: "/script.js", script: true},
			{path: "/api/send", build: buildUmami, reply: replyJSON},
		},
	},
	"posthog": {
		name: "posthog", vendor: "PostHog",
		scriptHost: "https://us-assets.i.posthog.com", collectHost: "https://us.i.posthog.com", assetsHost: "https://us-assets.i.posthog.com",
		pageHosts:     []string{"us-assets.i.posthog.com", "eu-assets.i.posthog.com"},
		endpointHosts: []string{"us.i.posthog.com", "eu.i.posthog.com", "app.posthog.com", "us.posthog.com", "eu.posthog.com", "us-assets.i.posthog.com", "eu-assets.i.posthog.com"},
		routes: []route{
			{pattern: regexp.MustCompile(`^/static/[a-z0-9][a-z0-9._-]{0,63}\.js$`), script: true, assets: true},
			{pattern: regexp.MustCompile(`^/(e|i/v0/e|batch|capture|track|engage)/?$`), build: buildPostHog},
			{pattern: regexp.MustCompile(`^/(decide|flags)/?$`), build: buildPostHogFlags, reply: replyVendor},
		},
	},
}

// proxy is a provisioned Proxy.
type proxy struct {
	cfg      Proxy
	prof     *profile
	collect  *url.URL // where collection calls go
	script   *url.URL // where scripts come from
	assets   *url.URL // where static assets come from
	ids      map[string]bool
	keep     map[string]bool // page URL query parameters kept
	params   map[string]bool // custom: forwarded keys
	idParams map[string]bool // custom: client id keys
	client   *http.Client
	limiter  *limiter
	scripts  *scriptCache
	keys     *keyring
	consent  *ConsentReader
	logger   *zap.Logger
	rotate   time.Duration
	maxBody  int64
}

// validate checks one proxy's configuration.
func (p *Proxy) validate() error {
	if !slices.Contains(ProxyProfiles, p.Profile) {
		return fmt.Errorf("proxy: unknown profile %q (want one of %s)", p.Profile, strings.Join(ProxyProfiles, ", "))
	}
	if err := checkServedPath("proxy "+p.Profile+": prefix", p.Prefix); err != nil {
		return err
	}
	if p.Upstream != "" {
		u, err := url.Parse(p.Upstream)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("proxy %s: upstream %q must be an http(s) URL with a host and no user, query or fragment", p.Profile, p.Upstream)
		}
	} else if p.Profile == "matomo" || p.Profile == "custom" {
		return fmt.Errorf("proxy %s: set upstream (the vendor has no single public host)", p.Profile)
	}
	switch p.IP {
	case "", "none", "truncate", "pseudonym":
	default:
		return fmt.Errorf("proxy %s: ip %q: want none, truncate or pseudonym", p.Profile, p.IP)
	}
	switch p.ClientIDs {
	case "", "pseudonym", "drop":
	default:
		return fmt.Errorf("proxy %s: client_ids %q: want pseudonym or drop", p.Profile, p.ClientIDs)
	}
	if p.Rotate != 0 && time.Duration(p.Rotate) < time.Hour {
		return fmt.Errorf("proxy %s: rotate %s is under the minimum of 1h", p.Profile, time.Duration(p.Rotate))
	}
	if p.RateLimit < -1 || p.MaxBody < 0 || p.Timeout < 0 {
		return fmt.Errorf("proxy %s: rate_limit, max_body and timeout must not be negative (rate_limit -1 turns it off)", p.Profile)
	}
	if p.Profile == "ga4" && len(p.IDs) == 0 {
		return fmt.Errorf("proxy ga4: set id to the measurement or container ids served (G-…, GTM-…)")
	}
	for _, id := range p.IDs {
		if !validID.MatchString(id) {
			return fmt.Errorf("proxy %s: id %q: want letters, digits, '.', '_' or '-'", p.Profile, id)
		}
		if p.Profile == "ga4" && !googleID.MatchString(id) {
			// Any other id would match no script or call: every one
			// would be refused, and the owner left without analytics.
			return fmt.Errorf("proxy ga4: id %q: want a measurement id (G-…) or a container id (GTM-…), in capitals as Google gives them", id)
		}
	}
	custom := len(p.Paths)+len(p.Scripts)+len(p.Params)+len(p.IDParams) > 0
	if p.Profile != "custom" && custom {
		return fmt.Errorf("proxy %s: path, script, param and id_param are for the custom profile", p.Profile)
	}
	if p.Profile == "custom" {
		if len(p.Paths)+len(p.Scripts) == 0 {
			return fmt.Errorf("proxy custom: set path (collection paths) or script")
		}
		for _, s := range append(slices.Clone(p.Paths), p.Scripts...) {
			if !validPath.MatchString(s) {
				return fmt.Errorf("proxy custom: path %q: want an absolute path of letters, digits and ./_-", s)
			}
		}
	}
	if p.Consent != "" && p.Consent != "analytics" && p.Consent != "exempt" {
		return fmt.Errorf("proxy %s: consent %q: want analytics or exempt", p.Profile, p.Consent)
	}
	if p.Consent == "exempt" {
		if errs := p.exemptProblems(); len(errs) > 0 {
			return fmt.Errorf("proxy %s: consent exempt refused: %s (docs/analytics-proxy.md#consent-exempt)", p.Profile, strings.Join(errs, "; "))
		}
	}
	return nil
}

var (
	validID   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
	googleID  = regexp.MustCompile(`^(G|GTM)-[A-Z0-9]+$`)
	validPath = regexp.MustCompile(`^(/[A-Za-z0-9._-]+)+/?$`)
)

// exemptProblems lists the conditions for consent-exempt audience
// measurement (the CNIL's, as docs/analytics-proxy.md lists them) that the
// configuration does not meet. Those the proxy always meets (no cookie
// forwarded or set, no login id, referrer reduced to its origin, page URL
// query reduced, personal data scrubbed) are not configurable.
func (p *Proxy) exemptProblems() []string {
	var errs []string
	if p.IP == "pseudonym" {
		errs = append(errs, "ip must be none or truncate")
	}
	if p.Rotate != 0 && time.Duration(p.Rotate) > 24*time.Hour {
		errs = append(errs, "rotate must be 24h or less")
	}
	if len(p.QueryParams) > 0 {
		errs = append(errs, "query_params must be empty (campaign parameters only)")
	}
	if p.Profile == "posthog" {
		errs = append(errs, "the posthog profile serves feature flags and person processing, which are not audience measurement")
	}
	return errs
}

// provision sets up a validated proxy.
func (p *Proxy) provision(keys *keyring, consent *ConsentReader, logger *zap.Logger) *proxy {
	px := &proxy{cfg: *p, keys: keys, consent: consent, logger: logger.With(zap.String("proxy", p.Profile))}
	px.prof = profiles[p.Profile]
	if p.Profile == "custom" {
		px.prof = customProfile(p)
	}
	guarded := p.Upstream == ""
	parse := func(s string) *url.URL {
		if s == "" {
			return nil
		}
		u, _ := url.Parse(strings.TrimSuffix(s, "/"))
		return u
	}
	if guarded {
		px.collect, px.script, px.assets = parse(px.prof.collectHost), parse(px.prof.scriptHost), parse(px.prof.assetsHost)
	} else {
		up := parse(p.Upstream)
		px.collect, px.script, px.assets = up, up, up
		if p.Profile == "posthog" && strings.HasSuffix(up.Host, ".i.posthog.com") {
			// PostHog's regions serve static assets from a sibling host.
			a := *up
			a.Host = strings.Replace(up.Host, ".i.posthog.com", "-assets.i.posthog.com", 1)
			px.assets = &a
		}
	}
	px.ids = map[string]bool{}
	for _, id := range p.IDs {
		px.ids[id] = true
	}
	px.keep = map[string]bool{"utm_source": true, "utm_medium": true, "utm_campaign": true, "utm_term": true, "utm_content": true}
	for _, q := range p.QueryParams {
		px.keep[q] = true
	}
	px.params, px.idParams = map[string]bool{}, map[string]bool{}
	for _, k := range p.Params {
		px.params[k] = true
	}
	for _, k := range p.IDParams {
		px.idParams[k] = true
	}
	px.rotate = time.Duration(p.Rotate)
	if px.rotate == 0 {
		px.rotate = 24 * time.Hour
	}
	px.maxBody = p.MaxBody
	if px.maxBody == 0 {
		px.maxBody = 64 << 10
	}
	timeout := time.Duration(p.Timeout)
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	rate := p.RateLimit
	if rate == 0 {
		rate = 600
	}
	if rate > 0 {
		px.limiter = newLimiter(rate)
	}
	px.client = newVendorClient(guarded, timeout)
	px.scripts = newScriptCache()
	return px
}

// customProfile is the profile of a custom proxy: its paths, nothing else.
func customProfile(p *Proxy) *profile {
	pr := &profile{name: "custom"}
	for _, s := range p.Scripts {
		pr.routes = append(pr.routes, route{path: s, script: true})
	}
	for _, s := range p.Paths {
		pr.routes = append(pr.routes, route{path: s, build: buildCustom})
	}
	if u, err := url.Parse(p.Upstream); err == nil {
		pr.pageHosts = []string{u.Hostname()}
		pr.endpointHosts = []string{u.Hostname()}
	}
	return pr
}

// newVendorClient is the client for one proxy: no cookies, no proxy from
// the environment, no redirects followed, and, for the vendors' public
// hosts, no connection to a loopback, private or link-local address.
func newVendorClient(guarded bool, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	if guarded {
		d.Control = guardDial
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// errBlockedAddress is the dial error for a public vendor host that
// resolved to an internal address.
var errBlockedAddress = errors.New("vendor host resolved to a loopback, private or link-local address")

// guardDial refuses connections to internal addresses. It runs after DNS
// resolution, on the address actually dialled, so a DNS answer cannot
// steer a public vendor host inside.
func guardDial(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || internalIP(ip) {
		return errBlockedAddress
	}
	return nil
}

var (
	cgnat  = mustCIDR("100.64.0.0/10")
	nat64  = mustCIDR("64:ff9b::/96")
	sixTo4 = mustCIDR("2002::/16")
)

func mustCIDR(s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return n
}

// internalIP reports whether ip, or the IPv4 address it wraps, is not a
// public unicast address.
func internalIP(ip net.IP) bool {
	if v4 := unwrapIPv4(ip); v4 != nil {
		ip = v4
	}
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || cgnat.Contains(ip) ||
		ip.Equal(net.IPv4bcast)
}

// serve answers a request under the proxy's prefix.
func (px *proxy) serve(w http.ResponseWriter, r *http.Request) error {
	sub := strings.TrimPrefix(r.URL.Path, px.cfg.Prefix)
	rt := px.prof.route(sub)
	if rt == nil {
		px.count("not_found")
		http.Error(w, "not found", http.StatusNotFound)
		return nil
	}
	if rt.script {
		return px.serveScript(w, r, sub, rt)
	}
	return px.serveCall(w, r, sub, rt)
}

// count adds one call's outcome to the metrics.
func (px *proxy) count(outcome string) {
	metrics.proxyRequests.WithLabelValues(px.prof.name, outcome).Inc()
}

// drop answers a call that is not forwarded, as the vendor's script
// expects a success, and counts why.
func (px *proxy) drop(w http.ResponseWriter, r *http.Request, rt *route, outcome string, status int) {
	px.count(outcome)
	if ce := px.logger.Check(zapcore.DebugLevel, "analytics call dropped"); ce != nil {
		ce.Write(zap.String("path", r.URL.Path), zap.String("reason", outcome))
	}
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	px.reply(w, r, rt, nil)
}

// reply answers the browser with allowlisted headers only.
func (px *proxy) reply(w http.ResponseWriter, r *http.Request, rt *route, vendorJSON []byte) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	switch {
	case rt.reply == replyGIF && r.Method == http.MethodGet:
		h.Set("Content-Type", "image/gif")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(gif1x1)
	case rt.reply == replyJSON || rt.reply == replyVendor:
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if len(vendorJSON) == 0 {
			vendorJSON = []byte("{}")
		}
		_, _ = w.Write(vendorJSON)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// gif1x1 is a transparent 1×1 GIF.
var gif1x1 = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// serveCall builds a collection call from the incoming one and forwards
// it, or drops it.
func (px *proxy) serveCall(w http.ResponseWriter, r *http.Request, sub string, rt *route) error {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		px.drop(w, r, rt, "method", http.StatusMethodNotAllowed)
		return nil
	}
	ip, now := clientIP(r), time.Now()
	if px.limiter != nil && !px.limiter.allow(ip.String(), now) {
		px.drop(w, r, rt, "rate_limited", http.StatusTooManyRequests)
		return nil
	}
	if px.cfg.Consent != "exempt" {
		st := px.consent.Read(r, now)
		if !st.VendorAllowed("analytics", px.prof.vendor) {
			px.drop(w, r, rt, "no_consent", 0)
			return nil
		}
	}
	in, err := px.readCall(r)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			px.drop(w, r, rt, "too_large", http.StatusRequestEntityTooLarge)
			return nil
		}
		px.drop(w, r, rt, "malformed", 0)
		return nil
	}
	in.ip, in.now = ip, now
	out, err := rt.build(px, in)
	if err != nil {
		reason := "malformed"
		var d dropReason
		if errors.As(err, &d) {
			reason = string(d)
		}
		px.drop(w, r, rt, reason, 0)
		return nil
	}
	if out == nil {
		px.drop(w, r, rt, "filtered", 0)
		return nil
	}
	resp, err := px.send(r.Context(), sub, out, in)
	if err != nil {
		px.logger.Warn("analytics call to the vendor failed", zap.String("path", sub), zap.Error(causeOf(err)))
		px.drop(w, r, rt, "upstream_error", 0)
		return nil
	}
	defer resp.Body.Close()
	var body []byte
	if rt.reply == replyVendor && resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20+1))
		if err != nil || len(body) > 1<<20 {
			body = nil
		}
	} else {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	}
	if resp.StatusCode >= 300 {
		px.count("vendor_status")
		if ce := px.logger.Check(zapcore.DebugLevel, "vendor answered with an error"); ce != nil {
			ce.Write(zap.String("path", sub), zap.Int("status", resp.StatusCode))
		}
		px.reply(w, r, rt, nil)
		return nil
	}
	px.count("forwarded")
	px.reply(w, r, rt, body)
	return nil
}

// send makes the outgoing request: a fixed upstream, the route's fixed
// path, and only what the builder put in out.
func (px *proxy) send(ctx context.Context, sub string, out *outbound, in *inbound) (*http.Response, error) {
	u := *px.collect
	u.Path = strings.TrimSuffix(u.Path, "/") + sub
	u.RawPath = ""
	u.RawQuery = out.query.Encode()
	method := http.MethodGet
	var body io.Reader
	if out.body != nil {
		method = http.MethodPost
		body = strings.NewReader(string(out.body))
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header = http.Header{}
	if out.body != nil {
		req.Header.Set("Content-Type", out.contentType)
	}
	req.Header.Set("User-Agent", reduceUA(in.ua))
	if out.ipHeader != "" {
		req.Header.Set("X-Forwarded-For", out.ipHeader)
	}
	return px.client.Do(req)
}

// clientIP is the visitor's address: Caddy's client IP (which honours
// trusted_proxies), else the connection's.
func clientIP(r *http.Request) net.IP {
	if v, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok {
		if ip := net.ParseIP(v); ip != nil {
			return ip
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip
	}
	return net.IPv4zero
}

// causeOf returns what an HTTP client's error says without the URL it
// quotes, query and all, for the logs.
func causeOf(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
