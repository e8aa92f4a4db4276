package payments

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
	"time"

	"github.com/google/uuid"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/outbox"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

// Bulk orders: a CSV file of pay-outs (or pay-ins, or refunds) for one
// channel, uploaded once; a job turns every line into an order through the
// same machinery as single orders, and when every order has an outcome the
// batch is completed, its result file ready and a payment_batch.completed
// event emitted.
//
// The file format (UTF-8, RFC 4180 quoting, blank lines skipped):
//
//	reference,account,amount,party,party_name,memo,original
//	salary-001,ACCOUNT-ID,1200.00,6222020200112233,Li Lei,November salary,
//
// The header is required exactly as shown. amount is a decimal in the
// channel asset's scale (more decimals are refused, not rounded); original
// is the pay-in order a refund line refunds. Each line becomes the order
// with reference "<batch reference>:<line reference>", so processing a
// line again (after a crash) finds its order instead of making another.

// BatchHeader is the required first line of a bulk order file.
const BatchHeader = "reference,account,amount,party,party_name,memo,original"

// Bounds on a bulk order file.
const (
	MaxBatchBytes = 16 << 20
	MaxBatchLines = 100_000
)

// Batch statuses.
const (
	BatchProcessing = "processing"
	BatchCompleted  = "completed"
)

// EventBatchCompleted is emitted when every line of a bulk file has an
// outcome.
const EventBatchCompleted = "payment_batch.completed"

// Batch is an uploaded bulk order file and its progress.
type Batch struct {
	ID            string            `json:"id"`
	InstitutionID string            `json:"institution_id"`
	Reference     string            `json:"reference"`
	ChannelID     string            `json:"channel_id"`
	Direction     channel.Direction `json:"direction"`
	Status        string            `json:"status"`
	Lines         int               `json:"lines"`
	Processed     int               `json:"processed" doc:"Lines turned into orders or rejected."`
	OpenOrders    int               `json:"open_orders" doc:"Orders without an outcome yet."`
	Succeeded     int               `json:"succeeded"`
	Failed        int               `json:"failed"`
	Rejected      int               `json:"rejected" doc:"Lines that did not become orders."`
	CreatedBy     string            `json:"created_by"`
	CreatedAt     time.Time         `json:"created_at"`
	FinishedAt    *time.Time        `json:"finished_at,omitempty"`
}

// BatchUpload uploads a bulk order file.
type BatchUpload struct {
	Reference string // unique per institution; the same file again returns the batch
	ChannelID string
	Direction channel.Direction
	Content   []byte
	Scope     []string
	CreatedBy string
	// Writes ride along with the batch's creation (an audit record).
	Writes []func(ctx context.Context, tx *sql.Tx, b *Batch) error
}

type batchLine struct {
	no                                        int
	ref, account, party, name, memo, original string
	amount                                    int64
	err                                       *Error
}

// parseBatch reads the file, keeping a line it cannot use as a rejection
// rather than refusing the file; only a file that is not a bulk order file
// at all (header, size) is refused.
func parseBatch(content []byte, scale int) ([]batchLine, error) {
	if len(content) > MaxBatchBytes {
		return nil, errorf(CodeBatchTooLarge, "file", "the file exceeds %d bytes", MaxBatchBytes)
	}
	r := csv.NewReader(bytes.NewReader(content))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil || strings.Join(head, ",") != BatchHeader {
		return nil, invalid("file", "the first line must be %q", BatchHeader)
	}
	var lines []batchLine
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var no int
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			no = pe.StartLine // FieldPos has no record to point into
		case err != nil:
			return nil, invalid("file", "the file does not read: %v", err)
		default:
			no, _ = r.FieldPos(0)
		}
		if len(lines) >= MaxBatchLines {
			return nil, errorf(CodeBatchTooLarge, "file", "the file has more than %d lines", MaxBatchLines)
		}
		l := batchLine{no: no}
		switch {
		case err != nil:
			l.err = invalid("line", "line %d is not CSV: %v", no, err)
		case len(rec) != 7:
			l.err = invalid("line", "line %d has %d fields, want 7", no, len(rec))
		default:
			l.ref, l.account, l.party, l.name, l.memo, l.original = rec[0], rec[1], rec[3], rec[4], rec[5], rec[6]
			if l.amount, err = money.Parse(rec[2], scale); err != nil || l.amount <= 0 {
				l.err = invalid("amount", "line %d: amount %q is not a positive amount in %d decimals", no, clipText(rec[2], 40), scale)
			} else if l.ref == "" || len(l.ref) > 64 || !store.Storable(l.ref) {
				l.err = invalid("reference", "line %d: reference is required, at most 64 bytes", no)
			}
		}
		lines = append(lines, l)
	}
	return lines, nil
}

