package accounts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

// Batch operations: a CSV file of operations, uploaded once and processed
// asynchronously by the batch worker, with one result per data line.
//
// The file format (UTF-8, lines ended by LF or CRLF, no field spanning
// lines):
//
//	reference,operation,account,counterparty,channel,amount,payment_id
//	r1,topup,ACCOUNT-ID,,bank_x,100.00,
//	r2,pay,ACCOUNT-ID,MERCHANT-ACCOUNT-ID,app,12.5,
//	r3,refund,,,,2.00,PAYMENT-TRANSACTION-ID
//
// The header line is required exactly as shown. operation is topup,
// withdraw, pay, transfer or refund. amount is a decimal string in the
// scale of the account's asset (for a refund, the payment's; empty refunds
// the whole payment); more decimals than the scale are refused, not
// rounded. counterparty is for pay and transfer, payment_id and no account
// or channel for refund. Fields may be quoted as in RFC 4180. Blank lines
// are skipped; every other line gets a result, in its line number (the
// header is line 1).
//
// Each line runs as its operation under the reference
// "<batch reference>:<line reference>", in the batch's institution: running
// a line again (after a crash, say) returns the original transaction and
// moves nothing. A bad line is recorded with its code and never stops the
// others: invalid_line (the line is not 7 fields, or a field is missing or
// malformed), invalid_operation, invalid_amount, account_not_found, or the
// operation's own codes (insufficient_funds, limit_exceeded, …).

// The batch refusals and line codes.
const (
	CodeBatchNotFound    Code = "batch_not_found"   // no such batch (in the caller's institutions)
	CodeBatchTooLarge    Code = "batch_too_large"   // the file exceeds MaxBatchBytes or MaxBatchLines
	CodeInvalidLine      Code = "invalid_line"      // a batch line is malformed
	CodeInvalidOperation Code = "invalid_operation" // a batch line names no known operation
	CodeInvalidAmount    Code = "invalid_amount"    // a batch line's amount does not parse in the asset's scale
)

// Bounds on an uploaded batch file.
const (
	MaxBatchBytes   = 32 << 20
	MaxBatchLines   = 200_000 // data lines, not counting the header and blank lines
	maxBatchLineLen = 4096
)

// BatchHeader is the required first line of a batch file.
const BatchHeader = "reference,operation,account,counterparty,channel,amount,payment_id"

// Batch statuses.
const (
	BatchQueued  = "queued"
	BatchRunning = "running"
	BatchDone    = "done"
	BatchFailed  = "failed" // the file could not be processed at all (Error says why)
)

// The events of a batch: stored, and every line's result recorded.
const (
	EventBatchUploaded = "batch.uploaded"
	EventBatchDone     = "batch.done"
)

