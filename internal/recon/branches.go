package recon

import (
	"context"

	"github.com/suanpan/suanpan/internal/payments"
)

// BranchRequest asks to reconcile, for a date, every channel of the given
// institutions that has a statement for it: one branch, or a head office
// with all its branches (centralized).
type BranchRequest struct {
	InstitutionIDs []string
	Date           string
	DryRun         bool
	By             string
	Scope          []string
	Writes         []Write
}

// Branches is the outcome of reconciling several channels.
type Branches struct {
	Runs []*Run `json:"runs"`
	// Missing lists the channels without a statement for the date.
	Missing []string `json:"missing_statements"`
	// Open and OpenAmount total the runs' open discrepancies.
	Open       int   `json:"open"`
	OpenAmount int64 `json:"open_amount" doc:"Sum over the runs, each in its channel's asset."`
	Alerted    bool  `json:"alerted"`
}

// RunBranches reconciles every channel of the institutions (in scope)
// that has a statement for the date, one run per channel (see Run), and
// lists those without one. Permission: recon:write. Returns
// CodeInvalidRequest and Run's errors.
func (s *Service) RunBranches(ctx context.Context, r BranchRequest) (*Branches, error) {
	if _, err := parseDate("date", r.Date); err != nil {
		return nil, err
	}
	chans, err := s.channelsOf(ctx, r.InstitutionIDs, r.Scope)
	if err != nil {
		return nil, err
	}
	out := &Branches{Runs: []*Run{}, Missing: []string{}}
	for _, ch := range chans {
		if _, err := s.statementFor(ctx, ch.ID, r.Date); ErrorCode(err) == CodeStatementNotFound {
			out.Missing = append(out.Missing, ch.ID)
			continue
		} else if err != nil {
			return nil, err
		}
		run, err := s.Run(ctx, RunRequest{ChannelID: ch.ID, Date: r.Date, DryRun: r.DryRun, By: r.By, Scope: r.Scope, Writes: r.Writes})
		if err != nil {
			return nil, err
		}
		out.Runs = append(out.Runs, run)
		out.Open += run.Counts[countOpen]
		out.OpenAmount += run.OpenAmount
		out.Alerted = out.Alerted || run.Alerted
	}
	return out, nil
}

// channelsOf returns the channels of the institutions, in scope.
func (s *Service) channelsOf(ctx context.Context, insts, scope []string) ([]*payments.Channel, error) {
	all, err := s.pay.ListChannels(ctx, scope)
	if err != nil {
		return nil, err
	}
	var out []*payments.Channel
	for _, ch := range all {
		if insts == nil || inScope(insts, ch.InstitutionID) {
			out = append(out, ch)
		}
	}
	return out, nil
}
