package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

// Asset is a unit amounts are counted in, with its scale: the number of
// decimal places of its minor unit (CNY 2, JPY 0, POINTS 0).
type Asset struct {
	Code  string `json:"code"`
	Scale int    `json:"scale"`
	// MaxAmount is the largest amount, in minor units, one posting (and
	// so one operation, order or proposal) may move in the asset.
	MaxAmount int64     `json:"max_amount"`
	CreatedAt time.Time `json:"created_at"`
}

// maxAmountCeiling bounds the default ceiling: 10^18 minor units, so
// that nine postings at the ceiling still fit an int64 balance.
const maxAmountCeiling = 1_000_000_000_000_000_000

// DefaultMaxAmount is the ceiling per posting of an asset of the scale
// unless it is given: a trillion (10^12) major units — more than any
// single payment in any currency — and at most 10^18 minor units.
func DefaultMaxAmount(scale int) int64 {
	m := int64(1_000_000_000_000)
	for range scale {
		if m >= maxAmountCeiling/10 {
			return maxAmountCeiling
		}
		m *= 10
	}
	return m
}

// NewAsset is an asset to register; a zero MaxAmount is the default.
type NewAsset struct {
	Code      string
	Scale     int
	MaxAmount int64
}

// CreateAsset registers an asset with the default ceiling; see
// RegisterAsset.
func (l *Ledger) CreateAsset(ctx context.Context, code string, scale int, writes ...AssetWrite) (*Asset, error) {
	return l.RegisterAsset(ctx, NewAsset{Code: code, Scale: scale}, writes...)
}

// RegisterAsset registers an asset. Registering an existing asset with
// the same scale (and ceiling, when one is given) returns it unchanged;
// with another it fails with CodeAssetExists, because a scale can never
// change once amounts exist (the ceiling changes by SetMaxAmount). The
// writes run in the same storage transaction when the asset is new.
// Returns CodeInvalidRequest or CodeAssetExists.
func (l *Ledger) RegisterAsset(ctx context.Context, n NewAsset, writes ...AssetWrite) (*Asset, error) {
	code, scale := n.Code, n.Scale
	if _, err := money.NewAsset(code, 0); err != nil {
		return nil, fieldErr(CodeInvalidRequest, "code", "%v", err)
	}
	if _, err := money.NewAsset(code, scale); err != nil {
		return nil, fieldErr(CodeInvalidRequest, "scale", "%v", err)
	}
	if n.MaxAmount < 0 {
		return nil, fieldErr(CodeInvalidRequest, "max_amount", "max_amount must be positive")
	}
	var out *Asset
	err := l.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		a, err := l.getAsset(ctx, tx, code)
		if err == nil {
			if a.Scale != scale {
				return errorf(CodeAssetExists, "asset %s exists with scale %d", code, a.Scale)
			}
			if n.MaxAmount != 0 && a.MaxAmount != n.MaxAmount {
				return errorf(CodeAssetExists, "asset %s exists with max_amount %d; change it with an update", code, a.MaxAmount)
			}
			out = a
			return nil
		}
		if ErrorCode(err) != CodeAssetNotFound {
			return err
		}
		maxAmount := n.MaxAmount
		if maxAmount == 0 {
			maxAmount = DefaultMaxAmount(scale)
		}
		now := l.clock.Now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO assets (code, scale, max_amount, created_at) VALUES ($1, $2, $3, $4)`,
			code, scale, maxAmount, now.UnixMicro()); err != nil {
			return fmt.Errorf("insert asset: %w", err)
		}
		out = &Asset{Code: code, Scale: scale, MaxAmount: maxAmount, CreatedAt: fromMicros(now.UnixMicro())}
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

// AssetChange is extra work committed with a change of an asset (an
// audit record), given the asset before and after.
type AssetChange func(ctx context.Context, tx *sql.Tx, before, after *Asset) error

// SetMaxAmount changes an asset's ceiling per posting (minor units, at
// least 1). It applies to requests submitted afterwards; what was posted
// stays. The writes run in the same storage transaction. Returns
// CodeInvalidRequest or CodeAssetNotFound.
func (l *Ledger) SetMaxAmount(ctx context.Context, code string, maxAmount int64, writes ...AssetChange) (*Asset, error) {
	if maxAmount <= 0 {
		return nil, fieldErr(CodeInvalidRequest, "max_amount", "max_amount must be positive")
	}
	var out *Asset
	err := l.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		before, err := l.getAsset(ctx, tx, code)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assets SET max_amount = $1 WHERE code = $2`, maxAmount, code); err != nil {
			return fmt.Errorf("update asset %s: %w", code, err)
		}
		after := *before
		after.MaxAmount = maxAmount
		for _, w := range writes {
			if err := w(ctx, tx, before, &after); err != nil {
				return err
			}
		}
		out = &after
		return nil
	})
	return out, err
}

// CheckAmount refuses an amount above the asset's ceiling with
// CodeAmountTooLarge at field; an unknown asset is left to the checks
// that name it. For the services that take amounts before they reach the
// ledger (orders sent to channels, proposals waiting for approval).
func (l *Ledger) CheckAmount(ctx context.Context, asset string, amount int64, field string) error {
	a, err := l.GetAsset(ctx, asset)
	if ErrorCode(err) == CodeAssetNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if amount > a.MaxAmount {
		return tooLarge(field, amount, a)
	}
	return nil
}

func tooLarge(field string, amount int64, a *Asset) *Error {
	return fieldErr(CodeAmountTooLarge, field, "amount %d exceeds the largest amount one operation may move in %s, %d",
		amount, a.Code, a.MaxAmount)
}

// loadLimits reads the ceilings of the assets the batch's transfers and
// holds post in (posts and reversals move at most what was checked).
func (b *batch) loadLimits(jobs []*job) error {
	var codes []string
	for _, j := range jobs {
		for i := range j.reqs {
			if r := &j.reqs[i]; j.invalid[i] == nil && (r.Kind == KindTransfer || r.Kind == KindHold) {
				for _, p := range r.Postings {
					codes = append(codes, p.Asset)
				}
			}
		}
	}
	b.limits = map[string]*Asset{}
	for _, code := range dedupe(codes) {
		a, err := b.l.getAsset(b.ctx, b.tx, code)
		if ErrorCode(err) == CodeAssetNotFound {
			continue // asset_mismatch names it
		}
		if err != nil {
			return err
		}
		b.limits[code] = a
	}
	return nil
}

// checkLimits refuses postings above their asset's ceiling.
func (b *batch) checkLimits(r *Request) *Error {
	for i, p := range r.Postings {
		if a := b.limits[p.Asset]; a != nil && p.Amount > a.MaxAmount {
			return tooLarge("postings["+strconv.Itoa(i)+"].amount", p.Amount, a)
		}
	}
	return nil
}

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
	err := q.QueryRowContext(ctx, `SELECT code, scale, max_amount, created_at FROM assets WHERE code = $1`, code).
		Scan(&a.Code, &a.Scale, &a.MaxAmount, &created)
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
	rows, err := l.db.Read.QueryContext(ctx, `SELECT code, scale, max_amount, created_at FROM assets ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("list assets: %w", err)
	}
	defer rows.Close()
	var out []*Asset
	for rows.Next() {
		var a Asset
		var created int64
		if err := rows.Scan(&a.Code, &a.Scale, &a.MaxAmount, &created); err != nil {
			return nil, fmt.Errorf("list assets: %w", err)
		}
		a.CreatedAt = fromMicros(created)
		out = append(out, &a)
	}
	return out, rows.Err()
}
