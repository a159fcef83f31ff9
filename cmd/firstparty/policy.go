package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile" // the Caddyfile adapter
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/firstparty/firstparty/blocklists"
	"github.com/firstparty/firstparty/caddymodule"
)

// policyFlags are the flags that choose the policy, shared by rewrite and
// scan.
type policyFlags struct {
	lists, cats multi
	action      *string
	noBuiltin   *bool
	unknown     *string
	config      *string
	// styleSheets is the handler's StyleSheets once build has run: the
	// --config Caddyfile's, or scan's --style-sheets; maxTokenSize its
	// MaxTokenSize.
	styleSheets  string
	maxTokenSize int
}

func (pf *policyFlags) register(fs *flag.FlagSet) {
	fs.Var(&pf.lists, "blocklist", "a tracker list (hosts, domains, Adblock Plus or firstparty format); repeatable")
	fs.Var(&pf.cats, "category", "NAME=ACTION: the action for a category; repeatable")
	pf.action = fs.String("action", "defer", "action for hosts in --blocklist lists: remove or defer")
	pf.noBuiltin = fs.Bool("no-builtin", false, "leave out the embedded tracker database")
	pf.unknown = fs.String("unknown", "", "action for unlisted third parties: keep, defer or remove (default: the product policy's, defer)")
	pf.config = fs.String("config", "", "a Caddyfile: use the policy of its firstparty directive, as the module would (other flags apply on top)")
}

// parseInterspersed parses flags that may come after the arguments too.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) > 0 {
			rest = append(rest, args[0])
			args = args[1:]
		}
	}
	return rest, nil
}

// build compiles the policy the flags describe.
func (pf *policyFlags) build(stderr io.Writer) (*blocklists.Policy, error) {
	if *pf.action != "remove" && *pf.action != "defer" {
		return nil, fmt.Errorf("--action must be remove or defer, not %q", *pf.action)
	}
	h := &caddymodule.Handler{}
	if *pf.config != "" {
		var err error
		if h, err = handlerFromCaddyfile(*pf.config, stderr); err != nil {
			return nil, err
		}
	}
	if *pf.noBuiltin {
		h.NoBuiltin = true
	}
	if pf.styleSheets == "" {
		pf.styleSheets = h.StyleSheets
	}
	pf.maxTokenSize = h.MaxTokenSize
	if *pf.unknown != "" {
		h.Unknown = *pf.unknown
	}
	for _, c := range pf.cats {
		k, v, ok := strings.Cut(c, "=")
		if !ok {
			return nil, fmt.Errorf("--category %q: want NAME=ACTION", c)
		}
		if h.Categories == nil {
			h.Categories = map[string]string{}
		}
		h.Categories[k] = v
	}
	var extra []*blocklists.DB
	for _, l := range pf.lists {
		f, err := os.Open(l)
		if err != nil {
			return nil, err
		}
		db, st, err := blocklists.ParseList(f, l, blocklists.FormatAuto, listedCategory)
		f.Close()
		if err != nil {
			return nil, err
		}
		for _, e := range st.Errors {
			fmt.Fprintln(stderr, "firstparty: skipping", e)
		}
		extra = append(extra, db)
	}
	p, err := caddymodule.BuildPolicy(h)
	if err != nil {
		return nil, err
	}
	if len(extra) > 0 {
		merged := blocklists.NewDB()
		merged.Merge(p.DB())
		for _, e := range extra {
			merged.Merge(e)
		}
		// Hosts from --blocklist carry their own category: they get
		// --action (but for those the embedded database knows, which
		// keep their own category), and unlisted third parties keep the
		// policy's action.
		actions := map[string]string{listedCategory: *pf.action}
		for k, v := range p.Actions {
			actions[k] = v
		}
		p.Actions = actions
		p.SetDB(merged)
	}
	return p, nil
}

// handlerFromCaddyfile adapts a Caddyfile as Caddy does and returns the
// configuration of its firstparty handler. A Caddyfile with several that
// differ is refused: say which site to use by giving a smaller file.
func handlerFromCaddyfile(path string, stderr io.Writer) (*caddymodule.Handler, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	adapted, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(b, map[string]any{"filename": path})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "firstparty: %s:%d: %s\n", w.File, w.Line, w.Message)
	}
	var cfg any
	if err := json.Unmarshal(adapted, &cfg); err != nil {
		return nil, err
	}
	var found []json.RawMessage
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["handler"] == "firstparty" {
				raw, _ := json.Marshal(x)
				found = append(found, raw)
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(cfg)
	if len(found) == 0 {
		return nil, fmt.Errorf("%s: no firstparty directive", path)
	}
	for _, f := range found[1:] {
		if string(f) != string(found[0]) {
			return nil, errors.New(path + ": several firstparty directives with different policies; give a Caddyfile with one")
		}
	}
	h := &caddymodule.Handler{}
	if err := json.Unmarshal(found[0], h); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := h.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}
