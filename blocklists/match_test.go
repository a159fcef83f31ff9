package blocklists

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// glob reports whether pat matches a prefix of s (all of s when end is
// set): matchSegs as an anchored rule uses it.
func glob(pat, s string, end bool) bool {
	return matchSegs(strings.Split(pat, "*"), s, true, end)
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pat, s string
		end    bool
		want   bool
	}{
		{"/ads/", "/ads/x", false, true},
		{"/ads/", "/adsx", false, false},
		{"/ads/*.js", "/ads/a/b.js?x", false, true},
		{"/ads/*.js", "/ads/a/b.js?x", true, false},
		{"/ads/*.js", "/ads/a.js/b.js", true, true},
		{"^", "", false, true},
		{"^", "/", false, true},
		{"^", "a", false, false},
		{"^foo^", "/foo?", false, true},
		{"^foo^", "/foo", false, true},
		{"^foo^", "/foox", false, false},
		{"*a*b*c", "xxaxxbxxc", true, true},
		{"*a*b*c", "xxaxxcxxb", true, false},
		{"", "anything", false, true},
		{"", "", true, true},
		{"x", "", false, false},
	}
	for _, tt := range tests {
		if got := glob(tt.pat, tt.s, tt.end); got != tt.want {
			t.Errorf("glob(%q, %q, %v) = %v, want %v", tt.pat, tt.s, tt.end, got, tt.want)
		}
	}
}

// TestABP checks the Adblock Plus subset rule by rule: each case loads
// one small list and asks for one request.
func TestABP(t *testing.T) {
	type req struct {
		url, page string
		typ       ReqType
		want      string // "block", "exception" or "" (no match)
	}
	tests := []struct {
		list string
		reqs []req
	}{
		{"||ads.example^", []req{
			{"https://ads.example/x.js", "", 0, "block"},
			{"https://sub.ads.example/", "", 0, "block"},
			{"https://notads.example/", "", 0, ""},
			{"https://ads.example.evil.test/", "", 0, ""},
		}},
		{"||cdn.example/ads/*.js|", []req{
			{"https://cdn.example/ads/x/y.js", "", 0, "block"},
			{"https://cdn.example/ads/x.js?v=1", "", 0, ""},
			{"https://cdn.example/img/x.js", "", 0, ""},
		}},
		// A rule of one segment under its host, ended by |: matched from
		// the rule's own line (rule.matchAnchored), its end included.
		{"||cdn.example/x.js|", []req{
			{"https://cdn.example/x.js", "", 0, "block"},
			{"https://cdn.example/x.js?v=1", "", 0, ""},
			{"https://cdn.example/x.json", "", 0, ""},
		}},
		{"|https://track.", []req{
			{"https://track.vendor.test/p", "", 0, "block"},
			{"http://track.vendor.test/p", "", 0, ""},
		}},
		{"|https://t.example/p.gif|", []req{
			{"https://t.example/p.gif", "", 0, "block"},
			{"https://t.example/p.gif?x", "", 0, ""},
		}},
		// The token a rule is indexed under recurs in a URL: a miss at
		// one recurrence (a different literal around it, an anchor not
		// met) leaves the others to try.
		{"/track.*=beacon", []req{
			{"https://a.example/?x=.track.&y=/track.&id=beacon", "", 0, "block"},
			{"https://a.example/x/track.js?id=beacon&r=/track.", "", 0, "block"},
			{"https://a.example/x/track.js?id=beaco&r=/track.&z=1", "", 0, ""},
		}},
		{"||track.example/*=beacon", []req{
			// The first segment recurs outside the host first.
			{"https://cdn.example/track.example/?u=1&x=track.example/", "", 0, ""},
			{"https://track.example/x?a=track.example/&id=beacon", "", 0, "block"},
			{"https://cdn.example/?u=track.example/&id=beacon", "", 0, ""},
		}},
		{"|https://pixel.*/collect", []req{
			// Not at the start of the URL first, then at it.
			{"https://pixel.example/r?u=https://pixel.other/&p=/collect", "", 0, "block"},
		}},
		{"/pixel.gif?", []req{
			{"https://a.test/img/pixel.gif?x=1", "", 0, "block"},
			{"https://a.test/img/pixel.gif", "", 0, ""},
		}},
		{"-analytics.js", []req{
			{"https://a.test/js/site-analytics.js", "", 0, "block"},
			{"https://a.test/js/siteanalytics.js", "", 0, ""},
		}},
		{"&ev=PageView&", []req{
			{"https://px.test/tr?id=1&ev=PageView&noscript=1", "", 0, "block"},
		}},
		{"||metrics.*.example^", []req{
			{"https://metrics.shop.example/c", "", 0, "block"},
			{"https://a.metrics.shop.example/c", "", 0, "block"},
			{"https://xmetrics.shop.example/c", "", 0, ""},
			// The token is whole, but not at the start of a label, or not
			// in the host.
			{"https://x-metrics.shop.example/c", "", 0, ""},
			{"https://a.test/metrics.shop.example/c", "", 0, ""},
			{"https://a.test/x.metrics.shop.example/c", "", 0, ""},
			{"https://a.test/?u=https://metrics.shop.example/c", "", 0, ""},
		}},
		{"|https://t.test/a*/px", []req{
			{"https://t.test/ab/px", "", 0, "block"},
			{"https://x.test/?r=https://t.test/ab/px", "", 0, ""},
		}},
		{"/content/ads/*", []req{ // a trailing * adds nothing
			{"https://a.test/x/content/ads/b.gif", "", 0, "block"},
			{"https://a.test/content/ads/", "", 0, "block"},
			{"https://a.test/content/adserver/", "", 0, ""},
			{"https://a.test/wp-content/ads/", "", 0, ""},
		}},
		{"*/track.gif|", []req{ // nor does a leading one
			{"https://a.test/x/track.gif", "", 0, "block"},
			{"https://a.test/x/track.gif?v=1", "", 0, ""},
			{"https://a.test/x/mytrack.gif", "", 0, ""},
		}},
		{"/track.gif*|", []req{ // and *| is no end anchor
			{"https://a.test/x/track.gif", "", 0, "block"},
			{"https://a.test/x/track.gif?v=1", "", 0, "block"},
			{"https://a.test/x/track.gifs", "", 0, "block"},
			{"https://a.test/x/mytrack.gif", "", 0, ""},
		}},
		{"|*tracker.test/p|", []req{
			{"https://tracker.test/p", "", 0, "block"},
			{"https://a.test/?u=tracker.test/p", "", 0, "block"},
			{"https://tracker.test/px", "", 0, ""},
		}},
		{"/collect^*tid=", []req{
			{"https://a.test/g/collect?v=2&tid=G-1", "", 0, "block"},
			{"https://a.test/g/collector?tid=G-1", "", 0, ""},
		}},
		{"||cdn.example^$script", []req{
			{"https://cdn.example/a.js", "", TypeScript, "block"},
			{"https://cdn.example/a.png", "", TypeImage, ""},
			{"https://cdn.example/a", "", TypeAll, "block"},
		}},
		{"||cdn.example^$~script", []req{
			{"https://cdn.example/a.js", "", TypeScript, ""},
			{"https://cdn.example/a.png", "", TypeImage, "block"},
		}},
		{"||w.example^$domain=shop.example|~sub.shop.example", []req{
			{"https://w.example/", "shop.example", 0, "block"},
			{"https://w.example/", "www.shop.example", 0, "block"},
			{"https://w.example/", "sub.shop.example", 0, ""},
			{"https://w.example/", "other.example", 0, ""},
		}},
		{"/widget.js$domain=~shop.example", []req{
			{"https://w.example/widget.js", "other.example", 0, "block"},
			{"https://w.example/widget.js", "shop.example", 0, ""},
		}},
		{"||t.example^\n@@||t.example/ok.js", []req{
			{"https://t.example/ok.js", "", 0, "exception"},
			{"https://t.example/x.js", "", 0, "block"},
		}},
		{"||t.example^$important\n@@||t.example^", []req{
			{"https://t.example/ok.js", "", 0, "block"},
		}},
		{"@@||t.example^\n||t.example^$important", []req{
			{"https://t.example/ok.js", "", 0, "block"},
		}},
		// An exception beats a block that is not important wherever each
		// stands: the host's one entry once kept the later.
		{"@@||t.example^\n||t.example^", []req{
			{"https://t.example/x.js", "", 0, "exception"},
			{"https://sub.t.example/x.js", "", 0, "exception"},
		}},
		{"@@||t.example^\n||sub.t.example^\n||t.example^", []req{
			{"https://t.example/x.js", "", 0, "exception"},
			{"https://sub.t.example/x.js", "", 0, "exception"},
		}},
		// A host that ends in a dot is the start of a host, any TLD after.
		{"||adservice.google.", []req{
			{"https://adservice.google.com/adsid/integrator.js", "", 0, "block"},
			{"https://adservice.google.co.uk/x", "", 0, "block"},
			{"https://x.adservice.google.de/", "", 0, "block"},
			{"https://xadservice.google.de/", "", 0, ""},
			{"https://adservice.googlex.com/", "", 0, ""},
			{"https://adservice.google/", "", 0, ""},
			{"https://shop.example/?u=adservice.google.com", "", 0, ""},
		}},
		{"||23.109.82.$script", []req{
			{"https://23.109.82.4/a.js", "", TypeScript, "block"},
			{"https://123.109.82.4/a.js", "", TypeScript, ""},
			{"https://23.109.82.4/a.js", "", TypeImage, ""},
		}},
		// "||x.example" with no "^": hosts that begin with it too, with
		// options or without.
		{"||coin.example", []req{
			{"https://coin.example/m.js", "", 0, "block"},
			{"https://a.coin.example/m.js", "", 0, "block"},
			{"https://coin.example.evil.test/m.js", "", 0, "block"},
			{"https://coin.examples/m.js", "", 0, "block"},
			{"https://bitcoin.example/m.js", "", 0, ""},
			{"https://shop.example/coin.example/m.js", "", 0, ""},
		}},
		{"||coin.example$script", []req{
			{"https://coin.example/m.js", "", TypeScript, "block"},
			{"https://coin.examples/m.js", "", TypeScript, "block"},
			{"https://coin.example/m.js", "", TypeImage, ""},
		}},
		{"||coin.example^", []req{
			{"https://coin.examples/m.js", "", 0, ""},
		}},
		// A block that a blocker answers with a stand-in is a block;
		// "strict3p" is third party by host.
		{"||ga.example/analytics.js$script,redirect=google-analytics_analytics.js\n||ads.example^$empty\n||v.example^$media,mp4\n||s.example^$strict3p\n||r.example/a.js$rewrite=abp-resource:blank-js", []req{
			{"https://ga.example/analytics.js", "", TypeScript, "block"},
			{"https://ga.example/analytics.js", "", TypeImage, ""},
			{"https://ga.example/other.js", "", TypeScript, ""},
			{"https://ads.example/x", "", 0, "block"},
			{"https://v.example/clip.mp4", "", TypeMedia, "block"},
			{"https://v.example/clip.mp4", "", TypeImage, ""},
			{"https://s.example/x", "", 0, "block"},
			{"https://r.example/a.js", "", 0, "block"},
		}},
		{"/track.js\n@@/track.js$domain=shop.example", []req{
			{"https://v.example/track.js", "shop.example", 0, "exception"},
			{"https://v.example/track.js", "other.example", 0, "block"},
		}},
		{`/^https?:\/\/tmx\.(td|tdbank)\.com\/[a-z0-9]{14,18}\.js/$script`, []req{
			{"https://tmx.tdbank.com/abcdefghij0123.js", "", TypeScript, "block"},
			{"https://tmx.tdbank.com/abc.js", "", TypeScript, ""},
			{"https://tmx.tdbank.com/abcdefghij0123.js", "", TypeImage, ""},
		}},
		{"$ping,third-party", []req{
			{"https://any.example/p", "", TypePing, "block"},
			{"https://any.example/p", "", TypeImage, ""},
			{"https://any.example/p", "", TypeAll, ""},
		}},
		{"||x.example^$domain=edu|[::1]", []req{
			{"https://x.example/", "www.mit.edu", 0, "block"},
			{"https://x.example/", "shop.example", 0, ""},
		}},
		// No token: a fallback rule, whose $domain is settled once per page
		// host; the answer must follow the page host from one URL to the next.
		{`/[0-9]{3}x[0-9]{3}/$domain=shop.example`, []req{
			{"https://a.example/300x250", "shop.example", 0, "block"},
			{"https://a.example/300x250", "other.example", 0, ""},
			{"https://a.example/300x250", "shop.example", 0, "block"},
			{"https://a.example/300x250", "sub.shop.example", 0, "block"},
			{"https://a.example/300x250", "shop.example.evil", 0, ""},
		}},
		{`/\/beacon\/[0-9]+$/`, []req{
			{"https://x.example/beacon/123", "", 0, "block"},
			{"https://x.example/beacon/123/a", "", 0, ""},
		}},
		// No whole token, but one that begins the pattern and ends before
		// a separator: found by the end of the URL's token that holds it.
		{"%2fevent.gif%3f", []req{
			{"https://x.example/r?u=https%3a%2f%2fy.example%2fevent.gif%3fid=1", "", 0, "block"},
			{"https://x.example/r?u=%2fevent.gif%3f", "", 0, "block"},
			{"https://x.example/r?u=%2fEVENT.GIF%3F", "", 0, "block"},
			{"https://x.example/r?u=%2fevent.gif%3", "", 0, ""},
			{"https://x.example/r?u=%2fevents.gif%3f", "", 0, ""},
			{"https://x.example/r?u=%2fevent%2fevent.gif%3f", "", 0, "block"},
			{"https://x.example/r?u=vent.gif%3f", "", 0, ""},
		}},
		{"%2fmybeacon.gif%3f$image,domain=shop.example", []req{
			{"https://x.example/r?u=%2fmybeacon.gif%3f", "shop.example", TypeImage, "block"},
			{"https://x.example/r?u=%2fmybeacon.gif%3f", "shop.example", TypeScript, ""},
			{"https://x.example/r?u=%2fmybeacon.gif%3f", "other.example", TypeImage, ""},
		}},
	}
	for _, tt := range tests {
		db, st, err := ParseList(strings.NewReader(tt.list), "t.txt", FormatABP, "analytics")
		if err != nil || len(st.Errors) > 0 {
			t.Fatalf("%q: %v %v", tt.list, err, st.Errors)
		}
		for _, r := range tt.reqs {
			q := requestFor(r.url, r.page, r.typ)
			e, ok := db.Match(q)
			got := ""
			switch {
			case ok && e.Exception:
				got = "exception"
			case ok:
				got = "block"
			}
			if got != r.want {
				t.Errorf("list %q, %s on %s (type %b): %q, want %q", tt.list, r.url, q.PageHost, q.Type, got, r.want)
			}
		}
	}
}

