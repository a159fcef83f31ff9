package main

import (
	"context"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/firstparty/firstparty/rewrite"
	"golang.org/x/net/dns/dnsmessage"
)

// CNAME cloaking: a subdomain of the shop that is a DNS alias of a
// tracker's (metrics.shop.example → shop.eulerian.net) looks first party
// in the page, and the module keeps what it serves; the configuration's
// third_party declares it (docs/privacy.md, Known limits). scan looks up
// the CNAME chain of each host of the site's own that a page loads from,
// and reports a host whose chain leads through a tracker's name as that
// tracker, kept (cloaked).

// cnameModes are the values of --cname: auto looks names up for the
// pages scanned over HTTP, not for saved files.
var cnameModes = []string{"auto", "on", "off"}

// cnameTimeout bounds one lookup.
const cnameTimeout = 5 * time.Second

// lookupChain returns the names host's chain of CNAME records leads
// through, in order (metrics.shop.example → shop.eulerian.net → a CDN's
// name), none when it has none (a test's stand-in replaces it).
var lookupChain = resolverChain

// dnsServer, when set, is the address every DNS query goes to (a test's
// stub server); otherwise the system's resolver configuration names it.
var dnsServer string

// maxChain bounds the names a chain is followed through (resolvers stop
// well before: a chain of more than 8 or so is refused).
const maxChain = 16

// resolverChain asks Go's own resolver (PreferGo, on every platform:
// the hosts file, then the servers of /etc/resolv.conf or, on Windows,
// the adapters'), which follows the chain, and reads the chain off the
// answers it receives: Resolver.LookupCNAME returns the last name alone,
// where a tracker's name is often in the middle (shop.tracker.example →
// the tracker's CDN). The answers are read on the resolver's
// connections, only those to the queries it sent on them (by their ids),
// and only their CNAME records that lead on from host. When none was
// read, the last name, if it is another, stands alone.
func resolverChain(ctx context.Context, host string) ([]string, error) {
	rec := &cnameRecords{}
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		if dnsServer != "" {
			address = dnsServer
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, network, address)
		if err != nil {
			return nil, err
		}
		// The resolver frames its messages as the connection's type
		// says: a PacketConn's are datagrams, any other's a stream.
		if pc, ok := c.(net.PacketConn); ok {
			return tapPacketConn{&tapConn{Conn: c, rec: rec}, pc}, nil
		}
		return &tapConn{Conn: c, rec: rec, stream: true}, nil
	}}
	// The name as absolute: a search domain (Kubernetes' ndots:5) is
	// not tried first.
	last, err := r.LookupCNAME(ctx, host+".")
	if err != nil {
		return nil, err
	}
	chain := rec.chain(host)
	if last = dnsName(last); len(chain) == 0 && last != "" && last != host {
		chain = []string{last}
	}
	return chain, nil
}

// dnsName is a DNS name as the chain holds it: lower case, without the
// root's dot.
func dnsName(s string) string {
	return strings.ToLower(strings.TrimSuffix(s, "."))
}

// cnameRecords holds the CNAME records of the answers one lookup's
// connections read: owner → target, lower case without the root's dot.
type cnameRecords struct {
	mu sync.Mutex
	m  map[string]string
}

// add reads the CNAME records of msg, an answer to one of ids.
func (r *cnameRecords) add(msg []byte, ids map[uint16]bool) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || !h.Response || h.RCode != dnsmessage.RCodeSuccess || !ids[h.ID] {
		return
	}
	if p.SkipAllQuestions() != nil {
		return
	}
	for {
		ah, err := p.AnswerHeader()
		if err != nil {
			return
		}
		if ah.Type != dnsmessage.TypeCNAME || ah.Class != dnsmessage.ClassINET {
			if p.SkipAnswer() != nil {
				return
			}
			continue
		}
		c, err := p.CNAMEResource()
		if err != nil {
			return
		}
		owner, target := dnsName(ah.Name.String()), dnsName(c.CNAME.String())
		r.mu.Lock()
		if r.m == nil {
			r.m = map[string]string{}
		}
		if len(r.m) < 4*maxChain {
			r.m[owner] = target
		}
		r.mu.Unlock()
	}
}

// chain follows the records from host, up to maxChain names, and stops
// at a loop.
func (r *cnameRecords) chain(host string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	seen := map[string]bool{host: true}
	for name := r.m[host]; name != "" && !seen[name] && len(out) < maxChain; name = r.m[name] {
		seen[name] = true
		out = append(out, name)
	}
	return out
}

