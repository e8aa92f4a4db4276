package accounts

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
)

// Bounds of the account life cycle.
const (
	// MaxFreezesInForce bounds the freezes in force on one account: every
	// lift and every guarded status change reads them all.
	MaxFreezesInForce = 32
	// MaxReferenceBytes bounds an open's reference.
	MaxReferenceBytes = 128
	// maxAttempts bounds how often a change whose premises moved under it
	// (a product changed, a freeze was placed meanwhile) is tried again.
	maxAttempts = 5
)

// errStale: what a change was computed from changed before it committed;
// the change is recomputed. It reaches a caller only after maxAttempts.
var errStale = errorf(CodeConflict, "the account changed while the request ran; retry it")

// errReferenceTaken: a concurrent open with the same reference committed
// first; the open answers with that account.
var errReferenceTaken = errors.New("open: reference taken concurrently")

// CustomerAccount links a ledger account to the customer it belongs to
// (none for an institution's internal account) and to the product version
// it was opened on, which it keeps for life.
type CustomerAccount struct {
	AccountID      string            `json:"account_id"`
	InstitutionID  string            `json:"institution_id"`
	CustomerID     string            `json:"customer_id,omitempty"`
	ProductID      string            `json:"product_id"`
	ProductVersion int               `json:"product_version"`
	Reference      string            `json:"reference,omitempty"`
	Properties     map[string]string `json:"properties"`
	OpenedAt       time.Time         `json:"opened_at"`
	OpenedBy       string            `json:"opened_by"`
	ClosedAt       *time.Time        `json:"closed_at,omitempty"`
	ClosedBy       string            `json:"closed_by,omitempty"`
}

// Lifecycle opens accounts on products, freezes and thaws them with an
// authority, closes them (sweeping a remainder) and maintains their
// properties. Every change records an outbox event and runs the caller's
// writes (the audit record) in the same storage transaction.
type Lifecycle struct {
	db       *store.DB
	ledger   *ledger.Ledger
	products *ProductService
	clock    clock.Clock
}

// NewLifecycle returns the life-cycle service on the ledger's store and
// clock, reading products from products.
func NewLifecycle(l *ledger.Ledger, products *ProductService) *Lifecycle {
	return &Lifecycle{db: l.DB(), ledger: l, products: products, clock: l.Clock()}
}

func (s *Lifecycle) now() time.Time { return time.UnixMicro(s.clock.Now().UnixMicro()).UTC() }

// forCustomers reports whether accounts of the class belong to a customer;
// the others (clearing, internal, shadow) are the institution's own.
func (c Class) forCustomers() bool {
	switch c {
	case ClassWallet, ClassMerchantSettlement, ClassEscrow, ClassPoints, ClassCredit:
		return true
	}
	return false
}

// OpenRequest asks for an account on a product.
type OpenRequest struct {
	// InstitutionID is the account's institution; with a customer it
	// defaults to the customer's, and must be it.
	InstitutionID string
	// CustomerID is the owner; empty for an institution's internal account
	// (products of class clearing, internal or shadow).
	CustomerID string
	ProductID  string
	Name       string // default: the product's name
	// Reference, optional, makes the open idempotent: unique within the
	// institution, a retried open with it returns the account it opened.
	Reference  string
	Properties map[string]string
	OpenedBy   string // the API key ID that asks
	// Scope is the institutions the caller may reach (nil: any).
	Scope []string
}

// Opened is an opened account with the product version it was opened on.
type Opened struct {
	CustomerAccount
	Account *ledger.Account
	Product *Product
	// Replayed is set when the reference had opened the account before:
	// nothing was changed now.
	Replayed bool
}

func (r *OpenRequest) validate() error {
	if r.CustomerID == "" {
		if err := checkInstitution(r.InstitutionID); err != nil {
			return err
		}
	} else if len(r.CustomerID) > 64 || !store.Storable(r.CustomerID) {
		return notFound(r.CustomerID)
	}
	if !productIDPattern.MatchString(r.ProductID) {
		return fieldErr("product_id", "product_id must name a product")
	}
	if len(r.Name) > MaxNameBytes || !store.Storable(r.Name) {
		return fieldErr("name", "name must be text of at most %d bytes", MaxNameBytes)
	}
	if len(r.Reference) > MaxReferenceBytes || !store.Storable(r.Reference) {
		return fieldErr("reference", "reference must be text of at most %d bytes", MaxReferenceBytes)
	}
	if err := checkProperties(r.Properties); err != nil {
		return err
	}
	if r.OpenedBy == "" || len(r.OpenedBy) > 64 || !store.Storable(r.OpenedBy) {
		return fieldErr("opened_by", "opened_by is required: at most 64 bytes")
	}
	return nil
}

