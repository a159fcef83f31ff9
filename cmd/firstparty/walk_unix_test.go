//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWalkSkipsWhatIsNotAFile: a directory that scan or rewrite walks may
// hold a named pipe, or a link to a directory, under a page's name, and
// a page's own style sheet or SVG file may be one. Each is reported as
// not read, and the walk goes on to the pages beside it. Until
// 2026-12-07 a named pipe was opened as a page or a page's file, and the
// command waited for a writer for ever.
func TestWalkSkipsWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "page.html"), []byte(gtagPage), 0o644); err != nil {
		t.Fatal(err)
	}
	own := `<link rel="stylesheet" href="/style.css"><svg><use href="/icons.svg#cart"/></svg>`
	if err := os.WriteFile(filepath.Join(dir, "own.html"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	var fifos []string
	for _, name := range []string{"pipe.html", "style.css", "icons.svg"} {
		fifo := filepath.Join(dir, name)
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Skipf("no named pipe here: %v", err)
		}
		fifos = append(fifos, fifo)
	}
	if err := os.Mkdir(filepath.Join(dir, "folder"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("folder", filepath.Join(dir, "folder.html")); err != nil {
		t.Fatal(err)
	}
	within := func(what string, f func() (string, string, error)) (string, string, error) {
		t.Helper()
		type result struct {
			out, errs string
			err       error
		}
		done := make(chan result, 1)
		go func() {
			out, errs, err := f()
			done <- result{out, errs, err}
		}()
		select {
		case r := <-done:
			return r.out, r.errs, r.err
		case <-time.After(20 * time.Second):
			// Let each reader that waits on a pipe go, as it comes, then
			// fail.
			for {
				for _, fifo := range fifos {
					if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
						w.Close()
					}
				}
				select {
				case <-done:
					t.Fatalf("%s: still running after 20 s, waiting on a named pipe", what)
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
	}

	out, _, err := within("scan", func() (string, string, error) { return scan(t, dir) })
	if err == nil {
		t.Error("scan: no error for a named pipe and a link to a directory")
	}
	for _, want := range []string{
		"pipe.html  error: a named pipe, not a file\n", "folder.html  error: a directory, not a file\n",
		"page.html  (", "Google Analytics",
		"own style sheet https://localhost/style.css not read: a named pipe, not a file\n",
		"own SVG file https://localhost/icons.svg not read: a named pipe, not a file\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scan: no %q in\n%s", want, out)
		}
	}

	outDir := filepath.Join(t.TempDir(), "out")
	_, stderr, err := within("rewrite", func() (string, string, error) { return run(t, "", dir, "--out", outDir) })
	if err == nil || !strings.Contains(err.Error(), "2 file(s) failed") {
		t.Errorf("rewrite: %v, want 2 file(s) failed", err)
	}
	for _, want := range []string{"pipe.html: a named pipe, not a file\n", "folder.html: a directory, not a file\n"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("rewrite: no %q in\n%s", want, stderr)
		}
	}
	if b, err := os.ReadFile(filepath.Join(outDir, "page.html")); err != nil || !strings.Contains(string(b), "data-fp-src=") {
		t.Errorf("rewrite: the page beside them was not rewritten: %v", err)
	}

	// A pipe the command line names is read, as "rewrite <(curl …)"
	// gives one (refused, too, on 2026-12-07 between b789b7d and the
	// next commit).
	named := filepath.Join(t.TempDir(), "named")
	go func() {
		if w, err := os.OpenFile(fifos[0], os.O_WRONLY, 0); err == nil {
			w.WriteString(gtagPage)
			w.Close()
		}
	}()
	if _, stderr, err := within("rewrite of a named pipe", func() (string, string, error) { return run(t, "", fifos[0], "--out", named) }); err != nil {
		t.Errorf("rewrite of a pipe the command line names: %v: %s", err, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(named, "pipe.html")); err != nil || !strings.Contains(string(b), "data-fp-src=") {
		t.Errorf("rewrite: the pipe the command line names was not rewritten: %v", err)
	}
}
