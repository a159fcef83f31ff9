package rewrite

import "strings"

// CSPNonce returns the script nonce that a Content-Security-Policy value
// allows ('nonce-X' → X), or "".
func CSPNonce(policy string) string {
	for _, f := range strings.Fields(policy) {
		f = strings.Trim(f, ";")
		if strings.HasPrefix(f, "'nonce-") && strings.HasSuffix(f, "'") && len(f) > len("'nonce-'") {
			return f[7 : len(f)-1]
		}
	}
	return ""
}
