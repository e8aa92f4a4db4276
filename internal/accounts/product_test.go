package accounts_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

func TestProductValidate(t *testing.T) {
	fee := accounts.FeeRule{Operation: accounts.OpWithdraw, Kind: accounts.FeePercentage, Rate: rate(t, "0.001"),
		Payer: accounts.PartyPayer, Rounding: money.HalfUp, FeeAccountCode: "6001"}
	tier := func(upTo int64) accounts.Tier { return accounts.Tier{UpTo: upTo, Rate: rate(t, "0.001")} }
	tests := []struct {
		name  string
		edit  func(p *accounts.Product)
		field string
	}{
		{"valid", func(p *accounts.Product) {}, ""},
		{"valid with everything", func(p *accounts.Product) {
			p.Overdraft, p.OverdraftLimit = ledger.OverdraftLimit, 100
			p.Channels, p.Operations = []string{"bank", "wechat"}, []string{accounts.OpWithdraw, accounts.OpTopup}
			p.Limits = []accounts.Limit{{Operation: accounts.OpWithdraw, Channel: "bank", DailyCount: 3}}
			p.Fees = []accounts.FeeRule{fee}
			p.Term = &accounts.Term{Maturity: "2027-12-31"}
			p.AutoOpen = []accounts.AutoOpen{{CustomerType: "merchant"}, {Scenario: "prepaid_store"}}
		}, ""},
		{"id", func(p *accounts.Product) { p.ID = "Wallet CNY" }, "id"},
		{"empty id", func(p *accounts.Product) { p.ID = "" }, "id"},
		{"institution", func(p *accounts.Product) { p.InstitutionID = "" }, "institution_id"},
		{"name", func(p *accounts.Product) { p.Name = "" }, "name"},
		{"name with a control character", func(p *accounts.Product) { p.Name = "a\x00b" }, "name"},
		{"class", func(p *accounts.Product) { p.Class = "savings" }, "class"},
		{"asset", func(p *accounts.Product) { p.Asset = "cny" }, "asset"},
		{"chart code", func(p *accounts.Product) { p.ChartCode = "" }, "chart_code"},
		{"normal side", func(p *accounts.Product) { p.NormalSide = "" }, "normal_side"},
		{"overdraft", func(p *accounts.Product) { p.Overdraft = "some" }, "overdraft"},
		{"overdraft limit without limit", func(p *accounts.Product) { p.OverdraftLimit = 1 }, "overdraft_limit"},
		{"channel", func(p *accounts.Product) { p.Channels = []string{"Bank"} }, "channels[0]"},
		{"repeated channel", func(p *accounts.Product) { p.Channels = []string{"bank", "bank"} }, "channels[1]"},
		{"operation", func(p *accounts.Product) { p.Operations = []string{"teleport"} }, "operations[0]"},
		{"limit operation", func(p *accounts.Product) { p.Limits = []accounts.Limit{{Operation: "x", PerTxn: 1}} }, "limits[0].operation"},
		{"limit without bounds", func(p *accounts.Product) { p.Limits = []accounts.Limit{{Operation: accounts.OpTopup}} }, "limits[0]"},
		{"negative limit", func(p *accounts.Product) {
			p.Limits = []accounts.Limit{{Operation: accounts.OpTopup, PerTxn: 1, DailyCount: -1}}
		}, "limits[0].daily_count"},
		{"repeated limit", func(p *accounts.Product) {
			p.Limits = []accounts.Limit{{Operation: accounts.OpTopup, PerTxn: 1}, {Operation: accounts.OpTopup, PerTxn: 2}}
		}, "limits[1]"},
		{"limit on a refused operation", func(p *accounts.Product) {
			p.Operations = []string{accounts.OpPayment}
			p.Limits = []accounts.Limit{{Operation: accounts.OpTopup, PerTxn: 1}}
		}, "limits[0].operation"},
		{"limit on a refused channel", func(p *accounts.Product) {
			p.Channels = []string{"bank"}
			p.Limits = []accounts.Limit{{Operation: accounts.OpTopup, Channel: "cash", PerTxn: 1}}
		}, "limits[0].channel"},
		{"fee without rounding", func(p *accounts.Product) { f := fee; f.Rounding = 0; p.Fees = []accounts.FeeRule{f} }, "fees[0].rounding"},
		{"fee rate above 1", func(p *accounts.Product) { f := fee; f.Rate = rate(t, "1.01"); p.Fees = []accounts.FeeRule{f} }, "fees[0].rate"},
		{"negative fee rate", func(p *accounts.Product) { f := fee; f.Rate = rate(t, "-0.01"); p.Fees = []accounts.FeeRule{f} }, "fees[0].rate"},
		{"fee kind", func(p *accounts.Product) { f := fee; f.Kind = "flat"; p.Fees = []accounts.FeeRule{f} }, "fees[0].kind"},
		{"fixed fee with a rate", func(p *accounts.Product) { f := fee; f.Kind = accounts.FeeFixed; p.Fees = []accounts.FeeRule{f} }, "fees[0].kind"},
		{"min above max", func(p *accounts.Product) { f := fee; f.Min, f.Max = 10, 5; p.Fees = []accounts.FeeRule{f} }, "fees[0].min"},
		{"payer", func(p *accounts.Product) { f := fee; f.Payer = "bank"; p.Fees = []accounts.FeeRule{f} }, "fees[0].payer"},
		{"fee account", func(p *accounts.Product) { f := fee; f.FeeAccountCode = ""; p.Fees = []accounts.FeeRule{f} }, "fees[0].fee_account_code"},
		{"repeated fee", func(p *accounts.Product) { p.Fees = []accounts.FeeRule{fee, fee} }, "fees[1]"},
		{"tiers out of order", func(p *accounts.Product) {
			f := fee
			f.Kind, f.Rate, f.Tiers = accounts.FeeTiered, money.Rate{}, []accounts.Tier{tier(100), tier(100), tier(0)}
			p.Fees = []accounts.FeeRule{f}
		}, "fees[0].tiers[1].up_to"},
		{"last tier bounded", func(p *accounts.Product) {
			f := fee
			f.Kind, f.Rate, f.Tiers = accounts.FeeTiered, money.Rate{}, []accounts.Tier{tier(100), tier(200)}
			p.Fees = []accounts.FeeRule{f}
		}, "fees[0].tiers[1].up_to"},
		{"no tiers", func(p *accounts.Product) {
			f := fee
			f.Kind, f.Rate = accounts.FeeTiered, money.Rate{}
			p.Fees = []accounts.FeeRule{f}
		}, "fees[0].tiers"},
		{"term with both", func(p *accounts.Product) { p.Term = &accounts.Term{Days: 90, Maturity: "2027-01-01"} }, "term"},
		{"term days", func(p *accounts.Product) { p.Term = &accounts.Term{Days: -1} }, "term.days"},
		{"term maturity", func(p *accounts.Product) { p.Term = &accounts.Term{Maturity: "2027-02-30"} }, "term.maturity"},
		{"auto-open with both", func(p *accounts.Product) {
			p.AutoOpen = []accounts.AutoOpen{{CustomerType: "merchant", Scenario: "x"}}
		}, "auto_open[0]"},
		{"auto-open customer type", func(p *accounts.Product) {
			p.AutoOpen = []accounts.AutoOpen{{CustomerType: "Merchant"}}
		}, "auto_open[0].customer_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := wallet(nil, nil)
			tt.edit(&p)
			c, f := code(p.Validate())
			want := accounts.Code("")
			if tt.field != "" {
				want = accounts.CodeInvalidRequest
			}
			if c != want || f != tt.field {
				t.Errorf("Validate = %q (%q), want %q (%q)", c, f, want, tt.field)
			}
		})
	}
}

