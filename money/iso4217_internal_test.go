package money

import (
	"slices"
	"testing"
)

// TestISOTable checks the shape of the table itself, which the black-box
// tests cannot see: sorted (ISOScale binary-searches it), no duplicates,
// every code a valid asset code, every scale an ISO minor unit.
func TestISOTable(t *testing.T) {
	const wantRows = 167 // List One 2024-06-25 without N.A. rows, plus XCG
	if len(isoTable) != wantRows {
		t.Errorf("isoTable has %d rows, want %d; update this count only together with the table", len(isoTable), wantRows)
	}
	scales := map[int8]int{}
	for i, e := range isoTable {
		if i > 0 && isoTable[i-1].code >= e.code {
			t.Errorf("isoTable not strictly sorted at %d: %q then %q", i, isoTable[i-1].code, e.code)
		}
		if len(e.code) != 3 || !validCode(e.code) {
			t.Errorf("isoTable[%d] code %q is not three upper-case letters", i, e.code)
		}
		if !slices.Contains([]int8{0, 2, 3, 4}, e.scale) {
			t.Errorf("isoTable[%d] %s has scale %d; ISO uses only 0, 2, 3 and 4", i, e.code, e.scale)
		}
		scales[e.scale]++
	}
	// The distribution is a cheap guard against a mistyped digit.
	want := map[int8]int{0: 17, 2: 141, 3: 7, 4: 2}
	for s, n := range want {
		if scales[s] != n {
			t.Errorf("%d currencies with scale %d, want %d", scales[s], s, n)
		}
	}
}
