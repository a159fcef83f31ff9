package caddymodule

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/firstparty/firstparty/blocklists"
)

// corpusConfig serves the saved pages under /corpus/ through firstparty.
func corpusConfig(firstparty, dir string) string {
	return testGlobals(browserPort) + fmt.Sprintf(`http://localhost:%d {
	firstparty {
		%s
	}
	handle_path /corpus/* {
		root * %q
		file_server
	}
}
`, browserPort, firstparty, dir)
}

// savedPageFiles lists the saved pages of ../shared/corpus/pages, and skips
// t when there are none.
func savedPageFiles(t *testing.T) (dir string, files []string) {
	dir, _ = filepath.Abs(filepath.Join("..", "..", "shared", "corpus", "pages"))
	files, _ = filepath.Glob(filepath.Join(dir, "*.html"))
	if len(files) == 0 {
		t.Skip("../shared/corpus/pages is absent: the saved pages are not loaded in Chromium")
	}
	sort.Strings(files)
	return dir, files
}

// openCorpus loads the saved page name, served under /corpus/, and waits
// for its body, for at most 20 seconds.
func (e *browserEnv) openCorpus(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return chromedp.Do(ctx, chromedp.Navigate(e.base+"/corpus/"+url.PathEscape(name)), chromedp.WaitReady(chromedp.CSS("body")))
}

// TestBrowserCorpus loads each saved page of ../shared/corpus/pages (real
// pages, full of trackers) through Caddy + firstparty on the default
// policy in Chromium, every host resolved to the stub, and checks that
// before any choice nothing reaches a third party the policy does not
// keep:
//
//   - markup: with JavaScript off, everything Chromium loads comes from
//     the rewritten markup (noscript content included, and every lazy
//     image, which loads at once without scripting). Every request it
//     announces and every contact the stub records counts.
//   - enforce: with JavaScript on and csp_backstop enforce, what the
//     pages' own scripts request (the rewriter keeps a shop's code: an
//     onerror that loads its image CDN, a document.write of a counter) is
//     the backstop's to stop; the stub's record of contacts counts.
func TestBrowserCorpus(t *testing.T) {
	dir, files := savedPageFiles(t)
	db, err := blocklists.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	policy := blocklists.NewPolicy(db)
	kept := func(host, pathQuery string) bool {
		p, q, _ := strings.Cut(pathQuery, "?")
		return policy.DecideURL("localhost", strings.ToLower(host), p, q).Action == blocklists.ActionKeep
	}
	e := newBrowserEnv(t, `unknown defer`)
	e.timeout = 10 * time.Minute
	keptByPage := map[string]map[string]bool{}
	for _, mode := range []string{"markup", "enforce"} {
		t.Run(mode, func(t *testing.T) {
			e.t = t
			cfg := "unknown defer"
			if mode == "enforce" {
				cfg = "csp_backstop enforce"
			}
			e.tester.InitServer(corpusConfig(cfg, dir), "caddyfile")
			ctx := e.browser(1280, 800, false)
			var mu sync.Mutex
			var announced []string // the URLs of the requests Chromium announced
			chromedp.Listen(ctx, func(ev any) {
				if r, ok := ev.(*network.EventRequestWillBeSent); ok && r.Request != nil {
					mu.Lock()
					announced = append(announced, r.Request.URL)
					mu.Unlock()
				}
			})
			e.run(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
					return err
				}
				_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: mode == "markup"})
				return err
			}))
			var stopped, keptLoads int
			for _, f := range files {
				name := filepath.Base(f)
				mu.Lock()
				announced = nil
				mu.Unlock()
				e.stub.reset()
				if err := e.openCorpus(ctx, name); err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				// Settled: nothing new announced or recorded for half a
				// second, or three seconds passed.
				var urls, conns, reqs []string
				for n, same, end := -1, 0, time.Now().Add(3*time.Second); same < 2 && time.Now().Before(end); {
					time.Sleep(250 * time.Millisecond)
					mu.Lock()
					urls = append([]string(nil), announced...)
					mu.Unlock()
					conns, reqs = e.stub.seen()
					if m := len(urls) + len(conns) + len(reqs); m == n {
						same++
					} else {
						n, same = m, 0
					}
				}
				// The hosts of kept URLs the markup loads (in this run, or,
				// for a frame the backstop stops, in the markup run): the
				// browser may connect to one before it asks, or without
				// asking when the backstop then stops the request.
				keptHosts := keptByPage[name]
				if keptHosts == nil {
					keptHosts = map[string]bool{}
					keptByPage[name] = keptHosts
				}
				for _, raw := range urls {
					u, err := url.Parse(raw)
					if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "localhost" {
						continue
					}
					path := u.EscapedPath()
					if u.RawQuery != "" {
						path += "?" + u.RawQuery
					}
					switch {
					case kept(u.Hostname(), path):
						keptHosts[strings.ToLower(u.Hostname())] = true
						keptLoads++
					case mode == "markup":
						t.Errorf("%s: before consent, the markup loaded %.160s", name, raw)
					default:
						stopped++
						t.Logf("%s: stopped: %.120s", name, raw)
					}
				}
				for _, r := range reqs {
					host, path, _ := strings.Cut(r, "/")
					if !kept(host, "/"+path) {
						t.Errorf("%s: before consent, %s was requested", name, r)
					}
				}
				requested := hostsOf(reqs)
				for _, c := range conns {
					_, h, _ := strings.Cut(c, " ")
					if h != "" && !keptHosts[h] && policy.DecideHost("localhost", h).Action != blocklists.ActionKeep && !slices.Contains(requested, h) {
						t.Errorf("%s: before consent, a connection was opened to %s with no request", name, h)
					}
				}
			}
			// Neither run may pass on nothing: the markup loads what the
			// policy keeps (CDNs' images, fonts, consent managers), and
			// the pages' scripts, when they run, ask for more.
			t.Logf("%d pages: %d requests to third parties the policy keeps; %d others, the pages' scripts', stopped by the backstop", len(files), keptLoads, stopped)
			if keptLoads == 0 {
				t.Error("no page loaded anything from a third party the policy keeps: did the pages load?")
			}
			if mode == "enforce" && stopped == 0 {
				t.Error("no page's script asked for a third party the policy does not keep: did JavaScript run?")
			}
		})
	}
}

