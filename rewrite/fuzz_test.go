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

// FuzzPassUsual holds the read loop's runs of usual tokens (passUsual),
// the tags and images it knows again (Writer.seen) and the page's own
// URLs kept unasked (OwnHostPolicy) against the token-by-token reading:
// the same output, tree and counts, written whole and in three writes. A
// removal with them leaves no live tracker (the escape oracle).
func FuzzPassUsual(f *testing.F) {
	fuzzSeeds(f)
	for i, a := range usualPieces {
		f.Add(a + usualPieces[(i*7+3)%len(usualPieces)] + a)
	}
	loader := func(tok, nonce string) []byte { return []byte("<script src=/l.js></script>") }
	f.Fuzz(func(t *testing.T, in string) {
		doc := "<!doctype html><html><head><title>t</title></head><body>" + in + in
		opts := Options{Policy: ownTracker{trackerPolicy(Defer)}, PageURL: pageURL, Token: "tok", Loader: loader}
		checkPassUsual(t, doc, len(doc), opts)
		checkPassUsual(t, doc, 1+len(doc)/3, opts)
		out := rewriteString(t, doc, Options{Policy: ownTracker{trackerPolicy(Remove)}, Token: "tok"})
		oracleCheck(t, "fuzz", doc, out, mentionsTracker, trackerScript)
	})
}
