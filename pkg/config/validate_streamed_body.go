package config

// validateStreamedBody checks global.router.streamed_body. Its max_bytes
// caps request bodies in both modes; enabled and timeout_sec only change
// how Envoy hands bodies to the router (config-hub programs ext_proc
// FULL_DUPLEX_STREAMED instead of BUFFERED), so enabling it warns that API
// mode is unchanged.
func (v *validator) validateStreamedBody() {
	sb := v.cfg.Global.Router.StreamedBody
	if sb == nil {
		return
	}
	p := "global.router.streamed_body"
	switch {
	case sb.MaxBytes < 0:
		v.errorf(sub(p, "max_bytes"), "must not be negative")
	case sb.Enabled && sb.MaxBytes == 0:
		v.errorf(sub(p, "max_bytes"), "must be > 0 when enabled: the router holds a streamed body up to this many bytes")
	}
	if sb.TimeoutSec < 0 {
		v.errorf(sub(p, "timeout_sec"), "must not be negative (0: no deadline of its own for the body)")
	}
	if sb.Enabled {
		v.warnf(sub(p, "enabled"), "applies to Envoy (ext_proc) mode only: Envoy streams request bodies to the router, which then cannot fail open; API mode always reads bodies incrementally up to max_bytes")
	}
}