// UploadBatch stores a bulk order file and schedules its processing.
// Permission: payments:order. Returns CodeInvalidRequest (not a bulk order
// file), CodeBatchTooLarge, CodeChannelNotFound, CodeChannelDisabled,
// CodeDirectionNotSupported or CodeReferenceConflict (the reference was
// used for another file); the same file again returns the batch with
// duplicate set.
func (s *Service) UploadBatch(ctx context.Context, u BatchUpload) (*Batch, bool, error) {
	if u.Reference == "" || len(u.Reference) > 64 || !store.Storable(u.Reference) {
		return nil, false, invalid("reference", "reference is required: text of at most 64 bytes")
	}
	ch, err := s.channel(ctx, s.db.Read, u.ChannelID, u.Scope)
	if err != nil {
		return nil, false, err
	}
	if err := s.admit(ch, &OrderRequest{Direction: u.Direction, Amount: 1}); err != nil && !isCode(err, CodeChannelLimitExceeded) {
		return nil, false, err
	}
	asset, _ := money.LookupISO(ch.Asset)
	lines, err := parseBatch(u.Content, asset.Scale)
	if err != nil {
		return nil, false, err
	}
	sum := sha256.Sum256(u.Content)
	hash := hex.EncodeToString(sum[:])
	if b, err := s.batchByReference(ctx, ch.InstitutionID, u.Reference); err == nil {
		if b.hash != hash || b.ChannelID != ch.ID || b.Direction != u.Direction {
			return nil, false, errorf(CodeReferenceConflict, "reference", "reference %s was used for another file", u.Reference)
		}
		return &b.Batch, true, nil
	}
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	b := &Batch{ID: uuid.Must(uuid.NewV7()).String(), InstitutionID: ch.InstitutionID, Reference: u.Reference,
		ChannelID: ch.ID, Direction: u.Direction, Status: BatchProcessing, Lines: len(lines), CreatedBy: u.CreatedBy, CreatedAt: now}
	err = s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO payment_batches (id, institution_id, reference, content_hash, channel_id,
			direction, status, lines, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			b.ID, b.InstitutionID, b.Reference, hash, b.ChannelID, string(b.Direction), b.Status, b.Lines, b.CreatedBy, now.UnixMicro()); err != nil {
			if _, ok := store.UniqueViolation(err); ok {
				return errorf(CodeReferenceConflict, "reference", "reference %s is being used for another upload", u.Reference)
			}
			return fmt.Errorf("create batch: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO payment_batch_files (batch_id, content) VALUES ($1, $2)`, b.ID, u.Content); err != nil {
			return fmt.Errorf("store batch file: %w", err)
		}
		if _, err := jobs.Enqueue(ctx, tx, jobs.Spec{Kind: JobBatch, Key: b.ID, InstitutionID: b.InstitutionID,
			Payload: batchJob{BatchID: b.ID}}, now); err != nil {
			return err
		}
		for _, w := range u.Writes {
			if err := w(ctx, tx, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	s.jobs.Notify()
	return b, false, nil
}

type batchJob struct {
	BatchID string `json:"batch_id"`
}

// runBatch is the batch job: it turns the file's unprocessed lines into
// orders (or rejections), resuming after the last recorded line.
func (s *Service) runBatch(ctx context.Context, j *jobs.Job) error {
	var p batchJob
	if err := j.Decode(&p); err != nil {
		return err
	}
	b, err := s.getBatch(ctx, p.BatchID, nil)
	if err != nil {
		return jobs.Permanent(err)
	}
	ch, err := s.channel(ctx, s.db.Read, b.ChannelID, nil)
	if err != nil {
		return err
	}
	var content []byte
	if err := s.db.Read.QueryRowContext(ctx, `SELECT content FROM payment_batch_files WHERE batch_id = $1`, b.ID).Scan(&content); err != nil {
		return fmt.Errorf("read batch file %s: %w", b.ID, err)
	}
	asset, _ := money.LookupISO(ch.Asset)
	lines, err := parseBatch(content, asset.Scale)
	if err != nil {
		return jobs.Permanent(err)
	}
	var done int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT COALESCE(MAX(line_no), 0) FROM payment_batch_lines WHERE batch_id = $1`, b.ID).Scan(&done); err != nil {
		return err
	}
	for _, l := range lines {
		if l.no <= done {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		orderID, lerr := "", l.err
		if lerr == nil {
			o, _, err := s.Create(ctx, OrderRequest{Reference: b.Reference + ":" + l.ref, ChannelID: b.ChannelID,
				Direction: b.Direction, Account: l.account, Amount: l.amount, Party: l.party, PartyName: l.name,
				Memo: l.memo, Original: l.original, NoStart: true, CreatedBy: b.CreatedBy, batchID: b.ID, lineNo: l.no})
			switch {
			case err == nil:
				orderID = o.ID
			case refusal(err) != "" || isCode(err, CodeInvalidRequest) || isCode(err, CodeReferenceConflict) ||
				isCode(err, CodeChannelLimitExceeded) || isCode(err, CodeOrderNotFound):
				lerr = &Error{Code: Code(codeOf(err)), Message: err.Error()}
			default:
				return err // the store: the job retries from this line
			}
		}
		if err := s.recordLine(ctx, b.ID, l, orderID, lerr); err != nil {
			return err
		}
	}
	return nil
}

func codeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return string(e.Code)
	}
	return refusal(err)
}

// recordLine records a line's result and counts it; the last one may
// complete the batch.
func (s *Service) recordLine(ctx context.Context, batchID string, l batchLine, orderID string, lerr *Error) error {
	return s.ledger.Do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		code, msg := "", ""
		rejected := 0
		if lerr != nil {
			code, msg, rejected = string(lerr.Code), clipText(lerr.Message, 500), 1
		}
		r, err := tx.ExecContext(ctx, `INSERT INTO payment_batch_lines (batch_id, line_no, reference, order_id, code, message)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (batch_id, line_no) DO NOTHING`, batchID, l.no, l.ref, orderID, code, msg)
		if err != nil {
			return fmt.Errorf("record batch line: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil || n == 0 {
			return err // recorded before
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payment_batches SET processed = processed + 1, rejected = rejected + $1
			WHERE id = $2`, rejected, batchID); err != nil {
			return err
		}
		return s.maybeComplete(ctx, tx, batchID)
	})
}

