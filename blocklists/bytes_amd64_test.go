//go:build amd64 && !purego

package blocklists

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// TestIndexPairPaths runs TestIndexLit and TestIndexPairEnds through
// each of indexPair's paths: SSE2 alone, and AVX2 where the CPU has it.
func TestIndexPairPaths(t *testing.T) {
	defer func(v bool) { useAVX2 = v }(useAVX2)
	for _, avx := range []bool{false, true} {
		if avx && !cpu.X86.HasAVX2 {
			t.Log("this CPU has no AVX2: indexPair's AVX2 path is not tried")
			continue
		}
		useAVX2 = avx
		name := "SSE2"
		if avx {
			name = "AVX2"
		}
		t.Run(name, func(t *testing.T) {
			t.Run("TestIndexLit", TestIndexLit)
			t.Run("TestIndexPairEnds", TestIndexPairEnds)
		})
	}
}