func requestFor(u, page string, t ReqType) *Request {
	if page == "" {
		page = "page.example"
	}
	if t == 0 {
		t = TypeAll
	}
	host := u[strings.Index(u, "://")+3:]
	if i := strings.IndexAny(host, "/?"); i >= 0 {
		host = host[:i]
	}
	return &Request{URL: strings.ToLower(u), Host: host, PageHost: page, Type: t}
}

// TestHostIndex checks that the rules under a host split by the byte
// after the host's first (refIndex) give the answers of the whole list:
// for the rules' own URLs, URLs that end at the host or one byte after
// it, and paths that begin with every byte; and that where two rules tie
// the first added still wins, which a split that lost the list's order
// would turn.
func TestHostIndex(t *testing.T) {
	db := NewDB()
	paths := []string{
		"/*ab", // checks one byte: in every split
		"/abc", // ties with /*ab on the same URL: /*ab came first
		"/a1", "/a2/x", "/b1", "/b2^", "/c/d", "/d*e", "/x^",
		"^",   // checks none
		"?q=", // the byte after the host is not a "/"
		"/%2f", "/ab*c*d",
	}
	for i, p := range paths {
		db.AddPath("cdn.example", p, Entry{Vendor: fmt.Sprintf("v%d", i), Category: "analytics"})
	}
	db.AddPath("www.cdn.example", "/abc", Entry{Vendor: "www", Category: "advertising"})
	n, _ := db.hosts.get("cdn.example")
	if len(db.rulesOf(n)) <= hostIndexMin {
		t.Fatalf("%d rules under the host: the index is made for more than %d", len(db.rulesOf(n)), hostIndexMin)
	}
	urls := []string{"https://cdn.example", "https://cdn.example/", "https://cdn.example?", "https://www.cdn.example/abc?x"}
	for _, p := range paths {
		urls = append(urls, "https://cdn.example"+strings.ReplaceAll(strings.ReplaceAll(p, "*", "zz"), "^", "/"))
	}
	for c := 1; c < 256; c++ {
		urls = append(urls, "https://cdn.example/"+string(rune(c))+"bc/d/e", "https://x.cdn.example/"+string(byte(c)))
	}
	whole := map[string]entryOK{}
	for _, u := range urls {
		e, ok := db.Match(requestFor(u, "", TypeImage))
		whole[u] = entryOK{e, ok}
	}
	db.Freeze()
	ix := db.hostIndex.Load()
	if ix == nil || (*ix)[n.rules-1] == nil {
		t.Fatal("Freeze made no index of the host's rules")
	}
	// The frozen walk reads the index's parts from the host's link.
	if l := db.answers.Load().recs[db.hosts.index("cdn.example")].l; l.nrefs != splitRefs {
		t.Fatalf("cdn.example's link: %+v, want its split rules", l)
	}
	matched := 0
	for _, u := range urls {
		e, ok := db.Match(requestFor(u, "", TypeImage))
		if (entryOK{e, ok}) != whole[u] {
			t.Errorf("%q: split %+v %v, whole list %+v %v", u, e, ok, whole[u].e, whole[u].ok)
		}
		if ok {
			matched++
		}
	}
	if e, _ := db.Match(requestFor("https://cdn.example/abc", "", TypeImage)); e.Vendor != "v0" {
		t.Errorf("/abc: vendor %q, want v0 (/*ab, added first, ties with /abc)", e.Vendor)
	}
	if matched < len(paths) {
		t.Errorf("%d URLs matched: the rules' own URLs should", matched)
	}
	// Refs that check fewer than two bytes go in every part: where their
	// copies would take more than refIndexCopies times the list's room,
	// or where no ref checks two bytes, the list is read whole.
	short := NewDB()
	for i := range 10 {
		short.AddPath("short.example", fmt.Sprintf("^x%d", i), Entry{Category: "analytics"})
		short.AddPath("short.example", fmt.Sprintf("/%c", 'a'+i), Entry{Category: "analytics"})
		short.AddPath("only.example", fmt.Sprintf("^%d", i), Entry{Category: "analytics"})
	}
	short.Freeze()
	for _, h := range []string{"short.example", "only.example"} {
		n, _ := short.hosts.get(h)
		if x := (*short.hostIndex.Load())[n.rules-1]; x != nil {
			t.Errorf("%s: %d refs split in %d parts", h, len(short.rulesOf(n)), len(x.lists))
		}
	}
	// A change to the host rules drops the index until the next Freeze.
	db.AddPath("cdn.example", "/new", Entry{Vendor: "new", Category: "analytics"})
	if db.hostIndex.Load() != nil {
		t.Fatal("the index outlived a change to the host rules")
	}
	db.Freeze()
	if e, ok := db.Match(requestFor("https://cdn.example/new", "", TypeImage)); !ok || e.Vendor != "new" {
		t.Errorf("/new after a second Freeze: %+v %v", e, ok)
	}
}

// TestRuleRefs checks the bytes and types a rule's ref checks before the
// rule is read: the literal next to the token, after it or before it, up
// to the end of the URL; a host rule's first bytes; and a request of no
// type, which only untyped rules match.
func TestRuleRefs(t *testing.T) {
	in := strings.Join([]string{
		"/collect.gif",            // token "collect", then ".gif"
		"_tracking123^",           // token "tracking123", only "_" before it
		"||cdn.example/px/beacon", // host rule
		"/typed.js$script",
	}, "\n")
	db, _, err := ParseList(strings.NewReader(in), "list.txt", FormatABP, "analytics")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		url  string
		typ  ReqType
		want bool
	}{
		{"https://a.example/collect.gif", TypeImage, true}, // the literal ends the URL
		{"https://a.example/collect.gi", TypeImage, false}, // one byte short
		{"https://a.example/collect.gif", 0, true},
		{"https://a.example/collect.gifx", 0, true},
		{"https://a.example/collect.png", TypeImage, false},
		{"https://a.example/x_tracking123", TypeImage, true},
		{"https://a.example/x-tracking123", TypeImage, false},
		{"https://a.example/x_tracking123z", TypeImage, false},
		{"https://cdn.example/px/beacon", 0, true},
		{"https://cdn.example/px/beaco", 0, false},
		{"https://www.cdn.example/px/beacon?x", TypeScript, true},
		{"https://cdn.example/pz/beacon", TypeScript, false},
		{"https://a.example/typed.js", TypeScript, true},
		{"https://a.example/typed.js", TypeImage, false},
		{"https://a.example/typed.js", 0, false},
	} {
		q := requestFor(c.url, "", 1)
		q.Type = c.typ
		if _, ok := db.Match(q); ok != c.want {
			t.Errorf("%s (type %b): match %v, want %v", c.url, c.typ, ok, c.want)
		}
		checkMatch(t, db, q)
	}
}

