package rewrite

import (
	"net/url"
	"strings"
)

// FilterLinkHeader applies the policy to the links of HTTP Link header
// values: a link whose rel makes the browser contact its target
// (preconnect, dns-prefetch, preload, modulepreload, prefetch, prerender,
// stylesheet, icon) is dropped when the policy removes or defers that
// target, because a header cannot be held inert. Link values that cannot
// be parsed are dropped too (fail closed). It returns the values to keep,
// with a value left out when none of its links remain, and how many links
// were dropped. Decisions are counted in st, which may be nil.
func FilterLinkHeader(values []string, page *url.URL, p Policy, st *Stats) (kept []string, dropped int) {
	return filterMembers(values, p, st, func(link string, st *Stats) bool {
		target, rel, srcset, ok := parseLink(link)
		if !ok {
			st.failClosed(FailUnparsableLink)
			return false
		}
		kind, loads := linkKind(rel)
		if !loads {
			return true
		}
		if headerURLHeld(target, kind, "link", page, p, st) {
			return false
		}
		// A preload's imagesrcset: Chromium loads a candidate of it in
		// place of the target (found by a generated Chromium test,
		// 2026-12-05). Each URL is decided, as an <img srcset>'s are.
		for _, u := range srcsetURLs(srcset, nil, false) {
			if headerURLHeld(u, kind, "link", page, p, st) {
				return false
			}
		}
		return true
	})
}

// filterMembers keeps the members of the header values (split at the
// commas between them, splitLinks) that keep reports true for. It
// returns the values to keep, a value whole when all of its members stay
// and left out when none does, and how many members were dropped. With
// no policy, nothing changes; st may be nil.
func filterMembers(values []string, p Policy, st *Stats, keep func(m string, st *Stats) bool) (kept []string, dropped int) {
	return filterValues(values, p, st, func(v string, st *Stats) (string, bool, int) {
		var ms []string
		n := 0
		for _, m := range splitLinks(v) {
			if !keep(m, st) {
				n++
				continue
			}
			ms = append(ms, m)
		}
		if n == 0 {
			return v, true, 0
		}
		return strings.Join(ms, ", "), len(ms) > 0, n
	})
}

// filterValues is what the header filters share: each header value goes
// through filter, which returns what to write instead (the value itself
// when nothing changes), whether to keep it at all, and how many entries
// it dropped. With no policy nothing changes; st may be nil.
func filterValues(values []string, p Policy, st *Stats, filter func(v string, st *Stats) (out string, keep bool, dropped int)) (kept []string, dropped int) {
	if p == nil {
		return values, 0
	}
	if st == nil {
		st = &Stats{}
	}
	for _, v := range values {
		out, keep, n := filter(v, st)
		dropped += n
		if keep {
			kept = append(kept, out)
		}
	}
	return kept, dropped
}

