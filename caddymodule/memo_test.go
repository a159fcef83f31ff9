package caddymodule

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"html"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/firstparty/firstparty/blocklists"
	"github.com/firstparty/firstparty/rewrite"
)

// memoPages are the pages the memo tests rewrite: the demo shop's page, a
// tag-dense one built on it, and some of the shared corpus when present.
func memoPages(t *testing.T) map[string][]byte {
	demo, err := os.ReadFile("../testdata/demo/index.html")
	if err != nil {
		t.Fatal(err)
	}
	// late defers its first element 10 KB into the body, inside the
	// span the loader's place is held for: where the loader goes then
	// depends on whether a flush came first.
	late := "<!doctype html><html><head><title>Shop</title><link rel=stylesheet href=/s.css></head><body>" +
		strings.Repeat("<p class=x>First-party text, first-party text.</p>\n", 200) +
		`<img src="https://www.facebook.com/tr?id=1&ev=PageView">` + strings.Repeat("<p>more</p>\n", 300) + "</body></html>"
	pages := map[string][]byte{"demo": demo, "tiles": []byte(loadPage(t, 120<<10)), "late": []byte(late)}
	for name, b := range corpusPages(t, 4) {
		if len(b) <= maxMemoPage {
			pages[name] = b
		}
	}
	return pages
}

// corpusPages returns the first max saved pages of ../shared/corpus/pages
// by name (all of them for max < 0), keyed by file name: none under -short
// or when ../shared is absent, which it logs.
func corpusPages(t *testing.T, max int) map[string][]byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "corpus", "pages", "*"))
	switch {
	case testing.Short():
		t.Log("short: without the saved pages")
		return nil
	case len(files) == 0:
		t.Log("../shared/corpus/pages is absent: without the saved pages")
		return nil
	}
	sort.Strings(files)
	if max >= 0 {
		files = files[:min(max, len(files))]
	}
	pages := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pages[filepath.Base(f)] = b
	}
	return pages
}

// bodyCall is one call a body writer gets: a write of the next n bytes, or a
// flush.
type bodyCall struct {
	n     int
	flush bool
}

// callsFor splits a body of n bytes into random writes, with a flush after
// some of them when flushes is set.
func callsFor(rng *rand.Rand, n int, flushes bool) []bodyCall {
	var cs []bodyCall
	for off := 0; off < n; {
		k := min(n-off, 1+rng.Intn(40<<10))
		if rng.Intn(2) == 0 {
			k = min(n-off, 1+rng.Intn(4<<10))
		}
		cs = append(cs, bodyCall{n: k})
		off += k
		if flushes && rng.Intn(3) == 0 {
			cs = append(cs, bodyCall{flush: true})
		}
	}
	return cs
}

// feed writes body to pw in the calls given, then closes it.
func feed(pw pageWriter, body []byte, cs []bodyCall) error {
	off := 0
	for _, c := range cs {
		if c.flush {
			if err := pw.Flush(); err != nil {
				return err
			}
			continue
		}
		if _, err := pw.Write(body[off : off+c.n]); err != nil {
			return err
		}
		off += c.n
	}
	if off < len(body) {
		if _, err := pw.Write(body[off:]); err != nil {
			return err
		}
	}
	return pw.Close()
}

// variants are bodies that share a prefix with page: itself, one byte
// changed at several places, cut short, and grown.
func variants(page []byte) map[string][]byte {
	v := map[string][]byte{"same": page, "cut": page[:len(page)/2], "grown": append(bytes.Clone(page), "<p>more</p>"...)}
	for _, at := range []int{0, 37, len(page) / 3, len(page) / 2, len(page) - 3} {
		b := bytes.Clone(page)
		b[at] ^= 0x20
		v[fmt.Sprint("byte", at)] = b
	}
	ins := len(page) / 4
	v["inserted"] = append(append(bytes.Clone(page[:ins]), `<img src="https://www.facebook.com/tr?id=1">`...), page[ins:]...)
	// Two changes, the second after the page is the kept one again.
	twice := bytes.Clone(page)
	twice[len(page)/5] ^= 0x20
	twice[3*len(page)/5] ^= 0x20
	v["twice"] = twice
	// A stretch gone, longer than the distance between checkpoints.
	if cut := len(page) / 5; len(page) > cut+3*memoStride {
		v["deleted"] = append(bytes.Clone(page[:cut]), page[cut+3*memoStride:]...)
	}
	// The opening of a script, a comment and a foreign element early on:
	// the rewriter is in another state where the bytes are the same again.
	for name, open := range map[string]string{"script": "<script>", "comment": "<!--", "svg": "<svg>", "textarea": "<textarea>"} {
		v["opened-"+name] = append(append(bytes.Clone(page[:len(page)/8]), open...), page[len(page)/8:]...)
	}
	// A block of whole elements in the middle, replaced by another of
	// half, the same or twice its length; and a line of its own every
	// 2 KB, as a form's token in every product tile.
	for name, b := range changedBodies(page) {
		v[name] = b
	}
	// A byte changed every KiB: the search for checkpoints runs out of
	// credit.
	every := bytes.Clone(page)
	for at := 512; at < len(every); at += 1 << 10 {
		every[at] ^= 0x20
	}
	v["everywhere"] = every
	// A few edits anywhere: bytes replaced, cut out or put in, markup
	// among them.
	rng := rand.New(rand.NewSource(int64(len(page))))
	bits := []string{"<", ">", "\"", "'", "<!--", "-->", "</script>", "<svg>", "</svg>", "<p>", "<base href=https://tracker.example/>", "x"}
	for k := range 4 {
		b := bytes.Clone(page)
		for range 1 + k {
			at := rng.Intn(len(b))
			switch rng.Intn(3) {
			case 0:
				b[at] = "<>\"'x"[rng.Intn(5)]
			case 1:
				b = append(b[:at], b[min(len(b), at+1+rng.Intn(64)):]...)
			default:
				b = append(b[:at], append([]byte(bits[rng.Intn(len(bits))]), b[at:]...)...)
			}
		}
		v[fmt.Sprint("edits", k)] = b
	}
	return v
}

// changedBodies returns page with a block of whole elements about a fifth
// of it long, from a third of the way in, replaced by other elements of
// half, the same and twice its length, as a block of recommendations
// that changed would be; and page with a line of its own every 2 KB
// (every-2k), as a form's token in every few product tiles would be.
func changedBodies(page []byte) map[string][]byte {
	at := len(page) / 3
	at += bytes.IndexByte(page[at:], '<')
	end := at + len(page)/5
	end += bytes.Index(page[end:], []byte("\n<"))
	if end < at {
		return nil
	}
	block := bytes.ReplaceAll(page[at:end], []byte("<p"), []byte("<p data-changed"))
	block = bytes.ReplaceAll(block, []byte("<img"), []byte("<img data-changed"))
	other := func(n int) []byte {
		b := slices.Repeat(block, n/len(block)+1)
		cut := bytes.LastIndex(b[:n+1], []byte("\n<"))
		return b[:max(cut, 0)]
	}
	v := map[string][]byte{}
	for name, n := range map[string]int{"block-shorter": len(block) / 2, "block-same": len(block), "block-longer": 2 * len(block)} {
		v[name] = slices.Concat(page[:at], other(n), page[end:])
	}
	var nb bytes.Buffer
	writeTokens(&nb, string(page), 7)
	v["every-2k"] = nb.Bytes()
	return v
}