// TestRuleRefLater checks the bytes a ref checks at no fixed place (its
// later bytes): which literal of its rule they are taken from, for each
// way a rule is matched, and that the rule still matches wherever its
// match may hold them, while a URL without them is passed by.
func TestRuleRefLater(t *testing.T) {
	in := strings.Join([]string{
		".org/*=zq7track",                           // token "org" (the only one), matched from there
		"/--------/tok/*ab",                         // token "tok"; the longest run lies before it
		"/abcdefgh*/tokw^",                          // token "tokw" in a later segment: searched in the whole URL
		"||cdn.example^*/adverts.js",                // host rule
		"||pix.example*/adv.gif",                    // indexed under "pix": its later bytes may begin where the host ends
		"||w.example/verylongpath/*zq",              // host rule: not the bytes the first check reads
		`/^https?:\/\/px\.[a-z]+\.example\/beacon/`, // regex
	}, "\n")
	db, _, err := ParseList(strings.NewReader(in), "list.txt", FormatABP, "analytics")
	if err != nil {
		t.Fatal(err)
	}
	var refs []ruleRef
	for _, h := range []string{"cdn.example", "w.example"} {
		n, ok := db.hosts.get(h)
		if !ok {
			t.Fatalf("no entry for %s", h)
		}
		refs = append(refs, db.rulesOf(n)...)
	}
	for _, tr := range db.tokens.list {
		refs = append(refs, tr.rules...)
	}
	later := map[string]string{}
	for _, x := range refs {
		key := x.r.pattern
		if x.r.re != nil {
			key = x.r.re.String()
		}
		later[key] = string(x.later[:x.nl])
	}
	for pat, want := range map[string]string{
		"=zq7track":         "=zq7trac", // after the token: the later segment
		"/--------/tok/*ab": "ab",       // not the longer run before the token
		"/abcdefgh*/tokw^":  "/abcdefg", // anywhere: the longest run
		"^*/adverts.js":     "/adverts", // after the host
		"*/adv.gif":         "/adv.gif",
		"/verylongpath/*zq": "zq",
		`example/beacon`:    ".example", // the regex's longest literal
	} {
		got, ok := "", false
		for k, v := range later {
			if strings.Contains(k, pat) {
				got, ok = v, true
			}
		}
		if !ok {
			t.Errorf("no ref for a rule with %q: %q", pat, later)
		} else if got != want {
			t.Errorf("%q: later bytes %q, want %q", pat, got, want)
		}
	}
	for _, c := range []struct {
		url  string
		want bool
	}{
		{"https://a.example/x.org/y?k=zq7track", true},
		{"https://a.example/x.org/y?k=zq7trac", false},
		{"https://a.example/x.org/y?k=zq7track&z=.org/", true},
		{"https://a.example/=zq7track/x.org/y", false}, // before the token only
		{"https://a.example/--------/tok/ab", true},
		{"https://a.example/--------/tok/xa", false},
		{"https://a.example/abcdefghzz/tokw/", true}, // the later bytes before the token
		{"https://a.example/abcdefg/tokw/", false},
		{"https://a.example/tokw/abcdefgh", false},
		{"https://cdn.example/x/adverts.js", true},
		{"https://img.cdn.example/x/adverts.js?x", true},
		{"https://img.cdn.example/adverts.js?x", false}, // ^ takes the only /
		{"https://cdn.example/x/advert.js", false},
		{"https://a.example/?u=cdn.example/adverts.js", false},
		{"https://pix.example/adv.gif", true},
		{"https://pix.example/x/adv.gif", true},
		{"https://pix.example/adv.png", false},
		{"https://w.example/verylongpath/zq", true},
		{"https://w.example/verylongpath/z", false},
		{"https://px.a.example/beacon", true},
		{"https://px.example/beacon", false},
		{"https://px.a.example/beacon" + strings.Repeat("-", 80), true},
	} {
		q := requestFor(c.url, "", TypeImage)
		if _, ok := db.Match(q); ok != c.want {
			t.Errorf("%s: match %v, want %v", c.url, ok, c.want)
		}
		checkMatch(t, db, q)
	}
	// laterIn's from: at it or after it.
	x := ruleRef{}.withLater("abc")
	for _, c := range []struct {
		u    string
		from int
		want bool
	}{
		{"xxabc", 0, true}, {"xxabc", 2, true}, {"xxabc", 3, false}, {"xxabc", 5, false}, {"xxabc", 6, false}, {"xxabc", -1, true},
		{strings.Repeat("ab", 40) + "abc", 0, true}, {strings.Repeat("ab", 40) + "abd", 0, false},
	} {
		if got := x.laterIn(c.u, c.from); got != c.want {
			t.Errorf("laterIn(%q, %d) = %v, want %v", c.u, c.from, got, c.want)
		}
	}
	if none := (ruleRef{}); !none.laterIn("", 0) {
		t.Error("a ref with no later bytes rules a URL out")
	}
}

// TestRuleRefLaterRandom checks Match against matching every rule on
// random rules of two and three segments (matched from their token, in
// the whole URL, under a host) and URLs made of their pieces, some left
// out and some moved before the token: a ref's later bytes must never
// pass a rule by that matches.
func TestRuleRefLaterRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const alpha = "ab1=/."
	piece := func() string {
		b := make([]byte, 2+rng.IntN(7))
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	var lines, pieces []string
	for k := 0; k < 60; k++ {
		segs := []string{piece(), piece()}
		if rng.IntN(2) == 0 {
			segs = append(segs, piece())
		}
		if rng.IntN(3) == 0 {
			segs[1] += "^"
		}
		tok := fmt.Sprintf("tok%d", k)
		var line string
		switch k % 3 {
		case 0: // the token in the first segment: matched from there
			segs[0] = "/" + tok + "/" + segs[0]
			line = strings.Join(segs, "*")
		case 1: // the token in a later segment: searched for in the whole URL
			segs[1] = "/" + tok + "/" + segs[1]
			line = strings.Join(segs, "*")
		default: // under a host
			line = "||h" + tok + ".example/" + strings.Join(segs, "*")
		}
		lines = append(lines, line)
		pieces = append(pieces, segs...)
	}
	db, _, err := ParseList(strings.NewReader(strings.Join(lines, "\n")), "random.txt", FormatABP, "analytics")
	if err != nil {
		t.Fatal(err)
	}
	db.Freeze()
	withLater := 0
	for _, tr := range db.tokens.list {
		for _, x := range tr.rules {
			if x.nl > 0 {
				withLater++
			}
		}
	}
	if withLater == 0 {
		t.Fatal("no ref has later bytes: the test checks nothing")
	}
	matched := 0
	for n := 0; n < 20000; n++ {
		k := rng.IntN(len(lines))
		line := strings.ReplaceAll(strings.TrimPrefix(lines[k], "||"), "^", "/")
		parts := strings.Split(line, "*")
		// Drop a part, swap two, or put a random piece between them.
		switch rng.IntN(4) {
		case 0:
			i := rng.IntN(len(parts))
			parts = append(parts[:i:i], parts[i+1:]...)
		case 1:
			i, j := rng.IntN(len(parts)), rng.IntN(len(parts))
			parts[i], parts[j] = parts[j], parts[i]
		case 2:
			i := rng.IntN(len(parts) + 1)
			parts = slices.Insert(parts, i, pieces[rng.IntN(len(pieces))])
		}
		var u string
		if strings.HasPrefix(lines[k], "||") {
			u = "https://" + strings.Join(parts, "")
		} else {
			u = "https://a.example/" + strings.Join(parts, "")
		}
		q := requestFor(u, "", TypeImage)
		if _, ok := db.Match(q); ok {
			matched++
		}
		checkMatch(t, db, q)
	}
	if matched < 1000 || matched > 19000 {
		t.Fatalf("%d of 20000 URLs matched: the URLs do not test both sides", matched)
	}
}

func TestABPSkipped(t *testing.T) {
	in := strings.Join([]string{
		"||a.example^$popup",
		"||b.example^$~third-party",
		"||c.example^$csp=script-src 'none'",
		"example.com##.ad",
		"*$third-party",
		"||d.example^$domain=*.shop.example",
		"||e.example^$domain=bad host",
		"/unclosed(/",
		"||ok.example^",
		"@@||f.example^$redirect=noopjs",
		"||g.example^$redirect-rule=noopjs",
		"||h.example^$~strict3p",
		"||i.example^$strict1p",
		"||j.example^$rewrite=/x/y/",
	}, "\n")
	db, st, err := ParseList(strings.NewReader(in), "list.txt", FormatABP, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"document_or_popup": 1, "first_party_only": 3, "unsupported_option": 4, "cosmetic": 1, "matches_everything": 1, "domain_pattern": 1, "bad_line": 2}
	for k, v := range want {
		if st.Skipped[k] != v {
			t.Errorf("skipped[%s] = %d, want %d (all: %v)", k, st.Skipped[k], v, st.Skipped)
		}
	}
	if len(st.Errors) != 2 || !strings.HasPrefix(st.Errors[0].Error(), "list.txt:7: bad domain") || !strings.HasPrefix(st.Errors[1].Error(), "list.txt:8: regex") {
		t.Errorf("errors: %v", st.Errors)
	}
	if _, ok := db.LookupHost("ok.example"); !ok || db.Len() != 1 {
		t.Errorf("good rule lost or skipped rules kept: len %d", db.Len())
	}
}

func TestRegexCaps(t *testing.T) {
	var b strings.Builder
	for i := 0; i < maxRegexes+5; i++ {
		fmt.Fprintf(&b, "/^https:\\/\\/r%d\\.example\\//\n", i)
	}
	b.WriteString("/" + strings.Repeat("a", maxRegexLen+1) + "/\n")
	b.WriteString("/(a{1,1000}){1,1000}/\n")
	db, st, err := ParseList(strings.NewReader(b.String()), "re.txt", FormatABP, "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Rules["regex"] != maxRegexes || st.Skipped["regex_over_cap"] != 7 || len(st.Errors) != 0 {
		t.Errorf("rules %v skipped %v errors %v", st.Rules, st.Skipped, st.Errors)
	}
	if _, ok := db.Match(requestFor("https://r7.example/x", "", 0)); !ok {
		t.Error("regex rule under the cap does not match")
	}
	_, st, _ = ParseList(strings.NewReader("/(a{1,1000}){1,1000}/\n/"+strings.Repeat("a", maxRegexLen+1)+"/\n"), "re.txt", FormatABP, "")
	if len(st.Errors) != 1 || !strings.Contains(st.Errors[0].Error(), "re.txt:1:") || st.Skipped["regex_too_long"] != 1 {
		t.Errorf("big regexes: skipped %v errors %v", st.Skipped, st.Errors)
	}
}

func TestPolicyURLRules(t *testing.T) {
	db, _, err := ParseList(strings.NewReader("||t.example^\n@@||t.example/ok.js\n||w.example^$domain=shop.example\n||s.example^$script\n"), "l.txt", FormatABP, "advertising")
	if err != nil {
		t.Fatal(err)
	}
	p := NewPolicy(db)
	for i := 0; i < 2; i++ { // the second round answers from the cache
		if v := p.DecideRequest("shop.example", "https", "t.example", "/OK.js", "", TypeScript); v.Action != ActionKeep {
			t.Errorf("exception (case-insensitive): %+v", v)
		}
		if v := p.DecideRequest("shop.example", "https", "t.example", "/x.js", "", TypeScript); v.Action != ActionDefer || v.Category != "advertising" {
			t.Errorf("block: %+v", v)
		}
		if v := p.DecideRequest("shop.example", "https", "w.example", "/", "", TypeImage); v.Category != "advertising" {
			t.Errorf("domain rule on its site: %+v", v)
		}
		if v := p.DecideRequest("other.example", "https", "w.example", "/", "", TypeImage); v.Category != "unknown" {
			t.Errorf("domain rule elsewhere: %+v", v)
		}
		if v := p.DecideRequest("shop.example", "https", "s.example", "/a.png", "", TypeImage); v.Category != "unknown" {
			t.Errorf("script rule on an image: %+v", v)
		}
		if v := p.DecideHost("shop.example", "s.example"); v.Category != "unknown" {
			t.Errorf("host decision uses a typed rule: %+v", v)
		}
	}
	// A swap takes effect at once, with a fresh cache.
	db2, _, _ := ParseList(strings.NewReader("@@||t.example^$important\n"), "l2.txt", FormatABP, "")
	p.SetDB(db2)
	if v := p.DecideRequest("shop.example", "https", "t.example", "/x.js", "", TypeScript); v.Category != "unknown" {
		t.Errorf("after swap: %+v", v)
	}
}

func TestSpecificity(t *testing.T) {
	db, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	list, _, _ := ParseList(strings.NewReader("||connect.facebook.net/signals/\n"), "l.txt", FormatABP, "advertising")
	db.Merge(list)
	p := NewPolicy(db)
	// The list's rule blocks the URL, but the embedded database knows the
	// host: its category and vendor stand, so that one vendor waits for
	// one consent (a list loaded as advertising does not make half of the
	// Meta Pixel advertising).
	if v := p.DecideURL("shop.example", "connect.facebook.net", "/signals/config/1", ""); v.Category != "social" || v.Vendor != "Meta Pixel" {
		t.Errorf("a list's URL rule on a known host takes the host's category and vendor: %+v", v)
	}
	// Where the database does not know the host, the list's category
	// stands; the project's own format, whose entries name their
	// category, speaks for the vendor over the database.
	own, _, _ := ParseList(strings.NewReader("||vendor.example^\n"), "l.txt", FormatABP, "advertising")
	db.Merge(own)
	own, _, _ = ParseList(strings.NewReader("host | analytics | hotjar.com | Hotjar\n"), "o.txt", FormatOwn, "")
	db.Merge(own)
	p.SetDB(db)
	if v := p.DecideURL("shop.example", "vendor.example", "/t.js", ""); v.Category != "advertising" {
		t.Errorf("a list's block on an unknown host: %+v", v)
	}
	if v := p.DecideURL("shop.example", "static.hotjar.com", "/c/hotjar-1.js", ""); v.Category != "analytics" {
		t.Errorf("an own-format entry over the database: %+v", v)
	}
	if v := p.DecideURL("shop.example", "connect.facebook.net", "/en_US/fbevents.js", ""); v.Category != "social" {
		t.Errorf("host fact elsewhere: %+v", v)
	}
}

