package main

import (
	"context"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/firstparty/firstparty/rewrite"
)

// CNAME cloaking: a subdomain of the shop that is a DNS alias of a
// tracker's (metrics.shop.example → shop.eulerian.net) looks first party
// in the page, and the module keeps what it serves; the configuration's
// third_party declares it (docs/privacy.md, Known limits). scan looks up
// the canonical name of each host of the site's own that a page loads
// from, and reports a host whose name is a tracker's as that tracker,
// kept (cloaked).

// cnameModes are the values of --cname: auto looks names up for the
// pages scanned over HTTP, not for saved files.
var cnameModes = []string{"auto", "on", "off"}

// cnameTimeout bounds one lookup.
const cnameTimeout = 5 * time.Second

// lookupCNAME is the resolver's (a test's stand-in replaces it). It
// returns the last name of the host's chain of CNAME records, or the host
// itself when it has none.
var lookupCNAME = net.DefaultResolver.LookupCNAME

// cnameCache looks each host up once a scan, however many pages load
// from it.
type cnameCache struct {
	mu sync.Mutex
	m  map[string]*cnameEntry
}

type cnameEntry struct {
	once sync.Once
	name string // the canonical name, lower case without the root's dot; "" when it is the host's own or the lookup failed
}

// canonical returns host's canonical name, or "" when it has none other
// than its own, or the lookup failed (a name that does not resolve loads
// nothing). Addresses and localhost are not looked up (a name of one
// label, IPv6 addresses among them, is none to look up).
func (c *cnameCache) canonical(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if !strings.Contains(host, ".") || strings.HasSuffix(host, ".localhost") || net.ParseIP(host) != nil {
		return ""
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*cnameEntry{}
	}
	e := c.m[host]
	if e == nil {
		e = &cnameEntry{}
		c.m[host] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cnameTimeout)
		defer cancel()
		name, err := lookupCNAME(ctx, host)
		if name = strings.ToLower(strings.TrimSuffix(name, ".")); err == nil && name != host {
			e.name = name
		}
	})
	return e.name
}

// hostKind is a host of the site's own that a page loads from, in one
// element kind (ownURLs.hosts).
type hostKind struct {
	host string
	kind rewrite.Kind
}

// cloaked returns the findings of the hosts of the site's own that a
// page loads from (with how many elements of each kind) whose canonical
// name is a tracker's: a host the policy decides, as a third party, as
// one of the tracker categories. Such a host is kept by the module (it
// is first party to it), so each is reported keep, with its CNAME.
func (c *cnameCache) cloaked(hosts map[hostKind]int, page *url.URL, pol rewrite.Policy) []FindingReport {
	var out []FindingReport
	for hk, n := range hosts {
		name := c.canonical(hk.host)
		if name == "" {
			continue
		}
		d := pol.Decide(page, &rewrite.Resource{Kind: hk.kind, URL: &url.URL{Scheme: "https", Host: name, Path: "/"}})
		if !trackerCategories[d.Category] || d.Category == "unknown" {
			continue
		}
		fr := FindingReport{Host: hk.host, CNAME: name, Vendor: d.Vendor, Category: d.Category, Kind: kindNames[hk.kind], Action: rewrite.Keep.String(), Count: n}
		if fr.Kind == "" {
			fr.Kind = hk.kind.String()
		}
		out = append(out, fr)
	}
	return out
}

// cnameFor returns the cache a target's scan looks names up through
// under mode (cnameModes), or nil when it does not.
func cnameFor(mode, target string, c *cnameCache) *cnameCache {
	if mode == "on" || mode == "auto" && isURL(target) {
		return c
	}
	return nil
}
