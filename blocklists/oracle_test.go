package blocklists

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/firstparty/firstparty/rewrite"
	"golang.org/x/net/publicsuffix"
)

// oracleTypes are the request types the oracle is asked in: each of the
// types the rewriter's elements carry, one at a time, in the names of the
// WebRequest API that Ghostery's engine takes. (A request of several
// types, such as a hint's, meets every rule restricted to any of them
// here, which is this package's privacy-safe reading and no engine's.)
var oracleTypes = []struct {
	name string
	t    ReqType
}{
	{"script", TypeScript}, {"image", TypeImage}, {"sub_frame", TypeSubdocument}, {"stylesheet", TypeStylesheet},
	{"xmlhttprequest", TypeXHR}, {"ping", TypePing}, {"media", TypeMedia}, {"font", TypeFont}, {"object", TypeObject},
	{"other", TypeOther},
}

// canonicalURL finds a saved page's own URL in its canonical link or its
// og:url, so that $domain= rules see the site the page was saved from.
var canonicalURL = regexp.MustCompile(`(?i)<(?:link[^>]*rel=["']?canonical["']?[^>]*href|meta[^>]*property=["']og:url["'][^>]*content)=["']?(https?://[^"'\s>]+)`)

// oracleRequest is one request both engines decide.
type oracleRequest struct {
	URL  string `json:"url"`
	Page string `json:"page"`
	Type string `json:"type"`
	// List is the text of the list that decides it, when not the lists
	// the oracle is started with.
	List string `json:"list,omitempty"`
	ours bool
}

// TestListsOracle decides, with EasyPrivacy and EasyList alone, every
// third-party request the rewriter meets on the saved pages (each page as
// the site it was saved from, each request in each of its element's
// types), and asks Ghostery's adblocker (@ghostery/adblocker, from npm)
// the same with the same lists: the two must agree on every block. A
// policy on the same lists decides each request three times, through the
// decision cache's stages, and must answer as Match does. This
// package's own checks match against its own reading of the rules
// (TestMatchCorpus); this one checks the reading. It found rules that end
// in a dot ("||adservice.google.", any TLD) read as hosts that match
// nothing.
//
// Where the engines differ on purpose, no request here tells: a rule's
// "|" right after its host ("||x.com|", "||x.com^|"), which Adblock Plus
// reads as the URL's end and Ghostery as the host's; and a first-party
// request, which this package never decides.
func TestListsOracle(t *testing.T) {
	if testing.Short() {
		t.Skip("the oracle's run over the saved pages: not in -short")
	}
	db := NewDB()
	mergeSharedLists(t, db)
	db.Freeze()
	dir := oracleInstall(t)
	// The same lists behind a policy, as the Caddy module decides: its
	// answers, through the decision cache's three stages (matched, held,
	// from the LRU), must be Match's.
	pol := NewPolicy(db)

	var reqs []oracleRequest
	seen := map[string]bool{}
	wrong := 0 // the policy's decisions that are not Match's
	for _, pg := range readPages(t) {
		site := "shop.example"
		if m := canonicalURL.FindSubmatch(pg.b); m != nil {
			if u, err := url.Parse(string(m[1])); err == nil && u.Hostname() != "" {
				site = strings.ToLower(u.Hostname())
			}
		}
		siteReg, err := publicsuffix.EffectiveTLDPlusOne(site)
		if err != nil {
			t.Fatalf("%s: %s: %v", pg.file, site, err)
		}
		record := rewrite.PolicyFunc(func(_ *url.URL, r *rewrite.Resource) rewrite.Decision {
			u := r.URL
			if u == nil || u.Host == "" {
				return rewrite.Decision{}
			}
			host := strings.ToLower(u.Hostname())
			if reg, _ := publicsuffix.EffectiveTLDPlusOne(host); reg == siteReg {
				return rewrite.Decision{} // first party: never matched here
			}
			ty, ok := kindReqTypes[r.Kind]
			if !ok {
				t.Fatalf("%s: kind %v has no request type here", u, r.Kind)
			}
			// The URL as the Caddy module hands it to the policy: the
			// rewriter's Path is the path as written, escapes and all.
			// (joinURL copies: u is the rewriter's memory.)
			raw := joinURL(u.Scheme, host, u.Path, u.RawQuery)
			for _, o := range oracleTypes {
				if ty&o.t == 0 || seen[site+" "+o.name+" "+raw] {
					continue
				}
				seen[site+" "+o.name+" "+raw] = true
				q := Request{URL: strings.ToLower(raw), Host: host, PageHost: site, Type: o.t}
				e, ok := db.Match(&q)
				reqs = append(reqs, oracleRequest{URL: raw, Page: "https://" + site + "/", Type: o.name, ours: ok && !e.Exception})
				// No rule: an unknown third party, held; an exception:
				// kept, as the list says; a block: the list's category.
				want := Verdict{Action: ActionDefer, Category: "unknown", Host: host}
				switch {
				case ok && e.Exception:
					want.Action = ActionKeep
				case ok:
					want.Category = e.Category
				}
				for i := range 3 {
					if v := pol.DecideRequest(site, u.Scheme, host, u.Path, u.RawQuery, o.t); v != want {
						if wrong++; wrong <= 20 {
							t.Errorf("%s as %s on %s, decision %d: %+v, where Match says %+v", raw, o.name, site, i+1, v, want)
						}
					}
				}
			}
			return rewrite.Decision{}
		})
		page := &url.URL{Scheme: "https", Host: site, Path: "/"}
		if _, err := rewrite.Rewrite(io.Discard, bytes.NewReader(pg.b), rewrite.Options{Policy: record, PageURL: page, Token: "oracle"}); err != nil {
			t.Fatalf("%s: %v", pg.file, err)
		}
	}

	if wrong > 20 {
		t.Errorf("%d of the policy's decisions in all are not Match's", wrong)
	}
	var files []string
	for _, l := range sharedLists {
		files = append(files, filepath.Join(sharedDir, l.file))
	}
	both := askOracle(t, dir, reqs, files)
	// Nothing agreed on vacuously: the pages load hundreds of trackers.
	if both < 1000 {
		t.Errorf("%d of %d requests blocked by both: too few for the check to say anything", both, len(reqs))
	}
	t.Logf("%d requests (third-party URLs of the saved pages, one line each per request type), %d blocked by both", len(reqs), both)
}

