package accounts_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

func batchResults(t *testing.T, bs *accounts.Batches, id string) [][]string {
	t.Helper()
	var b bytes.Buffer
	if err := bs.WriteResults(context.Background(), id, nil, &b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows[1:]
}

func processAll(t *testing.T, bs *accounts.Batches) {
	t.Helper()
	for {
		found, err := bs.ProcessNext(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			return
		}
	}
}

func TestBatchGoodAndBadLines(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newOpBooks(t, db)
		bs := accounts.NewBatches(b.ops)
		file := strings.Join([]string{accounts.BatchHeader,
			"t1,topup," + b.alice + ",,bank_x,100.00,",
			"t2,transfer," + b.alice + "," + b.bob + ",app,10.5,",
			"p1,pay," + b.alice + "," + b.shop + ",app,200.00,",
			"x1,topup,no-such-account,,bank_x,1.00,",
			"x2,topup," + b.alice + ",,bank_x,1.001,",
			"x3,transfer," + b.bob + "," + b.alice + ",app,99999999.00,",
			"x4,burn," + b.alice + ",,bank_x,1.00,",
			"x5,only,three",
			"",
			`"t3",withdraw,` + b.bob + `,,bank_x,5.00,`,
		}, "\r\n") + "\r\n"
		up := accounts.BatchUpload{InstitutionID: "bank-a", Reference: "day-1", Content: []byte(file), CreatedBy: "k1"}
		batch, created, err := bs.Upload(ctx, up)
		if err != nil || !created || batch.Status != accounts.BatchQueued || batch.Lines != 9 {
			t.Fatalf("upload: %+v %v %v", batch, created, err)
		}
		before := b.balances(t, b.all()...)
		processAll(t, bs)
		got, err := bs.Get(ctx, batch.ID, []string{"bank-a"})
		if err != nil || got.Status != accounts.BatchDone || got.Succeeded != 4 || got.Failed != 5 || got.FinishedAt == nil {
			t.Fatalf("batch after processing: %+v %v", got, err)
		}
		var done int
		if err := db.Read.QueryRow(`SELECT COUNT(*) FROM events WHERE type = $1 AND subject = $2`,
			accounts.EventBatchDone, "batch:"+batch.ID).Scan(&done); err != nil || done != 1 {
			t.Errorf("%d %s events (%v), want 1", done, accounts.EventBatchDone, err)
		}
		want := [][2]string{{"2", "ok"}, {"3", "ok"}, {"4", "ok"}, {"5", "account_not_found"}, {"6", "invalid_amount"},
			{"7", "insufficient_funds"}, {"8", "invalid_operation"}, {"9", "invalid_line"}, {"11", "ok"}}
		res := batchResults(t, bs, batch.ID)
		if len(res) != len(want) {
			t.Fatalf("results: %q", res)
		}
		for i, w := range want {
			if res[i][0] != w[0] || (w[1] == "ok") != (res[i][2] == "ok") || (w[1] != "ok" && res[i][3] != w[1]) {
				t.Errorf("line %s: got %q, want %s", w[0], res[i], w[1])
			}
			if (res[i][2] == "ok") != (res[i][5] != "") {
				t.Errorf("line %s: transaction id %q", w[0], res[i][5])
			}
		}
		after := b.balances(t, b.all()...)
		// alice: +100.00 top-up, -10.50 transfer -0.05 fee (0.5%), -200.00 payment.
		if d := moved(before, after)[b.alice]; d != [2]int64{10000 - 1050 - 5 - 20000, 0} {
			t.Errorf("alice moved %v", d)
		}
		// bob: +10.50, and a withdrawal hold of 5.00 + 2.00 fee.
		if d := moved(before, after)[b.bob]; d != [2]int64{1050, 700} {
			t.Errorf("bob moved %v", d)
		}

		// A refund batch naming the payment.
		refund := accounts.BatchHeader + "\nr1,refund,,,,50.00," + res[2][5] + "\nr2,refund,,,,1.00,no-such-payment\n"
		rb, _, err := bs.Upload(ctx, accounts.BatchUpload{InstitutionID: "bank-a", Reference: "refunds", Content: []byte(refund), CreatedBy: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		processAll(t, bs)
		rres := batchResults(t, bs, rb.ID)
		if len(rres) != 2 || rres[0][2] != "ok" || rres[1][3] != "invalid_request" {
			t.Fatalf("refund results: %q", rres)
		}
		before = b.balances(t, b.all()...)

		// The same file again: the same batch, nothing queued or posted.
		again, created, err := bs.Upload(ctx, up)
		if err != nil || created || again.ID != batch.ID {
			t.Fatalf("re-upload: %+v %v %v", again, created, err)
		}
		processAll(t, bs)
		if d := moved(before, b.balances(t, b.all()...)); len(d) != 0 {
			t.Errorf("re-upload moved %v", d)
		}
		// Other content under the reference: a conflict.
		other := up
		other.Content = []byte(accounts.BatchHeader + "\nt1,topup," + b.alice + ",,bank_x,1.00,\n")
		if _, _, err := bs.Upload(ctx, other); accounts.ErrorCode(err) != accounts.CodeConflict {
			t.Errorf("other content: %v", err)
		}
		// Scope, header and bounds.
		if _, err := bs.Get(ctx, batch.ID, []string{"bank-b"}); accounts.ErrorCode(err) != accounts.CodeBatchNotFound {
			t.Errorf("out of scope: %v", err)
		}
		if l, err := bs.List(ctx, []string{"bank-a"}, 0); err != nil || len(l) != 2 {
			t.Errorf("list: %d %v", len(l), err)
		}
		if l, err := bs.List(ctx, []string{"bank-b"}, 0); err != nil || len(l) != 0 {
			t.Errorf("list out of scope: %d %v", len(l), err)
		}
		for _, c := range []struct {
			content string
			code    accounts.Code
		}{
			{"", accounts.CodeInvalidRequest},
			{"ref,op\nx,y\n", accounts.CodeInvalidRequest},
			{accounts.BatchHeader + "\n" + strings.Repeat("x", 5000) + "\n", accounts.CodeInvalidRequest},
			{accounts.BatchHeader + "\n" + strings.Repeat("a,topup,x,,bank_x,1,\n", accounts.MaxBatchLines+1), accounts.CodeBatchTooLarge},
			{accounts.BatchHeader + "\n" + strings.Repeat("x", accounts.MaxBatchBytes), accounts.CodeBatchTooLarge},
		} {
			_, _, err := bs.Upload(ctx, accounts.BatchUpload{InstitutionID: "bank-a", Reference: "bad", Content: []byte(c.content), CreatedBy: "k1"})
			if accounts.ErrorCode(err) != c.code {
				t.Errorf("upload of %.20q: %v, want %s", c.content, err, c.code)
			}
		}
	})
}

func TestBatchResumeAfterCrash(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newOpBooks(t, db)
		bs := accounts.NewBatches(b.ops)
		crash := errors.New("crash")
		chunks := 0
		accounts.SetBatchTuning(bs, 2, func() error {
			if chunks++; chunks == 1 {
				return crash
			}
			return nil
		})
		lines := []string{accounts.BatchHeader}
		for i := range 5 {
			lines = append(lines, fmt.Sprintf("t%d,topup,%s,,bank_x,1.00,", i, b.alice))
		}
		batch, _, err := bs.Upload(ctx, accounts.BatchUpload{InstitutionID: "bank-a", Reference: "resume",
			Content: []byte(strings.Join(lines, "\n")), CreatedBy: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		before := b.balances(t, b.alice)
		if _, err := bs.ProcessNext(ctx); !errors.Is(err, crash) {
			t.Fatalf("first run: %v", err)
		}
		if d := moved(before, b.balances(t, b.alice))[b.alice]; d[0] != 200 {
			t.Fatalf("after the crash alice moved %v", d)
		}
		// The lease holds: no other worker takes the batch yet.
		if found, err := bs.ProcessNext(ctx); found || err != nil {
			t.Fatalf("within the lease: %v %v", found, err)
		}
		b.clock.Advance(3 * time.Minute)
		processAll(t, bs)
		if d := moved(before, b.balances(t, b.alice))[b.alice]; d[0] != 500 {
			t.Fatalf("after resuming alice moved %v", d)
		}
		// Posted but never recorded (a crash between the two): processing
		// again finds the originals and moves nothing.
		if _, err := db.Write.ExecContext(ctx, `DELETE FROM batch_lines WHERE batch_id = $1 AND line_no > 3`, batch.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Write.ExecContext(ctx, `UPDATE batches SET status = 'queued' WHERE id = $1`, batch.ID); err != nil {
			t.Fatal(err)
		}
		processAll(t, bs)
		if d := moved(before, b.balances(t, b.alice))[b.alice]; d[0] != 500 {
			t.Fatalf("after reprocessing alice moved %v", d)
		}
		got, err := bs.Get(ctx, batch.ID, nil)
		if err != nil || got.Status != accounts.BatchDone || got.Succeeded != 5 || got.Failed != 0 {
			t.Fatalf("batch: %+v %v", got, err)
		}
		res := batchResults(t, bs, batch.ID)
		if len(res) != 5 || res[4][2] != "ok" || res[4][5] == "" {
			t.Fatalf("results: %q", res)
		}
	})
}

// TestBatchLarge is the acceptance test: a 100,000-line file with
// some bad lines (every 997th line an amount with too many decimals, every
// 1009th an unknown account) on SQLite. All good lines post once, the bad
// ones are reported with their codes, and a re-upload changes nothing.
func TestBatchLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large batch: skipped under -short")
	}
	const n = 100_000
	ctx := context.Background()
	db := storetest.Open(t, store.SQLite)
	b := newOpBooks(t, db)
	bs := accounts.NewBatches(b.ops)
	var f strings.Builder
	f.WriteString(accounts.BatchHeader + "\n")
	var good, badAmount, badAccount int
	for i := 1; i <= n; i++ {
		acct, amount := b.alice, "0.01"
		if i%2 == 0 {
			acct = b.bob
		}
		switch {
		case i%997 == 0:
			amount, badAmount = "0.001", badAmount+1
		case i%1009 == 0:
			acct, badAccount = "missing", badAccount+1
		default:
			good++
		}
		fmt.Fprintf(&f, "l%d,topup,%s,,bank_x,%s,\n", i, acct, amount)
	}
	up := accounts.BatchUpload{InstitutionID: "bank-a", Reference: "large", Content: []byte(f.String()), CreatedBy: "k1"}
	before := b.balances(t, b.all()...)
	start := time.Now()
	batch, _, err := bs.Upload(ctx, up)
	if err != nil {
		t.Fatal(err)
	}
	processAll(t, bs)
	t.Logf("%d lines uploaded and processed in %v", n, time.Since(start))
	got, err := bs.Get(ctx, batch.ID, nil)
	if err != nil || got.Status != accounts.BatchDone || got.Lines != n || got.Succeeded != good || got.Failed != badAmount+badAccount {
		t.Fatalf("batch: %+v %v (want %d good)", got, err, good)
	}
	codes := map[string]int{}
	for _, r := range batchResults(t, bs, batch.ID) {
		codes[r[3]]++
	}
	if codes[""] != good || codes["invalid_amount"] != badAmount || codes["account_not_found"] != badAccount {
		t.Errorf("codes: %v", codes)
	}
	after := b.balances(t, b.all()...)
	if d := moved(before, after)[b.clearing]; d[0] != int64(-good) && d[0] != int64(good) {
		t.Errorf("clearing moved %v, want %d", d, good)
	}
	again, created, err := bs.Upload(ctx, up)
	if err != nil || created || again.ID != batch.ID {
		t.Fatalf("re-upload: %+v %v %v", again, created, err)
	}
	processAll(t, bs)
	if d := moved(after, b.balances(t, b.all()...)); len(d) != 0 {
		t.Errorf("re-upload moved %v", d)
	}
}
