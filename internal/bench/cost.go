package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"

	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// Cost is what a run's measured window cost: the write-ahead log the store
// wrote, the bytes the process sent to storage and the CPU it used, in
// total and per unit of work (Unit: a transfer, an order, a payment, a
// statement line). The *Scope fields say what each figure counts.
type Cost struct {
	Unit string `json:"unit"`
	// WALBytes is the write-ahead log written: SQLite frames (a page and a
	// 24-byte header each), or PostgreSQL's pg_stat_wal wal_bytes.
	WALBytes        int64   `json:"wal_bytes"`
	WALBytesPerUnit float64 `json:"wal_bytes_per_unit"`
	// WALPages are SQLite WAL frames (0 on PostgreSQL).
	WALPages        int64   `json:"wal_pages"`
	WALPagesPerUnit float64 `json:"wal_pages_per_unit"`
	PageSize        int64   `json:"page_size"`
	// WALRecords and WALFPI (full-page images) are PostgreSQL's (0 on
	// SQLite).
	WALRecords        int64   `json:"wal_records"`
	WALRecordsPerUnit float64 `json:"wal_records_per_unit"`
	WALFPI            int64   `json:"wal_fpi"`
	WALScope          string  `json:"wal_scope"`
	// DiskWriteBytes is what this process sent to storage (Linux
	// /proc/self/io write_bytes): the WAL and checkpoints into the database
	// file, counted as the page cache is dirtied.
	DiskWriteBytes        int64   `json:"disk_write_bytes"`
	DiskWriteBytesPerUnit float64 `json:"disk_write_bytes_per_unit"`
	// CPUUserS and CPUSysS are CPU time (getrusage) over the window.
	CPUUserS       float64 `json:"cpu_user_s"`
	CPUSysS        float64 `json:"cpu_sys_s"`
	CPUUsPerUnit   float64 `json:"cpu_us_per_unit"`
	CPUScope       string  `json:"cpu_scope"`
	CPUMeasured    bool    `json:"cpu_measured"`
	WALMeasured    bool    `json:"wal_measured"`
	DiskIOMeasured bool    `json:"disk_io_measured"`
}

// BatchSizes describe the ledger engine's group commits in the measured
// window: requests per committed batch and commits per second.
type BatchSizes struct {
	CommitsPerS float64 `json:"commits_per_s"`
	BatchP50    int     `json:"batch_p50"`
	BatchP90    int     `json:"batch_p90"`
	BatchP99    int     `json:"batch_p99"`
	BatchMax    int     `json:"batch_max"`
	// BatchSizesFrom is "engine" (exact, from ledger.Options.OnBatch),
	// "metrics" (upper bounds of the server's power-of-two
	// suanpan_ledger_batch_requests buckets) or "" (not measured).
	BatchSizesFrom string `json:"batch_sizes_from"`
}

// batchRecorder is a ledger.Options.OnBatch observer: it counts committed
// batches, their requests and commit time, and their sizes' distribution.
type batchRecorder struct {
	mu       sync.Mutex
	sizes    histogram // requests per batch, recorded as microseconds
	batches  int64
	requests int64
	commit   time.Duration
}

func (r *batchRecorder) observe(s ledger.BatchStats) {
	if s.Err != nil {
		return // nothing was committed
	}
	r.mu.Lock()
	r.sizes.record(time.Duration(s.Requests) * time.Microsecond)
	r.batches++
	r.requests += int64(s.Requests)
	r.commit += s.Duration
	r.mu.Unlock()
}

// reset forgets the set-up's batches.
func (r *batchRecorder) reset() {
	r.mu.Lock()
	r.sizes, r.batches, r.requests, r.commit = histogram{}, 0, 0, 0
	r.mu.Unlock()
}

// totals returns the batches, the average requests per batch and the
// average commit time in milliseconds.
func (r *batchRecorder) totals() (batches int64, avg, commitMs float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.batches == 0 {
		return 0, 0, 0
	}
	return r.batches, float64(r.requests) / float64(r.batches), float64(r.commit) / float64(r.batches) / 1e6
}

