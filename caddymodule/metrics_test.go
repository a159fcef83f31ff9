package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"testing"

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
