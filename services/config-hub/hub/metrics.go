package hub

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/pkg/telemetry"
	"github.com/semrouter/semrouter/services/config-hub/internal/store"
	"github.com/semrouter/semrouter/services/config-hub/xds"
)

// The hub's series receive the store's writes and the xDS streams.
var (
	_ store.Observer = (*metrics.ConfigHub)(nil)
	_ xds.Observer   = (*metrics.ConfigHub)(nil)
)

// hubMetrics builds the hub's series: in opts.Registerer, or in a fresh
// registry (with the Go and process collectors) returned for serving on
// opts.MetricsAddr, or none (nil, nil) when neither is set.
func hubMetrics(opts Options) (*metrics.ConfigHub, *prometheus.Registry, error) {
	switch {
	case opts.Registerer != nil && opts.MetricsAddr != "":
		return nil, nil, errors.New("hub: set either Registerer or MetricsAddr, not both")
	case opts.Registerer != nil:
		m, err := metrics.NewConfigHub(opts.Registerer)
		if err != nil {
			return nil, nil, fmt.Errorf("register config-hub metrics: %w", err)
		}
		return m, nil, nil
	case opts.MetricsAddr != "":
		reg := metrics.NewRegistry()
		m, err := metrics.NewConfigHub(reg)
		if err != nil {
			return nil, nil, fmt.Errorf("register config-hub metrics: %w", err)
		}
		return m, reg, nil
	}
	return nil, nil, nil
}

// countRequests counts every management API request by the route pattern
// that served it (r.Pattern, which next — a ServeMux — sets on the request
// it is given; "" when none matched) and the status sent. It must sit
// directly around the mux, inside any middleware that copies the request.
func countRequests(next http.Handler, m *metrics.ConfigHub) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := telemetry.NewStatusWriter(w)
		next.ServeHTTP(sw, r)
		status := sw.Status()
		if status == 0 { // net/http sends 200 for a handler that wrote nothing
			status = http.StatusOK
		}
		m.APIRequest(r.Pattern, status)
	})
}
