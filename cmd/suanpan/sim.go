package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
)

// SimCmd groups the simulators of the outside world that Suanpan talks to.
type SimCmd struct {
	Channel SimChannelCmd `cmd:"" help:"Run the payment channel simulator until interrupted: every channel kind's dialect, with faults."`
}

// SimChannelCmd runs the payment channel simulator standalone.
type SimChannelCmd struct {
	Addr string `default:"127.0.0.1:8700" help:"Address to listen on, host:port."`
	Seed int64  `default:"1" help:"Seed of every order's fate: one seed and one set of order IDs give the same outcomes."`

	FailRate              sim.Rate `name:"fail-rate" default:"0" placeholder:"FRACTION" help:"Share of orders refused definitely, e.g. 0.05."`
	TimeoutRate           sim.Rate `name:"timeout-rate" default:"0" placeholder:"FRACTION" help:"Share of start attempts dropped unrecorded (the client times out)."`
	LateRate              sim.Rate `name:"late-rate" default:"0" placeholder:"FRACTION" help:"Share of orders recorded but answered after --hold-for or the client's timeout."`
	PendingRate           sim.Rate `name:"pending-rate" default:"0.2" placeholder:"FRACTION" help:"Share of card transactions left pending and called back about later."`
	DropCallbackRate      sim.Rate `name:"drop-callback-rate" default:"0" placeholder:"FRACTION" help:"Share of orders never called back about."`
	DuplicateCallbackRate sim.Rate `name:"duplicate-callback-rate" default:"0" placeholder:"FRACTION" help:"Share of orders whose final callback is sent twice."`
	OutOfOrderRate        sim.Rate `name:"out-of-order-rate" default:"0" placeholder:"FRACTION" help:"Share of orders followed by a stale processing callback."`
	BadSignatureRate      sim.Rate `name:"bad-signature-rate" default:"0" placeholder:"FRACTION" help:"Share of callback deliveries signed with the wrong key."`

	MinDelay      time.Duration `name:"min-delay" default:"1s" help:"Shortest delay before an asynchronous order is decided."`
	MaxDelay      time.Duration `name:"max-delay" default:"5s" help:"Longest delay before an asynchronous order is decided."`
	ClearingDelay time.Duration `name:"clearing-delay" default:"1m" help:"How long a cheque takes to clear or bounce."`
	HoldFor       time.Duration `name:"hold-for" default:"1m" help:"Longest a dropped or late answer holds its connection."`
	DownEvery     time.Duration `name:"down-every" default:"0s" help:"Go down (answer 503) at the start of every such period; 0: never."`
	DownFor       time.Duration `name:"down-for" default:"0s" help:"How long each down window lasts."`

	Merchant     string            `default:"suanpan" help:"Merchant number the channels know Suanpan by."`
	Secret       map[string]string `placeholder:"KIND=SECRET" help:"A channel kind's signing key; repeat for more. Kinds not given get a key derived from --seed (printed at start)."`
	StatementDir string            `name:"statement-dir" type:"existingdir" placeholder:"DIR" help:"Directory to write each kind's daily statement file into, at day end and at shutdown."`
	Data         string            `name:"data" xor:"data" placeholder:"DIR" help:"Directory where the simulator keeps every order it acknowledges (orders.jsonl), created when missing, so that a restart forgets none, as no real channel does. Default: suanpan-sim in the system's temporary directory."`
	Memory       bool              `name:"memory" xor:"data" help:"Keep the orders in memory only: a restart forgets them (and a repeated start is then a new order)."`
}

// simDataDir is the default of --data.
func simDataDir() string { return filepath.Join(os.TempDir(), "suanpan-sim") }

// Run serves the simulator until ctx ends, after printing where each
// channel kind is and its merchant and key.
func (c *SimChannelCmd) Run(ctx context.Context, a *app) error {
	secrets := map[channel.Kind]string{}
	for name, secret := range c.Secret {
		k, err := channel.ParseKind(name)
		if err != nil {
			return fmt.Errorf("--secret: %w", err)
		}
		secrets[k] = secret
	}
	dir := c.Data
	switch {
	case c.Memory:
		dir = ""
	case dir == "":
		dir = simDataDir()
	}
	m := &sim.Main{
		Config: sim.Config{Seed: c.Seed, FailRate: c.FailRate, TimeoutRate: c.TimeoutRate, LateRate: c.LateRate,
			PendingRate: c.PendingRate, DropCallbackRate: c.DropCallbackRate, DuplicateCallbackRate: c.DuplicateCallbackRate,
			OutOfOrderRate: c.OutOfOrderRate, BadSignatureRate: c.BadSignatureRate, MinDelay: c.MinDelay, MaxDelay: c.MaxDelay,
			ClearingDelay: c.ClearingDelay, HoldFor: c.HoldFor, DownEvery: c.DownEvery, DownFor: c.DownFor,
			MerchantID: c.Merchant, Secrets: secrets, Dir: dir},
		StatementDir: c.StatementDir,
		Log:          a.log,
	}
	ln, err := listen(c.Addr)
	if err != nil {
		return err
	}
	return m.Run(ctx, ln, func(s *sim.Server) {
		printSim(a.stdout, baseURL("http", ln.Addr()), s, dir)
		if a.listening != nil {
			a.listening(ln.Addr())
		}
	})
}

// printSim prints the simulator's URL, where it keeps its orders (dir;
// empty: nowhere) and, per kind, the adapter settings that reach it. The
// keys are the simulator's, printed for the operator to configure; they
// guard nothing real.
func printSim(w io.Writer, url string, s *sim.Server, dir string) {
	fmt.Fprintf(w, "Suanpan channel simulator at %s (merchant %s)\n", url, s.MerchantID())
	if dir == "" {
		fmt.Fprintf(w, "Orders kept in memory only: a restart forgets them.\n\n")
	} else {
		fmt.Fprintf(w, "Orders kept in %s: %d from earlier runs.\n\n", filepath.Join(dir, sim.JournalFile), s.Stats().Restored)
	}
	fmt.Fprintf(w, "%-14s %-44s %s\n", "kind", "endpoint", "secret")
	for _, k := range channel.Kinds() {
		cfg := s.ChannelConfig(url, k)
		fmt.Fprintf(w, "%-14s %-44s %s\n", k, cfg.Endpoint, cfg.Secret)
	}
	fmt.Fprintf(w, "\nStatements: %s/{kind}/statement?date=YYYY-MM-DD\n", url)
}
