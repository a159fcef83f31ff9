package blocklists

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"
)

// builtinRows are URLs and what the embedded database decides for them.
var builtinRows = []struct{ host, path, cat, vendor, action string }{
	{"www.googletagmanager.com", "/gtm.js", "tag_manager", "Google Tag Manager", "defer"},
	{"www.googletagmanager.com", "/gtag/js", "analytics", "Google Analytics", "defer"},
	{"www.google-analytics.com", "/g/collect", "analytics", "Google Analytics", "defer"},
	{"www.facebook.com", "/tr", "social", "Meta Pixel", "defer"},
	{"connect.facebook.net", "/en_US/fbevents.js", "social", "Meta Pixel", "defer"},
	{"static.hotjar.com", "/c/hotjar-1.js", "session_replay", "Hotjar", "defer"},
	{"www.clarity.ms", "/tag/x", "session_replay", "Microsoft Clarity", "defer"},
	{"plausible.io", "/js/script.js", "analytics", "Plausible", "defer"},
	// Shop tags companiesdb lacks (2026-12-06): held as unknown, unnamed.
	{"js.sentry-cdn.com", "/0123abcd.min.js", "analytics", "Sentry", "defer"},
	{"browser.sentry-cdn.com", "/7.0.0/bundle.min.js", "analytics", "Sentry", "defer"},
	{"www.datadoghq-browser-agent.com", "/us1/v5/datadog-rum.js", "analytics", "Datadog", "defer"},
	{"cdn.rudderlabs.com", "/v3/modern/rsa.min.js", "tag_manager", "RudderStack", "defer"},
	{"cdn.attn.tv", "/shop/dtag.js", "advertising", "Attentive", "defer"},
	{"cdn.judge.me", "/loader.js", "embeds", "Judge.me", "placeholder"},
	{"static.zdassets.com", "/ekr/snippet.js", "embeds", "Zendesk", "placeholder"},
	{"a.omappapi.com", "/app/js/api.min.js", "embeds", "OptinMonster", "placeholder"},
	{"www.youtube.com", "/embed/x", "embeds", "YouTube", "placeholder"},
	{"js.stripe.com", "/v3/", "payments", "Stripe", "keep"},
	{"unlisted-vendor.example", "/x.js", "unknown", "", "defer"},
	{"stats.g.doubleclick.net", "/x", "advertising", "Google Marketing Platform", "defer"},
	// What companiesdb files under essential (kept) or hosting, and
	// overrides.txt does not leave there.
	{"assets.adobedtm.com", "/abc/launch-EN1.min.js", "tag_manager", "Adobe Experience Platform Tags", "defer"},
	{"nexus.ensighten.com", "/shop/prod/Bootstrap.js", "tag_manager", "Ensighten", "defer"},
	{"tags.tiqcdn.com", "/utag/shop/main/prod/utag.js", "tag_manager", "Tealium", "defer"},
	{"collect.tealiumiq.com", "/event", "analytics", "Tealium", "defer"},
	{"collect.commander1.com", "/v1/event", "analytics", "Commanders Act", "defer"},
	{"cdn.tagcommander.com", "/1/tc_shop.js", "tag_manager", "Commanders Act", "defer"},
	{"s.thebrighttag.com", "/tag", "tag_manager", "Signal", "defer"},
	{"www.googletagservices.com", "/tag/js/gpt.js", "advertising", "Google Publisher Tag", "defer"},
	{"cdn.dynamicyield.com", "/api/1/api_dynamic.js", "analytics", "Dynamic Yield", "defer"},
	{"d.impactradius-event.com", "/A1.js", "advertising", "Impact", "defer"},
	{"utt.impactcdn.com", "/A1234-5678-90ab.js", "advertising", "Impact", "defer"},
	{"ojrq.net", "/p/", "advertising", "Impact", "defer"},
	{"shop.sjv.io", "/c/1/2/3", "advertising", "Impact", "defer"},
	{"svtrd.com", "/t/x.js", "tag_manager", "Relay42", "defer"},
	{"l.betrad.com", "/ct/", "advertising", "Evidon", "defer"},
	{"c.evidon.com", "/sitenotice/evidon.js", "consent", "Evidon", "keep"},
	{"p.typekit.net", "/p.gif", "analytics", "Adobe Fonts", "defer"},
	{"use.typekit.net", "/abc1def.css", "fonts", "Adobe Fonts", "keep"},
	{"analytics.paddle.com", "/event", "analytics", "Paddle", "defer"},
	{"cdn.paddle.com", "/paddle/v2/paddle.js", "payments", "Paddle", "keep"},
	{"collect.alipay.com", "/x", "analytics", "Alipay", "defer"},
	{"cdn.evgnet.apptegic.com", "/x.js", "analytics", "Evergage", "defer"},
	{"w1.luckyorange.com", "/w.js", "session_replay", "Lucky Orange", "defer"},
	{"settings.luckyorange.net", "/", "session_replay", "Lucky Orange", "defer"},
	{"rec.livestatserver.com", "/", "session_replay", "Lucky Orange", "defer"},
	{"abc123.cloudfront.net", "/t.js", "unknown", "", "defer"},
	{"tracker.herokuapp.com", "/t.js", "unknown", "", "defer"},
	{"bucket.s3.amazonaws.com", "/t.js", "unknown", "", "defer"},
	{"challenges.cloudflare.com", "/turnstile/v0/api.js", "essential", "Cloudflare Turnstile", "keep"},
	{"cdn.cookielaw.org", "/scripttemplates/otSDKStub.js", "consent", "OneTrust", "keep"},
	// A consent manager's script is kept: held, its banner never showed.
	{"cdn-cookieyes.com", "/client_data/0a1b/script.js", "consent", "CookieYes", "keep"},
	{"log.cookieyes.com", "/api/v1/log", "consent", "CookieYes", "keep"},
	{"cmp.quantcast.com", "/choice/x/choice.js", "consent", "Quantcast Choice", "keep"},
	{"app.termly.io", "/resource-blocker/0a1b", "consent", "Termly", "keep"},
	{"cmp.osano.com", "/x/y/osano.js", "consent", "Osano", "keep"},
	{"static.axept.io", "/sdk.js", "consent", "Axeptio", "keep"},
	{"cdn.consentmanager.net", "/delivery/autoblocking/x.js", "consent", "consentmanager", "keep"},
	{"cdn.privacy-mgmt.com", "/unified/wrapperMessagingWithoutDetection.js", "consent", "Sourcepoint", "keep"},
	{"sdk.privacy-center.org", "/loader.js", "consent", "Didomi", "keep"},
	{"cdn.iubenda.com", "/cs/iubenda_cs.js", "consent", "iubenda", "keep"},
	{"cdntag.tarteaucitron.io", "/load.js?domain=shop.example&uuid=0123", "consent", "tarteaucitron", "keep"},
	// companiesdb files payment providers and Shopify's CDN under
	// customer_interaction (embeds: a checkout button or a product image
	// held for a click) and marketing tags there too (released by a
	// visitor's consent to embedded videos); some shop vendors it lacks
	// (2026-12-06, later).
	{"static-eu.payments-amazon.com", "/checkout.js", "payments", "Amazon Pay", "keep"},
	{"x.klarnacdn.net", "/kp/lib/v1/api.js", "payments", "Klarna", "keep"},
	{"js.klarna.com", "/web-sdk/v1/klarna.js", "payments", "Klarna", "keep"},
	{"js.braintreegateway.com", "/web/3.97.0/js/client.min.js", "payments", "Braintree", "keep"},
	{"client-analytics.braintreegateway.com", "/v1/x", "analytics", "Braintree", "defer"},
	{"cdn1.affirm.com", "/js/v2/affirm.js", "payments", "Affirm", "keep"},
	{"tracker.affirm.com", "/collect", "analytics", "Affirm", "defer"},
	{"www.paypalobjects.com", "/de_DE/i/scr/pixel.gif", "analytics", "PayPal", "defer"},
	{"www.paypalobjects.com", "/de_DE/i/btn/btn_buynowCC_LG.gif", "payments", "PayPal", "keep"},
	{"checkoutshopper-live.adyen.com", "/checkoutshopper/sdk/5.0.0/adyen.js", "payments", "Adyen", "keep"},
	{"applepay.cdn-apple.com", "/jsapi/v1/apple-pay-sdk.js", "payments", "Apple Pay", "keep"},
	{"m.stripe.network", "/inner.html", "payments", "Stripe", "keep"},
	{"beacon.riskified.com", "/", "essential", "Riskified", "keep"},
	{"checkout.razorpay.com", "/v1/checkout.js", "payments", "Razorpay", "keep"},
	{"web.squarecdn.com", "/v1/square.js", "payments", "Square", "keep"},
	{"js.checkout.com", "/framesv2.min.js", "payments", "Checkout.com", "keep"},
	{"cdn.snipcart.com", "/themes/v3.7.1/default/snipcart.js", "payments", "Snipcart", "keep"},
	{"app.ecwid.com", "/script.js", "payments", "Ecwid", "keep"},
	{"gumroad.com", "/js/gumroad.js", "payments", "Gumroad", "keep"},
	{"cdn11.bigcommerce.com", "/s-abc123/images/stencil/500x659/products/1/1/shirt.jpg", "cdn", "BigCommerce CDN", "keep"},
	{"cdn.sanity.io", "/images/abc123/production/shirt-800x600.jpg", "cdn", "Sanity", "keep"},
	{"media.graphassets.com", "/AbC123", "cdn", "Hygraph", "keep"},
	{"cdn.shopify.com", "/s/files/1/0001/products/shirt.jpg", "cdn", "Shopify CDN", "keep"},
	{"cdn.shopify.com", "/s/trekkie.storefront.9f32.min.js", "analytics", "Shopify Analytics", "defer"},
	{"cdn.shopify.com", "/shopifycloud/web-pixels-manager/0.0.172/browser.modern.js", "tag_manager", "Shopify Web Pixels", "defer"},
	{"rp.rfihub.com", "/x", "advertising", "Zeta Global", "defer"},
	{"cdn.callrail.com", "/companies/1/swap.js", "analytics", "CallRail", "defer"},
	{"s1.listrakbi.com", "/scripts/script.js", "analytics", "Listrak", "defer"},
	{"rec.getsmartlook.com", "/recorder.js", "session_replay", "Smartlook", "defer"},
	{"cdn.lr-ingest.com", "/LogRocket.min.js", "session_replay", "LogRocket", "defer"},
	{"scripts.simpleanalyticscdn.com", "/latest.js", "analytics", "Simple Analytics", "defer"},
	{"cdn.pdst.fm", "/ping.min.js", "advertising", "Podsights", "defer"},
	{"wrapper-api.sp-prod.net", "/tcfv2/v1/gdpr/consent", "consent", "Sourcepoint", "keep"},
	{"cdn.trustcommander.net", "/privacy/1/privacy_v2_1.js", "consent", "Commanders Act", "keep"},
	{"www.instagram.com", "/embed.js", "embeds", "Instagram", "placeholder"},
	{"geo.dailymotion.com", "/player/x1.js", "embeds", "Dailymotion", "placeholder"},
	{"static.okendo.io", "/reviews-widget-plus/js/okendo-reviews.js", "embeds", "Okendo", "placeholder"},
	{"config.gorgias.chat", "/bundle-loader/01", "embeds", "Gorgias", "placeholder"},
	{"fonts.bunny.net", "/css", "fonts", "Bunny Fonts", "keep"},
	// One vendor, one name and one category.
	{"tr.snapchat.com", "/p", "social", "Snapchat Pixel", "defer"},
	{"connect.facebook.net", "/en_US/sdk.js", "social", "Facebook", "defer"},
	{"www.tiktok.com", "/embed.js", "embeds", "TikTok", "placeholder"},
	{"fast.wistia.net", "/embed/iframe/abc123", "embeds", "Wistia", "placeholder"},
	{"play.vidyard.com", "/embed/v4.js", "embeds", "Vidyard", "placeholder"},
	{"js.hsforms.net", "/forms/embed/v2.js", "embeds", "HubSpot Forms", "placeholder"},
	{"js.hs-scripts.com", "/1234.js", "analytics", "HubSpot", "defer"},
	{"analytics.tiktok.com", "/i18n/pixel/events.js", "social", "TikTok Pixel", "defer"},
	// Widgets that companiesdb files under essential.
	{"widgets.trustedshops.com", "/js/X0123456789ABCDEF.js", "embeds", "Trusted Shops", "placeholder"},
	{"static.virtusize.com", "/a/integration/v3.js", "embeds", "Virtusize", "placeholder"},
	{"cdn.onesignal.com", "/sdks/web/v16/OneSignalSDK.page.js", "advertising", "OneSignal", "defer"},
	{"cdn.pushowl.com", "/latest/sdks/pushowl-sdk.js", "advertising", "PushOwl", "defer"},
	// Ad and measurement hosts of CDNs that companiesdb files as cdn.
	{"imasdk.googleapis.com", "/js/sdkloader/ima3.js", "advertising", "Google IMA SDK", "defer"},
	{"csi.gstatic.com", "/csi", "analytics", "Google Static", "defer"},
	{"s2.akstat.io", "/", "analytics", "SOASTA mPulse", "defer"},
}

