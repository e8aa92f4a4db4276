package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/suanpan/suanpan/internal/money"
	"github.com/suanpan/suanpan/internal/store"
)

// Asset is a unit amounts are counted in, with its scale: the number of
// decimal places of its minor unit (CNY 2, JPY 0, POINTS 0).
type Asset struct {
	Code      string    `json:"code"`
	Scale     int       `json:"scale"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateAsset registers an asset. Creating an existing asset with the same
// scale returns it unchanged; with another scale it fails with
// CodeAssetExists, because a scale can never change once amounts exist.
// The writes run in the same storage transaction when the asset is new.
func (l *Ledger) CreateAsset(ctx context.Context, code string, scale int, writes ...AssetWrite) (*Asset, error) {
	if _, err := money.NewAsset(code, 0); err != nil {
		return nil, fieldErr(CodeInvalidRequest, "code", "%v", err)
	}
	if _, err := money.NewAsset(code, scale); err != nil {
		return nil, fieldErr(CodeInvalidRequest, "scale", "%v", err)
	}
	var out *Asset
	err := l.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		a, err := l.getAsset(ctx, tx, code)
		if err == nil {
			if a.Scale != scale {
				return errorf(CodeAssetExists, "asset %s exists with scale %d", code, a.Scale)
			}
			out = a
			return nil
		}
		if ErrorCode(err) != CodeAssetNotFound {
			return err
		}
		now := l.clock.Now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO assets (code, scale, created_at) VALUES ($1, $2, $3)`,
			code, scale, now.UnixMicro()); err != nil {
			return fmt.Errorf("insert asset: %w", err)
		}
		out = &Asset{Code: code, Scale: scale, CreatedAt: fromMicros(now.UnixMicro())}
		for _, w := range writes {
			if err := w(ctx, tx, out); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// AssetWrite is extra work committed with a new asset (an audit record).
type AssetWrite func(ctx context.Context, tx *sql.Tx, a *Asset) error

// GetAsset returns an asset or CodeAssetNotFound.
func (l *Ledger) GetAsset(ctx context.Context, code string) (*Asset, error) {
	return l.getAsset(ctx, l.db.Read, code)
}

type rowQueryer interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func (l *Ledger) getAsset(ctx context.Context, q rowQueryer, code string) (*Asset, error) {
	var a Asset
	var created int64
	err := q.QueryRowContext(ctx, `SELECT code, scale, created_at FROM assets WHERE code = $1`, code).
		Scan(&a.Code, &a.Scale, &created)
	if isNoRows(err) {
		return nil, errorf(CodeAssetNotFound, "asset %s not found", code)
	}
	if err != nil {
		return nil, fmt.Errorf("get asset: %w", err)
	}
	a.CreatedAt = fromMicros(created)
	return &a, nil
}

// ListAssets returns every asset ordered by code.
func (l *Ledger) ListAssets(ctx context.Context) ([]*Asset, error) {
	rows, err := l.db.Read.QueryContext(ctx, `SELECT code, scale, created_at FROM assets ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("list assets: %w", err)
	}
	defer rows.Close()
	var out []*Asset
	for rows.Next() {
		var a Asset
		var created int64
		if err := rows.Scan(&a.Code, &a.Scale, &created); err != nil {
			return nil, fmt.Errorf("list assets: %w", err)
		}
		a.CreatedAt = fromMicros(created)
		out = append(out, &a)
	}
	return out, rows.Err()
}
