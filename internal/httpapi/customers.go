package httpapi

import (
	"context"
	"database/sql"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/auth"
	"github.com/suanpan/suanpan/store"
)

// CustomerView is a customer. Its identity fields (name, id_doc_number,
// phone) are masked unless masked is false, which only a reveal by a key
// with customers:pii gives.
type CustomerView struct {
	ID            string            `json:"id"`
	InstitutionID string            `json:"institution_id"`
	Type          string            `json:"type" enum:"personal,corporate,merchant,staff,partner,supplier"`
	Name          string            `json:"name" doc:"Masked: the first character kept (张*, J***)."`
	IDDocType     string            `json:"id_doc_type,omitempty" enum:"resident_id,passport,business_license,other"`
	IDDocNumber   string            `json:"id_doc_number,omitempty" doc:"Masked: the first 3 and last 4 characters kept (110***********1234)."`
	Phone         string            `json:"phone,omitempty" doc:"Masked: the first 3 and last 4 digits kept (138****8000)."`
	Status        string            `json:"status" enum:"active,frozen,closed"`
	StatusReason  string            `json:"status_reason,omitempty" doc:"Why the status last changed."`
	RiskLevel     string            `json:"risk_level" enum:"low,medium,high"`
	Properties    map[string]string `json:"properties"`
	Masked        bool              `json:"masked" doc:"Whether the identity fields are masked."`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

// customerView shows c masked, or as it is when reveal is set.
func customerView(c *accounts.Customer, reveal bool) *CustomerView {
	if !reveal {
		c = c.Masked()
	}
	return &CustomerView{ID: c.ID, InstitutionID: c.InstitutionID, Type: string(c.Type), Name: c.Name,
		IDDocType: string(c.IDDocType), IDDocNumber: c.IDDocNumber, Phone: c.Phone, Status: string(c.Status),
		StatusReason: c.StatusReason, RiskLevel: string(c.RiskLevel), Properties: c.Properties, Masked: !reveal,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

type customerBody struct {
	InstitutionID string            `json:"institution_id,omitempty" maxLength:"64" doc:"Default: the API key's institution."`
	Type          string            `json:"type" enum:"personal,corporate,merchant,staff,partner,supplier"`
	Name          string            `json:"name" minLength:"1" maxLength:"200" doc:"Encrypted at rest."`
	IDDocType     string            `json:"id_doc_type,omitempty" enum:"resident_id,passport,business_license,other," doc:"With id_doc_number, or neither."`
	IDDocNumber   string            `json:"id_doc_number,omitempty" maxLength:"64" doc:"Letters, digits and -. Encrypted at rest; one open customer per number and institution."`
	Phone         string            `json:"phone,omitempty" maxLength:"20" doc:"Digits, optionally after +. Encrypted at rest."`
	RiskLevel     string            `json:"risk_level,omitempty" enum:"low,medium,high," doc:"Default low."`
	Properties    map[string]string `json:"properties,omitempty" doc:"Free properties: at most 32, names up to 64 bytes, values up to 512."`
}

type customerOut struct {
	Body *CustomerView
}

type createdCustomerOut struct {
	Body *CreatedCustomerView
}

type listCustomersIn struct {
	Type     string `query:"type" enum:"personal,corporate,merchant,staff,partner,supplier,"`
	Status   string `query:"status" enum:"active,frozen,closed,"`
	IDNumber string `query:"id_number" maxLength:"64" doc:"Exact ID document number: found through a blind index, never by decrypting."`
	After    string `query:"after" maxLength:"64" doc:"Cursor: next_cursor of the previous page."`
	Limit    int    `query:"limit" minimum:"0" maximum:"1000" doc:"Page size, default 100."`
}

type customerPage struct {
	Body struct {
		Items      []*CustomerView `json:"items"`
		NextCursor string          `json:"next_cursor,omitempty"`
	}
}

type getCustomerIn struct {
	ID     string `path:"id" maxLength:"64"`
	Reveal bool   `query:"reveal" doc:"Show the identity fields unmasked. Needs customers:pii; every reveal is audited."`
}

type customerStatusIn struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Status string `json:"status" enum:"active,frozen,closed" doc:"closed is final."`
		Reason string `json:"reason,omitempty" maxLength:"500" doc:"Kept with the customer and in the audit log."`
	}
}

type customerPropertiesIn struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Properties map[string]string `json:"properties" doc:"Replaces every property."`
	}
}

func (s *Server) registerCustomers() {
	tags := []string{"Customers"}
	register(s, huma.Operation{OperationID: "create-customer", Method: http.MethodPost, Path: "/customers", Tags: tags,
		Summary: "Create a customer", Description: "The identity fields are encrypted at rest; the answer shows them masked.",
		DefaultStatus: http.StatusCreated}, auth.CustomersWrite, s.createCustomer)
	register(s, huma.Operation{OperationID: "list-customers", Method: http.MethodGet, Path: "/customers", Tags: tags,
		Summary: "List customers", Description: "The caller's institutions' customers by ID, a page at a time, identity fields masked."},
		auth.CustomersRead, s.listCustomers)
	register(s, huma.Operation{OperationID: "get-customer", Method: http.MethodGet, Path: "/customers/{id}", Tags: tags,
		Summary: "Get a customer", Description: "Identity fields masked; with reveal=true and the customers:pii permission, in plain text, which is audited."},
		auth.CustomersRead, s.getCustomer)
	register(s, huma.Operation{OperationID: "set-customer-status", Method: http.MethodPost, Path: "/customers/{id}/status", Tags: tags,
		Summary: "Freeze, activate or close a customer", Description: "active and frozen change into each other; closed is final (invalid_status_change). " +
			"A customer is closed only when all their accounts are (customer_has_accounts otherwise)."},
		auth.CustomersWrite, s.setCustomerStatus)
	register(s, huma.Operation{OperationID: "set-customer-properties", Method: http.MethodPut, Path: "/customers/{id}/properties", Tags: tags,
		Summary: "Replace a customer's properties"}, auth.CustomersWrite, s.setCustomerProperties)
}

