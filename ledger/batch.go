package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

type refKey struct{ inst, ref string }

// holdState is a hold as the batch sees it.
type holdState struct {
	id, inst, status string
	expiresAt        int64 // µs; 0 = never
	resolvedBy       string
	createdAt        int64
	postings         []indexedPosting
	dirty            bool
}

// origState is a transaction that a reversal in the batch refers to.
type origState struct {
	id, inst string
	kind     Kind
	postings []indexedPosting
	reversed map[int]int64 // already reversed, per posting index
}

type indexedPosting struct {
	idx int
	Posting
}

// existingRef is a reference already in the journal.
type existingRef struct{ id, hash string }

// batch is one storage transaction's worth of requests. It loads and locks
// everything the requests touch, applies them in order to that state (so each
// is validated against balances that include the ones before it), and then
// writes all rows with bulk statements. Nothing here is trusted across
// batches: every batch reads its rows afresh under lock.
type batch struct {
	l   *Ledger
	ctx context.Context
	tx  *sql.Tx

	nowUs   int64
	bizDate string

	accounts  map[string]*Account
	holds     map[string]*holdState
	originals map[string]*origState
	existing  map[refKey]existingRef
	staged    map[refKey]*staged

	undo     []func()
	txs      []*Transaction
	newHolds []*holdState
	dirty    map[string]*Account
	dups     map[string][]*Transaction // existing transaction ID → answers to fill
	conn     *sql.Conn                 // the connection tx runs on
	epoch    int64                     // the account cache's, when the batch began
	before   map[*Account]Balances     // balances before the request being applied
	limits   map[string]*Asset         // the assets transfers and holds post in, for their ceilings
}

type staged struct {
	hash string
	tr   *Transaction
}

func newBatch(l *Ledger, ctx context.Context, conn *sql.Conn, tx *sql.Tx) *batch {
	now := l.clock.Now()
	return &batch{
		l: l, ctx: ctx, conn: conn, tx: tx,
		nowUs:     now.UnixMicro(),
		bizDate:   l.opts.BusinessDate(now),
		staged:    map[refKey]*staged{},
		dirty:     map[string]*Account{},
		dups:      map[string][]*Transaction{},
		holds:     map[string]*holdState{},
		originals: map[string]*origState{},
	}
}

// run applies the jobs and writes the batch. A returned error aborts the
// whole storage transaction (and may be retried); rejections of single
// requests are recorded in the jobs' results instead.
func (b *batch) run(jobs []*job) error {
	for _, j := range jobs {
		for i := range j.results {
			j.results[i] = Result{Err: j.invalid[i]}
		}
	}
	if err := b.load(jobs); err != nil {
		return err
	}
	if err := b.loadLimits(jobs); err != nil {
		return err
	}
	for _, j := range jobs {
		if err := b.applyJob(j); err != nil {
			return err
		}
	}
	if err := b.write(); err != nil {
		return err
	}
	return b.fillDuplicates()
}

// load reads and locks, in a fixed order (transactions, holds, accounts, each
// sorted by ID), everything the batch's requests refer to, then reads the
// references already taken.
func (b *batch) load(jobs []*job) error {
	var refs, holdIDs, origIDs []string
	for _, j := range jobs {
		for i := range j.reqs {
			if j.invalid[i] != nil {
				continue
			}
			r := &j.reqs[i]
			refs = append(refs, r.Reference)
			switch r.Kind {
			case KindPost, KindVoid:
				holdIDs = append(holdIDs, r.HoldID)
			case KindReversal:
				origIDs = append(origIDs, r.TransactionID)
			}
		}
	}
	if err := b.loadOriginals(dedupe(origIDs)); err != nil {
		return err
	}
	if err := b.loadHolds(dedupe(holdIDs)); err != nil {
		return err
	}
	var acctIDs []string
	for _, j := range jobs {
		for i := range j.reqs {
			if j.invalid[i] == nil {
				for _, p := range j.reqs[i].Postings {
					acctIDs = append(acctIDs, p.Debit, p.Credit)
				}
			}
		}
	}
	for _, h := range b.holds {
		for _, p := range h.postings {
			acctIDs = append(acctIDs, p.Debit, p.Credit)
		}
	}
	for _, o := range b.originals {
		for _, p := range o.postings {
			acctIDs = append(acctIDs, p.Debit, p.Credit)
		}
	}
	if err := b.loadAccounts(dedupe(acctIDs)); err != nil {
		return err
	}
	// References last, once every row the requests touch is locked. A twin
	// of a request that another writer is committing waits on those locks;
	// read before them, its reference would still look free, and the twin
	// would be refused (insufficient funds, hold already posted) for the
	// money its own twin moved. Read after them, it sees the committed
	// reference and is answered with that transaction.
	return b.loadRefs(dedupe(refs))
}

