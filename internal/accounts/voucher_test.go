package accounts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

func TestDailyVouchers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newStBooks(t, db) // 2026-10-30
		c := b.customer(t, accounts.Personal)
		w1, w2 := b.wallet(t, c.ID), b.wallet(t, c.ID)
		b.transfer(t, b.bank, w1, "f1", 30000)
		b.transfer(t, b.bank, w2, "f2", 1234)
		b.transfer(t, w1, w2, "move", 500)
		// A hold reserves without posting: not in the voucher.
		if _, err := b.ledger.Post(ctx, ledger.Request{Kind: ledger.KindHold, InstitutionID: "bank-a", Reference: "hold",
			Postings: []ledger.Posting{{Debit: w1, Credit: b.bank, Asset: "CNY", Amount: 99}}}); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(24 * time.Hour) // the next day's movement stays out
		b.transfer(t, b.bank, w1, "next-day", 1)

		vs := accounts.NewVouchers(b.ledger)
		got, err := vs.Daily(ctx, "2026-10-30", []string{"bank-a", "bank-b"})
		if err != nil {
			t.Fatal(err)
		}
		want := []*accounts.Voucher{{Number: "bank-a-20261030", Date: "2026-10-30", InstitutionID: "bank-a",
			Lines: []accounts.VoucherLine{
				{Line: 1, Code: "1002", Asset: "CNY", Scale: 2, Debit: 31234, Entries: 2},
				{Line: 2, Code: "2001", Asset: "CNY", Scale: 2, Debit: 500, Credit: 31734, Entries: 4},
			},
			Totals:   []accounts.VoucherTotal{{Asset: "CNY", Debit: 31734, Credit: 31734, Balanced: true}},
			Balanced: true}}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("vouchers (-want +got):\n%s", d)
		}
		// The day's movement per code equals the journal's: the trial
		// balance of a ledger that only moved that day.
		tb, err := b.ledger.TrialBalance(ctx, []string{"bank-a"})
		if err != nil {
			t.Fatal(err)
		}
		nextDay := map[string][2]int64{"1002": {1, 0}, "2001": {0, 1}} // debit, credit
		for _, l := range tb.Lines {
			for _, x := range got[0].Lines {
				if x.Code == l.Code && (x.Debit+nextDay[l.Code][0] != l.DebitsPosted || x.Credit+nextDay[l.Code][1] != l.CreditsPosted) {
					t.Errorf("code %s: voucher %d/%d, journal %d/%d", l.Code, x.Debit, x.Credit, l.DebitsPosted, l.CreditsPosted)
				}
			}
		}
		again, err := vs.Daily(ctx, "2026-10-30", []string{"bank-a"})
		if err != nil || !cmp.Equal(got, again) {
			t.Fatalf("not deterministic: %v", err)
		}
		if none, err := vs.Daily(ctx, "2026-10-29", []string{"bank-a"}); err != nil || len(none) != 0 {
			t.Fatalf("empty day: %v %d", err, len(none))
		}
		if _, err := vs.Daily(ctx, "2026-10-3", nil); accounts.ErrorCode(err) != accounts.CodeInvalidRequest {
			t.Fatalf("bad date: %v", err)
		}

		var buf bytes.Buffer
		if err := accounts.WriteVouchersCSV(&buf, got); err != nil {
			t.Fatal(err)
		}
		wantCSV := "date,voucher_no,line,account_code,debit,credit,currency,text\n" +
			"2026-10-30,bank-a-20261030,1,1002,312.34,0.00,CNY,bank-a daily summary 2026-10-30 (2 entries)\n" +
			"2026-10-30,bank-a-20261030,2,2001,5.00,317.34,CNY,bank-a daily summary 2026-10-30 (4 entries)\n"
		if d := cmp.Diff(wantCSV, buf.String()); d != "" {
			t.Errorf("csv (-want +got):\n%s", d)
		}
		js, err := json.Marshal(got[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{`"number":"bank-a-20261030"`, `"account_code":"2001"`, `"currency":"CNY"`, `"balanced":true`} {
			if !strings.Contains(string(js), k) {
				t.Errorf("json lacks %s: %s", k, js)
			}
		}
	})
}
