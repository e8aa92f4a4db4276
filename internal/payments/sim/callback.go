package sim

import (
	"bytes"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
)

// Delivery is one attempt to deliver a callback.
type Delivery struct {
	At time.Time
	// Status is what the callback reported: the final status, or
	// Processing for a stale callback sent out of order.
	Status       channel.Status
	BadSignature bool
	// HTTPStatus is the receiver's answer, 0 if it could not be reached.
	HTTPStatus int
	// Delivered is set when the receiver answered 2xx.
	Delivered bool
}

// callbackBackoff is the wait before each retry of a callback the receiver
// did not take, after WeChat Pay's notification schedule. A callback is
// given up after the first attempt and len(callbackBackoff) retries.
var callbackBackoff = [...]time.Duration{15 * time.Second, 15 * time.Second, 30 * time.Second,
	3 * time.Minute, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute}

// callback is a notification waiting to be delivered.
type callback struct {
	seq      int // position among the order's callbacks, for its draws
	status   channel.Status
	attempts int
	due      time.Time
	inflight bool
}

// queueCallbacks queues o's callbacks as its fate says: none, the final
// one, twice, and a stale "processing" after it. s.mu is held.
func (s *Server) queueCallbacks(o *order, now time.Time) {
	if o.CallbackURL == "" || !s.dialects[o.Kind].callbacks {
		return
	}
	if o.fate.dropCallbacks {
		o.CallbacksDropped = true
		return
	}
	s.active[key{o.Kind, o.ID}] = o
	add := func(st channel.Status) {
		o.pending = append(o.pending, &callback{seq: len(o.pending), status: st, due: now})
	}
	add(o.Status)
	if o.fate.duplicate {
		add(o.Status)
	}
	if o.fate.outOfOrder {
		add(channel.Processing)
	}
}

// Step does what time has made due: decides the orders whose delay has
// passed and delivers the callbacks whose time has come, synchronously.
func (s *Server) Step() {
	now := s.clock.Now()
	s.mu.Lock()
	decided := false
	for _, o := range s.sortedActive() {
		if o.Status == channel.Processing && !o.DueAt.After(now) && s.decide(o, now, true) {
			_ = s.record(o) // counted in JournalErrors; a decision lost is made again, the same, when due
			decided = true
		}
	}
	jobs := s.collect(now, false)
	s.mu.Unlock()
	if decided {
		// What a callback tells must survive a restart.
		if err := s.sync(); err != nil {
			s.countJournalError()
		}
	}
	s.deliverAll(jobs)
}

// countJournalError counts a journal failure outside s.mu.
func (s *Server) countJournalError() {
	s.mu.Lock()
	s.stats.JournalErrors++
	s.mu.Unlock()
}

// Settle decides every undecided order now, whatever its delay, then
// delivers every callback as Flush does.
func (s *Server) Settle() {
	now := s.clock.Now()
	s.mu.Lock()
	for _, o := range s.sortedOrders() {
		if s.decide(o, now, true) {
			_ = s.record(o)
		}
	}
	s.mu.Unlock()
	if err := s.sync(); err != nil {
		s.countJournalError()
	}
	s.Flush()
}

// Flush delivers every queued callback now, ignoring backoff, until each
// has been delivered or given up. Deliveries happen in the caller's
// goroutine, so a receiver has seen them all when Flush returns.
func (s *Server) Flush() {
	for {
		s.mu.Lock()
		jobs := s.collect(s.clock.Now(), true)
		s.mu.Unlock()
		if len(jobs) == 0 {
			return
		}
		s.deliverAll(jobs)
	}
}

// job is a callback delivery to make.
type job struct {
	o   *order
	cb  *callback
	v   Order // what the callback reports
	bad bool  // sign with the wrong key
}

// collect marks in flight and returns the callbacks to deliver: those due
// by now, or all if all. s.mu is held.
func (s *Server) collect(now time.Time, all bool) []job {
	if s.closed {
		return nil
	}
	var jobs []job
	for _, o := range s.sortedActive() {
		for _, cb := range o.pending {
			if cb.inflight || (!all && cb.due.After(now)) {
				continue
			}
			cb.inflight = true
			v := o.snapshot()
			if cb.status == channel.Processing { // stale: as the order stood before its decision
				v.Status, v.Code, v.Message, v.Fee, v.DecidedAt = channel.Processing, "", "", 0, time.Time{}
			}
			bad := s.chance(s.cfg.BadSignatureRate, o.Kind, o.ID, "badsig", cb.seq*100+cb.attempts)
			jobs = append(jobs, job{o: o, cb: cb, v: v, bad: bad})
		}
	}
	return jobs
}

// deliverAll delivers jobs: one order's callbacks one after another, in
// their order (a duplicate after the original, a stale one after the
// final), different orders' at once, Config.Deliverers at a time. It
// returns when all are delivered.
func (s *Server) deliverAll(jobs []job) {
	var groups [][]job
	for i, j := range jobs {
		if i == 0 || jobs[i-1].o != j.o {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], j)
	}
	sem := make(chan struct{}, s.cfg.Deliverers)
	var wg sync.WaitGroup
	for _, g := range groups {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			for _, j := range g {
				s.deliver(j)
			}
		})
	}
	wg.Wait()
}

// deliver posts one callback and records the attempt, rescheduling or
// giving up a callback the receiver did not take.
func (s *Server) deliver(j job) {
	d := s.dialects[j.o.Kind]
	secret := s.cfg.Secrets[j.o.Kind]
	if j.bad {
		secret = "not-" + secret
	}
	header, body := d.notification(j.v, secret)
	httpStatus := 0
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, j.v.CallbackURL, bytes.NewReader(body))
	if err == nil {
		maps.Copy(req.Header, header)
		var resp *http.Response
		if resp, err = s.client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
			_ = resp.Body.Close()
			httpStatus = resp.StatusCode
		}
	}
	ok := httpStatus >= 200 && httpStatus < 300
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	o, cb := j.o, j.cb
	o.Deliveries = append(o.Deliveries, Delivery{At: now, Status: j.v.Status, BadSignature: j.bad, HTTPStatus: httpStatus, Delivered: ok})
	s.stats.Callbacks++
	if j.bad {
		s.stats.BadSignatures++
	}
	cb.inflight = false
	cb.attempts++
	switch {
	case ok:
		s.stats.CallbacksDelivered++
	case cb.attempts > len(callbackBackoff):
		s.stats.CallbacksAbandoned++
	default:
		cb.due = now.Add(callbackBackoff[cb.attempts-1])
		return
	}
	o.pending = slices.DeleteFunc(o.pending, func(c *callback) bool { return c == cb })
	if len(o.pending) == 0 {
		_ = s.record(o) // nothing owed any more; if lost, the final callback is sent once more
	}
}
