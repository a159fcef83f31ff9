//go:build purego

package blocklists

import "hash/maphash"

// hashLong is maphash.Comparable's hash of b as a string (urlCache.hash).
// With the purego tag, Comparable is written in Go and its argument
// escapes: hashed in place, every DecideRequest's key, short ones
// included, would escape its stack to the heap. A copy costs this build
// an allocation for a key over 128 bytes, as Comparable's own did.
func hashLong(seed maphash.Seed, b []byte) uint64 {
	return maphash.Comparable(seed, string(b))
}