// TestMemoResync checks that the memo picks a page up again after the
// stretches that changed, whatever their length: a block replaced by one
// shorter, as long or longer, and a line of its own every 2 KB. Most of the
// output goes out from the memo, and all of it is what a rewriter writes.
func TestMemoResync(t *testing.T) {
	h := provisioned(t, &Handler{})
	req := httptest.NewRequest("GET", "http://shop.example/collections/all", nil)
	page := []byte(loadPage(t, 200<<10))
	bodies := changedBodies(page)
	if len(bodies) != 4 {
		t.Fatalf("%d changed bodies", len(bodies))
	}
	for name, body := range bodies {
		h.memo = newPageMemo(DefaultPageMemo)
		kept(t, h, req, page, nil)
		pw, got, _, d := againstRewrite(t, h, req, h.rewriteOptions(pageURL(req)), body, callsFor(rand.New(rand.NewSource(1)), len(body), false))
		if d != "" {
			t.Fatalf("%s: replay differs from a rewrite %s", name, d)
		}
		r := pw.(*memoReplay)
		// The block, a fifth of the page, is rewritten (at best 89%, 80%
		// and 67% of the output goes out from the memo), and so is the
		// stretch to the first checkpoint after each change.
		share := float64(r.fromMemo) / float64(len(got))
		t.Logf("%s: %.0f%% of the output from the memo", name, 100*share)
		if least := map[string]float64{"block-shorter": .8, "block-same": .7, "block-longer": .58, "every-2k": .75}[name]; share < least {
			t.Errorf("%s: %.0f%% of the output from the memo, want %.0f%% or more", name, 100*share, 100*least)
		}
	}
}