// Batch is an uploaded batch and its progress.
type Batch struct {
	ID            string     `json:"id"`
	InstitutionID string     `json:"institution_id"`
	Reference     string     `json:"reference"`
	ContentHash   string     `json:"content_hash" doc:"SHA-256 of the file, hex."`
	Status        string     `json:"status" enum:"queued,running,done,failed"`
	Lines         int        `json:"lines" doc:"Data lines in the file (without the header and blank lines)."`
	Succeeded     int        `json:"succeeded" doc:"Lines that posted (set when done)."`
	Failed        int        `json:"failed" doc:"Lines refused (set when done)."`
	Error         string     `json:"error,omitempty" doc:"Why a failed batch could not be processed."`
	CreatedBy     string     `json:"created_by"`
	CreatedAt     time.Time  `json:"created_at"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
}

// BatchLine is one line's result.
type BatchLine struct {
	Line          int    `json:"line"`
	Reference     string `json:"reference"`
	Status        string `json:"status" enum:"ok,error"`
	Code          string `json:"code,omitempty"`
	Message       string `json:"message,omitempty"`
	TransactionID string `json:"transaction_id,omitempty"`
}

// Batches stores batch files and processes them through the operations
// service.
type Batches struct {
	db    *store.DB
	l     *ledger.Ledger
	ops   *Operations
	clock clock.Clock
	// chunk lines are run at once, at most inFlight concurrently, and their
	// results recorded in one transaction; lease is how long a claim holds
	// without renewal.
	chunk, inFlight int
	lease           time.Duration
	afterChunk      func() error // test hook: an error stops processing like a crash
}

// NewBatches returns the batch service on the operations service's store.
func NewBatches(ops *Operations) *Batches {
	return &Batches{db: ops.db, l: ops.ledger, ops: ops, clock: ops.clock, chunk: 1000, inFlight: 64, lease: 2 * time.Minute}
}

// BatchUpload is an uploaded file.
type BatchUpload struct {
	InstitutionID string
	Reference     string // the uploader's, unique per institution
	Content       []byte
	CreatedBy     string
}

// countBatchLines checks the header and the bounds and returns the number
// of data lines.
func countBatchLines(content []byte) (int, error) {
	if len(content) > MaxBatchBytes {
		return 0, errorAt(CodeBatchTooLarge, "file", "a batch file is at most %d bytes", MaxBatchBytes)
	}
	n, no := 0, 0
	err := eachLine(content, func(lineNo int, line []byte) error {
		no = lineNo
		if len(line) > maxBatchLineLen {
			return errorAt(CodeInvalidRequest, "file", "line %d is longer than %d bytes", lineNo, maxBatchLineLen)
		}
		if lineNo == 1 {
			if string(bytes.TrimPrefix(line, []byte("\ufeff"))) != BatchHeader {
				return errorAt(CodeInvalidRequest, "file", "the first line must be the header %q", BatchHeader)
			}
			return nil
		}
		if n++; n > MaxBatchLines {
			return errorAt(CodeBatchTooLarge, "file", "a batch file has at most %d lines", MaxBatchLines)
		}
		return nil
	})
	if err == nil && no == 0 {
		err = errorAt(CodeInvalidRequest, "file", "the file is empty: the first line must be the header %q", BatchHeader)
	}
	return n, err
}

// eachLine calls fn with every non-blank line (without its line end) and its
// 1-based line number.
func eachLine(content []byte, fn func(lineNo int, line []byte) error) error {
	for no := 1; len(content) > 0; no++ {
		line := content
		if i := bytes.IndexByte(content, '\n'); i >= 0 {
			line, content = content[:i], content[i+1:]
		} else {
			content = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 && no > 1 {
			continue
		}
		if err := fn(no, line); err != nil {
			return err
		}
	}
	return nil
}

const batchCols = `id, institution_id, reference, content_hash, status, lines, succeeded, failed_lines, error,
	created_by, created_at, finished_at`

func scanBatch(sc scanner) (*Batch, error) {
	var b Batch
	var created int64
	var finished sql.NullInt64
	if err := sc.Scan(&b.ID, &b.InstitutionID, &b.Reference, &b.ContentHash, &b.Status, &b.Lines, &b.Succeeded,
		&b.Failed, &b.Error, &b.CreatedBy, &created, &finished); err != nil {
		return nil, err
	}
	b.CreatedAt = time.UnixMicro(created).UTC()
	if finished.Valid {
		t := time.UnixMicro(finished.Int64).UTC()
		b.FinishedAt = &t
	}
	return &b, nil
}

// Upload stores the file and a queued batch in one transaction, with a
// batch.uploaded event and the writes. The same reference with the same
// content returns the stored batch (created false) and queues nothing; with
// other content it is refused with CodeConflict. Permission: ledger:post.
// Returns CodeInvalidRequest (no header, a line too long),
// CodeBatchTooLarge or CodeConflict.
func (s *Batches) Upload(ctx context.Context, u BatchUpload, writes ...ChangeWrite) (b *Batch, created bool, err error) {
	switch {
	case u.Reference == "" || len(u.Reference) > 64 || !store.Storable(u.Reference) || strings.Contains(u.Reference, ":"):
		return nil, false, fieldErr("reference", "reference is required: at most 64 bytes, without ':'")
	case u.InstitutionID == "" || u.CreatedBy == "":
		return nil, false, fieldErr("institution_id", "the batch needs its institution and uploader")
	}
	n, err := countBatchLines(u.Content)
	if err != nil {
		return nil, false, err
	}
	sum := sha256.Sum256(u.Content)
	hash := hex.EncodeToString(sum[:])
	if b, err := s.existing(ctx, u, hash); b != nil || err != nil {
		return b, false, err
	}
	b = &Batch{ID: newID(), InstitutionID: u.InstitutionID, Reference: u.Reference, ContentHash: hash, Status: BatchQueued,
		Lines: n, CreatedBy: u.CreatedBy, CreatedAt: time.UnixMicro(s.clock.Now().UnixMicro()).UTC()}
	err = s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO batches (id, institution_id, reference, content_hash, status, lines,
			created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, b.ID, b.InstitutionID, b.Reference, hash,
			b.Status, b.Lines, b.CreatedBy, b.CreatedAt.UnixMicro()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO batch_files (batch_id, content) VALUES ($1, $2)`, b.ID, u.Content); err != nil {
			return err
		}
		return recordEvent(ctx, tx, tx, &Event{Type: EventBatchUploaded, Subject: "batch:" + b.ID,
			InstitutionID: b.InstitutionID, CreatedAt: b.CreatedAt,
			Payload: map[string]any{"id": b.ID, "reference": b.Reference, "content_hash": hash, "lines": n}}, writes)
	})
	if _, dup := store.UniqueViolation(err); dup {
		// A concurrent upload under the reference won.
		if got, err := s.existing(ctx, u, hash); got != nil || err != nil {
			return got, false, err
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("store batch: %w", err)
	}
	return b, true, nil
}

