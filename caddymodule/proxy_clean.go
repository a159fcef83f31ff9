package caddymodule

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	lru "github.com/hashicorp/golang-lru/v2"
)

// What the proxy does to identifiers: read the incoming call within
// bounds, pseudonymise client ids, reduce the address, the user agent, the
// referrer and the page URL, and scrub personal data from free text.

// inbound is an incoming collection call, read and bounded.
type inbound struct {
	query url.Values
	body  []byte // decoded (gzip, base64) request body
	ctype string // its media type
	ua    string
	ip    net.IP
	now   time.Time
}

// outbound is what a builder decided to send.
type outbound struct {
	query       url.Values
	body        []byte // nil: GET
	contentType string
	ipHeader    string // X-Forwarded-For value, when the vendor reads it there
}

// dropReason is a builder's reason for not forwarding a call.
type dropReason string

func (d dropReason) Error() string { return string(d) }

var errTooLarge = errors.New("request body too large")

// maxParams caps the query parameters of a call, and maxValue the length
// of one value: more is malformed.
const (
	maxParams = 256
	maxValue  = 8 << 10
)

// readCall reads the query and body of r within the proxy's caps. Bad
// escapes, too many parameters, a body over max_body, a decoded body over
// 16 times it, or an encoding it cannot decode are errors: the call is
// dropped, never forwarded raw.
func (px *proxy) readCall(r *http.Request) (*inbound, error) {
	in := &inbound{ua: r.Header.Get("User-Agent")}
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	in.query = q
	if r.Method != http.MethodPost || r.Body == nil {
		return in, nil
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, px.maxBody+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > px.maxBody {
		return nil, errTooLarge
	}
	ct := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]))
	limit := 16 * px.maxBody
	switch ce := strings.ToLower(r.Header.Get("Content-Encoding")); ce {
	case "", "identity":
	case "gzip":
		if raw, err = gunzipCapped(raw, limit); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("content encoding %q", ce)
	}
	// PostHog's SDK says how it packed the body in the query.
	switch q.Get("compression") {
	case "":
	case "gzip-js", "gzip":
		if raw, err = gunzipCapped(raw, limit); err != nil {
			return nil, err
		}
	case "base64":
		if ct == "application/x-www-form-urlencoded" {
			f, err := parseQuery(string(raw))
			if err != nil {
				return nil, err
			}
			raw = []byte(f.Get("data"))
			ct = "application/json"
		}
		if raw, err = decodeBase64(raw); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("compression %q", q.Get("compression"))
	}
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		if raw, err = gunzipCapped(raw, limit); err != nil {
			return nil, err
		}
	}
	in.body, in.ctype = raw, ct
	return in, nil
}

// parseQuery parses a query string strictly: bad escapes and more than
// maxParams parameters are errors.
func parseQuery(s string) (url.Values, error) {
	if strings.Count(s, "&") >= maxParams {
		return nil, errors.New("too many parameters")
	}
	q, err := url.ParseQuery(s)
	if err != nil {
		return nil, err
	}
	for _, vs := range q {
		for _, v := range vs {
			if len(v) > maxValue {
				return nil, errors.New("oversized value")
			}
		}
	}
	return q, nil
}

func gunzipCapped(b []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > limit {
		return nil, errTooLarge
	}
	return out, nil
}

func decodeBase64(b []byte) ([]byte, error) {
	s := strings.TrimSpace(string(b))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if out, err := enc.DecodeString(s); err == nil {
			return out, nil
		}
	}
	return nil, errors.New("body is not base64")
}

// single returns the one value of key in q: a duplicated key is
// ambiguous (a vendor and a filter could read different ones), so it is
// an error.
func single(q url.Values, key string) (string, bool, error) {
	vs, ok := q[key]
	if !ok {
		return "", false, nil
	}
	if len(vs) != 1 {
		return "", false, dropReason("duplicate_key")
	}
	return vs[0], true, nil
}

// ---- pseudonyms ----

// keyring holds the secret behind the pseudonyms. It is generated once and
// kept in Caddy's storage, so every instance of a cluster agrees; it is
// never logged.
type keyring struct {
	key []byte
}

// proxyKeyPath is where the key lives in Caddy's storage.
const proxyKeyPath = "firstparty/proxy/pseudonym.key"

