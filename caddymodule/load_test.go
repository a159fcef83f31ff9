package caddymodule

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/tdewolff/parse/v2"
	thtml "github.com/tdewolff/parse/v2/html"
)

// loadPage is the demo shop page grown to size with product tiles.
func loadPage(t testing.TB, size int) string {
	b, err := os.ReadFile("../testdata/demo/index.html")
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	i := strings.LastIndex(page, "</body>")
	var tiles strings.Builder
	for n := 0; tiles.Len()+len(page) < size; n++ {
		fmt.Fprintf(&tiles, `<div class="tile"><a href="/products/%d"><img src="/img/%d.jpg" alt="Product %d" loading="lazy"></a><h3>Product %d</h3><p class="price">€%d.00</p><button data-sku="%d">Add to cart</button></div>`+"\n", n, n, n, n, 10+n%90, n)
	}
	return page[:i] + tiles.String() + page[i:]
}

// loadSites is the load tests' Caddy: quiet, with plain reverse_proxy on
// :9081 to the upstream given by %s; the firstparty site on :9082 follows.
const loadSites = `{
	admin localhost:2999
	http_port 9080
	https_port 9443
	skip_install_trust
	log {
		output discard
	}
}
http://localhost:9081 {
	reverse_proxy %s
}
`

// TestLoadReport is make bench's load test: plain Caddy reverse_proxy and
// Caddy + firstparty in front of the same origin, in the same process and
// run, on loopback. It prints requests/s for a 500 KB HTML page and a
// 500 KB script, and the serial latency the rewrite adds.
func TestLoadReport(t *testing.T) {
	if os.Getenv("FP_BENCH") == "" {
		t.Skip("set FP_BENCH=1 (make bench) to measure")
	}
	page := loadPage(t, 500<<10)
	js := strings.Repeat("function f(){return 'https://www.googletagmanager.com/gtag/js'}\n", (500<<10)/64)
	tiles := strings.Split(page, "<h3>")
	head := strings.Index(page, "<head>") + len("<head>")
	foot := strings.LastIndex(page, "</body>")
	var served atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/page":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, page)
		case "/fresh":
			// The same page with a line of its own at the top of the head,
			// as a per-request token would be: the page memo serves it up
			// to there, a rewriter takes over, and the memo picks the page
			// up again at a checkpoint after the line.
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, page[:head])
			fmt.Fprintf(w, "<!-- request %d -->", served.Add(1))
			io.WriteString(w, page[head:])
		case "/foot":
			// The same page with a line of its own at the end, as a render
			// time would be: the memo serves it to the last checkpoint, and
			// a rewriter starts there.
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, page[:foot])
			fmt.Fprintf(w, "<!-- rendered for request %d -->", served.Add(1))
			io.WriteString(w, page[foot:])
		case "/tokens":
			// A line of its own every 2 KB, as a form's token in every
			// few product tiles would be: the memo picks the page up again
			// a few hundred bytes after each.
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			writeTokens(w, page, served.Add(1))
		case "/nonce":
			// A strict CSP's nonce of its own in the header and on every
			// script: the memo swaps it into the loader, as it does the
			// token, and picks the page up again after each script tag.
			n := fmt.Sprintf("n%021x", served.Add(1))
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", "script-src 'nonce-"+n+"' 'strict-dynamic'; object-src 'none'; base-uri 'none'")
			w.Write(nonced(page, n))
		case "/new":
			// Every product tile differs from the page kept, every 200
			// bytes or so: it is rewritten in full.
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			writeUnique(w, tiles, served.Add(1))
		default:
			w.Header().Set("Content-Type", "text/javascript")
			io.WriteString(w, js)
		}
	}))
	defer up.Close()
	upHost := strings.TrimPrefix(up.URL, "http://")
	tc := caddytest.NewTester(t)
	tc.InitServer(fmt.Sprintf(loadSites+`http://localhost:9082 {
	firstparty
	reverse_proxy %s
}
`, upHost, upHost), "caddyfile")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	get := func(url string) error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		return err
	}
	// Check that the two servers do what they should before timing them.
	for _, u := range []string{"http://localhost:9081/page", "http://localhost:9082/page", "http://localhost:9082/app.js"} {
		if err := get(u); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
	}
	// rps returns the requests/s url serves, and the CPU time the process
	// (client, Caddy and origin) used per request and per core-second
	// (0 where that is not measured).
	rps := func(url string, workers int, d time.Duration) (float64, time.Duration, float64) {
		var n, failed atomic.Int64
		cpu0, measured := processCPU()
		start := time.Now()
		deadline := start.Add(d)
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					if get(url) != nil {
						failed.Add(1)
					} else {
						n.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		wall := time.Since(start)
		cpu1, _ := processCPU()
		if failed.Load() > 0 {
			t.Errorf("%s: %d failed requests", url, failed.Load())
		}
		var perReq time.Duration
		var busy float64
		if measured && n.Load() > 0 {
			perReq = (cpu1 - cpu0) / time.Duration(n.Load())
			busy = (cpu1 - cpu0).Seconds() / wall.Seconds() / float64(runtime.GOMAXPROCS(0))
		}
		return float64(n.Load()) / d.Seconds(), perReq, busy
	}
	const workers, dur, rounds = 8, 2 * time.Second, 4
	type row struct {
		plain, fp         []float64
		plainCPU, fpCPU   []time.Duration
		plainBusy, fpBusy []float64
	}
	rows := map[string]*row{}
	for _, c := range loadRows {
		rows[c.path] = &row{}
	}
	for r := 0; r < rounds; r++ {
		for _, lr := range loadRows {
			p := lr.path
			// Which server goes first alternates, so neither always runs
			// in the other's wake (its garbage, its cooling CPU).
			w := rows[p]
			plain := func() {
				r, c, b := rps("http://localhost:9081"+p, workers, dur)
				w.plain, w.plainCPU, w.plainBusy = append(w.plain, r), append(w.plainCPU, c), append(w.plainBusy, b)
			}
			fp := func() {
				r, c, b := rps("http://localhost:9082"+p, workers, dur)
				w.fp, w.fpCPU, w.fpBusy = append(w.fp, r), append(w.fpCPU, c), append(w.fpBusy, b)
			}
			if r%2 == 0 {
				plain()
				fp()
			} else {
				fp()
				plain()
			}
		}
	}
	// Serial latency, one response at a time, path by path, alternating
	// the two servers and which goes first, in serialRounds rounds of
	// serialPairs each: the garbage one leaves behind is collected during
	// the next request, each server follows the other as often, and a
	// burst of the machine's own noise falls in one round's figures.
	lat := map[string]*serialTimes{}
	for _, p := range loadPages() {
		st := &serialTimes{}
		lat[p] = st
		for r := range serialRounds {
			var round [2][]time.Duration
			for i := range serialPairs {
				for j := range 2 {
					k := (i + j) % 2
					kept := testutil.ToFloat64(metrics.pageMemo.WithLabelValues("kept"))
					f0, _ := processFaults()
					t0 := time.Now()
					if err := get(fmt.Sprintf("http://localhost:%d%s", 9081+k, p)); err != nil {
						t.Fatal(err)
					}
					d := time.Since(t0)
					f1, _ := processFaults()
					round[k] = append(round[k], d)
					switch {
					case k == 0:
					case testutil.ToFloat64(metrics.pageMemo.WithLabelValues("kept")) != kept:
						st.recorded, st.recFaults = append(st.recorded, d), append(st.recFaults, f1-f0)
					default:
						st.rest, st.restFaults = append(st.rest, d), append(st.restFaults, f1-f0)
					}
				}
			}
			st.all[0], st.all[1] = append(st.all[0], round[0]...), append(st.all[1], round[1]...)
			st.addedP99[r] = quantile(round[1], .99) - quantile(round[0], .99)
		}
	}
	median := func(v []float64) float64 { return quantile(v, .5) }
	pct := quantile[time.Duration]
	var b strings.Builder
	fmt.Fprintf(&b, "\nload test on loopback: %d workers, %d rounds of %v per cell, medians; client, Caddy and origin share this process\n", workers, rounds, dur)
	fmt.Fprintf(&b, "%-22s %12s %16s %8s %8s\n", "response", "plain req/s", "firstparty req/s", "ratio", "target")
	for _, c := range loadRows {
		pl, fp := median(rows[c.path].plain), median(rows[c.path].fp)
		fmt.Fprintf(&b, "%-22s %12.0f %16.0f %7.0f%% %8s   %s\n", c.path, pl, fp, 100*fp/pl, c.target, c.name)
	}
	// Where /new's target stands: the CPU a request costs each server, the
	// most firstparty may add for 60% of plain's rate when the cores are
	// busy in both, and what the rewrite and a lexer alone cost on one core.
	if w := rows["/new"]; w.plainCPU[0] > 0 {
		pc, fc := quantile(w.plainCPU, .5), quantile(w.fpCPU, .5)
		fmt.Fprintf(&b, "/new, CPU per request (client, Caddy and origin together): plain %v, firstparty %v (+%v); cores busy %.0f%% and %.0f%%. At 60%% of plain's req/s firstparty may add %v (⅔ of plain's)\n",
			ms(pc), ms(fc), ms(fc-pc), 100*median(w.plainBusy), 100*median(w.fpBusy), ms(pc*2/3))
		rw, lex, lt, ratio, tags := newPageFloor(t)
		fmt.Fprintf(&b, "/new, on one core (51 rounds timing each in turn, medians): rewriting the page %v; tdewolff's HTML lexer alone, writing nothing, %v (the rewrite %.2f× the lexer, median of the rounds' ratios); finding its %d '<' with bytes.IndexByte %v\n",
			ms(rw), ms(lex), ratio, tags, ms(lt))
	}
	// A p99 of serial requests on a shared machine is mostly the
	// machine's: plain's own p99 was 2–5 times its p50 from path to path
	// in one run, and its slowest requests, as firstparty's, mostly saw no
	// garbage collection end while they ran. So the p99 added is each
	// round's difference of the two p99s, their median against the
	// target, with their range and the difference over all requests, and
	// plain's own p99 less its p50 beside them as the noise's measure.
	for _, p := range loadPages() {
		st := lat[p]
		pl, fp := st.all[0], st.all[1]
		us := func(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
		added := st.addedP99[:]
		fmt.Fprintf(&b, "serial latency, %s, %d requests each (%d rounds of %d, the servers alternated): plain p50 %v p99 %v; firstparty p50 %v p99 %v; added at p50 %v; added at p99 %v, the rounds' median (target ≤ 3ms), %v–%v in the rounds, %v over all requests; plain's own p99 less its p50 %v\n",
			p, len(pl), serialRounds, serialPairs, us(pct(pl, .5)), us(pct(pl, .99)), us(pct(fp, .5)), us(pct(fp, .99)),
			us(pct(fp, .5)-pct(pl, .5)), us(pct(added, .5)), us(slices.Min(added)), us(slices.Max(added)), us(pct(fp, .99)-pct(pl, .99)), us(pct(pl, .99)-pct(pl, .5)))
		if len(st.recorded) > 0 {
			// A recording copies the page and its rewrite and keeps
			// checkpoints; a page that differs on every request is
			// recorded again after 1, 2, 4 … 256 poor replays. Memory
			// the process touches for the first time (or again, after
			// the runtime gave it back to the system) costs a page
			// fault each 4 KB, which the recording's new copies take.
			faults := " (page faults are not counted on this system)"
			if _, counted := processFaults(); counted {
				faults = fmt.Sprintf(", the process's page faults during each p50 %d (%d–%d), against p50 %d (p99 %d) during firstparty's other responses",
					quantile(st.recFaults, .5), slices.Min(st.recFaults), slices.Max(st.recFaults), quantile(st.restFaults, .5), quantile(st.restFaults, .99))
			}
			fmt.Fprintf(&b, "  of which recorded by the page memo: %d, p50 %v, slowest %v%s; firstparty's other responses' p99 %v, against plain's %v\n",
				len(st.recorded), us(pct(st.recorded, .5)), us(slices.Max(st.recorded)), faults, us(pct(st.rest, .99)), us(pct(pl, .99)))
		}
	}
	fmt.Print(b.String())
}

// loadRows are the load test's responses, in the order they are timed
// and printed: the origin serves each path (TestLoadReport).
var loadRows = []struct{ path, name, target string }{
	{"/page", "500 KB HTML page, the same bytes each time (served by the page memo)", "≥ 60%"},
	{"/fresh", "500 KB HTML page, new bytes at the top each time (rewritten to the next checkpoint)", "≥ 60%"},
	{"/foot", "500 KB HTML page, new bytes at the end each time (rewritten from the last checkpoint)", "≥ 60%"},
	{"/tokens", "500 KB HTML page, new bytes every 2 KB (rewritten from the checkpoint before each to the one after)", "≥ 60%"},
	{"/nonce", "500 KB HTML page, a CSP nonce of its own in the header and on each script (the memo swaps it into the loader)", "≥ 60%"},
	{"/new", "500 KB HTML page, every product tile new each time (rewritten in full)", "≥ 60%"},
	{"/app.js", "500 KB script", "≥ 97%"},
}

// serialRounds and serialPairs are how TestLoadReport times serial
// latency: for each path, serialRounds rounds of serialPairs requests to
// each server.
const serialRounds, serialPairs = 5, 400

// serialTimes are one path's serial latencies: every request's, plain's
// and firstparty's, and each round's p99 added.
type serialTimes struct {
	all      [2][]time.Duration
	addedP99 [serialRounds]time.Duration
	// recorded are firstparty's responses that the page memo recorded
	// (a rewrite kept for later replays), rest its others; recFaults
	// and restFaults the page faults the process took during each.
	recorded, rest        []time.Duration
	recFaults, restFaults []int64
}

// loadPages are the paths of loadRows that serve HTML, whose serial
// latency is timed.
func loadPages() []string {
	var ps []string
	for _, c := range loadRows {
		if c.path != "/app.js" {
			ps = append(ps, c.path)
		}
	}
	return ps
}

// writeTokens writes the /tokens response for request n: the page with a
// line of its own every 2 KB, so that no stretch longer than that is the
// same as the page kept.
func writeTokens(w io.Writer, page string, n int64) {
	for off := 0; off < len(page); off += 2 << 10 {
		end := min(len(page), off+2<<10)
		for end < len(page) && page[end-1] != '>' {
			end++
		}
		io.WriteString(w, page[off:end])
		fmt.Fprintf(w, "<!-- %d -->", n)
		off = end - 2<<10
	}
}

// writeUnique writes the /new response for request n: the page, split
// at each product tile's "<h3>" into tiles, with an attribute of the
// request's own in every tile's heading, so that no stretch longer than a
// tile is the same as the page kept.
func writeUnique(w io.Writer, tiles []string, n int64) {
	io.WriteString(w, tiles[0])
	for _, t := range tiles[1:] {
		fmt.Fprintf(w, "<h3 data-r=%d>", n)
		io.WriteString(w, t)
	}
}

// newPageFloor times, on one core, a rewrite of a /new body with the
// handler's defaults and no memo, tdewolff's HTML lexer over it, and a
// search for each '<' in it: medians of 51 rounds, each of which times
// the three in turn, and the median of the rounds' ratios of the rewrite
// to the lexer. This machine runs the same code at about half speed for
// minutes at a time: the three are timed in the same rounds so that the
// ratio compares like with like.
func newPageFloor(t *testing.T) (rw, lex, lt time.Duration, ratio float64, tags int) {
	h := provisioned(t, &Handler{})
	h.memo = nil
	var nb bytes.Buffer
	writeUnique(&nb, strings.Split(loadPage(t, 500<<10), "<h3>"), 1)
	body := nb.Bytes()
	req := httptest.NewRequest("GET", "http://localhost:9082/new", nil)
	rewrite := func() {
		pw := h.pageWriter(io.Discard, h.rewriteOptions(pageURL(req)), req, nil)
		for off := 0; off < len(body); off += 32 << 10 {
			if _, err := pw.Write(body[off:min(len(body), off+32<<10)]); err != nil {
				t.Fatal(err)
			}
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	lexOnly := func() {
		l := thtml.NewLexer(parse.NewInputBytes(body))
		for {
			if tt, _ := l.Next(); tt == thtml.ErrorToken {
				return
			}
		}
	}
	findLT := func() {
		tags = 0
		for i := 0; ; tags++ {
			j := bytes.IndexByte(body[i:], '<')
			if j < 0 {
				return
			}
			i += j + 1
		}
	}
	timed := func(f func()) time.Duration {
		t0 := time.Now()
		f()
		return time.Since(t0)
	}
	var rws, lexes, lts []time.Duration
	var ratios []float64
	for range 51 {
		a, b := timed(rewrite), timed(lexOnly)
		rws, lexes, lts = append(rws, a), append(lexes, b), append(lts, timed(findLT))
		ratios = append(ratios, float64(a)/float64(b))
	}
	return quantile(rws, .5), quantile(lexes, .5), quantile(lts, .5), quantile(ratios, .5), tags
}

// quantile returns the value at fraction q of v in order: q = .5 is the
// median (of an even count, the upper of the middle two).
func quantile[T cmp.Ordered](v []T, q float64) T {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*q))]
}

