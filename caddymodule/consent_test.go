package caddymodule

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/firstparty/firstparty/blocklists"
)

var consentNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// bits builds a TCF bit string.
type bits struct{ s strings.Builder }

func (b *bits) put(v uint64, n int) *bits {
	for i := n - 1; i >= 0; i-- {
		b.s.WriteByte('0' + byte(v>>i&1))
	}
	return b
}

func (b *bits) encode() string {
	s := b.s.String()
	for len(s)%8 != 0 {
		s += "0"
	}
	out := make([]byte, len(s)/8)
	for i := range out {
		v, _ := strconv.ParseUint(s[i*8:i*8+8], 2, 8)
		out[i] = byte(v)
	}
	return base64.RawURLEncoding.EncodeToString(out)
}

// tcfString encodes a TCF v2.2 core string with the given purposes and
// vendor consents, updated at unix time at. ranged picks range encoding.
func tcfString(purposes []int, vendors []int, at int64, ranged bool) string {
	var b bits
	b.put(2, 6).put(uint64(at*10), 36).put(uint64(at*10), 36)
	b.put(10, 12).put(1, 12).put(1, 6).put(5*26+13, 12).put(300, 12).put(4, 6).put(0, 1).put(0, 1).put(0, 12)
	var p uint64
	for _, n := range purposes {
		p |= 1 << (24 - n)
	}
	b.put(p, 24).put(0, 24).put(0, 1).put(5*26+17, 12)
	max := 0
	for _, v := range vendors {
		max = v
	}
	b.put(uint64(max), 16)
	if ranged {
		b.put(1, 1).put(uint64(len(vendors)), 12)
		for _, v := range vendors {
			b.put(0, 1).put(uint64(v), 16)
		}
	} else {
		b.put(0, 1)
		set := map[int]bool{}
		for _, v := range vendors {
			set[v] = true
		}
		for id := 1; id <= max; id++ {
			if set[id] {
				b.put(1, 1)
			} else {
				b.put(0, 1)
			}
		}
	}
	return b.encode()
}

func consentReq(gpc bool, cookies ...string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	if len(cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(cookies, "; "))
	}
	if gpc {
		r.Header.Set("Sec-GPC", "1")
	}
	return r
}

func own(created, updated time.Time, items ...string) string {
	s := "fp_consent=1." + strconv.FormatInt(created.Unix(), 10) + "." + strconv.FormatInt(updated.Unix(), 10)
	for _, it := range items {
		s += "." + it
	}
	return s
}

// TestReadConsentManagers: the consent managers firstparty scan reports
// as read are named as the embedded database names them, each a consent
// manager there, and each read through a mapping of its own.
func TestReadConsentManagers(t *testing.T) {
	db, err := blocklists.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]string{"cdn.cookie-script.com": "Cookie Script", "consent.cookiebot.com": "Cookiebot", "cdn.cookielaw.org": "OneTrust", "cookie-cdn.cookiepro.com": "CookiePro", "kiprotect.com": "Klaro", "cdn-cookieyes.com": "CookieYes",
		"consent.cookiefirst.com": "CookieFirst", "cdn.cookiehub.eu": "CookieHub", "cdn.iubenda.com": "iubenda", "cdntag.tarteaucitron.io": "tarteaucitron"}
	named := map[string]bool{}
	for h, vendor := range hosts {
		e, ok := db.LookupHost(h)
		if !ok || e.Vendor != vendor || e.Category != "consent" {
			t.Errorf("%s: %+v, want %s, consent", h, e, vendor)
		}
		named[vendor] = true
	}
	for vendor, src := range ReadConsentManagers {
		if !named[vendor] {
			t.Errorf("%s: no host of the embedded database checked", vendor)
		}
		if _, ok := cmpMaps[src]; !ok {
			t.Errorf("%s: source %q has no mapping", vendor, src)
		}
	}
}

