package money_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/govalues/decimal"

	"github.com/suanpan/suanpan/money"
)

// mustRate parses s or fails the test.
func mustRate(t testing.TB, s string) money.Rate {
	t.Helper()
	r, err := money.ParseRate(s)
	if err != nil {
		t.Fatalf("ParseRate(%q): %v", s, err)
	}
	return r
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		name    string
		s       string
		want    string // String() of the result
		wantErr error
	}{
		{"fee", "0.006", "0.006", nil},
		{"trailing zeros dropped", "0.0060", "0.006", nil},
		{"one", "1", "1", nil},
		{"one with decimals", "1.000", "1", nil},
		{"negative", "-0.0025", "-0.0025", nil},
		{"zero", "0", "0", nil},
		{"negative zero", "-0", "0", nil},
		{"hundred", "100", "100", nil},
		{"exchange rate", "7.1234", "7.1234", nil},
		{"nineteen decimals", "0.1234567890123456789", "0.1234567890123456789", nil},
		{"smallest", "0.0000000000000000001", "0.0000000000000000001", nil},
		{"nineteen digits", "9999999999999999999", "9999999999999999999", nil},
		{"nineteen digits with point", "999999999.9999999999", "999999999.9999999999", nil},

		{"twenty decimals", "0.00000000000000000001", "", money.ErrTooManyDecimals},
		{"twenty decimals of zeros", "0.50000000000000000000", "", money.ErrTooManyDecimals},
		{"twenty digits", "12345678901234567890", "", money.ErrOverflow},
		{"twenty significant digits", "1.2345678901234567890", "", money.ErrOverflow},

		{"empty", "", "", money.ErrSyntax},
		{"minus alone", "-", "", money.ErrSyntax},
		{"plus", "+0.1", "", money.ErrSyntax},
		{"leading point", ".5", "", money.ErrSyntax},
		{"trailing point", "1.", "", money.ErrSyntax},
		{"exponent", "6e-3", "", money.ErrSyntax},
		{"leading space", " 0.1", "", money.ErrSyntax},
		{"trailing space", "0.1 ", "", money.ErrSyntax},
		{"percent", "0.6%", "", money.ErrSyntax},
		{"leading zero", "00.1", "", money.ErrSyntax},
		{"comma", "0,006", "", money.ErrSyntax},
		{"NaN", "NaN", "", money.ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := money.ParseRate(tt.s)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("ParseRate(%q) error = %v, want %v", tt.s, err, tt.wantErr)
			}
			if err != nil {
				if r != (money.Rate{}) {
					t.Errorf("ParseRate(%q) = %v with an error, want the zero Rate", tt.s, r)
				}
				return
			}
			if got := r.String(); got != tt.want {
				t.Errorf("ParseRate(%q).String() = %q, want %q", tt.s, got, tt.want)
			}
			if back := mustRate(t, r.String()); back != r {
				t.Errorf("ParseRate(%q) = %v does not round-trip through String: got %v", tt.s, r, back)
			}
		})
	}
}

func TestRateEquality(t *testing.T) {
	a := mustRate(t, "0.006")
	for _, b := range []money.Rate{mustRate(t, "0.0060"), mustRate(t, "0.006000000")} {
		if a != b {
			t.Errorf("%v != %v, want equal", a, b)
		}
	}
	if n, err := money.NewRate(600, 5); err != nil || n != a {
		t.Errorf("NewRate(600, 5) = %v, %v; want %v", n, err, a)
	}
	if var0 := (money.Rate{}); var0 != mustRate(t, "0") || var0.String() != "0" || var0.Sign() != 0 {
		t.Errorf("zero Rate = %v, want 0", var0)
	}
}

func TestNewRate(t *testing.T) {
	tests := []struct {
		name    string
		value   int64
		scale   int
		want    string
		wantErr error
	}{
		{"per mille", 6, 3, "0.006", nil},
		{"basis points", 25, 4, "0.0025", nil},
		{"whole", -5, 0, "-5", nil},
		{"min int64 at max scale", math.MinInt64, 19, "-0.9223372036854775808", nil},
		{"max int64", math.MaxInt64, 0, "9223372036854775807", nil},
		{"scale too large", 1, 20, "", money.ErrInvalidScale},
		{"negative scale", 1, -1, "", money.ErrInvalidScale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := money.NewRate(tt.value, tt.scale)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("NewRate(%d, %d) error = %v, want %v", tt.value, tt.scale, err, tt.wantErr)
			}
			if err == nil && r.String() != tt.want {
				t.Errorf("NewRate(%d, %d) = %v, want %s", tt.value, tt.scale, r, tt.want)
			}
		})
	}
}

