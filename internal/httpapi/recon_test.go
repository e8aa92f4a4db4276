package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/internal/recon"
)

// reconFormat is a CSV column map for hand-built statements: order ID,
// channel reference, decimal amount and time; every line a succeeded
// pay-in in CNY.
func reconFormat() map[string]any {
	return map[string]any{"kind": "csv", "columns": map[string]any{"header": true, "order_id": "order_id", "channel_ref": "channel_ref",
		"amount": "amount", "time": "time", "amount_format": "decimal", "scale": 2, "default_asset": "CNY",
		"default_direction": "pay_in", "default_status": "succeeded", "time_layout": time.RFC3339, "time_zone": "UTC"}}
}

// reconLine is a line of a reconFormat statement.
type reconLine struct{ order, ref, amount, at string }

// reconCSV is a reconFormat statement file.
func reconCSV(lines ...reconLine) string {
	var b strings.Builder
	b.WriteString("order_id,channel_ref,amount,time\n")
	for _, l := range lines {
		b.WriteString(l.order + "," + l.ref + "," + l.amount + "," + l.at + "\n")
	}
	return b.String()
}

// importStatement imports a statement file with key and returns the
// response and the raw answer.
func (a *api) importStatement(key, channelID, date, file string, headers ...string) (*http.Response, []byte) {
	a.t.Helper()
	return a.raw(key, "POST", "/v1/recon/statements?channel_id="+channelID+"&date="+date, []byte(file),
		append([]string{"Content-Type", "text/csv"}, headers...)...)
}

// reconBooks are the suspense and write-off accounts of an institution,
// opened and registered with key (an admin key of the institution).
type reconBooks struct{ suspense, writeOff string }

func (a *api) reconBooks(key, prefix string) reconBooks {
	a.t.Helper()
	open := func(code, side, role string) string {
		id := a.newAccount(key, map[string]any{"asset": "CNY", "code": prefix + code, "normal_side": side, "overdraft": "unlimited"}).ID
		a.must(http.StatusCreated, key, "POST", "/v1/internal-accounts", map[string]any{"role": role, "account_id": id}, nil)
		return id
	}
	return reconBooks{suspense: open("2241", "credit", "suspense"), writeOff: open("6711", "debit", "write_off")}
}

// discrepancies lists discrepancies with the root key.
func (a *api) discrepancies(query string) []*recon.Discrepancy {
	a.t.Helper()
	var page struct {
		Items []*recon.Discrepancy `json:"items"`
	}
	a.must(http.StatusOK, a.admin, "GET", "/v1/recon/discrepancies"+query, nil, &page)
	return page.Items
}

