package caddymodule

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/firstparty/firstparty/blocklists"
)

// Consent evaluation, server side. The consent runtime (assets/consent.js)
// applies the same rules in the browser; TestBrowserConsentParity (browser_test.go)
// runs both over the same cookies.
//
// The rule, per category (docs/consent.md):
//  1. Among the explicit choices (the visitor's own in our banner or API,
//     or a consent manager's stored choice), the newest wins; at the same
//     time, or when no time is known, a denial beats a grant.
//  2. Without an explicit choice, GPC (Sec-GPC: 1) denies advertising and
//     social, whatever an implicit grant ("Accept all") says.
//  3. Otherwise an implicit grant grants, and no signal at all denies.

const (
	sigNone = iota
	sigImplicit
	sigGrant
	sigDeny
)

// signal is one source's word on one category or vendor.
type signal struct {
	state int8
	at    int64 // unix seconds; 0 unknown
}

// merge keeps the stronger of two signals under the rule above.
func merge(a, b signal) signal {
	ea, eb := a.state >= sigGrant, b.state >= sigGrant
	switch {
	case ea != eb:
		if ea {
			return a
		}
		return b
	case !ea:
		if a.state >= b.state {
			return a
		}
		return b
	case a.at != b.at:
		if a.at > b.at {
			return a
		}
		return b
	case b.state == sigDeny:
		return b
	}
	return a
}

// gpcCategories are the categories GPC denies unless explicitly granted.
var gpcCategories = map[string]bool{"advertising": true, "social": true}

// ConsentState is what a request says the visitor consented to.
type ConsentState struct {
	cats    map[string]signal
	vendors map[string]signal
	// GPC is set when the request carried Sec-GPC: 1.
	GPC bool
	// Sources names the cookies that contributed (fp_consent, cookiebot,
	// onetrust, klaro, tcf, zaraz), sorted.
	Sources []string
}

// Granted reports whether category cat is granted.
func (c *ConsentState) Granted(cat string) bool {
	s := c.cats[cat]
	if s.state == sigNone {
		s = c.cats["*"]
	}
	if s.state < sigGrant && c.GPC && gpcCategories[cat] {
		return false
	}
	return s.state == sigGrant || s.state == sigImplicit
}

// VendorAllowed reports whether an element of vendor in category cat may
// load: an explicit vendor grant ("always allow"), or a granted category
// that no newer vendor-level denial (a TCF vendor consent) overrides.
func (c *ConsentState) VendorAllowed(cat, vendor string) bool {
	v := c.vendors[vendorKey(vendor)]
	if v.state == sigGrant {
		return true
	}
	return c.Granted(cat) && v.state != sigDeny
}

// addSignal merges s into m[k].
func addSignal(m map[string]signal, k string, s signal) {
	m[k] = merge(m[k], s)
}

// vendorKey is the form a vendor name takes in the consent cookie.
func vendorKey(v string) string {
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i] | 0x20
		if c >= 'a' && c <= 'z' || v[i] >= '0' && v[i] <= '9' {
			b = append(b, v[i]|0x20)
		} else if len(b) > 0 && b[len(b)-1] != '_' {
			b = append(b, '_')
		}
	}
	return strings.TrimSuffix(string(b), "_")
}

// ConsentReader reads consent from requests: firstparty's own cookie, the
// consent managers' cookies, and GPC.
type ConsentReader struct {
	// Cookie is the name of firstparty's consent cookie. Default fp_consent.
	Cookie string
	// maps are the built-in mappings from a consent manager's keys to
	// categories with the overrides over them, keys in mapKey form; nil
	// means the built-in ones.
	maps map[string]map[string][]string
}

// NewConsentReader reads the cookie named cookie ("" for fp_consent), with
// overrides added to or replacing the built-in mappings of the consent
// managers' keys: overrides["klaro"]["my-stats"] = ["analytics"].
func NewConsentReader(cookie string, overrides map[string]map[string][]string) *ConsentReader {
	cr := &ConsentReader{Cookie: cookie, maps: map[string]map[string][]string{}}
	for cmp, m := range cmpMaps {
		cr.maps[cmp] = maps.Clone(m)
		for k, v := range overrides[cmp] {
			cr.maps[cmp][mapKey(cmp, k)] = v
		}
	}
	return cr
}

