package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/store"
)

// Error is a refusal with a stable code and a message safe to show.
type Error struct {
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// The refusal codes.
const (
	CodeUnauthenticated = "unauthenticated"
	CodeForbidden       = "forbidden"
	CodeNotFound        = "not_found"
	CodeInvalidRequest  = "invalid_request"
	CodeConflict        = "conflict"
)

func fail(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// KeyWrite is extra work committed with a new key (never given its secret).
type KeyWrite func(ctx context.Context, tx *sql.Tx, k *Key) error

// TxWrite is extra work committed in the same storage transaction as a
// change (an audit record, say).
type TxWrite func(ctx context.Context, tx *sql.Tx) error

// Service stores institutions and API keys and authenticates requests.
type Service struct {
	db    *store.DB
	clock clock.Clock

	mu    sync.Mutex
	cache map[string]cachedKey // by key ID
}

type cachedKey struct {
	p       *Principal
	hash    [32]byte
	expires time.Time
}

// keyCacheTTL bounds how long a verified key is trusted without a look at
// the store. Revocation through this process takes effect at once; through
// another process sharing a PostgreSQL database, within this time.
const keyCacheTTL = 5 * time.Second

// NewService returns an auth service on a migrated store.
func NewService(db *store.DB, c clock.Clock) *Service {
	return &Service{db: db, clock: c, cache: map[string]cachedKey{}}
}

// Institution is a node of the institution tree.
type Institution struct {
	ID        string    `json:"id"`
	ParentID  string    `json:"parent_id,omitempty"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	path      string
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// CreateInstitution adds an institution under parent ("" only for the first,
// the root). Returns CodeInvalidRequest, CodeNotFound (no parent) or
// CodeConflict (the ID exists).
func (s *Service) CreateInstitution(ctx context.Context, id, parent, name string, writes ...TxWrite) (*Institution, error) {
	if !idPattern.MatchString(id) {
		return nil, fail(CodeInvalidRequest, "id", "institution id must be 1-63 lowercase letters, digits, '-' or '_'")
	}
	if name == "" || len(name) > 200 || !store.Storable(name) {
		return nil, fail(CodeInvalidRequest, "name", "name is required: text of at most 200 bytes")
	}
	now := s.clock.Now()
	inst := &Institution{ID: id, ParentID: parent, Name: name, CreatedAt: time.UnixMicro(now.UnixMicro()).UTC()}
	err := s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		path := "/" + id + "/"
		var parentArg any
		if parent != "" {
			p, err := getInstitution(ctx, tx, parent)
			if err != nil {
				return err
			}
			path, parentArg = p.path+id+"/", parent
		} else {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM institutions`).Scan(&n); err != nil {
				return fmt.Errorf("count institutions: %w", err)
			}
			if n > 0 {
				return fail(CodeInvalidRequest, "parent_id", "parent_id is required: the root institution exists")
			}
		}
		inst.path = path
		_, err := tx.ExecContext(ctx, `INSERT INTO institutions (id, parent_id, name, path, created_at) VALUES ($1, $2, $3, $4, $5)`,
			id, parentArg, name, path, now.UnixMicro())
		if _, dup := store.UniqueViolation(err); dup {
			return fail(CodeConflict, "id", "institution %s exists", id)
		}
		if err != nil {
			return fmt.Errorf("insert institution: %w", err)
		}
		return runWrites(ctx, tx, writes)
	})
	if err != nil {
		return nil, err
	}
	return inst, nil
}

type rowQueryer interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func getInstitution(ctx context.Context, q rowQueryer, id string) (*Institution, error) {
	var i Institution
	var parent sql.NullString
	var created int64
	err := q.QueryRowContext(ctx, `SELECT id, parent_id, name, path, created_at FROM institutions WHERE id = $1`, id).
		Scan(&i.ID, &parent, &i.Name, &i.path, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fail(CodeNotFound, "", "institution %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get institution: %w", err)
	}
	i.ParentID, i.CreatedAt = parent.String, time.UnixMicro(created).UTC()
	return &i, nil
}

// GetInstitution returns an institution or CodeNotFound.
func (s *Service) GetInstitution(ctx context.Context, id string) (*Institution, error) {
	return getInstitution(ctx, s.db.Read, id)
}

