package payments

import (
	"strings"
	"testing"
)

// FuzzParseBatch: a bulk order file never panics the parser; every line it
// keeps is either rejected with a code or a positive amount with a
// reference.
func FuzzParseBatch(f *testing.F) {
	for _, seed := range []string{
		BatchHeader + "\nr1,ACC,12.34,6222,Li Lei,memo,\n",
		BatchHeader + "\r\nr1,ACC,1,,,,\r\n\r\nr2,ACC,0.01,p,\"quoted, name\",\"multi\nline\",orig\n",
		BatchHeader + "\nr1,ACC,12.345,p,,,\nr2,ACC,-1,p,,,\nr3,ACC,abc,p,,,\n,ACC,1,p,,,\nshort,line\n",
		BatchHeader + "\n\"unterminated,ACC,1,p,,,\n",
		"reference,account\nr1,ACC\n",
		"",
	} {
		f.Add([]byte(seed), 2)
	}
	f.Fuzz(func(t *testing.T, content []byte, scale int) {
		scale = ((scale % 4) + 4) % 4 // the scales ISO 4217 has: 0-3
		lines, err := parseBatch(content, scale)
		if err != nil {
			if !strings.HasPrefix(string(content), BatchHeader) && ErrorCode(err) != CodeInvalidRequest && ErrorCode(err) != CodeBatchTooLarge {
				t.Fatalf("refusal without a code: %v", err)
			}
			return
		}
		for _, l := range lines {
			if l.err == nil && (l.amount <= 0 || l.ref == "" || l.no < 2) {
				t.Fatalf("line %+v kept without a positive amount, a reference and a line number", l)
			}
		}
	})
}
