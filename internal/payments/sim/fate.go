package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
)

// fate is what will happen to an order, drawn from its hash.
type fate struct {
	late, fail, pending                  bool
	failure                              failure
	delay                                time.Duration
	dropCallbacks, duplicate, outOfOrder bool
}

// fate draws the fate of kind k's order id in direction dir.
func (s *Server) fate(k channel.Kind, d *dialect, id string, dir channel.Direction) fate {
	f := fate{
		late:          s.chance(s.cfg.LateRate, k, id, "late", 0),
		fail:          s.chance(s.cfg.FailRate, k, id, "fail", 0),
		pending:       s.chance(s.cfg.PendingRate, k, id, "pending", 0),
		dropCallbacks: s.chance(s.cfg.DropCallbackRate, k, id, "dropcb", 0),
		duplicate:     s.chance(s.cfg.DuplicateCallbackRate, k, id, "dupcb", 0),
		outOfOrder:    s.chance(s.cfg.OutOfOrderRate, k, id, "outoforder", 0),
	}
	if codes := d.failures[dir]; len(codes) > 0 {
		f.failure = codes[s.draw(k, id, "code", 0)%uint64(len(codes))]
	}
	lo, hi := s.cfg.MinDelay, s.cfg.MaxDelay
	if k == channel.Cheque {
		lo, hi = s.cfg.ClearingDelay, s.cfg.ClearingDelay
	}
	f.delay = lo + time.Duration(s.draw(k, id, "delay", 0)%uint64(hi-lo+1))
	return f
}

// draw is a uniform 64-bit number determined by the seed, the order and
// what it is for.
func (s *Server) draw(k channel.Kind, id, purpose string, n int) uint64 {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(s.cfg.Seed))
	h.Write(b[:])
	fmt.Fprintf(h, "\x00%s\x00%s\x00%s\x00%d", k, id, purpose, n)
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// chance reports whether an event of rate r happens to the order.
func (s *Server) chance(r Rate, k channel.Kind, id, purpose string, n int) bool {
	return r > Never && s.draw(k, id, purpose, n)%uint64(Always) < uint64(r)
}
