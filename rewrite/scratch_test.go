package rewrite

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// scratchPage is a page whose inline script is about size bytes of
// string literals numbered n, with a style block after it, and a
// noscript and a srcdoc in its body: the script and the srcdoc name a
// tracker's host on even pages (deferred by shopPolicy) and none on odd
// ones, so that two pages' outputs differ where a Writer read another's
// scratch.
func scratchPage(n, size int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html><html><head><title>p%d</title><script>var v%d=[", n, n)
	if n%2 == 0 {
		b.WriteString(`"https://connect.facebook.net/en_US/fbevents.js",`)
	}
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `"page %d value %d",`, n, i)
	}
	fmt.Fprintf(&b, `""];</script><style>.p%d{background:url("/img/%d.png")}</style>`, n, n)
	// Nested documents, whose Writers pass from page to page too
	// (nestedPool), the srcdoc naming the tracker on the even pages.
	fmt.Fprintf(&b, "</head><body><p>page %d</p><noscript><script>var n%d=%d</script><img src=\"/img/n%d.png\"></noscript>", n, n, n, n)
	if n%2 == 0 {
		b.WriteString(`<iframe srcdoc="&lt;script src=&quot;https://connect.facebook.net/en_US/fbevents.js&quot;&gt;&lt;/script&gt;"></iframe>`)
	} else {
		fmt.Fprintf(&b, `<iframe srcdoc="&lt;p&gt;frame %d&lt;/p&gt;"></iframe>`, n)
	}
	b.WriteString("</body></html>")
	return []byte(b.String())
}

// TestScratchReused checks that a Writer takes the scratch memory an
// earlier, closed one gave back (scratchPools): rewriting a page whose
// script is 400 KB of strings allocates a small part of that once the
// pool holds the buffers a rewrite grows (28 KB when written), where each
// Writer grew them again (the held bytes, the facts' strings and the
// lexer's copy: 4.3 MB a rewrite). Counted in bytes, each rewrite's
// fewest of ten, so that a collection that empties the pool does not
// decide it.
func TestScratchReused(t *testing.T) {
	page := scratchPage(2, 400<<10)
	pol := shopPolicy(Defer)
	if err := rewriteWith(io.Discard, page, pol, nil); err != nil {
		t.Fatal(err)
	}
	fewest := fewestAllocated(t, page, pol)
	if limit := uint64(len(page)) / 2; fewest > limit {
		t.Errorf("a rewrite of a %d-byte page allocated at least %d bytes (each of ten): the scratch is not reused (limit %d)", len(page), fewest, limit)
	}
}

// fewestAllocated is the fewest bytes a rewrite of page allocates in ten,
// with no FactsCache: a collection that empties the pools during one
// does not decide it.
func fewestAllocated(t *testing.T, page []byte, pol Policy) uint64 {
	t.Helper()
	fewest := uint64(1 << 62)
	var m0, m1 runtime.MemStats
	for range 10 {
		runtime.ReadMemStats(&m0)
		if err := rewriteWith(io.Discard, page, pol, nil); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&m1)
		fewest = min(fewest, m1.TotalAlloc-m0.TotalAlloc)
	}
	return fewest
}

// TestStyleScratchReused checks that a style block is read where it is
// held, with no FactsCache to spare the lexing: decideStyle views the
// held bytes and the CSS lexer reads from the scratch that scripts' lexing
// uses (factScratch.cssURLsIn), and written out past the loader's hold
// window as it lies (emitNow). A 400 KB block allocated 1.8 MB a rewrite
// when it was copied into a string, into bytes and again for the lexer's
// NUL, and onto the held output; counted as TestScratchReused counts.
func TestStyleScratchReused(t *testing.T) {
	var b strings.Builder
	// In the body: a head's bytes wait in the output until the loader's
	// place is settled, and that buffer grows with them.
	b.WriteString(`<!doctype html><html><head><title>s</title></head><body><p>styled</p><style>.a{background:url("/img/a.png")}`)
	for i := 0; b.Len() < 400<<10; i++ {
		fmt.Fprintf(&b, ".c%d{color:#%06x;margin:%dpx}\n", i, i, i%40)
	}
	b.WriteString(`</style></body></html>`)
	page := []byte(b.String())
	pol := shopPolicy(Defer)
	var out bytes.Buffer
	if err := rewriteWith(&out, page, pol, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), page) {
		t.Fatal("a page with only its own URLs changed: the test does not test")
	}
	fewest := fewestAllocated(t, page, pol)
	if limit := uint64(len(page)) / 2; fewest > limit {
		t.Errorf("a rewrite of a page with a %d-byte style block allocated at least %d bytes (each of ten): the block is copied (limit %d)", len(page), fewest, limit)
	}
	t.Logf("a rewrite of a page with a %d-byte style block: %d bytes allocated (the fewest of ten)", len(page), fewest)
}

