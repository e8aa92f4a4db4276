package httpapi

import (
	"context"
	"database/sql"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/store"
)

// End of day: closing a business date, its steps and its reports.

type eodRunIn struct {
	Body struct {
		Date string `json:"date" pattern:"^\\d{4}-\\d{2}-\\d{2}$" doc:"The business date to close, YYYY-MM-DD; it must be over."`
	}
}

type eodRunOut struct {
	Body *eod.Run
}

type eodDateIn struct {
	Date string `path:"date" pattern:"^\\d{4}-\\d{2}-\\d{2}$"`
}

type eodListIn struct {
	Limit int `query:"limit" minimum:"0" maximum:"1000" doc:"Default 30."`
}

type eodRunList struct {
	Body struct {
		Items []*eod.Run `json:"items"`
	}
}

type eodArtifactList struct {
	Body struct {
		Items []*eod.Artifact `json:"items"`
	}
}

type eodArtifactIn struct {
	Date string `path:"date" pattern:"^\\d{4}-\\d{2}-\\d{2}$"`
	Name string `path:"name" maxLength:"200"`
}

func (s *Server) registerEOD() {
	tags := []string{"End of day"}
	register(s, huma.Operation{OperationID: "run-eod", Method: http.MethodPost, Path: "/eod/runs", Tags: tags,
		Summary: "Close a business day", Description: "Runs, or resumes at the step that failed or was interrupted: cutover, " +
			"expire_holds, check (total-score check and trial balance), reconcile (every channel that delivered its statement), " +
			"settlement_report, vouchers, archive (a manifest with every report's SHA-256). A completed date is returned as it is " +
			"and nothing runs again. A day closes for every institution: the key must be of the root institution. The answer " +
			"is the run with each step's outcome; a failed step answers 422 eod_step_failed with the run recorded as failed."},
		auth.EODRun, s.runEOD)
	register(s, huma.Operation{OperationID: "list-eod-runs", Method: http.MethodGet, Path: "/eod/runs", Tags: tags,
		Summary: "End-of-day runs", Description: "Newest date first, without their steps. A failed run's last_error is " +
			"shown to keys of the root institution only, and so is manifest_sha256 (the whole manifest's)."}, auth.EODRead, s.listEODRuns)
	register(s, huma.Operation{OperationID: "get-eod-run", Method: http.MethodGet, Path: "/eod/runs/{date}", Tags: tags,
		Summary: "A business day's close, step by step", Description: "The steps' outcomes and errors cover every " +
			"institution (the trial balance, each institution's checks, channels and vouchers): only keys of the root " +
			"institution see them; other keys see each step's status, and their institutions' files under reports."},
		auth.EODRead, s.getEODRun)
	register(s, huma.Operation{OperationID: "list-eod-reports", Method: http.MethodGet, Path: "/eod/runs/{date}/reports", Tags: tags,
		Summary: "A day's reports", Description: "Those about the caller's institutions and the manifest, with size and SHA-256. " +
			"The manifest lists the reports about the caller's institutions only; for keys of the root institution it is the " +
			"archived file, whose SHA-256 is the run's manifest_sha256."},
		auth.EODRead, s.listEODReports)
	register(s, huma.Operation{OperationID: "get-eod-report", Method: http.MethodGet, Path: "/eod/runs/{date}/reports/{name}", Tags: tags,
		Summary: "Download a report", Description: "The file as archived; its SHA-256 is in the manifest and the X-Content-SHA256 header.",
		Responses: contentResponses[jsonObject](s, "text/csv", "application/json")}, auth.EODRead, s.getEODReport)
}

// eodRunner returns the end-of-day runner, or a problem when the server
// was built without one.
func (s *Server) eodRunner(ctx context.Context) (*eod.Runner, error) {
	if s.EOD == nil {
		return nil, fail(ctx, http.StatusServiceUnavailable, "unavailable", "", "end of day is not configured on this server")
	}
	return s.EOD, nil
}

