package recon

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/recon/match"
	"github.com/suanpan/suanpan/internal/recon/statement"
	"github.com/suanpan/suanpan/store"
)

// Settings are how one channel is reconciled: the layout of its statement
// file and the matching rules. A channel without settings reads its own
// file format with the defaults below.
type Settings struct {
	ChannelID     string `json:"channel_id"`
	InstitutionID string `json:"institution_id"`
	// Format is the statement file's layout: "native" (the channel's own),
	// "csv" with a column map, or "camt053".
	Format statement.Format `json:"format"`
	// AmountTolerance and AmountToleranceBP (basis points of the order),
	// whichever is larger, bound how far the amounts of a line without a
	// usable reference and an order may differ to be taken as the same
	// payment. Any difference is still reported.
	AmountTolerance   int64 `json:"amount_tolerance" doc:"Minor units; default 0."`
	AmountToleranceBP int64 `json:"amount_tolerance_bp" doc:"Basis points of the order amount; default 0."`
	// DateToleranceMs bounds how far such a line's time and the order's may
	// differ.
	DateToleranceMs int64 `json:"date_tolerance_ms" doc:"Default 86400000 (a day)."`
	// LateWindowMs is how long a one-sided item waits (for tomorrow's
	// statement, or for the order) before it is a discrepancy.
	LateWindowMs int64 `json:"late_window_ms" doc:"Default 172800000 (two days)."`
	// AlertCount and AlertAmount: a run that leaves more open discrepancies
	// than AlertCount, or more than AlertAmount in them (the sum of their
	// absolute differences), emits a recon.alert event.
	AlertCount  int64 `json:"alert_count" doc:"Default 0: any open discrepancy alerts."`
	AlertAmount int64 `json:"alert_amount" doc:"Minor units; default 0."`
	// AutoFailShort lets the rule fail an order the channel never listed
	// once the late window has passed (compensating it when it had
	// succeeded); off, such orders go to the operators. A line for an
	// order without an outcome is always applied: it is the channel's
	// answer.
	AutoFailShort bool      `json:"auto_fail_short" doc:"Default true."`
	Version       int       `json:"version"`
	UpdatedBy     string    `json:"updated_by,omitempty"`
	UpdatedAt     time.Time `json:"updated_at,omitzero"`
}

func defaultSettings(ch *payments.Channel) *Settings {
	return &Settings{ChannelID: ch.ID, InstitutionID: ch.InstitutionID, Format: statement.Format{Kind: "native"},
		DateToleranceMs: DefaultDateToleranceMs, LateWindowMs: DefaultLateWindowMs, AutoFailShort: true}
}

func (st *Settings) validate() error {
	if err := st.Format.Validate(); err != nil {
		return errorf(CodeInvalidRequest, "format", "%v", err)
	}
	switch {
	case st.AmountTolerance < 0:
		return invalid("amount_tolerance", "amount_tolerance must not be negative")
	case st.AmountToleranceBP < 0 || st.AmountToleranceBP > 10_000:
		return invalid("amount_tolerance_bp", "amount_tolerance_bp must be 0 to 10000")
	case st.DateToleranceMs < 0 || st.DateToleranceMs > 31*24*3600_000:
		return invalid("date_tolerance_ms", "date_tolerance_ms must be 0 to 31 days")
	case st.LateWindowMs < 0 || st.LateWindowMs > 31*24*3600_000:
		return invalid("late_window_ms", "late_window_ms must be 0 to 31 days")
	case st.AlertCount < 0:
		return invalid("alert_count", "alert_count must not be negative")
	case st.AlertAmount < 0:
		return invalid("alert_amount", "alert_amount must not be negative")
	}
	return nil
}

// rules are the matching rules of the settings as of now.
func (st *Settings) rules(now time.Time) match.Rules {
	return match.Rules{AmountTolerance: st.AmountTolerance, AmountToleranceBP: st.AmountToleranceBP,
		DateTolerance: time.Duration(st.DateToleranceMs) * time.Millisecond,
		LateWindow:    time.Duration(st.LateWindowMs) * time.Millisecond, AsOf: now}
}