func TestBuiltin(t *testing.T) {
	db, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p := NewPolicy(db)
	tests := builtinRows
	for _, tt := range tests {
		v := p.DecideURL("shop.example", tt.host, tt.path, "")
		if v.Category != tt.cat || v.Vendor != tt.vendor || v.Action != tt.action {
			t.Errorf("%s%s: got %+v, want %s %s %s", tt.host, tt.path, v, tt.cat, tt.vendor, tt.action)
		}
	}
	if v := p.DecideURL("shop.example", "cdn.shop.example", "/a.js", ""); v.Action != "keep" || v.Host != "" {
		t.Errorf("first party subdomain: %+v", v)
	}
	if v := p.DecideURL("shop.example", "shop.example", "/js/gtag/js", "id=G-1"); v.Action != "keep" || v.Vendor == "" {
		t.Errorf("first-party copy by shape: %+v", v)
	}
	p.ThirdParty = []string{"metrics.shop.example"}
	if v := p.DecideURL("shop.example", "metrics.shop.example", "/", ""); v.Action != "defer" {
		t.Errorf("cname-cloaked third party: %+v", v)
	}
	p.Allow = []string{"hotjar.com"}
	p.Deny = []string{"cdn.jsdelivr.net"}
	if v := p.DecideURL("shop.example", "static.hotjar.com", "/", ""); v.Action != "keep" {
		t.Errorf("allow: %+v", v)
	}
	if v := p.DecideURL("shop.example", "cdn.jsdelivr.net", "/", ""); v.Action != "remove" {
		t.Errorf("deny: %+v", v)
	}
}

// TestBuiltinWithLists: EasyPrivacy loaded as analytics and EasyList as
// advertising (as Caddyfile.example loads them) leave every vendor the
// embedded database knows in its category. Before, the lists' category
// won for a host they block: Hotjar, Clarity, the Meta Pixel, LinkedIn
// Insight and Google Tag Manager were analytics, loaded for a visitor
// who granted analytics alone; and EasyPrivacy's exception kept Adobe's
// tag manager loader before any choice.
func TestBuiltinWithLists(t *testing.T) {
	p := fullPolicy(t)
	for _, tt := range builtinRows {
		v := p.DecideURL("shop.example", tt.host, tt.path, "")
		if v.Category != tt.cat || v.Vendor != tt.vendor || v.Action != tt.action {
			t.Errorf("%s%s: got %+v, want %s %s %s", tt.host, tt.path, v, tt.cat, tt.vendor, tt.action)
		}
	}
}

// TestListBlockOnCDN: a list's block of a URL on a host the embedded
// database files as a CDN stands, without the CDN's name, since the CDN
// is where the file is served, not whose it is; before, the CDN's entry
// won, and with EasyPrivacy loaded Snowplow's tracker on jsDelivr,
// Akamai's mPulse beacons (akstat.io) and Google's csi.gstatic.com (both
// now in overrides.txt too) were kept before consent. Every other fact
// still stands against a list's block: a consent manager's log, Stripe's
// fraud signals, fonts.
func TestListBlockOnCDN(t *testing.T) {
	db := mustBuiltin(t)
	db.Merge(mustParse(t, "||jsdelivr.net/npm/@snowplow/\n||metrics.akamaihd.net^\n/evergage.min.js\n||cdn.jsdelivr.net/npm/ok/\n@@||cdn.jsdelivr.net/npm/ok/\n"+
		"||log.cookieyes.com^\n||m.stripe.com^\n||fonts.googleapis.com/x\n", FormatABP, "analytics"))
	p := NewPolicy(db)
	for _, tt := range []struct{ host, path, cat, vendor, action string }{
		{"cdn.jsdelivr.net", "/npm/@snowplow/javascript-tracker@3/dist/sp.js", "analytics", "", "defer"}, // a rule under the host
		{"cdn.jsdelivr.net", "/gh/shop/theme/evergage.min.js", "analytics", "", "defer"},                 // a generic rule
		{"metrics.akamaihd.net", "/", "analytics", "", "defer"},                                          // the host's block
		{"cdn.jsdelivr.net", "/npm/jquery@3/dist/jquery.min.js", "cdn", "jsDelivr", "keep"},
		{"cdn.jsdelivr.net", "/npm/ok/a.js", "cdn", "jsDelivr", "keep"}, // excepted
		{"log.cookieyes.com", "/api/v1/log", "consent", "CookieYes", "keep"},
		{"m.stripe.com", "/6", "payments", "Stripe", "keep"},
		{"fonts.googleapis.com", "/x", "fonts", "Google Fonts", "keep"},
	} {
		// Twice: a URL's second decision is the cache's.
		for range 2 {
			if v := p.DecideURL("shop.example", tt.host, tt.path, ""); v.Category != tt.cat || v.Vendor != tt.vendor || v.Action != tt.action {
				t.Errorf("%s%s: got %+v, want %s %q %s", tt.host, tt.path, v, tt.cat, tt.vendor, tt.action)
			}
		}
	}
	for _, tt := range []struct{ host, cat, vendor string }{
		{"metrics.akamaihd.net", "analytics", ""},
		{"cdn.jsdelivr.net", "cdn", "jsDelivr"},
		{"m.stripe.com", "payments", "Stripe"},
	} {
		if v := p.DecideHost("shop.example", tt.host); v.Category != tt.cat || v.Vendor != tt.vendor {
			t.Errorf("host %s: got %+v, want %s %q", tt.host, v, tt.cat, tt.vendor)
		}
	}
	// An inline loader of Snowplow's tracker on jsDelivr names the URL
	// in its strings; one of jQuery there is kept.
	sp := Script{Strings: []string{"https://cdn.jsdelivr.net/npm/@snowplow/javascript-tracker@3/dist/sp.js"}, Hosts: []string{"cdn.jsdelivr.net"}, PageHost: "shop.example"}
	if v := p.DecideScript(&sp); v.Action != "defer" || v.Category != "analytics" {
		t.Errorf("Snowplow's loader: got %+v, want analytics defer", v)
	}
	jq := Script{Strings: []string{"https://cdn.jsdelivr.net/npm/jquery@3/dist/jquery.min.js"}, Hosts: []string{"cdn.jsdelivr.net"}, PageHost: "shop.example"}
	if v := p.DecideScript(&jq); v.Action != "keep" {
		t.Errorf("jQuery's loader: got %+v, want keep", v)
	}
	// An owner's own file that files a host as a CDN does not keep it
	// against a list's block either; allow does.
	db.Merge(mustParse(t, "host | cdn | assets.example | Own CDN\n", FormatOwn, ""))
	db.Merge(mustParse(t, "||assets.example/t.js\n", FormatABP, "analytics"))
	p = NewPolicy(db)
	if v := p.DecideURL("shop.example", "assets.example", "/t.js", ""); v.Action != "defer" || v.Category != "analytics" {
		t.Errorf("own cdn entry: got %+v, want analytics defer", v)
	}
	if v := p.DecideURL("shop.example", "assets.example", "/a.js", ""); v.Action != "keep" || v.Vendor != "Own CDN" {
		t.Errorf("own cdn entry, another file: got %+v, want keep", v)
	}
	p.Allow = []string{"assets.example"}
	if v := p.DecideURL("shop.example", "assets.example", "/t.js", ""); v.Action != "keep" {
		t.Errorf("allow: got %+v, want keep", v)
	}
}

