package caddymodule

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	// onetrust, klaro, tcf, zaraz, complianz, borlabs, cookieyes,
	// cookiefirst, cookiehub, cookiescript, didomi, iubenda,
	// tarteaucitron), sorted.
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

// AnyVendorAllowed reports whether the visitor allowed a vendor
// explicitly (Always allow), which a later denial has not undone.
func (c *ConsentState) AnyVendorAllowed() bool {
	for _, s := range c.vendors {
		if s.state == sigGrant {
			return true
		}
	}
	return false
}

// Key names what the state allows, as Granted and VendorAllowed read it:
// two states with one Key allow the same categories and vendors. It lists
// Granted for each category of the tracker database, "unknown", "*" (any
// other) and every category the state has a word on, then each vendor
// granted or denied by name.
func (c *ConsentState) Key() string {
	cats := append(slices.Clone(blocklists.Categories), "unknown", "*")
	for k := range c.cats {
		cats = append(cats, k)
	}
	slices.Sort(cats)
	var b strings.Builder
	for _, k := range slices.Compact(cats) {
		b.WriteString(k)
		if c.Granted(k) {
			b.WriteString("=1,")
		} else {
			b.WriteString("=0,")
		}
	}
	vendors := slices.Sorted(maps.Keys(c.vendors))
	for _, v := range vendors {
		switch c.vendors[v].state {
		case sigGrant:
			b.WriteString("@" + v + "=1,")
		case sigDeny:
			b.WriteString("@" + v + "=0,")
		}
	}
	return b.String()
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
		return fmt.Errorf("consent_map: unknown consent manager %q (want cookiebot, onetrust, klaro, zaraz, complianz, borlabs, cookieyes, cookiefirst, cookiehub, iubenda, cookiescript, didomi or tarteaucitron)", cmp)
	}
	if strings.TrimSpace(key) == "" {
		return fmt.Errorf("consent_map %s: the key is empty", cmp)
	}
	if key == "__proto__" {
		// In the runtime's config, an object literal, it would set the
		// map's prototype, and map nothing there.
		return fmt.Errorf("consent_map %s: %q cannot be a key", cmp, key)
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
	jar := cookieJar(r)
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
	if cr.readComplianz(&st, one) {
		used("complianz")
	}
	if v, ok := one("borlabs-cookie"); ok && cr.readBorlabs(&st, v) {
		used("borlabs")
	}
	if v, ok := one("cookieyes-consent"); ok && cr.readCookieYes(&st, v) {
		used("cookieyes")
	}
	if v, ok := one("cookiefirst-consent"); ok && cr.readCookieFirst(&st, v) {
		used("cookiefirst")
	}
	if v, ok := one("cookiehub"); ok && cr.readCookieHub(&st, v) {
		used("cookiehub")
	}
	if v, ok := one("CookieScriptConsent"); ok && cr.readCookieScript(&st, v) {
		used("cookiescript")
	}
	if v, ok := one("didomi_token"); ok && cr.readDidomi(&st, v) {
		used("didomi")
	}
	if v, ok := one("tarteaucitron"); ok && cr.readTarteaucitron(&st, v) {
		used("tarteaucitron")
	}
	// iubenda's cookie is named after the site's id, _iub_cs-<digits>
	// (not _iub_cs-<id>-granular, -uspr and the like): one such name is
	// read, and two say nothing (which is the site's is not known). No
	// regexp: this runs for every cookie of every request read.
	var iub []string
	for n := range jar {
		if id, ok := strings.CutPrefix(n, "_iub_cs-"); ok && id != "" && strings.Trim(id, "0123456789") == "" {
			iub = append(iub, n)
		}
	}
	if len(iub) == 1 {
		if v, ok := one(iub[0]); ok && cr.readIubenda(&st, v) {
			used("iubenda")
		}
	}
	sort.Strings(st.Sources)
	return st
}

