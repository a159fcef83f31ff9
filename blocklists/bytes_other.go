//go:build !amd64 || purego

package blocklists

import "unsafe"

func tokenBitsBlocks(p *byte, n int, out *uint64) { tokenBitsBlocksGo(p, n, out) }

func lower16(p *byte, n int) { lower16Go(p, n) }

func scanHits(st *scanState) int { return scanHitsGo(st) }

func indexPair(p *byte, n int, c0, c1 byte, off int) int { return indexPairGo(p, n, c0, c1, off) }

// prefetchLines does nothing: Go has no prefetch of its own, and a load
// would wait for the line. A hold then waits for its lines, as it did
// before there was a prefetch.
func prefetchLines(p unsafe.Pointer) {}