func TestRateDecimal(t *testing.T) {
	r := mustRate(t, "0.0365")
	daily, err := r.Decimal().Quo(decimal.MustNew(365, 0))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := money.RateFromDecimal(daily).String(), "0.0001"; got != want {
		t.Errorf("daily rate = %s, want %s", got, want)
	}
	if got := money.RateFromDecimal(r.Decimal()); got != r {
		t.Errorf("RateFromDecimal(r.Decimal()) = %v, want %v", got, r)
	}
}

func TestRateJSON(t *testing.T) {
	type fee struct {
		Rate money.Rate `json:"rate"`
	}
	in := fee{Rate: mustRate(t, "0.006")}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(data), `{"rate":"0.006"}`; got != want {
		t.Errorf("json.Marshal = %s, want %s", got, want)
	}
	var out fee
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("round trip = %v, want %v", out, in)
	}
	if err := json.Unmarshal([]byte(`{"rate":"6e-3"}`), &out); !errors.Is(err, money.ErrSyntax) {
		t.Errorf("unmarshal exponent: error = %v, want ErrSyntax", err)
	}
}

// allModes lists every valid rounding mode.
var allModes = []money.Rounding{money.HalfEven, money.HalfUp, money.Down, money.Up, money.Floor, money.Ceiling}

// byMode gives an expected result for each mode, in allModes order.
type byMode [6]int64

func TestApplyRate(t *testing.T) {
	const max, min = math.MaxInt64, math.MinInt64
	tests := []struct {
		name   string
		amount int64
		rate   string
		//      HalfEven, HalfUp, Down, Up, Floor, Ceiling
		want byMode
	}{
		{"fee 0.6% of 1001", 1001, "0.006", byMode{6, 6, 6, 7, 6, 7}},
		{"fee 0.6% of -1001", -1001, "0.006", byMode{-6, -6, -6, -7, -7, -6}},
		{"half, even below", 25, "0.1", byMode{2, 3, 2, 3, 2, 3}},
		{"half, odd below", 35, "0.1", byMode{4, 4, 3, 4, 3, 4}},
		{"negative half, even below", -25, "0.1", byMode{-2, -3, -2, -3, -3, -2}},
		{"negative half, odd below", -35, "0.1", byMode{-4, -4, -3, -4, -4, -3}},
		{"negative rate half", 25, "-0.1", byMode{-2, -3, -2, -3, -3, -2}},
		{"both negative half", -25, "-0.1", byMode{2, 3, 2, 3, 2, 3}},
		{"half of one", 1, "0.5", byMode{0, 1, 0, 1, 0, 1}},
		{"half of minus one", -1, "0.5", byMode{0, -1, 0, -1, -1, 0}},
		{"just above half", 25000001, "0.0000001", byMode{3, 3, 2, 3, 2, 3}},
		{"just below half", 24999999, "0.0000001", byMode{2, 2, 2, 3, 2, 3}},
		{"negative just below half", -24999999, "0.0000001", byMode{-2, -2, -2, -3, -3, -2}},
		{"exact", 1000, "0.5", byMode{500, 500, 500, 500, 500, 500}},
		{"zero rate", 12345, "0", byMode{0, 0, 0, 0, 0, 0}},
		{"zero amount", 0, "-7.5", byMode{0, 0, 0, 0, 0, 0}},
		{"tiny negative", -1, "0.001", byMode{0, 0, 0, -1, -1, 0}},
		{"identity max", max, "1", byMode{max, max, max, max, max, max}},
		{"identity min", min, "1", byMode{min, min, min, min, min, min}},
		{"negate max", max, "-1", byMode{-max, -max, -max, -max, -max, -max}},
		{"whole multiple", 333, "3", byMode{999, 999, 999, 999, 999, 999}},
		// Products wider than decimal's 19-digit coefficient.
		{"half of max", max, "0.5", byMode{max/2 + 1, max/2 + 1, max / 2, max/2 + 1, max / 2, max/2 + 1}},
		{"half of min", min, "0.5", byMode{min / 2, min / 2, min / 2, min / 2, min / 2, min / 2}},
		{"max times 19 nines", max, "0.9999999999999999999", byMode{max - 1, max - 1, max - 1, max, max - 1, max}},
		{"min times 19 nines", min, "0.9999999999999999999", byMode{min + 1, min + 1, min + 1, min, min, min + 1}},
		{"max at scale 19", max, "0.0000000000000000001", byMode{1, 1, 0, 1, 0, 1}},
		{"min at scale 19", min, "0.0000000000000000001", byMode{-1, -1, 0, -1, -1, 0}},
		{"large fee", 9_000_000_000_000_000_000, "0.0123456789012345678", byMode{
			111111110111111110, 111111110111111110, 111111110111111110, 111111110111111111, 111111110111111110, 111111110111111111,
		}},
	}
	for _, tt := range tests {
		for i, mode := range allModes {
			t.Run(tt.name+"/"+mode.String(), func(t *testing.T) {
				got, err := money.ApplyRate(tt.amount, mustRate(t, tt.rate), mode)
				if err != nil || got != tt.want[i] {
					t.Errorf("ApplyRate(%d, %s, %v) = %d, %v; want %d, nil", tt.amount, tt.rate, mode, got, err, tt.want[i])
				}
			})
		}
	}
}

