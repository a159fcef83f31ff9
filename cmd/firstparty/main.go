// Command firstparty is the developer CLI: rewrite pages locally with the
// product policy, scan pages for what they give away, and check tracker
// lists.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/firstparty/firstparty/blocklists"
	"github.com/firstparty/firstparty/caddymodule"
	"github.com/firstparty/firstparty/rewrite"
)

const usage = `usage:
  firstparty rewrite [flags] < in.html > out.html
  firstparty rewrite [flags] FILE|DIR... --out OUTDIR
  firstparty scan [flags] FILE|DIR|URL...
  firstparty lists check [--format FORMAT] FILE|URL...`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "rewrite":
		err = runRewrite(os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
	case "lists":
		err = runLists(os.Args[2:], os.Stdout, os.Stderr)
	case "scan":
		err = runScan(os.Args[2:], os.Stdout, os.Stderr, isTerminal(os.Stdout))
	case "-h", "--help", "help":
		fmt.Println(usage)
		return
	default:
		err = fmt.Errorf("unknown command %q\n%s", os.Args[1], usage)
	}
	os.Exit(exitStatus(err, os.Stderr))
}

// exitStatus reports a command's error on stderr and gives the process's
// exit status. -h or --help on a command printed its usage: asking for help
// is not a failure.
func exitStatus(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintln(stderr, "firstparty:", err)
		return 1
	}
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

const rewriteUsage = `usage:
  firstparty rewrite [flags] < in.html > out.html
  firstparty rewrite [flags] FILE|DIR... --out OUTDIR
  firstparty rewrite --style-sheet [flags] < in.css > out.css`

// listedCategory is the category of hosts read from --blocklist lists.
const listedCategory = "blocklist"

func runRewrite(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rewrite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, rewriteUsage); fs.PrintDefaults() }
	var pf policyFlags
	pf.register(fs)
	site := fs.String("site", "shop.example", "the page's own site, which decides what is third party")
	stats := fs.Bool("stats", false, "print the stats as JSON on stderr")
	out := fs.String("out", "", "output directory when rewriting files")
	sheet := fs.Bool("style-sheet", false, "read stdin as one of the site's own style sheets, as style_sheets rewrite does")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *sheet && len(files) > 0 {
		return errors.New("--style-sheet reads stdin only")
	}
	p, err := pf.build(stderr)
	if err != nil {
		return err
	}
	if err := checkSite(*site); err != nil {
		return err
	}
	page := &url.URL{Scheme: "https", Host: *site, Path: "/"}
	opts := rewrite.Options{Policy: caddymodule.RewritePolicy(p), PageURL: page, Token: "local", ReportFindings: true,
		Facts: rewrite.NewFactsCache(0), // shared by the files of one run
		Loader: func(tok, nonce string) []byte {
			return []byte(`<script src="/_fp/consent.js" data-fp-token="` + tok + `"></script>`)
		}}
	if *sheet {
		return rewriteSheet(stdin, stdout, stderr, opts, *stats)
	}
	if len(files) == 0 {
		in := bufio.NewReaderSize(stdin, 64<<10)
		enc, err := checkEncoding(in)
		if err != nil {
			return err
		}
		opts.Encoding = enc
		st, err := rewrite.Rewrite(stdout, in, opts)
		if err != nil {
			return err
		}
		return printStats(*stats, stderr, "-", page.Host, st)
	}
	if *out == "" {
		return errors.New("rewriting files needs --out OUTDIR")
	}
	if err := checkOutside(*out, files); err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	failed := 0
	written := map[string]string{} // an output path, and the input rewritten to it
	for _, f := range files {
		err := filepath.WalkDir(f, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || (path != f && !isHTMLName(path)) {
				return nil
			}
			// A directory's files keep their place under it: site/a/index.html
			// and site/b/index.html are two pages, not one written twice.
			// What the command line names is read as it is (a pipe too);
			// what a directory holds, only if it is a file.
			rel := filepath.Base(path)
			if path != f {
				if rel, err = filepath.Rel(f, path); err != nil {
					return err
				}
				err = readableEntry(path, d)
			}
			dst := filepath.Join(*out, rel)
			if err == nil {
				err = writeOnce(written, path, dst)
			}
			if err == nil {
				err = rewriteFile(path, dst, opts, *stats, stderr)
			}
			if err != nil {
				fmt.Fprintf(stderr, "firstparty: %s: %v\n", path, err)
				failed++
			}
			return nil
		})
		if err != nil {
			fmt.Fprintf(stderr, "firstparty: %v\n", err)
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d file(s) failed", failed)
	}
	return nil
}

