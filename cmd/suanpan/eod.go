package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/internal/jobs"
	"github.com/suanpan/suanpan/internal/payments"
	"github.com/suanpan/suanpan/internal/recon"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/money"
	"github.com/suanpan/suanpan/store"
)

// EODCmd groups the end-of-day commands. A kong command belongs to one
// group, so the subcommands carry their own and are listed in the help
// with their kind: run and show are server commands that open the store
// directly, as check does; status and reports are client commands that
// ask a running server.
type EODCmd struct {
	Run     EODRunCmd     `cmd:"" help:"Close a business day on the store: run its end of day, or resume it at the step that failed. Exit status 0: completed; 1: completed with warnings; 2: error or a failed step." group:"Server"`
	Show    EODShowCmd    `cmd:"" help:"Show a business day's end of day on the store, step by step, with its reports." group:"Server"`
	Status  EODStatusCmd  `cmd:"" help:"Show the latest end-of-day runs, or one date's run step by step, from a running server." group:"Client"`
	Reports EODReportsCmd `cmd:"" help:"List a business day's reports on a running server, and download them, checking their SHA-256." group:"Client"`
}

// checkDateFlag refuses anything but a calendar date YYYY-MM-DD.
func checkDateFlag(flag, v string) error {
	if v == "" {
		return fmt.Errorf("--%s is required: a calendar date YYYY-MM-DD, e.g. 2026-11-21", flag)
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil || d.Format(time.DateOnly) != v {
		return fmt.Errorf("--%s must be a calendar date YYYY-MM-DD, e.g. 2026-11-21; got %q", flag, v)
	}
	return nil
}

// EODRunCmd closes a business day on the store, with the payments and
// reconciliation services a server runs, as a daily job would.
type EODRunCmd struct {
	StoreFlags `embed:""`
	Date       string `required:"" placeholder:"YYYY-MM-DD" help:"The business date to close. It must be over: before the ledger's business date (today's UTC date)."`
	Out        string `placeholder:"DIR" help:"Once the day has completed, write every report into DIR (created when missing), named as the report, and check each file's SHA-256."`
	JSON       bool   `name:"json" help:"Print the run and its reports as one JSON object."`
	// EncryptionKeys is a secret: it is never logged or printed.
	EncryptionKeys string `name:"encryption-keys" placeholder:"ID:BASE64,…" env:"SUANPAN_ENCRYPTION_KEYS" help:"The keys the server uses (serve's --encryption-keys): the payments service the day's reconciliation runs on decrypts the channels' secrets with them, as the server's does. Required with PostgreSQL; on SQLite, empty means the key file beside the store."`
}

// Validate checks the date before anything is opened.
func (c *EODRunCmd) Validate() error { return checkDateFlag("date", c.Date) }

// Run runs the day, prints its steps and reports and writes them to --out.
// It returns errProblems when the day completed with warnings, and an error
// naming the step when one failed.
func (c *EODRunCmd) Run(ctx context.Context, a *app) (err error) {
	db, l, done, err := c.openLedger(ctx, a.log)
	if err != nil {
		return err
	}
	defer done(&err)
	keys, err := keyring(c.EncryptionKeys, db, a.log)
	if err != nil {
		return err
	}
	runner := newEODRunner(db, l, keys, a.log)
	run, runErr := runner.Run(ctx, c.Date, operator())
	if run == nil { // refused before it started: the date is open, say
		return runErr
	}
	reports, err := runner.Artifacts(ctx, c.Date, nil)
	if err != nil {
		return errors.Join(runErr, err)
	}
	var written []string
	if c.Out != "" && run.Status.Done() {
		written, err = writeReports(c.Out, reports, func(name string) ([]byte, error) {
			r, err := runner.Artifact(ctx, c.Date, name, nil)
			if err != nil {
				return nil, err
			}
			return r.Content, nil
		})
		if err != nil {
			return err
		}
	}
	if c.JSON {
		if err := json.NewEncoder(a.stdout).Encode(eodView{Run: run, Reports: reports}); err != nil {
			return fmt.Errorf("write run: %w", err)
		}
	} else {
		if err := printEODRun(a.stdout, run, reports, ledgerScales(ctx, l)); err != nil {
			return err
		}
		printWritten(a.stdout, c.Out, written)
		if c.Out != "" && !run.Status.Done() {
			fmt.Fprintf(a.stdout, "no reports written to %s: the day has not completed\n", c.Out)
		}
	}
	return eodResult(run, runErr)
}

// eodResult maps a run to the command's outcome: nil when it completed,
// errProblems with warnings, the run's error when a step failed.
func eodResult(run *eod.Run, runErr error) error {
	switch {
	case runErr != nil:
		return runErr
	case run.Status == eod.StatusCompleted:
		return nil
	case run.Status == eod.StatusCompletedWithWarnings:
		return errProblems
	}
	return fmt.Errorf("the end of day of %s is %s", run.Date, run.Status)
}

// newEODRunner builds the end-of-day runner as a server does, with the
// payments and reconciliation services as its reconciler. Nothing here
// runs jobs: those the day enqueues (a compensation, say) wait for a
// server's scheduler.
func newEODRunner(db *store.DB, l *ledger.Ledger, keys *accounts.Keyring, log *slog.Logger) *eod.Runner {
	clk := clock.Real{}
	ops := accounts.NewOperations(l, accounts.NewProductService(db, clk), accounts.OperationsConfig{})
	pay := payments.New(payments.Config{DB: db, Ledger: l, Operations: ops, Jobs: jobs.New(db, clk, jobs.Options{Log: log}),
		Clock: clk, Secrets: keys, Log: log})
	rec := recon.New(recon.Config{Ledger: l, Payments: pay, Operations: ops, Clock: clk, Log: log})
	return eod.New(eod.Config{Ledger: l, Reconciler: rec})
}

// maxOperator bounds who a run records as started by (eod's limit).
const maxOperator = 64

// operator names who runs a command on the store, for the records it
// writes: the operating-system user, as "cli:<user>".
func operator() string {
	by := "cli"
	if u, err := user.Current(); err == nil && u.Username != "" && store.Storable(u.Username) {
		by += ":" + u.Username
	}
	if len(by) > maxOperator {
		by = by[:maxOperator]
	}
	return by
}

// EODShowCmd shows a date's run from the store.
type EODShowCmd struct {
	StoreFlags `embed:""`
	Date       string `required:"" placeholder:"YYYY-MM-DD" help:"The business date."`
	JSON       bool   `name:"json" help:"Print the run and its reports as one JSON object."`
}

// Validate checks the date before anything is opened.
func (c *EODShowCmd) Validate() error { return checkDateFlag("date", c.Date) }

// Run prints the run, its steps and its reports.
func (c *EODShowCmd) Run(ctx context.Context, a *app) (err error) {
	_, l, done, err := c.openLedger(ctx, a.log)
	if err != nil {
		return err
	}
	defer done(&err)
	runner := eod.New(eod.Config{Ledger: l})
	run, err := runner.Get(ctx, c.Date)
	if err != nil {
		return err
	}
	reports, err := runner.Artifacts(ctx, c.Date, nil)
	if err != nil {
		return err
	}
	if c.JSON {
		if err := json.NewEncoder(a.stdout).Encode(eodView{Run: run, Reports: reports}); err != nil {
			return fmt.Errorf("write run: %w", err)
		}
		return nil
	}
	return printEODRun(a.stdout, run, reports, ledgerScales(ctx, l))
}

// eodView is the --json output of eod run and eod show.
type eodView struct {
	Run     *eod.Run        `json:"run"`
	Reports []*eod.Artifact `json:"reports"`
}

// scaleFunc returns an asset's scale, ok false when it is not known; it
// lets amounts in minor units be shown as decimals too.
type scaleFunc func(asset string) (scale int, ok bool)

// ledgerScales reads the assets' scales from the ledger once. Amounts are
// shown in minor units only when that fails.
func ledgerScales(ctx context.Context, l *ledger.Ledger) scaleFunc {
	assets, err := l.ListAssets(ctx)
	m := make(map[string]int, len(assets))
	if err == nil {
		for _, as := range assets {
			m[as.Code] = as.Scale
		}
	}
	return func(asset string) (int, bool) {
		s, ok := m[asset]
		return s, ok
	}
}

// amountText shows an amount in minor units and, when the asset's scale
// is known, as a decimal: "800 (8.00 CNY)".
func amountText(n int64, asset string, scales scaleFunc) string {
	if asset == "" {
		return strconv.FormatInt(n, 10)
	}
	if scales != nil {
		if s, ok := scales(asset); ok {
			return fmt.Sprintf("%d (%s %s)", n, money.Format(n, s), asset)
		}
	}
	return fmt.Sprintf("%d (%s minor units)", n, asset)
}

// printEODRun writes a run, its steps with a one-line outcome each, and
// its reports.
func printEODRun(w io.Writer, run *eod.Run, reports []*eod.Artifact, scales scaleFunc) error {
	kv := []string{"date", run.Date, "status", string(run.Status), "started", timeText(run.StartedAt) + " by " + run.StartedBy}
	if run.FinishedAt != nil {
		kv = append(kv, "finished", timeText(*run.FinishedAt))
	}
	kv = append(kv, "attempts", strconv.Itoa(run.Attempts))
	if run.ManifestSHA256 != "" {
		kv = append(kv, "manifest", run.ManifestSHA256)
	}
	if run.LeaseUntil != nil {
		kv = append(kv, "lease until", timeText(*run.LeaseUntil))
	}
	if run.LastError != "" {
		kv = append(kv, "last error", run.LastError)
	}
	if err := fields(w, kv...); err != nil {
		return err
	}
	if len(run.Steps) > 0 {
		fmt.Fprintln(w)
		t := newTable(w, "STEP", "STATUS", "OUTCOME")
		for _, s := range run.Steps {
			t.row(s.Name, string(s.Status), stepSummary(s, scales))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if reports != nil {
		fmt.Fprintln(w)
		return printReports(w, reports)
	}
	return nil
}

// printReports lists reports with their size and SHA-256.
func printReports(w io.Writer, reports []*eod.Artifact) error {
	if len(reports) == 0 {
		fmt.Fprintln(w, "no reports")
		return nil
	}
	t := newTable(w, "REPORT", "INSTITUTION", "STEP", "BYTES", "SHA-256")
	for _, r := range reports {
		inst := r.InstitutionID
		if inst == "" {
			inst = "(all)"
		}
		t.row(r.Name, inst, r.Step, strconv.FormatInt(r.Size, 10), r.SHA256)
	}
	return t.flush()
}

// maxOutcomeText bounds the raw outcome shown for a step this command does
// not know how to summarize.
const maxOutcomeText = 120

// stepSummary says in one line what a step did. It reads the outcomes of
// the steps it knows (see package eod) and shows any other as raw JSON.
func stepSummary(s *eod.Step, scales scaleFunc) string {
	switch s.Status {
	case eod.StepFailed:
		return "failed: " + s.Error
	case eod.StepPending, eod.StepRunning:
		if s.Error != "" {
			return "last attempt failed: " + s.Error
		}
		return ""
	}
	if len(s.Outcome) == 0 {
		return ""
	}
	if text, ok := knownOutcome(s, scales); ok {
		return text
	}
	var b bytes.Buffer
	if json.Compact(&b, s.Outcome) != nil {
		b.Reset()
		b.Write(s.Outcome)
	}
	text := b.String()
	if len(text) > maxOutcomeText {
		text = text[:maxOutcomeText] + "…"
	}
	return text
}

// knownOutcome summarizes the outcome of a step eod defines; ok is false
// for another step, or an outcome that does not decode.
func knownOutcome(s *eod.Step, scales scaleFunc) (text string, ok bool) {
	decode := func(v any) bool { return json.Unmarshal(s.Outcome, v) == nil }
	switch s.Name {
	case eod.StepCutover:
		var o struct {
			Closing      string `json:"closing"`
			BusinessDate string `json:"business_date"`
		}
		if decode(&o) {
			return fmt.Sprintf("closed %s; the ledger's business date is %s", o.Closing, o.BusinessDate), true
		}
	case eod.StepExpireHolds:
		var o struct {
			Expired int `json:"expired"`
		}
		if decode(&o) {
			return fmt.Sprintf("%d expired hold(s) voided", o.Expired), true
		}
	case eod.StepCheck:
		var o struct {
			Institutions []struct {
				OK bool `json:"ok"`
			} `json:"institutions"`
			TrialBalance *struct {
				Balanced bool `json:"balanced"`
			} `json:"trial_balance"`
		}
		if decode(&o) && o.TrialBalance != nil {
			diff := 0
			for _, i := range o.Institutions {
				if !i.OK {
					diff++
				}
			}
			tb := "balanced"
			if !o.TrialBalance.Balanced {
				tb = "UNBALANCED"
			}
			return fmt.Sprintf("%d institution(s) checked, %d with differences; trial balance %s", len(o.Institutions), diff, tb), true
		}
	case eod.StepReconcile:
		if s.Status == eod.StepSkipped {
			var o struct {
				Reason string `json:"reason"`
			}
			if decode(&o) {
				return "skipped: " + o.Reason, true
			}
			return "", false
		}
		var o eod.ReconSummary
		if decode(&o) {
			return reconSummary(&o, scales), true
		}
	case eod.StepSettlement:
		var o struct {
			Institutions []json.RawMessage `json:"institutions"`
		}
		if decode(&o) {
			return fmt.Sprintf("settlement reports of %d institution(s)", len(o.Institutions)), true
		}
	case eod.StepVouchers:
		var o struct {
			Vouchers []struct {
				Balanced bool `json:"balanced"`
			} `json:"vouchers"`
		}
		if decode(&o) {
			unbalanced := 0
			for _, v := range o.Vouchers {
				if !v.Balanced {
					unbalanced++
				}
			}
			return fmt.Sprintf("%d voucher(s), %d unbalanced", len(o.Vouchers), unbalanced), true
		}
	case eod.StepArchive:
		var o struct {
			Artifacts int    `json:"artifacts"`
			Manifest  string `json:"manifest"`
		}
		if decode(&o) {
			return fmt.Sprintf("%s lists %d report(s)", o.Manifest, o.Artifacts), true
		}
	}
	return "", false
}

// reconSummary summarizes the reconcile step: the channels with and
// without a statement, what matched, and what is left open per asset.
func reconSummary(o *eod.ReconSummary, scales scaleFunc) string {
	if len(o.Channels) == 0 {
		return "no channels"
	}
	var with, matched, late, open int
	openAmount := map[string]int64{}
	for _, c := range o.Channels {
		if !c.Statement {
			continue
		}
		with++
		matched += c.Matched
		late += c.Late
		open += c.Discrepancies
		if c.OpenAmount != 0 {
			openAmount[c.Asset] += c.OpenAmount
		}
	}
	text := fmt.Sprintf("%d channel(s), %d without a statement; %d matched, %d late, %d discrepancies open",
		len(o.Channels), len(o.Channels)-with, matched, late, open)
	for _, asset := range slices.Sorted(maps.Keys(openAmount)) {
		text += ", " + amountText(openAmount[asset], asset, scales)
	}
	return text
}

// writeReports writes each report into dir, which it creates, with the
// content read fetches, and returns the paths written. Each file is
// written under a temporary name and renamed once synced; the content's
// SHA-256 must be the one listed, before writing and when the file is read
// back.
func writeReports(dir string, reports []*eod.Artifact, read func(name string) ([]byte, error)) ([]string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	var written []string
	for _, r := range reports {
		if !safeFileName(r.Name) {
			return written, fmt.Errorf("report %q: not a plain file name; not written", r.Name)
		}
		content, err := read(r.Name)
		if err != nil {
			return written, fmt.Errorf("report %s: %w", r.Name, err)
		}
		if got := sha256Hex(content); got != r.SHA256 {
			return written, fmt.Errorf("report %s: its content has SHA-256 %s, the run lists %s; not written", r.Name, got, r.SHA256)
		}
		path := filepath.Join(dir, r.Name)
		if err := writeFileSynced(path, content); err != nil {
			return written, fmt.Errorf("report %s: %w", r.Name, err)
		}
		back, err := os.ReadFile(path)
		if err != nil {
			return written, fmt.Errorf("report %s: read it back: %w", r.Name, err)
		}
		if got := sha256Hex(back); got != r.SHA256 {
			return written, fmt.Errorf("report %s: %s has SHA-256 %s after writing, want %s", r.Name, path, got, r.SHA256)
		}
		written = append(written, path)
	}
	return written, nil
}

// printWritten says which report files were written.
func printWritten(w io.Writer, dir string, paths []string) {
	if dir == "" || len(paths) == 0 {
		return
	}
	fmt.Fprintf(w, "\nwrote %d report(s) to %s, each file's SHA-256 checked\n", len(paths), dir)
}

// safeFileName reports whether a report name, which the server chose, is
// a plain file name that stays in the directory it is written to.
func safeFileName(name string) bool {
	return name != "" && name != "." && name != ".." && filepath.IsLocal(name) && filepath.Base(name) == name &&
		!strings.ContainsAny(name, `/\`) && store.Storable(name)
}

// writeFileSynced writes content to path: into a temporary file in the
// same directory, synced, then renamed over path, so that path never holds
// a partial file.
func writeFileSynced(path string, content []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, werr := f.Write(content)
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return errors.Join(err, os.Remove(f.Name()))
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return errors.Join(err, os.Remove(f.Name()))
	}
	return nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
