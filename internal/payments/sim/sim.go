// Package sim is a payment channel simulator: an HTTP server that speaks
// the dialect of every channel kind in package channel, keeps its own
// record of every order it has seen, and fails the way real channels do. It
// runs in-process under httptest for tests and standalone behind `suanpan
// sim channel` for development.
//
// The simulator answers asynchronously (accepts an order, decides it after
// a delay and posts a signed callback, retrying with backoff while the
// receiver fails), answers late (after the client has given up, with the
// order recorded), drops requests without recording them, fails orders
// definitely with realistic codes, sends duplicate, out-of-order and badly
// signed callbacks, goes down for windows of time, and writes each kind's
// daily statement file. Like a real channel it is idempotent by the
// merchant's order ID — a repeated start is answered with the order it has,
// never decided or paid again — and, given a data directory
// (Config.Dir), it does not forget: every order it acknowledges is in its
// journal before the answer goes out, and a simulator started again on the
// directory carries on with every order.
//
// Each order's fate is a hash of the seed, the kind and the order ID, never
// a draw from a shared random source, so one seed and one set of order IDs
// give the same outcomes however requests interleave. Time comes from the
// configured clock; tests move a fake clock and call Step, or call Settle
// and Flush, instead of sleeping.
//
// The simulator implements each dialect independently of package
// channel's adapters, so a round trip checks two readings of one
// specification. It must never be used as a real channel, and its
// secrets, derived from the seed unless configured, are not secret.
package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/payments/channel"
)

// Config says how a simulator behaves. Rates are per order (or per start
// attempt, for TimeoutRate; per delivery, for BadSignatureRate).
type Config struct {
	// Seed decides every order's fate together with its kind and ID.
	Seed int64

	// FailRate: the channel refuses the order definitely, with one of its
	// kind's failure codes.
	FailRate Rate
	// TimeoutRate: a start is dropped unrecorded; the client times out (or,
	// after HoldFor, sees its connection closed by an http.ErrAbortHandler
	// panic, so serve the simulator with an http.Server) and a later query
	// finds nothing. Each attempt draws afresh.
	TimeoutRate Rate
	// LateRate: the order is recorded, but the answer comes after the
	// client has given up.
	LateRate Rate
	// PendingRate: a pos_card transaction is left pending, decided later
	// and called back about, instead of answered at once.
	PendingRate Rate
	// DropCallbackRate: no callback at all; only a query or the statement
	// tells.
	DropCallbackRate Rate
	// DuplicateCallbackRate: the final callback is sent twice.
	DuplicateCallbackRate Rate
	// OutOfOrderRate: a stale "processing" callback follows the final one.
	OutOfOrderRate Rate
	// BadSignatureRate: a callback delivery is signed with the wrong key.
	BadSignatureRate Rate

	// MinDelay and MaxDelay bound the delay between accepting an
	// asynchronous order and deciding it.
	MinDelay, MaxDelay time.Duration
	// ClearingDelay is how long a cheque takes to clear or bounce; zero
	// means MaxDelay.
	ClearingDelay time.Duration
	// HoldFor is the longest a dropped or late answer holds its connection
	// when the client does not give up first; zero means one minute.
	HoldFor time.Duration

	// DownEvery and DownFor make the channel answer 503 to everything for
	// DownFor at the start of every DownEvery of clock time. SetDown forces
	// it.
	DownEvery, DownFor time.Duration

	// MerchantID is the merchant number the channel knows us by; empty
	// means "suanpan".
	MerchantID string
	// Secrets are the signing keys per kind; a missing one is derived from
	// the seed.
	Secrets map[channel.Kind]string

	// Clock tells the time; nil means clock.Real.
	Clock clock.Clock
	// Client posts callbacks; nil means one with a ten-second timeout.
	Client *http.Client
	// Deliverers bounds the callbacks delivered at once (to different
	// orders; one order's go one after another); default 16.
	Deliverers int
	// Interval, when positive, runs Step that often in the background until
	// Close. Zero leaves stepping to the caller, as tests do.
	Interval time.Duration

	// Dir, when set, is where the simulator keeps its orders durably (the
	// journal JournalFile, created when missing): every order it
	// acknowledges is on disk before the answer goes out, so a simulator
	// started again on the same Dir knows every order the last one did and
	// answers a repeated start with the order it has, as a real channel
	// answers a duplicate merchant order ID. Empty keeps orders in memory
	// only, forgotten at Close. One simulator at a time may use a Dir.
	Dir string
}