// checkConsentMap checks one consent_map entry.
func checkConsentMap(cmp, key string, cats []string) error {
	if _, ok := cmpMaps[cmp]; !ok {
		return fmt.Errorf("consent_map: unknown consent manager %q (want cookiebot, onetrust, klaro or zaraz)", cmp)
	}
	if strings.TrimSpace(key) == "" {
		return fmt.Errorf("consent_map %s: the key is empty", cmp)
	}
	if len(cats) == 0 {
		return fmt.Errorf("consent_map %s: want a key and at least one category", cmp)
	}
	for _, c := range cats {
		if !blocklists.ValidCategory(c) || c == "essential" {
			return fmt.Errorf("consent_map %s: %q is not a category a visitor grants", cmp, c)
		}
	}
	return nil
}

func (cr *ConsentReader) cookie() string {
	if cr == nil || cr.Cookie == "" {
		return "fp_consent"
	}
	return cr.Cookie
}

// maxCookie is the longest cookie value read; longer counts as none.
const maxCookie = 4096

// ownCookie is the grammar of fp_consent: version, creation and update
// times, then category (or @vendor, or * for all) and g (grant), d (deny)
// or a (implicit grant, from "Accept all").
var ownCookie = regexp.MustCompile(`^1\.([0-9]{1,11})\.([0-9]{1,11})((?:\.(?:\*|@?[a-z0-9_]{1,64})-[gda])*)$`)

// ConsentMaxAge is how long a choice lasts: 13 months, never extended.
const ConsentMaxAge = 395 * 24 * time.Hour

// Read evaluates the consent a request carries at time now.
func (cr *ConsentReader) Read(r *http.Request, now time.Time) ConsentState {
	st := ConsentState{cats: map[string]signal{}, vendors: map[string]signal{}}
	st.GPC = strings.TrimSpace(r.Header.Get("Sec-GPC")) == "1"
	name := cr.cookie()
	jar := map[string][]string{}
	for _, c := range r.Cookies() {
		jar[c.Name] = append(jar[c.Name], c.Value)
	}
	// one returns the single value of a cookie; duplicated, oversized or
	// absent counts as none.
	one := func(n string) (string, bool) {
		v := jar[n]
		if len(v) != 1 || len(v[0]) > maxCookie || v[0] == "" {
			return "", false
		}
		return v[0], true
	}
	used := func(src string) { st.Sources = append(st.Sources, src) }
	if v, ok := one(name); ok && cr.readOwn(&st, v, now) {
		used("fp_consent")
	}
	if v, ok := one("CookieConsent"); ok && cr.readCookiebot(&st, v) {
		used("cookiebot")
	}
	if v, ok := one("OptanonConsent"); ok {
		if closed, ok := one("OptanonAlertBoxClosed"); ok && cr.readOneTrust(&st, v, closed) {
			used("onetrust")
		}
	}
	if v, ok := one("klaro"); ok && cr.readJSONMap(&st, "klaro", v) {
		used("klaro")
	}
	if v, ok := one("cf_consent"); ok && cr.readJSONMap(&st, "zaraz", v) {
		used("zaraz")
	}
	if v, ok := one("euconsent-v2"); ok && readTCF(&st, v) {
		used("tcf")
	}
	sort.Strings(st.Sources)
	return st
}

func (cr *ConsentReader) readOwn(st *ConsentState, v string, now time.Time) bool {
	m := ownCookie.FindStringSubmatch(v)
	if m == nil {
		return false
	}
	created, _ := strconv.ParseInt(m[1], 10, 64)
	updated, _ := strconv.ParseInt(m[2], 10, 64)
	n := now.Unix()
	if updated < created || created > n+86400 || n-created > int64(ConsentMaxAge/time.Second) {
		return false
	}
	for _, it := range strings.Split(m[3], ".")[1:] {
		k, s := it[:len(it)-2], it[len(it)-1]
		sig := signal{at: updated}
		switch s {
		case 'g':
			sig.state = sigGrant
		case 'd':
			sig.state = sigDeny
		case 'a':
			sig.state = sigImplicit
		}
		if strings.HasPrefix(k, "@") {
			addSignal(st.vendors, k[1:], sig)
		} else {
			addSignal(st.cats, k, sig)
		}
	}
	return true
}

