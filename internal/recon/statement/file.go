package statement

import (
	"fmt"
	"io"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/money"
)

// maxLines bounds the lines (CSV, native) or entries (camt.053) a file
// may have: a day of a busy channel is far below it, a runaway file is
// not.
const maxLines = 2_000_000

// File is a parsed statement.
type File struct {
	// Lines are the movements, in file order. A parser admits only lines
	// with Amount >= 0, a Direction of pay_in, pay_out or refund, and a
	// Status of succeeded or failed.
	Lines []Line
	// Account is the statement's account: camt.053 Acct/Id/IBAN, or
	// Acct/Id/Othr/Id; "" for CSV and native files.
	Account string
	// Currency is the camt.053 statement's one currency: Acct/Ccy, or that
	// of its balances and entries; "" for CSV and native files.
	Currency string
	// Opening and Closing are the camt.053 opening (OPBD, else PRCD) and
	// closing (CLBD) booked balances; nil when absent, and for CSV and
	// native files.
	Opening, Closing *Balance
	// Entries is the number of records read: CSV lines without header and
	// footer, camt.053 entries (Ntry) of any status, or the adapter's
	// lines.
	Entries int
	// Skipped is the number of entries read but not made lines: camt.053
	// entries whose status is not BOOK (PDNG, INFO, FUTR).
	Skipped int
	// Credits is the total Amount of the succeeded pay_in lines, and
	// Debits that of the succeeded pay_out and refund lines, in minor
	// units. Failed lines (camt.053 reversals among them) count in
	// neither. They are single totals, so meaningful only when the lines
	// share one asset.
	Credits, Debits int64

	// entries says Line.No counts camt.053 entries, for messages.
	entries bool
}

// Balance is a camt.053 statement balance.
type Balance struct {
	// Amount is in minor units of Asset: negative for a debit (overdrawn)
	// balance.
	Amount int64
	Asset  string
	// At is the balance's date (midnight UTC) or date and time (in UTC).
	At time.Time
}

// add appends l to f and counts it in Credits or Debits.
func (f *File) add(l Line) error {
	if l.Status == channel.Succeeded {
		var err error
		if l.Direction == channel.PayIn {
			f.Credits, err = money.Add(f.Credits, l.Amount)
		} else {
			f.Debits, err = money.Add(f.Debits, l.Amount)
		}
		if err != nil {
			return &Error{Line: l.No, Field: "amount", Reason: "the file's total of succeeded lines overflows", Err: err, entry: f.entries}
		}
	}
	f.Lines = append(f.Lines, l)
	return nil
}

// CheckDates reports whether every line's At is in [from, to): a
// statement for a day must hold only that day's movements. An error
// wrapping ErrInvalid names the first line outside; an empty period is a
// caller's error, not ErrInvalid.
func (f *File) CheckDates(from, to time.Time) error {
	if !from.Before(to) {
		return fmt.Errorf("check statement dates: empty period [%s, %s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	for _, l := range f.Lines {
		if l.At.Before(from) || !l.At.Before(to) {
			return &Error{Line: l.No, Field: "at", entry: f.entries,
				Reason: fmt.Sprintf("%s is outside the statement period [%s, %s)",
					l.At.Format(time.RFC3339), from.Format(time.RFC3339), to.Format(time.RFC3339))}
		}
	}
	return nil
}

// FromChannel wraps the lines a channel adapter's ParseStatement returned
// as a File, numbering them 1, 2, … in order. It checks what File
// promises (Amount >= 0, a valid Direction, a final Status, no more than
// 2,000,000 lines) and the totals for overflow; errors wrap ErrInvalid.
func FromChannel(ls []channel.StatementLine) (*File, error) {
	if len(ls) > maxLines {
		return nil, lineError(maxLines+1, "", "more than %d lines", maxLines)
	}
	f := &File{Lines: make([]Line, 0, len(ls)), Entries: len(ls)}
	for i, s := range ls {
		l := Line{No: i + 1, OrderID: s.OrderID, ChannelRef: s.ChannelRef, Direction: s.Direction,
			Amount: s.Amount, Fee: s.Fee, Asset: s.Asset, Status: s.Status, At: s.At}
		switch {
		case l.Amount < 0:
			return nil, lineError(l.No, "amount", "%d is negative", l.Amount)
		case !validDirection(l.Direction):
			return nil, lineError(l.No, "direction", "%s is not pay_in, pay_out or refund", quote(string(l.Direction)))
		case !l.Status.Final():
			return nil, lineError(l.No, "status", "%s is not succeeded or failed", quote(string(l.Status)))
		}
		if err := f.add(l); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Parse reads a statement file in format f: KindCSV with ParseCSV,
// KindCamt053 with ParseCamt053, and KindNative with the channel
// adapter's own parser (native may be nil for the other kinds).
//
// Errors wrap ErrInvalid when the file is at fault (a native parser's
// refusal included), ErrBadFormat when f is, and neither when reading r
// failed.
func Parse(r io.Reader, f Format, native channel.Adapter) (*File, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	switch f.Kind {
	case KindCSV:
		return ParseCSV(r, f.Columns)
	case KindCamt053:
		return ParseCamt053(r)
	}
	if native == nil {
		return nil, badFormat("kind", "%q needs the channel's adapter", KindNative)
	}
	src := &source{r: r, max: -1}
	ls, err := native.ParseStatement(src)
	if err != nil {
		if src.readErr != nil {
			// The adapter's error may quote the reader's without wrapping it.
			return nil, fmt.Errorf("read statement: %w", src.readErr)
		}
		return nil, &Error{Err: err}
	}
	return FromChannel(ls)
}