func (s *Batches) existing(ctx context.Context, u BatchUpload, hash string) (*Batch, error) {
	b, err := scanBatch(s.db.Write.QueryRowContext(ctx, `SELECT `+batchCols+` FROM batches
		WHERE institution_id = $1 AND reference = $2`, u.InstitutionID, u.Reference))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find batch: %w", err)
	}
	if b.ContentHash != hash {
		return nil, errorAt(CodeConflict, "reference", "batch reference %s was used for another file", u.Reference)
	}
	return b, nil
}

func batchNotFound(id string) *Error {
	if !store.Storable(id) || len(id) > 64 {
		return errorf(CodeBatchNotFound, "batch not found")
	}
	return errorf(CodeBatchNotFound, "batch %s not found", id)
}

// Get returns a batch and its progress. Permission: ledger:read. Returns
// CodeBatchNotFound (also outside the scope).
func (s *Batches) Get(ctx context.Context, id string, scope []string) (*Batch, error) {
	if !store.Storable(id) || len(id) > 64 {
		return nil, batchNotFound(id)
	}
	b, err := scanBatch(s.db.Read.QueryRowContext(ctx, `SELECT `+batchCols+` FROM batches WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !inScope(scope, b.InstitutionID)) {
		return nil, batchNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("get batch %s: %w", id, err)
	}
	return b, nil
}

// List returns the batches of the scope's institutions, newest first, at
// most limit (default 100, at most 1000). Permission: ledger:read.
func (s *Batches) List(ctx context.Context, scope []string, limit int) ([]*Batch, error) {
	if limit <= 0 {
		limit = defaultPage
	}
	limit = min(limit, maxPage)
	q, args := `SELECT `+batchCols+` FROM batches`, []any{}
	if scope != nil {
		if len(scope) == 0 {
			return []*Batch{}, nil
		}
		ph := make([]string, len(scope))
		for i, inst := range scope {
			ph[i] = "$" + strconv.Itoa(i+1)
			args = append(args, inst)
		}
		q += ` WHERE institution_id IN (` + strings.Join(ph, ", ") + `)`
	}
	rows, err := s.db.Read.QueryContext(ctx, q+fmt.Sprintf(" ORDER BY created_at DESC, id DESC LIMIT %d", limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list batches: %w", err)
	}
	defer rows.Close()
	out := []*Batch{}
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, fmt.Errorf("list batches: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// WriteResults writes the lines recorded so far as CSV (line, reference,
// status, code, message, transaction_id), in line order; a done batch has
// one per data line. Permission: ledger:read. Returns CodeBatchNotFound.
func (s *Batches) WriteResults(ctx context.Context, id string, scope []string, w io.Writer) error {
	if _, err := s.Get(ctx, id, scope); err != nil {
		return err
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT line_no, reference, status, code, message, transaction_id
		FROM batch_lines WHERE batch_id = $1 ORDER BY line_no`, id)
	if err != nil {
		return fmt.Errorf("batch %s results: %w", id, err)
	}
	defer rows.Close()
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"line", "reference", "status", "code", "message", "transaction_id"}); err != nil {
		return err
	}
	for rows.Next() {
		var l BatchLine
		if err := rows.Scan(&l.Line, &l.Reference, &l.Status, &l.Code, &l.Message, &l.TransactionID); err != nil {
			return fmt.Errorf("batch %s results: %w", id, err)
		}
		if err := cw.Write([]string{strconv.Itoa(l.Line), csvSafe(l.Reference), l.Status, l.Code, csvSafe(l.Message),
			l.TransactionID}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("batch %s results: %w", id, err)
	}
	cw.Flush()
	return cw.Error()
}

