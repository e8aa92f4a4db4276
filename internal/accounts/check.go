package accounts

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

// ControlAccount registers, for an institution, chart code and asset, the
// account whose balance must equal the sum of the balances of all other
// accounts with that code and asset (its sub-accounts): the total-score
// check (总分核对) compares them.
type ControlAccount struct {
	InstitutionID string    `json:"institution_id"`
	Code          string    `json:"code"`
	Asset         string    `json:"asset"`
	AccountID     string    `json:"account_id"`
	CreatedAt     time.Time `json:"created_at"`
	CreatedBy     string    `json:"created_by"`
}

// CheckLine is the total-score check of one institution, code and asset.
// Balances are on the control account's normal side.
type CheckLine struct {
	Code             string `json:"code"`
	Asset            string `json:"asset"`
	ControlAccountID string `json:"control_account_id,omitempty"`
	ControlBalance   int64  `json:"control_balance"`
	SubAccounts      int64  `json:"sub_accounts"`
	SubTotal         int64  `json:"sub_total"`
	Difference       int64  `json:"difference" doc:"control_balance − sub_total; zero when the check holds."`
}

// CheckRun is one run of the total-score check over one institution: the
// lines of its control accounts, the codes without one (informational),
// and its trial balance. OK holds when every difference is zero and the
// trial balance balances.
type CheckRun struct {
	ID            string               `json:"id"`
	InstitutionID string               `json:"institution_id"`
	RanAt         time.Time            `json:"ran_at"`
	OK            bool                 `json:"ok"`
	Differences   int                  `json:"differences" doc:"Lines with a non-zero difference."`
	Lines         []CheckLine          `json:"lines"`
	Uncontrolled  []CheckLine          `json:"uncontrolled" doc:"Codes and assets without a control account: their sub-account totals, for information."`
	TrialBalance  *ledger.TrialBalance `json:"trial_balance"`
}

// Checks runs the total-score check and keeps its control accounts and
// runs.
type Checks struct {
	db     *store.DB
	ledger *ledger.Ledger
	clock  clock.Clock
}

// NewChecks returns the check service on the ledger's store and clock.
func NewChecks(l *ledger.Ledger) *Checks {
	return &Checks{db: l.DB(), ledger: l, clock: l.Clock()}
}

func (s *Checks) now() time.Time { return time.UnixMicro(s.clock.Now().UnixMicro()).UTC() }

// ControlWrite is extra work committed in the same storage transaction as
// a control account's registration (an audit record).
// It is given the registration.
type ControlWrite func(ctx context.Context, tx *sql.Tx, c *ControlAccount) error

