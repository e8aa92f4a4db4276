package ledger

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/google/uuid"
)

// newID returns a fresh UUIDv7 for accounts.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// txID returns a UUIDv7 (RFC 9562) for a transaction stamped us
// microseconds after the epoch: the 48-bit millisecond field, and the
// microseconds within the millisecond in the 12 rand_a bits (the RFC's
// "increased clock precision", method 3), then 62 random bits. Since
// timestamps are strictly increasing, so are the IDs, and a time range
// is an ID range.
func txID(us int64) string {
	var u [16]byte
	fillTime(&u, us)
	_, _ = rand.Read(u[8:]) // crypto/rand.Read never fails
	u[8] = u[8]&0x3f | 0x80
	return format(u)
}

// idFloor is the smallest transaction ID stamped at or after t.
func idFloor(t time.Time) string {
	var u [16]byte
	fillTime(&u, t.UnixMicro())
	u[8] = 0x80
	return format(u)
}

func fillTime(u *[16]byte, us int64) {
	ms, sub := uint64(us/1000), uint16(us%1000)
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = 0x70 | byte(sub>>8)
	u[7] = byte(sub)
}

func format(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
