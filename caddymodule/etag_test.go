package caddymodule

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzConditionals: any If-None-Match value, on a navigation or not:
// conditionals does not panic; a value with nothing of firstparty's goes
// upstream as it came, but on a navigation; otherwise what goes upstream
// is a list of entity-tags, each restored from the current policy's mark
// or, but on a navigation, as it came; and a navigation sends no date.
func FuzzConditionals(f *testing.F) {
	h := &Handler{cfgTag: "cfg"}
	cur := h.pageTag()
	for _, s := range []string{`"v1"`, `W/"v1-fp` + cur + `"`, `W/"a-fp000000000000", "b"`, `*`, `W/`, `"a`, `"a-fp` + cur + `-fp` + cur + `"`, "\"\x7f\"", `,,"x" , W/"y"`} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, inm string, nav bool) {
		r := httptest.NewRequest("GET", "http://shop.example/", nil)
		r.Header.Set("If-None-Match", inm)
		r.Header.Set("If-Modified-Since", "Fri, 02 Jan 2026 03:04:05 GMT")
		marked := h.conditionals(r, nav, h.pageTag)
		if nav && r.Header.Get("If-Modified-Since") != "" {
			t.Errorf("a navigation kept its date")
		}
		sent := strings.Join(r.Header.Values("If-None-Match"), ", ")
		if sent == "" {
			if marked {
				t.Errorf("marked with nothing sent for %q", inm)
			}
			return
		}
		if !nav && !strings.Contains(inm, tagMark) {
			if sent != inm || marked {
				t.Errorf("%q, with nothing of firstparty's, became %q (marked %v)", inm, sent, marked)
			}
			return
		}
		if _, star, ok := splitETags(inm); !ok || star {
			if nav || sent != inm || marked {
				t.Errorf("%q, which is not a list of entity-tags, became %q (marked %v)", inm, sent, marked)
			}
			return
		}
		tags, star, ok := splitETags(sent)
		if !ok || star || len(tags) == 0 {
			t.Fatalf("sent %q for %q", sent, inm)
		}
		restored := 0
		for _, et := range tags {
			// A current copy's entry, restored to the upstream's tag; or,
			// but on a navigation, one that came as it is.
			if op, ok := strings.CutPrefix(et, `W/"`); ok && strings.Contains(inm, strings.TrimSuffix(op, `"`)+tagMark+cur+`"`) {
				restored++
				continue
			}
			if nav || !strings.Contains(inm, et) {
				t.Errorf("sent %q for %q (navigation %v)", et, inm, nav)
			}
		}
		if marked != (restored > 0) && nav {
			t.Errorf("marked %v, %d restored, for %q", marked, restored, inm)
		}
	})
}
