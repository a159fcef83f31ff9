package caddymodule

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// The vendors' collection calls, each built anew from an allowlist of
// fields: a field is kept only when this file names it, and every kept
// value is validated, reduced, pseudonymised or scrubbed. Anything else,
// including fields no vendor documents, is dropped.

// builder builds the outgoing call, or returns nil to filter the call
// (answered, not forwarded), or an error to drop it as malformed.
type builder func(px *proxy, in *inbound) (*outbound, error)

var (
	smallInt   = regexp.MustCompile(`^-?\d{1,10}(\.\d{1,6})?$`)
	shortToken = regexp.MustCompile(`^[A-Za-z0-9._~*:-]{1,64}$`)
	screenRE   = regexp.MustCompile(`^\d{1,5}[x*]\d{1,5}$`)
	langRE     = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$`)
	propKey    = regexp.MustCompile(`^[A-Za-z0-9_ .:-]{1,64}$`)
)

// idWords are the words that make a custom property name announce an
// identifier or contact detail ("e-mail" and "email" contain "mail"):
// such a property is dropped whatever its value.
var idWords = []string{"user", "mail", "phone", "tel", "uid", "login", "customer", "client", "name", "address", "ip",
	"token", "session", "device", "account", "member", "ssn", "iban", "card", "zip", "postcode"}

// namesID reports whether a property name contains one of idWords, in
// any case: substring searches, cheaper on every call's every property
// than the regexp alternation they replace.
func namesID(k string) bool {
	k = strings.ToLower(k)
	for _, w := range idWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

const maxText = 300

// text is a scrubbed, capped free-text value.
func text(s string) string {
	if len(s) > maxText {
		i := maxText
		for i > 0 && !utf8.RuneStart(s[i]) {
			i-- // cut before the character that crosses the cap
		}
		s = s[:i]
	}
	return scrubText(s)
}

// checkID refuses an id that the proxy is not configured for.
func (px *proxy) checkID(id string) error {
	if len(px.ids) > 0 && !px.ids[id] {
		return dropReason("foreign_id")
	}
	return nil
}

// ---- GA4 /g/collect ----

func buildGA4(px *proxy, in *inbound) (*outbound, error) {
	q, err := px.ga4Params(in.query, in, true)
	if err != nil {
		return nil, err
	}
	out := &outbound{query: q}
	if len(in.body) > 0 {
		// a POST carries one event per line, each a query string
		var lines []string
		for _, line := range strings.Split(string(in.body), "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			if len(lines) == 50 {
				return nil, dropReason("malformed")
			}
			lq, err := parseQuery(line)
			if err != nil {
				return nil, dropReason("malformed")
			}
			ev, err := px.ga4Params(lq, in, false)
			if err != nil {
				return nil, err
			}
			lines = append(lines, ev.Encode())
		}
		out.body = []byte(strings.Join(lines, "\n"))
		out.contentType = "text/plain;charset=UTF-8"
	}
	return out, nil
}

var ga4Key = regexp.MustCompile(`^epn?\.[A-Za-z0-9_]{1,40}$`)

func (px *proxy) ga4Params(q url.Values, in *inbound, top bool) (url.Values, error) {
	out := url.Values{}
	for k := range q {
		v, _, err := single(q, k)
		if err != nil {
			return nil, err
		}
		switch k {
		case "tid":
			if err := px.checkID(v); err != nil {
				return nil, err
			}
			out.Set(k, v)
		case "v", "_s", "sct", "seg", "_et", "_fv", "_ss", "_nsi", "_ee", "npa", "dma", "_c":
			if smallInt.MatchString(v) {
				out.Set(k, v)
			}
		case "gtm", "gcs", "gcd", "dma_cps", "ul", "sr", "frm", "tfd", "pscdl", "_dbg":
			if shortToken.MatchString(v) && !hasPII(v) {
				out.Set(k, v)
			}
		case "cid":
			if p := px.pseudonym("ga", v, in.now); p != "" {
				out.Set(k, p)
			}
		case "sid":
			if p := px.pseudonym("num", v, in.now); p != "" {
				out.Set(k, p)
			}
		case "dl":
			u, err := px.reducePageURL(v)
			if err != nil {
				return nil, err
			}
			out.Set(k, u)
		case "dr":
			if r := reduceReferrer(v); r != "" {
				out.Set(k, r)
			}
		case "dt", "en":
			out.Set(k, text(v))
		default:
			if ga4Key.MatchString(k) && !namesID(k[strings.IndexByte(k, '.')+1:]) {
				out.Set(k, text(v))
			}
		}
	}
	if top {
		if _, ok := out["tid"]; !ok {
			return nil, dropReason("foreign_id")
		}
		if ip := px.vendorIP(in.ip, in.now); ip != "" {
			out.Set("_uip", ip)
		}
	}
	return out, nil
}

// ---- JSON ----

// decodeJSON reads one JSON document (numbers as json.Number) in a single
// pass that refuses a key repeated in any object, nesting deeper than 32
// and trailing data: an ambiguous or malformed document is dropped.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	v, err := jsonValue(d, 0)
	if err != nil {
		return nil, dropReason("malformed")
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, dropReason("malformed") // trailing data
	}
	return v, nil
}

// decodeObject is decodeJSON for a document that must be an object.
func decodeObject(b []byte) (map[string]any, error) {
	v, err := decodeJSON(b)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, dropReason("malformed")
	}
	return m, nil
}

var errAmbiguousJSON = errors.New("duplicate key or nesting too deep")

// jsonValue reads the next value from d's tokens.
func jsonValue(d *json.Decoder, depth int) (any, error) {
	if depth > 32 {
		return nil, errAmbiguousJSON
	}
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	delim, ok := t.(json.Delim)
	if !ok {
		return t, nil // string, json.Number, bool or nil
	}
	switch delim {
	case '{':
		m := map[string]any{}
		for d.More() {
			kt, err := d.Token()
			if err != nil {
				return nil, err
			}
			k, _ := kt.(string)
			if _, dup := m[k]; dup {
				return nil, errAmbiguousJSON
			}
			if m[k], err = jsonValue(d, depth+1); err != nil {
				return nil, err
			}
		}
		_, err = d.Token() // }
		return m, err
	default: // [
		a := []any{}
		for d.More() {
			v, err := jsonValue(d, depth+1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err = d.Token() // ]
		return a, err
	}
}

// str reads a JSON string field ("" when absent or null); a field of
// another type is malformed.
func str(m map[string]any, k string) (string, error) {
	v := m[k]
	if v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", dropReason("malformed")
	}
	return s, nil
}

// props cleans a flat map of custom properties: scalar values only,
// strings scrubbed, keys that name identifiers dropped, at most 50.
func props(v any) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]any{}
	for _, k := range keys {
		if len(out) == 50 {
			break
		}
		if v, ok := prop(k, m[k]); ok {
			out[k] = v
		}
	}
	return out
}

// prop cleans one custom property: a key that names no identifier, and a
// scalar value (strings scrubbed).
func prop(k string, v any) (any, bool) {
	if !propKey.MatchString(k) || namesID(k) {
		return nil, false
	}
	switch x := v.(type) {
	case string:
		return text(x), true
	case json.Number:
		return x, smallInt.MatchString(x.String())
	case bool:
		return x, true
	}
	return nil, false
}

func marshal(v any) []byte {
	b, _ := json.Marshal(v) // maps of strings, numbers and bools
	return b
}

// ---- Plausible /api/event ----

func buildPlausible(px *proxy, in *inbound) (*outbound, error) {
	ev, err := decodeObject(in.body)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for k := range ev {
		var s string
		switch k {
		case "n", "name", "u", "url", "d", "domain", "r", "referrer":
			if s, err = str(ev, k); err != nil {
				return nil, err
			}
		}
		switch k {
		case "n", "name":
			out["n"] = text(s)
		case "u", "url":
			u, err := px.reducePageURL(s)
			if err != nil {
				return nil, err
			}
			out["u"] = u
		case "d", "domain":
			for _, d := range strings.Split(s, ",") {
				if !validHost(d) {
					return nil, dropReason("malformed")
				}
			}
			if err := px.checkID(s); err != nil {
				return nil, err
			}
			out["d"] = s
		case "r", "referrer":
			if r := reduceReferrer(s); r != "" {
				out["r"] = r
			}
		case "p", "props", "m", "meta":
			v := ev[k]
			if s, ok := v.(string); ok { // the legacy "m" is a JSON string
				m, err := decodeObject([]byte(s))
				if err != nil {
					return nil, err
				}
				v = m
			}
			if p := props(v); len(p) > 0 {
				out["p"] = p
			}
		case "h", "hashMode":
			if n, ok := ev[k].(json.Number); ok && (n == "0" || n == "1") {
				out["h"] = n
			}
		case "i", "interactive":
			if b, ok := ev[k].(bool); ok {
				out["i"] = b
			}
		case "$":
			return nil, dropReason("malformed")
		case "revenue":
			m, ok := ev[k].(map[string]any)
			if !ok {
				continue
			}
			cur, _ := m["currency"].(string)
			amt := m["amount"]
			if len(cur) == 3 && strings.ToUpper(cur) == cur && (isNumber(amt)) {
				out["revenue"] = map[string]any{"currency": cur, "amount": amt}
			}
		}
	}
	if out["n"] == nil || out["u"] == nil || out["d"] == nil {
		return nil, dropReason("malformed")
	}
	return &outbound{query: url.Values{}, body: marshal(out), contentType: "application/json", ipHeader: px.vendorIP(in.ip, in.now)}, nil
}

func isNumber(v any) bool {
	switch x := v.(type) {
	case json.Number:
		return smallInt.MatchString(x.String())
	case string:
		return smallInt.MatchString(x)
	}
	return false
}

// ---- Matomo /matomo.php ----

var (
	matomoNum  = []string{"rec", "h", "m", "s", "gt_ms", "_idvc", "pdf", "qt", "realp", "wma", "java", "ag", "fla", "dir", "cookie", "send_image", "ping", "bots", "ca", "search_count", "idgoal", "revenue", "ec_st", "ec_tx", "ec_sh", "ec_dt", "e_v", "new_visit", "pf_net", "pf_srv", "pf_tfr", "pf_dm1", "pf_dm2", "pf_onl", "pf_lcp"}
	matomoText = []string{"action_name", "e_c", "e_a", "e_n", "search", "search_cat", "c_n", "c_p", "_rcn", "_rck"}
	matomoURL  = []string{"url", "c_t", "link", "download"}
	dimension  = regexp.MustCompile(`^dimension\d{1,3}$`)
	pvID       = regexp.MustCompile(`^[A-Za-z0-9]{6}$`)
)

func buildMatomo(px *proxy, in *inbound) (*outbound, error) {
	if len(in.body) > 0 && (in.ctype == "application/json" || in.body[0] == '{') {
		bulk, err := decodeObject(in.body)
		if err != nil {
			return nil, err
		}
		reqs, ok := bulk["requests"].([]any)
		if !ok || len(reqs) == 0 || len(reqs) > 100 {
			return nil, dropReason("malformed")
		}
		var out []string
		for _, r := range reqs {
			s, ok := r.(string)
			if !ok {
				return nil, dropReason("malformed")
			}
			q, err := parseQuery(strings.TrimPrefix(s, "?"))
			if err != nil {
				return nil, dropReason("malformed")
			}
			clean, err := px.matomoParams(q, in)
			if err != nil {
				return nil, err
			}
			out = append(out, "?"+clean.Encode())
		}
		return &outbound{query: url.Values{}, body: marshal(map[string]any{"requests": out}), contentType: "application/json", ipHeader: px.vendorIP(in.ip, in.now)}, nil
	}
	q := in.query
	if len(in.body) > 0 {
		f, err := parseQuery(string(in.body))
		if err != nil {
			return nil, dropReason("malformed")
		}
		for k, vs := range f {
			if _, dup := q[k]; dup {
				return nil, dropReason("duplicate_key")
			}
			q[k] = vs
		}
	}
	clean, err := px.matomoParams(q, in)
	if err != nil {
		return nil, err
	}
	return &outbound{query: clean, ipHeader: px.vendorIP(in.ip, in.now)}, nil
}

func (px *proxy) matomoParams(q url.Values, in *inbound) (url.Values, error) {
	out := url.Values{}
	for k := range q {
		v, _, err := single(q, k)
		if err != nil {
			return nil, err
		}
		switch {
		case k == "idsite":
			if !smallInt.MatchString(v) {
				return nil, dropReason("malformed")
			}
			if err := px.checkID(v); err != nil {
				return nil, err
			}
			out.Set(k, v)
		case slices.Contains(matomoNum, k):
			if smallInt.MatchString(v) {
				out.Set(k, v)
			}
		case k == "res":
			if screenRE.MatchString(v) {
				out.Set(k, v)
			}
		case k == "pv_id":
			if pvID.MatchString(v) && !hasPII(v) {
				out.Set(k, v)
			}
		case k == "_id":
			if p := px.pseudonym("hex16", v, in.now); p != "" {
				out.Set(k, p)
			}
		case k == "ec_id":
			if p := px.pseudonym("order", v, in.now); p != "" {
				out.Set(k, p)
			}
		case slices.Contains(matomoText, k) || dimension.MatchString(k):
			out.Set(k, text(v))
		case slices.Contains(matomoURL, k):
			u, err := px.reducePageURL(v)
			if err != nil {
				return nil, err
			}
			out.Set(k, u)
		case k == "urlref" || k == "_ref":
			if r := reduceReferrer(v); r != "" {
				out.Set(k, r)
			}
		case k == "ec_items":
			items, ok := jsonItems(v)
			if !ok {
				continue
			}
			for _, it := range items {
				for j, f := range it {
					switch x := f.(type) {
					case string:
						it[j] = text(x)
					case json.Number, bool, nil:
					default:
						it[j] = ""
					}
				}
			}
			out.Set(k, string(marshal(items)))
		}
	}
	if out.Get("idsite") == "" {
		return nil, dropReason("malformed")
	}
	return out, nil
}

// jsonItems reads Matomo's ec_items: a JSON array of at most 100
// arrays.
func jsonItems(v string) ([][]any, bool) {
	doc, err := decodeJSON([]byte(v))
	list, ok := doc.([]any)
	if err != nil || !ok || len(list) > 100 {
		return nil, false
	}
	items := make([][]any, len(list))
	for i, x := range list {
		if items[i], ok = x.([]any); !ok {
			return nil, false
		}
	}
	return items, true
}

// ---- Umami /api/send ----

func buildUmami(px *proxy, in *inbound) (*outbound, error) {
	call, err := decodeObject(in.body)
	if err != nil {
		return nil, err
	}
	typ, err := str(call, "type")
	if err != nil {
		return nil, err
	}
	if typ == "identify" {
		return nil, nil // a login id: never forwarded
	}
	if typ != "event" {
		return nil, dropReason("malformed")
	}
	p, ok := call["payload"].(map[string]any)
	if !ok {
		return nil, dropReason("malformed")
	}
	out := map[string]any{}
	for k := range p {
		var s string
		if k != "data" {
			if s, err = str(p, k); err != nil {
				return nil, err
			}
		}
		switch k {
		case "website":
			if !validID.MatchString(s) {
				return nil, dropReason("malformed")
			}
			if err := px.checkID(s); err != nil {
				return nil, err
			}
			out[k] = s
		case "hostname":
			if validHost(s) {
				out[k] = strings.ToLower(s)
			}
		case "screen":
			if screenRE.MatchString(s) {
				out[k] = s
			}
		case "language":
			if langRE.MatchString(s) {
				out[k] = s
			}
		case "title", "name", "tag":
			out[k] = text(s)
		case "url":
			u, err := px.reducePageURL(s)
			if err != nil {
				return nil, err
			}
			out[k] = u
		case "referrer":
			out[k] = reduceReferrer(s)
		case "id":
			if ps := px.pseudonym("uuid", s, in.now); ps != "" {
				out[k] = ps
			}
		case "data":
			if d := props(p[k]); len(d) > 0 {
				out[k] = d
			}
		}
	}
	if out["website"] == nil {
		return nil, dropReason("malformed")
	}
	body := marshal(map[string]any{"type": "event", "payload": out})
	return &outbound{query: url.Values{}, body: body, contentType: "application/json", ipHeader: px.vendorIP(in.ip, in.now)}, nil
}

// ---- PostHog ----

// postHogDropped are events that carry or link identities.
var postHogDropped = map[string]bool{"$identify": true, "$create_alias": true, "$merge_dangerously": true, "$groupidentify": true, "$set": true}

var (
	phLib     = regexp.MustCompile(`^[a-z-]{1,20}$`)
	phVersion = regexp.MustCompile(`^[0-9.]{1,20}$`)
	phBrowser = regexp.MustCompile(`^[A-Za-z ]{1,40}$`)
	phDevice  = regexp.MustCompile(`^(Desktop|Mobile|Tablet)$`)
	rfc3339   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$`)
)

