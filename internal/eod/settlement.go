package eod

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

// Settlement is one institution's daily settlement report. Amounts are in
// minor units of Asset, whose Scale the CSV uses to write them.
type Settlement struct {
	Date          string               `json:"date"`
	InstitutionID string               `json:"institution_id"`
	Channels      []SettlementChannel  `json:"channels"`
	Merchants     []SettlementMerchant `json:"merchants"`
	Products      []SettlementProduct  `json:"products"`
}

// SettlementChannel totals the payment orders of the date (by their
// business date) that succeeded, per channel, direction and asset: Fees
// are the channels' fees, Net = Amount − Fees.
type SettlementChannel struct {
	ChannelID string `json:"channel_id"`
	Code      string `json:"code"`
	Direction string `json:"direction"`
	Asset     string `json:"asset"`
	Scale     int    `json:"scale"`
	Count     int64  `json:"count"`
	Amount    int64  `json:"amount"`
	Fees      int64  `json:"fees"`
	Net       int64  `json:"net"`
}

// SettlementMerchant totals a merchant settlement account's payments
// booked on the date (operation "payment", credited to it) and the
// refunds of its payments booked on the date. Fees are the payment fees
// the merchant bore (fee payer "payee"; a fee the payer bore does not
// reduce what the merchant is owed), Net = Amount − Fees − Refunds.
type SettlementMerchant struct {
	AccountID   string `json:"account_id"`
	Asset       string `json:"asset"`
	Scale       int    `json:"scale"`
	Count       int64  `json:"count"`
	Amount      int64  `json:"amount"`
	Fees        int64  `json:"fees"`
	RefundCount int64  `json:"refund_count"`
	Refunds     int64  `json:"refunds"`
	Net         int64  `json:"net"`
}

// SettlementProduct totals the business operations booked on the date
// per product version ("id@version", as the operation recorded it; a
// refund counts under its payment's) and operation: transactions that
// posted money (transfers, posted holds, reversals), not holds still
// pending or voided. Amount and Fees are the operations' own.
type SettlementProduct struct {
	Product   string `json:"product"`
	Operation string `json:"operation"`
	Asset     string `json:"asset"`
	Scale     int    `json:"scale"`
	Count     int64  `json:"count"`
	Amount    int64  `json:"amount"`
	Fees      int64  `json:"fees"`
}

// settlement writes the daily settlement report of every institution that
// had orders or operations on the date, as CSV and JSON.
func (r *Runner) settlement(ctx context.Context, x *execution) (*result, error) {
	reports, err := r.settlements(ctx, x.date)
	if err != nil {
		return nil, err
	}
	res := &result{status: StepDone}
	type line struct {
		InstitutionID string `json:"institution_id"`
		Channels      int    `json:"channels"`
		Merchants     int    `json:"merchants"`
		Products      int    `json:"products"`
	}
	out := []line{}
	for _, s := range reports {
		out = append(out, line{s.InstitutionID, len(s.Channels), len(s.Merchants), len(s.Products)})
		b, err := settlementCSV(s)
		if err != nil {
			return nil, err
		}
		js, err := jsonArtifact("settlement", s.InstitutionID, x.date, s)
		if err != nil {
			return nil, err
		}
		res.artifacts = append(res.artifacts, newArtifact(artifactName("settlement", s.InstitutionID, x.date, "csv"),
			s.InstitutionID, contentCSV, b), js)
	}
	res.outcome = map[string]any{"institutions": out}
	return res, nil
}

type channelKey struct{ inst, id, code, direction, asset string }
type merchantKey struct{ inst, account, asset string }
type productKey struct{ inst, product, operation, asset string }

