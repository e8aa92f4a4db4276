package money_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/money"
)

func TestRoundingText(t *testing.T) {
	tests := []struct {
		mode money.Rounding
		text string
	}{
		{money.HalfEven, "half_even"},
		{money.HalfUp, "half_up"},
		{money.Down, "down"},
		{money.Up, "up"},
		{money.Floor, "floor"},
		{money.Ceiling, "ceiling"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if !tt.mode.Valid() {
				t.Errorf("%d.Valid() = false", int(tt.mode))
			}
			if got := tt.mode.String(); got != tt.text {
				t.Errorf("String() = %q, want %q", got, tt.text)
			}
			got, err := money.ParseRounding(tt.text)
			if err != nil || got != tt.mode {
				t.Errorf("ParseRounding(%q) = %v, %v; want %v, nil", tt.text, got, err, tt.mode)
			}
		})
	}
}

func TestRoundingInvalid(t *testing.T) {
	for _, m := range []money.Rounding{0, -1, money.Ceiling + 1, 1000} {
		t.Run(m.String(), func(t *testing.T) {
			if m.Valid() {
				t.Errorf("%d.Valid() = true", int(m))
			}
			if _, err := m.MarshalText(); !errors.Is(err, money.ErrInvalidRounding) {
				t.Errorf("MarshalText() error = %v, want ErrInvalidRounding", err)
			}
		})
	}
	if got, want := money.Rounding(0).String(), "Rounding(0)"; got != want {
		t.Errorf("Rounding(0).String() = %q, want %q", got, want)
	}
}

func TestParseRoundingRejects(t *testing.T) {
	for _, s := range []string{"", "HALF_EVEN", "half-even", "halfeven", "half_even ", "banker", "Rounding(0)", "round"} {
		t.Run(s, func(t *testing.T) {
			got, err := money.ParseRounding(s)
			if !errors.Is(err, money.ErrInvalidRounding) || got != 0 {
				t.Errorf("ParseRounding(%q) = %v, %v; want 0, ErrInvalidRounding", s, got, err)
			}
		})
	}
}

func TestRoundingJSON(t *testing.T) {
	type config struct {
		FeeRounding      money.Rounding `json:"fee_rounding"`
		InterestRounding money.Rounding `json:"interest_rounding"`
	}
	in := config{FeeRounding: money.Up, InterestRounding: money.HalfEven}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(data), `{"fee_rounding":"up","interest_rounding":"half_even"}`; got != want {
		t.Errorf("json.Marshal = %s, want %s", got, want)
	}
	var out config
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	if err := json.Unmarshal([]byte(`{"fee_rounding":"nearest"}`), &out); !errors.Is(err, money.ErrInvalidRounding) {
		t.Errorf("unmarshal unknown mode: error = %v, want ErrInvalidRounding", err)
	}
	if _, err := json.Marshal(config{}); !errors.Is(err, money.ErrInvalidRounding) {
		t.Errorf("marshal zero mode: error = %v, want ErrInvalidRounding", err)
	}
}
