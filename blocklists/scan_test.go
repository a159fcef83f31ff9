package blocklists

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// TestScanStateLayout pins the offsets scan_amd64.s reads scanState's and
// tokenHit's fields at, and the constants it has written in.
func TestScanStateLayout(t *testing.T) {
	var st scanState
	var x tokenHit
	got := []uintptr{
		unsafe.Offsetof(st.s), unsafe.Offsetof(st.bits), unsafe.Offsetof(st.nb), unsafe.Offsetof(st.blk),
		unsafe.Offsetof(st.base), unsafe.Offsetof(st.ends), unsafe.Offsetof(st.rest), unsafe.Offsetof(st.start),
		unsafe.Offsetof(st.top), unsafe.Offsetof(st.mid), unsafe.Offsetof(st.bitset), unsafe.Offsetof(st.edges),
		unsafe.Offsetof(st.hits), unsafe.Offsetof(st.nh), unsafe.Offsetof(st.edgeAt), unsafe.Offsetof(st.end),
		unsafe.Offsetof(x.w), unsafe.Offsetof(x.h), unsafe.Offsetof(x.i), unsafe.Offsetof(x.j), unsafe.Sizeof(x),
	}
	want := []uintptr{0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 0, 8, 16, 24, 32}
	if unsafe.Sizeof(uintptr(0)) == 8 && !slices.Equal(got, want) {
		t.Fatalf("offsets %v, scan_amd64.s reads %v", got, want)
	}
	// The constants it has written in.
	if tokenMask != 1<<16-1 || edgeMask != 1<<12-1 || edgeLen != 4 || unsafe.Sizeof(uintptr(0)) == 8 && hitBatch*unsafe.Sizeof(x) != 512 {
		t.Fatalf("tokenMask %#x, edgeMask %#x, edgeLen %d, a batch %d bytes: scan_amd64.s has 0xffff (MOVWLZX), 4095 (a shift by 20), 4 and 512",
			tokenMask, edgeMask, edgeLen, hitBatch*unsafe.Sizeof(x))
	}
}

// scanStep is what one call of a scan function returned, and the state
// it left.
type scanStep struct {
	code                        int
	hits                        []tokenHit // the batch's counted hits, and at scanEdge the edge's hit last
	nh, edgeAt, blk, start, mid int
	ends, rest, top             uint64
}

// scanSteps runs scan over s as scanTokens does, with the bit sets given,
// and returns each step; a full batch or an edge's hits before it are
// taken as looked up.
func scanSteps(s string, bitset *[(tokenMask + 1) / 64]uint64, edges *[(edgeMask + 1) / 64]uint64, scan func(*scanState) int) []scanStep {
	var hits [hitBatch]tokenHit
	var tb [scanChunk + 1]uint64
	st := scanState{s: unsafe.StringData(s), bits: &tb[0], bitset: &bitset[0], edges: &edges[0], hits: &hits[0]}
	var out []scanStep
	for base := 0; base < len(s); base += 64 * scanChunk {
		st.chunk(s, base, &tb)
		for {
			code := scan(&st)
			step := scanStep{code: code, hits: slices.Clone(hits[:st.nh]), nh: st.nh, blk: st.blk, start: st.start, mid: st.mid, ends: st.ends, rest: st.rest, top: st.top}
			if code == scanEdge {
				step.edgeAt = st.edgeAt
				step.hits = append(slices.Clone(hits[:st.edgeAt]), hits[st.edgeAt])
			}
			if code == scanDone {
				// ends and rest are only kept while a block is under way.
				step.ends, step.rest = 0, 0
			}
			out = append(out, step)
			switch code {
			case scanFull:
				st.nh = 0
				continue
			case scanEdge:
				st.nh = copy(hits[:], hits[st.edgeAt:st.nh])
				continue
			}
			break
		}
	}
	return out
}