// RegisterControl makes the account the control account of its
// institution, code and asset, replacing any registered before, and runs
// the writes in the same storage transaction. Permission: accounts:write.
// Returns CodeAccountNotFound (also outside the scope).
func (s *Checks) RegisterControl(ctx context.Context, accountID, by string, scope []string, writes ...ControlWrite) (*ControlAccount, error) {
	if len(accountID) > 64 || !store.Storable(accountID) {
		return nil, errorf(CodeAccountNotFound, "account not found")
	}
	a, err := s.ledger.GetAccount(ctx, accountID)
	if ledger.ErrorCode(err) == ledger.CodeAccountNotFound || (err == nil && !inScope(scope, a.InstitutionID)) {
		return nil, errorf(CodeAccountNotFound, "account %s not found", accountID)
	}
	if err != nil {
		return nil, err
	}
	c := &ControlAccount{InstitutionID: a.InstitutionID, Code: a.Code, Asset: a.Asset, AccountID: a.ID, CreatedAt: s.now(), CreatedBy: by}
	err = s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO control_accounts (institution_id, code, asset, account_id, created_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (institution_id, code, asset) DO UPDATE SET account_id = excluded.account_id,
			created_at = excluded.created_at, created_by = excluded.created_by`,
			c.InstitutionID, c.Code, c.Asset, c.AccountID, c.CreatedAt.UnixMicro(), c.CreatedBy); err != nil {
			return fmt.Errorf("register control account %s: %w", accountID, err)
		}
		for _, w := range writes {
			if err := w(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Institutions returns every institution that has accounts, in order.
func (s *Checks) Institutions(ctx context.Context) ([]string, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT DISTINCT institution_id FROM accounts ORDER BY institution_id`)
	if err != nil {
		return nil, fmt.Errorf("institutions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("institutions: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Check runs the total-score check and the trial balance over each
// institution, stores one run per institution and returns them.
// Permission: ledger:verify. Returns CodeOverflow when a total leaves the
// int64 range.
func (s *Checks) Check(ctx context.Context, institutionIDs []string) ([]*CheckRun, error) {
	runs := make([]*CheckRun, 0, len(institutionIDs))
	for _, inst := range institutionIDs {
		r, err := s.check(ctx, inst)
		if err != nil {
			return nil, err
		}
		body, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("check %s: encode: %w", inst, err)
		}
		ok := 0
		if r.OK {
			ok = 1
		}
		if _, err := s.db.Write.ExecContext(ctx, `INSERT INTO check_runs (id, institution_id, ran_at, ok, differences, body)
			VALUES ($1, $2, $3, $4, $5, $6)`, r.ID, r.InstitutionID, r.RanAt.UnixMicro(), ok, r.Differences, string(body)); err != nil {
			return nil, fmt.Errorf("store check of %s: %w", inst, err)
		}
		runs = append(runs, r)
	}
	return runs, nil
}

type checkKey struct{ code, asset string }

func (s *Checks) check(ctx context.Context, inst string) (*CheckRun, error) {
	r := &CheckRun{ID: uuid.Must(uuid.NewV7()).String(), InstitutionID: inst, RanAt: s.now(), Lines: []CheckLine{},
		Uncontrolled: []CheckLine{}}
	controls := map[checkKey]string{}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT code, asset, account_id FROM control_accounts WHERE institution_id = $1`, inst)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", inst, err)
	}
	for rows.Next() {
		var k checkKey
		var id string
		if err := rows.Scan(&k.code, &k.asset, &id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("check %s: %w", inst, err)
		}
		controls[k] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("check %s: %w", inst, err)
	}
	// The control accounts' normal sides decide the sign of each sub-account.
	normal := map[checkKey]ledger.Side{}
	for k, id := range controls {
		a, err := s.ledger.GetAccount(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("check %s: control account %s: %w", inst, id, err)
		}
		normal[k] = a.NormalSide
	}
	// Summed in Go, overflow-checked, one account at a time: a sum over
	// many accounts can leave the int64 range although none does.
	rows, err = s.db.Read.QueryContext(ctx, `SELECT id, code, asset, normal_side, debits_posted, credits_posted FROM accounts
		WHERE institution_id = $1 ORDER BY code, asset, id`, inst)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", inst, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, side string
		var k checkKey
		var b ledger.Balances
		if err := rows.Scan(&id, &k.code, &k.asset, &side, &b.DebitsPosted, &b.CreditsPosted); err != nil {
			return nil, fmt.Errorf("check %s: %w", inst, err)
		}
		ctl, controlled := controls[k]
		lines := &r.Uncontrolled
		if controlled {
			lines = &r.Lines
		}
		if n := len(*lines); n == 0 || (*lines)[n-1].Code != k.code || (*lines)[n-1].Asset != k.asset {
			*lines = append(*lines, CheckLine{Code: k.code, Asset: k.asset, ControlAccountID: ctl})
		}
		x := &(*lines)[len(*lines)-1]
		side0 := ledger.Side(side)
		if controlled {
			side0 = normal[k]
		}
		bal := b.Balance(side0)
		if id == ctl {
			x.ControlBalance = bal
			continue
		}
		x.SubAccounts++
		if x.SubTotal, err = money.Add(x.SubTotal, bal); err != nil {
			return nil, errorf(CodeOverflow, "the sub-accounts of code %s (%s) total beyond the int64 range", k.code, k.asset)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("check %s: %w", inst, err)
	}
	// A control account registered for a code and asset that has no
	// account any more still gets its line (all zero but the control's).
	for k, id := range controls {
		found := false
		for _, l := range r.Lines {
			found = found || (l.Code == k.code && l.Asset == k.asset)
		}
		if !found {
			r.Lines = append(r.Lines, CheckLine{Code: k.code, Asset: k.asset, ControlAccountID: id})
		}
	}
	for i := range r.Lines {
		x := &r.Lines[i]
		if x.Difference, err = money.Sub(x.ControlBalance, x.SubTotal); err != nil {
			return nil, errorf(CodeOverflow, "the difference of code %s (%s) is beyond the int64 range", x.Code, x.Asset)
		}
		if x.Difference != 0 {
			r.Differences++
		}
	}
	if r.TrialBalance, err = s.ledger.TrialBalance(ctx, []string{inst}); err != nil {
		return nil, err
	}
	r.OK = r.Differences == 0 && r.TrialBalance.Balanced
	return r, nil
}

// Runs returns the stored check runs of the institutions in scope (nil:
// all), newest first, at most limit (default 100, at most 1000).
// Permission: ledger:verify.
func (s *Checks) Runs(ctx context.Context, scope []string, limit int) ([]*CheckRun, error) {
	if limit <= 0 {
		limit = defaultPage
	}
	limit = min(limit, maxPage)
	q := &query{d: s.db.Dialect}
	if scope != nil {
		if len(scope) == 0 {
			return []*CheckRun{}, nil
		}
		q.in("institution_id", scope)
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT body FROM check_runs WHERE `+q.where()+
		fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit), q.args...)
	if err != nil {
		return nil, fmt.Errorf("list check runs: %w", err)
	}
	defer rows.Close()
	out := []*CheckRun{}
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("list check runs: %w", err)
		}
		r := &CheckRun{}
		if err := json.Unmarshal([]byte(body), r); err != nil {
			return nil, fmt.Errorf("list check runs: decode: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Control returns the control account of an institution, code and asset,
// or nil when none is registered.
func (s *Checks) Control(ctx context.Context, inst, code, asset string) (*ControlAccount, error) {
	c := &ControlAccount{InstitutionID: inst, Code: code, Asset: asset}
	var at int64
	err := s.db.Read.QueryRowContext(ctx, `SELECT account_id, created_at, created_by FROM control_accounts
		WHERE institution_id = $1 AND code = $2 AND asset = $3`, inst, code, asset).Scan(&c.AccountID, &at, &c.CreatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("control account %s/%s/%s: %w", inst, code, asset, err)
	}
	c.CreatedAt = time.UnixMicro(at).UTC()
	return c, nil
}
