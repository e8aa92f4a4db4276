package payments

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

// Channel statuses.
const (
	ChannelActive   = "active"
	ChannelDisabled = "disabled"
)

// Limits bound what one direction of a channel may carry. 0 is no bound.
type Limits struct {
	PerTxnMin   int64 `json:"per_txn_min,omitempty" doc:"Smallest order, minor units."`
	PerTxnMax   int64 `json:"per_txn_max,omitempty" doc:"Largest order, minor units."`
	DailyAmount int64 `json:"daily_amount,omitempty" doc:"Total per business day, minor units."`
	DailyCount  int64 `json:"daily_count,omitempty" doc:"Orders per business day."`
}

// RetryPolicy is how an order without a definite answer is queried.
type RetryPolicy struct {
	MaxAttempts  int   `json:"max_attempts" doc:"Status queries before the order is left unknown for reconciliation."`
	BackoffMs    int64 `json:"backoff_ms" doc:"Wait before the first query; doubled after each query up to max_backoff_ms."`
	MaxBackoffMs int64 `json:"max_backoff_ms" doc:"Longest wait between queries."`
}

// FeeRate is what the channel charges per order of one direction: Fixed
// plus Amount × Rate rounded once, clamped to Min and Max (0: no bound).
// It is the fee Suanpan expects to see on the channel's statement.
type FeeRate struct {
	Fixed    int64          `json:"fixed,omitempty"`
	Rate     money.Rate     `json:"rate"`
	Rounding money.Rounding `json:"rounding"`
	Min      int64          `json:"min,omitempty"`
	Max      int64          `json:"max,omitempty"`
}

// Params are a channel's run-time settings, read on every use: a change
// applies to the next order without a restart.
type Params struct {
	// Directions are the enabled directions, a subset of what the kind
	// supports.
	Directions []channel.Direction           `json:"directions"`
	Limits     map[channel.Direction]Limits  `json:"limits,omitempty"`
	TimeoutMs  int64                         `json:"timeout_ms"`
	Retry      RetryPolicy                   `json:"retry"`
	Fees       map[channel.Direction]FeeRate `json:"fees,omitempty"`
}

// Channel is a configured payment channel of an institution.
type Channel struct {
	ID            string `json:"id"`
	InstitutionID string `json:"institution_id"`
	// Code is the channel token products and clearing accounts name.
	Code       string       `json:"code"`
	Kind       channel.Kind `json:"kind"`
	Name       string       `json:"name"`
	Endpoint   string       `json:"endpoint"`
	MerchantID string       `json:"merchant_id"`
	Asset      string       `json:"asset"`
	Params     Params       `json:"params"`
	Status     string       `json:"status"`
	Version    int          `json:"version"`
	CreatedAt  time.Time    `json:"created_at"`
	UpdatedAt  time.Time    `json:"updated_at"`

	secret string // as stored: sealed when the service has a Sealer
}

// secretField names the channel secret for the Sealer.
const secretField = "payment_channels.secret"

// seal returns a channel's secret as stored.
func (s *Service) seal(id, secret string) (string, error) {
	if s.secrets == nil {
		return secret, nil
	}
	return s.secrets.Encrypt(secretField, id, secret)
}

// ChannelSpec creates or replaces a channel's configuration. On update an
// empty Secret keeps the current one.
type ChannelSpec struct {
	InstitutionID string
	Code          string
	Kind          channel.Kind
	Name          string
	Endpoint      string
	MerchantID    string
	Secret        string
	Asset         string
	Params        Params
	Status        string // default active
}

// ChannelWrite is extra work (an audit record) committed with a channel
// change; before is nil on creation.
type ChannelWrite func(ctx context.Context, tx *sql.Tx, before, after *Channel) error

