package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/suanpan/suanpan/internal/accounts"
)

func TestBatchesHTTP(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		file := accounts.BatchHeader + "\nl1,topup,no-such-account,,app,1.00,\nl2,burn,x,,app,1,\nl3,too,few\n"
		upload := func(ref, body string) (*http.Response, accounts.Batch) {
			t.Helper()
			resp, raw := a.raw(a.admin, "POST", "/v1/batches?reference="+ref, []byte(body), "Content-Type", "text/csv")
			var b accounts.Batch
			if resp.StatusCode/100 == 2 {
				if err := json.Unmarshal(raw, &b); err != nil {
					t.Fatal(err)
				}
			}
			return resp, b
		}
		resp, b := upload("b1", file)
		if resp.StatusCode != http.StatusAccepted || b.Status != "queued" || b.Lines != 3 {
			t.Fatalf("upload: %d %+v", resp.StatusCode, b)
		}
		if found, err := a.srv.Batches.ProcessNext(context.Background()); !found || err != nil {
			t.Fatalf("process: %v %v", found, err)
		}
		var got accounts.Batch
		a.must(http.StatusOK, a.admin, "GET", "/v1/batches/"+b.ID, nil, &got)
		if got.Status != "done" || got.Succeeded != 0 || got.Failed != 3 {
			t.Fatalf("batch: %+v", got)
		}
		resp, raw := a.raw(a.admin, "GET", "/v1/batches/"+b.ID+"/results", nil)
		want := "line,reference,status,code,message,transaction_id\n2,l1,error,account_not_found,"
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(raw), want) ||
			!strings.Contains(string(raw), "\n3,l2,error,invalid_operation,") || !strings.Contains(string(raw), "\n4,l3,error,invalid_line,") ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("results: %d %s", resp.StatusCode, raw)
		}
		var list struct {
			Items []accounts.Batch `json:"items"`
		}
		a.must(http.StatusOK, a.admin, "GET", "/v1/batches", nil, &list)
		if len(list.Items) != 1 || list.Items[0].ID != b.ID {
			t.Fatalf("list: %+v", list)
		}
		// The same file again: the stored batch, 200.
		if resp, again := upload("b1", file); resp.StatusCode != http.StatusOK || again.ID != b.ID {
			t.Fatalf("re-upload: %d %+v", resp.StatusCode, again)
		}
		resp, _ = upload("b1", file+"l4,topup,x,,app,1,\n")
		checkProblem(t, resp, http.StatusConflict, "conflict")
		resp, _ = upload("b2", "no header\n")
		checkProblem(t, resp, http.StatusUnprocessableEntity, "invalid_request")
		resp, _ = a.raw(a.admin, "POST", "/v1/batches", []byte(file), "Content-Type", "text/csv")
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("no reference: %d", resp.StatusCode)
		}
		resp, _ = a.raw(a.admin, "GET", "/v1/batches/nope", nil)
		checkProblem(t, resp, http.StatusNotFound, "batch_not_found")
		// Bigger than the server's JSON limit (1 MiB) is fine for a file.
		big := accounts.BatchHeader + "\n" + strings.Repeat("r,topup,no-such-account,,app,1.00,\n", 40000)
		if resp, _ := upload("big", strings.ReplaceAll(big, "r,", "r1,")); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("large upload: %d", resp.StatusCode)
		}
	})
}
