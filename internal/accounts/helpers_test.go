package accounts_test

import (
	"errors"
	"github.com/google/go-cmp/cmp"
	"testing"

	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
)

// wallet returns a valid CNY wallet product with the given rules.
func wallet(fees []accounts.FeeRule, limits []accounts.Limit) accounts.Product {
	return accounts.Product{ID: "wallet-cny", InstitutionID: "root", Name: "CNY wallet", Class: accounts.ClassWallet,
		Asset: "CNY", ChartCode: "2001", NormalSide: ledger.Credit, Fees: fees, Limits: limits, CreatedBy: "k1"}
}

// valid returns p validated, failing the test if it is not.
func valid(t testing.TB, p accounts.Product) *accounts.Product {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatalf("product %+v: %v", p, err)
	}
	return &p
}

func rate(t testing.TB, s string) money.Rate {
	t.Helper()
	r, err := money.ParseRate(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// code returns the code and field of an accounts error, or "" for nil.
func code(err error) (accounts.Code, string) {
	if err == nil {
		return "", ""
	}
	var e *accounts.Error
	if !errors.As(err, &e) {
		return accounts.Code("not an *accounts.Error: " + err.Error()), ""
	}
	return e.Code, e.Field
}

// diff is cmp.Diff that compares rates by value (Rate keeps its decimal
// unexported; == compares values).
func diff(want, got any) string {
	return cmp.Diff(want, got, cmp.Comparer(func(a, b money.Rate) bool { return a == b }))
}