// TestExceptionKeepsFacts: a list's exception cancels the lists' blocks
// on a URL or host, not what the embedded database knows of it.
// EasyPrivacy excepts Adobe's tag manager loader and EasyList reCAPTCHA;
// without the database's facts the first was kept before consent as an
// unknown, and the second lost its vendor.
func TestExceptionKeepsFacts(t *testing.T) {
	db := mustBuiltin(t)
	db.Merge(mustParse(t, "@@||adobedtm.com^*/launch-$script\n@@||google.com/recaptcha/$script\n"+
		"@@||ensighten.com^\n||vendor.example^\n@@||vendor.example/ok.js\n||tagcommander.com^$important\n@@||tagcommander.com^\n||imp.example^$important\n@@||imp.example^\n", FormatABP, "advertising"))
	// Before the policy freezes the DB, host answers are combined on each
	// lookup; after, read from the frozen table: both give way to facts.
	for _, frozen := range []bool{false, true} {
		if frozen {
			db.Freeze()
		}
		if e, ok := db.LookupHost("nexus.ensighten.com"); !ok || e.Exception || e.Category != "tag_manager" {
			t.Errorf("frozen %v: LookupHost(nexus.ensighten.com) = %+v, %v; want Ensighten's tag_manager", frozen, e, ok)
		}
		if e, ok := db.LookupHost("vendor.example"); !ok || e.Exception || e.Category != "advertising" {
			t.Errorf("frozen %v: LookupHost(vendor.example) = %+v, %v; want the list's block", frozen, e, ok)
		}
	}
	p := NewPolicy(db)
	for _, tt := range []struct{ host, path, cat, vendor, action string }{
		{"assets.adobedtm.com", "/abc/launch-EN1.min.js", "tag_manager", "Adobe Experience Platform Tags", "defer"},
		{"www.google.com", "/recaptcha/api.js", "essential", "reCAPTCHA", "keep"},
		{"nexus.ensighten.com", "/shop/Bootstrap.js", "tag_manager", "Ensighten", "defer"},
		// Unknown to the database: the exception keeps it, as before.
		{"vendor.example", "/ok.js", "unknown", "", "keep"},
		{"vendor.example", "/t.js", "advertising", "", "defer"},
		// An important block still beats the exception; the database's
		// category stands over the list's.
		{"cdn.tagcommander.com", "/tc.js", "tag_manager", "Commanders Act", "defer"},
		{"imp.example", "/t.js", "advertising", "", "defer"},
	} {
		v := p.DecideURL("shop.example", tt.host, tt.path, "")
		if v.Category != tt.cat || v.Vendor != tt.vendor || v.Action != tt.action {
			t.Errorf("%s%s: got %+v, want %s %q %s", tt.host, tt.path, v, tt.cat, tt.vendor, tt.action)
		}
	}
	if v := p.DecideHost("shop.example", "nexus.ensighten.com"); v.Category != "tag_manager" || v.Action != "defer" {
		t.Errorf("DecideHost(nexus.ensighten.com) = %+v, want tag_manager, defer", v)
	}
}

func TestSignatures(t *testing.T) {
	db, _ := Builtin()
	p := NewPolicy(db)
	tests := []struct {
		s      Script
		vendor string
	}{
		{Script{Calls: []string{"gtag"}}, "Google Analytics"},
		{Script{Calls: []string{"fbq"}}, "Meta Pixel"},
		{Script{Idents: []string{"_hjSettings"}}, "Hotjar"},
		{Script{Idents: []string{"_paq"}, Strings: []string{"trackPageView"}}, "Matomo"},
		{Script{Hosts: []string{"connect.facebook.net"}}, "Meta Pixel"},
		{Script{Idents: []string{"_paq"}}, ""},            // a name alone is not the loader
		{Script{Strings: []string{"fbq('init')"}}, ""},    // a string that mentions fbq is not a call
		{Script{Hosts: []string{"cdn.jsdelivr.net"}}, ""}, // CDN URLs in code are not trackers
	}
	for _, tt := range tests {
		if v := p.DecideScript(&tt.s); v.Vendor != tt.vendor {
			t.Errorf("%+v: vendor %q, want %q", tt.s, v.Vendor, tt.vendor)
		}
	}
	if v := p.DecideScript(&Script{Unclassifiable: true}); v.Action != "defer" {
		t.Errorf("unclassifiable: %+v", v)
	}
}

// TestScriptHostsAsURLs: the hosts an inline script names are decided as
// requests from its page, by every rule such a request meets, and the
// strongest decision is the script's. Before, a host's entry alone was
// read (EasyPrivacy's ||sentry-cdn.com^$third-party,domain=~sentry.io
// is a rule, so a page's loader of Sentry's SDK was kept), and the first
// listed host decided.
func TestScriptHostsAsURLs(t *testing.T) {
	db := mustBuiltin(t)
	// (The rule as EasyPrivacy has it for Sentry's CDN, on a vendor the
	// embedded database does not know: since 2026-12-06 it names Sentry.)
	db.Merge(mustParse(t, "||sdk-cdn.example^$third-party,domain=~sdk-vendor.example\n/gtm.js\n", FormatABP, "analytics"))
	p := NewPolicy(db)
	p.Allow = []string{"allowed-vendor.example", "kept.denied.example"}
	p.Deny = []string{"denied.example", "fonts.gstatic.com"}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		s              Script
		action, vendor string
	}{
		// A host the operator denies counts, unlisted, a font host's or
		// excepted: its loader would fetch what deny removes. First party
		// and allowed hosts stay kept.
		{Script{Hosts: []string{"cdn.denied.example"}, PageHost: "shop.example"}, "remove", ""},
		{Script{Hosts: []string{"fonts.gstatic.com"}, PageHost: "shop.example"}, "remove", "Google Fonts"},
		{Script{Hosts: []string{"denied.example"}, PageHost: "denied.example"}, "keep", ""},
		{Script{Hosts: []string{"kept.denied.example"}, PageHost: "shop.example"}, "keep", ""},
		{Script{Hosts: []string{"js.sdk-cdn.example"}, PageHost: "shop.example"}, "defer", ""},
		{Script{Hosts: []string{"js.sdk-cdn.example"}, PageHost: "sdk-vendor.example"}, "keep", ""},
		{Script{Hosts: []string{"js.sentry-cdn.com"}, PageHost: "shop.example"}, "defer", "Sentry"},
		{Script{Hosts: []string{"js.stripe.com", "www.google-analytics.com"}, PageHost: "shop.example"}, "defer", "Google Analytics"},
		{Script{Hosts: []string{"js.stripe.com"}, PageHost: "shop.example"}, "keep", "Stripe"},
		{Script{Hosts: []string{"cdn.shop.example", "unlisted.example"}, PageHost: "shop.example"}, "keep", ""},
		// Held for three categories: its vendors named together.
		{Script{Hosts: []string{"www.google-analytics.com", "static.hotjar.com", "www.googletagmanager.com"}, PageHost: "shop.example"}, "defer", "Google Analytics; Google Tag Manager; Hotjar"},
		{Script{Hosts: []string{"www.google-analytics.com", "analytics.google.com"}, PageHost: "shop.example"}, "defer", "Google Analytics"},
	} {
		if v := p.DecideScript(&tt.s); v.Action != tt.action || v.Vendor != tt.vendor {
			t.Errorf("%+v: %+v, want %s %q", tt.s, v, tt.action, tt.vendor)
		}
	}
	// Held for vendors of two categories, the script waits for both:
	// granted analytics alone, Hotjar's would run with it.
	if v := p.DecideScript(&Script{Hosts: []string{"www.google-analytics.com", "static.hotjar.com"}, PageHost: "shop.example"}); v.Category != "analytics session_replay" || v.Action != "defer" {
		t.Errorf("two categories: %+v, want analytics session_replay, defer", v)
	}
	if v := p.DecideScript(&Script{Hosts: []string{"js.stripe.com", "www.google-analytics.com"}, PageHost: "shop.example"}); v.Category != "analytics" {
		t.Errorf("a kept host beside a held one: %+v, want analytics", v)
	}
	// Two vendors of one category, both named: the runtime holds the
	// script while either's TCF vendor consent is refused. Named by the
	// first (Criteo), it ran with Microsoft's refused, and Bing's tag
	// loaded.
	if v := p.DecideScript(&Script{Hosts: []string{"static.criteo.net", "bat.bing.com"}, PageHost: "shop.example"}); v.Category != "advertising" || v.Action != "defer" || v.Vendor != "Criteo; Microsoft Advertising" {
		t.Errorf("Criteo and Bing: %+v, want advertising, defer, by Criteo and Microsoft Advertising", v)
	}
	// One script with two vendors' snippets, by signature.
	if v := p.DecideScript(&Script{Calls: []string{"gtag", "fbq"}, PageHost: "shop.example"}); v.Category != "analytics social" || v.Action != "defer" || v.Vendor != "Google Analytics; Meta Pixel" {
		t.Errorf("gtag and fbq: %+v, want analytics social, defer, by Google Analytics and the Meta Pixel", v)
	}
	if v := p.DecideScript(&Script{Calls: []string{"gtag"}, Hosts: []string{"www.google-analytics.com"}, PageHost: "shop.example"}); v.Category != "analytics" || v.Vendor != "Google Analytics" {
		t.Errorf("gtag naming its own host: %+v", v)
	}
	// A host is decided by the URLs the strings give it, with their paths:
	// Google's tag loader names googletagmanager.com, whose root is Tag
	// Manager's, for gtag.js, which is Analytics'. And a file name read as
	// a host ("gtm.js") meets no rule for a file: the GTM snippet stays
	// Tag Manager's, with the list's /gtm.js loaded.
	gtag := Script{Calls: []string{"gtag"}, Hosts: []string{"www.googletagmanager.com"}, PageHost: "shop.example",
		Strings: []string{"script", "https://www.googletagmanager.com/gtag/js?id=G-1"}}
	if v := p.DecideScript(&gtag); v.Category != "analytics" || v.Vendor != "Google Analytics" {
		t.Errorf("gtag's loader: %+v, want analytics", v)
	}
	gtm := Script{Idents: []string{"dataLayer"}, Hosts: []string{"gtm.js", "www.googletagmanager.com"}, PageHost: "shop.example",
		Strings: []string{"gtm.start", "gtm.js", "https://www.googletagmanager.com/gtm.js?id="}}
	if v := p.DecideScript(&gtm); v.Category != "tag_manager" || v.Vendor != "Google Tag Manager" {
		t.Errorf("GTM's snippet: %+v, want tag_manager", v)
	}
}