func TestApplyRateOverflow(t *testing.T) {
	tests := []struct {
		name   string
		amount int64
		rate   string
		mode   money.Rounding
	}{
		{"double max", math.MaxInt64, "2", money.Down},
		{"double min", math.MinInt64, "2", money.Down},
		{"negate min", math.MinInt64, "-1", money.Down},
		// 6148914691236517205 × 1.5 = MaxInt64 + 0.5 and
		// -7378697629483820647 × 1.25 = MinInt64 - 0.75: the rounding mode
		// alone decides whether the result fits.
		{"half even past max", 6148914691236517205, "1.5", money.HalfEven},
		{"half up past max", 6148914691236517205, "1.5", money.HalfUp},
		{"up past max", 6148914691236517205, "1.5", money.Up},
		{"ceiling past max", 6148914691236517205, "1.5", money.Ceiling},
		{"half even past min", -7378697629483820647, "1.25", money.HalfEven},
		{"half up past min", -7378697629483820647, "1.25", money.HalfUp},
		{"up past min", -7378697629483820647, "1.25", money.Up},
		{"floor past min", -7378697629483820647, "1.25", money.Floor},
		{"huge rate", math.MaxInt64, "9999999999999999999", money.Down},
		{"huge rate small amount", 10, "1000000000000000000", money.HalfEven},
		{"huge negative", math.MinInt64, "-9999999999999999999", money.HalfEven},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := money.ApplyRate(tt.amount, mustRate(t, tt.rate), tt.mode)
			if !errors.Is(err, money.ErrOverflow) {
				t.Errorf("ApplyRate(%d, %s, %v) = %d, %v; want ErrOverflow", tt.amount, tt.rate, tt.mode, got, err)
			}
		})
	}

	// The same products rounded the other way still fit.
	for _, tt := range []struct {
		name   string
		amount int64
		rate   string
		mode   money.Rounding
		want   int64
	}{
		{"down at max", 6148914691236517205, "1.5", money.Down, math.MaxInt64},
		{"floor at max", 6148914691236517205, "1.5", money.Floor, math.MaxInt64},
		{"down at min", -7378697629483820647, "1.25", money.Down, math.MinInt64},
		{"ceiling at min", -7378697629483820647, "1.25", money.Ceiling, math.MinInt64},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := money.ApplyRate(tt.amount, mustRate(t, tt.rate), tt.mode)
			if err != nil || got != tt.want {
				t.Errorf("ApplyRate(%d, %s, %v) = %d, %v; want %d, nil", tt.amount, tt.rate, tt.mode, got, err, tt.want)
			}
		})
	}
}

func TestApplyRateInvalidMode(t *testing.T) {
	for _, mode := range []money.Rounding{0, money.Ceiling + 1, -1} {
		t.Run(mode.String(), func(t *testing.T) {
			if _, err := money.ApplyRate(1001, mustRate(t, "0.006"), mode); !errors.Is(err, money.ErrInvalidRounding) {
				t.Errorf("ApplyRate with mode %v: error = %v, want ErrInvalidRounding", mode, err)
			}
		})
	}
}

