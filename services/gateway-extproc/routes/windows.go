package routes

import (
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/windows"
)

// WindowsFromConfig maps global.services.observability.metrics
// .windowed_metrics. No block, enabled: false, metrics.enabled: false or
// no usable time window give the disabled zero value (nothing is
// computed). Validation rejects unparsable, non-positive or unordered
// windows; a window that does not parse is skipped here.
func WindowsFromConfig(cfg *config.Config) windows.Settings {
	o := cfg.Global.Services.Observability
	if o == nil || o.Metrics == nil || o.Metrics.WindowedMetrics == nil {
		return windows.Settings{}
	}
	m := o.Metrics
	w := m.WindowedMetrics
	if !w.Enabled || m.Enabled != nil && !*m.Enabled {
		return windows.Settings{}
	}
	s := windows.Settings{Enabled: true, UpdateInterval: w.UpdateInterval.Std(), PerModel: w.ModelMetrics == nil || *w.ModelMetrics,
		QueueDepth: w.QueueDepthEstimation, MaxModels: w.MaxModels}
	for _, text := range w.TimeWindows {
		d, err := config.ParseDuration(text)
		if err != nil || d.Std() <= 0 {
			continue
		}
		s.Windows = append(s.Windows, d.Std())
	}
	if len(s.Windows) == 0 {
		return windows.Settings{}
	}
	if s.MaxModels <= 0 {
		s.MaxModels = windows.DefaultMaxModels
	}
	if s.UpdateInterval <= 0 {
		s.UpdateInterval = min(DefaultWindowUpdate, s.Windows[0])
	}
	return s
}

// DefaultWindowUpdate is the update_interval used when it is unset.
const DefaultWindowUpdate = 30 * time.Second
