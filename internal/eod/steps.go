package eod

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/ledger"
)

// cutover makes the date final: it is over by the ledger's clock (Run
// checked), and the barrier — an empty write riding the ledger's group
// commit — returns only once every ledger batch queued before it has
// committed, so nothing this process accepted can still be booked on the
// date. (Ledger engines in other processes sharing a PostgreSQL store book
// by their own clocks; the date is over for them too.)
func (r *Runner) cutover(ctx context.Context, x *execution) (*result, error) {
	if err := r.ledger.Do(ctx, func(context.Context, *sql.Tx) error { return nil }); err != nil {
		return nil, fmt.Errorf("ledger barrier: %w", err)
	}
	return &result{status: StepDone, outcome: cutoverOutcome{Closing: x.date,
		BusinessDate: r.ledger.BusinessDate(r.clock.Now())}}, nil
}

type cutoverOutcome struct {
	Closing      string `json:"closing"`
	BusinessDate string `json:"business_date" doc:"The ledger's business date when the day was cut over."`
}

// expireHolds voids every hold expired by now (the ledger's sweep,
// idempotent by hold). Its voids are booked on the current business date,
// not on the date closed.
func (r *Runner) expireHolds(ctx context.Context, _ *execution) (*result, error) {
	n, err := r.ledger.ExpireHolds(ctx)
	if err != nil {
		return nil, fmt.Errorf("expire holds: %w", err)
	}
	return &result{status: StepDone, outcome: map[string]int{"expired": n}}, nil
}

// checkOutcome is the check step's outcome.
type checkOutcome struct {
	Institutions []checkInstitution   `json:"institutions"`
	TrialBalance *ledger.TrialBalance `json:"trial_balance"`
}

type checkInstitution struct {
	InstitutionID string `json:"institution_id"`
	CheckRunID    string `json:"check_run_id"`
	OK            bool   `json:"ok"`
	Differences   int    `json:"differences"`
	Balanced      bool   `json:"trial_balance_balanced"`
}

// check runs the total-score check of every institution (each stored as a
// check run) and the trial balance over all. A difference or an
// unbalanced trial balance does not stop the day — the files of the day
// are still due — but the step ends with a warning, and so does the run.
func (r *Runner) check(ctx context.Context, _ *execution) (*result, error) {
	insts, err := r.checks.Institutions(ctx)
	if err != nil {
		return nil, err
	}
	runs, err := r.checks.Check(ctx, insts)
	if err != nil {
		return nil, fmt.Errorf("total-score check: %w", err)
	}
	tb, err := r.ledger.TrialBalance(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("trial balance: %w", err)
	}
	out := checkOutcome{Institutions: []checkInstitution{}, TrialBalance: tb}
	status := StepDone
	if !tb.Balanced {
		status = StepWarning
	}
	for _, c := range runs {
		out.Institutions = append(out.Institutions, checkInstitution{InstitutionID: c.InstitutionID, CheckRunID: c.ID,
			OK: c.OK, Differences: c.Differences, Balanced: c.TrialBalance.Balanced})
		if !c.OK {
			status = StepWarning
		}
	}
	return &result{status: status, outcome: out}, nil
}

