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
// Every member of the rule set but "tag" is read as an action's list of
// rules: those Chromium knows ("prefetch", "prerender",
// "prerender_until_script") and any it comes to know, so that no member
// is left unread; one that is not a list of rules does not stay home.
func specRulesStayHome(body []byte) bool {
	var rules map[string]json.RawMessage
	if json.Unmarshal(body, &rules) != nil {
		return false
	}
	for action, raw := range rules {
		if action == "tag" {
			continue
		}
		var list []map[string]json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return false
		}
		for _, rule := range list {
			if list, home := documentRuleHome(rule); !list && !home {
				return false
			}
		}
	}
	return true
}

// documentRuleHome reads one rule of a rule set: list is true for a list
// rule ("urls", no "where", no "source" of "document"), whose URLs the
// caller decides; home is true for a document rule confined to the rule
// set's own origin (whereStaysHome).
func documentRuleHome(rule map[string]json.RawMessage) (list, home bool) {
	where, hasWhere := rule["where"]
	var source string
	_ = json.Unmarshal(rule["source"], &source) // one that is not a string is not "document"
	if !hasWhere && source != "document" {
		_, list = rule["urls"]
		return list, false
	}
	return false, hasWhere && whereStaysHome(where, 0)
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