func (r *batchRecorder) distribution(elapsed time.Duration) BatchSizes {
	r.mu.Lock()
	defer r.mu.Unlock()
	size := func(q float64) int { return int(r.sizes.quantile(q).Microseconds()) }
	b := BatchSizes{BatchP50: size(0.5), BatchP90: size(0.9), BatchP99: size(0.99), BatchMax: int(r.sizes.max.Microseconds()),
		BatchSizesFrom: "engine"}
	if elapsed > 0 {
		b.CommitsPerS = float64(r.batches) / elapsed.Seconds()
	}
	return b
}

// pgStatsSettle is how long a PostgreSQL backend may hold its statistics
// before it reports them (PGSTAT_MIN_INTERVAL, 1 s, and a margin): the
// probe waits that long before each pg_stat_wal reading, so that the
// set-up's WAL is not counted in the run and the run's is.
const pgStatsSettle = 1100 * time.Millisecond

// costProbe measures a window: start it when the measured work begins and
// stop it when it ends.
type costProbe struct {
	db       *store.DB // nil: no store to read the WAL of
	cpuScope string
	cpu0     cpuTimes
	cpuOK    bool
	disk0    int64
	diskOK   bool
	wal0     walCounters
	walErr   error
	pageSize int64
}

type walCounters struct{ bytes, pages, records, fpi int64 }

// startCost takes the window's first readings. db, when not nil, is the
// store whose WAL is measured; cpuScope says what this process is, for the
// report.
func startCost(ctx context.Context, db *store.DB, cpuScope string) (*costProbe, error) {
	p := &costProbe{db: db, cpuScope: cpuScope}
	if db != nil {
		if db.Dialect == store.Postgres {
			p.cpuScope += "; the PostgreSQL server's CPU is not counted"
			if err := sleepCtx(ctx, pgStatsSettle); err != nil {
				return nil, err
			}
		} else if err := db.Read.QueryRowContext(ctx, "PRAGMA page_size").Scan(&p.pageSize); err != nil {
			return nil, fmt.Errorf("sqlite page size: %w", err)
		}
		p.wal0, p.walErr = readWAL(ctx, db)
	}
	p.disk0, p.diskOK = diskWriteBytes()
	p.cpu0, p.cpuOK = processCPU()
	return p, nil
}

// stop takes the last readings (the CPU and disk first, then the WAL) and
// returns the window's cost for units of unit.
func (p *costProbe) stop(ctx context.Context, units int64, unit string) (Cost, error) {
	cpu1, cpuOK := processCPU()
	disk1, diskOK := diskWriteBytes()
	c := Cost{Unit: unit, PageSize: p.pageSize, CPUScope: p.cpuScope}
	per := func(v int64) float64 {
		if units <= 0 {
			return 0
		}
		return float64(v) / float64(units)
	}
	if cpuOK && p.cpuOK {
		c.CPUMeasured = true
		c.CPUUserS = (cpu1.user - p.cpu0.user).Seconds()
		c.CPUSysS = (cpu1.sys - p.cpu0.sys).Seconds()
		c.CPUUsPerUnit = per(int64((cpu1.user + cpu1.sys - p.cpu0.user - p.cpu0.sys) / time.Microsecond))
	} else {
		c.CPUScope = "not measured on this system"
	}
	if diskOK && p.diskOK {
		c.DiskIOMeasured = true
		c.DiskWriteBytes = disk1 - p.disk0
		c.DiskWriteBytesPerUnit = per(c.DiskWriteBytes)
	}
	switch {
	case p.db == nil:
		c.WALScope = "not measured: the server's store is not in this process"
		return c, nil
	case p.walErr != nil:
		c.WALScope = "not measured: " + p.walErr.Error()
		return c, nil
	case p.db.Dialect == store.Postgres:
		if err := sleepCtx(ctx, pgStatsSettle); err != nil {
			return c, err
		}
	}
	w1, err := readWAL(ctx, p.db)
	if err != nil {
		c.WALScope = "not measured: " + err.Error()
		return c, nil
	}
	if w1.pages < p.wal0.pages || w1.bytes < p.wal0.bytes {
		c.WALScope = "not measured: the counters went back (a reopened connection or a statistics reset)"
		return c, nil
	}
	c.WALMeasured = true
	c.WALPages, c.WALRecords, c.WALFPI = w1.pages-p.wal0.pages, w1.records-p.wal0.records, w1.fpi-p.wal0.fpi
	if p.db.Dialect == store.Postgres {
		c.WALBytes = w1.bytes - p.wal0.bytes
		c.WALScope = "pg_stat_wal of the whole PostgreSQL server: other databases' writes during the run count too"
	} else {
		c.WALBytes = c.WALPages * (p.pageSize + sqliteWALFrameHeader)
		c.WALScope = "SQLite WAL frames the writer connection wrote, by SQLITE_DBSTATUS_CACHE_WRITE, page_size+24 bytes each; " +
			"checkpoints into the database file are not WAL but count in disk writes"
	}
	c.WALBytesPerUnit, c.WALPagesPerUnit, c.WALRecordsPerUnit = per(c.WALBytes), per(c.WALPages), per(c.WALRecords)
	return c, nil
}