// orderFinished counts a batch order's outcome, in its transition's
// storage transaction.
func (s *Service) orderFinished(ctx context.Context, tx *sql.Tx, o *Order) error {
	col := "failed"
	if o.State == StateSucceeded {
		col = "succeeded"
	}
	if _, err := tx.ExecContext(ctx, `UPDATE payment_batches SET open_orders = open_orders - 1, `+col+` = `+col+` + 1
		WHERE id = $1`, o.BatchID); err != nil {
		return fmt.Errorf("count batch outcome: %w", err)
	}
	return s.maybeComplete(ctx, tx, o.BatchID)
}

// maybeComplete completes the batch when every line is processed and
// every order has an outcome. The counters are updated before in the same
// transaction, which holds the batch row, so exactly one change sees the
// batch complete.
func (s *Service) maybeComplete(ctx context.Context, tx *sql.Tx, id string) error {
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	r, err := tx.ExecContext(ctx, `UPDATE payment_batches SET status = $1, finished_at = $2
		WHERE id = $3 AND status = $4 AND processed = lines AND open_orders = 0`, BatchCompleted, now.UnixMicro(), id, BatchProcessing)
	if err != nil {
		return fmt.Errorf("complete batch %s: %w", id, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return nil
	}
	b, err := s.batch(ctx, tx, id, nil)
	if err != nil {
		return err
	}
	return outbox.Record(ctx, s.ledger.Tx(tx), &outbox.Event{Type: EventBatchCompleted, Subject: "payment_batch:" + id,
		InstitutionID: b.InstitutionID, CreatedAt: now, Payload: b.Batch})
}

type storedBatch struct {
	Batch
	hash string
}

const batchCols = `id, institution_id, reference, content_hash, channel_id, direction, status, lines, processed,
	open_orders, succeeded, failed, rejected, created_by, created_at, finished_at`

func scanBatch(sc interface{ Scan(...any) error }) (*storedBatch, error) {
	var b storedBatch
	var created int64
	var finished sql.NullInt64
	if err := sc.Scan(&b.ID, &b.InstitutionID, &b.Reference, &b.hash, &b.ChannelID, &b.Direction, &b.Status, &b.Lines,
		&b.Processed, &b.OpenOrders, &b.Succeeded, &b.Failed, &b.Rejected, &b.CreatedBy, &created, &finished); err != nil {
		return nil, err
	}
	b.CreatedAt = time.UnixMicro(created).UTC()
	if finished.Valid {
		t := time.UnixMicro(finished.Int64).UTC()
		b.FinishedAt = &t
	}
	return &b, nil
}

func (s *Service) batch(ctx context.Context, q queryRower, id string, scope []string) (*storedBatch, error) {
	if id == "" || len(id) > 64 || !store.Storable(id) {
		return nil, errorf(CodeBatchNotFound, "id", "batch not found")
	}
	b, err := scanBatch(q.QueryRowContext(ctx, `SELECT `+batchCols+` FROM payment_batches WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !inScope(scope, b.InstitutionID)) {
		return nil, errorf(CodeBatchNotFound, "id", "batch %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get batch %s: %w", id, err)
	}
	return b, nil
}

func (s *Service) getBatch(ctx context.Context, id string, scope []string) (*Batch, error) {
	b, err := s.batch(ctx, s.db.Read, id, scope)
	if err != nil {
		return nil, err
	}
	return &b.Batch, nil
}

// GetBatch returns a bulk order file's progress. Returns CodeBatchNotFound.
func (s *Service) GetBatch(ctx context.Context, id string, scope []string) (*Batch, error) {
	return s.getBatch(ctx, id, scope)
}

func (s *Service) batchByReference(ctx context.Context, inst, ref string) (*storedBatch, error) {
	b, err := scanBatch(s.db.Read.QueryRowContext(ctx, `SELECT `+batchCols+` FROM payment_batches
		WHERE institution_id = $1 AND reference = $2`, inst, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorf(CodeBatchNotFound, "reference", "no batch %s", ref)
	}
	return b, err
}

// BatchResultHeader is the first line of a batch's result file.
const BatchResultHeader = "line,reference,order_id,state,code,message,channel_ref"

// WriteBatchResult writes the batch's result file: one CSV line per file
// line, with the order and its state now (final once the batch is
// completed), or the rejection. Returns CodeBatchNotFound.
func (s *Service) WriteBatchResult(ctx context.Context, w io.Writer, id string, scope []string) error {
	if _, err := s.getBatch(ctx, id, scope); err != nil {
		return err
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT l.line_no, l.reference, l.order_id, COALESCE(o.state, ''),
		CASE WHEN l.code <> '' THEN l.code ELSE COALESCE(o.failure_code, '') END,
		CASE WHEN l.code <> '' THEN l.message ELSE COALESCE(o.failure_message, '') END, COALESCE(o.channel_ref, '')
		FROM payment_batch_lines l LEFT JOIN payment_orders o ON o.id = l.order_id
		WHERE l.batch_id = $1 ORDER BY l.line_no`, id)
	if err != nil {
		return fmt.Errorf("read batch result %s: %w", id, err)
	}
	defer rows.Close()
	cw := csv.NewWriter(w)
	_ = cw.Write(strings.Split(BatchResultHeader, ","))
	for rows.Next() {
		var no int
		var ref, order, state, code, msg, chref string
		if err := rows.Scan(&no, &ref, &order, &state, &code, &msg, &chref); err != nil {
			return err
		}
		if state == "" {
			state = "rejected"
		}
		if err := cw.Write([]string{strconv.Itoa(no), ref, order, state, code, msg, chref}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}
