package accounts

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

// Class is what kind of account a product opens.
type Class string

// The account classes.
const (
	ClassWallet             Class = "wallet"              // a customer's stored-value (deposit) account
	ClassMerchantSettlement Class = "merchant_settlement" // what a merchant is owed until settled out
	ClassEscrow             Class = "escrow"              // funds held under supervision (prepaid escrow)
	ClassPoints             Class = "points"              // a virtual asset: points, coupons
	ClassCredit             Class = "credit"              // a loan or credit line
	ClassShadow             Class = "shadow"              // mirror of an account held at an outside bank
	ClassClearing           Class = "clearing"            // between institutions or with a channel
	ClassInternal           Class = "internal"            // fee income, suspense, interest
)

// Valid reports whether c is one of the classes.
func (c Class) Valid() bool {
	switch c {
	case ClassWallet, ClassMerchantSettlement, ClassEscrow, ClassPoints, ClassCredit, ClassShadow, ClassClearing, ClassInternal:
		return true
	}
	return false
}

// ProductStatus says whether new accounts may be opened on a product.
type ProductStatus string

// The product statuses. A retired product opens no new accounts; accounts
// opened on it keep their version and go on working.
const (
	ProductActive  ProductStatus = "active"
	ProductRetired ProductStatus = "retired"
)

// The operation types a product can allow, limit and price.
const (
	OpTopup         = "topup"
	OpWithdraw      = "withdraw"
	OpPayment       = "payment"
	OpTransfer      = "transfer"
	OpRefund        = "refund"
	OpCrossTransfer = "cross_transfer"
	OpFreeze        = "freeze"
	OpAdjust        = "adjust"
	OpSplit         = "split"
	OpRedEnvelope   = "red_envelope"
	OpPointsGrant   = "points_grant"
	OpPointsRedeem  = "points_redeem"
	OpPointsExpire  = "points_expire"
	OpRoundDeposit  = "round_deposit"
	OpRoundWithdraw = "round_withdraw"
)

// OperationTypes lists the operation types, in the order of the spec.
func OperationTypes() []string {
	return []string{OpTopup, OpWithdraw, OpPayment, OpTransfer, OpRefund, OpCrossTransfer, OpFreeze, OpAdjust,
		OpSplit, OpRedEnvelope, OpPointsGrant, OpPointsRedeem, OpPointsExpire, OpRoundDeposit, OpRoundWithdraw}
}

// validOperation reports whether op is one of OperationTypes.
func validOperation(op string) bool { return slices.Contains(OperationTypes(), op) }

// Bounds on a product's configuration, so that one product can never grow
// without limit (every rule list is read on every priced operation).
const (
	MaxProductLimits   = 64
	MaxProductFees     = 64
	MaxProductChannels = 32
	MaxFeeTiers        = 32
	MaxAutoOpen        = 16
	MaxTermDays        = 36600 // a hundred years
	// MaxProductVersions bounds a product's history; a product changed more
	// often than this is a new product.
	MaxProductVersions = 1000
)

// Term is a fixed-term product's duration: a number of days from opening,
// or a fixed maturity date (YYYY-MM-DD) shared by every account. Exactly one
// is set.
type Term struct {
	Days     int    `json:"days,omitempty"`
	Maturity string `json:"maturity,omitempty"`
}

// AutoOpen is a rule that opens an account on the product automatically:
// when a customer of CustomerType is created (e.g. "merchant"), or when the
// business Scenario starts. Exactly one is set.
type AutoOpen struct {
	CustomerType string `json:"customer_type,omitempty"`
	Scenario     string `json:"scenario,omitempty"`
}

// Product is one version of an account product: the configuration an
// account is opened on and keeps for its life. A product is identified by
// its ID (a code such as "wallet-cny", unique within its institution) and
// Version; a change never alters a version, it adds the next one.
type Product struct {
	ID            string `json:"id"`
	InstitutionID string `json:"institution_id"`
	Version       int    `json:"version"`
	Name          string `json:"name"`
	Class         Class  `json:"class"`
	// Asset and Class never change between versions: a product in another
	// asset or of another class is another product.
	Asset      string           `json:"asset"`
	ChartCode  string           `json:"chart_code"`
	NormalSide ledger.Side      `json:"normal_side"`
	Overdraft  ledger.Overdraft `json:"overdraft"`
	// OverdraftLimit is how far below zero the available balance may go, in
	// minor units; only with Overdraft "limit".
	OverdraftLimit int64   `json:"overdraft_limit"`
	Limits         []Limit `json:"limits"`
	// Channels are the channels operations may come through; empty: all.
	Channels []string `json:"channels"`
	// Operations are the operation types allowed; empty: all.
	Operations []string      `json:"operations"`
	Fees       []FeeRule     `json:"fees"`
	Term       *Term         `json:"term,omitempty"`
	AutoOpen   []AutoOpen    `json:"auto_open"`
	Status     ProductStatus `json:"status"`
	CreatedAt  time.Time     `json:"created_at"`
	// CreatedBy is who wrote this version (an API key ID).
	CreatedBy string `json:"created_by"`
}