// TestNamedURLs pins the paths namedURLs finds for a script's hosts.
func TestNamedURLs(t *testing.T) {
	got := namedURLs([]string{
		"https://A.example/p?q=1 and //b.example/x'y", "//a.example", "https://u@c.example:8443/c/d", "//a.example/2", "//a.example/3", "//a.example/4", "//a.example/5",
	}, []string{"a.example", "b.example", "c.example"})
	want := map[string][]string{"a.example": {"/p?q=1", "/2", "/3", "/4"}, "b.example": {"/x"}, "c.example": {"/c/d"}}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for h, ps := range want {
		if !slices.Equal(got[h], ps) {
			t.Errorf("%s: %q, want %q", h, got[h], ps)
		}
	}
}

func TestParseFormats(t *testing.T) {
	tests := []struct {
		name, in string
		format   Format
		hosts    []string
	}{
		{"hosts", "# c\n0.0.0.0 a.example\n127.0.0.1 b.example # x\n::1 c.example\n0.0.0.0 localhost\n", FormatHosts, []string{"a.example", "b.example", "c.example"}},
		{"domains", "a.example\nB.Example.\n", FormatDomains, []string{"a.example", "b.example"}},
		{"abp", "[Adblock Plus 2.0]\n! c\n||a.example^\n||b.example^$third-party\n||c.example/pixel\nexample.com##.ad\n@@||d.example^\n/re/\n||e.example^$domain=x.com\n", FormatABP, []string{"a.example", "b.example", "c.example/pixel"}},
	}
	for _, tt := range tests {
		db, st, err := ParseList(strings.NewReader(tt.in), tt.name, FormatAuto, "advertising")
		if err != nil {
			t.Fatal(err)
		}
		if st.Format != tt.format {
			t.Errorf("%s: detected %q", tt.name, st.Format)
		}
		for _, h := range tt.hosts {
			host, path, _ := strings.Cut(h, "/")
			if path != "" {
				path = "/" + path
			}
			if e, ok := lookup(db, host, path); !ok || e.Category != "advertising" {
				t.Errorf("%s: %s not found", tt.name, h)
			}
		}
		if tt.format == FormatABP {
			if e, ok := lookup(db, "d.example", "/"); !ok || !e.Exception {
				t.Errorf("exception not loaded")
			}
			if st.Skipped["cosmetic"] != 1 || st.Rules["regex"] != 1 || st.Rules["host_url"] != 2 || st.Rules["exception_host"] != 1 {
				t.Errorf("rules %v, skipped: %v", st.Rules, st.Skipped)
			}
		}
	}
}

// TestDetectFormat checks that FormatAuto settles a list's format from
// its first lines, not its first line alone, and that each line's errors
// keep its own line number.
func TestDetectFormat(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     Format
		rules    map[string]int
		errLines []string // the error messages' prefixes
	}{
		{"abp with no header, a bare host first", "tracker.example\n||ads.example^\n/track.js\n@@||ok.example^\n",
			FormatABP, map[string]int{"url_pattern": 2, "host": 1, "exception_host": 1}, nil},
		{"abp whose first rule's $domain has three |", "/ads.js$domain=a.example|b.example|c.example|d.example\n||t.example^\n",
			FormatABP, map[string]int{"url_pattern": 1, "host": 1}, nil},
		{"abp, its element hiding first", "example.com##.ad\n||t.example^\n",
			FormatABP, map[string]int{"host": 1}, nil},
		{"hosts with ## comments", "## section\n0.0.0.0 a.example ## why\n127.0.0.1 b.example\n",
			FormatHosts, map[string]int{"host": 2}, nil},
		{"hosts whose comments hold $ and ^", "0.0.0.0 a.example # $5 a month\n0.0.0.0 b.example # x^2\n",
			FormatHosts, map[string]int{"host": 2}, nil},
		{"domains whose comment holds $", "a.example # $5 a month\nb.example\n",
			FormatDomains, map[string]int{"host": 2}, nil},
		{"hosts, a bare host first", "a.example\n0.0.0.0 b.example\n0.0.0.0 c.example\n",
			FormatHosts, map[string]int{"host": 2}, []string{"list.txt:1:"}},
		{"own, after comments", "# ours\n\nhost | analytics | a.example | A\nhost | nonsense | b.example | B\n",
			FormatOwn, map[string]int{"host": 1}, []string{"list.txt:4:"}},
		{"domains after many comments", strings.Repeat("# c\n", 300) + "a.example\nbad host\n",
			FormatDomains, map[string]int{"host": 1}, []string{"list.txt:302:"}},
		{"comments only", "# a\n# b\n", FormatAuto, map[string]int{}, nil},
	} {
		_, st, err := ParseList(strings.NewReader(tt.in), "list.txt", FormatAuto, "analytics")
		if err != nil {
			t.Fatal(err)
		}
		if st.Format != tt.want {
			t.Errorf("%s: detected %q, want %q", tt.name, st.Format, tt.want)
		}
		for k, n := range tt.rules {
			if st.Rules[k] != n {
				t.Errorf("%s: rules %v, want %s %d", tt.name, st.Rules, k, n)
			}
		}
		checkErrors(t, tt.name, st.Errors, tt.errLines)
	}
	// A list longer than the lines held to settle its format: the lines
	// after them are read as they come, numbered on from them.
	var b strings.Builder
	for i := range detectLines + 50 {
		fmt.Fprintf(&b, "h%d.example\n", i)
	}
	b.WriteString("bad host\n")
	db, st, err := ParseList(strings.NewReader(b.String()), "long.txt", FormatAuto, "analytics")
	if err != nil {
		t.Fatal(err)
	}
	if st.Format != FormatDomains || st.Rules["host"] != detectLines+50 || st.Lines != detectLines+51 {
		t.Errorf("long list: %s, rules %v, %d lines", st.Format, st.Rules, st.Lines)
	}
	if len(st.Errors) != 1 || !strings.HasPrefix(st.Errors[0].Error(), fmt.Sprintf("long.txt:%d:", detectLines+51)) {
		t.Errorf("long list: errors %v", st.Errors)
	}
	for _, h := range []string{"h0.example", "h199.example", "h200.example", "h249.example"} {
		if _, ok := db.LookupHost(h); !ok {
			t.Errorf("long list: %s lost", h)
		}
	}
}

// checkErrors checks that a list's errors are as many as prefixes, each
// beginning with its prefix ("list.txt:3:", or the message too).
func checkErrors(t *testing.T, name string, errs []error, prefixes []string) {
	t.Helper()
	if len(errs) != len(prefixes) {
		t.Errorf("%s: errors %v, want %d", name, errs, len(prefixes))
		return
	}
	for i, p := range prefixes {
		if !strings.HasPrefix(errs[i].Error(), p) {
			t.Errorf("%s: error %q, want it to begin %s", name, errs[i], p)
		}
	}
}

// TestHostsNamesAndWildcards checks the host lines that hold more than one
// host: a hosts file's aliases, each loaded ("compressed" hosts files put
// nine on a line), its machines' one-label names skipped as the local
// names are (StevenBlack's header), and a domain list's "*.x.com" and
// ".x.com", read as x.com and its subdomains.
func TestHostsNamesAndWildcards(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		format   Format
		hosts    []string // blocked, as the list's category
		not      []string // not blocked
		rules    int
		local    int      // lines skipped as local_host
		errLines []string // the errors' prefixes
	}{
		{"hosts, a name and its aliases", "0.0.0.0 a.example b.example\n0.0.0.0 c.example d.example e.example # x\n",
			FormatHosts, []string{"a.example", "b.example", "c.example", "d.example", "e.example", "x.e.example"}, nil, 5, 0, nil},
		{"hosts, one bad name among good ones", "0.0.0.0 a.example b..example c.example\n0.0.0.0 machine bad!\n",
			FormatHosts, []string{"a.example", "c.example"}, nil, 2, 0, []string{"list.txt:1: invalid host \"b..example\"", "list.txt:2: invalid host \"bad!\""}},
		{"hosts, StevenBlack's header", "127.0.0.1 localhost\n127.0.0.1 local\n255.255.255.255 broadcasthost\n::1 localhost\n::1 ip6-localhost ip6-loopback\n" +
			"fe80::1%lo0 localhost\nff00::0 ip6-localnet\nff02::1 ip6-allnodes\n0.0.0.0 0.0.0.0\n0.0.0.0 ads.example\n",
			FormatHosts, []string{"ads.example"}, []string{"ip6-localhost", "localhost"}, 1, 9, nil},
		{"hosts, a local name beside a host", "127.0.0.1 localhost a.example\n",
			FormatHosts, []string{"a.example"}, nil, 1, 0, nil},
		{"domains, wildcards", "*.a.example\n.b.example\nc.example\n*.localhost\n",
			FormatDomains, []string{"a.example", "x.a.example", "b.example", "x.y.b.example", "c.example"}, []string{"localhost", "example"}, 3, 1, nil},
		{"domains, wildcards that are not a domain's", "*a.example\n**.b.example\n*.\nc.example\nd.example\ne.example\nf.example\n",
			FormatDomains, []string{"c.example"}, []string{"a.example", "xa.example", "b.example"}, 4, 0,
			[]string{"list.txt:1: invalid host \"*a.example\"", "list.txt:2:", "list.txt:3:"}},
	} {
		db, st, err := ParseList(strings.NewReader(tt.in), "list.txt", FormatAuto, "analytics")
		if err != nil {
			t.Fatal(err)
		}
		if st.Format != tt.format || st.Rules["host"] != tt.rules || st.Skipped["local_host"] != tt.local {
			t.Errorf("%s: %s, rules %v, skipped %v; want %s, %d hosts, %d local", tt.name, st.Format, st.Rules, st.Skipped, tt.format, tt.rules, tt.local)
		}
		db.Freeze()
		for _, h := range tt.hosts {
			if e, ok := lookup(db, h, "/"); !ok || e.Category != "analytics" {
				t.Errorf("%s: %s not blocked (%+v)", tt.name, h, e)
			}
		}
		for _, h := range tt.not {
			if e, ok := lookup(db, h, "/"); ok {
				t.Errorf("%s: %s blocked (%+v)", tt.name, h, e)
			}
		}
		checkErrors(t, tt.name, st.Errors, tt.errLines)
	}
}