func TestConsentRead(t *testing.T) {
	day := 24 * time.Hour
	now := consentNow
	yesterday := now.Add(-day)
	cbot := func(stat, mkt bool, method string, at time.Time) string {
		v := "{stamp:'x1',necessary:true,preferences:false,statistics:" + strconv.FormatBool(stat) +
			",marketing:" + strconv.FormatBool(mkt) + ",method:'" + method + "',ver:1,utc:" +
			strconv.FormatInt(at.UnixMilli(), 10) + ",region:'fr'}"
		return "CookieConsent=" + url.PathEscape(v)
	}
	ot := func(groups string) string {
		// As OneTrust writes it: a query string with escaped values.
		q := url.Values{"isGpcEnabled": {"0"}, "datestamp": {"Sun Nov 22 2026 12:00:00 GMT+0100"}, "version": {"202409.1.0"}, "groups": {groups}}
		return "OptanonConsent=" + q.Encode()
	}
	otClosed := func(at time.Time) string {
		return "OptanonAlertBoxClosed=" + at.UTC().Format(time.RFC3339)
	}
	cases := []struct {
		name    string
		gpc     bool
		cookies []string
		granted []string
		denied  []string
		sources string
	}{
		{name: "nothing", denied: []string{"analytics", "advertising", "embeds"}},
		{name: "own grant", cookies: []string{own(yesterday, yesterday, "analytics-g")},
			granted: []string{"analytics"}, denied: []string{"advertising"}, sources: "fp_consent"},
		{name: "accept all", cookies: []string{own(yesterday, yesterday, "*-a")},
			granted: []string{"analytics", "advertising", "social", "embeds"}, sources: "fp_consent"},
		{name: "accept all with GPC", gpc: true, cookies: []string{own(yesterday, yesterday, "*-a")},
			granted: []string{"analytics", "embeds"}, denied: []string{"advertising", "social"}},
		{name: "explicit grant beats GPC", gpc: true, cookies: []string{own(yesterday, yesterday, "*-a", "advertising-g")},
			granted: []string{"advertising"}, denied: []string{"social"}},
		{name: "reject all", cookies: []string{own(yesterday, yesterday, "*-d")},
			denied: []string{"analytics", "advertising", "embeds"}},
		{name: "category beats wildcard", cookies: []string{own(yesterday, yesterday, "*-d", "analytics-g")},
			granted: []string{"analytics"}, denied: []string{"advertising"}},
		{name: "malformed", cookies: []string{"fp_consent=1.x.y.analytics-g"}, denied: []string{"analytics"}},
		{name: "old format", cookies: []string{"fp_consent=v1:analytics"}, denied: []string{"analytics"}},
		{name: "script in value", cookies: []string{own(yesterday, yesterday, "analytics-g") + "<script>"}, denied: []string{"analytics"}},
		{name: "duplicated", cookies: []string{own(yesterday, yesterday, "analytics-g"), own(yesterday, yesterday, "analytics-g")},
			denied: []string{"analytics"}},
		{name: "oversized", cookies: []string{own(yesterday, yesterday, "analytics-g") + strings.Repeat(".embeds-g", 500)},
			denied: []string{"analytics"}},
		{name: "older than 13 months", cookies: []string{own(now.Add(-400*day), now.Add(-400*day), "analytics-g")},
			denied: []string{"analytics"}},
		{name: "updated before created", cookies: []string{own(yesterday, yesterday.Add(-day), "analytics-g")},
			denied: []string{"analytics"}},
		{name: "created in the future", cookies: []string{own(now.Add(3*day), now.Add(3*day), "analytics-g")},
			denied: []string{"analytics"}},

		{name: "cookiebot", cookies: []string{cbot(true, false, "explicit", yesterday)},
			granted: []string{"analytics", "session_replay"}, denied: []string{"advertising", "social", "embeds"}, sources: "cookiebot"},
		{name: "cookiebot implied with GPC", gpc: true, cookies: []string{cbot(true, true, "implied", yesterday)},
			granted: []string{"analytics", "tag_manager"}, denied: []string{"advertising", "social"}},
		{name: "cookiebot outside region", cookies: []string{"CookieConsent=-1"}, denied: []string{"analytics"}},
		{name: "cookiebot duplicated key", cookies: []string{"CookieConsent=" + url.PathEscape("{statistics:true,statistics:false,preferences:true,marketing:true}")},
			denied: []string{"analytics"}},

		{name: "onetrust", cookies: []string{ot("C0001:1,C0002:1,C0003:0,C0004:0,C0005:1"), otClosed(yesterday)},
			granted: []string{"analytics", "social"}, denied: []string{"advertising", "embeds"}, sources: "onetrust"},
		{name: "onetrust before a choice", cookies: []string{ot("C0001:1,C0002:1,C0004:1")},
			denied: []string{"analytics", "advertising"}},
		{name: "onetrust bad group", cookies: []string{ot("C0001:1,C0002:yes"), otClosed(yesterday)},
			denied: []string{"analytics"}},

		{name: "klaro", cookies: []string{"klaro=" + url.QueryEscape(`{"google-analytics":true,"youtube":false,"facebook":true}`)},
			granted: []string{"analytics", "social"}, denied: []string{"embeds", "advertising"}, sources: "klaro"},
		{name: "klaro malformed", cookies: []string{"klaro=" + url.QueryEscape(`{"google-analytics":true`)}, denied: []string{"analytics"}},
		{name: "klaro duplicate key", cookies: []string{"klaro=" + url.QueryEscape(`{"matomo":true,"matomo":false}`)}, denied: []string{"analytics"}},
		{name: "klaro one key denies", cookies: []string{"klaro=" + url.QueryEscape(`{"matomo":true,"plausible":false}`)}, denied: []string{"analytics"}},

		{name: "zaraz mapped", cookies: []string{"cf_consent=" + url.QueryEscape(`{"aBcD":true,"eFgH":false}`)},
			granted: []string{"analytics"}, denied: []string{"advertising"}, sources: "zaraz"},

		{name: "complianz", cookies: []string{"cmplz_banner-status=dismissed", "cmplz_functional=allow", "cmplz_statistics=allow", "cmplz_marketing=deny"},
			granted: []string{"analytics", "session_replay"}, denied: []string{"advertising", "social", "embeds"}, sources: "complianz"},
		{name: "complianz accept all", cookies: []string{"cmplz_banner-status=dismissed", "cmplz_statistics=allow", "cmplz_marketing=allow", "cmplz_preferences=allow"},
			granted: []string{"analytics", "advertising", "social", "tag_manager", "embeds"}, sources: "complianz"},
		{name: "complianz before the banner is dismissed", cookies: []string{"cmplz_banner-status=show", "cmplz_statistics=allow", "cmplz_marketing=allow"},
			denied: []string{"analytics", "advertising"}},
		{name: "complianz without its banner status", cookies: []string{"cmplz_statistics=allow"}, denied: []string{"analytics"}},
		// A value other than allow or deny says nothing: Klaro's undated grant
		// stands, where a denial would have beaten it.
		{name: "complianz other value", cookies: []string{"cmplz_banner-status=dismissed", "cmplz_statistics=yes", "cmplz_marketing=allow", "klaro=" + url.QueryEscape(`{"matomo":true}`)},
			granted: []string{"advertising", "analytics"}, sources: "complianz,klaro"},
		{name: "complianz duplicated", cookies: []string{"cmplz_banner-status=dismissed", "cmplz_statistics=allow", "cmplz_statistics=allow"},
			denied: []string{"analytics"}},

		{name: "borlabs", cookies: []string{borlabs(`{"consents":{"essential":["borlabs-cookie"],"statistics":["google-analytics"],"external-media":["youtube","googlemaps"]},"domainPath":"shop.example/","expires":"Sat, 18 Feb 2027 09:06:19 GMT","uid":"s91akj6x-hw9453ku","version":"1"}`)},
			granted: []string{"analytics", "session_replay", "embeds"}, denied: []string{"advertising", "social", "tag_manager"}, sources: "borlabs"},
		{name: "borlabs essential only", cookies: []string{borlabs(`{"consents":{"essential":["borlabs-cookie"]},"uid":"anonymous","v3":true,"version":1}`)},
			denied: []string{"analytics", "advertising", "embeds"}, sources: "borlabs"},
		{name: "borlabs group not a list", cookies: []string{borlabs(`{"consents":{"essential":["borlabs-cookie"],"statistics":null}}`)},
			denied: []string{"analytics"}},
		{name: "borlabs consents not an object", cookies: []string{borlabs(`{"consents":[["statistics"]]}`)}, denied: []string{"analytics"}},
		{name: "borlabs keys compared by case", cookies: []string{borlabs(`{"Consents":{"statistics":[]}}`)}, denied: []string{"analytics"}},
		{name: "borlabs not JSON", cookies: []string{"borlabs-cookie=all"}, denied: []string{"analytics"}},

		{name: "cookieyes", cookies: []string{"cookieyes-consent=consentid:T0hOck5kY2gzQjJ6,consent:yes,action:yes,necessary:yes,functional:no,analytics:yes,performance:no,advertisement:no,other:yes"},
			granted: []string{"analytics", "session_replay"}, denied: []string{"advertising", "social", "embeds"}, sources: "cookieyes"},
		{name: "cookieyes accept all", cookies: []string{"cookieyes-consent=consentid:abc,consent:yes,action:yes,necessary:yes,functional:yes,analytics:yes,performance:yes,advertisement:yes"},
			granted: []string{"analytics", "advertising", "social", "embeds"}, sources: "cookieyes"},
		{name: "cookieyes before the visitor acted", cookies: []string{"cookieyes-consent=consentid:,consent:,action:,necessary:yes,functional:yes,analytics:yes,advertisement:yes"},
			denied: []string{"analytics", "advertising"}},
		{name: "cookieyes other value", cookies: []string{"cookieyes-consent=action:yes,analytics:maybe,advertisement:yes", "klaro=" + url.QueryEscape(`{"matomo":true}`)},
			granted: []string{"advertising", "analytics"}, sources: "cookieyes,klaro"},
		{name: "cookieyes repeated key", cookies: []string{"cookieyes-consent=action:yes,analytics:yes,analytics:no"}, denied: []string{"analytics"}},
		{name: "cookieyes functional alone keeps embeds out", cookies: []string{"cookieyes-consent=action:yes,functional:yes,advertisement:no"},
			denied: []string{"embeds"}},

		{name: "cookiefirst", cookies: []string{cookieFirst(`{"necessary":true,"performance":true,"functional":false,"advertising":false,"timestamp":1728728251,"type":"category","version":"6194f0e0-bd50-4925-a389-f80ee4a5d4b4"}`)},
			granted: []string{"analytics", "session_replay"}, denied: []string{"advertising", "social", "embeds"}, sources: "cookiefirst"},
		{name: "cookiefirst accept all", cookies: []string{cookieFirst(`{"necessary":true,"performance":true,"functional":true,"advertising":true,"timestamp":"2026-11-26T07:40:16.059Z"}`)},
			granted: []string{"analytics", "advertising", "social", "tag_manager", "embeds"}, sources: "cookiefirst"},
		{name: "cookiefirst reject all", cookies: []string{cookieFirst(`{"necessary":true,"performance":false,"functional":false,"advertising":false}`)},
			denied: []string{"analytics", "advertising", "embeds"}, sources: "cookiefirst"},
		{name: "cookiefirst functional alone keeps embeds out", cookies: []string{cookieFirst(`{"functional":true,"advertising":false}`)},
			denied: []string{"embeds", "advertising"}, sources: "cookiefirst"},
		{name: "cookiefirst other value", cookies: []string{cookieFirst(`{"performance":"true","advertising":1,"functional":null}`)},
			denied: []string{"analytics", "advertising", "embeds"}},
		{name: "cookiefirst not an object", cookies: []string{cookieFirst(`[{"performance":true}]`)}, denied: []string{"analytics"}},
		{name: "cookiefirst null", cookies: []string{cookieFirst(`null`)}, denied: []string{"analytics"}},
		{name: "cookiefirst not JSON", cookies: []string{"cookiefirst-consent=performance:true"}, denied: []string{"analytics"}},
		{name: "cookiefirst keys compared by case", cookies: []string{cookieFirst(`{"Performance":true}`)}, denied: []string{"analytics"}},
		{name: "cookiefirst last of a repeated key", cookies: []string{cookieFirst(`{"performance":false,"performance":true}`)},
			granted: []string{"analytics"}, sources: "cookiefirst"},

		// CookieHub's cookie as its documentation and captured Cookie
		// headers show it: the newer form (allAllowed, an empty list
		// when all are allowed) and the older (each category listed).
		{name: "cookiehub accept all", cookies: []string{cookieHub(`{"answered":true,"revision":1,"dnt":false,"allowSale":true,"implict":false,"region":"","token":"","timestamp":"2025-10-10T06:56:29.808Z","allAllowed":true,"categories":[],"vendors":[],"services":[]}`)},
			granted: []string{"analytics", "session_replay", "advertising", "social", "tag_manager", "embeds"}, sources: "cookiehub"},
		{name: "cookiehub reject all", cookies: []string{cookieHub(`{"answered":true,"revision":1,"dnt":false,"allowSale":true,"implicit":false,"region":"","token":"","timestamp":"2025-04-24T06:54:41.275Z","allAllowed":false,"categories":[],"vendors":[],"services":[],"implicit":false}`)},
			denied: []string{"analytics", "advertising", "social", "embeds"}, sources: "cookiehub"},
		{name: "cookiehub listed", cookies: []string{cookieHub(`{"answered":true,"preconsent":false,"revision":1,"dnt":false,"cookieLaws":true,"token":"x","timestamp":"2021-10-26T13:45:50.696Z","categories":[{"cid":1,"id":"necessary","value":true,"preconsent":false,"fired":true},{"cid":2,"id":"preferences","value":true},{"cid":3,"id":"analytics","value":true},{"cid":4,"id":"marketing","value":false}]}`)},
			granted: []string{"analytics", "session_replay"}, denied: []string{"advertising", "social", "tag_manager", "embeds"}, sources: "cookiehub"},
		{name: "cookiehub listed, not all allowed", cookies: []string{cookieHub(`{"answered":true,"allAllowed":false,"categories":[{"id":"preferences","value":true},{"id":"marketing","value":true}]}`)},
			granted: []string{"advertising", "embeds"}, denied: []string{"analytics"}, sources: "cookiehub"},
		{name: "cookiehub a listed refusal beats allAllowed", cookies: []string{cookieHub(`{"answered":true,"allAllowed":true,"categories":[{"id":"marketing","value":false}]}`)},
			granted: []string{"analytics"}, denied: []string{"advertising", "embeds"}, sources: "cookiehub"},
		{name: "cookiehub unanswered (a region's defaults)", cookies: []string{cookieHub(`{"answered":false,"revision":1,"dnt":false,"allowSale":true,"implict":true,"region":"G0","token":"x","timestamp":"2023-11-27T14:52:54.768Z","allAllowed":true,"categories":[],"vendors":[],"services":[]}`)},
			denied: []string{"analytics", "advertising"}},
		{name: "cookiehub ids alone say nothing", cookies: []string{cookieHub(`{"answered":true,"allAllowed":false,"categories":[3,"analytics",{"id":"analytics"},{"id":"analytics","value":"true"},{"cid":3,"value":true},null]}`)},
			denied: []string{"analytics", "embeds"}, sources: "cookiehub"},
		{name: "cookiehub categories not a list", cookies: []string{cookieHub(`{"answered":true,"allAllowed":true,"categories":{"analytics":true}}`)}, denied: []string{"analytics"}},
		{name: "cookiehub no categories", cookies: []string{cookieHub(`{"answered":true,"allAllowed":true}`)}, denied: []string{"analytics"}},
		{name: "cookiehub answered not true", cookies: []string{cookieHub(`{"answered":1,"allAllowed":true,"categories":[]}`)}, denied: []string{"analytics"}},
		{name: "cookiehub last of an id listed twice", cookies: []string{cookieHub(`{"answered":true,"categories":[{"id":"analytics","value":false},{"id":"analytics","value":true}]}`)},
			granted: []string{"analytics"}, denied: []string{"advertising"}, sources: "cookiehub"},
		{name: "cookiehub last of an id listed twice, a refusal", cookies: []string{cookieHub(`{"answered":true,"allAllowed":true,"categories":[{"id":"analytics","value":true},{"id":"analytics","value":false}]}`)},
			denied: []string{"analytics"}, granted: []string{"advertising"}, sources: "cookiehub"},
		{name: "cookiehub ids compared by case", cookies: []string{cookieHub(`{"answered":true,"categories":[{"id":"Analytics","value":true}]}`)}, denied: []string{"analytics"}, sources: "cookiehub"},
		{name: "cookiehub unpadded", cookies: []string{strings.TrimRight(cookieHub(`{"answered":true,"allAllowed":true,"categories":[]}`), "=")},
			granted: []string{"analytics"}, sources: "cookiehub"},
		{name: "cookiehub URL-safe base64", cookies: []string{"cookiehub=" + base64.URLEncoding.EncodeToString([]byte(`{"answered":true,"allAllowed":true,"categories":[],"x":"??>"}`))}, denied: []string{"analytics"}},
		{name: "cookiehub padded to no multiple of four", cookies: []string{"cookiehub=" + base64.RawStdEncoding.EncodeToString([]byte(`{"answered":true,"allAllowed":true,"categories":[]}`)) + "=="}, denied: []string{"analytics"}},
		{name: "cookiehub not base64", cookies: []string{"cookiehub=" + url.QueryEscape(`{"answered":true,"allAllowed":true,"categories":[]}`)}, denied: []string{"analytics"}},
		{name: "cookiehub not JSON", cookies: []string{"cookiehub=" + base64.StdEncoding.EncodeToString([]byte("answered:true"))}, denied: []string{"analytics"}},
		{name: "cookiehub dated: a newer own grant wins", cookies: []string{cookieHub(`{"answered":true,"allAllowed":false,"categories":[],"timestamp":"` + now.Add(-10*day).UTC().Format(time.RFC3339) + `"}`), own(yesterday, yesterday, "analytics-g")},
			granted: []string{"analytics"}, denied: []string{"advertising"}, sources: "cookiehub,fp_consent"},
		{name: "cookiehub dated: a newer denial wins", cookies: []string{cookieHub(`{"answered":true,"allAllowed":false,"categories":[],"timestamp":"` + yesterday.UTC().Format(time.RFC3339) + `"}`), own(now.Add(-10*day), now.Add(-10*day), "analytics-g")},
			denied: []string{"analytics"}, sources: "cookiehub,fp_consent"},
		// iubenda's cookie as captured Cookie headers show it.
		{name: "iubenda per purpose", cookies: []string{iub(50053366, `{"timestamp":"2025-02-05T15:40:00.391Z","version":"1.75.1","purposes":{"1":true,"3":true,"4":true},"id":50053366,"cons":{"rand":"157518"}}`)},
			granted: []string{"analytics", "session_replay", "embeds"}, denied: []string{"advertising", "social", "tag_manager"}, sources: "iubenda"},
		{name: "iubenda refusals", cookies: []string{iub(1, `{"purposes":{"1":true,"2":true,"3":false,"4":false,"5":true}}`)},
			granted: []string{"advertising", "social", "tag_manager"}, denied: []string{"analytics", "embeds"}, sources: "iubenda"},
		{name: "iubenda consent for all", cookies: []string{iub(71185313, `{"consent":true,"timestamp":"2023-10-12T16:03:31.031Z","version":"1.51.0","id":71185313,"cons":{"rand":"1438b8"}}`)},
			granted: []string{"analytics", "advertising", "social", "embeds"}, sources: "iubenda"},
		{name: "iubenda refused for all", cookies: []string{iub(1, `{"consent":false}`)}, denied: []string{"analytics", "advertising", "embeds"}, sources: "iubenda"},
		{name: "iubenda no choice", cookies: []string{iub(90483436, `{"id":90483436}`)}, denied: []string{"analytics"}},
		{name: "iubenda purposes win over consent", cookies: []string{iub(1, `{"purposes":{},"consent":true}`)}, denied: []string{"analytics"}},
		{name: "iubenda purposes not an object", cookies: []string{iub(1, `{"purposes":[true],"consent":true}`)}, granted: []string{"analytics"}, sources: "iubenda"},
		{name: "iubenda other value", cookies: []string{iub(1, `{"purposes":{"4":"true","5":1,"3":null}}`)}, denied: []string{"analytics", "advertising", "embeds"}},
		{name: "iubenda two sites' cookies", cookies: []string{iub(1, `{"consent":true}`), iub(2, `{"consent":true}`)}, denied: []string{"analytics"}},
		{name: "iubenda granular cookie", cookies: []string{"_iub_cs-1-granular=" + url.QueryEscape(`{"consent":true}`)}, denied: []string{"analytics"}},
		{name: "iubenda empty id", cookies: []string{"_iub_cs-=" + url.QueryEscape(`{"consent":true}`)}, denied: []string{"analytics"}},
		{name: "iubenda name without the id", cookies: []string{"_iub_cs-s1=" + url.QueryEscape(`{"consent":true}`)}, denied: []string{"analytics"}},
		{name: "iubenda dated: a newer denial wins", cookies: []string{iub(1, `{"consent":false,"timestamp":"`+yesterday.UTC().Format(time.RFC3339)+`"}`), own(now.Add(-10*day), now.Add(-10*day), "analytics-g")},
			denied: []string{"analytics"}, sources: "fp_consent,iubenda"},
		{name: "iubenda dated: a newer own grant wins", cookies: []string{iub(1, `{"consent":false,"timestamp":"`+now.Add(-10*day).UTC().Format(time.RFC3339)+`"}`), own(yesterday, yesterday, "analytics-g")},
			granted: []string{"analytics"}, sources: "fp_consent,iubenda"},
		// CookieScript: captured Cookie headers, raw and URL-encoded.
		{name: "cookiescript accept, raw", cookies: []string{`CookieScriptConsent={"action":"accept","categories":"[\"targeting\",\"unclassified\",\"performance\",\"functionality\"]","key":"3cf302e4-5bf9-4b9b-89d0-d71d5830d935"}`},
			granted: []string{"analytics", "session_replay", "advertising", "social", "tag_manager", "embeds"}, sources: "cookiescript"},
		{name: "cookiescript reject, raw", cookies: []string{`CookieScriptConsent={"googleconsentmap":{"ad_storage":"targeting","analytics_storage":"performance","functionality_storage":"","personalization_storage":"","security_storage":""},"action":"reject","categories":"[]","key":"a1870d20-9eb3-4562-aef2-fb7f96b6d5ba"}`},
			denied: []string{"analytics", "advertising", "embeds"}, sources: "cookiescript"},
		{name: "cookiescript no choice yet", cookies: []string{"CookieScriptConsent=%7B%22googleconsentmap%22%3A%7B%22ad_storage%22%3A%22targeting%22%2C%22analytics_storage%22%3A%22performance%22%2C%22functionality_storage%22%3A%22functionality%22%2C%22personalization_storage%22%3A%22functionality%22%2C%22security_storage%22%3A%22functionality%22%7D%7D", own(yesterday, yesterday, "analytics-g")},
			granted: []string{"analytics"}, sources: "fp_consent"},
		{name: "cookiescript some accepted", cookies: []string{cookieScript(`{"bannershown":1,"action":"accept","consenttime":1700899837,"categories":"[\"performance\",\"functionality\"]","key":"k"}`)},
			granted: []string{"analytics", "session_replay"}, denied: []string{"advertising", "social", "tag_manager", "embeds"}, sources: "cookiescript"},
		{name: "cookiescript reject refuses what it lists", cookies: []string{cookieScript(`{"action":"reject","categories":"[\"performance\"]"}`)}, denied: []string{"analytics"}, sources: "cookiescript"},
		{name: "cookiescript accept of none", cookies: []string{cookieScript(`{"action":"accept","categories":"[]"}`)}, denied: []string{"analytics"}, sources: "cookiescript"},
		{name: "cookiescript items not strings, escapes", cookies: []string{cookieScript(`{"action":"accept","categories":"[1,null,[\"targeting\"],\"\\u0070erformance\"]"}`)},
			granted: []string{"analytics"}, denied: []string{"advertising"}, sources: "cookiescript"},
		{name: "cookiescript categories a list, not a string", cookies: []string{cookieScript(`{"action":"accept","categories":["performance"]}`), own(yesterday, yesterday, "analytics-g")}, granted: []string{"analytics"}, sources: "fp_consent"},
		{name: "cookiescript categories null", cookies: []string{cookieScript(`{"action":"accept","categories":"null"}`), own(yesterday, yesterday, "analytics-g")}, granted: []string{"analytics"}, sources: "fp_consent"},
		{name: "cookiescript categories not JSON", cookies: []string{cookieScript(`{"action":"accept","categories":"performance"}`), own(yesterday, yesterday, "analytics-g")}, granted: []string{"analytics"}, sources: "fp_consent"},
		{name: "cookiescript action another word", cookies: []string{cookieScript(`{"action":"Reject","categories":"[]"}`), own(yesterday, yesterday, "analytics-g")}, granted: []string{"analytics"}, sources: "fp_consent"},
		{name: "cookiescript action not a string", cookies: []string{cookieScript(`{"action":["reject"],"categories":"[]"}`), own(yesterday, yesterday, "analytics-g")}, granted: []string{"analytics"}, sources: "fp_consent"},
		{name: "cookiescript not JSON", cookies: []string{`CookieScriptConsent={action:"reject"}`, own(yesterday, yesterday, "analytics-g")}, granted: []string{"analytics"}, sources: "fp_consent"},
		// Didomi: its purposes through consent_map didomi (below).
		{name: "didomi capture", cookies: []string{didomiCapture},
			granted: []string{"analytics", "advertising"}, denied: []string{"social", "embeds"}, sources: "didomi"},
		{name: "didomi before a choice (capture)", cookies: []string{"didomi_token=eyJ1c2VyX2lkIjoiMTlhMWMzODAtOGRkYy02NTI3LWE0OTItODMwNTI4YjczMWMyIiwiY3JlYXRlZCI6IjIwMjUtMTAtMjVUMTY6MzM6NDUuNjkzWiIsInVwZGF0ZWQiOiIyMDI1LTEwLTI1VDE2OjMzOjQ1LjY5NFoiLCJ2ZXJzaW9uIjpudWxsfQ==", own(yesterday, yesterday, "analytics-g")},
			granted: []string{"analytics"}, sources: "fp_consent"},
		{name: "didomi vendors alone", cookies: []string{didomi(`{"vendors":{"enabled":["c:hotjar","google"]},"version":2}`), own(yesterday, yesterday, "analytics-g")},
			granted: []string{"analytics"}, sources: "fp_consent"},
		{name: "didomi disabled", cookies: []string{didomi(`{"purposes":{"enabled":["displayta-V8kMenYa"],"disabled":["analytics-NGqxWbmn"]}}`)},
			granted: []string{"advertising"}, denied: []string{"analytics"}, sources: "didomi"},
		{name: "didomi disabled wins", cookies: []string{didomi(`{"purposes":{"disabled":["analytics-NGqxWbmn"],"enabled":["analytics-NGqxWbmn"]}}`)},
			denied: []string{"analytics"}, sources: "didomi"},
		{name: "didomi unlisted says nothing", cookies: []string{didomi(`{"purposes":{"enabled":["analytics-other"],"disabled":[]}}`), own(yesterday, yesterday, "analytics-g")},
			granted: []string{"analytics"}, sources: "fp_consent"},
		{name: "didomi null list", cookies: []string{didomi(`{"purposes":{"enabled":null,"disabled":["analytics-NGqxWbmn"]}}`)},
			denied: []string{"analytics"}, sources: "didomi"},
		{name: "didomi items not strings, escapes", cookies: []string{didomi(`{"purposes":{"enabled":[1,null,["displayta-V8kMenYa"],"\u0061nalytics-NGqxWbmn"]}}`)},
			granted: []string{"analytics"}, denied: []string{"advertising"}, sources: "didomi"},
		{name: "didomi list not a list", cookies: []string{didomi(`{"purposes":{"enabled":"analytics-NGqxWbmn"}}`), own(yesterday, yesterday, "advertising-g")},
			denied: []string{"analytics"}, granted: []string{"advertising"}, sources: "fp_consent"},
		{name: "didomi one list not a list", cookies: []string{didomi(`{"purposes":{"enabled":["displayta-V8kMenYa"],"disabled":"analytics-NGqxWbmn"}}`)}, denied: []string{"advertising", "analytics"}},
		{name: "didomi purposes a list", cookies: []string{didomi(`{"purposes":["analytics-NGqxWbmn"]}`)}, denied: []string{"analytics"}},
		{name: "didomi base64 URL-encoded", cookies: []string{"didomi_token=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(`{"purposes":{"enabled":["analytics-NGqxWbmn"]}}`)))}, denied: []string{"analytics"}},
		{name: "didomi not base64 of JSON", cookies: []string{"didomi_token=" + base64.StdEncoding.EncodeToString([]byte(`{purposes:{enabled:["analytics-NGqxWbmn"]}}`))}, denied: []string{"analytics"}},
		{name: "didomi dated: a newer denial wins", cookies: []string{didomi(`{"updated":"` + yesterday.UTC().Format(time.RFC3339) + `","purposes":{"disabled":["analytics-NGqxWbmn"]}}`), own(now.Add(-10*day), now.Add(-10*day), "analytics-g")},
			denied: []string{"analytics"}, sources: "didomi,fp_consent"},
		{name: "didomi dated: a newer own grant wins", cookies: []string{didomi(`{"updated":"` + now.Add(-10*day).UTC().Format(time.RFC3339) + `","purposes":{"disabled":["analytics-NGqxWbmn"]}}`), own(yesterday, yesterday, "analytics-g")},
			granted: []string{"analytics"}, sources: "didomi,fp_consent"},
		{name: "cookiehub undated loses to a dated own grant", cookies: []string{cookieHub(`{"answered":true,"allAllowed":false,"categories":[],"timestamp":"yesterday"}`), own(now.Add(-10*day), now.Add(-10*day), "analytics-g")},
			granted: []string{"analytics"}, sources: "cookiehub,fp_consent"},

		{name: "tcf analytics only", cookies: []string{"euconsent-v2=" + tcfString([]int{1, 8, 9, 10}, []int{755}, yesterday.Unix(), false)},
			granted: []string{"analytics", "session_replay"}, denied: []string{"advertising", "social"}, sources: "tcf"},
		{name: "tcf ads, ranges", cookies: []string{"euconsent-v2=" + tcfString([]int{1, 2, 3, 4, 7}, []int{91, 755}, yesterday.Unix(), true) + ".YAAAAAAAAAAA"},
			granted: []string{"advertising", "social"}, denied: []string{"analytics"}},
		{name: "tcf truncated", cookies: []string{"euconsent-v2=" + tcfString([]int{1, 8}, []int{755}, yesterday.Unix(), false)[:20]},
			denied: []string{"analytics"}},
		{name: "tcf version 1", cookies: []string{"euconsent-v2=BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA"}, denied: []string{"analytics"}},

		// Found by TestBrowserConsentParityMutated, where the runtime and
		// the server disagreed (2026-12-05); each now reads as the other.
		{name: "own item twice", cookies: []string{own(yesterday, yesterday, "advertising-d", "advertising-a")}, denied: []string{"advertising"}},
		{name: "own item twice says nothing", cookies: []string{own(yesterday, yesterday, "analytics-g", "embeds-g", "analytics-g")}, denied: []string{"analytics", "embeds"}},
		{name: "onetrust other parameters unread", cookies: []string{"OptanonConsent=datestamp=%zz&groups=C0002%3A1", otClosed(yesterday)},
			granted: []string{"analytics"}, sources: "onetrust"},
		{name: "onetrust id up to the last colon", cookies: []string{"OptanonConsent=groups=C%3A0001%3A1%2CC0002%3A1", otClosed(yesterday)},
			granted: []string{"analytics"}, sources: "onetrust"},
		{name: "onetrust groups not UTF-8", cookies: []string{"OptanonConsent=groups=C0002%3A1%2C%FFC0004%3A0", otClosed(yesterday)}, denied: []string{"analytics"}},
		{name: "onetrust groups twice", cookies: []string{"OptanonConsent=groups=C0002%3A1&groups=C0002%3A1", otClosed(yesterday)}, denied: []string{"analytics"}},
		{name: "onetrust closed before 1970", cookies: []string{ot("C0002:1"), "OptanonAlertBoxClosed=1969-12-31T00:00:00Z"}, denied: []string{"analytics"}},
		{name: "tcf not base64url", cookies: []string{"euconsent-v2=" + strings.Replace(tcfString([]int{1, 8, 9}, []int{755}, yesterday.Unix(), false), "A", "+", 1)},
			denied: []string{"analytics"}},
		{name: "klaro trailing brace", cookies: []string{"klaro=" + url.QueryEscape(`{"matomo":true}}`)}, denied: []string{"analytics"}},
		{name: "klaro null", cookies: []string{"klaro=" + url.QueryEscape(`{"matomo":true,"youtube":null}`)}, denied: []string{"analytics"}},
		// Cookiebot's utc with more than digits leaves it undated: an
		// undated grant loses to Klaro's undated denial.
		{name: "cookiebot utc not a number", cookies: []string{strings.Replace(cbot(true, false, "explicit", yesterday), "utc:", "utc:1"+url.PathEscape("}"), 1), "klaro=" + url.QueryEscape(`{"matomo":false}`)},
			denied: []string{"analytics"}},
		{name: "cookiebot key trimmed as JavaScript trims", cookies: []string{strings.Replace(cbot(true, false, "explicit", yesterday), "statistics", "%EF%BB%BFstatistics", 1)},
			granted: []string{"analytics"}},
		{name: "cookiebot U+0085 kept", cookies: []string{strings.Replace(cbot(true, false, "explicit", yesterday), "statistics", "%C2%85statistics", 1)},
			denied: []string{"analytics"}},

		// tarteaucitron: one entry a service. The first five are captured
		// Cookie headers' values.
		{name: "tarteaucitron before a choice (capture)", cookies: []string{"tarteaucitron=!googleadwordsconversion=wait!gtag=wait!mautic=wait!facebook=wait!linkedin=wait!twitter=wait", own(yesterday, yesterday, "analytics-g")},
			granted: []string{"analytics"}, denied: []string{"advertising", "social"}, sources: "fp_consent"},
		{name: "tarteaucitron every service waiting says nothing", cookies: []string{"tarteaucitron=!gtag=wait!hotjar=wait", "klaro=" + url.QueryEscape(`{"matomo":true}`)},
			granted: []string{"analytics"}, sources: "klaro"},
		{name: "tarteaucitron with its paid version's id (capture)", cookies: []string{"tarteaucitron=!id=a5c8155833511d18-109da518-8ba7e9a8-ad046228aa8818a809d23c28!atinternet=true!hotjar=false"},
			granted: []string{"analytics"}, denied: []string{"session_replay", "advertising"}, sources: "tarteaucitron"},
		{name: "tarteaucitron a site's own services beside (capture)", cookies: []string{"tarteaucitron=!facebookpixel=true!atinternetservice=true!fontawesomeservice=true!sondageservice=true!youtube=true"},
			granted: []string{"social", "embeds"}, denied: []string{"analytics", "advertising"}, sources: "tarteaucitron"},
		{name: "tarteaucitron a shop (capture)", cookies: []string{"tarteaucitron=!analytics=true!gtag=true"},
			granted: []string{"analytics"}, denied: []string{"session_replay", "tag_manager"}, sources: "tarteaucitron"},
		{name: "tarteaucitron all granted (capture)", cookies: []string{"tarteaucitron=!gajs=true!googletagmanager=true!facebook=true!twitter=true!dailymotion=true!vimeo=true!youtube=true"},
			granted: []string{"analytics", "tag_manager", "social", "embeds"}, denied: []string{"advertising", "session_replay"}, sources: "tarteaucitron"},
		{name: "tarteaucitron one service refuses its category", cookies: []string{"tarteaucitron=!gtag=true!matomo=false!youtube=true"},
			granted: []string{"embeds"}, denied: []string{"analytics"}, sources: "tarteaucitron"},
		{name: "tarteaucitron a service waiting refuses its category", cookies: []string{"tarteaucitron=!gtag=true!hotjar=wait", own(yesterday, yesterday, "session_replay-g")},
			granted: []string{"analytics", "session_replay"}, sources: "fp_consent,tarteaucitron"},
		{name: "tarteaucitron a service waiting, undated, against an undated grant", cookies: []string{"tarteaucitron=!gtag=true!hotjar=wait", "klaro=" + url.QueryEscape(`{"hotjar":true}`)},
			granted: []string{"analytics"}, denied: []string{"session_replay"}, sources: "klaro,tarteaucitron"},
		{name: "tarteaucitron a service twice", cookies: []string{"tarteaucitron=!gtag=true!youtube=true!gtag=false", own(yesterday, yesterday, "embeds-d")},
			denied: []string{"analytics", "embeds"}, sources: "fp_consent"},
		{name: "tarteaucitron entries it does not write", cookies: []string{"tarteaucitron=gtag=true!!=true!youtube=TRUE!vimeo!a=b=true!criteo=false!matomo=yes!plausible!"},
			granted: []string{"analytics"}, denied: []string{"advertising", "embeds"}, sources: "tarteaucitron"},
		{name: "tarteaucitron a site's own service mapped", cookies: []string{"tarteaucitron=!shopstats=true!constructor=true!__proto__=false"},
			granted: []string{"analytics"}, sources: "tarteaucitron"},

		// Precedence between sources.
		{name: "newer own grant beats older CMP denial", cookies: []string{own(yesterday, yesterday, "analytics-g"), cbot(false, false, "explicit", now.Add(-10*day))},
			granted: []string{"analytics"}},
		{name: "newer CMP denial beats older own grant", cookies: []string{own(now.Add(-10*day), now.Add(-10*day), "analytics-g"), cbot(false, false, "explicit", yesterday)},
			denied: []string{"analytics"}},
		{name: "explicit denial beats implicit grant", cookies: []string{own(yesterday, yesterday, "*-a"), ot("C0002:0"), otClosed(now.Add(-30 * day))},
			denied: []string{"analytics"}, granted: []string{"advertising"}},
		{name: "undated denial beats undated grant", cookies: []string{"klaro=" + url.QueryEscape(`{"matomo":false}`), "cf_consent=" + url.QueryEscape(`{"aBcD":true}`)},
			denied: []string{"analytics"}},
	}
	cr := NewConsentReader("", map[string]map[string][]string{"zaraz": {"aBcD": {"analytics"}, "eFgH": {"advertising"}},
		"didomi": {"analytics-NGqxWbmn": {"analytics"}, "displayta-V8kMenYa": {"advertising"}}, "tarteaucitron": {"shopstats": {"analytics"}}})
	// Unmapped, Didomi's purposes say nothing.
	if st := NewConsentReader("", nil).Read(consentReq(false, didomiCapture), now); len(st.Sources) != 0 || st.Granted("analytics") {
		t.Errorf("an unmapped didomi_token read: %v", st.Sources)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := cr.Read(consentReq(c.gpc, c.cookies...), now)
			for _, g := range c.granted {
				if !st.Granted(g) {
					t.Errorf("%s not granted", g)
				}
			}
			for _, d := range c.denied {
				if st.Granted(d) {
					t.Errorf("%s granted", d)
				}
			}
			if c.sources != "" && strings.Join(st.Sources, ",") != c.sources {
				t.Errorf("sources %v, want %s", st.Sources, c.sources)
			}
		})
	}
}