// cookieJar reads a request's cookies as the runtime reads document.cookie
// (jar in consent.js): each Cookie header is cut at every ";", the spaces
// after one dropped, and a cookie is its name up to its first "=" (a part
// with none, or with an empty name, is skipped) and the rest as it is.
// net/http's r.Cookies() drops a value that holds a double quote, a
// backslash or a byte beyond ASCII, and strips a value's surrounding
// quotes: a consent manager's cookie in raw JSON (Klaro's in some of
// its versions, CookieScript's on some sites) was read by the runtime
// and not here.
func cookieJar(r *http.Request) map[string][]string {
	jar := map[string][]string{}
	for _, h := range r.Header["Cookie"] {
		for first := true; ; first = false {
			p, rest, more := strings.Cut(h, ";")
			if !first {
				p = strings.TrimLeft(p, " ")
			}
			if k := strings.IndexByte(p, '='); k > 0 {
				jar[p[:k]] = append(jar[p[:k]], p[k+1:])
			}
			if !more {
				break
			}
			h = rest
		}
	}
	return jar
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
	items := strings.Split(m[3], ".")[1:]
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if seen[it[:len(it)-2]] {
			return false // an item twice: the runtime never writes one
		}
		seen[it[:len(it)-2]] = true
	}
	for _, it := range items {
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

// ReadConsentManagers names, by the embedded tracker database's vendor
// names (blocklists/data/overrides.txt), the consent managers served from
// their own hosts whose stored choice the module and the runtime read,
// each with the source it is read as (Consent.Sources). firstparty scan
// tells an owner whose consent manager is not among them how to pass its
// choice on. Complianz and Borlabs Cookie are served by the site itself,
// Zaraz by Cloudflare's edge: no third-party host names them. A TC string
// in the euconsent-v2 cookie is read whichever manager wrote it.
var ReadConsentManagers = map[string]string{
	"Cookiebot": "cookiebot", "OneTrust": "onetrust", "CookiePro": "onetrust", "Klaro": "klaro", "CookieYes": "cookieyes",
	"CookieFirst": "cookiefirst", "CookieHub": "cookiehub", "iubenda": "iubenda", "Cookie Script": "cookiescript",
	"tarteaucitron": "tarteaucitron",
}

// MappedConsentManagers names, as ReadConsentManagers does, the consent
// managers whose stored choice is read only through consent_map, each
// with its name there: their keys are the site's own (Didomi's custom
// purposes), so that nothing maps them by default.
var MappedConsentManagers = map[string]string{"Didomi": "didomi"}

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
	// Didomi's purposes are the site's own (consent_map didomi).
	"didomi": {},
	// Complianz puts embedded content (YouTube, maps) under marketing.
	"complianz": {
		"statistics": {"analytics", "session_replay"},
		"marketing":  {"advertising", "social", "tag_manager", "embeds"},
	},
	"borlabs": {
		"statistics":     {"analytics", "session_replay"},
		"marketing":      {"advertising", "social", "tag_manager"},
		"external-media": {"embeds"},
	},
	// CookieYes files the cookies of YouTube's player under advertisement.
	"cookieyes": {
		"analytics":     {"analytics", "session_replay"},
		"advertisement": {"advertising", "social", "tag_manager", "embeds"},
		"functional":    {"embeds"},
	},
	// CookieFirst's four categories; embedded players need advertising
	// and functional both, as CookieYes's do (which of the two a site
	// files YouTube under is the site's to say).
	"cookiefirst": {
		"performance": {"analytics", "session_replay"},
		"advertising": {"advertising", "social", "tag_manager", "embeds"},
		"functional":  {"embeds"},
	},
	// CookieHub's categories (its ids; necessary is not asked). It files
	// YouTube's cookies under marketing, so embeds need preferences and
	// marketing both.
	"cookiehub": {
		"analytics":   {"analytics", "session_replay"},
		"marketing":   {"advertising", "social", "tag_manager", "embeds"},
		"preferences": {"embeds"},
	},
	// CookieScript's categories (strict is not asked; unclassified, the
	// cookies its scanner could not file, says nothing of a category).
	// Which of targeting and functionality a site files YouTube under is
	// the site's to say: embeds need both, as for CookieYes.
	"cookiescript": {
		"performance":   {"analytics", "session_replay"},
		"targeting":     {"advertising", "social", "tag_manager", "embeds"},
		"functionality": {"embeds"},
	},
	// iubenda's purposes, by id: 3 experience enhancement (content from
	// external platforms), 4 measurement (analytics, heat maps, session
	// recording), 5 targeting and advertising. Each category hangs on one
	// purpose, since a purpose missing from the cookie says nothing: were
	// social granted by 3 (iubenda files social networks' widgets there)
	// as well as 5, a cookie without 5 would grant the pixels. 1 (strictly
	// necessary) and 2 (basic interactions, where iubenda files tag
	// management) are not read.
	"iubenda": {
		"3": {"embeds"},
		"4": {"analytics", "session_replay"},
		"5": {"advertising", "social", "tag_manager"},
	},
	// tarteaucitron.js's services, by key (tarteaucitron.services.js),
	// each under the category firstparty files its vendor's tags in; the
	// site runs only some of them, and the cookie names only those.
	// consent_map tarteaucitron adds a site's own.
	"tarteaucitron": {
		"gtag": {"analytics"}, "analytics": {"analytics"}, "gajs": {"analytics"}, "matomo": {"analytics"},
		"plausible": {"analytics"}, "xiti": {"analytics"}, "atinternet": {"analytics"},
		"hotjar": {"session_replay"}, "clarity": {"session_replay"}, "crazyegg": {"session_replay"},
		"googleads": {"advertising"}, "googleadwordsconversion": {"advertising"}, "bingads": {"advertising"}, "criteo": {"advertising"},
		"facebookpixel": {"social"}, "pinterestpixel": {"social"}, "twitteruwt": {"social"},
		"facebook": {"social"}, "twitter": {"social"}, "linkedin": {"social"},
		"youtube": {"embeds"}, "vimeo": {"embeds"}, "dailymotion": {"embeds"}, "googlemaps": {"embeds"},
		"googletagmanager": {"tag_manager"},
	},
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
	return cr.cmpMap(cmp)[mapKey(cmp, key)]
}