// heldLeft is a JavaScript function of a document: the start of each of
// its elements that still holds something firstparty held, a data-fp-
// attribute but the marks (category, vendor, placeholder) that stay on
// what was given back; the loader aside.
const heldLeft = `function (d) {
	return [].filter.call(d.querySelectorAll("*"), function (x) {
		return !(x.localName == "script" && /\/_fp\//.test(x.getAttribute("src"))) &&
			x.getAttributeNames().some(function (n) { return /^data-fp-(?!category$|vendor$|placeholder$)/.test(n); });
	}).map(function (x) { return x.outerHTML.slice(0, 160); });
}`

// hasLoader is a JavaScript function of a document: whether the loader
// is in it. It opens the page's head: a page that has lost it is no
// longer the one parsed.
const hasLoader = `function (d) { return !!d.querySelector('script[src^="/_fp/"]'); }`

// runtimeThrows records the exceptions Chromium reports in ctx's page
// (its frames too) that were thrown in the runtime's own code, not in the
// scripts it runs.
type runtimeThrows struct {
	mu     sync.Mutex
	thrown []string
}

func listenRuntimeThrows(ctx context.Context) *runtimeThrows {
	r := &runtimeThrows{}
	chromedp.Listen(ctx, func(ev any) {
		x, ok := ev.(*cdpruntime.EventExceptionThrown)
		if !ok || x.ExceptionDetails == nil || !strings.Contains(x.ExceptionDetails.URL, "/_fp/") {
			return
		}
		msg := x.ExceptionDetails.Text
		if x.ExceptionDetails.Exception != nil {
			msg += " " + x.ExceptionDetails.Exception.Description // the error and its stack
		}
		r.mu.Lock()
		r.thrown = append(r.thrown, msg)
		r.mu.Unlock()
	})
	return r
}

