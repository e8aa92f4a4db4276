// Command suanpan is Suanpan's one binary: it serves the API (and a demo
// with sample data), migrates and verifies the store and its audit log,
// measures the ledger and the server, and talks to a running server through
// the client commands.
//
// main only wires the process to run: everything else — parsing, settings,
// the commands — takes its arguments, writers and context explicitly, so the
// tests drive the real command line in-process. Only main exits.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/alecthomas/kong"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// Exit statuses. 1 is kept for a command that ran to the end and found
// something wrong (verify's problems), so scripts can tell it from a failure
// to run at all.
const (
	exitOK       = 0
	exitProblems = 1
	exitError    = 2
)

// errProblems is returned by a command that has already reported the problems
// it found; run exits with exitProblems without printing anything more.
var errProblems = errors.New("problems found")

// CLI is the command line: the global settings, then one field per command.
// A command's Run method does its work.
//
// The settings that locate the server's store live in StoreFlags, embedded by
// the commands that work on that store, not here: `bench` has a --store of
// its own that must never default to, or be configured as, the server's
// store. `serve` and the store commands embed StoreFlags; the client
// commands embed client, which locates the server instead.
type CLI struct {
	Config    kong.ConfigFlag `env:"SUANPAN_CONFIG" placeholder:"FILE" help:"JSON file of settings, keyed by flag name with _ for - (store, sqlite_synchronous, log_level, ...). Flags override environment variables, which override the file."`
	LogFormat string          `enum:"text,json" default:"text" env:"SUANPAN_LOG_FORMAT" help:"Log format on stderr: text or json."`
	LogLevel  string          `enum:"debug,info,warn,error" default:"info" env:"SUANPAN_LOG_LEVEL" help:"Least severe level logged: debug, info, warn or error."`

	Serve      ServeCmd      `cmd:"" help:"Serve the API until interrupted." group:"Server"`
	Demo       DemoCmd       `cmd:"" help:"Serve the API on a local store seeded with sample data, and print how to try it." group:"Server"`
	Migrate    MigrateCmd    `cmd:"" help:"Apply pending schema migrations to the store." group:"Server"`
	Verify     VerifyCmd     `cmd:"" help:"Check the ledger against its journal. Exit status 0: consistent; 1: problems found; 2: error." group:"Server"`
	Check      CheckCmd      `cmd:"" help:"Run the total-score check and trial balance and store the runs. Exit status 0: no difference; 1: differences; 2: error." group:"Server"`
	RotateKeys RotateKeysCmd `cmd:"" name:"rotate-keys" help:"Re-encrypt customers' identity fields under the current --encryption-keys key and rebuild their index." group:"Server"`
	Statements StatementsCmd `cmd:"" help:"Customer statements: the monthly job." group:"Server"`
	Audit      AuditCmd      `cmd:"" help:"Check the audit log." group:"Server"`
	Bench      BenchCmd      `cmd:"" help:"Measure performance on this machine." group:"Server"`
	Version    VersionCmd    `cmd:"" help:"Print the version of suanpan and of the Go it was built with." group:"Server"`
	Sim        SimCmd        `cmd:"" help:"Run simulators of the outside world (payment channels) for development and tests." group:"Server"`
	EOD        EODCmd        `cmd:"" name:"eod" help:"End of day: close a business day on the store (run, show), or follow it on a running server (status, reports)." group:"Server"`

	Accounts     AccountsCmd     `cmd:"" help:"List, open, freeze, thaw and close accounts on a running server." group:"Client"`
	Balance      BalanceCmd      `cmd:"" help:"Show an account's balances, now or as of a time." group:"Client"`
	Entries      EntriesCmd      `cmd:"" help:"Show an account's journal entries with running balances." group:"Client"`
	Transfer     TransferCmd     `cmd:"" help:"Move an amount from one account to another." group:"Client"`
	Hold         HoldCmd         `cmd:"" help:"Place, post and void holds." group:"Client"`
	Reverse      ReverseCmd      `cmd:"" help:"Reverse a posted transaction." group:"Client"`
	Transactions TransactionsCmd `cmd:"" help:"Look up transactions." group:"Client"`
	Customers    CustomersCmd    `cmd:"" help:"Create, show and list customers." group:"Client"`
	Products     ProductsCmd     `cmd:"" help:"Create, list and show account products and their versions." group:"Client"`
	Institutions InstitutionsCmd `cmd:"" help:"Create, list and show institutions." group:"Client"`
	Keys         KeysCmd         `cmd:"" help:"Create, list and revoke API keys." group:"Client"`
	Assets       AssetsCmd       `cmd:"" help:"Register, list and show assets." group:"Client"`
	Ops          OpsCmd          `cmd:"" help:"Account operations: top up, pay, transfer, refund and withdraw." group:"Client"`
	Payments     PaymentsCmd     `cmd:"" help:"Payment channels, orders and bulk order files." group:"Client"`
	Jobs         JobsCmd         `cmd:"" help:"Watch, retry and cancel scheduled jobs." group:"Client"`
	Webhooks     WebhooksCmd     `cmd:"" help:"Webhook subscriptions and their deliveries." group:"Client"`
	Recon        ReconCmd        `cmd:"" help:"Reconcile channels' statements with payment orders, and decide the discrepancies." group:"Client"`
}

