package accounts

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/store"
)

// CustomerType is what kind of party a customer is.
type CustomerType string

// The customer types.
const (
	Personal  CustomerType = "personal"
	Corporate CustomerType = "corporate"
	Merchant  CustomerType = "merchant"
	Staff     CustomerType = "staff"
	Partner   CustomerType = "partner"
	Supplier  CustomerType = "supplier"
)

// CustomerTypes lists the customer types.
var CustomerTypes = []CustomerType{Personal, Corporate, Merchant, Staff, Partner, Supplier}

// IDDocType is the kind of identity document a customer's number is from.
type IDDocType string

// The identity document types.
const (
	ResidentID      IDDocType = "resident_id"
	Passport        IDDocType = "passport"
	BusinessLicense IDDocType = "business_license"
	OtherDoc        IDDocType = "other"
)

// IDDocTypes lists the identity document types.
var IDDocTypes = []IDDocType{ResidentID, Passport, BusinessLicense, OtherDoc}

// CustomerStatus is a customer's life-cycle state.
type CustomerStatus string

// The customer statuses. Closed is final.
const (
	CustomerActive CustomerStatus = "active"
	CustomerFrozen CustomerStatus = "frozen"
	CustomerClosed CustomerStatus = "closed"
)

// RiskLevel is a customer's assessed risk.
type RiskLevel string

// The risk levels.
const (
	RiskLow    RiskLevel = "low"
	RiskMedium RiskLevel = "medium"
	RiskHigh   RiskLevel = "high"
)

// Bounds on a customer's fields.
const (
	MaxNameBytes      = 200
	MaxIDNumberBytes  = 64
	MaxPhoneBytes     = 20
	MaxReasonBytes    = 500
	MaxProperties     = 32
	MaxPropertyKey    = 64
	MaxPropertyValue  = 512
	maxInstitutionLen = 64
)

