package rewrite

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"reflect"
	"strings"
	"testing"
)

// syncContexts are beginnings of pages that leave a rewriter in many
// states: namespaces and integration points, select, template, frameset,
// open p elements, a base URL, a nonce, head or body, the loader placed
// or not. Some differ only where the state must not (attribute values,
// text, closed elements).
var syncContexts = []string{
	"",
	"<!doctype html><html><head>",
	"<!doctype html><html><head><title>Shop</title>",
	"<!doctype html><html><head><title>Other shop</title>",
	"<html><head></head><body>",
	"<body>",
	"<head><base href=/>",
	"<html><head></head><body class=home>",
	"<body><div>",
	"<body><div class=x>",
	"<body><div><div>",
	"<body><p>",
	"<body><p><span>",
	"<body><div><p></p>",
	"<body><table><tr><td>",
	"<body><select>",
	"<body><select><option>",
	"<body><template>",
	"<frameset>",
	"<body><svg>",
	"<body><svg><g>",
	"<body><svg><foreignObject>",
	"<body><svg><desc>",
	"<body><math>",
	"<body><math><mi>",
	"<body><math><mrow>",
	"<body><math><annotation-xml encoding=text/html>",
	"<body><math><annotation-xml>",
	"<body><svg></svg>",
	"<head><base href=https://tracker.example/>",
	"<head><base href=https://shop.example/sub/>",
	"<head><base href=https://tracker.example/><base href=https://shop.example/>",
	`<head><meta http-equiv=Content-Security-Policy content="script-src 'nonce-abc'">`,
	`<head><meta http-equiv=Content-Security-Policy content="script-src 'nonce-xyz'">`,
	"<head><img src=https://tracker.example/p.gif>",
	"<body><img src=https://tracker.example/p.gif>",
	"<body><img src=https://tracker.example/p.gif><div>",
	"<head><script>gtag('config','G-1')</script>",
	"<body><noscript></noscript>",
	"<body><iframe srcdoc='<p>x'></iframe>",
	"<body><xmp>x</xmp>",
}

// syncSuffixes are continuations whose rewrite depends on that state.
var syncSuffixes = []string{
	"<script src=https://tracker.example/a.js></script><p>after",
	"<img src=p.gif><img src=/q.gif>",
	"<base href=https://tracker.example/><img src=p.gif>",
	"<![CDATA[<script src=https://tracker.example/a.js></script>]]>",
	"<foreignObject><script src=https://tracker.example/a.js></script>",
	"<mi><script src=https://tracker.example/a.js></script>",
	"<style></select><script src=https://tracker.example/a.js></script>",
	"</template><script src=https://tracker.example/a.js></script>",
	"<xmp><frame src=https://tracker.example/f></xmp>",
	"</p><svg><p><script src=https://tracker.example/a.js></script>",
	"<textarea><script src=https://tracker.example/a.js></script></textarea>",
	"</svg></math><img src=https://tracker.example/p.gif>",
	"<title><img src=https://tracker.example/p.gif></title>",
	"</head><body><iframe src=https://tracker.example/f></iframe>",
	"<noscript><img src=https://tracker.example/p.gif></noscript>",
	"<p>text</p></body></html>",
}

// syncOptions are the option sets the states are taken under: with the
// loader and a flush after the beginning (which gives up the loader's
// place), and without a loader.
func syncOptions() map[string]Options {
	loader := func(token, nonce string) []byte {
		return []byte(`<script src="/_fp/c.js" nonce="` + nonce + `" data-fp-token="` + token + `"></script>`)
	}
	return map[string]Options{
		"loader":    {Policy: trackerPolicy(Defer), PageURL: pageURL, Token: "tok", Loader: loader, ReportFindings: true},
		"no-loader": {Policy: trackerPolicy(Remove), PageURL: pageURL, Token: "tok", ReportFindings: true},
	}
}

// syncPoint is a beginning of a page and the state a rewriter is in after it.
type syncPoint struct {
	name   string
	prefix []byte
	flush  bool
}

