package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"time"

	"github.com/suanpan/suanpan/store"
)

// Problem is one inconsistency Verify found.
type Problem struct {
	Check  string `json:"check"`  // which check failed
	ID     string `json:"id"`     // the account, transaction or hold concerned
	Detail string `json:"detail"` // what differs
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Accounts     int64         `json:"accounts"`
	Transactions int64         `json:"transactions"`
	Entries      int64         `json:"entries"`
	Problems     []Problem     `json:"problems"`
	OK           bool          `json:"ok"`
	Duration     time.Duration `json:"duration_ns"`
}

// maxProblems bounds a report; a ledger with more is broken enough.
const maxProblems = 1000

// Verify recomputes every account's balances from the journal and compares
// them with the stored balances and with the last entry's running balances,
// checks that every transaction balances per asset and entry kind, that hold
// states agree with the transactions that resolved them, that no reversal
// exceeds its original, and that the trial balance balances. It reads one
// consistent snapshot, so it runs on a live ledger without stopping it.
func (l *Ledger) Verify(ctx context.Context) (*VerifyReport, error) {
	start := time.Now()
	rep := &VerifyReport{}
	err := l.db.InTx(ctx, store.TxOptions{ReadOnly: true}, func(tx *sql.Tx) error {
		*rep = VerifyReport{}
		for _, check := range []func(context.Context, *sql.Tx, *VerifyReport) error{
			verifyAccounts, verifyTransactions, verifyHolds, verifyReversals,
		} {
			if err := check(ctx, tx, rep); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	rep.OK = len(rep.Problems) == 0
	rep.Duration = time.Since(start)
	return rep, nil
}

func (r *VerifyReport) add(check, id, format string, args ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, Problem{Check: check, ID: id, Detail: fmt.Sprintf(format, args...)})
	}
}

func verifyAccounts(ctx context.Context, tx *sql.Tx, rep *VerifyReport) error {
	rows, err := tx.QueryContext(ctx, `SELECT a.id, a.asset, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending,
		a.entry_seq, COALESCE(s.dp, 0), COALESCE(s.cp, 0), COALESCE(s.dpe, 0), COALESCE(s.cpe, 0), COALESCE(s.n, 0),
		COALESCE(s.maxseq, 0), COALESCE(e.debits_posted_after, 0), COALESCE(e.credits_posted_after, 0),
		COALESCE(e.debits_pending_after, 0), COALESCE(e.credits_pending_after, 0)
		FROM accounts a
		LEFT JOIN (SELECT account_id,
			CAST(SUM(CASE WHEN side = 'D' AND kind = 'posted' THEN amount ELSE 0 END) AS BIGINT) AS dp,
			CAST(SUM(CASE WHEN side = 'C' AND kind = 'posted' THEN amount ELSE 0 END) AS BIGINT) AS cp,
			CAST(SUM(CASE WHEN side = 'D' AND kind = 'pending' THEN amount
			              WHEN side = 'D' AND kind = 'release' THEN -amount ELSE 0 END) AS BIGINT) AS dpe,
			CAST(SUM(CASE WHEN side = 'C' AND kind = 'pending' THEN amount
			              WHEN side = 'C' AND kind = 'release' THEN -amount ELSE 0 END) AS BIGINT) AS cpe,
			COUNT(*) AS n, MAX(seq) AS maxseq
			FROM entries GROUP BY account_id) s ON s.account_id = a.id
		LEFT JOIN entries e ON e.account_id = a.id AND e.seq = a.entry_seq`)
	if err != nil {
		return fmt.Errorf("verify accounts: %w", err)
	}
	defer rows.Close()
	// The trial balance per asset, in big integers: the sum over accounts of
	// cumulative totals may leave the int64 range.
	type totals struct{ dp, cp, dpe, cpe big.Int }
	byAsset := map[string]*totals{}
	for rows.Next() {
		var id, asset string
		var stored, summed, last Balances
		var seq, n, maxSeq int64
		if err := rows.Scan(&id, &asset, &stored.DebitsPosted, &stored.CreditsPosted, &stored.DebitsPending, &stored.CreditsPending,
			&seq, &summed.DebitsPosted, &summed.CreditsPosted, &summed.DebitsPending, &summed.CreditsPending, &n, &maxSeq,
			&last.DebitsPosted, &last.CreditsPosted, &last.DebitsPending, &last.CreditsPending); err != nil {
			return fmt.Errorf("verify accounts: %w", err)
		}
		rep.Accounts++
		rep.Entries += n
		t := byAsset[asset]
		if t == nil {
			t = &totals{}
			byAsset[asset] = t
		}
		t.dp.Add(&t.dp, big.NewInt(stored.DebitsPosted))
		t.cp.Add(&t.cp, big.NewInt(stored.CreditsPosted))
		t.dpe.Add(&t.dpe, big.NewInt(stored.DebitsPending))
		t.cpe.Add(&t.cpe, big.NewInt(stored.CreditsPending))
		if stored != summed {
			rep.add("account_balance", id, "stored balances %+v, journal sums to %+v", stored, summed)
		}
		if stored != last {
			rep.add("running_balance", id, "stored balances %+v, last entry says %+v", stored, last)
		}
		if seq != n || seq != maxSeq {
			rep.add("entry_sequence", id, "entry_seq %d, but %d entries numbered up to %d", seq, n, maxSeq)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("verify accounts: %w", err)
	}
	for _, asset := range slices.Sorted(maps.Keys(byAsset)) {
		t := byAsset[asset]
		if t.dp.Cmp(&t.cp) != 0 || t.dpe.Cmp(&t.cpe) != 0 {
			rep.add("trial_balance", asset, "debits and credits differ: posted %s/%s, pending %s/%s",
				t.dp.String(), t.cp.String(), t.dpe.String(), t.cpe.String())
		}
	}
	return nil
}

func verifyTransactions(ctx context.Context, tx *sql.Tx, rep *VerifyReport) error {
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM transactions`).Scan(&rep.Transactions); err != nil {
		return fmt.Errorf("verify transactions: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT tx_id, kind, asset,
		CAST(SUM(CASE WHEN side = 'D' THEN amount ELSE -amount END) AS BIGINT)
		FROM entries GROUP BY tx_id, kind, asset
		HAVING SUM(CASE WHEN side = 'D' THEN amount ELSE -amount END) <> 0`)
	if err != nil {
		return fmt.Errorf("verify transactions: %w", err)
	}
	for rows.Next() {
		var id, kind, asset string
		var diff int64
		if err := rows.Scan(&id, &kind, &asset, &diff); err != nil {
			rows.Close()
			return fmt.Errorf("verify transactions: %w", err)
		}
		rep.add("transaction_balance", id, "%s %s entries: debits exceed credits by %d", kind, asset, diff)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("verify transactions: %w", err)
	}
	return eachProblem(ctx, tx, rep, "transaction_entries", `SELECT t.id, 'transaction has no entries' FROM transactions t
		WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.tx_id = t.id)`)
}

func verifyHolds(ctx context.Context, tx *sql.Tx, rep *VerifyReport) error {
	return eachProblem(ctx, tx, rep, "hold_state", `SELECT h.id, CASE
			WHEN t.id IS NULL THEN 'hold is ' || h.status || ' but no transaction resolved it'
			ELSE 'hold is pending but transaction ' || t.id || ' resolved it' END
		FROM holds h LEFT JOIN transactions t ON t.hold_id = h.id
		WHERE (h.status = 'pending' AND t.id IS NOT NULL) OR (h.status <> 'pending' AND t.id IS NULL)`)
}

func verifyReversals(ctx context.Context, tx *sql.Tx, rep *VerifyReport) error {
	return eachProblem(ctx, tx, rep, "reversal_total", `SELECT r.reverses_id, 'posting ' || CAST(r.posting AS TEXT) ||
			' reversed beyond its amount'
		FROM (SELECT t.reverses_id, e.posting, SUM(e.amount) AS total FROM transactions t JOIN entries e ON e.tx_id = t.id
			WHERE t.reverses_id IS NOT NULL AND e.side = 'D' AND e.kind = 'posted' GROUP BY t.reverses_id, e.posting) r
		JOIN entries o ON o.tx_id = r.reverses_id AND o.posting = r.posting AND o.side = 'D' AND o.kind = 'posted'
		WHERE r.total > o.amount`)
}

// eachProblem records a problem for every (id, detail) row the query returns.
func eachProblem(ctx context.Context, tx *sql.Tx, rep *VerifyReport, check, q string) error {
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("verify %s: %w", check, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, detail string
		if err := rows.Scan(&id, &detail); err != nil {
			return fmt.Errorf("verify %s: %w", check, err)
		}
		rep.add(check, id, "%s", detail)
	}
	return rows.Err()
}
