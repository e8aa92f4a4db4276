// Package ledger is Suanpan's double-entry journal: the only component that
// changes a balance. Every module moves money by submitting requests —
// transfers, holds, posts, voids, reversals — which the group-commit engine
// validates in order against current balances and commits together in one
// storage transaction, answering each caller only after the commit is durable.
//
// The ledger must never import a domain package, trust an in-process cache
// for a balance, or update or delete a journal row.
//
// With store, money and clock it is Suanpan's public Go API for embedding
// the engine in another program (README, "Using the ledger from Go"); what
// these packages export is kept compatible, and everything under internal/
// is not part of that promise.
package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/store"
)

// Options tune a Ledger. Zero values take the defaults.
type Options struct {
	// Clock supplies the time; default clock.Real.
	Clock clock.Clock
	// MaxBatch bounds the requests committed in one storage transaction and
	// the requests in one submission. Default 4096.
	MaxBatch int
	// QueueSize bounds the submissions waiting for the writer; when it is
	// full, Submit blocks (back-pressure). Default 4096.
	QueueSize int
	// Writers is the number of batches committed concurrently. SQLite has
	// one writer whatever this says. Default 1 on SQLite, 2 on PostgreSQL.
	Writers int
	// CommitTimeout bounds one batch's storage transaction. Default 30s.
	CommitTimeout time.Duration
	// BusinessDate maps a time to its business date (YYYY-MM-DD). Default:
	// the UTC calendar date.
	BusinessDate func(time.Time) string
	// OnBatch, when set, is called after every batch (for metrics).
	OnBatch func(BatchStats)
}

// BatchStats describe one committed (or failed) batch.
type BatchStats struct {
	Submissions int           // submissions (Submit calls) in the batch
	Requests    int           // requests in the batch
	Duration    time.Duration // from begin to commit, retries included
	Err         error         // storage failure, if any
}

// Ledger is the engine. It is safe for concurrent use.
type Ledger struct {
	db    *store.DB
	clock clock.Clock
	opts  Options

	queue  chan *job
	mu     sync.RWMutex // guards closed against sends on queue
	closed bool
	quit   chan struct{}
	wg     sync.WaitGroup

	stmts stmtCache    // SQLite writer statements
	cache accountCache // SQLite writer's validated account cache

	lastTs atomic.Int64 // newest transaction timestamp handed out, µs
	depth  atomic.Int64 // requests waiting in queue
}

// New starts a ledger engine on a migrated store. Close stops it. One
// store.DB carries at most one engine (New panics on a second: on SQLite
// the engine's account cache relies on being the only writer through the
// connection); several processes may each run one on a PostgreSQL database.
func New(db *store.DB, opts Options) *Ledger {
	if !db.ClaimEngine() {
		panic("ledger: another ledger engine already runs on this store.DB")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 4096
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 4096
	}
	if opts.Writers <= 0 {
		opts.Writers = 1
		if db.Dialect == store.Postgres {
			opts.Writers = 2
		}
	}
	if db.Dialect == store.SQLite {
		opts.Writers = 1
	}
	if opts.CommitTimeout <= 0 {
		opts.CommitTimeout = 30 * time.Second
	}
	if opts.BusinessDate == nil {
		opts.BusinessDate = func(t time.Time) string { return t.UTC().Format(time.DateOnly) }
	}
	l := &Ledger{
		db: db, clock: opts.Clock, opts: opts,
		queue: make(chan *job, opts.QueueSize),
		quit:  make(chan struct{}),
	}
	for range opts.Writers {
		l.wg.Add(1)
		go l.writer()
	}
	return l
}

// Close stops accepting submissions, commits everything already queued, and
// waits for the writers and the sweeper to finish.
func (l *Ledger) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.quit)
	l.wg.Wait()
	l.stmts.close()
	l.db.ReleaseEngine()
	return nil
}

// QueueDepth is the number of requests waiting for a writer.
func (l *Ledger) QueueDepth() int { return int(l.depth.Load()) }

