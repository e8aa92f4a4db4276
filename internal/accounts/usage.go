package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/suanpan/suanpan/ledger"
)

// usagePeriods returns the day and month periods of a business date
// (YYYY-MM-DD): "d:YYYY-MM-DD" and "m:YYYY-MM".
func usagePeriods(businessDate string) (day, month string) {
	m := businessDate
	if len(m) >= 7 {
		m = m[:7]
	}
	return "d:" + businessDate, "m:" + m
}

// usageWrite is the ride-along write that checks one operation against the
// product's limits and counts it, inside the ledger transaction that moves
// the money: what it reads and writes commits or rolls back with the
// postings. It reads the usage in the scope of the governing limit
// (LimitFor: the operation on the channel, or on every channel) for the
// transaction's business day and month, locking the rows on PostgreSQL (the
// ledger has already locked the account row, which serializes operations on
// one account); a refusal is a *ledger.Error with code limit_exceeded and
// the bound in Field, so the ledger rejects the request with nothing
// applied.
func usageWrite(lg *ledger.Ledger, p *Product, account, op, channel string, amount int64) ledger.Write {
	return func(ctx context.Context, tx *sql.Tx, tr *ledger.Transaction) error {
		ex := lg.Tx(tx) // statements prepared once on SQLite's writer
		day, month := usagePeriods(tr.BusinessDate)
		if l, ok := p.LimitFor(op, channel); ok {
			used, err := readUsage(ctx, ex, lg.DB().Dialect.ForUpdate(), account, op, l.Channel, day, month)
			if err != nil {
				return err
			}
			if err := p.CheckLimits(op, channel, amount, used); err != nil {
				var e *Error
				if errors.As(err, &e) {
					return &ledger.Error{Code: ledger.Code(e.Code), Message: e.Message, Field: e.Field}
				}
				return err
			}
		}
		return addUsage(ctx, ex, account, op, channel, []string{day, month}, amount, 1)
	}
}

// readUsage sums the usage of op on channel ("" every channel) in the day
// and month periods.
func readUsage(ctx context.Context, q queryer, lock string, account, op, channel, day, month string) (Usage, error) {
	sel := `SELECT period, amount, count FROM account_usage WHERE account_id = $1 AND operation = $2 AND period IN ($3, $4)`
	args := []any{account, op, day, month}
	if channel != "" {
		sel += ` AND channel = $5`
		args = append(args, channel)
	}
	rows, err := q.QueryContext(ctx, sel+lock, args...)
	if err != nil {
		return Usage{}, fmt.Errorf("read usage of %s: %w", account, err)
	}
	defer rows.Close()
	var u Usage
	for rows.Next() {
		var period string
		var amount, count int64
		if err := rows.Scan(&period, &amount, &count); err != nil {
			return Usage{}, fmt.Errorf("read usage of %s: %w", account, err)
		}
		// Sums stay far below the int64 range: every row is bounded by
		// the ledger's balances, and CheckLimits compares without adding.
		if period == day {
			u.DayAmount, u.DayCount = u.DayAmount+amount, u.DayCount+count
		} else {
			u.MonthAmount, u.MonthCount = u.MonthAmount+amount, u.MonthCount+count
		}
	}
	if err := rows.Err(); err != nil {
		return Usage{}, fmt.Errorf("read usage of %s: %w", account, err)
	}
	return u, nil
}

// addUsage adds amount and count (negative to give usage back, never below
// zero) to the account's usage rows of op on channel in the periods.
func addUsage(ctx context.Context, tx ledger.Execer, account, op, channel string, periods []string, amount, count int64) error {
	if amount >= 0 && count >= 0 && len(periods) == 2 {
		// The day and the month in one statement: this runs inside the
		// ledger's batch, on the writer's critical path.
		_, err := tx.ExecContext(ctx, `INSERT INTO account_usage (account_id, operation, channel, period, amount, count)
			VALUES ($1, $2, $3, $4, $5, $6), ($1, $2, $3, $7, $5, $6)
			ON CONFLICT (account_id, operation, period, channel) DO UPDATE SET
				amount = account_usage.amount + excluded.amount, count = account_usage.count + excluded.count`,
			account, op, channel, periods[0], amount, count, periods[1])
		if err != nil {
			return fmt.Errorf("count usage of %s: %w", account, err)
		}
		return nil
	}
	for _, period := range periods {
		var err error
		if amount >= 0 && count >= 0 {
			_, err = tx.ExecContext(ctx, `INSERT INTO account_usage (account_id, operation, channel, period, amount, count)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (account_id, operation, period, channel) DO UPDATE SET
					amount = account_usage.amount + excluded.amount, count = account_usage.count + excluded.count`,
				account, op, channel, period, amount, count)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE account_usage SET
				amount = CASE WHEN amount + $1 < 0 THEN 0 ELSE amount + $1 END,
				count = CASE WHEN count + $2 < 0 THEN 0 ELSE count + $2 END
				WHERE account_id = $3 AND operation = $4 AND period = $5 AND channel = $6`,
				amount, count, account, op, period, channel)
		}
		if err != nil {
			return fmt.Errorf("count usage of %s: %w", account, err)
		}
	}
	return nil
}

// giveBackUsage is the ride-along write of a failed withdrawal: the hold's
// amount and count leave the usage of the periods the hold was counted in.
func giveBackUsage(account, op, channel, businessDate string, amount int64) ledger.Write {
	return func(ctx context.Context, tx *sql.Tx, _ *ledger.Transaction) error {
		day, month := usagePeriods(businessDate)
		return addUsage(ctx, tx, account, op, channel, []string{day, month}, -amount, -1)
	}
}

// UsageOf returns what the account has used of op on channel ("" every
// channel) on the business date's day and month.
func (s *Operations) UsageOf(ctx context.Context, account, op, channel, businessDate string) (Usage, error) {
	day, month := usagePeriods(businessDate)
	return readUsage(ctx, s.db.Read, "", account, op, channel, day, month)
}
