// Package auth is Suanpan's identity and access: institutions (a tree that
// scopes data), API keys (random, shown once, stored only as a hash,
// revocable, bound to an institution and a role) and roles with named
// permissions. The transport authenticates a request into a Principal; every
// service decision asks the Principal.
//
// This package must never log or return a key's secret after creating it.
package auth

import (
	"context"
	"slices"
)

// Permission names one thing a caller may do.
type Permission string

// The permissions.
const (
	LedgerRead        Permission = "ledger:read"        // read assets, accounts, balances, transactions, holds, reports
	LedgerPost        Permission = "ledger:post"        // post transactions, holds, posts, voids, reversals
	AccountsWrite     Permission = "accounts:write"     // open accounts
	AccountsFreeze    Permission = "accounts:freeze"    // freeze, thaw and close accounts
	AssetsWrite       Permission = "assets:write"       // register assets
	InstitutionsWrite Permission = "institutions:write" // create institutions
	InstitutionsRead  Permission = "institutions:read"  // list institutions
	KeysWrite         Permission = "keys:write"         // create and revoke API keys
	AuditRead         Permission = "audit:read"         // read and verify the audit log
	LedgerVerify      Permission = "ledger:verify"      // run Verify
	CustomersRead     Permission = "customers:read"     // read customers, identity fields masked
	CustomersWrite    Permission = "customers:write"    // create customers, change their status and properties
	// CustomersPII reveals customers' identity fields in plain text (each
	// reveal is audited).
	CustomersPII  Permission = "customers:pii"
	ProductsRead  Permission = "products:read"  // read account products and quote their fees and limits
	ProductsWrite Permission = "products:write" // create, change and retire account products
	// AccountsJudicial is the judicial authority: it places and lifts
	// judicial freezes, which nothing else lifts. Only admin keys hold it;
	// an institution grants it by issuing an admin key to whoever acts for
	// the court orders it receives.
	AccountsJudicial Permission = "accounts:judicial"
	// AccountsInternal registers the institution's own accounts business
	// operations post to (channel clearing, fee income).
	AccountsInternal Permission = "accounts:internal"
	// AdjustmentsPropose proposes balance adjustments (maker–checker: they
	// post nothing until approved) and cancels one's own proposals.
	AdjustmentsPropose Permission = "adjustments:propose"
	// AdjustmentsApprove approves or rejects balance adjustments proposed
	// by another key. Only admin keys hold it; no key may decide its own.
	AdjustmentsApprove Permission = "adjustments:approve"
	// PaymentsRead reads payment channels (never their secrets), orders,
	// their transitions and bulk order files.
	PaymentsRead Permission = "payments:read"
	// PaymentsOrder creates pay-in, pay-out and refund orders and uploads
	// bulk order files.
	PaymentsOrder Permission = "payments:order"
	// PaymentsConfigure creates and changes payment channels, their
	// endpoints, secrets, limits and fees.
	PaymentsConfigure Permission = "payments:configure"
	// PaymentsSettle applies a definite answer to an order by hand, as an
	// operator establishes it from the channel's statement.
	PaymentsSettle Permission = "payments:settle"
	JobsRead       Permission = "jobs:read"      // read scheduled jobs and their last errors
	JobsManage     Permission = "jobs:manage"    // retry and cancel jobs
	WebhooksRead   Permission = "webhooks:read"  // read webhook subscriptions and their deliveries
	WebhooksWrite  Permission = "webhooks:write" // create, change, delete webhooks, rotate secrets, redeliver
	// ReconRead reads statements, reconciliation runs and discrepancies.
	ReconRead Permission = "recon:read"
	// ReconWrite sets how channels are reconciled, imports statements and
	// runs reconciliation.
	ReconWrite Permission = "recon:write"
	// ReconResolve decides open discrepancies (accept the channel's side or
	// Suanpan's) and proposes write-offs.
	ReconResolve Permission = "recon:resolve"
	// ReconApprove approves or rejects another person's write-off.
	ReconApprove Permission = "recon:approve"
	EODRead      Permission = "eod:read" // read end-of-day runs, their steps and reports
	// EODRun closes a business day; the caller's scope must hold every
	// institution, since a day closes for all of them.
	EODRun Permission = "eod:run"
)

// Role is a named set of permissions.
type Role string

// The built-in roles.
const (
	// RoleAdmin may do everything within its institution subtree.
	RoleAdmin Role = "admin"
	// RoleOperator runs the books: accounts, postings, freezes.
	RoleOperator Role = "operator"
	// RolePoster is a system that posts transactions and reads balances.
	RolePoster Role = "poster"
	// RoleViewer reads.
	RoleViewer Role = "viewer"
	// RoleAuditor reads, verifies and reads the audit log.
	RoleAuditor Role = "auditor"
)

var roles = map[Role][]Permission{
	RoleAdmin: {LedgerRead, LedgerPost, AccountsWrite, AccountsFreeze, AssetsWrite, InstitutionsWrite,
		InstitutionsRead, KeysWrite, AuditRead, LedgerVerify, CustomersRead, CustomersWrite, CustomersPII, ProductsRead, ProductsWrite, AccountsJudicial, AccountsInternal,
		AdjustmentsPropose, AdjustmentsApprove, PaymentsRead, PaymentsOrder, PaymentsConfigure, PaymentsSettle,
		JobsRead, JobsManage, WebhooksRead, WebhooksWrite, ReconRead, ReconWrite, ReconResolve, ReconApprove, EODRead, EODRun},
	RoleOperator: {LedgerRead, LedgerPost, AccountsWrite, AccountsFreeze, InstitutionsRead, CustomersRead, CustomersWrite, ProductsRead, ProductsWrite,
		AdjustmentsPropose, PaymentsRead, PaymentsOrder, PaymentsSettle, JobsRead, WebhooksRead, ReconRead, ReconWrite, ReconResolve, EODRead},
	RolePoster: {LedgerRead, LedgerPost, ProductsRead, PaymentsRead, PaymentsOrder},
	RoleViewer: {LedgerRead, InstitutionsRead, CustomersRead, ProductsRead, PaymentsRead, JobsRead, WebhooksRead, ReconRead, EODRead},
	RoleAuditor: {LedgerRead, InstitutionsRead, AuditRead, LedgerVerify, CustomersRead, ProductsRead, PaymentsRead, JobsRead, WebhooksRead,
		ReconRead, EODRead},
}

// Roles lists the built-in roles.
func Roles() []Role {
	out := make([]Role, 0, len(roles))
	for r := range roles {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// Valid reports whether r is a built-in role.
func (r Role) Valid() bool { _, ok := roles[r]; return ok }

// Permissions returns the role's permissions.
func (r Role) Permissions() []Permission { return slices.Clone(roles[r]) }

// Has reports whether the role grants p.
func (r Role) Has(p Permission) bool { return slices.Contains(roles[r], p) }

// Principal is an authenticated caller.
type Principal struct {
	KeyID         string
	InstitutionID string
	Role          Role
	// Scope is the caller's institution and every institution below it:
	// the institutions whose data it may see and change.
	Scope []string
	// Root is set for keys of the root institution, whose scope is the
	// whole store: only they may change or inspect what all institutions
	// share (assets, store-wide verification).
	Root bool
}

// Can reports whether the principal has permission p.
func (p *Principal) Can(perm Permission) bool { return p != nil && p.Role.Has(perm) }

// InScope reports whether institution inst is in the principal's subtree.
func (p *Principal) InScope(inst string) bool { return p != nil && slices.Contains(p.Scope, inst) }

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the context's principal, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