// loadKeyring reads the key from storage, or makes and stores it under a
// cluster-wide lock.
func loadKeyring(ctx context.Context, st certmagic.Storage) (*keyring, error) {
	read := func() (*keyring, error) {
		b, err := st.Load(ctx, proxyKeyPath)
		if err != nil {
			return nil, err
		}
		k, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) < 32 {
			return nil, fmt.Errorf("reading the pseudonym key %s: not 32 hex bytes", proxyKeyPath)
		}
		return &keyring{key: k}, nil
	}
	if k, err := read(); err == nil {
		return k, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := st.Lock(ctx, proxyKeyPath); err != nil {
		return nil, fmt.Errorf("locking the pseudonym key: %w", err)
	}
	defer func() { _ = st.Unlock(ctx, proxyKeyPath) }()
	if k, err := read(); err == nil {
		return k, nil
	}
	k := newKeyring()
	if err := st.Store(ctx, proxyKeyPath, []byte(hex.EncodeToString(k.key))); err != nil {
		return nil, fmt.Errorf("storing the pseudonym key: %w", err)
	}
	return k, nil
}

func newKeyring() *keyring {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return &keyring{key: k}
}

// sum is the keyed hash of value in the rotation period that contains
// now, for one proxy prefix and one purpose.
func (px *proxy) sum(purpose, value string, now time.Time) []byte {
	period := now.Unix() / int64(px.rotate/time.Second)
	m := hmac.New(sha256.New, px.keys.key)
	var p [8]byte
	binary.BigEndian.PutUint64(p[:], uint64(period))
	m.Write(p[:])
	m.Write([]byte(px.cfg.Prefix))
	m.Write([]byte{0})
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}

// pseudonym formats a client id's pseudonym in the shape the vendor
// expects, or returns "" when client ids are dropped.
func (px *proxy) pseudonym(shape, value string, now time.Time) string {
	if px.cfg.ClientIDs == "drop" || value == "" {
		return ""
	}
	s := px.sum(shape, value, now)
	switch shape {
	case "ga": // <random>.<timestamp>, as GA's cid
		return strconv.FormatUint(uint64(binary.BigEndian.Uint32(s))%900000000+100000000, 10) + "." +
			strconv.FormatInt(now.Unix()/int64(px.rotate/time.Second)*int64(px.rotate/time.Second), 10)
	case "num":
		return strconv.FormatUint(uint64(binary.BigEndian.Uint32(s))%9000000000+1000000000, 10)
	case "hex16":
		return hex.EncodeToString(s[:8])
	case "uuid":
		b := s[:16]
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		h := hex.EncodeToString(b)
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	}
	return hex.EncodeToString(s[:12])
}

// ---- addresses ----

// unwrapIPv4 returns the IPv4 address that ip is or carries
// (IPv4-mapped, 6to4, NAT64, Teredo), or nil.
func unwrapIPv4(ip net.IP) net.IP {
	if v4 := ip.To4(); v4 != nil {
		return v4
	}
	if len(ip) != net.IPv6len {
		return nil
	}
	switch {
	case sixTo4.Contains(ip):
		return net.IPv4(ip[2], ip[3], ip[4], ip[5]).To4()
	case nat64.Contains(ip):
		return net.IPv4(ip[12], ip[13], ip[14], ip[15]).To4()
	case ip[0] == 0x20 && ip[1] == 0x01 && ip[2] == 0 && ip[3] == 0: // Teredo 2001::/32
		return net.IPv4(^ip[12], ^ip[13], ^ip[14], ^ip[15]).To4()
	}
	return nil
}

// vendorIP is the address sent to the vendor under the ip option, or ""
// (none).
func (px *proxy) vendorIP(ip net.IP, now time.Time) string {
	switch px.cfg.IP {
	case "truncate":
		if v4 := unwrapIPv4(ip); v4 != nil {
			return net.IPv4(v4[0], v4[1], v4[2], 0).String()
		}
		t := make(net.IP, net.IPv6len)
		copy(t, ip.To16()[:6])
		return t.String()
	case "pseudonym":
		s := px.sum("ip", ip.String(), now)
		// 100.64.0.0/10 (RFC 6598): counts distinct visitors, locates none.
		return net.IPv4(100, 64|s[0]&0x3f, s[1], s[2]).String()
	}
	return ""
}

// ---- user agent, referrer, page URL ----

var uaFamilies = []struct{ token, name string }{
	{"Edg/", "Edg"}, {"EdgA/", "EdgA"}, {"EdgiOS/", "EdgiOS"}, {"OPR/", "OPR"}, {"SamsungBrowser/", "SamsungBrowser"},
	{"YaBrowser/", "YaBrowser"}, {"Firefox/", "Firefox"}, {"FxiOS/", "FxiOS"}, {"CriOS/", "CriOS"}, {"Chrome/", "Chrome"},
	{"Version/", "Safari"},
}

var botUA = regexp.MustCompile(`(?i)bot|crawl|spider|slurp|headless|lighthouse|preview`)