// tapConn is a connection of the resolver's whose answers are read as
// they pass: on UDP each read is one message, on TCP each message comes
// after its length in two bytes. The ids of the queries written on it
// are the answers it reads.
type tapConn struct {
	net.Conn
	rec    *cnameRecords
	stream bool
	ids    map[uint16]bool
	in     []byte // TCP: what was read and is not yet a whole message
}

// maxDNSMessage is the largest DNS message (its length is two bytes).
const maxDNSMessage = 1<<16 - 1

func (c *tapConn) Write(b []byte) (int, error) {
	c.sent(b)
	return c.Conn.Write(b)
}

// sent notes the id of the query b.
func (c *tapConn) sent(b []byte) {
	q := b
	if c.stream && len(q) >= 2 {
		q = q[2:]
	}
	if len(q) >= 2 {
		if c.ids == nil {
			c.ids = map[uint16]bool{}
		}
		if len(c.ids) < 64 {
			c.ids[uint16(q[0])<<8|uint16(q[1])] = true
		}
	}
}

func (c *tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		if !c.stream {
			c.rec.add(b[:n], c.ids)
		} else if len(c.in)+n <= 2+maxDNSMessage {
			c.in = append(c.in, b[:n]...)
			for len(c.in) >= 2 {
				size := int(c.in[0])<<8 | int(c.in[1])
				if len(c.in) < 2+size {
					break
				}
				c.rec.add(c.in[2:2+size], c.ids)
				c.in = c.in[2+size:]
			}
		}
	}
	return n, err
}

// tapPacketConn is a tapConn on UDP, which the resolver must see as a
// PacketConn to send its messages unframed.
type tapPacketConn struct {
	*tapConn
	pc net.PacketConn
}

func (c tapPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.pc.ReadFrom(b)
	if n > 0 {
		c.rec.add(b[:n], c.ids)
	}
	return n, addr, err
}

func (c tapPacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	c.sent(b)
	return c.pc.WriteTo(b, addr)
}

// cnameCache looks each host up once a scan, however many pages load
// from it.
type cnameCache struct {
	mu sync.Mutex
	m  map[string]*cnameEntry
}

type cnameEntry struct {
	once  sync.Once
	chain []string // the names of the host's CNAME chain, lower case without the root's dot; none when it has none or the lookup failed
}

// chain returns the names host's CNAME chain leads through, none when it
// has none, or the lookup failed (a name that does not resolve loads
// nothing). Addresses and localhost are not looked up (a name of one
// label, IPv6 addresses among them, is none to look up).
func (c *cnameCache) chain(host string) []string {
	host = dnsName(host)
	if !strings.Contains(host, ".") || strings.HasSuffix(host, ".localhost") || net.ParseIP(host) != nil {
		return nil
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
		if chain, err := lookupChain(ctx, host); err == nil {
			e.chain = chain
		}
	})
	return e.chain
}

// hostKind is a host of the site's own that a page loads from, in one
// element kind (ownURLs.hosts).
type hostKind struct {
	host string
	kind rewrite.Kind
}

// cloaked returns the findings of the hosts of the site's own that a
// page loads from (with how many elements of each kind) whose CNAME chain
// leads through a tracker's name: one the policy decides, as a third
// party, as one of the tracker categories. The first such name of the
// chain is reported (a tracker's name is often followed by its CDN's).
// Such a host is kept by the module (it is first party to it), so each is
// reported keep, with that name as its CNAME.
func (c *cnameCache) cloaked(hosts map[hostKind]int, page *url.URL, pol rewrite.Policy) []FindingReport {
	var out []FindingReport
	for hk, n := range hosts {
		for _, name := range c.chain(hk.host) {
			d := pol.Decide(page, &rewrite.Resource{Kind: hk.kind, URL: &url.URL{Scheme: "https", Host: name, Path: "/"}})
			if !trackerCategories[d.Category] || d.Category == "unknown" {
				continue
			}
			fr := FindingReport{Host: hk.host, CNAME: name, Vendor: d.Vendor, Category: d.Category, Kind: kindNames[hk.kind], Action: rewrite.Keep.String(), Count: n}
			if fr.Kind == "" {
				fr.Kind = hk.kind.String()
			}
			out = append(out, fr)
			break
		}
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