func (p *Params) normalize(kind channel.Kind) error {
	if len(p.Directions) == 0 {
		p.Directions = kind.Directions()
	}
	for i, d := range p.Directions {
		if !slices.Contains(kind.Directions(), d) {
			return invalid(fmt.Sprintf("params.directions[%d]", i), "a %s channel does not support %s", kind, d)
		}
	}
	for d, l := range p.Limits {
		f := "params.limits." + string(d)
		switch {
		case !slices.Contains(kind.Directions(), d):
			return invalid(f, "a %s channel does not support %s", kind, d)
		case l.PerTxnMin < 0 || l.PerTxnMax < 0 || l.DailyAmount < 0 || l.DailyCount < 0:
			return invalid(f, "limits must not be negative")
		case l.PerTxnMax > 0 && l.PerTxnMin > l.PerTxnMax:
			return invalid(f, "per_txn_min exceeds per_txn_max")
		}
	}
	for d, fr := range p.Fees {
		f := "params.fees." + string(d)
		switch {
		case !slices.Contains(kind.Directions(), d):
			return invalid(f, "a %s channel does not support %s", kind, d)
		case fr.Fixed < 0 || fr.Min < 0 || fr.Max < 0 || (fr.Max > 0 && fr.Min > fr.Max):
			return invalid(f, "fixed, min and max must not be negative, and min must not exceed max")
		case fr.Rate.Sign() < 0:
			return invalid(f+".rate", "rate must not be negative")
		case !fr.Rounding.Valid():
			return invalid(f+".rounding", "rounding is required (e.g. half_up)")
		}
	}
	switch {
	case p.TimeoutMs == 0:
		p.TimeoutMs = 10_000
	case p.TimeoutMs < 100 || p.TimeoutMs > 120_000:
		return invalid("params.timeout_ms", "timeout_ms must be 100-120000")
	}
	r := &p.Retry
	if r.MaxAttempts == 0 {
		r.MaxAttempts = 30
	}
	if r.BackoffMs == 0 {
		r.BackoffMs = 2_000
	}
	if r.MaxBackoffMs == 0 {
		r.MaxBackoffMs = 10 * 60_000
	}
	switch {
	case r.MaxAttempts < 1 || r.MaxAttempts > 1000:
		return invalid("params.retry.max_attempts", "max_attempts must be 1-1000")
	case r.BackoffMs < 10 || r.MaxBackoffMs < r.BackoffMs || r.MaxBackoffMs > 24*3600_000:
		return invalid("params.retry", "backoff_ms must be at least 10 and at most max_backoff_ms (at most a day)")
	}
	return nil
}

// fee is the channel's expected fee for an order of amount in direction d.
func (p *Params) fee(d channel.Direction, amount int64) (int64, error) {
	fr, ok := p.Fees[d]
	if !ok {
		return 0, nil
	}
	v, err := money.ApplyRate(amount, fr.Rate, fr.Rounding)
	if err != nil {
		return 0, err
	}
	if v, err = money.Add(v, fr.Fixed); err != nil {
		return 0, err
	}
	if fr.Min > 0 && v < fr.Min {
		v = fr.Min
	}
	if fr.Max > 0 && v > fr.Max {
		v = fr.Max
	}
	return v, nil
}