// Defaults.
const (
	defaultMerchant = "suanpan"
	defaultHoldFor  = time.Minute
	callbackTimeout = 10 * time.Second
	// maxRequestBytes bounds a request body.
	maxRequestBytes = 64 << 10
)

// Order is a snapshot of the simulator's record of one order.
type Order struct {
	Kind      channel.Kind
	ID        string
	Direction channel.Direction
	Amount    int64
	Asset     string
	Party     string
	PartyName string
	Original  string
	// CallbackURL is where callbacks go; empty for none.
	CallbackURL string
	Memo        string
	// Ref is the channel's own transaction number.
	Ref string
	// Status only moves forward: Processing, then Succeeded or Failed.
	Status  channel.Status
	Code    string
	Message string
	// Fee is charged on success.
	Fee int64
	// AcceptedAt is when the order was first recorded, DueAt when it is to
	// be decided and DecidedAt when it was.
	AcceptedAt, DueAt, DecidedAt time.Time
	// Starts counts start requests for the order, Queries the queries.
	Starts, Queries int
	// Late is set when the first answer was held past the client's
	// timeout.
	Late bool
	// CallbacksDropped is set when the channel decided not to call back.
	CallbacksDropped bool
	// Deliveries lists every callback delivery attempt, in order.
	Deliveries []Delivery
}

// Stats counts what a simulator has done.
type Stats struct {
	Requests int // every HTTP request
	Down     int // answered 503
	Rejected int // refused as malformed or badly signed
	Starts   int // start requests, repeats included
	Repeats  int // starts of an order already recorded
	Dropped  int // starts dropped unrecorded
	Late     int // orders answered late
	Queries  int
	Orders   int // orders recorded
	// Processing, Succeeded and Failed count orders by current status.
	Processing, Succeeded, Failed int
	Callbacks                     int // delivery attempts
	CallbacksDelivered            int
	CallbacksAbandoned            int // given up after every retry
	BadSignatures                 int // deliveries signed with the wrong key
	// Restored counts the orders read from Config.Dir at start.
	Restored int
	// JournalErrors counts records of decisions and deliveries that could
	// not be written to Config.Dir (an order that cannot be written is not
	// acknowledged: its start is answered 500).
	JournalErrors int
}

// Server is a running simulator. It is an http.Handler serving each kind
// under /{kind}/, e.g. /qr_wallet/pay/unifiedorder, and each kind's
// statement at GET /{kind}/statement?date=YYYY-MM-DD.
type Server struct {
	cfg      Config
	clock    clock.Clock
	client   *http.Client
	dialects map[channel.Kind]*dialect

	ctx    context.Context // ends at Close, releasing held connections
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	down   bool
	orders map[key]*order
	// active are the orders Step must look at: undecided, or with
	// callbacks to deliver. It keeps stepping cheap however many orders
	// the simulator has seen.
	active map[key]*order
	drops  map[key]int // start attempts dropped, per order never recorded
	stats  Stats
	// journal keeps the orders when Config.Dir is set; nil otherwise.
	journal *journal
}

var _ http.Handler = (*Server)(nil)

// key names an order: order IDs are unique per kind.
type key struct {
	kind channel.Kind
	id   string
}

// order is the simulator's record of an order.
type order struct {
	Order
	fate    fate
	fee     int64 // charged if it succeeds
	pending []*callback
}

