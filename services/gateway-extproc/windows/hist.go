package windows

import (
	"math"
	"math/bits"
	"time"
)

// Latency histograms have fixed log-linear buckets over microseconds
// (HDR-style): values below 16µs get one bucket each; above, every octave
// [2^k, 2^(k+1)) is split into subBuckets equal parts, so a bucket is at
// most 1/8 of its lower bound wide and its midpoint is within 1/16
// (6.25%) of any value in it. Values of 2^33µs (about 2.4h) and more
// land in the last bucket.
const (
	subBuckets = 8
	// linearLimit is the first value in the log-linear part.
	linearLimit = 2 * subBuckets
	maxMicros   = uint64(1)<<33 - 1
	// numBuckets: the linear part, then 8 buckets for each octave from
	// 2^4 to 2^32.
	numBuckets = linearLimit + 29*subBuckets
)

// RelativeError is the largest relative difference between a value and
// the quantile reported for it (the bucket midpoint).
const RelativeError = 1.0 / (2 * subBuckets)

// hist counts values per bucket.
type hist [numBuckets]uint32

// bucketOf maps a duration to its bucket (negative durations to 0).
func bucketOf(d time.Duration) uint8 {
	if d <= 0 {
		return 0
	}
	us := uint64(d / time.Microsecond)
	if us < linearLimit {
		return uint8(us)
	}
	us = min(us, maxMicros)
	e := bits.Len64(us) - 4 // shift that leaves the top 4 bits (8..15)
	return uint8(linearLimit + (e-1)*subBuckets + int(us>>e) - subBuckets)
}

// bucketMid is the representative value of bucket i in seconds: its
// midpoint (the value itself below linearLimit).
func bucketMid(i int) float64 {
	if i < linearLimit {
		return float64(i) / 1e6
	}
	e := (i-linearLimit)/subBuckets + 1
	m := (i-linearLimit)%subBuckets + subBuckets
	lo := float64(uint64(m) << e)
	hi := float64(uint64(m+1) << e)
	return (lo + hi) / 2 / 1e6
}

// quantile returns the nearest-rank q-quantile (q in (0,1]) of the n
// values counted in h, in seconds.
func (h *hist) quantile(n uint64, q float64) float64 {
	if n == 0 {
		return 0
	}
	rank := min(max(uint64(math.Ceil(q*float64(n))), 1), n)
	var seen uint64
	for i, c := range h {
		seen += uint64(c)
		if seen >= rank {
			return bucketMid(i)
		}
	}
	return bucketMid(numBuckets - 1)
}

func (h *hist) add(o *hist) {
	for i, c := range o {
		h[i] += c
	}
}