// Open opens an account on the latest version of a product: a ledger
// account with the product's asset, chart code, normal side and overdraft,
// linked to the customer and the product version, with an account.opened
// event and the writes, all in one storage transaction. The customer must
// be of the institution and active; a product of a customer class (wallet,
// merchant_settlement, escrow, points, credit) needs a customer and the
// others refuse one. A request whose reference opened an account before
// returns that account, Replayed, and runs no writes.
//
// Permission: accounts:write. Returns CodeInvalidRequest,
// CodeCustomerNotFound (also out of scope), CodeCustomerNotActive,
// CodeProductNotFound, CodeProductRetired or CodeConflict (the reference
// opened an account of another product or customer).
func (s *Lifecycle) Open(ctx context.Context, r OpenRequest, writes ...ChangeWrite) (*Opened, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		o, err := s.open(ctx, r, writes)
		if errors.Is(err, errStale) && attempt < maxAttempts {
			continue
		}
		return o, err
	}
}

func (s *Lifecycle) open(ctx context.Context, r OpenRequest, writes []ChangeWrite) (*Opened, error) {
	inst := r.InstitutionID
	if r.CustomerID != "" {
		c, err := loadCustomerRow(ctx, s.db.Read, s.db.Dialect, r.CustomerID, false)
		if err != nil {
			return nil, err
		}
		if c == nil || !inScope(r.Scope, c.inst) || (inst != "" && inst != c.inst) {
			return nil, notFound(r.CustomerID)
		}
		if c.status != CustomerActive {
			return nil, errorf(CodeCustomerNotActive, "customer %s is %s", c.id, c.status)
		}
		inst = c.inst
	} else if !inScope(r.Scope, inst) {
		return nil, fieldErr("institution_id", "institution %s is outside the caller's institutions", inst)
	}
	if r.Reference != "" {
		if o, err := s.replay(ctx, s.db.Read, inst, r); o != nil || err != nil {
			return o, err
		}
	}
	p, err := s.products.Get(ctx, inst, r.ProductID, 0)
	if err != nil {
		return nil, err
	}
	switch {
	case p.Status == ProductRetired:
		return nil, errorf(CodeProductRetired, "product %s is retired and opens no new accounts", p.ID)
	case r.CustomerID != "" && !p.Class.forCustomers():
		return nil, fieldErr("product_id", "a %s product opens the institution's own accounts, not a customer's", p.Class)
	case r.CustomerID == "" && p.Class.forCustomers():
		return nil, fieldErr("customer_id", "a %s product opens customer accounts: a customer is required", p.Class)
	}
	name := r.Name
	if name == "" {
		name = p.Name
	}
	now := s.now()
	link := CustomerAccount{InstitutionID: inst, CustomerID: r.CustomerID, ProductID: p.ID, ProductVersion: p.Version,
		Reference: r.Reference, Properties: map[string]string{}, OpenedAt: now, OpenedBy: r.OpenedBy}
	for k, v := range r.Properties {
		link.Properties[k] = v
	}
	meta := map[string]string{"product_id": p.ID, "product_version": strconv.Itoa(p.Version)}
	if r.CustomerID != "" {
		meta["customer_id"] = r.CustomerID
	}
	a, err := s.ledger.CreateAccount(ctx, ledger.NewAccount{InstitutionID: inst, Asset: p.Asset, Code: p.ChartCode,
		Name: name, NormalSide: p.NormalSide, Overdraft: p.Overdraft, OverdraftLimit: p.OverdraftLimit, Metadata: meta},
		func(ctx context.Context, tx *sql.Tx, _, a *ledger.Account) error {
			// The checks that decide, again under the transaction: the
			// customer may have been closed and the product changed since.
			if r.CustomerID != "" {
				c, err := loadCustomerRow(ctx, tx, s.db.Dialect, r.CustomerID, true)
				if err != nil {
					return err
				}
				if c == nil || c.status != CustomerActive {
					return errStale
				}
			}
			cur, err := latest(ctx, tx, s.db.Dialect, inst, p.ID, false)
			if err != nil {
				return err
			}
			if cur.Version != p.Version {
				return errStale
			}
			link.AccountID = a.ID
			if err := insertLink(ctx, tx, &link); err != nil {
				return err
			}
			return recordEvent(ctx, tx, tx, &Event{Type: EventAccountOpened, Subject: "account:" + a.ID,
				InstitutionID: inst, CreatedAt: now, Payload: map[string]any{"account": link, "asset": a.Asset,
					"chart_code": a.Code, "normal_side": a.NormalSide, "name": a.Name}}, writes)
		})
	if errors.Is(err, errReferenceTaken) {
		o, err := s.replay(ctx, s.db.Read, inst, r)
		if err == nil && o == nil {
			err = errStale
		}
		return o, err
	}
	if err != nil {
		return nil, err
	}
	return &Opened{CustomerAccount: link, Account: a, Product: p}, nil
}