// Subtree returns id and every institution below it, sorted.
func (s *Service) Subtree(ctx context.Context, id string) ([]string, error) {
	inst, err := s.GetInstitution(ctx, id)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT id FROM institutions WHERE path >= $1 AND path < $2 ORDER BY id`,
		inst.path, inst.path[:len(inst.path)-1]+"0") // "0" sorts right after "/"
	if err != nil {
		return nil, fmt.Errorf("subtree: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var x string
		if err := rows.Scan(&x); err != nil {
			return nil, fmt.Errorf("subtree: %w", err)
		}
		ids = append(ids, x)
	}
	return ids, rows.Err()
}

// ListInstitutions returns the institutions with the given IDs, by ID.
func (s *Service) ListInstitutions(ctx context.Context, ids []string) ([]*Institution, error) {
	var out []*Institution
	for _, id := range ids {
		i, err := s.GetInstitution(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, nil
}

// Key is an API key as stored (never with its secret).
type Key struct {
	ID            string     `json:"id"`
	InstitutionID string     `json:"institution_id"`
	Role          Role       `json:"role"`
	Name          string     `json:"name"`
	CreatedBy     string     `json:"created_by"`
	CreatedAt     time.Time  `json:"created_at"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
}

// tokenPrefix starts every API key, so that leaked keys are easy to find.
const tokenPrefix = "sp_"

// CreateKey creates an API key for an institution and role and returns it
// with its token, which is shown this once and never stored.
// The writes run in the same storage transaction, with the new key.
func (s *Service) CreateKey(ctx context.Context, inst string, role Role, name, createdBy string, writes ...KeyWrite) (*Key, string, error) {
	if !role.Valid() {
		return nil, "", fail(CodeInvalidRequest, "role", "unknown role %q", role)
	}
	if len(name) > 200 || !store.Storable(name) {
		return nil, "", fail(CodeInvalidRequest, "name", "name must be text of at most 200 bytes")
	}
	id, secret := randomString(9), randomString(32)
	return s.storeKey(ctx, inst, role, name, createdBy, id, secret, writes)
}

func (s *Service) storeKey(ctx context.Context, inst string, role Role, name, createdBy, id, secret string, writes []KeyWrite) (*Key, string, error) {
	now := s.clock.Now()
	k := &Key{ID: id, InstitutionID: inst, Role: role, Name: name, CreatedBy: createdBy, CreatedAt: time.UnixMicro(now.UnixMicro()).UTC()}
	sum := sha256.Sum256([]byte(secret))
	err := s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		if _, err := getInstitution(ctx, tx, inst); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, institution_id, role, name, secret_hash, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, inst, string(role), name, hex.EncodeToString(sum[:]), createdBy, now.UnixMicro())
		if _, dup := store.UniqueViolation(err); dup {
			return fail(CodeConflict, "id", "key %s exists", id)
		}
		if err != nil {
			return fmt.Errorf("insert key: %w", err)
		}
		for _, w := range writes {
			if err := w(ctx, tx, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return k, tokenPrefix + id + "_" + secret, nil
}

// RevokeKey revokes a key at once. Returns CodeNotFound for an unknown key or
// one outside scope.
func (s *Service) RevokeKey(ctx context.Context, id string, scope []string, writes ...TxWrite) (*Key, error) {
	var k *Key
	err := s.db.InTx(ctx, store.TxOptions{}, func(tx *sql.Tx) error {
		var err error
		if k, err = getKey(ctx, tx, id); err != nil {
			return err
		}
		if !slices.Contains(scope, k.InstitutionID) {
			return fail(CodeNotFound, "", "key %s not found", id)
		}
		if k.RevokedAt != nil {
			return nil
		}
		now := s.clock.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE id = $2`, now.UnixMicro(), id); err != nil {
			return fmt.Errorf("revoke key: %w", err)
		}
		t := time.UnixMicro(now.UnixMicro()).UTC()
		k.RevokedAt = &t
		return runWrites(ctx, tx, writes)
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	delete(s.cache, id)
	s.mu.Unlock()
	return k, nil
}

func getKey(ctx context.Context, q rowQueryer, id string) (*Key, error) {
	k, _, err := scanKey(q.QueryRowContext(ctx, `SELECT id, institution_id, role, name, created_by, created_at, revoked_at, secret_hash
		FROM api_keys WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fail(CodeNotFound, "", "key %s not found", id)
	}
	return k, err
}

type scanner interface{ Scan(...any) error }

func scanKey(r scanner) (*Key, string, error) {
	var k Key
	var role, hash string
	var created int64
	var revoked sql.NullInt64
	if err := r.Scan(&k.ID, &k.InstitutionID, &role, &k.Name, &k.CreatedBy, &created, &revoked, &hash); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, "", err
		}
		return nil, "", fmt.Errorf("scan key: %w", err)
	}
	k.Role, k.CreatedAt = Role(role), time.UnixMicro(created).UTC()
	if revoked.Valid {
		t := time.UnixMicro(revoked.Int64).UTC()
		k.RevokedAt = &t
	}
	return &k, hash, nil
}