// TestShapeMatches pins how a vendor loader's shape is found in a URL's
// path and query.
func TestShapeMatches(t *testing.T) {
	for _, c := range []struct {
		prefix, path, query string
		want                bool
	}{
		{"/gtag/js?id=G-", "/gtag/js", "id=G-7QH3", true},
		{"/gtag/js?id=G-", "/assets/vendor/gtag/js", "id=G-7QH3&l=dl", true},
		{"/gtag/js?id=G-", "/gtag/js", "id=UA-1", false},
		{"/gtag/js?id=G-", "/gtag/js", "", false},
		{"/gtag/js?id=G-", "/gtag/jsx", "id=G-1", false},
		{"/gtag/js?id=G-", "/x/gtag/js?id=G-1/y", "", true}, // a raw path that holds a query
		{"/fbevents.js", "/en_US/fbevents.js", "", true},
		{"/fbevents.js", "/fbevents.jsx", "v=2", true}, // contained, as the shape says
		{"/fbevents.js", "/events.js", "", false},
		{"/matomo.js", "/matomo.php", "idsite=1", false},
	} {
		s := newShapeTest(Shape{Prefix: c.prefix})
		if got := s.matches(c.path, c.query); got != c.want {
			t.Errorf("shape %q on %q, %q: %v, want %v", c.prefix, c.path, c.query, got, c.want)
		}
	}
}

// TestShapeAnchors checks the fast reject in front of the shapes: a path
// it turns away matches no shape, whatever the shapes and the query, and
// the builtin shapes turn away an ordinary first-party path.
func TestShapeAnchors(t *testing.T) {
	sets := [][]string{
		{"/gtag/js?id=G-", "/gtm.js?id=GTM-", "/fbevents.js", "/matomo.js"},
		{"/gtag/js?id=G-"},
		{"/a", "x?y=1"},
		{"?id=G-", "/fbevents.js"}, // no path part: no anchors, every shape tested
		{"s"},
	}
	paths := []string{"", "/", "/img/1.jpg", "/gtag/js", "/x/gtag/js?id=G-1", "/en_US/fbevents.js", "/fbevents.jsx",
		"/matomo.php", "/a", "/ba", "x", "/p/x", "/js", "/gtm.js", "?id=G-1", "/s", "/GTAG/JS",
		strings.Repeat("/b", 40) + "/gtag/js", strings.Repeat("/b", 40) + "/fbevents.js", strings.Repeat("/b", 40)} // past the short paths' loop
	queries := []string{"", "id=G-7", "id=GTM-1", "y=1", "v=2"}
	for _, set := range sets {
		c := &compiled{}
		for _, pre := range set {
			c.shapes = append(c.shapes, newShapeTest(Shape{Prefix: pre}))
		}
		c.anchors = shapeAnchors(c.shapes)
		for _, path := range paths {
			for _, q := range queries {
				any := false
				for i := range c.shapes {
					any = any || c.shapes[i].matches(path, q)
				}
				if any && !c.mayBeShape(path) {
					t.Errorf("shapes %q: %q?%q matches a shape but the anchors %q turn it away", set, path, q, c.anchors)
				}
			}
		}
	}
	c := &compiled{}
	for _, pre := range sets[0] {
		c.shapes = append(c.shapes, newShapeTest(Shape{Prefix: pre}))
	}
	c.anchors = shapeAnchors(c.shapes)
	if len(c.anchors) != 1 || c.mayBeShape("/img/1.jpg") || c.mayBeShape("/products/7") || !c.mayBeShape("/x/fbevents.js") {
		t.Errorf("builtin shapes: anchors %q; an image path should be turned away, a loader path not", c.anchors)
	}
	if (&compiled{}).mayBeShape("/gtag/js") {
		t.Error("no shapes: nothing may match")
	}
}

// TestPatternStars checks that a leading or trailing * is taken off a
// pattern, so that it is one piece checked where its token lies, and that
// a * inside stays.
func TestPatternStars(t *testing.T) {
	for list, want := range map[string]struct {
		pattern string
		pieces  int
		start   bool
		end     bool
	}{
		"/content/ads/*":   {"/content/ads/", 1, false, false},
		"**/track.gif|":    {"/track.gif", 1, false, true},
		"/track.gif*|":     {"/track.gif", 1, false, false},
		"|*tracker.test/p": {"tracker.test/p", 1, false, false},
		"|https://t.test/": {"https://t.test/", 1, true, false},
		"/collect^*tid=":   {"/collect^*tid=", 2, false, false},
	} {
		db, _, err := ParseList(strings.NewReader(list), "t.txt", FormatABP, "")
		if err != nil {
			t.Fatal(err)
		}
		got := slices.Collect(db.genericRules)
		if len(got) != 1 {
			t.Fatalf("%s: %d rules", list, len(got))
		}
		r := got[0]
		if r.pattern != want.pattern || len(r.segs) != want.pieces || r.start != want.start || r.end != want.end {
			t.Errorf("%s: pattern %q in %d pieces, start %v, end %v; want %+v", list, r.pattern, len(r.segs), r.start, r.end, want)
		}
	}
}

// TestGenericSpecificity checks that of two generic rules that match a
// URL, from lists of two categories, the longer pattern's answer is the
// match's, whichever list was merged first (outcome.add's spec).
func TestGenericSpecificity(t *testing.T) {
	for _, first := range []bool{true, false} {
		a := mustParse(t, "/collect^\n", FormatABP, "analytics")
		b := mustParse(t, "/collect/pixel.\n", FormatABP, "advertising")
		db := NewDB()
		mergeBoth(db, first, a, b)
		db.Freeze()
		for u, want := range map[string]string{
			"https://x.example/collect/pixel.gif": "advertising",
			"https://x.example/collect/x":         "analytics",
		} {
			q := Request{URL: u, Host: "x.example", PageHost: "page.example", Type: TypeImage}
			if e, ok := db.Match(&q); !ok || e.Category != want {
				t.Errorf("analytics merged first %v: %s gives %+v %v, want %s", first, u, e, ok, want)
			}
		}
	}
}

// TestRuleLine checks that what a match reads of a rule its ref lets by
// lies in the rule's first 64 bytes, and that a rule takes whole lines
// of 64 bytes, so that its first line is one of the CPU's cache; and that
// every rule of a list, generic, under a host or added by AddPath, has
// its first segment, whether it is the only one and its pattern's length
// as its pattern says.
func TestRuleLine(t *testing.T) {
	var r rule
	// Where pointers take 4 bytes a rule takes 108, which is left as it
	// is: padding it to 128 would cost 2 MB over the lists on the small
	// machines those are, for a layout tuned on 64-bit ones.
	if n := unsafe.Sizeof(r); n%64 != 0 && unsafe.Sizeof(uintptr(0)) == 8 {
		t.Fatalf("a rule takes %d bytes, not whole lines of 64", n)
	}
	for name, end := range map[string]uintptr{
		"ans":        unsafe.Offsetof(r.ans) + unsafe.Sizeof(r.ans),
		"types":      unsafe.Offsetof(r.types) + unsafe.Sizeof(r.types),
		"hostAnchor": unsafe.Offsetof(r.hostAnchor) + 1,
		"start":      unsafe.Offsetof(r.start) + 1,
		"end":        unsafe.Offsetof(r.end) + 1,
		"oneSeg":     unsafe.Offsetof(r.oneSeg) + 1,
		"plen":       unsafe.Offsetof(r.plen) + unsafe.Sizeof(r.plen),
		"tokOff":     unsafe.Offsetof(r.tokOff) + unsafe.Sizeof(r.tokOff),
		"lit0":       unsafe.Offsetof(r.lit0) + unsafe.Sizeof(r.lit0),
		"dom":        unsafe.Offsetof(r.dom) + unsafe.Sizeof(r.dom),
		"seg0":       unsafe.Offsetof(r.seg0) + unsafe.Sizeof(r.seg0),
	} {
		if end > 64 {
			t.Errorf("a rule's %s ends at byte %d, past its first line", name, end)
		}
	}
	db := mustParse(t, "/ads/banner.\n/collect^*tid=\n||t.example/p/*.gif\n||u.example/x.js|\n|https://v.example/*/a\n/^https:\\/\\/w\\.example\\/[0-9]+/\n*/pixel/*$image\n", FormatABP, "advertising")
	db.AddPath("own.example", "/Track/", Entry{Vendor: "v", Category: "analytics"})
	n := 0
	check := func(r *rule) {
		n++
		first := ""
		if len(r.segs) > 0 {
			first = r.segs[0]
		}
		if r.seg0 != first || r.oneSeg != (len(r.segs) == 1) || int(r.plen) != len(r.pattern) {
			t.Errorf("rule %q: seg0 %q, oneSeg %v, plen %d; its segments %q", r.pattern, r.seg0, r.oneSeg, r.plen, r.segs)
		}
	}
	for r := range db.genericRules {
		check(r)
	}
	for _, refs := range db.hostRules {
		for _, x := range refs {
			check(x.r)
		}
	}
	if n != 8 {
		t.Fatalf("%d rules checked, want 8", n)
	}
}

// TestMatchCorpus checks Match against matching every rule, on EasyPrivacy
// and EasyList and the URLs the saved pages load, in each request type.
func TestMatchCorpus(t *testing.T) {
	p := fullPolicy(t)
	db := p.DB()
	urls := corpusURLs(t)
	// Every fourth URL: matching every rule is slow (13 s for all).
	for i := 0; i < len(urls); i += 4 {
		u := urls[i]
		for _, typ := range []ReqType{TypeScript, TypeImage, TypeAll} {
			for _, page := range []string{"shop.example", u.Host} {
				checkMatch(t, db, &Request{URL: strings.ToLower(u.Scheme + "://" + u.Host + u.EscapedPath() + "?" + u.RawQuery), Host: u.Host, PageHost: page, Type: typ})
			}
		}
	}
	// Match asks the embedded database's facts only when its walk over
	// the host met a host of theirs (nodeFact): every URL they know is
	// one whose walk meets one.
	facts := 0
	for _, u := range urls {
		q := &Request{URL: strings.ToLower(u.Scheme + "://" + u.Host + u.EscapedPath() + "?" + u.RawQuery), Host: u.Host, PageHost: "shop.example", Type: TypeAll}
		if f, known := db.facts.Match(q); known && !f.Exception {
			facts++
			var o outcome
			if db.walkHost(q.Host, &o, nil, 0); !o.fact {
				t.Fatalf("%s: the facts know it (%+v), but the walk meets none of their hosts", q.URL, f)
			}
		}
	}
	if facts == 0 {
		t.Fatal("no corpus URL is known to the embedded database: the check checks nothing")
	}
}