// Customer is a party of an institution. Name, IDDocNumber and Phone are
// identity fields: encrypted at rest and masked (Masked) wherever they are
// shown, logged or audited. String, GoString and LogValue mask them too, so
// that a customer printed by mistake shows nothing it should not.
type Customer struct {
	ID            string            `json:"id"`
	InstitutionID string            `json:"institution_id"`
	Type          CustomerType      `json:"type"`
	Name          string            `json:"name"`
	IDDocType     IDDocType         `json:"id_doc_type,omitempty"`
	IDDocNumber   string            `json:"id_doc_number,omitempty"`
	Phone         string            `json:"phone,omitempty"`
	Status        CustomerStatus    `json:"status"`
	StatusReason  string            `json:"status_reason,omitempty"`
	RiskLevel     RiskLevel         `json:"risk_level"`
	Properties    map[string]string `json:"properties"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

// Masked returns a copy of c with its identity fields masked.
func (c *Customer) Masked() *Customer {
	m := *c
	m.Name, m.IDDocNumber, m.Phone = MaskName(c.Name), MaskIDNumber(c.IDDocNumber), MaskPhone(c.Phone)
	m.Properties = make(map[string]string, len(c.Properties))
	for k, v := range c.Properties {
		m.Properties[k] = v
	}
	return &m
}

// String describes the customer with its identity fields masked.
func (c Customer) String() string {
	return fmt.Sprintf("customer %s (%s, %s, %s, %s)", c.ID, c.InstitutionID, c.Type, c.Status, MaskName(c.Name))
}

// GoString is String: %#v must not print identity fields either.
func (c Customer) GoString() string { return c.String() }

// LogValue logs the customer with its identity fields masked.
func (c Customer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", c.ID), slog.String("institution_id", c.InstitutionID),
		slog.String("type", string(c.Type)), slog.String("status", string(c.Status)), slog.String("name", MaskName(c.Name)))
}

var (
	_ fmt.Stringer   = Customer{}
	_ fmt.GoStringer = Customer{}
	_ slog.LogValuer = Customer{}
)

// NewCustomer describes a customer to create.
type NewCustomer struct {
	InstitutionID string
	Type          CustomerType
	Name          string
	IDDocType     IDDocType // with IDDocNumber, or neither
	IDDocNumber   string
	Phone         string    // optional
	RiskLevel     RiskLevel // default RiskLow
	Properties    map[string]string
}

// Validate checks the shape of a customer to create and fills defaults.
// Returns CodeInvalidRequest naming the field at fault.
func (n *NewCustomer) Validate() error {
	if err := checkInstitution(n.InstitutionID); err != nil {
		return err
	}
	if !slices.Contains(CustomerTypes, n.Type) {
		return fieldErr("type", "type must be one of personal, corporate, merchant, staff, partner, supplier")
	}
	if strings.TrimSpace(n.Name) == "" || len(n.Name) > MaxNameBytes || !store.Storable(n.Name) {
		return fieldErr("name", "name is required: text of at most %d bytes", MaxNameBytes)
	}
	switch {
	case n.IDDocType == "" && n.IDDocNumber == "":
	case n.IDDocType == "":
		return fieldErr("id_doc_type", "an ID document number needs its document type")
	case !slices.Contains(IDDocTypes, n.IDDocType):
		return fieldErr("id_doc_type", "ID document type must be one of resident_id, passport, business_license, other")
	case n.IDDocNumber == "":
		return fieldErr("id_doc_number", "an ID document type needs its number")
	default:
		if err := checkIDNumber(n.IDDocNumber, "id_doc_number"); err != nil {
			return err
		}
	}
	if n.Phone != "" && !validPhone(n.Phone) {
		return fieldErr("phone", "phone must be 5 to %d digits, optionally after a +", MaxPhoneBytes-1)
	}
	switch n.RiskLevel {
	case "":
		n.RiskLevel = RiskLow
	case RiskLow, RiskMedium, RiskHigh:
	default:
		return fieldErr("risk_level", "risk level must be low, medium or high")
	}
	if err := checkProperties(n.Properties); err != nil {
		return err
	}
	return nil
}

func checkInstitution(id string) *Error {
	if id == "" || len(id) > maxInstitutionLen {
		return fieldErr("institution_id", "institution_id is required and at most %d bytes", maxInstitutionLen)
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fieldErr("institution_id", "institution_id may hold only letters, digits, _ and -")
		}
	}
	return nil
}

// checkIDNumber accepts 1..64 letters, digits and '-'. Messages never echo
// the number.
func checkIDNumber(s, field string) *Error {
	if s == "" || len(s) > MaxIDNumberBytes {
		return fieldErr(field, "ID document number must be 1 to %d letters, digits or -", MaxIDNumberBytes)
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return fieldErr(field, "ID document number must be 1 to %d letters, digits or -", MaxIDNumberBytes)
		}
	}
	return nil
}

func validPhone(s string) bool {
	digits := strings.TrimPrefix(s, "+")
	if len(s) > MaxPhoneBytes || len(digits) < 5 {
		return false
	}
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func checkProperties(m map[string]string) *Error {
	if len(m) > MaxProperties {
		return fieldErr("properties", "at most %d properties", MaxProperties)
	}
	for k, v := range m {
		if k == "" || len(k) > MaxPropertyKey || !store.Storable(k) {
			return fieldErr("properties", "property names must be 1 to %d bytes of text", MaxPropertyKey)
		}
		if len(v) > MaxPropertyValue || !store.Storable(v) {
			return fieldErr("properties."+k, "property values must be text of at most %d bytes", MaxPropertyValue)
		}
	}
	return nil
}

// CustomerWrite is extra work committed in the same storage transaction as
// a customer change (an audit record, an outbox event). It is given the
// customer before (nil on creation) and after the change, both masked:
// nothing that rides along ever holds identity fields in plain text.
type CustomerWrite func(ctx context.Context, tx *sql.Tx, before, after *Customer) error

// Customers stores customers with their identity fields encrypted.
type Customers struct {
	db    *store.DB
	clock clock.Clock
	keys  *Keyring
}

// NewCustomers returns the customer service on a migrated store, encrypting
// with keys.
func NewCustomers(db *store.DB, c clock.Clock, keys *Keyring) *Customers {
	return &Customers{db: db, clock: c, keys: keys}
}

// Fields of the encryption's additional authenticated data.
const (
	fieldName     = "name"
	fieldIDNumber = "id_doc_number"
	fieldPhone    = "phone"
)

// sealed is a customer's identity fields as stored.
type sealed struct{ name, idNumber, index, phone string }

func (s *Customers) seal(c *Customer) (sealed, error) {
	var out sealed
	var err error
	if out.name, err = s.keys.Encrypt(fieldName, c.ID, c.Name); err != nil {
		return out, err
	}
	if out.idNumber, err = s.keys.Encrypt(fieldIDNumber, c.ID, c.IDDocNumber); err != nil {
		return out, err
	}
	if out.phone, err = s.keys.Encrypt(fieldPhone, c.ID, c.Phone); err != nil {
		return out, err
	}
	out.index = s.keys.BlindIndex(c.IDDocNumber)
	return out, nil
}

// Create creates an active customer of n.InstitutionID; writes run in the
// same storage transaction. Returns CodeInvalidRequest, or CodeConflict when
// an open (not closed) customer of the institution has the ID number.
// Permission: customers:write.
func (s *Customers) Create(ctx context.Context, n NewCustomer, writes ...CustomerWrite) (*Customer, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	c := &Customer{ID: uuid.Must(uuid.NewV7()).String(), InstitutionID: n.InstitutionID, Type: n.Type, Name: n.Name,
		IDDocType: n.IDDocType, IDDocNumber: n.IDDocNumber, Phone: n.Phone, Status: CustomerActive,
		RiskLevel: n.RiskLevel, Properties: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	for k, v := range n.Properties {
		c.Properties[k] = v
	}
	sl, err := s.seal(c)
	if err != nil {
		return nil, err
	}
	props, err := json.Marshal(c.Properties)
	if err != nil {
		return nil, fmt.Errorf("create customer: %w", err)
	}
	err = s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		if c.IDDocNumber != "" {
			// The unique index catches a duplicate under the current key;
			// this also catches one indexed under an older key.
			dup, err := s.openWithNumber(ctx, tx, c.InstitutionID, c.IDDocNumber)
			if err != nil {
				return err
			}
			if dup {
				return &Error{Code: CodeConflict, Field: "id_doc_number",
					Message: "an open customer of institution " + c.InstitutionID + " has this ID document number"}
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO customers (id, institution_id, type, name, id_doc_type, id_doc_number,
			id_number_index, phone, status, status_reason, risk_level, properties, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			c.ID, c.InstitutionID, string(c.Type), sl.name, string(c.IDDocType), sl.idNumber, sl.index, sl.phone,
			string(c.Status), "", string(c.RiskLevel), string(props), now.UnixMicro(), now.UnixMicro())
		if _, dup := store.UniqueViolation(err); dup {
			return &Error{Code: CodeConflict, Field: "id_doc_number",
				Message: "an open customer of institution " + c.InstitutionID + " has this ID document number"}
		}
		if err != nil {
			return fmt.Errorf("insert customer: %w", err)
		}
		return runWrites(ctx, tx, writes, nil, c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// openWithNumber reports whether an open customer of inst has the number,
// indexed under any key of the keyring.
func (s *Customers) openWithNumber(ctx context.Context, tx *sql.Tx, inst, number string) (bool, error) {
	q := &query{d: s.db.Dialect}
	q.add("institution_id = ?", inst)
	q.add("status <> ?", string(CustomerClosed))
	q.in("id_number_index", s.keys.BlindIndexes(number))
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM customers WHERE "+q.where(), q.args...).Scan(&n); err != nil {
		return false, fmt.Errorf("check customer ID number: %w", err)
	}
	return n > 0, nil
}

func runWrites(ctx context.Context, tx *sql.Tx, writes []CustomerWrite, before, after *Customer) error {
	if len(writes) == 0 {
		return nil
	}
	var b *Customer
	if before != nil {
		b = before.Masked()
	}
	a := after.Masked()
	for _, w := range writes {
		if err := w(ctx, tx, b, a); err != nil {
			return err
		}
	}
	return nil
}

// Get returns a customer of the institutions in scope (nil: any), or
// CodeCustomerNotFound. Permission: customers:read.
func (s *Customers) Get(ctx context.Context, id string, scope []string) (*Customer, error) {
	c, err := s.load(ctx, s.db.Read, id, false)
	if err != nil {
		return nil, err
	}
	if c == nil || !inScope(scope, c.InstitutionID) {
		return nil, notFound(id)
	}
	return c, nil
}

func notFound(id string) *Error {
	if !store.Storable(id) || len(id) > 64 {
		return errorf(CodeCustomerNotFound, "customer not found")
	}
	return errorf(CodeCustomerNotFound, "customer %s not found", id)
}

// inScope reports whether inst is among allowed (nil: every institution).
func inScope(allowed []string, inst string) bool {
	return allowed == nil || slices.Contains(allowed, inst)
}

// CustomerFilter selects customers for List.
type CustomerFilter struct {
	InstitutionIDs []string // nil: all institutions
	Type           CustomerType
	Status         CustomerStatus
	// IDNumber, when set, finds customers by ID document number through
	// the blind index, without decrypting any other row.
	IDNumber string
	After    string // cursor: the last ID of the previous page
	Limit    int    // default 100, at most 1000
}

// Page sizes of List.
const (
	defaultPage = 100
	maxPage     = 1000
)

// List returns customers ordered by ID, a page at a time; next is the
// cursor for the following page, or "" after the last. Returns
// CodeInvalidRequest for a malformed filter. Permission: customers:read.
func (s *Customers) List(ctx context.Context, f CustomerFilter) (cs []*Customer, next string, err error) {
	q := &query{d: s.db.Dialect}
	q.add("id > ?", f.After)
	if f.InstitutionIDs != nil {
		if len(f.InstitutionIDs) == 0 {
			return nil, "", nil
		}
		q.in("institution_id", f.InstitutionIDs)
	}
	if f.Type != "" {
		if !slices.Contains(CustomerTypes, f.Type) {
			return nil, "", fieldErr("type", "type must be one of personal, corporate, merchant, staff, partner, supplier")
		}
		q.add("type = ?", string(f.Type))
	}
	if f.Status != "" {
		if f.Status != CustomerActive && f.Status != CustomerFrozen && f.Status != CustomerClosed {
			return nil, "", fieldErr("status", "status must be active, frozen or closed")
		}
		q.add("status = ?", string(f.Status))
	}
	if f.IDNumber != "" {
		if err := checkIDNumber(f.IDNumber, "id_number"); err != nil {
			return nil, "", err
		}
		q.in("id_number_index", s.keys.BlindIndexes(f.IDNumber))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultPage
	}
	limit = min(limit, maxPage)
	rows, err := s.db.Read.QueryContext(ctx, "SELECT "+customerCols+" FROM customers WHERE "+q.where()+
		fmt.Sprintf(" ORDER BY id LIMIT %d", limit+1), q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list customers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := s.scan(rows)
		if err != nil {
			return nil, "", err
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list customers: %w", err)
	}
	if len(cs) > limit {
		cs = cs[:limit]
		next = cs[limit-1].ID
	}
	return cs, next, nil
}

// FindByIDNumber returns the customers of the institutions in scope (nil:
// any) with the ID document number, at most 1000. Permission:
// customers:read.
func (s *Customers) FindByIDNumber(ctx context.Context, scope []string, number string) ([]*Customer, error) {
	if number == "" {
		return nil, fieldErr("id_number", "an ID document number is required")
	}
	cs, _, err := s.List(ctx, CustomerFilter{InstitutionIDs: scope, IDNumber: number, Limit: maxPage})
	return cs, err
}

// SetStatus changes a customer's status, recording why: active and frozen
// change into each other and into closed, which is final
// (CodeInvalidStatusChange) and refused while any of the customer's
// accounts is not closed (CodeCustomerHasAccounts). A change to the status
// the customer already has changes nothing and runs no writes. Returns the customer before and
// after, or CodeCustomerNotFound when it is not in scope (nil: any).
// Permission: customers:write.
func (s *Customers) SetStatus(ctx context.Context, id string, status CustomerStatus, reason string, scope []string,
	writes ...CustomerWrite) (before, after *Customer, err error) {
	if status != CustomerActive && status != CustomerFrozen && status != CustomerClosed {
		return nil, nil, fieldErr("status", "status must be active, frozen or closed")
	}
	if len(reason) > MaxReasonBytes || !store.Storable(reason) {
		return nil, nil, fieldErr("reason", "reason must be text of at most %d bytes", MaxReasonBytes)
	}
	err = s.update(ctx, id, scope, func(tx *sql.Tx, c *Customer) (bool, error) {
		if c.Status == status {
			return false, nil
		}
		if c.Status == CustomerClosed {
			return false, errorf(CodeInvalidStatusChange, "customer %s is closed and cannot be reopened", c.ID)
		}
		if status == CustomerClosed {
			// Under the customer's row lock: an open for this customer
			// re-checks the customer under the same lock.
			var open int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM customer_accounts ca JOIN accounts a ON a.id = ca.account_id
				WHERE ca.customer_id = $1 AND a.status <> 'closed'`, c.ID).Scan(&open); err != nil {
				return false, fmt.Errorf("count customer accounts: %w", err)
			}
			if open > 0 {
				return false, errorf(CodeCustomerHasAccounts, "customer %s has %d accounts not closed: close them first", c.ID, open)
			}
		}
		c.Status, c.StatusReason = status, reason
		return true, nil
	}, func(b, a *Customer) { before, after = b, a }, writes)
	if err != nil {
		return nil, nil, err
	}
	return before, after, nil
}

