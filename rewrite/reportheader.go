package rewrite

import (
	"encoding/json"
	"io"
	"net/url"
	"strings"
)

// The browser sends reports (CSP violations, deprecations, interventions,
// network errors) to the endpoints a page's response headers name, with
// the page's URL in them, whatever the visitor chose: Chromium posted a
// CSP violation report to another origin's report-uri as the page loaded.
// An endpoint on a host the policy removes or defers is taken out of the
// header, as a Link header's preconnect is. They are decided as pings.

// FilterReportingEndpoints applies the policy to Reporting-Endpoints
// header values: a structured-field dictionary of endpoint names and URL
// strings (name="https://…"). An endpoint whose URL the policy removes or
// defers is dropped, and so is a member that is not a name and a string
// (fail closed: the browser ignores it anyway). It returns the values to
// keep and how many endpoints were dropped, as FilterLinkHeader does.
func FilterReportingEndpoints(values []string, page *url.URL, p Policy, st *Stats) (kept []string, dropped int) {
	return filterMembers(values, p, st, func(m string, st *Stats) bool {
		_, v, ok := strings.Cut(m, "=")
		target, sok := sfString(strings.TrimSpace(v))
		if !ok || !sok {
			st.failClosed(FailUnparsableReport)
			return false
		}
		return !headerURLHeld(target, KindPing, "reporting-endpoints", page, p, st)
	})
}

// FilterReportTo applies the policy to Report-To header values (the
// older Reporting API): each value is JSON, endpoint groups separated by
// commas, each group with endpoints of the form {"url": "https://…"}. A
// group with an endpoint the policy removes or defers is dropped whole,
// and so is a value that is not such JSON (fail closed). A kept group's
// bytes are unchanged. Every "url" member is read, in any case and
// however often it repeats, so a parser that keeps another of them than
// this one does finds no endpoint that was not decided.
func FilterReportTo(values []string, page *url.URL, p Policy, st *Stats) (kept []string, dropped int) {
	return filterValues(values, p, st, func(v string, st *Stats) (string, bool, int) {
		var groups []json.RawMessage
		if err := json.Unmarshal([]byte("["+v+"]"), &groups); err != nil || len(groups) == 0 {
			st.failClosed(FailUnparsableReport)
			return "", false, 1
		}
		var keep []string
		for _, g := range groups {
			urls, ok := reportURLs(g)
			if !ok {
				st.failClosed(FailUnparsableReport)
			}
			held := !ok
			for _, u := range urls {
				if headerURLHeld(u, KindPing, "report-to", page, p, st) {
					held = true
				}
			}
			if !held {
				keep = append(keep, string(g))
			}
		}
		if len(keep) == len(groups) {
			return v, true, 0
		}
		return strings.Join(keep, ", "), len(keep) > 0, len(groups) - len(keep)
	})
}

// reportURLs returns the strings of every member named url (in any case)
// at any depth of the JSON object g, and false when g is not an object.
func reportURLs(g json.RawMessage) ([]string, bool) {
	d := json.NewDecoder(strings.NewReader(string(g)))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var urls []string
	// A stack of what each open container is: true for an object, where
	// the next string is a member's name.
	objects := []bool{true}
	name := true
	lastName := ""
	for {
		t, err := d.Token()
		if err == io.EOF {
			return urls, len(objects) == 0
		}
		if err != nil {
			return nil, false
		}
		inObject := len(objects) > 0 && objects[len(objects)-1]
		switch t := t.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				objects = append(objects, t == '{')
				name = t == '{'
				continue
			default:
				objects = objects[:len(objects)-1]
			}
		case string:
			if inObject && name {
				lastName = t
				name = false
				continue
			}
			if inObject && strings.EqualFold(lastName, "url") {
				urls = append(urls, t)
			}
		}
		// A value ends: in an object the next string is a name again.
		name = len(objects) > 0 && objects[len(objects)-1]
	}
}

// FilterCSPReports applies the policy to the report-uri directives of
// Content-Security-Policy (or -Report-Only) header values: each URL the
// policy removes or defers is taken out of the directive, and a directive
// left with none is taken out of its policy. Nothing else changes: the
// policy blocks what it blocked, and a value with no such URL is kept
// byte for byte, and one left with no directive is left out. (report-to names a group of the Reporting-Endpoints or
// Report-To header, filtered there.) It returns the values and how many
// URLs were dropped.
func FilterCSPReports(values []string, page *url.URL, p Policy, st *Stats) (kept []string, dropped int) {
	return filterValues(values, p, st, func(v string, st *Stats) (string, bool, int) {
		// A value may hold several policies, separated by commas, each
		// of directives separated by semicolons (CSP 3).
		policies := strings.Split(v, ",")
		n := 0
		for i, pol := range policies {
			dirs := strings.Split(pol, ";")
			var out []string
			for _, d := range dirs {
				fields := strings.Fields(d)
				if len(fields) == 0 || !strings.EqualFold(fields[0], "report-uri") {
					out = append(out, d)
					continue
				}
				var uris []string
				for _, u := range fields[1:] {
					if headerURLHeld(u, KindPing, "csp-report-uri", page, p, st) {
						n++
						continue
					}
					uris = append(uris, u)
				}
				switch {
				case len(uris) == len(fields)-1:
					out = append(out, d)
				case len(uris) > 0:
					out = append(out, " "+fields[0]+" "+strings.Join(uris, " "))
				}
			}
			policies[i] = strings.Join(out, ";")
		}
		if n == 0 {
			return v, true, 0
		}
		v = strings.Join(policies, ",")
		return v, strings.Trim(v, " \t;,") != "", n
	})
}