// reduceUA keeps the browser family, its major version and the device
// class (desktop, mobile, tablet), in a user agent that the vendors'
// parsers read as that, and nothing else (no OS version, no model).
func reduceUA(ua string) string {
	if botUA.MatchString(ua) {
		return "Mozilla/5.0 (compatible; bot)"
	}
	class := "X11"
	switch {
	case strings.Contains(ua, "iPad") || strings.Contains(ua, "Tablet") || strings.Contains(ua, "Android") && !strings.Contains(ua, "Mobile"):
		class = "Tablet"
	case strings.Contains(ua, "Mobi") || strings.Contains(ua, "iPhone"):
		class = "Mobile"
	}
	for _, f := range uaFamilies {
		i := strings.Index(ua, f.token)
		if i < 0 {
			continue
		}
		v := ua[i+len(f.token):]
		n := 0
		for n < len(v) && n < 4 && v[n] >= '0' && v[n] <= '9' {
			n++
		}
		if n == 0 {
			continue
		}
		major := v[:n]
		switch f.name {
		case "Safari":
			if !strings.Contains(ua, "Safari/") {
				continue
			}
			return "Mozilla/5.0 (" + class + ") AppleWebKit/605.1.15 (KHTML, like Gecko) Version/" + major + ".0" + mobileToken(class) + " Safari/605.1.15"
		case "Firefox", "FxiOS":
			return "Mozilla/5.0 (" + class + "; rv:" + major + ".0) Gecko/20100101 " + f.name + "/" + major + ".0" + mobileToken(class)
		case "Chrome", "CriOS":
			return "Mozilla/5.0 (" + class + ") AppleWebKit/537.36 (KHTML, like Gecko) " + f.name + "/" + major + ".0.0.0" + mobileToken(class) + " Safari/537.36"
		}
		return "Mozilla/5.0 (" + class + ") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + major + ".0.0.0" + mobileToken(class) + " Safari/537.36 " + f.name + "/" + major + ".0"
	}
	return "Mozilla/5.0 (" + class + ")"
}

func mobileToken(class string) string {
	if class == "Mobile" {
		return " Mobile"
	}
	return ""
}

// reduceReferrer keeps the referrer's origin only.
func reduceReferrer(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !validHost(u.Hostname()) {
		return ""
	}
	return u.Scheme + "://" + strings.ToLower(u.Host)
}

var hostRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,62}\.)*[a-z0-9-]{1,63}$`)

func validHost(h string) bool {
	return len(h) <= 253 && hostRE.MatchString(strings.ToLower(h)) && !ipLike.MatchString(h)
}

var ipLike = regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)

// reducePageURL keeps the scheme, host and path of a page URL, its path
// scrubbed segment by segment, and only the allowlisted query parameters,
// scrubbed. The fragment and user info go. A relative URL (Umami sends
// the path) stays relative. An unparseable URL is an error.
func (px *proxy) reducePageURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", dropReason("malformed_url")
	}
	if u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" {
		return "", dropReason("malformed_url")
	}
	if u.Host != "" && !validHost(u.Hostname()) && net.ParseIP(u.Hostname()) == nil {
		return "", dropReason("malformed_url") // the site's own address may be an IP
	}
	out := url.URL{Scheme: u.Scheme, Host: strings.ToLower(u.Host), Path: scrubPath(u.Path)}
	q, err := parseQuery(u.RawQuery)
	if err != nil {
		return "", dropReason("malformed_url")
	}
	kept := url.Values{}
	for k, vs := range q {
		if px.keep[k] && len(vs) == 1 {
			kept.Set(k, scrubText(vs[0]))
		}
	}
	out.RawQuery = kept.Encode()
	return out.String(), nil
}

// scrubPath replaces each path segment that holds personal data.
func scrubPath(p string) string {
	if p == "" {
		return p
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if s != "" && hasPII(s) {
			segs[i] = redacted
		}
	}
	return strings.Join(segs, "/")
}

// ---- personal data in content ----

const redacted = "redacted"

var (
	emailRE = regexp.MustCompile(`(?i)[a-z0-9._%+'-]+\s*(@|%40|\(at\)|\[at\])\s*[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}`)
	// phones: 8 or more digits with the usual separators, or an
	// international prefix
	phoneRE = regexp.MustCompile(`\+?\(?\d[\d\s().\-/]{6,}\d`)
	digitRE = regexp.MustCompile(`\d{8,}`)
	ipv4RE  = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b`)
	ipv6RE  = regexp.MustCompile(`(?i)\b[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}\b`)
	uuidRE  = regexp.MustCompile(`(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}`)
	hexRE   = regexp.MustCompile(`(?i)\b[0-9a-f]{16,}\b`)
	// tokens: long runs of token characters that mix letters and digits
	// (API keys, session ids, JWT parts, base64)
	piiTokenRE = regexp.MustCompile(`[A-Za-z0-9+/_=-]{16,}`)
	b64RE      = regexp.MustCompile(`[A-Za-z0-9+/_-]{8,}={0,2}`)
)

// views returns s and the forms it decodes to: percent-decoded (up to
// three times, + as space too), and base64-decoded runs.
func views(s string) []string {
	out := percentDecoded(s)
	for _, v := range out {
		for _, run := range b64RE.FindAllString(v, 8) {
			if b, err := decodeBase64([]byte(run)); err == nil && len(b) >= 4 {
				out = append(out, string(b))
			}
		}
	}
	return out
}

// percentDecoded returns s and each successive percent-decoding of it
// (query style, then path style), at most three.
func percentDecoded(s string) []string {
	out := []string{s}
	cur := s
	for range 3 {
		d, err := url.QueryUnescape(cur)
		if err != nil {
			d, err = url.PathUnescape(cur)
		}
		if err != nil || d == cur {
			break
		}
		out = append(out, d)
		cur = d
	}
	return out
}

// hasPII reports whether s, or what it decodes to, holds an email, a
// phone number, a long run of digits, an address, a UUID or a token.
func hasPII(s string) bool {
	if len(s) < 7 && !strings.ContainsAny(s, "@%") {
		return false
	}
	for _, v := range views(s) {
		if piiIn(v) {
			return true
		}
	}
	return false
}

func piiIn(v string) bool {
	if emailRE.MatchString(v) || digitRE.MatchString(v) || uuidRE.MatchString(v) || hexRE.MatchString(v) || ipv4RE.MatchString(v) {
		return true
	}
	if strings.Count(v, ":") >= 2 && validIPv6In(v) {
		return true
	}
	for _, m := range phoneRE.FindAllString(v, -1) {
		if digits(m) >= 8 {
			return true
		}
	}
	for _, m := range piiTokenRE.FindAllString(v, -1) {
		if mixed(m) {
			return true
		}
	}
	return false
}

func validIPv6In(v string) bool {
	for _, m := range ipv6RE.FindAllString(v, -1) {
		if ip := net.ParseIP(m); ip != nil {
			return true
		}
	}
	return false
}

func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

// mixed reports whether a run of token characters has the shape of a
// generated id rather than of words: at least four changes between upper
// case, lower case and digits (a random 16-character base62 string has
// about nine; "summer_sale_2026" has one). Long CamelCase runs count too:
// the privacy-safe reading.
func mixed(s string) bool {
	changes, prev := 0, 0
	for i := 0; i < len(s); i++ {
		class := 0
		switch c := s[i]; {
		case c >= 'a' && c <= 'z':
			class = 1
		case c >= 'A' && c <= 'Z':
			class = 2
		case c >= '0' && c <= '9':
			class = 3
		}
		if class != 0 && prev != 0 && class != prev {
			changes++
		}
		prev = class
	}
	return changes >= 4
}

// scrubText returns free text (a title, an event name, a property value)
// with personal data removed: text that holds none in any of its views
// comes back unchanged; otherwise its percent-decoded form with each
// finding replaced by "redacted", or just "redacted" when a finding
// survives that (one hidden in base64, say).
func scrubText(s string) string {
	if !hasPII(s) {
		return s
	}
	dec := percentDecoded(s)
	d := dec[len(dec)-1]
	for _, re := range []*regexp.Regexp{emailRE, uuidRE, ipv4RE, hexRE, digitRE} {
		d = re.ReplaceAllString(d, redacted)
	}
	d = phoneRE.ReplaceAllStringFunc(d, func(m string) string {
		if digits(m) >= 8 {
			return redacted
		}
		return m
	})
	d = piiTokenRE.ReplaceAllStringFunc(d, func(m string) string {
		if mixed(m) {
			return redacted
		}
		return m
	})
	if strings.Count(d, ":") >= 2 {
		d = ipv6RE.ReplaceAllStringFunc(d, func(m string) string {
			if net.ParseIP(m) != nil {
				return redacted
			}
			return m
		})
	}
	if hasPII(d) {
		return redacted
	}
	return d
}

// ---- rate limit ----

// limiter is a token bucket per client address, kept for the most
// recently seen 65,536 addresses.
type limiter struct {
	rate, burst float64 // tokens per second, bucket size
	buckets     *lru.Cache[string, *bucket]
}

type bucket struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newLimiter(perMinute int) *limiter {
	c, _ := lru.New[string, *bucket](65536)
	return &limiter{rate: float64(perMinute) / 60, burst: max(float64(perMinute)/10, 10), buckets: c}
}

func (l *limiter) allow(key string, now time.Time) bool {
	b, ok := l.buckets.Get(key)
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		if prev, found, _ := l.buckets.PeekOrAdd(key, b); found {
			b = prev
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
