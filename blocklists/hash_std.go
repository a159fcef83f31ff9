//go:build !purego

package blocklists

import (
	"hash/maphash"
	"unsafe"
)

// hashLong is maphash.Comparable's hash of b as a string (urlCache.hash),
// read in place: Comparable keeps no string, and DecideRequest's key on
// its stack stays there.
func hashLong(seed maphash.Seed, b []byte) uint64 {
	return maphash.Comparable(seed, unsafe.String(unsafe.SliceData(b), len(b)))
}