// DB returns the store the ledger writes to.
func (l *Ledger) DB() *store.DB { return l.db }

// Clock returns the ledger's clock.
func (l *Ledger) Clock() clock.Clock { return l.clock }

// BusinessDate is the business date (YYYY-MM-DD) the ledger books a
// transaction made at t on.
func (l *Ledger) BusinessDate(t time.Time) string { return l.opts.BusinessDate(t) }

type job struct {
	ctx     context.Context
	reqs    []Request
	atomic  bool
	invalid []*Error // validation failures, found before queueing
	results []Result
	err     error
	done    chan struct{}
	// write, for a job from Do, is the whole job: run in the batch's
	// storage transaction, its outcome in writeErr.
	write    func(ctx context.Context, tx *sql.Tx) error
	writeErr error
}

// size is what the job counts against MaxBatch and the queue depth.
func (j *job) size() int { return max(len(j.reqs), 1) }

// Submit commits a batch of requests and returns one result per request, in
// order, once the batch is durable. Each request succeeds or fails on its own
// (its Result.Err says why); with atomic set, all succeed or none does, and
// the requests that were fine are answered with CodeBatchAborted. The error
// is non-nil only when no answer is known: the store failed, the context
// ended before the batch was committed, or the ledger is closed. In that
// case the requests may or may not have been committed; resubmitting them
// with the same references is always safe.
func (l *Ledger) Submit(ctx context.Context, reqs []Request, atomic bool) ([]Result, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	if len(reqs) > l.opts.MaxBatch {
		return nil, errorf(CodeBatchTooLarge, "at most %d requests per submission", l.opts.MaxBatch)
	}
	j := &job{ctx: ctx, reqs: make([]Request, len(reqs)), atomic: atomic, invalid: make([]*Error, len(reqs)),
		results: make([]Result, len(reqs)), done: make(chan struct{})}
	copy(j.reqs, reqs)
	pending := 0
	for i := range j.reqs {
		if err := j.reqs[i].validate(); err != nil {
			j.invalid[i] = err
			j.results[i].Err = err
			continue
		}
		pending++
	}
	if pending < len(reqs) && (atomic || pending == 0) {
		if atomic {
			abortOthers(j.results)
		}
		return j.results, nil
	}
	if err := l.enqueue(ctx, j); err != nil {
		return nil, err
	}
	select {
	case <-j.done:
		return j.results, j.err
	case <-ctx.Done():
		return nil, fmt.Errorf("ledger submit: %w (the requests may still commit)", ctx.Err())
	}
}

// Post submits one request and returns its result; a rejection is returned
// as the error (a *Error).
func (l *Ledger) Post(ctx context.Context, r Request) (*Transaction, error) {
	res, err := l.Submit(ctx, []Request{r}, false)
	if err != nil {
		return nil, err
	}
	if res[0].Err != nil {
		return nil, res[0].Err
	}
	return res[0].Transaction, nil
}

// Do runs w in the storage transaction of the next group-committed batch,
// inside a savepoint, and returns once that batch is durable: w's own error
// (its writes undone, the rest of the batch unaffected), or an error when
// no answer is known, as for Submit. It is for domain writes that move no
// money but are as frequent as those that do (a payment order's state
// changes): they share the ledger's commits instead of paying for their
// own. w must depend only on its inputs and tx (it runs again if the
// storage transaction is retried) and must not read ledger rows the same
// batch writes.
func (l *Ledger) Do(ctx context.Context, w func(ctx context.Context, tx *sql.Tx) error) error {
	j := &job{ctx: ctx, write: w, done: make(chan struct{})}
	if err := l.enqueue(ctx, j); err != nil {
		return err
	}
	select {
	case <-j.done:
		if j.err != nil {
			return j.err
		}
		return j.writeErr
	case <-ctx.Done():
		return fmt.Errorf("ledger do: %w (the write may still commit)", ctx.Err())
	}
}