func buildPostHog(px *proxy, in *inbound) (*outbound, error) {
	doc, err := decodeJSON(in.body)
	if err != nil {
		return nil, err
	}
	var events []any
	var outer map[string]any
	switch x := doc.(type) {
	case []any:
		events = x
	case map[string]any:
		if b, ok := x["batch"]; ok {
			if events, ok = b.([]any); !ok {
				return nil, dropReason("malformed")
			}
			outer = x
		} else {
			events = []any{x}
		}
	default:
		return nil, dropReason("malformed")
	}
	if len(events) == 0 || len(events) > 100 {
		return nil, dropReason("malformed")
	}
	key := ""
	if outer != nil {
		if s, err := str(outer, "api_key"); err == nil {
			key = s
		}
	}
	var clean []any
	for _, e := range events {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, dropReason("malformed")
		}
		ce, tok, err := px.postHogEvent(m, in)
		if err != nil {
			return nil, err
		}
		if key == "" {
			key = tok
		}
		if tok != "" && tok != key {
			return nil, dropReason("foreign_id")
		}
		if ce != nil {
			clean = append(clean, ce)
		}
	}
	if key == "" || !validID.MatchString(key) {
		return nil, dropReason("malformed")
	}
	if err := px.checkID(key); err != nil {
		return nil, err
	}
	if len(clean) == 0 {
		return nil, nil
	}
	var body any = clean
	switch {
	case outer != nil:
		body = map[string]any{"api_key": key, "batch": clean}
	case len(clean) == 1 && len(events) == 1:
		if _, isArray := doc.([]any); !isArray {
			body = clean[0]
		}
	}
	return &outbound{query: url.Values{}, body: marshal(body), contentType: "application/json"}, nil
}