// TestListsOracleGenerated has the oracle decide, as TestListsOracle does,
// requests made up for lists made up: rules of every kind the two engines
// read alike (host anchors with a separator or a path after the host,
// scheme anchors, plain patterns with wildcards, separators and end
// anchors, exceptions), with type, party, $domain and $important options,
// on pages and hosts those options name. It needs no shared files.
func TestListsOracleGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("the oracle's run: not in -short")
	}
	dir := oracleInstall(t)
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	hosts := []string{"ads.example.com", "example.com", "tracker.net", "cdn.example.org", "img.tracker.net", "tracker.network", "1.2.3.4", "t.co", "a.b.c.example.co.uk"}
	paths := []string{"/ad", "/ads/banner.js", "/pixel.gif?id=1", "/t/x/p", "/AD/x", "/adx", "/?id=2&x=3", "/", "/ads", "/a/ad.js?x=/ad",
		"/t/p", "/pixel.gif", "/collect?v=2&tid=G-1", "/g/collect", "/p.gif?u=https%3A%2F%2Fsite.com%2F", "/x/ad_300x250.js", "/en_US/fbevents.js"}
	opts := []string{"", "", "", "$script", "$image", "$third-party", "$domain=site.com", "$domain=~site.com", "$important", "$script,image",
		"$~script", "$xmlhttprequest", "$subdocument", "$ping", "$stylesheet", "$domain=site.com|~sub.site.com", "$image,domain=other.org",
		"$3p", "$media", "$font", "$~image,~script", "$script,important", "$domain=other.org|site.com", "$image,third-party,domain=~www.site.com"}
	// The types but object and other, picked by name.
	types := map[string]ReqType{}
	for _, o := range oracleTypes[:8] {
		types[o.name] = o.t
	}
	typeNames := slices.Sorted(maps.Keys(types))
	var reqs []oracleRequest
	for range 1500 {
		var rules []string
		for range 1 + rng.IntN(8) {
			pre := pick("", "||", "@@||", "@@", "|https://", "@@|http://")
			var body string
			switch {
			case strings.HasSuffix(pre, "||"):
				body = pick(hosts...) + pick("^", "/", "/ad", "/ads/", "^*/collect", "/t/*/p", "/pixel.gif", "^*.js", "/g/", "/x/ad_")
			case strings.Contains(pre, "|http"):
				body = pick(hosts...) + pick("/", "/ad", "/pixel.gif", "/t/")
			default:
				body = pick("/ad", "/ads/", "pixel.gif", "?id=", "&x=", ".js", "/t/*/p", "ad.js^", "^ad", "/ads^", "/collect?",
					"/g/collect", "_300x250.", "fbevents.js", "%2f", "/x/*.js")
			}
			// (An end anchor after a %-escape: Ghostery's index does not
			// find "%2f|" in "…%2F%2Fsite.com%2F", which is a match, as
			// it does not find any pattern with an end anchor that the URL
			// holds as the end of a longer word: "ads|" in "/x.gifads".)
			if !strings.HasSuffix(body, "^") && !strings.HasSuffix(body, "/") && !strings.Contains(body, "%") && rng.IntN(4) == 0 {
				body += "|"
			}
			rules = append(rules, pre+body+pick(opts...))
		}
		list := strings.Join(rules, "\n") + "\n"
		db, st, err := ParseList(strings.NewReader(list), "generated.txt", FormatABP, "advertising")
		if err != nil || len(st.Errors) > 0 {
			t.Fatalf("%q: %v %v", list, err, st.Errors)
		}
		db.Freeze()
		for range 40 {
			host := pick(hosts...)
			if rng.IntN(3) == 0 {
				host = "sub." + host
			}
			raw := pick("https://", "http://") + host + pick(paths...)
			page := pick("site.com", "sub.site.com", "other.org", "www.site.com", "x.other.org")
			ty := pick(typeNames...)
			q := Request{URL: strings.ToLower(raw), Host: host, PageHost: page, Type: types[ty]}
			e, ok := db.Match(&q)
			reqs = append(reqs, oracleRequest{URL: raw, Page: "https://" + page + "/", Type: ty, List: list, ours: ok && !e.Exception})
		}
	}
	both := askOracle(t, dir, reqs, nil)
	if both < 2000 {
		t.Errorf("%d of %d requests blocked by both: too few for the check to say anything", both, len(reqs))
	}
	t.Logf("%d requests on 1,500 generated lists, %d blocked by both", len(reqs), both)
}