var (
	productIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	tokenPattern     = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	chartPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$`)
)

// Validate checks a product's configuration and fills defaults (overdraft
// none, empty lists). Errors are CodeInvalidRequest naming the field, as a
// path like "fees[0].tiers[1].up_to". It does not check that the asset
// exists; the service does.
func (p *Product) Validate() error {
	if !productIDPattern.MatchString(p.ID) {
		return errorAt(CodeInvalidRequest, "id", "product id must be 1-64 lowercase letters, digits, '.', '-' or '_', starting with a letter or digit")
	}
	if p.InstitutionID == "" || len(p.InstitutionID) > 64 || !store.Storable(p.InstitutionID) {
		return errorAt(CodeInvalidRequest, "institution_id", "institution_id is required: at most 64 bytes")
	}
	if p.Name == "" || len(p.Name) > 200 || !store.Storable(p.Name) {
		return errorAt(CodeInvalidRequest, "name", "name is required: text of at most 200 bytes")
	}
	if !p.Class.Valid() {
		return errorAt(CodeInvalidRequest, "class", "class must be wallet, merchant_settlement, escrow, points, credit, shadow, clearing or internal")
	}
	if _, err := money.NewAsset(p.Asset, 0); err != nil {
		return errorAt(CodeInvalidRequest, "asset", "asset must be an asset code such as CNY")
	}
	if !chartPattern.MatchString(p.ChartCode) {
		return errorAt(CodeInvalidRequest, "chart_code", "chart_code is required: 1-32 letters, digits, '.', '-' or '_'")
	}
	if p.NormalSide != ledger.Debit && p.NormalSide != ledger.Credit {
		return errorAt(CodeInvalidRequest, "normal_side", "normal_side must be debit or credit")
	}
	switch p.Overdraft {
	case "":
		p.Overdraft = ledger.OverdraftNone
	case ledger.OverdraftNone, ledger.OverdraftLimit, ledger.OverdraftUnlimited:
	default:
		return errorAt(CodeInvalidRequest, "overdraft", "overdraft must be none, limit or unlimited")
	}
	if p.OverdraftLimit < 0 || (p.OverdraftLimit != 0 && p.Overdraft != ledger.OverdraftLimit) {
		return errorAt(CodeInvalidRequest, "overdraft_limit", "overdraft_limit must be zero or positive, and only with overdraft \"limit\"")
	}
	if err := p.validateControls(); err != nil {
		return err
	}
	if len(p.Limits) > MaxProductLimits {
		return errorAt(CodeInvalidRequest, "limits", "at most %d limits", MaxProductLimits)
	}
	for i := range p.Limits {
		if err := p.Limits[i].validate(fmt.Sprintf("limits[%d]", i)); err != nil {
			return err
		}
		if err := p.covers(p.Limits[i].Operation, p.Limits[i].Channel, fmt.Sprintf("limits[%d]", i)); err != nil {
			return err
		}
		for j := range i {
			if p.Limits[j].Operation == p.Limits[i].Operation && p.Limits[j].Channel == p.Limits[i].Channel {
				return errorAt(CodeInvalidRequest, fmt.Sprintf("limits[%d]", i), "limits[%d] has the same operation and channel", j)
			}
		}
	}
	if len(p.Fees) > MaxProductFees {
		return errorAt(CodeInvalidRequest, "fees", "at most %d fee rules", MaxProductFees)
	}
	for i := range p.Fees {
		if err := p.Fees[i].validate(fmt.Sprintf("fees[%d]", i)); err != nil {
			return err
		}
		if err := p.covers(p.Fees[i].Operation, p.Fees[i].Channel, fmt.Sprintf("fees[%d]", i)); err != nil {
			return err
		}
		for j := range i {
			if p.Fees[j].Operation == p.Fees[i].Operation && p.Fees[j].Channel == p.Fees[i].Channel {
				return errorAt(CodeInvalidRequest, fmt.Sprintf("fees[%d]", i), "fees[%d] has the same operation and channel", j)
			}
		}
	}
	if p.Term != nil {
		if err := p.Term.validate(); err != nil {
			return err
		}
	}
	if len(p.AutoOpen) > MaxAutoOpen {
		return errorAt(CodeInvalidRequest, "auto_open", "at most %d auto-open rules", MaxAutoOpen)
	}
	for i, a := range p.AutoOpen {
		field := fmt.Sprintf("auto_open[%d]", i)
		switch {
		case (a.CustomerType == "") == (a.Scenario == ""):
			return errorAt(CodeInvalidRequest, field, "give a customer_type or a scenario, not both")
		case a.CustomerType != "" && !tokenPattern.MatchString(a.CustomerType):
			return errorAt(CodeInvalidRequest, field+".customer_type", "customer_type must be 1-32 lowercase letters, digits or '_'")
		case a.Scenario != "" && !tokenPattern.MatchString(a.Scenario):
			return errorAt(CodeInvalidRequest, field+".scenario", "scenario must be 1-32 lowercase letters, digits or '_'")
		}
		if slices.Contains(p.AutoOpen[:i], a) {
			return errorAt(CodeInvalidRequest, field, "a repeated auto-open rule")
		}
	}
	p.normalize()
	return nil
}

// validateControls checks the allowed channels and operations.
func (p *Product) validateControls() error {
	if len(p.Channels) > MaxProductChannels {
		return errorAt(CodeInvalidRequest, "channels", "at most %d channels", MaxProductChannels)
	}
	for i, c := range p.Channels {
		field := fmt.Sprintf("channels[%d]", i)
		if !tokenPattern.MatchString(c) {
			return errorAt(CodeInvalidRequest, field, "a channel is 1-32 lowercase letters, digits or '_', e.g. bank or wechat")
		}
		if slices.Contains(p.Channels[:i], c) {
			return errorAt(CodeInvalidRequest, field, "channel %s is repeated", c)
		}
	}
	for i, op := range p.Operations {
		field := fmt.Sprintf("operations[%d]", i)
		if !validOperation(op) {
			return errorAt(CodeInvalidRequest, field, "unknown operation type %q", op)
		}
		if slices.Contains(p.Operations[:i], op) {
			return errorAt(CodeInvalidRequest, field, "operation %s is repeated", op)
		}
	}
	return nil
}

// covers checks that a rule for op and channel ("" any) can ever apply:
// a rule for an operation or channel the product refuses is a mistake.
func (p *Product) covers(op, channel, field string) error {
	if len(p.Operations) > 0 && !slices.Contains(p.Operations, op) {
		return errorAt(CodeInvalidRequest, field+".operation", "operation %s is not among the product's operations", op)
	}
	if channel != "" && len(p.Channels) > 0 && !slices.Contains(p.Channels, channel) {
		return errorAt(CodeInvalidRequest, field+".channel", "channel %s is not among the product's channels", channel)
	}
	return nil
}

func (t *Term) validate() error {
	switch {
	case (t.Days == 0) == (t.Maturity == ""):
		return errorAt(CodeInvalidRequest, "term", "a term has days or a maturity date, not both")
	case t.Days < 0 || t.Days > MaxTermDays:
		return errorAt(CodeInvalidRequest, "term.days", "term days must be 1 to %d", MaxTermDays)
	case t.Maturity != "":
		if _, err := time.Parse(time.DateOnly, t.Maturity); err != nil {
			return errorAt(CodeInvalidRequest, "term.maturity", "maturity must be a date YYYY-MM-DD")
		}
	}
	return nil
}

// normalize makes absent lists empty, so that a product reads back exactly
// as it was written.
func (p *Product) normalize() {
	for _, l := range []*[]string{&p.Channels, &p.Operations} {
		if *l == nil {
			*l = []string{}
		}
	}
	if p.Limits == nil {
		p.Limits = []Limit{}
	}
	if p.Fees == nil {
		p.Fees = []FeeRule{}
	}
	for i := range p.Fees {
		if p.Fees[i].Tiers == nil {
			p.Fees[i].Tiers = []Tier{}
		}
	}
	if p.AutoOpen == nil {
		p.AutoOpen = []AutoOpen{}
	}
}

// rules is what a version stores in its body column: everything but the
// identity and the queryable columns.
type rules struct {
	Name           string           `json:"name"`
	ChartCode      string           `json:"chart_code"`
	NormalSide     ledger.Side      `json:"normal_side"`
	Overdraft      ledger.Overdraft `json:"overdraft"`
	OverdraftLimit int64            `json:"overdraft_limit"`
	Limits         []Limit          `json:"limits"`
	Channels       []string         `json:"channels"`
	Operations     []string         `json:"operations"`
	Fees           []FeeRule        `json:"fees"`
	Term           *Term            `json:"term,omitempty"`
	AutoOpen       []AutoOpen       `json:"auto_open"`
}

func (p *Product) body() ([]byte, error) {
	b, err := json.Marshal(rules{Name: p.Name, ChartCode: p.ChartCode, NormalSide: p.NormalSide, Overdraft: p.Overdraft,
		OverdraftLimit: p.OverdraftLimit, Limits: p.Limits, Channels: p.Channels, Operations: p.Operations,
		Fees: p.Fees, Term: p.Term, AutoOpen: p.AutoOpen})
	if err != nil {
		return nil, fmt.Errorf("encode product %s: %w", p.ID, err)
	}
	return b, nil
}

// ProductWrite is extra work committed in the same storage transaction as a
// product change (an audit record, an outbox event). before is the version
// the change started from (nil for a new product), after the version written.
type ProductWrite func(ctx context.Context, tx *sql.Tx, before, after *Product) error

// ProductService stores products and their versions.
type ProductService struct {
	db    *store.DB
	clock clock.Clock

	// versions caches product versions by (institution, id, version):
	// a version never changes once written, so the cache needs no
	// invalidation. Operations read the version an account was opened on
	// for every request.
	mu       sync.Mutex
	versions map[productKey]*Product
}

type productKey struct {
	inst, id string
	version  int
}

// maxCachedProductVersions bounds the cache; past it, it starts over.
const maxCachedProductVersions = 4096

// NewProductService returns a service on db that takes the time from c.
func NewProductService(db *store.DB, c clock.Clock) *ProductService {
	return &ProductService{db: db, clock: c}
}

// retryUnique reruns a transaction whose insert lost a race with a
// concurrent writer of the same product: the rerun sees the winner's row.
var retryUnique = store.TxOptions{RetryIf: func(err error) bool { _, ok := store.UniqueViolation(err); return ok }}

// Create stores version 1 of a new product, active. p.InstitutionID and
// p.CreatedBy say whose it is and who asks; Version, Status and CreatedAt
// are set here. The caller authorizes (products:write on the institution).
// Returns CodeInvalidRequest (also for an unknown asset) or CodeConflict
// (the ID exists in the institution).
func (s *ProductService) Create(ctx context.Context, p Product, writes ...ProductWrite) (*Product, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p.Version, p.Status = 1, ProductActive
	p.CreatedAt = s.now()
	err := s.db.InTx(ctx, retryUnique, func(tx *sql.Tx) error {
		if err := assetExists(ctx, tx, p.Asset); err != nil {
			return err
		}
		if _, err := latest(ctx, tx, s.db.Dialect, p.InstitutionID, p.ID, false); err == nil {
			return errorAt(CodeConflict, "id", "product %s exists; change it with an update", p.ID)
		} else if !isNotFound(err) {
			return err
		}
		return s.insert(ctx, tx, nil, &p, writes)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// Update stores p as the next version of its product and returns it; the
// versions before stay exactly as they were, and accounts opened on them
// keep them. Class and asset cannot change. An update that changes nothing
// returns the latest version and runs no writes, so a retried update does
// not add versions. Returns CodeInvalidRequest, CodeProductNotFound or
// CodeConflict (the product is retired, or has MaxProductVersions versions).
func (s *ProductService) Update(ctx context.Context, p Product, writes ...ProductWrite) (*Product, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var out *Product
	err := s.db.InTx(ctx, retryUnique, func(tx *sql.Tx) error {
		prev, err := latest(ctx, tx, s.db.Dialect, p.InstitutionID, p.ID, true)
		if err != nil {
			return err
		}
		switch {
		case prev.Status == ProductRetired:
			return errorAt(CodeConflict, "", "product %s is retired", p.ID)
		case p.Class != prev.Class:
			return errorAt(CodeInvalidRequest, "class", "a product's class cannot change (it is %s): create another product", prev.Class)
		case p.Asset != prev.Asset:
			return errorAt(CodeInvalidRequest, "asset", "a product's asset cannot change (it is %s): create another product", prev.Asset)
		case prev.Version >= MaxProductVersions:
			return errorAt(CodeConflict, "", "product %s has %d versions, the most one may have", p.ID, MaxProductVersions)
		}
		a, err := prev.body()
		if err != nil {
			return err
		}
		b, err := p.body()
		if err != nil {
			return err
		}
		if bytes.Equal(a, b) {
			out = prev
			return nil
		}
		next := p
		next.Version, next.Status, next.CreatedAt = prev.Version+1, ProductActive, s.now()
		out = &next
		return s.insert(ctx, tx, prev, out, writes)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Retire stops new accounts being opened on a product by adding a version
// with status retired (and the same rules); by is who asks. Retiring a
// retired product returns it and runs no writes. Returns
// CodeProductNotFound or CodeConflict.
func (s *ProductService) Retire(ctx context.Context, inst, id, by string, writes ...ProductWrite) (*Product, error) {
	var out *Product
	err := s.db.InTx(ctx, retryUnique, func(tx *sql.Tx) error {
		prev, err := latest(ctx, tx, s.db.Dialect, inst, id, true)
		if err != nil {
			return err
		}
		if prev.Status == ProductRetired {
			out = prev
			return nil
		}
		if prev.Version >= MaxProductVersions {
			return errorAt(CodeConflict, "", "product %s has %d versions, the most one may have", id, MaxProductVersions)
		}
		next := *prev
		next.Version, next.Status, next.CreatedAt, next.CreatedBy = prev.Version+1, ProductRetired, s.now(), by
		out = &next
		return s.insert(ctx, tx, prev, out, writes)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *ProductService) now() time.Time {
	return time.UnixMicro(s.clock.Now().UnixMicro()).UTC()
}

func (s *ProductService) insert(ctx context.Context, tx *sql.Tx, before, p *Product, writes []ProductWrite) error {
	if p.CreatedBy == "" || len(p.CreatedBy) > 64 || !store.Storable(p.CreatedBy) {
		return errorAt(CodeInvalidRequest, "created_by", "created_by is required: at most 64 bytes")
	}
	body, err := p.body()
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO products (institution_id, id, version, class, asset, status, body,
		created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		p.InstitutionID, p.ID, p.Version, string(p.Class), p.Asset, string(p.Status), string(body),
		p.CreatedAt.UnixMicro(), p.CreatedBy)
	if err != nil {
		return fmt.Errorf("insert product %s version %d: %w", p.ID, p.Version, err)
	}
	for _, w := range writes {
		if err := w(ctx, tx, before, p); err != nil {
			return err
		}
	}
	return nil
}

func assetExists(ctx context.Context, tx *sql.Tx, code string) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM assets WHERE code = $1`, code).Scan(&n)
	if err != nil {
		return fmt.Errorf("look up asset %s: %w", code, err)
	}
	if n == 0 {
		return errorAt(CodeInvalidRequest, "asset", "asset %s is not registered", code)
	}
	return nil
}