// TestMemoReplayWrites checks how a replay's output leaves: the kept
// pieces and the rewriter's output between them are gathered into writes
// of up to memoOutSize bytes, not written one by one; a flush sends the
// output up to the last checkpoint before it, and flushes what is below;
// and the end of the page sends the rest.
func TestMemoReplayWrites(t *testing.T) {
	h := provisioned(t, &Handler{})
	req := httptest.NewRequest("GET", "http://shop.example/collections/all", nil)
	page := []byte(loadPage(t, 200<<10))
	kept(t, h, req, page, nil)
	var nb bytes.Buffer
	writeTokens(&nb, string(page), 7)
	body := nb.Bytes()
	opts := h.rewriteOptions(pageURL(req))
	var log writeLog
	pw := h.pageWriter(&log, opts, req, nil)
	if _, ok := pw.(*memoReplay); !ok {
		t.Fatalf("not replayed: %T", pw)
	}
	var want bytes.Buffer
	ref := rewrite.NewWriter(&want, opts)
	half := len(body) / 2
	for _, w := range []pageWriter{pw, ref} {
		for off := 0; off < half; off += 1 << 10 {
			if _, err := w.Write(body[off:min(half, off+1<<10)]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// What went out is what a rewriter flushed there, to the last
	// checkpoint before it.
	if len(log.flushAt) != 1 || !bytes.HasPrefix(want.Bytes(), log.body) || len(log.body) < want.Len()-2*memoStride {
		t.Fatalf("after a flush at %d of %d bytes, %d flushes and %d bytes went out, against %d from a rewriter", half, len(body), len(log.flushAt), len(log.body), want.Len())
	}
	for _, w := range []pageWriter{pw, ref} {
		if _, err := w.Write(body[half:]); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if d := diff(log.body, want.Bytes()); d != "" {
		t.Fatalf("replay differs from a rewrite %s", d)
	}
	// Each token the page differs by starts a rewriter, between two runs
	// of kept output: some 100 pieces, in about one write per 32 KiB.
	if max := len(log.body)/memoOutSize + 3; len(log.writes) > max {
		t.Errorf("%d bytes went out in %d writes, want at most %d", len(log.body), len(log.writes), max)
	}
}

// TestMemoReplay checks that a page served from the memo is what a
// rewriter would have written for the same body, call for call: for the
// same body, and for bodies that differ from the kept one anywhere, where
// a rewriter takes over. With writes of other sizes and no flushes, the
// output must equal a fresh rewrite's; with the recording's own writes and
// flushes up to the difference, it must equal a fresh rewrite fed those.
func TestMemoReplay(t *testing.T) {
	h := provisioned(t, &Handler{})
	rng := rand.New(rand.NewSource(1))
	req := httptest.NewRequest("GET", "http://shop.example/collections/all?page=2", nil)
	served, tookOver, resynced := 0, 0, 0
	for name, page := range memoPages(t) {
		for _, flushes := range []bool{false, true} {
			for vname, body := range variants(page) {
				h.memo = newPageMemo(DefaultPageMemo)
				rec := h.rewriteOptions(pageURL(req))
				recCalls := callsFor(rng, len(page), flushes)
				var first bytes.Buffer
				if pw := h.pageWriter(&first, rec, req, nil); !isFirst(pw) {
					t.Fatalf("%s: the first request for the page is kept: %T", name, pw)
				} else if err := feed(pw, page, recCalls); err != nil {
					t.Fatal(err)
				}
				first.Reset()
				pw := h.pageWriter(&first, rec, req, nil)
				if _, ok := pw.(*memoRecorder); !ok {
					t.Fatalf("%s: the second response is not recorded: %T", name, pw)
				}
				if err := feed(pw, page, recCalls); err != nil {
					t.Fatal(err)
				}
				opts := h.rewriteOptions(pageURL(req))
				if opts.Token == rec.Token {
					t.Fatal("two responses got one token")
				}
				// The replay's calls: with flushes, the recording's own (cut
				// to the body's length); without, writes of other sizes.
				calls := callsFor(rng, len(body), false)
				if flushes {
					calls = nil
					n := 0
					for _, c := range recCalls {
						if !c.flush {
							if n+c.n > len(body) {
								break
							}
							n += c.n
						}
						calls = append(calls, c)
					}
				}
				pw, got, ref, d := againstRewrite(t, h, req, opts, body, calls)
				replay, ok := pw.(*memoReplay)
				if !ok {
					t.Fatalf("%s: the second response is not replayed: %T", name, pw)
				}
				if d != "" {
					t.Errorf("%s %s flushes=%v: replay differs from a rewrite %s", name, vname, flushes, d)
					continue
				}
				if got, want := statsView(pw.Stats()), statsView(ref.Stats()); !reflect.DeepEqual(got, want) {
					t.Errorf("%s %s flushes=%v: stats\n%+v\nwant\n%+v", name, vname, flushes, got, want)
				}
				if bytes.Contains(got, []byte(rec.Token)) {
					t.Errorf("%s %s: the recording's token was sent", name, vname)
				}
				switch {
				case replay.rw == nil:
					served++
				case replay.live:
					tookOver++
				default:
					resynced++
				}
			}
		}
	}
	t.Logf("%d served whole, %d ended taken over, %d handed back to the memo", served, tookOver, resynced)
	if served < 4 || tookOver < 10 || resynced < 20 {
		t.Errorf("%d pages served whole from the memo, %d ended taken over, %d handed back: the test did not exercise all three", served, tookOver, resynced)
	}
}

// isFirst reports whether pw rewrites a page's first request: neither
// kept nor replayed, only remembered as asked for.
func isFirst(pw pageWriter) bool {
	_, ok := pw.(*memoFirst)
	return ok
}

// isPlainWriter reports whether pw is a bare rewriter that the memo does
// not even remember.
func isPlainWriter(pw pageWriter) bool {
	_, ok := pw.(*rewrite.Writer)
	return ok
}

// kept serves body for req through h twice, so that the memo keeps it (a
// page is kept from its second request), and returns the second writer.
func kept(t testing.TB, h *Handler, req *http.Request, body []byte, calls []bodyCall) pageWriter {
	t.Helper()
	var pw pageWriter
	for range 2 {
		pw = h.pageWriter(&bytes.Buffer{}, h.rewriteOptions(pageURL(req)), req, nil)
		if err := feed(pw, body, calls); err != nil {
			t.Fatal(err)
		}
	}
	return pw
}

// againstRewrite writes body, in calls, to the page writer h gives for
// req with opts, and to a plain rewriter with the same options and calls,
// and returns the memo's page writer and output, the rewriter, and where
// the two outputs differ ("" if nowhere: what the memo sends must be what
// a rewrite writes).
func againstRewrite(t testing.TB, h *Handler, req *http.Request, opts rewrite.Options, body []byte, calls []bodyCall) (pageWriter, []byte, *rewrite.Writer, string) {
	t.Helper()
	var got, want bytes.Buffer
	pw := h.pageWriter(&got, opts, req, nil)
	if err := feed(pw, body, calls); err != nil {
		t.Fatal(err)
	}
	ref := rewrite.NewWriter(&want, opts)
	if err := feed(ref, body, calls); err != nil {
		t.Fatal(err)
	}
	return pw, got.Bytes(), ref, diff(got.Bytes(), want.Bytes())
}

// withoutToken returns out, a response's body, with its token (the first
// data-fp-token value) replaced by "TOKEN", so that responses compare,
// and the token ("" if there is none).
func withoutToken(out string) (string, string) {
	i := strings.Index(out, `data-fp-token="`)
	if i < 0 {
		return out, ""
	}
	tok := out[i+15 : i+15+24]
	return strings.ReplaceAll(out, tok, "TOKEN"), tok
}

// statsView is everything a Stats counts, as plain values.
func statsView(s *rewrite.Stats) any {
	cats, vendors := map[string]rewrite.Counts{}, map[string]rewrite.Counts{}
	for k, c := range s.Categories {
		cats[k] = *c
	}
	for k, c := range s.Vendors {
		vendors[k] = *c
	}
	return []any{s.Elements, s.Actions, cats, vendors, s.FailClosed, s.LoaderInserted, s.BytesIn, s.BytesOut, s.Findings(), s.Mentions()}
}

// diff says where got first differs from want, with the bytes around
// it; "" if they are equal.
func diff(got, want []byte) string {
	if bytes.Equal(got, want) {
		return ""
	}
	i := 0
	for i < min(len(got), len(want)) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("at byte %d of %d/%d: %q vs %q", i, len(got), len(want), snippet(got, i), snippet(want, i))
}

func snippet(b []byte, i int) string {
	return string(b[max(0, i-40):min(len(b), i+40)])
}

// TestMemoDiverged checks the safety net: a rewriter that takes over and
// would write other bytes than the memo sent ends the response with an
// error instead.
func TestMemoDiverged(t *testing.T) {
	req := httptest.NewRequest("GET", "http://shop.example/", nil)
	page := []byte(loadPage(t, 60<<10))
	var out bytes.Buffer
	// The body differs 10 bytes into its last write. The rewriter that
	// takes over starts from the last checkpoint before that and reads
	// again what followed it, whose output went out when the second write
	// matched: that output, kept, no longer follows from the input. The
	// second write ends where output follows its last checkpoint (not in
	// the middle of a tag, whose bytes wait for its end).
	var h *Handler
	var e *memoEntry
	var calls []bodyCall
	at, k := 0, -1
	for d := 0; d < 2000 && k < 0; d += 50 {
		h = provisioned(t, &Handler{})
		calls = []bodyCall{{n: 20 << 10}, {n: 20<<10 + d}}
		kept(t, h, req, page, calls)
		if e = h.memo.get("http://shop.example/?\x00", h.policy.DB()); e == nil {
			t.Fatal("the page was not kept")
		}
		at = 40<<10 + d + 10
		k = sort.Search(len(e.checks), func(i int) bool { return int(e.checks[i].in) > at }) - 1
		if k >= 0 && (len(e.events) < 2 || int(e.checks[k].out) >= e.events[1].out) {
			k = -1
		}
	}
	if k < 0 {
		t.Fatal("no second write of 20 KiB to 22 KiB has output after its last checkpoint")
	}
	e.output[e.checks[k].out] ^= 0x20
	body := bytes.Clone(page)
	body[at] ^= 0x20
	pw := h.pageWriter(&out, h.rewriteOptions(pageURL(req)), req, nil)
	err := feed(pw, body, calls)
	if !errors.Is(err, errMemoDiverged) {
		t.Errorf("a diverging take-over gave %v", err)
	}
}

// TestMemoKeeps checks what the memo keeps and for how long: each page
// URL (query included) on its own, nothing past a list reload, nothing
// over the size cap or holding the token, and no more than its budget.
func TestMemoKeeps(t *testing.T) {
	h := provisioned(t, &Handler{})
	page := []byte(loadPage(t, 40<<10))
	serveOnce := func(url string, body []byte) pageWriter {
		req := httptest.NewRequest("GET", url, nil)
		opts := h.rewriteOptions(pageURL(req))
		pw := h.pageWriter(&bytes.Buffer{}, opts, req, nil)
		if err := feed(pw, body, []bodyCall{{n: len(body)}}); err != nil {
			t.Fatal(err)
		}
		return pw
	}
	if !isFirst(serveOnce("http://shop.example/a?x=1", page)) {
		t.Error("a page asked for once is kept")
	}
	if _, ok := serveOnce("http://shop.example/a?x=1", page).(*memoRecorder); !ok {
		t.Error("a page asked for twice is not kept")
	}
	if _, ok := serveOnce("http://shop.example/a?x=1", page).(*memoReplay); !ok {
		t.Error("the same URL is not replayed")
	}
	if _, ok := serveOnce("http://shop.example/a?x=2", page).(*memoReplay); ok {
		t.Error("another query is replayed")
	}
	h.policy.SetDB(blocklists.NewDB()) // a list reload
	if _, ok := serveOnce("http://shop.example/a?x=1", page).(*memoReplay); ok {
		t.Error("a page kept before a list reload is replayed")
	}
	long := "http://shop.example/a?q=" + strings.Repeat("x", maxMemoKey)
	for range 3 {
		if !isPlainWriter(serveOnce(long, page)) {
			t.Fatal("a page with a URL over the key cap is kept or remembered")
		}
	}
	if h.memo.seen.Len() > 2 {
		t.Errorf("the memo remembers %d pages asked for once", h.memo.seen.Len())
	}
	big := append(bytes.Clone(page), bytes.Repeat([]byte("<p>x</p>"), maxMemoPage/8)...)
	serveOnce("http://shop.example/big", big)
	serveOnce("http://shop.example/big", big)
	if _, ok := serveOnce("http://shop.example/big", big).(*memoReplay); ok {
		t.Error("a page over the cap is kept")
	}
	h.memo = newPageMemo(1 << 20)
	for i := range 50 {
		serveOnce(fmt.Sprintf("http://shop.example/p%d", i), page)
		serveOnce(fmt.Sprintf("http://shop.example/p%d", i), page)
		if h.memo.used > h.memo.budget {
			t.Fatalf("after %d pages the memo holds %d bytes, over its budget of %d", i+1, h.memo.used, h.memo.budget)
		}
	}
	if h.memo.lru.Len() < 2 {
		t.Errorf("the memo keeps %d pages", h.memo.lru.Len())
	}
	off := provisioned(t, &Handler{PageMemo: -1})
	if off.memo != nil {
		t.Error("page_memo off still keeps pages")
	}
}

// TestMemoServe checks the memo through the handler: the second response
// for a page is the first with its own token, and a page whose body
// differs comes out as a fresh rewrite would write it.
func TestMemoServe(t *testing.T) {
	h := provisioned(t, &Handler{})
	body := loadPage(t, 80<<10)
	get := func(b string) (string, string) {
		req := httptest.NewRequest("GET", "http://shop.example/p", nil)
		rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(b[:len(b)/2]))
			http.NewResponseController(w).Flush()
			w.Write([]byte(b[len(b)/2:]))
		})
		out, tok := withoutToken(rec.Body.String())
		if tok == "" {
			t.Fatalf("no token in %q", snippet(rec.Body.Bytes(), 0))
		}
		return out, tok
	}
	first, t1 := get(body)
	second, t2 := get(body)
	if t1 == t2 {
		t.Error("the replayed page has the first one's token")
	}
	if first != second {
		t.Error("the replayed page differs from the first")
	}
	changed := strings.Replace(body, "<h3>Product 500</h3>", "<h3>Product 500 (sold out)</h3>", 1)
	third, _ := get(changed)
	h.memo = nil
	want, _ := get(changed)
	if third != want {
		t.Error("a changed page through the memo differs from its rewrite")
	}
}

// nonced returns page with nonce on each of its scripts, as a page under
// a strict CSP carries its response's nonce.
func nonced(page, nonce string) []byte {
	return []byte(strings.ReplaceAll(page, "<script", `<script nonce="`+nonce+`"`))
}

// TestMemoNonce checks a page whose every response has a CSP nonce of its
// own, in its header and on its scripts: it is kept and replayed as one
// page, mostly from the memo, and each response is its own rewrite byte
// for byte, with its own nonce in the loader and no earlier response's
// anywhere. A nonce of another length is rewritten, not replayed.
func TestMemoNonce(t *testing.T) {
	h := provisioned(t, &Handler{})
	req := httptest.NewRequest("GET", "http://shop.example/collections/all", nil)
	page := loadPage(t, 200<<10)
	rng := rand.New(rand.NewSource(1))
	nonce := func(n int) string {
		const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
		b := make([]byte, n)
		for i := range b {
			b[i] = b64[rng.Intn(len(b64))]
		}
		return string(b)
	}
	var earlier []string
	for i := range 6 {
		n := nonce(22)
		if i == 4 {
			n = nonce(16)
		}
		opts := h.rewriteOptions(pageURL(req))
		opts.Nonce = n
		body := nonced(page, n)
		pw, got, _, d := againstRewrite(t, h, req, opts, body, callsFor(rng, len(body), true))
		if d != "" {
			t.Fatalf("response %d: differs from its rewrite %s", i, d)
		}
		if !bytes.Contains(got, []byte(`nonce="`+n+`"></script>`)) {
			t.Fatalf("response %d: the loader lacks its nonce", i)
		}
		for _, o := range earlier {
			if bytes.Contains(got, []byte(o)) {
				t.Fatalf("response %d holds an earlier response's nonce", i)
			}
		}
		earlier = append(earlier, n)
		r, replayed := pw.(*memoReplay)
		switch {
		case i < 2:
			continue // seen, then kept
		case i == 4:
			if replayed {
				t.Errorf("response %d: a nonce of another length was replayed", i)
			}
			continue
		case !replayed:
			t.Fatalf("response %d: not replayed (%T)", i, pw)
		}
		share := float64(r.fromMemo) / float64(len(got))
		t.Logf("response %d: %.0f%% of the output from the memo", i, 100*share)
		if share < .9 {
			t.Errorf("response %d: %.0f%% of the output from the memo, want 90%% or more", i, 100*share)
		}
	}

	// Through the handler, with the nonce in the response's header.
	get := func(h *Handler, n string) string {
		req := httptest.NewRequest("GET", "http://shop.example/p", nil)
		rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Security-Policy", "script-src 'nonce-"+n+"' 'strict-dynamic'; object-src 'none'")
			w.Write(nonced(page, n))
		})
		out, tok := withoutToken(rec.Body.String())
		if tok == "" {
			t.Fatalf("no token in %q", snippet(rec.Body.Bytes(), 0))
		}
		return out
	}
	fresh := provisioned(t, &Handler{})
	fresh.memo = nil
	for i := range 4 {
		n := nonce(24)
		got, want := get(h, n), get(fresh, n)
		if got != want {
			t.Fatalf("response %d through the handler differs from its rewrite %s", i, diff([]byte(got), []byte(want)))
		}
		if !strings.Contains(got, `nonce="`+n+`"></script>`) {
			t.Fatalf("response %d: the loader lacks the header's nonce", i)
		}
	}
	preq := httptest.NewRequest("GET", "http://shop.example/p", nil)
	popts := h.rewriteOptions(pageURL(preq))
	popts.Nonce = "any"
	popts.Encoding, _ = rewrite.DetectEncoding([]byte(page), "text/html") // as the handler found it
	if _, ok := h.memo.lru.Get(memoKey(popts, preq)); !ok {
		t.Error("the page with a nonce in its header was not kept")
	}
}

