package rewrite

import (
	"encoding/json"
	"strings"
)

// Speculation rules that match the page's links ("document" rules: a
// "where" predicate, or none) make Chromium prefetch or prerender the
// links they match, a vendor's among them: a Chromium test saw a rule
// that matched every link fetch a vendor's page before any choice. The
// links are the page's own markup, decided nowhere else, so such a rule
// set is kept only when its every document rule is confined to the
// page's own origin (specRulesStayHome).

// specRulesStayHome reports whether every document rule of the
// speculation rules body can match only links on the page's own origin:
// its "where" is an "href_matches" whose patterns are all paths ("/…",
// not "//…"), an "and" with one such conjunct, or an "or" of such
// predicates. List rules ("urls") are decided as the script's strings are.
// A body that is no JSON object, or a rule of another shape, does not.
func specRulesStayHome(body []byte) bool {
	var rules map[string]json.RawMessage
	if json.Unmarshal(body, &rules) != nil {
		return false
	}
	for _, action := range [...]string{"prefetch", "prerender", "prefetch_with_subresources"} {
		raw, ok := rules[action]
		if !ok {
			continue
		}
		var list []map[string]json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return false
		}
		for _, rule := range list {
			where, hasWhere := rule["where"]
			var source string
			_ = json.Unmarshal(rule["source"], &source) // one that is not a string is not "document"
			if !hasWhere && source != "document" {
				if _, ok := rule["urls"]; ok {
					continue // a list rule
				}
				return false
			}
			if !hasWhere || !whereStaysHome(where, 0) {
				return false
			}
		}
	}
	return true
}

// whereStaysHome reports whether the document rule predicate p matches
// only same-origin links (specRulesStayHome), depth predicates deep.
func whereStaysHome(p json.RawMessage, depth int) bool {
	if depth > 8 {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(p, &m) != nil || len(m) != 1 {
		return false
	}
	for k, v := range m {
		switch k {
		case "href_matches":
			var pats []string
			var one string
			if json.Unmarshal(v, &one) == nil {
				pats = []string{one}
			} else if json.Unmarshal(v, &pats) != nil || len(pats) == 0 {
				return false
			}
			for _, s := range pats {
				if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.ContainsRune(s, '\\') {
					return false
				}
			}
			return true
		case "and", "or":
			var ps []json.RawMessage
			if json.Unmarshal(v, &ps) != nil || len(ps) == 0 {
				return false
			}
			for _, q := range ps {
				home := whereStaysHome(q, depth+1)
				if k == "and" && home {
					return true
				}
				if k == "or" && !home {
					return false
				}
			}
			return k == "or"
		}
	}
	return false
}