// TestLowerASCII checks the eight-bytes-at-a-time lower-casing, and
// lowerPadded's, against a byte-by-byte one: every byte value at every
// position of a word, then random strings of every length up to 80.
func TestLowerASCII(t *testing.T) {
	ref := func(b []byte) []byte {
		out := slices.Clone(b)
		for i, c := range out {
			if c >= 'A' && c <= 'Z' {
				out[i] = c + 'a' - 'A'
			}
		}
		return out
	}
	check := func(in []byte) {
		t.Helper()
		got := slices.Clone(in)
		lowerASCII(got)
		want := ref(in)
		if !bytes.Equal(got, want) {
			t.Fatalf("lowerASCII(%q) = %q, want %q", in, got, want)
		}
		// lowerPadded, in a buffer with 0 to 15 bytes of room past the
		// end (upper-case letters there, which it may lower-case), with
		// the bytes before the slice's start left as they were.
		for room := 0; room < 16; room++ {
			buf := bytes.Repeat([]byte("Q"), 3+len(in)+room)
			copy(buf[3:], in)
			lowerPadded(buf[3 : 3+len(in) : 3+len(in)+room])
			if !bytes.Equal(buf[3:3+len(in)], want) || string(buf[:3]) != "QQQ" {
				t.Fatalf("lowerPadded(%q) with %d bytes of room = %q, want %q", in, room, buf[:3+len(in)], "QQQ"+string(want))
			}
		}
	}
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 9; pos++ {
			in := []byte("AZaz@[`{\x80")
			in[pos] = byte(c)
			check(in)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 80; n++ {
		for k := 0; k < 200; k++ {
			in := make([]byte, n)
			for i := range in {
				in[i] = byte(rng.IntN(256))
			}
			check(in)
		}
	}
	// lower16 (assembly on amd64) against lower16Go, every byte value at
	// every position of 16, 32, 48 and 80 bytes (the assembly's steps are
	// 16 bytes, and 32 in AVX2).
	for _, n := range []int{16, 32, 48, 80} {
		for c := 0; c < 256; c++ {
			for pos := 0; pos < n; pos++ {
				in := bytes.Repeat([]byte("AZaz@[`{\x80\xc1\xda"), 8)[:n]
				in[pos] = byte(c)
				a, b := slices.Clone(in), slices.Clone(in)
				lower16(&a[0], len(a))
				lower16Go(&b[0], len(b))
				if !bytes.Equal(a, b) || !bytes.Equal(a, ref(in)) {
					t.Fatalf("lower16(%q) = %q, lower16Go %q, want %q", in, a, b, ref(in))
				}
			}
		}
	}
}

// TestTokenScan checks Match's reading of the URL's tokens against
// matching every rule: rules indexed under tokens of 1 to 20 bytes and
// under the end of a token, on random URLs up to 300 bytes long that hold
// their tokens, pieces of them and separators at every offset and at the
// URL's two ends.
func TestTokenScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const alpha = "ab1%"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	type ruleCase struct{ rule, inst string } // inst: a piece of URL the rule matches
	var toks []string
	var cases []ruleCase
	for n := 1; n <= 20; n++ {
		tok := word(n)
		toks = append(toks, tok)
		cases = append(cases, ruleCase{"/" + tok + "^", "/" + tok + "?"}, ruleCase{"=" + tok + "&", "=" + tok + "&"}, ruleCase{"|" + tok + "/", tok + "/"},
			// Its token after a star: searched for in the whole URL, once
			// however often the token repeats.
			ruleCase{"-*/" + tok + "/", "-/" + tok + "/"})
	}
	for _, n := range []int{4, 5, 9} {
		tok := word(n)
		toks = append(toks, tok)
		// A leading token, found by the end of the URL's token (DB.edges):
		// the token alone, and at the end of a longer one.
		cases = append(cases, ruleCase{tok + "/", "/" + tok + "/"}, ruleCase{tok + "/", "b" + tok + "/"})
	}
	pieces := append(slices.Clone(toks), "/", "=", "&", "^", ".", "-", "?", "A", "%", "b", "1a", "\xc3\xa9")
	for _, c := range cases {
		rl := c.rule
		db, _, err := ParseList(strings.NewReader(rl), "list.txt", FormatABP, "analytics")
		if err != nil {
			t.Fatal(err)
		}
		if db.generic == 0 {
			t.Fatalf("%s: no generic rule", rl)
		}
		pieces := append(slices.Clip(pieces), c.inst, c.inst[:len(c.inst)-1])
		hits := 0
		for k := 0; k < 300; k++ {
			var b strings.Builder
			switch k % 3 {
			case 0:
				b.WriteString("https://h.example/")
			case 1:
				b.WriteString(c.inst)
			}
			for limit := rng.IntN(300); b.Len() < limit; {
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
			if k%10 == 0 {
				// A URL of 64 or 128 bytes that ends in a token, or in
				// the rule's piece.
				u := b.String()
				u = u[:min(len(u), 64<<(k%20/10))]
				u += strings.Repeat("a", 64<<(k%20/10)-len(u))
				if k%20 == 0 {
					u = u[:len(u)-len(c.inst)+1] + c.inst[:len(c.inst)-1]
				}
				b.Reset()
				b.WriteString(u)
			}
			q := &Request{URL: strings.ToLower(b.String()), Host: "h.example", PageHost: "page.example", Type: TypeAll}
			checkMatch(t, db, q)
			if _, ok := db.Match(q); ok {
				hits++
			}
		}
		if hits < 10 || hits > 290 {
			t.Errorf("%s matched %d URLs of 300: the URLs do not test it", rl, hits)
		}
	}
}

// TestRegexForLowerURL checks compileRegex's rewrite (forLowerURL)
// against the rule compiled as written, case-insensitively: the two must
// agree on every string whose ASCII letters are lower case, as Match
// gives them. Regexes are drawn from a grammar of the constructs lists
// use, over runes whose case-folding orbits hold more than one lower-case
// form ('k' and the Kelvin sign, 's' and the long s, 'é'), and inputs from
// the same runes, upper-case ones included before lower-casing.
func TestRegexForLowerURL(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 7))
	atoms := []string{"a", "k", "K", "s", "S", "é", "É", "\u212a", "ſ", "/", `\.`, ".", "[a-z]", "[A-Z]", "[^k]", `\w`, "[sk]", `\b`, "$", "^"}
	var gen func(depth int) string
	gen = func(depth int) string {
		if depth == 0 || rng.IntN(3) == 0 {
			return atoms[rng.IntN(len(atoms))]
		}
		switch rng.IntN(8) {
		case 0:
			return gen(depth-1) + "*"
		case 1:
			return gen(depth-1) + "+"
		case 2:
			return gen(depth-1) + "?"
		case 3:
			return fmt.Sprintf("%s{%d,}", gen(depth-1), rng.IntN(3))
		case 4:
			return fmt.Sprintf("%s{%d,%d}", gen(depth-1), rng.IntN(2), 2+rng.IntN(2))
		case 5:
			return "(" + gen(depth-1) + "|" + gen(depth-1) + ")"
		default:
			n := 2 + rng.IntN(3)
			var b strings.Builder
			for range n {
				b.WriteString(gen(depth - 1))
			}
			return b.String()
		}
	}
	inRunes := []rune("aAkKsSéÉ\u212aſ/.x\n")
	var inputs []string
	for range 300 {
		r := make([]rune, rng.IntN(8))
		for i := range r {
			r[i] = inRunes[rng.IntN(len(inRunes))]
		}
		b := []byte(string(r))
		lowerASCII(b)
		inputs = append(inputs, string(b))
	}
	checked := 0
	for range 3000 {
		src := gen(4)
		want, err := regexp.Compile("(?i)" + src)
		if err != nil {
			continue
		}
		got, err := compileRegex(src)
		if err != nil {
			t.Fatalf("/%s/: %v", src, err)
		}
		for _, s := range inputs {
			if got.MatchString(s) != want.MatchString(s) {
				t.Fatalf("/%s/ as %q on %q: %v, written as is %v", src, got, s, got.MatchString(s), want.MatchString(s))
			}
		}
		checked++
	}
	if checked < 1500 {
		t.Fatalf("only %d regexes compiled", checked)
	}
	// What the rewrite is for: an exact literal prefix, and no trailing
	// "/.*" to read the rest of the URL with.
	for src, want := range map[string]string{
		`^https?:\/\/[0-9a-z]{5,}\.com\/.*`: "\\Ahttp[sſ]?://[0-9A-Za-zſ\u212a]{5,}\\.com/", // \u212a: the Kelvin sign
		`(https?:\/\/)104\.197\..{100,}`:    `(?-s:(http[sſ]?://)104\.197\..{100})`,
		`^HTTPS://X\.EXAMPLE/A+$`:           `(?-m:\Ahttp[sſ]://x\.example/a+$)`,
		`/ad(s|v)*`:                         `/ad`,
	} {
		re, err := compileRegex(src)
		if err != nil || re.String() != want {
			t.Errorf("/%s/ compiles to %v (%v), want %s", src, re, err, want)
		}
	}
	for src, want := range map[string]string{`(https?:\/\/)\w{30,}\.me\/`: "http", `/AD(s|v)*`: "/ad"} {
		if re, err := compileRegex(src); err != nil {
			t.Error(err)
		} else if p, _ := re.LiteralPrefix(); p != want {
			t.Errorf("/%s/: literal prefix %q, want %q", src, p, want)
		}
	}
}

// TestHostAnchorWithoutToken checks a ||rule with no token to index it
// by, which every URL tries (EasyPrivacy's ||[::]^): it matches at the
// start of each of the host's labels, and only there.
func TestHostAnchorWithoutToken(t *testing.T) {
	db, _, err := ParseList(strings.NewReader("||[::]^\n"), "l.txt", FormatABP, "analytics")
	if err != nil {
		t.Fatal(err)
	}
	for u, want := range map[string]bool{
		"http://[::]/x":           true,
		"http://x.[::]/":          true,
		"http://x[::]/":           false,
		"http://example.com/[::]": false,
		"http://a.example/":       false,
	} {
		if _, ok := db.Match(requestFor(u, "", 0)); ok != want {
			t.Errorf("%s: matched %v, want %v", u, ok, want)
		}
	}
}

// TestDomainMemo checks the page host a rule remembers its $domain answer
// for: pages of other hosts in turn, one host given as a view of a buffer
// that then changes (the rule must have kept a copy), and readers on
// several hosts at once (run with -race).
func TestDomainMemo(t *testing.T) {
	db, _, err := ParseList(strings.NewReader("/track/beacon.$domain=a.example|~b.a.example\n"), "l.txt", FormatABP, "analytics")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"a.example": true, "x.a.example": true, "b.a.example": false, "c.example": false, "example": false}
	check := func(page string) error {
		q := requestFor("https://t.example/track/beacon.gif", page, 0)
		if _, ok := db.Match(q); ok != want[page] {
			return fmt.Errorf("page %s: matched %v, want %v", page, ok, want[page])
		}
		return nil
	}
	for _, p := range []string{"a.example", "b.a.example", "a.example", "c.example", "x.a.example", "x.a.example", "example", "a.example"} {
		if err := check(p); err != nil {
			t.Error(err)
		}
	}
	buf := []byte("a.example")
	view := unsafe.String(&buf[0], len(buf))
	if err := check("c.example"); err != nil { // so that the view's answer is stored
		t.Error(err)
	}
	if err := check(view); err != nil {
		t.Error(err)
	}
	copy(buf, "c.example")
	if _, ok := db.Match(requestFor("https://t.example/track/beacon.gif", view, 0)); ok {
		t.Error("the answer for a page host was kept under a view of the caller's buffer")
	}
	pages := []string{"a.example", "b.a.example", "c.example", "x.a.example"}
	concurrently(t, len(pages), func(g int) error {
		for range 2000 {
			if err := check(pages[g]); err != nil {
				return err
			}
		}
		return nil
	})
}

// matchFull is Match without factFirst: the host's entries and rules,
// then every generic rule found through the URL's tokens, then the facts
// over the lists' answer (withFactsTo).
func matchFull(db *DB, q *Request) (Entry, bool) {
	var o outcome
	hostStart, hostEnd := hostSpan(q)
	db.walkHost(q.Host, &o, q, hostEnd)
	db.matchGeneric(q, &o, hostStart, hostEnd)
	return withFactsEntry(db, q, &o)
}

// answeredFirst reports whether Match answers q from the embedded
// database before reading its tokens (factFirst), as Match decides it.
func answeredFirst(db *DB, q *Request) bool {
	var o outcome
	_, hostEnd := hostSpan(q)
	db.walkHost(q.Host, &o, q, hostEnd)
	var f answer
	known := db.factsTo(q, &o, &f)
	return factFirst(&o, &f, known)
}

