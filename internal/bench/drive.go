package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/suanpan/suanpan/store"
)

// openStore opens where a benchmark runs: "sqlite" (or "") is a new SQLite
// file in a temporary directory, "postgres" a new database on the server at
// pgURL, both removed by the returned cleanup; anything else is a store
// location used as it is. The store is migrated.
func openStore(ctx context.Context, location, pgURL, sqliteSync string) (*store.DB, func(), error) {
	cleanup := func() {}
	switch location {
	case "", "sqlite":
		dir, err := os.MkdirTemp("", "suanpan-bench-")
		if err != nil {
			return nil, nil, err
		}
		cleanup = func() { os.RemoveAll(dir) }
		location = filepath.Join(dir, "bench.db")
	case "postgres":
		url, drop, err := TempPostgres(ctx, pgURL)
		if err != nil {
			return nil, nil, err
		}
		cleanup, location = drop, url
	}
	db, err := store.Open(ctx, location, store.Options{SQLiteSynchronous: sqliteSync, MaxConns: 16})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		cleanup()
		return nil, nil, err
	}
	return db, func() { db.Close(); cleanup() }, nil
}

// OpenStore opens a benchmark's store as the benchmarks here do: "sqlite"
// (or "") a new SQLite file in a temporary directory, "postgres" a new
// database on the server at pgURL, both removed by the returned cleanup;
// anything else a store location used as it is. The store is migrated.
func OpenStore(ctx context.Context, location, pgURL, sqliteSync string) (*store.DB, func(), error) {
	return openStore(ctx, location, pgURL, sqliteSync)
}

// driven is what drive measured.
type driven struct {
	done, rejected int64
	elapsed        time.Duration
	latency        histogram
}

// drive runs step from concurrency goroutines, each with its own seeded
// random source, for duration or until a step fails. A step is one
// submission: it returns the units it completed and the units refused.
// Every second, tick (when not nil) learns the elapsed time and the units
// done so far.
func drive(ctx context.Context, concurrency int, duration time.Duration, seed uint64, tick func(time.Duration, int64),
	step func(w, n int, rng *rand.Rand) (done, rejected int64, err error)) (*driven, error) {
	runCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var done, rejected atomic.Int64
	hists := make([]histogram, concurrency)
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for n := 0; runCtx.Err() == nil; n++ {
				t := time.Now()
				d, r, err := step(w, n, rng)
				if err != nil {
					failed.Store(err)
					cancel()
					return
				}
				hists[w].record(time.Since(t))
				done.Add(d)
				rejected.Add(r)
			}
		}()
	}
	ticker := time.NewTicker(time.Second)
	for runCtx.Err() == nil {
		select {
		case <-ticker.C:
			if tick != nil {
				tick(time.Since(start), done.Load())
			}
		case <-runCtx.Done():
		}
	}
	ticker.Stop()
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		return nil, fmt.Errorf("step: %w", err)
	}
	out := &driven{done: done.Load(), rejected: rejected.Load(), elapsed: time.Since(start)}
	for i := range hists {
		out.latency.merge(&hists[i])
	}
	return out, nil
}
