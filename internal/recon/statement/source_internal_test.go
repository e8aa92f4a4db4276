package statement

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestSourceBound checks source's bound is exact: max bytes read, one
// more is errTooBig, whatever the sizes of the reads.
func TestSourceBound(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		max     int64
		wantErr error
	}{
		{"under", "123456789", 10, nil},
		{"exact", "1234567890", 10, nil},
		{"one over", "12345678901", 10, errTooBig},
		{"far over", strings.Repeat("x", 100), 10, errTooBig},
		{"unbounded", strings.Repeat("x", 100), -1, nil},
	}
	for _, tt := range tests {
		for _, wrap := range []struct {
			name string
			r    func(io.Reader) io.Reader
		}{{"whole", func(r io.Reader) io.Reader { return r }}, {"byte by byte", iotest.OneByteReader}} {
			t.Run(tt.name+"/"+wrap.name, func(t *testing.T) {
				s := &source{r: wrap.r(strings.NewReader(tt.input)), max: tt.max}
				got, err := io.ReadAll(s)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ReadAll: %v, want %v", err, tt.wantErr)
				}
				if tt.wantErr != nil && int64(len(got)) != tt.max {
					t.Errorf("read %d bytes before the error, want %d", len(got), tt.max)
				}
				if s.readErr != nil {
					t.Errorf("readErr %v for a reader that did not fail", s.readErr)
				}
			})
		}
	}
}