// Get returns a product of institution inst: version (1, 2, …) or, for 0,
// the latest. Returns CodeProductNotFound, also for a version that does not
// exist. A specific version comes from a cache (versions never change) and
// is shared: callers must not modify it.
func (s *ProductService) Get(ctx context.Context, inst, id string, version int) (*Product, error) {
	if version < 0 {
		return nil, errorAt(CodeInvalidRequest, "version", "version must be 1 or more, or 0 for the latest")
	}
	if version == 0 {
		return latest(ctx, s.db.Read, s.db.Dialect, inst, id, false)
	}
	key := productKey{inst, id, version}
	s.mu.Lock()
	p := s.versions[key]
	s.mu.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := scanProduct(s.db.Read.QueryRowContext(ctx, `SELECT `+productCols+` FROM products
		WHERE institution_id = $1 AND id = $2 AND version = $3`, inst, id, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorAt(CodeProductNotFound, "", "product %s version %d not found", id, version)
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.versions == nil || len(s.versions) >= maxCachedProductVersions {
		s.versions = map[productKey]*Product{}
	}
	s.versions[key] = p
	s.mu.Unlock()
	return p, nil
}

// Versions returns every version of a product, oldest first (at most
// MaxProductVersions). Returns CodeProductNotFound.
func (s *ProductService) Versions(ctx context.Context, inst, id string) ([]*Product, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+productCols+` FROM products
		WHERE institution_id = $1 AND id = $2 ORDER BY version`, inst, id)
	if err != nil {
		return nil, fmt.Errorf("product versions: %w", err)
	}
	ps, err := scanProducts(rows)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, errorAt(CodeProductNotFound, "", "product %s not found", id)
	}
	return ps, nil
}