// products is a product service on a fresh store with CNY registered.
type products struct {
	db    *store.DB
	clock *clock.Fake
	svc   *accounts.ProductService
}

func newProducts(t *testing.T, db *store.DB) *products {
	t.Helper()
	c := clock.NewFake(time.Date(2026, 11, 2, 9, 0, 0, 123456789, time.UTC))
	l := ledger.New(db, ledger.Options{Clock: c})
	t.Cleanup(func() { l.Close() })
	if _, err := l.CreateAsset(context.Background(), "CNY", 2); err != nil {
		t.Fatal(err)
	}
	return &products{db: db, clock: c, svc: accounts.NewProductService(db, c)}
}

// body returns the stored body of a version, as it is in the database.
func (ps *products) body(t *testing.T, inst, id string, version int) string {
	t.Helper()
	var b string
	err := ps.db.Read.QueryRow(`SELECT body FROM products WHERE institution_id = $1 AND id = $2 AND version = $3`,
		inst, id, version).Scan(&b)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProductVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ps := newProducts(t, db)
		var calls []string
		record := func(ctx context.Context, tx *sql.Tx, before, after *accounts.Product) error {
			b := 0
			if before != nil {
				b = before.Version
			}
			calls = append(calls, after.ID+":"+string(rune('0'+b))+"->"+string(rune('0'+after.Version)))
			return nil
		}
		in := wallet([]accounts.FeeRule{{Operation: accounts.OpWithdraw, Kind: accounts.FeeFixed, Fixed: 200,
			Payer: accounts.PartyPayer, Rounding: money.HalfEven, FeeAccountCode: "6001"}},
			[]accounts.Limit{{Operation: accounts.OpWithdraw, PerTxn: 500000}})
		in.Term = &accounts.Term{Days: 365}
		v1, err := ps.svc.Create(ctx, in, record)
		if err != nil {
			t.Fatal(err)
		}
		if v1.Version != 1 || v1.Status != accounts.ProductActive || !v1.CreatedAt.Equal(ps.clock.Now().Truncate(time.Microsecond)) {
			t.Errorf("created %+v", v1)
		}
		got, err := ps.svc.Get(ctx, "root", "wallet-cny", 0)
		if err != nil {
			t.Fatal(err)
		}
		if d := diff(v1, got); d != "" {
			t.Errorf("Get latest (-created +got):\n%s", d)
		}
		body1 := ps.body(t, "root", "wallet-cny", 1)

		t.Run("create refuses", func(t *testing.T) {
			for name, tc := range map[string]struct {
				edit  func(*accounts.Product)
				code  accounts.Code
				field string
			}{
				"an existing id":   {func(*accounts.Product) {}, accounts.CodeConflict, "id"},
				"an unknown asset": {func(p *accounts.Product) { p.ID, p.Asset = "wallet-usd", "USD" }, accounts.CodeInvalidRequest, "asset"},
				"a bad fee":        {func(p *accounts.Product) { p.ID = "x"; p.Fees[0].Payer = "" }, accounts.CodeInvalidRequest, "fees[0].payer"},
			} {
				p := wallet(nil, nil)
				p.Fees = []accounts.FeeRule{in.Fees[0]}
				tc.edit(&p)
				_, err := ps.svc.Create(ctx, p, record)
				if c, f := code(err); c != tc.code || f != tc.field {
					t.Errorf("%s: %v, want %s (%s)", name, err, tc.code, tc.field)
				}
			}
		})

		ps.clock.Advance(time.Hour)
		change := *v1
		change.Fees = []accounts.FeeRule{{Operation: accounts.OpWithdraw, Kind: accounts.FeePercentage, Rate: rate(t, "0.001"),
			Min: 100, Payer: accounts.PartyPayer, Rounding: money.HalfUp, FeeAccountCode: "6001"}}
		change.Name, change.CreatedBy = "CNY wallet 2027", "k2"
		v2, err := ps.svc.Update(ctx, change, record)
		if err != nil {
			t.Fatal(err)
		}
		if v2.Version != 2 || v2.Name != "CNY wallet 2027" || v2.CreatedBy != "k2" || !v2.CreatedAt.After(v1.CreatedAt) {
			t.Errorf("updated %+v", v2)
		}

		t.Run("old versions stay as they were", func(t *testing.T) {
			if b := ps.body(t, "root", "wallet-cny", 1); b != body1 {
				t.Errorf("version 1's body changed:\n%s\n%s", body1, b)
			}
			old, err := ps.svc.Get(ctx, "root", "wallet-cny", 1)
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(v1, old); d != "" {
				t.Errorf("version 1 (-created +now):\n%s", d)
			}
			fee, err := old.Fee(accounts.OpWithdraw, "bank", 1000)
			if err != nil || fee.Amount != 200 {
				t.Errorf("version 1 prices 10.00 at %+v, %v; want 200", fee, err)
			}
			fee, _ = v2.Fee(accounts.OpWithdraw, "bank", 1000)
			if fee.Amount != 100 {
				t.Errorf("version 2 prices 10.00 at %+v; want 100 (the minimum)", fee)
			}
		})
		t.Run("latest and by version", func(t *testing.T) {
			latest, err := ps.svc.Get(ctx, "root", "wallet-cny", 0)
			if err != nil || latest.Version != 2 {
				t.Fatalf("latest = %+v, %v", latest, err)
			}
			if d := diff(v2, latest); d != "" {
				t.Errorf("latest (-updated +got):\n%s", d)
			}
			all, err := ps.svc.Versions(ctx, "root", "wallet-cny")
			if err != nil {
				t.Fatal(err)
			}
			if d := diff([]*accounts.Product{v1, v2}, all); d != "" {
				t.Errorf("versions (-want +got):\n%s", d)
			}
			for _, v := range []int{3, -1} {
				_, err := ps.svc.Get(ctx, "root", "wallet-cny", v)
				want := accounts.CodeProductNotFound
				if v < 0 {
					want = accounts.CodeInvalidRequest
				}
				if c, _ := code(err); c != want {
					t.Errorf("Get version %d: %v, want %s", v, err, want)
				}
			}
		})
		t.Run("an unchanged update adds no version", func(t *testing.T) {
			n := len(calls)
			same := *v2
			same.CreatedBy = "k3"
			got, err := ps.svc.Update(ctx, same, record)
			if err != nil || got.Version != 2 || got.CreatedBy != "k2" || len(calls) != n {
				t.Errorf("Update unchanged = %+v, %v, %d writes", got, err, len(calls)-n)
			}
		})
		t.Run("update refuses", func(t *testing.T) {
			for name, tc := range map[string]struct {
				edit  func(*accounts.Product)
				code  accounts.Code
				field string
			}{
				"another class":       {func(p *accounts.Product) { p.Class = accounts.ClassEscrow }, accounts.CodeInvalidRequest, "class"},
				"another asset":       {func(p *accounts.Product) { p.Asset = "JPY" }, accounts.CodeInvalidRequest, "asset"},
				"another product":     {func(p *accounts.Product) { p.ID = "nope" }, accounts.CodeProductNotFound, ""},
				"another institution": {func(p *accounts.Product) { p.InstitutionID = "other" }, accounts.CodeProductNotFound, ""},
				"bad limits":          {func(p *accounts.Product) { p.Limits = []accounts.Limit{{Operation: accounts.OpTopup}} }, accounts.CodeInvalidRequest, "limits[0]"},
			} {
				p := *v2
				tc.edit(&p)
				_, err := ps.svc.Update(ctx, p, record)
				if c, f := code(err); c != tc.code || f != tc.field {
					t.Errorf("%s: %v, want %s (%s)", name, err, tc.code, tc.field)
				}
			}
		})
		t.Run("scoped to the institution", func(t *testing.T) {
			if _, err := ps.svc.Get(ctx, "other", "wallet-cny", 0); !isCode(err, accounts.CodeProductNotFound) {
				t.Errorf("Get from another institution: %v", err)
			}
			if _, err := ps.svc.Versions(ctx, "other", "wallet-cny"); !isCode(err, accounts.CodeProductNotFound) {
				t.Errorf("Versions from another institution: %v", err)
			}
			if _, err := ps.svc.Retire(ctx, "other", "wallet-cny", "k9"); !isCode(err, accounts.CodeProductNotFound) {
				t.Errorf("Retire from another institution: %v", err)
			}
		})
		t.Run("a failing write leaves nothing", func(t *testing.T) {
			boom := errors.New("boom")
			p := *v2
			p.Name = "never"
			_, err := ps.svc.Update(ctx, p, func(context.Context, *sql.Tx, *accounts.Product, *accounts.Product) error { return boom })
			if !errors.Is(err, boom) {
				t.Fatalf("Update = %v", err)
			}
			if latest, _ := ps.svc.Get(ctx, "root", "wallet-cny", 0); latest.Version != 2 {
				t.Errorf("latest is version %d", latest.Version)
			}
		})
		t.Run("retire", func(t *testing.T) {
			n := len(calls)
			r, err := ps.svc.Retire(ctx, "root", "wallet-cny", "k4", record)
			if err != nil || r.Version != 3 || r.Status != accounts.ProductRetired || r.CreatedBy != "k4" || r.Name != v2.Name {
				t.Fatalf("Retire = %+v, %v", r, err)
			}
			if again, err := ps.svc.Retire(ctx, "root", "wallet-cny", "k5", record); err != nil || again.Version != 3 || len(calls) != n+1 {
				t.Errorf("Retire again = %+v, %v, %d writes", again, err, len(calls)-n)
			}
			p := *v2
			p.Name = "revived"
			if _, err := ps.svc.Update(ctx, p, record); !isCode(err, accounts.CodeConflict) {
				t.Errorf("Update of a retired product: %v", err)
			}
			if old, _ := ps.svc.Get(ctx, "root", "wallet-cny", 2); old.Status != accounts.ProductActive {
				t.Errorf("version 2 is %s", old.Status)
			}
		})
		if d := diff([]string{"wallet-cny:0->1", "wallet-cny:1->2", "wallet-cny:2->3"}, calls); d != "" {
			t.Errorf("writes (-want +got):\n%s", d)
		}
	})
}