// TestRecon reconciles a channel through the API: its settings, a
// statement import, a dry run and a run, and every decision an operator
// can take on what the run leaves open, each audited.
func TestRecon(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newAsset("CNY", 2)
		pay := a.payBooks(a.admin, "rc")
		books := a.reconBooks(a.admin, "rc")
		operator := a.newKey("root", auth.RoleOperator)
		checker := a.newKey("root", auth.RoleAdmin)
		settingsPath := "/v1/recon/channels/" + pay.channel + "/settings"
		order := a.order(operator, map[string]any{"reference": "rc-o1", "channel_id": pay.channel, "direction": "pay_in",
			"account": pay.wallet, "amount": 2500})
		// One line is the channel's answer for the order, which is still
		// processing (a status mismatch a rule settles); four are payments
		// Suanpan does not know (long), one for each decision.
		at := "2026-11-02T08:00:00Z"
		file := reconCSV(reconLine{order.ID, "", "25.00", at}, reconLine{"", "L1", "5.00", at}, reconLine{"", "L2", "6.00", at},
			reconLine{"", "L3", "7.00", at}, reconLine{"", "L4", "8.00", at})

		t.Run("settings", func(t *testing.T) {
			a := a.with(t)
			var st recon.Settings
			a.must(http.StatusOK, operator, "GET", settingsPath, nil, &st)
			want := recon.Settings{ChannelID: pay.channel, InstitutionID: "root", Format: st.Format, DateToleranceMs: 86400000,
				LateWindowMs: 172800000, AutoFailShort: true}
			if diff := cmp.Diff(want, st); diff != "" || st.Format.Kind != "native" {
				t.Errorf("defaults (-want +got):\n%s", diff)
			}
			a.must(http.StatusOK, operator, "PUT", settingsPath, map[string]any{"format": reconFormat(), "alert_count": 10,
				"alert_amount": 100000, "amount_tolerance": 3}, &st, rid("recon-settings")...)
			if st.Version != 1 || st.Format.Kind != "csv" || st.Format.Columns == nil || st.AlertCount != 10 || st.AlertAmount != 100000 ||
				st.AmountTolerance != 3 || st.LateWindowMs != 172800000 || !st.AutoFailShort || st.UpdatedBy != keyID(operator) {
				t.Errorf("saved settings %+v", st)
			}
			a.auditOnce("recon-settings", "recon_settings.put", "payment_channel:"+pay.channel, operator)
			var got recon.Settings
			a.must(http.StatusOK, a.admin, "GET", settingsPath, nil, &got)
			if diff := cmp.Diff(st, got); diff != "" {
				t.Errorf("read back (-put +get):\n%s", diff)
			}

			noAmount := reconFormat()
			noAmount["columns"].(map[string]any)["amount"] = ""
			noColumns := reconFormat()
			delete(noColumns, "columns")
			refused := []struct {
				name        string
				body        map[string]any
				status      int
				code, field string
			}{
				{"a column map without the amount", map[string]any{"format": noAmount}, 422, "invalid_request", "body.format"},
				{"csv without a column map", map[string]any{"format": noColumns}, 422, "invalid_request", "body.format"},
				{"an unknown kind", map[string]any{"format": map[string]any{"kind": "xml"}}, 422, "invalid_request", "body.format"},
				{"a late window over 31 days", map[string]any{"format": reconFormat(), "late_window_ms": 32 * 24 * 3600_000}, 422,
					"invalid_request", "body.late_window_ms"},
				{"a date tolerance over 31 days", map[string]any{"format": reconFormat(), "date_tolerance_ms": 32 * 24 * 3600_000}, 422,
					"invalid_request", "body.date_tolerance_ms"},
				{"basis points over 10000", map[string]any{"format": reconFormat(), "amount_tolerance_bp": 10001}, 422,
					"invalid_request", "body.amount_tolerance_bp"},
				{"a negative alert amount", map[string]any{"format": reconFormat(), "alert_amount": -1}, 422,
					"invalid_request", "body.alert_amount"},
			}
			for _, tc := range refused {
				t.Run(tc.name, func(t *testing.T) {
					a := a.with(t)
					a.fail(tc.status, tc.code, tc.field, operator, "PUT", settingsPath, tc.body, rid("refused-settings")...)
				})
			}
			a.fail(http.StatusNotFound, "channel_not_found", "path.id", operator, "PUT", "/v1/recon/channels/nope/settings",
				map[string]any{"format": reconFormat()})
			a.fail(http.StatusNotFound, "channel_not_found", "path.id", operator, "GET", "/v1/recon/channels/nope/settings", nil)
			a.noAudit("refused-settings")
			a.must(http.StatusOK, a.admin, "GET", settingsPath, nil, &got)
			if got.Version != 1 {
				t.Errorf("a refused change saved version %d", got.Version)
			}
		})

		var st recon.Statement
		t.Run("import", func(t *testing.T) {
			a := a.with(t)
			resp, raw := a.importStatement(operator, pay.channel, "2026-11-02", file, rid("recon-import")...)
			if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &st) != nil {
				t.Fatalf("import: %d %s", resp.StatusCode, raw)
			}
			if st.ChannelID != pay.channel || st.InstitutionID != "root" || st.Date != "2026-11-02" || st.Format != "csv" ||
				st.Lines != 5 || st.Credits != 5100 || st.Size != int64(len(file)) || len(st.SHA256) != 64 || st.ImportedBy != keyID(operator) {
				t.Errorf("statement %+v", st)
			}
			a.auditOnce("recon-import", "recon_statements.import", "payment_channel:"+pay.channel, operator)

			// The same file again is the same import; it changes nothing.
			var again recon.Statement
			resp, raw = a.importStatement(a.admin, pay.channel, "2026-11-02", file, rid("recon-import-again")...)
			if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &again) != nil || again != st {
				t.Errorf("the same file again: %d %s", resp.StatusCode, raw)
			}
			a.noAudit("recon-import-again")

			refused := []struct {
				name, date, file string
				status           int
				code, field      string
			}{
				{"another file for the date", "2026-11-02", reconCSV(reconLine{"", "L1", "5.01", at}), 409, "statement_exists", "query.date"},
				{"an amount that does not parse", "2026-11-03", reconCSV(reconLine{"", "L9", "5.001", "2026-11-03T08:00:00Z"}), 422,
					"statement_invalid", "body"},
				{"a time the layout does not read", "2026-11-03", reconCSV(reconLine{"", "L9", "5.00", "2026-11-03 08:00"}), 422,
					"statement_invalid", "body"},
				{"a line of another day", "2026-11-03", reconCSV(reconLine{"", "L9", "5.00", "2026-11-06T08:00:00Z"}), 422,
					"statement_invalid", "body"},
				{"a header without the columns", "2026-11-03", "ref,amount\nL9,5.00\n", 422, "statement_invalid", "body"},
				{"a date that does not exist", "2026-02-30", file, 422, "invalid_request", "query.date"},
				{"a malformed date", "02-11-2026", file, 422, "invalid_request", "query.date"},
			}
			for _, tc := range refused {
				t.Run(tc.name, func(t *testing.T) {
					a := a.with(t)
					resp, _ := a.importStatement(operator, pay.channel, tc.date, tc.file, rid("refused-import")...)
					p := checkProblem(t, resp, tc.status, tc.code)
					if p.Field != tc.field {
						t.Errorf("field %q, want %q (%s)", p.Field, tc.field, p.Detail)
					}
				})
			}
			resp, _ = a.importStatement(operator, "nope", "2026-11-02", file, rid("refused-import")...)
			if p := checkProblem(t, resp, http.StatusNotFound, "channel_not_found"); p.Field != "query.channel_id" {
				t.Errorf("unknown channel: field %q", p.Field)
			}
			a.noAudit("refused-import")

			var page struct {
				Items []recon.Statement `json:"items"`
			}
			a.must(http.StatusOK, operator, "GET", "/v1/recon/statements?channel_id="+pay.channel, nil, &page)
			if diff := cmp.Diff([]recon.Statement{st}, page.Items); diff != "" {
				t.Errorf("statements (-want +got):\n%s", diff)
			}
			var got recon.Statement
			a.must(http.StatusOK, operator, "GET", "/v1/recon/statements/"+st.ID, nil, &got)
			if got != st {
				t.Errorf("GET statement %+v", got)
			}
			resp, raw = a.raw(operator, "GET", "/v1/recon/statements/"+st.ID+"/file", nil)
			if resp.StatusCode != http.StatusOK || string(raw) != file {
				t.Errorf("statement file: %d %q", resp.StatusCode, raw)
			}
			a.fail(http.StatusNotFound, "statement_not_found", "path.id", operator, "GET", "/v1/recon/statements/nope", nil)
		})

		var run *recon.Run
		t.Run("dry run", func(t *testing.T) {
			a := a.with(t)
			// Two days on, the unknown payments are no longer late.
			a.clock.Advance(72 * time.Hour)
			var out recon.Branches
			a.must(http.StatusOK, operator, "POST", "/v1/recon/runs", map[string]any{"channel_id": pay.channel, "date": "2026-11-02",
				"dry_run": true}, &out, rid("recon-dry-run")...)
			if len(out.Runs) != 1 {
				t.Fatalf("dry run: %+v", out)
			}
			dry := out.Runs[0]
			var actions []string
			for _, it := range dry.Items {
				actions = append(actions, string(it.Kind)+":"+it.Action)
			}
			if diff := cmp.Diff([]string{"status_mismatch:settle", "long:park", "long:park", "long:park", "long:park"}, actions); diff != "" {
				t.Errorf("dry run items (-want +got):\n%s", diff)
			}
			if dry.ID != "" || !dry.DryRun || dry.Counts["status_mismatch"] != 1 || dry.Counts["long"] != 4 {
				t.Errorf("dry run %+v", dry)
			}
			a.noAudit("recon-dry-run")
			var runs struct {
				Items []*recon.Run `json:"items"`
			}
			a.must(http.StatusOK, a.admin, "GET", "/v1/recon/runs", nil, &runs)
			if len(runs.Items) != 0 || len(a.discrepancies("")) != 0 {
				t.Errorf("a dry run left %d runs and %d discrepancies", len(runs.Items), len(a.discrepancies("")))
			}
			if o := a.getOrder(order.ID); o.State != order.State {
				t.Errorf("a dry run settled the order: %s", o.State)
			}
			if v := a.account(books.suspense); v.Balance != 0 {
				t.Errorf("a dry run parked %d", v.Balance)
			}
		})

		t.Run("run", func(t *testing.T) {
			a := a.with(t)
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.channel_id", operator, "POST", "/v1/recon/runs",
				map[string]any{"channel_id": pay.channel, "institution_id": "root", "date": "2026-11-02"})
			a.fail(http.StatusNotFound, "statement_not_found", "body.date", operator, "POST", "/v1/recon/runs",
				map[string]any{"channel_id": pay.channel, "date": "2026-11-01"})
			var out recon.Branches
			a.must(http.StatusOK, operator, "POST", "/v1/recon/runs", map[string]any{"channel_id": pay.channel, "date": "2026-11-02"},
				&out, rid("recon-run")...)
			if len(out.Runs) != 1 || out.Open != 4 || out.OpenAmount != 2600 || out.Alerted {
				t.Fatalf("run: %+v", out)
			}
			run = out.Runs[0]
			wantCounts := map[string]int{"status_mismatch": 1, "long": 4, "duplicate": 0, "lines": 5, "orders": 1, "auto_resolved": 1,
				"open": 4}
			if diff := cmp.Diff(wantCounts, run.Counts); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			if run.ID == "" || run.Status != recon.RunDone || run.StatementID != st.ID || run.StartedBy != keyID(operator) ||
				run.FinishedAt == nil || run.Alerted {
				t.Errorf("run %+v", run)
			}
			a.auditOnce("recon-run", "recon_runs.run", "recon:2026-11-02", operator)
			if o := a.getOrder(order.ID); o.State != "succeeded" {
				t.Errorf("the order is %s, want succeeded by the channel's line", o.State)
			}
			if v := a.account(books.suspense); v.Balance != 2600 {
				t.Errorf("suspense holds %d, want the four long lines, 2600", v.Balance)
			}
			var runs struct {
				Items []*recon.Run `json:"items"`
			}
			a.must(http.StatusOK, operator, "GET", "/v1/recon/runs?date=2026-11-02", nil, &runs)
			var got recon.Run
			a.must(http.StatusOK, operator, "GET", "/v1/recon/runs/"+run.ID, nil, &got)
			if diff := cmp.Diff([]*recon.Run{run}, runs.Items); diff != "" {
				t.Errorf("runs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(run, &got); diff != "" {
				t.Errorf("GET run (-want +got):\n%s", diff)
			}
			a.fail(http.StatusNotFound, "recon_run_not_found", "path.id", operator, "GET", "/v1/recon/runs/nope", nil)
		})

		// byRef are the open discrepancies by their line's channel
		// reference (L1…L4 are the file's lines 3…6, after the header and
		// the order's line).
		byRef := map[string]*recon.Discrepancy{}
		t.Run("discrepancies", func(t *testing.T) {
			a := a.with(t)
			open := a.discrepancies("?status=open&run_id=" + run.ID)
			if len(open) != 4 {
				t.Fatalf("%d open discrepancies, want 4", len(open))
			}
			for i, d := range open {
				byRef[map[int]string{3: "L1", 4: "L2", 5: "L3", 6: "L4"}[d.LineNo]] = d
				if d.Kind != "long" || d.Status != recon.StatusOpen || d.Action != recon.ActionPark || d.ParkTx == "" ||
					d.ChannelID != pay.channel || d.StatementID != st.ID || d.Effect != d.Difference || d.AccountID != "" {
					t.Errorf("discrepancy %d: %+v", i, d)
				}
			}
			for ref, effect := range map[string]int64{"L1": 500, "L2": 600, "L3": 700, "L4": 800} {
				if d := byRef[ref]; d == nil || d.Effect != effect {
					t.Fatalf("the discrepancy of %s: %+v, want effect %d", ref, d, effect)
				}
			}
			if got := a.discrepancies("?kind=short"); len(got) != 0 {
				t.Errorf("%d short discrepancies", len(got))
			}
			var one recon.Discrepancy
			a.must(http.StatusOK, operator, "GET", "/v1/recon/discrepancies/"+byRef["L2"].ID, nil, &one)
			if diff := cmp.Diff(byRef["L2"], &one); diff != "" {
				t.Errorf("GET discrepancy (-list +get):\n%s", diff)
			}
			a.fail(http.StatusNotFound, "discrepancy_not_found", "path.id", operator, "GET", "/v1/recon/discrepancies/nope", nil)
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "query.status", operator, "GET", "/v1/recon/discrepancies?status=closed", nil)
		})

		resolve := func(a *api, key string, d *recon.Discrepancy, body map[string]any, out *recon.Discrepancy, id string) {
			a.t.Helper()
			a.must(http.StatusOK, key, "POST", "/v1/recon/discrepancies/"+d.ID+"/resolve", body, out, rid(id)...)
		}
		t.Run("accept suanpan", func(t *testing.T) {
			a := a.with(t)
			d := byRef["L1"]
			var got recon.Discrepancy
			resolve(a, operator, d, map[string]any{"action": "accept_suanpan", "note": "the channel will correct it"}, &got, "accept-suanpan")
			if got.Status != recon.StatusResolved || got.Resolution != "accept_suanpan" || got.ResolveTx == "" ||
				got.ResolvedBy != keyID(operator) || got.Note != "the channel will correct it" {
				t.Errorf("resolved %+v", got)
			}
			a.auditOnce("accept-suanpan", "discrepancies.accept_suanpan", "discrepancy:"+d.ID, operator)
			if v := a.account(books.suspense); v.Balance != 2100 {
				t.Errorf("suspense holds %d, want 2100", v.Balance)
			}
			a.fail(http.StatusConflict, "discrepancy_closed", "path.id", operator, "POST", "/v1/recon/discrepancies/"+d.ID+"/resolve",
				map[string]any{"action": "accept_suanpan", "note": "again"}, rid("resolve-again")...)
			a.noAudit("resolve-again")
		})
		t.Run("accept channel", func(t *testing.T) {
			a := a.with(t)
			d := byRef["L2"]
			path := "/v1/recon/discrepancies/" + d.ID + "/resolve"
			// A long line belongs to no account until the operator names one.
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.account_id", operator, "POST", path,
				map[string]any{"action": "accept_channel", "note": "the customer paid"}, rid("refused-resolve")...)
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.account_id", operator, "POST", path,
				map[string]any{"action": "accept_channel", "account_id": "nope", "note": "the customer paid"}, rid("refused-resolve")...)
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.note", operator, "POST", path,
				map[string]any{"action": "accept_channel", "account_id": pay.wallet, "note": ""}, rid("refused-resolve")...)
			a.fail(http.StatusUnprocessableEntity, "invalid_request", "body.action", operator, "POST", path,
				map[string]any{"action": "ignore", "note": "x"}, rid("refused-resolve")...)
			a.fail(http.StatusNotFound, "discrepancy_not_found", "path.id", operator, "POST", "/v1/recon/discrepancies/nope/resolve",
				map[string]any{"action": "accept_suanpan", "note": "x"}, rid("refused-resolve")...)
			a.noAudit("refused-resolve")
			wallet := a.account(pay.wallet).Balance
			var got recon.Discrepancy
			resolve(a, operator, d, map[string]any{"action": "accept_channel", "account_id": pay.wallet, "note": "the customer paid"}, &got,
				"accept-channel")
			if got.Status != recon.StatusResolved || got.Resolution != "accept_channel" || got.ResolveTx == "" {
				t.Errorf("resolved %+v", got)
			}
			a.auditOnce("accept-channel", "discrepancies.accept_channel", "discrepancy:"+d.ID, operator)
			if v := a.account(pay.wallet); v.Balance-wallet != 600 {
				t.Errorf("the wallet got %d, want the channel's 600", v.Balance-wallet)
			}
			if v := a.account(books.suspense); v.Balance != 1500 {
				t.Errorf("suspense holds %d, want 1500", v.Balance)
			}
		})
		t.Run("write-off", func(t *testing.T) {
			a := a.with(t)
			d := byRef["L3"]
			var got recon.Discrepancy
			resolve(a, operator, d, map[string]any{"action": "write_off", "note": "too small to chase"}, &got, "propose-write-off")
			if got.Status != recon.StatusWriteOffPending || got.ProposedBy != keyID(operator) || got.ResolveTx != "" {
				t.Errorf("proposed %+v", got)
			}
			a.auditOnce("propose-write-off", "discrepancies.write_off", "discrepancy:"+d.ID, operator)
			if v := a.account(books.suspense); v.Balance != 1500 {
				t.Errorf("a proposal moved suspense to %d", v.Balance)
			}
			approve := "/v1/recon/discrepancies/" + d.ID + "/write-off/approve"
			a.fail(http.StatusForbidden, auth.CodeForbidden, "", operator, "POST", approve, map[string]any{"note": "mine"})
			a.fail(http.StatusConflict, "discrepancy_closed", "", checker, "POST", "/v1/recon/discrepancies/"+byRef["L4"].ID+"/write-off/approve",
				map[string]any{"note": "nothing proposed"}, rid("refused-decision")...)
			a.noAudit("refused-decision")
			writeOff := a.account(books.writeOff).Balance
			got = recon.Discrepancy{}
			a.must(http.StatusOK, checker, "POST", approve, map[string]any{"note": "agreed"}, &got, rid("approve-write-off")...)
			if got.Status != recon.StatusResolved || got.Resolution != "write_off" || got.ResolveTx == "" ||
				got.ProposedBy != keyID(operator) || got.ResolvedBy != keyID(checker) {
				t.Errorf("approved %+v", got)
			}
			a.auditOnce("approve-write-off", "discrepancies.write_off_approve", "discrepancy:"+d.ID, checker)
			// The write-off account is debit-normal: written-off extra money
			// lowers it.
			if v := a.account(books.writeOff); v.Balance-writeOff != -700 {
				t.Errorf("the write-off account moved %d, want -700", v.Balance-writeOff)
			}
			if v := a.account(books.suspense); v.Balance != 800 {
				t.Errorf("suspense holds %d, want 800", v.Balance)
			}
		})
		t.Run("write-off rejected", func(t *testing.T) {
			a := a.with(t)
			d := byRef["L4"]
			var got recon.Discrepancy
			resolve(a, checker, d, map[string]any{"action": "write_off", "note": "write it off"}, &got, "propose-write-off-2")
			a.auditOnce("propose-write-off-2", "discrepancies.write_off", "discrepancy:"+d.ID, checker)
			for _, decision := range []string{"approve", "reject"} {
				a.fail(http.StatusForbidden, "approver_is_maker", "", checker, "POST", "/v1/recon/discrepancies/"+d.ID+"/write-off/"+decision,
					map[string]any{"note": "my own"}, rid("maker-decides")...)
			}
			a.noAudit("maker-decides")
			got = recon.Discrepancy{}
			a.must(http.StatusOK, a.admin, "POST", "/v1/recon/discrepancies/"+d.ID+"/write-off/reject", map[string]any{"note": "find it"},
				&got, rid("reject-write-off")...)
			if got.Status != recon.StatusOpen || got.ProposedBy != "" || got.Resolution != "" || got.Note != "find it" {
				t.Errorf("rejected %+v", got)
			}
			a.auditOnce("reject-write-off", "discrepancies.write_off_reject", "discrepancy:"+d.ID, a.admin)
			a.fail(http.StatusConflict, "discrepancy_closed", "", a.admin, "POST", "/v1/recon/discrepancies/"+d.ID+"/write-off/approve",
				map[string]any{}, rid("refused-decision")...)
			a.noAudit("refused-decision")
			open := a.discrepancies("?status=open")
			if len(open) != 1 || open[0].ID != d.ID {
				t.Errorf("open discrepancies %+v, want only L4's", open)
			}
			if v := a.account(books.suspense); v.Balance != 800 {
				t.Errorf("suspense holds %d, want L4's 800", v.Balance)
			}
			var rep struct {
				OK bool `json:"ok"`
			}
			a.must(http.StatusOK, a.admin, "POST", "/v1/ledger/verify", nil, &rep)
			if !rep.OK {
				t.Error("the ledger does not verify")
			}
		})
	})
}