// GetSettings returns a channel's settings (the defaults when none were
// saved). Permission: recon:read. Returns payments' channel_not_found.
func (s *Service) GetSettings(ctx context.Context, channelID string, scope []string) (*Settings, error) {
	ch, err := s.pay.GetChannel(ctx, channelID, scope)
	if err != nil {
		return nil, err
	}
	return s.settings(ctx, s.db.Read, ch)
}

type rowQueryer interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func (s *Service) settings(ctx context.Context, q rowQueryer, ch *payments.Channel) (*Settings, error) {
	st := defaultSettings(ch)
	var format string
	var auto int
	var at int64
	err := q.QueryRowContext(ctx, `SELECT format, amount_tolerance, amount_tolerance_bp, date_tolerance_ms, late_window_ms,
		alert_count, alert_amount, auto_fail_short, version, updated_by, updated_at FROM recon_settings WHERE channel_id = $1`, ch.ID).
		Scan(&format, &st.AmountTolerance, &st.AmountToleranceBP, &st.DateToleranceMs, &st.LateWindowMs, &st.AlertCount,
			&st.AlertAmount, &auto, &st.Version, &st.UpdatedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read reconciliation settings of %s: %w", ch.ID, err)
	}
	if err := json.Unmarshal([]byte(format), &st.Format); err != nil {
		return nil, fmt.Errorf("read reconciliation settings of %s: format: %w", ch.ID, err)
	}
	st.AutoFailShort, st.UpdatedAt = auto != 0, fromMicros(at)
	return st, nil
}

// PutSettings replaces a channel's settings; the next import and run use
// them. Permission: recon:write. Returns CodeInvalidRequest and payments'
// channel_not_found.
func (s *Service) PutSettings(ctx context.Context, st Settings, by string, scope []string, writes ...Write) (*Settings, error) {
	ch, err := s.pay.GetChannel(ctx, st.ChannelID, scope)
	if err != nil {
		return nil, err
	}
	if err := st.validate(); err != nil {
		return nil, err
	}
	format, err := json.Marshal(st.Format)
	if err != nil {
		return nil, fmt.Errorf("encode format: %w", err)
	}
	st.InstitutionID, st.UpdatedBy, st.UpdatedAt = ch.InstitutionID, by, s.now()
	auto := 0
	if st.AutoFailShort {
		auto = 1
	}
	err = s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO recon_settings (channel_id, institution_id, format, amount_tolerance,
			amount_tolerance_bp, date_tolerance_ms, late_window_ms, alert_count, alert_amount, auto_fail_short, version, updated_by, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12)
			ON CONFLICT (channel_id) DO UPDATE SET format = excluded.format, amount_tolerance = excluded.amount_tolerance,
				amount_tolerance_bp = excluded.amount_tolerance_bp, date_tolerance_ms = excluded.date_tolerance_ms,
				late_window_ms = excluded.late_window_ms, alert_count = excluded.alert_count, alert_amount = excluded.alert_amount,
				auto_fail_short = excluded.auto_fail_short, version = recon_settings.version + 1, updated_by = excluded.updated_by,
				updated_at = excluded.updated_at
			RETURNING version`, ch.ID, ch.InstitutionID, string(format), st.AmountTolerance, st.AmountToleranceBP, st.DateToleranceMs,
			st.LateWindowMs, st.AlertCount, st.AlertAmount, auto, by, micros(st.UpdatedAt)).Scan(&st.Version); err != nil {
			return fmt.Errorf("save reconciliation settings: %w", err)
		}
		return runWrites(ctx, tx, writes)
	})
	if err != nil {
		return nil, err
	}
	return &st, nil
}

func runWrites(ctx context.Context, tx *sql.Tx, writes []Write) error {
	for _, w := range writes {
		if err := w(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}