// TestNestedWriterPooled checks that a page's nested documents (a
// noscript, a srcdoc) are read by a Writer kept from an earlier page
// (nestedPool, putNested), with the facts' scratch it had (init): the
// page allocates less beyond the same page without them than one Writer
// takes, where each page made a new one. (TestScratchKinds holds the
// buffer of a srcdoc's rewrite coming back to its pool.)
func TestNestedWriterPooled(t *testing.T) {
	const doc = `<!doctype html><html><head><title>n</title></head><body><p>a</p>%s</body></html>`
	// The srcdoc names a tracker, so its rewrite differs from it.
	nested := []byte(fmt.Sprintf(doc, `<noscript><img src="/img/n.png"><script>var a="b",c="d"</script></noscript><iframe srcdoc="&lt;p&gt;in&lt;/p&gt;&lt;script src=&quot;https://connect.facebook.net/en_US/fbevents.js&quot;&gt;&lt;/script&gt;"></iframe>`))
	plain := []byte(fmt.Sprintf(doc, ""))
	pol := shopPolicy(Defer)
	for _, page := range [][]byte{nested, plain} {
		if err := rewriteWith(io.Discard, page, pol, nil); err != nil {
			t.Fatal(err)
		}
	}
	extra := int64(fewestAllocated(t, nested, pol)) - int64(fewestAllocated(t, plain, pol))
	if size := int64(unsafe.Sizeof(Writer{})); extra >= size {
		t.Errorf("a noscript and a srcdoc took %d bytes more than none, a %d-byte Writer or more: the nested Writer is not kept", extra, size)
	}
	t.Logf("a noscript and a srcdoc: %d bytes more than none", extra)
}