func TestConsentVendors(t *testing.T) {
	y := consentNow.Add(-24 * time.Hour).Unix()
	cr := &ConsentReader{}
	// TCF grants the advertising purposes but not Google's vendor consent.
	st := cr.Read(consentReq(false, "euconsent-v2="+tcfString([]int{1, 2, 3, 4, 7}, []int{91}, y, false)), consentNow)
	if !st.VendorAllowed("advertising", "Criteo") || st.VendorAllowed("advertising", "Google Ads") {
		t.Errorf("TCF vendor consents not applied: criteo %v google %v", st.VendorAllowed("advertising", "Criteo"), st.VendorAllowed("advertising", "Google Ads"))
	}
	// The other vendors of the Global Vendor List that the database names
	// are read too: RTB House (16) and Xandr (32) refused, The Trade Desk
	// (21) given, in a string of vendor ranges.
	st = cr.Read(consentReq(false, "euconsent-v2="+tcfString([]int{1, 2, 3, 4, 7}, []int{21, 91}, y, true)), consentNow)
	if !st.VendorAllowed("advertising", "TradeDesk") || st.VendorAllowed("advertising", "RTB House") || st.VendorAllowed("advertising", "AppNexus") {
		t.Errorf("TCF vendor consents beyond the four: tradedesk %v rtb house %v appnexus %v", st.VendorAllowed("advertising", "TradeDesk"), st.VendorAllowed("advertising", "RTB House"), st.VendorAllowed("advertising", "AppNexus"))
	}
	// "Always allow YouTube" beats a denied category.
	st = cr.Read(consentReq(false, own(consentNow, consentNow, "*-d", "@youtube-g")), consentNow)
	if !st.VendorAllowed("embeds", "YouTube") || st.VendorAllowed("embeds", "Vimeo") {
		t.Errorf("vendor grant not applied")
	}
}

