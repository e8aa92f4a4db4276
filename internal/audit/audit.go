// Package audit keeps Suanpan's tamper-evident audit log: one record per
// state-changing operation — who, with which key, from where, when, what,
// on which target, under which request ID, and the state before and after
// with sensitive values masked — written in the same storage transaction as
// the change. Records form a hash chain, so that altering, inserting or
// deleting one is detected by Verify.
//
// This package must never store an unmasked secret and never update or
// delete a record.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/suanpan/suanpan/store"
)

// Record is one audited operation.
type Record struct {
	Seq           int64     `json:"seq"`
	At            time.Time `json:"at"`
	KeyID         string    `json:"key_id"`
	InstitutionID string    `json:"institution_id"`
	Source        string    `json:"source"`     // the caller's network address
	Operation     string    `json:"operation"`  // e.g. "accounts.freeze"
	Target        string    `json:"target"`     // what was changed, e.g. "account:0196…"
	RequestID     string    `json:"request_id"` // the request that asked for it
	Before        any       `json:"before,omitempty"`
	After         any       `json:"after,omitempty"`
	PrevHash      string    `json:"prev_hash"`
	Hash          string    `json:"hash"`
}

// Execer runs statements in a storage transaction: a *sql.Tx, or the
// ledger's statement-caching wrapper of one (ledger.Ledger.Tx).
type Execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// Append writes rec at the end of the chain inside tx. It locks the chain's
// head, so concurrent appenders (other processes on PostgreSQL) queue up and
// the chain stays linear. Before and After are masked and stored as JSON.
func Append(ctx context.Context, tx Execer, d store.Dialect, rec Record) (*Record, error) {
	var seq int64
	var prev string
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`+d.ForUpdate()).Scan(&seq, &prev); err != nil {
		return nil, fmt.Errorf("audit head: %w", err)
	}
	before, err := encode(rec.Before)
	if err != nil {
		return nil, err
	}
	after, err := encode(rec.After)
	if err != nil {
		return nil, err
	}
	rec.Seq, rec.PrevHash = seq+1, prev
	rec.At = rec.At.UTC().Truncate(time.Microsecond)
	rec.Hash = hashOf(&rec, before, after)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, key_id, institution_id, source, operation, target,
		request_id, before, after, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		rec.Seq, rec.At.UnixMicro(), rec.KeyID, rec.InstitutionID, rec.Source, rec.Operation, rec.Target, rec.RequestID,
		before, after, rec.PrevHash, rec.Hash); err != nil {
		return nil, fmt.Errorf("append audit record: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, rec.Seq, rec.Hash); err != nil {
		return nil, fmt.Errorf("advance audit head: %w", err)
	}
	return &rec, nil
}

func encode(v any) (string, error) {
	if v == nil {
		return "", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("audit: encode: %w", err)
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return "", fmt.Errorf("audit: encode: %w", err)
	}
	b, err = json.Marshal(Mask(generic))
	if err != nil {
		return "", fmt.Errorf("audit: encode: %w", err)
	}
	return string(b), nil
}

// hashOf is SHA-256 over the previous hash and every field, each length-
// prefixed so that no two different records hash alike.
func hashOf(r *Record, before, after string) string {
	h := sha256.New()
	var n [8]byte
	put := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	binary.BigEndian.PutUint64(n[:], uint64(r.Seq))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(r.At.UnixMicro()))
	h.Write(n[:])
	for _, s := range []string{r.PrevHash, r.KeyID, r.InstitutionID, r.Source, r.Operation, r.Target, r.RequestID, before, after} {
		put(s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sensitive names fields whose values never reach the audit log.
var sensitive = []string{"secret", "token", "password", "api_key", "key_hash", "secret_hash", "authorization",
	"id_number", "id_card", "card_number", "pan", "cvv", "phone", "mobile", "email", "bank_account"}

// Mask returns v with the values of sensitive fields (at any depth) replaced
// by a mask that keeps at most the last four characters.
func Mask(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if isSensitive(k) {
				out[k] = maskValue(val)
			} else {
				out[k] = Mask(val)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = Mask(val)
		}
		return out
	}
	return v
}

func isSensitive(k string) bool {
	k = strings.ToLower(k)
	for _, s := range sensitive {
		if k == s || strings.HasSuffix(k, "_"+s) {
			return true
		}
	}
	return false
}

func maskValue(v any) any {
	s, ok := v.(string)
	if !ok || s == "" {
		return "***"
	}
	if len(s) <= 8 {
		return "***"
	}
	return "***" + s[len(s)-4:]
}

// Problem is a break in the chain.
type Problem struct {
	Seq    int64  `json:"seq"`
	Detail string `json:"detail"`
}

// Report is the outcome of Verify.
type Report struct {
	Records int64 `json:"records"`
	Head    int64 `json:"head"`
	// HeadHash is the newest record's hash: kept somewhere outside the
	// database (a log, a ticket, a signed note), it is an Anchor for a later
	// Verify, which then also detects the newest records being deleted and
	// the head rewritten to match.
	HeadHash string    `json:"head_hash"`
	Problems []Problem `json:"problems"`
	OK       bool      `json:"ok"`
}

// Anchor is a record known from outside the database: its seq and hash.
type Anchor struct {
	Seq  int64  `json:"seq" minimum:"1"`
	Hash string `json:"hash" pattern:"^[0-9a-f]{64}$"`
}

// ParseAnchor parses "SEQ:HASH".
func ParseAnchor(s string) (Anchor, error) {
	seq, hash, ok := strings.Cut(s, ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil || n < 1 || len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
		return Anchor{}, fmt.Errorf("audit anchor %q: want SEQ:HASH, a record number and its 64-hex-digit hash", s)
	}
	return Anchor{Seq: n, Hash: hash}, nil
}

func (a Anchor) String() string { return strconv.FormatInt(a.Seq, 10) + ":" + a.Hash }

// Head returns the chain's newest record as an anchor (seq 0 when empty).
func Head(ctx context.Context, db *store.DB) (Anchor, error) {
	var a Anchor
	if err := db.Read.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&a.Seq, &a.Hash); err != nil {
		return Anchor{}, fmt.Errorf("audit head: %w", err)
	}
	return a, nil
}

// Verify walks the chain in order and reports every record whose hash does
// not match its content (altered), whose link does not match its
// predecessor (inserted or deleted before it), every gap in the sequence
// (deleted), and a head that does not match the newest record (the newest
// deleted). Each anchor, a record known from outside the database, must be
// in the chain with its hash: that also catches the newest records deleted
// together with a rewritten head. It reads one snapshot.
func Verify(ctx context.Context, db *store.DB, anchors ...Anchor) (*Report, error) {
	want := map[int64]string{}
	for _, a := range anchors {
		want[a.Seq] = a.Hash
	}
	rep := &Report{}
	err := db.InTx(ctx, store.TxOptions{ReadOnly: true}, func(tx *sql.Tx) error {
		*rep = Report{}
		if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&rep.Head, &rep.HeadHash); err != nil {
			return fmt.Errorf("audit head: %w", err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT seq, at, key_id, institution_id, source, operation, target, request_id,
			before, after, prev_hash, hash FROM audit_log ORDER BY seq`)
		if err != nil {
			return fmt.Errorf("read audit log: %w", err)
		}
		defer rows.Close()
		var lastSeq int64
		lastHash := ""
		for rows.Next() {
			var r Record
			var at int64
			var before, after string
			if err := rows.Scan(&r.Seq, &at, &r.KeyID, &r.InstitutionID, &r.Source, &r.Operation, &r.Target, &r.RequestID,
				&before, &after, &r.PrevHash, &r.Hash); err != nil {
				return fmt.Errorf("read audit log: %w", err)
			}
			r.At = time.UnixMicro(at).UTC()
			rep.Records++
			if r.Seq != lastSeq+1 {
				rep.add(r.Seq, fmt.Sprintf("sequence jumps from %d to %d: records were deleted or inserted", lastSeq, r.Seq))
			}
			if r.PrevHash != lastHash {
				rep.add(r.Seq, "does not link to the record before it: a record was deleted, inserted or altered")
			}
			if hashOf(&r, before, after) != r.Hash {
				rep.add(r.Seq, "content does not match its hash: the record was altered")
			}
			if h, ok := want[r.Seq]; ok {
				if h != r.Hash {
					rep.add(r.Seq, "differs from the anchor kept outside the database: the chain was rewritten")
				}
				delete(want, r.Seq)
			}
			lastSeq, lastHash = r.Seq, r.Hash
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read audit log: %w", err)
		}
		for _, seq := range slices.Sorted(maps.Keys(want)) {
			rep.add(seq, "the anchor kept outside the database is missing from the chain: records were deleted")
		}
		if lastSeq != rep.Head || lastHash != rep.HeadHash {
			rep.add(rep.Head, fmt.Sprintf("the chain ends at %d but its head says %d: the newest records were deleted or the head altered", lastSeq, rep.Head))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep.OK = len(rep.Problems) == 0
	return rep, nil
}

