package blocklists

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// TestHostTable checks the table against a Go map: every key added is
// found with its node, through every growth, in order of insertion, and
// keys that were never added (prefixes, suffixes and near misses of the
// keys) are not.
func TestHostTable(t *testing.T) {
	var tab hostTable
	want := map[string]node{}
	var order []string
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		k := randomHost(r)
		if i%7 == 0 && len(order) > 0 {
			k = order[r.IntN(len(order))] // an update
		}
		n := tab.ref(k)
		if _, ok := want[k]; !ok {
			order = append(order, k)
			if *n != (node{}) {
				t.Fatalf("ref(%q) of a new key gave %+v", k, *n)
			}
		}
		n.vendor, n.rules = uint32(i), int32(i)
		want[k] = *n
	}
	if tab.len() != len(want) || !slicesEqual(tab.keys, order) {
		t.Fatalf("table holds %d keys (order kept: %v), want %d", tab.len(), slicesEqual(tab.keys, order), len(want))
	}
	if load := float64(tab.len()) / float64(len(tab.slots)); load > 0.5 {
		t.Errorf("load %.2f over a half", load)
	}
	for k, n := range want {
		if got, ok := tab.get(k); !ok || got != n {
			t.Fatalf("get(%q) = %+v, %v; want %+v", k, got, ok, n)
		}
		if k == "" {
			continue
		}
		for _, miss := range []string{k[1:], k + ".", "x" + k, k[:len(k)-1] + "#"} {
			if _, in := want[miss]; in {
				continue
			}
			if got, ok := tab.get(miss); ok {
				t.Fatalf("get(%q), never added, = %+v", miss, got)
			}
		}
	}
	var empty hostTable
	if _, ok := empty.get("example.com"); ok {
		t.Error("the zero table found a key")
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

// randomHost is a host of 1 to 9 labels, of 0 to 20 bytes each, some of
// them long: lengths that put dots at every place in the hash's words.
func randomHost(r *rand.Rand) string {
	var b strings.Builder
	for l := range 1 + r.IntN(9) {
		if l > 0 {
			b.WriteByte('.')
		}
		n := r.IntN(8)
		if r.IntN(4) == 0 {
			n = r.IntN(21)
		}
		for range n {
			b.WriteByte("abc-0"[r.IntN(5)])
		}
	}
	return b.String()
}

// TestHashSuffixes checks that the walk's hash of each label suffix,
// made from words shared with the longer suffixes, is the hash the suffix
// was filed under: for hosts of every length up to 300 bytes and random
// ones, a DB that holds one suffix alone finds it.
func TestHashSuffixes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 3000; i++ {
		host := randomHost(r)
		if i < 300 {
			host = strings.Repeat("ab.", i/3+1)[:i]
		}
		for _, s := range visited(host) {
			db := NewDB()
			db.AddHost(s, Entry{Vendor: "v", Category: "analytics"})
			if e, ok := db.LookupHost(host); !ok || e.Vendor != "v" {
				t.Fatalf("LookupHost(%q) over a DB of %q = %+v, %v", host, s, e, ok)
			}
			// Frozen, the walk finds the suffix as the deepest in the
			// table (deepest hashes each suffix as hash does).
			db.Freeze()
			if j := db.hosts.deepest(host, nil); j != 0 {
				t.Fatalf("deepest(%q) over a DB of %q = %d, want 0", host, s, j)
			}
			if j := db.hosts.deepest(host, db.answers.Load().recs); j != 0 {
				t.Fatalf("deepest(%q) from the records of a DB of %q = %d, want 0", host, s, j)
			}
		}
	}
}