// TestFactFirst checks that Match's answer from the embedded database
// alone, taken before the URL's tokens are read (factFirst), is the one
// the full match gives: with lists whose generic rules block, except and
// mark $important on the database's own URLs, and an operator's list
// that files one of its hosts under another category; then on every
// corpus URL with EasyPrivacy and EasyList.
func TestFactFirst(t *testing.T) {
	db := mustBuiltin(t)
	db.Merge(mustParse(t, "/tr?id=\n@@/collect?v=2$image\n/gtag/js?id=$important,script\n@@js?id=\n/uwt.js\n||vendor.example/p.gif\n", FormatABP, "advertising"))
	db.Merge(mustParse(t, "host | analytics | static.ads-twitter.com | Shop's own reading\n", FormatOwn, ""))
	db.Freeze()
	first := 0
	for _, tt := range []struct {
		url  string
		want string // the category Match must give
	}{
		{"https://www.facebook.com/tr?id=1&ev=PageView", "social"},
		{"https://www.google-analytics.com/g/collect?v=2&tid=G-X", "analytics"},
		{"https://www.googletagmanager.com/gtag/js?id=G-X", "analytics"},
		{"https://www.googletagmanager.com/gtm.js?id=GTM-X", "tag_manager"},
		{"https://static.ads-twitter.com/oct.js", "analytics"}, // the operator's
		{"https://cdn.vendor.example/p.gif", "advertising"},    // no facts
	} {
		u, _ := url.Parse(tt.url)
		for _, typ := range []ReqType{TypeScript, TypeImage, TypeAll} {
			q := &Request{URL: tt.url, Host: u.Host, PageHost: "shop.example", Type: typ}
			got, gok := db.Match(q)
			want, wok := matchFull(db, q)
			if got != want || gok != wok {
				t.Errorf("%s (type %d): Match %+v %v, the full match %+v %v", tt.url, typ, got, gok, want, wok)
			}
			if got.Category != tt.want {
				t.Errorf("%s (type %d): category %q, want %q", tt.url, typ, got.Category, tt.want)
			}
			if answeredFirst(db, q) {
				first++
			}
		}
	}
	if first == 0 {
		t.Fatal("no URL was answered by the facts first: the check checks nothing")
	}

	p := fullPolicy(t)
	full := p.DB()
	first = 0
	urls := corpusURLs(t)
	for _, u := range urls {
		for _, typ := range []ReqType{TypeScript, TypeImage, TypeAll} {
			q := &Request{URL: strings.ToLower(u.Scheme + "://" + u.Host + u.EscapedPath() + "?" + u.RawQuery), Host: u.Host, PageHost: "shop.example", Type: typ}
			got, gok := full.Match(q)
			want, wok := matchFull(full, q)
			if got != want || gok != wok {
				t.Fatalf("%s (type %d): Match %+v %v, the full match %+v %v", q.URL, typ, got, gok, want, wok)
			}
			if answeredFirst(full, q) {
				first++
			}
		}
	}
	t.Logf("%d of %d corpus decisions answered by the facts first", first, 3*len(urls))
	if first == 0 {
		t.Fatal("no corpus URL was answered by the facts first")
	}
}

