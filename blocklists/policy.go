package blocklists

import (
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/net/publicsuffix"
)

// Actions a policy can give.
const (
	ActionKeep        = "keep"
	ActionRemove      = "remove"
	ActionDefer       = "defer"
	ActionPlaceholder = "placeholder"
	ActionProxy       = "proxy"
)

// ValidAction reports whether a is an action name.
func ValidAction(a string) bool {
	switch a {
	case ActionKeep, ActionRemove, ActionDefer, ActionPlaceholder, ActionProxy:
		return true
	}
	return false
}

// DefaultActions is the product policy: trackers wait for consent, embeds
// become click-to-load, and what a shop needs to work is kept.
var DefaultActions = map[string]string{
	"analytics": ActionDefer, "advertising": ActionDefer, "social": ActionDefer,
	"session_replay": ActionDefer, "tag_manager": ActionDefer, "consent": ActionKeep,
	"embeds": ActionPlaceholder, "fonts": ActionKeep, "cdn": ActionKeep,
	"payments": ActionKeep, "essential": ActionKeep,
}

// Verdict is the policy's answer for one resource.
type Verdict struct {
	Action   string
	Category string // "" for first party
	Vendor   string
	Host     string // the third-party host, "" for first party
}

// Script is what the rewriter read from an inline script.
type Script struct {
	Calls, Idents, Strings, Hosts []string
	Unclassifiable                bool // oversize or unlexable: fail closed
}

// Policy resolves URLs and inline scripts to actions. Its DB can be swapped
// atomically (SetDB) while readers decide, with no lock on the hot path.
type Policy struct {
	db atomic.Pointer[DB]
	// Actions maps a category to an action; missing categories use
	// DefaultActions.
	Actions map[string]string
	// Unknown is the action for unlisted third parties (default defer).
	Unknown string
	// Allow and Deny are hosts (and their subdomains) always kept, or always
	// given DenyAction (default remove).
	Allow, Deny []string
	DenyAction  string
	// FirstParty lists hosts (and subdomains) that count as first party:
	// the site's CDN, its analytics subdomain.
	FirstParty []string
	// ThirdParty lists first-party-looking hosts that are third parties,
	// such as a subdomain CNAME-cloaked to a vendor.
	ThirdParty []string
}

// NewPolicy returns a policy over db with the default actions.
func NewPolicy(db *DB) *Policy {
	p := &Policy{Unknown: ActionDefer, DenyAction: ActionRemove}
	p.db.Store(db)
	return p
}

// SetDB swaps in a new database atomically.
func (p *Policy) SetDB(db *DB) { p.db.Store(db) }

// DB returns the current database.
func (p *Policy) DB() *DB { return p.db.Load() }

// Validate checks the configured actions and hosts.
func (p *Policy) Validate() error {
	for c, a := range p.Actions {
		if !ValidCategory(c) {
			return fmt.Errorf("unknown category %q", c)
		}
		if !ValidAction(a) {
			return fmt.Errorf("category %s: unknown action %q", c, a)
		}
	}
	if p.Unknown != "" && !ValidAction(p.Unknown) {
		return fmt.Errorf("unknown action %q for unlisted third parties", p.Unknown)
	}
	return nil
}

func (p *Policy) action(category string) string {
	if a, ok := p.Actions[category]; ok {
		return a
	}
	if category == "unknown" {
		if p.Unknown == "" {
			return ActionDefer
		}
		return p.Unknown
	}
	if a, ok := DefaultActions[category]; ok {
		return a
	}
	return p.action("unknown")
}

func matchesAny(host string, list []string) bool {
	for _, h := range list {
		if host == h || (len(host) > len(h) && strings.HasSuffix(host, h) && host[len(host)-len(h)-1] == '.') {
			return true
		}
	}
	return false
}

// ThirdPartyHost reports whether host is a third party on a page served
// from pageHost: a different registrable domain (Public Suffix List) that
// is not a configured first-party alias, or a host declared third party.
func (p *Policy) ThirdPartyHost(pageHost, host string) bool {
	if matchesAny(host, p.ThirdParty) {
		return true
	}
	if host == pageHost || matchesAny(host, p.FirstParty) {
		return false
	}
	a, err1 := publicsuffix.EffectiveTLDPlusOne(host)
	b, err2 := publicsuffix.EffectiveTLDPlusOne(pageHost)
	if err1 != nil || err2 != nil {
		return host != pageHost
	}
	return a != b
}

// DecideURL decides a resource at host/path?query on a page at pageHost.
func (p *Policy) DecideURL(pageHost, host, path, query string) Verdict {
	db := p.db.Load()
	if !p.ThirdPartyHost(pageHost, host) {
		// First-party copies of vendor loaders are recognised by shape.
		if db != nil && len(db.Shapes) > 0 {
			pq := path
			if query != "" {
				pq = path + "?" + query
			}
			for _, s := range db.Shapes {
				if strings.Contains(pq, s.Prefix) {
					return Verdict{Action: ActionKeep, Category: s.Category, Vendor: s.Vendor + " (first-party copy)"}
				}
			}
		}
		return Verdict{Action: ActionKeep}
	}
	v := Verdict{Host: host, Category: "unknown"}
	if matchesAny(host, p.Allow) {
		v.Action = ActionKeep
		if db != nil {
			if e, ok := db.Lookup(host, path); ok && !e.Exception {
				v.Category, v.Vendor = e.Category, e.Vendor
			}
		}
		return v
	}
	if db != nil {
		if e, ok := db.Lookup(host, path); ok {
			if e.Exception {
				v.Action = ActionKeep
				return v
			}
			v.Category, v.Vendor = e.Category, e.Vendor
		}
	}
	if matchesAny(host, p.Deny) {
		v.Action = p.DenyAction
		if v.Action == "" {
			v.Action = ActionRemove
		}
		return v
	}
	v.Action = p.action(v.Category)
	return v
}

// DecideScript decides an inline script by signature, or by the tracker
// hosts its string literals name. A script that matches nothing is first
// party and kept; one that could not be read is unclassified and gets the
// unknown action.
func (p *Policy) DecideScript(s *Script) Verdict {
	if s == nil || s.Unclassifiable {
		return Verdict{Action: p.action("unknown"), Category: "unknown"}
	}
	db := p.db.Load()
	if db == nil {
		return Verdict{Action: ActionKeep}
	}
	for _, sig := range db.Signatures {
		if sig.matches(s) {
			return Verdict{Action: p.action(sig.Category), Category: sig.Category, Vendor: sig.Vendor}
		}
	}
	for _, h := range s.Hosts {
		if e, ok := db.Lookup(h, ""); ok && !e.Exception && e.Category != "cdn" && e.Category != "fonts" {
			return Verdict{Action: p.action(e.Category), Category: e.Category, Vendor: e.Vendor, Host: h}
		}
	}
	return Verdict{Action: ActionKeep}
}

func (sig *Signature) matches(s *Script) bool {
	for _, t := range sig.Terms {
		ok := false
		switch {
		case strings.HasPrefix(t, "call:"):
			ok = contains(s.Calls, t[5:])
		case strings.HasPrefix(t, "ident:"):
			ok = contains(s.Idents, t[6:])
		case strings.HasPrefix(t, "str:"):
			for _, str := range s.Strings {
				if strings.Contains(str, t[4:]) {
					ok = true
					break
				}
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