// TestConsentKey: two states have one Key exactly when they allow the
// same categories and vendors (style_sheets consent tags a sheet with it).
func TestConsentKey(t *testing.T) {
	y := consentNow.Add(-24 * time.Hour)
	cr := &ConsentReader{}
	key := func(gpc bool, cookies ...string) string {
		st := cr.Read(consentReq(gpc, cookies...), consentNow)
		return st.Key()
	}
	for _, c := range []struct {
		a, b  string
		gpcB  bool
		equal bool
	}{
		{own(y, y, "analytics-g"), own(consentNow, consentNow, "analytics-g"), false, true},
		{own(y, y, "analytics-g"), own(y, y, "analytics-g", "fonts-d"), false, true}, // no signal denies
		{"", own(y, y, "*-d"), false, true},
		{own(y, y, "analytics-g"), own(y, y, "social-g"), false, false},
		{own(y, y, "*-g"), own(y, y, "*-g", "social-d"), false, false},
		{own(y, y, "*-d"), own(y, y, "*-d", "@youtube-g"), false, false},
		{own(y, y, "*-d", "@youtube-g"), own(y, y, "*-d", "@youtube-d"), false, false},
		{own(y, y, "*-d"), own(y, y, "*-d", "@youtube-d"), false, false}, // a vendor's denial, kept for a later grant
		{own(y, y, "custom-g"), own(y, y, "*-d"), false, false},
		{"", "", true, true},
		{own(y, y, "*-g"), own(y, y, "*-g"), true, true}, // an explicit grant beats GPC
	} {
		var a, b []string
		if c.a != "" {
			a = []string{c.a}
		}
		if c.b != "" {
			b = []string{c.b}
		}
		if ka, kb := key(false, a...), key(c.gpcB, b...); (ka == kb) != c.equal {
			t.Errorf("%q and %q (gpc %v): keys %q and %q", c.a, c.b, c.gpcB, ka, kb)
		}
	}
}

