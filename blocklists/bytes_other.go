//go:build !amd64 || purego

package blocklists

func tokenBitsBlock(p *byte) uint64 { return tokenBitsBlockGo(p) }

func lower16(p *byte, n int) { lower16Go(p, n) }
