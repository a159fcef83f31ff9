package rewrite

import (
	"bytes"
	"io"
	"net/url"
	"strings"
	"testing"
)

// TestFilterSVG checks what an SVG file keeps: every URL the policy
// keeps, links and the other bytes as they came; an href or src it holds
// is dropped, a URL in CSS neutralised, and a file that cannot be read
// becomes EmptySVG.
func TestFilterSVG(t *testing.T) {
	f := &url.URL{Scheme: "https", Host: "shop.example", Path: "/icons.svg"}
	p := trackerPolicy(Defer)
	const same, empty = "", EmptySVG
	const ns = `xmlns="http://www.w3.org/2000/svg"`
	for _, c := range []struct {
		in, want string
		changed  int
	}{
		{`<svg ` + ns + `><symbol id="a"><path d="M0 0h9v9z" fill="url(#g)"/></symbol></svg>`, same, 0},
		{`<svg ` + ns + `><image href="/i.png"/><image href="data:image/png;base64,AA=="/><use href="other.svg#b"/></svg>`, same, 0},
		{`<svg ` + ns + `><symbol id="a"><image href="https://tracker.example/p.gif" width="9"/></symbol></svg>`,
			`<svg ` + ns + `><symbol id="a"><image width="9"/></symbol></svg>`, 1},
		// XLink under any prefix, and an href in a namespace the file
		// does not bind.
		{`<svg ` + ns + ` xmlns:q="http://www.w3.org/1999/xlink"><image q:href="//tracker.example/p.gif"/><image z:href="https://tracker.example/z"/></svg>`,
			`<svg ` + ns + ` xmlns:q="http://www.w3.org/1999/xlink"><image/><image/></svg>`, 2},
		{`<s:svg xmlns:s="http://www.w3.org/2000/svg"><s:image href="https://tracker.example/p.gif"/></s:svg>`,
			`<s:svg xmlns:s="http://www.w3.org/2000/svg"><s:image/></s:svg>`, 1},
		// A link is followed, not loaded.
		{`<svg ` + ns + `><a href="https://tracker.example/"><text>x</text></a></svg>`, same, 0},
		{`<svg ` + ns + `><rect fill="url(https://tracker.example/g.svg#g)" filter="url(#f)"/></svg>`,
			`<svg ` + ns + `><rect fill="url(&#34;data:,&#34;)" filter="url(#f)"/></svg>`, 1},
		{`<svg ` + ns + `><rect style='mask-image:url(https://tracker.example/m.png);color:red'/></svg>`,
			`<svg ` + ns + `><rect style='mask-image:url("data:,");color:red'/></svg>`, 1},
		// CSS's escapes and XML's references.
		{`<svg ` + ns + `><rect style="fill:u\72 l(https://tracker.example/g)"/></svg>`,
			`<svg ` + ns + `><rect style="fill:url(&#34;data:,&#34;)"/></svg>`, 1},
		{`<svg ` + ns + `><rect fill="&#x75;rl(https://tracker.example/g)" x="1"/></svg>`,
			`<svg ` + ns + `><rect fill="url(&#34;data:,&#34;)" x="1"/></svg>`, 1},
		{`<svg ` + ns + `><rect style="background:image-set(&#34;https://tracker.example/i.png&#34; 1x)"/></svg>`,
			`<svg ` + ns + `><rect style="background:image-set(&#34;data:,&#34; 1x)"/></svg>`, 1},
		{`<svg ` + ns + `><style>@import url(https://tracker.example/s.css);rect{fill:red}</style></svg>`,
			`<svg ` + ns + `><style>@import "";rect{fill:red}</style></svg>`, 1},
		{`<svg ` + ns + `><style><![CDATA[a>b{background:url(https://tracker.example/b.png)}]]><!--c--></style></svg>`,
			`<svg ` + ns + `><style>a&gt;b{background:url("data:,")}</style></svg>`, 1},
		{`<svg ` + ns + `><style>rect{fill:url(#g)}</style></svg>`, same, 0},
		// An element inside the sheet is not its text; written again, the
		// sheet is its text alone.
		{`<svg ` + ns + `><style>@import "https://tracker.example/s.css";<image href="https://tracker.example/p.gif"/>a{b:c}</style><image href="https://tracker.example/q.gif"/></svg>`,
			`<svg ` + ns + `><style>@import "";a{b:c}</style><image/></svg>`, 2},
		{`<svg ` + ns + `><style><image href="https://tracker.example/p.gif"/>a{b:c}</style></svg>`,
			`<svg ` + ns + `><style><image/>a{b:c}</style></svg>`, 1},
		{`<svg ` + ns + `><image><set attributeName="href" to="https://tracker.example/p.gif"/></image><animate attributeName="xlink:href" values="/a.png; https://tracker.example/b.png" dur="1s"/></svg>`,
			`<svg ` + ns + `><image><set attributeName="href"/></image><animate attributeName="xlink:href" dur="1s"/></svg>`, 2},
		{`<svg ` + ns + `><set attributeName="fill" to="red"/><script href="https://tracker.example/s.js"/></svg>`,
			`<svg ` + ns + `><set attributeName="fill" to="red"/><script/></svg>`, 1},
		{"<svg " + ns + ">\n<image\n\thref = 'https://tracker.example/p.gif'\n/></svg>", "<svg " + ns + ">\n<image\n/></svg>", 1},
		{`<svg ` + ns + `><image href="/a.png" href="https://tracker.example/p.gif"/></svg>`, `<svg ` + ns + `><image href="/a.png"/></svg>`, 1},
		{`<svg ` + ns + `><image href="https://tracker.example/p.gif"x="1"/><image y="2"href="https://tracker.example/p.gif"x="1"/></svg>`,
			`<svg ` + ns + `><image x="1"/><image y="2" x="1"/></svg>`, 2},
		// What it reads around: a byte order mark, a declaration, a
		// DOCTYPE without entities, comments and instructions.
		{"\ufeff<?xml version=\"1.0\" encoding=\"UTF-8\"?><!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\"><!-- <image href=\"https://tracker.example/\"/> --><svg " + ns + "><?pi x?><image href=\"https://tracker.example/p\"/></svg>",
			"\ufeff<?xml version=\"1.0\" encoding=\"UTF-8\"?><!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\"><!-- <image href=\"https://tracker.example/\"/> --><svg " + ns + "><?pi x?><image/></svg>", 1},
		// What it cannot read: Chromium used a file's elements up to its
		// first error, expanded entities, read other encodings.
		{`<svg ` + ns + `><image href="https://tracker.example/p.gif"/><g></svg>`, empty, 1},
		{`<!DOCTYPE svg [<!ENTITY v "https://tracker.example/p.gif">]><svg ` + ns + `><image href="&v;"/></svg>`, empty, 1},
		{`<!DOCTYPE svg [<!ENTITY v "x">]><svg ` + ns + `/>`, empty, 1},
		// Another declared encoding: read when it gives the file's bytes
		// the characters UTF-8 gives them (ASCII alone, or after a UTF-8
		// byte order mark, which Chromium follows).
		{`<?xml version="1.0" encoding="iso-8859-1"?><svg ` + ns + `><image href="https://tracker.example/p.gif"/></svg>`, `<?xml version="1.0" encoding="iso-8859-1"?><svg ` + ns + `><image/></svg>`, 1},
		{`<?xml version="1.0" encoding="Shift_JIS"?><svg ` + ns + `/>`, same, 0},
		{`<?xml version="1.0" encoding="unicode-1-1-utf-8"?><svg ` + ns + `><title>` + "\u00e9" + `</title></svg>`, same, 0},
		{"\ufeff" + `<?xml version="1.0" encoding="iso-8859-1"?><svg ` + ns + `><title>` + "\u00e9" + `</title><image href="https://tracker.example/p.gif"/></svg>`,
			"\ufeff" + `<?xml version="1.0" encoding="iso-8859-1"?><svg ` + ns + `><title>` + "\u00e9" + `</title><image/></svg>`, 1},
		{`<?xml version="1.0" encoding="iso-8859-1"?><svg ` + ns + `><title>` + "\xe9" + `</title></svg>`, empty, 1},
		{`<?xml version="1.0" encoding="iso-8859-1"?><svg ` + ns + `><title>` + "\u00e9" + `</title></svg>`, empty, 1}, // (read as "Ã©")
		{`<?xml version="1.0" encoding="utf-16"?><svg ` + ns + `/>`, empty, 1},
		{`<?xml version="1.0" encoding="iso-2022-jp"?><svg ` + ns + `/>`, empty, 1},
		{`<?xml version="1.0" encoding="no-such-encoding"?><svg ` + ns + `/>`, empty, 1},
		{"<svg " + ns + "><title>\xe9</title></svg>", empty, 1},
		{"\xfe\xff\x00<\x00s\x00v\x00g\x00/\x00>", empty, 1},
		{`<svg ` + ns + `><image href="&nbsp;"/></svg>`, empty, 1},
		{`text alone, which has nothing to load`, same, 0},
		{`<svg ` + ns + `/><image href="https://tracker.example/p.gif"/>`, `<svg ` + ns + `/><image/>`, 1},
		{strings.Repeat("<g>", svgMaxDepth+1) + strings.Repeat("</g>", svgMaxDepth+1), empty, 1},
	} {
		var st Stats
		got, n := FilterSVG([]byte(c.in), f, p, &st)
		want := c.want
		if want == same {
			want = c.in
		}
		if string(got) != want || n != c.changed {
			t.Errorf("%s:\n got %s (%d changed)\nwant %s (%d)", c.in, got, n, want, c.changed)
		}
		if want == empty && st.FailClosed[FailUnreadSVG] != 1 {
			t.Errorf("%s: not counted as unread: %v", c.in, st.FailClosed)
		}
	}
	deep := strings.Repeat("<g>", svgMaxDepth) + strings.Repeat("</g>", svgMaxDepth)
	if got, n := FilterSVG([]byte(deep), f, p, nil); n != 0 || string(got) != deep {
		t.Errorf("a file %d elements deep was not read", svgMaxDepth)
	}
	var st Stats
	if FilterSVG([]byte(`<svg `+ns+`><image href="https://tracker.example/i.png"/></svg>`), f, p, &st); st.Actions[Defer] != 1 {
		t.Errorf("the tracker's image was not counted as deferred: %v", st.Actions)
	}
	st = Stats{}
	if FilterSVG([]byte(`<svg `+ns+`><image href="https://tracker.example/i.png"/><g></svg>`), f, p, &st); st.Actions[Defer] != 0 || st.FailClosed[FailUnreadSVG] != 1 {
		t.Errorf("an unread file's image was counted: %v, %v", st.Actions, st.FailClosed)
	}
	if got, _ := FilterSVG([]byte(`x`), f, nil, nil); string(got) != "x" {
		t.Errorf("with no policy, the file changed: %q", got)
	}
}

