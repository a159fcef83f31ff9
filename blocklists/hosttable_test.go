package blocklists

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
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
		}
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

// lookupHostRef is LookupHost as it was written over a Go map: one lookup
// for each suffix, most specific first; the first important block, the
// first plain entry and the first vendor name win.
func lookupHostRef(db *DB, host string) (Entry, bool) {
	var best, imp node
	var vendor uint32
	exc := false
	for _, h := range visited(host) {
		n, ok := db.hosts.get(h)
		if !ok || !n.has() {
			continue
		}
		if vendor == 0 {
			vendor = n.vendor
		}
		switch {
		case n.flags&nodeException != 0:
			exc = true
		case n.flags&nodeImportant != 0:
			if !imp.has() {
				imp = n
			}
		case !best.has():
			best = n
		}
	}
	switch {
	case imp.has():
		best = imp
	case exc:
		return Entry{Exception: true}, true
	case !best.has():
		return Entry{}, false
	}
	if best.vendor == 0 {
		best.vendor = vendor
	}
	return db.entry(best), true
}

// TestLookupHostWalk checks LookupHost against the reference on random
// hosts over a DB of random suffixes of them, with vendors left out and
// exceptions and important blocks among the entries.
func TestLookupHostWalk(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	db := NewDB()
	var hosts []string
	for i := 0; i < 4000; i++ {
		h := randomHost(r)
		hosts = append(hosts, h)
		for j, s := range visited(h) {
			if r.IntN(3) != 0 {
				continue
			}
			e := Entry{Category: []string{"analytics", "advertising", "cdn"}[r.IntN(3)]}
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
		}
	}
	found := 0
	for _, h := range hosts {
		for _, q := range []string{h, "w." + h, h[min(1, len(h)):], "x" + h} {
			got, ok := db.LookupHost(q)
			want, wok := lookupHostRef(db, q)
			if got != want || ok != wok {
				t.Fatalf("LookupHost(%q) = %+v, %v; the walk over each suffix gives %+v, %v", q, got, ok, want, wok)
			}
			if ok {
				found++
			}
		}
	}
	if found < 1000 {
		t.Fatalf("only %d lookups found an entry: the test checks too little", found)
	}
}