func (s *Server) runEOD(ctx context.Context, in *eodRunIn) (*eodRunOut, error) {
	r, err := s.eodRunner(ctx)
	if err != nil {
		return nil, err
	}
	if err := rootOnly(ctx, "a day closes for every institution"); err != nil {
		return nil, err
	}
	p := principal(ctx)
	before, err := r.Get(ctx, in.Body.Date)
	if err != nil && eod.ErrorCode(err) != eod.CodeNotFound {
		return nil, err
	}
	run, err := r.Run(ctx, in.Body.Date, p.KeyID)
	if err != nil && eod.ErrorCode(err) != eod.CodeStepFailed {
		return nil, err // refused: nothing ran
	}
	// The steps commit one by one, so the request is audited after them,
	// with what it did; a completed date run again did nothing.
	if before == nil || (before.Status != eod.StatusCompleted && before.Status != eod.StatusCompletedWithWarnings) {
		var b any
		if before != nil {
			b = before
		}
		rec := s.audit(ctx, "eod.run", "eod:"+in.Body.Date, "", b, run)
		if aerr := s.DB.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error { return rec(ctx, tx) }); aerr != nil {
			return nil, errors.Join(err, aerr)
		}
	}
	if err != nil {
		return nil, err
	}
	return &eodRunOut{Body: run}, nil
}

func (s *Server) listEODRuns(ctx context.Context, in *eodListIn) (*eodRunList, error) {
	r, err := s.eodRunner(ctx)
	if err != nil {
		return nil, err
	}
	runs, err := r.Runs(ctx, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &eodRunList{}
	out.Body.Items = make([]*eod.Run, len(runs))
	for i, run := range runs {
		out.Body.Items[i] = eodRunFor(ctx, run)
	}
	return out, nil
}

// inPath places the runner's errors about the date in the path, where the
// routes that read a run take it.
func inPath(err error) error {
	var ee *eod.Error
	if errors.As(err, &ee) && ee.Field == "date" {
		moved := *ee
		moved.Field = "path.date"
		return &moved
	}
	return err
}

// eodRunFor is the run as the caller may see it. A day closes for every
// institution, and what its steps found (the outcomes, the errors, the
// run's last error, the checksum of the whole manifest) is about all of
// them: a key below the root sees the steps' statuses only, and the
// checksum of its own view of the manifest in the reports.
func eodRunFor(ctx context.Context, run *eod.Run) *eod.Run {
	if principal(ctx).Root {
		return run
	}
	out := *run
	out.LastError, out.ManifestSHA256 = "", ""
	if run.Steps != nil {
		out.Steps = make([]*eod.Step, len(run.Steps))
		for i, st := range run.Steps {
			c := *st
			c.Outcome, c.Error = nil, ""
			out.Steps[i] = &c
		}
	}
	return &out
}

func (s *Server) getEODRun(ctx context.Context, in *eodDateIn) (*eodRunOut, error) {
	r, err := s.eodRunner(ctx)
	if err != nil {
		return nil, err
	}
	run, err := r.Get(ctx, in.Date)
	if err != nil {
		return nil, inPath(err)
	}
	return &eodRunOut{Body: eodRunFor(ctx, run)}, nil
}

func (s *Server) listEODReports(ctx context.Context, in *eodDateIn) (*eodArtifactList, error) {
	r, err := s.eodRunner(ctx)
	if err != nil {
		return nil, err
	}
	as, err := r.Artifacts(ctx, in.Date, principal(ctx).Scope)
	if err != nil {
		return nil, inPath(err)
	}
	out := &eodArtifactList{}
	out.Body.Items = as
	return out, nil
}

type eodReportOut struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	SHA256             string `header:"X-Content-SHA256"`
	Body               []byte
}

func (s *Server) getEODReport(ctx context.Context, in *eodArtifactIn) (*eodReportOut, error) {
	r, err := s.eodRunner(ctx)
	if err != nil {
		return nil, err
	}
	a, err := r.Artifact(ctx, in.Date, in.Name, principal(ctx).Scope)
	if err != nil {
		return nil, inPath(err)
	}
	return &eodReportOut{ContentType: a.ContentType, ContentDisposition: `attachment; filename="` + a.Name + `"`, SHA256: a.SHA256,
		Body: a.Content}, nil
}
