package eod_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// The day's books close: every step runs, the settlement report totals
// the day's operations and orders, the vouchers balance, the manifest
// lists every file with its checksum, and a second run changes nothing.
func TestRunClosesTheDay(t *testing.T) {
	t.Parallel()
	all := func(reconcile, check string) []string {
		return []string{"cutover=done", "expire_holds=done", "check=" + check, "reconcile=" + reconcile,
			"settlement_report=done", "vouchers=done", "archive=done"}
	}
	tests := []struct {
		name          string
		recon         bool
		discrepancies int
		checkDiff     bool // a control account that does not match its sub-accounts
		wantStatus    eod.Status
		wantSteps     []string
	}{
		{name: "every step done", recon: true, wantStatus: eod.StatusCompleted, wantSteps: all("done", "done")},
		// (TestArtifactScope runs without a reconciliation service.)
		{name: "check differences and reconciliation discrepancies", recon: true, checkDiff: true, discrepancies: 2,
			wantStatus: eod.StatusCompletedWithWarnings, wantSteps: all("warning", "warning")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				d := newDay(t, db)
				if tc.checkDiff {
					a, err := d.ledger.CreateAccount(ctx, ledger.NewAccount{InstitutionID: inst, Asset: "CNY", Code: "2001",
						NormalSide: ledger.Credit, Overdraft: ledger.OverdraftNone})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := d.checks.RegisterControl(ctx, a.ID, "k1", nil); err != nil {
						t.Fatal(err)
					}
				}
				var recon eod.Reconciler
				if tc.recon {
					recon = &fakeRecon{db: db, discrepancies: tc.discrepancies}
				}
				r := d.runner(recon)
				run := mustRun(t, r, closeDate)
				if run.Status != tc.wantStatus || run.Attempts != 1 || run.FinishedAt == nil || run.StartedBy != "ops" {
					t.Errorf("run %+v, want %s after 1 attempt", run, tc.wantStatus)
				}
				if diff := cmp.Diff(tc.wantSteps, stepStatuses(run)); diff != "" {
					t.Errorf("steps (-want +got):\n%s", diff)
				}

				got := files(t, r, closeDate)
				wantNames := []string{"manifest-2026-11-21.json", "settlement-bank-a-2026-11-21.csv",
					"settlement-bank-a-2026-11-21.json", "vouchers-bank-a-2026-11-21.csv", "vouchers-bank-a-2026-11-21.json"}
				if tc.recon {
					wantNames = append(wantNames, "reconciliation-bank-a-2026-11-21.json")
				}
				slices.Sort(wantNames)
				names := make([]string, 0, len(got))
				for n := range got {
					names = append(names, n)
				}
				slices.Sort(names)
				if diff := cmp.Diff(wantNames, names); diff != "" {
					t.Fatalf("artifacts (-want +got):\n%s", diff)
				}

				checkSettlement(t, d, got)
				checkVouchers(t, d, got)
				checkManifest(t, run, got)
				if a := got["reconciliation-bank-a-2026-11-21.json"]; a != nil && bytes.Contains(a.Content, []byte("run_id")) {
					t.Errorf("the reconciliation file shows run IDs:\n%s", a.Content)
				}

				h, err := d.ledger.GetHold(ctx, d.expiring)
				if err != nil {
					t.Fatal(err)
				}
				if h.Status != ledger.HoldStatus("expired") || h.ResolvedBy == "" {
					t.Errorf("the expired hold is %s (resolved by %q): the step did not sweep it", h.Status, h.ResolvedBy)
				}
				if s := run.Steps[1]; string(s.Outcome) != `{"expired":1}` {
					t.Errorf("expire_holds outcome %s", s.Outcome)
				}
				evs := events(t, db, eod.EventCompleted)
				if len(evs) != 1 || evs[0]["date"] != closeDate || evs[0]["status"] != string(tc.wantStatus) {
					t.Errorf("eod.completed events %v", evs)
				}

				// Running the date again (later) writes nothing.
				before := digest(t, db)
				d.clock.Advance(time.Hour)
				again := mustRun(t, r, closeDate)
				if diff := cmp.Diff(run, again); diff != "" {
					t.Errorf("second run (-first +second):\n%s", diff)
				}
				if diff := cmp.Diff(before, digest(t, db)); diff != "" {
					t.Errorf("the second run changed the store (-before +after):\n%s", diff)
				}
			})
		})
	}
}