// TestReconBranch: a branch's channel is reconciled by the root's keys
// and by the branch's own; the audit records belong to the branch either
// way, and the branch's keys see only its own.
func TestReconBranch(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		a.newAsset("CNY", 2)
		a.newInstitution("branch-a", "root")
		a.newInstitution("branch-b", "root")
		adminA := a.newKey("branch-a", auth.RoleAdmin)
		auditorA, auditorB := a.newKey("branch-a", auth.RoleAuditor), a.newKey("branch-b", auth.RoleAuditor)
		pay := a.payBooks(adminA, "ba")
		a.reconBooks(adminA, "ba")
		at := "2026-11-01T12:00:00Z"
		a.must(http.StatusOK, a.admin, "PUT", "/v1/recon/channels/"+pay.channel+"/settings", map[string]any{"format": reconFormat(),
			"late_window_ms": 3600_000}, nil, rid("branch-settings")...)
		if resp, raw := a.importStatement(a.admin, pay.channel, "2026-11-01", reconCSV(reconLine{"", "BA1", "1.00", at}),
			rid("branch-import")...); resp.StatusCode != http.StatusCreated {
			t.Fatalf("import: %d %s", resp.StatusCode, raw)
		}
		// A run by institution reconciles the branch's channels with a
		// statement and lists the others.
		var out recon.Branches
		a.must(http.StatusOK, a.admin, "POST", "/v1/recon/runs", map[string]any{"institution_id": "branch-a", "date": "2026-11-01"}, &out,
			rid("branch-run")...)
		if len(out.Runs) != 1 || out.Runs[0].ChannelID != pay.channel || len(out.Missing) != 0 || out.Open != 1 || !out.Alerted {
			t.Fatalf("branch run %+v", out)
		}
		ds := a.discrepancies("?run_id=" + out.Runs[0].ID)
		if len(ds) != 1 {
			t.Fatalf("%d discrepancies", len(ds))
		}
		a.must(http.StatusOK, a.admin, "POST", "/v1/recon/discrepancies/"+ds[0].ID+"/resolve",
			map[string]any{"action": "write_off", "note": "root proposes"}, nil, rid("branch-propose")...)
		a.must(http.StatusOK, adminA, "POST", "/v1/recon/discrepancies/"+ds[0].ID+"/write-off/approve",
			map[string]any{"note": "the branch approves"}, nil, rid("branch-approve")...)
		// The root's head office runs with its branches: nothing is left.
		a.must(http.StatusOK, a.admin, "POST", "/v1/recon/runs", map[string]any{"subtree": true, "date": "2026-11-01", "dry_run": true}, &out)
		if len(out.Runs) != 1 || out.Open != 0 || out.Runs[0].Counts["lines"] != 0 {
			t.Errorf("subtree dry run %+v", out)
		}

		records := map[string]string{}
		for _, r := range a.auditRecords() {
			if strings.HasPrefix(r.RequestID, "branch-") {
				records[r.RequestID] = r.InstitutionID
			}
		}
		want := map[string]string{"branch-settings": "branch-a", "branch-import": "branch-a", "branch-run": "branch-a",
			"branch-propose": "branch-a", "branch-approve": "branch-a"}
		if diff := cmp.Diff(want, records); diff != "" {
			t.Errorf("audit records' institutions (-want +got):\n%s", diff)
		}
		seen := func(key string) int {
			var page struct {
				Items []struct {
					Operation string `json:"operation"`
				} `json:"items"`
			}
			a.must(http.StatusOK, key, "GET", "/v1/audit?target=discrepancy:"+ds[0].ID, nil, &page)
			return len(page.Items)
		}
		if got := seen(auditorA); got != 2 {
			t.Errorf("branch-a's auditor sees %d records of its discrepancy, want 2", got)
		}
		if got := seen(auditorB); got != 0 {
			t.Errorf("branch-b's auditor sees %d records of branch-a's discrepancy", got)
		}
		var page struct {
			Items []*recon.Discrepancy `json:"items"`
		}
		a.must(http.StatusOK, auditorB, "GET", "/v1/recon/discrepancies", nil, &page)
		if len(page.Items) != 0 {
			t.Errorf("branch-b sees %d of branch-a's discrepancies", len(page.Items))
		}
		a.fail(http.StatusForbidden, auth.CodeForbidden, "body.institution_id", a.newKey("branch-b", auth.RoleAdmin), "POST", "/v1/recon/runs",
			map[string]any{"institution_id": "branch-a", "date": "2026-11-01"})
	})
}
