package httpapi

import (
	"context"
	"time"

	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
)

// The API's response shapes. Amounts are integer minor units; the
// *_display fields are the same amounts as decimal strings of the asset.

// AccountView is an account with its balances.
type AccountView struct {
	ID               string            `json:"id"`
	InstitutionID    string            `json:"institution_id"`
	Asset            string            `json:"asset"`
	Code             string            `json:"code" doc:"Chart-of-accounts code."`
	Name             string            `json:"name"`
	NormalSide       string            `json:"normal_side" enum:"debit,credit"`
	Overdraft        string            `json:"overdraft" enum:"none,limit,unlimited"`
	OverdraftLimit   int64             `json:"overdraft_limit"`
	Status           string            `json:"status" enum:"active,debit_frozen,credit_frozen,frozen,closed"`
	Metadata         map[string]string `json:"metadata"`
	Balances         ledger.Balances   `json:"balances"`
	Balance          int64             `json:"balance" doc:"Posted balance on the normal side, minor units."`
	BalanceDisplay   string            `json:"balance_display"`
	Available        int64             `json:"available" doc:"Balance less pending outflows, minor units."`
	AvailableDisplay string            `json:"available_display"`
	CreatedAt        time.Time         `json:"created_at"`
	UpdatedAt        time.Time         `json:"updated_at"`
}

// PostingView is one posting of a transaction.
type PostingView struct {
	Debit         string `json:"debit"`
	Credit        string `json:"credit"`
	Asset         string `json:"asset"`
	Amount        int64  `json:"amount"`
	AmountDisplay string `json:"amount_display"`
}

// EntryView is one journal line with the account's totals after it.
type EntryView struct {
	AccountID     string          `json:"account_id"`
	Seq           int64           `json:"seq"`
	TransactionID string          `json:"transaction_id"`
	Posting       int             `json:"posting"`
	Side          string          `json:"side" enum:"debit,credit"`
	Kind          string          `json:"kind" enum:"posted,pending,release"`
	Asset         string          `json:"asset"`
	Amount        int64           `json:"amount"`
	AmountDisplay string          `json:"amount_display"`
	After         ledger.Balances `json:"after"`
	CreatedAt     time.Time       `json:"created_at"`
}

// TransactionView is a journal transaction.
type TransactionView struct {
	ID            string            `json:"id"`
	InstitutionID string            `json:"institution_id"`
	Reference     string            `json:"reference"`
	Kind          string            `json:"kind" enum:"transfer,hold,post,void,reversal"`
	Type          string            `json:"type"`
	BusinessDate  string            `json:"business_date"`
	Metadata      map[string]string `json:"metadata"`
	HoldID        string            `json:"hold_id,omitempty"`
	ReversesID    string            `json:"reverses_id,omitempty"`
	ExpiresAt     *time.Time        `json:"expires_at,omitempty"`
	Postings      []PostingView     `json:"postings"`
	Entries       []EntryView       `json:"entries"`
	CreatedAt     time.Time         `json:"created_at"`
}

// HoldView is a hold and what it reserves.
type HoldView struct {
	ID            string        `json:"id"`
	InstitutionID string        `json:"institution_id"`
	Status        string        `json:"status" enum:"pending,posted,voided,expired"`
	ExpiresAt     *time.Time    `json:"expires_at,omitempty"`
	ResolvedBy    string        `json:"resolved_by,omitempty"`
	Postings      []PostingView `json:"postings"`
	CreatedAt     time.Time     `json:"created_at"`
}

// scale returns an asset's scale; assets never change, so it is cached.
func (s *Server) scale(ctx context.Context, code string) int {
	s.assetMu.Lock()
	sc, ok := s.scales[code]
	s.assetMu.Unlock()
	if ok {
		return sc
	}
	a, err := s.Ledger.GetAsset(ctx, code)
	if err != nil {
		return 0
	}
	s.assetMu.Lock()
	s.scales[code] = a.Scale
	s.assetMu.Unlock()
	return a.Scale
}

func (s *Server) display(ctx context.Context, asset string, amount int64) string {
	return money.Format(amount, s.scale(ctx, asset))
}

func (s *Server) accountView(ctx context.Context, a *ledger.Account) *AccountView {
	avail, _ := a.Available(a.NormalSide)
	bal := a.Balance(a.NormalSide)
	return &AccountView{ID: a.ID, InstitutionID: a.InstitutionID, Asset: a.Asset, Code: a.Code, Name: a.Name,
		NormalSide: string(a.NormalSide), Overdraft: string(a.Overdraft), OverdraftLimit: a.OverdraftLimit,
		Status: string(a.Status), Metadata: a.Metadata, Balances: a.Balances, Balance: bal,
		BalanceDisplay: s.display(ctx, a.Asset, bal), Available: avail, AvailableDisplay: s.display(ctx, a.Asset, avail),
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

func (s *Server) postingViews(ctx context.Context, ps []ledger.Posting) []PostingView {
	out := make([]PostingView, len(ps))
	for i, p := range ps {
		out[i] = PostingView{Debit: p.Debit, Credit: p.Credit, Asset: p.Asset, Amount: p.Amount,
			AmountDisplay: s.display(ctx, p.Asset, p.Amount)}
	}
	return out
}

func (s *Server) entryView(ctx context.Context, e ledger.Entry) EntryView {
	return EntryView{AccountID: e.AccountID, Seq: e.Seq, TransactionID: e.TransactionID, Posting: e.Posting,
		Side: string(e.Side), Kind: string(e.Kind), Asset: e.Asset, Amount: e.Amount,
		AmountDisplay: s.display(ctx, e.Asset, e.Amount), After: e.After, CreatedAt: e.CreatedAt}
}

func (s *Server) transactionView(ctx context.Context, t *ledger.Transaction) *TransactionView {
	v := &TransactionView{ID: t.ID, InstitutionID: t.InstitutionID, Reference: t.Reference, Kind: string(t.Kind),
		Type: t.Type, BusinessDate: t.BusinessDate, Metadata: t.Metadata, HoldID: t.HoldID, ReversesID: t.ReversesID,
		Postings: s.postingViews(ctx, t.Postings), Entries: make([]EntryView, len(t.Entries)), CreatedAt: t.CreatedAt}
	if !t.ExpiresAt.IsZero() {
		e := t.ExpiresAt
		v.ExpiresAt = &e
	}
	for i, e := range t.Entries {
		v.Entries[i] = s.entryView(ctx, e)
	}
	return v
}

func (s *Server) holdView(ctx context.Context, h *ledger.Hold) *HoldView {
	v := &HoldView{ID: h.ID, InstitutionID: h.InstitutionID, Status: string(h.Status), ResolvedBy: h.ResolvedBy,
		Postings: s.postingViews(ctx, h.Postings), CreatedAt: h.CreatedAt}
	if !h.ExpiresAt.IsZero() {
		e := h.ExpiresAt
		v.ExpiresAt = &e
	}
	return v
}
