package rewrite

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
)

// TestFilterRuleSet checks what a speculation rule set served by the
// site keeps: list rules whose every URL the policy keeps, and document
// rules confined to the rule set's origin; the rest goes, and a set that
// cannot be read becomes empty.
func TestFilterRuleSet(t *testing.T) {
	set := &url.URL{Scheme: "https", Host: "shop.example", Path: "/rules.json"}
	p := trackerPolicy(Defer)
	const same = ""
	for _, c := range []struct {
		in, want string
		dropped  int
		reason   string // the fail-closed count expected, if any
	}{
		{`{"prefetch":[{"urls":["/p","https://shop.example/q"]}]}`, same, 0, ""},
		{`{"prefetch":[{"urls":["https://tracker.example/p"]}]}`, `{}`, 1, ""},
		{`{"prefetch":[{"urls":["/p"]},{"urls":["/q","//tracker.example/x"]}],"tag":"t"}`, `{"prefetch":[{"urls":["/p"]}],"tag":"t"}`, 1, ""},
		{`{"prefetch":[{"urls":["https://x:port/"]}]}`, `{}`, 1, FailUnresolvableURL},
		// Document rules: every link, a selector, and one confined to
		// the origin but for a logout link.
		{`{"prefetch":[{"source":"document","eagerness":"immediate"}]}`, `{}`, 1, FailAmbiguous},
		{`{"prerender":[{"where":{"selector_matches":"a"}}],"prefetch":[{"urls":["/p"]}]}`, `{"prefetch":[{"urls":["/p"]}]}`, 1, FailAmbiguous},
		{`{"prefetch":[{"source":"document","where":{"and":[{"href_matches":"/*"},{"not":{"href_matches":"/logout"}}]},"eagerness":"moderate"}]}`, same, 0, ""},
		{`{"prefetch":[{"where":{"href_matches":"https://*/*"}}]}`, `{}`, 1, FailAmbiguous},
		// Against the page's base, which the rule set does not know.
		{`{"prefetch":[{"urls":["/p"],"relative_to":"document"}]}`, `{}`, 1, FailAmbiguous},
		{`{"prefetch":[{"urls":["https://shop.example/p"],"relative_to":"document"}]}`, same, 0, ""},
		{`{"prefetch":[{"where":{"href_matches":"/*","relative_to":"document"}}]}`, `{}`, 1, FailAmbiguous},
		{`{"prefetch":[{"where":{"href_matches":"/*"},"relative_to":"document"}]}`, `{}`, 1, FailAmbiguous},
		// Every member but "tag" is an action's rules.
		{`{"prerender_until_script":[{"source":"document"}]}`, `{}`, 1, FailAmbiguous},
		{`{"later":[{"urls":["/p"]}]}`, same, 0, ""},
		{`{"prefetch":{"urls":["/p"]}}`, `{}`, 1, FailAmbiguous},
		{`{"prefetch":[{"urls":"/p"}]}`, `{}`, 1, FailAmbiguous},
		{`{"prefetch":["/p"]}`, `{}`, 1, FailAmbiguous},
		// Bodies that are not a JSON object.
		{`not json`, `{}`, 1, FailUnreadRuleSet},
		{`[{"urls":["/p"]}]`, `{}`, 1, FailUnreadRuleSet},
		{"\ufeff{}", `{}`, 1, FailUnreadRuleSet},
	} {
		var st Stats
		got, n := FilterRuleSet([]byte(c.in), set, p, &st)
		want := c.want
		if want == same {
			want = c.in
		}
		if string(got) != want || n != c.dropped {
			t.Errorf("%s:\n got %s (%d dropped)\nwant %s (%d)", c.in, got, n, want, c.dropped)
		}
		if c.reason != "" && st.FailClosed[c.reason] == 0 {
			t.Errorf("%s: %s not counted: %v", c.in, c.reason, st.FailClosed)
		}
		if c.want == same && len(st.FailClosed) > 0 {
			t.Errorf("%s: nothing dropped, yet fail closed %v", c.in, st.FailClosed)
		}
	}
	var st Stats
	if FilterRuleSet([]byte(`{"prefetch":[{"urls":["https://tracker.example/p"]}]}`), set, p, &st); st.Actions[Defer] != 1 {
		t.Errorf("the tracker's URL was not counted as deferred: %v", st.Actions)
	}
	if got, n := FilterRuleSet([]byte(`{"prefetch":[{"source":"document"}]}`), set, nil, nil); n != 0 || string(got) != `{"prefetch":[{"source":"document"}]}` {
		t.Errorf("no policy changed the rule set: %s", got)
	}
}