// sqliteWALFrameHeader is the header SQLite writes before each page in the
// WAL.
const sqliteWALFrameHeader = 24

// readWAL reads the store's cumulative WAL counters: on SQLite the pages
// the writer connection (the pool's only one) has written to the WAL, on
// PostgreSQL the server's pg_stat_wal.
func readWAL(ctx context.Context, db *store.DB) (walCounters, error) {
	var w walCounters
	if db.Dialect == store.Postgres {
		err := db.Read.QueryRowContext(ctx, "SELECT wal_bytes::bigint, wal_records, wal_fpi FROM pg_stat_wal").
			Scan(&w.bytes, &w.records, &w.fpi)
		if err != nil {
			return w, fmt.Errorf("pg_stat_wal (PostgreSQL 14 or later): %w", err)
		}
		return w, nil
	}
	conn, err := db.Write.Conn(ctx)
	if err != nil {
		return w, err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		s, ok := dc.(sqlite.DBStatus)
		if !ok {
			return errors.New("the SQLite driver has no sqlite3_db_status")
		}
		cur, _, err := s.Status(sqlite.DBStatusCacheWrite, false)
		w.pages = int64(cur)
		return err
	})
	return w, err
}

// diskWriteBytes is /proc/self/io's write_bytes: the bytes this process
// caused to be sent to storage (Linux; false elsewhere).
func diskWriteBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "write_bytes:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

type cpuTimes struct{ user, sys time.Duration }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Profiles name the files a run writes pprof profiles of its measured
// window to (set-up excluded); empty: none.
type Profiles struct {
	// CPU is a CPU profile of the window.
	CPU string
	// Mem is a heap profile taken at the end of the window, after a
	// collection: its inuse_ samples are what is live then; its alloc_
	// samples count from the process's start, set-up included.
	Mem string
}

// profiling is a run's open profile files.
type profiling struct {
	cpu, mem *os.File
	running  bool
}

// open creates the profile files, so that a bad path fails before the
// set-up rather than after it.
func (p Profiles) open() (*profiling, error) {
	r := &profiling{}
	var err error
	if p.CPU != "" {
		if r.cpu, err = os.Create(p.CPU); err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
	}
	if p.Mem != "" {
		if r.mem, err = os.Create(p.Mem); err != nil {
			r.close()
			return nil, fmt.Errorf("memory profile: %w", err)
		}
	}
	return r, nil
}

// start starts the CPU profile.
func (r *profiling) start() error {
	if r.cpu == nil {
		return nil
	}
	if err := pprof.StartCPUProfile(r.cpu); err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	r.running = true
	return nil
}

// stop ends the CPU profile and writes the heap profile.
func (r *profiling) stop() error {
	var errs []error
	if r.running {
		pprof.StopCPUProfile()
		r.running = false
	}
	if r.cpu != nil {
		errs = append(errs, r.cpu.Close())
		r.cpu = nil
	}
	if r.mem != nil {
		runtime.GC()
		errs = append(errs, pprof.WriteHeapProfile(r.mem), r.mem.Close())
		r.mem = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	return nil
}

// close ends what is still open, after a failed run.
func (r *profiling) close() {
	if r.running {
		pprof.StopCPUProfile()
		r.running = false
	}
	for _, f := range []*os.File{r.cpu, r.mem} {
		if f != nil {
			f.Close()
		}
	}
	r.cpu, r.mem = nil, nil
}
