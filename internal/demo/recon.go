package demo

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
	"github.com/suanpan/suanpan/internal/recon"
)

// SeedRecon imports the bank channel's statement of the day so far from
// the simulator sm, once a day (a later start finds it imported), and
// reconciles it: what the simulator has decided matches, what it has not
// is late. It returns the day's latest run.
func SeedRecon(ctx context.Context, rec *recon.Service, sm *sim.Server, bankChannel string, now time.Time) (*recon.Run, error) {
	date := now.UTC().Format(time.DateOnly)
	runs, _, err := rec.ListRuns(ctx, recon.RunFilter{ChannelID: bankChannel, Date: date, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(runs) > 0 {
		return runs[0], nil
	}
	var file bytes.Buffer
	if err := sm.WriteStatement(&file, channel.BankTransfer, now.UTC()); err != nil {
		return nil, err
	}
	if _, _, err := rec.Import(ctx, recon.ImportRequest{ChannelID: bankChannel, Date: date, Content: file.Bytes(), By: by}); err != nil {
		return nil, fmt.Errorf("demo: import the bank statement: %w", err)
	}
	run, err := rec.Run(ctx, recon.RunRequest{ChannelID: bankChannel, Date: date, By: by})
	if err != nil {
		return nil, fmt.Errorf("demo: reconcile the bank statement: %w", err)
	}
	return run, nil
}