// cmpMap is one consent manager's mapping, overrides included.
func (cr *ConsentReader) cmpMap(cmp string) map[string][]string {
	if cr.maps == nil {
		return cmpMaps[cmp]
	}
	return cr.maps[cmp]
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
	s, ok := decodeURIComponent(v, false)
	if !ok || len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return false
	}
	fields := cmpFields(s[1 : len(s)-1])
	if fields == nil {
		return false
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
	// utc: milliseconds, up to 13 digits; anything else leaves it undated
	var ms int64
	if u := fields["utc"]; len(u) <= 13 && u != "" && strings.Trim(u, "0123456789") == "" {
		ms, _ = strconv.ParseInt(u, 10, 64)
	}
	return cr.apply(st, "cookiebot", keys, ms/1000, fields["method"] == "implied")
}

// cmpFields reads "key:value,key:value", as Cookiebot and CookieYes write
// their cookies: keys and values trimmed of spaces, values of single
// quotes. nil when a field has no colon or no key, or a key is repeated.
func cmpFields(s string) map[string]string {
	fields := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, val, ok := strings.Cut(kv, ":")
		k = strings.TrimFunc(k, jsSpace)
		if !ok || k == "" {
			return nil
		}
		if _, dup := fields[k]; dup {
			return nil
		}
		fields[k] = strings.Trim(strings.TrimFunc(val, jsSpace), "'")
	}
	return fields
}

// jsSpace is what JavaScript's trim removes: Go's white space but U+0085,
// and U+FEFF.
func jsSpace(r rune) bool {
	return unicode.IsSpace(r) && r != 0x85 || r == 0xFEFF
}

// readComplianz reads Complianz's cookies, one a category
// (cmplz_statistics=allow, cmplz_marketing=deny), once the visitor has
// dismissed its banner (cmplz_banner-status=dismissed): before that they
// are the site's defaults (its opt-out regions, its statistics that need
// no consent), not a choice. A cookie other than allow or deny says
// nothing. Complianz records no time.
func (cr *ConsentReader) readComplianz(st *ConsentState, one func(string) (string, bool)) bool {
	if v, _ := one("cmplz_banner-status"); v != "dismissed" {
		return false
	}
	keys := map[string]bool{}
	for k := range cr.cmpMap("complianz") {
		if v, ok := one("cmplz_" + k); ok && (v == "allow" || v == "deny") {
			keys[k] = v == "allow"
		}
	}
	return cr.apply(st, "complianz", keys, 0, false)
}

