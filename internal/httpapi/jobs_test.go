package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/payments"
)

func TestJobs(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newAsset("CNY", 2)
		a.newInstitution("pa", "root")
		a.newInstitution("pb", "root")
		admin, viewer, sibling := a.newKey("pa", auth.RoleAdmin), a.newKey("pa", auth.RoleViewer), a.newKey("pb", auth.RoleAdmin)
		b := a.payBooks(admin, "pa")
		// Each order enqueues its follow-up job, due a few seconds on.
		first := a.order(admin, map[string]any{"reference": "in-1", "channel_id": b.channel, "direction": "pay_in", "account": b.wallet, "amount": 100})
		a.order(admin, map[string]any{"reference": "in-2", "channel_id": b.channel, "direction": "pay_in", "account": b.wallet, "amount": 200})

		type page struct {
			Items      []jobs.Job `json:"items"`
			NextCursor string     `json:"next_cursor"`
		}
		var p page
		a.must(http.StatusOK, viewer, "GET", "/v1/jobs?kind="+payments.JobFollow+"&state=pending", nil, &p)
		if len(p.Items) != 2 || p.NextCursor != "" {
			t.Fatalf("pending follow-up jobs: %+v", p)
		}
		job := p.Items[0]
		var payload struct {
			OrderID string `json:"order_id"`
		}
		if err := json.Unmarshal(job.Payload, &payload); err != nil || payload.OrderID != first.ID || job.InstitutionID != "pa" || job.MaxAttempts == 0 {
			t.Errorf("job %+v (%v)", job, err)
		}
		a.must(http.StatusOK, viewer, "GET", "/v1/jobs?kind="+payments.JobFollow+"&limit=1", nil, &p)
		if len(p.Items) != 1 || p.NextCursor != job.ID {
			t.Errorf("first page %+v", p)
		}
		a.must(http.StatusOK, viewer, "GET", "/v1/jobs?kind="+payments.JobFollow+"&after="+job.ID, nil, &p)
		if len(p.Items) != 1 || p.Items[0].ID == job.ID {
			t.Errorf("second page %+v", p)
		}
		a.must(http.StatusOK, sibling, "GET", "/v1/jobs", nil, &p)
		if len(p.Items) != 0 {
			t.Errorf("the sibling sees %+v", p.Items)
		}
		a.fail(http.StatusUnprocessableEntity, "invalid_request", "query.state", viewer, "GET", "/v1/jobs?state=asleep", nil)
		var got jobs.Job
		a.must(http.StatusOK, viewer, "GET", "/v1/jobs/"+job.ID, nil, &got)
		if got.ID != job.ID || got.State != jobs.Pending {
			t.Errorf("got %+v", got)
		}
		for _, path := range []string{"/v1/jobs/" + job.ID, "/v1/jobs/" + job.ID + "/cancel", "/v1/jobs/" + job.ID + "/retry"} {
			method := "POST"
			if path == "/v1/jobs/"+job.ID {
				method = "GET"
			}
			a.fail(http.StatusNotFound, "job_not_found", "path.id", sibling, method, path, nil, rid("job-refused")...)
		}

		a.must(http.StatusOK, admin, "POST", "/v1/jobs/"+job.ID+"/cancel", nil, &got, rid("job-cancel")...)
		if got.State != jobs.Cancelled || got.FinishedAt == nil {
			t.Errorf("cancelled %+v", got)
		}
		r := a.auditOnce("job-cancel", "jobs.cancel", "job:"+job.ID, admin)
		if b, _ := json.Marshal(r); r.Before == nil || !json.Valid(b) {
			t.Errorf("audit record %s", b)
		}
		a.fail(http.StatusConflict, "invalid_job_change", "", admin, "POST", "/v1/jobs/"+job.ID+"/cancel", nil, rid("job-refused")...)

		a.must(http.StatusOK, admin, "POST", "/v1/jobs/"+job.ID+"/retry", nil, &got, rid("job-retry")...)
		if got.State != jobs.Pending || got.Attempts != 0 || !got.RunAt.Equal(a.clock.Now()) {
			t.Errorf("retried %+v", got)
		}
		a.auditOnce("job-retry", "jobs.retry", "job:"+job.ID, admin)
		a.run() // the order is processing: its follow-up asked and waits to ask again
		got = jobs.Job{}
		a.must(http.StatusOK, viewer, "GET", "/v1/jobs/"+job.ID, nil, &got)
		if got.State != jobs.Pending || got.Attempts != 1 || got.LastError == "" {
			t.Errorf("after running: %+v", got)
		}
		a.sim.Settle() // the channel's callback settles the order; its follow-up is done
		got = jobs.Job{}
		a.must(http.StatusOK, viewer, "GET", "/v1/jobs/"+job.ID, nil, &got)
		if got.State != jobs.Succeeded {
			t.Errorf("after the outcome: %+v", got)
		}
		a.fail(http.StatusConflict, "invalid_job_change", "", admin, "POST", "/v1/jobs/"+job.ID+"/retry", nil, rid("job-refused")...)
		a.noAudit("job-refused")
	})
}
