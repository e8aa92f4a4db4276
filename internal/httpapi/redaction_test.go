package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// sensitiveField names the request fields that hold secrets or personal
// data: a problem must never echo their values.
var sensitiveField = regexp.MustCompile(`(?i)secret|password|passphrase|token|id_number|id_doc|phone|mobile|email|name|address|birth`)

// pathParam matches a path parameter of an operation's path.
var pathParam = regexp.MustCompile(`\{[a-z_]+\}`)

// sensitiveRoutes lists every operation whose request body has a secret or
// identity field, with those fields. TestProblemsNeverEchoValues fails when
// an operation's body gains or loses such a field and this list is not
// updated, so that every such route is tested.
var sensitiveRoutes = map[string][]string{
	"POST /v1/accounts":                    {"name"},
	"POST /v1/customers":                   {"id_doc_number", "id_doc_type", "name", "phone"},
	"POST /v1/customers/{id}/accounts":     {"name"},
	"POST /v1/institutions":                {"name"},
	"POST /v1/keys":                        {"name"},
	"POST /v1/payments/channels":           {"name", "secret"},
	"POST /v1/payments/orders":             {"party_name"},
	"POST /v1/products":                    {"name"},
	"POST /v1/webhooks":                    {"secret"},
	"POST /v1/webhooks/{id}/rotate-secret": {"secret"},
	"PUT /v1/payments/channels/{id}":       {"name", "secret"},
	"PUT /v1/products/{id}":                {"name"},
}

// secretFields walks an operation's request body schema and returns the
// paths (dotted, [] for array items) of the string fields whose name is
// sensitive.
func secretFields(reg huma.Registry, s *huma.Schema, prefix string, seen map[string]bool) []string {
	if s == nil {
		return nil
	}
	if s.Ref != "" {
		if seen[s.Ref] {
			return nil
		}
		seen[s.Ref] = true
		defer delete(seen, s.Ref)
		return secretFields(reg, reg.SchemaFromRef(s.Ref), prefix, seen)
	}
	var out []string
	for _, sub := range slices.Concat(s.OneOf, s.AnyOf, s.AllOf) {
		out = append(out, secretFields(reg, sub, prefix, seen)...)
	}
	if s.Items != nil {
		out = append(out, secretFields(reg, s.Items, prefix+"[]", seen)...)
	}
	for name, p := range s.Properties {
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		if sensitiveField.MatchString(name) && isString(reg, p) {
			out = append(out, path)
		}
		out = append(out, secretFields(reg, p, path, seen)...)
	}
	return out
}

func isString(reg huma.Registry, s *huma.Schema) bool {
	if s.Ref != "" {
		s = reg.SchemaFromRef(s.Ref)
	}
	return s != nil && s.Type == "string"
}

// sensitiveOperations returns the operations with sensitive body fields.
func sensitiveOperations(a *api) map[string][]string {
	oapi := a.srv.API().OpenAPI()
	reg := oapi.Components.Schemas
	out := map[string][]string{}
	for path, item := range oapi.Paths {
		for method, op := range map[string]*huma.Operation{"POST": item.Post, "PUT": item.Put, "PATCH": item.Patch} {
			if op == nil || op.RequestBody == nil {
				continue
			}
			mt := op.RequestBody.Content["application/json"]
			if mt == nil {
				continue
			}
			fields := secretFields(reg, mt.Schema, "", map[string]bool{})
			if len(fields) > 0 {
				slices.Sort(fields)
				out[method+" "+path] = slices.Compact(fields)
			}
		}
	}
	return out
}