// ProductFilter selects products for List.
type ProductFilter struct {
	InstitutionIDs []string // nil: all institutions
	Class          Class
	Status         ProductStatus // of the latest version
	After          string        // cursor: NextCursor of the previous page
	Limit          int           // default 100, at most 1000
}

// List returns the latest version of each product, ordered by institution
// and ID, a page at a time. next is the cursor for the following page, or ""
// after the last.
func (s *ProductService) List(ctx context.Context, f ProductFilter) (ps []*Product, next string, err error) {
	d := s.db.Dialect
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return d.Placeholder(len(args)) }
	if f.After != "" {
		inst, id, ok := strings.Cut(f.After, "/")
		if !ok {
			return nil, "", errorAt(CodeInvalidRequest, "after", "not a cursor this list returned")
		}
		where = append(where, "(p.institution_id, p.id) > ("+arg(inst)+", "+arg(id)+")")
	}
	if f.InstitutionIDs != nil {
		if len(f.InstitutionIDs) == 0 {
			return []*Product{}, "", nil
		}
		ph := make([]string, len(f.InstitutionIDs))
		for i, inst := range f.InstitutionIDs {
			ph[i] = arg(inst)
		}
		where = append(where, "p.institution_id IN ("+strings.Join(ph, ", ")+")")
	}
	if f.Class != "" {
		where = append(where, "p.class = "+arg(string(f.Class)))
	}
	if f.Status != "" {
		where = append(where, "p.status = "+arg(string(f.Status)))
	}
	where = append(where, `p.version = (SELECT MAX(q.version) FROM products q
		WHERE q.institution_id = p.institution_id AND q.id = p.id)`)
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+productColsP+` FROM products p WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(" ORDER BY p.institution_id, p.id LIMIT %d", limit+1), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list products: %w", err)
	}
	ps, err = scanProducts(rows)
	if err != nil {
		return nil, "", err
	}
	if len(ps) > limit {
		ps = ps[:limit]
		next = ps[limit-1].InstitutionID + "/" + ps[limit-1].ID
	}
	return ps, next, nil
}

const (
	productCols  = `institution_id, id, version, class, asset, status, body, created_at, created_by`
	productColsP = `p.institution_id, p.id, p.version, p.class, p.asset, p.status, p.body, p.created_at, p.created_by`
)

type rowQueryer interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// latest reads the newest version of a product, locking it on PostgreSQL
// when lock is set.
func latest(ctx context.Context, q rowQueryer, d store.Dialect, inst, id string, lock bool) (*Product, error) {
	suffix := ""
	if lock {
		suffix = d.ForUpdate()
	}
	p, err := scanProduct(q.QueryRowContext(ctx, `SELECT `+productCols+` FROM products
		WHERE institution_id = $1 AND id = $2 ORDER BY version DESC LIMIT 1`+suffix, inst, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorAt(CodeProductNotFound, "", "product %s not found", id)
	}
	return p, err
}

func isNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == CodeProductNotFound
}

func scanProduct(s scanner) (*Product, error) {
	var p Product
	var class, status, body string
	var created int64
	err := s.Scan(&p.InstitutionID, &p.ID, &p.Version, &class, &p.Asset, &status, &body, &created, &p.CreatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("scan product: %w", err)
	}
	var r rules
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return nil, fmt.Errorf("product %s version %d: decode body: %w", p.ID, p.Version, err)
	}
	p.Class, p.Status, p.CreatedAt = Class(class), ProductStatus(status), time.UnixMicro(created).UTC()
	p.Name, p.ChartCode, p.NormalSide, p.Overdraft, p.OverdraftLimit = r.Name, r.ChartCode, r.NormalSide, r.Overdraft, r.OverdraftLimit
	p.Limits, p.Channels, p.Operations, p.Fees, p.Term, p.AutoOpen = r.Limits, r.Channels, r.Operations, r.Fees, r.Term, r.AutoOpen
	p.normalize()
	return &p, nil
}

func scanProducts(rows *sql.Rows) ([]*Product, error) {
	defer rows.Close()
	out := []*Product{}
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read products: %w", err)
	}
	return out, nil
}