// readBorlabs reads Borlabs Cookie's borlabs-cookie, URL-encoded JSON
// whose consents hold the groups the visitor consented to, each with its
// services ({"consents":{"essential":["borlabs-cookie"],
// "statistics":["google-analytics"]},…}). A group missing from it was
// refused. Borlabs records no time of the choice.
func (cr *ConsentReader) readBorlabs(st *ConsentState, v string) bool {
	top, ok := jsonCookie(v)
	var groups map[string][]json.RawMessage
	if !ok || top["consents"] == nil || json.Unmarshal(top["consents"], &groups) != nil || groups == nil {
		return false
	}
	for _, g := range groups {
		if g == nil { // null, not a list
			return false
		}
	}
	keys := map[string]bool{}
	for k := range cr.cmpMap("borlabs") {
		_, keys[k] = groups[k]
	}
	return cr.apply(st, "borlabs", keys, 0, false)
}

// readCookieYes reads CookieYes's cookieyes-consent
// (consentid:…,consent:yes,action:yes,necessary:yes,analytics:no,…),
// counted only once the visitor acted on its banner (action:yes). A
// category other than yes or no says nothing. CookieYes records no time.
func (cr *ConsentReader) readCookieYes(st *ConsentState, v string) bool {
	fields := cmpFields(v)
	if fields["action"] != "yes" {
		return false
	}
	keys := map[string]bool{}
	for k := range cr.cmpMap("cookieyes") {
		if f := fields[k]; f == "yes" || f == "no" {
			keys[k] = f == "yes"
		}
	}
	return cr.apply(st, "cookieyes", keys, 0, false)
}

// jsonCookie reads a cookie of URL-encoded JSON as its object's members
// (the runtime's obj): false when it does not decode or is not JSON, or
// not an object; null is an object of no members here, as {} is there.
func jsonCookie(v string) (map[string]json.RawMessage, bool) {
	s, ok := decodeURIComponent(v, true)
	if !ok {
		return nil, false
	}
	return jsonObject(s)
}

// jsonObject reads s, JSON text, as an object's members (jsonCookie,
// base64JSON): false when it is not JSON or not an object; null is an
// object of no members here.
func jsonObject(s string) (map[string]json.RawMessage, bool) {
	// (Not "return top, json.Unmarshal(…, &top) == nil": whether top is
	// read before or after the call is not specified.)
	var top map[string]json.RawMessage
	if json.Unmarshal([]byte(s), &top) != nil {
		return nil, false
	}
	return top, true
}

// readCookieFirst reads CookieFirst's cookiefirst-consent, URL-encoded
// JSON of its categories, each true or false, beside fields of its own
// ({"necessary":true,"performance":false,"functional":true,
// "advertising":false,"timestamp":…,"type":"category","version":"…"}). A
// category of another value says nothing; the cookie is read as undated
// (its timestamp is seconds in some versions, text in others).
func (cr *ConsentReader) readCookieFirst(st *ConsentState, v string) bool {
	top, ok := jsonCookie(v)
	if !ok {
		return false
	}
	keys := map[string]bool{}
	for k := range cr.cmpMap("cookiefirst") {
		if b, ok := jsonBool(top[k]); ok {
			keys[k] = b
		}
	}
	return cr.apply(st, "cookiefirst", keys, 0, false)
}

// readCookieHub reads CookieHub's cookiehub, base64 (padded or not) of a
// JSON object: {"answered":true,"allAllowed":false,"categories":[{"cid":3,
// "id":"analytics","value":true},…],"timestamp":"2025-10-10T06:56:29.808Z",
// …}. Read only once the visitor answered its banner (answered true): an
// unanswered cookie holds the site's defaults for the visitor's region.
// A category listed with a value true or false is that; one not listed
// is granted when allAllowed is true and refused otherwise. categories
// must be a list (CookieHub writes an empty one when all are allowed);
// what in it is not an object with an id and a value true or false says
// nothing of any category. Its base64 is read as atob reads it
// (base64JSON; a category's id is ASCII). Dated by timestamp when it is
// ISO 8601, as OneTrust's time is.
func (cr *ConsentReader) readCookieHub(st *ConsentState, v string) bool {
	top, ok := base64JSON(v)
	if !ok || string(top["answered"]) != "true" {
		return false
	}
	var items []json.RawMessage
	if json.Unmarshal(top["categories"], &items) != nil || items == nil {
		return false
	}
	listed := map[string]bool{} // id → value; the last of an id listed twice
	for _, it := range items {
		var o map[string]json.RawMessage
		if json.Unmarshal(it, &o) == nil { // null makes a nil map: no id
			id, isID := jsonString(o["id"])
			if b, ok := jsonBool(o["value"]); ok && isID {
				listed[id] = b
			}
		}
	}
	keys := map[string]bool{}
	for k := range cr.cmpMap("cookiehub") {
		b, ok := listed[k]
		keys[k] = b || !ok && string(top["allAllowed"]) == "true"
	}
	return cr.apply(st, "cookiehub", keys, isoSeconds(top["timestamp"]), false)
}