// replay returns the account r's reference opened, or nil when it opened
// none.
func (s *Lifecycle) replay(ctx context.Context, q queryer, inst string, r OpenRequest) (*Opened, error) {
	links, err := scanLinks(q.QueryContext(ctx, `SELECT `+linkCols+` FROM customer_accounts
		WHERE institution_id = $1 AND reference = $2`, inst, r.Reference))
	if err != nil || len(links) == 0 {
		return nil, err
	}
	link := links[0]
	if link.ProductID != r.ProductID || link.CustomerID != r.CustomerID {
		return nil, errorAt(CodeConflict, "reference", "reference %s opened an account of another product or customer", r.Reference)
	}
	a, err := s.ledger.GetAccount(ctx, link.AccountID)
	if err != nil {
		return nil, err
	}
	p, err := s.products.Get(ctx, inst, link.ProductID, link.ProductVersion)
	if err != nil {
		return nil, err
	}
	return &Opened{CustomerAccount: *link, Account: a, Product: p, Replayed: true}, nil
}

func insertLink(ctx context.Context, tx *sql.Tx, l *CustomerAccount) error {
	props, err := json.Marshal(l.Properties)
	if err != nil {
		return fmt.Errorf("encode account properties: %w", err)
	}
	var customer, ref any
	if l.CustomerID != "" {
		customer = l.CustomerID
	}
	if l.Reference != "" {
		ref = l.Reference
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO customer_accounts (account_id, institution_id, customer_id, product_id,
		product_version, reference, properties, opened_at, opened_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		l.AccountID, l.InstitutionID, customer, l.ProductID, l.ProductVersion, ref, string(props), l.OpenedAt.UnixMicro(), l.OpenedBy)
	if _, dup := store.UniqueViolation(err); dup && l.Reference != "" {
		return errReferenceTaken
	}
	if err != nil {
		return fmt.Errorf("link account %s: %w", l.AccountID, err)
	}
	return nil
}

// AutoOpened is the outcome of one auto-open rule for a customer.
type AutoOpened struct {
	ProductID string
	Opened    *Opened // nil when Err is set
	Err       error
}

// AutoOpenReference is the reference an automatic open uses, so that
// running the rules again for a customer opens nothing twice.
func AutoOpenReference(customerID, productID string) string {
	return "auto:" + customerID + ":" + productID
}

// OpenForCustomer opens an account on every active product of the
// customer's institution whose auto-open rules name the customer's type,
// each with the reference AutoOpenReference (so it is idempotent: run
// again, it returns the accounts it opened). Each product's open is its
// own storage transaction; one failing does not stop the others, and its
// error is reported in its AutoOpened. The error is for the product list
// only. Permission: accounts:write (implied where customers are created).
func (s *Lifecycle) OpenForCustomer(ctx context.Context, c *Customer, by string, writes ...ChangeWrite) ([]AutoOpened, error) {
	var out []AutoOpened
	after := ""
	for {
		ps, next, err := s.products.List(ctx, ProductFilter{InstitutionIDs: []string{c.InstitutionID},
			Status: ProductActive, After: after, Limit: 1000})
		if err != nil {
			return out, err
		}
		for _, p := range ps {
			if !autoOpens(p, c.Type) {
				continue
			}
			o, err := s.Open(ctx, OpenRequest{InstitutionID: c.InstitutionID, CustomerID: c.ID, ProductID: p.ID,
				Reference: AutoOpenReference(c.ID, p.ID), OpenedBy: by}, writes...)
			out = append(out, AutoOpened{ProductID: p.ID, Opened: o, Err: err})
		}
		if next == "" {
			return out, nil
		}
		after = next
	}
}

func autoOpens(p *Product, t CustomerType) bool {
	for _, a := range p.AutoOpen {
		if a.CustomerType == string(t) {
			return true
		}
	}
	return false
}

// CustomerAccounts returns the accounts of a customer in scope (nil: any),
// by account ID, a page at a time (limit default 100, at most 1000); next
// is the cursor for the following page. Permission: ledger:read. Returns
// CodeCustomerNotFound.
func (s *Lifecycle) CustomerAccounts(ctx context.Context, customerID string, scope []string, after string, limit int) (
	links []*CustomerAccount, next string, err error) {
	if len(customerID) > 64 || !store.Storable(customerID) {
		return nil, "", notFound(customerID)
	}
	c, err := loadCustomerRow(ctx, s.db.Read, s.db.Dialect, customerID, false)
	if err != nil {
		return nil, "", err
	}
	if c == nil || !inScope(scope, c.inst) {
		return nil, "", notFound(customerID)
	}
	if limit <= 0 {
		limit = defaultPage
	}
	limit = min(limit, maxPage)
	links, err = scanLinks(s.db.Read.QueryContext(ctx, `SELECT `+linkCols+` FROM customer_accounts
		WHERE customer_id = $1 AND account_id > $2 ORDER BY account_id`+fmt.Sprintf(" LIMIT %d", limit+1), customerID, after))
	if err != nil {
		return nil, "", err
	}
	if len(links) > limit {
		links = links[:limit]
		next = links[limit-1].AccountID
	}
	return links, next, nil
}

// UpdateProperties replaces an account's properties, with an
// account.properties_changed event and the writes. Permission:
// accounts:write. Returns CodeInvalidRequest, CodeAccountNotFound (no
// account opened on a product, or out of scope) or CodeInvalidStatusChange
// (the account is closed).
func (s *Lifecycle) UpdateProperties(ctx context.Context, accountID string, props map[string]string, by string,
	scope []string, writes ...ChangeWrite) (*CustomerAccount, error) {
	if err := checkProperties(props); err != nil {
		return nil, err
	}
	var out *CustomerAccount
	err := s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		links, err := scanLinks(tx.QueryContext(ctx, `SELECT `+linkCols+` FROM customer_accounts WHERE account_id = $1`+
			s.db.Dialect.ForUpdate(), accountID))
		if err != nil {
			return err
		}
		if len(links) == 0 || !inScope(scope, links[0].InstitutionID) {
			return accountNotFound(accountID)
		}
		l := links[0]
		if l.ClosedAt != nil {
			return errorf(CodeInvalidStatusChange, "account %s is closed", accountID)
		}
		before := maps(l.Properties)
		l.Properties = maps(props)
		b, err := json.Marshal(l.Properties)
		if err != nil {
			return fmt.Errorf("encode account properties: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE customer_accounts SET properties = $1 WHERE account_id = $2`,
			string(b), accountID); err != nil {
			return fmt.Errorf("update account properties: %w", err)
		}
		out = l
		return recordEvent(ctx, tx, tx, &Event{Type: EventAccountPropertiesChanged, Subject: "account:" + accountID,
			InstitutionID: l.InstitutionID, CreatedAt: s.now(), Payload: map[string]any{"account_id": accountID,
				"before": before, "after": l.Properties, "by": by}}, writes)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func accountNotFound(id string) *Error {
	if len(id) > 64 || !store.Storable(id) {
		return errorf(CodeAccountNotFound, "account not found")
	}
	return errorf(CodeAccountNotFound, "account %s not found", id)
}

const linkCols = `account_id, institution_id, customer_id, product_id, product_version, reference, properties,
	opened_at, opened_by, closed_at, closed_by`

func scanLinks(rows *sql.Rows, err error) ([]*CustomerAccount, error) {
	if err != nil {
		return nil, fmt.Errorf("read customer accounts: %w", err)
	}
	defer rows.Close()
	var out []*CustomerAccount
	for rows.Next() {
		var l CustomerAccount
		var customer, ref sql.NullString
		var props string
		var opened int64
		var closed sql.NullInt64
		if err := rows.Scan(&l.AccountID, &l.InstitutionID, &customer, &l.ProductID, &l.ProductVersion, &ref, &props,
			&opened, &l.OpenedBy, &closed, &l.ClosedBy); err != nil {
			return nil, fmt.Errorf("scan customer account: %w", err)
		}
		l.CustomerID, l.Reference, l.OpenedAt = customer.String, ref.String, time.UnixMicro(opened).UTC()
		if closed.Valid {
			t := time.UnixMicro(closed.Int64).UTC()
			l.ClosedAt = &t
		}
		if err := json.Unmarshal([]byte(props), &l.Properties); err != nil {
			return nil, fmt.Errorf("account %s properties: %w", l.AccountID, err)
		}
		out = append(out, &l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read customer accounts: %w", err)
	}
	return out, nil
}

// customerRow is what opening an account needs of a customer: nothing
// encrypted.
type customerRow struct {
	id, inst string
	typ      CustomerType
	status   CustomerStatus
}

func loadCustomerRow(ctx context.Context, q queryer, d store.Dialect, id string, lock bool) (*customerRow, error) {
	suffix := ""
	if lock {
		suffix = d.ForUpdate()
	}
	rows, err := q.QueryContext(ctx, `SELECT id, institution_id, type, status FROM customers WHERE id = $1`+suffix, id)
	if err != nil {
		return nil, fmt.Errorf("load customer: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	var c customerRow
	var typ, status string
	if err := rows.Scan(&c.id, &c.inst, &typ, &status); err != nil {
		return nil, fmt.Errorf("load customer: %w", err)
	}
	c.typ, c.status = CustomerType(typ), CustomerStatus(status)
	return &c, rows.Close()
}

// newID returns a time-ordered ID.
func newID() string { return uuid.Must(uuid.NewV7()).String() }
