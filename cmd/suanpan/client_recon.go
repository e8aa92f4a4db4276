package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	sdk "github.com/suanpan/suanpan/client"
	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/internal/recon/statement"
	"github.com/suanpan/suanpan/money"
)

// ReconCmd groups the reconciliation commands.
type ReconCmd struct {
	Settings      ReconSettingsCmd      `cmd:"" help:"Show and set how a channel's statements are read and matched."`
	Import        ReconImportCmd        `cmd:"" help:"Import a channel's statement file for a business date; importing the same file again is safe."`
	Run           ReconRunCmd           `cmd:"" help:"Reconcile a date's statements with the orders: one channel, or every channel of a branch (with its branches)."`
	Discrepancies ReconDiscrepanciesCmd `cmd:"" help:"List discrepancies, oldest first, a page at a time."`
	Resolve       ReconResolveCmd       `cmd:"" help:"Decide an open discrepancy: accept the channel's side or Suanpan's, or propose a write-off."`
	Approve       ReconApproveCmd       `cmd:"" help:"Approve a write-off another person proposed: the difference goes to the write-off account."`
	Reject        ReconRejectCmd        `cmd:"" help:"Reject a write-off another person proposed: the discrepancy is open again."`
}

// ReconSettingsCmd groups the settings commands.
type ReconSettingsCmd struct {
	Get ReconSettingsGetCmd `cmd:"" help:"Show how a channel is reconciled (the defaults when nothing was set)."`
	Set ReconSettingsSetCmd `cmd:"" help:"Change how a channel is reconciled: the flags given replace their settings, the rest stay."`
}

// maxStatementBytes is the largest statement file the server takes.
const maxStatementBytes = 512 << 20

// maxFormatBytes bounds a --format-file; a column map is a few hundred
// bytes.
const maxFormatBytes = 1 << 20

// scales returns a scaleFunc that asks the server for each asset's scale
// once. It is for display only: an asset it cannot read is shown in minor
// units.
func (c *client) scales(ctx context.Context) scaleFunc {
	known := map[string]int{}
	return func(asset string) (int, bool) {
		s, ok := known[asset]
		if !ok {
			var err error
			if s, err = c.scale(ctx, asset); err != nil {
				s = -1
			}
			known[asset] = s
		}
		return s, s >= 0
	}
}

// channelAssets returns a function that asks the server for each
// channel's asset once, "" when it cannot be read (display only).
func (c *client) channelAssets(ctx context.Context) func(channelID string) string {
	known := map[string]string{}
	return func(id string) string {
		asset, ok := known[id]
		if !ok {
			if _, ch, err := c.channel(ctx, id); err == nil {
				asset = ch.Asset
			}
			known[id] = asset
		}
		return asset
	}
}

// reconSettings reads a channel's settings.
func (c *client) reconSettings(ctx context.Context, channelID string) (*sdk.GetReconSettingsResponse, *sdk.ReconSettings, error) {
	api, err := c.api()
	if err != nil {
		return nil, nil, err
	}
	r, err := api.GetReconSettingsWithResponse(ctx, channelID)
	st, _, err := jsonOf(r, err, func() *sdk.ReconSettings { return r.JSON200 })
	if err != nil {
		return nil, nil, err
	}
	return r, st, nil
}

// ReconSettingsGetCmd shows a channel's settings.
type ReconSettingsGetCmd struct {
	client `embed:""`
	ID     string `arg:"" name:"channel-id" help:"Channel ID."`
}

// Run prints the settings.
func (c *ReconSettingsGetCmd) Run(ctx context.Context, a *app) error {
	r, st, err := c.reconSettings(ctx, c.ID)
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, r.Body)
	}
	return printReconSettings(a.stdout, st, r.Body, c.channelAssets(ctx)(st.ChannelId), c.scales(ctx))
}