// TestSVGWriter checks the writer: the file filtered at Close, and one
// over the cap sent as EmptySVG.
func TestSVGWriter(t *testing.T) {
	f := &url.URL{Scheme: "https", Host: "shop.example", Path: "/icons.svg"}
	in := `<svg xmlns="http://www.w3.org/2000/svg"><image href="https://tracker.example/p.gif"/></svg>`
	var b bytes.Buffer
	w := NewSVGWriter(&b, Options{Policy: trackerPolicy(Defer), PageURL: f})
	w.Write([]byte(in[:20]))
	w.Write([]byte(in[20:]))
	if b.Len() != 0 {
		t.Errorf("written before Close: %q", b.String())
	}
	if err := w.Close(); err != nil || b.String() != `<svg xmlns="http://www.w3.org/2000/svg"><image/></svg>` {
		t.Errorf("Close: %v, %q", err, b.String())
	}
	b.Reset()
	w = NewSVGWriter(&b, Options{Policy: trackerPolicy(Defer), PageURL: f, MaxTokenSize: 1024})
	w.Write([]byte(`<svg xmlns="http://www.w3.org/2000/svg">` + strings.Repeat("<g/>", 300) + `</svg>`))
	if err := w.Close(); err != nil || b.String() != EmptySVG || w.Stats().FailClosed[FailUnreadSVG] != 1 {
		t.Errorf("over the cap: %v, %q, %v", err, b.String(), w.Stats().FailClosed)
	}
	w = NewSVGWriter(failingWriter{}, Options{Policy: trackerPolicy(Defer), PageURL: f})
	w.Write([]byte(in))
	if err := w.Close(); err == nil {
		t.Errorf("a failed write: %v", err)
	}
}