func (l *Ledger) enqueue(ctx context.Context, j *job) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	l.depth.Add(int64(j.size()))
	select {
	case l.queue <- j:
		return nil
	case <-ctx.Done():
		l.depth.Add(-int64(j.size()))
		return fmt.Errorf("ledger submit: %w", ctx.Err())
	}
}

// writer takes whatever is queued — no timer: the previous commit is the
// batching window — and commits it as one batch, until Close.
func (l *Ledger) writer() {
	defer l.wg.Done()
	for {
		var first *job
		select {
		case first = <-l.queue:
		case <-l.quit:
			// Close holds no sender any more: drain what is left, then stop.
			for {
				select {
				case j := <-l.queue:
					l.commit(l.gather(j))
				default:
					return
				}
			}
		}
		l.commit(l.gather(first))
	}
}

// gather drains queued jobs after first, up to MaxBatch requests.
func (l *Ledger) gather(first *job) []*job {
	jobs := []*job{first}
	n := first.size()
	for n < l.opts.MaxBatch {
		select {
		case j := <-l.queue:
			jobs = append(jobs, j)
			n += j.size()
			if n >= l.opts.MaxBatch {
				return jobs
			}
		default:
			return jobs
		}
	}
	return jobs
}

func (l *Ledger) commit(jobs []*job) {
	n := 0
	live := jobs[:0:0]
	for _, j := range jobs {
		n += j.size()
		if err := j.ctx.Err(); err != nil {
			// The caller is gone; nothing of this job was written.
			j.err = err
			close(j.done)
			continue
		}
		live = append(live, j)
	}
	l.depth.Add(-int64(n))
	start := time.Now()
	var err error
	if len(live) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), l.opts.CommitTimeout)
		if l.db.Dialect == store.SQLite {
			// The SQLite driver watches a cancellable context with a goroutine
			// per statement, which costs more than the statement. Nothing in an
			// SQLite write can wait unboundedly (busy_timeout bounds the lock
			// wait), so the batch runs without a deadline.
			cancel()
			ctx, cancel = context.Background(), func() {}
			// Best effort: without the prepared statements a batch prepares its own.
			_ = l.stmts.prepare(ctx, l.db.Write, append(sqliteBatchStatements(), l.stmts.wantedStatements()...))
		}
		var b *batch
		err = l.db.InConnTx(ctx, store.TxOptions{RetryIf: referenceRace}, func(conn *sql.Conn, tx *sql.Tx) error {
			b = newBatch(l, ctx, conn, tx)
			return b.run(live)
		})
		if err == nil && l.db.Dialect == store.SQLite {
			l.cache.put(b.epoch, b.accounts)
		}
		cancel()
	}
	if err != nil {
		l.cache.reset()
	}
	if l.opts.OnBatch != nil {
		l.opts.OnBatch(BatchStats{Submissions: len(live), Requests: n, Duration: time.Since(start), Err: err})
	}
	for _, j := range live {
		if err != nil {
			j.err = fmt.Errorf("ledger commit: %w", err)
		}
		close(j.done)
	}
}

// referenceRace: two writers (in this process or another) inserted the same
// reference at once; the rerun finds the committed one and answers with it.
func referenceRace(err error) bool {
	c, ok := store.UniqueViolation(err)
	return ok && (c == "" || c == "transactions_reference")
}

// nextTs hands out strictly increasing transaction timestamps (µs) that are
// also later than every entry of the accounts a transaction touches (floor),
// so an account's journal is in time order even across processes.
func (l *Ledger) nextTs(now, floor int64) int64 {
	for {
		last := l.lastTs.Load()
		ts := max(now, last+1, floor+1)
		if l.lastTs.CompareAndSwap(last, ts) {
			return ts
		}
	}
}

func abortOthers(results []Result) {
	for i := range results {
		if results[i].Err == nil {
			results[i] = Result{Err: errorf(CodeBatchAborted, "not applied: another request of this atomic batch was rejected")}
		}
	}
}

var errInvariant = errors.New("ledger invariant violated")