// ReconSettingsSetCmd changes a channel's settings. Pointers tell the
// flags given from those left out.
type ReconSettingsSetCmd struct {
	client            `embed:""`
	ID                string         `arg:"" name:"channel-id" help:"Channel ID."`
	FormatFile        string         `name:"format-file" type:"existingfile" placeholder:"FILE" help:"JSON file of the statement format: {\"kind\": \"native\"} (the channel's own), {\"kind\": \"camt053\"}, or {\"kind\": \"csv\", \"columns\": {…}} with a column map (order_id, amount, time, time_layout, time_zone, …)."`
	AmountTolerance   *string        `name:"amount-tolerance" placeholder:"DECIMAL" help:"How far a line without a usable reference may differ from an order's amount and still be taken as the same payment, in the channel's asset, e.g. 0.05 (the difference is still reported)."`
	AmountToleranceBP *int64         `name:"amount-tolerance-bp" placeholder:"BP" help:"The same in basis points of the order's amount, 0 to 10000; the larger of the two applies."`
	DateTolerance     *time.Duration `name:"date-tolerance" placeholder:"DURATION" help:"How far such a line's and order's times may differ, e.g. 24h."`
	LateWindow        *time.Duration `name:"late-window" placeholder:"DURATION" help:"How long a one-sided item waits (for the next statement, or for the order) before it is a discrepancy, e.g. 48h."`
	AlertCount        *int64         `name:"alert-count" placeholder:"N" help:"A run leaving more open discrepancies than this alerts (recon.alert)."`
	AlertAmount       *string        `name:"alert-amount" placeholder:"DECIMAL" help:"A run leaving more than this open (the sum of the absolute differences, in the channel's asset, e.g. 100.00) alerts."`
	AutoFailShort     *bool          `name:"auto-fail-short" negatable:"" help:"With --auto-fail-short, an order the channel never listed fails (and is compensated) once the late window has passed; --no-auto-fail-short leaves such orders to the operators."`
}

// Validate checks the flags that need no server.
func (c *ReconSettingsSetCmd) Validate() error {
	if c.DateTolerance != nil && *c.DateTolerance < 0 {
		return errors.New("--date-tolerance must not be negative")
	}
	if c.LateWindow != nil && *c.LateWindow < 0 {
		return errors.New("--late-window must not be negative")
	}
	if c.AmountToleranceBP != nil && (*c.AmountToleranceBP < 0 || *c.AmountToleranceBP > 10_000) {
		return errors.New("--amount-tolerance-bp must be 0 to 10000")
	}
	if c.AlertCount != nil && *c.AlertCount < 0 {
		return errors.New("--alert-count must not be negative")
	}
	return nil
}

// Run reads the channel's settings, replaces those given and stores the
// result: the API replaces a channel's settings as a whole.
func (c *ReconSettingsSetCmd) Run(ctx context.Context, a *app) error {
	var format *sdk.StatementFormat
	if c.FormatFile != "" {
		var err error
		if format, err = readFormat(c.FormatFile); err != nil {
			return err
		}
	}
	_, cur, err := c.reconSettings(ctx, c.ID)
	if err != nil {
		return err
	}
	if format == nil {
		format = &cur.Format
	}
	body := sdk.ReconSettingsBody{Format: *format, AmountTolerance: &cur.AmountTolerance, AmountToleranceBp: &cur.AmountToleranceBp,
		DateToleranceMs: &cur.DateToleranceMs, LateWindowMs: &cur.LateWindowMs, AlertCount: &cur.AlertCount,
		AlertAmount: &cur.AlertAmount, AutoFailShort: &cur.AutoFailShort}
	asset := c.channelAssets(ctx)
	for flag, v := range map[string]*string{"amount-tolerance": c.AmountTolerance, "alert-amount": c.AlertAmount} {
		if v == nil {
			continue
		}
		ch := asset(c.ID)
		if ch == "" {
			return fmt.Errorf("--%s: cannot read the asset of channel %s", flag, c.ID)
		}
		scale, err := c.scale(ctx, ch)
		if err != nil {
			return err
		}
		n, err := money.Parse(*v, scale)
		if err != nil {
			return fmt.Errorf("--%s: %w", flag, err)
		}
		if n < 0 {
			return fmt.Errorf("--%s must not be negative", flag)
		}
		if flag == "amount-tolerance" {
			body.AmountTolerance = &n
		} else {
			body.AlertAmount = &n
		}
	}
	if c.AmountToleranceBP != nil {
		body.AmountToleranceBp = c.AmountToleranceBP
	}
	if c.DateTolerance != nil {
		ms := c.DateTolerance.Milliseconds()
		body.DateToleranceMs = &ms
	}
	if c.LateWindow != nil {
		ms := c.LateWindow.Milliseconds()
		body.LateWindowMs = &ms
	}
	if c.AlertCount != nil {
		body.AlertCount = c.AlertCount
	}
	if c.AutoFailShort != nil {
		body.AutoFailShort = c.AutoFailShort
	}
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.PutReconSettingsWithResponse(ctx, c.ID, body)
	return show(a, c.JSON, r, err, func() *sdk.ReconSettings { return r.JSON200 }, func(st *sdk.ReconSettings) error {
		return printReconSettings(a.stdout, st, r.Body, asset(st.ChannelId), c.scales(ctx))
	})
}

