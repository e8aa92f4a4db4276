package ledger

import (
	"context"
	"fmt"
	"time"
)

// sweepPage bounds the holds one sweep round submits.
const sweepPage = 1000

// expiryRefPrefix starts the reference of every expiry void. It is reserved
// for the sweeper, so that no client reference can stand in its way.
const expiryRefPrefix = "hold-expiry:"

// ExpireHolds voids every pending hold whose expiry has passed by the
// ledger's clock, releasing its reservation, and returns how many it voided.
// Expiry is also enforced at post time whether or not the sweeper has run;
// this only gives the reserved amounts back. Each expiry is a void
// transaction with the reference "hold-expiry:<hold id>", so a sweep that is
// interrupted or runs twice (in two processes, say) is harmless.
func (l *Ledger) ExpireHolds(ctx context.Context) (int, error) {
	total := 0
	for {
		now := l.clock.Now().UnixMicro()
		rows, err := l.db.Read.QueryContext(ctx, fmt.Sprintf(`SELECT id, institution_id FROM holds
			WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= $1 ORDER BY expires_at LIMIT %d`, sweepPage), now)
		if err != nil {
			return total, fmt.Errorf("find expired holds: %w", err)
		}
		var reqs []Request
		for rows.Next() {
			var id, inst string
			if err := rows.Scan(&id, &inst); err != nil {
				rows.Close()
				return total, fmt.Errorf("find expired holds: %w", err)
			}
			reqs = append(reqs, Request{Kind: KindVoid, InstitutionID: inst, Reference: expiryRefPrefix + id,
				Type: "hold_expiry", HoldID: id, expire: true})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, fmt.Errorf("find expired holds: %w", err)
		}
		if len(reqs) == 0 {
			return total, nil
		}
		res, err := l.Submit(ctx, reqs, false)
		if err != nil {
			return total, err
		}
		progress := 0
		for _, r := range res {
			if r.Err == nil {
				progress++
				if !r.Duplicate {
					total++
				}
			}
		}
		if progress == 0 || len(reqs) < sweepPage {
			return total, nil
		}
	}
}

// StartSweeper runs ExpireHolds every interval until ctx ends or the ledger
// is closed. Errors are passed to onErr (which may be nil) and the sweeper
// keeps going.
func (l *Ledger) StartSweeper(ctx context.Context, every time.Duration, onErr func(error)) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-l.quit:
				return
			case <-t.C:
				if _, err := l.ExpireHolds(ctx); err != nil && onErr != nil && ctx.Err() == nil {
					onErr(err)
				}
			}
		}
	}()
}