// postHogEvent cleans one event and returns it (nil when the event is
// dropped) and the project token it names.
func (px *proxy) postHogEvent(ev map[string]any, in *inbound) (map[string]any, string, error) {
	name, err := str(ev, "event")
	if err != nil || name == "" {
		return nil, "", dropReason("malformed")
	}
	p, _ := ev["properties"].(map[string]any)
	if p == nil {
		p = map[string]any{}
	}
	tok, err := str(p, "token")
	if err != nil {
		return nil, "", err
	}
	if tok == "" {
		tok, _ = str(ev, "api_key")
	}
	if postHogDropped[name] {
		return nil, tok, nil
	}
	out := map[string]any{}
	for k, v := range p {
		s, isStr := v.(string)
		switch k {
		case "token":
			out[k] = tok
		case "distinct_id", "$device_id":
			if isStr {
				if ps := px.pseudonym("uuid", k+s, in.now); ps != "" {
					out[k] = ps
				}
			}
		case "$session_id":
			if isStr {
				if ps := px.pseudonym("uuid", "session"+s, in.now); ps != "" {
					out[k] = ps
				}
			}
		case "$current_url":
			if isStr {
				u, err := px.reducePageURL(s)
				if err != nil {
					return nil, "", err
				}
				out[k] = u
			}
		case "$host", "$referring_domain":
			if isStr && (validHost(s) || s == "$direct") {
				out[k] = strings.ToLower(s)
			}
		case "$pathname":
			if isStr {
				out[k] = scrubPath(s)
			}
		case "$referrer":
			if isStr {
				if s == "$direct" {
					out[k] = s
				} else if r := reduceReferrer(s); r != "" {
					out[k] = r
				}
			}
		case "$browser":
			if isStr && phBrowser.MatchString(s) {
				out[k] = s
			}
		case "$browser_version":
			if n, ok := v.(json.Number); ok {
				if i := strings.IndexByte(n.String(), '.'); i > 0 {
					out[k] = json.Number(n.String()[:i])
				} else if smallInt.MatchString(n.String()) {
					out[k] = n
				}
			}
		case "$device_type":
			if isStr && phDevice.MatchString(s) {
				out[k] = s
			}
		case "$screen_height", "$screen_width", "$viewport_height", "$viewport_width", "$time":
			if isNumber(v) {
				out[k] = v
			}
		case "$lib":
			if isStr && phLib.MatchString(s) {
				out[k] = s
			}
		case "$lib_version":
			if isStr && phVersion.MatchString(s) {
				out[k] = s
			}
		case "$title", "$event_type":
			if isStr {
				out[k] = text(s)
			}
		default:
			if cv, ok := prop(k, v); ok && !strings.HasPrefix(k, "$") {
				out[k] = cv
			}
		}
	}
	if out["distinct_id"] == nil {
		out["distinct_id"] = randomUUID() // dropped ids: one unlinkable id per event
	}
	out["$process_person_profile"] = false
	if ip := px.vendorIP(in.ip, in.now); ip != "" {
		out["$ip"] = ip
	}
	clean := map[string]any{"event": text(name), "properties": out}
	if ts, ok := ev["timestamp"].(string); ok && rfc3339.MatchString(ts) {
		clean["timestamp"] = ts
	}
	return clean, tok, nil
}

