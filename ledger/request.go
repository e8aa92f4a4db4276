package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/suanpan/suanpan/store"
)

// Kind says what a request (and the transaction it produces) does.
type Kind string

// The request kinds.
const (
	// KindTransfer posts its postings at once.
	KindTransfer Kind = "transfer"
	// KindHold reserves its postings as pending amounts (a two-phase
	// transaction); it is later posted, voided or expires.
	KindHold Kind = "hold"
	// KindPost posts a hold, in full or for smaller amounts; the remainder is
	// released.
	KindPost Kind = "post"
	// KindVoid releases a hold. The ledger also voids expired holds itself.
	KindVoid Kind = "void"
	// KindReversal posts the mirror image of a posted transaction, in full or
	// in part; all reversals of one transaction together never exceed it.
	KindReversal Kind = "reversal"
)

// Limits on a request. Everything in the engine is bounded.
const (
	MaxPostings      = 128
	MaxReferenceLen  = 128
	MaxMetadataKeys  = 32
	MaxMetadataKey   = 64
	MaxMetadataValue = 512
	MaxHoldTimeout   = 10 * 365 * 24 * time.Hour
)

// Posting moves Amount minor units of Asset from the Debit account to the
// Credit account.
type Posting struct {
	Debit  string `json:"debit"`
	Credit string `json:"credit"`
	Asset  string `json:"asset"`
	Amount int64  `json:"amount"`
}

// Write is extra work — a domain record, an audit record, an outbox event —
// committed in the same storage transaction as the request's postings. The
// engine runs it after the request has been validated and applied, inside a
// savepoint: if it returns an error, that request alone is rejected
// (CodeWriteFailed, or the code of a returned *Error) and nothing of it is
// kept, while the rest of the batch goes on. tr is the transaction being
// posted. A write must depend only on its inputs and tx: it runs again if the
// storage transaction is retried. Ledger rows of the batch are written after
// all writes ran, so a write must not read them back.
type Write func(ctx context.Context, tx *sql.Tx, tr *Transaction) error

