package match_test

import (
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/match"
	"github.com/suanpan/suanpan/internal/recon/statement"
)

// BenchmarkReconcile1M reconciles a day of 1,000,000 orders with a
// 1,000,000-line statement: about 97% of lines by order ID, 1% by channel
// ref only, 0.5% without a reference, and the rest faults of every kind
// plus bulk batch lines. Besides time and allocations it reports the
// input's heap (input-MiB), the peak heap in use above it while
// reconciling (peak-MiB), and what the Result keeps (result-MiB).
func BenchmarkReconcile1M(b *testing.B) {
	benchmarkReconcile(b, dayOfOrders(1_000_000, 0.005))
}

// BenchmarkReconcileNoReference100k is the worst realistic case for the
// amount pass: 100,000 lines none of which carries a reference.
func BenchmarkReconcileNoReference100k(b *testing.B) {
	benchmarkReconcile(b, dayOfOrders(100_000, 1))
}

type benchCase struct {
	lines  []statement.Line
	orders []match.Order
	rules  match.Rules
}

func benchmarkReconcile(b *testing.B, c benchCase) {
	runtime.GC()
	base := heapInuse()
	peak := watchPeak()
	var res *match.Result
	b.ReportAllocs()
	for b.Loop() {
		res = nil // let the previous result go before the next peak
		var err error
		res, err = match.Reconcile(c.lines, c.orders, c.rules)
		if err != nil {
			b.Fatal(err)
		}
	}
	top := peak()
	runtime.GC()
	kept := heapInuse()
	b.ReportMetric(float64(len(c.lines)), "lines")
	b.ReportMetric(mib(base), "input-MiB")
	b.ReportMetric(mib(top-base), "peak-MiB")
	b.ReportMetric(mib(kept-base), "result-MiB")
	if testing.Verbose() {
		b.Logf("counts: %v", res.Counts)
	}
	runtime.KeepAlive(res)
	runtime.KeepAlive(c)
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// heapInuse is runtime.MemStats.HeapInuse, read without stopping the world.
func heapInuse() uint64 {
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// watchPeak samples heapInuse every millisecond until the returned
// function is called, which returns the highest sample.
func watchPeak() func() uint64 {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var top uint64
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			top = max(top, heapInuse())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return max(top, heapInuse())
	}
}

// dayOfOrders builds n orders and a statement of n lines for them. A
// fraction noRef of lines carries no reference; of the rest, 1% carry
// only the channel ref and 1.5% are faults.
func dayOfOrders(n int, noRef float64) benchCase {
	rng := rand.New(rand.NewPCG(1, 2))
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	r := match.Rules{
		AmountTolerance:   100,
		AmountToleranceBP: 10,
		DateTolerance:     2 * time.Hour,
		LateWindow:        time.Hour,
		AsOf:              day.Add(26 * time.Hour),
	}
	orders := make([]match.Order, n)
	lines := make([]statement.Line, 0, n+n/100)
	for i := 0; i < n; i++ {
		id := "po_" + strconv.Itoa(10_000_000+i)
		o := match.Order{
			ID:         id,
			ChannelRef: "ch" + strconv.Itoa(90_000_000+i),
			Direction:  channel.PayIn,
			Amount:     100 + rng.Int64N(10_000_000),
			Fee:        rng.Int64N(500),
			Asset:      "CNY",
			State:      match.StateSucceeded,
			At:         day.Add(time.Duration(rng.Int64N(int64(24 * time.Hour)))),
			Party:      "6222" + strconv.Itoa(rng.IntN(1_000_000)),
		}
		if i%10 == 9 {
			o.Direction = channel.PayOut
		}
		l := statement.Line{
			OrderID: o.ID, ChannelRef: o.ChannelRef, Direction: o.Direction, Amount: o.Amount, Fee: o.Fee,
			Asset: o.Asset, Status: channel.Succeeded, At: o.At.Add(time.Duration(rng.IntN(600)) * time.Second), Party: o.Party,
		}
		if rng.Float64() < noRef {
			// The channel echoes neither ID; the order's ref was never
			// learned. The amount may be a little off.
			o.ChannelRef = ""
			l.OrderID, l.ChannelRef = "", "ch"+strconv.Itoa(80_000_000+i)
			l.Amount += rng.Int64N(3) - 1
			l.Amount = max(l.Amount, 0)
			orders[i] = o
			lines = append(lines, l)
			continue
		}
		switch k := rng.IntN(10_000); {
		case k < 9700:
		case k < 9800: // only the channel ref
			l.OrderID = ""
		case k < 9825: // amount
			l.Amount += 1 + rng.Int64N(1000)
		case k < 9850: // channel succeeded, order unknown
			o.State = match.StateUnknown
		case k < 9875: // fee
			l.Fee++
		case k < 9895: // listed twice
			lines = append(lines, l)
		case k < 9915: // short
			orders[i] = o
			continue
		case k < 9930: // failed both
			o.State, l.Status = match.StateFailed, channel.Failed
		case k < 9940: // failed line, no order
			lines = append(lines, statement.Line{ChannelRef: "f" + strconv.Itoa(i), Direction: o.Direction, Amount: o.Amount, Asset: o.Asset, Status: channel.Failed, At: l.At})
		case k < 9960: // long
			lines = append(lines, statement.Line{ChannelRef: "x" + strconv.Itoa(i), Direction: o.Direction, Amount: 7, Asset: o.Asset, Status: channel.Succeeded, At: l.At})
		case k < 9970: // late order, not yet listed
			o.At = r.AsOf.Add(-time.Minute)
			orders[i] = o
			continue
		default: // a bulk batch: this order and the next two, one line
			g := "B" + strconv.Itoa(i)
			o.Group, o.ChannelRef = g, ""
			l.OrderID, l.ChannelRef = g, ""
			orders[i] = o
			for k := 1; k <= 2 && i+1 < n; k++ {
				i++
				m := o
				m.ID, m.Amount, m.Fee = "po_"+strconv.Itoa(10_000_000+i), 1000, 0
				orders[i] = m
				l.Amount += m.Amount
			}
			lines = append(lines, l)
			continue
		}
		orders[i] = o
		lines = append(lines, l)
	}
	// Exactly n lines: drop the last extras (their orders become short) or
	// pad with failed lines for no order.
	for len(lines) < n {
		lines = append(lines, statement.Line{Direction: channel.PayIn, Amount: 1, Asset: "CNY", Status: channel.Failed, At: day})
	}
	lines = lines[:n]
	for i := range lines {
		lines[i].No = i + 1
	}
	return benchCase{lines: lines, orders: orders, rules: r}
}
