package httpapi

import (
	"context"
	"database/sql"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/recon"
	"github.com/suanpan/suanpan/internal/recon/statement"
)

// Reconciliation: how each channel's statement is read and matched,
// statement imports, runs (one channel, one branch, or a head office with
// its branches), and the discrepancies operators decide.

type reconSettingsBody struct {
	Format            statement.Format `json:"format" doc:"How the channel's statement file is laid out: kind native (the channel's own format), csv (with columns, a column map) or camt053 (ISO 20022)."`
	AmountTolerance   int64            `json:"amount_tolerance,omitempty" minimum:"0" doc:"Minor units a line without a usable reference may differ from an order by and still be taken as the same payment (the difference is still reported)."`
	AmountToleranceBP int64            `json:"amount_tolerance_bp,omitempty" minimum:"0" maximum:"10000" doc:"The same as basis points of the order amount; the larger of the two applies."`
	DateToleranceMs   *int64           `json:"date_tolerance_ms,omitempty" minimum:"0" doc:"How far such a line's and order's times may differ; omitted: a day."`
	LateWindowMs      *int64           `json:"late_window_ms,omitempty" minimum:"0" doc:"How long a one-sided item waits before it is a discrepancy; omitted: two days."`
	AlertCount        int64            `json:"alert_count,omitempty" minimum:"0" doc:"A run leaving more open discrepancies alerts (recon.alert)."`
	AlertAmount       int64            `json:"alert_amount,omitempty" minimum:"0" doc:"A run leaving more than this (sum of absolute differences, minor units) open alerts."`
	AutoFailShort     *bool            `json:"auto_fail_short,omitempty" doc:"Fail (and compensate) orders the channel never listed once the late window has passed; default true."`
}

type reconSettingsIn struct {
	ID   string `path:"id" maxLength:"64"`
	Body reconSettingsBody
}

type reconSettingsOut struct {
	Body *recon.Settings
}

type statementImportIn struct {
	ChannelID string `query:"channel_id" required:"true" minLength:"1" maxLength:"64"`
	Date      string `query:"date" required:"true" pattern:"^\\d{4}-\\d{2}-\\d{2}$" doc:"The business date the statement covers, YYYY-MM-DD."`
	RawBody   []byte `contentType:"application/octet-stream"`
}

type reconStatementOut struct {
	Status int
	Body   *recon.Statement
}

type reconStatementListIn struct {
	ChannelID string `query:"channel_id" maxLength:"64"`
	Date      string `query:"date" pattern:"^\\d{4}-\\d{2}-\\d{2}$"`
	After     string `query:"after" maxLength:"64" doc:"Cursor: next_cursor of the previous page."`
	Limit     int    `query:"limit" minimum:"0" maximum:"1000" doc:"Page size, default 100."`
}

type reconStatementPage struct {
	Body struct {
		Items      []*recon.Statement `json:"items"`
		NextCursor string             `json:"next_cursor,omitempty"`
	}
}

type reconRunIn struct {
	Body struct {
		ChannelID     string `json:"channel_id,omitempty" maxLength:"64" doc:"Reconcile this channel; or give institution_id."`
		InstitutionID string `json:"institution_id,omitempty" maxLength:"64" doc:"Reconcile every channel of this institution (a branch) that has a statement for the date; default the key's institution."`
		Subtree       bool   `json:"subtree,omitempty" doc:"With institution_id: its branches too (a centralized run)."`
		Date          string `json:"date" pattern:"^\\d{4}-\\d{2}-\\d{2}$" doc:"The statement's business date."`
		DryRun        bool   `json:"dry_run,omitempty" doc:"Show what would match and what would be done (at most 1000 items per run); write nothing."`
	}
}

type reconRunsOut struct {
	Body *recon.Branches
}

type reconRunListIn struct {
	ChannelID string `query:"channel_id" maxLength:"64"`
	Date      string `query:"date" pattern:"^\\d{4}-\\d{2}-\\d{2}$"`
	After     string `query:"after" maxLength:"64"`
	Limit     int    `query:"limit" minimum:"0" maximum:"1000"`
}

