//go:build amd64 && !purego

package blocklists

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// TestAssemblyPaths runs the tests of the assembly that has an AVX2 path
// (tokenBitsBlocks, lower16, indexPair) through each of its paths: SSE2
// alone, and AVX2 where the CPU has it.
func TestAssemblyPaths(t *testing.T) {
	defer func(v bool) { useAVX2 = v }(useAVX2)
	for _, avx := range []bool{false, true} {
		if avx && !cpu.X86.HasAVX2 {
			t.Log("this CPU has no AVX2: the assembly's AVX2 paths are not tried")
			continue
		}
		useAVX2 = avx
		name := "SSE2"
		if avx {
			name = "AVX2"
		}
		t.Run(name, func(t *testing.T) {
			t.Run("TestTokenBits", TestTokenBits)
			t.Run("TestLowerASCII", TestLowerASCII)
			t.Run("TestIndexLit", TestIndexLit)
			t.Run("TestIndexPairEnds", TestIndexPairEnds)
		})
	}
}
