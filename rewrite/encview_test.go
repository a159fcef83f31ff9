package rewrite

import (
	"strings"
	"testing"
)

// TestTextView checks the reading of text on a page in a multi-byte
// encoding by the Encoding Standard's decoders: a character that takes an
// ASCII byte makes the text read decoded; an error gives its ASCII byte
// back, and then the bytes read as they came.
func TestTextView(t *testing.T) {
	for _, c := range []struct {
		enc, in string
		want    string // "" when the text reads as it came
	}{
		{"shift_jis", "x=\"\x95\x5c\";f()", "x=\"表\";f()"},
		{"shift_jis", "\x83\x5c`", "ソ`"},
		{"shift_jis", "\x85\x5c\"", ""},      // row 0x85 maps nothing: the backslash is given back
		{"shift_jis", "\xf0\x5c", "\ue01c"},  // user-defined: private use
		{"shift_jis", "\xa4\x5c", ""},        // half-width kana is one byte
		{"shift_jis", "\x95\x3c", ""},        // no character ends below 0x40
		{"shift_jis", "a\x95\x95\x5c\"", ""}, // 0x95 0x95 is one character: the backslash is one
		{"big5", "\xb3\x5c'", "許'"},
		{"big5", "\x88\x62", "\u00ca\u0304"},
		{"big5", "\x80\x5c", ""},
		{"gbk", "\x81\x5c", "乗"},
		{"gb18030", "\x81\x5c", "乗"},
		{"gb18030", "\x81\x30\x81\x30", "\u0080"}, // four bytes, two of them digits
		{"gb18030", "\x81\x30\x41", ""},           // not four: the digit is given back
		{"euc-kr", "\x81\x5c", ""},
		{"euc-kr", "\x81\x41", "갂"},
		{"euc-jp", "\x8e\x5c", ""}, // no second byte of EUC-JP is ASCII
		{"utf-8", "\x95\x5c", ""},
		{"windows-1252", "\x95\x5c", ""},
	} {
		got, ok := multiByte(c.enc).textView([]byte(c.in), nil, nil)
		switch {
		case c.want == "" && (ok || string(got) != c.in):
			t.Errorf("%s %q: read as %q, want it as it came", c.enc, c.in, got)
		case c.want != "" && (!ok || string(got) != c.want):
			t.Errorf("%s %q: read as %q (%v), want %q", c.enc, c.in, got, ok, c.want)
		}
	}
}