// TestTCFVendorNames: a Global Vendor List vendor's refusal holds every
// tag the tracker database names as that vendor's. Each URL below, of the
// vendor's usual tags, is decided by the embedded database under a name
// tcfVendors gives the vendor; and every name AdGuard companiesdb files
// under the vendor's company in a tracker category is one of them, or is
// set aside below with the reason. (Until 2026-12-06 Google's vendor
// consent held six names: GPT, Floodlight's gtag.js, the IMA SDK and
// adservice.google.com ran with it refused.)
func TestTCFVendorNames(t *testing.T) {
	db, err := blocklists.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p := blocklists.NewPolicy(db)
	urls := map[int][]string{
		755: {"www.googletagmanager.com/gtag/js?id=AW-1", "www.googletagmanager.com/gtag/js?id=DC-1", "www.googletagmanager.com/gtag/js?id=G-1",
			"www.googletagmanager.com/gtm.js?id=GTM-1", "www.google-analytics.com/g/collect", "www.googleadservices.com/pagead/conversion.js",
			"googleads.g.doubleclick.net/pagead/viewthroughconversion/1/", "pagead2.googlesyndication.com/pagead/js/adsbygoogle.js",
			"securepubads.g.doubleclick.net/tag/js/gpt.js", "www.googletagservices.com/tag/js/gpt.js", "ad.doubleclick.net/ddm/activity/src=1",
			"fls.doubleclick.net/activityi", "stats.g.doubleclick.net/g/collect", "www.google.com/pagead/1p-conversion/1/",
			"adservice.google.com/adsid/integrator.js", "imasdk.googleapis.com/js/sdkloader/ima3.js", "s0.2mdn.net/ads/x.js", "tpc.googlesyndication.com/sodar/x.js"},
		1126: {"bat.bing.com/bat.js", "bat.bing.com/action/0", "c.bing.com/c.gif", "www.clarity.ms/tag/x", "c.clarity.ms/c.gif", "bat.r.msn.com/x"},
		16:   {"www.creativecdn.com/tags", "us.creativecdn.com/tags"},
		21:   {"js.adsrvr.org/up_loader.1.1.0.js", "insight.adsrvr.org/track/pxl"},
		32:   {"ib.adnxs.com/getuid", "acdn.adnxs.com/ast/ast.js"},
		42:   {"cdn.taboola.com/libtrc/unip/1/tfa.js", "trc.taboola.com/1/log"},
		50:   {"track.adform.net/Serving/TrackPoint/", "s2.adform.net/banners/scripts/st/trackpoint-async.js"},
		11:   {"pixel.quantserve.com/pixel", "secure.quantserve.com/quant.js"},
		77:   {"sb.scorecardresearch.com/beacon.js"},
		130:  {"s.adroll.com/j/roundtrip.js", "d.adroll.com/cm/x"},
		91:   {"static.criteo.net/js/ld/ld.js", "dis.criteo.com/dis/usersync.aspx", "sslwidget.criteo.com/event", "gum.criteo.com/sync"},
		793:  {"c.amazon-adsystem.com/aax2/apstag.js", "s.amazon-adsystem.com/iu3", "z-na.amazon-adsystem.com/widgets/onejs", "assoc-amazon.com/s/x"},
	}
	for id, us := range urls {
		for _, u := range us {
			host, rest, _ := strings.Cut(u, "/")
			path, query, _ := strings.Cut("/"+rest, "?")
			v := p.DecideURL("shop.example", host, path, query)
			if v.Action == blocklists.ActionKeep || !slices.Contains(tcfVendors[id], v.Vendor) {
				t.Errorf("%s: %s by %q, which vendor %d's refusal does not hold (tcfVendors)", u, v.Action, v.Vendor, id)
			}
		}
	}

	b, err := os.ReadFile("../blocklists/data/trackers.json")
	if err != nil {
		t.Fatal(err)
	}
	var cdb struct {
		Categories map[string]string `json:"categories"`
		Trackers   map[string]struct {
			Name       string `json:"name"`
			CategoryID int    `json:"categoryId"`
			CompanyID  string `json:"companyId"`
		} `json:"trackers"`
		TrackerDomains map[string]string `json:"trackerDomains"`
	}
	if err := json.Unmarshal(b, &cdb); err != nil {
		t.Fatal(err)
	}
	companies := map[string]int{"google": 755, "microsoft": 1126, "criteo": 91, "amazon_associates": 793,
		"index_exchange": 10, "quantcast": 11, "sovrn": 13, "rtb_house": 16, "the_trade_desk": 21, "verizon": 25,
		"triplelift": 28, "taboola": 42, "smart_adserver": 45, "adform": 50, "rubicon_project": 52, "openx": 69,
		"pubmatic": 76, "comscore": 77, "flashtalking": 78, "lotame": 95, "doubleverify": 126, "adroll": 130,
		"teads": 132, "media.net": 142, "integral_ad_science": 278, "oracle": 385, "salesforce": 506}
	// Names of those companies that another id governs: Xandr's (32),
	// which companiesdb files under Microsoft, and Moat's (772), Oracle's.
	elsewhere := map[string]int{"AppNexus": 32, "MediaGlu": 32, "Open Adstream": 32, "Moat": 772}
	// Names of those companies that a vendor's refusal leaves alone.
	apart := map[string]string{
		// Apps' SDKs and a database's hosts, not Google's advertising
		// products (companiesdb files them under mobile analytics).
		"Android": "app", "Crashlytics": "app", "Firebase": "app",
		// Microsoft's LinkedIn, with a Global Vendor List id of its own,
		// which firstparty does not read.
		"LinkedIn Ads": "own id", "LinkedIn Analytics": "own id", "LinkedIn Marketing Solutions": "own id",
		"HockeyApp": "app",
		// AWS's application hosting, anyone's (companiesdb: site analytics).
		"Elastic Beanstalk": "hosting",
	}
	hasHost := map[string]bool{}
	for _, id := range cdb.TrackerDomains {
		hasHost[id] = true
	}
	tracking := map[string]bool{"advertising": true, "pornvertising": true, "site_analytics": true, "mobile_analytics": true, "telemetry": true}
	seen := map[string]bool{}
	for key, tr := range cdb.Trackers {
		id, ok := companies[tr.CompanyID]
		if !ok || !hasHost[key] || !tracking[cdb.Categories[strconv.Itoa(tr.CategoryID)]] {
			continue
		}
		seen[tr.Name] = true
		if other, ok := elsewhere[tr.Name]; ok {
			id = other
		}
		if _, ok := apart[tr.Name]; !ok && !slices.Contains(tcfVendors[id], tr.Name) {
			t.Errorf("companiesdb's %q (%s) is not in vendor %d's names, nor set aside (tcfVendors)", tr.Name, tr.CompanyID, id)
		}
	}
	// Every name governed is one the database gives, and governed once.
	names := map[string]int{}
	for id, ns := range tcfVendors {
		for _, n := range ns {
			if other, ok := names[n]; ok {
				t.Errorf("%q is governed by %d and %d", n, other, id)
			}
			names[n] = id
		}
	}
	for _, tr := range cdb.Trackers {
		delete(names, tr.Name)
	}
	ov, err := os.ReadFile("../blocklists/data/overrides.txt")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(ov)) {
		// host | CATEGORY | HOST[/PATH] | VENDOR, sig | CATEGORY | VENDOR | …
		f := strings.Split(line, "|")
		switch kind := strings.TrimSpace(f[0]); {
		case kind == "host" && len(f) > 3:
			delete(names, strings.TrimSpace(f[3]))
		case (kind == "sig" || kind == "shape") && len(f) > 2:
			delete(names, strings.TrimSpace(f[2]))
		}
	}
	for n := range names {
		t.Errorf("tcfVendors names %q, which neither companiesdb nor the overrides give", n)
	}
	for name := range apart {
		if !seen[name] {
			t.Errorf("%q is set aside, but companiesdb files no tracker of a vendor's company under it", name)
		}
	}
}