func isCode(err error, c accounts.Code) bool { got, _ := code(err); return got == c }

func TestProductList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ps := newProducts(t, db)
		create := func(inst, id string, class accounts.Class) {
			t.Helper()
			p := wallet(nil, nil)
			p.InstitutionID, p.ID, p.Class = inst, id, class
			if _, err := ps.svc.Create(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		create("a", "wallet", accounts.ClassWallet)
		create("a", "escrow", accounts.ClassEscrow)
		create("b", "wallet", accounts.ClassWallet)
		create("c", "wallet", accounts.ClassWallet)
		p, _ := ps.svc.Get(ctx, "a", "wallet", 0)
		p.Name = "Wallet v2"
		if _, err := ps.svc.Update(ctx, *p); err != nil {
			t.Fatal(err)
		}
		if _, err := ps.svc.Retire(ctx, "b", "wallet", "k1"); err != nil {
			t.Fatal(err)
		}
		keys := func(f accounts.ProductFilter) []string {
			t.Helper()
			var out []string
			for range 10 {
				page, next, err := ps.svc.List(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range page {
					out = append(out, p.InstitutionID+"/"+p.ID+"@"+string(rune('0'+p.Version)))
				}
				if next == "" {
					return out
				}
				f.After = next
			}
			t.Fatal("too many pages")
			return nil
		}
		tests := []struct {
			name string
			f    accounts.ProductFilter
			want []string
		}{
			{"all, latest versions", accounts.ProductFilter{}, []string{"a/escrow@1", "a/wallet@2", "b/wallet@2", "c/wallet@1"}},
			{"paged by one", accounts.ProductFilter{Limit: 1}, []string{"a/escrow@1", "a/wallet@2", "b/wallet@2", "c/wallet@1"}},
			{"scoped", accounts.ProductFilter{InstitutionIDs: []string{"a", "b"}, Limit: 2}, []string{"a/escrow@1", "a/wallet@2", "b/wallet@2"}},
			{"no institutions", accounts.ProductFilter{InstitutionIDs: []string{}}, nil},
			{"by class", accounts.ProductFilter{Class: accounts.ClassWallet}, []string{"a/wallet@2", "b/wallet@2", "c/wallet@1"}},
			{"active", accounts.ProductFilter{Status: accounts.ProductActive}, []string{"a/escrow@1", "a/wallet@2", "c/wallet@1"}},
			{"retired", accounts.ProductFilter{Status: accounts.ProductRetired}, []string{"b/wallet@2"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if d := diff(tt.want, keys(tt.f)); d != "" {
					t.Errorf("(-want +got):\n%s", d)
				}
			})
		}
		if _, _, err := ps.svc.List(ctx, accounts.ProductFilter{After: "nonsense"}); !isCode(err, accounts.CodeInvalidRequest) {
			t.Errorf("List with a bad cursor: %v", err)
		}
	})
}