// UpdateProperties replaces a customer's properties. Returns the customer
// after the change, CodeInvalidRequest or CodeCustomerNotFound (also when
// out of scope; nil scope: any). Permission: customers:write.
func (s *Customers) UpdateProperties(ctx context.Context, id string, props map[string]string, scope []string,
	writes ...CustomerWrite) (*Customer, error) {
	if err := checkProperties(props); err != nil {
		return nil, err
	}
	var after *Customer
	err := s.update(ctx, id, scope, func(_ *sql.Tx, c *Customer) (bool, error) {
		if c.Status == CustomerClosed {
			return false, errorf(CodeInvalidStatusChange, "customer %s is closed", c.ID)
		}
		c.Properties = map[string]string{}
		for k, v := range props {
			c.Properties[k] = v
		}
		return true, nil
	}, func(_, a *Customer) { after = a }, writes)
	return after, err
}

// update loads a customer for update, lets change modify it (reporting
// whether it did), stores the non-identity fields and runs the writes, all in
// one storage transaction. done learns the customer before and after.
func (s *Customers) update(ctx context.Context, id string, scope []string, change func(*sql.Tx, *Customer) (bool, error),
	done func(before, after *Customer), writes []CustomerWrite) error {
	return s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		c, err := s.load(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if c == nil || !inScope(scope, c.InstitutionID) {
			return notFound(id)
		}
		before := *c // change replaces, never edits, the properties map
		changed, err := change(tx, c)
		if err != nil {
			return err
		}
		if !changed {
			done(&before, c)
			return nil
		}
		c.UpdatedAt = s.clock.Now().UTC().Truncate(time.Microsecond)
		props, err := json.Marshal(c.Properties)
		if err != nil {
			return fmt.Errorf("update customer: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE customers SET status = $1, status_reason = $2, properties = $3,
			updated_at = $4 WHERE id = $5`, string(c.Status), c.StatusReason, string(props), c.UpdatedAt.UnixMicro(), c.ID); err != nil {
			return fmt.Errorf("update customer: %w", err)
		}
		done(&before, c)
		return runWrites(ctx, tx, writes, &before, c)
	})
}

const customerCols = `id, institution_id, type, name, id_doc_type, id_doc_number, phone, status, status_reason,
	risk_level, properties, created_at, updated_at`

type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// load reads and decrypts one customer, locking it on PostgreSQL when lock
// is set; nil when there is none.
func (s *Customers) load(ctx context.Context, q queryer, id string, lock bool) (*Customer, error) {
	suffix := ""
	if lock {
		suffix = s.db.Dialect.ForUpdate()
	}
	rows, err := q.QueryContext(ctx, "SELECT "+customerCols+" FROM customers WHERE id = $1"+suffix, id)
	if err != nil {
		return nil, fmt.Errorf("load customer: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	c, err := s.scan(rows)
	if err != nil {
		return nil, err
	}
	return c, rows.Close()
}

type scanner interface{ Scan(dest ...any) error }

func (s *Customers) scan(r scanner) (*Customer, error) {
	c, sl, err := scanSealed(r)
	if err != nil {
		return nil, err
	}
	if err := s.open(c, sl); err != nil {
		return nil, err
	}
	return c, nil
}

// scanSealed reads a row without decrypting it.
func scanSealed(r scanner) (*Customer, sealed, error) {
	var c Customer
	var sl sealed
	var typ, doc, status, risk, props string
	var created, updated int64
	if err := r.Scan(&c.ID, &c.InstitutionID, &typ, &sl.name, &doc, &sl.idNumber, &sl.phone, &status, &c.StatusReason,
		&risk, &props, &created, &updated); err != nil {
		return nil, sl, fmt.Errorf("scan customer: %w", err)
	}
	c.Type, c.IDDocType, c.Status, c.RiskLevel = CustomerType(typ), IDDocType(doc), CustomerStatus(status), RiskLevel(risk)
	c.CreatedAt, c.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	if err := json.Unmarshal([]byte(props), &c.Properties); err != nil {
		return nil, sl, fmt.Errorf("customer %s properties: %w", c.ID, err)
	}
	return &c, sl, nil
}

// open decrypts the sealed fields into c.
func (s *Customers) open(c *Customer, sl sealed) error {
	var err error
	if c.Name, err = s.keys.Decrypt(fieldName, c.ID, sl.name); err != nil {
		return err
	}
	if c.IDDocNumber, err = s.keys.Decrypt(fieldIDNumber, c.ID, sl.idNumber); err != nil {
		return err
	}
	if c.Phone, err = s.keys.Decrypt(fieldPhone, c.ID, sl.phone); err != nil {
		return err
	}
	return nil
}

// rotateBatch is how many customers RotateCustomers re-encrypts per storage
// transaction: small enough to hold locks briefly, large enough that a
// million customers take minutes, not hours.
const rotateBatch = 200

// RotateCustomers re-encrypts every customer whose identity fields are not
// sealed under the current key, and rebuilds its blind index, in batches of
// rotateBatch customers per storage transaction. It is idempotent and may be
// interrupted and run again: customers already under the current key are
// skipped. It returns how many customers it re-encrypted. Run it after
// putting a new key first in the keyring; once it has finished, the old keys
// may be dropped.
func (s *Customers) RotateCustomers(ctx context.Context) (int, error) {
	cur := s.keys.Current()
	stale := func(v string) bool { return v != "" && keyOf(v) != cur }
	rotated, after := 0, ""
	for {
		var n, seen int
		err := s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
			n, seen = 0, 0
			rows, err := tx.QueryContext(ctx, "SELECT "+customerCols+" FROM customers WHERE id > $1 ORDER BY id"+
				fmt.Sprintf(" LIMIT %d", rotateBatch)+s.db.Dialect.ForUpdate(), after)
			if err != nil {
				return fmt.Errorf("rotate customers: %w", err)
			}
			var todo []*Customer
			var last string
			for rows.Next() {
				c, sl, err := scanSealed(rows)
				if err != nil {
					rows.Close()
					return err
				}
				seen++
				last = c.ID
				if !stale(sl.name) && !stale(sl.idNumber) && !stale(sl.phone) {
					continue
				}
				if err := s.open(c, sl); err != nil {
					rows.Close()
					return err
				}
				todo = append(todo, c)
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				return fmt.Errorf("rotate customers: %w", err)
			}
			for _, c := range todo {
				sl, err := s.seal(c)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE customers SET name = $1, id_doc_number = $2, id_number_index = $3,
					phone = $4 WHERE id = $5`, sl.name, sl.idNumber, sl.index, sl.phone, c.ID); err != nil {
					return fmt.Errorf("rotate customer %s: %w", c.ID, err)
				}
				n++
			}
			if seen > 0 {
				after = last
			}
			return nil
		})
		if err != nil {
			return rotated, err
		}
		rotated += n
		if seen < rotateBatch {
			return rotated, nil
		}
	}
}

// query builds a WHERE clause with the dialect's placeholders, in order.
type query struct {
	d     store.Dialect
	conds []string
	args  []any
}

// add appends a condition with one "?" for arg.
func (q *query) add(cond string, arg any) {
	q.args = append(q.args, arg)
	q.conds = append(q.conds, strings.Replace(cond, "?", q.d.Placeholder(len(q.args)), 1))
}

// in appends "col IN (…)" over vals.
func (q *query) in(col string, vals []string) {
	ph := make([]string, len(vals))
	for i, v := range vals {
		q.args = append(q.args, v)
		ph[i] = q.d.Placeholder(len(q.args))
	}
	q.conds = append(q.conds, col+" IN ("+strings.Join(ph, ", ")+")")
}

func (q *query) where() string {
	if len(q.conds) == 0 {
		return "1 = 1"
	}
	return strings.Join(q.conds, " AND ")
}
