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
		// A style sheet in a data: URL loads what it names; a header's
		// is not read, so it goes. A data: icon loads nothing more.
		{[]string{`<data:text/css,a{color:red}>; rel=stylesheet`, `<data:image/png;base64,AAAA>; rel=icon`}, []string{`<data:image/png;base64,AAAA>; rel=icon`}, 1},
		// A preload's imagesrcset loads in place of its target.
		{[]string{`</a.png>; rel=preload; as=image; imagesrcset="/b.png 1x, https://tracker.example/p.gif 2x"; imagesizes=100vw`}, nil, 1},
		{[]string{`</a.png>; rel=preload; as=image; imagesrcset=//TRACKER.example/p.gif, </b.png>; rel=preload; as=image; imagesrcset="/c.png 1x, /d.png 2x"`},
			[]string{`</b.png>; rel=preload; as=image; imagesrcset="/c.png 1x, /d.png 2x"`}, 1},
		{[]string{`</a.png>; rel=preload; imagesrcset="/b.png 1x"; imagesrcset=https://tracker.example/p.gif`}, nil, 1},
		{[]string{`</a.png>; rel=preload; as=image; imagesrcset="https://tracker.example/p.gif 1x"`, `</a.png>; rel=author; imagesrcset="https://tracker.example/p.gif 1x"`},
			[]string{`</a.png>; rel=author; imagesrcset="https://tracker.example/p.gif 1x"`}, 1},
		// Quoted values hold ';' and escapes; every rel counts.
		{[]string{`</a.png>; title="x;rel=author"; rel=preload; imagesrcset="https:\/\/tracker.example/p.gif"`}, nil, 1},
		{[]string{`<https://tracker.example/p.gif>; rel=author; rel=preload`}, nil, 1},
		{[]string{`<https://tracker.example/p.gif>; rel="pre\load"`}, nil, 1},
		{[]string{`<https://tracker.example/p.gif>; title="x; rel=preload`}, nil, 1},
		{[]string{`</a.png>; title="a;imagesrcset=//tracker.example/p.gif"; rel=preload`}, nil, 1},
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

// TestFilterSpeculationRules checks the Speculation-Rules header filter:
// a rule set on a tracker's host goes, the page's own stays, one on
// another host the policy keeps goes (its rules are not read), and a
// member that is not a structured-field string goes (fail closed).
func TestFilterSpeculationRules(t *testing.T) {
	p := trackerPolicy(Defer)
	for _, c := range []struct {
		in, want []string
		dropped  int
	}{
		{[]string{`"/rules.json"`}, []string{`"/rules.json"`}, 0},
		{[]string{`"https://tracker.example/rules.json"`}, nil, 1},
		{[]string{`"/a.json", "//tracker.example/b.json";x=1, "https://cdn.ok.example/c.json"`}, []string{`"/a.json"`}, 2},
		{[]string{`"https://SHOP.example/a.json", "http://shop.example/b.json"`}, []string{`"https://SHOP.example/a.json", "http://shop.example/b.json"`}, 0},
		{[]string{`"/a.json"`, `"https://TRACKER.example./r.json"`}, []string{`"/a.json"`}, 1},
		{[]string{`https://tracker.example/r.json`}, nil, 1},                                         // a token, not a string
		{[]string{`"/a.json" "x"`}, nil, 1},                                                          // garbage after the string
		{[]string{`"https://tracker.example/a,b.json"`}, nil, 1},                                     // a comma inside the string
		{[]string{`"https:\/\/tracker.example/r.json"`}, nil, 1},                                     // an escape strings do not have
		{[]string{`"/a\"b.json", "https://tracker.example/r\"x.json"`}, []string{`"/a\"b.json"`}, 1}, // escaped quotes
		{[]string{`"/unterminated`}, nil, 1},
		{[]string{`"data:application/json,{}"`}, nil, 1}, // a rule set in the URL: not read
	} {
		got, n := FilterSpeculationRules(c.in, pageURL, p, nil)
		if !slices.Equal(got, c.want) || n != c.dropped {
			t.Errorf("%q:\n got %q (%d dropped)\nwant %q (%d)", c.in, got, n, c.want, c.dropped)
		}
	}
	var st Stats
	if got, n := FilterSpeculationRules([]string{`"/a.json", "https://cdn.ok.example/c.json"`}, pageURL, p, &st); n != 1 || len(got) != 1 || st.FailClosed[FailUnreadRuleSet] != 1 {
		t.Errorf("a rule set on a host kept: %q, %d dropped, fail closed %v", got, n, st.FailClosed)
	}
	if got, _ := FilterSpeculationRules([]string{`"https://tracker.example/r.json"`}, pageURL, nil, nil); len(got) != 1 {
		t.Errorf("no policy changed the header: %q", got)
	}
}