// New returns a simulator configured by cfg, running its background
// stepping if cfg.Interval is positive. Close it when done.
func New(cfg Config) (*Server, error) {
	for name, r := range map[string]Rate{"fail": cfg.FailRate, "timeout": cfg.TimeoutRate, "late": cfg.LateRate,
		"pending": cfg.PendingRate, "drop callback": cfg.DropCallbackRate, "duplicate callback": cfg.DuplicateCallbackRate,
		"out of order": cfg.OutOfOrderRate, "bad signature": cfg.BadSignatureRate} {
		if !r.valid() {
			return nil, fmt.Errorf("sim: %s rate %d is outside 0..%d", name, int(r), int(Always))
		}
	}
	if cfg.MinDelay < 0 || cfg.MaxDelay < cfg.MinDelay || cfg.ClearingDelay < 0 || cfg.HoldFor < 0 || cfg.Interval < 0 {
		return nil, errors.New("sim: delays must be non-negative, with MinDelay ≤ MaxDelay")
	}
	if cfg.DownEvery < 0 || cfg.DownFor < 0 || (cfg.DownFor > 0 && cfg.DownFor >= cfg.DownEvery) {
		return nil, errors.New("sim: DownFor must be shorter than DownEvery")
	}
	if cfg.ClearingDelay == 0 {
		cfg.ClearingDelay = cfg.MaxDelay
	}
	if cfg.HoldFor == 0 {
		cfg.HoldFor = defaultHoldFor
	}
	if cfg.Deliverers <= 0 {
		cfg.Deliverers = 16
	}
	if cfg.MerchantID == "" {
		cfg.MerchantID = defaultMerchant
	}
	secrets := map[channel.Kind]string{}
	for k, v := range cfg.Secrets {
		if _, err := channel.ParseKind(string(k)); err != nil || v == "" {
			return nil, fmt.Errorf("sim: secret for %q: unknown kind or empty", k)
		}
		secrets[k] = v
	}
	cfg.Secrets = secrets
	s := &Server{cfg: cfg, clock: cfg.Clock, client: cfg.Client, dialects: map[channel.Kind]*dialect{},
		orders: map[key]*order{}, active: map[key]*order{}, drops: map[key]int{}}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	if s.client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = cfg.Deliverers // one kept-alive connection per deliverer
		s.client = &http.Client{Timeout: callbackTimeout, Transport: t}
	}
	for _, k := range channel.Kinds() {
		if cfg.Secrets[k] == "" {
			sum := sha256.Sum256([]byte(strconv.FormatInt(cfg.Seed, 10) + "/" + string(k)))
			cfg.Secrets[k] = "sim_" + hex.EncodeToString(sum[:12])
		}
		d, err := newDialect(k, wire{merchant: cfg.MerchantID, secret: cfg.Secrets[k], clock: s.clock})
		if err != nil {
			return nil, err
		}
		s.dialects[k] = d
	}
	if cfg.Dir != "" {
		j, entries, err := openJournal(cfg.Dir)
		if err != nil {
			return nil, err
		}
		s.journal = j
		s.restore(entries)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.Interval > 0 {
		s.wg.Go(s.loop)
	}
	return s, nil
}

// restore takes the orders read from the journal: the undecided ones are
// decided when they fall due, and those still owed a callback get their
// final one again.
func (s *Server) restore(entries []entry) {
	now := s.clock.Now()
	for _, e := range entries {
		k := key{e.Order.Kind, e.Order.ID}
		if e.Order.Status == "" {
			s.drops[k] = e.Dropped
			continue
		}
		o := &order{Order: e.Order, fate: e.Fate.fate(), fee: e.Fee}
		s.orders[k] = o
		if e.Owed && o.Status.Final() {
			o.pending = []*callback{{status: o.Status, due: now}}
		}
		if o.Status == channel.Processing || len(o.pending) > 0 {
			s.active[k] = o
		}
	}
	s.stats.Restored = len(s.orders)
}

// record writes o's record to the journal, if there is one. s.mu is held.
func (s *Server) record(o *order) error {
	if s.journal == nil {
		return nil
	}
	err := s.journal.write(o)
	if err != nil {
		s.stats.JournalErrors++
	}
	return err
}

// sync makes the journal's records durable, if there is a journal.
func (s *Server) sync() error {
	if s.journal == nil {
		return nil
	}
	return s.journal.sync()
}

// loop steps every Interval until Close.
func (s *Server) loop() {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.Step()
		}
	}
}

// Close stops the background stepping and any callback delivery, releases
// held connections and waits for them, and closes the journal. It is safe
// to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	if s.journal == nil {
		return nil
	}
	return s.journal.close()
}

// MerchantID is the merchant number the simulator knows us by.
func (s *Server) MerchantID() string { return s.cfg.MerchantID }

// Secret returns kind k's signing key.
func (s *Server) Secret(k channel.Kind) string { return s.cfg.Secrets[k] }

// ChannelConfig returns the adapter configuration for kind k of the
// simulator served at baseURL (e.g. an httptest.Server's URL), with the
// simulator's clock.
func (s *Server) ChannelConfig(baseURL string, k channel.Kind) channel.Config {
	return channel.Config{Kind: k, Endpoint: strings.TrimRight(baseURL, "/") + "/" + string(k),
		MerchantID: s.cfg.MerchantID, Secret: s.cfg.Secrets[k], Clock: s.clock}
}

