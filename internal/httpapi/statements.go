package httpapi

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/danielgtaylor/huma/v2"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/auth"
)

type generateStatementIn struct {
	ID   string `path:"id" maxLength:"64" doc:"The customer."`
	Body struct {
		From       string `json:"from" format:"date" doc:"First business date of the period, YYYY-MM-DD."`
		To         string `json:"to" format:"date" doc:"Business date after the period's last (exclusive), YYYY-MM-DD; at most 366 days after from."`
		Regenerate bool   `json:"regenerate,omitempty" doc:"Build the statement again and replace the stored one of the period (it keeps its ID)."`
	}
}

type statementOut struct {
	Status int
	Body   *accounts.Statement
}

type statementListIn struct {
	ID    string `path:"id" maxLength:"64" doc:"The customer."`
	Limit int    `query:"limit" minimum:"0" maximum:"1000" doc:"At most this many, default 100."`
}

type statementListOut struct {
	Body struct {
		Items []accounts.StatementSummary `json:"items"`
	}
}

type statementIn struct {
	ID string `path:"id" maxLength:"64"`
}

// rawOut is a non-JSON answer: a body with its content type.
type rawOut struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

type runChecksOut struct {
	Body struct {
		OK   bool                 `json:"ok" doc:"Every institution's check holds: no difference and a balanced trial balance."`
		Runs []*accounts.CheckRun `json:"runs" doc:"One per institution in the caller's scope that has accounts."`
	}
}

type checkRunsIn struct {
	Limit int `query:"limit" minimum:"0" maximum:"1000" doc:"At most this many, newest first; default 100."`
}

type checkRunsOut struct {
	Body struct {
		Items []*accounts.CheckRun `json:"items"`
	}
}

type registerControlIn struct {
	Body struct {
		AccountID string `json:"account_id" minLength:"1" maxLength:"64" doc:"Becomes the control account of its institution, chart code and asset, replacing any before."`
	}
}

type controlOut struct {
	Body *accounts.ControlAccount
}

type vouchersIn struct {
	Date   string `query:"date" required:"true" format:"date" doc:"The business date, YYYY-MM-DD."`
	Format string `query:"format" enum:"json,csv" default:"json"`
}

// vouchersView is the JSON form of a date's vouchers.
type vouchersView struct {
	Date  string              `json:"date"`
	Items []*accounts.Voucher `json:"items"`
}

type vouchersOut struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

func (s *Server) registerStatements() {
	tags := []string{"Statements and checks"}
	register(s, huma.Operation{OperationID: "generate-statement", Method: http.MethodPost, Path: "/customers/{id}/statements", Tags: tags,
		Summary: "Generate a customer's statement", Description: "For a period of business dates [from, to) across all the customer's " +
			"accounts: opening balance, every posted entry with its running balance, closing balance. The statement is stored; " +
			"asking again for the same period returns the stored one (200) unless regenerate is set. Created: 201.",
		DefaultStatus: http.StatusCreated}, auth.LedgerRead, s.generateStatement)
	register(s, huma.Operation{OperationID: "list-statements", Method: http.MethodGet, Path: "/customers/{id}/statements", Tags: tags,
		Summary: "A customer's stored statements", Description: "Newest period first, without their lines."}, auth.LedgerRead, s.listStatements)
	register(s, huma.Operation{OperationID: "get-statement", Method: http.MethodGet, Path: "/statements/{id}", Tags: tags,
		Summary: "A stored statement", Description: "As JSON; the customer's name is masked."}, auth.LedgerRead, s.getStatement)
	register(s, huma.Operation{OperationID: "get-statement-csv", Method: http.MethodGet, Path: "/statements/{id}/csv", Tags: tags,
		Summary: "A stored statement as CSV", Description: "text/csv: per account an opening balance line, one line per entry " +
			"(account, asset, date, type, reference, debit, credit, balance; amounts as decimal strings) and a closing line.",
		Responses: rawResponses("text/csv")}, auth.LedgerRead, s.statementCSV)
	register(s, huma.Operation{OperationID: "get-statement-html", Method: http.MethodGet, Path: "/statements/{id}/html", Tags: tags,
		Summary: "A stored statement as a printable page", Description: "text/html with a print stylesheet; the customer's name is masked.",
		Responses: rawResponses("text/html")}, auth.LedgerRead, s.statementHTML)
	register(s, huma.Operation{OperationID: "run-checks", Method: http.MethodPost, Path: "/checks", Tags: tags,
		Summary: "Run the total-score check", Description: "For every institution in the caller's scope: each registered control " +
			"account's balance against the sum of its sub-accounts (all other accounts with its code and asset), codes without a " +
			"control account (informational), and the trial balance. Each run is stored; ok is false on any difference."},
		auth.LedgerVerify, s.runChecks)
	register(s, huma.Operation{OperationID: "list-checks", Method: http.MethodGet, Path: "/checks", Tags: tags,
		Summary: "Past total-score check runs", Description: "Of the caller's institutions, newest first."}, auth.LedgerVerify, s.listChecks)
	register(s, huma.Operation{OperationID: "register-control-account", Method: http.MethodPost, Path: "/control-accounts", Tags: tags,
		Summary: "Register a control account", Description: "The account becomes the control account of its institution, chart " +
			"code and asset for the total-score check, replacing any registered before."}, auth.AccountsWrite, s.registerControl)
	register(s, huma.Operation{OperationID: "daily-vouchers", Method: http.MethodGet, Path: "/vouchers", Tags: tags,
		Summary: "Daily summarized accounting vouchers", Description: "For a business date, one voucher per institution in the " +
			"caller's scope: per chart code and currency the total posted debits and credits. format=csv gives a general-ledger " +
			"import layout (date, voucher_no, line, account_code, debit, credit, currency, text; decimal amounts); format=json " +
			"the vouchers with their totals.",
		Responses: contentResponses[vouchersView](s, "application/json", "text/csv")}, auth.LedgerRead, s.vouchers)
}

