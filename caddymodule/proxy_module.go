package caddymodule

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/firstparty/firstparty/rewrite"
)

// provisionProxies sets up the configured proxies and the pseudonym key
// they share, read from (or made once in) Caddy's storage.
func (h *Handler) provisionProxies(ctx caddy.Context) error {
	if len(h.Proxies) == 0 {
		return nil
	}
	keys := newKeyring()
	if st := storageOf(ctx); st == nil {
		h.logger.Warn("no Caddy storage: the analytics proxy's pseudonym key lives in memory and is not shared with other instances")
	} else {
		var err error
		if keys, err = loadKeyring(ctx, st); err != nil {
			return err
		}
	}
	h.proxies = nil
	for i := range h.Proxies {
		p := &h.Proxies[i]
		px := p.provision(keys, h.consent, h.logger)
		if p.Consent == "exempt" {
			h.logger.Warn("analytics proxy forwards without consent (consent exempt): that is the site owner's legal decision",
				zap.String("proxy", p.Profile), zap.String("prefix", p.Prefix))
		}
		h.proxies = append(h.proxies, px)
	}
	return nil
}

// storageOf is Caddy's configured storage, or nil when the context has no
// loaded config (a handler provisioned outside a running Caddy).
func storageOf(ctx caddy.Context) (st certmagic.Storage) {
	defer func() {
		if recover() != nil {
			st = nil
		}
	}()
	return ctx.Storage()
}

// validateProxies checks each proxy and that no two prefixes, nor a
// prefix and the runtime path, overlap.
func validateProxies(ps []Proxy, runtimePath string) error {
	if runtimePath == "" {
		runtimePath = "/_fp/consent.js"
	}
	for i := range ps {
		if err := ps[i].validate(); err != nil {
			return err
		}
		if under(runtimePath, ps[i].Prefix) {
			return fmt.Errorf("proxy %s: prefix %s covers the consent runtime's path %s", ps[i].Profile, ps[i].Prefix, runtimePath)
		}
		for j := range i {
			if err := ps[i].overlaps(&ps[j]); err != nil {
				return err
			}
		}
	}
	return nil
}

// overlaps reports a prefix that is o's or lies under or over it: a request
// could not tell the two proxies apart.
func (p *Proxy) overlaps(o *Proxy) error {
	if under(p.Prefix, o.Prefix) || under(o.Prefix, p.Prefix) {
		return fmt.Errorf("proxy %s: prefix %s overlaps proxy %s's %s", p.Profile, p.Prefix, o.Profile, o.Prefix)
	}
	return nil
}

// under reports whether path is prefix or below it.
func under(path, prefix string) bool {
	return strings.HasPrefix(path, prefix) && (len(path) == len(prefix) || path[len(prefix)] == '/')
}

// proxyPolicy points the proxied vendors' scripts at the proxies: deferred
// until analytics consent (the runtime activates them at the first-party
// URL), or live when the proxy is consent exempt.
func (h *Handler) proxyPolicy(base rewrite.Policy) rewrite.Policy {
	if len(h.proxies) == 0 {
		return base
	}
	return proxiedPolicy{h, base}
}

// proxiedPolicy is a policy whose vendor scripts the handler's proxies
// serve, found by their URL wherever it is: a page's own script URLs are
// not kept unasked (rewrite.OwnHostPolicy), the rest as the base policy
// says.
type proxiedPolicy struct {
	h    *Handler
	base rewrite.Policy
}

// OwnHost implements rewrite.OwnHostPolicy.
func (pp proxiedPolicy) OwnHost(page *url.URL) ([]string, uint64) {
	if b, ok := pp.base.(rewrite.OwnHostPolicy); ok {
		m, kinds := b.OwnHost(page)
		return m, kinds &^ (1 << rewrite.KindScript)
	}
	return nil, 0
}

// Decide implements rewrite.Policy.
func (pp proxiedPolicy) Decide(page *url.URL, r *rewrite.Resource) rewrite.Decision {
	h := pp.h
	d := pp.base.Decide(page, r)
	if r.URL == nil || r.Kind != rewrite.KindScript {
		return d
	}
	for _, px := range h.proxies {
		to, ok := px.pageScript(r.URL)
		if !ok {
			continue
		}
		d.RewriteTo, d.Category = to, "analytics"
		if d.Vendor == "" {
			d.Vendor = px.prof.vendor
		}
		d.Action = rewrite.Defer
		if px.cfg.Consent == "exempt" {
			d.Action = rewrite.RewriteURL
		}
		return d
	}
	return d
}

// pageScript returns the proxy URL of a vendor script URL found on a
// page, if this proxy serves it.
func (px *proxy) pageScript(u *url.URL) (string, bool) {
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if !slices.Contains(px.prof.pageHosts, host) && (px.script == nil || !strings.EqualFold(px.script.Hostname(), host)) {
		return "", false
	}
	p := u.Path
	if px.script != nil && px.script.Path != "" {
		var ok bool
		if p, ok = strings.CutPrefix(p, strings.TrimSuffix(px.script.Path, "/")); !ok {
			return "", false
		}
	}
	rt := px.prof.route(p)
	if rt == nil || !rt.script {
		return "", false
	}
	q := url.Values{}
	if rt.idParam != "" {
		in, err := url.ParseQuery(u.RawQuery)
		if err != nil || len(in[rt.idParam]) != 1 || !px.ids[in.Get(rt.idParam)] {
			return "", false
		}
		q.Set(rt.idParam, in.Get(rt.idParam))
		if l := in["l"]; len(l) == 1 && jsIdent(l[0]) {
			q.Set("l", l[0])
		}
	}
	to := px.cfg.Prefix + p
	if len(q) > 0 {
		to += "?" + q.Encode()
	}
	return to, true
}