// settlements computes the reports from one read snapshot, ordered by
// institution, each report's lines by their keys. Totals are summed in
// Go, overflow-checked, one order or transaction at a time.
func (r *Runner) settlements(ctx context.Context, date string) ([]*Settlement, error) {
	channels := map[channelKey]*SettlementChannel{}
	merchants := map[merchantKey]*SettlementMerchant{}
	products := map[productKey]*SettlementProduct{}
	err := r.db.InTx(ctx, store.TxOptions{ReadOnly: true}, func(tx *sql.Tx) error {
		clear(channels)
		clear(merchants)
		clear(products)
		if err := sumOrders(ctx, tx, date, channels); err != nil {
			return err
		}
		return sumOperations(ctx, tx, date, merchants, products)
	})
	if err != nil {
		return nil, err
	}
	byInst := map[string]*Settlement{}
	report := func(inst string) *Settlement {
		s, ok := byInst[inst]
		if !ok {
			s = &Settlement{Date: date, InstitutionID: inst, Channels: []SettlementChannel{}, Merchants: []SettlementMerchant{},
				Products: []SettlementProduct{}}
			byInst[inst] = s
		}
		return s
	}
	scales := map[string]int{}
	scale := func(asset string) (int, error) {
		if s, ok := scales[asset]; ok {
			return s, nil
		}
		a, err := r.ledger.GetAsset(ctx, asset)
		if err != nil {
			return 0, fmt.Errorf("settlement %s: asset %s: %w", date, asset, err)
		}
		scales[asset] = a.Scale
		return a.Scale, nil
	}
	for k, c := range channels {
		if c.Net, err = money.Sub(c.Amount, c.Fees); err != nil {
			return nil, overflow(date, "channel "+k.code)
		}
		if c.Scale, err = scale(k.asset); err != nil {
			return nil, err
		}
		s := report(k.inst)
		s.Channels = append(s.Channels, *c)
	}
	for k, m := range merchants {
		net, err1 := money.Sub(m.Amount, m.Fees)
		net, err2 := money.Sub(net, m.Refunds)
		if err1 != nil || err2 != nil {
			return nil, overflow(date, "merchant "+k.account)
		}
		m.Net = net
		if m.Scale, err = scale(k.asset); err != nil {
			return nil, err
		}
		s := report(k.inst)
		s.Merchants = append(s.Merchants, *m)
	}
	for k, p := range products {
		if p.Scale, err = scale(k.asset); err != nil {
			return nil, err
		}
		s := report(k.inst)
		s.Products = append(s.Products, *p)
	}
	out := make([]*Settlement, 0, len(byInst))
	for _, s := range byInst {
		slices.SortFunc(s.Channels, func(a, b SettlementChannel) int {
			return cmpStrings(a.Code, b.Code, a.Direction, b.Direction, a.Asset, b.Asset, a.ChannelID, b.ChannelID)
		})
		slices.SortFunc(s.Merchants, func(a, b SettlementMerchant) int {
			return cmpStrings(a.AccountID, b.AccountID, a.Asset, b.Asset)
		})
		slices.SortFunc(s.Products, func(a, b SettlementProduct) int {
			return cmpStrings(a.Product, b.Product, a.Operation, b.Operation, a.Asset, b.Asset)
		})
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *Settlement) int { return cmp.Compare(a.InstitutionID, b.InstitutionID) })
	return out, nil
}

func overflow(date, what string) error {
	return fmt.Errorf("settlement %s: the totals of %s are beyond the int64 range", date, what)
}

// addTo adds v to *sum, overflow-checked.
func addTo(sum *int64, v int64) error {
	s, err := money.Add(*sum, v)
	if err != nil {
		return err
	}
	*sum = s
	return nil
}