// base64JSON reads a cookie of base64 of a JSON object as its members,
// as the runtime's b64 reads it: the base64 must be atob's (no white
// space, = only to pad to a multiple of four), and its bytes are read as
// atob gives them, each a character U+0000 to U+00FF, then as
// jsonObject reads them.
func base64JSON(v string) (map[string]json.RawMessage, bool) {
	b := strings.TrimRight(v, "=")
	if len(v)-len(b) > 2 || len(b) < len(v) && len(v)%4 != 0 || strings.Trim(b, base64Std) != "" {
		return nil, false
	}
	raw, err := base64.RawStdEncoding.DecodeString(b)
	if err != nil {
		return nil, false
	}
	var text strings.Builder
	for _, c := range raw {
		text.WriteRune(rune(c))
	}
	return jsonObject(text.String())
}

// readDidomi reads Didomi's didomi_token, base64 of a JSON object:
// {"user_id":"…","created":"2024-10-15T11:50:06.819Z","updated":
// "2024-10-15T11:50:32.408Z","vendors":{"enabled":["c:hotjar",…]},
// "purposes":{"enabled":["analytics-NGqxWbmn",…],"disabled":[…]},
// "version":2}. Its purposes' ids are the site's own (a custom purpose's
// is its name and a suffix Didomi draws), so they are read only through
// consent_map didomi: a purpose listed disabled is refused, one listed
// enabled (and not disabled) granted, and one in neither list says
// nothing. purposes must be an object whose enabled and disabled are
// lists, absent or null; anything else makes the cookie say nothing (a
// token written before any choice has no purposes). Vendors are not
// read, nor a token a site renamed (Didomi's cookies option). Dated by
// updated when it is ISO 8601, as OneTrust's time is. A TC string that
// Didomi writes beside it (euconsent-v2) is read as any is.
func (cr *ConsentReader) readDidomi(st *ConsentState, v string) bool {
	top, ok := base64JSON(v)
	if !ok {
		return false
	}
	var purposes map[string]json.RawMessage
	json.Unmarshal(top["purposes"], &purposes) // none when not an object
	listed := map[string]bool{}                // id → enabled
	for _, l := range []string{"enabled", "disabled"} {
		raw, ok := purposes[l]
		if !ok {
			continue
		}
		var ids []json.RawMessage // null is none, as absent is
		if json.Unmarshal(raw, &ids) != nil {
			return false // not a list
		}
		for _, it := range ids {
			if id, ok := jsonString(it); ok {
				listed[id] = l == "enabled" // disabled, read second, wins
			}
		}
	}
	keys := map[string]bool{}
	for k := range cr.cmpMap("didomi") {
		if b, ok := listed[k]; ok {
			keys[k] = b
		}
	}
	return cr.apply(st, "didomi", keys, isoSeconds(top["updated"]), false)
}

// readTarteaucitron reads tarteaucitron.js's cookie, tarteaucitron:
// "!gtag=true!youtube=false!hotjar=wait", one entry for each service the
// site runs (captured Cookie headers; its cookie.create). true and false
// are the visitor's answer; wait, a service not answered yet, refuses its
// categories. Read only once some service was answered: before that every
// entry is wait. Another entry (its paid version's "!id=…", one with no
// "=") is skipped; a service twice makes the cookie say nothing.
// Undated: the cookie holds no time.
func (cr *ConsentReader) readTarteaucitron(st *ConsentState, v string) bool {
	keys := map[string]bool{}
	answered := false
	for e := range strings.SplitSeq(v, "!") {
		k, s, _ := strings.Cut(e, "=")
		if k == "" || s != "true" && s != "false" && s != "wait" {
			continue
		}
		if _, dup := keys[k]; dup {
			return false
		}
		keys[k] = s == "true"
		answered = answered || s != "wait"
	}
	return answered && cr.apply(st, "tarteaucitron", keys, 0, false)
}