// A custom cookie name is read, and the default one is then ignored.
func TestConsentCookieName(t *testing.T) {
	cr := &ConsentReader{Cookie: "shop_consent"}
	v := strings.TrimPrefix(own(consentNow, consentNow, "analytics-g"), "fp_consent=")
	if st := cr.Read(consentReq(false, "shop_consent="+v), consentNow); !st.Granted("analytics") {
		t.Error("custom cookie name not read")
	}
	if st := cr.Read(consentReq(false, "fp_consent="+v), consentNow); st.Granted("analytics") {
		t.Error("default cookie read under a custom name")
	}
}

// TestCookieJar: a request's cookies are read as the runtime reads
// document.cookie, where net/http's parser drops some values and changes
// others (Chromium sends such values as document.cookie holds them).
func TestCookieJar(t *testing.T) {
	cases := []struct {
		name    string
		headers []string
		want    map[string][]string
	}{
		{"raw JSON, quotes and backslashes kept", []string{`CookieScriptConsent={"action":"accept","categories":"[\"performance\"]"}; a=1`},
			map[string][]string{"CookieScriptConsent": {`{"action":"accept","categories":"[\"performance\"]"}`}, "a": {"1"}}},
		{"a quoted value keeps its quotes", []string{`fp_consent="1.2.3"`}, map[string][]string{"fp_consent": {`"1.2.3"`}}},
		{"no space after ;, or several", []string{"a=1;b=2;   c=3"}, map[string][]string{"a": {"1"}, "b": {"2"}, "c": {"3"}}},
		{"beyond ASCII", []string{"klaro=%7B%7D; x=café"}, map[string][]string{"klaro": {"%7B%7D"}, "x": {"café"}}},
		{"a value holding =", []string{"euconsent-v2=CQ==; t=a=b"}, map[string][]string{"euconsent-v2": {"CQ=="}, "t": {"a=b"}}},
		{"a tab is not a space, nor a space after the name", []string{"a=1;\tb=2; c =3 "}, map[string][]string{"a": {"1"}, "\tb": {"2"}, "c ": {"3 "}}},
		{"no =, no name, empty parts", []string{"flag; =v; ; d=; e=5"}, map[string][]string{"d": {""}, "e": {"5"}}},
		{"a name twice, and two headers", []string{"a=1; b=2", "a=3"}, map[string][]string{"a": {"1", "3"}, "b": {"2"}}},
		{"the first cookie's spaces are its name's", []string{" a=1"}, map[string][]string{" a": {"1"}}},
		{"no header", nil, map[string][]string{}},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		for _, h := range c.headers {
			r.Header.Add("Cookie", h)
		}
		if got := cookieJar(r); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %q read as %q, want %q", c.name, c.headers, got, c.want)
		}
	}
	// What net/http drops is read: a choice in raw JSON counts.
	cr := NewConsentReader("", nil)
	if st := cr.Read(consentReq(false, `klaro={"google-analytics":true}`), consentNow); !st.Granted("analytics") {
		t.Error(`klaro={"google-analytics":true}, raw, is not read`)
	}
}