type reconRunPage struct {
	Body struct {
		Items      []*recon.Run `json:"items"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}
}

type reconRunOut struct {
	Body *recon.Run
}

type discrepancyListIn struct {
	Status    string `query:"status" enum:"new,open,write_off_pending,resolved,"`
	Kind      string `query:"kind" enum:"long,short,amount_mismatch,status_mismatch,duplicate,fee_mismatch,"`
	ChannelID string `query:"channel_id" maxLength:"64"`
	RunID     string `query:"run_id" maxLength:"64"`
	After     string `query:"after" maxLength:"64"`
	Limit     int    `query:"limit" minimum:"0" maximum:"1000"`
}

type discrepancyPage struct {
	Body struct {
		Items      []*recon.Discrepancy `json:"items"`
		NextCursor string               `json:"next_cursor,omitempty"`
	}
}

type discrepancyOut struct {
	Body *recon.Discrepancy
}

type discrepancyResolveIn struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Action    string `json:"action" enum:"accept_channel,accept_suanpan,write_off"`
		AccountID string `json:"account_id,omitempty" maxLength:"64" doc:"accept_channel: the customer account the channel's side belongs to, when the discrepancy names none (a long line) or another is meant."`
		Note      string `json:"note" minLength:"1" maxLength:"500" doc:"Why: kept with the discrepancy and in the audit log."`
	}
}

type decideIn struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Note string `json:"note,omitempty" maxLength:"500"`
	}
}

func (s *Server) registerRecon() {
	tags := []string{"Reconciliation"}
	register(s, huma.Operation{OperationID: "get-recon-settings", Method: http.MethodGet, Path: "/recon/channels/{id}/settings", Tags: tags,
		Summary: "How a channel is reconciled", Description: "The defaults when none were saved: its own statement format, exact " +
			"amounts, a day's date tolerance, a two-day late window, alerts on any open discrepancy."}, auth.ReconRead, s.getReconSettings)
	register(s, huma.Operation{OperationID: "put-recon-settings", Method: http.MethodPut, Path: "/recon/channels/{id}/settings", Tags: tags,
		Summary: "Set how a channel is reconciled", Description: "The statement format (a CSV column map per channel and branch, " +
			"camt.053 or the channel's own), tolerances, late window and alert thresholds; the next import and run use them."},
		auth.ReconWrite, s.putReconSettings)
	register(s, huma.Operation{OperationID: "import-recon-statement", Method: http.MethodPost, Path: "/recon/statements", Tags: tags,
		Summary: "Import a channel's statement file", Description: "The body is the file as the channel delivered it (at most " +
			"512 MiB), read in the channel's configured format. Every line must parse, be in the channel's asset and fall on the " +
			"date; the file's own totals, balances and counts must agree (statement_invalid otherwise, and nothing is stored). " +
			"The same file again returns the stored statement (200); another file for the same channel and date is refused " +
			"(statement_exists).", DefaultStatus: http.StatusCreated, MaxBodyBytes: 512 << 20}, auth.ReconWrite, s.importReconStatement)
	register(s, huma.Operation{OperationID: "list-recon-statements", Method: http.MethodGet, Path: "/recon/statements", Tags: tags,
		Summary: "Imported statements", Description: "Newest first, a page at a time."}, auth.ReconRead, s.listReconStatements)
	register(s, huma.Operation{OperationID: "get-recon-statement", Method: http.MethodGet, Path: "/recon/statements/{id}", Tags: tags,
		Summary: "An imported statement"}, auth.ReconRead, s.getReconStatement)
	register(s, huma.Operation{OperationID: "get-recon-statement-file", Method: http.MethodGet, Path: "/recon/statements/{id}/file", Tags: tags,
		Summary: "An imported statement's file, as it came", Responses: rawResponses("application/octet-stream")},
		auth.ReconRead, s.reconStatementFile)
	register(s, huma.Operation{OperationID: "run-recon", Method: http.MethodPost, Path: "/recon/runs", Tags: tags,
		Summary: "Reconcile statements with orders", Description: "One channel (channel_id), or every channel of a branch that has " +
			"a statement for the date (institution_id), with its branches (subtree: a centralized run). Matching is by order ID " +
			"and channel reference first, then by amount, time and party within the channel's tolerances; one line may settle " +
			"several orders (a batch). A channel's answer for an order without one is applied; an order the channel never " +
			"listed fails once the late window has passed (compensated if it had succeeded); every other difference is parked " +
			"in suspense and listed for operators. Late items wait for the next run. dry_run shows all this and writes nothing."},
		auth.ReconWrite, s.runRecon)
	register(s, huma.Operation{OperationID: "list-recon-runs", Method: http.MethodGet, Path: "/recon/runs", Tags: tags,
		Summary: "Reconciliation runs", Description: "Newest first."}, auth.ReconRead, s.listReconRuns)
	register(s, huma.Operation{OperationID: "get-recon-run", Method: http.MethodGet, Path: "/recon/runs/{id}", Tags: tags,
		Summary: "A reconciliation run"}, auth.ReconRead, s.getReconRun)
	register(s, huma.Operation{OperationID: "list-discrepancies", Method: http.MethodGet, Path: "/recon/discrepancies", Tags: tags,
		Summary: "Discrepancies", Description: "Oldest first; status=open is the operators' list."}, auth.ReconRead, s.listDiscrepancies)
	register(s, huma.Operation{OperationID: "get-discrepancy", Method: http.MethodGet, Path: "/recon/discrepancies/{id}", Tags: tags,
		Summary: "A discrepancy"}, auth.ReconRead, s.getDiscrepancy)
	register(s, huma.Operation{OperationID: "resolve-discrepancy", Method: http.MethodPost, Path: "/recon/discrepancies/{id}/resolve",
		Tags: tags, Summary: "Decide an open discrepancy", Description: "accept_channel: Suanpan's books follow the channel (its " +
			"orders fail and are compensated when the channel has nothing or a failure for them; otherwise the difference moves " +
			"between suspense and the customer's account). accept_suanpan: the parking is undone; the channel corrects its side. " +
			"write_off: proposes writing the difference off to the write-off account; another person approves it. Money moves " +
			"in one ledger transaction with the discrepancy's change."}, auth.ReconResolve, s.resolveDiscrepancy)
	register(s, huma.Operation{OperationID: "approve-write-off", Method: http.MethodPost, Path: "/recon/discrepancies/{id}/write-off/approve",
		Tags: tags, Summary: "Approve a proposed write-off", Description: "Posts the parked difference from suspense to the " +
			"write-off account and resolves the discrepancy, in one transaction. The proposer may not approve (approver_is_maker)."},
		auth.ReconApprove, s.approveWriteOff)
	register(s, huma.Operation{OperationID: "reject-write-off", Method: http.MethodPost, Path: "/recon/discrepancies/{id}/write-off/reject",
		Tags: tags, Summary: "Reject a proposed write-off", Description: "The discrepancy is open again."}, auth.ReconApprove, s.rejectWriteOff)
}

// relocateRecon is relocate for the reconciliation service's errors as
// well as the payments service's: the services name a field by their own
// parameter (date, content), which the API may take from the query or the
// body.
func relocateRecon(err error, to map[string]string) error {
	var re *recon.Error
	if errors.As(err, &re) && to[re.Field] != "" {
		return &recon.Error{Code: re.Code, Message: re.Message, Field: to[re.Field]}
	}
	return relocate(err, to)
}

// recon returns the reconciliation service, or a problem when the server
// was built without one.
func (s *Server) recon(ctx context.Context) (*recon.Service, error) {
	if s.Recon == nil {
		return nil, fail(ctx, http.StatusServiceUnavailable, "unavailable", "", "reconciliation is not configured on this server")
	}
	return s.Recon, nil
}

func (s *Server) getReconSettings(ctx context.Context, in *idIn) (*reconSettingsOut, error) {
	rs, err := s.recon(ctx)
	if err != nil {
		return nil, err
	}
	st, err := rs.GetSettings(ctx, in.ID, principal(ctx).Scope)
	if err != nil {
		return nil, relocate(err, map[string]string{"channel_id": "path.id"})
	}
	return &reconSettingsOut{Body: st}, nil
}

func (s *Server) putReconSettings(ctx context.Context, in *reconSettingsIn) (*reconSettingsOut, error) {
	rs, err := s.recon(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	p := principal(ctx)
	before, err := rs.GetSettings(ctx, in.ID, p.Scope)
	if err != nil {
		return nil, relocate(err, map[string]string{"channel_id": "path.id"})
	}
	st := recon.Settings{ChannelID: in.ID, Format: b.Format, AmountTolerance: b.AmountTolerance, AmountToleranceBP: b.AmountToleranceBP,
		DateToleranceMs: recon.DefaultDateToleranceMs, LateWindowMs: recon.DefaultLateWindowMs, AlertCount: b.AlertCount, AlertAmount: b.AlertAmount,
		AutoFailShort: b.AutoFailShort == nil || *b.AutoFailShort}
	if b.DateToleranceMs != nil {
		st.DateToleranceMs = *b.DateToleranceMs
	}
	if b.LateWindowMs != nil {
		st.LateWindowMs = *b.LateWindowMs
	}
	var got *recon.Settings
	got, err = rs.PutSettings(ctx, st, p.KeyID, p.Scope, func(wctx context.Context, tx *sql.Tx) error {
		return s.audit(ctx, "recon_settings.put", "payment_channel:"+in.ID, before.InstitutionID, before, st)(wctx, tx)
	})
	if err != nil {
		return nil, relocate(err, map[string]string{"channel_id": "path.id"})
	}
	return &reconSettingsOut{Body: got}, nil
}

func (s *Server) importReconStatement(ctx context.Context, in *statementImportIn) (*reconStatementOut, error) {
	rs, err := s.recon(ctx)
	if err != nil {
		return nil, err
	}
	p := principal(ctx)
	fields := map[string]string{"channel_id": "query.channel_id", "date": "query.date", "content": "body"}
	// The record belongs to the channel's institution, whoever imports.
	ch, err := rs.GetSettings(ctx, in.ChannelID, p.Scope)
	if err != nil {
		return nil, relocateRecon(err, fields)
	}
	st, duplicate, err := rs.Import(ctx, recon.ImportRequest{ChannelID: in.ChannelID, Date: in.Date, Content: in.RawBody, By: p.KeyID,
		Scope: p.Scope, Writes: []recon.Write{func(wctx context.Context, tx *sql.Tx) error {
			return s.audit(ctx, "recon_statements.import", "payment_channel:"+in.ChannelID, ch.InstitutionID, nil,
				map[string]any{"channel_id": in.ChannelID, "date": in.Date, "size": len(in.RawBody)})(wctx, tx)
		}}})
	if err != nil {
		return nil, relocateRecon(err, fields)
	}
	status := http.StatusCreated
	if duplicate {
		status = http.StatusOK
	}
	return &reconStatementOut{Status: status, Body: st}, nil
}

func (s *Server) listReconStatements(ctx context.Context, in *reconStatementListIn) (*reconStatementPage, error) {
	rs, err := s.recon(ctx)
	if err != nil {
		return nil, err
	}
	items, next, err := rs.ListStatements(ctx, recon.StatementFilter{ChannelID: in.ChannelID, Date: in.Date, After: in.After,
		Limit: in.Limit, Scope: principal(ctx).Scope})
	if err != nil {
		return nil, err
	}
	out := &reconStatementPage{}
	out.Body.Items, out.Body.NextCursor = items, next
	return out, nil
}

func (s *Server) getReconStatement(ctx context.Context, in *idIn) (*reconStatementOut, error) {
	rs, err := s.recon(ctx)
	if err != nil {
		return nil, err
	}
	st, err := rs.GetStatement(ctx, in.ID, principal(ctx).Scope)
	if err != nil {
		return nil, relocate(err, map[string]string{"id": "path.id"})
	}
	return &reconStatementOut{Status: http.StatusOK, Body: st}, nil
}

func (s *Server) reconStatementFile(ctx context.Context, in *idIn) (*rawOut, error) {
	rs, err := s.recon(ctx)
	if err != nil {
		return nil, err
	}
	st, content, err := rs.StatementFile(ctx, in.ID, principal(ctx).Scope)
	if err != nil {
		return nil, relocate(err, map[string]string{"id": "path.id"})
	}
	return &rawOut{ContentType: "application/octet-stream",
		ContentDisposition: `attachment; filename="statement-` + st.ChannelID + `-` + st.Date + `"`, Body: content}, nil
}

func (s *Server) runRecon(ctx context.Context, in *reconRunIn) (*reconRunsOut, error) {
	rs, err := s.recon(ctx)
	if err != nil {
		return nil, err
	}
	p := principal(ctx)
	b := in.Body
	// auditIn records the run in institution inst.
	auditIn := func(inst string) recon.Write {
		return func(wctx context.Context, tx *sql.Tx) error {
			return s.audit(ctx, "recon_runs.run", "recon:"+b.Date, inst, nil, b)(wctx, tx)
		}
	}
	if b.ChannelID != "" {
		if b.InstitutionID != "" || b.Subtree {
			return nil, fail(ctx, http.StatusUnprocessableEntity, "invalid_request", "body.channel_id",
				"give channel_id or institution_id, not both")
		}
		// The record belongs to the channel's institution, whoever runs.
		// (The services' channel_id and date are the body's.)
		ch, err := rs.GetSettings(ctx, b.ChannelID, p.Scope)
		if err != nil {
			return nil, err
		}
		run, err := rs.Run(ctx, recon.RunRequest{ChannelID: b.ChannelID, Date: b.Date, DryRun: b.DryRun, By: p.KeyID, Scope: p.Scope,
			Writes: []recon.Write{auditIn(ch.InstitutionID)}})
		if err != nil {
			return nil, err
		}
		out := &recon.Branches{Runs: []*recon.Run{run}, Missing: []string{}, Open: run.Counts["open"], OpenAmount: run.OpenAmount,
			Alerted: run.Alerted}
		return &reconRunsOut{Body: out}, nil
	}
	inst, err := institution(ctx, b.InstitutionID)
	if err != nil {
		return nil, err
	}
	insts := []string{inst}
	if b.Subtree {
		if insts, err = s.Auth.Subtree(ctx, inst); err != nil {
			return nil, err
		}
	}
	out, err := rs.RunBranches(ctx, recon.BranchRequest{InstitutionIDs: insts, Date: b.Date, DryRun: b.DryRun, By: p.KeyID,
		Scope: p.Scope, Writes: []recon.Write{auditIn(inst)}})
	if err != nil {
		return nil, err
	}
	return &reconRunsOut{Body: out}, nil
}

func (s *Server) listReconRuns(ctx context.Context, in *reconRunListIn) (*reconRunPage, error) {
	rs, err := s.recon(ctx)
	if err != nil {
		return nil, err
	}
	items, next, err := rs.ListRuns(ctx, recon.RunFilter{ChannelID: in.ChannelID, Date: in.Date, After: in.After, Limit: in.Limit,
		Scope: principal(ctx).Scope})
	if err != nil {
		return nil, err
	}
	out := &reconRunPage{}
	out.Body.Items, out.Body.NextCursor = items, next
	return out, nil
}

func (s *Server) getReconRun(ctx context.Context, in *idIn) (*reconRunOut, error) {
	rs, err := s.recon(ctx)
	if err != nil {
		return nil, err
	}
	r, err := rs.GetRun(ctx, in.ID, principal(ctx).Scope)
	if err != nil {
		return nil, relocate(err, map[string]string{"id": "path.id"})
	}
	return &reconRunOut{Body: r}, nil
}

func (s *Server) listDiscrepancies(ctx context.Context, in *discrepancyListIn) (*discrepancyPage, error) {
	rs, err := s.recon(ctx)
	if err != nil {
		return nil, err
	}
	items, next, err := rs.ListDiscrepancies(ctx, recon.DiscrepancyFilter{Status: in.Status, Kind: in.Kind, ChannelID: in.ChannelID,
		RunID: in.RunID, After: in.After, Limit: in.Limit, Scope: principal(ctx).Scope})
	if err != nil {
		return nil, err
	}
	out := &discrepancyPage{}
	out.Body.Items, out.Body.NextCursor = items, next
	return out, nil
}

func (s *Server) getDiscrepancy(ctx context.Context, in *idIn) (*discrepancyOut, error) {
	rs, err := s.recon(ctx)
	if err != nil {
		return nil, err
	}
	d, err := rs.GetDiscrepancy(ctx, in.ID, principal(ctx).Scope)
	if err != nil {
		return nil, relocate(err, map[string]string{"id": "path.id"})
	}
	return &discrepancyOut{Body: d}, nil
}

// auditDiscrepancy records a decision on a discrepancy in its
// institution, whoever decides.
func (s *Server) auditDiscrepancy(ctx context.Context, op string, d *recon.Discrepancy, body any) recon.Write {
	return func(wctx context.Context, tx *sql.Tx) error {
		return s.audit(ctx, op, "discrepancy:"+d.ID, d.InstitutionID, nil, body)(wctx, tx)
	}
}

func (s *Server) resolveDiscrepancy(ctx context.Context, in *discrepancyResolveIn) (*discrepancyOut, error) {
	rs, err := s.recon(ctx)
	if err != nil {
		return nil, err
	}
	p := principal(ctx)
	target, err := rs.GetDiscrepancy(ctx, in.ID, p.Scope)
	if err != nil {
		return nil, relocate(err, map[string]string{"id": "path.id"})
	}
	d, err := rs.Resolve(ctx, recon.ResolveRequest{ID: in.ID, Action: in.Body.Action, AccountID: in.Body.AccountID, Note: in.Body.Note,
		By: p.KeyID, Scope: p.Scope, Writes: []recon.Write{s.auditDiscrepancy(ctx, "discrepancies."+in.Body.Action, target, in.Body)}})
	if err != nil {
		return nil, relocate(err, map[string]string{"id": "path.id"})
	}
	return &discrepancyOut{Body: d}, nil
}

func (s *Server) approveWriteOff(ctx context.Context, in *decideIn) (*discrepancyOut, error) {
	return s.decideWriteOff(ctx, in, true)
}

func (s *Server) rejectWriteOff(ctx context.Context, in *decideIn) (*discrepancyOut, error) {
	return s.decideWriteOff(ctx, in, false)
}

func (s *Server) decideWriteOff(ctx context.Context, in *decideIn, approve bool) (*discrepancyOut, error) {
	rs, err := s.recon(ctx)
	if err != nil {
		return nil, err
	}
	p := principal(ctx)
	op := "discrepancies.write_off_reject"
	if approve {
		op = "discrepancies.write_off_approve"
	}
	target, err := rs.GetDiscrepancy(ctx, in.ID, p.Scope)
	if err != nil {
		return nil, relocate(err, map[string]string{"id": "path.id"})
	}
	d, err := rs.DecideWriteOff(ctx, recon.DecideRequest{ID: in.ID, Approve: approve, Note: in.Body.Note, By: p.KeyID, Scope: p.Scope,
		Writes: []recon.Write{s.auditDiscrepancy(ctx, op, target, in.Body)}})
	if err != nil {
		return nil, relocate(err, map[string]string{"id": "path.id"})
	}
	return &discrepancyOut{Body: d}, nil
}