// SetDown forces the channel down (every request answered 503) or lets
// it follow DownEvery and DownFor again.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// isDown reports whether the channel is down at now. s.mu is held.
func (s *Server) isDown(now time.Time) bool {
	if s.down {
		return true
	}
	return s.cfg.DownFor > 0 && time.Duration(now.UnixNano())%s.cfg.DownEvery < s.cfg.DownFor
}

// Order returns the record of kind k's order id.
func (s *Server) Order(k channel.Kind, id string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[key{k, id}]
	if !ok {
		return Order{}, false
	}
	return o.snapshot(), true
}

// Orders returns the records of every order, by kind and ID.
func (s *Server) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Order, 0, len(s.orders))
	for _, o := range s.orders {
		out = append(out, o.snapshot())
	}
	slices.SortFunc(out, func(a, b Order) int {
		return strings.Compare(string(a.Kind)+"\x00"+a.ID, string(b.Kind)+"\x00"+b.ID)
	})
	return out
}

// Stats returns what the simulator has done so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Orders = len(s.orders)
	for _, o := range s.orders {
		switch o.Status {
		case channel.Processing:
			st.Processing++
		case channel.Succeeded:
			st.Succeeded++
		case channel.Failed:
			st.Failed++
		}
	}
	return st
}

// snapshot copies o's public record.
func (o *order) snapshot() Order {
	v := o.Order
	v.Deliveries = slices.Clone(o.Deliveries)
	return v
}

// ServeHTTP answers a request in its kind's dialect.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	k, err := channel.ParseKind(kind)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	d := s.dialects[k]
	now := s.clock.Now()
	s.mu.Lock()
	s.stats.Requests++
	down := s.isDown(now)
	if down {
		s.stats.Down++
	}
	s.mu.Unlock()
	if down {
		http.Error(w, "channel down for maintenance", http.StatusServiceUnavailable)
		return
	}
	if rest == "statement" && r.Method == http.MethodGet {
		s.serveStatement(w, r, k)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	o, in, rej := d.decode("/"+rest, r, body)
	if rej != nil {
		s.mu.Lock()
		s.stats.Rejected++
		s.mu.Unlock()
		d.reject(w, rej)
		return
	}
	if o.query {
		d.reply(w, o, s.query(k, in))
		return
	}
	s.start(w, r, k, d, o, in)
}

// query answers a query: the order's record, or NotFound.
func (s *Server) query(k channel.Kind, in inbound) Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Queries++
	o, ok := s.orders[key{k, in.id}]
	if !ok || (in.dir != "" && o.Direction != in.dir) {
		return Order{Kind: k, ID: in.id, Direction: in.dir, Status: channel.NotFound}
	}
	o.Queries++
	return o.snapshot()
}

// start records a new order (or finds the one already started) and
// answers, unless the request is dropped; a late answer is held until the
// client gives up.
func (s *Server) start(w http.ResponseWriter, r *http.Request, k channel.Kind, d *dialect, asked op, in inbound) {
	now := s.clock.Now()
	s.mu.Lock()
	s.stats.Starts++
	id := key{k, in.id}
	if o, ok := s.orders[id]; ok {
		o.Starts++
		s.stats.Repeats++
		v := o.snapshot()
		s.mu.Unlock()
		d.reply(w, asked, v)
		return
	}
	attempt := s.drops[id] + 1
	if s.chance(s.cfg.TimeoutRate, k, in.id, "drop", attempt) {
		s.drops[id] = attempt
		s.stats.Dropped++
		if s.journal != nil && s.journal.append(entry{Order: Order{Kind: k, ID: in.id}, Dropped: attempt}) != nil {
			s.stats.JournalErrors++
		}
		s.mu.Unlock()
		s.hold(r.Context())
		panic(http.ErrAbortHandler) // close the connection without an answer
	}
	o, rej := s.accept(k, d, in, now)
	if rej != nil {
		s.stats.Rejected++
		s.mu.Unlock()
		d.reject(w, rej)
		return
	}
	if err := s.record(o); err != nil {
		// Not kept, so not acknowledged: the client hears of a failure
		// and the order is not known.
		delete(s.orders, id)
		delete(s.active, id)
		s.mu.Unlock()
		d.reject(w, &rejection{status: http.StatusInternalServerError, code: "SYSTEMERROR", message: "order not recorded"})
		return
	}
	v := o.snapshot()
	if v.Late {
		s.stats.Late++
	}
	s.mu.Unlock()
	if err := s.sync(); err != nil {
		// Recorded but perhaps not durably: no acknowledgement; a query
		// finds the order while this simulator runs.
		d.reject(w, &rejection{status: http.StatusInternalServerError, code: "SYSTEMERROR", message: "order not recorded"})
		return
	}
	if v.Late {
		s.hold(r.Context())
	}
	d.reply(w, asked, v)
}