// readFormat reads a --format-file: one JSON object of a statement format,
// with no field the format does not have (a misspelt column would
// otherwise be dropped without a word), nor one the API's document lacks.
// The server checks the rest.
func readFormat(path string) (*sdk.StatementFormat, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFormatBytes+1))
	if err != nil {
		return nil, fmt.Errorf("--format-file: %w", err)
	}
	if len(data) > maxFormatBytes {
		return nil, fmt.Errorf("--format-file %s: larger than %d bytes", path, maxFormatBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var format statement.Format
	if err := dec.Decode(&format); err != nil {
		return nil, fmt.Errorf("--format-file %s: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("--format-file %s: more than one JSON value", path)
	}
	dec = json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var sent sdk.StatementFormat
	if err := dec.Decode(&sent); err != nil {
		return nil, fmt.Errorf("--format-file %s: the API's document does not have it: %w", path, err)
	}
	return &sent, nil
}

// printReconSettings prints a channel's settings; raw is the answer they
// came in, whose column map is shown as the server wrote it.
func printReconSettings(w io.Writer, st *sdk.ReconSettings, raw []byte, asset string, scales scaleFunc) error {
	var answer struct {
		Format struct {
			Columns json.RawMessage `json:"columns"`
		} `json:"format"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return fmt.Errorf("decode settings: %w", err)
	}
	kv := []string{"channel", st.ChannelId, "institution", st.InstitutionId, "format", st.Format.Kind}
	if columns := answer.Format.Columns; len(columns) > 0 && string(columns) != "null" {
		var b bytes.Buffer
		if err := json.Compact(&b, columns); err != nil {
			return fmt.Errorf("decode settings: %w", err)
		}
		kv = append(kv, "columns", b.String())
	}
	kv = append(kv,
		"amount tolerance", amountText(st.AmountTolerance, asset, scales),
		"amount tolerance bp", strconv.FormatInt(st.AmountToleranceBp, 10),
		"date tolerance", (time.Duration(st.DateToleranceMs) * time.Millisecond).String(),
		"late window", (time.Duration(st.LateWindowMs) * time.Millisecond).String(),
		"alert count", strconv.FormatInt(st.AlertCount, 10),
		"alert amount", amountText(st.AlertAmount, asset, scales),
		"auto-fail short", yesNo(st.AutoFailShort),
		"version", strconv.FormatInt(st.Version, 10))
	if by := deref(st.UpdatedBy); by != "" {
		kv = append(kv, "updated", timeText(deref(st.UpdatedAt))+" by "+by)
	}
	return fields(w, kv...)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// ReconImportCmd imports a statement file.
type ReconImportCmd struct {
	client  `embed:""`
	File    string `arg:"" type:"existingfile" help:"The statement file, as the channel delivered it; read in the channel's configured format."`
	Channel string `required:"" placeholder:"CHANNEL-ID" help:"The channel whose statement it is."`
	Date    string `required:"" placeholder:"YYYY-MM-DD" help:"The business date the statement covers."`
}

// Validate checks the date before anything is read.
func (c *ReconImportCmd) Validate() error { return checkDateFlag("date", c.Date) }

// Run uploads the file and prints the statement, saying whether it was
// imported now or before.
func (c *ReconImportCmd) Run(ctx context.Context, a *app) error {
	info, err := os.Stat(c.File)
	if err != nil {
		return err
	}
	if info.Size() > maxStatementBytes {
		return fmt.Errorf("%s: larger than %d MiB, the most the server takes", c.File, maxStatementBytes>>20)
	}
	content, err := os.ReadFile(c.File)
	if err != nil {
		return err
	}
	api, err := c.api()
	if err != nil {
		return err
	}
	// The same file imported before answers 200 with its statement, not
	// 201: jsonOf decodes that one too.
	r, err := api.ImportReconStatementWithBodyWithResponse(ctx, &sdk.ImportReconStatementParams{ChannelId: c.Channel, Date: c.Date},
		"application/octet-stream", bytes.NewReader(content))
	return show(a, c.JSON, r, err, func() *sdk.ReconStatement { return r.JSON201 }, func(st *sdk.ReconStatement) error {
		scales := c.scales(ctx)
		asset := c.channelAssets(ctx)(st.ChannelId)
		if err := fields(a.stdout,
			"id", st.Id,
			"channel", st.ChannelId,
			"institution", st.InstitutionId,
			"date", st.Date,
			"format", st.Format,
			"lines", strconv.FormatInt(st.Lines, 10),
			"credits", amountText(st.Credits, asset, scales),
			"debits", amountText(st.Debits, asset, scales),
			"fees", amountText(st.Fees, asset, scales),
			"bytes", strconv.FormatInt(st.Size, 10),
			"sha-256", st.Sha256,
			"imported", timeText(st.ImportedAt)+" by "+st.ImportedBy); err != nil {
			return err
		}
		if r.StatusCode() == http.StatusOK {
			fmt.Fprintln(a.stdout, "already imported: the same file was imported before; nothing changed")
		} else {
			fmt.Fprintln(a.stdout, "imported")
		}
		return nil
	})
}

// ReconRunCmd reconciles a date.
type ReconRunCmd struct {
	client      `embed:""`
	Date        string `required:"" placeholder:"YYYY-MM-DD" help:"The statements' business date."`
	Channel     string `placeholder:"CHANNEL-ID" help:"Reconcile this channel's statement; or give --institution."`
	Institution string `placeholder:"ID" help:"Reconcile every channel of this institution (a branch) that has a statement for the date."`
	Subtree     bool   `help:"With --institution: its branches too (a centralized run)."`
	DryRun      bool   `name:"dry-run" help:"Show what would match and what would be done (at most 1000 items per channel); write nothing."`
}

// Validate asks for one target.
func (c *ReconRunCmd) Validate() error {
	switch {
	case (c.Channel == "") == (c.Institution == ""):
		return errors.New("give --channel or --institution, one of them")
	case c.Subtree && c.Institution == "":
		return errors.New("--subtree goes with --institution")
	}
	return checkDateFlag("date", c.Date)
}

// Run reconciles and prints each channel's run.
func (c *ReconRunCmd) Run(ctx context.Context, a *app) error {
	body := sdk.ReconRunInBody{Date: c.Date, DryRun: &c.DryRun}
	if c.Channel != "" {
		body.ChannelId = &c.Channel
	} else {
		body.InstitutionId, body.Subtree = &c.Institution, &c.Subtree
	}
	api, err := c.api()
	if err != nil {
		return err
	}
	resp, err := api.RunReconWithResponse(ctx, body)
	return show(a, c.JSON, resp, err, func() *sdk.ReconBranches { return resp.JSON200 }, func(out *sdk.ReconBranches) error {
		scales, assetOf := c.scales(ctx), c.channelAssets(ctx)
		assets := map[string]bool{}
		runs := items(out.Runs)
		for i, r := range runs {
			if i > 0 {
				fmt.Fprintln(a.stdout)
			}
			asset := assetOf(r.ChannelId)
			assets[asset] = true
			if err := printReconRun(a.stdout, &r, asset, scales); err != nil {
				return err
			}
		}
		if len(runs) == 0 {
			fmt.Fprintln(a.stdout, "no channel has a statement for "+c.Date)
		}
		if missing := items(out.MissingStatements); len(missing) > 0 {
			fmt.Fprintf(a.stdout, "\nwithout a statement for %s: %s\n", c.Date, strings.Join(missing, ", "))
		}
		if len(runs) > 1 && !c.DryRun {
			total := strconv.FormatInt(out.OpenAmount, 10) + " (minor units, over several assets)"
			if len(assets) == 1 {
				for asset := range assets {
					total = amountText(out.OpenAmount, asset, scales)
				}
			}
			fmt.Fprintf(a.stdout, "\nin all: %d open, %s; alerted %s\n", out.Open, total, yesNo(out.Alerted))
		}
		return nil
	})
}

// countsText lists a run's item counts by kind, skipping zeros: the match
// kinds in a fixed order, then any other count by name.
func countsText(counts map[string]int64) string {
	countOrder := []string{"matched", "late", "long", "short", "amount_mismatch", "status_mismatch", "duplicate", "fee_mismatch", "ignored"}
	skip := map[string]bool{"lines": true, "orders": true, "auto_resolved": true, "open": true}
	var parts []string
	for _, k := range countOrder {
		if counts[k] != 0 {
			parts = append(parts, k+" "+strconv.FormatInt(counts[k], 10))
		}
		skip[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		if !skip[k] && counts[k] != 0 {
			parts = append(parts, k+" "+strconv.FormatInt(counts[k], 10))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

func printReconRun(w io.Writer, r *sdk.ReconRun, asset string, scales scaleFunc) error {
	dryRun := deref(r.DryRun)
	if dryRun {
		fmt.Fprintf(w, "channel %s: dry run of statement %s of %s (nothing written)\n", r.ChannelId, r.StatementId, r.Date)
	} else {
		fmt.Fprintf(w, "channel %s: run %s of statement %s of %s, %s\n", r.ChannelId, deref(r.Id), r.StatementId, r.Date, r.Status)
	}
	kv := []string{"  looked at", fmt.Sprintf("%d line(s), %d order(s)", r.Counts["lines"], r.Counts["orders"]),
		"  found", countsText(r.Counts)}
	if dryRun {
		actions := map[string]int{}
		for _, it := range items(r.Items) {
			if act := string(deref(it.Action)); act != "" {
				actions[act]++
			}
		}
		var would []string
		for _, act := range slices.Sorted(maps.Keys(actions)) {
			would = append(would, act+" "+strconv.Itoa(actions[act]))
		}
		if len(would) == 0 {
			would = []string{"nothing"}
		}
		kv = append(kv, "  would", strings.Join(would, ", "))
	} else {
		kv = append(kv, "  auto-resolved", strconv.FormatInt(r.Counts["auto_resolved"], 10),
			"  open", strconv.FormatInt(r.Counts["open"], 10)+", "+amountText(r.OpenAmount, asset, scales),
			"  alerted", yesNo(r.Alerted))
	}
	if err := fields(w, kv...); err != nil {
		return err
	}
	if !dryRun || len(items(r.Items)) == 0 {
		return nil
	}
	t := newTable(w, "  KIND", "BY", "LINES", "ORDERS", "DIFFERENCE", "EFFECT", "ACTION", "DETAIL")
	for _, it := range items(r.Items) {
		t.row("  "+it.Kind, deref(it.By), intsText(items(it.Lines)), strings.Join(items(it.OrderIds), ","),
			amountText(it.Difference, asset, scales), amountText(it.Effect, asset, scales), string(deref(it.Action)), deref(it.Detail))
	}
	return t.flush()
}

func intsText(ns []int64) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(s, ",")
}

// ReconDiscrepanciesCmd lists discrepancies.
type ReconDiscrepanciesCmd struct {
	client  `embed:""`
	Status  string `enum:"new,open,write_off_pending,resolved," default:"" help:"Only discrepancies in this state: new, open (the operators' list), write_off_pending or resolved."`
	Kind    string `enum:"long,short,amount_mismatch,status_mismatch,duplicate,fee_mismatch," default:"" help:"Only discrepancies of this kind."`
	Channel string `placeholder:"CHANNEL-ID" help:"Only discrepancies of this channel."`
	RunID   string `name:"run" placeholder:"RUN-ID" help:"Only discrepancies this reconciliation run found."`
	After   string `placeholder:"CURSOR" help:"Start after this cursor (printed by the previous page)."`
	Limit   int    `help:"At most this many discrepancies (default 100, at most 1000)."`
}

// Run prints a page of discrepancies.
func (c *ReconDiscrepanciesCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.ListDiscrepanciesWithResponse(ctx, &sdk.ListDiscrepanciesParams{Status: opt(sdk.ListDiscrepanciesParamsStatus(c.Status)),
		Kind: opt(sdk.ListDiscrepanciesParamsKind(c.Kind)), ChannelId: opt(c.Channel), RunId: opt(c.RunID), After: opt(c.After),
		Limit: limitOf(c.Limit)})
	return show(a, c.JSON, r, err, func() *sdk.DiscrepancyPageBody { return r.JSON200 }, func(page *sdk.DiscrepancyPageBody) error {
		scales := c.scales(ctx)
		t := newTable(a.stdout, "ID", "KIND", "CHANNEL", "LINE", "ORDERS", "DIFFERENCE", "EFFECT", "STATUS")
		for _, d := range items(page.Items) {
			line := "-"
			if n := deref(d.LineNo); n != 0 {
				line = strconv.FormatInt(n, 10)
			}
			t.row(d.Id, string(d.Kind), d.ChannelId, line, strings.Join(items(d.OrderIds), ","), amountText(d.Difference, d.Asset, scales),
				amountText(d.Effect, d.Asset, scales), string(d.Status))
		}
		if err := t.flush(); err != nil {
			return err
		}
		more(a.stdout, page.NextCursor)
		return nil
	})
}

// printDiscrepancy prints the discrepancy a decision answered with, or
// the raw answer for --json.
func (c *client) printDiscrepancy(ctx context.Context, w io.Writer, r sdk.Response, d *sdk.ReconDiscrepancy) error {
	if c.JSON {
		return printJSON(w, r.Bytes())
	}
	scales := c.scales(ctx)
	kv := []string{"id", d.Id, "kind", string(d.Kind), "channel", d.ChannelId, "institution", d.InstitutionId, "run", d.RunId}
	if st := deref(d.StatementId); st != "" {
		kv = append(kv, "statement", st+" line "+strconv.FormatInt(deref(d.LineNo), 10))
	}
	for _, f := range [][2]string{{"matched by", deref(d.By)}, {"orders", strings.Join(items(d.OrderIds), ", ")}, {"account", deref(d.AccountId)}} {
		if f[1] != "" {
			kv = append(kv, f[0], f[1])
		}
	}
	kv = append(kv, "direction", d.Direction, "difference", amountText(d.Difference, d.Asset, scales),
		"effect", amountText(d.Effect, d.Asset, scales), "detail", d.Detail, "status", string(d.Status))
	for _, f := range [][2]string{{"resolution", deref(d.Resolution)}, {"parked in", deref(d.ParkTransactionId)},
		{"resolved in", deref(d.ResolveTransactionId)}, {"proposed by", deref(d.ProposedBy)}, {"resolved by", deref(d.ResolvedBy)},
		{"note", deref(d.Note)}} {
		if f[1] != "" {
			kv = append(kv, f[0], f[1])
		}
	}
	kv = append(kv, "created", timeText(d.CreatedAt))
	if d.ResolvedAt != nil {
		kv = append(kv, "resolved", timeText(*d.ResolvedAt))
	}
	return fields(w, kv...)
}

// ReconResolveCmd decides a discrepancy.
type ReconResolveCmd struct {
	client  `embed:""`
	ID      string `arg:"" help:"Discrepancy ID."`
	Action  string `required:"" enum:"accept_channel,accept_suanpan,write_off" help:"accept_channel: Suanpan's books follow the channel; accept_suanpan: the parking is undone and the channel corrects its side; write_off: propose writing the difference off (another person approves)."`
	Note    string `required:"" help:"Why: kept with the discrepancy and in the audit log (at most 500 bytes)."`
	Account string `placeholder:"ACCOUNT-ID" help:"For accept_channel: the customer account the channel's side belongs to, when the discrepancy names none (a long line) or another is meant."`
}

// Run applies the decision and prints the discrepancy.
func (c *ReconResolveCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.ResolveDiscrepancyWithResponse(ctx, c.ID, sdk.DiscrepancyResolveInBody{
		Action: sdk.DiscrepancyResolveInBodyAction(c.Action), Note: c.Note, AccountId: opt(c.Account)})
	d, _, err := jsonOf(r, err, func() *sdk.ReconDiscrepancy { return r.JSON200 })
	if err != nil {
		return err
	}
	return c.printDiscrepancy(ctx, a.stdout, r, d)
}

// writeOffCmd is a decision on a proposed write-off.
type writeOffCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Discrepancy ID."`
	Note   string `help:"Why, for the audit log (at most 500 bytes)."`
}

// decide sends the decision on the write-off and prints the discrepancy.
func (c *writeOffCmd) decide(ctx context.Context, a *app,
	send func(*sdk.ClientWithResponses, sdk.DecideInBody) (sdk.Response, *sdk.ReconDiscrepancy, error)) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, d, err := send(api, sdk.DecideInBody{Note: opt(c.Note)})
	if err != nil {
		return err
	}
	return c.printDiscrepancy(ctx, a.stdout, r, d)
}

// ReconApproveCmd approves a write-off.
type ReconApproveCmd struct {
	writeOffCmd `embed:""`
}

// Run approves the write-off.
func (c *ReconApproveCmd) Run(ctx context.Context, a *app) error {
	return c.decide(ctx, a, func(api *sdk.ClientWithResponses, body sdk.DecideInBody) (sdk.Response, *sdk.ReconDiscrepancy, error) {
		r, err := api.ApproveWriteOffWithResponse(ctx, c.ID, body)
		d, _, err := jsonOf(r, err, func() *sdk.ReconDiscrepancy { return r.JSON200 })
		return r, d, err
	})
}

// ReconRejectCmd rejects a write-off.
type ReconRejectCmd struct {
	writeOffCmd `embed:""`
}

// Run rejects the write-off.
func (c *ReconRejectCmd) Run(ctx context.Context, a *app) error {
	return c.decide(ctx, a, func(api *sdk.ClientWithResponses, body sdk.DecideInBody) (sdk.Response, *sdk.ReconDiscrepancy, error) {
		r, err := api.RejectWriteOffWithResponse(ctx, c.ID, body)
		d, _, err := jsonOf(r, err, func() *sdk.ReconDiscrepancy { return r.JSON200 })
		return r, d, err
	})
}

// EODStatusCmd shows end-of-day runs from a server.
type EODStatusCmd struct {
	client `embed:""`
	Date   string `placeholder:"YYYY-MM-DD" help:"Show this date's run step by step; without it, list the latest runs."`
	Limit  int    `help:"Without --date: at most this many runs, newest date first (default 30, at most 1000)."`
}

// Validate checks the date, when given.
func (c *EODStatusCmd) Validate() error {
	if c.Date == "" {
		return nil
	}
	return checkDateFlag("date", c.Date)
}

// Run prints the run or the runs.
func (c *EODStatusCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	if c.Date != "" {
		r, err := api.GetEodRunWithResponse(ctx, c.Date)
		if err := sdk.Check(r, err); err != nil {
			return err
		}
		if c.JSON {
			return printJSON(a.stdout, r.Body)
		}
		// The steps' outcomes are shown as eod show shows them, which
		// reads them as the eod package writes them: the API documents
		// an outcome as any JSON value.
		var run eod.Run
		if err := json.Unmarshal(r.Body, &run); err != nil {
			return fmt.Errorf("HTTP %d: not the JSON answer the API documents: %.200s", r.StatusCode(), r.Body)
		}
		return printEODRun(a.stdout, &run, nil, c.scales(ctx))
	}
	r, err := api.ListEodRunsWithResponse(ctx, &sdk.ListEodRunsParams{Limit: limitOf(c.Limit)})
	return show(a, c.JSON, r, err, func() *sdk.EodRunListBody { return r.JSON200 }, func(list *sdk.EodRunListBody) error {
		runs := items(list.Items)
		if len(runs) == 0 {
			fmt.Fprintln(a.stdout, "no end-of-day runs")
			return nil
		}
		t := newTable(a.stdout, "DATE", "STATUS", "ATTEMPTS", "STARTED", "FINISHED", "MANIFEST SHA-256")
		for _, r := range runs {
			finished := "-"
			if r.FinishedAt != nil {
				finished = timeText(*r.FinishedAt)
			}
			t.row(r.Date, r.Status, strconv.FormatInt(r.Attempts, 10), timeText(r.StartedAt), finished, deref(r.ManifestSha256))
		}
		return t.flush()
	})
}

// EODReportsCmd lists and downloads a day's reports.
type EODReportsCmd struct {
	client `embed:""`
	Date   string `required:"" placeholder:"YYYY-MM-DD" help:"The business date."`
	Out    string `placeholder:"DIR" help:"Download every report (each at most 16 MiB) into DIR, created when missing, named as the report; each must match its X-Content-SHA256 header and the listing, also once written."`
}

// Validate checks the date.
func (c *EODReportsCmd) Validate() error { return checkDateFlag("date", c.Date) }

// Run lists the reports and downloads them into --out.
func (c *EODReportsCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.ListEodReportsWithResponse(ctx, c.Date)
	list, _, err := jsonOf(r, err, func() *sdk.EodArtifactListBody { return r.JSON200 })
	if err != nil {
		return err
	}
	var reports []*eod.Artifact
	for _, x := range items(list.Items) {
		reports = append(reports, &eod.Artifact{Date: x.Date, Name: x.Name, InstitutionID: x.InstitutionId, Step: x.Step,
			ContentType: x.ContentType, Size: x.Size, SHA256: x.Sha256, CreatedAt: x.CreatedAt})
	}
	var written []string
	if c.Out != "" {
		written, err = writeReports(c.Out, reports, func(name string) ([]byte, error) { return c.download(ctx, c.Date, name) })
		if err != nil {
			return err
		}
	}
	if c.JSON {
		return printJSON(a.stdout, r.Body)
	}
	if err := printReports(a.stdout, reports); err != nil {
		return err
	}
	printWritten(a.stdout, c.Out, written)
	return nil
}

// download fetches a report; its content must match the SHA-256 the
// server sends with it. It reads the answer itself: the API documents a
// report as a JSON string, so the generated GetEodReportWithResponse
// fails on a JSON report (the manifest) instead of returning its bytes.
func (c *client) download(ctx context.Context, date, name string) ([]byte, error) {
	api, err := c.api()
	if err != nil {
		return nil, err
	}
	resp, err := api.GetEodReport(ctx, date, name)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	content, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read the report: %w", err)
	}
	if err := sdk.Check(reportAnswer{resp.StatusCode, content}, nil); err != nil {
		return nil, err
	}
	want := strings.ToLower(resp.Header.Get("X-Content-SHA256"))
	if want == "" {
		return nil, errors.New("the server sent no X-Content-SHA256")
	}
	if got := sha256Hex(content); got != want {
		return nil, fmt.Errorf("downloaded %d bytes with SHA-256 %s; the server's X-Content-SHA256 is %s", len(content), got, want)
	}
	return content, nil
}

// reportAnswer is a report's answer, read whole, as client.Check takes it.
type reportAnswer struct {
	status  int
	content []byte
}

func (d reportAnswer) StatusCode() int { return d.status }
func (d reportAnswer) Bytes() []byte   { return d.content }
