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
	if p == nil {
		return values, 0
	}
	if st == nil {
		st = &Stats{}
	}
	for _, v := range values {
		var keep []string
		changed := false
		for _, link := range splitLinks(v) {
			target, rel, ok := parseLink(link)
			if !ok {
				st.failClosed(FailUnparsableLink)
				dropped++
				changed = true
				continue
			}
			kind, loads := linkKind(rel)
			if loads {
				d := Decision{}
				res := Resource{Kind: kind, Tag: "link"}
				if u, err := ResolveURL(page, target); err != nil {
					st.failClosed(FailUnresolvableURL)
					res.URL = &url.URL{Scheme: "invalid", Host: "invalid."}
					d = p.Decide(page, &res)
				} else if u.Host != "" {
					res.URL = u
					d = p.Decide(page, &res)
				}
				st.record(kind, &d)
				if d.Action >= Defer {
					dropped++
					changed = true
					continue
				}
			}
			keep = append(keep, link)
		}
		switch {
		case !changed:
			kept = append(kept, v)
		case len(keep) > 0:
			kept = append(kept, strings.Join(keep, ", "))
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

// parseLink reads "<target>; param=value; …" and returns the target and
// the rel parameter.
func parseLink(link string) (target, rel string, ok bool) {
	if !strings.HasPrefix(link, "<") {
		return "", "", false
	}
	end := strings.IndexByte(link, '>')
	if end < 0 {
		return "", "", false
	}
	target = link[1:end]
	for _, param := range strings.Split(link[end+1:], ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(param), "=")
		if strings.EqualFold(strings.TrimSpace(k), "rel") && rel == "" {
			rel = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return target, rel, true
}
