// Command suanpan is Suanpan's one binary: it migrates and verifies the
// store, measures the ledger, and (in later issues) serves the API and the
// admin console and runs the client commands.
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
	"os"
	"os/signal"
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
// store. The commands still to come slot in as further fields: `serve`,
// `demo` and `eod` embed StoreFlags; `audit` is a command group holding
// `verify`; the client commands take the server's address.
type CLI struct {
	Config    kong.ConfigFlag `env:"SUANPAN_CONFIG" placeholder:"FILE" help:"JSON file of settings, keyed by flag name with _ for - (store, sqlite_synchronous, log_level, ...). Flags override environment variables, which override the file."`
	LogFormat string          `enum:"text,json" default:"text" env:"SUANPAN_LOG_FORMAT" help:"Log format on stderr: text or json."`
	LogLevel  string          `enum:"debug,info,warn,error" default:"info" env:"SUANPAN_LOG_LEVEL" help:"Least severe level logged: debug, info, warn or error."`

	Migrate MigrateCmd `cmd:"" help:"Apply pending schema migrations to the store."`
	Verify  VerifyCmd  `cmd:"" help:"Check the ledger against its journal. Exit status 0: consistent; 1: problems found; 2: error."`
	Bench   BenchCmd   `cmd:"" help:"Measure performance on this machine."`
	Version VersionCmd `cmd:"" help:"Print the version of suanpan and of the Go it was built with."`
}

// app is what a command runs with besides its own flags: where to write and
// how to log. run builds it from the parsed global settings, so no command
// reaches for os.Stdout or a global logger.
type app struct {
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
}

// run is the whole program but the exit: it parses args, runs the chosen
// command and returns the exit status. It never calls os.Exit.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var cli CLI
	parser, err := newParser(&cli, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "suanpan: %v\n", err) // a bug in the CLI definition
		return exitError
	}
	kctx, code, ok := parse(parser, args)
	if !ok {
		return code
	}
	a := &app{stdout: stdout, stderr: stderr, log: newLogger(stderr, cli.LogFormat, cli.LogLevel)}
	kctx.BindTo(ctx, (*context.Context)(nil))
	err = kctx.Run(a)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errProblems):
		return exitProblems
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