// readCookieScript reads CookieScript's CookieScriptConsent, JSON,
// URL-encoded or raw as some sites write it: {"bannershown":1,"action":
// "accept","categories":"[\"performance\",\"functionality\"]","key":
// "…"}. Read only once the visitor acted on its banner, action "accept"
// or "reject" (before that it holds Google Consent Mode's map alone).
// With accept, categories, a JSON string of the list of those accepted,
// grants each listed and refuses the others, and anything else there
// makes the cookie say nothing; reject refuses every category. Undated:
// no documented field holds the choice's time.
func (cr *ConsentReader) readCookieScript(st *ConsentState, v string) bool {
	top, ok := jsonCookie(v)
	if !ok {
		return false
	}
	action, _ := jsonString(top["action"])
	var accepted []json.RawMessage
	switch {
	case action == "reject":
	case action == "accept":
		list, ok := jsonString(top["categories"])
		// null is no list, and [] an empty one
		if !ok || json.Unmarshal([]byte(list), &accepted) != nil || accepted == nil {
			return false
		}
	default:
		return false
	}
	keys := map[string]bool{}
	for k := range cr.cmpMap("cookiescript") {
		keys[k] = false
	}
	for _, it := range accepted {
		if c, ok := jsonString(it); ok {
			keys[c] = true // one that maps to nothing adds nothing
		}
	}
	return cr.apply(st, "cookiescript", keys, 0, false)
}

// jsonString reads a JSON value that is a string (the runtime's typeof ==
// "string"); anything else, or nothing, is not one.
func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// readIubenda reads iubenda's _iub_cs-<site id>, URL-encoded JSON:
// {"timestamp":"2025-02-05T15:40:00.391Z","version":"1.75.1","purposes":
// {"1":true,"3":true,"4":true},"id":50053366,…}, or, on a site that does
// not ask per purpose, {"consent":true,"timestamp":…}. A purpose true or
// false is that; one missing (a purpose the site does not use) says
// nothing. Without purposes (an object), consent true or false stands for
// every purpose. Dated by timestamp when it is ISO 8601.
func (cr *ConsentReader) readIubenda(st *ConsentState, v string) bool {
	top, ok := jsonCookie(v)
	if !ok {
		return false
	}
	var purposes map[string]json.RawMessage
	perPurpose := json.Unmarshal(top["purposes"], &purposes) == nil && purposes != nil
	keys := map[string]bool{}
	for k := range cr.cmpMap("iubenda") {
		raw := top["consent"]
		if perPurpose {
			raw = purposes[k]
		}
		if b, ok := jsonBool(raw); ok {
			keys[k] = b
		}
	}
	return cr.apply(st, "iubenda", keys, isoSeconds(top["timestamp"]), false)
}

// jsonBool reads a JSON value that is true or false (the runtime's typeof
// == "boolean"); anything else, or nothing, is not one.
func jsonBool(raw json.RawMessage) (b, ok bool) {
	return string(raw) == "true", string(raw) == "true" || string(raw) == "false"
}

// isoSeconds dates a consent manager's choice by a JSON string of an ISO
// 8601 time (isoMilli), in seconds since 1970; 0 (undated) for anything
// else, or a time before 1970.
func isoSeconds(raw json.RawMessage) int64 {
	if ts, ok := jsonString(raw); ok {
		if ms, ok := isoMilli(ts); ok && ms > 0 {
			return ms / 1000
		}
	}
	return 0
}

