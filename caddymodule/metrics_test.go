package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/firstparty/firstparty/rewrite"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	if err := registerMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if err := registerMetrics(reg); err != nil {
		t.Fatalf("second registration: %v", err)
	}
	h := provisioned(t, &Handler{})
	rewritten := testutil.ToFloat64(metrics.responses.WithLabelValues("rewritten"))
	closed := testutil.ToFloat64(metrics.responses.WithLabelValues("failed_closed"))
	deferred := testutil.ToFloat64(metrics.resources.WithLabelValues("analytics", "defer"))
	utf16 := testutil.ToFloat64(metrics.failClosed.WithLabelValues("encoding_utf-16le"))
	links := testutil.ToFloat64(metrics.linksDropped)
	gaVendor := testutil.ToFloat64(metrics.vendors.WithLabelValues("Google Analytics", "defer"))
	bytesIn := testutil.ToFloat64(metrics.bytes.WithLabelValues("in"))

	serve(h, httptest.NewRequest("GET", "http://shop.example/", nil), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Link", "<https://www.googletagmanager.com>; rel=preconnect")
		w.Write([]byte(page))
	})
	serve(h, httptest.NewRequest("GET", "http://shop.example/", nil), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("\xff\xfe<\x00p\x00>\x00"))
	})
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"responses rewritten", testutil.ToFloat64(metrics.responses.WithLabelValues("rewritten")), rewritten + 1},
		{"responses failed_closed", testutil.ToFloat64(metrics.responses.WithLabelValues("failed_closed")), closed + 1},
		{"resources analytics/defer", testutil.ToFloat64(metrics.resources.WithLabelValues("analytics", "defer")), deferred + 1},
		{"fail_closed encoding_utf-16le", testutil.ToFloat64(metrics.failClosed.WithLabelValues("encoding_utf-16le")), utf16 + 1},
		{"link_header_dropped", testutil.ToFloat64(metrics.linksDropped), links + 1},
		{"vendor Google Analytics/defer", testutil.ToFloat64(metrics.vendors.WithLabelValues("Google Analytics", "defer")), gaVendor + 1},
		{"bytes in", testutil.ToFloat64(metrics.bytes.WithLabelValues("in")), bytesIn + float64(len(page))},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if n, err := testutil.GatherAndCount(reg, "caddy_firstparty_responses_total"); err != nil || n == 0 {
		t.Errorf("registry lacks caddy_firstparty_responses_total: %d, %v", n, err)
	}
}

// TestMetricLabelsText checks that a vendor or category name that is not
// UTF-8 is counted under its text with U+FFFD, where WithLabelValues
// would panic.
func TestMetricLabelsText(t *testing.T) {
	before := testutil.ToFloat64(metrics.vendors.WithLabelValues("Bad \uFFFDvendor", "remove"))
	beforeCat := testutil.ToFloat64(metrics.resources.WithLabelValues("ads\uFFFD", "remove"))
	st := &rewrite.Stats{
		Vendors:    map[string]*rewrite.Counts{"Bad \xffvendor": {rewrite.Remove: 2}},
		Categories: map[string]*rewrite.Counts{"ads\xfe": {rewrite.Remove: 2}},
	}
	countStats(st, false)
	if got := testutil.ToFloat64(metrics.vendors.WithLabelValues("Bad \uFFFDvendor", "remove")); got != before+2 {
		t.Errorf("vendor counted %v, want %v", got, before+2)
	}
	if got := testutil.ToFloat64(metrics.resources.WithLabelValues("ads\uFFFD", "remove")); got != beforeCat+2 {
		t.Errorf("category counted %v, want %v", got, beforeCat+2)
	}
}
