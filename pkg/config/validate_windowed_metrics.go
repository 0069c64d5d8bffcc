package config

import "time"

// validateWindowedMetrics checks global.services.observability.metrics
// .windowed_metrics: every time window parses as a positive duration and
// the windows increase; update_interval, when set, is positive and no
// longer than the smallest window; max_models is at least 1 when set. A
// disabled block is checked too (it may be enabled by the next revision),
// and said to have no effect.
func (v *validator) validateWindowedMetrics() {
	o := v.cfg.Global.Services.Observability
	if o == nil || o.Metrics == nil || o.Metrics.WindowedMetrics == nil {
		return
	}
	w := o.Metrics.WindowedMetrics
	p := "global.services.observability.metrics.windowed_metrics"
	if w.Enabled && o.Metrics.Enabled != nil && !*o.Metrics.Enabled {
		v.warnf(sub(p, "enabled"), "has no effect: global.services.observability.metrics.enabled is false, so no windowed metrics are computed")
	}
	wp := sub(p, "time_windows")
	if w.Enabled && len(w.TimeWindows) == 0 {
		v.errorf(wp, "at least one window is required when windowed_metrics is enabled (e.g. [1m, 5m, 1h])")
	}
	var prev, smallest time.Duration
	for i, text := range w.TimeWindows {
		ip := joinIndex(wp, i)
		d, err := ParseDuration(text)
		switch {
		case err != nil:
			v.errorf(ip, "%v", err)
			continue
		case d.Std() <= 0:
			v.errorf(ip, "window %q must be positive", text)
			continue
		case prev > 0 && d.Std() <= prev:
			v.errorf(ip, "window %q must be longer than the window before it (%s): list windows in increasing order", text, prev)
		}
		if smallest == 0 || d.Std() < smallest {
			smallest = d.Std()
		}
		prev = max(prev, d.Std())
	}
	if w.UpdateInterval.IsSet() {
		up := sub(p, "update_interval")
		switch {
		case w.UpdateInterval.Std() <= 0:
			v.errorf(up, "must be positive")
		case smallest > 0 && w.UpdateInterval.Std() > smallest:
			v.errorf(up, "%s is longer than the smallest time window (%s): the window would be stale between updates", w.UpdateInterval, smallest)
		}
	}
	if _, set := v.cfg.lines[sub(p, "max_models")]; w.MaxModels < 0 || set && w.MaxModels < 1 {
		v.errorf(sub(p, "max_models"), "must be at least 1 (models past it are aggregated as \"other\")")
	}
}