func TestBadInput(t *testing.T) {
	in := "0.0.0.0 ok.example\n0.0.0.0 bad host!\n" + strings.Repeat("x", 2<<20) + "\n0.0.0.0 \xff\xfe.example\n0.0.0.0 fine.example\n"
	db, st, err := ParseList(strings.NewReader(in), "list.txt", FormatAuto, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := db.LookupHost("fine.example"); !ok {
		t.Error("good line after bad ones was lost")
	}
	if len(st.Errors) != 3 || !strings.HasPrefix(st.Errors[0].Error(), "list.txt:2:") {
		t.Errorf("errors: %v", st.Errors)
	}
	// Adblock lines that are garbage: invalid UTF-8 (which lower-casing
	// would have turned into U+FFFD), and white space, which no URL holds.
	_, st, err = ParseList(strings.NewReader("||ok.example^\n\xff\xfe junk\n/ads/\xff.js\nnot a rule\n||tab.example/\tx\n/ads/ok.js\n"), "abp.txt", FormatABP, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range st.Errors {
		got = append(got, e.Error())
	}
	want := []string{"abp.txt:2: invalid UTF-8", "abp.txt:3: invalid UTF-8", "abp.txt:4: white space", "abp.txt:5: white space"}
	if len(got) != len(want) || st.Rules["url_pattern"] != 1 || st.Rules["host"] != 1 {
		t.Errorf("abp errors %q, rules %v; want errors %q and two rules", got, st.Rules, want)
	} else {
		for i := range want {
			if !strings.HasPrefix(got[i], want[i]) {
				t.Errorf("abp error %d: %q, want %q…", i, got[i], want[i])
			}
		}
	}
	_, st, _ = ParseList(strings.NewReader("host | nonsense | a.example | A\nbogus line\n"), "own.txt", FormatOwn, "")
	if len(st.Errors) != 2 || !strings.Contains(st.Errors[0].Error(), "own.txt:1: unknown category") {
		t.Errorf("own format errors: %v", st.Errors)
	}
	// A signature's terms are of the kinds Signature.matches reads.
	sdb, st, _ := ParseList(strings.NewReader("sig | advertising | A | call:gtag pre:AW-\nsig | analytics | B | ident:x re:y\n"), "own.txt", FormatOwn, "")
	if len(sdb.Signatures) != 1 || len(st.Errors) != 1 || st.Errors[0].Error() != `own.txt:2: signature term "re:y" is not call:, ident:, str: or pre:` {
		t.Errorf("signature terms: %d kept, errors %v", len(sdb.Signatures), st.Errors)
	}
	// Invalid UTF-8 in any field of the own format: a vendor name, a
	// path, a signature, a shape.
	own := "host | analytics | a.example | Vendor \xff\n" +
		"host | analytics | b.example/p\xfeq | B\n" +
		"sig | social | C | call:\xff\n" +
		"shape | analytics | D | /x\xff?id=\n" +
		"host | analytics | ok.example | OK\n"
	db, st, _ = ParseList(strings.NewReader(own), "own.txt", FormatOwn, "")
	if len(st.Errors) != 4 || len(db.Signatures) != 0 || len(db.Shapes) != 0 || st.Rules["host"] != 1 {
		t.Errorf("own format with invalid UTF-8: errors %v, rules %v", st.Errors, st.Rules)
	}
	for i, e := range st.Errors {
		if want := fmt.Sprintf("own.txt:%d: invalid UTF-8", i+1); e.Error() != want {
			t.Errorf("error %d: %q, want %q", i, e, want)
		}
	}
}

// TestQuotedLinesDisplayable: the samples and errors that quote a list's
// lines, which the CLI prints to a terminal, hold no control character
// and no invalid UTF-8, and a line clipped to 80 bytes is cut where a
// character begins.
func TestQuotedLinesDisplayable(t *testing.T) {
	in := "||ok.example^\n" +
		"##.x\x1b[2J\x1b[31mfake\n" + // cosmetic: a sample
		"/ads[\x1b\x07/\n" + // a regex that does not compile: an error quoting it
		"||a.example^$\x1b[1mbold\n" + // an unsupported option: a sample
		"##a" + strings.Repeat("é", 60) + "\n" + // a sample clipped inside a character
		"||b.example^$domain=\x1b.example\n" // a bad domain= value
	_, st, err := ParseList(strings.NewReader(in), "list.txt", FormatABP, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Samples) != 3 || len(st.Errors) != 2 {
		t.Fatalf("samples %q, errors %q: want 3 and 2", st.Samples, st.Errors)
	}
	checkDisplayable(t, st)
	if want := `list.txt:2: cosmetic: ##.x\x1b[2J\x1b[31mfake`; st.Samples[0] != want {
		t.Errorf("sample %q, want %q", st.Samples[0], want)
	}
	if !strings.Contains(st.Errors[0].Error(), `[\x1b\a`) {
		t.Errorf("regex error %q: want its control characters escaped", st.Errors[0])
	}
	if want := "list.txt:5: cosmetic: ##a" + strings.Repeat("é", 38) + "…"; st.Samples[2] != want {
		t.Errorf("clipped sample %q, want %q", st.Samples[2], want)
	}
	for in, want := range map[string]string{"plain": "plain", "a\tb": `a\tb`, "\xff\xfe": `\xff\xfe`, "zero\u200bwidth": `zero\u200bwidth`, "é ok": "é ok"} {
		if got := displayable(in); got != want {
			t.Errorf("displayable(%q) = %q, want %q", in, got, want)
		}
	}
}

// checkDisplayable fails t where st's samples or errors, which quote a
// list's lines, hold invalid UTF-8 or a character that is not graphic
// (displayable).
func checkDisplayable(t *testing.T, st *ListStats) {
	t.Helper()
	quoted := slices.Clone(st.Samples)
	for _, e := range st.Errors {
		quoted = append(quoted, e.Error())
	}
	for _, q := range quoted {
		if !isDisplayable(q) {
			t.Errorf("%q: invalid UTF-8, or a character that is not graphic", q)
		}
	}
}

// isDisplayable reports whether s is what displayable makes: valid UTF-8
// whose characters are all graphic.
func isDisplayable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsGraphic(r) })
}

func TestEasyPrivacy(t *testing.T) {
	d := filepath.Join("..", "..", "shared", "lists", "easylist", "easyprivacy.txt")
	f, err := os.Open(d)
	if err != nil {
		t.Skipf("%s absent: the shared lists are only beside CI and the developers' checkouts", d)
	}
	defer f.Close()
	db, st, err := ParseList(f, d, FormatAuto, "analytics")
	if err != nil {
		t.Fatal(err)
	}
	if st.Format != FormatABP || st.Rules["host"] < 40000 {
		t.Errorf("easyprivacy: %s, rules %v skipped %v", st.Format, st.Rules, st.Skipped)
	}
	if _, ok := lookup(db, "www.google-analytics.com", "/"); !ok {
		t.Error("google-analytics.com missing")
	}
}

// refusedWhole reports whether a list beginning as in does is refused whole:
// UTF-16 text, a compressed file, an HTML page (a doctype or an <html>,
// <head> or <body> tag after white space, closed comments and XML
// declarations, in the first htmlPeek bytes after a byte order mark) or
// an XML document (an XML declaration there, followed by anything else).
func refusedWhole(in string) bool {
	for _, m := range []string{"\xff\xfe", "\xfe\xff", "\x1f\x8b", "PK\x03\x04", "\xfd7zXZ\x00", "\x28\xb5\x2f\xfd"} {
		if strings.HasPrefix(in, m) {
			return true
		}
	}
	in = strings.TrimPrefix(in, "\xef\xbb\xbf")
	in = in[:min(len(in), htmlPeek)]
	decl := false
	for {
		in = strings.TrimLeft(in, " \t\r\n")
		if rest, ok := strings.CutPrefix(in, "<!--"); ok {
			_, after, closed := strings.Cut(rest, "-->")
			if !closed {
				return false
			}
			in = after
			continue
		}
		if xmlDecl.MatchString(in) {
			_, after, closed := strings.Cut(in, "?>")
			if !closed {
				return false
			}
			in, decl = after, true
			continue
		}
		return decl || htmlStart.MatchString(in)
	}
}

var (
	htmlStart = regexp.MustCompile(`^<(?i:!doctype html|html|head|body)[> \t\r\n]`)
	xmlDecl   = regexp.MustCompile(`^<\?xml[ \t\r\n?]`)
)

