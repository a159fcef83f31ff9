package caddymodule

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/firstparty/firstparty/blocklists"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("firstparty", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("firstparty", httpcaddyfile.After, "encode")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var fp Handler
	err := fp.UnmarshalCaddyfile(h.Dispenser)
	return &fp, err
}

// Subdirectives are the subdirectives the firstparty directive accepts, as
// its error for an unknown one lists them. TestSubdirectivesDocumented
// checks that each is parsed and documented.
var Subdirectives = []string{"off", "report_only", "category", "unknown", "allow", "deny", "first_party", "third_party",
	"no_builtin", "list", "placeholder_text", "exclude", "max_token_size", "max_decoded_size", "page_memo", "style_sheets",
	"runtime_path", "consent_cookie", "consent_map", "banner", "proxy", "csp_backstop"}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	firstparty {
//		off
//		report_only
//		category <name> <action>
//		unknown <action>
//		allow <host...>
//		deny <host...>
//		first_party <host...>
//		third_party <host...>
//		no_builtin
//		list <file|https-url> [<category> [<format>]] {
//			refresh <duration>
//		}
//		placeholder_text <text>
//		exclude <path-prefix...>
//		max_token_size <size>
//		max_decoded_size <size>
//		page_memo <size>|off
//		style_sheets rewrite|consent|pass
//		runtime_path <path>
//		consent_cookie <name>
//		consent_map <cookiebot|onetrust|klaro|zaraz|complianz|borlabs|cookieyes|cookiefirst|cookiehub|iubenda|cookiescript|didomi|tarteaucitron> <key> <category...>
//		banner on|off {
//			…  (parseBanner)
//		}
//		proxy <profile> <prefix> {
//			…  (parseProxy)
//		}
//		csp_backstop report_only|enforce {
//			allow <host...>
//			report_uri <uri>
//		}
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := map[string]bool{}
	once := func(name string) error {
		if seen[name] {
			return d.Errf("duplicate subdirective %q", name)
		}
		seen[name] = true
		return nil
	}
	// single checks a subdirective that appears once with one argument.
	single := func(name string, args []string) error {
		if err := once(name); err != nil {
			return err
		}
		if len(args) != 1 {
			return d.ArgErr()
		}
		return nil
	}
	for d.NextBlock(0) {
		name := d.Val()
		args := d.RemainingArgs()
		switch name {
		case "off", "report_only", "no_builtin":
			if err := once(name); err != nil {
				return err
			}
			if len(args) != 0 {
				return d.ArgErr()
			}
			switch name {
			case "off":
				h.Disabled = true
			case "report_only":
				h.ReportOnly = true
			default:
				h.NoBuiltin = true
			}
		case "category":
			if len(args) != 2 {
				return d.ArgErr()
			}
			if !blocklists.ValidCategory(args[0]) || args[0] == "unknown" {
				return d.Errf("unknown category %q", args[0])
			}
			if !blocklists.ValidAction(args[1]) {
				return d.Errf("unknown action %q", args[1])
			}
			if _, dup := h.Categories[args[0]]; dup {
				return d.Errf("duplicate category %q", args[0])
			}
			if h.Categories == nil {
				h.Categories = map[string]string{}
			}
			h.Categories[args[0]] = args[1]
		case "unknown":
			if err := single(name, args); err != nil {
				return err
			}
			if !blocklists.ValidAction(args[0]) {
				return d.Errf("unknown action %q", args[0])
			}
			h.Unknown = args[0]
		case "allow", "deny", "first_party", "third_party", "exclude":
			if len(args) == 0 {
				return d.ArgErr()
			}
			for _, a := range args {
				if err := checkHostOrPath(name, a); err != nil {
					return d.Err(err.Error())
				}
			}
			switch name {
			case "allow":
				h.Allow = append(h.Allow, args...)
			case "deny":
				h.Deny = append(h.Deny, args...)
			case "first_party":
				h.FirstParty = append(h.FirstParty, args...)
			case "third_party":
				h.ThirdParty = append(h.ThirdParty, args...)
			default:
				h.Exclude = append(h.Exclude, args...)
			}
		case "list":
			if len(args) < 1 || len(args) > 3 {
				return d.ArgErr()
			}
			l := List{Path: args[0]}
			if strings.Contains(args[0], "://") {
				l = List{URL: args[0]}
			}
			if len(args) > 1 {
				if !blocklists.ValidCategory(args[1]) {
					return d.Errf("unknown category %q", args[1])
				}
				l.Category = args[1]
			}
			if len(args) > 2 {
				l.Format = args[2]
			}
			for d.NextBlock(1) {
				switch d.Val() {
				case "refresh":
					if l.URL == "" {
						return d.Errf("refresh applies to URL lists only")
					}
					if !d.NextArg() {
						return d.ArgErr()
					}
					dur, err := caddy.ParseDuration(d.Val())
					if err != nil {
						return d.Errf("refresh: %v", err)
					}
					l.Refresh = caddy.Duration(dur)
					if d.NextArg() {
						return d.ArgErr()
					}
				default:
					return d.Errf("unknown list option %q (want refresh)", d.Val())
				}
			}
			if err := l.source().Validate(); err != nil {
				return d.Errf("%v", err)
			}
			h.Lists = append(h.Lists, l)
		case "consent_map":
			if len(args) < 3 {
				return d.ArgErr()
			}
			if err := checkConsentMap(args[0], args[1], args[2:]); err != nil {
				return d.Errf("%v", err)
			}
			if h.ConsentMaps == nil {
				h.ConsentMaps = map[string]map[string][]string{}
			}
			if h.ConsentMaps[args[0]] == nil {
				h.ConsentMaps[args[0]] = map[string][]string{}
			}
			if _, dup := h.ConsentMaps[args[0]][args[1]]; dup {
				return d.Errf("consent_map: duplicate key %q for %s", args[1], args[0])
			}
			h.ConsentMaps[args[0]][args[1]] = args[2:]
		case "banner":
			if err := once(name); err != nil {
				return err
			}
			if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
				return d.Errf("banner: want on or off, have %q", strings.Join(args, " "))
			}
			b := &Banner{Enabled: args[0] == "on"}
			if err := parseBanner(d, b); err != nil {
				return err
			}
			h.Banner = b
		case "proxy":
			if len(args) != 2 {
				return d.Errf("proxy: want a profile and a path prefix (proxy plausible /_fp/plausible), have %q", strings.Join(args, " "))
			}
			p := Proxy{Profile: args[0], Prefix: args[1]}
			if err := parseProxy(d, &p); err != nil {
				return err
			}
			for i := range h.Proxies {
				if err := p.overlaps(&h.Proxies[i]); err != nil {
					return d.Errf("%v", err)
				}
			}
			h.Proxies = append(h.Proxies, p)
		case "csp_backstop":
			if err := once(name); err != nil {
				return err
			}
			if len(args) > 1 || len(args) == 1 && args[0] != "report_only" && args[0] != "enforce" {
				return d.Errf("csp_backstop: want report_only or enforce, have %q", strings.Join(args, " "))
			}
			b := &CSPBackstop{}
			if len(args) == 1 {
				b.Mode = args[0]
			}
			if err := parseBackstop(d, b); err != nil {
				return err
			}
			h.CSPBackstop = b
		case "placeholder_text", "runtime_path", "max_token_size", "max_decoded_size", "page_memo", "consent_cookie", "style_sheets":
			if err := single(name, args); err != nil {
				return err
			}
			switch name {
			case "placeholder_text":
				h.PlaceholderText = args[0]
			case "style_sheets":
				if !slices.Contains(StyleSheetModes, args[0]) {
					return d.Errf("style_sheets: want rewrite, consent or pass, have %q", args[0])
				}
				h.StyleSheets = args[0]
			case "runtime_path":
				if err := checkServedPath("runtime_path", args[0]); err != nil {
					return d.Err(err.Error())
				}
				h.RuntimePath = args[0]
			case "consent_cookie":
				if !cookieName.MatchString(args[0]) {
					return d.Errf("consent_cookie %q is not a valid cookie name", args[0])
				}
				h.ConsentCookie = args[0]
			case "max_decoded_size":
				n, err := humanize.ParseBytes(args[0])
				if err != nil || n == 0 || n > 1<<40 {
					return d.Errf("max_decoded_size: want a size such as 64MiB, have %q", args[0])
				}
				h.MaxDecodedSize = int64(n)
			case "page_memo":
				if args[0] == "off" {
					h.PageMemo = -1
					break
				}
				n, err := humanize.ParseBytes(args[0])
				if err != nil || n == 0 || n > 1<<40 {
					return d.Errf("page_memo: want a size such as 32MiB, or off; have %q", args[0])
				}
				h.PageMemo = int64(n)
			default:
				n, err := humanize.ParseBytes(args[0])
				if err != nil || n < minTokenSize || n > maxTokenSize {
					return d.Errf("max_token_size: want a size from 1KiB to 1GiB, such as 1MiB or 1048576, have %q", args[0])
				}
				h.MaxTokenSize = int(n)
			}
		default:
			return d.Errf("unknown subdirective %q (want one of %s)", name, strings.Join(Subdirectives, ", "))
		}
	}
	return nil
}