// TestProblemsNeverEchoValues sends invalid bodies to every operation
// whose body has a secret or personal field, with distinctive values in
// those fields, and checks that the answer holds none of them: a problem
// names the field, never its value (the review found a missing field's 422
// echoing the whole body: identity numbers, phones, webhook and channel
// secrets).
func TestProblemsNeverEchoValues(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		ops := sensitiveOperations(a)
		var missing []string
		for route, fields := range ops {
			if !slices.Equal(sensitiveRoutes[route], fields) {
				missing = append(missing, fmt.Sprintf("%q: %q,", route, fields))
			}
		}
		for route := range sensitiveRoutes {
			if _, ok := ops[route]; !ok {
				missing = append(missing, fmt.Sprintf("no longer sensitive: %q", route))
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			t.Errorf("sensitiveRoutes is out of date; it should list:\n%s", strings.Join(missing, "\n"))
		}
		for route, fields := range ops {
			method, path, _ := strings.Cut(route, " ")
			path = pathParam.ReplaceAllString(path, "x1")
			variants := []struct {
				name  string
				value func(i int) string
			}{
				// A short value: the body is refused for the unknown
				// property and any required field it lacks.
				{"short", func(i int) string { return fmt.Sprintf("Sekr3t%02dvalue", i) }},
				// A value too long for any field, with characters no
				// pattern allows.
				{"long", func(i int) string { return fmt.Sprintf("Sekr3t%02d!%s", i, strings.Repeat("\u00e9\u00df ", 3000)) }},
			}
			for _, v := range variants {
				t.Run(route+"/"+v.name, func(t *testing.T) {
					body := map[string]any{"zz_not_a_field": "x"}
					var sent []string
					for i, f := range fields {
						val := v.value(i)
						sent = append(sent, val[:10])
						setPath(body, strings.Split(f, "."), val)
					}
					raw, err := json.Marshal(body)
					if err != nil {
						t.Fatal(err)
					}
					resp, answer := a.with(t).raw(a.admin, method, path, raw)
					if resp.StatusCode < 400 || resp.StatusCode >= 500 {
						t.Fatalf("status %d, want a refusal: %s", resp.StatusCode, answer)
					}
					for _, s := range sent {
						if strings.Contains(string(answer), s) {
							t.Errorf("the answer echoes the value %q sent: %s", s, answer)
						}
					}
				})
			}
		}
	})
}

// TestQueryProblemsNeverEchoValues: an identity number in a query that
// breaks its schema is not echoed either.
func TestQueryProblemsNeverEchoValues(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		secret := "Sekr3tID" + strings.Repeat("9", 80)
		resp, answer := a.raw(a.admin, "GET", "/v1/customers?id_number="+secret, nil)
		checkProblem(t, resp, 422, "invalid_request")
		if strings.Contains(string(answer), "Sekr3tID") {
			t.Errorf("the answer echoes the ID number sent: %s", answer)
		}
	})
}

// TestDomainProblemsNeverEchoValues: bodies the schema accepts but the
// services refuse for a secret or identity value: the refusal names the
// field, never the value.
func TestDomainProblemsNeverEchoValues(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		tests := []struct {
			name, method, path, body, value string
		}{
			{"ID number", "POST", "/v1/customers", `{"type":"personal","name":"N","id_doc_type":"resident_id","id_doc_number":"Sekr3t!ID"}`, "Sekr3t!ID"},
			{"phone", "POST", "/v1/customers", `{"type":"personal","name":"N","phone":"Sekr3tPhone"}`, "Sekr3tPhone"},
			{"ID number without its type", "POST", "/v1/customers", `{"type":"personal","name":"N","id_doc_number":"Sekr3t77"}`, "Sekr3t77"},
			{"webhook secret", "POST", "/v1/webhooks", `{"url":"https://example.com/hook","secret":"Sekr3tWebhookSecret"}`, "Sekr3tWebhookSecret"},
			{"webhook secret's base64", "POST", "/v1/webhooks", `{"url":"https://example.com/hook","secret":"whsec_Sekr3t!!!"}`, "Sekr3t!!!"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp, answer := a.with(t).raw(a.admin, tt.method, tt.path, []byte(tt.body))
				if resp.StatusCode != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422: %s", resp.StatusCode, answer)
				}
				if strings.Contains(string(answer), tt.value) {
					t.Errorf("the answer echoes the value %q sent: %s", tt.value, answer)
				}
			})
		}
	})
}

// setPath sets a value at a dotted path in a JSON object, making objects
// (and one-element arrays for []) on the way.
func setPath(m map[string]any, path []string, v any) {
	name := path[0]
	arr := strings.HasSuffix(name, "[]")
	name = strings.TrimSuffix(name, "[]")
	if len(path) == 1 {
		if arr {
			m[name] = []any{v}
		} else {
			m[name] = v
		}
		return
	}
	if arr {
		items, _ := m[name].([]any)
		if len(items) == 0 {
			items = []any{map[string]any{}}
			m[name] = items
		}
		setPath(items[0].(map[string]any), path[1:], v)
		return
	}
	sub, ok := m[name].(map[string]any)
	if !ok {
		sub = map[string]any{}
		m[name] = sub
	}
	setPath(sub, path[1:], v)
}