// isHTMLName reports whether a file found in a directory is a page to
// rewrite: *.html or *.htm, in any case.
func isHTMLName(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".html" || ext == ".htm"
}

// readableEntry returns nil for a file a directory walk meets that is to
// be read: a regular file, or a link to one (readable), or a link that
// leads nowhere, whose read then says so.
func readableEntry(path string, d fs.DirEntry) error {
	if d.Type()&fs.ModeSymlink == 0 {
		return readable(d.Type())
	}
	if fi, err := os.Stat(path); err == nil {
		return readable(fi.Mode())
	}
	return nil
}

// readable returns nil for the mode of a regular file, and otherwise an
// error that says what the file is (a named pipe, a socket, a device, a
// directory). A file found by its name in a folder is read only when it
// is regular: open waits for ever on a pipe no one writes to, and a
// device may be read without end.
func readable(mode fs.FileMode) error {
	var kind string
	switch {
	case mode.IsRegular():
		return nil
	case mode&fs.ModeNamedPipe != 0:
		kind = "a named pipe"
	case mode&fs.ModeSocket != 0:
		kind = "a socket"
	case mode&fs.ModeDevice != 0:
		kind = "a device"
	case mode.IsDir():
		kind = "a directory"
	default:
		return errors.New("not a regular file")
	}
	return fmt.Errorf("%s, not a file", kind)
}

// checkOutside refuses an output directory that is an input directory or
// lies in one: the walk would read the rewritten files again as input.
func checkOutside(out string, inputs []string) error {
	o, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	for _, in := range inputs {
		fi, err := os.Stat(in)
		if err != nil || !fi.IsDir() {
			continue // a missing input is reported when it is read
		}
		d, err := filepath.Abs(in)
		if err != nil {
			return err
		}
		if o == d || strings.HasPrefix(o, d+string(filepath.Separator)) {
			return fmt.Errorf("--out %s is the input directory %s or lies in it: give an output directory outside it", out, in)
		}
	}
	return nil
}

// writeOnce claims dst for the input in, refusing a path that another
// input of this run was written to, or that is the input itself (read
// while it is rewritten, it would grow without end). It makes dst's
// directory.
func writeOnce(written map[string]string, in, dst string) error {
	if prev, ok := written[dst]; ok {
		return fmt.Errorf("%s already holds the rewrite of %s", dst, prev)
	}
	if a, err := os.Stat(in); err == nil {
		if b, err := os.Stat(dst); err == nil && os.SameFile(a, b) {
			return fmt.Errorf("the output %s is the input itself", dst)
		}
	}
	written[dst] = in
	return os.MkdirAll(filepath.Dir(dst), 0o755)
}

func rewriteFile(in, out string, opts rewrite.Options, stats bool, stderr io.Writer) error {
	src, err := os.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	br := bufio.NewReaderSize(src, 64<<10)
	enc, err := checkEncoding(br)
	if err != nil {
		return err
	}
	opts.Encoding = enc
	dst, err := os.Create(out)
	if err != nil {
		return err
	}
	st, err := rewrite.Rewrite(dst, br, opts)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return printStats(stats, stderr, in, opts.PageURL.Host, st)
}

// rewriteSheet rewrites the style sheet stdin holds as the module's
// style_sheets rewrite does: the URLs the policy does not keep
// neutralised.
func rewriteSheet(stdin io.Reader, stdout, stderr io.Writer, opts rewrite.Options, stats bool) error {
	in := bufio.NewReaderSize(stdin, 64<<10)
	head, err := in.Peek(rewrite.PrescanSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return err
	}
	enc, ok := rewrite.StyleSheetEncoding(head, "")
	if !ok {
		return fmt.Errorf("the style sheet is in %s, which is not ASCII-compatible: not rewritten (convert it to UTF-8 first)", enc)
	}
	opts.Encoding = enc
	sw := rewrite.NewStyleSheetWriter(stdout, opts)
	if _, err := in.WriteTo(sw); err != nil {
		return err
	}
	if err := sw.Close(); err != nil {
		return err
	}
	return printStats(stats, stderr, "-", opts.PageURL.Host, sw.Stats())
}

// checkEncoding returns the encoding of the page r reads
// (rewrite.Options.Encoding), and refuses one that is not
// ASCII-compatible: the rewriter reads bytes, and such a page would pass
// unscanned.
func checkEncoding(r *bufio.Reader) (string, error) {
	head, err := r.Peek(rewrite.PrescanSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return "", err
	}
	return asciiCompatible(head, "", "rewritten")
}