// TestMemoCampaignParams checks that a page asked for with campaign and
// click parameters is the page without them to the memo, and with any
// other query another page; a body that prints the parameters is still
// its own rewrite byte for byte.
func TestMemoCampaignParams(t *testing.T) {
	for q, want := range map[string]string{
		"":                                    "",
		"a=1&b=2":                             "a=1&b=2",
		"b=2&a=1":                             "b=2&a=1",
		"utm_source=mail&a=1&fbclid=IwAR0x":   "a=1",
		"fbclid=IwAR0x":                       "",
		"a=1&gclid=Cj0&b=3&srsltid=AfmB":      "a=1&b=3",
		"gclid":                               "",
		"xutm_source=1&gclidx=2&GCLID=3":      "xutm_source=1&gclidx=2&GCLID=3",
		"q=shoes&utm_campaign=x&utm_medium=y": "q=shoes",
		"page=2&_gl=1*abc&ScCid=9&_kx=k":      "page=2",
	} {
		if got := pageQuery(q); got != want {
			t.Errorf("pageQuery(%q) = %q, want %q", q, got, want)
		}
	}
	h := provisioned(t, &Handler{})
	page := loadPage(t, 60<<10)
	serveQ := func(q string) (pageWriter, int) {
		req := httptest.NewRequest("GET", "http://shop.example/collections/all?"+q, nil)
		// The page prints its query, as a canonical link or a hidden
		// form field may.
		body := []byte(strings.Replace(page, "<head>", `<head><link rel="alternate" href="/collections/all?`+html.EscapeString(q)+`">`, 1))
		pw, got, _, d := againstRewrite(t, h, req, h.rewriteOptions(pageURL(req)), body, []bodyCall{{n: len(body)}})
		if d != "" {
			t.Fatalf("?%s: differs from its rewrite %s", q, d)
		}
		return pw, len(got)
	}
	serveQ("fbclid=IwAR1")               // seen
	serveQ("utm_source=ig&fbclid=IwAR2") // kept
	pw, n := serveQ("gclid=Cj0KCQ&utm_medium=cpc")
	r, ok := pw.(*memoReplay)
	if !ok {
		t.Fatalf("a page with other click parameters was not replayed: %T", pw)
	}
	if share := float64(r.fromMemo) / float64(n); share < .9 {
		t.Errorf("%.0f%% of the output from the memo", 100*share)
	}
	if pw, _ := serveQ("page=2&fbclid=IwAR3"); !isFirst(pw) {
		t.Errorf("another query was taken for the same page: %T", pw)
	}
}

func TestCaddyfilePageMemo(t *testing.T) {
	for in, want := range map[string]int64{"8MiB": 8 << 20, "off": -1, "100kB": 100000} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("firstparty {\n page_memo " + in + "\n}")); err != nil || h.PageMemo != want {
			t.Errorf("page_memo %s: %d, %v", in, h.PageMemo, err)
		}
	}
	for _, bad := range []string{"lots", "0", "on", "1MiB 2MiB", "", "8MiB\n page_memo off"} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("firstparty {\n page_memo " + bad + "\n}")); err == nil || !strings.Contains(err.Error(), "Testfile:") {
			t.Errorf("page_memo %q: %v", bad, err)
		}
	}
}

