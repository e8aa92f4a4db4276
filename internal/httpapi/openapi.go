package httpapi

import "encoding/json"

// OpenAPI returns the API's OpenAPI 3.1 document as indented JSON ending in a
// newline: the form checked in as docs/openapi.json.
func (s *Server) OpenAPI() ([]byte, error) {
	b, err := json.MarshalIndent(s.api.OpenAPI(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