// take returns what was recorded since the last take.
func (r *runtimeThrows) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.thrown
	r.thrown = nil
	return t
}

// grantedAll is the consent cookie of a visitor who granted every
// category a minute ago.
func (e *browserEnv) grantedAll() network.SetCookieParams {
	at := time.Now().Add(-time.Minute).Unix()
	return network.SetCookieParams{Name: "fp_consent", Value: fmt.Sprintf("1.%d.%d.*-g", at, at), URL: e.base + "/"}
}

// TestBrowserCorpusConsent loads each saved page through Caddy +
// firstparty in Chromium with every category granted: on every other
// page in the page, after it has loaded (firstparty.consent.set, as
// Accept all does), and on the others by a visitor who granted them
// before (the consent cookie, read as the page parses). It checks that
// the page is still the one parsed (an old tag's document.write, run
// after the parse, replaced it whole), that everything held was given
// back or run (a script the browser skips held the scripts after it),
// and that the runtime threw nothing.
func TestBrowserCorpusConsent(t *testing.T) {
	dir, files := savedPageFiles(t)
	e := newBrowserEnv(t, `unknown defer`)
	e.timeout = 10 * time.Minute
	e.tester.InitServer(corpusConfig("unknown defer", dir), "caddyfile")
	ctx := e.browser(1280, 800, false)
	throws := listenRuntimeThrows(ctx)
	count := "(" + heldLeft + ")(document).length"
	var pages, held, returning int
	for i, f := range files {
		name := filepath.Base(f)
		before, how := i%2 == 1, "in the page" // granted before this page, or in it
		if before {
			how = "before"
		}
		throws.take()
		e.run(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdpEmpty); err != nil || !before {
				return err
			}
			_, err := chromedp.Call(ctx, network.SetCookie, e.grantedAll())
			return err
		}))
		if err := e.openCorpus(ctx, name); err != nil {
			// (A page replaced as it parses has no body to wait for.)
			t.Errorf("%s (granted %s): loading it: %v", name, how, err)
			continue
		}
		var n int
		var loader bool
		if e.eval(ctx, "("+hasLoader+")(document)", &loader); !loader {
			// Nothing held, or something held and no loader for it.
			if e.eval(ctx, count, &n); n > 0 {
				t.Errorf("%s: %d elements held, and no loader", name, n)
			}
			continue
		}
		if !e.runtimeStarted(ctx) {
			t.Errorf("%s (granted %s): the loader is there, and the runtime did not start", name, how)
			continue
		}
		e.eval(ctx, count, &n)
		if before {
			returning++
		} else {
			pages++
			held += n
			e.eval(ctx, `firstparty.consent.set({"*": true})`, nil)
		}
		left := n
		waitFor(8*time.Second, func() bool { e.eval(ctx, count, &left); return left == 0 })
		if e.eval(ctx, "("+hasLoader+")(document)", &loader); !loader {
			t.Errorf("%s (granted %s): after consent the page is no longer the one parsed (replaced by a write?)", name, how)
		}
		if left > 0 {
			var what []string
			e.eval(ctx, "("+heldLeft+")(document).slice(0, 3)", &what)
			t.Errorf("%s: %d held elements still held 8 s after every category was granted: %q", name, left, what)
		}
		if thrown := throws.take(); len(thrown) > 0 {
			t.Errorf("%s: the runtime threw: %q", name, thrown)
		}
	}
	t.Logf("granted in the page: %d pages with held markup, %d elements held; granted before: %d pages with the loader", pages, held, returning)
	if pages == 0 || held == 0 || returning == 0 {
		t.Error("no page held anything: did the pages load through firstparty?")
	}
}