// TestMemoConcurrent serves one page and its variants from many
// goroutines through one memo (run it with -race): every response is what
// its body's rewrite would be, whatever the memo held at the time.
func TestMemoConcurrent(t *testing.T) {
	h := provisioned(t, &Handler{})
	page := loadPage(t, 60<<10)
	bodies := []string{page, strings.Replace(page, "Product 100<", "Product 100 (new)<", 1), page[:len(page)-500]}
	norm := func(s string) string {
		out, _ := withoutToken(s)
		return out
	}
	get := func(body string) string {
		req := httptest.NewRequest("GET", "http://shop.example/p", nil)
		return norm(serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			for off := 0; off < len(body); off += 7 << 10 {
				w.Write([]byte(body[off:min(off+7<<10, len(body))]))
			}
		}).Body.String())
	}
	var want []string
	memo := h.memo
	h.memo = nil
	for _, b := range bodies {
		want = append(want, get(b))
	}
	h.memo = memo
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				k := (g + i) % len(bodies)
				if got := get(bodies[k]); got != want[k] {
					errs <- fmt.Sprintf("body %d differs from its rewrite", k)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestMemoPieces checks the swap of the secrets on every cut of the
// output: the pieces a replay sends, joined, are the output with the new
// token and nonce, even where a cut falls inside one, and equalOut tells
// that output from the same with any one byte changed. The nonce is
// swapped in the loader only: the page's own script keeps what its input
// said.
func TestMemoPieces(t *testing.T) {
	loader := []byte(`<script src="/r.js" data-fp-token="OLDTOKEN" nonce="OLD+N0NCE"></script>`)
	nonceAt := bytes.Index(loader, []byte("OLD+N0NCE"))
	e := &memoEntry{output: []byte(`<p nonce="OLD+N0NCE">` + string(loader) + `<a data-fp-token="OLDTOKEN">x</a><b data-fp-token="OLDTOKEN">OLDTOKEN`),
		secrets: memoSecrets{"OLDTOKEN", "OLD+N0NCE"}}
	var ok bool
	if e.subs, ok = secretPlaces(e.output, e.secrets, loader, nonceAt); !ok || len(e.subs) != 5 {
		t.Fatalf("secretPlaces found %v, %v", e.subs, ok)
	}
	sec := &memoSecrets{"newtoken", "new/n0nce"}
	want := strings.ReplaceAll(string(e.output), "OLDTOKEN", "newtoken")
	want = strings.Replace(want, `"OLD+N0NCE"></script>`, `"new/n0nce"></script>`, 1)
	if !strings.HasPrefix(want, `<p nonce="OLD+N0NCE">`) || strings.Count(want, "new/n0nce") != 1 {
		t.Fatalf("the expected output is wrong: %q", want)
	}
	var scratch []byte
	send := func(got []byte, a, b int) []byte {
		for a < b {
			var p []byte
			p, scratch = e.piece(scratch, a, b, sec)
			if len(p) == 0 {
				t.Fatalf("an empty piece at %d of %d", a, b)
			}
			got, a = append(got, p...), a+len(p)
		}
		return got
	}
	for cut1 := 0; cut1 <= len(e.output); cut1++ {
		for cut2 := cut1; cut2 <= len(e.output); cut2 += 3 {
			got := send(nil, 0, cut1)
			got = send(got, cut1, cut2)
			got = send(got, cut2, len(e.output))
			if string(got) != want {
				t.Fatalf("cuts at %d and %d: %q", cut1, cut2, got)
			}
			if ok, _ := e.equalOut([]byte(want[cut1:cut2]), cut1, sec, nil); !ok {
				t.Fatalf("equalOut(%d, %d) is false for the same bytes", cut1, cut2)
			}
		}
	}
	for i := range want {
		for a := 0; a <= i; a += 5 {
			changed := []byte(want[a:])
			changed[i-a] ^= 0x20
			if ok, _ := e.equalOut(changed, a, sec, nil); ok {
				t.Fatalf("equalOut from %d is true with byte %d changed", a, i)
			}
		}
	}
	// The output itself goes out where there is no secret: no copy.
	if p, _ := e.piece(nil, 0, 10, sec); &p[0] != &e.output[0] {
		t.Error("a piece without a secret was copied")
	}
	// A nonce that holds the token cannot be swapped apart from it.
	both := []byte(`<script data-fp-token="TOK" nonce="xTOKx"></script>`)
	if _, ok := secretPlaces(both, memoSecrets{"TOK", "xTOKx"}, both, bytes.Index(both, []byte("xTOKx"))); ok {
		t.Error("overlapping secrets were accepted")
	}
}

// FuzzMemo replays pages through the memo that differ from the kept ones
// by the edits the fuzzer makes (bytes replaced, cut out or put in, markup
// among them), in writes of the size it picks: each response must be the
// body's own rewrite, byte for byte, with the same counts. That holds the
// hand-back to the kept output at checkpoints to its promise: nothing is
// sent that this body's rewrite would not write.
func FuzzMemo(f *testing.F) {
	f.Add([]byte{0, 0, 0x10, 0, 'x'}, uint16(4096))
	f.Add([]byte{1, 1, 0x40, 0, 7, 2, 0x80, 0, 2}, uint16(1000))
	f.Add([]byte{0, 2, 0x20, 0, 3, 0, 0x90, 0, '<'}, uint16(32768))
	f.Add([]byte{1, 2, 0x01, 0, 9, 1, 0xa0, 0, 60, 2, 0xc0, 0, 5}, uint16(17))
	f.Add([]byte{2, 0, 0x30, 0, 'x'}, uint16(4096))
	f.Add([]byte{3, 2, 0x08, 0, 6, 1, 0x02, 0, 9}, uint16(700))
	h := provisioned(f, &Handler{})
	req := httptest.NewRequest("GET", "http://shop.example/collections/all", nil)
	late := "<!doctype html><html><head><title>Shop</title></head><body>" +
		strings.Repeat("<p class=x>First-party text, <b>first-party</b> text.</p>\n", 300) +
		`<img src="https://www.facebook.com/tr?id=1&ev=PageView">` + strings.Repeat("<div><svg><title>t</title></svg><p>more</p></div>\n", 300) + "</body></html>"
	bases := [][]byte{[]byte(loadPage(f, 40<<10)), []byte(late)}
	bits := []string{"<", ">", "\"", "'", "<!--", "-->", "<script>", "</script>", "<svg>", "</svg>", "<p>", "<textarea>",
		"<base href=https://www.facebook.com/>", `<img src="https://www.facebook.com/tr?id=2">`, "<noscript>", "</noscript>", "x"}
	f.Fuzz(func(t *testing.T, ops []byte, chunk uint16) {
		if len(ops) == 0 || len(ops) > 64 {
			return
		}
		// ops[0] picks the page, and whether its responses carry a CSP
		// nonce of their own (on its scripts too): the kept one another
		// than the replayed one.
		page := bases[int(ops[0])%len(bases)]
		optsOf := func(nonce string) rewrite.Options {
			o := h.rewriteOptions(pageURL(req))
			o.Nonce = nonce
			return o
		}
		h.memo = newPageMemo(DefaultPageMemo)
		nonce := ""
		if ops[0]&2 != 0 {
			for range 2 {
				pw := h.pageWriter(&bytes.Buffer{}, optsOf("keptNonce+0"), req, nil)
				if err := feed(pw, nonced(string(page), "keptNonce+0"), []bodyCall{{n: len(page)}}); err != nil {
					t.Fatal(err)
				}
			}
			nonce = "thisNonce/1"
			page = nonced(string(page), nonce)
		} else {
			kept(t, h, req, page, []bodyCall{{n: len(page)}})
		}
		body := bytes.Clone(page)
		for op := ops[1:]; len(op) >= 4; op = op[4:] {
			at := (int(op[1])<<8 | int(op[2])) * len(body) / 65536
			switch op[0] % 3 {
			case 0:
				if at < len(body) {
					body[at] = op[3]
				}
			case 1:
				body = append(body[:at], body[min(len(body), at+1+int(op[3])%64):]...)
			default:
				body = append(body[:at], append([]byte(bits[int(op[3])%len(bits)]), body[at:]...)...)
			}
		}
		n := 1 + int(chunk)%(32<<10)
		var calls []bodyCall
		for off := 0; off < len(body); off += n {
			calls = append(calls, bodyCall{n: min(n, len(body)-off)})
		}
		pw, _, ref, d := againstRewrite(t, h, req, optsOf(nonce), body, calls)
		if _, ok := pw.(*memoReplay); !ok {
			t.Fatalf("not replayed: %T", pw)
		}
		if d != "" {
			t.Fatalf("the memo's response differs from the rewrite %s", d)
		}
		if g, w := statsView(pw.Stats()), statsView(ref.Stats()); !reflect.DeepEqual(g, w) {
			t.Fatalf("counts\n%+v\nwant\n%+v", g, w)
		}
	})
}

// TestMemoRefresh checks that the memo follows a page that changed: a
// kept page whose replays stop sending most of their output from the memo
// gives way to a recording of the page as it is now, which is then sent
// whole. A page asked for once in a while as another variant keeps its
// recording, and a page that differs on every request is recorded again
// only after more and more replays, which do not search for checkpoints
// but for the first of each recording. When that page then differs in one
// place only, it is sent from the memo again.
func TestMemoRefresh(t *testing.T) {
	h := provisioned(t, &Handler{})
	req := httptest.NewRequest("GET", "http://shop.example/products/lamp", nil)
	a := []byte(loadPage(t, 60<<10))
	b := bytes.ReplaceAll(a, []byte("<div"), []byte("<div data-v=2"))
	serve := func(body []byte) pageWriter {
		pw := h.pageWriter(&bytes.Buffer{}, h.rewriteOptions(pageURL(req)), req, nil)
		if err := feed(pw, body, []bodyCall{{n: len(body)}}); err != nil {
			t.Fatal(err)
		}
		return pw
	}
	whole := func(pw pageWriter) bool {
		r, ok := pw.(*memoReplay)
		return ok && r.rw == nil
	}
	kept(t, h, req, a, nil)
	for range 3 {
		if !whole(serve(a)) {
			t.Fatal("the kept page is not served whole")
		}
	}
	// A variant now and then leaves the recording in place.
	if whole(serve(b)) {
		t.Fatal("another body is served whole")
	}
	if !whole(serve(a)) {
		t.Fatal("the kept page is not served whole after one other variant")
	}
	// The page changed for good: it is kept as it is now within a few
	// requests, and sent whole from then on.
	replaced := testutil.ToFloat64(metrics.pageMemo.WithLabelValues("replaced"))
	n := 0
	for ; n < 12 && !whole(serve(b)); n++ {
	}
	if n == 12 {
		t.Fatal("a page that changed is never sent whole from the memo again")
	}
	t.Logf("the changed page was sent whole from the memo after %d requests", n+1)
	if got := testutil.ToFloat64(metrics.pageMemo.WithLabelValues("replaced")) - replaced; got != 1 {
		t.Errorf("page_memo_total{outcome=replaced} went up by %v, want 1", got)
	}
	for range 3 {
		if !whole(serve(b)) {
			t.Fatal("the page as it is now is not served whole")
		}
	}
	// A page that differs on every request, in every product tile, is
	// recorded again ever less often: each recording copies the page and
	// its rewrite.
	// Its replays after the first of each recording do not look for
	// checkpoints, and write what a rewrite writes.
	recordings, replays, searched := 0, 0, 0
	opts := h.rewriteOptions(pageURL(req))
	for i := range 300 {
		body := bytes.ReplaceAll(a, []byte("<h3>"), fmt.Appendf(nil, "<h3 data-r=%d>", i))
		pw, _, _, d := againstRewrite(t, h, req, opts, body, []bodyCall{{n: len(body)}})
		if d != "" {
			t.Fatalf("request %d: the memo's output differs from a rewrite's %s", i, d)
		}
		switch pw := pw.(type) {
		case *memoRecorder:
			recordings++
		case *memoReplay:
			replays++
			if pw.search {
				searched++
			}
		}
	}
	if recordings < 2 || recordings > 10 {
		t.Errorf("a page that differs on every request was recorded %d times in 300 requests, want a few", recordings)
	}
	if searched > 2*recordings {
		t.Errorf("%d replays of %d of a page that differs on every request looked for checkpoints", searched, replays)
	}
	t.Logf("a page that differs on every request: %d recordings in 300 requests; %d of %d replays searched", recordings, searched, replays)
	// When it then differs in one place only (a line of its own at the
	// top), it is recorded again, and the first replay of that recording
	// looks for checkpoints: the page is sent from the memo again, and
	// the replays after it search too.
	at := bytes.Index(a, []byte("<head>")) + len("<head>")
	fresh := func(i int) []byte {
		return slices.Concat(a[:at], fmt.Appendf(nil, "<!-- request %d -->", i), a[at:])
	}
	n = 0
	for ; n < 600; n++ {
		if r, ok := serve(fresh(n)).(*memoReplay); ok && 2*r.fromMemo >= len(r.e.output) {
			break
		}
	}
	if n == 600 {
		t.Fatal("a page that differed on every request and now differs in one place is never sent from the memo again")
	}
	t.Logf("then differing in one place, it was sent from the memo after %d requests", n+1)
	for i := range 3 {
		if r, ok := serve(fresh(1000 + i)).(*memoReplay); !ok || !r.search || 2*r.fromMemo < len(r.e.output) {
			t.Fatal("the page, now differing in one place, is not sent from the memo")
		}
	}
}

// TestMemoBackoffConcurrent checks that the recordings of a page that
// differs on every request grow rarer when its requests come at once, as
// they do one by one: the requests during a recording are rewritten, and
// leave the page's generation as it is. (They once took the page for one
// asked for the first time, and the next request recorded it again at
// the first generation: a quarter of all requests were recordings.)
func TestMemoBackoffConcurrent(t *testing.T) {
	h := provisioned(t, &Handler{})
	req := httptest.NewRequest("GET", "http://shop.example/products/lamp", nil)
	page := []byte(loadPage(t, 60<<10))
	var recordings, served atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 80 {
				body := bytes.ReplaceAll(page, []byte("<h3>"), fmt.Appendf(nil, "<h3 data-r=%d-%d>", w, i))
				pw := h.pageWriter(io.Discard, h.rewriteOptions(pageURL(req)), req, nil)
				if _, ok := pw.(*memoRecorder); ok {
					recordings.Add(1)
				}
				if err := feed(pw, body, []bodyCall{{n: len(body) / 2}, {n: len(body) - len(body)/2}}); err != nil {
					t.Error(err)
					return
				}
				served.Add(1)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d recordings in %d requests", recordings.Load(), served.Load())
	if recordings.Load() < 2 || recordings.Load() > 12 {
		t.Errorf("a page that differs on every request, asked for 8 at a time, was recorded %d times in %d requests, want a few", recordings.Load(), served.Load())
	}
}

// TestMemoRecordingAllocs checks what a recording of a page the memo has
// seen allocates beyond its copies of the page (made, sized from the
// page's last size, when it starts): its checkpoints' list and anchors
// are made at their size, where they grew checkpoint by checkpoint and
// the entry copied the list. A recording of the 534 KB /new page so
// allocated 2.3 MB, then 0.39–0.41 MB, and with the anchors' flat index
// (anchorIndex), where a map of lists was built at the end, 0.07–0.13
// MB. The page differs on every request, as /new does, so that the memo
// records it again and again (after 1, 2, 4 … poor replays).
func TestMemoRecordingAllocs(t *testing.T) {
	h := provisioned(t, &Handler{})
	tiles := strings.Split(loadPage(t, 500<<10), "<h3>")
	var body bytes.Buffer
	recordings := 0
	for i := 0; i < 40; i++ {
		body.Reset()
		writeUnique(&body, tiles, int64(i))
		req := httptest.NewRequest("GET", "http://shop.example/new", nil)
		pw := h.pageWriter(io.Discard, h.rewriteOptions(pageURL(req)), req, nil)
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		if err := feed(pw, body.Bytes(), []bodyCall{{n: 32 << 10}}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&m1)
		if _, ok := pw.(*memoRecorder); !ok {
			continue
		}
		recordings++
		if got, limit := m1.TotalAlloc-m0.TotalAlloc, uint64(body.Len()/3); recordings > 1 && got > limit {
			t.Errorf("request %d: a recording of a %d-byte page allocated %d bytes beyond its copies of the page, over %d", i, body.Len(), got, limit)
		}
	}
	if recordings < 3 {
		t.Fatalf("%d recordings in 40 requests: the test does not test", recordings)
	}
}

// TestMemoRecordingStreams checks that a recording passes on what its
// rewriter decided of each write before the write returns, as a rewriter
// does: after every write and flush, the response holds what a rewriter
// given the same calls has written. It does so in one write downstream
// for each of the recording's calls or so, where the rewriter writes out
// after each of the pieces the recorder cuts a write into (a checkpoint
// tried about every 128 bytes), and within a long write a batch at a
// time (memoOutSize), as the rewriter writes its own. A page over
// maxMemoPage is given up on the way: what the copy holds goes out, and
// the rest straight after.
func TestMemoRecordingStreams(t *testing.T) {
	h := provisioned(t, &Handler{})
	// (small and long end inside a start tag, which the rewriter writes at
	// Close.)
	small := []byte(loadPage(t, 120<<10) + "<p title=x")
	big := append(bytes.Clone(small), bytes.Repeat([]byte("<p>x</p>"), maxMemoPage/8)...)
	long := []byte(loadPage(t, 500<<10) + "<p title=x")
	// A page is recorded from its second request.
	cases := []struct {
		path     string
		page     []byte
		oneWrite bool
	}{
		{"/streams", small, false}, {"/streams", small, false}, {"/streams", small, false},
		{"/streams", small, false}, {"/streams", small, false}, {"/streams", small, false},
		// asked for at 120 KB, recorded at 2 MB
		{"/streams-big", small, false}, {"/streams-big", big, false},
		{"/long", long, true}, {"/long", long, true},
	}
	rng := rand.New(rand.NewSource(7))
	recorded := map[string]bool{}
	for _, c := range cases {
		req := httptest.NewRequest("GET", "http://shop.example"+c.path, nil)
		opts := h.rewriteOptions(pageURL(req))
		calls := []bodyCall{{n: len(c.page)}}
		if !c.oneWrite {
			calls = callsFor(rng, len(c.page), true)
		}
		var got writeLog
		var want bytes.Buffer
		pw := h.pageWriter(&got, opts, req, nil)
		ref := rewrite.NewWriter(&want, opts)
		_, recording := pw.(*memoRecorder)
		off := 0
		for i, call := range calls {
			writes, sent := len(got.writes), len(got.body)
			var err, rerr error
			if call.flush {
				err, rerr = pw.Flush(), ref.Flush()
			} else {
				_, err = pw.Write(c.page[off : off+call.n])
				_, rerr = ref.Write(c.page[off : off+call.n])
				off += call.n
			}
			if err != nil || rerr != nil {
				t.Fatal(err, rerr)
			}
			if !recording {
				continue
			}
			if len(got.body) != want.Len() {
				t.Fatalf("%s: after call %d of %d (at byte %d), the recording has passed on %d bytes, a rewriter %d", c.path, i, len(calls), off, len(got.body), want.Len())
			}
			if n, batches := len(got.writes)-writes, (len(got.body)-sent)/memoOutSize; n < batches {
				t.Errorf("%s: call %d passed on %d bytes in %d writes, not a batch at a time", c.path, i, len(got.body)-sent, n)
			}
		}
		if err, rerr := pw.Close(), ref.Close(); err != nil || rerr != nil {
			t.Fatal(err, rerr)
		}
		if !recording {
			continue
		}
		recorded[c.path] = true
		if d := diff(got.body, want.Bytes()); d != "" {
			t.Fatalf("%s: the recording's output differs from a rewriter's: %s", c.path, d)
		}
		if len(c.page) <= maxMemoPage && len(got.writes) > len(calls)+len(got.body)/memoOutSize+2 {
			t.Errorf("%s: the recording passed its output on in %d writes, for %d calls", c.path, len(got.writes), len(calls))
		}
	}
	if len(recorded) != 3 {
		t.Fatalf("recorded %v: the test does not test", recorded)
	}
}

// TestAnchorIndex holds the anchors' flat index against a map of each
// hash's checkpoints, ascending, built from the finished list: over
// anchors that repeat (a few markups, many times), some not whole when
// their checkpoint was taken (hashed only by finish), a table grown from
// its smallest, and checkpoints past the input's end left out.
func TestAnchorIndex(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for round := range 40 {
		kinds := 1 + rng.Intn(300)
		var input []byte
		var checks []memoCheck
		var whole []bool
		for range rng.Intn(5000) {
			checks = append(checks, memoCheck{in: int32(len(input))})
			whole = append(whole, rng.Intn(8) != 0)
			input = fmt.Appendf(input, "<div id=%d>", rng.Intn(kinds))
			input = append(input, make([]byte, rng.Intn(200))...)
		}
		// A last checkpoint or two whose anchor the input does not hold.
		input = append(input, "<p>"...)
		extra := rng.Intn(3)
		for k := range extra {
			checks = append(checks, memoCheck{in: int32(len(input) - 3 + k)})
			whole = append(whole, false)
		}
		x := newAnchorIndex(rng.Intn(2) * len(checks))
		taken := map[string]bool{} // the anchors added whole so far
		for k, c := range checks {
			var h uint64
			if whole[k] {
				a := input[c.in : c.in+memoAnchor]
				h = maphash.Bytes(memoSeed, a)
				if has := x.has(h); has != taken[string(a)] {
					t.Fatalf("round %d, checkpoint %d: has %v", round, k, has)
				}
				taken[string(a)] = true
			}
			x.add(h, whole[k])
		}
		kept := checks[:len(checks)-extra]
		x.finish(kept, input)
		want := map[uint64][]int32{}
		for k, c := range kept {
			h := maphash.Bytes(memoSeed, input[c.in:c.in+memoAnchor])
			want[h] = append(want[h], int32(k))
		}
		for h, ks := range want {
			if got := x.lookup(h); !slices.Equal(got, ks) {
				t.Fatalf("round %d: hash %x lists %v, want %v", round, h, got, ks)
			}
		}
		if len(x.keys) != len(want) || x.lookup(maphash.Bytes(memoSeed, []byte("<span>"))) != nil {
			t.Fatalf("round %d: %d keys for %d anchors, or an anchor never taken found", round, len(x.keys), len(want))
		}
	}
}

// TestMemoOneRecording checks that a page is recorded by one response at
// a time: while a recording is under way, the page's other responses are
// rewritten; one that never ends (its handler gone) stops blocking others
// after memoRecordingStale; and a recording that fails lets the next
// request record the page.
func TestMemoOneRecording(t *testing.T) {
	h := provisioned(t, &Handler{})
	req := httptest.NewRequest("GET", "http://shop.example/products/lamp", nil)
	page := []byte(loadPage(t, 20<<10))
	open := func() pageWriter { return h.pageWriter(io.Discard, h.rewriteOptions(pageURL(req)), req, nil) }
	if pw := open(); !isFirst(pw) {
		t.Fatalf("first request: %T", pw)
	} else if err := feed(pw, page, []bodyCall{{n: len(page)}}); err != nil {
		t.Fatal(err)
	}
	stuck, ok := open().(*memoRecorder)
	if !ok {
		t.Fatal("the second request is not recorded")
	}
	if _, err := stuck.Write(page[:len(page)/2]); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, ok := open().(*memoRecorder); ok {
			t.Fatal("a second recording began while one is under way")
		}
	}
	// The stuck one began long ago.
	key := memoKey(h.rewriteOptions(pageURL(req)), req)
	h.memo.mu.Lock()
	sp, _ := h.memo.seen.Peek(key)
	sp.recording = sp.recording.Add(-memoRecordingStale - time.Second)
	h.memo.seen.Add(key, sp)
	h.memo.mu.Unlock()
	rec, ok := open().(*memoRecorder)
	if !ok {
		t.Fatal("a stale recording still keeps the page from being recorded")
	}
	// This one fails: the client went away. The handler closes it all
	// the same (finish).
	rec.tee.w = &failingWriter{n: 100}
	if err := feed(rec, page, []bodyCall{{n: len(page)}}); err == nil {
		t.Fatal("a write to a client gone did not fail")
	}
	rec.Close()
	if _, ok := open().(*memoRecorder); !ok {
		t.Fatal("after a failed recording, the next request does not record the page")
	}
}

// failingWriter fails every write after the first n bytes.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("client gone")
	}
	w.n -= len(p)
	return len(p), nil
}

