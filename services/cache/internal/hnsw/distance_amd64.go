//go:build amd64 && !purego

package hnsw

import "golang.org/x/sys/cpu"

// dotAVX2 is implemented in distance_amd64.s; it needs AVX2 and FMA.
//
//go:noescape
func dotAVX2(a, b *float32, n int) float32

// useAVX2 is fixed at program start from the CPU feature bits; it is never
// written afterwards.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func dot(a, b []float32) float32 {
	n := len(a)
	if len(b) < n {
		n = len(b)
	}
	if n == 0 {
		return 0
	}
	if useAVX2 {
		return dotAVX2(&a[0], &b[0], n)
	}
	return dotGeneric(a, b)
}