// cmpMaps are the built-in mappings from consent managers' keys to
// categories (docs/consent.md lists them).
var cmpMaps = map[string]map[string][]string{
	"cookiebot": {
		"statistics":  {"analytics", "session_replay"},
		"marketing":   {"advertising", "social", "tag_manager"},
		"preferences": {"embeds"},
	},
	"onetrust": {
		"C0002": {"analytics", "session_replay"},
		"C0003": {"embeds"},
		"C0004": {"advertising", "tag_manager"},
		"C0005": {"social"},
	},
	"klaro": {
		"analytics": {"analytics"}, "statistics": {"analytics"}, "googleanalytics": {"analytics"},
		"matomo": {"analytics"}, "plausible": {"analytics"},
		"hotjar": {"session_replay"}, "clarity": {"session_replay"}, "microsoftclarity": {"session_replay"},
		"marketing": {"advertising", "social", "tag_manager"}, "advertising": {"advertising"},
		"googleads": {"advertising"}, "facebook": {"social"}, "metapixel": {"social"},
		"linkedin": {"social"}, "social": {"social"},
		"youtube": {"embeds"}, "vimeo": {"embeds"}, "embeds": {"embeds"},
		"googletagmanager": {"tag_manager"}, "gtm": {"tag_manager"},
	},
	"zaraz": {},
}

// mapKey is how a consent manager's key is compared: Klaro service names
// lose case and punctuation ("google-analytics" is "googleanalytics").
func mapKey(cmp, k string) string {
	if cmp != "klaro" {
		return k
	}
	return strings.ReplaceAll(vendorKey(k), "_", "")
}

func (cr *ConsentReader) cats(cmp, key string) []string {
	m := cr.maps
	if m == nil {
		m = cmpMaps
	}
	return m[cmp][mapKey(cmp, key)]
}

// apply records one consent manager's choices: within one source a
// category is granted only when every key that maps to it is.
func (cr *ConsentReader) apply(st *ConsentState, cmp string, keys map[string]bool, at int64, implicit bool) bool {
	got := map[string]signal{}
	for k, on := range keys {
		for _, c := range cr.cats(cmp, k) {
			s := signal{state: sigGrant, at: at}
			if implicit {
				s.state = sigImplicit
			}
			if !on {
				s.state = sigDeny
			}
			if _, ok := got[c]; !ok || s.state == sigDeny {
				got[c] = s
			}
		}
	}
	for c, s := range got {
		addSignal(st.cats, c, s)
	}
	return len(got) > 0
}

// readCookiebot reads Cookiebot's CookieConsent, a URL-encoded JavaScript
// object literal: {stamp:'…',necessary:true,preferences:false,
// statistics:true,marketing:false,method:'explicit',ver:1,utc:…}. "-1"
// (a visitor outside the consent regions) says nothing.
func (cr *ConsentReader) readCookiebot(st *ConsentState, v string) bool {
	s, err := url.PathUnescape(v)
	if err != nil || len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return false
	}
	fields := map[string]string{}
	for _, kv := range strings.Split(s[1:len(s)-1], ",") {
		k, val, ok := strings.Cut(kv, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return false
		}
		if _, dup := fields[k]; dup {
			return false
		}
		fields[k] = strings.Trim(strings.TrimSpace(val), "'")
	}
	keys := map[string]bool{}
	for _, k := range []string{"preferences", "statistics", "marketing"} {
		switch fields[k] {
		case "true":
			keys[k] = true
		case "false":
			keys[k] = false
		default:
			return false
		}
	}
	ms, _ := strconv.ParseInt(fields["utc"], 10, 64)
	return cr.apply(st, "cookiebot", keys, ms/1000, fields["method"] == "implied")
}

// readOneTrust reads OneTrust's OptanonConsent (a query string whose
// groups are "C0001:1,C0002:0,…"), counted only once the visitor closed
// the banner (OptanonAlertBoxClosed, an ISO 8601 time): before that the
// groups are the site's defaults, not a choice.
func (cr *ConsentReader) readOneTrust(st *ConsentState, v, closed string) bool {
	q, err := url.ParseQuery(v)
	if err != nil || len(q["groups"]) != 1 {
		return false
	}
	c, err := url.QueryUnescape(closed)
	if err != nil {
		return false
	}
	t, err := time.Parse(time.RFC3339, c)
	if err != nil {
		return false
	}
	keys := map[string]bool{}
	for _, g := range strings.Split(q["groups"][0], ",") {
		id, on, ok := strings.Cut(g, ":")
		if !ok || (on != "0" && on != "1") {
			return false
		}
		keys[id] = on == "1"
	}
	return cr.apply(st, "onetrust", keys, t.Unix(), false)
}

