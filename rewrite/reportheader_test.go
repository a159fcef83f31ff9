package rewrite

import (
	"net/url"
	"slices"
	"testing"
)

// TestFilterReportingEndpoints: an endpoint on a tracker's host goes, the
// shop's own stays, and a member that is not a name and a string goes.
func TestFilterReportingEndpoints(t *testing.T) {
	p := trackerPolicy(Defer)
	for _, c := range []struct {
		in, want []string
		dropped  int
	}{
		{[]string{`default="/reports"`}, []string{`default="/reports"`}, 0},
		{[]string{`default="https://tracker.example/r"`}, nil, 1},
		{[]string{`csp="/csp", default="//TRACKER.example./r", nel="https://cdn.ok.example/n"`}, []string{`csp="/csp", nel="https://cdn.ok.example/n"`}, 1},
		{[]string{`a="/a"`, `b="https://tracker.example/a,b"`}, []string{`a="/a"`}, 1},
		{[]string{`default=https://tracker.example/r`}, nil, 1}, // a token, not a string
		{[]string{`default`}, nil, 1}, // no value
		{[]string{`a="/a";p=1, b="https:\/\/tracker.example/"`}, []string{`a="/a";p=1`}, 1},
	} {
		got, n := FilterReportingEndpoints(c.in, pageURL, p, nil)
		if !slices.Equal(got, c.want) || n != c.dropped {
			t.Errorf("%q:\n got %q (%d dropped)\nwant %q (%d)", c.in, got, n, c.want, c.dropped)
		}
	}
	st := &Stats{}
	FilterReportingEndpoints([]string{`x=1`}, pageURL, p, st)
	if st.FailClosed[FailUnparsableReport] != 1 {
		t.Errorf("an unparsable member was not counted: %v", st.FailClosed)
	}
	if got, _ := FilterReportingEndpoints([]string{`default="https://tracker.example/r"`}, pageURL, nil, nil); len(got) != 1 {
		t.Errorf("no policy changed the header: %q", got)
	}
}

// TestFilterReportTo: a group with an endpoint on a tracker's host goes
// whole, whatever case or how often its url member is written; the
// others keep their bytes; a value that is not JSON groups goes.
func TestFilterReportTo(t *testing.T) {
	p := trackerPolicy(Defer)
	own := `{"group":"a","max_age":1,"endpoints":[{"url":"/r"}]}`
	bad := `{"group":"b","max_age":1,"endpoints":[{"url":"/ok"},{"url":"https://tracker.example/r"}]}`
	for _, c := range []struct {
		in, want []string
		dropped  int
	}{
		{[]string{own}, []string{own}, 0},
		{[]string{bad}, nil, 1},
		{[]string{own + ",\t" + bad}, []string{own}, 1},
		{[]string{bad + "," + own, own}, []string{own, own}, 1},
		{[]string{`{"endpoints":[{"URL":"https://tracker.example/r"}]}`}, nil, 1},
		{[]string{`{"endpoints":[{"url":"https://tracker.example/r","url":"/r"}]}`}, nil, 1},
		{[]string{`{"endpoints":[{"priority":1,"url":"https://tracker.example/r"}],"group":"x"}`}, nil, 1},
		{[]string{`{"endpoints":[{"url":"https://cdn.ok.example/r"}],"nested":{"url":{"url":"https://tracker.example/"}}}`}, nil, 1},
		{[]string{`{"endpoints":[{"url":"/r"}]`}, nil, 1}, // cut short
		{[]string{`"https://tracker.example/r"`}, nil, 1}, // not a group
		{[]string{``}, nil, 1},
	} {
		got, n := FilterReportTo(c.in, pageURL, p, nil)
		if !slices.Equal(got, c.want) || n != c.dropped {
			t.Errorf("%q:\n got %q (%d dropped)\nwant %q (%d)", c.in, got, n, c.want, c.dropped)
		}
	}
	if got, _ := FilterReportTo([]string{bad}, pageURL, nil, nil); len(got) != 1 {
		t.Errorf("no policy changed the header: %q", got)
	}
}

// TestFilterCSPReports: a report-uri on a tracker's host is taken out, and
// its directive when none is left; every other byte of the policy stays.
func TestFilterCSPReports(t *testing.T) {
	p := trackerPolicy(Defer)
	for _, c := range []struct {
		in, want []string
		dropped  int
	}{
		{[]string{`img-src 'self'; report-uri /csp`}, []string{`img-src 'self'; report-uri /csp`}, 0},
		{[]string{`img-src 'self';  report-uri https://tracker.example/csp ; script-src 'nonce-x'`}, []string{`img-src 'self'; script-src 'nonce-x'`}, 1},
		{[]string{`default-src 'self'; REPORT-URI /a https://tracker.example/b //cdn.ok.example/c`}, []string{`default-src 'self'; REPORT-URI /a //cdn.ok.example/c`}, 1},
		{[]string{`img-src *, report-uri https://tracker.example/x; img-src 'self'`}, []string{`img-src *, img-src 'self'`}, 1},
		{[]string{`report-uri https://tracker.example/x`, `img-src 'self'`}, []string{`img-src 'self'`}, 1}, // nothing left: no value
		{[]string{`img-src https://tracker.example; report-to g`}, []string{`img-src https://tracker.example; report-to g`}, 0},
	} {
		got, n := FilterCSPReports(c.in, pageURL, p, nil)
		if !slices.Equal(got, c.want) || n != c.dropped {
			t.Errorf("%q:\n got %q (%d dropped)\nwant %q (%d)", c.in, got, n, c.want, c.dropped)
		}
	}
}

// FuzzHeaderFilters runs each response header filter on any value: no
// panic, and what a filter keeps it keeps again, whole: a second pass
// finds nothing more to drop (a rebuilt CSP directive or a joined list
// that read differently the second time would show here).
func FuzzHeaderFilters(f *testing.F) {
	for _, s := range []string{
		`default="/reports", ga="https://tracker.example/r";p=1`,
		`{"group":"a","endpoints":[{"url":"/r"}]}, {"endpoints":[{"URL":"//tracker.example"}]}`,
		`img-src 'self'; report-uri /a https://tracker.example/b, report-uri //tracker.example; script-src 'none'`,
		`</a.css>; rel=preload, <https://tracker.example>; rel=preconnect`,
		`</a.png>; rel=preload; as=image; imagesrcset="/b.png 1x, https://tracker.example/p.gif 2x"; title="x;y"`,
		`"/rules.json", "https://tracker.example/r.json"`,
	} {
		f.Add(s)
	}
	p := trackerPolicy(Defer)
	filters := map[string]func([]string, *url.URL, Policy, *Stats) ([]string, int){
		"Link": FilterLinkHeader, "Speculation-Rules": FilterSpeculationRules,
		"Reporting-Endpoints": FilterReportingEndpoints, "Report-To": FilterReportTo, "CSP": FilterCSPReports,
	}
	f.Fuzz(func(t *testing.T, v string) {
		for name, filter := range filters {
			kept, _ := filter([]string{v, v}, pageURL, p, nil)
			again, n := filter(kept, pageURL, p, nil)
			if n != 0 || !slices.Equal(again, kept) {
				t.Fatalf("%s: %q kept %q, and a second pass %q (%d dropped)", name, v, kept, again, n)
			}
		}
	})
}