// Request asks the ledger for one transaction. Which fields apply depends on
// Kind; fields that do not apply must be empty.
type Request struct {
	Kind          Kind   `json:"kind"`
	InstitutionID string `json:"institution_id"`
	// Reference is the caller's idempotency key, unique within the
	// institution. Resubmitting the same content under it returns the
	// original transaction; other content is rejected with
	// CodeReferenceConflict. A rejected request leaves no trace, so its
	// reference stays free and a retry is evaluated afresh.
	Reference string            `json:"reference"`
	Type      string            `json:"type,omitempty"` // business operation, e.g. "topup"; default: the kind
	Postings  []Posting         `json:"postings,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	// Timeout makes a hold expire this long after the ledger accepts it.
	// Zero: the hold never expires.
	Timeout time.Duration `json:"timeout,omitempty"`
	// HoldID is the hold to post or void.
	HoldID string `json:"hold_id,omitempty"`
	// TransactionID is the transaction to reverse.
	TransactionID string `json:"transaction_id,omitempty"`
	// Amounts, for a post or a reversal, give the amount per posting of the
	// hold or original transaction (0 skips a posting in a reversal). Nil
	// means everything: the full hold, or all that is not yet reversed.
	Amounts []int64 `json:"amounts,omitempty"`
	// Writes ride along in the same storage transaction.
	Writes []Write `json:"-"`

	expire bool   // set by the hold sweeper: void because expired
	hash   string // content hash, set by validate
}

// Result answers one request.
type Result struct {
	// Transaction is the posted transaction, or for a duplicate the original
	// one; nil when rejected.
	Transaction *Transaction `json:"transaction,omitempty"`
	// Duplicate is set when the reference had been posted before with the
	// same content and nothing changed now.
	Duplicate bool `json:"duplicate,omitempty"`
	// Err is the rejection; nil on success.
	Err *Error `json:"error,omitempty"`
}

// Transaction is an atomic journal entry.
type Transaction struct {
	ID            string            `json:"id"`
	InstitutionID string            `json:"institution_id"`
	Reference     string            `json:"reference"`
	Kind          Kind              `json:"kind"`
	Type          string            `json:"type"`
	BusinessDate  string            `json:"business_date"`
	Metadata      map[string]string `json:"metadata"`
	HoldID        string            `json:"hold_id,omitempty"`
	ReversesID    string            `json:"reverses_id,omitempty"`
	// ExpiresAt is a hold's expiry; zero when it has none.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Postings are what the transaction moved: for a hold what it reserved,
	// for a post what it posted, for a void what it released.
	Postings []Posting `json:"postings"`
	// Entries are the journal lines, with each account's balances after.
	Entries   []Entry   `json:"entries"`
	CreatedAt time.Time `json:"created_at"`
}

// EntryKind says which balances an entry moves.
type EntryKind string

// The entry kinds.
const (
	EntryPosted  EntryKind = "posted"  // posted debits or credits
	EntryPending EntryKind = "pending" // pending debits or credits (a hold)
	EntryRelease EntryKind = "release" // gives pending amounts back
)

// Entry is one line of an account's journal.
type Entry struct {
	AccountID     string    `json:"account_id"`
	Seq           int64     `json:"seq"`
	TransactionID string    `json:"transaction_id"`
	Posting       int       `json:"posting"`
	Side          Side      `json:"side"`
	Kind          EntryKind `json:"kind"`
	Asset         string    `json:"asset"`
	Amount        int64     `json:"amount"`
	// After are the account's balances after this entry.
	After     Balances  `json:"after"`
	CreatedAt time.Time `json:"created_at"`
}

// validate checks everything that needs no storage and computes the content
// hash. It runs in the submitter's goroutine, off the writer's path.
func (r *Request) validate() *Error {
	if err := checkToken(r.InstitutionID, "institution_id", 64); err != nil {
		return err
	}
	if r.Reference == "" || len(r.Reference) > MaxReferenceLen {
		return fieldErr(CodeInvalidRequest, "reference", "reference is required and at most %d bytes", MaxReferenceLen)
	}
	if !store.Storable(r.Reference) {
		return fieldErr(CodeInvalidRequest, "reference", "reference must be UTF-8 text without control characters")
	}
	if strings.HasPrefix(r.Reference, expiryRefPrefix) && !r.expire {
		return fieldErr(CodeInvalidRequest, "reference", "references starting with %q are reserved for hold expiry", expiryRefPrefix)
	}
	if r.Type == "" {
		r.Type = string(r.Kind)
	} else if err := checkToken(r.Type, "type", 64); err != nil {
		return err
	}
	if err := checkMetadata(r.Metadata); err != nil {
		return err
	}
	needPostings := r.Kind == KindTransfer || r.Kind == KindHold
	switch r.Kind {
	case KindTransfer, KindHold, KindPost, KindVoid, KindReversal:
	default:
		return fieldErr(CodeInvalidRequest, "kind", "kind must be transfer, hold, post, void or reversal")
	}
	if needPostings {
		if len(r.Postings) == 0 || len(r.Postings) > MaxPostings {
			return fieldErr(CodeInvalidRequest, "postings", "between 1 and %d postings are required", MaxPostings)
		}
		for i, p := range r.Postings {
			f := "postings[" + strconv.Itoa(i) + "]"
			if err := checkID(p.Debit, f+".debit"); err != nil {
				return err
			}
			if err := checkID(p.Credit, f+".credit"); err != nil {
				return err
			}
			if p.Debit == p.Credit {
				return fieldErr(CodeSameAccount, f, "a posting cannot debit and credit the same account")
			}
			if p.Asset == "" {
				return fieldErr(CodeInvalidRequest, f+".asset", "asset is required")
			}
			if p.Amount <= 0 {
				return fieldErr(CodeInvalidAmount, f+".amount", "amount must be positive")
			}
		}
	} else if r.Postings != nil {
		return fieldErr(CodeInvalidRequest, "postings", "postings are not allowed for a %s", r.Kind)
	}
	if r.Kind == KindHold {
		if r.Timeout < 0 || r.Timeout > MaxHoldTimeout || (r.Timeout > 0 && r.Timeout < time.Millisecond) {
			return fieldErr(CodeInvalidRequest, "timeout", "timeout must be 0 (never) or between 1ms and 10 years")
		}
	} else if r.Timeout != 0 {
		return fieldErr(CodeInvalidRequest, "timeout", "timeout is only for holds")
	}
	if r.Kind == KindPost || r.Kind == KindVoid {
		if err := checkID(r.HoldID, "hold_id"); err != nil {
			return err
		}
	} else if r.HoldID != "" {
		return fieldErr(CodeInvalidRequest, "hold_id", "hold_id is only for post and void")
	}
	if r.Kind == KindReversal {
		if err := checkID(r.TransactionID, "transaction_id"); err != nil {
			return err
		}
	} else if r.TransactionID != "" {
		return fieldErr(CodeInvalidRequest, "transaction_id", "transaction_id is only for reversals")
	}
	if r.Kind == KindPost || r.Kind == KindReversal {
		if r.Amounts != nil && len(r.Amounts) > MaxPostings {
			return fieldErr(CodeInvalidRequest, "amounts", "at most %d amounts", MaxPostings)
		}
		anyPositive := r.Amounts == nil
		for i, a := range r.Amounts {
			if a < 0 || (a == 0 && r.Kind == KindPost) {
				return fieldErr(CodeInvalidAmount, "amounts["+strconv.Itoa(i)+"]", "amount must be positive")
			}
			anyPositive = anyPositive || a > 0
		}
		if !anyPositive {
			return fieldErr(CodeInvalidAmount, "amounts", "at least one amount must be positive")
		}
	} else if r.Amounts != nil {
		return fieldErr(CodeInvalidRequest, "amounts", "amounts are only for post and reversal")
	}
	r.hash = r.contentHash()
	return nil
}

// contentHash fingerprints everything a request asks for except its key
// (institution and reference), to tell a retry from a conflicting reuse.
func (r *Request) contentHash() string {
	h := sha256.New()
	var buf [8]byte
	str := func(s string) {
		binary.BigEndian.PutUint64(buf[:], uint64(len(s)))
		h.Write(buf[:])
		h.Write([]byte(s))
	}
	num := func(n int64) {
		binary.BigEndian.PutUint64(buf[:], uint64(n))
		h.Write(buf[:])
	}
	str(string(r.Kind))
	str(r.Type)
	num(int64(len(r.Postings)))
	for _, p := range r.Postings {
		str(p.Debit)
		str(p.Credit)
		str(p.Asset)
		num(p.Amount)
	}
	keys := make([]string, 0, len(r.Metadata))
	for k := range r.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	num(int64(len(keys)))
	for _, k := range keys {
		str(k)
		str(r.Metadata[k])
	}
	num(int64(r.Timeout))
	str(r.HoldID)
	str(r.TransactionID)
	num(int64(len(r.Amounts)))
	if r.Amounts == nil {
		num(-1)
	}
	for _, a := range r.Amounts {
		num(a)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkToken accepts 1..max bytes of letters, digits and "_-.:/@".
func checkToken(s, field string, max int) *Error {
	if s == "" || len(s) > max {
		return fieldErr(CodeInvalidRequest, field, "%s is required and at most %d bytes", field, max)
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_' || c == '-' || c == '.' || c == ':' || c == '/' || c == '@':
		default:
			return fieldErr(CodeInvalidRequest, field, "%s may hold only letters, digits and _-.:/@", field)
		}
	}
	return nil
}

// checkID validates an account, hold or transaction ID.
func checkID(s, field string) *Error { return checkToken(s, field, 64) }

func checkMetadata(m map[string]string) *Error {
	if len(m) > MaxMetadataKeys {
		return fieldErr(CodeInvalidRequest, "metadata", "at most %d metadata keys", MaxMetadataKeys)
	}
	for k, v := range m {
		if k == "" || len(k) > MaxMetadataKey || !store.Storable(k) {
			return fieldErr(CodeInvalidRequest, "metadata", "metadata keys must be 1 to %d bytes of text", MaxMetadataKey)
		}
		if len(v) > MaxMetadataValue || !utf8.ValidString(v) {
			return fieldErr(CodeInvalidRequest, "metadata."+k, "metadata values must be UTF-8 text of at most %d bytes", MaxMetadataValue)
		}
	}
	return nil
}

func (r *Request) String() string {
	return fmt.Sprintf("%s %s/%s", r.Kind, r.InstitutionID, r.Reference)
}
