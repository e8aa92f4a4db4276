package eod

import "context"

// Reconciler reconciles every channel of every institution for a business
// date against the statement files the channels delivered. The
// reconciliation service implements it. ReconcileDay must be idempotent for
// a date: the end of day calls it again when it resumes after a crash, and
// a second call must change nothing and report the same.
type Reconciler interface {
	ReconcileDay(ctx context.Context, date string, by string) (*ReconSummary, error)
}

// ReconSummary is what a day's reconciliation found, per channel.
type ReconSummary struct {
	Channels []ReconChannel `json:"channels"`
}

// ReconChannel is one channel's reconciliation for the day.
type ReconChannel struct {
	ChannelID     string `json:"channel_id"`
	Code          string `json:"code"`
	InstitutionID string `json:"institution_id"`
	// Statement is whether the channel delivered its file for the day; a
	// channel without one was not reconciled (its counts are zero).
	Statement bool `json:"statement"`
	// RunID is the reconciliation run, "" without a statement.
	RunID   string `json:"run_id,omitempty"`
	Matched int    `json:"matched"`
	// Late counts orders of earlier days the statement settled.
	Late          int `json:"late"`
	Discrepancies int `json:"discrepancies"`
	// OpenAmount is the sum of the absolute differences left open, in
	// minor units of Asset.
	OpenAmount int64  `json:"open_amount"`
	Asset      string `json:"asset"`
}

// findings reports whether the channel has something an operator must
// look at: discrepancies or an amount left open. A missing statement is
// not one (a channel without orders may deliver none); it shows in the
// outcome.
func (c *ReconChannel) findings() bool { return c.Discrepancies > 0 || c.OpenAmount != 0 }