// readJSONMap reads a URL-encoded JSON object of booleans: Klaro's klaro
// cookie (service → consent) and Zaraz's cf_consent (purpose → consent).
// Neither records a time.
func (cr *ConsentReader) readJSONMap(st *ConsentState, cmp, v string) bool {
	s, err := url.QueryUnescape(v)
	if err != nil {
		return false
	}
	dec := json.NewDecoder(strings.NewReader(s))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return false
	}
	keys := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return false
		}
		k, _ := kt.(string)
		var on bool
		if err := dec.Decode(&on); err != nil {
			return false
		}
		if _, dup := keys[k]; dup {
			return false
		}
		keys[k] = on
	}
	if _, err := dec.Token(); err != nil || dec.More() {
		return false
	}
	if _, err := dec.Token(); err == nil {
		return false // trailing data
	}
	return cr.apply(st, cmp, keys, 0, false)
}

// tcfVendors maps IAB Global Vendor List ids to the vendor names of the
// tracker database that they govern.
var tcfVendors = map[int][]string{
	755:  {"Google Analytics", "Google Ads", "Google AdSense", "Google Marketing Platform", "Google Tag Manager", "DoubleClick"},
	1126: {"Microsoft Advertising", "Microsoft Clarity"},
	91:   {"Criteo"},
	793:  {"Amazon Advertising"},
}

// tcfCats are the TCF purposes each category needs: storage (1) with
// content measurement (8) for analytics, with market research (9) too
// for session replay, and the advertising purposes (2, 3, 4, 7).
var tcfCats = map[string][]int{
	"analytics":      {1, 8},
	"session_replay": {1, 8, 9},
	"advertising":    {1, 2, 3, 4, 7},
	"tag_manager":    {1, 2, 3, 4, 7},
	"social":         {1, 3, 4},
}

// readTCF reads the core segment of an IAB TCF v2 string (euconsent-v2):
// purpose consents and vendor consents, dated by LastUpdated.
func readTCF(st *ConsentState, v string) bool {
	core, _, _ := strings.Cut(v, ".")
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(core, "="))
	if err != nil {
		return false
	}
	br := bitReader{b: b}
	if br.read(6) != 2 {
		return false
	}
	br.read(36)                 // Created
	updated := br.read(36) / 10 // LastUpdated, deciseconds
	br.read(12 + 12 + 6 + 12 + 12 + 6 + 1 + 1 + 12)
	purposes := br.read(24)
	br.read(24 + 1 + 12)
	maxVendor := int(br.read(16))
	// Only the ids in tcfVendors are looked at, so a string with many
	// wide ranges costs no more than its length.
	vendors := map[int]bool{}
	if br.read(1) == 0 {
		for id := 1; id <= maxVendor && !br.bad; id++ {
			if br.read(1) == 1 && tcfVendors[id] != nil {
				vendors[id] = true
			}
		}
	} else {
		n := int(br.read(12))
		for i := 0; i < n && !br.bad; i++ {
			isRange := br.read(1) == 1
			start := int(br.read(16))
			end := start
			if isRange {
				end = int(br.read(16))
			}
			if end < start || end > maxVendor {
				return false
			}
			for id := range tcfVendors {
				if id >= start && id <= end {
					vendors[id] = true
				}
			}
		}
	}
	if br.bad {
		return false
	}
	at := int64(updated)
	for cat, ps := range tcfCats {
		s := signal{state: sigGrant, at: at}
		for _, p := range ps {
			if purposes>>(24-p)&1 == 0 {
				s.state = sigDeny
			}
		}
		addSignal(st.cats, cat, s)
	}
	for id, names := range tcfVendors {
		s := signal{state: sigDeny, at: at}
		if vendors[id] {
			continue // a vendor consent only adds to the purposes
		}
		for _, n := range names {
			addSignal(st.vendors, vendorKey(n), s)
		}
	}
	return true
}

type bitReader struct {
	b   []byte
	off int
	bad bool
}

func (r *bitReader) read(n int) uint64 {
	var v uint64
	for i := 0; i < n; i++ {
		if r.off >= len(r.b)*8 {
			r.bad = true
			return 0
		}
		v = v<<1 | uint64(r.b[r.off/8]>>(7-r.off%8)&1)
		r.off++
	}
	return v
}