func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// buildPostHogFlags forwards a feature-flag request with only the project
// token and the pseudonymous distinct id.
func buildPostHogFlags(px *proxy, in *inbound) (*outbound, error) {
	m, err := decodeObject(in.body)
	if err != nil {
		return nil, err
	}
	tok, err := str(m, "token")
	if err != nil || tok == "" {
		tok, err = str(m, "api_key")
	}
	if err != nil || !validID.MatchString(tok) {
		return nil, dropReason("malformed")
	}
	if err := px.checkID(tok); err != nil {
		return nil, err
	}
	id, err := str(m, "distinct_id")
	if err != nil {
		return nil, err
	}
	pid := px.pseudonym("uuid", "distinct_id"+id, in.now)
	if pid == "" {
		pid = randomUUID()
	}
	q := url.Values{}
	if v := in.query.Get("v"); smallInt.MatchString(v) {
		q.Set("v", v)
	}
	return &outbound{query: q, body: marshal(map[string]any{"token": tok, "distinct_id": pid}), contentType: "application/json"}, nil
}

// ---- custom ----

func buildCustom(px *proxy, in *inbound) (*outbound, error) {
	clean := func(k, v string) (string, bool) {
		switch {
		case px.idParams[k]:
			ps := px.pseudonym("id", v, in.now)
			return ps, ps != ""
		case px.params[k]:
			return text(v), true
		}
		return "", false
	}
	out := &outbound{query: url.Values{}, ipHeader: px.vendorIP(in.ip, in.now)}
	for k := range in.query {
		v, _, err := single(in.query, k)
		if err != nil {
			return nil, err
		}
		if c, ok := clean(k, v); ok {
			out.query.Set(k, c)
		}
	}
	if len(in.body) == 0 {
		return out, nil
	}
	if in.ctype == "application/json" || in.body[0] == '{' {
		m, err := decodeObject(in.body)
		if err != nil {
			return nil, err
		}
		o := map[string]any{}
		for k, v := range m {
			switch x := v.(type) {
			case string:
				if c, ok := clean(k, x); ok {
					o[k] = c
				}
			case json.Number:
				if px.params[k] && smallInt.MatchString(x.String()) {
					o[k] = x
				}
			case bool:
				if px.params[k] {
					o[k] = x
				}
			}
		}
		out.body, out.contentType = marshal(o), "application/json"
		return out, nil
	}
	f, err := parseQuery(string(in.body))
	if err != nil {
		return nil, dropReason("malformed")
	}
	form := url.Values{}
	for k := range f {
		v, _, err := single(f, k)
		if err != nil {
			return nil, err
		}
		if c, ok := clean(k, v); ok {
			form.Set(k, c)
		}
	}
	out.body, out.contentType = []byte(form.Encode()), "application/x-www-form-urlencoded"
	return out, nil
}
