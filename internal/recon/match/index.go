package match

import (
	"hash/maphash"
	"math/bits"
)

// index finds orders by one of their string fields (ID, ChannelRef or
// Group). It stands in for a map[string]int32, which costs about 60 bytes
// per order at a million orders because it keeps a copy of every key:
// index keeps 8 bytes per slot at most half full, and reads the key from
// the order itself when the hash matches.
//
// It is open addressing with linear probing. A slot holds the high 32 bits
// of the key's hash and the order index plus one, so that 0 is empty and
// most probes that will not match are rejected without touching the order.
// Keys come from channels' files, so the seed is random: nobody can choose
// references that collide.
type index struct {
	slots []uint64
	mask  uint64
	seed  maphash.Seed
	key   func(o int32) string
}

// newIndex returns an index for up to n keys read by key.
func newIndex(n int, key func(o int32) string) *index {
	size := uint64(8)
	if n > 4 {
		size = 1 << bits.Len64(uint64(2*n-1)) // ≥ 2n
	}
	return &index{slots: make([]uint64, size), mask: size - 1, seed: maphash.MakeSeed(), key: key}
}

// find returns the slot holding k, or the empty slot where k would go, and
// whether k is there.
func (x *index) find(k string) (slot uint64, tag uint64, found bool) {
	h := maphash.String(x.seed, k)
	tag = h >> 32 << 32
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		s := x.slots[i]
		if s == 0 {
			return i, tag, false
		}
		if s&^0xffffffff == tag && x.key(int32(s&0xffffffff)-1) == k {
			return i, tag, true
		}
	}
}

// get returns the order stored under k.
func (x *index) get(k string) (int32, bool) {
	i, _, ok := x.find(k)
	if !ok {
		return none, false
	}
	return int32(x.slots[i]&0xffffffff) - 1, true
}

// put stores order o under its key k, and returns the order it replaces,
// or none. The caller must not put more keys than newIndex was told.
func (x *index) put(k string, o int32) int32 {
	i, tag, ok := x.find(k)
	prev := int32(none)
	if ok {
		prev = int32(x.slots[i]&0xffffffff) - 1
	}
	x.slots[i] = tag | uint64(o+1)
	return prev
}