// TestMemoFailedReplay checks that a replay whose client went away counts
// neither for nor against the kept page: the page is kept as it was.
func TestMemoFailedReplay(t *testing.T) {
	h := provisioned(t, &Handler{})
	req := httptest.NewRequest("GET", "http://shop.example/products/lamp", nil)
	page := []byte(loadPage(t, 60<<10))
	kept(t, h, req, page, nil)
	for range 3 {
		pw := h.pageWriter(&failingWriter{n: 1000}, h.rewriteOptions(pageURL(req)), req, nil)
		r, ok := pw.(*memoReplay)
		if !ok {
			t.Fatalf("not replayed: %T", pw)
		}
		if err := feed(pw, page, []bodyCall{{n: 4 << 10}}); err == nil {
			t.Fatal("a replay to a client that went away did not fail")
		}
		pw.Close() // as the handler does at the end of any response
		if s := r.e.score.Load(); s != 0 {
			t.Fatalf("a failed replay changed the kept page's score to %d", s)
		}
	}
	pw := h.pageWriter(&bytes.Buffer{}, h.rewriteOptions(pageURL(req)), req, nil)
	if r, ok := pw.(*memoReplay); !ok || feed(pw, page, nil) != nil || r.rw != nil {
		t.Fatal("the kept page is not served whole after replays that failed")
	}
}