func (r *Report) add(seq int64, detail string) {
	if len(r.Problems) < 1000 {
		r.Problems = append(r.Problems, Problem{Seq: seq, Detail: detail})
	}
}

// Filter selects audit records for List.
type Filter struct {
	InstitutionIDs []string // nil: all
	Target         string
	After          int64 // cursor: the last Seq of the previous page
	Limit          int   // default 100, at most 1000
}

// List returns audit records in chain order, a page at a time.
func List(ctx context.Context, db *store.DB, f Filter) ([]Record, int64, error) {
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := `SELECT seq, at, key_id, institution_id, source, operation, target, request_id, before, after, prev_hash, hash
		FROM audit_log WHERE seq > $1`
	args := []any{f.After}
	if f.Target != "" {
		args = append(args, f.Target)
		q += fmt.Sprintf(" AND target = $%d", len(args))
	}
	if f.InstitutionIDs != nil {
		if db.Dialect == store.Postgres {
			args = append(args, f.InstitutionIDs)
			q += fmt.Sprintf(" AND institution_id = ANY($%d::text[])", len(args))
		} else {
			ph := make([]string, len(f.InstitutionIDs))
			for i, id := range f.InstitutionIDs {
				args = append(args, id)
				ph[i] = fmt.Sprintf("$%d", len(args))
			}
			q += " AND institution_id IN (" + strings.Join(ph, ",") + ")"
		}
		if len(f.InstitutionIDs) == 0 {
			q += " AND 1 = 0"
		}
	}
	q += fmt.Sprintf(" ORDER BY seq LIMIT %d", limit+1)
	rows, err := db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []Record
	var next int64
	for rows.Next() {
		var r Record
		var at int64
		var before, after string
		if err := rows.Scan(&r.Seq, &at, &r.KeyID, &r.InstitutionID, &r.Source, &r.Operation, &r.Target, &r.RequestID,
			&before, &after, &r.PrevHash, &r.Hash); err != nil {
			return nil, 0, fmt.Errorf("list audit: %w", err)
		}
		if len(out) == limit {
			next = out[len(out)-1].Seq
			break
		}
		r.At = time.UnixMicro(at).UTC()
		r.Before, r.After = rawJSON(before), rawJSON(after)
		out = append(out, r)
	}
	return out, next, rows.Err()
}

func rawJSON(s string) any {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}
