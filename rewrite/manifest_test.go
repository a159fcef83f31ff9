package rewrite

import (
	"net/url"
	"testing"
)

// TestFilterManifest checks what a web app manifest keeps: every image
// (an object with a "src") the policy keeps, wherever it stands, and the
// pages it names; a manifest that cannot be read becomes {}.
func TestFilterManifest(t *testing.T) {
	m := &url.URL{Scheme: "https", Host: "shop.example", Path: "/site.webmanifest"}
	p := trackerPolicy(Defer)
	const same = ""
	for _, c := range []struct {
		in, want string
		dropped  int
	}{
		{`{"name":"Shop","icons":[{"src":"/i.png","sizes":"192x192"}],"start_url":"/","theme_color":"#fff"}`, same, 0},
		{`{"icons":[{"src":"/i.png"},{"src":"https://tracker.example/i.png","sizes":"512x512"}],"name":"Shop"}`, `{"icons":[{"src":"/i.png"}],"name":"Shop"}`, 1},
		{`{"screenshots":[{"src":"//tracker.example/s.png"}],"shortcuts":[{"name":"a","url":"/a","icons":[{"src":"https://tracker.example/a.png"},{"src":"a.png"}]}]}`,
			`{"screenshots":[],"shortcuts":[{"icons":[{"src":"a.png"}],"name":"a","url":"/a"}]}`, 2},
		{`{"file_handlers":[{"action":"/open","icons":[{"src":"https://x:port/i.png"}]}]}`, `{"file_handlers":[{"action":"/open","icons":[]}]}`, 1},
		{`{"later":{"logo":{"src":"https://tracker.example/l.png"}},"n":12345678901234567890}`, `{"later":{},"n":12345678901234567890}`, 1},
		// Pages the visitor goes to, not loads.
		{`{"start_url":"https://tracker.example/","scope":"/","share_target":{"action":"https://tracker.example/share"}}`, same, 0},
		{"\ufeff{\"icons\":[{\"src\":\"/i.png\"}]}", same, 0},
		{"\ufeff{\"icons\":[{\"src\":\"//tracker.example/i.png\"}]}", `{"icons":[]}`, 1},
		// Chromium reads comments and \v in a manifest: so does the filter.
		{"{\"name\":\"Shop\", // the shop's\n\"icons\":[/* ours */{\"src\":\"/i.png\"}]}", same, 0},
		{"{\"name\":\"a\\vb/*c*/\", /**/ \"icons\":[{\"src\":\"//tracker.example/i.png\"} /* x */]}// end", `{"icons":[],"name":"a\u000bb/*c*/"}`, 1},
		{"{\"icons\":[{\"src\":\"https://tracker.example/i.png\"}]} //", `{"icons":[]}`, 1},
		{`{"a":1 /* not closed }`, `{}`, 1},
		{`{"a":1 /*/ }`, `{}`, 1},
		{`{"a":tr/**/ue}`, `{}`, 1},
		{`{"a":"\x41"}`, `{}`, 1},
		{`{"a":1 / 2}`, `{}`, 1},
		{`not json`, `{}`, 1},
		{`{"icons":[]} {"icons":[{"src":"https://tracker.example/i.png"}]}`, `{}`, 1},
	} {
		var st Stats
		got, n := FilterManifest([]byte(c.in), m, p, &st)
		want := c.want
		if want == same {
			want = c.in
		}
		if string(got) != want || n != c.dropped {
			t.Errorf("%s:\n got %s (%d dropped)\nwant %s (%d)", c.in, got, n, want, c.dropped)
		}
	}
	var st Stats
	if FilterManifest([]byte(`{"icons":[{"src":"https://tracker.example/i.png"}]}`), m, p, &st); st.Actions[Defer] != 1 {
		t.Errorf("the tracker's icon was not counted as deferred: %v", st.Actions)
	}
	if FilterManifest([]byte(`[`), m, p, &st); st.FailClosed[FailUnreadManifest] != 1 {
		t.Errorf("an unread manifest was not counted: %v", st.FailClosed)
	}
}
