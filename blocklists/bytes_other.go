//go:build !amd64 || purego

package blocklists

func tokenBitsBlocks(p *byte, n int, out *uint64) { tokenBitsBlocksGo(p, n, out) }

func lower16(p *byte, n int) { lower16Go(p, n) }

func scanHits(st *scanState) int { return scanHitsGo(st) }

func indexPair(p *byte, n int, c0, c1 byte, off int) int { return indexPairGo(p, n, c0, c1, off) }