// app is what a command runs with besides its own flags: where to write and
// how to log. run builds it from the parsed global settings, so no command
// reaches for os.Stdout or a global logger.
type app struct {
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger

	// listening, when set, learns the address a server command listens on
	// once it accepts connections, so that tests can start one on port 0.
	listening func(net.Addr)
}

// run is the whole program but the exit: it parses args, runs the chosen
// command until it ends or the process is interrupted (SIGINT, SIGTERM) and
// returns the exit status. It never calls os.Exit.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, args, &app{stdout: stdout, stderr: stderr})
}

// runContext is run with the context that ends the command given, and with
// a's writers and hooks; it sets a.log from the global settings.
func runContext(ctx context.Context, args []string, a *app) int {
	var cli CLI
	parser, err := newParser(&cli, a.stdout, a.stderr)
	if err != nil {
		fmt.Fprintf(a.stderr, "suanpan: %v\n", err) // a bug in the CLI definition
		return exitError
	}
	kctx, code, ok := parse(parser, args)
	if !ok {
		return code
	}
	a.log = newLogger(a.stderr, cli.LogFormat, cli.LogLevel)
	kctx.BindTo(ctx, (*context.Context)(nil))
	err = kctx.Run(a)
	var problem *problemError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errProblems):
		return exitProblems
	case errors.As(err, &problem): // the server's answer to a client command, meant to be read as it is
		fmt.Fprintf(a.stderr, "suanpan: %v\n", problem)
		return exitError
	default:
		a.log.Error(kctx.Command()+" failed", "err", err)
		return exitError
	}
}

// newParser builds the kong parser for cli. Kong's exits (after --help) are
// turned into a panic of exitRequest, which parse recovers.
func newParser(cli *CLI, stdout, stderr io.Writer) (*kong.Kong, error) {
	return kong.New(cli,
		kong.Name("suanpan"),
		kong.Description("Suanpan, an open-source financial core."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitRequest(code)) }),
		kong.Configuration(loadConfig),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Vars{"demo_dir": filepath.Join(os.TempDir(), "suanpan-demo")},
	)
}

// exitRequest is kong asking to end the program (after printing help).
type exitRequest int

// parse parses args. ok is false when the program should end now with code:
// help was printed, or the arguments or settings were wrong (which parse
// reports on stderr).
func parse(parser *kong.Kong, args []string) (kctx *kong.Context, code int, ok bool) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		c, isExit := r.(exitRequest)
		if !isExit {
			panic(r)
		}
		kctx, code, ok = nil, int(c), false
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		parser.Errorf("%v", err)
		help := "suanpan --help"
		var perr *kong.ParseError
		if errors.As(err, &perr) && perr.Context != nil && perr.Context.Selected() != nil {
			help = perr.Context.Selected().FullPath() + " --help"
		}
		fmt.Fprintf(parser.Stderr, "Run %q for usage.\n", help)
		return nil, exitError, false
	}
	return kctx, exitOK, true
}

// newLogger returns the logger writing to w in format ("text" or "json") at
// level and above. The parser's enums have checked both.
func newLogger(w io.Writer, format, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
