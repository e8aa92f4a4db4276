package httpapi

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/suanpan/suanpan/ledger"
)

// IdempotencyHeader is embedded in the input of every money-moving POST.
type IdempotencyHeader struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"128" doc:"Makes the request safe to retry: a replay with the same key and body returns the original result (with the header Idempotent-Replayed: true); the same key with another body is refused with idempotency_key_reused. Keys are scoped to the caller's institution."`
}

// ReplayHeader marks a replayed response.
type ReplayHeader struct {
	Replayed bool `header:"Idempotent-Replayed" doc:"true when this response replays an earlier request with the same Idempotency-Key."`
}

// idem is one request's idempotency key, if it has one.
type idem struct {
	inst, key, op, hash string
}

func newIdem(inst, key, op string, body any) (*idem, error) {
	if key == "" {
		return nil, nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("hash request: %w", err)
	}
	sum := sha256.Sum256(append([]byte(op+"\n"), b...))
	return &idem{inst: inst, key: key, op: op, hash: hex.EncodeToString(sum[:])}, nil
}

// lookup returns the stored result for the key, or "" when the key is new.
// A key used for another request is refused.
func (s *Server) lookup(ctx context.Context, k *idem) (string, error) {
	if k == nil {
		return "", nil
	}
	var hash, op, result string
	err := s.DB.Read.QueryRowContext(ctx, `SELECT request_hash, operation, result FROM idempotency_keys
		WHERE institution_id = $1 AND key = $2`, k.inst, k.key).Scan(&hash, &op, &result)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("idempotency lookup: %w", err)
	}
	if hash != k.hash || op != k.op {
		return "", fail(ctx, http.StatusConflict, "idempotency_key_reused", "header.Idempotency-Key",
			"this Idempotency-Key was used for a different request")
	}
	return result, nil
}

// record is a ride-along write storing the key with its result, in the same
// storage transaction as the request's effect. orIgnore keeps the first
// row when several writes of one request store the same key (a batch).
func (s *Server) record(k *idem, orIgnore bool) ledger.Write {
	return func(ctx context.Context, tx *sql.Tx, tr *ledger.Transaction) error {
		result := tr.ID
		if orIgnore {
			result = "batch"
		}
		return s.storeKey(ctx, s.Ledger.Tx(tx), k, result, tr.CreatedAt, orIgnore)
	}
}

// storeKey stores the key with its result (the ID the request made) in
// the request's storage transaction.
func (s *Server) storeKey(ctx context.Context, ex ledger.Execer, k *idem, result string, at time.Time, orIgnore bool) error {
	q := `INSERT INTO idempotency_keys (institution_id, key, request_hash, operation, result, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`
	if orIgnore {
		q += ` ON CONFLICT (institution_id, key) DO NOTHING`
	}
	_, err := ex.ExecContext(ctx, q, k.inst, k.key, k.hash, k.op, result, at.UnixMicro())
	return err
}