// rawResponses documents a 200 answer of the given content types with a
// string body.
func rawResponses(types ...string) map[string]*huma.Response {
	content := map[string]*huma.MediaType{}
	for _, t := range types {
		content[t] = &huma.MediaType{Schema: &huma.Schema{Type: "string"}}
	}
	return map[string]*huma.Response{"200": {Description: "OK", Content: content}}
}

func (s *Server) statements(ctx context.Context) (*accounts.Statements, error) {
	cs, err := s.customers(ctx)
	if err != nil {
		return nil, err
	}
	return accounts.NewStatements(s.Ledger, cs, s.Lifecycle), nil
}

func (s *Server) generateStatement(ctx context.Context, in *generateStatementIn) (*statementOut, error) {
	st, err := s.statements(ctx)
	if err != nil {
		return nil, err
	}
	got, stored, err := st.Generate(ctx, accounts.StatementRequest{CustomerID: in.ID, From: in.Body.From, To: in.Body.To,
		Regenerate: in.Body.Regenerate, Scope: principal(ctx).Scope})
	if err != nil {
		return nil, err
	}
	status := http.StatusCreated
	if stored {
		status = http.StatusOK
	}
	return &statementOut{Status: status, Body: got}, nil
}

func (s *Server) listStatements(ctx context.Context, in *statementListIn) (*statementListOut, error) {
	st, err := s.statements(ctx)
	if err != nil {
		return nil, err
	}
	items, err := st.List(ctx, in.ID, principal(ctx).Scope, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &statementListOut{}
	out.Body.Items = items
	return out, nil
}

func (s *Server) statement(ctx context.Context, id string) (*accounts.Statement, error) {
	st, err := s.statements(ctx)
	if err != nil {
		return nil, err
	}
	return st.Get(ctx, id, principal(ctx).Scope)
}

func (s *Server) getStatement(ctx context.Context, in *statementIn) (*statementOut, error) {
	got, err := s.statement(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &statementOut{Status: http.StatusOK, Body: got}, nil
}

func (s *Server) statementCSV(ctx context.Context, in *statementIn) (*rawOut, error) {
	got, err := s.statement(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := got.WriteCSV(&b); err != nil {
		return nil, err
	}
	return &rawOut{ContentType: "text/csv; charset=utf-8", ContentDisposition: `attachment; filename="statement-` + got.ID + `.csv"`,
		Body: b.Bytes()}, nil
}

func (s *Server) statementHTML(ctx context.Context, in *statementIn) (*rawOut, error) {
	got, err := s.statement(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := got.WriteHTML(&b); err != nil {
		return nil, err
	}
	return &rawOut{ContentType: "text/html; charset=utf-8", ContentDisposition: "inline", Body: b.Bytes()}, nil
}

// scopedInstitutions returns the institutions with accounts that the
// caller may reach.
func (s *Server) scopedInstitutions(ctx context.Context, c *accounts.Checks) ([]string, error) {
	all, err := c.Institutions(ctx)
	if err != nil {
		return nil, err
	}
	scope := principal(ctx).Scope
	return slices.DeleteFunc(all, func(inst string) bool { return !slices.Contains(scope, inst) }), nil
}

func (s *Server) runChecks(ctx context.Context, _ *struct{}) (*runChecksOut, error) {
	c := accounts.NewChecks(s.Ledger)
	insts, err := s.scopedInstitutions(ctx, c)
	if err != nil {
		return nil, err
	}
	runs, err := c.Check(ctx, insts)
	if err != nil {
		return nil, err
	}
	out := &runChecksOut{}
	out.Body.OK, out.Body.Runs = true, runs
	for _, r := range runs {
		out.Body.OK = out.Body.OK && r.OK
	}
	return out, nil
}

func (s *Server) listChecks(ctx context.Context, in *checkRunsIn) (*checkRunsOut, error) {
	runs, err := accounts.NewChecks(s.Ledger).Runs(ctx, principal(ctx).Scope, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &checkRunsOut{}
	out.Body.Items = runs
	return out, nil
}

func (s *Server) registerControl(ctx context.Context, in *registerControlIn) (*controlOut, error) {
	p := principal(ctx)
	c := accounts.NewChecks(s.Ledger)
	reg, err := c.RegisterControl(ctx, in.Body.AccountID, p.KeyID, p.Scope, func(wctx context.Context, tx *sql.Tx, r *accounts.ControlAccount) error {
		return s.audit(ctx, "accounts.control", "control:"+r.Code+":"+r.Asset, r.InstitutionID, nil, r)(wctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return &controlOut{Body: reg}, nil
}

func (s *Server) vouchers(ctx context.Context, in *vouchersIn) (*vouchersOut, error) {
	vs, err := accounts.NewVouchers(s.Ledger).Daily(ctx, in.Date, principal(ctx).Scope)
	if err != nil {
		return nil, err
	}
	if in.Format == "csv" {
		var b bytes.Buffer
		if err := accounts.WriteVouchersCSV(&b, vs); err != nil {
			return nil, err
		}
		return &vouchersOut{ContentType: "text/csv; charset=utf-8", Body: b.Bytes()}, nil
	}
	if vs == nil {
		vs = []*accounts.Voucher{}
	}
	b, err := json.Marshal(vouchersView{Date: in.Date, Items: vs})
	if err != nil {
		return nil, err
	}
	return &vouchersOut{ContentType: "application/json", Body: b}, nil
}