// base64Std is the alphabet of standard base64.
const base64Std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// readOneTrust reads OneTrust's OptanonConsent (a query string whose
// groups are "C0001:1,C0002:0,…"), counted only once the visitor closed
// the banner (OptanonAlertBoxClosed, an ISO 8601 time): before that the
// groups are the site's defaults, not a choice.
// Only the groups parameter is read (exactly "groups=", once); the others
// are neither decoded nor checked, as in the runtime. A group's id is what
// comes before its last colon.
func (cr *ConsentReader) readOneTrust(st *ConsentState, v, closed string) bool {
	var groups []string
	for _, p := range strings.Split(v, "&") {
		if g, ok := strings.CutPrefix(p, "groups="); ok {
			groups = append(groups, g)
		}
	}
	if len(groups) != 1 {
		return false
	}
	g, ok := decodeURIComponent(groups[0], true)
	if !ok {
		return false
	}
	c, ok := decodeURIComponent(closed, true)
	if !ok {
		return false
	}
	ms, ok := isoMilli(c)
	if !ok || ms <= 0 {
		return false
	}
	keys := map[string]bool{}
	for _, g := range strings.Split(g, ",") {
		i := strings.LastIndexByte(g, ':')
		if i < 0 || (g[i+1:] != "0" && g[i+1:] != "1") {
			return false
		}
		keys[g[:i]] = g[i+1:] == "1"
	}
	return cr.apply(st, "onetrust", keys, ms/1000, false)
}