// TestCommonPrefix checks the doubling and halving search for the first
// difference against a byte loop: differences at every offset of slices
// up to 5,000 bytes long, of equal and unequal lengths.
func TestCommonPrefix(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	base := make([]byte, 5010)
	rng.Read(base)
	naive := func(a, b []byte) int {
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		return i
	}
	checked := 0
	for _, n := range []int{0, 1, 63, 64, 65, 127, 128, 129, 1000, 2047, 2048, 4999} {
		a := base[:n]
		for d := 0; d <= n; d++ {
			b := bytes.Clone(base[:n+rng.Intn(3)])
			if d < n {
				b[d] ^= byte(1 + rng.Intn(255))
			}
			for _, pair := range [][2][]byte{{a, b}, {b, a}} {
				if got, want := commonPrefix(pair[0], pair[1]), naive(pair[0], pair[1]); got != want {
					t.Fatalf("n %d, difference at %d: commonPrefix %d, want %d", n, d, got, want)
				}
				checked++
			}
		}
	}
	if checked < 10000 {
		t.Errorf("only %d pairs", checked)
	}
}

// TestLastCheckFrom checks the forward step from a replay's last
// checkpoint against the binary search, from every checkpoint (and
// before the first) to every input offset after it.
func TestLastCheckFrom(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	e := &memoEntry{}
	in := 40
	for range 300 {
		in += 1 + rng.Intn(300)
		e.checks = append(e.checks, memoCheck{in: int32(in)})
	}
	compared := 0
	for from := -1; from < len(e.checks); from++ {
		start := 0
		if from >= 0 {
			start = int(e.checks[from].in)
		}
		for off := start; off <= in+50; off += 1 + rng.Intn(97) {
			if got, want := e.lastCheckFrom(from, off), e.lastCheck(off); got != want {
				t.Fatalf("from %d, in %d: %d, want %d", from, off, got, want)
			}
			compared++
		}
	}
	// A from past in, as a caller might pass, falls back to the search.
	if got, want := e.lastCheckFrom(len(e.checks)-1, 50), e.lastCheck(50); got != want {
		t.Errorf("from past in: %d, want %d", got, want)
	}
	if compared < 10000 {
		t.Errorf("only %d compared", compared)
	}
}