// ListKeys returns the keys of the given institutions.
func (s *Service) ListKeys(ctx context.Context, scope []string) ([]*Key, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT id, institution_id, role, name, created_by, created_at, revoked_at, secret_hash
		FROM api_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	var out []*Key
	for rows.Next() {
		k, _, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		if slices.Contains(scope, k.InstitutionID) {
			out = append(out, k)
		}
	}
	return out, rows.Err()
}

// Authenticate turns a bearer token into a principal. Every failure is the
// same CodeUnauthenticated, so that a caller learns nothing about which keys
// exist.
func (s *Service) Authenticate(ctx context.Context, token string) (*Principal, error) {
	denied := fail(CodeUnauthenticated, "", "a valid API key is required")
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return nil, denied
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || id == "" || secret == "" {
		return nil, denied
	}
	sum := sha256.Sum256([]byte(secret))
	now := s.clock.Now()
	s.mu.Lock()
	c, hit := s.cache[id]
	s.mu.Unlock()
	if hit && now.Before(c.expires) {
		if subtle.ConstantTimeCompare(c.hash[:], sum[:]) == 1 {
			return c.p, nil
		}
		return nil, denied
	}
	k, hash, err := scanKey(s.db.Read.QueryRowContext(ctx, `SELECT id, institution_id, role, name, created_by, created_at,
		revoked_at, secret_hash FROM api_keys WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, denied
	}
	if err != nil {
		return nil, err
	}
	want, err := hex.DecodeString(hash)
	if err != nil || subtle.ConstantTimeCompare(want, sum[:]) != 1 || k.RevokedAt != nil || !k.Role.Valid() {
		return nil, denied
	}
	inst, err := s.GetInstitution(ctx, k.InstitutionID)
	if err != nil {
		return nil, err
	}
	scope, err := s.Subtree(ctx, k.InstitutionID)
	if err != nil {
		return nil, err
	}
	p := &Principal{KeyID: k.ID, InstitutionID: k.InstitutionID, Role: k.Role, Scope: scope, Root: inst.ParentID == ""}
	s.mu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache)
	}
	s.cache[id] = cachedKey{p: p, hash: sum, expires: now.Add(keyCacheTTL)}
	s.mu.Unlock()
	return p, nil
}

// ForgetScopes drops cached principals, so that a new institution shows up
// in its ancestors' scopes at once.
func (s *Service) ForgetScopes() {
	s.mu.Lock()
	clear(s.cache)
	s.mu.Unlock()
}

// Bootstrap prepares a new store: when it has no institution, it creates
// the root institution; when it has no API key, it creates an admin key for
// the root and returns its token (to be shown once). With adminToken set
// (from the environment) that token becomes the admin key instead, and is
// not returned. On a store that has keys it does nothing.
func (s *Service) Bootstrap(ctx context.Context, rootID, rootName, adminToken string, writes ...TxWrite) (token string, err error) {
	var insts, keys int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM institutions), (SELECT COUNT(*) FROM api_keys)`).
		Scan(&insts, &keys); err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	if insts == 0 {
		if _, err := s.CreateInstitution(ctx, rootID, "", rootName, writes...); err != nil {
			return "", fmt.Errorf("bootstrap root institution: %w", err)
		}
	} else if _, err := s.GetInstitution(ctx, rootID); err != nil {
		return "", fmt.Errorf("bootstrap: root institution %s: %w", rootID, err)
	}
	if keys > 0 {
		return "", nil
	}
	if adminToken != "" {
		rest, ok := strings.CutPrefix(adminToken, tokenPrefix)
		id, secret, ok2 := strings.Cut(rest, "_")
		if !ok || !ok2 || len(id) < 8 || len(secret) < 32 {
			return "", errors.New("bootstrap: the admin key must look like sp_<id of 8+ chars>_<secret of 32+ chars>")
		}
		_, _, err := s.storeKey(ctx, rootID, RoleAdmin, "bootstrap admin", "bootstrap", id, secret, nil)
		return "", err
	}
	_, token, err = s.CreateKey(ctx, rootID, RoleAdmin, "bootstrap admin", "bootstrap")
	return token, err
}

// NewToken returns a well-formed random API key token, for operators who
// want to choose the bootstrap admin key themselves.
func NewToken() string { return tokenPrefix + randomString(9) + "_" + randomString(32) }

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return strings.NewReplacer("-", "x", "_", "y").Replace(base64.RawURLEncoding.EncodeToString(b))
}

func runWrites(ctx context.Context, tx *sql.Tx, writes []TxWrite) error {
	for _, w := range writes {
		if err := w(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}