// borlabs is Borlabs Cookie's cookie as it writes it: the JSON
// URL-encoded.
func borlabs(v string) string {
	return "borlabs-cookie=" + url.QueryEscape(v)
}

// cookieFirst is CookieFirst's cookie of JSON v, encoded as it writes it.
func cookieFirst(v string) string {
	return "cookiefirst-consent=" + url.QueryEscape(v)
}

// iub is iubenda's cookie for site id, of JSON v, encoded as it writes it.
func iub(id int, v string) string {
	return "_iub_cs-" + strconv.Itoa(id) + "=" + url.QueryEscape(v)
}

// cookieScript is CookieScript's cookie of JSON v, URL-encoded as most
// sites' copies write it (others write it raw).
func cookieScript(v string) string {
	return "CookieScriptConsent=" + url.QueryEscape(v)
}

// cookieHub is CookieHub's cookie of JSON v, encoded as it writes it.
func cookieHub(v string) string {
	return "cookiehub=" + base64.StdEncoding.EncodeToString([]byte(v))
}

// didomi is Didomi's didomi_token of JSON v, encoded as it writes it.
func didomi(v string) string {
	return "didomi_token=" + base64.StdEncoding.EncodeToString([]byte(v))
}

// didomiCapture is a didomi_token from a captured Cookie header (a site's
// custom purposes and vendors, each id with the suffix Didomi draws).
const didomiCapture = "didomi_token=eyJ1c2VyX2lkIjoiMTkyOTAwMzktNGUzOC02MjAzLWE0OTUtMDhlMTU0YTQ5NTk4IiwiY3JlYXRlZCI6IjIwMjQtMTAtMTVUMTE6NTA6MDYuODE5WiIsInVwZGF0ZWQiOiIyMDI0LTEwLTE1VDExOjUwOjMyLjQwOFoiLCJ2ZW5kb3JzIjp7ImVuYWJsZWQiOlsiYzpkaWRvbWktZllQQll4V2EiLCJjOmRvY3RvbGlibi1XcDg3Q3BYQSIsImM6ZG9jdG9saWJhLXRndGIzVzhQIl19LCJwdXJwb3NlcyI6eyJlbmFibGVkIjpbImFuYWx5dGljcy1OR3F4V2JtbiIsImFuYWx5dGlrLU4yWkg5QnFRIiwiZGlzcGxheXRhLVY4a01lbllhIiwiZGlzcGxheXRhLVZyUFBWbkhoIl19LCJ2ZXJzaW9uIjoyfQ=="

