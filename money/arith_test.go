package money_test

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/suanpan/suanpan/money"
)

// result pairs a value with an error so that table tests can compare both
// with one cmp.Diff; cmpopts.EquateErrors matches errors with errors.Is.
type result struct {
	V   int64
	Err error
}

var equateErrors = cmpopts.EquateErrors()

func TestAdd(t *testing.T) {
	tests := []struct {
		name string
		a, b int64
		want result
	}{
		{"zero", 0, 0, result{V: 0}},
		{"positive", 1234, 66, result{V: 1300}},
		{"mixed signs", -5, 3, result{V: -2}},
		{"max plus zero", math.MaxInt64, 0, result{V: math.MaxInt64}},
		{"max minus one plus one", math.MaxInt64 - 1, 1, result{V: math.MaxInt64}},
		{"max plus one", math.MaxInt64, 1, result{Err: money.ErrOverflow}},
		{"max plus max", math.MaxInt64, math.MaxInt64, result{Err: money.ErrOverflow}},
		{"min plus minus one", math.MinInt64, -1, result{Err: money.ErrOverflow}},
		{"min plus min", math.MinInt64, math.MinInt64, result{Err: money.ErrOverflow}},
		{"min plus max", math.MinInt64, math.MaxInt64, result{V: -1}},
		{"min plus zero", math.MinInt64, 0, result{V: math.MinInt64}},
		{"min plus one plus minus one", math.MinInt64 + 1, -1, result{V: math.MinInt64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := money.Add(tt.a, tt.b)
			if diff := cmp.Diff(tt.want, result{v, err}, equateErrors); diff != "" {
				t.Errorf("Add(%d, %d) mismatch (-want +got):\n%s", tt.a, tt.b, diff)
			}
		})
	}
}

func TestSub(t *testing.T) {
	tests := []struct {
		name string
		a, b int64
		want result
	}{
		{"zero", 0, 0, result{V: 0}},
		{"positive", 1300, 66, result{V: 1234}},
		{"below zero", 3, 5, result{V: -2}},
		{"max minus minus one", math.MaxInt64, -1, result{Err: money.ErrOverflow}},
		{"max minus zero", math.MaxInt64, 0, result{V: math.MaxInt64}},
		{"min minus one", math.MinInt64, 1, result{Err: money.ErrOverflow}},
		{"min minus zero", math.MinInt64, 0, result{V: math.MinInt64}},
		{"zero minus min", 0, math.MinInt64, result{Err: money.ErrOverflow}},
		{"minus one minus min", -1, math.MinInt64, result{V: math.MaxInt64}},
		{"min minus min", math.MinInt64, math.MinInt64, result{V: 0}},
		{"min minus max", math.MinInt64, math.MaxInt64, result{Err: money.ErrOverflow}},
		{"max minus min", math.MaxInt64, math.MinInt64, result{Err: money.ErrOverflow}},
		{"zero minus max", 0, math.MaxInt64, result{V: -math.MaxInt64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := money.Sub(tt.a, tt.b)
			if diff := cmp.Diff(tt.want, result{v, err}, equateErrors); diff != "" {
				t.Errorf("Sub(%d, %d) mismatch (-want +got):\n%s", tt.a, tt.b, diff)
			}
		})
	}
}

func TestNeg(t *testing.T) {
	tests := []struct {
		name string
		a    int64
		want result
	}{
		{"zero", 0, result{V: 0}},
		{"positive", 5, result{V: -5}},
		{"negative", -5, result{V: 5}},
		{"max", math.MaxInt64, result{V: -math.MaxInt64}},
		{"min plus one", math.MinInt64 + 1, result{V: math.MaxInt64}},
		{"min", math.MinInt64, result{Err: money.ErrOverflow}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := money.Neg(tt.a)
			if diff := cmp.Diff(tt.want, result{v, err}, equateErrors); diff != "" {
				t.Errorf("Neg(%d) mismatch (-want +got):\n%s", tt.a, diff)
			}
		})
	}
}

func TestSum(t *testing.T) {
	tests := []struct {
		name string
		xs   []int64
		want result
	}{
		{"none", nil, result{V: 0}},
		{"one", []int64{7}, result{V: 7}},
		{"several", []int64{100, -30, 5}, result{V: 75}},
		{"reaches max", []int64{math.MaxInt64 - 2, 1, 1}, result{V: math.MaxInt64}},
		{"past max", []int64{math.MaxInt64, 1}, result{Err: money.ErrOverflow}},
		{"reaches min", []int64{math.MinInt64 + 1, -1}, result{V: math.MinInt64}},
		{"past min", []int64{math.MinInt64, -1}, result{Err: money.ErrOverflow}},
		{"intermediate above max", []int64{math.MaxInt64, 1, -1}, result{V: math.MaxInt64}},
		{"intermediate below min", []int64{math.MinInt64, -1, 1}, result{V: math.MinInt64}},
		{"two max and two min", []int64{math.MaxInt64, math.MaxInt64, math.MinInt64, math.MinInt64}, result{V: -2}},
		{"three max", []int64{math.MaxInt64, math.MaxInt64, math.MaxInt64}, result{Err: money.ErrOverflow}},
		{"three min", []int64{math.MinInt64, math.MinInt64, math.MinInt64}, result{Err: money.ErrOverflow}},
		{"min and max", []int64{math.MinInt64, math.MaxInt64}, result{V: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := money.Sum(tt.xs...)
			if diff := cmp.Diff(tt.want, result{v, err}, equateErrors); diff != "" {
				t.Errorf("Sum(%v) mismatch (-want +got):\n%s", tt.xs, diff)
			}
		})
	}
}