// ProcessNext claims the oldest queued batch (or a running one whose
// worker's lease expired) and processes it to the end. It reports whether
// it found one. Lines already recorded are skipped, and a line run again
// reuses its reference, so processing after a crash never moves money
// twice. A chunk's results are recorded together after its lines ran.
func (s *Batches) ProcessNext(ctx context.Context) (bool, error) {
	now := s.clock.Now().UnixMicro()
	rows, err := s.db.Read.QueryContext(ctx, `SELECT id FROM batches WHERE status = 'queued'
		OR (status = 'running' AND lease_until < $1) ORDER BY created_at, id LIMIT 5`, now)
	if err != nil {
		return false, fmt.Errorf("find queued batches: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return false, fmt.Errorf("find queued batches: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("find queued batches: %w", err)
	}
	for _, id := range ids {
		res, err := s.db.Write.ExecContext(ctx, `UPDATE batches SET status = 'running', lease_until = $1
			WHERE id = $2 AND (status = 'queued' OR (status = 'running' AND lease_until < $3))`,
			now+s.lease.Microseconds(), id, now)
		if err != nil {
			return false, fmt.Errorf("claim batch %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			continue // another worker took it
		}
		return true, s.process(ctx, id)
	}
	return false, nil
}

// batchLine is one parsed line of a batch file.
type batchLine struct {
	no                                                         int
	ref, op, account, counterparty, channel, amount, paymentID string
	res                                                        BatchLine
}

func (s *Batches) process(ctx context.Context, id string) error {
	var inst, ref string
	var content []byte
	if err := s.db.Read.QueryRowContext(ctx, `SELECT b.institution_id, b.reference, f.content FROM batches b
		JOIN batch_files f ON f.batch_id = b.id WHERE b.id = $1`, id).Scan(&inst, &ref, &content); err != nil {
		return fmt.Errorf("load batch %s: %w", id, err)
	}
	var done int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT COALESCE(MAX(line_no), 0) FROM batch_lines WHERE batch_id = $1`,
		id).Scan(&done); err != nil {
		return fmt.Errorf("load batch %s: %w", id, err)
	}
	r := &batchRun{s: s, id: id, inst: inst, ref: ref, scales: map[string]int{}, assets: map[string]string{}}
	var chunk []*batchLine
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if err := r.run(ctx, chunk); err != nil {
			return err
		}
		chunk = chunk[:0]
		if s.afterChunk != nil {
			return s.afterChunk()
		}
		return nil
	}
	err := eachLine(content, func(no int, line []byte) error {
		if no == 1 || no <= done {
			return nil
		}
		chunk = append(chunk, parseBatchLine(no, line))
		if len(chunk) >= s.chunk {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	var ok, bad int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN status = 'ok' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = 'ok' THEN 0 ELSE 1 END), 0) FROM batch_lines WHERE batch_id = $1`, id).Scan(&ok, &bad); err != nil {
		return fmt.Errorf("count batch %s: %w", id, err)
	}
	now := s.clock.Now()
	return s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		var inst string
		if err := tx.QueryRowContext(ctx, `UPDATE batches SET status = 'done', succeeded = $1, failed_lines = $2,
			finished_at = $3, lease_until = 0 WHERE id = $4 RETURNING institution_id`, ok, bad, now.UnixMicro(), id).Scan(&inst); err != nil {
			return fmt.Errorf("finish batch %s: %w", id, err)
		}
		return recordEvent(ctx, tx, tx, &Event{Type: EventBatchDone, Subject: "batch:" + id, InstitutionID: inst,
			CreatedAt: now, Payload: map[string]any{"batch_id": id, "succeeded": ok, "failed": bad}}, nil)
	})
}