// asciiCompatible returns the encoding of a page, read from its first
// bytes and the Content-Type it came with ("" for none), and refuses one
// that is not ASCII-compatible; what says what was not done with it.
func asciiCompatible(head []byte, contentType, what string) (string, error) {
	name, ok := rewrite.DetectEncoding(head, contentType)
	if !ok {
		return "", fmt.Errorf("the page is in %s, which is not ASCII-compatible: not %s (convert it to UTF-8 first)", name, what)
	}
	return name, nil
}

// printStats writes the stats of one rewrite as one line of JSON, with
// the field names of the scan report (docs/cli.md).
func printStats(on bool, w io.Writer, name, site string, st *rewrite.Stats) error {
	if !on {
		return nil
	}
	fs := []FindingReport{}
	for f, n := range st.Findings() {
		fs = append(fs, findingReport(f, n, site))
	}
	sortFindings(fs)
	actions := map[string]int{}
	for a, n := range st.Actions {
		if n > 0 {
			actions[rewrite.Action(a).String()] = n
		}
	}
	out := struct {
		File       string          `json:"file"`
		Elements   int             `json:"elements"`
		Actions    map[string]int  `json:"actions"`
		Findings   []FindingReport `json:"findings"`
		FailClosed map[string]int  `json:"fail_closed,omitempty"`
	}{name, st.Elements, actions, fs, st.FailClosed}
	return json.NewEncoder(w).Encode(out)
}

const listsUsage = "usage: firstparty lists check [--format hosts|domains|abp|firstparty] FILE|URL..."

func runLists(args []string, stdout, stderr io.Writer) error {
	if len(args) < 1 || args[0] != "check" {
		return errors.New(listsUsage)
	}
	fs := flag.NewFlagSet("lists check", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the error, with the usage, is returned
	format := fs.String("format", "", "the lists' format: hosts, domains, abp or firstparty (detected by default)")
	lists, err := parseInterspersed(fs, args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(stderr, listsUsage)
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		return err
	case err != nil:
		return fmt.Errorf("%v\n%s", err, listsUsage)
	case len(lists) == 0:
		return errors.New(listsUsage)
	case !blocklists.Format(*format).Valid():
		return fmt.Errorf("--format %q: want hosts, domains, abp or firstparty", *format)
	}
	fatal := false
	fetcher := &blocklists.Fetcher{UserAgent: "firstparty lists check"}
	for _, f := range lists {
		var r io.Reader
		if strings.Contains(f, "://") {
			if err := (blocklists.Source{Location: f}).Validate(); err != nil {
				fmt.Fprintf(stdout, "%s: %v\n", f, err)
				fatal = true
				continue
			}
			b, err := fetcher.Get(context.Background(), f)
			if err != nil {
				fmt.Fprintf(stdout, "%s: %v\n", f, err)
				fatal = true
				continue
			}
			r = bytes.NewReader(b)
		} else {
			file, err := os.Open(f)
			if err != nil {
				fmt.Fprintf(stdout, "%s: %v\n", f, err)
				fatal = true
				continue
			}
			defer file.Close()
			r = file
		}
		_, st, err := blocklists.ParseList(r, f, blocklists.Format(*format), "")
		if err != nil {
			fmt.Fprintf(stdout, "%s: %v\n", f, err)
			fatal = true
			continue
		}
		detected := string(st.Format)
		if detected == "" {
			detected = "not detected" // no rule line to tell it by
		}
		fmt.Fprintf(stdout, "%s: format %s, %d lines\n", f, detected, st.Lines)
		printCounts(stdout, "rules", st.Rules)
		printCounts(stdout, "skipped", st.Skipped)
		for _, s := range st.Samples {
			fmt.Fprintln(stdout, "  skipped", s)
		}
		for _, e := range st.Errors {
			fmt.Fprintln(stdout, "  error", e)
		}
		if err := st.Usable(); err != nil {
			fmt.Fprintf(stdout, "  refused: %v\n", err)
			fatal = true
		}
	}
	if fatal {
		return errors.New("some lists could not be read, or would be refused")
	}
	return nil
}

// printCounts prints a count map as "  title: a 1, b 2", sorted by name.
func printCounts(w io.Writer, title string, m map[string]int) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	fmt.Fprintf(w, "  %s: %s\n", title, strings.Join(parts, ", "))
}

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
