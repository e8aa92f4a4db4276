package money_test

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"testing/quick"

	oldrand "math/rand"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/money"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		s     string
		scale int
		want  result
	}{
		// Accepted.
		{"two decimals", "12.34", 2, result{V: 1234}},
		{"negative fraction", "-0.5", 2, result{V: -50}},
		{"integer", "12", 2, result{V: 1200}},
		{"fewer decimals", "12.3", 2, result{V: 1230}},
		{"zero", "0", 2, result{V: 0}},
		{"zero with decimals", "0.00", 2, result{V: 0}},
		{"negative zero", "-0", 2, result{V: 0}},
		{"negative zero with decimals", "-0.00", 2, result{V: 0}},
		{"smallest unit", "0.01", 2, result{V: 1}},
		{"negative smallest unit", "-0.05", 2, result{V: -5}},
		{"scale zero", "7", 0, result{V: 7}},
		{"scale three", "1.234", 3, result{V: 1234}},
		{"scale eighteen", "1.000000000000000001", 18, result{V: 1_000_000_000_000_000_001}},
		{"max int64 scale 0", "9223372036854775807", 0, result{V: math.MaxInt64}},
		{"min int64 scale 0", "-9223372036854775808", 0, result{V: math.MinInt64}},
		{"max int64 scale 2", "92233720368547758.07", 2, result{V: math.MaxInt64}},
		{"min int64 scale 2", "-92233720368547758.08", 2, result{V: math.MinInt64}},
		{"max int64 scale 18", "9.223372036854775807", 18, result{V: math.MaxInt64}},
		{"min int64 scale 18", "-9.223372036854775808", 18, result{V: math.MinInt64}},
		{"max whole units scale 2", "92233720368547758", 2, result{V: 9223372036854775800}},

		// Rejected: syntax.
		{"empty", "", 2, result{Err: money.ErrSyntax}},
		{"minus alone", "-", 2, result{Err: money.ErrSyntax}},
		{"plus alone", "+", 2, result{Err: money.ErrSyntax}},
		{"plus sign", "+1", 2, result{Err: money.ErrSyntax}},
		{"double minus", "--1", 2, result{Err: money.ErrSyntax}},
		{"leading space", " 1", 2, result{Err: money.ErrSyntax}},
		{"trailing space", "1 ", 2, result{Err: money.ErrSyntax}},
		{"trailing newline", "1\n", 2, result{Err: money.ErrSyntax}},
		{"space after minus", "- 1", 2, result{Err: money.ErrSyntax}},
		{"trailing point", "1.", 2, result{Err: money.ErrSyntax}},
		{"leading point", ".5", 2, result{Err: money.ErrSyntax}},
		{"negative leading point", "-.5", 2, result{Err: money.ErrSyntax}},
		{"point alone", ".", 2, result{Err: money.ErrSyntax}},
		{"two points", "1.2.3", 3, result{Err: money.ErrSyntax}},
		{"exponent", "1e3", 2, result{Err: money.ErrSyntax}},
		{"exponent upper", "1E3", 2, result{Err: money.ErrSyntax}},
		{"fraction exponent", "1.5e-1", 2, result{Err: money.ErrSyntax}},
		{"thousands comma", "1,000", 2, result{Err: money.ErrSyntax}},
		{"thousands underscore", "1_000", 2, result{Err: money.ErrSyntax}},
		{"thousands space", "1 000", 2, result{Err: money.ErrSyntax}},
		{"decimal comma", "1,5", 2, result{Err: money.ErrSyntax}},
		{"leading zero", "01", 2, result{Err: money.ErrSyntax}},
		{"double zero", "00.5", 2, result{Err: money.ErrSyntax}},
		{"negative leading zero", "-01.5", 2, result{Err: money.ErrSyntax}},
		{"letters", "abc", 2, result{Err: money.ErrSyntax}},
		{"hex", "0x10", 2, result{Err: money.ErrSyntax}},
		{"currency symbol", "$1", 2, result{Err: money.ErrSyntax}},
		{"currency code", "1 CNY", 2, result{Err: money.ErrSyntax}},
		{"NaN", "NaN", 2, result{Err: money.ErrSyntax}},
		{"Inf", "Inf", 2, result{Err: money.ErrSyntax}},
		{"fullwidth digit", "１", 2, result{Err: money.ErrSyntax}},
		{"arabic-indic digit", "٣", 2, result{Err: money.ErrSyntax}},
		{"NUL", "1\x00", 2, result{Err: money.ErrSyntax}},

		// Rejected: precision.
		{"three decimals at scale 2", "1.234", 2, result{Err: money.ErrTooManyDecimals}},
		{"trailing zero beyond scale", "1.230", 2, result{Err: money.ErrTooManyDecimals}},
		{"any decimal at scale 0", "7.0", 0, result{Err: money.ErrTooManyDecimals}},
		{"nineteen decimals at scale 18", "0.0000000000000000001", 18, result{Err: money.ErrTooManyDecimals}},

		// Rejected: range.
		{"max plus one scale 0", "9223372036854775808", 0, result{Err: money.ErrOverflow}},
		{"min minus one scale 0", "-9223372036854775809", 0, result{Err: money.ErrOverflow}},
		{"max plus one unit scale 2", "92233720368547758.08", 2, result{Err: money.ErrOverflow}},
		{"min minus one unit scale 2", "-92233720368547758.09", 2, result{Err: money.ErrOverflow}},
		{"overflow only by padding", "92233720368547759", 2, result{Err: money.ErrOverflow}},
		{"ten units at scale 18", "10", 18, result{Err: money.ErrOverflow}},
		{"twenty digits", "12345678901234567890", 0, result{Err: money.ErrOverflow}},
		{"huge", strings.Repeat("9", 1000), 0, result{Err: money.ErrOverflow}},

		// Rejected: scale.
		{"negative scale", "1", -1, result{Err: money.ErrInvalidScale}},
		{"scale nineteen", "1", 19, result{Err: money.ErrInvalidScale}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := money.Parse(tt.s, tt.scale)
			if diff := cmp.Diff(tt.want, result{v, err}, equateErrors); diff != "" {
				t.Errorf("Parse(%q, %d) mismatch (-want +got):\n%s", tt.s, tt.scale, diff)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	tests := []struct {
		name  string
		s     string
		scale int
		want  string
	}{
		{"syntax", "1e3", 2, `parse amount "1e3": invalid decimal syntax`},
		{"decimals", "1.234", 2, `parse amount "1.234": 3 decimal places, scale allows 2: too many decimal places`},
		{"overflow", "92233720368547758.08", 2, `parse amount "92233720368547758.08": amount out of range`},
		{"long input is cut", strings.Repeat("x", 100), 2, `parse amount "` + strings.Repeat("x", 40) + `"...: invalid decimal syntax`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := money.Parse(tt.s, tt.scale)
			if err == nil {
				t.Fatalf("Parse(%q, %d) succeeded, want error", tt.s, tt.scale)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		name   string
		amount int64
		scale  int
		want   string
	}{
		{"two decimals", 1234, 2, "12.34"},
		{"small negative", -5, 2, "-0.05"},
		{"scale zero", 7, 0, "7"},
		{"zero", 0, 2, "0.00"},
		{"zero scale zero", 0, 0, "0"},
		{"one unit", 100, 2, "1.00"},
		{"negative", -1234, 2, "-12.34"},
		{"exactly scale digits", 99, 2, "0.99"},
		{"scale three", 1, 3, "0.001"},
		{"max scale 0", math.MaxInt64, 0, "9223372036854775807"},
		{"min scale 0", math.MinInt64, 0, "-9223372036854775808"},
		{"max scale 2", math.MaxInt64, 2, "92233720368547758.07"},
		{"min scale 2", math.MinInt64, 2, "-92233720368547758.08"},
		{"max scale 18", math.MaxInt64, 18, "9.223372036854775807"},
		{"min scale 18", math.MinInt64, 18, "-9.223372036854775808"},
		{"one scale 18", 1, 18, "0.000000000000000001"},
		{"minus one scale 18", -1, 18, "-0.000000000000000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := money.Format(tt.amount, tt.scale); got != tt.want {
				t.Errorf("Format(%d, %d) = %q, want %q", tt.amount, tt.scale, got, tt.want)
			}
		})
	}
}

func TestFormatPanicsOnInvalidScale(t *testing.T) {
	for _, scale := range []int{-1, money.MaxScale + 1, math.MaxInt} {
		t.Run(strconv.Itoa(scale), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Format(1, %d) did not panic", scale)
				}
			}()
			money.Format(1, scale)
		})
	}
}