// naiveTokens returns s's tokens (runs of isTokenChar bytes) as hits.
func naiveTokens(s string) []tokenHit {
	var out []tokenHit
	for i := 0; i < len(s); {
		if !isTokenChar(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isTokenChar(s[j]) {
			j++
		}
		w := tokenWord(s[i:j])
		out = append(out, tokenHit{w: w, h: tokenHashOf(w, j-i), i: i, j: j})
		i = j
	}
	return out
}

// scanURLs returns URLs of many shapes for the scan's tests: tokens that
// cross blocks and chunks, a URL that is one token, tokens of one byte,
// and random bytes.
func scanURLs() []string {
	rng := rand.New(rand.NewPCG(11, 12))
	urls := []string{
		"https://a.example/x",
		"abcdefgh",
		"a/b/c/d/",
		"/a/b/c/d",
		strings.Repeat("a", 63) + "/",
		strings.Repeat("a", 64) + "/b",
		strings.Repeat("a", 65),
		strings.Repeat("a/", 700),
		strings.Repeat("ab%2f", 400),
		"https://x.example/" + strings.Repeat("q", 2000) + "?a=1",
		strings.Repeat("/", 1023) + "token",
		strings.Repeat("/", 1020) + "tokenacrossthechunk/",
	}
	const alpha = "abcz0189%/.-?&=_AZ\x00\xff"
	for n := 8; n < 2300; n += 1 + n/9 {
		for range 4 {
			b := make([]byte, n)
			for i := range b {
				b[i] = alpha[rng.IntN(len(alpha))]
			}
			urls = append(urls, string(b))
			// Longer runs of token bytes, as in ids and queries.
			for i := range b {
				if rng.IntN(6) == 0 {
					b[i] = '&'
				} else {
					b[i] = "0123456789abcdef%"[rng.IntN(17)]
				}
			}
			urls = append(urls, string(b))
		}
	}
	return urls
}

// TestScanHits checks scanHitsGo's hits against a plain reading of the
// URL's tokens, and scanHits (assembly on amd64) against scanHitsGo step
// by step: the hits, the batches and edges it stops at, and the state it
// leaves, under bit sets that hold every token, none, and some.
func TestScanHits(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	var all, none, some [(tokenMask + 1) / 64]uint64
	var noEdges, allEdges, someEdges [(edgeMask + 1) / 64]uint64
	for i := range all {
		all[i], some[i] = ^uint64(0), rng.Uint64()&rng.Uint64()
	}
	for i := range allEdges {
		allEdges[i], someEdges[i] = ^uint64(0), rng.Uint64()&rng.Uint64()&rng.Uint64()
	}
	for _, s := range scanURLs() {
		// Every token counted, no edges: the hits are the tokens.
		var got []tokenHit
		steps := scanSteps(s, &all, &noEdges, scanHitsGo)
		for k, step := range steps {
			if step.code == scanDone && k < len(steps)-1 {
				continue // the chunk's end: its hits stay in the batch
			}
			if step.code == scanEdge {
				t.Fatalf("%.80q: scanEdge with an empty edge set", s)
			}
			if step.code == scanFull && step.nh != hitBatch {
				t.Fatalf("%.80q: scanFull with %d hits", s, step.nh)
			}
			got = append(got, step.hits...)
		}
		if want := naiveTokens(s); !slices.Equal(got, want) {
			t.Fatalf("%.80q: scanHitsGo read %d tokens, want %d\ngot  %v\nwant %v", s, len(got), len(want), got, want)
		}
		// Every token of 4 bytes or more an edge: each stops the scan, as
		// the last hit of its step.
		var edged []tokenHit
		for _, step := range scanSteps(s, &none, &allEdges, scanHitsGo) {
			if step.code == scanEdge {
				edged = append(edged, step.hits[len(step.hits)-1])
			}
		}
		var want []tokenHit
		for _, x := range naiveTokens(s) {
			if x.j-x.i >= edgeLen {
				want = append(want, x)
			}
		}
		if !slices.Equal(edged, want) {
			t.Fatalf("%.80q: %d edges, want %d", s, len(edged), len(want))
		}
		for _, sets := range []struct {
			name   string
			bitset *[(tokenMask + 1) / 64]uint64
			edges  *[(edgeMask + 1) / 64]uint64
		}{{"all", &all, &noEdges}, {"none", &none, &noEdges}, {"some", &some, &noEdges}, {"some+edges", &some, &someEdges}, {"all+edges", &all, &allEdges}} {
			a, g := scanSteps(s, sets.bitset, sets.edges, scanHits), scanSteps(s, sets.bitset, sets.edges, scanHitsGo)
			if len(a) != len(g) {
				t.Fatalf("%.80q, %s: scanHits took %d steps, scanHitsGo %d", s, sets.name, len(a), len(g))
			}
			for k := range a {
				if fmt.Sprint(a[k]) != fmt.Sprint(g[k]) {
					t.Fatalf("%.80q, %s, step %d:\nscanHits   %+v\nscanHitsGo %+v", s, sets.name, k, a[k], g[k])
				}
			}
		}
	}
}

// TestMatchAllocs checks that Match allocates nothing, on URLs whose
// tokens fill batches, meet an edge rule and cross scanChunk's blocks:
// its arrays (the hits, the token bits, the tokens seen) stay on the
// stack. (The chunk's bits once moved to the heap, when the state that
// points at them was handed to a method that kept the pointer.)
func TestMatchAllocs(t *testing.T) {
	db, _, err := ParseList(strings.NewReader("/pixel/track^\n%2fevent.gif%3f\n||tracker.example^\n/ads/*/banner\n"), "allocs.txt", FormatABP, "analytics")
	if err != nil {
		t.Fatal(err)
	}
	db.Freeze()
	for _, u := range []string{
		"https://cdn.example/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/pixel/track?x=1",
		"https://cdn.example/r?u=https%3a%2f%2fx.example%2fevent.gif%3fa",
		"https://cdn.example/" + strings.Repeat("a/", 1500) + "pixel/track",
		"https://cdn.example/x",
	} {
		q := &Request{URL: u, Host: "cdn.example", PageHost: "shop.example", Type: TypeImage}
		if n := testing.AllocsPerRun(20, func() { db.Match(q) }); n != 0 {
			t.Errorf("Match(%.60q) allocates %v times", u, n)
		}
	}
}

// TestIndexLit checks indexLit against strings.Index, and indexPair
// (assembly on amd64) against indexPairGo, on haystacks and needles of
// two- and three-letter alphabets, where candidates abound, at every
// length around the 16-byte steps and the 64-byte switch, each the start
// of a longer string.
func TestIndexLit(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, alpha := range []string{"ab", "a=b", "=x9"} {
		for n := 0; n <= 300; n++ {
			// The haystack is the start of a longer string, whose next
			// bytes a search that reads past its end would find.
			b := make([]byte, n+64)
			for range 8 {
				for i := range b {
					b[i] = alpha[rng.IntN(len(alpha))]
				}
				s := string(b)[:n]
				for off := 1; off < n && off < 40; off += 1 + off/8 {
					c0, c1 := alpha[rng.IntN(len(alpha))], alpha[rng.IntN(len(alpha))]
					if got, want := indexPair(unsafe.StringData(s), n, c0, c1, off), indexPairGo(unsafe.StringData(s), n, c0, c1, off); got != want {
						t.Fatalf("indexPair(%q, %q, %q, %d) = %d, indexPairGo %d", s, c0, c1, off, got, want)
					}
				}
				for m := 0; m <= 20 && m <= n+1; m++ {
					lit := make([]byte, m)
					for i := range lit {
						lit[i] = alpha[rng.IntN(len(alpha))]
					}
					if m > 0 && n > m && rng.IntN(2) == 0 {
						copy(lit, s[rng.IntN(n-m):]) // one that occurs
					}
					if got, want := indexLit(s, string(lit)), strings.Index(s, string(lit)); got != want {
						t.Fatalf("indexLit(%q, %q) = %d, strings.Index %d", s, lit, got, want)
					}
				}
			}
		}
	}
}

// TestIndexPairEnds checks indexPair at the end of its range, at every
// length around its steps: a pair whose second byte is the last of the
// haystack is found, and one whose second byte lies just past it, in the
// bytes of the longer string that follow, is not.
func TestIndexPairEnds(t *testing.T) {
	for n := 2; n <= 300; n++ {
		for _, off := range []int{1, 2, 7, 15, 16, 17, 33} {
			if off >= n {
				continue
			}
			b := []byte(strings.Repeat("x", n+64))
			b[n-off], b[n] = '=', '9' // just past the range
			s := string(b)[:n]
			if got := indexPair(unsafe.StringData(s), n, '=', '9', off); got != -1 {
				t.Fatalf("n %d off %d: indexPair found %d, past the range", n, off, got)
			}
			b[n-off-1], b[n-1] = '=', '9' // the range's last place
			s = string(b)[:n]
			if got := indexPair(unsafe.StringData(s), n, '=', '9', off); got != n-off-1 {
				t.Fatalf("n %d off %d: indexPair = %d, want %d", n, off, got, n-off-1)
			}
		}
	}
}

// TestOutcomeResultFields checks the functions that copy an answer
// field by field, setAnswer (through outcome.resultTo) and node.answerTo
// (a host node's entry), and those that turn an Entry into an answer and
// back (DB.answerOf, answer.entry): each names every field, and a field
// added to answer or Entry must be added there too.
func TestOutcomeResultFields(t *testing.T) {
	fields := func(ty reflect.Type) (names []string) {
		for f := range ty.Fields() {
			names = append(names, f.Name)
		}
		return names
	}
	for _, e := range []Entry{
		{Vendor: "v", Category: "c", Exception: true, Important: true, fromList: true},
		{Vendor: "v", Category: "c", fromList: true},
		{Category: "c", Important: true},
		{Vendor: "w", Exception: true},
	} {
		a := testAnswer(e)
		if got := a.entry(); got != e {
			t.Errorf("%+v as an answer and back: %+v", e, got)
		}
		o := outcome{hasImp: true, important: a}
		var got answer
		if ok := o.resultTo(&got); !ok || got != a {
			t.Errorf("resultTo of %+v: %+v %v", a, got, ok)
		}
		db := NewDB()
		db.AddHost("t.example", e)
		n, _ := db.hosts.get("t.example")
		got = answer{}
		if n.answerTo(&got); got.entry() != e {
			t.Errorf("answerTo of the node for %+v: %+v", e, got.entry())
		}
	}
	if f := fields(reflect.TypeFor[answer]()); !slices.Equal(f, []string{"vendor", "category", "flags"}) {
		t.Errorf("answer's fields are %v: setAnswer and node.answerTo copy vendor, category and flags", f)
	}
	if f := fields(reflect.TypeFor[Entry]()); !slices.Equal(f, []string{"Vendor", "Category", "Exception", "Important", "fromList"}) {
		t.Errorf("Entry's fields are %v: DB.answerOf and answer.entry turn Vendor, Category, Exception, Important and fromList into an answer and back", f)
	}
}

// TestTokenHashSpreads checks that tokens which end in the same bytes
// land apart in the token table: those longer than 8 bytes whose last 8
// are the same ("…nalytics"), told apart by their length alone, and
// tokens of 8 bytes that differ only in their first. A hash whose index
// bits took the word's low bytes alone put each group in one run of
// slots, which every lookup of a token ending so read to its end.
func TestTokenHashSpreads(t *testing.T) {
	var list strings.Builder
	var toks []string
	for n := 9; n <= 40; n++ {
		toks = append(toks, strings.Repeat("q", n-8)+"nalytics")
	}
	for c := byte('a'); c <= 'z'; c++ {
		toks = append(toks, string(c)+"tracker")
	}
	for _, tok := range toks {
		fmt.Fprintf(&list, "/%s.js\n", tok)
	}
	db, _, err := ParseList(strings.NewReader(list.String()), "spread.txt", FormatABP, "analytics")
	if err != nil {
		t.Fatal(err)
	}
	db.Freeze()
	tr := db.tokenRefs.Load()
	if tr == nil {
		t.Fatal("no token table")
	}
	m := uint32(len(tr.slots) - 1)
	longest := 0
	for _, tok := range toks {
		// The token's slot is the one find takes, the only one whose refs
		// begin where find says: its place in the token's run.
		h := tokenHash(tok)
		off, n := tr.find(h, tokenWord(tok), tok)
		if n == 0 {
			t.Fatalf("%q is not in the token table", tok)
		}
		probes := 1
		for i := h & m; tr.slots[i].off != off || tr.slots[i].n == 0; i = (i + 1) & m {
			probes++
		}
		longest = max(longest, probes)
	}
	// 58 tokens in a table at most half full: a hash that spreads them
	// finds each within a few slots.
	if longest > 6 {
		t.Errorf("a token is found at the %dth slot of its run, want at most 6: the hash does not spread tokens that end alike", longest)
	}
}