// ms rounds d for printing.
func ms(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }

// TestLoadReportProxy is make bench's load test of the analytics proxy: a
// Plausible event POSTed through firstparty's proxy and, as the baseline
// measured in the same run, through a plain Caddy reverse_proxy to the
// same stub vendor (the vendors' "proxy through your domain" recipe,
// which forwards everything). It prints requests/s and latency under load.
func TestLoadReportProxy(t *testing.T) {
	if os.Getenv("FP_BENCH") == "" {
		t.Skip("set FP_BENCH=1 (make bench) to measure")
	}
	var received atomic.Int64
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		received.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer vendor.Close()
	tc := caddytest.NewTester(t)
	tc.InitServer(fmt.Sprintf(loadSites+`http://localhost:9082 {
	firstparty {
		proxy plausible /_fp/p {
			upstream %s
			ip truncate
			consent exempt
			rate_limit off
		}
	}
	respond 404
}
`, strings.TrimPrefix(vendor.URL, "http://"), vendor.URL), "caddyfile")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, DisableCompression: true}}
	event := `{"n":"pageview","u":"https://shop.example/products/blue-shoe?utm_source=news&email=a%40b.example","d":"shop.example","r":"https://www.google.com/search?q=shoes","p":{"plan":"gold","total":"42"}}`
	post := func(url string) (time.Duration, error) {
		req, _ := http.NewRequest("POST", url, strings.NewReader(event))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			return 0, fmt.Errorf("status %d", resp.StatusCode)
		}
		return time.Since(t0), nil
	}
	urls := map[string]string{"plain reverse_proxy": "http://localhost:9081/api/event", "firstparty proxy": "http://localhost:9082/_fp/p/api/event"}
	for name, u := range urls {
		before := received.Load()
		if _, err := post(u); err != nil || received.Load() != before+1 {
			t.Fatalf("%s: %v (vendor got %d)", name, err, received.Load()-before)
		}
	}
	run := func(url string, workers int, d time.Duration) (float64, []time.Duration) {
		var mu sync.Mutex
		var lats []time.Duration
		var failed atomic.Int64
		deadline := time.Now().Add(d)
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				for time.Now().Before(deadline) {
					l, err := post(url)
					if err != nil {
						failed.Add(1)
						continue
					}
					mine = append(mine, l)
				}
				mu.Lock()
				lats = append(lats, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		if failed.Load() > 0 {
			t.Errorf("%s: %d failed requests", url, failed.Load())
		}
		return float64(len(lats)) / d.Seconds(), lats
	}
	const workers, dur, rounds = 16, 2 * time.Second, 3
	rps := map[string][]float64{}
	lat := map[string][]time.Duration{}
	for range rounds {
		for _, name := range []string{"plain reverse_proxy", "firstparty proxy"} {
			r, l := run(urls[name], workers, dur)
			rps[name] = append(rps[name], r)
			lat[name] = append(lat[name], l...)
		}
	}
	median := func(v []float64) float64 { return quantile(v, .5) }
	pct := func(d []time.Duration, q float64) time.Duration { return ms(quantile(d, q)) }
	var b strings.Builder
	fmt.Fprintf(&b, "\nanalytics proxy load test on loopback: a Plausible event POSTed by %d workers, %d rounds of %v, median req/s; latency over all requests; client, Caddy and stub vendor share this process\n", workers, rounds, dur)
	fmt.Fprintf(&b, "%-22s %10s %10s %10s\n", "endpoint", "req/s", "p50", "p99")
	for _, name := range []string{"plain reverse_proxy", "firstparty proxy"} {
		fmt.Fprintf(&b, "%-22s %10.0f %10v %10v\n", name, median(rps[name]), pct(lat[name], .5), pct(lat[name], .99))
	}
	fp := "firstparty proxy"
	fmt.Fprintf(&b, "firstparty proxy: %.0f req/s (target ≥ 5000), p99 %v (target ≤ 25ms), %.0f%% of the plain reverse_proxy's req/s\n",
		median(rps[fp]), pct(lat[fp], .99), 100*median(rps[fp])/median(rps["plain reverse_proxy"]))
	fmt.Print(b.String())
}