// TestISOMilli: ISO 8601 times are read as V8's Date.parse reads them
// (node and Chromium gave each figure here), where time.Parse refuses
// some: a day past its month's end, 24:00:00.
func TestISOMilli(t *testing.T) {
	for s, want := range map[string]int64{
		"2026-02-30T00:00:00Z":           1772409600000,
		"2026-04-31T00:00:00Z":           1777593600000,
		"2026-01-01T24:00:00Z":           1767312000000,
		"2026-01-01T24:00:00.0000Z":      1767312000000,
		"2026-01-01T24:00:00+05:00":      1767294000000,
		"2026-01-01T00:00:00+23:59":      1767139260000,
		"2026-01-01T00:00:00-00:00":      1767225600000,
		"2026-01-01T00:00:00.123456789Z": 1767225600123,
		"2026-01-01T00:00:00.9999999Z":   1767225600999,
		"2025-10-10T06:56:29.808Z":       1760079389808,
		"1969-12-31T23:59:59.999Z":       -1,
		"0000-01-01T00:00:00Z":           -62167219200000,
	} {
		if got, ok := isoMilli(s); !ok || got != want {
			t.Errorf("%s: %d, %v; want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z", "2026-00-01T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-01-01T24:00:01Z", "2026-01-01T24:00:00.001Z", "2026-01-01T24:00:00.0001Z", "2026-01-01T25:00:00Z",
		"2026-01-01T23:60:00Z", "2026-01-01T23:59:60Z", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+00:60",
		"2026-01-01T00:00:00.Z", "2026-01-01T00:00:00", "2026-01-01 00:00:00Z", "275760-09-13T00:00:00Z", ""} {
		if got, ok := isoMilli(s); ok {
			t.Errorf("%s: %d, want refused", s, got)
		}
	}
}

// FuzzConsentCookies: any Cookie header is read without a panic.
func FuzzConsentCookies(f *testing.F) {
	f.Add("fp_consent=1.1.2.analytics-g; CookieConsent={statistics:true}; klaro=%7B%7D", true)
	f.Add("euconsent-v2="+tcfString([]int{1, 8}, []int{755, 1126}, 1700000000, true), false)
	f.Add("OptanonConsent=groups%3DC0002%3A1; OptanonAlertBoxClosed=2026-01-01T00:00:00Z; cf_consent=%7B%22a%22%3Atrue%7D", false)
	f.Add("cmplz_banner-status=dismissed; cmplz_statistics=allow; cmplz_marketing=deny; cookieyes-consent=action:yes,analytics:yes", false)
	f.Add(cookieFirst(`{"necessary":true,"performance":true,"functional":false,"advertising":false,"timestamp":1728728251}`), false)
	f.Add(borlabs(`{"consents":{"essential":[],"statistics":["google-analytics"]}}`), true)
	f.Add(iub(5, `{"purposes":{"4":true},"timestamp":"2026-01-01T00:00:00Z"}`)+"; _iub_cs-6=x", true)
	f.Add(cookieHub(`{"answered":true,"allAllowed":false,"categories":[{"id":"analytics","value":true}],"timestamp":"2026-02-30T24:00:00Z"}`), false)
	f.Add(`klaro={"matomo":true,"x":"a\\"b"}; fp_consent="1.1.2.analytics-g"; a=é`, false)
	f.Add(`CookieScriptConsent={"action":"accept","categories":"[\\"performance\\",1]"}`, false)
	f.Add(didomi(`{"updated":"2026-01-01T00:00:00Z","purposes":{"enabled":["a",1],"disabled":null}}`), false)
	f.Add("tarteaucitron=!id=a5c8!gtag=true!hotjar=wait!youtube=false!gtag=true!=true!a=b=true", false)
	cr := NewConsentReader("", map[string]map[string][]string{"didomi": {"a": {"analytics"}}})
	f.Fuzz(func(t *testing.T, cookie string, gpc bool) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", cookie)
		if gpc {
			r.Header.Set("Sec-GPC", "1")
		}
		st := cr.Read(r, consentNow)
		if gpc && st.Granted("advertising") && st.cats["advertising"].state != sigGrant && st.cats["*"].state != sigGrant {
			t.Fatalf("GPC overridden by an implicit grant")
		}
	})
}