// splitLinks splits a Link header value at the commas between links:
// not inside <…> or a quoted string.
func splitLinks(v string) []string {
	var out []string
	start, inURI, inQuote := 0, false, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case inQuote:
			if c == '\\' {
				i++
			} else if c == '"' {
				inQuote = false
			}
		case inURI:
			if c == '>' {
				inURI = false
			}
		case c == '<':
			inURI = true
		case c == '"':
			inQuote = true
		case c == ',':
			if s := strings.TrimSpace(v[start:i]); s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(v[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// parseLink reads "<target>; param=value; …" and returns the target, the
// rel parameter and the imagesrcset one, unquoted: when a link has more
// than one, all of their values, the rels space-separated and the
// srcsets comma-separated, so that a reader taking any of them loads
// nothing the filter did not decide. A quoted value may hold ';' and
// commas; when the parameters hold a quote, they are also read split at
// every ';', as a reader that took quotes otherwise would.
func parseLink(link string) (target, rel, srcset string, ok bool) {
	if !strings.HasPrefix(link, "<") {
		return "", "", "", false
	}
	end := strings.IndexByte(link, '>')
	if end < 0 {
		return "", "", "", false
	}
	target = link[1:end]
	read := func(param string) {
		k, v, _ := strings.Cut(param, "=")
		switch k = strings.TrimSpace(k); {
		case strings.EqualFold(k, "rel"):
			rel += " " + unquoteParam(strings.TrimSpace(v))
		case strings.EqualFold(k, "imagesrcset"):
			srcset += ", " + unquoteParam(strings.TrimSpace(v))
		}
	}
	params := link[end+1:]
	for rest := params; rest != ""; {
		var param string
		param, rest = cutParam(rest)
		read(param)
	}
	if strings.IndexByte(params, '"') >= 0 {
		// For a reader that takes quotes otherwise (one left open, a
		// ';' inside), the parameters split at every ';' too.
		for param := range strings.SplitSeq(params, ";") {
			read(param)
		}
	}
	return target, rel, srcset, true
}

// cutParam returns the text before the first ';' of s outside a quoted
// string, and the text after it.
func cutParam(s string) (param, rest string) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case c == ';' && !inQuote:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// unquoteParam gives a parameter's value: a quoted string without its
// quotes and escapes, anything else as it is.
func unquoteParam(v string) string {
	if len(v) < 2 || v[0] != '"' {
		return v
	}
	v = strings.TrimSuffix(v[1:], `"`)
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// headerURLHeld decides the URL target of a response header, of kind and
// tag, and reports whether the policy removes or defers it. A URL that
// does not resolve is decided as an unresolvable one (fail closed), and
// so is a data: URL whose content would be read for more URLs, a style
// sheet's or a speculation rule set's: in markup the rewriter reads such
// a sheet (dataSheet), in a header it is not read.
func headerURLHeld(target string, kind Kind, tag string, page *url.URL, p Policy, st *Stats) bool {
	d := Decision{}
	res := Resource{Kind: kind, Tag: tag}
	if u, err := ResolveURL(page, target); err != nil || u.Scheme == "data" && (kind == KindStylesheet || tag == "speculationrules") {
		st.failClosed(FailUnresolvableURL)
		u := unresolvable
		res.URL = &u
		d = p.Decide(page, &res)
	} else if u.Host != "" {
		res.URL = u
		d = p.Decide(page, &res)
	}
	st.record(kind, &d)
	return d.Action >= Defer
}

// FilterSpeculationRules applies the policy to HTTP Speculation-Rules
// header values: a structured-field list of strings, each the URL of a
// speculation rule set. Chromium fetches each rule set, then prefetches
// or prerenders the pages it lists and the links it matches. A URL the
// policy removes or defers is dropped (a header cannot be held inert),
// and so is a member that is not a string (fail closed, counted as an
// unparsable link header). A rule set on a host other than the page's is
// dropped too (counted as FailUnreadRuleSet): its rules are read where it
// is served, by FilterRuleSet, and it is not served through here. It
// returns the values to keep, with a value left out when none of its
// members remain, and how many were dropped. Decisions are counted in st,
// which may be nil.
func FilterSpeculationRules(values []string, page *url.URL, p Policy, st *Stats) (kept []string, dropped int) {
	return filterMembers(values, p, st, func(m string, st *Stats) bool {
		target, ok := sfString(m)
		if !ok {
			st.failClosed(FailUnparsableLink)
			return false
		}
		if headerURLHeld(target, KindHint, "speculationrules", page, p, st) {
			return false
		}
		// A rule set's rules are read where it is served (FilterRuleSet):
		// one on another host is not served through here.
		if u, err := ResolveURL(page, target); err != nil || page == nil || !strings.EqualFold(u.Hostname(), page.Hostname()) {
			st.failClosed(FailUnreadRuleSet)
			return false
		}
		return true
	})
}

// sfString reads the structured-field string that begins a list member
// (RFC 9651: a quoted string, with \" and \\ its only escapes), before
// any parameters.
func sfString(m string) (string, bool) {
	if !strings.HasPrefix(m, `"`) {
		return "", false
	}
	var sb strings.Builder
	for i := 1; i < len(m); i++ {
		switch c := m[i]; {
		case c == '\\':
			if i+1 >= len(m) || m[i+1] != '"' && m[i+1] != '\\' {
				return "", false
			}
			i++
			sb.WriteByte(m[i])
		case c == '"':
			if rest := strings.TrimSpace(m[i+1:]); rest != "" && rest[0] != ';' {
				return "", false
			}
			return sb.String(), true
		case c < 0x20 || c > 0x7e:
			return "", false
		default:
			sb.WriteByte(c)
		}
	}
	return "", false
}
