package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
)

// StatementsCmd groups the statement commands.
type StatementsCmd struct {
	Generate StatementsGenerateCmd `cmd:"" help:"Generate and store every active customer's statement for a month (the monthly job)."`
}

// StatementsGenerateCmd runs the monthly statement job for institutions:
// every active customer's statement for the month, across their accounts,
// stored for download. It is idempotent: a statement already stored for
// the period is kept, so a job that stopped half-way is simply run again.
type StatementsGenerateCmd struct {
	StoreFlags  `embed:""`
	Month       string   `required:"" placeholder:"YYYY-MM" help:"The month, e.g. 2026-10; normally the month that just ended."`
	Institution []string `name:"institution" required:"" placeholder:"ID" help:"The institutions whose customers get statements (repeatable)."`
	// EncryptionKeys is a secret: it is never logged or printed.
	EncryptionKeys string `name:"encryption-keys" placeholder:"ID:BASE64,…" env:"SUANPAN_ENCRYPTION_KEYS" help:"The customer-data keys the server uses (statements show masked customer names). On SQLite, empty means the key file beside the store."`
}

// Validate checks the month before anything is opened.
func (c *StatementsGenerateCmd) Validate() error {
	if _, err := time.Parse("2006-01", c.Month); err != nil {
		return errors.New("--month must be YYYY-MM")
	}
	return nil
}

// Run generates the statements and prints how many were new.
func (c *StatementsGenerateCmd) Run(ctx context.Context, a *app) (err error) {
	db, l, done, err := c.openLedger(ctx, a.log)
	if err != nil {
		return err
	}
	defer done(&err)
	keys, err := keyring(c.EncryptionKeys, db, a.log)
	if err != nil {
		return err
	}
	products := accounts.NewProductService(db, clock.Real{})
	st := accounts.NewStatements(l, accounts.NewCustomers(db, clock.Real{}, keys), accounts.NewLifecycle(l, products))
	for _, inst := range c.Institution {
		sum, err := st.GenerateMonth(ctx, inst, c.Month)
		if err != nil {
			return fmt.Errorf("statements of %s for %s: %w", inst, c.Month, err)
		}
		fmt.Fprintf(a.stdout, "%s %s: %d generated, %d already stored\n", inst, c.Month, sum.Generated, sum.Existing)
	}
	return nil
}
