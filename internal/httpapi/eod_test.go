package httpapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/eod"
)

// eodManifest is the archive step's manifest file.
type eodManifest struct {
	Date      string `json:"date"`
	Artifacts []struct {
		Name          string `json:"name"`
		InstitutionID string `json:"institution_id"`
		Step          string `json:"step"`
		ContentType   string `json:"content_type"`
		Size          int64  `json:"size"`
		SHA256        string `json:"sha256"`
	} `json:"artifacts"`
}

// reports lists a date's reports with key.
func (a *api) reports(key, date string) []*eod.Artifact {
	a.t.Helper()
	var page struct {
		Items []*eod.Artifact `json:"items"`
	}
	a.must(http.StatusOK, key, "GET", "/v1/eod/runs/"+date+"/reports", nil, &page)
	return page.Items
}

// TestEOD closes a business day through the API, downloads its reports
// and checks each against its checksum and the manifest's.
func TestEOD(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		b := a.books()
		a.transfer(a.admin, "t1", b.bank, b.alice, "CNY", 1000)
		a.payBooks(a.admin, "eo")
		a.newInstitution("branch-a", "root")
		adminA, viewerA := a.newKey("branch-a", auth.RoleAdmin), a.newKey("branch-a", auth.RoleViewer)
		bankA := a.newAccount(adminA, map[string]any{"asset": "CNY", "code": "1002", "normal_side": "debit", "overdraft": "unlimited"}).ID
		walletA := a.newAccount(adminA, map[string]any{"asset": "CNY", "code": "2001", "normal_side": "credit"}).ID
		a.transfer(adminA, "ta", bankA, walletA, "CNY", 500)
		const day = "2026-11-02"
		closeDay := map[string]any{"date": day}

		t.Run("refused", func(t *testing.T) {
			a := a.with(t)
			// The day is not over: the ledger's business date is the day.
			a.fail(http.StatusConflict, "eod_date_open", "", a.admin, "POST", "/v1/eod/runs", closeDay)
			a.fail(http.StatusConflict, "eod_date_open", "", a.admin, "POST", "/v1/eod/runs", map[string]any{"date": "2026-11-03"})
			a.fail(http.StatusNotFound, "eod_not_found", "", a.admin, "GET", "/v1/eod/runs/"+day, nil)
			a.clock.Advance(24 * time.Hour)
			// A day closes for every institution: a branch's admin may not
			// close it, a root operator lacks eod:run.
			a.fail(http.StatusForbidden, auth.CodeForbidden, "", adminA, "POST", "/v1/eod/runs", closeDay, rid("eod-branch")...)
			a.fail(http.StatusForbidden, auth.CodeForbidden, "", a.newKey("root", auth.RoleOperator), "POST", "/v1/eod/runs", closeDay,
				rid("eod-operator")...)
			a.noAudit("eod-branch")
			a.noAudit("eod-operator")
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.date", a.admin, "POST", "/v1/eod/runs",
				map[string]any{"date": "2026-02-30"})
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.date", a.admin, "POST", "/v1/eod/runs",
				map[string]any{"date": "2 Nov 2026"})
			a.fail(http.StatusNotFound, "eod_not_found", "", a.admin, "GET", "/v1/eod/runs/"+day, nil)
		})

		var done eod.Run
		t.Run("run", func(t *testing.T) {
			a := a.with(t)
			a.must(http.StatusOK, a.admin, "POST", "/v1/eod/runs", closeDay, &done, rid("eod-run")...)
			var names []string
			for i, s := range done.Steps {
				names = append(names, s.Name)
				if s.Seq != i+1 || s.Attempts != 1 || s.Status != eod.StepDone || len(s.Outcome) == 0 || s.FinishedAt == nil {
					t.Errorf("step %s: %+v", s.Name, s)
				}
			}
			if diff := cmp.Diff(eod.Steps(), names); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			if done.Date != day || done.Status != eod.StatusCompleted || done.Attempts != 1 || done.StartedBy != keyID(a.admin) ||
				len(done.ManifestSHA256) != 64 || done.FinishedAt == nil || done.LeaseUntil != nil || done.LastError != "" {
				t.Errorf("run %+v", done)
			}
			a.auditOnce("eod-run", "eod.run", "eod:"+day, a.admin)

			var got eod.Run
			a.must(http.StatusOK, a.newKey("root", auth.RoleViewer), "GET", "/v1/eod/runs/"+day, nil, &got)
			if diff := cmp.Diff(done, got); diff != "" {
				t.Errorf("GET run (-POST +GET):\n%s", diff)
			}
			var list struct {
				Items []eod.Run `json:"items"`
			}
			a.must(http.StatusOK, viewerA, "GET", "/v1/eod/runs", nil, &list)
			listed := done
			listed.Steps, listed.ManifestSHA256 = nil, ""
			if diff := cmp.Diff([]eod.Run{listed}, list.Items); diff != "" {
				t.Errorf("runs (-want +got):\n%s", diff)
			}
			a.fail(http.StatusNotFound, "eod_not_found", "", viewerA, "GET", "/v1/eod/runs/2026-10-30", nil)
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "path.date", viewerA, "GET", "/v1/eod/runs/2026-02-30", nil)
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "path.date", viewerA, "GET", "/v1/eod/runs/2026-02-30/reports", nil)
		})

		t.Run("outcomes are the root's", func(t *testing.T) {
			a := a.with(t)
			// What the steps found covers every institution; a branch's
			// key sees how each step ended, and its own files.
			var got eod.Run
			a.must(http.StatusOK, viewerA, "GET", "/v1/eod/runs/"+day, nil, &got)
			want := done
			want.Steps, want.ManifestSHA256 = nil, ""
			for _, s := range done.Steps {
				c := *s
				c.Outcome = nil
				want.Steps = append(want.Steps, &c)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("a branch's view (-want +got):\n%s", diff)
			}
		})

		t.Run("reports", func(t *testing.T) {
			a := a.with(t)
			reports := a.reports(a.admin, day)
			var names []string
			for _, r := range reports {
				names = append(names, r.Name)
			}
			want := []string{"manifest-" + day + ".json", "settlement-root-" + day + ".csv", "settlement-root-" + day + ".json",
				"vouchers-branch-a-" + day + ".csv", "vouchers-branch-a-" + day + ".json", "vouchers-root-" + day + ".csv",
				"vouchers-root-" + day + ".json"}
			for _, n := range want {
				if !slices.Contains(names, n) {
					t.Errorf("reports %v lack %s", names, n)
				}
			}
			if !slices.IsSorted(names) {
				t.Errorf("reports not in name order: %v", names)
			}
			var manifest eodManifest
			entries := map[string]string{}
			for _, r := range reports {
				resp, raw := a.raw(a.admin, "GET", "/v1/eod/runs/"+day+"/reports/"+r.Name, nil)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("download %s: %d %s", r.Name, resp.StatusCode, raw)
				}
				sum := sha256.Sum256(raw)
				if got := hex.EncodeToString(sum[:]); got != r.SHA256 || resp.Header.Get("X-Content-SHA256") != got || int64(len(raw)) != r.Size {
					t.Errorf("%s: content SHA-256 %s, header %s, listed %s; %d bytes, listed %d", r.Name, got,
						resp.Header.Get("X-Content-SHA256"), r.SHA256, len(raw), r.Size)
				}
				if ct := resp.Header.Get("Content-Type"); ct != r.ContentType {
					t.Errorf("%s: Content-Type %q, listed %q", r.Name, ct, r.ContentType)
				}
				if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="`+r.Name+`"` {
					t.Errorf("%s: Content-Disposition %q", r.Name, cd)
				}
				if r.Step == eod.StepArchive {
					if r.SHA256 != done.ManifestSHA256 || r.InstitutionID != "" {
						t.Errorf("manifest %+v, run's manifest SHA-256 %s", r, done.ManifestSHA256)
					}
					if err := json.Unmarshal(raw, &manifest); err != nil {
						t.Fatalf("manifest %s: %v", raw, err)
					}
					continue
				}
				entries[r.Name] = r.SHA256
			}
			got := map[string]string{}
			for _, e := range manifest.Artifacts {
				got[e.Name] = e.SHA256
			}
			if diff := cmp.Diff(entries, got); diff != "" || manifest.Date != day {
				t.Errorf("manifest of %s (-reports +manifest):\n%s", manifest.Date, diff)
			}
			a.fail(http.StatusNotFound, "artifact_not_found", "", a.admin, "GET", "/v1/eod/runs/"+day+"/reports/nope.csv", nil)
			a.fail(http.StatusNotFound, "eod_not_found", "", a.admin, "GET", "/v1/eod/runs/2026-10-30/reports", nil)

			// A branch's key lists and downloads its own files and the
			// manifest, nothing of the root's.
			var mine []string
			for _, r := range a.reports(viewerA, day) {
				mine = append(mine, r.Name)
			}
			if diff := cmp.Diff([]string{"manifest-" + day + ".json", "vouchers-branch-a-" + day + ".csv", "vouchers-branch-a-" + day + ".json"},
				mine); diff != "" {
				t.Errorf("branch-a's reports (-want +got):\n%s", diff)
			}
			// Its manifest lists its files only.
			var branchManifest eodManifest
			resp, raw := a.raw(viewerA, "GET", "/v1/eod/runs/"+day+"/reports/manifest-"+day+".json", nil)
			if err := json.Unmarshal(raw, &branchManifest); resp.StatusCode != http.StatusOK || err != nil {
				t.Fatalf("branch-a's manifest: %d %s %v", resp.StatusCode, raw, err)
			}
			var listed []string
			for _, e := range branchManifest.Artifacts {
				listed = append(listed, e.Name)
				if e.InstitutionID != "branch-a" || e.SHA256 != entries[e.Name] {
					t.Errorf("branch-a's manifest lists %+v", e)
				}
			}
			if diff := cmp.Diff([]string{"vouchers-branch-a-" + day + ".csv", "vouchers-branch-a-" + day + ".json"}, listed); diff != "" {
				t.Errorf("branch-a's manifest (-want +got):\n%s", diff)
			}
			sum := sha256.Sum256(raw)
			if m := a.reports(viewerA, day)[0]; m.SHA256 != hex.EncodeToString(sum[:]) || m.Size != int64(len(raw)) ||
				resp.Header.Get("X-Content-SHA256") != m.SHA256 || m.SHA256 == done.ManifestSHA256 {
				t.Errorf("branch-a's manifest listed as %+v, header %s, content SHA-256 %x (%d bytes)", m,
					resp.Header.Get("X-Content-SHA256"), sum, len(raw))
			}
			a.must(http.StatusOK, viewerA, "GET", "/v1/eod/runs/"+day+"/reports/vouchers-branch-a-"+day+".csv", nil, nil)
			a.fail(http.StatusNotFound, "artifact_not_found", "", viewerA, "GET", "/v1/eod/runs/"+day+"/reports/vouchers-root-"+day+".csv", nil)
			for _, n := range names {
				if strings.Contains(n, "root") {
					a.fail(http.StatusNotFound, "artifact_not_found", "", viewerA, "GET", "/v1/eod/runs/"+day+"/reports/"+n, nil)
				}
			}
		})

		t.Run("again", func(t *testing.T) {
			a := a.with(t)
			// A completed date is returned as it is: nothing runs again.
			before := a.reports(a.admin, day)
			var again eod.Run
			a.must(http.StatusOK, a.admin, "POST", "/v1/eod/runs", closeDay, &again)
			if diff := cmp.Diff(done, again); diff != "" {
				t.Errorf("the date again (-first +again):\n%s", diff)
			}
			if diff := cmp.Diff(before, a.reports(a.admin, day)); diff != "" {
				t.Errorf("reports changed (-before +after):\n%s", diff)
			}
		})
	})
}