// TestEncodingRows rewrites, on pages in Shift_JIS, Big5 and GBK, markup
// where a character takes the backslash or the quote's escape that a
// reader of bytes would see: each was reached in Chromium before the
// encoding was read (with the page read as UTF-8, the rewriter keeps
// what holds the tracker). The bytes of what is held come back as they
// came, and what could be written only decoded is empty until consent.
func TestEncodingRows(t *testing.T) {
	opts := Options{Policy: trackerPolicy(Defer), Token: "tok"}
	for _, c := range []struct {
		enc, in string
		want    []string // in the output
	}{
		{"shift_jis", "<script>x=\"\x95\x5c\";fetch(\"https://tracker.example/f\")//\"</script>",
			[]string{`type="text/plain"`, "x=\"\x95\x5c\";fetch("}},
		{"big5", "<script>x='\xa4\x5c';new Image().src='https://tracker.example/p.gif'//'</script>",
			[]string{`type="text/plain"`}},
		{"gbk", "<script>x=`\x81\x5c`;fetch(`https://tracker.example/f`)//`</script>",
			[]string{`type="text/plain"`}},
		{"shift_jis", "<p style=\"background:url(/a\x95\x5c), url(https://tracker.example/p.gif)\">x</p>",
			[]string{`style="background:url(/a&#x8868;), url(&quot;data:,&quot;)"`, "data-fp-style=\"background:url(/a\x95\x5c), url(https://tracker.example/p.gif)\""}},
		{"shift_jis", "<style>p{background:url(\"/a\x95\x5c\"), url(https://tracker.example/p.gif)}</style>",
			[]string{"data-fp-neutral=\"\">p{background:url(\"/a\x95\x5c\"), url(\"data:,\")}</style>", "p{background:url(\"/a\x95\x5c\"), url(https://tracker.example/p.gif)}</style>"}},
		{"shift_jis", "<svg><style>p{background:url(\"/a\x95\x5c\"), url(https://tracker.example/p.gif)}</style></svg>",
			[]string{"data-fp-"}},
		{"shift_jis", "<img src=/a.png onerror=\"x='\x95\x5c';fetch('https://tracker.example/f')//'\">",
			[]string{"data-fp-onerror="}},
		{"shift_jis", "<iframe srcdoc=\"<script>x='\x95\x5c';fetch('https://tracker.example/f')//'</script>\"></iframe>",
			[]string{`srcdoc="&lt;script type=&quot;text/plain&quot; `, `x='&#x8868;';fetch(`, "data-fp-srcdoc=\"<script>x='\x95\x5c';"}},
		{"shift_jis", "<link rel=stylesheet href=\"data:text/css,p{background:url('/a%95%5C'),url(https://tracker.example/p.gif)}\">",
			[]string{"data-fp-href="}},
		{"utf-8", "<link rel=stylesheet href=\"data:text/css;charset=shift_jis,p{background:url('/a%95%5C'),url(https://tracker.example/p.gif)}\">",
			[]string{"data-fp-href="}},
		// A label no encoding has is ignored: the page's encoding reads it.
		{"shift_jis", "<link rel=stylesheet href=\"data:text/css;charset=bogus,p{background:url(/a%95%5C),url(https://tracker.example/p.gif)}\">",
			[]string{"data-fp-href="}},
		{"utf-8", "<iframe src=\"data:text/html;charset=utf-16le,%3C%00i%00m%00g%00%3E%00\"></iframe>",
			[]string{"data-fp-src="}},
		{"utf-8", "<iframe src=\"data:text/html,%3Cmeta%20charset=shift_jis%3E%3Cscript%3Ex='%95%5C';fetch('https://tracker.example/f')//'%3C/script%3E\"></iframe>",
			[]string{"data-fp-src="}},
		{"shift_jis", "<script src=\"data:text/javascript,x='\x95\x5c';fetch('https://tracker.example/f')//'\"></script>",
			[]string{"data-fp-src="}},
	} {
		o := opts
		o.Encoding = c.enc
		got, st := rewriteStats(t, c.in, o)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s %q:\n got %q\nwant %q in it", c.enc, c.in, got, w)
			}
		}
		if st.Actions[Defer] == 0 {
			t.Errorf("%s %q: nothing deferred (%q)", c.enc, c.in, got)
		}
	}
	// Text that no character takes an ASCII byte of reads as it came,
	// and a kept page is its bytes.
	for _, in := range []string{
		"<script>x=\"\x95\x5c\";f()</script><p style=\"font-family:'\x82\x6c\x82\x72'\">\x95\x5c</p>",
		"<style>p{font-family:\"\x95\x5c\"}</style>",
	} {
		o := opts
		o.Encoding = "shift_jis"
		if got := rewriteString(t, in, o); got != in {
			t.Errorf("%q:\n got %q", in, got)
		}
	}
}

