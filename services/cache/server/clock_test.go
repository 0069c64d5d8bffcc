package server

import (
	"github.com/semrouter/semrouter/services/cache/cachetest"
)

func newTestClock() *cachetest.Clock { return cachetest.NewClock(cachetest.Start()) }
