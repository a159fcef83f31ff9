//go:build amd64 && !purego

package blocklists

import "testing"

// TestAssemblyPaths runs the tests of the assembly that has an AVX2 path
// (tokenBitsBlocks, lower16, indexPair) once more, in SSE2, where the
// run's own took AVX2: each path is then tried. (Without AVX2, or with it
// turned off by GODEBUG=cpu.avx2=off, the run's own were SSE2's.)
func TestAssemblyPaths(t *testing.T) {
	if !useAVX2 {
		t.Skip("AVX2 is off or missing: the tests took the SSE2 paths already, and the AVX2 ones are not tried")
	}
	defer func() { useAVX2 = true }()
	useAVX2 = false
	t.Run("TestTokenBits", TestTokenBits)
	t.Run("TestLowerASCII", TestLowerASCII)
	t.Run("TestIndexLit", TestIndexLit)
	t.Run("TestIndexPairEnds", TestIndexPairEnds)
}