// TestUndeclaredEncoding checks a page that declares no encoding
// (Undeclared), which Chromium read in Shift_JIS, GBK or Big5 as their
// bytes suggested, or in its parent frame's: each text that one of them
// reads differently where it matters is held, as an unreadable one; a
// text they all read as its bytes is, and passes byte for byte; and a
// later <meta> that names ISO-2022-JP stops the page.
func TestUndeclaredEncoding(t *testing.T) {
	opts := Options{Policy: trackerPolicy(Defer), Token: "tok", Encoding: Undeclared}
	for _, c := range []struct {
		in   string
		want []string // in the output
	}{
		{"<script>x=\"\x95\x5c\";fetch(\"https://tracker.example/f\")//\"</script>",
			[]string{`type="text/plain"`}},
		{"<script>x='\xb3\x5c';new Image().src='https://tracker.example/p.gif'//'</script>",
			[]string{`type="text/plain"`}},
		{"<script>x=`\x81\x5c`;fetch(`https://tracker.example/f`)//`</script>",
			[]string{`type="text/plain"`}},
		// UTF-8 (中 then }, which GBK reads as 中 and one character).
		{"<script>x=`${a}\xe4\xb8\xad}`;fetch(`https://tracker.example/f`)//`</script>",
			[]string{`type="text/plain"`}},
		{"<p style=\"background:url(/a\x95\x5c), url(https://tracker.example/p.gif)\">x</p>",
			[]string{`style=""`, "data-fp-style=\"background:url(/a\x95\x5c), url(https://tracker.example/p.gif)\""}},
		{"<style>p{background:url(\"/a\x95\x5c\"), url(https://tracker.example/p.gif)}</style>",
			[]string{"data-fp-neutral=\"\"></style>", "p{background:url(\"/a\x95\x5c\"), url(https://tracker.example/p.gif)}</style>"}},
		{"<svg><style>p{background:url(\"/a\x95\x5c\"), url(https://tracker.example/p.gif)}</style></svg>",
			[]string{"data-fp-"}},
		{"<img src=/a.png onerror=\"x='\x95\x5c';fetch('https://tracker.example/f')//'\">",
			[]string{"data-fp-onerror="}},
		{"<a href=\"javascript:x='\x95\x5c';fetch('https://tracker.example/f')//'\">a</a>",
			[]string{"data-fp-href="}},
		{"<iframe srcdoc=\"<script>x='\x95\x5c';fetch('https://tracker.example/f')//'</script>\"></iframe>",
			[]string{`srcdoc=""`, "data-fp-srcdoc="}},
		{"<link rel=stylesheet href=\"data:text/css,p{background:url('/a%95%5C'),url(https://tracker.example/p.gif)}\">",
			[]string{"data-fp-href="}},
		{"<link rel=stylesheet href=\"data:text/css,p{background:url('/a\x95\x5c'),url(https://tracker.example/p.gif)}\">",
			[]string{"data-fp-href="}},
		// A data: document that declares none is read so too.
		{"<iframe src=\"data:text/html,%3Cscript%3Ex='%95%5C';fetch('https://tracker.example/f')//'%3C/script%3E\"></iframe>",
			[]string{"data-fp-src="}},
		{"<script type=importmap>{\"imports\":{\"a\x95\x5c\":\"/a.js\"}}</script>",
			[]string{`type="text/plain"`}},
	} {
		got, st := rewriteStats(t, c.in, opts)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%q:\n got %q\nwant %q in it", c.in, got, w)
			}
		}
		if st.Actions[Defer] == 0 && len(st.FailClosed) == 0 {
			t.Errorf("%q: nothing deferred nor failed closed (%q)", c.in, got)
		}
	}
	// What every encoding reads as the bytes do (no character takes a
	// byte that is syntax) passes as it came: Shift_JIS text whose
	// characters' bytes are all high, windows-1252's é before a quote or
	// a letter, UTF-8 text.
	for _, in := range []string{
		"<script>x=\"\x82\xa0\";f()</script><p style=\"font-family:'\x82\x6c\x82\x72'\">\x95\x5c</p>",
		"<style>p{font-family:\"Caf\xe9\"}</style><script>n=\"Jos\xe9\";m=\"\xe9t\xe9\"</script>",
		"<script>x=\"\xe4\xb8\xad\xe6\x96\x87\";y='\xe2\x80\x99s'</script>",
		"<meta charset=shift_jis><meta charset=utf-16><p>x</p>",
	} {
		if got, st := rewriteStats(t, in, opts); got != in || st.FailClosed[FailUndeclaredEncoding] != 0 {
			t.Errorf("%q:\n got %q, %v", in, got, st.FailClosed)
		}
	}
	// A <meta> further in that puts the page in ISO-2022-JP (Chromium
	// took it, and read what follows its escapes as markup) is dropped.
	for _, in := range []string{
		"<p>x</p><meta charset=iso-2022-jp><body>\x1b$B<!\x1b(B--<img src=https://tracker.example/p.gif>-->",
		"<p>x</p><meta http-equiv=content-type content='text/html; charset=csISO2022JP'>",
	} {
		got, st := rewriteStats(t, in, opts)
		if strings.Contains(got, "meta") || st.FailClosed[FailUndeclaredEncoding] != 1 {
			t.Errorf("%q: %q, %v; want it without the meta, counted", in, got, st.FailClosed)
		}
		o := opts
		o.Encoding = "utf-8" // declared: a later <meta> changes nothing
		if got := rewriteString(t, in, o); got != in {
			t.Errorf("%q, declared UTF-8: %q", in, got)
		}
	}
}