// backoff is the wait before query attempt n (1-based).
func (r RetryPolicy) backoff(n int) time.Duration {
	d := time.Duration(r.BackoffMs) * time.Millisecond
	limit := time.Duration(r.MaxBackoffMs) * time.Millisecond
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

func (s *ChannelSpec) validate() error {
	if _, err := channel.ParseKind(string(s.Kind)); err != nil {
		return invalid("kind", "kind must be one of %v", channel.Kinds())
	}
	if !codePattern.MatchString(s.Code) {
		return invalid("code", "code must be 1-32 lowercase letters, digits or '_'")
	}
	if s.Name == "" {
		s.Name = s.Code
	}
	if err := text("name", s.Name, 200); err != nil {
		return err
	}
	if u, err := url.Parse(s.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s.Endpoint) > 500 {
		return invalid("endpoint", "endpoint must be an absolute http(s) URL")
	}
	if s.MerchantID == "" {
		return invalid("merchant_id", "merchant_id is required")
	}
	if err := text("merchant_id", s.MerchantID, 64); err != nil {
		return err
	}
	if err := text("secret", s.Secret, 256); err != nil {
		return err
	}
	if _, ok := money.LookupISO(s.Asset); !ok {
		return invalid("asset", "asset must be an ISO 4217 currency code, e.g. CNY")
	}
	switch s.Status {
	case "":
		s.Status = ChannelActive
	case ChannelActive, ChannelDisabled:
	default:
		return invalid("status", "status must be active or disabled")
	}
	return s.Params.normalize(s.Kind)
}

const channelCols = `id, institution_id, code, kind, name, endpoint, merchant_id, secret, asset, params, status, version, created_at, updated_at`

func scanChannel(sc interface{ Scan(...any) error }) (*Channel, error) {
	var c Channel
	var params string
	var created, updated int64
	if err := sc.Scan(&c.ID, &c.InstitutionID, &c.Code, &c.Kind, &c.Name, &c.Endpoint, &c.MerchantID, &c.secret,
		&c.Asset, &params, &c.Status, &c.Version, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(params), &c.Params); err != nil {
		return nil, fmt.Errorf("channel %s: decode params: %w", c.ID, err)
	}
	c.CreatedAt, c.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return &c, nil
}

// CreateChannel configures a new channel. Permission: payments:configure.
// Returns CodeInvalidRequest or CodeChannelExists (the code is taken in the
// institution).
func (s *Service) CreateChannel(ctx context.Context, spec ChannelSpec, writes ...ChannelWrite) (*Channel, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if spec.Secret == "" {
		return nil, invalid("secret", "secret is required: the key the channel signs its messages with")
	}
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	c := &Channel{ID: uuid.Must(uuid.NewV7()).String(), InstitutionID: spec.InstitutionID, Code: spec.Code,
		Kind: spec.Kind, Name: spec.Name, Endpoint: spec.Endpoint, MerchantID: spec.MerchantID, Asset: spec.Asset,
		Params: spec.Params, Status: spec.Status, Version: 1, CreatedAt: now, UpdatedAt: now, secret: spec.Secret}
	params, err := json.Marshal(c.Params)
	if err != nil {
		return nil, err
	}
	if c.secret, err = s.seal(c.ID, spec.Secret); err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO payment_channels (`+channelCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`,
			c.ID, c.InstitutionID, c.Code, string(c.Kind), c.Name, c.Endpoint, c.MerchantID, c.secret, c.Asset,
			string(params), c.Status, c.Version, now.UnixMicro()); err != nil {
			if _, ok := store.UniqueViolation(err); ok {
				return errorf(CodeChannelExists, "code", "institution %s already has a channel %s", c.InstitutionID, c.Code)
			}
			return fmt.Errorf("create channel: %w", err)
		}
		for _, w := range writes {
			if err := w(ctx, tx, nil, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// UpdateChannel replaces a channel's configuration (all but its code,
// kind and institution); the next order uses it. An empty Secret keeps the
// current one. Permission: payments:configure. Returns CodeInvalidRequest
// or CodeChannelNotFound.
func (s *Service) UpdateChannel(ctx context.Context, id string, spec ChannelSpec, scope []string, writes ...ChannelWrite) (*Channel, error) {
	var out *Channel
	err := s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		before, err := s.channel(ctx, tx, id, scope)
		if err != nil {
			return err
		}
		spec.InstitutionID, spec.Code, spec.Kind = before.InstitutionID, before.Code, before.Kind
		if spec.Asset == "" {
			spec.Asset = before.Asset
		}
		if err := spec.validate(); err != nil {
			return err
		}
		c := *before
		c.Name, c.Endpoint, c.MerchantID, c.Asset, c.Params, c.Status = spec.Name, spec.Endpoint, spec.MerchantID, spec.Asset, spec.Params, spec.Status
		if spec.Secret != "" {
			if c.secret, err = s.seal(c.ID, spec.Secret); err != nil {
				return err
			}
		}
		c.Version++
		c.UpdatedAt = s.clock.Now().UTC().Truncate(time.Microsecond)
		params, err := json.Marshal(c.Params)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payment_channels SET name = $1, endpoint = $2, merchant_id = $3,
			secret = $4, asset = $5, params = $6, status = $7, version = $8, updated_at = $9 WHERE id = $10`,
			c.Name, c.Endpoint, c.MerchantID, c.secret, c.Asset, string(params), c.Status, c.Version,
			c.UpdatedAt.UnixMicro(), c.ID); err != nil {
			return fmt.Errorf("update channel %s: %w", id, err)
		}
		for _, w := range writes {
			if err := w(ctx, tx, before, &c); err != nil {
				return err
			}
		}
		out = &c
		return nil
	})
	if err == nil {
		s.mu.Lock()
		delete(s.channels, id)
		s.mu.Unlock()
	}
	return out, err
}

// GetChannel returns a channel in scope (nil: any). Returns
// CodeChannelNotFound.
func (s *Service) GetChannel(ctx context.Context, id string, scope []string) (*Channel, error) {
	return s.channel(ctx, s.db.Read, id, scope)
}

// ChannelByCode returns the institution's channel with the given code.
func (s *Service) ChannelByCode(ctx context.Context, inst, code string) (*Channel, error) {
	c, err := scanChannel(s.db.QueryRow(ctx, `SELECT `+channelCols+` FROM payment_channels
		WHERE institution_id = $1 AND code = $2`, inst, code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorf(CodeChannelNotFound, "channel", "institution %s has no channel %q", inst, code)
	}
	return c, err
}

// ListChannels returns the channels of the institutions in scope (nil:
// all), by institution and code.
func (s *Service) ListChannels(ctx context.Context, scope []string) ([]*Channel, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+channelCols+` FROM payment_channels ORDER BY institution_id, code`)
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	defer rows.Close()
	var out []*Channel
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, err
		}
		if inScope(scope, c.InstitutionID) {
			out = append(out, c)
		}
	}
	return out, rows.Err()
}

type queryRower interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func (s *Service) channel(ctx context.Context, q queryRower, id string, scope []string) (*Channel, error) {
	if id == "" || len(id) > 64 || !store.Storable(id) {
		return nil, errorf(CodeChannelNotFound, "channel_id", "channel not found")
	}
	c, err := scanChannel(q.QueryRowContext(ctx, `SELECT `+channelCols+` FROM payment_channels WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !inScope(scope, c.InstitutionID)) {
		return nil, errorf(CodeChannelNotFound, "channel_id", "channel %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get channel %s: %w", id, err)
	}
	return c, nil
}

// channelTTL is how long a channel read for an order is reused: a change
// made through this service applies at once, one made by another process
// within channelTTL.
const channelTTL = time.Second

// current returns channel id as read at most channelTTL ago, for the order
// paths, which read it several times per order.
func (s *Service) current(ctx context.Context, id string, scope []string) (*Channel, error) {
	now := time.Now()
	s.mu.Lock()
	e, ok := s.channels[id]
	s.mu.Unlock()
	if !ok || now.Sub(e.at) > channelTTL {
		c, err := s.channel(ctx, s.db.Read, id, nil)
		if err != nil {
			return nil, err
		}
		e = cachedChannel{c: c, at: now}
		s.mu.Lock()
		s.channels[id] = e
		s.mu.Unlock()
	}
	if !inScope(scope, e.c.InstitutionID) {
		return nil, errorf(CodeChannelNotFound, "channel_id", "channel %s not found", id)
	}
	return e.c, nil
}

type cachedChannel struct {
	c  *Channel
	at time.Time
}

// Adapter returns the adapter of channel c as it is configured now (for
// reading its statement files, say).
func (s *Service) Adapter(c *Channel) (channel.Adapter, error) { return s.adapter(c) }

// adapter returns the adapter for c's current configuration, built once
// per channel version.
func (s *Service) adapter(c *Channel) (channel.Adapter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.adapters[c.ID]; ok && a.version == c.Version {
		return a.Adapter, nil
	}
	secret := c.secret
	if s.secrets != nil {
		var err error
		if secret, err = s.secrets.Decrypt(secretField, c.ID, c.secret); err != nil {
			return nil, fmt.Errorf("channel %s: %w", c.Code, err)
		}
	}
	a, err := channel.New(channel.Config{Kind: c.Kind, Endpoint: c.Endpoint, MerchantID: c.MerchantID,
		Secret: secret, Timeout: time.Duration(c.Params.TimeoutMs) * time.Millisecond, Clock: s.clock, Client: s.client})
	if err != nil {
		return nil, fmt.Errorf("channel %s: %w", c.Code, err)
	}
	s.adapters[c.ID] = versioned{Adapter: a, version: c.Version}
	return a, nil
}

type versioned struct {
	channel.Adapter
	version int
}

// ResealSecrets re-encrypts every channel's secret under sealer's current
// key (`suanpan rotate-keys`) and returns how many it did.
func ResealSecrets(ctx context.Context, db *store.DB, sealer store.Sealer) (int, error) {
	return store.Reseal(ctx, db, sealer, "payment_channels", "secret", secretField)
}