// parseBatchLine splits a line into its fields; a malformed line comes back
// with its error result set.
func parseBatchLine(no int, line []byte) *batchLine {
	l := &batchLine{no: no}
	cr := csv.NewReader(bytes.NewReader(line))
	cr.FieldsPerRecord = 7
	f, err := cr.Read()
	if err != nil {
		l.fail(CodeInvalidLine, "line %d is not 7 comma-separated fields", no)
		if len(f) > 0 {
			l.ref = f[0]
		}
		return l
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	l.ref, l.op, l.account, l.counterparty, l.channel, l.amount, l.paymentID = f[0], f[1], f[2], f[3], f[4], f[5], f[6]
	return l
}

func (l *batchLine) fail(code Code, format string, args ...any) {
	l.res = BatchLine{Status: "error", Code: string(code), Message: fmt.Sprintf(format, args...)}
}

// batchRun is one processing of a batch, with the asset scales it looked up.
type batchRun struct {
	s             *Batches
	id, inst, ref string
	mu            sync.Mutex
	scales        map[string]int    // asset → scale
	assets        map[string]string // account or payment → asset ("" unknown)
}

// run runs a chunk's lines, at most inFlight at once, and records their
// results in one transaction. A failure that is no refusal (the store,
// the context) stops the run with nothing of the chunk recorded.
func (r *batchRun) run(ctx context.Context, chunk []*batchLine) error {
	sem := make(chan struct{}, r.s.inFlight)
	errs := make(chan error, len(chunk))
	var wg sync.WaitGroup
	for _, l := range chunk {
		if l.res.Status != "" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := r.line(ctx, l); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return r.record(ctx, chunk)
}

func (r *batchRun) record(ctx context.Context, chunk []*batchLine) error {
	const per = 500
	return r.s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		for start := 0; start < len(chunk); start += per {
			part := chunk[start:min(start+per, len(chunk))]
			var q strings.Builder
			q.WriteString(`INSERT INTO batch_lines (batch_id, line_no, reference, status, code, message, transaction_id) VALUES `)
			args := make([]any, 0, len(part)*7)
			for i, l := range part {
				if i > 0 {
					q.WriteString(", ")
				}
				n := i * 7
				fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7)
				ref := l.ref
				if len(ref) > 256 || !store.Storable(ref) {
					ref = ""
				}
				args = append(args, r.id, l.no, ref, l.res.Status, l.res.Code, l.res.Message, l.res.TransactionID)
			}
			q.WriteString(" ON CONFLICT (batch_id, line_no) DO NOTHING")
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return fmt.Errorf("record batch %s lines: %w", r.id, err)
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE batches SET lease_until = $1 WHERE id = $2`,
			r.s.clock.Now().Add(r.s.lease).UnixMicro(), r.id)
		return err
	})
}

// line runs one line and sets its result; it returns only failures that
// are no refusal.
func (r *batchRun) line(ctx context.Context, l *batchLine) error {
	switch {
	case l.ref == "" || len(l.ref) > ledger.MaxReferenceLen-len(r.ref)-1 || !store.Storable(l.ref):
		l.fail(CodeInvalidLine, "reference is required: at most %d bytes", ledger.MaxReferenceLen-len(r.ref)-1)
		return nil
	case l.op != OpTopup && l.op != OpWithdraw && l.op != "pay" && l.op != OpTransfer && l.op != OpRefund:
		l.fail(CodeInvalidOperation, "operation must be topup, withdraw, pay, transfer or refund")
		return nil
	}
	ref := r.ref + ":" + l.ref
	meta := map[string]string{"batch": r.id, "batch_line": strconv.Itoa(l.no)}
	scope := []string{r.inst}
	var res *OperationResult
	var err error
	if l.op == OpRefund {
		if l.account != "" || l.channel != "" || l.counterparty != "" {
			l.fail(CodeInvalidLine, "a refund names its payment_id only (and an amount)")
			return nil
		}
		var amount int64
		if l.amount != "" {
			if amount, err = r.amount(ctx, l, l.paymentID, true); err != nil || l.res.Status != "" {
				return err
			}
		}
		res, err = r.s.ops.Refund(ctx, RefundRequest{PaymentID: l.paymentID, Reference: ref, Amount: amount, Metadata: meta, Scope: scope})
	} else {
		if l.paymentID != "" {
			l.fail(CodeInvalidLine, "payment_id is only for refund")
			return nil
		}
		var amount int64
		if amount, err = r.amount(ctx, l, l.account, false); err != nil || l.res.Status != "" {
			return err
		}
		req := OperationRequest{Reference: ref, Account: l.account, Counterparty: l.counterparty, Channel: l.channel,
			Amount: amount, Metadata: meta, Scope: scope}
		switch l.op {
		case OpTopup:
			res, err = r.s.ops.TopUp(ctx, req)
		case OpWithdraw:
			res, err = r.s.ops.Withdraw(ctx, req)
		case "pay":
			res, err = r.s.ops.Pay(ctx, req)
		default:
			res, err = r.s.ops.Transfer(ctx, req)
		}
	}
	if err != nil {
		var ae *Error
		var le *ledger.Error
		switch {
		case errors.As(err, &ae):
			l.res = BatchLine{Status: "error", Code: string(ae.Code), Message: ae.Message}
		case errors.As(err, &le) && le.Code != ledger.CodeWriteFailed:
			l.res = BatchLine{Status: "error", Code: string(le.Code), Message: le.Message}
		default:
			return fmt.Errorf("batch %s line %d: %w", r.id, l.no, err)
		}
		return nil
	}
	l.res = BatchLine{Status: "ok", TransactionID: res.Transaction.ID}
	return nil
}

// amount parses the line's amount in the scale of the account's (or the
// payment's) asset, setting the line's refusal when it cannot.
func (r *batchRun) amount(ctx context.Context, l *batchLine, id string, payment bool) (int64, error) {
	asset, err := r.asset(ctx, id, payment)
	if err != nil {
		return 0, err
	}
	if asset == "" {
		if payment {
			l.fail(CodeInvalidRequest, "no payment with ID %s", id)
		} else {
			l.res = BatchLine{Status: "error", Code: string(CodeAccountNotFound), Message: "account " + id + " not found"}
			if id == "" {
				l.fail(CodeInvalidLine, "account is required")
			}
		}
		return 0, nil
	}
	r.mu.Lock()
	scale, ok := r.scales[asset]
	r.mu.Unlock()
	if !ok {
		a, err := r.s.l.GetAsset(ctx, asset)
		if err != nil {
			return 0, err
		}
		scale = a.Scale
		r.mu.Lock()
		r.scales[asset] = scale
		r.mu.Unlock()
	}
	n, err := money.Parse(l.amount, scale)
	if err != nil || n <= 0 {
		l.fail(CodeInvalidAmount, "amount %q is not a positive decimal with at most %d decimals", l.amount, scale)
		return 0, nil
	}
	return n, nil
}

// asset returns the asset of an account or payment of the batch's
// institution, "" when there is none.
func (r *batchRun) asset(ctx context.Context, id string, payment bool) (string, error) {
	if id == "" || len(id) > 64 || !store.Storable(id) {
		return "", nil
	}
	r.mu.Lock()
	asset, ok := r.assets[id]
	r.mu.Unlock()
	if ok {
		return asset, nil
	}
	if payment {
		tr, err := r.s.l.GetTransaction(ctx, id)
		switch {
		case ledger.ErrorCode(err) == ledger.CodeTransactionNotFound:
		case err != nil:
			return "", err
		case tr.InstitutionID == r.inst && tr.Type == OpPayment && len(tr.Postings) > 0:
			asset = tr.Postings[0].Asset
		}
	} else {
		a, err := r.s.l.GetAccount(ctx, id)
		switch {
		case ledger.ErrorCode(err) == ledger.CodeAccountNotFound:
		case err != nil:
			return "", err
		case a.InstitutionID == r.inst:
			asset = a.Asset
		}
	}
	if asset != "" {
		r.mu.Lock()
		r.assets[id] = asset
		r.mu.Unlock()
	}
	return asset, nil
}

// BatchWorker processes queued batches in the background.
type BatchWorker struct {
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// StartWorker processes batches until ctx ends or Close: whenever one is
// queued, and looks again every interval. Errors go to onErr (which may be
// nil); a batch that failed midway is taken up again when its lease expires.
func (s *Batches) StartWorker(ctx context.Context, every time.Duration, onErr func(error)) *BatchWorker {
	w := &BatchWorker{quit: make(chan struct{})}
	ctx, cancel := context.WithCancel(ctx)
	w.wg.Add(2)
	go func() {
		defer w.wg.Done()
		select {
		case <-w.quit:
		case <-ctx.Done():
		}
		cancel()
	}()
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			for {
				found, err := s.ProcessNext(ctx)
				if err != nil && onErr != nil && ctx.Err() == nil {
					onErr(err)
				}
				if !found || err != nil || ctx.Err() != nil {
					break
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// Close stops the worker and waits for it: a batch being processed stops
// after the line operations in flight (its chunk is run again, harmlessly,
// on the next start).
func (w *BatchWorker) Close() {
	w.once.Do(func() { close(w.quit) })
	w.wg.Wait()
}