// reconcile runs the day's reconciliation, when there is a reconciler,
// and stores each institution's channel results (without run IDs, which
// are no data of the day). Discrepancies or open amounts end the step with
// a warning.
func (r *Runner) reconcile(ctx context.Context, x *execution) (*result, error) {
	if r.recon == nil {
		return &result{status: StepSkipped, outcome: map[string]string{"reason": "no reconciliation service is configured"}}, nil
	}
	sum, err := r.recon.ReconcileDay(ctx, x.date, x.by)
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	if sum == nil {
		sum = &ReconSummary{}
	}
	chs := slices.Clone(sum.Channels)
	slices.SortFunc(chs, func(a, b ReconChannel) int {
		return cmpStrings(a.InstitutionID, b.InstitutionID, a.Code, b.Code, a.ChannelID, b.ChannelID)
	})
	res := &result{status: StepDone, outcome: sum}
	type file struct {
		Date          string         `json:"date"`
		InstitutionID string         `json:"institution_id"`
		Channels      []ReconChannel `json:"channels"`
	}
	var f *file
	flush := func() error {
		if f == nil {
			return nil
		}
		a, err := jsonArtifact("reconciliation", f.InstitutionID, x.date, f)
		if err != nil {
			return err
		}
		res.artifacts = append(res.artifacts, a)
		return nil
	}
	for _, c := range chs {
		if c.findings() {
			res.status = StepWarning
		}
		if f == nil || f.InstitutionID != c.InstitutionID {
			if err := flush(); err != nil {
				return nil, err
			}
			f = &file{Date: x.date, InstitutionID: c.InstitutionID}
		}
		c.RunID = ""
		f.Channels = append(f.Channels, c)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return res, nil
}

// voucherFiles writes each institution's summarized voucher of the date
// as CSV (the general-ledger import) and JSON. An unbalanced voucher ends
// the step with a warning.
func (r *Runner) voucherFiles(ctx context.Context, x *execution) (*result, error) {
	insts, err := r.checks.Institutions(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := r.vouchers.Daily(ctx, x.date, insts)
	if err != nil {
		return nil, fmt.Errorf("vouchers: %w", err)
	}
	res := &result{status: StepDone}
	type line struct {
		InstitutionID string `json:"institution_id"`
		Number        string `json:"number"`
		Lines         int    `json:"lines"`
		Balanced      bool   `json:"balanced"`
	}
	out := []line{}
	for _, v := range vs {
		if !v.Balanced {
			res.status = StepWarning
		}
		out = append(out, line{InstitutionID: v.InstitutionID, Number: v.Number, Lines: len(v.Lines), Balanced: v.Balanced})
		var csv bytes.Buffer
		if err := accounts.WriteVouchersCSV(&csv, []*accounts.Voucher{v}); err != nil {
			return nil, fmt.Errorf("vouchers of %s: %w", v.InstitutionID, err)
		}
		js, err := jsonArtifact("vouchers", v.InstitutionID, x.date, v)
		if err != nil {
			return nil, err
		}
		res.artifacts = append(res.artifacts, newArtifact(artifactName("vouchers", v.InstitutionID, x.date, "csv"),
			v.InstitutionID, contentCSV, csv.Bytes()), js)
	}
	res.outcome = map[string]any{"vouchers": out}
	return res, nil
}

// archive writes the manifest: every artifact of the date with its size
// and SHA-256, in name order. Its own SHA-256 is stored on the run.
func (r *Runner) archive(ctx context.Context, x *execution) (*result, error) {
	as, err := r.artifacts(ctx, x.date, nil)
	if err != nil {
		return nil, err
	}
	m := manifest{Date: x.date, Artifacts: []manifestEntry{}}
	for _, a := range as {
		if a.Step == StepArchive {
			continue
		}
		m.Artifacts = append(m.Artifacts, manifestEntry{Name: a.Name, InstitutionID: a.InstitutionID, Step: a.Step,
			ContentType: a.ContentType, Size: a.Size, SHA256: a.SHA256})
	}
	a, err := jsonArtifact("manifest", "", x.date, m)
	if err != nil {
		return nil, err
	}
	return &result{status: StepDone, artifacts: []*Artifact{a}, manifest: a.SHA256,
		outcome: map[string]any{"artifacts": len(m.Artifacts), "manifest": a.Name, "sha256": a.SHA256}}, nil
}

// manifest lists a date's artifacts.
type manifest struct {
	Date      string          `json:"date"`
	Artifacts []manifestEntry `json:"artifacts"`
}

type manifestEntry struct {
	Name          string `json:"name"`
	InstitutionID string `json:"institution_id"`
	Step          string `json:"step"`
	ContentType   string `json:"content_type"`
	Size          int64  `json:"size"`
	SHA256        string `json:"sha256"`
}

// cmpStrings compares pairs in turn: cmpStrings(a1, b1, a2, b2, …).
func cmpStrings(pairs ...string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if c := strings.Compare(pairs[i], pairs[i+1]); c != 0 {
			return c
		}
	}
	return 0
}