// TestDeepestTags checks the walk's answer against the suffixes' keys
// looked up one by one, and again after a chance match of tags is made:
// a slot with the tag of a suffix that is not in the table, on that
// suffix's probe sequence, holding another key's entry. The walk takes
// that entry for its candidate, and its check of the candidate's key must
// send it to the exact walk. The walk of a frozen DB, which compares the
// candidate's key in its record (hostTable.isKey), is checked the
// same way, and for hosts added to the table after its records were made.
func TestDeepestTags(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	forged := 0
	for round := 0; round < 40; round++ {
		var tab hostTable
		for range 1 + r.IntN(200) {
			for _, s := range visited(randomHost(r)) {
				if r.IntN(2) == 0 {
					tab.ref(s)
				}
			}
		}
		recs := recordsOf(&tab)
		check := func(host string, want int, what string) {
			t.Helper()
			if got := tab.deepest(host, nil); got != want {
				t.Fatalf("deepest(%q)%s = %d, want %d", host, what, got, want)
			}
			if got := tab.deepest(host, recs); got != want {
				t.Fatalf("deepest(%q) from the records%s = %d, want %d", host, what, got, want)
			}
		}
		for range 50 {
			host := randomHost(r)
			if r.IntN(2) == 0 && tab.len() > 0 {
				host = "x." + tab.keys[r.IntN(tab.len())]
			}
			vs := visited(host)
			want, deep := -1, len(vs)
			for i, s := range vs {
				if _, j := tab.probe(s, tab.hash(s)); j >= 0 {
					want, deep = j, i
					break
				}
			}
			check(host, want, "")
			if deep == 0 || tab.len() == 0 {
				continue // no suffix deeper than the answer is absent
			}
			// The chance match: a suffix deeper than the answer, absent
			// from the table, and an entry of another key in the free
			// slot that ends its probe sequence, under its tag.
			x := tab.hash(vs[r.IntN(deep)])
			free, _ := tab.probe("\x00", x) // no key is "\x00": the sequence's free slot
			saved := slices.Clone(tab.slots)
			tab.slots[free] = hostSlot{tag: uint32(x >> 32), idx: uint32(1 + r.IntN(tab.len()))}
			check(host, want, " with a chance match of tags")
			tab.slots = saved
			forged++
		}
		// Hosts added after the records were made: the walk compares
		// their keys in the table.
		for range 5 {
			host := randomHost(r)
			tab.ref(host)
			check(host, tab.index(host), " added after the records")
		}
	}
	if forged < 100 {
		t.Fatalf("only %d chance matches made", forged)
	}
}

// recordsOf returns the records of tab's hosts, as Freeze makes them,
// for a walk of tab that compares keys in them.
func recordsOf(tab *hostTable) []hostRec {
	recs := make([]hostRec, tab.len())
	for j, k := range tab.keys {
		recs[j].setHost(k)
	}
	return recs
}

// TestHostRec checks that a host's record is one line of the CPU's cache
// (64 bytes), as the walk's one read of it assumes, and that it holds a
// host of hostRecKey bytes whole and a longer one's length alone.
func TestHostRec(t *testing.T) {
	if n := unsafe.Sizeof(hostRec{}); n != 64 {
		t.Fatalf("a hostRec takes %d bytes, want 64", n)
	}
	var r hostRec
	h := strings.Repeat("a", hostRecKey-len(".example")) + ".example"
	r.setHost(h)
	if int(r.l.hl) != len(h) || string(r.key[:r.l.hl]) != h {
		t.Fatalf("the record of %q holds %d bytes, %q", h, r.l.hl, r.key[:])
	}
	r = hostRec{}
	r.setHost("b" + h)
	if int(r.l.hl) != len(h)+1 || string(r.key[:]) != ("b" + h)[:hostRecKey] {
		t.Fatalf("the record of %q holds %d bytes, %q", "b"+h, r.l.hl, r.key[:])
	}
}

// visited lists the suffixes a host lookup visits, most specific first:
// the host, then each suffix after a dot that still has a dot.
func visited(host string) []string {
	out := []string{host}
	for h := host; ; {
		i := strings.IndexByte(h, '.')
		if i < 0 {
			break
		}
		h = h[i+1:]
		if strings.IndexByte(h, '.') < 0 {
			break
		}
		out = append(out, h)
	}
	return out
}

