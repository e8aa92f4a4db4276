package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/store"
)

// Limits on webhook subscriptions.
const (
	MaxWebhooks       = 50   // per institution
	MaxEventTypes     = 50   // entries in one webhook's filter
	maxURLLen         = 2000 // bytes
	maxDescriptionLen = 500  // bytes
)

// Page sizes of the lists.
const (
	defaultPage = 100
	maxPage     = 1000
)

// Webhook is a subscription: events of its institution and of every
// institution below it, of the types its filter selects, are POSTed to URL.
// The secret that signs them is never part of it.
type Webhook struct {
	ID            string `json:"id"`
	InstitutionID string `json:"institution_id"`
	URL           string `json:"url"`
	// EventTypes selects events by exact type ("account.frozen") or by
	// prefix ("account.*" selects every type starting "account."). Empty
	// selects every event.
	EventTypes  []string  `json:"event_types"`
	Active      bool      `json:"active"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// matches reports whether a webhook's filter selects events of type typ.
func matches(filter []string, typ string) bool {
	if len(filter) == 0 {
		return true
	}
	for _, f := range filter {
		if prefix, ok := strings.CutSuffix(f, "*"); ok {
			if strings.HasPrefix(typ, prefix) {
				return true
			}
		} else if f == typ {
			return true
		}
	}
	return false
}

// NewWebhook is what Create needs.
type NewWebhook struct {
	InstitutionID string
	URL           string   // absolute http or https URL, without credentials or fragment
	EventTypes    []string // see Webhook.EventTypes
	Description   string
	// Secret is "whsec_" followed by the base64 of a 24 to 64 byte key;
	// empty generates one.
	Secret string
}

// WebhookUpdate changes a webhook: nil fields stay as they are.
type WebhookUpdate struct {
	URL         *string
	EventTypes  *[]string
	Active      *bool
	Description *string
}

// Webhooks stores webhook subscriptions and their deliveries, and delivers
// them (see Register).
type Webhooks struct {
	db      *store.DB
	clock   clock.Clock
	client  *http.Client
	secrets store.Sealer
	policy  addressPolicy
}

// secretField names the webhook secret for its Sealer.
const secretField = "webhooks.secret"

// seal returns the secret as stored: encrypted when there is a Sealer.
func (s *Webhooks) seal(id, secret string) (string, error) {
	if s.secrets == nil {
		return secret, nil
	}
	return s.secrets.Encrypt(secretField, id, secret)
}

// ResealSecrets re-encrypts every webhook's secret under sealer's current
// key (`suanpan rotate-keys`) and returns how many it did.
func ResealSecrets(ctx context.Context, db *store.DB, sealer store.Sealer) (int, error) {
	return store.Reseal(ctx, db, sealer, "webhooks", "secret", secretField)
}

// open returns a stored secret in the clear.
func (s *Webhooks) open(id, stored string) (string, error) {
	if s.secrets == nil {
		return stored, nil
	}
	return s.secrets.Decrypt(secretField, id, stored)
}

// WebhookOptions tune Webhooks.
type WebhookOptions struct {
	// Timeout bounds one delivery attempt, from connecting to reading the
	// response; default 15 s.
	Timeout time.Duration
	// AllowPrefixes are address ranges deliveries may connect to although
	// they are loopback, private, link-local or otherwise not public (see
	// refusedPrefixes): receivers on the operator's own network. Without
	// them deliveries reach public addresses only.
	AllowPrefixes []netip.Prefix
	// Secrets, when set, encrypts the webhooks' signing secrets at rest;
	// without it they are stored as they are. Use one or the other for the
	// life of a store.
	Secrets store.Sealer
}

// maxRedirects bounds the redirects a delivery follows (to its own host).
const maxRedirects = 3

// NewWebhooks returns the webhook service on a migrated store.
func NewWebhooks(db *store.DB, clk clock.Clock, opts WebhookOptions) *Webhooks {
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	policy := newAddressPolicy(opts.AllowPrefixes)
	client := &http.Client{
		// The transport's dialer checks every address connected to, on
		// the first request and on each redirect alike.
		Transport: policy.transport(),
		Timeout:   opts.Timeout,
		// A redirect to another host (or scheme or port) is refused: it
		// would hand the signed event to someone the subscriber did not
		// name. The 3xx then counts as a failed attempt.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects || req.URL.Scheme != via[0].URL.Scheme || req.URL.Host != via[0].URL.Host {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	return &Webhooks{db: db, clock: clk, client: client, secrets: opts.Secrets, policy: policy}
}

func inScope(scope []string, inst string) bool {
	return scope == nil || slices.Contains(scope, inst)
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Create stores a new active webhook of an institution in scope (nil: any)
// and returns it with its secret, which is shown this once. Permission:
// webhooks:write. Returns CodeInvalidRequest for a malformed field or an
// institution out of scope, CodeTooManyWebhooks past MaxWebhooks.
func (s *Webhooks) Create(ctx context.Context, scope []string, in NewWebhook, writes ...TxWrite) (*Webhook, string, error) {
	if in.InstitutionID == "" || !inScope(scope, in.InstitutionID) || !store.Storable(in.InstitutionID) {
		return nil, "", fieldErr("institution_id", "no such institution in your scope")
	}
	u, err := s.checkURL(in.URL)
	if err != nil {
		return nil, "", err
	}
	types, err := checkEventTypes(in.EventTypes)
	if err != nil {
		return nil, "", err
	}
	if err := checkDescription(in.Description); err != nil {
		return nil, "", err
	}
	secret := in.Secret
	if secret == "" {
		secret = NewSecret()
	} else if _, err := secretKey(secret); err != nil {
		return nil, "", fieldErr("secret", "%v", err)
	}
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	w := &Webhook{ID: newID(), InstitutionID: in.InstitutionID, URL: u, EventTypes: types, Active: true,
		Description: in.Description, CreatedAt: now, UpdatedAt: now}
	filter, _ := json.Marshal(types) // a []string always encodes
	err = s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		var exists, n int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM institutions WHERE id = $1),
			(SELECT COUNT(*) FROM webhooks WHERE institution_id = $1)`, w.InstitutionID).Scan(&exists, &n); err != nil {
			return fmt.Errorf("create webhook: %w", err)
		}
		if exists == 0 {
			return fieldErr("institution_id", "no such institution in your scope")
		}
		if n >= MaxWebhooks {
			return errorf(CodeTooManyWebhooks, "institution %s already has %d webhooks", w.InstitutionID, MaxWebhooks)
		}
		stored, err := s.seal(w.ID, secret)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhooks (id, institution_id, url, secret, event_types, active,
			description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7)`,
			w.ID, w.InstitutionID, w.URL, stored, string(filter), w.Description, now.UnixMicro()); err != nil {
			return fmt.Errorf("create webhook: %w", err)
		}
		return runWrites(ctx, tx, writes)
	})
	if err != nil {
		return nil, "", err
	}
	return w, secret, nil
}

func runWrites(ctx context.Context, tx *sql.Tx, writes []TxWrite) error {
	for _, w := range writes {
		if err := w(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}

// checkURL returns the webhook URL in canonical form, or why it is refused:
// besides its form, its host when that is an address deliveries would not
// connect to (see addressPolicy.checkHost).
func (s *Webhooks) checkURL(raw string) (string, error) {
	if raw == "" || len(raw) > maxURLLen || !store.Storable(raw) {
		return "", fieldErr("url", "url must be an absolute http or https URL of at most %d bytes", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Opaque != "" {
		return "", fieldErr("url", "url must be an absolute http or https URL")
	}
	if u.User != nil {
		return "", fieldErr("url", "url must not hold credentials: the secret authenticates requests")
	}
	if u.Fragment != "" || u.RawFragment != "" {
		return "", fieldErr("url", "url must not have a fragment")
	}
	if err := s.policy.checkHost(u.Hostname()); err != nil {
		return "", err
	}
	return u.String(), nil
}

// checkEventTypes returns the filter sorted and without repeats, or why it
// is refused.
func checkEventTypes(types []string) ([]string, error) {
	if len(types) > MaxEventTypes {
		return nil, fieldErr("event_types", "at most %d event types", MaxEventTypes)
	}
	out := make([]string, 0, len(types))
	for _, t := range types {
		word := strings.TrimSuffix(t, ".*")
		if len(t) > maxTypeLen || !typePattern.MatchString(word) {
			return nil, fieldErr("event_types", `%q is neither an event type ("account.frozen") nor a prefix ("account.*")`, t)
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func checkDescription(d string) error {
	if len(d) > maxDescriptionLen || !store.Storable(d) {
		return fieldErr("description", "description must be printable text of at most %d bytes", maxDescriptionLen)
	}
	return nil
}

const webhookCols = `id, institution_id, url, event_types, active, description, created_at, updated_at`

func scanWebhook(sc interface{ Scan(...any) error }) (*Webhook, error) {
	var w Webhook
	var filter string
	var active int
	var created, updated int64
	if err := sc.Scan(&w.ID, &w.InstitutionID, &w.URL, &filter, &active, &w.Description, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(filter), &w.EventTypes); err != nil {
		return nil, fmt.Errorf("webhook %s: event types: %w", w.ID, err)
	}
	w.Active = active == 1
	w.CreatedAt, w.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &w, nil
}

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func getWebhook(ctx context.Context, q querier, scope []string, id string) (*Webhook, error) {
	w, err := scanWebhook(q.QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !inScope(scope, w.InstitutionID)) {
		return nil, errorf(CodeWebhookNotFound, "webhook %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get webhook %s: %w", id, err)
	}
	return w, nil
}

// Get returns a webhook of the institutions in scope (nil: any).
// Permission: webhooks:read. Returns CodeWebhookNotFound.
func (s *Webhooks) Get(ctx context.Context, scope []string, id string) (*Webhook, error) {
	return getWebhook(ctx, s.db.Read, scope, id)
}

// List returns the webhooks of the institutions in scope (nil: all), by ID,
// after the cursor after, at most limit (default 100, at most 1000); next
// is the cursor for the following page, or "" after the last. Permission:
// webhooks:read.
func (s *Webhooks) List(ctx context.Context, scope []string, after string, limit int) (ws []*Webhook, next string, err error) {
	q := &store.Where{}
	q.In("institution_id", scope)
	q.Add("id > ?", after)
	limit = pageSize(limit)
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE `+q.String()+
		` ORDER BY id LIMIT `+strconv.Itoa(limit+1), q.Args...)
	if err != nil {
		return nil, "", fmt.Errorf("list webhooks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list webhooks: %w", err)
		}
		ws = append(ws, w)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list webhooks: %w", err)
	}
	if len(ws) > limit {
		ws = ws[:limit]
		next = ws[limit-1].ID
	}
	return ws, next, nil
}

