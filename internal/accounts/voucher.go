package accounts

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

// VoucherLine is the day's posted movement of one chart code and asset.
type VoucherLine struct {
	Line    int    `json:"line"`
	Code    string `json:"account_code"`
	Asset   string `json:"currency"`
	Scale   int    `json:"scale"`
	Debit   int64  `json:"debit"`
	Credit  int64  `json:"credit"`
	Entries int64  `json:"entries"`
}

// VoucherTotal totals a voucher's lines of one asset; a sound journal
// makes Debit equal Credit.
type VoucherTotal struct {
	Asset    string `json:"currency"`
	Debit    int64  `json:"debit"`
	Credit   int64  `json:"credit"`
	Balanced bool   `json:"balanced"`
}

// Voucher is the summarized accounting voucher of one institution and
// business date for a general-ledger system: per chart code and asset,
// the total posted debits and credits of the day's transactions.
type Voucher struct {
	Number        string         `json:"number" doc:"<institution>-<YYYYMMDD>: one voucher per institution and day, the same on every export."`
	Date          string         `json:"date"`
	InstitutionID string         `json:"institution_id"`
	Lines         []VoucherLine  `json:"lines"`
	Totals        []VoucherTotal `json:"totals"`
	Balanced      bool           `json:"balanced"`
}

// Vouchers builds the daily summarized vouchers. It only reads the
// journal: the same date always gives the same vouchers once the day is
// closed.
type Vouchers struct {
	db     *store.DB
	ledger *ledger.Ledger
}

// NewVouchers returns the voucher service on the ledger's store.
func NewVouchers(l *ledger.Ledger) *Vouchers { return &Vouchers{db: l.DB(), ledger: l} }

// Daily returns the vouchers of the business date (YYYY-MM-DD), one per
// institution in institutionIDs that had posted entries that day, ordered
// by institution; lines are ordered by code and asset. Permission:
// ledger:read. Returns CodeInvalidRequest (a malformed date) and
// CodeOverflow (a total beyond the int64 range).
func (s *Vouchers) Daily(ctx context.Context, date string, institutionIDs []string) ([]*Voucher, error) {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return nil, fieldErr("date", "date must be YYYY-MM-DD")
	}
	out := []*Voucher{}
	if len(institutionIDs) == 0 {
		return out, nil
	}
	q := &query{d: s.db.Dialect}
	q.add("t.business_date = ?", date)
	q.in("t.institution_id", institutionIDs)
	// Grouped per transaction too, so each SQL sum is of one
	// transaction's postings (bounded by the ledger's own limits) and the
	// day's totals are summed in Go, overflow-checked.
	rows, err := s.db.Read.QueryContext(ctx, `SELECT t.institution_id, a.code, e.asset, e.side, CAST(SUM(e.amount) AS BIGINT), COUNT(*)
		FROM transactions t JOIN entries e ON e.tx_id = t.id JOIN accounts a ON a.id = e.account_id
		WHERE `+q.where()+` AND e.kind = 'posted'
		GROUP BY t.institution_id, a.code, e.asset, e.side, t.id
		ORDER BY t.institution_id, a.code, e.asset`, q.args...)
	if err != nil {
		return nil, fmt.Errorf("vouchers %s: %w", date, err)
	}
	defer rows.Close()
	var v *Voucher
	for rows.Next() {
		var inst, code, asset, side string
		var sum, n int64
		if err := rows.Scan(&inst, &code, &asset, &side, &sum, &n); err != nil {
			return nil, fmt.Errorf("vouchers %s: %w", date, err)
		}
		if v == nil || v.InstitutionID != inst {
			v = &Voucher{Number: inst + "-" + d.Format("20060102"), Date: date, InstitutionID: inst, Lines: []VoucherLine{}}
			out = append(out, v)
		}
		if n := len(v.Lines); n == 0 || v.Lines[n-1].Code != code || v.Lines[n-1].Asset != asset {
			v.Lines = append(v.Lines, VoucherLine{Line: len(v.Lines) + 1, Code: code, Asset: asset})
		}
		x := &v.Lines[len(v.Lines)-1]
		x.Entries += n
		if side == "D" {
			x.Debit, err = money.Add(x.Debit, sum)
		} else {
			x.Credit, err = money.Add(x.Credit, sum)
		}
		if err != nil {
			return nil, errorf(CodeOverflow, "the %s movement of code %s on %s is beyond the int64 range", asset, code, date)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("vouchers %s: %w", date, err)
	}
	scales := map[string]int{}
	for _, v := range out {
		v.Balanced = true
		for i := range v.Lines {
			x := &v.Lines[i]
			scale, ok := scales[x.Asset]
			if !ok {
				a, err := s.ledger.GetAsset(ctx, x.Asset)
				if err != nil {
					return nil, fmt.Errorf("vouchers %s: %w", date, err)
				}
				scale, scales[x.Asset] = a.Scale, a.Scale
			}
			x.Scale = scale
			if err := v.total(x); err != nil {
				return nil, err
			}
		}
		for i := range v.Totals {
			t := &v.Totals[i]
			t.Balanced = t.Debit == t.Credit
			v.Balanced = v.Balanced && t.Balanced
		}
	}
	return out, nil
}

// total adds a line to its asset's total; totals stay ordered by asset.
func (v *Voucher) total(x *VoucherLine) error {
	i := 0
	for i < len(v.Totals) && v.Totals[i].Asset < x.Asset {
		i++
	}
	if i == len(v.Totals) || v.Totals[i].Asset != x.Asset {
		v.Totals = append(v.Totals[:i], append([]VoucherTotal{{Asset: x.Asset}}, v.Totals[i:]...)...)
	}
	t := &v.Totals[i]
	var e1, e2 error
	t.Debit, e1 = money.Add(t.Debit, x.Debit)
	t.Credit, e2 = money.Add(t.Credit, x.Credit)
	if e1 != nil || e2 != nil {
		return errorf(CodeOverflow, "the %s totals of voucher %s are beyond the int64 range", x.Asset, v.Number)
	}
	return nil
}

// VoucherCSVHeader is the header of WriteVouchersCSV, a layout general-ledger
// imports (SAP-like) accept: one line per voucher line, amounts as decimal
// strings in the currency's scale with a point, never a thousands separator.
var VoucherCSVHeader = []string{"date", "voucher_no", "line", "account_code", "debit", "credit", "currency", "text"}

// WriteVouchersCSV writes the vouchers as CSV, in their order.
func WriteVouchersCSV(w io.Writer, vs []*Voucher) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(VoucherCSVHeader)
	for _, v := range vs {
		for _, x := range v.Lines {
			text := fmt.Sprintf("%s daily summary %s (%d entries)", v.InstitutionID, v.Date, x.Entries)
			_ = cw.Write([]string{v.Date, v.Number, strconv.Itoa(x.Line), csvSafe(x.Code), money.Format(x.Debit, x.Scale),
				money.Format(x.Credit, x.Scale), x.Asset, csvSafe(strings.ReplaceAll(text, "\n", " "))})
		}
	}
	cw.Flush()
	return cw.Error()
}
