//go:build amd64 && !purego

package blocklists

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useAVX2 has the assembly below take 32 bytes an instruction, in AVX2,
// where the CPU has it (x/sys/cpu): 16 in SSE2, which every amd64 CPU
// has. TestAssemblyPaths runs the tests through both.
var useAVX2 = cpu.X86.HasAVX2

// tokenBitsBlocks writes the token bits of each of the n blocks of 64
// bytes at p to out[0:n] (tokenBitsBlockGo's, block by block):
// tokenBitsBlocksGo, in SSE2 assembly, and AVX2 where useAVX2 is set.
//
//go:noescape
func tokenBitsBlocks(p *byte, n int, out *uint64)

// lower16 lower-cases the ASCII letters of the n bytes at p in place, n a
// multiple of 16: lower16Go, in SSE2 assembly, and AVX2 where useAVX2 is
// set.
//
//go:noescape
func lower16(p *byte, n int)

// scanHits is scanHitsGo in assembly (scan_amd64.s).
//
//go:noescape
func scanHits(st *scanState) int

// indexPair returns the first i in [0, n-off) where p[i] is c0 and
// p[i+off] is c1, or -1; 0 < off < n. indexPairGo, in SSE2 assembly, and
// AVX2 where useAVX2 is set.
//
//go:noescape
func indexPair(p *byte, n int, c0, c1 byte, off int) int

// prefetchLines asks the CPU to bring the two cache lines at p into its
// caches, and goes on without waiting for them.
//
//go:noescape
func prefetchLines(p unsafe.Pointer)