// checkSettlement compares the settlement report with the day's
// operations and orders, as newDay booked them.
func checkSettlement(t *testing.T, d *day, got map[string]*eod.Artifact) {
	t.Helper()
	var rep eod.Settlement
	if err := json.Unmarshal(got["settlement-bank-a-2026-11-21.json"].Content, &rep); err != nil {
		t.Fatal(err)
	}
	in, out := d.orders[0], d.orders[1]
	want := eod.Settlement{Date: closeDate, InstitutionID: inst,
		Channels: []eod.SettlementChannel{
			{ChannelID: out.ChannelID, Code: "bank_transfer", Direction: "pay_out", Asset: "CNY", Scale: 2, Count: 1,
				Amount: 3300, Fees: out.ChannelFee, Net: 3300 - out.ChannelFee},
			{ChannelID: in.ChannelID, Code: "qr_wallet", Direction: "pay_in", Asset: "CNY", Scale: 2, Count: 1,
				Amount: 6600, Fees: in.ChannelFee, Net: 6600 - in.ChannelFee},
		},
		Products: []eod.SettlementProduct{
			{Product: "wallet@1", Operation: "payment", Asset: "CNY", Scale: 2, Count: 3, Amount: 12000 + 8000 + 5000, Fees: 72 + 48 + 50},
			{Product: "wallet@1", Operation: "refund", Asset: "CNY", Scale: 2, Count: 1, Amount: 2000},
			{Product: "wallet@1", Operation: "topup", Asset: "CNY", Scale: 2, Count: 4, Amount: 1000000 + 500000 + 200000 + 6600},
			{Product: "wallet@1", Operation: "transfer", Asset: "CNY", Scale: 2, Count: 1, Amount: 10000, Fees: 100},
			// The expired withdrawal's hold posted nothing.
			{Product: "wallet@1", Operation: "withdraw", Asset: "CNY", Scale: 2, Count: 2, Amount: 20000 + 3300},
		},
	}
	shop := eod.SettlementMerchant{AccountID: d.merchant[0], Asset: "CNY", Scale: 2, Count: 2, Amount: 20000, Fees: 72 + 48,
		RefundCount: 1, Refunds: 2000, Net: 20000 - 120 - 2000}
	kiosk := eod.SettlementMerchant{AccountID: d.merchant[1], Asset: "CNY", Scale: 2, Count: 1, Amount: 5000, Net: 5000}
	want.Merchants = []eod.SettlementMerchant{shop, kiosk}
	if kiosk.AccountID < shop.AccountID {
		want.Merchants = []eod.SettlementMerchant{kiosk, shop}
	}
	if out.ChannelFee == 0 || in.ChannelFee == 0 {
		t.Errorf("orders without channel fees: %d, %d", in.ChannelFee, out.ChannelFee)
	}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("settlement report (-want +got):\n%s", diff)
	}

	recs, err := csv.NewReader(bytes.NewReader(got["settlement-bank-a-2026-11-21.csv"].Content)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(eod.SettlementCSVHeader, recs[0]); diff != "" {
		t.Errorf("CSV header (-want +got):\n%s", diff)
	}
	if n := len(recs) - 1; n != len(want.Channels)+len(want.Merchants)+len(want.Products) {
		t.Errorf("CSV has %d lines:\n%q", n, recs)
	}
	wantShop := []string{"merchant", closeDate, inst, "", "", shop.AccountID, "", "", "CNY", "2", "200.00", "1.20", "1", "20.00", "178.80"}
	if !slices.ContainsFunc(recs, func(r []string) bool { return slices.Equal(r, wantShop) }) {
		t.Errorf("CSV lacks %q:\n%q", wantShop, recs)
	}
}

// checkVouchers compares the voucher files with the accounts service's
// vouchers of the date.
func checkVouchers(t *testing.T, d *day, got map[string]*eod.Artifact) {
	t.Helper()
	vs, err := accounts.NewVouchers(d.ledger).Daily(context.Background(), closeDate, []string{inst})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || !vs[0].Balanced {
		t.Fatalf("vouchers %+v", vs)
	}
	var v accounts.Voucher
	if err := json.Unmarshal(got["vouchers-bank-a-2026-11-21.json"].Content, &v); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*vs[0], v); diff != "" {
		t.Errorf("voucher file (-want +got):\n%s", diff)
	}
	var b bytes.Buffer
	if err := accounts.WriteVouchersCSV(&b, vs); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b.String(), string(got["vouchers-bank-a-2026-11-21.csv"].Content)); diff != "" {
		t.Errorf("voucher CSV (-want +got):\n%s", diff)
	}
}