// TestListStart checks that a UTF-8 byte order mark, which Windows
// editors write, is not read as the first line's, in each format, and that
// a list in UTF-16, or compressed, is refused with an error that says so.
func TestListStart(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Format
		hold string // a host the first line blocks
	}{
		{"a.example\nb.example\n", FormatDomains, "a.example"},
		{"||a.example^\n", FormatABP, "a.example"},
		{"[Adblock Plus 2.0]\n||a.example^\n", FormatABP, "a.example"},
		{"0.0.0.0 a.example\n", FormatHosts, "a.example"},
		{"host | analytics | a.example | A\n", FormatOwn, "a.example"},
	} {
		db, st, err := ParseList(strings.NewReader("\xef\xbb\xbf"+tt.in), "list.txt", FormatAuto, "analytics")
		if err != nil || st.Format != tt.want || len(st.Errors) != 0 || st.Skipped["bad_line"] != 0 {
			t.Errorf("%q: %v, %s, errors %v; want %s and none", tt.in, err, st.Format, st.Errors, tt.want)
			continue
		}
		if _, ok := lookup(db, tt.hold, "/"); !ok {
			t.Errorf("%q: its first line lost (%s not blocked; rules %v)", tt.in, tt.hold, st.Rules)
		}
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write([]byte("0.0.0.0 a.example\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ in, says string }{
		{"\xff\xfe0\x00.\x000\x00", "UTF-16"},
		{"\xfe\xff\x000\x00.", "UTF-16"},
		{gz.String(), "gzip-compressed"},
		{"PK\x03\x04\x14\x00", "zip-compressed"},
		{"\xfd7zXZ\x00\x00", "xz-compressed"},
		{"\x28\xb5\x2f\xfd\x00", "zstd-compressed"},
		// A repository's page of a list, which loaded as an Adblock Plus
		// list of its tags once the list's header settled the format.
		{"<!DOCTYPE html>\n<html>\n<pre>\n! Title: a list\n||a.example^\n</pre>\n</html>\n", "an HTML page"},
		{"\xef\xbb\xbf\r\n  <HTML lang=\"en\">\n||a.example^\n", "an HTML page"},
		// Pages that begin with a comment, an XML declaration, or their
		// head or body: a CDN's error page, an XHTML page, a bare one.
		{"<!--[if lt IE 7]> <html class=\"no-js ie6 oldie\" lang=\"en-US\"> <![endif]-->\n<!--[if gt IE 8]><!--> <html class=\"no-js\" lang=\"en-US\"> <!--<![endif]-->\n<head>\n", "an HTML page"},
		{"<!-- sign in -->\n<!---->\n<body>\n! Title: a list\n", "an HTML page"},
		{"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\n<html xmlns=\"http://www.w3.org/1999/xhtml\">\n", "an HTML page"},
		{"<head><title>Sign in</title></head>\n", "an HTML page"},
		// A storage bucket's error.
		{"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>", "an XML document"},
	} {
		if !refusedWhole(tt.in) {
			t.Errorf("%q: refusedWhole misses it", tt.in)
		}
		_, _, err := ParseList(strings.NewReader(tt.in), "list.txt", FormatAuto, "")
		if err == nil || !strings.Contains(err.Error(), "list.txt") || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%q: error %v, want one naming the list and %s", tt.in, err, tt.says)
		}
	}
	// Text that merely begins with such a byte's character is read, and
	// so is a list whose first line merely begins with "<html" or
	// "<body", or with a comment or declaration never closed.
	if _, st, err := ParseList(strings.NewReader("pk.example\n(x).example\n"), "list.txt", FormatAuto, ""); err != nil || st.Rules["host"] != 1 {
		t.Errorf("a list beginning pk: %v, rules %v", err, st.Rules)
	}
	for _, in := range []string{"<html5-ads>\n||a.example^\n", "<bodyguard>\n||a.example^\n", "<!-- not closed\n||a.example^\n", "<?xml-ish\n||a.example^\n"} {
		if refusedWhole(in) {
			t.Errorf("%q: refusedWhole refuses it", in)
		}
		if _, st, err := ParseList(strings.NewReader(in), "list.txt", FormatAuto, ""); err != nil || st.Rules["host"] != 1 {
			t.Errorf("a list beginning %q: %v, rules %v", in[:strings.IndexByte(in, '\n')], err, st.Rules)
		}
	}
}

func FuzzParseList(f *testing.F) {
	f.Add("0.0.0.0 a.example\n")
	f.Add("||a.example^$third-party,important\n@@||b.example/x\n")
	f.Add("host | analytics | a.example/p | A\nsig | social | B | call:x\n")
	f.Add("||a.example/a\n||a.example/b^\n||a.example/*c\n||a.example^\n||a.example/pa\n||a.example/p*q\n||a.example/px$image\n||a.example?x\n||a.example/p$domain=page.example\n@@||a.example/p?\n")
	f.Add("[Adblock Plus 2.0]\n|https://t.*^x*|\n/a^b*c/$script,domain=a.example|~b.a.example\n/^https?:\\/\\/a\\.example\\/(x|y)+$/\n@@||a.example/p$important\n$ping,third-party\n")
	f.Fuzz(func(t *testing.T, in string) {
		db, st, err := ParseList(strings.NewReader(in), "fuzz", FormatAuto, "")
		if unread := refusedWhole(in); unread != (err != nil) {
			t.Fatalf("error %v for a list whose start says it is not text: %v", err, unread)
		} else if unread {
			return
		}
		checkDisplayable(t, st)
		lookup(db, "a.example", "/p")
		db.LookupHost("b.a.example")
		// Match every rule the input made against URLs built from it.
		p := strings.ToLower(strings.Map(func(r rune) rune {
			if r < 0x21 || r > 0x7e {
				return -1
			}
			return r
		}, in))
		var reqs []*Request
		for _, u := range []string{"https://a.example/" + p, "https://a.example/p?" + p, "https://x.a.example/", "https://" + p} {
			for _, q := range []*Request{
				{URL: u, Host: u[8 : max(strings.IndexByte(u[8:], '/'), 0)+8], PageHost: "page.example", Type: TypeAll},
				{URL: u, Host: "a.example", PageHost: "a.example", Type: TypeScript},
			} {
				checkMatch(t, db, q)
				reqs = append(reqs, q)
			}
		}
		// Frozen, the list's hosts and the hosts around them answer as
		// when the entries of their suffixes are combined on each lookup,
		// and the URLs as before, with the rules under a host split
		// (refIndex).
		var hosts []string
		for _, k := range db.hosts.keys[:min(len(db.hosts.keys), 64)] {
			hosts = append(hosts, k, "x."+k, k[min(1, len(k)):], "x"+k, "."+k, k+".")
		}
		want := make([]entryOK, len(hosts))
		for i, h := range hosts {
			want[i].e, want[i].ok = db.LookupHost(h)
		}
		matched := make([]entryOK, len(reqs))
		for i, q := range reqs {
			matched[i].e, matched[i].ok = db.Match(q)
		}
		db.Freeze()
		for i, h := range hosts {
			if e, ok := db.LookupHost(h); e != want[i].e || ok != want[i].ok {
				t.Fatalf("frozen, LookupHost(%q) = %+v, %v; combined on each lookup %+v, %v", h, e, ok, want[i].e, want[i].ok)
			}
		}
		for i, q := range reqs {
			if e, ok := db.Match(q); e != matched[i].e || ok != matched[i].ok {
				t.Fatalf("frozen, Match(%q) = %+v, %v; before %+v, %v", q.URL, e, ok, matched[i].e, matched[i].ok)
			}
		}
	})
}

// checkMatch compares db.Match, which finds generic rules through the
// URL's tokens and checks most where their token lies, with matching
// every rule of the DB against the whole URL.
func checkMatch(t *testing.T, db *DB, q *Request) {
	t.Helper()
	got, gok := db.Match(q)
	want, wok := matchEvery(db, q)
	if gok != wok || got.Exception != want.Exception || got.Important != want.Important {
		t.Fatalf("%q on %s: Match gives %+v %v, every rule gives %+v %v", q.URL, q.PageHost, got, gok, want, wok)
	}
}

// entryOK is what Match or LookupHost gives, for tests that compare two.
type entryOK struct {
	e  Entry
	ok bool
}

// matchEvery is Match without its indexes' shortcuts: every generic rule
// is searched for in the whole URL, and no rule is passed by on its ref.
func matchEvery(db *DB, q *Request) (Entry, bool) {
	var o outcome
	_, hostEnd := hostSpan(q)
	// Host entries from walkHost; every rule under the host's suffixes
	// (walkHost's, but not a bare top-level domain) tried without the
	// refs' checks.
	db.walkHost(q.Host, &o, nil, hostEnd)
	for h := q.Host; ; {
		if n, ok := db.hosts.get(h); ok {
			for _, x := range db.rulesOf(n) {
				if x.r.matchAt(q, hostEnd) {
					o.add(&x.r.ans, urlRuleSpec+len(h)+len(x.r.pattern))
				}
			}
		}
		i := strings.IndexByte(h, '.')
		if i < 0 || strings.IndexByte(h[i+1:], '.') < 0 {
			break
		}
		h = h[i+1:]
	}
	for r := range db.genericRules {
		if r.match(q) {
			o.addURLRule(r)
		}
	}
	return withFactsEntry(db, q, &o)
}

// withFactsEntry is DB.withFactsOf's answer as an Entry.
func withFactsEntry(db *DB, q *Request, o *outcome) (Entry, bool) {
	var e answer
	ok := db.withFactsOf(q, o, &e)
	return e.entry(), ok
}

// lookup matches https://host/path, of any type, on a page at page.example.
func lookup(db *DB, host, path string) (Entry, bool) {
	return db.Match(&Request{URL: "https://" + host + path, Host: host, PageHost: "page.example", Type: TypeAll})
}

func TestDefaultActions(t *testing.T) {
	for _, c := range Categories {
		if !ValidAction(DefaultActions[c]) {
			t.Errorf("%s: no valid default action (%q)", c, DefaultActions[c])
		}
	}
	if DefaultActions["unknown"] != "" || len(DefaultActions) != len(Categories) {
		t.Error("the default actions name exactly the categories")
	}
}

// TestHostPrefix checks the one-pass host reader every network rule goes
// through against the checks it replaced: validHost as a prefix test,
// suffix test, ".." search and byte loop, and the host of a "||" rule as
// the bytes before the first of "^/*|:?". The strings are random ones
// over an alphabet with every kind of byte they treat apart, of every
// length up to 24, and host names around the 253-byte limit.
func TestHostPrefix(t *testing.T) {
	ref := func(h string) bool {
		if h == "" || len(h) > 253 || strings.HasPrefix(h, ".") || strings.Contains(h, "..") {
			return false
		}
		for i := 0; i < len(h); i++ {
			if c := h[i]; c != '.' && !hostByte(c) {
				return false
			}
		}
		return strings.IndexByte(h, '.') > 0
	}
	const alphabet = "ab0-_..^/*|:?A \xff$"
	rng := rand.New(rand.NewSource(1))
	var inputs []string
	for range 200000 {
		b := make([]byte, rng.Intn(25))
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		inputs = append(inputs, string(b))
	}
	for _, n := range []int{251, 252, 253, 254, 255} {
		long := strings.Repeat("a", n-4) + ".com"
		inputs = append(inputs, long, long+"^", long+"/x", "."+long, long[:10]+".."+long[12:])
	}
	valid := 0
	for _, s := range inputs {
		if got, want := validHost(s), ref(s); got != want {
			t.Fatalf("validHost(%q) = %v, want %v", s, got, want)
		}
		host := s
		if i := strings.IndexAny(s, "^/*|:?"); i >= 0 {
			host = s[:i]
		}
		n, ok := hostPrefix(s, true)
		if n != len(host) || ok != ref(host) {
			t.Fatalf("hostPrefix(%q) = %d, %v; want %d, %v", s, n, ok, len(host), ref(host))
		}
		if ok {
			valid++
		}
	}
	if valid < 1000 {
		t.Errorf("only %d valid hosts among %d inputs", valid, len(inputs))
	}
}