// BannerOptions are the options of the banner block.
var BannerOptions = []string{"privacy_url", "position", "colors", "language", "text"}

// parseBanner reads the banner block:
//
//	banner on|off {
//		privacy_url <url>
//		position bottom|top|center
//		colors <background> <text> <accent>
//		language auto|<code>
//		text <code> <key> <text>
//	}
func parseBanner(d *caddyfile.Dispenser, b *Banner) error {
	seen := map[string]bool{}
	for d.NextBlock(1) {
		opt := d.Val()
		args := d.RemainingArgs()
		if opt != "text" {
			if seen[opt] {
				return d.Errf("banner: duplicate option %q", opt)
			}
			seen[opt] = true
		}
		want := map[string]int{"privacy_url": 1, "position": 1, "colors": 3, "language": 1, "text": 3}
		n, ok := want[opt]
		if !ok {
			return d.Errf("unknown banner option %q (want one of %s)", opt, strings.Join(BannerOptions, ", "))
		}
		if len(args) != n {
			hint := ""
			if opt == "colors" {
				hint = ` (quote hex colours: "#ffffff", since # starts a comment)`
			}
			return d.Errf("banner %s: want %d argument(s), have %d%s", opt, n, len(args), hint)
		}
		switch opt {
		case "privacy_url":
			b.PrivacyURL = args[0]
		case "position":
			b.Position = args[0]
		case "colors":
			b.Colors = args
		case "language":
			b.Language = args[0]
		case "text":
			if b.Texts == nil {
				b.Texts = map[string]map[string]string{}
			}
			if b.Texts[args[0]] == nil {
				b.Texts[args[0]] = map[string]string{}
			}
			b.Texts[args[0]][args[1]] = args[2]
		}
	}
	if err := b.validate(); err != nil {
		return d.Errf("%v", err)
	}
	return nil
}