// continuation rewrites prefix (then flushes, if asked) and returns the
// state after it, and what the rewriter writes and counts for suffix.
func continuation(t *testing.T, opts Options, p syncPoint, suffix []byte) (state string, ok bool, out string, counts any) {
	var buf bytes.Buffer
	w := NewWriter(&buf, opts)
	if _, err := w.Write(p.prefix); err != nil {
		t.Fatal(err)
	}
	if p.flush {
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	st, ok := w.SyncState(nil)
	n := buf.Len()
	before := w.Stats().Clone()
	if _, err := w.Write(suffix); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return string(st), ok, buf.String()[n:], statsValues(w.Stats().Since(before))
}

// statsValues is everything a Stats counts, as plain values.
func statsValues(s *Stats) any {
	cats, vendors := map[string]Counts{}, map[string]Counts{}
	for k, c := range s.Categories {
		cats[k] = *c
	}
	for k, c := range s.Vendors {
		vendors[k] = *c
	}
	return fmt.Sprint(s.Elements, s.Actions, cats, vendors, s.FailClosed, s.LoaderInserted, s.BytesIn, s.BytesOut, s.Findings(), s.Mentions())
}

// syncPointAfter rewrites p's beginning (then flushes, if asked) and
// returns the SyncPoint the Writer is at, if any.
func syncPointAfter(opts Options, p syncPoint) (*SyncPoint, bool) {
	w := NewWriter(io.Discard, opts)
	w.Write(p.prefix)
	if p.flush {
		w.Flush()
	}
	return w.SyncPoint()
}

// syncBeginnings returns the beginnings the sync tests start from (every
// context and pair of contexts, with and without a flush, and every
// every-th '<' of the shop page and of the adversarial rows), and the
// suffixes they go on with (the syncSuffixes and the second half of the
// shop page).
func syncBeginnings(every int) (points []syncPoint, suffixes [][]byte) {
	for _, a := range syncContexts {
		for _, b := range append([]string{""}, syncContexts...) {
			for _, flush := range []bool{false, true} {
				points = append(points, syncPoint{name: fmt.Sprintf("%q+%q flush=%v", a, b, flush), prefix: []byte(a + b), flush: flush})
			}
		}
	}
	shop := shopPage(20 << 10)
	rows := []byte(expandT(strings.Join(adversarial, "\n")))
	for name, page := range map[string][]byte{"shop": shop, "rows": rows} {
		n := 0
		for i := 0; i < len(page); i++ {
			if page[i] == '<' {
				if n++; n%every == 0 {
					points = append(points, syncPoint{name: fmt.Sprintf("%s[:%d]", name, i), prefix: page[:i]})
				}
			}
		}
	}
	suffixes = [][]byte{shop[len(shop)/2:]}
	for _, s := range syncSuffixes {
		suffixes = append(suffixes, []byte(s))
	}
	return points, suffixes
}

// TestSyncState checks the promise of SyncState: rewriters in equal states
// write and count the same for the same input. The beginnings are every
// context above and every pair of them, and every '<' of the shop page and
// of the adversarial rows; two beginnings with equal states must give the
// same continuation for every suffix (and the rest of the shop page). A
// state that left out what decides a continuation fails here.
func TestSyncState(t *testing.T) {
	points, suffixes := syncBeginnings(1)
	for oname, opts := range syncOptions() {
		groups := map[string][]syncPoint{}
		quiet := 0
		for _, p := range points {
			if st, ok, _, _ := continuation(t, opts, p, nil); ok {
				groups[st] = append(groups[st], p)
				quiet++
			}
		}
		pairs := 0
		for _, g := range groups {
			// Each member against the first, on every suffix; groups of
			// page positions are sampled, as they hold thousands.
			step := max(1, len(g)/40)
			for i := step; i < len(g); i += step {
				pairs++
				for _, s := range suffixes {
					_, _, want, wantCounts := continuation(t, opts, g[0], s)
					_, _, got, gotCounts := continuation(t, opts, g[i], s)
					if got != want || !reflect.DeepEqual(gotCounts, wantCounts) {
						t.Errorf("%s: %s and %s have one state, but after them\n%q\nbecomes\n%q\n%v\nand\n%q\n%v", oname, g[0].name, g[i].name,
							s[:min(len(s), 200)], want[:min(len(want), 300)], wantCounts, got[:min(len(got), 300)], gotCounts)
						return
					}
				}
			}
		}
		t.Logf("%s: %d beginnings, %d at a sync point, %d states, %d pairs compared", oname, len(points), quiet, len(groups), pairs)
		if len(groups) < 60 || pairs < 200 {
			t.Errorf("%s: %d states and %d pairs: the test does not exercise the state", oname, len(groups), pairs)
		}
	}
}

// TestSyncStateQuiet checks where there is no sync point: inside raw text,
// a comment, a held script, an unfinished tag, and while the loader's
// place is held.
func TestSyncStateQuiet(t *testing.T) {
	opts := syncOptions()["loader"]
	for _, prefix := range []string{
		"<body><script>var a = 1;",
		"<body><style>a{}",
		"<body><textarea>x",
		"<body><!-- x",
		"<body><img src=https://tracker.example/p.gif",
		"<body><plaintext>",
		"<!doctype html><html><head>", // the loader's place is held
	} {
		if _, ok, _, _ := continuation(t, opts, syncPoint{prefix: []byte(prefix)}, nil); ok {
			t.Errorf("a sync point after %q", prefix)
		}
	}
	if _, ok, _, _ := continuation(t, opts, syncPoint{prefix: []byte("<!doctype html><html><head><title>x</title>"), flush: true}, nil); !ok {
		t.Error("no sync point in the head after a flush")
	}
}

// TestStatsSince checks that the counts of a page are those up to any
// point plus those after it, and that a clone does not move with them.
func TestStatsSince(t *testing.T) {
	page := shopPage(30 << 10)
	opts := Options{Policy: shopPolicy(Defer), PageURL: benchPageURL, ReportMentions: true, ReportFindings: true, Loader: syncOptions()["loader"].Loader}
	var full Stats
	{
		w := NewWriter(&bytes.Buffer{}, opts)
		if _, err := w.Write(page); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		full = *w.Stats()
	}
	if full.Changed() == 0 || len(full.Findings()) < 3 || !full.LoaderInserted {
		t.Fatalf("the shop page changed %d elements, %d findings", full.Changed(), len(full.Findings()))
	}
	for _, cut := range []int{0, 1000, len(page) / 3, len(page) / 2, len(page)} {
		w := NewWriter(&bytes.Buffer{}, opts)
		if _, err := w.Write(page[:cut]); err != nil {
			t.Fatal(err)
		}
		snap := w.Stats().Clone()
		snapView := statsValues(snap)
		if snap.Changes() != w.Stats().Changes() {
			t.Errorf("cut %d: a clone has %d changes, its original %d", cut, snap.Changes(), w.Stats().Changes())
		}
		if _, err := w.Write(page[cut:]); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if statsValues(snap) != snapView {
			t.Errorf("cut %d: the clone changed with the rewrite", cut)
		}
		since := w.Stats().Since(snap)
		if since.LoaderInserted != (w.Stats().LoaderInserted && !snap.LoaderInserted) {
			t.Errorf("cut %d: the loader counted as inserted since: %v", cut, since.LoaderInserted)
		}
		if (since.Changes() == 0) != (statsValues(&Stats{Elements: since.Elements, BytesIn: since.BytesIn, BytesOut: since.BytesOut}) == statsValues(since)) {
			t.Errorf("cut %d: %d changes since, for counts %v", cut, since.Changes(), statsValues(since))
		}
		sum := snap.Clone()
		sum.Merge(since)
		if got, want := statsValues(sum), statsValues(&full); got != want {
			t.Errorf("cut %d: counts up to it plus those since are\n%v\nwant\n%v", cut, got, want)
		}
		// MergeSince adds the same without the copy, to counts that
		// have the loader already among them too.
		sum = snap.Clone()
		sum.MergeSince(w.Stats(), snap)
		if got, want := statsValues(sum), statsValues(&full); got != want {
			t.Errorf("cut %d: counts up to it with MergeSince those after are\n%v\nwant\n%v", cut, got, want)
		}
		if sum.MergeSince(w.Stats(), w.Stats()); statsValues(sum) != statsValues(&full) {
			t.Errorf("cut %d: MergeSince of counts since themselves added something", cut)
		}
	}
}

// TestNewWriterAt checks that a Writer started from a SyncPoint goes on as
// the Writer it was taken from: the same state at once, and the same
// output and counts for every suffix, from every context and pair of
// contexts above and from every tenth '<' of the shop page and the rows.
func TestNewWriterAt(t *testing.T) {
	points, suffixes := syncBeginnings(10)
	for oname, opts := range syncOptions() {
		restored, reset, refused := 0, 0, 0
		for _, p := range points {
			for _, s := range suffixes {
				state, ok, want, wantCounts := continuation(t, opts, p, s)
				if !ok {
					break
				}
				sp, ok := syncPointAfter(opts, p)
				if !ok || string(sp.Key()) != state {
					t.Fatalf("%s: %s: SyncPoint %v, key %q; SyncState %q", oname, p.name, ok, sp.Key(), state)
				}
				var buf bytes.Buffer
				r := NewWriterAt(&buf, opts, sp)
				if now, _ := r.SyncState(nil); string(now) != state {
					t.Fatalf("%s: %s: started in state %q, not %q", oname, p.name, now, state)
				}
				if _, err := r.Write(s); err != nil {
					t.Fatal(err)
				}
				if err := r.Close(); err != nil {
					t.Fatal(err)
				}
				if got, gotCounts := buf.String(), statsValues(r.Stats()); got != want || gotCounts != wantCounts {
					t.Fatalf("%s: started after %s, the rewrite of\n%q\nis\n%q\n%v\nnot\n%q\n%v", oname, p.name, s[:min(len(s), 200)], got[:min(len(got), 300)], gotCounts, want[:min(len(want), 300)], wantCounts)
				}
				if restored%4 == 0 {
					if resetAt(t, opts, points[(restored/4)%len(points)].prefix, sp, s, want, r.Stats()) {
						reset++
					} else {
						refused++
					}
				}
				restored++
			}
		}
		t.Logf("%s: %d continuations from a restored Writer, %d from a reset one, %d from one that refused the reset", oname, restored, reset, refused)
		if restored < 5000 || reset < 1000 || refused < 1000 {
			t.Errorf("%s: only %d continuations compared, %d reset, %d refused", oname, restored, reset, refused)
		}
	}
}

// TestSyncNonce checks that a nonce from the Options is the Writer's own,
// as its Token is: Writers with different nonces are in the same states
// at the same places, one started from (or reset to) another's state
// writes its own nonce into the loader, and one without a nonce is never
// in a state of one with.
func TestSyncNonce(t *testing.T) {
	base := syncOptions()["loader"]
	withNonce := func(n string) Options { o := base; o.Nonce = n; return o }
	a, b := withNonce("nonceAAAA"), withNonce("nonceBBBB")
	points, suffixes := syncBeginnings(10)
	compared, withLoader := 0, 0
	for _, p := range points {
		stA, okA, _, _ := continuation(t, a, p, nil)
		stB, okB, _, _ := continuation(t, b, p, nil)
		stNone, _, _, _ := continuation(t, base, p, nil)
		if okA != okB || stA != stB {
			t.Fatalf("%s: nonces A and B give states %q (%v) and %q (%v)", p.name, stA, okA, stB, okB)
		}
		if !okA {
			continue
		}
		if stA == stNone {
			t.Fatalf("%s: the state with a nonce is the state without: %q", p.name, stA)
		}
		sp, _ := syncPointAfter(a, p)
		for _, s := range suffixes {
			_, _, want, _ := continuation(t, b, p, s)
			var buf bytes.Buffer
			r := NewWriterAt(&buf, b, sp)
			if _, err := r.Write(s); err != nil {
				t.Fatal(err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != want {
				t.Fatalf("%s: started from nonce A's state, nonce B's Writer wrote\n%q\nnot\n%q", p.name, got[:min(len(got), 300)], want[:min(len(want), 300)])
			}
			// One that rewrote something else first, reset there.
			var rbuf bytes.Buffer
			x := NewWriter(&rbuf, b)
			x.Write([]byte("<body><p>x</p>"))
			if err := x.Flush(); err != nil {
				t.Fatal(err)
			}
			if !x.ResetAt(sp) {
				t.Fatal("no reset after a paragraph and a flush")
			}
			rbuf.Reset()
			x.Write(s)
			if err := x.Close(); err != nil {
				t.Fatal(err)
			}
			if got := rbuf.String(); got != want {
				t.Fatalf("%s: reset to nonce A's state, nonce B's Writer wrote\n%q\nnot\n%q", p.name, got[:min(len(got), 300)], want[:min(len(want), 300)])
			}
			if strings.Contains(want, "nonceBBBB") {
				withLoader++
			}
			if strings.Contains(want, "nonceAAAA") {
				t.Fatalf("%s: nonce B's rewrite holds nonce A", p.name)
			}
			compared++
		}
	}
	t.Logf("%d continuations compared, %d with the loader in them", compared, withLoader)
	if compared < 1000 || withLoader < 100 {
		t.Errorf("only %d continuations compared, %d with the loader", compared, withLoader)
	}
}

// TestResetAtFields keeps ResetAt whole: it does not zero the Writer, so
// every field of a Writer must be one it sets, one that is empty or zero
// wherever ResetAt is allowed (synced), or one that is scratch memory,
// options or counts it may keep. A field added to the Writer fails here
// until it is placed. After Writers that rewrote the beginnings of the
// sync tests are reset, the fields it sets and those that must be empty
// are checked.
func TestResetAtFields(t *testing.T) {
	const (
		set     = "set by ResetAt"
		empty   = "empty or zero at a sync point"
		scratch = "scratch memory, options or counts, kept"
	)
	fields := map[string]string{
		"carried": set, "lastFail": set, "ownAsked": set, "ownKinds": scratch, "ownMarkers": scratch, "ownStop": scratch, "heldLen": set, "holdAt": set, "strongest": set,
		"buf": empty, "out": empty, "pend": empty, "raw": empty, "disp": empty, "held": empty, "nested": empty,
		"isNested": empty, "nest": empty, "svgStyle": empty, "deciding": empty, "holding": empty, "err": empty, "closed": empty, "lateBase": empty, "noscriptBase": empty, "breaksOut": scratch, "scanURLs": scratch,
		"w": scratch, "opts": scratch, "max": scratch, "stats": scratch, "bufBox": scratch, "outBox": scratch, "heldBox": scratch,
		"names": scratch, "tg": scratch, "scan": scratch, "heldTg": scratch, "attrBuf": scratch, "spare": scratch,
		"sink": scratch, "spareAdd": scratch, "refs": scratch, "replaced": scratch, "decoded": scratch, "url": scratch, "res": scratch, "arena": scratch,
		"urls": scratch, "fixed": scratch, "facts": scratch, "seen": scratch, "usualOff": scratch, "nestedOut": scratch, "nestedOutBox": scratch,
		// heldKind says what held holds, and is set with it; tagHeld and
		// tagHeldD are set at every script and style start tag that
		// reads them.
		"heldKind": scratch, "heldSrc": scratch, "heldHasSrc": scratch, "tagHeld": scratch, "tagHeldD": scratch,
		// enc and guess are Options.Encoding's, kept with the options.
		"enc": scratch, "guess": scratch, "utf8Out": scratch,
	}
	typ := reflect.TypeOf(Writer{})
	for i := range typ.NumField() {
		if _, ok := fields[typ.Field(i).Name]; !ok {
			t.Errorf("Writer.%s: ResetAt neither sets it nor may keep it; place it in ResetAt and here", typ.Field(i).Name)
		}
	}
	if len(fields) != typ.NumField() {
		t.Errorf("%d fields placed, the Writer has %d", len(fields), typ.NumField())
	}
	opts := syncOptions()["loader"]
	sp, ok := syncPointAfter(opts, syncPoint{prefix: []byte("<!doctype html><html><head><title>x</title>"), flush: true})
	if !ok {
		t.Fatal("no sync point in the head after a flush")
	}
	want := reflect.ValueOf(NewWriterAt(io.Discard, opts, sp)).Elem()
	reset := 0
	points, _ := syncBeginnings(3)
	for _, p := range points {
		w := NewWriter(io.Discard, opts)
		w.Write(p.prefix)
		if p.flush {
			w.Flush()
		}
		if !w.ResetAt(sp) {
			continue
		}
		reset++
		got := reflect.ValueOf(w).Elem()
		for i := range typ.NumField() {
			f := typ.Field(i).Name
			switch fields[f] {
			case set:
				if f == "carried" {
					if st, _ := w.SyncState(nil); string(st) != string(sp.Key()) {
						t.Fatalf("after %s, reset to state %q, not %q", p.name, st, sp.Key())
					}
				} else if !got.Field(i).Equal(want.Field(i)) {
					t.Fatalf("after %s, reset: %s is %v, not %v", p.name, f, got.Field(i), want.Field(i))
				}
			case empty:
				if v := got.Field(i); (v.Kind() == reflect.Slice && v.Len() != 0) || (v.Kind() != reflect.Slice && !v.IsZero()) {
					t.Fatalf("after %s, reset: %s is %v", p.name, f, v)
				}
			}
		}
	}
	t.Logf("%d Writers reset", reset)
	if reset < 1000 {
		t.Errorf("only %d Writers reset", reset)
	}
}

// resetAt checks that a Writer that rewrote other first, reset at sp,
// writes want for s, and adds counts to what it counted for other. One
// whose state is not all there is after other is not reset: it goes on as
// if ResetAt had not been called. It reports whether x was reset.
func resetAt(t *testing.T, opts Options, other []byte, sp *SyncPoint, s []byte, want string, counts *Stats) bool {
	t.Helper()
	var buf bytes.Buffer
	x := NewWriter(&buf, opts)
	if _, err := x.Write(other); err != nil {
		t.Fatal(err)
	}
	before := x.Stats().Clone()
	_, synced := x.SyncState(nil)
	if ok := x.ResetAt(sp); ok != synced {
		t.Fatalf("ResetAt after %q: %v, but SyncState %v", other[max(0, len(other)-80):], ok, synced)
	}
	if !synced {
		var ref bytes.Buffer
		y := NewWriter(&ref, opts)
		if _, err := y.Write(other); err != nil {
			t.Fatal(err)
		}
		for _, w := range []*Writer{x, y} {
			if _, err := w.Write(s); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if buf.String() != ref.String() || statsValues(x.Stats()) != statsValues(y.Stats()) {
			t.Fatalf("a Writer ResetAt refused went on otherwise than one never asked")
		}
		return false
	}
	if now, _ := x.SyncState(nil); string(now) != string(sp.Key()) {
		t.Fatalf("reset to state %q, not %q", now, sp.Key())
	}
	buf.Reset()
	if _, err := x.Write(s); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	before.Merge(counts)
	if got := buf.String(); got != want {
		t.Fatalf("reset after %q, the rewrite of\n%q\nis\n%q\nnot\n%q", other[max(0, len(other)-80):], s[:min(len(s), 200)], got[:min(len(got), 300)], want[:min(len(want), 300)])
	}
	if got, want := statsValues(x.Stats()), statsValues(before); got != want {
		t.Fatalf("reset after %q: counts\n%v\nnot those before plus those after\n%v", other[max(0, len(other)-80):], got, want)
	}
	return true
}

// TestNodeFlags checks what Writer.endName relies on: every open element
// carries the flags parseTagName gives its name, so that an end tag that
// closes the element on top is handled as if its name had been looked up.
// It writes pages a byte at a time and checks the stack after each byte:
// elements of every kind the tree pushes (plain, counted, scoping, table,
// list, svg and math, integration points), and the html5lib inputs when
// ../shared is present.
func TestNodeFlags(t *testing.T) {
	pages := map[string][]byte{"built": []byte(`<!DOCTYPE html><html><head><title>x</title></head><body><div><p>a<table><caption>c</caption><tbody><tr><td><select><option>o<optgroup></select></td></tr></tbody></table>` +
		`<ul><li>1<li>2</ul><dl><dt>t<dd>d</dl><template><span>t</span></template><object><marquee><applet></applet></marquee></object>` +
		`<svg><g><foreignObject><p>in</p></foreignObject><desc>d</desc></g></svg><math><mi>x</mi><annotation-xml encoding="text/html"><div>h</div></annotation-xml></math>` +
		`<button><p>b</button><frameset></frameset><custom-el><b><i>x</i></b></custom-el></p></div></body></html>`)}
	if testing.Short() {
		t.Log("-short: the built page only")
	} else if files, err := readCorpus("corpus/html5lib", ".html"); errors.Is(err, fs.ErrNotExist) {
		t.Log("../shared absent: the built page only")
	} else if err != nil {
		t.Fatal(err)
	} else {
		maps.Copy(pages, files)
	}
	var names nameCache
	for name, page := range pages {
		w := NewWriter(io.Discard, Options{})
		for i := range page {
			if _, err := w.Write(page[i : i+1]); err != nil {
				break
			}
			for _, n := range w.tree.stack {
				var tg tag
				parseTagName(&tg, []byte("</"+n.name+">"), &names)
				if tg.name != n.name || tg.flags != n.flags {
					t.Fatalf("%s, after byte %d: open <%s> carries flags %#x; parseTagName gives %q, %#x", name, i, n.name, n.flags, tg.name, tg.flags)
				}
			}
		}
		w.Close()
	}
}
