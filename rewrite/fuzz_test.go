package rewrite

import "testing"

func fuzzSeeds(f *testing.F) {
	for _, row := range adversarial {
		f.Add(expandT(row))
	}
	for _, g := range generated()[:200] {
		f.Add(g)
	}
}

// FuzzRewrite is the escape oracle: after rewriting with the tracker policy,
// x/net/html finds no live tracker, with scripting on or off. A rewrite
// that defers, with the loader, must also write the same however the input
// is cut.
func FuzzRewrite(f *testing.F) {
	fuzzSeeds(f)
	loader := func(tok, nonce string) []byte { return []byte("<script src=/l.js></script>") }
	f.Fuzz(func(t *testing.T, in string) {
		out := rewriteString(t, in, Options{Policy: trackerPolicy(Remove), Token: "tok"})
		oracleCheck(t, "fuzz", in, out, mentionsTracker, trackerScript)
		if len(in) > 2 {
			opts := Options{Policy: trackerPolicy(Defer), Token: "tok", Loader: loader}
			if whole, cut := rewriteString(t, in, opts), chunked(t, in, opts, []int{len(in) / 3, len(in) / 2}); whole != cut {
				t.Fatalf("cut into writes, %q becomes\n%q\nnot\n%q", in, cut, whole)
			}
		}
	})
}

// FuzzPassthrough checks that the empty policy writes the input back byte
// for byte, whatever the chunking.
func FuzzPassthrough(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		if out := rewriteString(t, in, Options{}); out != in {
			t.Fatalf("passthrough changed %q to %q", in, out)
		}
		if len(in) > 2 {
			if out := chunked(t, in, Options{}, []int{len(in) / 3, len(in) / 2}); out != in {
				t.Fatalf("chunked passthrough changed %q", in)
			}
		}
	})
}
