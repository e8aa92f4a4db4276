package money_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/money"
)

func TestAssetValidate(t *testing.T) {
	tests := []struct {
		name      string
		asset     money.Asset
		wantErr   error // nil, or an error every rejection must match
		wantScale bool  // the error must also match ErrInvalidScale
	}{
		{"ISO currency", money.Asset{Code: "CNY", Scale: 2}, nil, false},
		{"zero scale", money.Asset{Code: "JPY", Scale: 0}, nil, false},
		{"max scale", money.Asset{Code: "ETH", Scale: 18}, nil, false},
		{"custom unit", money.Asset{Code: "POINTS", Scale: 0}, nil, false},
		{"underscore and digits", money.Asset{Code: "GIFT_CARD_2024", Scale: 2}, nil, false},
		{"single letter", money.Asset{Code: "X", Scale: 0}, nil, false},
		{"sixteen characters", money.Asset{Code: strings.Repeat("A", 16), Scale: 2}, nil, false},

		{"zero value", money.Asset{}, money.ErrInvalidAsset, false},
		{"empty code", money.Asset{Code: "", Scale: 2}, money.ErrInvalidAsset, false},
		{"seventeen characters", money.Asset{Code: strings.Repeat("A", 17), Scale: 2}, money.ErrInvalidAsset, false},
		{"lower case", money.Asset{Code: "cny", Scale: 2}, money.ErrInvalidAsset, false},
		{"mixed case", money.Asset{Code: "Cny", Scale: 2}, money.ErrInvalidAsset, false},
		{"leading digit", money.Asset{Code: "1CNY", Scale: 2}, money.ErrInvalidAsset, false},
		{"leading underscore", money.Asset{Code: "_CNY", Scale: 2}, money.ErrInvalidAsset, false},
		{"hyphen", money.Asset{Code: "GIFT-CARD", Scale: 2}, money.ErrInvalidAsset, false},
		{"space", money.Asset{Code: "CN Y", Scale: 2}, money.ErrInvalidAsset, false},
		{"trailing space", money.Asset{Code: "CNY ", Scale: 2}, money.ErrInvalidAsset, false},
		{"non-ASCII letter", money.Asset{Code: "CNÝ", Scale: 2}, money.ErrInvalidAsset, false},
		{"negative scale", money.Asset{Code: "CNY", Scale: -1}, money.ErrInvalidAsset, true},
		{"scale nineteen", money.Asset{Code: "CNY", Scale: 19}, money.ErrInvalidAsset, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.asset.Validate()
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("%+v.Validate() = %v, want %v", tt.asset, err, tt.wantErr)
			}
			if got := errors.Is(err, money.ErrInvalidScale); got != tt.wantScale {
				t.Errorf("errors.Is(%v, ErrInvalidScale) = %v, want %v", err, got, tt.wantScale)
			}

			// NewAsset applies exactly the same rules.
			a, err := money.NewAsset(tt.asset.Code, tt.asset.Scale)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("NewAsset(%q, %d) error = %v, want %v", tt.asset.Code, tt.asset.Scale, err, tt.wantErr)
			}
			want := tt.asset
			if tt.wantErr != nil {
				want = money.Asset{}
			}
			if diff := cmp.Diff(want, a); diff != "" {
				t.Errorf("NewAsset(%q, %d) mismatch (-want +got):\n%s", tt.asset.Code, tt.asset.Scale, diff)
			}
		})
	}
}

func TestLookupISO(t *testing.T) {
	tests := []struct {
		code   string
		want   money.Asset
		wantOK bool
	}{
		{"CNY", money.Asset{Code: "CNY", Scale: 2}, true},
		{"JPY", money.Asset{Code: "JPY", Scale: 0}, true},
		{"KWD", money.Asset{Code: "KWD", Scale: 3}, true},
		{"CLF", money.Asset{Code: "CLF", Scale: 4}, true},
		{"cny", money.Asset{}, false},
		{"XAU", money.Asset{}, false},
		{"POINTS", money.Asset{}, false},
		{"", money.Asset{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			got, ok := money.LookupISO(tt.code)
			if ok != tt.wantOK {
				t.Fatalf("LookupISO(%q) ok = %v, want %v", tt.code, ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LookupISO(%q) mismatch (-want +got):\n%s", tt.code, diff)
			}
			if ok {
				if err := got.Validate(); err != nil {
					t.Errorf("LookupISO(%q) returned an invalid asset: %v", tt.code, err)
				}
			}
		})
	}
}

func TestISOScale(t *testing.T) {
	tests := []struct {
		code   string
		want   int
		wantOK bool
	}{
		// The examples every reviewer will check first.
		{"CNY", 2, true}, {"JPY", 0, true}, {"KRW", 0, true}, {"BHD", 3, true},
		{"KWD", 3, true}, {"IQD", 3, true}, {"LAK", 2, true}, {"IRR", 2, true},
		{"IDR", 2, true}, {"CLF", 4, true}, {"UYW", 4, true}, {"HUF", 2, true},
		{"TWD", 2, true}, {"USD", 2, true}, {"EUR", 2, true}, {"HKD", 2, true},
		{"VND", 0, true}, {"ISK", 0, true},
		// Every three-decimal currency.
		{"JOD", 3, true}, {"LYD", 3, true}, {"OMR", 3, true}, {"TND", 3, true},
		// Zero-decimal currencies where other sources (CLDR) disagree or
		// that are easy to get wrong.
		{"CLP", 0, true}, {"UGX", 0, true}, {"PYG", 0, true}, {"XOF", 0, true},
		{"XAF", 0, true}, {"XPF", 0, true}, {"UYI", 0, true}, {"VUV", 0, true},
		{"BIF", 0, true}, {"DJF", 0, true}, {"GNF", 0, true}, {"KMF", 0, true},
		{"RWF", 0, true},
		{"MGA", 2, true}, {"COP", 2, true},
		// Recent additions.
		{"SLE", 2, true}, {"VED", 2, true}, {"XCG", 2, true},
		// First and last rows, for the binary search (ZWG is also recent).
		{"AED", 2, true}, {"ZWG", 2, true},
		// Not in the table.
		{"HRK", 0, false}, // replaced by EUR in 2023
		{"SLL", 0, false}, // replaced by SLE
		{"ZWL", 0, false}, // replaced by ZWG
		{"VEF", 0, false}, // replaced by VES
		{"XAU", 0, false}, // minor unit N.A.
		{"XDR", 0, false}, // minor unit N.A.
		{"XXX", 0, false}, // minor unit N.A.
		{"XTS", 0, false}, // minor unit N.A.
		{"usd", 0, false},
		{"USD ", 0, false},
		{"", 0, false},
		{"AAA", 0, false},
		{"ZZZ", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			got, ok := money.ISOScale(tt.code)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ISOScale(%q) = %d, %v; want %d, %v", tt.code, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