// hold waits until the client gives up, the simulator closes or HoldFor
// passes.
func (s *Server) hold(ctx context.Context) {
	t := time.NewTimer(s.cfg.HoldFor)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-s.ctx.Done():
	case <-t.C:
	}
}

// accept records a new order and decides it at once if its kind answers
// synchronously or it is a refund the channel refuses. s.mu is held.
func (s *Server) accept(k channel.Kind, d *dialect, in inbound, now time.Time) (*order, *rejection) {
	fee, err := d.fees.charge(in.dir, in.amount)
	if err != nil {
		return nil, &rejection{status: http.StatusBadRequest, code: "AMOUNT", message: err.Error()}
	}
	f := s.fate(k, d, in.id, in.dir)
	o := &order{fate: f, fee: fee, Order: Order{Kind: k, ID: in.id, Direction: in.dir, Amount: in.amount, Asset: in.asset,
		Party: in.party, PartyName: in.partyName, Original: in.original, CallbackURL: in.callbackURL, Memo: in.memo,
		Ref: d.ref(s.draw(k, in.id, "ref", 0)), Status: channel.Processing, AcceptedAt: now, DueAt: now.Add(f.delay),
		Starts: 1, Late: f.late}}
	s.orders[key{k, in.id}] = o
	s.active[key{k, in.id}] = o
	switch {
	case in.dir == channel.Refund && !s.refundable(k, in):
		o.fate.fail, o.fate.failure = true, d.refused
		s.decide(o, now, false)
	case d.mode == answerAtOnce, d.mode == answerMostlyAtOnce && !f.pending:
		s.decide(o, now, false)
	}
	return o, nil
}

// refundable reports whether in may refund its original: a succeeded
// pay-in of the same kind and asset, not refunded beyond its amount by
// refunds that have not failed. s.mu is held.
func (s *Server) refundable(k channel.Kind, in inbound) bool {
	orig, ok := s.orders[key{k, in.original}]
	if !ok || orig.Direction != channel.PayIn || orig.Status != channel.Succeeded || orig.Asset != in.asset {
		return false
	}
	left := orig.Amount - in.amount
	for _, o := range s.orders {
		if o.Kind == k && o.Direction == channel.Refund && o.Original == in.original && o.ID != in.id && o.Status != channel.Failed {
			left -= o.Amount
		}
	}
	return left >= 0
}

// decide settles o by its fate, unless it is settled, and queues its
// callbacks if notify. It reports whether it decided o. s.mu is held.
func (s *Server) decide(o *order, now time.Time, notify bool) bool {
	if o.Status.Final() {
		return false
	}
	if o.fate.fail {
		o.Status, o.Code, o.Message = channel.Failed, o.fate.failure.code, o.fate.failure.message
	} else {
		o.Status, o.Fee = channel.Succeeded, o.fee
	}
	o.DecidedAt = now
	if notify {
		s.queueCallbacks(o, now)
	}
	return true
}

// sortedActive returns the active orders by kind and ID, dropping those
// that no longer need stepping. s.mu is held.
func (s *Server) sortedActive() []*order {
	keys := slices.SortedFunc(maps.Keys(s.active), compareKeys)
	out := make([]*order, 0, len(keys))
	for _, k := range keys {
		o := s.active[k]
		if o.Status != channel.Processing && len(o.pending) == 0 {
			delete(s.active, k)
			continue
		}
		out = append(out, o)
	}
	return out
}

func compareKeys(a, b key) int {
	if c := strings.Compare(string(a.kind), string(b.kind)); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

// sortedOrders returns the orders by kind and ID, so that stepping is
// deterministic. s.mu is held.
func (s *Server) sortedOrders() []*order {
	keys := slices.SortedFunc(maps.Keys(s.orders), compareKeys)
	out := make([]*order, len(keys))
	for i, k := range keys {
		out[i] = s.orders[k]
	}
	return out
}