// checkManifest recomputes every artifact's checksum and compares the
// manifest, and its own checksum on the run.
func checkManifest(t *testing.T, run *eod.Run, got map[string]*eod.Artifact) {
	t.Helper()
	m := got["manifest-2026-11-21.json"]
	if run.ManifestSHA256 != sha(m.Content) || m.SHA256 != sha(m.Content) {
		t.Errorf("manifest SHA-256 %s on the run, %s stored, %s computed", run.ManifestSHA256, m.SHA256, sha(m.Content))
	}
	type entry struct {
		Name          string `json:"name"`
		InstitutionID string `json:"institution_id"`
		Step          string `json:"step"`
		ContentType   string `json:"content_type"`
		Size          int64  `json:"size"`
		SHA256        string `json:"sha256"`
	}
	var man struct {
		Date      string  `json:"date"`
		Artifacts []entry `json:"artifacts"`
	}
	if err := json.Unmarshal(m.Content, &man); err != nil {
		t.Fatal(err)
	}
	var want []entry
	for _, a := range got {
		if a.Name == m.Name {
			continue
		}
		if a.SHA256 != sha(a.Content) || a.Size != int64(len(a.Content)) {
			t.Errorf("artifact %s: stored SHA-256 %s and size %d, content %s and %d", a.Name, a.SHA256, a.Size,
				sha(a.Content), len(a.Content))
		}
		want = append(want, entry{a.Name, a.InstitutionID, a.Step, a.ContentType, int64(len(a.Content)), sha(a.Content)})
	}
	slices.SortFunc(want, func(a, b entry) int { return strings.Compare(a.Name, b.Name) })
	if man.Date != closeDate {
		t.Errorf("manifest date %s", man.Date)
	}
	if diff := cmp.Diff(want, man.Artifacts); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
}

// Refused requests record nothing.
func TestRunRefuses(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := newDay(t, db)
		r := d.runner(nil)
		tests := []struct {
			name, date, by string
			want           eod.Code
		}{
			{"not a date", "21/11/2026", "ops", eod.CodeInvalidRequest},
			{"no such day", "2026-11-31", "ops", eod.CodeInvalidRequest},
			{"unpadded", "2026-11-1", "ops", eod.CodeInvalidRequest},
			{"empty", "", "ops", eod.CodeInvalidRequest},
			{"nobody", closeDate, "", eod.CodeInvalidRequest},
			{"today", nextDay, "ops", eod.CodeDateOpen},
			{"the future", "2027-01-01", "ops", eod.CodeDateOpen},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := r.Run(context.Background(), tc.date, tc.by)
				if got := code(err); got != tc.want {
					t.Errorf("Run(%q, %q) = %v, want %s", tc.date, tc.by, err, tc.want)
				}
			})
		}
		runs, err := r.Runs(context.Background(), 0)
		if err != nil || len(runs) != 0 {
			t.Errorf("runs %v, %v: want none", runs, err)
		}
	})
}

// A failing step fails the run, which resumes there when run again; until
// then later dates wait.
func TestFailedStepResumes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		d := newDay(t, db)
		d.clock.Set(eodTime.Add(24 * time.Hour)) // closeDate and nextDay are both over
		recon := &fakeRecon{db: db, fail: true}
		r := d.runner(recon)

		run, err := r.Run(ctx, closeDate, "ops")
		if code(err) != eod.CodeStepFailed || run == nil {
			t.Fatalf("Run = %+v, %v: want %s with the run", run, err, eod.CodeStepFailed)
		}
		want := []string{"cutover=done", "expire_holds=done", "check=done", "reconcile=failed",
			"settlement_report=pending", "vouchers=pending", "archive=pending"}
		if diff := cmp.Diff(want, stepStatuses(run)); diff != "" {
			t.Errorf("steps (-want +got):\n%s", diff)
		}
		if run.Status != eod.StatusFailed || !strings.Contains(run.LastError, "statement store unreachable") ||
			!strings.Contains(run.Steps[3].Error, "statement store unreachable") {
			t.Errorf("run %+v, reconcile %+v", run, run.Steps[3])
		}
		if evs := events(t, db, eod.EventFailed); len(evs) != 1 || evs[0]["date"] != closeDate {
			t.Errorf("eod.failed events %v", evs)
		}
		if _, err := r.Run(ctx, nextDay, "ops"); code(err) != eod.CodePreviousOpen {
			t.Errorf("Run(%s) = %v, want %s", nextDay, err, eod.CodePreviousOpen)
		}

		recon.mu.Lock()
		recon.fail = false
		recon.mu.Unlock()
		run = mustRun(t, r, closeDate)
		if run.Status != eod.StatusCompleted || run.Attempts != 2 || run.LastError != "" {
			t.Errorf("resumed run %+v", run)
		}
		attempts := map[string]int{}
		for _, s := range run.Steps {
			attempts[s.Name] = s.Attempts
		}
		wantAttempts := map[string]int{"cutover": 1, "expire_holds": 1, "check": 1, "reconcile": 2,
			"settlement_report": 1, "vouchers": 1, "archive": 1}
		if diff := cmp.Diff(wantAttempts, attempts); diff != "" {
			t.Errorf("step attempts (-want +got):\n%s", diff)
		}

		// The next day had no business: a manifest and the reconciliation
		// of a statement without lines.
		next := mustRun(t, r, nextDay)
		if next.Status != eod.StatusCompleted {
			t.Errorf("next day %+v", next)
		}
		as, err := r.Artifacts(ctx, nextDay, nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range as {
			names = append(names, a.Name)
		}
		if diff := cmp.Diff([]string{"manifest-2026-11-22.json", "reconciliation-bank-a-2026-11-22.json"}, names); diff != "" {
			t.Errorf("next day's artifacts (-want +got):\n%s", diff)
		}
		runs, err := r.Runs(ctx, 10)
		if err != nil || len(runs) != 2 || runs[0].Date != nextDay || runs[1].Date != closeDate || runs[0].Steps != nil {
			t.Errorf("runs %+v, %v", runs, err)
		}
	})
}