// TestRuleKinds checks the count of every rule type on a list that has
// each, exceptions among them, and one in the project's own format.
func TestRuleKinds(t *testing.T) {
	// ||f.example. is the start of a host (any TLD after it), not a host.
	abp := "||a.example^\n||b.example/p\n/banner.gif\n/ad[0-9]+/\n@@||c.example^\n@@||d.example/q\n@@/ok.js\n@@/fine[0-9]/\n||e.example^\n||f.example.\n"
	_, st, err := ParseList(strings.NewReader(abp), "kinds.txt", FormatABP, "advertising")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"host": 2, "host_url": 1, "url_pattern": 2, "regex": 1,
		"exception_host": 1, "exception_host_url": 1, "exception_url_pattern": 1, "exception_regex": 1}
	if fmt.Sprint(st.Rules) != fmt.Sprint(want) {
		t.Errorf("rules %v, want %v", st.Rules, want)
	}
	own := "host | analytics | a.example | A\nhost | analytics | b.example/p | B\nsig | social | S | call:x\nshape | tag_manager | T | /gtm.js?id=GTM-\n"
	_, st, err = ParseList(strings.NewReader(own), "own.txt", FormatOwn, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"host": 2, "signature": 1, "shape": 1}; fmt.Sprint(st.Rules) != fmt.Sprint(want) {
		t.Errorf("own format: rules %v, want %v (errors %v)", st.Rules, want, st.Errors)
	}
}

// TestThirdPartyHost checks ThirdPartyHost against the Public Suffix List
// read afresh for every pair: hosts made of a few labels around the page's
// site, on pages of several sites, with and without first- and third-party
// lists. Each pair is asked three times: with the page host as given (the
// first call works its site out, the next may take the shortcut for the
// very string kept), and as a copy, whose bytes are compared.
func TestThirdPartyHost(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	labels := []string{"shop", "example", "co", "uk", "x", "www", "cdn", "evil", "xshop", "localhost", "github", "io"}
	pages := []string{"shop.example", "www.shop.example", "shop.co.uk", "a.shop.co.uk", "localhost", "x.github.io", "example", ""}
	want := func(p *Policy, pageHost, host string) bool {
		if matchesAny(host, p.ThirdParty) {
			return true
		}
		if host == pageHost || matchesAny(host, p.FirstParty) {
			return false
		}
		site, err := publicsuffix.EffectiveTLDPlusOne(pageHost)
		return err != nil || !(host == site || strings.HasSuffix(host, "."+site))
	}
	for round := 0; round < 3; round++ {
		p := NewPolicy(NewDB())
		switch round {
		case 1:
			p.FirstParty = []string{"cdn.example"}
		case 2:
			p.ThirdParty = []string{"evil.shop.example", "x.shop.co.uk"}
		}
		for i := 0; i < 3000; i++ {
			pageHost := pages[r.Intn(len(pages))]
			var b strings.Builder
			for n := r.Intn(4); n >= 0; n-- {
				b.WriteString(labels[r.Intn(len(labels))])
				if n > 0 {
					b.WriteByte('.')
				}
			}
			host := b.String()
			switch lists := slices.Concat(p.FirstParty, p.ThirdParty); r.Intn(4) {
			case 0:
				host = pageHost // the page's own host
			case 1:
				if len(lists) > 0 { // a listed host, or one under it
					host = strings.TrimPrefix(host[:r.Intn(2)*len(host)]+"."+lists[r.Intn(len(lists))], ".")
				}
			}
			w := want(p, pageHost, host)
			for k, ph := range []string{pageHost, pageHost, string([]byte(pageHost))} {
				if got := p.ThirdPartyHost(ph, host); got != w {
					t.Fatalf("round %d: ThirdPartyHost(%q, %q), call %d = %v, want %v", round, ph, host, k, got, w)
				}
			}
		}
	}
}

// TestOwnHost: a page's own URLs are kept unasked, but for the shapes'
// anchors, unless the page's host is listed as a third party or a shape
// has no path to anchor it; and what OwnHost keeps, DecideRequest keeps
// with nothing to report.
func TestOwnHost(t *testing.T) {
	db, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p := NewPolicy(db)
	anchors, ok := p.OwnHost("shop.example")
	if !ok || !slices.Equal(anchors, []string{"js"}) {
		t.Fatalf("OwnHost(shop.example) = %q, %v", anchors, ok)
	}
	for _, path := range []string{"/", "/img/1.jpg", "/a.css", "/products/7"} {
		if v := p.DecideRequest("shop.example", "https", "shop.example", path, "", TypeAll); v != (Verdict{Action: ActionKeep}) {
			t.Errorf("%s: OwnHost keeps it unasked, DecideRequest says %+v", path, v)
		}
	}
	p.ThirdParty = []string{"shop.example"}
	if _, ok := p.OwnHost("shop.example"); ok {
		t.Error("a page host listed as a third party: its URLs must be asked about")
	}
	p.ThirdParty = nil
	db2, _ := Builtin()
	db2.Shapes = append(db2.Shapes, Shape{Vendor: "V", Category: "analytics", Prefix: "?id=X-"})
	p.SetDB(db2)
	if _, ok := p.OwnHost("shop.example"); ok {
		t.Error("a shape with no path part: every own URL must be asked about")
	}
}

// TestOwnFileOverFacts: a file in the project's own format files a host
// the embedded database knows under another category, and that stands
// where a list's rule matches the URL too, whichever of the two files is
// merged first. Before 2026-12-03 the list's block gave way to the
// database's tag_manager and session_replay, not to the owner's file.
func TestOwnFileOverFacts(t *testing.T) {
	const abp = "||googletagmanager.com/gtm.js\n||hotjar.com^\n@@||script.hotjar.com/modules\n@@||newvendor.example^\n"
	const own = "host | advertising | googletagmanager.com | The owner's GTM\nhost | analytics | hotjar.com | The owner's Hotjar\nhost | analytics | newvendor.example | New Vendor\n"
	for _, ownFirst := range []bool{true, false} {
		db := mustBuiltin(t)
		l, o := mustParse(t, abp, FormatABP, "analytics"), mustParse(t, own, FormatAuto, "")
		mergeBoth(db, ownFirst, o, l)
		p := NewPolicy(db)
		for _, tt := range []struct{ host, path, cat, vendor string }{
			{"www.googletagmanager.com", "/gtm.js", "advertising", "The owner's GTM"},
			{"www.googletagmanager.com", "/ns.html", "advertising", "The owner's GTM"},
			{"static.hotjar.com", "/c/hotjar-1.js", "analytics", "The owner's Hotjar"},
			{"script.hotjar.com", "/modules.abc.js", "analytics", "The owner's Hotjar"},
			{"connect.facebook.net", "/en_US/fbevents.js", "social", "Meta Pixel"},
			// A host the embedded database does not know: the own file's
			// entry joins the facts, and the list's exception gives way.
			{"cdn.newvendor.example", "/x.js", "analytics", "New Vendor"},
		} {
			v := p.DecideURL("shop.example", tt.host, tt.path, "")
			if v.Category != tt.cat || v.Vendor != tt.vendor {
				t.Errorf("own file first %v: %s%s = %s %q, want %s %q", ownFirst, tt.host, tt.path, v.Category, v.Vendor, tt.cat, tt.vendor)
			}
			if e, ok := db.LookupHost(tt.host); tt.path == "/ns.html" && (!ok || e.Category != tt.cat) {
				t.Errorf("own file first %v: LookupHost(%s) = %+v %v, want %s", ownFirst, tt.host, e, ok, tt.cat)
			}
		}
	}
}