// FuzzSVG checks that a filtered SVG file is what it came as, EmptySVG,
// or XML that still reads as the input did and holds nothing the policy
// does not keep: a second pass changes nothing.
func FuzzSVG(f *testing.F) {
	for _, s := range []string{
		`<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink"><symbol id="a"><image x:href="https://tracker.example/p.gif" width="9"/></symbol></svg>`,
		`<svg xmlns="http://www.w3.org/2000/svg"><rect style='fill:url(https://tracker.example/g#g);cursor:url("/c.png"),auto' fill="&#x75;rl(//tracker.example/f)"/></svg>`,
		`<svg xmlns="http://www.w3.org/2000/svg"><style><![CDATA[@import url(https://tracker.example/s.css); a{b:url(/x)}]]></style></svg>`,
		`<svg xmlns="http://www.w3.org/2000/svg"><image><animate attributeName="href" values="/a;https://tracker.example/b"/></image><a href="https://tracker.example/">x</a></svg>`,
		"\ufeff<?xml version=\"1.0\"?><!DOCTYPE svg><svg xmlns=\"http://www.w3.org/2000/svg\"><!--x--><?p q?><image href = \"https://tracker.example/\"\n/></svg>",
	} {
		f.Add([]byte(s))
	}
	file := &url.URL{Scheme: "https", Host: "shop.example", Path: "/icons.svg"}
	p := trackerPolicy(Defer)
	f.Fuzz(func(t *testing.T, body []byte) {
		out, n := FilterSVG(body, file, p, nil)
		switch {
		case n == 0:
			if !bytes.Equal(out, body) {
				t.Fatalf("%q: nothing changed, but %q was written", body, out)
			}
			return
		case string(out) == EmptySVG:
			return
		}
		if _, err := svgEdits(out, NewWriter(io.Discard, Options{})); err != nil {
			t.Fatalf("%q gave %q, which does not read: %v", body, out, err)
		}
		again, n := FilterSVG(out, file, p, nil)
		if n != 0 || !bytes.Equal(again, out) {
			t.Fatalf("%q kept %q, and a second pass %q (%d changed)", body, out, again, n)
		}
	})
}