// loadAccounts reads and locks the batch's accounts; on SQLite, those the
// validated cache holds are not read again.
func (b *batch) loadAccounts(ids []string) error {
	if b.l.db.Dialect != store.SQLite {
		var err error
		b.accounts, err = b.l.loadAccounts(b.ctx, b.tx, ids, true)
		return err
	}
	var err error
	if b.epoch, err = b.l.cache.validate(b.ctx, b.tx); err != nil {
		return err
	}
	found, missing := b.l.cache.take(ids)
	loaded, err := b.l.loadAccounts(b.ctx, b.tx, missing, false)
	if err != nil {
		return err
	}
	for id, a := range loaded {
		found[id] = a
	}
	b.accounts = found
	return nil
}

func (b *batch) loadRefs(refs []string) error {
	b.existing = map[refKey]existingRef{}
	return inChunks(refs, 1, func(chunk []string) error {
		rows, err := b.tx.QueryContext(b.ctx, `SELECT id, institution_id, reference, content_hash FROM transactions
			WHERE reference`+inList(b.l.db.Dialect, len(chunk)), inArgs(b.l.db.Dialect, chunk)...)
		if err != nil {
			return fmt.Errorf("load references: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, inst, ref, hash string
			if err := rows.Scan(&id, &inst, &ref, &hash); err != nil {
				return fmt.Errorf("load references: %w", err)
			}
			b.existing[refKey{inst, ref}] = existingRef{id, hash}
		}
		return rows.Err()
	})
}

func (b *batch) loadOriginals(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	err := inChunks(ids, 1, func(chunk []string) error {
		rows, err := b.tx.QueryContext(b.ctx, `SELECT id, institution_id, kind FROM transactions WHERE id`+
			inList(b.l.db.Dialect, len(chunk))+` ORDER BY id`+b.l.db.Dialect.ForUpdate(), inArgs(b.l.db.Dialect, chunk)...)
		if err != nil {
			return fmt.Errorf("load transactions to reverse: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			o := &origState{reversed: map[int]int64{}}
			var kind string
			if err := rows.Scan(&o.id, &o.inst, &kind); err != nil {
				return fmt.Errorf("load transactions to reverse: %w", err)
			}
			o.kind = Kind(kind)
			b.originals[o.id] = o
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	found := slices.Sorted(maps.Keys(b.originals))
	postings, err := loadPostings(b.ctx, b.l.db.Dialect, b.tx, found, EntryPosted)
	if err != nil {
		return err
	}
	for id, ps := range postings {
		b.originals[id].postings = ps
	}
	return inChunks(found, 1, func(chunk []string) error {
		rows, err := b.tx.QueryContext(b.ctx, `SELECT t.reverses_id, e.posting, SUM(e.amount)
			FROM transactions t JOIN entries e ON e.tx_id = t.id
			WHERE t.reverses_id`+inList(b.l.db.Dialect, len(chunk))+` AND e.side = 'D' AND e.kind = 'posted'
			GROUP BY t.reverses_id, e.posting`, inArgs(b.l.db.Dialect, chunk)...)
		if err != nil {
			return fmt.Errorf("load reversed amounts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var idx int
			var sum int64
			if err := rows.Scan(&id, &idx, &sum); err != nil {
				return fmt.Errorf("load reversed amounts: %w", err)
			}
			b.originals[id].reversed[idx] = sum
		}
		return rows.Err()
	})
}

func (b *batch) loadHolds(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	err := inChunks(ids, 1, func(chunk []string) error {
		rows, err := b.tx.QueryContext(b.ctx, `SELECT id, institution_id, status, expires_at, resolved_by, created_at
			FROM holds WHERE id`+inList(b.l.db.Dialect, len(chunk))+` ORDER BY id`+b.l.db.Dialect.ForUpdate(), inArgs(b.l.db.Dialect, chunk)...)
		if err != nil {
			return fmt.Errorf("load holds: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			h, err := scanHold(rows)
			if err != nil {
				return err
			}
			b.holds[h.id] = h
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	postings, err := loadPostings(b.ctx, b.l.db.Dialect, b.tx, slices.Sorted(maps.Keys(b.holds)), EntryPending)
	if err != nil {
		return err
	}
	for id, ps := range postings {
		b.holds[id].postings = ps
	}
	return nil
}

func scanHold(s scanner) (*holdState, error) {
	h := &holdState{}
	var expires sql.NullInt64
	var resolved sql.NullString
	if err := s.Scan(&h.id, &h.inst, &h.status, &expires, &resolved, &h.createdAt); err != nil {
		return nil, fmt.Errorf("scan hold: %w", err)
	}
	h.expiresAt, h.resolvedBy = expires.Int64, resolved.String
	return h, nil
}

// loadPostings rebuilds the postings of transactions from their entries of
// the given kind, in posting order.
func loadPostings(ctx context.Context, d store.Dialect, q queryer, txIDs []string, kind EntryKind) (map[string][]indexedPosting, error) {
	out := map[string][]indexedPosting{}
	err := inChunks(txIDs, 1, func(chunk []string) error {
		rows, err := q.QueryContext(ctx, `SELECT tx_id, posting, side, account_id, asset, amount FROM entries
			WHERE tx_id`+inList(d, len(chunk))+` AND kind = `+d.Placeholder(inArgCount(d, len(chunk))+1)+`
			ORDER BY tx_id, posting, side`, append(inArgs(d, chunk), string(kind))...)
		if err != nil {
			return fmt.Errorf("load postings: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, side, acct, asset string
			var idx int
			var amount int64
			if err := rows.Scan(&id, &idx, &side, &acct, &asset, &amount); err != nil {
				return fmt.Errorf("load postings: %w", err)
			}
			ps := out[id]
			if n := len(ps); n == 0 || ps[n-1].idx != idx {
				ps = append(ps, indexedPosting{idx: idx, Posting: Posting{Asset: asset, Amount: amount}})
			}
			if side == "D" {
				ps[len(ps)-1].Debit = acct
			} else {
				ps[len(ps)-1].Credit = acct
			}
			out[id] = ps
		}
		return rows.Err()
	})
	return out, err
}

// mark is a point the batch's in-memory state can be rolled back to.
type mark struct{ undo, txs, holds int }

func (b *batch) mark() mark { return mark{len(b.undo), len(b.txs), len(b.newHolds)} }

func (b *batch) rollback(m mark) {
	for i := len(b.undo) - 1; i >= m.undo; i-- {
		b.undo[i]()
	}
	b.undo, b.txs, b.newHolds = b.undo[:m.undo], b.txs[:m.txs], b.newHolds[:m.holds]
}

// savepoint opens a savepoint. Names are fixed per level (a job's around
// an atomic job, an item's around one request's writes), so that their
// statements are prepared once.
func (b *batch) savepoint(name string) error {
	if _, err := b.l.Tx(b.tx).ExecContext(b.ctx, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	return nil
}

// endSavepoint keeps or undoes what happened since the savepoint, and
// releases it either way (PostgreSQL counts open subtransactions).
func (b *batch) endSavepoint(name string, keep bool) error {
	stmts := []string{"RELEASE SAVEPOINT " + name}
	if !keep {
		stmts = []string{"ROLLBACK TO SAVEPOINT " + name, "RELEASE SAVEPOINT " + name}
	}
	for _, q := range stmts {
		if _, err := b.l.Tx(b.tx).ExecContext(b.ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

func (b *batch) applyJob(j *job) error {
	if j.write != nil {
		if err := b.savepoint("item"); err != nil {
			return err
		}
		j.writeErr = j.write(b.ctx, b.tx)
		return b.endSavepoint("item", j.writeErr == nil)
	}
	m := b.mark()
	sp := ""
	if j.atomic && hasWrites(j.reqs) {
		sp = "job"
		if err := b.savepoint(sp); err != nil {
			return err
		}
	}
	failed := false
	for i := range j.reqs {
		if j.invalid[i] != nil {
			failed = true
			continue
		}
		res, err := b.apply(&j.reqs[i])
		if err != nil {
			return err
		}
		j.results[i] = res
		if res.Err != nil {
			failed = true
			if j.atomic {
				break
			}
		}
	}
	if !j.atomic {
		return nil
	}
	if failed {
		b.rollback(m)
		abortOthers(j.results)
	}
	if sp != "" {
		return b.endSavepoint(sp, !failed)
	}
	return nil
}

func hasWrites(reqs []Request) bool {
	for i := range reqs {
		if len(reqs[i].Writes) > 0 {
			return true
		}
	}
	return false
}

// apply applies one request to the batch state. A rejection comes back in
// the Result; an error means the storage transaction itself failed.
func (b *batch) apply(r *Request) (Result, error) {
	key := refKey{r.InstitutionID, r.Reference}
	if s, ok := b.staged[key]; ok {
		if s.hash != r.hash {
			return rejected(conflict(r)), nil
		}
		return Result{Transaction: s.tr, Duplicate: true}, nil
	}
	if e, ok := b.existing[key]; ok {
		if e.hash != r.hash {
			return rejected(conflict(r)), nil
		}
		// Filled in by fillDuplicates once the batch is written.
		t := &Transaction{ID: e.id}
		b.dups[e.id] = append(b.dups[e.id], t)
		return Result{Transaction: t, Duplicate: true}, nil
	}
	m := b.mark()
	tr, rej := b.build(r)
	if rej == nil && len(r.Writes) > 0 {
		var err error
		if rej, err = b.runWrites(r, tr); err != nil {
			return Result{}, err
		}
	}
	if rej != nil {
		b.rollback(m)
		return rejected(rej), nil
	}
	b.txs = append(b.txs, tr)
	b.staged[key] = &staged{hash: r.hash, tr: tr}
	b.undo = append(b.undo, func() { delete(b.staged, key) })
	return Result{Transaction: tr}, nil
}

func rejected(e *Error) Result { return Result{Err: e} }

func conflict(r *Request) *Error {
	return fieldErr(CodeReferenceConflict, "reference",
		"reference %s was used before for a different request", r.Reference)
}

func (b *batch) runWrites(r *Request, tr *Transaction) (*Error, error) {
	const sp = "item"
	if err := b.savepoint(sp); err != nil {
		return nil, err
	}
	for _, w := range r.Writes {
		if werr := w(b.ctx, b.tx, tr); werr != nil {
			if err := b.endSavepoint(sp, false); err != nil {
				return nil, err
			}
			var e *Error
			if errors.As(werr, &e) {
				return e, nil
			}
			return &Error{Code: CodeWriteFailed, Message: "a write that rides along with this transaction failed", err: werr}, nil
		}
	}
	return nil, b.endSavepoint(sp, true)
}

// build validates r against the batch state and applies it, returning the
// transaction. On rejection the caller rolls the state back.
func (b *batch) build(r *Request) (*Transaction, *Error) {
	tr := &Transaction{
		InstitutionID: r.InstitutionID, Reference: r.Reference, Kind: r.Kind, Type: r.Type,
		BusinessDate: b.bizDate, Metadata: r.Metadata, HoldID: r.HoldID, ReversesID: r.TransactionID,
	}
	if tr.Metadata == nil {
		tr.Metadata = map[string]string{}
	}
	b.before = map[*Account]Balances{}
	if err := b.apply1(r, tr); err != nil {
		return nil, err
	}
	// No account may end the transaction outside its constraint if the
	// transaction lowered its available balance (compared with before the
	// whole transaction: posting a hold releases and posts in one).
	for a, was := range b.before {
		prev, err1 := was.Available(a.NormalSide)
		now, err2 := a.Available(a.NormalSide)
		if err1 == nil && err2 == nil && now >= prev {
			continue
		}
		if err := a.check(a.Balances); err != nil {
			return nil, err
		}
	}
	return tr, nil
}

// apply1 applies r's entries to the batch state by kind.
func (b *batch) apply1(r *Request, tr *Transaction) *Error {
	switch r.Kind {
	case KindTransfer, KindHold:
		ps := make([]indexedPosting, len(r.Postings))
		for i, p := range r.Postings {
			ps[i] = indexedPosting{i, p}
		}
		kind := EntryPosted
		if r.Kind == KindHold {
			kind = EntryPending
		}
		if err := b.checkLimits(r); err != nil {
			return err
		}
		if err := b.post(tr, ps, kind, true); err != nil {
			return err
		}
		if r.Kind == KindHold {
			h := &holdState{id: tr.ID, inst: tr.InstitutionID, status: "pending", postings: ps, createdAt: b.tsOf(tr)}
			if r.Timeout > 0 {
				h.expiresAt = h.createdAt + r.Timeout.Microseconds()
				tr.ExpiresAt = fromMicros(h.expiresAt)
			}
			b.newHolds = append(b.newHolds, h)
		}
		return nil
	case KindPost, KindVoid:
		return b.resolveHold(r, tr)
	case KindReversal:
		return b.reverse(r, tr)
	}
	return fieldErr(CodeInvalidRequest, "kind", "unknown kind %q", r.Kind)
}

func (b *batch) tsOf(tr *Transaction) int64 { return tr.CreatedAt.UnixMicro() }

// post checks the postings' accounts and applies one entry per side; the
// caller checks the overdraft rules once the whole request is applied.
// checkStatus is false when releasing a reservation, which is always allowed.
func (b *batch) post(tr *Transaction, ps []indexedPosting, kind EntryKind, checkStatus bool) *Error {
	floor := int64(0)
	for i, p := range ps {
		f := "postings[" + strconv.Itoa(i) + "]"
		for _, leg := range [2]struct {
			id   string
			side Side
		}{{p.Debit, Debit}, {p.Credit, Credit}} {
			a := b.accounts[leg.id]
			if a == nil {
				return fieldErr(CodeAccountNotFound, f+"."+string(leg.side), "account %s not found", leg.id)
			}
			if a.InstitutionID != tr.InstitutionID {
				return fieldErr(CodeInstitutionMismatch, f+"."+string(leg.side), "account %s belongs to another institution", leg.id)
			}
			if a.Asset != p.Asset {
				return fieldErr(CodeAssetMismatch, f+".asset", "account %s holds %s, not %s", leg.id, a.Asset, p.Asset)
			}
			if checkStatus {
				if err := a.Status.allows(leg.side); err != nil {
					err.Field = f + "." + string(leg.side)
					return err
				}
			}
			floor = max(floor, a.lastEntryAt)
		}
	}
	if tr.CreatedAt.IsZero() {
		ts := b.l.nextTs(b.nowUs, floor)
		tr.ID, tr.CreatedAt = txID(ts), fromMicros(ts)
	}
	for _, p := range ps {
		tr.Postings = append(tr.Postings, p.Posting)
		if err := b.entry(tr, b.accounts[p.Debit], p, Debit, kind); err != nil {
			return err
		}
		if err := b.entry(tr, b.accounts[p.Credit], p, Credit, kind); err != nil {
			return err
		}
	}
	return nil
}

// entry applies one journal line to an account, recording how to undo it.
func (b *batch) entry(tr *Transaction, a *Account, p indexedPosting, side Side, kind EntryKind) *Error {
	if _, seen := b.before[a]; !seen {
		b.before[a] = a.Balances
		saved, seq, last := a.Balances, a.EntrySeq, a.lastEntryAt
		b.undo = append(b.undo, func() { a.Balances, a.EntrySeq, a.lastEntryAt = saved, seq, last })
	}
	var field *int64
	switch {
	case kind == EntryPosted && side == Debit:
		field = &a.DebitsPosted
	case kind == EntryPosted:
		field = &a.CreditsPosted
	case side == Debit:
		field = &a.DebitsPending
	default:
		field = &a.CreditsPending
	}
	var err error
	if kind == EntryRelease {
		*field, err = money.Sub(*field, p.Amount)
		if err == nil && *field < 0 {
			panic(fmt.Sprintf("%v: release of %d exceeds pending on account %s", errInvariant, p.Amount, a.ID))
		}
	} else {
		*field, err = money.Add(*field, p.Amount)
	}
	if err != nil {
		return errorf(CodeOverflow, "account %s balance would overflow", a.ID)
	}
	a.EntrySeq++
	a.lastEntryAt = b.tsOf(tr)
	b.dirty[a.ID] = a
	tr.Entries = append(tr.Entries, Entry{
		AccountID: a.ID, Seq: a.EntrySeq, TransactionID: tr.ID, Posting: p.idx, Side: side, Kind: kind,
		Asset: p.Asset, Amount: p.Amount, After: a.Balances, CreatedAt: tr.CreatedAt,
	})
	return nil
}

// resolveHold posts or voids a hold.
func (b *batch) resolveHold(r *Request, tr *Transaction) *Error {
	h := b.holds[r.HoldID]
	if h == nil || h.inst != r.InstitutionID {
		return fieldErr(CodeHoldNotFound, "hold_id", "hold %s not found", r.HoldID)
	}
	switch h.status {
	case "posted":
		return fieldErr(CodeHoldAlreadyPosted, "hold_id", "hold %s was already posted", h.id)
	case "voided":
		return fieldErr(CodeHoldAlreadyVoided, "hold_id", "hold %s was already voided", h.id)
	case "expired":
		return fieldErr(CodeHoldExpired, "hold_id", "hold %s has expired", h.id)
	}
	expired := h.expiresAt != 0 && h.expiresAt <= b.nowUs
	if expired && !r.expire {
		return fieldErr(CodeHoldExpired, "hold_id", "hold %s expired at %s", h.id, fromMicros(h.expiresAt).Format("2006-01-02T15:04:05.000000Z"))
	}
	if r.expire && !expired {
		return fieldErr(CodeInvalidRequest, "hold_id", "hold %s has not expired", h.id)
	}
	// Release the whole reservation...
	if err := b.post(tr, h.postings, EntryRelease, false); err != nil {
		return err
	}
	status := "voided"
	if r.expire {
		status = "expired"
	}
	if r.Kind == KindPost {
		// ...and post what is asked, at most what was reserved.
		status = "posted"
		posted := make([]indexedPosting, len(h.postings))
		copy(posted, h.postings)
		if r.Amounts != nil {
			if len(r.Amounts) != len(posted) {
				return fieldErr(CodeInvalidRequest, "amounts", "hold %s has %d postings; give one amount for each", h.id, len(posted))
			}
			for i := range posted {
				if r.Amounts[i] > posted[i].Amount {
					return fieldErr(CodePostExceedsHold, "amounts["+strconv.Itoa(i)+"]",
						"cannot post %d: hold %s reserved %d", r.Amounts[i], h.id, posted[i].Amount)
				}
				posted[i].Amount = r.Amounts[i]
			}
		}
		tr.Postings = nil // a post's postings are what it posted
		if err := b.post(tr, posted, EntryPosted, true); err != nil {
			return err
		}
	}
	prev := *h
	h.status, h.resolvedBy, h.dirty = status, tr.ID, true
	b.undo = append(b.undo, func() { *h = prev })
	return nil
}

// reverse posts the mirror image of (part of) a posted transaction.
func (b *batch) reverse(r *Request, tr *Transaction) *Error {
	o := b.originals[r.TransactionID]
	if o == nil || o.inst != r.InstitutionID {
		return fieldErr(CodeTransactionNotFound, "transaction_id", "transaction %s not found", r.TransactionID)
	}
	if o.kind != KindTransfer && o.kind != KindPost && o.kind != KindReversal {
		return fieldErr(CodeNotReversible, "transaction_id", "a %s cannot be reversed; void a hold instead", o.kind)
	}
	if r.Amounts != nil && len(r.Amounts) != len(o.postings) {
		return fieldErr(CodeInvalidRequest, "amounts", "transaction %s has %d postings; give one amount for each", o.id, len(o.postings))
	}
	var mirror []indexedPosting
	for i, p := range o.postings {
		left := p.Amount - o.reversed[p.idx]
		amount := left
		if r.Amounts != nil {
			amount = r.Amounts[i]
			if amount > left {
				return fieldErr(CodeReversalExceedsOriginal, "amounts["+strconv.Itoa(i)+"]",
					"cannot reverse %d of posting %d: %d is left to reverse", amount, i, left)
			}
		}
		if amount > 0 {
			mirror = append(mirror, indexedPosting{p.idx, Posting{Debit: p.Credit, Credit: p.Debit, Asset: p.Asset, Amount: amount}})
		}
	}
	if len(mirror) == 0 {
		return fieldErr(CodeReversalExceedsOriginal, "transaction_id", "transaction %s is already fully reversed", o.id)
	}
	if err := b.post(tr, mirror, EntryPosted, true); err != nil {
		return err
	}
	prev := make(map[int]int64, len(o.reversed))
	for k, v := range o.reversed {
		prev[k] = v
	}
	for _, p := range mirror {
		o.reversed[p.idx] += p.Amount
	}
	b.undo = append(b.undo, func() { o.reversed = prev })
	return nil
}

// write stores the batch with bulk statements: the new transactions and
// entries, new and resolved holds, and one update per touched account
// (whatever number of entries the batch gave it: the batch read the row
// under lock, so the new totals are exact).
func (b *batch) write() error {
	if len(b.txs) == 0 {
		return nil
	}
	var txRows, entryRows, holdRows, holdUpdates [][]any
	for _, t := range b.txs {
		meta, err := json.Marshal(t.Metadata)
		if err != nil {
			return fmt.Errorf("encode metadata: %w", err)
		}
		txRows = append(txRows, []any{t.ID, t.InstitutionID, t.Reference, string(t.Kind), t.Type, t.BusinessDate,
			string(meta), nullable(t.HoldID), nullable(t.ReversesID), b.staged[refKey{t.InstitutionID, t.Reference}].hash,
			t.CreatedAt.UnixMicro()})
		for _, e := range t.Entries {
			side := "D"
			if e.Side == Credit {
				side = "C"
			}
			entryRows = append(entryRows, []any{e.AccountID, e.Seq, e.TransactionID, e.Posting, side, string(e.Kind),
				e.Asset, e.Amount, e.After.DebitsPosted, e.After.CreditsPosted, e.After.DebitsPending,
				e.After.CreditsPending, e.CreatedAt.UnixMicro()})
		}
	}
	for _, h := range b.newHolds {
		var exp any
		if h.expiresAt != 0 {
			exp = h.expiresAt
		}
		holdRows = append(holdRows, []any{h.id, h.inst, h.status, exp, nullable(h.resolvedBy), h.createdAt, h.createdAt})
	}
	for _, id := range slices.Sorted(maps.Keys(b.holds)) {
		if h := b.holds[id]; h.dirty {
			holdUpdates = append(holdUpdates, []any{h.status, h.resolvedBy, b.nowUs, h.id})
		}
	}
	accts := make([]*Account, 0, len(b.dirty))
	for _, a := range b.dirty {
		accts = append(accts, a)
	}
	slices.SortFunc(accts, func(x, y *Account) int { return strings.Compare(x.ID, y.ID) })
	acctRows := make([][]any, len(accts))
	for i, a := range accts {
		acctRows[i] = []any{a.ID, a.DebitsPosted, a.CreditsPosted, a.DebitsPending, a.CreditsPending, a.EntrySeq, a.lastEntryAt}
	}

	var updated int64
	if b.l.db.Dialect == store.Postgres {
		// One round trip for all of it.
		affected, err := store.PgxBatch(b.ctx, b.conn, func(pb *pgx.Batch) {
			pb.Queue(pgInsert(insertTransactions, transactionTypes), columns(txRows, transactionTypes)...)
			pb.Queue(pgInsert(insertEntries, entryTypes), columns(entryRows, entryTypes)...)
			if len(holdRows) > 0 {
				pb.Queue(pgInsert(insertHolds, holdTypes), columns(holdRows, holdTypes)...)
			}
			for _, u := range holdUpdates {
				pb.Queue(updateHold(store.Postgres), u...)
			}
			pb.Queue(pgUpdateAccounts, columns(acctRows, accountTypes)...)
		})
		if err != nil {
			return fmt.Errorf("write batch: %w", err)
		}
		updated = affected[len(affected)-1]
	} else {
		if err := b.l.insert(b.ctx, b.tx, insertTransactions, transactionTypes, txRows); err != nil {
			return fmt.Errorf("insert transactions: %w", err)
		}
		if err := b.l.insert(b.ctx, b.tx, insertEntries, entryTypes, entryRows); err != nil {
			return fmt.Errorf("insert entries: %w", err)
		}
		if err := b.l.insert(b.ctx, b.tx, insertHolds, holdTypes, holdRows); err != nil {
			return fmt.Errorf("insert holds: %w", err)
		}
		for _, u := range holdUpdates {
			if _, err := b.tx.ExecContext(b.ctx, updateHold(store.SQLite), u...); err != nil {
				return fmt.Errorf("update hold: %w", err)
			}
		}
		var err error
		if updated, err = b.l.updateAccounts(b.ctx, b.tx, acctRows); err != nil {
			return fmt.Errorf("update accounts: %w", err)
		}
	}
	if updated != int64(len(acctRows)) {
		return fmt.Errorf("%w: updated %d accounts, expected %d", errInvariant, updated, len(acctRows))
	}
	return nil
}

// fillDuplicates loads the original transactions that duplicate requests
// are answered with.
func (b *batch) fillDuplicates() error {
	if len(b.dups) == 0 {
		return nil
	}
	trs, err := b.l.loadTransactions(b.ctx, b.tx, slices.Sorted(maps.Keys(b.dups)))
	if err != nil {
		return err
	}
	for id, ts := range b.dups {
		for _, t := range ts {
			*t = *trs[id]
		}
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func dedupe(xs []string) []string {
	slices.Sort(xs)
	return slices.Compact(xs)
}