// parseProxy reads the proxy block:
//
//	proxy <profile> <prefix> {
//		upstream <url>
//		ip none|truncate|pseudonym
//		consent analytics|exempt
//		id <id...>
//		client_ids pseudonym|drop
//		rotate <duration>
//		query_params <name...>
//		rate_limit <per-minute>|off
//		max_body <size>
//		timeout <duration>
//		path <path...>       (custom)
//		script <path...>     (custom)
//		param <name...>      (custom)
//		id_param <name...>   (custom)
//	}
func parseProxy(d *caddyfile.Dispenser, p *Proxy) error {
	seen := map[string]bool{}
	for d.NextBlock(1) {
		opt := d.Val()
		args := d.RemainingArgs()
		if !slices.Contains(ProxyOptions, opt) {
			return d.Errf("unknown proxy option %q (want one of %s)", opt, strings.Join(ProxyOptions, ", "))
		}
		if seen[opt] {
			return d.Errf("proxy: duplicate option %q", opt)
		}
		seen[opt] = true
		switch opt {
		case "id", "query_params", "path", "script", "param", "id_param":
			if len(args) == 0 {
				return d.Errf("proxy %s: want at least one value", opt)
			}
		default:
			if len(args) != 1 {
				return d.Errf("proxy %s: want one value, have %d", opt, len(args))
			}
		}
		var err error
		switch opt {
		case "upstream":
			p.Upstream = args[0]
		case "ip":
			p.IP = args[0]
		case "consent":
			p.Consent = args[0]
		case "client_ids":
			p.ClientIDs = args[0]
		case "id":
			p.IDs = args
		case "query_params":
			p.QueryParams = args
		case "path":
			p.Paths = args
		case "script":
			p.Scripts = args
		case "param":
			p.Params = args
		case "id_param":
			p.IDParams = args
		case "rotate", "timeout":
			var dur time.Duration
			if dur, err = caddy.ParseDuration(args[0]); err != nil || dur <= 0 {
				return d.Errf("proxy %s: want a positive duration such as 24h, have %q", opt, args[0])
			}
			if opt == "rotate" {
				p.Rotate = caddy.Duration(dur)
			} else {
				p.Timeout = caddy.Duration(dur)
			}
		case "rate_limit":
			if args[0] == "off" {
				p.RateLimit = -1
				break
			}
			n, err := strconv.Atoi(args[0])
			if err != nil || n <= 0 {
				return d.Errf("proxy rate_limit: want calls per minute per client address, or off; have %q", args[0])
			}
			p.RateLimit = n
		case "max_body":
			n, err := humanize.ParseBytes(args[0])
			if err != nil || n == 0 || n > 64<<20 {
				return d.Errf("proxy max_body: want a size up to 64MiB such as 64KiB, have %q", args[0])
			}
			p.MaxBody = int64(n)
		}
	}
	if err := p.validate(); err != nil {
		return d.Errf("%v", err)
	}
	return nil
}

// parseBackstop reads the csp_backstop block:
//
//	csp_backstop [report_only|enforce] {
//		allow <host...>
//		report_uri <uri>
//	}
func parseBackstop(d *caddyfile.Dispenser, b *CSPBackstop) error {
	for d.NextBlock(1) {
		opt := d.Val()
		vals := d.RemainingArgs()
		switch {
		case opt == "allow" && len(vals) > 0:
			b.Allow = append(b.Allow, vals...)
		case opt == "report_uri" && len(vals) == 1 && b.ReportURI == "":
			b.ReportURI = vals[0]
		case opt == "allow" || opt == "report_uri":
			return d.Errf("csp_backstop %s: wrong arguments or repeated", opt)
		default:
			return d.Errf("unknown csp_backstop option %q (want one of %s)", opt, strings.Join(CSPBackstopOptions, ", "))
		}
	}
	if err := b.validate(); err != nil {
		return d.Errf("%v", err)
	}
	return nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Handler)(nil)
