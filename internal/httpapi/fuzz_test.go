package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/suanpan/suanpan/internal/audit"
	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// The fuzz targets post arbitrary bytes as the JSON body of the transaction
// endpoints. So that inputs can reach the ledger, the placeholders $A, $B,
// $C and $Y in an input become account IDs (a CNY bank account that may
// overdraw, a CNY wallet, a CNY wallet with an overdraft limit of 10.00, a
// JPY wallet), $H a pending hold and $T a posted transfer.

// fuzzEnv is one server with books for the fuzz targets.
type fuzzEnv struct {
	*api
	accounts []string
	fill     *strings.Replacer
	seen     map[string]bool // transaction IDs answered before
}

func newFuzzEnv(tb testing.TB, db *store.DB) *fuzzEnv {
	tb.Helper()
	a := newAPI(tb, db)
	a.newAsset("CNY", 2)
	a.newAsset("JPY", 0)
	open := func(asset, side, overdraft string, limit int64) string {
		body := map[string]any{"asset": asset, "code": "2001", "normal_side": side, "overdraft": overdraft}
		if limit > 0 {
			body["overdraft_limit"] = limit
		}
		return a.newAccount(a.admin, body).ID
	}
	bank, wallet, limited, yen := open("CNY", "debit", "unlimited", 0), open("CNY", "credit", "none", 0), open("CNY", "credit", "limit", 1000), open("JPY", "credit", "none", 0)
	yenBank := open("JPY", "debit", "unlimited", 0)
	tr := a.transfer(a.admin, "fuzz-fund", bank, wallet, "CNY", 100000)
	a.transfer(a.admin, "fuzz-fund-yen", yenBank, yen, "JPY", 100000)
	h := a.hold(a.admin, "", "fuzz-hold", 0, posting(wallet, limited, "CNY", 500))
	return &fuzzEnv{api: a, accounts: []string{bank, wallet, limited, yen, yenBank},
		fill: strings.NewReplacer("$A", bank, "$B", wallet, "$C", limited, "$Y", yen, "$H", h.ID, "$T", tr.ID),
		seen: map[string]bool{tr.ID: true, h.ID: true}}
}

// balances reads every account's balances straight from the ledger.
func (e *fuzzEnv) balances(t testing.TB) map[string]ledger.Balances {
	t.Helper()
	out := map[string]ledger.Balances{}
	for _, id := range e.accounts {
		acct, err := e.ledger.GetAccount(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = acct.Balances
	}
	return out
}

// post sends one fuzz input and checks the answer's shape: never a 5xx,
// every refusal a problem document with a code. It returns the status and
// the body.
func (e *fuzzEnv) post(t testing.TB, path string, input []byte) (int, []byte) {
	t.Helper()
	body := []byte(e.fill.Replace(string(input)))
	resp, raw := e.with(t).raw(e.admin, "POST", path, body)
	if resp.StatusCode >= 500 {
		t.Fatalf("POST %s %q: %d %s", path, body, resp.StatusCode, raw)
	}
	if resp.StatusCode/100 != 2 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("POST %s %q: %d with Content-Type %q", path, body, resp.StatusCode, ct)
		}
		var p problem
		if err := json.Unmarshal(raw, &p); err != nil || p.Code == "" || p.Status != resp.StatusCode {
			t.Fatalf("POST %s %q: %d, not a problem with a code: %s", path, body, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, raw
}

// apply adds a transaction's entries to balances.
func apply(t testing.TB, bals map[string]ledger.Balances, tr *httpapi.TransactionView) {
	t.Helper()
	for _, e := range tr.Entries {
		b := bals[e.AccountID]
		var f *int64
		switch {
		case e.Kind == "posted" && e.Side == "debit":
			f = &b.DebitsPosted
		case e.Kind == "posted":
			f = &b.CreditsPosted
		case e.Side == "debit":
			f = &b.DebitsPending
		default:
			f = &b.CreditsPending
		}
		if e.Kind == "release" {
			*f -= e.Amount
		} else {
			*f += e.Amount
		}
		bals[e.AccountID] = b
		if e.After != b {
			t.Fatalf("entry %d of %s says %+v after, want %+v", e.Seq, e.AccountID, e.After, b)
		}
	}
}

type fuzzPosting struct {
	Debit, Credit, Asset string
	Amount               int64
}

// samePostings checks that a transfer moved what was asked.
func samePostings(t testing.TB, want []fuzzPosting, got []httpapi.PostingView) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("asked for %d postings, got %d", len(want), len(got))
	}
	for i, p := range want {
		g := got[i]
		if p.Debit != g.Debit || p.Credit != g.Credit || p.Asset != g.Asset || p.Amount != g.Amount {
			t.Fatalf("posting %d: asked %+v, got %+v", i, p, g)
		}
	}
}

