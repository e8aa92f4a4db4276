package httpapi

import (
	"context"
	"database/sql"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/jobs"
)

// Jobs: the durable work the server does later or again until it
// succeeds (channel status queries, bulk files, webhook deliveries), for
// operators to watch, retry and cancel.

type listJobsIn struct {
	Kind  string `query:"kind" maxLength:"64" doc:"e.g. payments.query, webhook.deliver."`
	State string `query:"state" enum:"pending,running,succeeded,dead,cancelled,"`
	After string `query:"after" maxLength:"64" doc:"Cursor: next_cursor of the previous page."`
	Limit int    `query:"limit" minimum:"0" maximum:"500" doc:"Page size, default 100."`
}

type jobPage struct {
	Body struct {
		Items      []*jobs.Job `json:"items"`
		NextCursor string      `json:"next_cursor,omitempty" doc:"Cursor of the next page; absent on the last."`
	}
}

type jobOut struct {
	Body *jobs.Job
}

func (s *Server) registerJobs() {
	tags := []string{"Jobs"}
	register(s, huma.Operation{OperationID: "list-jobs", Method: http.MethodGet, Path: "/jobs", Tags: tags,
		Summary: "Scheduled jobs", Description: "Of the caller's institutions, oldest first. A job runs until its handler succeeds, " +
			"with bounded attempts and backoff; dead jobs exhausted them (last_error says why)."}, auth.JobsRead, s.listJobs)
	register(s, huma.Operation{OperationID: "get-job", Method: http.MethodGet, Path: "/jobs/{id}", Tags: tags,
		Summary: "A job"}, auth.JobsRead, s.getJob)
	register(s, huma.Operation{OperationID: "retry-job", Method: http.MethodPost, Path: "/jobs/{id}/retry", Tags: tags,
		Summary: "Retry a job", Description: "A dead, cancelled or pending job becomes due now with a fresh allowance of attempts; " +
			"a running or succeeded one cannot be retried (invalid_job_change)."}, auth.JobsManage, s.retryJob)
	register(s, huma.Operation{OperationID: "cancel-job", Method: http.MethodPost, Path: "/jobs/{id}/cancel", Tags: tags,
		Summary: "Cancel a job", Description: "Only a pending job can be cancelled (invalid_job_change otherwise): a running one is " +
			"already under way."}, auth.JobsManage, s.cancelJob)
}

// scheduler returns the job scheduler, or a problem when the server was
// built without one.
func (s *Server) scheduler(ctx context.Context) (*jobs.Scheduler, error) {
	if s.Jobs == nil {
		return nil, fail(ctx, http.StatusServiceUnavailable, "unavailable", "", "jobs are not configured on this server")
	}
	return s.Jobs, nil
}

func (s *Server) listJobs(ctx context.Context, in *listJobsIn) (*jobPage, error) {
	sch, err := s.scheduler(ctx)
	if err != nil {
		return nil, err
	}
	list, next, err := sch.List(ctx, jobs.Filter{Kind: in.Kind, State: jobs.State(in.State), Scope: principal(ctx).Scope,
		After: in.After, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &jobPage{}
	out.Body.Items, out.Body.NextCursor = list, next
	if list == nil {
		out.Body.Items = []*jobs.Job{}
	}
	return out, nil
}

func (s *Server) getJob(ctx context.Context, in *idIn) (*jobOut, error) {
	sch, err := s.scheduler(ctx)
	if err != nil {
		return nil, err
	}
	j, err := sch.Get(ctx, in.ID, principal(ctx).Scope)
	if err != nil {
		return nil, err
	}
	return &jobOut{Body: j}, nil
}

func (s *Server) retryJob(ctx context.Context, in *idIn) (*jobOut, error) {
	return s.changeJob(ctx, in.ID, "jobs.retry", (*jobs.Scheduler).Retry)
}

func (s *Server) cancelJob(ctx context.Context, in *idIn) (*jobOut, error) {
	return s.changeJob(ctx, in.ID, "jobs.cancel", (*jobs.Scheduler).Cancel)
}

// changeJob applies a change with its audit record.
func (s *Server) changeJob(ctx context.Context, id, op string,
	change func(*jobs.Scheduler, context.Context, string, []string, ...jobs.Write) (*jobs.Job, error)) (*jobOut, error) {
	sch, err := s.scheduler(ctx)
	if err != nil {
		return nil, err
	}
	after, err := change(sch, ctx, id, principal(ctx).Scope, func(wctx context.Context, tx *sql.Tx, before, after *jobs.Job) error {
		return s.audit(ctx, op, "job:"+after.ID, after.InstitutionID, before, after)(wctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return &jobOut{Body: after}, nil
}