func TestMulInt(t *testing.T) {
	tests := []struct {
		name string
		a, n int64
		want result
	}{
		{"zero", 0, math.MaxInt64, result{V: 0}},
		{"by zero", math.MinInt64, 0, result{V: 0}},
		{"quantity times price", 1999, 3, result{V: 5997}},
		{"negative", -1999, 3, result{V: -5997}},
		{"both negative", -4, -5, result{V: 20}},
		{"max times one", math.MaxInt64, 1, result{V: math.MaxInt64}},
		{"max times minus one", math.MaxInt64, -1, result{V: -math.MaxInt64}},
		{"min times one", math.MinInt64, 1, result{V: math.MinInt64}},
		{"min times minus one", math.MinInt64, -1, result{Err: money.ErrOverflow}},
		{"max times two", math.MaxInt64, 2, result{Err: money.ErrOverflow}},
		{"half min times two", math.MinInt64 / 2, 2, result{V: math.MinInt64}},
		{"half min times minus two", math.MinInt64 / 2, -2, result{Err: money.ErrOverflow}},
		{"2^32 squared", 1 << 32, 1 << 32, result{Err: money.ErrOverflow}},
		{"2^31 times 2^31", 1 << 31, 1 << 31, result{V: 1 << 62}},
		{"min times min", math.MinInt64, math.MinInt64, result{Err: money.ErrOverflow}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := money.MulInt(tt.a, tt.n)
			if diff := cmp.Diff(tt.want, result{v, err}, equateErrors); diff != "" {
				t.Errorf("MulInt(%d, %d) mismatch (-want +got):\n%s", tt.a, tt.n, diff)
			}
		})
	}
}

// boundaryValues are int64 values where overflow bugs live.
var boundaryValues = []int64{
	math.MinInt64, math.MinInt64 + 1, math.MinInt64 / 2, math.MinInt64/2 - 1,
	-1 << 32, -1 << 31, -2, -1, 0, 1, 2, 1 << 31, 1 << 32,
	math.MaxInt64/2 + 1, math.MaxInt64 / 2, math.MaxInt64 - 1, math.MaxInt64,
}

// randomAmount returns an int64 drawn so that boundary values, values near
// them and values of every magnitude all occur often.
func randomAmount(r *rand.Rand) int64 {
	switch r.IntN(4) {
	case 0:
		return boundaryValues[r.IntN(len(boundaryValues))]
	case 1:
		return boundaryValues[r.IntN(len(boundaryValues))] + r.Int64N(11) - 5 // may wrap: fine, still an int64
	case 2:
		// Uniform over a random bit width, so small magnitudes are common.
		v := int64(r.Uint64() >> r.IntN(64))
		if r.IntN(2) == 0 {
			v = -v
		}
		return v
	default:
		return int64(r.Uint64())
	}
}

// bigFits returns x as an int64 and whether it fits.
func bigFits(x *big.Int) (int64, bool) {
	if !x.IsInt64() {
		return 0, false
	}
	return x.Int64(), true
}

// checkAgainstBig fails t unless got/err agree with the exact result want:
// equal when want fits in an int64, ErrOverflow when it does not.
func checkAgainstBig(t *testing.T, op string, want *big.Int, got int64, err error) {
	t.Helper()
	w, fits := bigFits(want)
	// Check cheaply first: cmp.Diff's reflection would dominate the run time
	// of the property tests.
	if (fits && err == nil && got == w) || (!fits && errors.Is(err, money.ErrOverflow)) {
		return
	}
	wantResult := result{V: w}
	if !fits {
		wantResult = result{Err: money.ErrOverflow}
	}
	if diff := cmp.Diff(wantResult, result{got, err}, equateErrors); diff != "" {
		t.Fatalf("%s (exact %s) mismatch (-want +got):\n%s", op, want, diff)
	}
}

func TestArithmeticMatchesBig(t *testing.T) {
	r := rand.New(rand.NewPCG(20240625, 1))
	const iterations = 200_000
	for range iterations {
		a, b := randomAmount(r), randomAmount(r)
		ba, bb := big.NewInt(a), big.NewInt(b)

		got, err := money.Add(a, b)
		checkAgainstBig(t, "Add", new(big.Int).Add(ba, bb), got, err)

		got, err = money.Sub(a, b)
		checkAgainstBig(t, "Sub", new(big.Int).Sub(ba, bb), got, err)

		got, err = money.MulInt(a, b)
		checkAgainstBig(t, "MulInt", new(big.Int).Mul(ba, bb), got, err)

		got, err = money.Neg(a)
		checkAgainstBig(t, "Neg", new(big.Int).Neg(ba), got, err)
	}
}

func TestSumMatchesBig(t *testing.T) {
	r := rand.New(rand.NewPCG(20240625, 2))
	for range 20_000 {
		xs := make([]int64, r.IntN(8))
		total := new(big.Int)
		for i := range xs {
			xs[i] = randomAmount(r)
			total.Add(total, big.NewInt(xs[i]))
		}
		got, err := money.Sum(xs...)
		checkAgainstBig(t, "Sum", total, got, err)
	}
}
