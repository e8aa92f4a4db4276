package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestCheckJSON(t *testing.T) {
	allow := map[string]string{"body.format.delimiter": "\t", "body.items[].note": "\n"}
	tests := []struct {
		name, body string
		field      string // "" when accepted
	}{
		{"plain", `{"side":"debit","reason":"court order 12"}`, ""},
		{"empty object", `{}`, ""},
		{"scalars", `{"a":1,"b":true,"c":null,"d":-1.5e3}`, ""},
		{"same key in two objects", `{"a":{"k":1},"b":{"k":2}}`, ""},
		{"same key in array items", `[{"k":1},{"k":2}]`, ""},
		{"not JSON is the decoder's", `{"a":`, ""},
		{"unicode text", `{"name":"张三 Zoë"}`, ""},
		{"escaped quote", `{"a":"x\"y","b":"\\"}`, ""},
		{"exact duplicate", `{"reference":"a","reference":"b"}`, "body.reference"},
		{"case duplicate", `{"side":"debit","SIDE":"bogus"}`, "body.SIDE"},
		{"mixed case duplicate", `{"role":"viewer","Role":"admin"}`, "body.Role"},
		{"escaped duplicate", `{"role":"viewer","\u0052OLE":"admin"}`, "body.ROLE"},
		{"kelvin sign folds to k", `{"kind":"a","\u212aind":"b"}`, "body.\u212aind"},
		{"nested duplicate", `{"format":{"columns":{"amount":"a","AMOUNT":"b"}}}`, "body.format.columns.AMOUNT"},
		{"duplicate in array item", `{"postings":[{"amount":1},{"amount":2,"Amount":3}]}`, "body.postings[1].Amount"},
		{"duplicate after many keys", `{` + manyKeys(40) + `,"K7":1}`, "body.K7"},
		{"many distinct keys", `{` + manyKeys(100) + `}`, ""},
		{"NUL", `{"reason":"a\u0000b"}`, "body.reason"},
		{"LF", `{"reason":"a\nb"}`, "body.reason"},
		{"CR", `{"reason":"a\rb"}`, "body.reason"},
		{"TAB", `{"reason":"a\tb"}`, "body.reason"},
		{"ESC", `{"name":"\u001b[31mred"}`, "body.name"},
		{"DEL", `{"name":"a\u007f"}`, "body.name"},
		{"C1 escaped", `{"name":"a\u0085"}`, "body.name"},
		{"C1 raw", "{\"name\":\"a\u009bb\"}", "body.name"},
		{"raw control byte", "{\"name\":\"a\x01b\"}", "body.name"},
		{"control in array", `{"tags":["ok","b\u0007"]}`, "body.tags[1]"},
		{"control in key", `{"a\u0000":1}`, "body.a\x00"},
		{"exception allows its character", `{"format":{"delimiter":"\t"}}`, ""},
		{"exception in an array item", `{"items":[{"note":"a"},{"note":"line 1\nline 2"}]}`, ""},
		{"exception allows only its characters", `{"format":{"delimiter":"\u0000"}}`, "body.format.delimiter"},
		{"exception is for its field only", `{"delimiter":"\t"}`, "body.delimiter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issue := checkJSON([]byte(tt.body), allow)
			got := ""
			if issue != nil {
				got = issue.field
			}
			if got != tt.field {
				t.Errorf("checkJSON(%s) refuses field %q, want %q", tt.body, got, tt.field)
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + string(rune('a'+i/26)) + string(rune('a'+i%26)) + `":1`)
	}
	return strings.ReplaceAll(b.String(), `"kah"`, `"k7"`)
}

// FuzzCheckJSON checks the scan against encoding/json: it never panics,
// and on every document encoding/json accepts, it refuses exactly those
// with a key twice in one object (compared as encoding/json compares keys
// to fields) or a control character in a string.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{"side":"debit","SIDE":"bogus"}`, `{"a":[{"b":"c\n"}]}`, `[1,"x",{"k":null}]`,
		`{"\u212a":1,"k":2}`, `{"a":"\ud83d\ude00"}`, `"\u0085"`, `{"x":{"y":{"z":[[],{}]}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		issue := checkJSON(data, nil)
		if !json.Valid(data) {
			return
		}
		want := refuse(t, data)
		if (issue != nil) != want {
			t.Errorf("checkJSON(%q) = %+v, want refused %v", data, issue, want)
		}
	})
}

// refuse is the reference: whether a valid document has a duplicate key
// or a control character, found with encoding/json's tokens.
func refuse(t *testing.T, data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		object, expectKey bool
		keys              []string
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].expectKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			t.Fatalf("token: %v", err)
		}
		if s, ok := tok.(string); ok {
			for _, r := range s {
				if isControl(r) {
					return true
				}
			}
		}
		var top *frame
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		if top != nil && top.expectKey {
			if k, ok := tok.(string); ok {
				for _, seen := range top.keys {
					if strings.EqualFold(seen, k) {
						return true
					}
				}
				top.keys = append(top.keys, k)
				top.expectKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, expectKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// TestCheckJSONAllocs: the scan of an ordinary body allocates nothing
// (it runs on every request with a body).
func TestCheckJSONAllocs(t *testing.T) {
	body := []byte(`{"reference":"order-1234","description":"rent","metadata":{"k":"v"},"postings":[` +
		`{"debit":"0196a1b2c3d4","credit":"0196a1b2c3d5","asset":"CNY","amount":125000},` +
		`{"debit":"0196a1b2c3d5","credit":"0196a1b2c3d6","asset":"CNY","amount":300}]}`)
	checkJSON(body, nil) // warm the pool
	if n := testing.AllocsPerRun(100, func() {
		if issue := checkJSON(body, nil); issue != nil {
			t.Fatalf("refused: %+v", issue)
		}
	}); n != 0 {
		t.Errorf("%v allocations per scan, want 0", n)
	}
}