// refApplyRate is ApplyRate computed independently with big.Rat: the exact
// product, then floor, then a per-mode correction.
func refApplyRate(amount int64, rate money.Rate, mode money.Rounding) *big.Int {
	r, ok := new(big.Rat).SetString(rate.String())
	if !ok {
		panic("unparsable rate " + rate.String())
	}
	x := new(big.Rat).Mul(new(big.Rat).SetInt64(amount), r)
	num, den := x.Num(), x.Denom() // den > 0
	floor, rem := new(big.Int).DivMod(num, den, new(big.Int))
	if rem.Sign() == 0 {
		return floor
	}
	ceil := new(big.Int).Add(floor, big.NewInt(1))
	half := new(big.Int).Lsh(rem, 1).Cmp(den) // sign of (fraction - 1/2)
	positive := x.Sign() > 0
	switch mode {
	case money.Floor:
		return floor
	case money.Ceiling:
		return ceil
	case money.Down:
		if positive {
			return floor
		}
		return ceil
	case money.Up:
		if positive {
			return ceil
		}
		return floor
	case money.HalfUp:
		if half < 0 || (half == 0 && !positive) {
			return floor
		}
		return ceil
	case money.HalfEven:
		if half < 0 || (half == 0 && floor.Bit(0) == 0) {
			return floor
		}
		return ceil
	}
	panic("bad mode")
}

// checkApplyRate compares ApplyRate with refApplyRate.
func checkApplyRate(t *testing.T, amount int64, rate money.Rate, mode money.Rounding) {
	t.Helper()
	got, err := money.ApplyRate(amount, rate, mode)
	if !mode.Valid() {
		if !errors.Is(err, money.ErrInvalidRounding) {
			t.Fatalf("ApplyRate(%d, %s, %v) = %d, %v; want ErrInvalidRounding", amount, rate, mode, got, err)
		}
		return
	}
	want := refApplyRate(amount, rate, mode)
	if !want.IsInt64() {
		if !errors.Is(err, money.ErrOverflow) {
			t.Fatalf("ApplyRate(%d, %s, %v) = %d, %v; want ErrOverflow (exact %s)", amount, rate, mode, got, err, want)
		}
		return
	}
	if err != nil || got != want.Int64() {
		t.Fatalf("ApplyRate(%d, %s, %v) = %d, %v; want %s", amount, rate, mode, got, err, want)
	}
}

// rateText writes coef × 10^-scale as decimal text.
func rateText(coef uint64, scale int, neg bool) string {
	digits := strconv.FormatUint(coef, 10)
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	s := digits
	if scale > 0 {
		s = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// randomRate returns a rate with a random number of digits (up to 19) at a
// random scale (up to 19).
func randomRate(t testing.TB, r *rand.Rand) money.Rate {
	nDigits := r.IntN(20)
	var coef uint64
	if nDigits > 0 {
		coef = r.Uint64N(pow10u(nDigits))
	}
	return mustRate(t, rateText(coef, r.IntN(money.MaxRateScale+1), r.IntN(4) == 0))
}

func pow10u(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}

func TestApplyRateMatchesBig(t *testing.T) {
	r := rand.New(rand.NewPCG(20240625, 4))
	for range 50_000 {
		amount, rate := randomAmount(r), randomRate(t, r)
		for _, mode := range allModes {
			checkApplyRate(t, amount, rate, mode)
		}
	}
}

func TestRateTextHelper(t *testing.T) {
	// The property test is only as good as its generator.
	tests := []struct {
		coef  uint64
		scale int
		neg   bool
		want  string
	}{
		{6, 3, false, "0.006"},
		{1234, 2, true, "-12.34"},
		{0, 0, false, "0"},
		{0, 3, false, "0.000"},
		{9999999999999999999, 19, false, "0.9999999999999999999"},
		{7, 0, false, "7"},
	}
	for _, tt := range tests {
		if got := rateText(tt.coef, tt.scale, tt.neg); got != tt.want {
			t.Errorf("rateText(%d, %d, %v) = %q, want %q", tt.coef, tt.scale, tt.neg, got, tt.want)
		}
	}
	if diff := cmp.Diff(uint64(1e19), pow10u(19)); diff != "" {
		t.Error(diff)
	}
}

func BenchmarkApplyRate(b *testing.B) {
	rate := mustRate(b, "0.006")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := money.ApplyRate(123456789, rate, money.HalfEven); err != nil {
			b.Fatal(err)
		}
	}
}