// TestTokenBits checks the 8-bytes-at-a-time test of token bytes against
// isTokenChar: every byte value at every position of a word, among bytes
// of each kind, then random strings of every length from 8 to 200, read
// from every block start, the last block running past the end.
func TestTokenBits(t *testing.T) {
	fill := []byte{'a', '/', '%', 0x80, 'z' + 1, '0' - 1}
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			for _, f := range fill {
				b := bytes.Repeat([]byte{f}, 8)
				b[pos] = byte(c)
				got := tokenBits8(binary.LittleEndian.Uint64(b))
				var want uint64
				for k, x := range b {
					if isTokenChar(x) {
						want |= 1 << k
					}
				}
				if got != want {
					t.Fatalf("tokenBits8(%q) = %08b, want %08b", b, got, want)
				}
			}
		}
	}
	// tokenBitsBlocks (assembly on amd64) of one block against
	// tokenBitsBlockGo, every byte value at every position.
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 64; pos++ {
			for _, f := range fill {
				b := bytes.Repeat([]byte{f}, 64)
				b[pos] = byte(c)
				var got uint64
				tokenBitsBlocks(&b[0], 1, &got)
				goGot := tokenBitsBlockGo(&b[0])
				var want uint64
				for k, x := range b {
					if isTokenChar(x) {
						want |= 1 << k
					}
				}
				if got != want || goGot != want {
					t.Fatalf("tokenBitsBlocks(%q) = %064b, tokenBitsBlockGo %064b, want %064b", b, got, goGot, want)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(9, 10))
	const alpha = "az09%/.-?&=AZ\x00\x7f\x80\xc3\xa9\xff`{"
	// tokenBitsBlocks (assembly on amd64) against tokenBitsBlockGo on
	// each block, for one block to five.
	for n := 1; n <= 5; n++ {
		b := make([]byte, 64*n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		got, goGot := make([]uint64, n+1), make([]uint64, n+1)
		got[n], goGot[n] = 7, 7 // past the n blocks: left as it is
		tokenBitsBlocks(&b[0], n, &got[0])
		tokenBitsBlocksGo(&b[0], n, &goGot[0])
		for k := 0; k <= n; k++ {
			want := uint64(7)
			if k < n {
				want = tokenBitsBlockGo(&b[64*k])
			}
			if got[k] != want || goGot[k] != want {
				t.Fatalf("block %d of %d: tokenBitsBlocks %064b, tokenBitsBlocksGo %064b, want %064b", k, n, got[k], goGot[k], want)
			}
		}
	}
	for n := 8; n <= 200; n++ {
		for range 20 {
			b := make([]byte, n)
			for i := range b {
				b[i] = alpha[rng.IntN(len(alpha))]
			}
			s := string(b)
			for base := 0; base < n; base += 64 {
				got := tokenBits64(s, base)
				var want uint64
				for k := 0; k < 64 && base+k < n; k++ {
					if isTokenChar(s[base+k]) {
						want |= 1 << k
					}
				}
				if got != want {
					t.Fatalf("tokenBits64(%q, %d) = %064b, want %064b", s, base, got, want)
				}
			}
		}
	}
}

// TestTokenHitOrder checks that the URL's tokens are looked up in the
// URL's order across scanTokens' batches (hitBatch) and around a rule
// found by a token's end (DB.edges): of two rules of the same length
// that match, the first in the URL wins, whichever list it came from.
func TestTokenHitOrder(t *testing.T) {
	const n = 3 * hitBatch
	var miss strings.Builder
	for k := 1; k <= n; k++ {
		// Indexed under the token, but not matching a URL where "/"
		// follows it: every one of them is a hit to look up.
		fmt.Fprintf(&miss, "/t%02dx^zz\n", k)
	}
	db := mustParse(t, miss.String()+"/t20x^\n", FormatABP, "analytics")
	db.Merge(mustParse(t, "/t10x^\nvent/x\n", FormatABP, "advertising"))
	if db.edges.find(edgeHash("vent"), tokenWord("vent"), "vent") < 0 {
		t.Fatal("vent/x is not indexed by its token's end: the test does not test the edges")
	}
	// path is /tNNx for NN from one to another, with extra before t18x.
	path := func(from, to, step int, extra string) string {
		var b strings.Builder
		for k := from; k != to+step; k += step {
			if k == 18 {
				b.WriteString(extra)
			}
			fmt.Fprintf(&b, "/t%02dx", k)
		}
		return b.String() + "/"
	}
	for _, tc := range []struct {
		path, want string
	}{
		// t10x (advertising) in the first batch, t20x (analytics) in
		// the second, going up; going down, t20x in the second, t10x in
		// the third.
		{path(1, n, 1, ""), "advertising"},
		{path(n, 1, -1, ""), "analytics"},
		// The edge rule (advertising, as long as the others) after both
		// going up; going down, after t20x, which waits in the batch when
		// the edge is met, and which the edge rule must not jump ahead of.
		{path(1, n, 1, "/vqvent/x"), "advertising"},
		{path(n, 11, -1, "/vqvent/x"), "analytics"},
	} {
		q := &Request{URL: "https://h.example" + tc.path, Host: "h.example", PageHost: "page.example", Type: TypeAll}
		checkMatch(t, db, q)
		if e, ok := db.Match(q); !ok || e.Category != tc.want {
			t.Errorf("%s: %+v %v, want the first rule in the URL's order (%s)", q.URL, e, ok, tc.want)
		}
	}
}

// TestNextSuffix checks walkHost's steps from one suffix of a host to
// the next against parentHost's, on hosts of odd shapes.
func TestNextSuffix(t *testing.T) {
	for _, host := range []string{"", "a", ".", "..", "a.b", "a..b", ".a.b", "a.b.", "x.y.z.w", "www.shop.example.co.uk", "a.", ".a"} {
		var want []string
		for h := host; ; {
			want = append(want, h)
			var more bool
			if h, more = parentHost(h); !more {
				break
			}
		}
		last := lastDot(host)
		got := []string{host}
		for p := 0; ; {
			var more bool
			if p, more = nextSuffix(host, p, last); !more {
				break
			}
			got = append(got, host[p:])
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: the walk visits %q, parentHost %q", host, got, want)
		}
	}
}

// TestFrozenWalk checks walkHost on a frozen DB, which goes from the
// deepest suffix from entry to entry (hostLink.parent), against the
// walk that looks every suffix up, and that it falls back to the latter
// once the table holds a host the links were not worked out for.
func TestFrozenWalk(t *testing.T) {
	db := mustParse(t, "||a.example^\n||c.b.a.example^$image\n@@||d.c.b.a.example^\n||b.a.example/x^\n||localhost^\n||co.uk/p^\n||shop.co.uk^$important\n", FormatABP, "advertising")
	hosts := []string{"z.d.c.b.a.example", "d.c.b.a.example", "c.b.a.example", "b.a.example", "a.example", "example",
		"q.example", "localhost", "x.localhost", "www.shop.co.uk", "co.uk", "uk", "", ".", "a..example", "other.test"}
	walk := func() []outcome {
		var out []outcome
		for _, h := range hosts {
			var o outcome
			q := &Request{URL: "https://" + h + "/x/y.gif", Host: h, PageHost: "page.test", Type: TypeImage}
			_, hostEnd := hostSpan(q)
			rules := db.walkHost(h, &o, q, hostEnd)
			// The frozen walk says where it began (factsTo); the other
			// does not.
			want := 0
			if a := db.answers.Load(); a != nil {
				want = db.hosts.deepest(h, a.recs) + 1
			}
			if int(o.deep) != want {
				t.Fatalf("%s: the walk gives deep %d, want %d (1 + the deepest entry when frozen, else 0)", h, o.deep, want)
			}
			o.deep = 0
			out = append(out, o)
			if rules != (db.walkHost(h, &outcome{}, nil, 0)) {
				t.Fatalf("%s: walkHost reports rules differently with and without a request", h)
			}
		}
		return out
	}
	if db.answers.Load() != nil {
		t.Fatal("the list is frozen already: the test does not compare the two walks")
	}
	want := walk()
	db.Freeze()
	a := db.answers.Load()
	if a == nil || len(a.recs) != db.hosts.len() {
		t.Fatal("Freeze left no records: the test does not test the frozen walk")
	}
	// The frozen walk reads a host's few rules from its link, and its
	// node and its bytes from its record.
	if j := db.hosts.index("b.a.example"); j < 0 || a.recs[j].l.nrefs != 1 || int(a.recs[j].l.hl) != len("b.a.example") ||
		string(a.recs[j].key[:a.recs[j].l.hl]) != "b.a.example" || a.recs[j].n != db.hosts.nodes[j] {
		t.Fatalf("b.a.example's record: %+v, want its one rule, its length, its bytes and its node", a.recs[max(j, 0)])
	}
	if got := walk(); !slices.Equal(got, want) {
		t.Errorf("the frozen walk gives %+v, the walk over every suffix %+v", got, want)
	}
	// A host added without an entry, as Merge marks the facts' hosts:
	// the links no longer cover the table.
	db.hosts.ref("e.d.c.b.a.example").flags |= nodeFact
	var o outcome
	db.walkHost("f.e.d.c.b.a.example", &o, nil, 0)
	if !o.fact {
		t.Error("a host added after Freeze was not visited: the walk used links that miss it")
	}
}

// TestDecideRequestSpan checks the host's span that DecideRequest hands
// Match with the URL it builds against the span Match finds itself, on
// rules anchored at the host, at a label of it and at the URL's start;
// each request is decided four times, which the cache answers
// differently (matched; matched and held; the held answer moved into
// the LRU; the LRU's), and each gives Match's answer.
func TestDecideRequestSpan(t *testing.T) {
	db := mustParse(t, "||tracker.example/p^\n||cdn.example^$script\n|https://ads.example/x\n||ads.*/banner\n/banner/*$image\n@@||ok.tracker.example/p/keep\n", FormatABP, "advertising")
	p := NewPolicy(db)
	types := []ReqType{TypeScript, TypeImage, TypeAll}
	n := 0
	for _, scheme := range []string{"https", "http"} {
		for _, host := range []string{"tracker.example", "ok.tracker.example", "x.tracker.example", "cdn.example", "ads.example", "ads.shop.test", "notads.example", "other.test"} {
			// The last path makes a key longer than keyStack: built in
			// the pooled buffer, not on the stack.
			for _, path := range []string{"", "/", "/p", "/p/keep", "/P/x", "/x", "/banner/1.gif", "/a/banner/2", "/P/" + strings.Repeat("Long", 150) + "/Banner/3.gif"} {
				for _, query := range []string{"", "x=1", "u=https://ads.example/x"} {
					for _, ty := range types {
						u := scheme + "://" + host + path
						if query != "" {
							u += "?" + query
						}
						var e answer
						ok := db.matchTo(&Request{URL: strings.ToLower(u), Host: host, PageHost: "shop.example", Type: ty}, &e)
						want := p.resolved(host, &e, ok)
						var got Verdict
						for sight := 1; sight <= 4; sight++ {
							if got = p.DecideRequest("shop.example", scheme, host, path, query, ty); got != want {
								t.Fatalf("%s (type %d), decision %d: DecideRequest gives %+v, Match finding the host itself %+v", u, ty, sight, got, want)
							}
						}
						if got.Action != ActionKeep && got.Category == "advertising" {
							n++
						}
					}
				}
			}
		}
	}
	if n < 50 {
		t.Errorf("only %d decisions blocked by the list: the URLs do not test the rules", n)
	}
}

// TestFactAnswers checks factsTo's answers worked out at Freeze
// (hostAnswers.fact) against asking the facts (DB.facts.matchTo), for
// every host of the facts, a subdomain of each and two hosts below
// that, on the embedded database with a list that excepts and blocks
// some of its hosts and an own-format file that adds a host and a URL
// rule to the facts.
func TestFactAnswers(t *testing.T) {
	db, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	db.Merge(mustParse(t, "@@||adobedtm.com^\n||googletagmanager.com^\n||x.doubleclick.net^$important\n||hotjar.com/c/\n||cdn.jsdelivr.net/npm/\n/track/x.js\n@@/npm/x$image\n||google.com/recaptcha/$script\n", FormatABP, "advertising"))
	db.Merge(mustParse(t, "host | social | pix.example | Pix\nhost | analytics | cdn.example/track | Tracker\n", FormatOwn, ""))
	// A path entry through the Go API, which the facts do not hold and
	// no list gives: the URLs under it are not the facts' to decide.
	for _, h := range []string{"googletagmanager.com", "hotjar.com", "cdn.jsdelivr.net", "adobedtm.com"} {
		db.AddPath(h, "/special/", Entry{Vendor: "Special", Category: "payments"})
	}
	db.Freeze()
	a := db.answers.Load()
	if a == nil || a.factsDB != db.facts {
		t.Fatal("Freeze worked out no answers of the facts")
	}
	var hosts []string
	for _, h := range db.facts.hosts.keys {
		hosts = append(hosts, h, "www."+h, "a.b."+h)
	}
	kept, walked, decided := 0, 0, 0
	for _, h := range hosts {
		for i, path := range []string{"/", "/track/x.js", "/c/hotjar-1.js", "/npm/x", "/recaptcha/api.js", "/special/x.js"} {
			q := Request{URL: "https://" + h + path, Host: h, PageHost: "shop.example", Type: []ReqType{TypeScript, TypeImage}[i%2]}
			// Match, which takes the facts' answer without a walk where
			// they decide every URL on the host, against the walk.
			m, mOK := db.Match(&q)
			if w, wOK := matchWalking(db, &q); m != w || mOK != wOK {
				t.Fatalf("%s: Match gives %+v %v, the walk %+v %v", q.URL, m, mOK, w, wOK)
			}
			if j := db.hosts.deepest(h, a.recs); j >= 0 && a.recs[j].l.fact&factDecides != 0 {
				decided++
			}
			var o outcome
			_, hostEnd := hostSpan(&q)
			db.walkHost(h, &o, &q, hostEnd)
			if !o.fact {
				continue
			}
			var got, want answer
			gotOK := db.factsTo(&q, &o, &got)
			wantOK := db.facts.matchTo(&q, &want) && !want.exception()
			if gotOK != wantOK || gotOK && got != want {
				t.Fatalf("%s: factsTo gives %+v %v, the facts %+v %v", q.URL, got, gotOK, want, wantOK)
			}
			switch a.recs[o.deep-1].l.fact {
			case 0:
				walked++
			default:
				kept++
			}
		}
	}
	// Both ways are taken: most hosts' answers were worked out, and
	// those under a URL rule of the facts are asked.
	if kept < 1000 || walked == 0 || decided < 1000 || decided == kept {
		t.Fatalf("answers worked out %d times (deciding the match %d), asked %d times", kept, decided, walked)
	}
	// Facts that except a host give no answer for it, as asking them
	// gives none.
	f := mustParse(t, "@@||ok.example^\n||blocked.example^\n", FormatABP, "advertising")
	ex := NewDB()
	ex.Merge(f)
	ex.facts = f
	for _, h := range f.hosts.keys {
		ex.hosts.ref(h).flags |= nodeFact
	}
	ex.Freeze()
	for _, h := range []string{"ok.example", "www.ok.example", "blocked.example"} {
		q := Request{URL: "https://" + h + "/", Host: h, PageHost: "shop.example", Type: TypeScript}
		var o outcome
		_, hostEnd := hostSpan(&q)
		ex.walkHost(h, &o, &q, hostEnd)
		var e answer
		if got, want := ex.factsTo(&q, &o, &e), h == "blocked.example"; got != want || ex.answers.Load().recs[o.deep-1].l.fact == 0 {
			t.Errorf("%s: factsTo gives %v (%+v), want %v, from the answers worked out", h, got, e, want)
		}
	}
	// Facts whose hosts the table does not all hold give no answers.
	other := NewDB()
	other.facts = db.facts
	other.AddHost("unrelated.example", Entry{Category: "analytics"})
	other.Freeze()
	if a := other.answers.Load(); a.factsDB != nil || a.recs[0].l.fact != 0 {
		t.Fatal("answers worked out for facts the table does not hold")
	}
}

// matchWalking is DB.Match with the walk over the host's entries and
// rules always made: without the facts' answers that decide every URL on
// a host (factDecides).
func matchWalking(db *DB, q *Request) (Entry, bool) {
	var o outcome
	hostStart, hostEnd := hostSpan(q)
	db.walkHost(q.Host, &o, q, hostEnd)
	var f, out answer
	known := db.factsTo(q, &o, &f)
	if factFirst(&o, &f, known) {
		return f.entry(), true
	}
	db.matchGeneric(q, &o, hostStart, hostEnd)
	ok := withFactsTo(&o, &f, known, &out)
	return out.entry(), ok
}

// TestFactsDecideCorpus checks Match against the walk (matchWalking), and
// the frozen walk against one over every suffix, on the URLs the saved
// pages load, with EasyPrivacy and EasyList.
func TestFactsDecideCorpus(t *testing.T) {
	p := fullPolicy(t)
	db := p.DB()
	a := db.answers.Load()
	decided := 0
	types := []ReqType{TypeScript, TypeImage, TypeSubdocument, TypeStylesheet}
	for i, u := range corpusURLs(t) {
		q := Request{URL: strings.ToLower(u.String()), Host: u.Host, PageHost: "shop.example", Type: types[i%len(types)]}
		got, gotOK := db.Match(&q)
		if want, wantOK := matchWalking(db, &q); got != want || gotOK != wantOK {
			t.Fatalf("%s: Match gives %+v %v, the walk %+v %v", q.URL, got, gotOK, want, wantOK)
		}
		if j := db.hosts.deepest(u.Host, a.recs); j >= 0 && a.recs[j].l.fact&factDecides != 0 {
			decided++
		}
		// The frozen walk, which reads a host's length and few rules from
		// its link, against a walk over every suffix through the table.
		var frozen, each outcome
		_, hostEnd := hostSpan(&q)
		db.walkHost(q.Host, &frozen, &q, hostEnd)
		ix := db.hostIndex.Load()
		for h := q.Host; ; {
			if n, ok := db.hosts.get(h); ok {
				db.visitHost(n, len(h), &each, &q, hostEnd, ix)
			}
			var more bool
			if h, more = parentHost(h); !more {
				break
			}
		}
		if frozen.deep = 0; frozen != each {
			t.Fatalf("%s: the frozen walk gives %+v, the walk over every suffix %+v", q.URL, frozen, each)
		}
	}
	if decided == 0 {
		t.Fatal("no corpus URL is decided by the facts alone: the test compares nothing new")
	}
	t.Logf("%d corpus URLs decided by the facts alone", decided)
}

// TestTokenRefs checks the token index laid out for Match (tokenRefs)
// against the tokenTable it is made from: every token finds its own
// refs, tokens that share their last 8 bytes (one of 8, one longer) are
// told apart, absent ones find none; and Match with it and without it
// gives the same answers, and on the corpus URLs with EasyPrivacy and
// EasyList when they are there.
func TestTokenRefs(t *testing.T) {
	list := "/abcdefgh.gif\n/xabcdefgh.gif\n/yabcdefgh.gif$image\n/bcdefgh.gif\n-ab-\n||ads.example/track^\n/longtokenname.js\n/zz-$script\n/zz-$image\n@@/zz-ok\n"
	db := mustParse(t, list, FormatABP, "advertising")
	db.Freeze()
	tr := db.tokenRefs.Load()
	if tr == nil {
		t.Fatal("Freeze laid no token index out")
	}
	if len(db.tokens.list) < 6 {
		t.Fatalf("the list's rules are indexed under %d tokens: the test's tokens are not theirs", len(db.tokens.list))
	}
	for _, x := range db.tokens.list {
		off, n := tr.find(tokenHash(x.tok), tokenWord(x.tok), x.tok)
		if got := tr.refs[off : off+n]; !slices.Equal(got, x.rules) {
			t.Errorf("%q finds %d refs at %d, want its %d", x.tok, n, off, len(x.rules))
		}
	}
	for _, tok := range []string{"cdefgh", "zabcdefgh", "abcdefghi", "a", "abcdefg"} {
		if _, n := tr.find(tokenHash(tok), tokenWord(tok), tok); n != 0 {
			t.Errorf("%q, which no rule is indexed under, finds %d refs", tok, n)
		}
	}
	// A token of 9 bytes, alone in a table of two slots, and a token of 8
	// with the same last 8 bytes, whose words are the same and lengths
	// not: put where the probe for the one of 8 begins, the one of 9 is
	// not found for it, and put where its own probe begins, it is found.
	alone := func(at string) *tokenRefs {
		r := &tokenRefs{slots: make([]refSlot, 2), refs: make([]ruleRef, 1), long: []string{"xabcdefgh"}}
		r.slots[tokenHash(at)&1] = refSlot{w: tokenWord("xabcdefgh"), n: 1, l: 9}
		return r
	}
	if _, n := alone("abcdefgh").find(tokenHash("abcdefgh"), tokenWord("abcdefgh"), "abcdefgh"); n != 0 {
		t.Error(`"abcdefgh" finds the refs of "xabcdefgh"`)
	}
	if _, n := alone("xabcdefgh").find(tokenHash("xabcdefgh"), tokenWord("xabcdefgh"), "xabcdefgh"); n != 1 {
		t.Error(`"xabcdefgh" does not find its refs`)
	}
	var reqs []*Request
	for i, u := range []string{"https://a.example/abcdefgh.gif", "https://a.example/xabcdefgh.gif", "https://a.example/yabcdefgh.gif", "https://a.example/zabcdefgh.gif",
		"https://a.example/bcdefgh.gif", "https://a.example/x-ab-y", "https://a.example/longtokenname.js", "https://a.example/zz-", "https://a.example/zz-ok"} {
		reqs = append(reqs, requestFor(u, "shop.example", []ReqType{TypeScript, TypeImage}[i%2]))
	}
	sameThroughTokenRefs(t, db, reqs)
	t.Run("corpus", func(t *testing.T) {
		full := fullPolicy(t).DB()
		types := []ReqType{TypeScript, TypeImage, TypeSubdocument, TypeStylesheet}
		var reqs []*Request
		for i, u := range corpusURLs(t) {
			reqs = append(reqs, &Request{URL: strings.ToLower(u.String()), Host: u.Host, PageHost: "shop.example", Type: types[i%len(types)]})
		}
		sameThroughTokenRefs(t, full, reqs)
	})
}

// sameThroughTokenRefs checks that d, frozen, matches each request as it
// does through its tokenTable, and that enough of them match for the
// comparison to say something.
func sameThroughTokenRefs(t *testing.T, d *DB, reqs []*Request) {
	t.Helper()
	tr := d.tokenRefs.Load()
	if tr == nil {
		t.Fatal("the DB has no token index laid out for Match")
	}
	defer d.tokenRefs.Store(tr)
	found := 0
	for _, q := range reqs {
		d.tokenRefs.Store(tr)
		got, gotOK := d.Match(q)
		d.tokenRefs.Store(nil)
		want, wantOK := d.Match(q)
		if got != want || gotOK != wantOK {
			t.Fatalf("%s: Match gives %+v %v through tokenRefs, %+v %v through the tokenTable", q.URL, got, gotOK, want, wantOK)
		}
		if gotOK {
			found++
		}
	}
	if found < 5 {
		t.Fatalf("%d of %d URLs matched: the comparison says little", found, len(reqs))
	}
}

// TestScreenTwoBytes checks the screen's keys by the two bytes beside a
// token: a rule matches wherever its bytes are beside its token, on
// either side, at either end of the URL, through the token index as laid
// out for Match and as built; the screen passes a token whose two bytes
// on the checked side are the rule's and no other, where only the second
// byte differs too; and a ref with one byte to check is keyed by the
// token's hash alone, so that the screen passes its token whatever
// lies beside it.
func TestScreenTwoBytes(t *testing.T) {
	list := strings.Join([]string{
		"/collect.gif", // token "collect", its bytes ".gif" after it
		"/xq-beacon^",  // token "beacon", its bytes "/xq-" before it
		"/tokq.",       // token "tokq", one byte after it
	}, "\n")
	db := mustParse(t, list, FormatABP, "analytics")
	refOf := func(tok string) (ruleRef, uint32) {
		t.Helper()
		k := db.tokens.find(tokenHash(tok), tokenWord(tok), tok)
		if k < 0 || len(db.tokens.list[k].rules) != 1 {
			t.Fatalf("the list's rule is not indexed under %q alone", tok)
		}
		return db.tokens.list[k].rules[0], tokenHash(tok)
	}
	bit := func(k uint32) bool { return db.screen[k&screenMask>>6]&(1<<(k&63)) != 0 }
	// The keys of the bytes beside each token, as a URL holds them.
	ref, h := refOf("collect")
	if ref.n < 2 || int(ref.off) != len("collect") {
		t.Fatalf("collect's ref checks %d bytes at %d, want the bytes after it", ref.n, ref.off)
	}
	if !bit(screenKey(h, screenPair('.', 'g'), afterSide)) {
		t.Error(`the screen does not pass "collect" before ".g"`)
	}
	if bit(screenKey(h, screenPair('.', 'x'), afterSide)) || bit(screenKey(h, screenPair('.', 0), afterSide)) || bit(h) {
		t.Error(`the screen passes "collect" before ".x", at the URL's end but one, or whatever lies beside it`)
	}
	ref, h = refOf("beacon")
	if ref.n < 2 || int(ref.off)+int(ref.n) != 0 {
		t.Fatalf("beacon's ref checks %d bytes at %d, want the bytes before it", ref.n, ref.off)
	}
	if !bit(screenKey(h, screenPair('-', 'q'), beforeSide)) {
		t.Error(`the screen does not pass "beacon" after "q-"`)
	}
	if bit(screenKey(h, screenPair('-', 'z'), beforeSide)) || bit(screenKey(h, screenPair('-', 0), beforeSide)) || bit(h) {
		t.Error(`the screen passes "beacon" after "z-", one byte from the URL's start, or whatever lies beside it`)
	}
	ref, h = refOf("tokq")
	if ref.n != 1 || !bit(h) {
		t.Errorf("tokq's ref checks %d bytes, and the screen keys it by its hash: %v; want 1 byte, keyed by the hash", ref.n, bit(h))
	}
	// Matches, through the index as built and as laid out.
	cases := []struct {
		url  string
		want bool
	}{
		{"https://a.example/collect.gif", true},
		{"https://a.example/collect.gifz", true},
		{"https://a.example/collect.gxf", false},
		{"https://a.example/collect.g", false},
		{"https://a.example/collect.", false},
		{"https://a.example/collect", false},
		{"https://a.example/xcollect.gif", false},
		{"https://a.example/xq-beacon", true},
		{"https://a.example/xq-beacon/x", true},
		{"https://a.example/xz-beacon", false},
		{"https://a.example/q-beacon", false},
		{"https://a.example/-beacon", false},
		{"https://a.example/tokq.", true},
		{"https://a.example/tokq.x", true},
		{"https://a.example/tokq", false},
		{"https://a.example/tokq-", false},
		{"/xq-beacon", true}, // the rule's bytes from the URL's first byte
		{"q-beacon", false},
		{"/tokq.", true}, // under 8 bytes: read from a padded copy
		{"/tokq", false},
	}
	for _, frozen := range []bool{false, true} {
		if frozen {
			db.Freeze()
			if db.tokenRefs.Load() == nil {
				t.Fatal("Freeze laid no token index out")
			}
		}
		for _, c := range cases {
			q := &Request{URL: c.url, Host: "a.example", PageHost: "shop.example", Type: TypeImage}
			if _, ok := db.Match(q); ok != c.want {
				t.Errorf("%s (frozen %v): match %v, want %v", c.url, frozen, ok, c.want)
			}
			checkMatch(t, db, q)
		}
	}
}

// TestScreenHits checks screenHits against the bytes beside each token
// read one at a time (byteAt, 0 past either end), for tokens at every
// place in short strings: at the start, at the end, and one byte from
// each, where screenHits reads the two bytes of a side as one word or
// not at all.
func TestScreenHits(t *testing.T) {
	db := mustParse(t, "/collect.gif\n/xq-beacon^\n/tokq.\n", FormatABP, "analytics")
	keep := func(s string, x tokenHit) bool {
		h := x.h
		a := screenKey(h, screenPair(byteAt(s, x.j), byteAt(s, x.j+1)), afterSide)
		b := screenKey(h, screenPair(byteAt(s, x.i-1), byteAt(s, x.i-2)), beforeSide)
		bit := func(k uint32) bool { return db.screen[k&screenMask>>6]&(1<<(k&63)) != 0 }
		return bit(h) || bit(a) || bit(b)
	}
	kept := 0
	for _, s := range []string{"collect.gif", "xcollect.g", "ab/collect.gif", "ab/collect.gxf", "ab/collect.g", "q-beacon.gif", "xq-beacon", "/xz-beacon", "-beacon", "tokq.", "a.tokq.", "collect", "beacon"} {
		for _, tok := range []string{"collect", "beacon", "tokq"} {
			for i := 0; i+len(tok) <= len(s); i++ {
				if s[i:i+len(tok)] != tok {
					continue
				}
				x := tokenHit{w: tokenWord(tok), h: tokenHash(tok), i: i, j: i + len(tok)}
				// The hit between two that the screen drops, so that a
				// kept one moves.
				none := tokenHit{w: tokenWord("zqx"), h: tokenHash("zqx")}
				hits := []tokenHit{none, x, none}
				n := screenHits(db.screen, s, hits)
				want := keep(s, x)
				if got := n == 1 && hits[0] == x; got != want || (!want && n != 0) {
					t.Errorf("%q at %d in %q: kept %d (%v), want %v", tok, i, s, n, hits[:n], want)
				}
				if want {
					kept++
				}
			}
		}
	}
	if kept < 4 {
		t.Errorf("the screen kept %d of the tokens tried; the test needs some kept", kept)
	}
}

// TestSiteRules checks where a rule searched for in the whole URL whose
// $domain names the sites it applies on is kept: with the rules that no
// token finds, tried on those sites' pages alone (fallbackOn), and not
// under its token, which most URLs hold; that a rule found from its
// token's place, or one whose $domain only names sites it does not apply
// on, stays under its token; and that each matches on the pages it
// applies on and on no other, as every rule tried says.
func TestSiteRules(t *testing.T) {
	rules := []struct {
		line     string
		fallback bool // kept with the rules no token finds, not under a token
	}{
		{`/^https?:\/\/www\.[a-z]{4,}\.com\//$script,domain=site.example|other.example`, true}, // searched for in the whole URL, two sites
		{`www.*/px/$domain=site.example`, true},                                                // the token "www" with a * after it: searched for in the whole URL
		{`/beacon.gif$domain=site.example`, false},                                             // found from its token's place
		{`/^https?:\/\/ads\./$domain=~not.example`, false},                                     // applies on every site but one
	}
	var lines []string
	for _, r := range rules {
		lines = append(lines, r.line)
		// Each rule alone: where it is kept.
		one := mustParse(t, r.line, FormatABP, "advertising")
		fallback, token := len(one.fallback) == 1, len(one.tokens.list) == 1
		if fallback != r.fallback || token == r.fallback {
			t.Errorf("%s: with the rules no token finds %v, under a token %v; want %v, %v", r.line, fallback, token, r.fallback, !r.fallback)
		}
	}
	db := mustParse(t, strings.Join(lines, "\n"), FormatABP, "advertising")
	for _, frozen := range []bool{false, true} {
		if frozen {
			db.Freeze()
		}
		for _, c := range []struct {
			url, page string
			want      bool
		}{
			{"https://www.vendor.com/a.js", "site.example", true},
			{"https://www.vendor.com/a.js", "other.example", true},
			{"https://www.vendor.com/a.js", "x.site.example", true},
			{"https://www.vendor.com/a.js", "shop.example", false},
			{"https://www.cdn.net/px/1", "site.example", true},
			{"https://www.cdn.net/px/1", "shop.example", false},
			{"https://t.example/beacon.gif", "site.example", true},
			{"https://t.example/beacon.gif", "shop.example", false},
			{"https://ads.example/x", "shop.example", true},
			{"https://ads.example/x", "not.example", false},
		} {
			q := requestFor(c.url, c.page, TypeScript)
			if _, ok := db.Match(q); ok != c.want {
				t.Errorf("%s on %s (frozen %v): match %v, want %v", c.url, c.page, frozen, ok, c.want)
			}
			checkMatch(t, db, q)
		}
	}
}