func (e *fuzzEnv) transfer(t testing.TB, input []byte) {
	t.Helper()
	before := e.balances(t)
	status, raw := e.post(t, "/v1/transactions", input)
	want := before
	if status/100 == 2 {
		if status != http.StatusCreated {
			t.Fatalf("status %d", status)
		}
		var tr httpapi.TransactionView
		if err := json.Unmarshal(raw, &tr); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
		var req struct{ Postings []fuzzPosting }
		if err := json.Unmarshal([]byte(e.fill.Replace(string(input))), &req); err != nil {
			t.Fatalf("accepted %q, which does not decode: %v", input, err)
		}
		samePostings(t, req.Postings, tr.Postings)
		if tr.Kind != "transfer" || len(tr.Entries) != 2*len(tr.Postings) {
			t.Fatalf("transaction %+v", tr)
		}
		if !e.seen[tr.ID] { // a resubmitted reference changes nothing
			e.seen[tr.ID] = true
			apply(t, want, &tr)
		}
	}
	e.sameBalances(t, want, input)
}

func (e *fuzzEnv) batch(t testing.TB, input []byte) {
	t.Helper()
	before := e.balances(t)
	status, raw := e.post(t, "/v1/transactions/batch", input)
	want := before
	if status/100 == 2 {
		var out struct {
			Results []httpapi.BatchResult `json:"results"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
		var req struct {
			Atomic bool
			Items  []struct {
				Kind     string
				Postings []fuzzPosting
			}
		}
		if err := json.Unmarshal([]byte(e.fill.Replace(string(input))), &req); err != nil {
			t.Fatalf("accepted %q, which does not decode: %v", input, err)
		}
		if len(out.Results) != len(req.Items) {
			t.Fatalf("%d items, %d results", len(req.Items), len(out.Results))
		}
		failed := false
		for i, r := range out.Results {
			switch {
			case r.Status == "ok" && r.Transaction != nil && r.Error == nil:
				if req.Items[i].Kind == "transfer" || req.Items[i].Kind == "hold" {
					samePostings(t, req.Items[i].Postings, r.Transaction.Postings)
				}
				if r.Transaction.Kind != req.Items[i].Kind {
					t.Fatalf("item %d: a %s answered with a %s", i, req.Items[i].Kind, r.Transaction.Kind)
				}
				if !r.Duplicate && !e.seen[r.Transaction.ID] {
					e.seen[r.Transaction.ID] = true
					apply(t, want, r.Transaction)
				}
			case r.Status == "rejected" && r.Transaction == nil && r.Error != nil && r.Error.Code != "" && r.Error.Message != "":
				failed = true
			default:
				t.Fatalf("item %d: result %+v", i, r)
			}
		}
		if req.Atomic && failed {
			for i, r := range out.Results {
				if r.Status == "ok" && !r.Duplicate {
					t.Fatalf("atomic batch with a rejection committed item %d", i)
				}
			}
		}
	}
	e.sameBalances(t, want, input)
}

func (e *fuzzEnv) sameBalances(t testing.TB, want map[string]ledger.Balances, input []byte) {
	t.Helper()
	got := e.balances(t)
	for id, w := range want {
		if got[id] != w {
			t.Fatalf("after %q account %s has %+v, want %+v", input, id, got[id], w)
		}
	}
}

// transferSeeds are FuzzTransactionJSON's seed corpus in code; more are in
// testdata/fuzz/FuzzTransactionJSON.
var transferSeeds = []string{
	`{"reference":"s1","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":100}]}`,
	`{"reference":"s2","type":"topup","metadata":{"order":"o-1","phone":"13800138000"},"postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":1},{"debit":"$B","credit":"$C","asset":"CNY","amount":2}]}`,
	`{"institution_id":"root","reference":"s3","postings":[{"debit":"$B","credit":"$Y","asset":"JPY","amount":5}]}`,
	`{"reference":"s4","postings":[{"debit":"$C","credit":"$B","asset":"CNY","amount":1001}]}`,
	`{"reference":"s5","postings":[{"debit":"$C","credit":"$B","asset":"CNY","amount":1000}]}`,
	`{"reference":"s6","postings":[{"debit":"$A","credit":"$A","asset":"CNY","amount":1}]}`,
	`{"reference":"s7","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":0}]}`,
	`{"reference":"s8","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":-1}]}`,
	`{"reference":"s9","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":1.5}]}`,
	`{"reference":"s10","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":1e3}]}`,
	`{"reference":"s11","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":9223372036854775807}]}`,
	`{"reference":"s12","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":9223372036854775808}]}`,
	`{"reference":"s13","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":"100"}]}`,
	`{"reference":"s14","institution_id":"nope","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":1}]}`,
	`{"reference":"s1","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":101}]}`,
	`{"reference":"参考","type":"a b","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":1}]}`,
	`{"reference":"s15","reference":"s16","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":1}],"extra":true}`,
	`{"reference":"s17","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":1,"memo":"x"}]}`,
	`{"reference":"s18","postings":[]}`,
	`{"reference":"s19","postings":null}`,
	`{"reference":"","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":1}]}`,
	`{"postings":[{"debit":"nope","credit":"$B","asset":"CNY","amount":1}],"reference":"s20"}`,
	`{"reference":"s21\u0000","metadata":{"k":"v\u0000"},"postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":1}]}`,
	`{`, `[]`, `null`, `""`, `{}`, `[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]`, "\xff\xfe{\"reference\":\"x\"}",
}

var batchSeeds = []string{
	`{"items":[{"kind":"transfer","reference":"b1","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":100}]}]}`,
	`{"atomic":true,"items":[{"kind":"transfer","reference":"b2","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":1}]},{"kind":"transfer","reference":"b3","postings":[{"debit":"$C","credit":"$B","asset":"CNY","amount":100000}]}]}`,
	`{"items":[{"kind":"hold","reference":"b4","timeout_seconds":60,"postings":[{"debit":"$B","credit":"$C","asset":"CNY","amount":10}]},{"kind":"transfer","reference":"b4","postings":[{"debit":"$B","credit":"$C","asset":"CNY","amount":10}]}]}`,
	`{"items":[{"kind":"post","reference":"b5","hold_id":"$H","amounts":[100]}]}`,
	`{"items":[{"kind":"void","reference":"b6","hold_id":"$H"}]}`,
	`{"items":[{"kind":"post","reference":"b7","hold_id":"$H","amounts":[501]},{"kind":"post","reference":"b8","hold_id":"$H","postings":[]}]}`,
	`{"items":[{"kind":"reversal","reference":"b9","transaction_id":"$T","amounts":[1]},{"kind":"reversal","reference":"b10","transaction_id":"$T","amounts":[0]}]}`,
	`{"items":[{"kind":"reversal","reference":"b11","transaction_id":"$H"}]}`,
	`{"items":[{"kind":"transfer","reference":"b12","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":1}]},{"kind":"transfer","reference":"b12","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":1}]},{"kind":"transfer","reference":"b12","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":2}]}]}`,
	`{"items":[{"kind":"gift","reference":"b13"}]}`,
	`{"items":[]}`,
	`{"items":[{"kind":"transfer","reference":"b14","timeout_seconds":5,"hold_id":"x","transaction_id":"y","amounts":[1],"postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":1}]}]}`,
	`{"institution_id":"root","atomic":false,"items":[{"kind":"hold","reference":"b15","timeout_seconds":315360000,"postings":[{"debit":"$Y","credit":"$B","asset":"JPY","amount":1}]}]}`,
	`{"items":[{"kind":"transfer","reference":"b16","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":1}]},{"kind":"transfer","reference":"b17\u0000","postings":[{"debit":"$A","credit":"$B","asset":"CNY","amount":1}]}]}`,
	`{"items":null}`, `{"items":{}}`, `{`, `[]`,
}

func FuzzTransactionJSON(f *testing.F) {
	for _, s := range transferSeeds {
		f.Add([]byte(s))
	}
	e := newFuzzEnv(f, storetest.Open(f, store.SQLite))
	f.Fuzz(func(t *testing.T, input []byte) {
		e.transfer(t, input)
	})
}

func FuzzBatchJSON(f *testing.F) {
	for _, s := range batchSeeds {
		f.Add([]byte(s))
	}
	e := newFuzzEnv(f, storetest.Open(f, store.SQLite))
	f.Fuzz(func(t *testing.T, input []byte) {
		e.batch(t, input)
	})
}

// TestFuzzSeedsKeepLedgerSound posts both fuzz targets' seed corpora (in
// code and in testdata) on every engine and then verifies the ledger and the
// audit chain, which is too slow to do per fuzz input.
func TestFuzzSeedsKeepLedgerSound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newFuzzEnv(t, db)
		for _, s := range transferSeeds {
			e.transfer(t, []byte(s))
		}
		for _, s := range corpus(t, "FuzzTransactionJSON") {
			e.transfer(t, s)
		}
		for _, s := range batchSeeds {
			e.batch(t, []byte(s))
		}
		for _, s := range corpus(t, "FuzzBatchJSON") {
			e.batch(t, s)
		}
		rep, err := e.ledger.Verify(context.Background())
		if err != nil || !rep.OK {
			t.Fatalf("ledger verify: %v %+v", err, rep)
		}
		arep, err := audit.Verify(context.Background(), e.db)
		if err != nil || !arep.OK {
			t.Fatalf("audit verify: %v %+v", err, arep)
		}
	})
}

// corpus reads the seed corpus files of a fuzz target.
func corpus(t *testing.T, target string) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no seed corpus for %s", target)
	}
	var out [][]byte
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(nil, 1<<20)
		if !sc.Scan() || sc.Text() != "go test fuzz v1" || !sc.Scan() {
			t.Fatalf("%s: not a fuzz corpus file", name)
		}
		line := sc.Text()
		if !strings.HasPrefix(line, "[]byte(") || !strings.HasSuffix(line, ")") {
			t.Fatalf("%s: %q is not a []byte value", name, line)
		}
		s, err := strconv.Unquote(line[len("[]byte(") : len(line)-1])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, []byte(s))
	}
	return out
}