// TestNestedFactsKept checks that a page's spare nested Writer keeps its
// facts' scratch (the identifiers' map) from one noscript to the next
// (init), where it made them again for each.
func TestNestedFactsKept(t *testing.T) {
	w := NewWriter(io.Discard, Options{Policy: shopPolicy(Defer), PageURL: benchPageURL, Token: "t"})
	if _, err := w.Write([]byte(`<!doctype html><title>f</title><p>a</p><noscript><script>var a=1</script></noscript><p>b</p>`)); err != nil {
		t.Fatal(err)
	}
	spare := w.spare
	if spare == nil || spare.facts.seen == nil {
		t.Fatal("no spare Writer with the facts of a noscript's script: the test does not test")
	}
	seen := reflect.ValueOf(spare.facts.seen).UnsafePointer()
	if _, err := w.Write([]byte(`<noscript><script>var b=2</script></noscript><p>c</p>`)); err != nil {
		t.Fatal(err)
	}
	if w.spare != spare {
		t.Fatal("the second noscript did not take the page's spare Writer")
	}
	if reflect.ValueOf(w.spare.facts.seen).UnsafePointer() != seen {
		t.Error("the spare Writer made its facts' map again")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.spare != nil {
		t.Error("a closed page still holds its spare Writer (putNested)")
	}
}

// TestScratchKeptBounded checks that a Writer whose held bytes grew past
// scratchKeep (a script under a raised MaxTokenSize) does not give them to
// the pool, which would keep them for later Writers.
func TestScratchKeptBounded(t *testing.T) {
	page := scratchPage(2, scratchKeep+(256<<10))
	w := NewWriter(io.Discard, Options{Policy: shopPolicy(Defer), PageURL: benchPageURL, Token: "t", MaxTokenSize: 4 << 20})
	if _, err := w.Write(page); err != nil {
		t.Fatal(err)
	}
	if c := cap(w.held); c <= scratchKeep {
		t.Fatalf("the held script grew to %d bytes, not past scratchKeep: the test does not test", c)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.held != nil || w.heldBox != nil || w.facts.arena != nil || w.facts.lex != nil {
		t.Error("a closed Writer still holds scratch")
	}
	for set := range scratchPools {
		for k := range scratchKinds {
			for range 64 {
				if b := scratchPools[set][k].Get().(*[]byte); cap(*b) > scratchKeep {
					t.Fatalf("pool %d of set %d holds a %d-byte buffer, over scratchKeep (%d)", k, set, cap(*b), scratchKeep)
				}
			}
		}
	}
}

// TestScratchKinds checks that each kind of scratch goes back to a pool
// of its own, and a nested document's to a set of its own (scratchPools):
// in one pool, a page's held bytes were given a nested document's few
// bytes, or the facts' strings', and grew again. After a page with a 300
// KB script and an iframe whose srcdoc holds a small one, each pool holds
// what its kind grew to.
func TestScratchKinds(t *testing.T) {
	// A sync.Pool keeps what is put back for the P that put it, until a
	// collection: one P, and no collection until the pools are read, or a
	// Get on another P, or after a collection, finds nothing (it failed so
	// under qemu-arm in CI, every pool empty).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	// Empty the pools: what comes back after the page is the page's. An
	// empty pool gives a box with no buffer.
	for set := range scratchPools {
		for k := range scratchKinds {
			for *scratchPools[set][k].Get().(*[]byte) != nil {
			}
		}
	}
	page := []byte(string(scratchPage(2, 300<<10)) + `<iframe srcdoc="<script>var a=1</script>"></iframe>`)
	// scratchPage's srcdoc on an even page names a tracker: its rewrite
	// differs, and is written from the page's own buffer (nestedOut).
	if err := rewriteWith(io.Discard, page, shopPolicy(Defer), nil); err != nil {
		t.Fatal(err)
	}
	// The capacity of what came back to a pool, 0 for nothing.
	capOf := func(set int, k scratchKind) int { return cap(*scratchPools[set][k].Get().(*[]byte)) }
	held, arena, lex := capOf(0, scratchHeld), capOf(0, scratchArena), capOf(0, scratchLex)
	nHeld, nLex := capOf(1, scratchHeld), capOf(1, scratchLex)
	if held < 300<<10 || lex < 300<<10 {
		t.Errorf("the page's held bytes came back at %d bytes and the lexer's copy at %d, not the 300 KB script's", held, lex)
	}
	if arena == 0 {
		t.Error("the facts' strings came back to no pool of theirs")
	}
	if out := capOf(0, scratchOut); out == 0 {
		t.Error("the srcdoc's rewrite came back to no pool of its own")
	}
	if nHeld == 0 || nHeld >= 4<<10 || nLex == 0 || nLex >= 4<<10 {
		t.Errorf("the nested document's held bytes came back at %d bytes and its lexer's copy at %d, not its small script's", nHeld, nLex)
	}
}

// TestScratchConcurrent rewrites pages of different scripts and styles
// from eight goroutines, which pass scratch memory to each other through
// the pools (run it with -race): each output equals the page's serial one.
func TestScratchConcurrent(t *testing.T) {
	pol := shopPolicy(Defer)
	var pages, want [][]byte
	for n := range 6 {
		p := scratchPage(n, (20+30*n)<<10)
		var out bytes.Buffer
		if err := rewriteWith(&out, p, pol, nil); err != nil {
			t.Fatal(err)
		}
		pages, want = append(pages, p), append(want, out.Bytes())
	}
	if bytes.Equal(want[0][:200], want[1][:200]) {
		t.Fatal("an even and an odd page begin alike: the test does not tell them apart")
	}
	concurrently(t, func(g, i int) string {
		n := (g + i) % len(pages)
		var out bytes.Buffer
		if err := rewriteWith(&out, pages[n], pol, nil); err != nil {
			return err.Error()
		}
		if !bytes.Equal(out.Bytes(), want[n]) {
			return fmt.Sprintf("page %d: the output differs from its serial rewrite", n)
		}
		return ""
	})
}

// concurrently runs step(g, i) for i from 0 to 29 in each of eight
// goroutines g, each stopping at its first failure (a non-empty
// message), and fails t with the messages.
func concurrently(t *testing.T, step func(g, i int) string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				if msg := step(g, i); msg != "" {
					errs <- msg
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