// lookupHostBrute answers as LookupHost should, by another road: from
// every entry in the table that covers host (host itself, or host after
// one of its dots but for the last), the longest first; an important
// block wins, then an exception, then the longest entry, which takes the
// longest vendor name if it has none.
func lookupHostBrute(db *DB, host string) (Entry, bool) {
	var cover []int
	for j, k := range db.hosts.keys {
		if db.hosts.nodes[j].has() && (k == host || strings.Contains(k, ".") && strings.HasSuffix(host, "."+k)) {
			cover = append(cover, j)
		}
	}
	slices.SortFunc(cover, func(a, b int) int { return len(db.hosts.keys[b]) - len(db.hosts.keys[a]) })
	var best, imp, vendor = -1, -1, uint32(0)
	exc := false
	for _, j := range cover {
		n := db.hosts.nodes[j]
		switch {
		case n.flags&nodeException != 0:
			exc = true
		case n.flags&nodeImportant != 0 && imp < 0:
			imp = j
		case n.flags&(nodeException|nodeImportant) == 0 && best < 0:
			best = j
		}
		if vendor == 0 {
			vendor = n.vendor
		}
	}
	switch {
	case imp >= 0:
		best = imp
	case exc:
		return Entry{Exception: true}, true
	case best < 0:
		return Entry{}, false
	}
	n := db.hosts.nodes[best]
	if n.vendor == 0 {
		n.vendor = vendor
	}
	return n.answer().entry(), true
}

// randomHostDB returns a DB of entries for random suffixes of n random
// hosts, in categories drawn from cats, with vendors of their own or left
// out, exceptions and important blocks among them, and, with paths,
// deeper hosts that have URL rules and no entry; and the hosts.
func randomHostDB(r *rand.Rand, n int, cats []string, paths bool) (*DB, []string) {
	db := NewDB()
	var hosts []string
	for i := 0; i < n; i++ {
		h := randomHost(r)
		hosts = append(hosts, h)
		for j, s := range visited(h) {
			if r.IntN(3) != 0 {
				continue
			}
			e := Entry{Category: cats[r.IntN(len(cats))]}
			if r.IntN(2) == 0 {
				e.Vendor = fmt.Sprint("v", i, j)
			}
			switch r.IntN(6) {
			case 0:
				e.Exception = true
			case 1:
				e.Important = true
			}
			db.AddHost(s, e)
			if paths && r.IntN(4) == 0 {
				// A deeper host with URL rules and no entry of its own is in
				// the table: a frozen lookup that ends on it must still
				// answer from the suffixes above it.
				db.AddPath("p."+s, "/x", e)
			}
		}
	}
	return db, hosts
}

// TestLookupHostWalk checks LookupHost against the brute-force answer on
// random hosts over a DB of random suffixes of them: combined on each
// lookup, frozen, changed after freezing, and frozen again.
func TestLookupHostWalk(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	db, hosts := randomHostDB(r, 1500, []string{"analytics", "advertising", "cdn"}, true)
	check := func(stage string) {
		t.Helper()
		found := 0
		for i := 0; i < len(hosts); i += 4 { // the brute force reads the whole table
			h := hosts[i]
			for _, q := range []string{h, "w." + h, "p." + h, h[min(1, len(h)):], "x" + h} {
				got, ok := db.LookupHost(q)
				want, wok := lookupHostBrute(db, q)
				if got != want || ok != wok {
					t.Fatalf("%s: LookupHost(%q) = %+v, %v; the entries that cover it give %+v, %v", stage, q, got, ok, want, wok)
				}
				if ok {
					found++
				}
			}
		}
		if found < 400 {
			t.Fatalf("%s: only %d lookups found an entry: the test checks too little", stage, found)
		}
	}
	check("combined on each lookup")
	db.Freeze()
	if db.answers.Load() == nil {
		t.Fatal("Freeze kept no answers")
	}
	check("frozen")
	// A change undoes the freeze: the answers kept for the hosts below a
	// new entry are stale.
	for _, h := range hosts[:300] {
		db.AddHost(h, Entry{Vendor: "late", Category: "social"})
	}
	if db.answers.Load() != nil {
		t.Fatal("AddHost left the frozen answers in place")
	}
	check("changed after freezing")
	db.Freeze()
	check("frozen again")
}