// sumOrders totals the date's succeeded payment orders per channel.
func sumOrders(ctx context.Context, tx *sql.Tx, date string, out map[channelKey]*SettlementChannel) error {
	rows, err := tx.QueryContext(ctx, `SELECT o.institution_id, o.channel_id, c.code, o.direction, o.asset, o.amount, o.channel_fee
		FROM payment_orders o JOIN payment_channels c ON c.id = o.channel_id
		WHERE o.business_date = $1 AND o.state = 'succeeded'`, date)
	if err != nil {
		return fmt.Errorf("settlement %s: orders: %w", date, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k channelKey
		var amount, fee int64
		if err := rows.Scan(&k.inst, &k.id, &k.code, &k.direction, &k.asset, &amount, &fee); err != nil {
			return fmt.Errorf("settlement %s: orders: %w", date, err)
		}
		c, ok := out[k]
		if !ok {
			c = &SettlementChannel{ChannelID: k.id, Code: k.code, Direction: k.direction, Asset: k.asset}
			out[k] = c
		}
		c.Count++
		if errors.Join(addTo(&c.Amount, amount), addTo(&c.Fees, fee)) != nil {
			return overflow(date, "channel "+k.code)
		}
	}
	return rows.Err()
}

// The operations the merchant section counts.
const (
	opPayment = "payment"
	opRefund  = "refund"
	payerPaid = "payee" // the fee payer that is the merchant
)

// sumOperations totals the date's business operations — ledger
// transactions that posted money and carry an "operation" in their
// metadata — per merchant and per product. Posting 0 is an operation's
// principal (payer debited, merchant or payee credited; mirrored in a
// refund).
func sumOperations(ctx context.Context, tx *sql.Tx, date string, merchants map[merchantKey]*SettlementMerchant,
	products map[productKey]*SettlementProduct) error {
	rows, err := tx.QueryContext(ctx, `SELECT t.institution_id, t.kind, t.metadata, COALESCE(o.metadata, ''),
		COALESCE(d.account_id, ''), COALESCE(c.account_id, ''), COALESCE(c.asset, ''), COALESCE(c.amount, 0)
		FROM transactions t
		LEFT JOIN transactions o ON o.id = t.reverses_id
		LEFT JOIN entries d ON d.tx_id = t.id AND d.posting = 0 AND d.kind = 'posted' AND d.side = 'D'
		LEFT JOIN entries c ON c.tx_id = t.id AND c.posting = 0 AND c.kind = 'posted' AND c.side = 'C'
		WHERE t.business_date = $1 AND t.kind IN ('transfer', 'post', 'reversal')`, date)
	if err != nil {
		return fmt.Errorf("settlement %s: operations: %w", date, err)
	}
	defer rows.Close()
	for rows.Next() {
		var inst, kind, metaText, origText, debit, credit, asset string
		var principal int64
		if err := rows.Scan(&inst, &kind, &metaText, &origText, &debit, &credit, &asset, &principal); err != nil {
			return fmt.Errorf("settlement %s: operations: %w", date, err)
		}
		var meta map[string]string
		if err := json.Unmarshal([]byte(metaText), &meta); err != nil {
			return fmt.Errorf("settlement %s: operations: metadata: %w", date, err)
		}
		op := meta["operation"]
		if op == "" || asset == "" {
			continue // no business operation, or nothing posted on its principal
		}
		amount := amountOf(meta["amount"], principal)
		fee := amountOf(meta["fee"], 0)
		product := meta["product"]
		if product == "" && origText != "" {
			var orig map[string]string
			if err := json.Unmarshal([]byte(origText), &orig); err != nil {
				return fmt.Errorf("settlement %s: operations: metadata: %w", date, err)
			}
			product = orig["product"]
		}
		pk := productKey{inst, product, op, asset}
		p, ok := products[pk]
		if !ok {
			p = &SettlementProduct{Product: product, Operation: op, Asset: asset}
			products[pk] = p
		}
		p.Count++
		if errors.Join(addTo(&p.Amount, amount), addTo(&p.Fees, fee)) != nil {
			return overflow(date, "product "+product)
		}
		var mk merchantKey
		switch {
		case op == opPayment && kind == "transfer":
			mk = merchantKey{inst, credit, asset}
		case op == opRefund && kind == "reversal":
			mk = merchantKey{inst, debit, asset}
		default:
			continue
		}
		m, ok := merchants[mk]
		if !ok {
			m = &SettlementMerchant{AccountID: mk.account, Asset: asset}
			merchants[mk] = m
		}
		if op == opRefund {
			m.RefundCount++
			err = addTo(&m.Refunds, amount)
		} else {
			m.Count++
			merchantFee := int64(0)
			if meta["fee_payer"] == payerPaid {
				merchantFee = fee
			}
			err = errors.Join(addTo(&m.Amount, amount), addTo(&m.Fees, merchantFee))
		}
		if err != nil {
			return overflow(date, "merchant "+mk.account)
		}
	}
	return rows.Err()
}

// amountOf reads an amount from an operation's metadata, or returns
// fallback when it holds none (a transaction posted without the
// operations service).
func amountOf(s string, fallback int64) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return fallback
	}
	return v
}

// SettlementCSVHeader is the header of the settlement CSV: one row per
// channel, merchant or product line (section says which; columns that do
// not apply are empty), amounts as decimals in the asset's scale.
var SettlementCSVHeader = []string{"section", "date", "institution_id", "channel", "direction", "merchant_account",
	"product", "operation", "currency", "count", "amount", "fees", "refund_count", "refunds", "net"}

func settlementCSV(s *Settlement) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(SettlementCSVHeader)
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, c := range s.Channels {
		f := func(v int64) string { return money.Format(v, c.Scale) }
		_ = w.Write([]string{"channel", s.Date, csvSafe(s.InstitutionID), csvSafe(c.Code), csvSafe(c.Direction), "", "", "",
			csvSafe(c.Asset), n(c.Count), f(c.Amount), f(c.Fees), "", "", f(c.Net)})
	}
	for _, m := range s.Merchants {
		f := func(v int64) string { return money.Format(v, m.Scale) }
		_ = w.Write([]string{"merchant", s.Date, csvSafe(s.InstitutionID), "", "", csvSafe(m.AccountID), "", "",
			csvSafe(m.Asset), n(m.Count), f(m.Amount), f(m.Fees), n(m.RefundCount), f(m.Refunds), f(m.Net)})
	}
	for _, p := range s.Products {
		f := func(v int64) string { return money.Format(v, p.Scale) }
		_ = w.Write([]string{"product", s.Date, csvSafe(s.InstitutionID), "", "", "", csvSafe(p.Product), csvSafe(p.Operation),
			csvSafe(p.Asset), n(p.Count), f(p.Amount), f(p.Fees), "", "", ""})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("settlement CSV of %s: %w", s.InstitutionID, err)
	}
	return b.Bytes(), nil
}

// csvSafe keeps a text cell from being read as a formula by a spreadsheet.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}
