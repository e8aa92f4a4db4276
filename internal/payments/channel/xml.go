package channel

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"slices"
)

// maxXMLFields bounds the fields of a flat XML message.
const maxXMLFields = 64

// encodeXML writes fields as WeChat's flat XML, <xml><k>v</k>…</xml>, keys
// sorted so the output is stable.
func encodeXML(fields map[string]string) []byte {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b bytes.Buffer
	b.WriteString("<xml>")
	for _, k := range keys {
		b.WriteString("<" + k + ">")
		_ = xml.EscapeText(&b, []byte(fields[k])) // a bytes.Buffer does not fail
		b.WriteString("</" + k + ">")
	}
	b.WriteString("</xml>")
	return b.Bytes()
}

// decodeXML reads WeChat's flat XML: one <xml> element whose children are
// text-only fields, each at most once.
func decodeXML(data []byte) (map[string]string, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	fields := map[string]string{}
	depth, closed := 0, false
	var key string
	var text []byte
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if !closed {
				return nil, garbled("xml: unexpected end")
			}
			return fields, nil
		}
		if err != nil {
			return nil, garbled("xml: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1 && t.Name.Local == "xml" && !closed:
			case depth == 2:
				key, text = t.Name.Local, text[:0]
			default:
				return nil, garbled("xml: unexpected element <%s>", clip(t.Name.Local))
			}
		case xml.EndElement:
			switch depth {
			case 2:
				if _, dup := fields[key]; dup {
					return nil, garbled("xml: field %q twice", clip(key))
				}
				if len(fields) == maxXMLFields {
					return nil, garbled("xml: more than %d fields", maxXMLFields)
				}
				fields[key] = string(text)
			case 1:
				closed = true
			}
			depth--
		case xml.CharData:
			if depth == 2 {
				text = append(text, t...)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, garbled("xml: text outside a field")
			}
		case xml.ProcInst, xml.Comment:
		default:
			return nil, garbled("xml: unexpected %T", tok)
		}
	}
}
