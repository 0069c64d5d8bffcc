package embedding

import "errors"

// ErrUpstream marks a failure of a remote embedding backend that a retry
// later or on another replica may fix (the service answers UNAVAILABLE).
var ErrUpstream = errors.New("embedding backend unavailable")