// mustBuiltin returns Builtin's DB, failing t on an error.
func mustBuiltin(t testing.TB) *DB {
	t.Helper()
	db, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// mergeBoth merges a and b into db, a first when aFirst, else b first.
func mergeBoth(db *DB, aFirst bool, a, b *DB) {
	if !aFirst {
		a, b = b, a
	}
	db.Merge(a)
	db.Merge(b)
}

// mustParse reads list, of format f, with category c (ParseList),
// failing t on an error.
func mustParse(t testing.TB, list string, f Format, c string) *DB {
	t.Helper()
	db, _, err := ParseList(strings.NewReader(list), "list.txt", f, c)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestNames checks the table of names that every DB shares: a name has
// one index whichever DB or goroutine interns it, "" is 0, and each
// index gives its name back, while other goroutines add names.
func TestNames(t *testing.T) {
	if nameIndex("") != 0 || names.name(0) != "" {
		t.Fatal(`"" is not names' index 0`)
	}
	a, b := NewDB(), NewDB()
	if x, y := a.intern("analytics"), b.intern("analytics"); x != y || x == 0 || names.name(x) != "analytics" {
		t.Fatalf("two DBs intern analytics as %d and %d (%q)", x, y, names.name(x))
	}
	const goroutines, each = 8, 200
	got := make([][]uint32, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := NewDB()
			for i := range each {
				// Every goroutine interns the same names, in its own order.
				s := fmt.Sprintf("TestNames vendor %d", (i+g*17)%each)
				x := db.intern(s)
				if names.name(x) != s {
					t.Errorf("%q interned as %d, which names %q", s, x, names.name(x))
					return
				}
				got[g] = append(got[g], x)
			}
		}()
	}
	wg.Wait()
	for g := range goroutines {
		for i, x := range got[g] {
			if want := nameIndex(fmt.Sprintf("TestNames vendor %d", (i+g*17)%each)); x != want {
				t.Fatalf("goroutine %d's name %d has index %d, the table says %d", g, i, x, want)
			}
		}
	}
}

// nameIndex is names' index of s, which the test needs it to keep.
func nameIndex(s string) uint32 {
	i, ok := names.intern(s)
	if !ok {
		panic("names holds its most: " + s + " not kept")
	}
	return i
}

// TestNamesBounded checks that the table of names stops at its most (a
// list whose vendor names change at each refresh would grow it without
// end): a new name is not kept, a known one still is, and a line of the
// project's own format that names a new vendor then is reported with
// its place, its entry added with its category and no vendor.
func TestNamesBounded(t *testing.T) {
	names.mu.Lock()
	held, was := len(*names.list.Load()), names.max
	names.max = held + 1
	names.mu.Unlock()
	defer func() {
		names.mu.Lock()
		names.max = was
		names.mu.Unlock()
	}()
	// Names no run before has kept (the test runs again with -count).
	first := fmt.Sprintf("TestNamesBounded %d first", held)
	own := "host | analytics | b1.example | " + first + "\n" +
		"host | advertising | b2.example | " + first + " second\n" +
		"host | social | b3.example/px | " + first + " third\n" +
		"host | social | b4.example | " + first + "\n"
	db, st, err := ParseList(strings.NewReader(own), "own.txt", FormatOwn, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range st.Errors {
		got = append(got, e.Error())
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], "own.txt:2: vendor name") || !strings.HasPrefix(got[1], "own.txt:3: vendor name") {
		t.Errorf("errors %q, want lines 2 and 3's vendor names reported", got)
	}
	for _, c := range []struct {
		host, path string
		want       Entry
	}{
		{"b1.example", "/", Entry{Vendor: first, Category: "analytics"}},
		{"b2.example", "/", Entry{Category: "advertising"}},
		{"b3.example", "/px", Entry{Category: "social"}},
		{"b4.example", "/", Entry{Vendor: first, Category: "social"}},
	} {
		if got, ok := lookup(db, c.host, c.path); !ok || got != c.want {
			t.Errorf("%s%s gives %+v %v, want %+v", c.host, c.path, got, ok, c.want)
		}
	}
	if _, ok := names.intern(first + " fifth"); ok {
		t.Error("a new name was kept past the table's most")
	}
	if i, ok := names.intern("analytics"); !ok || names.name(i) != "analytics" {
		t.Error("a known name was refused once the table was full")
	}
}

// TestVendorNameKept checks that a vendor's name is not lost: a later
// entry for a host that names none keeps the earlier one's (mergeAnswer),
// as does an important block that a later entry does not replace, and a
// URL rule that names none takes the name of the host it lies under
// (outcome.resultTo), before and after Freeze.
func TestVendorNameKept(t *testing.T) {
	db := NewDB()
	db.AddHost("v.example", Entry{Vendor: "Vee", Category: "analytics"})
	db.AddHost("v.example", Entry{Category: "advertising"})
	db.AddHost("imp.example", Entry{Category: "advertising", Important: true})
	db.AddHost("imp.example", Entry{Vendor: "Imp", Category: "analytics"})
	db.AddPath("v.example", "/px", Entry{Category: "social"})
	for _, frozen := range []bool{false, true} {
		if frozen {
			db.Freeze()
		}
		for _, c := range []struct {
			host, path string
			want       Entry
		}{
			{"v.example", "/", Entry{Vendor: "Vee", Category: "advertising"}},
			{"imp.example", "/", Entry{Vendor: "Imp", Category: "advertising", Important: true}},
			{"v.example", "/px", Entry{Vendor: "Vee", Category: "social"}},
			{"www.v.example", "/px?x=1", Entry{Vendor: "Vee", Category: "social"}},
		} {
			if got, ok := lookup(db, c.host, c.path); !ok || got != c.want {
				t.Errorf("frozen %v: %s%s gives %+v %v, want %+v", frozen, c.host, c.path, got, ok, c.want)
			}
			if c.path == "/" {
				if got, ok := db.LookupHost(c.host); !ok || got != c.want {
					t.Errorf("frozen %v: LookupHost(%s) gives %+v %v, want %+v", frozen, c.host, got, ok, c.want)
				}
			}
		}
	}
}

// TestParseListHostQueue checks that the host entries ParseList holds
// back (addHostSoon, so that their slots are fetched ahead) come out as
// if each line were added at once: the same hosts in the same order,
// merged the same way, with the host-URL rules between them, in each
// format that adds hosts, and that none stays held after the parse.
func TestParseListHostQueue(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	pool := make([]string, 40)
	for i := range pool {
		pool[i] = fmt.Sprintf("h%d.example", i)
	}
	abp := []func(h string) string{
		func(h string) string { return "||" + h + "^" },
		func(h string) string { return "@@||" + h + "^" },
		func(h string) string { return "||" + h + "^$important" },
		func(h string) string { return "||" + h + "/px" },
		func(h string) string { return "||" + h + "^$script" },
		func(h string) string { return "/ads/" + h },
		func(h string) string { return "! " + h },
	}
	for round := range 30 {
		f := []Format{FormatABP, FormatHosts, FormatDomains, FormatAuto}[round%4]
		var lines []string
		for range 5 + rng.Intn(60) {
			h := pool[rng.Intn(len(pool))]
			switch f {
			case FormatHosts:
				lines = append(lines, "0.0.0.0 "+h)
			case FormatDomains:
				lines = append(lines, h)
			default:
				lines = append(lines, abp[rng.Intn(len(abp))](h))
			}
		}
		in := strings.Join(lines, "\n") + "\n"
		got, st, err := ParseList(strings.NewReader(in), "q", f, "analytics")
		if err != nil {
			t.Fatal(err)
		}
		// Each line parsed and added at once, as the parse's format.
		want, wst := newDB(0), &ListStats{Format: st.Format, name: "q"}
		for _, l := range lines {
			parseLine(want, wst, l, "analytics")
			want.flushHosts()
		}
		if got.soon.n != 0 {
			t.Fatalf("round %d: %d hosts still held after the parse", round, got.soon.n)
		}
		if !slices.Equal(got.hosts.keys, want.hosts.keys) {
			t.Fatalf("round %d (%s): hosts %v, want %v\n%s", round, st.Format, got.hosts.keys, want.hosts.keys, in)
		}
		for j, h := range want.hosts.keys {
			if g, w := got.hosts.nodes[j].answer().entry(), want.hosts.nodes[j].answer().entry(); g != w {
				t.Fatalf("round %d: %s is %+v, want %+v\n%s", round, h, g, w, in)
			}
			if g, w := len(got.rulesOf(got.hosts.nodes[j])), len(want.rulesOf(want.hosts.nodes[j])); g != w {
				t.Fatalf("round %d: %s has %d rules, want %d", round, h, g, w)
			}
		}
	}
}

// TestGoogleTagIDs: gtag.js and its snippet are decided by the Google
// product their ids name. Google Ads (AW-), Floodlight (DC-) and a Google
// tag (GT-, which may send to Google Ads) are advertising; a snippet that
// configures one beside Google Analytics is filed under both, and runs
// only once both are granted. Before, every gtag was Google Analytics'
// analytics, and Google Ads ran for a visitor who granted analytics alone.
// With EasyPrivacy and EasyList loaded too, which block gtag.js as
// analytics.
func TestGoogleTagIDs(t *testing.T) {
	check := func(t *testing.T, p *Policy) {
		for _, tt := range []struct{ host, path, query, cat, vendor string }{
			{"www.googletagmanager.com", "/gtag/js", "id=G-ABC123", "analytics", "Google Analytics"},
			{"www.googletagmanager.com", "/gtag/js", "id=AW-123456789", "advertising", "Google Ads"},
			{"www.googletagmanager.com", "/gtag/js", "id=aw-123456789", "advertising", "Google Ads"},
			{"www.googletagmanager.com", "/gtag/js", "id=DC-1234567", "advertising", "Google Campaign Manager 360"},
			{"www.googletagmanager.com", "/gtag/js", "id=GT-ABCDEF", "analytics", "Google Analytics"}, // the loader sends nothing without a config
			{"www.googletagmanager.com", "/gtag/destination", "id=G-ABC123&cx=c", "analytics", "Google Analytics"},
			{"www.googletagmanager.com", "/gtag/destination", "id=AW-123456789&l=dataLayer", "advertising", "Google Ads"},
			{"www.googletagmanager.com", "/gtag/destination", "id=DC-1234567", "advertising", "Google Campaign Manager 360"},
			{"www.googletagmanager.com", "/gtm.js", "id=GTM-ABC", "tag_manager", "Google Tag Manager"},
		} {
			if v := p.DecideURL("shop.example", tt.host, tt.path, tt.query); v.Category != tt.cat || v.Vendor != tt.vendor || v.Action != "defer" {
				t.Errorf("%s%s?%s: got %+v, want %s %q defer", tt.host, tt.path, tt.query, v, tt.cat, tt.vendor)
			}
		}
		if v := p.DecideURL("shop.example", "shop.example", "/js/gtag/js", "id=AW-1"); v.Action != "keep" || v.Category != "advertising" || v.Vendor != "Google Ads (first-party copy)" {
			t.Errorf("first-party copy of Google Ads' gtag.js: %+v", v)
		}
		gtag := []string{"gtag", "Date"}
		for _, tt := range []struct {
			strs []string
			cat  string
		}{
			{[]string{"js", "config", "G-ABC123"}, "analytics"},
			{[]string{"js", "config", "G-ABC123", "config", "AW-123456789"}, "advertising analytics"},
			{[]string{"event", "conversion", "send_to", "AW-123456789/AbC-D_efG"}, "advertising analytics"},
			{[]string{"config", "DC-1234567"}, "advertising analytics"},
			{[]string{"config", "GT-ABCDEF"}, "advertising analytics"},
			// An e-commerce event whose product id holds AW- is not Google
			// Ads'; nor is a string that only mentions an id.
			{[]string{"event", "view_item", "item_id", "SAW-2000"}, "analytics"},
			{[]string{"event", "search", "search_term", "see AW-123"}, "analytics"},
		} {
			if v := p.DecideScript(&Script{Calls: gtag, Strings: tt.strs, PageHost: "shop.example"}); v.Category != tt.cat || v.Action != "defer" {
				t.Errorf("gtag(%q): got %+v, want %q defer", tt.strs, v, tt.cat)
			}
		}
		// AW- without a gtag call (a page's own string) says nothing.
		if v := p.DecideScript(&Script{Strings: []string{"AW-123456789"}, PageHost: "shop.example"}); v.Category != "" || v.Action != "keep" {
			t.Errorf("AW- without gtag: %+v", v)
		}
	}
	t.Run("builtin", func(t *testing.T) { check(t, NewPolicy(mustBuiltin(t))) })
	t.Run("with lists", func(t *testing.T) { check(t, fullPolicy(t)) })
	// A policy that removes advertising removes the snippet whole, Google
	// Analytics' config with it (docs/blocklists.md says to split it).
	p := NewPolicy(mustBuiltin(t))
	p.Actions = map[string]string{"advertising": "remove"}
	if v := p.DecideScript(&Script{Calls: []string{"gtag"}, Strings: []string{"config", "G-ABC123", "config", "AW-123456789"}, PageHost: "shop.example"}); v.Action != "remove" || v.Vendor != "Google Ads" {
		t.Errorf("advertising removed, a gtag snippet with Google Ads' config: %+v, want it removed as Google Ads'", v)
	}
}