// Artifacts are visible to the callers of their institution; the manifest
// to every caller.
func TestArtifactScope(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		d := newDay(t, db)
		r := d.runner(nil)
		run := mustRun(t, r, closeDate)
		want := []string{"cutover=done", "expire_holds=done", "check=done", "reconcile=skipped",
			"settlement_report=done", "vouchers=done", "archive=done"}
		if diff := cmp.Diff(want, stepStatuses(run)); diff != "" || run.Status != eod.StatusCompleted {
			t.Errorf("run without a reconciliation service: %s (-want +got):\n%s", run.Status, diff)
		}
		if s := run.Steps[3]; !strings.Contains(string(s.Outcome), "no reconciliation service") {
			t.Errorf("skipped reconcile's outcome %s", s.Outcome)
		}
		const settlement = "settlement-bank-a-2026-11-21.csv"
		tests := []struct {
			name        string
			scope       []string
			wantNames   int
			wantFile    eod.Code
			wantEntries int // in the manifest
		}{
			{"everything", nil, 5, "", 4},
			{"the institution", []string{"other", inst}, 5, "", 4},
			{"another institution", []string{"other"}, 1, eod.CodeArtifactNotFound, 0},
			{"no institution", []string{}, 1, eod.CodeArtifactNotFound, 0},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				as, err := r.Artifacts(ctx, closeDate, tc.scope)
				if err != nil || len(as) != tc.wantNames {
					t.Errorf("Artifacts = %d, %v; want %d", len(as), err, tc.wantNames)
				}
				a, err := r.Artifact(ctx, closeDate, settlement, tc.scope)
				if code(err) != tc.wantFile || (err == nil && (len(a.Content) == 0 || a.ContentType != "text/csv; charset=utf-8")) {
					t.Errorf("Artifact = %+v, %v; want %q", a, err, tc.wantFile)
				}
				// The manifest lists the files in scope only; when that is
				// all of them, it is the archived file.
				m, err := r.Artifact(ctx, closeDate, "manifest-2026-11-21.json", tc.scope)
				if err != nil {
					t.Fatalf("manifest: %v", err)
				}
				var man struct {
					Artifacts []struct {
						InstitutionID string `json:"institution_id"`
					} `json:"artifacts"`
				}
				if err := json.Unmarshal(m.Content, &man); err != nil || len(man.Artifacts) != tc.wantEntries {
					t.Errorf("manifest %s: %d entries, %v; want %d", m.Content, len(man.Artifacts), err, tc.wantEntries)
				}
				if sum := sha(m.Content); m.SHA256 != sum || m.Size != int64(len(m.Content)) ||
					(m.SHA256 == run.ManifestSHA256) != (tc.wantEntries == 4) {
					t.Errorf("manifest SHA-256 %s, size %d; content %s, %d bytes; the run's %s", m.SHA256, m.Size, sum,
						len(m.Content), run.ManifestSHA256)
				}
				if i := slices.IndexFunc(as, func(a *eod.Artifact) bool { return a.Step == eod.StepArchive }); i < 0 ||
					as[i].SHA256 != m.SHA256 || as[i].Size != m.Size {
					t.Errorf("listed manifest differs from the one read: %+v", as)
				}
			})
		}
		for _, tc := range []struct {
			name string
			err  error
			want eod.Code
		}{
			{"no such file", second(r.Artifact(ctx, closeDate, "nothing.csv", nil)), eod.CodeArtifactNotFound},
			{"no run", second(r.Artifacts(ctx, nextDay, nil)), eod.CodeNotFound},
			{"get no run", second(r.Get(ctx, nextDay)), eod.CodeNotFound},
			{"malformed date", second(r.Get(ctx, "tomorrow")), eod.CodeInvalidRequest},
		} {
			if got := code(tc.err); got != tc.want {
				t.Errorf("%s: %v, want %s", tc.name, tc.err, tc.want)
			}
		}
	})
}

func second[T any](_ T, err error) error { return err }