// askOracle has the oracle in dir decide reqs, with the lists in files
// for those that carry none, reports each request the two engines do not
// agree on, and returns how many both block.
func askOracle(t *testing.T, dir string, reqs []oracleRequest, files []string) int {
	t.Helper()
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, r := range reqs {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	reqFile := filepath.Join(t.TempDir(), "requests.jsonl")
	if err := os.WriteFile(reqFile, in.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{filepath.Join(dir, "oracle.mjs"), reqFile}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, abs)
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node oracle.mjs: %v\n%s", err, stderr.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	both, differ, n := 0, 0, 0
	for ; sc.Scan(); n++ {
		if n >= len(reqs) {
			t.Fatalf("the oracle answered more than the %d requests asked", len(reqs))
		}
		var g struct {
			Block  bool   `json:"block"`
			Filter string `json:"filter"`
		}
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatalf("oracle line %d: %v: %q", n+1, err, sc.Text())
		}
		r := reqs[n]
		if g.Block && r.ours {
			both++
		}
		if g.Block != r.ours {
			if differ++; differ <= 20 {
				list := ""
				if r.List != "" {
					list = fmt.Sprintf(", list %q", r.List)
				}
				t.Errorf("%s as %s on %s: blocked here %v, by the oracle %v (its rule %q%s)", r.URL, r.Type, r.Page, r.ours, g.Block, g.Filter, list)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(reqs) {
		t.Fatalf("the oracle answered %d of the %d requests asked", n, len(reqs))
	}
	if differ > 20 {
		t.Errorf("%d disagreements in all", differ)
	}
	return both
}

// oracleInstall installs the oracle (testdata/oracle: its package.json
// and lock, @ghostery/adblocker from the npm registry) into the user's
// cache, once for each version of the lock, and returns its folder.
// Without Node.js and npm, or without the registry, the test skips,
// except in CI (make test installs Debian's npm when it is missing).
func oracleInstall(t *testing.T) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") != "" {
			t.Fatal(msg + ": make test installs Debian's npm (apt-get install npm) in CI")
		}
		t.Skip(msg + ": make test installs Debian's npm (apt-get install npm) when it can")
	}
	for _, c := range []string{"node", "npm"} {
		if _, err := exec.LookPath(c); err != nil {
			missing("the list oracle needs %s", c)
		}
	}
	h := sha256.New()
	files := []string{"package.json", "package-lock.json", "oracle.mjs"}
	texts := make([][]byte, len(files))
	for i, f := range files {
		b, err := os.ReadFile(filepath.Join("testdata", "oracle", f))
		if err != nil {
			t.Fatal(err)
		}
		texts[i] = b
		h.Write(b)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "firstparty", "list-oracle-"+hex.EncodeToString(h.Sum(nil))[:16])
	// Written once npm ci has installed everything: a run stopped
	// half-way leaves none, and the next one installs again.
	done := filepath.Join(dir, "installed")
	if _, err := os.Stat(done); err == nil {
		return dir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), texts[i], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Twice at most: a registry that drops one connection should not
	// fail CI.
	var out []byte
	for range 2 {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err = cmd.CombinedOutput(); err == nil {
			break
		}
		os.RemoveAll(filepath.Join(dir, "node_modules"))
	}
	if err != nil {
		missing("npm ci of the list oracle in %s: %v\n%s", dir, err, out)
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
