package cache

// AppendNumbers appends to dst the numbers s names, normalised as
// SameQuestion compares them ("1,000" is "1000", "twenty-five" is "25",
// "3 thousand" is "3000", "5th" is "5", "-4" keeps its sign, a lone "one"
// is a word), in text order. complete is false when s names more numbers
// than one scan keeps (16, or 256 bytes of normalised text): dst then
// holds the first ones only, and a caller that needs them all scans
// shorter pieces of s. Other packages (the gateway's grounding check)
// use it to compare the numbers of two texts the way the cache does.
func AppendNumbers(dst []string, s string) (out []string, complete bool) {
	var g guardSig
	g.scan(s)
	for i := 0; i < g.n; i++ {
		dst = append(dst, string(g.buf[g.nums[i][0]:g.nums[i][1]]))
	}
	return dst, !g.overflow
}
