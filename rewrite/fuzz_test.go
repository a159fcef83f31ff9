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
// x/net/html finds no live tracker, with scripting on or off.
func FuzzRewrite(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		out := rewriteString(t, in, Options{Policy: trackerPolicy(Remove), Token: "tok"})
		oracleCheck(t, "fuzz", in, out, mentionsTracker, trackerScript)
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