// checkRoundTrip fails t unless x survives Format then Parse at scale.
func checkRoundTrip(t *testing.T, x int64, scale int) {
	t.Helper()
	s := money.Format(x, scale)
	got, err := money.Parse(s, scale)
	if err != nil || got != x {
		t.Fatalf("Parse(Format(%d, %d) = %q) = %d, %v; want %d, nil", x, scale, s, got, err, x)
	}
}

func TestRoundTripBoundaries(t *testing.T) {
	var values []int64
	values = append(values, boundaryValues...)
	for p := int64(1); p <= 1e18; p *= 10 {
		values = append(values, p-1, p, p+1, -p+1, -p, -p-1)
	}
	for scale := 0; scale <= money.MaxScale; scale++ {
		for _, x := range values {
			checkRoundTrip(t, x, scale)
		}
	}
}

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(20240625, 3))
	for range 100_000 {
		checkRoundTrip(t, randomAmount(r), r.IntN(money.MaxScale+1))
	}
}

func TestRoundTripQuick(t *testing.T) {
	roundTrips := func(x int64, s uint8) bool {
		scale := int(s) % (money.MaxScale + 1)
		got, err := money.Parse(money.Format(x, scale), scale)
		return err == nil && got == x
	}
	cfg := &quick.Config{MaxCount: 20_000, Rand: oldrand.New(oldrand.NewSource(20240625))}
	if err := quick.Check(roundTrips, cfg); err != nil {
		t.Error(err)
	}
}

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name  string
		s     string
		scale int
	}{
		{"short", "12.34", 2},
		{"integer", "1200", 2},
		{"max", "92233720368547758.07", 2},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := money.Parse(bc.s, bc.scale); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFormat(b *testing.B) {
	for _, bc := range []struct {
		name   string
		amount int64
		scale  int
	}{
		{"short", 1234, 2},
		{"fraction", -5, 2},
		{"min", math.MinInt64, 2},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = money.Format(bc.amount, bc.scale)
			}
		})
	}
}