// Update changes a webhook of the institutions in scope (nil: any) and
// returns it. Deactivating a webhook stops its pending deliveries too (they
// end failed; Redeliver sends them once it is active again). Permission:
// webhooks:write. Returns CodeWebhookNotFound, CodeInvalidRequest.
func (s *Webhooks) Update(ctx context.Context, scope []string, id string, u WebhookUpdate, writes ...TxWrite) (*Webhook, error) {
	var w *Webhook
	err := s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		var err error
		if w, err = getWebhook(ctx, tx, scope, id); err != nil {
			return err
		}
		if u.URL != nil {
			if w.URL, err = s.checkURL(*u.URL); err != nil {
				return err
			}
		}
		if u.EventTypes != nil {
			if w.EventTypes, err = checkEventTypes(*u.EventTypes); err != nil {
				return err
			}
		}
		if u.Description != nil {
			if err := checkDescription(*u.Description); err != nil {
				return err
			}
			w.Description = *u.Description
		}
		if u.Active != nil {
			w.Active = *u.Active
		}
		w.UpdatedAt = s.clock.Now().UTC().Truncate(time.Microsecond)
		filter, _ := json.Marshal(w.EventTypes) // a []string always encodes
		active := 0
		if w.Active {
			active = 1
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET url = $1, event_types = $2, active = $3, description = $4,
			updated_at = $5 WHERE id = $6`, w.URL, string(filter), active, w.Description, w.UpdatedAt.UnixMicro(), w.ID); err != nil {
			return fmt.Errorf("update webhook %s: %w", id, err)
		}
		return runWrites(ctx, tx, writes)
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// RotateSecret replaces a webhook's secret with secret (empty: a new
// random one) and returns the webhook and the new secret, shown this once.
// Requests signed from then on, retries included, carry only the new
// signature; a receiver that refuses them meanwhile gets them again on
// retry. Permission: webhooks:write. Returns CodeWebhookNotFound,
// CodeInvalidRequest.
func (s *Webhooks) RotateSecret(ctx context.Context, scope []string, id, secret string, writes ...TxWrite) (*Webhook, string, error) {
	if secret == "" {
		secret = NewSecret()
	} else if _, err := secretKey(secret); err != nil {
		return nil, "", fieldErr("secret", "%v", err)
	}
	var w *Webhook
	err := s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		var err error
		if w, err = getWebhook(ctx, tx, scope, id); err != nil {
			return err
		}
		w.UpdatedAt = s.clock.Now().UTC().Truncate(time.Microsecond)
		stored, err := s.seal(w.ID, secret)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET secret = $1, updated_at = $2 WHERE id = $3`,
			stored, w.UpdatedAt.UnixMicro(), w.ID); err != nil {
			return fmt.Errorf("rotate webhook secret %s: %w", id, err)
		}
		return runWrites(ctx, tx, writes)
	})
	if err != nil {
		return nil, "", err
	}
	return w, secret, nil
}

// Delete removes a webhook of the institutions in scope (nil: any) with its
// deliveries and their attempt log; jobs still queued for them find nothing
// and end. Deactivate it with Update instead to keep the log. Permission:
// webhooks:write. Returns CodeWebhookNotFound.
func (s *Webhooks) Delete(ctx context.Context, scope []string, id string, writes ...TxWrite) error {
	return s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		if _, err := getWebhook(ctx, tx, scope, id); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE webhook_id = $1)`,
			`DELETE FROM webhook_deliveries WHERE webhook_id = $1`,
			`DELETE FROM webhooks WHERE id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("delete webhook %s: %w", id, err)
			}
		}
		return runWrites(ctx, tx, writes)
	})
}

func pageSize(limit int) int {
	if limit <= 0 {
		return defaultPage
	}
	return min(limit, maxPage)
}
