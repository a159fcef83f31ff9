package caddymodule

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/firstparty/firstparty/rewrite"
)

// The module's metrics, in Caddy's registry (the admin endpoint's
// /metrics). They are shared by every firstparty handler, as Caddy's own
// handler metrics are.
var metrics = struct {
	responses    *prometheus.CounterVec
	resources    *prometheus.CounterVec
	failClosed   *prometheus.CounterVec
	linksDropped prometheus.Counter
	listFetches  *prometheus.CounterVec
	vendors      *prometheus.CounterVec
	bytes        *prometheus.CounterVec
	pageMemo     *prometheus.CounterVec

	proxyRequests      *prometheus.CounterVec
	proxyScriptChanges *prometheus.CounterVec
}{
	responses: counterVec("responses_total",
		"HTML responses handled, by outcome: rewritten, report_only or failed_closed.", "outcome"),
	resources: counterVec("resources_total",
		"Third-party resources seen on rewritten pages, by category and action.", "category", "action"),
	failClosed: counterVec("fail_closed_total",
		"Privacy-safe outcomes taken where firstparty could not decide safely, by reason.", "reason"),
	linksDropped: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "firstparty", Name: "link_header_dropped_total",
		Help: "Link, Speculation-Rules and reporting header entries (Reporting-Endpoints, Report-To, CSP report-uri) dropped from HTML responses and Early Hints.",
	}),
	vendors: counterVec("vendor_resources_total",
		"Third-party resources seen on rewritten pages, by vendor (\"unknown\" for unlisted hosts) and action.", "vendor", "action"),
	bytes: counterVec("bytes_total",
		"Bytes of HTML read from the upstream (in) and written to the client (out) by the rewriter.", "direction"),
	pageMemo: counterVec("page_memo_total",
		"HTML responses and the page memo, by outcome: kept (rewritten and kept), served (sent whole from the memo), resynced (rewritten where they differed, sent from the memo again after each difference, to the end), taken_over (sent from the memo up to a difference, rewritten from there to the end), diverged (ended: a take-over would have written other bytes) or replaced (a kept page given up because the page changed, counted besides the response's own outcome).", "outcome"),
	listFetches: counterVec("list_fetches_total",
		"Fetches of tracker lists from URLs, by outcome: changed, unchanged or failed (the last good copy stays in use).", "outcome"),
	proxyRequests: counterVec("proxy_requests_total",
		"Requests to the analytics proxy, by profile and outcome: forwarded, script, script_stale, or why the call was not forwarded (no_consent, malformed, duplicate_key, foreign_id, too_large, rate_limited, method, filtered, not_found, upstream_error, vendor_status).", "profile", "outcome"),
	proxyScriptChanges: counterVec("proxy_script_changes_total",
		"Vendor scripts whose bytes changed since the proxy last fetched them, by profile.", "profile"),
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "caddy", Subsystem: "firstparty", Name: name, Help: help}, labels)
}

// allMetrics lists every collector the module registers.
func allMetrics() []prometheus.Collector {
	return []prometheus.Collector{metrics.responses, metrics.resources, metrics.failClosed, metrics.linksDropped, metrics.listFetches, metrics.vendors, metrics.bytes, metrics.pageMemo, metrics.proxyRequests, metrics.proxyScriptChanges}
}

// registerMetrics adds the metrics to a registry; a second handler (or a
// config reload into the same registry) finds them already there.
func registerMetrics(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for _, c := range allMetrics() {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return err
			}
		}
	}
	return nil
}

// labelText makes a label value of a name that comes from a list: the
// lists are checked for UTF-8 as they load, but WithLabelValues panics
// on anything else, and a rewrite must not.
func labelText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// countStats adds a finished rewrite's stats to the metrics.
func countStats(st *rewrite.Stats, reportOnly bool) {
	outcome := "rewritten"
	if reportOnly {
		outcome = "report_only"
	}
	metrics.responses.WithLabelValues(outcome).Inc()
	for cat, c := range st.Categories {
		cat = labelText(cat)
		for a, n := range c {
			if n > 0 {
				metrics.resources.WithLabelValues(cat, rewrite.Action(a).String()).Add(float64(n))
			}
		}
	}
	for v, c := range st.Vendors {
		if v == "" {
			v = "unknown"
		}
		v = labelText(v)
		for a, n := range c {
			if n > 0 {
				metrics.vendors.WithLabelValues(v, rewrite.Action(a).String()).Add(float64(n))
			}
		}
	}
	metrics.bytes.WithLabelValues("in").Add(float64(st.BytesIn))
	metrics.bytes.WithLabelValues("out").Add(float64(st.BytesOut))
	for reason, n := range st.FailClosed {
		metrics.failClosed.WithLabelValues(reason).Add(float64(n))
	}
}
