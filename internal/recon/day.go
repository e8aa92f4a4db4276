package recon

import (
	"context"

	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/internal/recon/match"
)

var _ eod.Reconciler = (*Service)(nil)

// ReconcileDay is the end of day's reconciliation: every channel that has
// a statement for the date is reconciled once — a channel already
// reconciled for the date (by an operator, or by an end of day that
// crashed) keeps its run, finished if a crash interrupted it — so calling
// it again changes nothing. It reports each run's discrepancies as they
// are now, after what operators decided since.
func (s *Service) ReconcileDay(ctx context.Context, date string, by string) (*eod.ReconSummary, error) {
	if _, err := parseDate("date", date); err != nil {
		return nil, err
	}
	chans, err := s.pay.ListChannels(ctx, nil)
	if err != nil {
		return nil, err
	}
	sum := &eod.ReconSummary{Channels: []eod.ReconChannel{}}
	for _, ch := range chans {
		c := eod.ReconChannel{ChannelID: ch.ID, Code: ch.Code, InstitutionID: ch.InstitutionID, Asset: ch.Asset}
		if _, err := s.statementFor(ctx, ch.ID, date); ErrorCode(err) == CodeStatementNotFound {
			sum.Channels = append(sum.Channels, c)
			continue
		} else if err != nil {
			return nil, err
		}
		if err := s.finishChannel(ctx, ch.ID); err != nil {
			return nil, err
		}
		runs, _, err := s.ListRuns(ctx, RunFilter{ChannelID: ch.ID, Date: date, Limit: 1})
		if err != nil {
			return nil, err
		}
		var run *Run
		if len(runs) > 0 {
			run = runs[0]
		} else if run, err = s.Run(ctx, RunRequest{ChannelID: ch.ID, Date: date, By: by}); err != nil {
			return nil, err
		}
		// What is still open now: operators may have decided some since.
		open, _, amount, err := s.tally(ctx, run.ID)
		if err != nil {
			return nil, err
		}
		c.Statement, c.RunID = true, run.ID
		c.Matched, c.Late, c.Discrepancies, c.OpenAmount = run.Counts[string(match.Matched)], run.Counts[string(match.Late)], open, amount
		sum.Channels = append(sum.Channels, c)
	}
	return sum, nil
}