// TestMemoVaryLanguage serves a page that the upstream answers in the
// visitor's language, with Vary: Accept-Language, to visitors who
// alternate between German and English: each language is kept on its
// own and then sent whole from the memo, where under one key each would
// replace the other. Every response is still its own body's rewrite.
func TestMemoVaryLanguage(t *testing.T) {
	for v, want := range map[string]string{
		"de-CH, de;q=0.9, en;q=0.8": "de-ch", "EN": "en", "": "", "*": "*", "de_DE": "", " fr ;q=1": "fr",
		"x-" + strings.Repeat("a", 40): "",
	} {
		if got := firstLanguage(v); got != want {
			t.Errorf("firstLanguage(%q) = %q, want %q", v, got, want)
		}
	}
	h := provisioned(t, &Handler{})
	page := loadPage(t, 60<<10)
	// The languages differ in every tile, as translated pages do.
	pages := map[string]string{"de": strings.ReplaceAll(page, "Add to cart", "In den Warenkorb"), "en": page}
	served := func() float64 { return testutil.ToFloat64(metrics.pageMemo.WithLabelValues("served")) }
	var before float64
	for i := 0; i < 8; i++ {
		lang := []string{"de", "en"}[i%2]
		if i == 4 {
			before = served()
		}
		req := httptest.NewRequest("GET", "http://shop.example/collections/all", nil)
		req.Header.Set("Accept-Language", lang+";q=1, fr;q=0.5")
		rec := serve(h, req, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Vary", "Accept-Encoding, Accept-Language")
			w.Write([]byte(pages[lang]))
		})
		var want bytes.Buffer
		opts := h.rewriteOptions(pageURL(req))
		if _, err := rewrite.Rewrite(&want, strings.NewReader(pages[lang]), opts); err != nil {
			t.Fatal(err)
		}
		got, _ := withoutToken(rec.Body.String())
		exp, _ := withoutToken(want.String())
		if got != exp {
			t.Fatalf("response %d (%s) differs from its rewrite %s", i, lang, diff([]byte(got), []byte(exp)))
		}
	}
	if n := served() - before; n != 4 {
		t.Errorf("%v of the last 4 responses were sent whole from the memo, want all", n)
	}
}