// customers returns the customer service, or a problem when the server
// was built without one.
func (s *Server) customers(ctx context.Context) (*accounts.Customers, error) {
	if s.Customers == nil {
		return nil, fail(ctx, http.StatusServiceUnavailable, "unavailable", "", "customers are not configured on this server")
	}
	return s.Customers, nil
}

// auditCustomer records a customer change with the customer (masked by the
// service) before and after.
func (s *Server) auditCustomer(ctx context.Context, op, reason string) accounts.CustomerWrite {
	return func(wctx context.Context, tx *sql.Tx, before, after *accounts.Customer) error {
		var b, a any
		if before != nil {
			b = customerView(before, false)
		}
		v := customerView(after, false)
		a = v
		if reason != "" {
			a = map[string]any{"customer": v, "reason": reason}
		}
		return s.audit(ctx, op, "customer:"+after.ID, after.InstitutionID, b, a)(wctx, tx)
	}
}

// createCustomer creates the customer, and then, once it has committed,
// opens the accounts its institution's products open automatically for its
// type (OpenForCustomer: idempotent by the reference auto:<customer>:<product>),
// reporting them, and any that failed, in the answer.
func (s *Server) createCustomer(ctx context.Context, in *struct{ Body customerBody }) (*createdCustomerOut, error) {
	cs, err := s.customers(ctx)
	if err != nil {
		return nil, err
	}
	inst, err := institution(ctx, in.Body.InstitutionID)
	if err != nil {
		return nil, err
	}
	b := in.Body
	c, err := cs.Create(ctx, accounts.NewCustomer{InstitutionID: inst, Type: accounts.CustomerType(b.Type), Name: b.Name,
		IDDocType: accounts.IDDocType(b.IDDocType), IDDocNumber: b.IDDocNumber, Phone: b.Phone,
		RiskLevel: accounts.RiskLevel(b.RiskLevel), Properties: b.Properties}, s.auditCustomer(ctx, "customers.create", ""))
	if err != nil {
		return nil, err
	}
	return &createdCustomerOut{Body: s.autoOpen(ctx, c)}, nil
}

func (s *Server) listCustomers(ctx context.Context, in *listCustomersIn) (*customerPage, error) {
	cs, err := s.customers(ctx)
	if err != nil {
		return nil, err
	}
	list, next, err := cs.List(ctx, accounts.CustomerFilter{InstitutionIDs: principal(ctx).Scope,
		Type: accounts.CustomerType(in.Type), Status: accounts.CustomerStatus(in.Status), IDNumber: in.IDNumber,
		After: in.After, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &customerPage{}
	out.Body.Items = make([]*CustomerView, len(list))
	for i, c := range list {
		out.Body.Items[i] = customerView(c, false)
	}
	out.Body.NextCursor = next
	return out, nil
}

func (s *Server) getCustomer(ctx context.Context, in *getCustomerIn) (*customerOut, error) {
	cs, err := s.customers(ctx)
	if err != nil {
		return nil, err
	}
	p := principal(ctx)
	if in.Reveal && !p.Can(auth.CustomersPII) {
		return nil, fail(ctx, http.StatusForbidden, auth.CodeForbidden, "query.reveal",
			"this API key's role ("+string(p.Role)+") lacks the "+string(auth.CustomersPII)+" permission needed to reveal identity fields")
	}
	c, err := cs.Get(ctx, in.ID, p.Scope)
	if err != nil {
		return nil, err
	}
	if in.Reveal {
		// Recorded before anything is shown: no audit record, no reveal.
		rec := s.audit(ctx, "customers.reveal", "customer:"+c.ID, c.InstitutionID, nil,
			map[string]any{"fields": []string{"name", "id_doc_number", "phone"}})
		if err := s.DB.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error { return rec(ctx, tx) }); err != nil {
			return nil, err
		}
	}
	return &customerOut{Body: customerView(c, in.Reveal)}, nil
}

func (s *Server) setCustomerStatus(ctx context.Context, in *customerStatusIn) (*customerOut, error) {
	cs, err := s.customers(ctx)
	if err != nil {
		return nil, err
	}
	_, after, err := cs.SetStatus(ctx, in.ID, accounts.CustomerStatus(in.Body.Status), in.Body.Reason, principal(ctx).Scope,
		s.auditCustomer(ctx, "customers.status", in.Body.Reason))
	if err != nil {
		return nil, err
	}
	return &customerOut{Body: customerView(after, false)}, nil
}

func (s *Server) setCustomerProperties(ctx context.Context, in *customerPropertiesIn) (*customerOut, error) {
	cs, err := s.customers(ctx)
	if err != nil {
		return nil, err
	}
	c, err := cs.UpdateProperties(ctx, in.ID, in.Body.Properties, principal(ctx).Scope,
		s.auditCustomer(ctx, "customers.properties", ""))
	if err != nil {
		return nil, err
	}
	return &customerOut{Body: customerView(c, false)}, nil
}