// TestHostVerdictTables checks the host decision over a frozen DB, which
// reads the answer and its category's action off tables, against resolve
// on the answer combined from each suffix: on random hosts over a DB with
// exceptions, important blocks, a category named "unknown" and one that
// is no category, under the default actions, under actions and an
// unknown action of the operator's, after Validate with others, and with
// an action for the name that is no category.
func TestHostVerdictTables(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	db, roots := randomHostDB(r, 3000, append(slices.Clone(Categories), "unknown", "misc"), false)
	var hosts []string
	for _, h := range roots {
		hosts = append(hosts, h, "w."+h, h[min(1, len(h)):])
	}
	p := NewPolicy(db)
	if db.answers.Load() == nil {
		t.Fatal("SetDB left the DB unfrozen")
	}
	check := func(stage string, p *Policy) {
		t.Helper()
		kinds := map[string]bool{}
		for _, h := range hosts {
			e, ok := db.combineHost(h)
			want := p.resolved(h, &e, ok)
			if got := p.DecideHost("shop.example", h); got != want {
				t.Fatalf("%s: DecideHost(%q) = %+v; resolve on the combined answer gives %+v", stage, h, got, want)
			}
			kinds[want.Category+" "+want.Action] = true
		}
		if len(kinds) < 10 {
			t.Fatalf("%s: the hosts were decided only %d ways: the test checks too little", stage, len(kinds))
		}
	}
	check("default actions", p)
	p.Actions = map[string]string{"analytics": ActionRemove, "cdn": ActionDefer, "unknown": ActionPlaceholder}
	p.Unknown = ActionKeep
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	check("the operator's actions", p)
	p.Actions = map[string]string{"embeds": ActionRemove}
	p.Unknown = ActionRemove
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	check("other actions, after Validate", p)
	// Unvalidated, actions may name what is no category.
	q := NewPolicy(db)
	q.Actions = map[string]string{"misc": ActionProxy}
	check("an action for a name that is no category", q)
}

// TestHostTableReserve checks that a table given room for n more hosts
// takes them without another resize, and still finds every host, from
// empty and from a table that holds some already.
func TestHostTableReserve(t *testing.T) {
	for _, start := range []int{0, 5, 300} {
		var tb hostTable
		for i := range start {
			tb.ref(fmt.Sprintf("a%d.example", i)).vendor = uint32(i + 1)
		}
		const n = 1000
		tb.reserve(n)
		slots := len(tb.slots)
		if 2*(start+n) > slots {
			t.Fatalf("start %d: %d slots after reserve(%d)", start, slots, n)
		}
		for i := range n {
			tb.ref(fmt.Sprintf("b%d.example", i)).vendor = uint32(start + i + 1)
		}
		if len(tb.slots) != slots {
			t.Errorf("start %d: the table resized after reserve: %d slots, then %d", start, slots, len(tb.slots))
		}
		for i := range start + n {
			h := fmt.Sprintf("a%d.example", i)
			if i >= start {
				h = fmt.Sprintf("b%d.example", i-start)
			}
			if nd, ok := tb.get(h); !ok || nd.vendor != uint32(i+1) {
				t.Fatalf("start %d: %s is %+v, %v", start, h, nd, ok)
			}
		}
		if _, ok := tb.get("c.example"); ok {
			t.Errorf("start %d: an absent host found", start)
		}
	}
}
