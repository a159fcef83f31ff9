package rewrite

import (
	"slices"
	"testing"
)

func TestFilterLinkHeader(t *testing.T) {
	p := trackerPolicy(Defer)
	for _, c := range []struct {
		in, want []string
		dropped  int
	}{
		{[]string{`</app.css>; rel=preload; as=style`}, []string{`</app.css>; rel=preload; as=style`}, 0},
		{[]string{`<https://tracker.example>; rel=preconnect`}, nil, 1},
		{[]string{`</a.js>; rel=modulepreload, <https://tracker.example/x.js>; rel="preload"; as=script, <https://cdn.ok.example/f.woff2>; rel=preload`},
			[]string{`</a.js>; rel=modulepreload, <https://cdn.ok.example/f.woff2>; rel=preload`}, 1},
		{[]string{`<//TRACKER.example.>; rel="dns-prefetch"`, `<https://x.example/a,b>; rel=canonical`},
			[]string{`<https://x.example/a,b>; rel=canonical`}, 1},
		{[]string{`<https://tracker.example/p>; rel=author`}, []string{`<https://tracker.example/p>; rel=author`}, 0},
		{[]string{`https://tracker.example; rel=preconnect`}, nil, 1},
		{[]string{`<https://tracker.example/a.css>; title="x, y"; rel=stylesheet`}, nil, 1},
	} {
		got, n := FilterLinkHeader(c.in, pageURL, p, nil)
		if !slices.Equal(got, c.want) || n != c.dropped {
			t.Errorf("%q:\n got %q (%d dropped)\nwant %q (%d)", c.in, got, n, c.want, c.dropped)
		}
	}
	if got, _ := FilterLinkHeader([]string{`<https://tracker.example>; rel=preconnect`}, pageURL, nil, nil); len(got) != 1 {
		t.Errorf("no policy changed the header: %q", got)
	}
}