// isoTime is the form of the ISO 8601 times read (OneTrust's
// OptanonAlertBoxClosed, CookieHub's timestamp).
var isoTime = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(?:Z|([+-])([0-9]{2}):([0-9]{2}))$`)

// isoMilli reads a time of isoTime's form in milliseconds since 1970, as
// the runtime's Date.parse does (V8's): each field within its range, but
// that the day may pass its month's end (up to 31: February 30 is March
// 2, where time.Parse refuses it) and 24:00:00 is the next day's
// midnight; digits of the second past the third are dropped.
func isoMilli(s string) (int64, bool) {
	m := isoTime.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	var n [11]int
	for i, f := range m[1:] {
		n[i+1], _ = strconv.Atoi(f) // all digits, but the sign
	}
	y, mo, d, h, mi, sec, oh, om := n[1], n[2], n[3], n[4], n[5], n[6], n[9], n[10]
	midnight := h == 24 && mi == 0 && sec == 0 && strings.Trim(m[7], "0") == ""
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 && !midnight || mi > 59 || sec > 59 || oh > 23 || om > 59 {
		return 0, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC).Unix()
	switch m[8] {
	case "+":
		t -= int64(oh*3600 + om*60)
	case "-":
		t += int64(oh*3600 + om*60)
	}
	frac, _ := strconv.Atoi((m[7] + "000")[:3])
	return t*1000 + int64(frac), true
}

// decodeURIComponent decodes v as the runtime's JavaScript does: its
// percent escapes, refused when one is malformed or the bytes they make
// are not UTF-8; with plus, each + is a space first (the runtime's dec).
func decodeURIComponent(v string, plus bool) (string, bool) {
	var s string
	var err error
	if plus {
		s, err = url.QueryUnescape(v)
	} else {
		s, err = url.PathUnescape(v)
	}
	return s, err == nil && utf8.ValidString(s)
}

// readJSONMap reads a URL-encoded JSON object of booleans: Klaro's klaro
// cookie (service → consent) and Zaraz's cf_consent (purpose → consent).
// Neither records a time.
func (cr *ConsentReader) readJSONMap(st *ConsentState, cmp, v string) bool {
	s, ok := decodeURIComponent(v, true)
	if !ok {
		return false
	}
	// One JSON object (nothing after it but white space), every value
	// true or false (null is neither), no key twice.
	dec := json.NewDecoder(strings.NewReader(s))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	keys := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		k, _ := kt.(string)
		var raw json.RawMessage
		if err != nil || dec.Decode(&raw) != nil {
			return false
		}
		v, ok := jsonBool(raw)
		if _, dup := keys[k]; dup || !ok {
			return false
		}
		keys[k] = v
	}
	if _, err := dec.Token(); err != nil || strings.TrimLeft(s[dec.InputOffset():], " \t\r\n") != "" {
		return false // not closed, or something after it
	}
	return cr.apply(st, cmp, keys, 0, false)
}

// tcfVendors maps IAB Global Vendor List ids (vendor-list.json's, which
// are never reused) to the vendor names of the tracker database that they
// govern: the names the project's overrides give, and every name
// companiesdb files under the company in a tracker category (advertising,
// analytics), but for those with a Global Vendor List id of their own and
// those that are no advertising or measurement product
// (TestTCFVendorNames, which reads companiesdb, says which and why). Until 2026-12-06 Google's held only six names, and with Google's
// vendor consent refused, Google Publisher Tag, Campaign Manager 360's
// Floodlight, the IMA SDK, adservice.google.com and www.google.com's ad
// paths ran on the purposes alone, as did Bing Ads' c.bing.com with
// Microsoft's refused.
var tcfVendors = map[int][]string{
	// Google Advertising Products
	755: {"Google Analytics", "Google Ads", "Google AdSense", "Google Marketing Platform", "Google Tag Manager", "DoubleClick",
		"Google Campaign Manager 360", "Google Publisher Tag", "Google IMA SDK", "Google", "Google AdServices", "Google Marketing",
		"Google Syndication", "Google Custom Search Ads", "Google Travel Adds", "Google Beacons", "Google Trusted Stores",
		"AdMob", "AdMeld", "Adometry", "Channel Intelligence", "FeedBurner", "Mindset Media"},
	// Microsoft Advertising
	1126: {"Microsoft Advertising", "Microsoft Clarity", "Bing Ads", "Microsoft Analytics", "Alenty"},
	// Criteo
	91: {"Criteo", "HookLogic"},
	// Amazon Advertising
	793: {"Amazon Advertising", "Amazon Associates", "Amazon Mobile Ads", "Alexa Metrics", "Alexa Traffic Rank"},
	// The other advertising vendors of the Global Vendor List that the
	// tracker database names (since 2026-12-06: their tags ran on the
	// purposes alone, whatever the visitor chose for them).
	10:  {"Index Exchange"},
	11:  {"Quantcast", "Quantcount", "Struq"},
	13:  {"sovrn", "Sovrn Signal", "LinkSmart"},
	16:  {"RTB House"},
	21:  {"TradeDesk"},
	25:  {"Verizon Media", "Yahoo! Ad Exchange", "Yahoo! Ad Manager Plus", "Yahoo! Analytics", "Yahoo! Commerce Central", "Yahoo! Overture", "Yahoo! Small Business", "ADTECH", "AOL Be On", "AOL CDN", "Adap.tv", "Bluelithium", "BrightRoll", "Complex Media", "Convertro", "Gravity Insights", "Jumptap", "Nexage", "Quigo AdSonar", "SnackTV", "Sphere", "Tacoda", "Tumblr Analytics", "Vidible", "alephd"},
	28:  {"TripleLift"},
	32:  {"AppNexus", "MediaGlu", "Open Adstream"}, // Xandr
	42:  {"Taboola"},
	45:  {"SMART AdServer"},
	50:  {"Adform"},
	52:  {"Rubicon", "Chango", "isocket"},
	69:  {"OpenX", "JumpTime"},
	76:  {"PubMatic", "mOcean Mobile"},
	77:  {"ComScore, Inc.", "ScoreCard Research Beacon", "VoiceFive", "AdXpose", "Certifica Metric", "MdotLabs"},
	78:  {"Flashtalking", "Encore Metrics"},
	95:  {"Lotame"},
	126: {"DoubleVerify"},
	130: {"AdRoll"}, // NextRoll
	132: {"Teads"},
	142: {"Media.net"},
	278: {"Integral Ad Science"},
	385: {"BlueKai", "AddThis", "Datalogix", "Grapeshot", "Eloqua", "ATG Optimization", "ATG Recommendations", "Oracle Maxymiser", "Oracle Infinity Behavioral Intelligence", "Univide"}, // Oracle Data Cloud
	506: {"Salesforce DMP", "Salesforce", "CQuotient"},
	772: {"Moat"}, // Oracle's, with an id of its own
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

// tcfCore is a TC string's core segment: base64url, unpadded.
var tcfCore = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// readTCF reads the core segment of an IAB TCF v2 string (euconsent-v2):
// purpose consents and vendor consents, dated by LastUpdated.
func readTCF(st *ConsentState, v string) bool {
	core, _, _ := strings.Cut(v, ".")
	if !tcfCore.MatchString(core) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(core)
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