// TestRuleSetWriter checks the writer: a rule set written in pieces is
// filtered whole at Close, one over the cap is written empty, and errors
// come back.
func TestRuleSetWriter(t *testing.T) {
	set := &url.URL{Scheme: "https", Host: "shop.example", Path: "/rules.json"}
	opts := Options{Policy: trackerPolicy(Defer), PageURL: set, MaxTokenSize: 128}
	in := `{"prefetch":[{"urls":["/p"]},{"urls":["https://tracker.example/x"]}]}`
	var out bytes.Buffer
	w := NewRuleSetWriter(&out, opts)
	for _, piece := range []string{in[:10], in[10:40], in[40:]} {
		if n, err := w.Write([]byte(piece)); n != len(piece) || err != nil {
			t.Fatalf("Write: %d, %v", n, err)
		}
	}
	if out.Len() != 0 {
		t.Errorf("written before Close: %q", out.String())
	}
	if err := w.Flush(); err != nil || out.Len() != 0 {
		t.Errorf("Flush: %v, wrote %q", err, out.String())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != `{"prefetch":[{"urls":["/p"]}]}` || w.Stats().Actions[Defer] != 1 {
		t.Errorf("got %s, %v", got, w.Stats().Actions)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}

	opts.MaxTokenSize = 16
	out.Reset()
	w = NewRuleSetWriter(&out, opts)
	w.Write([]byte(`{"prefetch":[{"urls":`))
	w.Write([]byte(`["/p"]}]}`))
	if err := w.Close(); err != nil || out.String() != "{}" || w.Stats().FailClosed[FailUnreadRuleSet] != 1 {
		t.Errorf("over the cap: %q, %v, %v", out.String(), err, w.Stats().FailClosed)
	}

	opts.MaxTokenSize = 0
	out.Reset()
	w = NewManifestWriter(&out, opts)
	w.Write([]byte(`{"icons":[{"src":"https://tracker.example/i.png"}]}`))
	if err := w.Close(); err != nil || out.String() != `{"icons":[]}` {
		t.Errorf("a manifest: %q, %v", out.String(), err)
	}
	opts.MaxTokenSize = 16
	out.Reset()
	w = NewManifestWriter(&out, opts)
	w.Write([]byte(`{"icons":[{"src":"/i.png"}]}`))
	if err := w.Close(); err != nil || out.String() != "{}" || w.Stats().FailClosed[FailUnreadManifest] != 1 {
		t.Errorf("a manifest over the cap: %q, %v, %v", out.String(), err, w.Stats().FailClosed)
	}

	w = NewRuleSetWriter(failingWriter{}, opts)
	w.Write([]byte(`{}`))
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("a failing writer's error: %v", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write(p []byte) (int, error) { return 0, errors.New("refused") }

// FuzzRuleSet runs FilterRuleSet on any body: no panic, a JSON object
// out, and what it keeps it keeps again, whole (a second pass drops
// nothing: every rule left is one that stays); and FilterManifest: no
// panic, JSON out as Chromium reads a manifest (comments, \v), and a
// second pass drops nothing.
func FuzzRuleSet(f *testing.F) {
	for _, s := range []string{
		`{"prefetch":[{"urls":["/p"]},{"urls":["https://tracker.example/p"]}],"tag":"t"}`,
		`{"prerender":[{"source":"document","where":{"or":[{"href_matches":"/a/*"},{"and":[{"href_matches":"/*"},{"not":{"selector_matches":".x"}}]}]}}]}`,
		`{"prefetch":[{"urls":["/p"],"relative_to":"document"},{"where":{"href_matches":"/*","relative_to":"ruleset"}}]}`,
		`{"prefetch":[{"source":"document"}],"prefetch":[]}`,
		`{"prefetch":[{"urls":["\u002f\u002ftracker.example/x"]}]}`,
		`{"icons":[{"src":"/i.png"},{"src":"https://tracker.example/i.png"}],"shortcuts":[{"icons":[{"src":"//tracker.example/a"}]}]}`,
		"{\"icons\":[/* a */{\"src\":\"https://tracker.example/i.png\"}, // b\n{\"src\":\"/i\\v.png\"}]}",
	} {
		f.Add([]byte(s))
	}
	set := &url.URL{Scheme: "https", Host: "shop.example", Path: "/rules.json"}
	p := trackerPolicy(Defer)
	f.Fuzz(func(t *testing.T, body []byte) {
		out, _ := FilterRuleSet(body, set, p, nil)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("%q gave %q, not a JSON object: %v", body, out, err)
		}
		again, n := FilterRuleSet(out, set, p, nil)
		if n != 0 || !bytes.Equal(again, out) {
			t.Fatalf("%q kept %q, and a second pass %q (%d dropped)", body, out, again, n)
		}
		out, _ = FilterManifest(body, set, p, nil)
		if doc, ok := manifestJSON(bytes.TrimPrefix(out, []byte("\xef\xbb\xbf"))); !ok || !json.Valid(doc) {
			t.Fatalf("manifest %q gave %q, not JSON as Chromium reads a manifest", body, out)
		}
		again, n = FilterManifest(out, set, p, nil)
		if n != 0 || !bytes.Equal(again, out) {
			t.Fatalf("manifest %q kept %q, and a second pass %q (%d dropped)", body, out, again, n)
		}
	})
}

// TestSpecRulesEveryAction checks that an inline rule set's every member
// but "tag" is read as an action's rules, one Chromium adds after this
// was written included.
func TestSpecRulesEveryAction(t *testing.T) {
	for body, want := range map[string]bool{
		`{"tag":"t","prefetch":[{"urls":["/p"]}],"prerender":[{"where":{"href_matches":"/*"}}]}`: true,
		`{"prerender_until_script":[{"source":"document"}]}`:                                     false,
		`{"later":[{"where":{"selector_matches":"a"}}]}`:                                         false,
		`{"later":{"source":"document"}}`:                                                        false,
		`{"later":[{"urls":["/p"]}]}`:                                                            true,
	} {
		if got := specRulesStayHome([]byte(body)); got != want {
			t.Errorf("%s: stays home %v", body, got)
		}
	}
}
