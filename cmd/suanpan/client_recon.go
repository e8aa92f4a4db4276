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
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/internal/httpapi"
	"github.com/suanpan/suanpan/internal/money"
	"github.com/suanpan/suanpan/internal/recon"
	"github.com/suanpan/suanpan/internal/recon/statement"
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
			var ch httpapi.ChannelView
			if _, err := c.call(ctx, http.MethodGet, "/v1/payments/channels/"+url.PathEscape(id), nil, nil, &ch, ""); err == nil {
				asset = ch.Asset
			}
			known[id] = asset
		}
		return asset
	}
}

func settingsPath(channelID string) string {
	return "/v1/recon/channels/" + url.PathEscape(channelID) + "/settings"
}

// ReconSettingsGetCmd shows a channel's settings.
type ReconSettingsGetCmd struct {
	client `embed:""`
	ID     string `arg:"" name:"channel-id" help:"Channel ID."`
}

// Run prints the settings.
func (c *ReconSettingsGetCmd) Run(ctx context.Context, a *app) error {
	var st recon.Settings
	ans, err := c.call(ctx, http.MethodGet, settingsPath(c.ID), nil, nil, &st, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	return printReconSettings(a.stdout, &st, c.channelAssets(ctx)(st.ChannelID), c.scales(ctx))
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
	var format json.RawMessage
	if c.FormatFile != "" {
		var err error
		if format, err = readFormat(c.FormatFile); err != nil {
			return err
		}
	}
	var cur recon.Settings
	if _, err := c.call(ctx, http.MethodGet, settingsPath(c.ID), nil, nil, &cur, ""); err != nil {
		return err
	}
	if format == nil {
		b, err := json.Marshal(cur.Format)
		if err != nil {
			return fmt.Errorf("encode format: %w", err)
		}
		format = b
	}
	body := map[string]any{"format": format, "amount_tolerance": cur.AmountTolerance, "amount_tolerance_bp": cur.AmountToleranceBP,
		"date_tolerance_ms": cur.DateToleranceMs, "late_window_ms": cur.LateWindowMs, "alert_count": cur.AlertCount,
		"alert_amount": cur.AlertAmount, "auto_fail_short": cur.AutoFailShort}
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
		body[strings.ReplaceAll(flag, "-", "_")] = n
	}
	if c.AmountToleranceBP != nil {
		body["amount_tolerance_bp"] = *c.AmountToleranceBP
	}
	if c.DateTolerance != nil {
		body["date_tolerance_ms"] = c.DateTolerance.Milliseconds()
	}
	if c.LateWindow != nil {
		body["late_window_ms"] = c.LateWindow.Milliseconds()
	}
	if c.AlertCount != nil {
		body["alert_count"] = *c.AlertCount
	}
	if c.AutoFailShort != nil {
		body["auto_fail_short"] = *c.AutoFailShort
	}
	var st recon.Settings
	ans, err := c.call(ctx, http.MethodPut, settingsPath(c.ID), nil, body, &st, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	return printReconSettings(a.stdout, &st, asset(st.ChannelID), c.scales(ctx))
}

// readFormat reads a --format-file: one JSON object of a statement format,
// with no field the format does not have (a misspelt column would
// otherwise be dropped without a word). The server checks the rest.
func readFormat(path string) (json.RawMessage, error) {
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
	return json.RawMessage(bytes.TrimSpace(data)), nil
}

func printReconSettings(w io.Writer, st *recon.Settings, asset string, scales scaleFunc) error {
	format, err := json.Marshal(st.Format.Columns)
	if err != nil {
		return fmt.Errorf("encode format: %w", err)
	}
	kv := []string{"channel", st.ChannelID, "institution", st.InstitutionID, "format", st.Format.Kind}
	if st.Format.Columns != nil {
		kv = append(kv, "columns", string(format))
	}
	kv = append(kv,
		"amount tolerance", amountText(st.AmountTolerance, asset, scales),
		"amount tolerance bp", strconv.FormatInt(st.AmountToleranceBP, 10),
		"date tolerance", (time.Duration(st.DateToleranceMs) * time.Millisecond).String(),
		"late window", (time.Duration(st.LateWindowMs) * time.Millisecond).String(),
		"alert count", strconv.FormatInt(st.AlertCount, 10),
		"alert amount", amountText(st.AlertAmount, asset, scales),
		"auto-fail short", yesNo(st.AutoFailShort),
		"version", strconv.Itoa(st.Version))
	if st.UpdatedBy != "" {
		kv = append(kv, "updated", timeText(st.UpdatedAt)+" by "+st.UpdatedBy)
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
	rec, err := c.send(ctx, http.MethodPost, "/v1/recon/statements", url.Values{"channel_id": {c.Channel}, "date": {c.Date}},
		"application/octet-stream", content, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, rec.raw)
	}
	var st recon.Statement
	if err := json.Unmarshal(rec.raw, &st); err != nil {
		return fmt.Errorf("decode statement: %w", err)
	}
	scales := c.scales(ctx)
	asset := c.channelAssets(ctx)(st.ChannelID)
	if err := fields(a.stdout,
		"id", st.ID,
		"channel", st.ChannelID,
		"institution", st.InstitutionID,
		"date", st.Date,
		"format", st.Format,
		"lines", strconv.FormatInt(st.Lines, 10),
		"credits", amountText(st.Credits, asset, scales),
		"debits", amountText(st.Debits, asset, scales),
		"fees", amountText(st.Fees, asset, scales),
		"bytes", strconv.FormatInt(st.Size, 10),
		"sha-256", st.SHA256,
		"imported", timeText(st.ImportedAt)+" by "+st.ImportedBy); err != nil {
		return err
	}
	if rec.status == http.StatusOK {
		fmt.Fprintln(a.stdout, "already imported: the same file was imported before; nothing changed")
	} else {
		fmt.Fprintln(a.stdout, "imported")
	}
	return nil
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
	body := map[string]any{"date": c.Date, "dry_run": c.DryRun}
	if c.Channel != "" {
		body["channel_id"] = c.Channel
	} else {
		body["institution_id"], body["subtree"] = c.Institution, c.Subtree
	}
	var out recon.Branches
	ans, err := c.call(ctx, http.MethodPost, "/v1/recon/runs", nil, body, &out, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	scales, assetOf := c.scales(ctx), c.channelAssets(ctx)
	assets := map[string]bool{}
	for i, r := range out.Runs {
		if i > 0 {
			fmt.Fprintln(a.stdout)
		}
		asset := assetOf(r.ChannelID)
		assets[asset] = true
		if err := printReconRun(a.stdout, r, asset, scales); err != nil {
			return err
		}
	}
	if len(out.Runs) == 0 {
		fmt.Fprintln(a.stdout, "no channel has a statement for "+c.Date)
	}
	if len(out.Missing) > 0 {
		fmt.Fprintf(a.stdout, "\nwithout a statement for %s: %s\n", c.Date, strings.Join(out.Missing, ", "))
	}
	if len(out.Runs) > 1 && !c.DryRun {
		total := strconv.FormatInt(out.OpenAmount, 10) + " (minor units, over several assets)"
		if len(assets) == 1 {
			for asset := range assets {
				total = amountText(out.OpenAmount, asset, scales)
			}
		}
		fmt.Fprintf(a.stdout, "\nin all: %d open, %s; alerted %s\n", out.Open, total, yesNo(out.Alerted))
	}
	return nil
}

// countsText lists a run's item counts by kind, skipping zeros: the match
// kinds in a fixed order, then any other count by name.
func countsText(counts map[string]int) string {
	countOrder := []string{"matched", "late", "long", "short", "amount_mismatch", "status_mismatch", "duplicate", "fee_mismatch", "ignored"}
	skip := map[string]bool{"lines": true, "orders": true, "auto_resolved": true, "open": true}
	var parts []string
	for _, k := range countOrder {
		if counts[k] != 0 {
			parts = append(parts, k+" "+strconv.Itoa(counts[k]))
		}
		skip[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		if !skip[k] && counts[k] != 0 {
			parts = append(parts, k+" "+strconv.Itoa(counts[k]))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

func printReconRun(w io.Writer, r *recon.Run, asset string, scales scaleFunc) error {
	if r.DryRun {
		fmt.Fprintf(w, "channel %s: dry run of statement %s of %s (nothing written)\n", r.ChannelID, r.StatementID, r.Date)
	} else {
		fmt.Fprintf(w, "channel %s: run %s of statement %s of %s, %s\n", r.ChannelID, r.ID, r.StatementID, r.Date, r.Status)
	}
	kv := []string{"  looked at", fmt.Sprintf("%d line(s), %d order(s)", r.Counts["lines"], r.Counts["orders"]),
		"  found", countsText(r.Counts)}
	if r.DryRun {
		actions := map[string]int{}
		for _, it := range r.Items {
			if it.Action != "" {
				actions[it.Action]++
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
		kv = append(kv, "  auto-resolved", strconv.Itoa(r.Counts["auto_resolved"]),
			"  open", strconv.Itoa(r.Counts["open"])+", "+amountText(r.OpenAmount, asset, scales),
			"  alerted", yesNo(r.Alerted))
	}
	if err := fields(w, kv...); err != nil {
		return err
	}
	if !r.DryRun || len(r.Items) == 0 {
		return nil
	}
	t := newTable(w, "  KIND", "BY", "LINES", "ORDERS", "DIFFERENCE", "EFFECT", "ACTION", "DETAIL")
	for _, it := range r.Items {
		t.row("  "+string(it.Kind), string(it.By), intsText(it.Lines), strings.Join(it.OrderIDs, ","),
			amountText(it.Difference, asset, scales), amountText(it.Effect, asset, scales), it.Action, it.Detail)
	}
	return t.flush()
}

func intsText(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// discrepancyPage is a page of GET /v1/recon/discrepancies.
type discrepancyPage struct {
	Items      []*recon.Discrepancy `json:"items"`
	NextCursor string               `json:"next_cursor"`
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
	var page discrepancyPage
	ans, err := c.call(ctx, http.MethodGet, "/v1/recon/discrepancies", pageQuery(c.After, c.Limit, "status", c.Status, "kind", c.Kind,
		"channel_id", c.Channel, "run_id", c.RunID), nil, &page, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	scales := c.scales(ctx)
	t := newTable(a.stdout, "ID", "KIND", "CHANNEL", "LINE", "ORDERS", "DIFFERENCE", "EFFECT", "STATUS")
	for _, d := range page.Items {
		line := "-"
		if d.LineNo != 0 {
			line = strconv.Itoa(d.LineNo)
		}
		t.row(d.ID, string(d.Kind), d.ChannelID, line, strings.Join(d.OrderIDs, ","), amountText(d.Difference, d.Asset, scales),
			amountText(d.Effect, d.Asset, scales), d.Status)
	}
	if err := t.flush(); err != nil {
		return err
	}
	more(a.stdout, page.NextCursor)
	return nil
}

func discrepancyPath(id, action string) string {
	return "/v1/recon/discrepancies/" + url.PathEscape(id) + "/" + action
}

// printDiscrepancy prints one discrepancy, or the raw answer for --json.
func (c *client) printDiscrepancy(ctx context.Context, w io.Writer, ans *answer, d *recon.Discrepancy) error {
	if c.JSON {
		return printJSON(w, ans.raw)
	}
	scales := c.scales(ctx)
	kv := []string{"id", d.ID, "kind", string(d.Kind), "channel", d.ChannelID, "institution", d.InstitutionID, "run", d.RunID}
	if d.StatementID != "" {
		kv = append(kv, "statement", d.StatementID+" line "+strconv.Itoa(d.LineNo))
	}
	for _, f := range [][2]string{{"matched by", string(d.By)}, {"orders", strings.Join(d.OrderIDs, ", ")}, {"account", d.AccountID}} {
		if f[1] != "" {
			kv = append(kv, f[0], f[1])
		}
	}
	kv = append(kv, "direction", string(d.Direction), "difference", amountText(d.Difference, d.Asset, scales),
		"effect", amountText(d.Effect, d.Asset, scales), "detail", d.Detail, "status", d.Status)
	for _, f := range [][2]string{{"resolution", d.Resolution}, {"parked in", d.ParkTx}, {"resolved in", d.ResolveTx},
		{"proposed by", d.ProposedBy}, {"resolved by", d.ResolvedBy}, {"note", d.Note}} {
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
	body := map[string]any{"action": c.Action, "note": c.Note}
	if c.Account != "" {
		body["account_id"] = c.Account
	}
	var d recon.Discrepancy
	ans, err := c.call(ctx, http.MethodPost, discrepancyPath(c.ID, "resolve"), nil, body, &d, "")
	if err != nil {
		return err
	}
	return c.printDiscrepancy(ctx, a.stdout, ans, &d)
}

// writeOffCmd is a decision on a proposed write-off.
type writeOffCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Discrepancy ID."`
	Note   string `help:"Why, for the audit log (at most 500 bytes)."`
}

// decide approves or rejects the write-off and prints the discrepancy.
func (c *writeOffCmd) decide(ctx context.Context, a *app, action string) error {
	body := map[string]any{}
	if c.Note != "" {
		body["note"] = c.Note
	}
	var d recon.Discrepancy
	ans, err := c.call(ctx, http.MethodPost, discrepancyPath(c.ID, "write-off/"+action), nil, body, &d, "")
	if err != nil {
		return err
	}
	return c.printDiscrepancy(ctx, a.stdout, ans, &d)
}

// ReconApproveCmd approves a write-off.
type ReconApproveCmd struct {
	writeOffCmd `embed:""`
}

// Run approves the write-off.
func (c *ReconApproveCmd) Run(ctx context.Context, a *app) error { return c.decide(ctx, a, "approve") }

// ReconRejectCmd rejects a write-off.
type ReconRejectCmd struct {
	writeOffCmd `embed:""`
}

// Run rejects the write-off.
func (c *ReconRejectCmd) Run(ctx context.Context, a *app) error { return c.decide(ctx, a, "reject") }

func eodRunPath(date string) string { return "/v1/eod/runs/" + url.PathEscape(date) }

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
	if c.Date != "" {
		var run eod.Run
		ans, err := c.call(ctx, http.MethodGet, eodRunPath(c.Date), nil, nil, &run, "")
		if err != nil {
			return err
		}
		if c.JSON {
			return printJSON(a.stdout, ans.raw)
		}
		return printEODRun(a.stdout, &run, nil, c.scales(ctx))
	}
	var list struct {
		Items []*eod.Run `json:"items"`
	}
	ans, err := c.call(ctx, http.MethodGet, "/v1/eod/runs", pageQuery("", c.Limit), nil, &list, "")
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	if len(list.Items) == 0 {
		fmt.Fprintln(a.stdout, "no end-of-day runs")
		return nil
	}
	t := newTable(a.stdout, "DATE", "STATUS", "ATTEMPTS", "STARTED", "FINISHED", "MANIFEST SHA-256")
	for _, r := range list.Items {
		finished := "-"
		if r.FinishedAt != nil {
			finished = timeText(*r.FinishedAt)
		}
		t.row(r.Date, string(r.Status), strconv.Itoa(r.Attempts), timeText(r.StartedAt), finished, r.ManifestSHA256)
	}
	return t.flush()
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
	var list struct {
		Items []*eod.Artifact `json:"items"`
	}
	ans, err := c.call(ctx, http.MethodGet, eodRunPath(c.Date)+"/reports", nil, nil, &list, "")
	if err != nil {
		return err
	}
	var written []string
	if c.Out != "" {
		written, err = writeReports(c.Out, list.Items, func(name string) ([]byte, error) { return c.download(ctx, c.Date, name) })
		if err != nil {
			return err
		}
	}
	if c.JSON {
		return printJSON(a.stdout, ans.raw)
	}
	if err := printReports(a.stdout, list.Items); err != nil {
		return err
	}
	printWritten(a.stdout, c.Out, written)
	return nil
}

// download fetches a report; its content must match the SHA-256 the
// server sends with it.
func (c *client) download(ctx context.Context, date, name string) ([]byte, error) {
	rec, err := c.send(ctx, http.MethodGet, eodRunPath(date)+"/reports/"+url.PathEscape(name), nil, "", nil, "")
	if err != nil {
		return nil, err
	}
	content := rec.raw
	want := strings.ToLower(rec.header.Get("X-Content-SHA256"))
	if want == "" {
		return nil, errors.New("the server sent no X-Content-SHA256")
	}
	if got := sha256Hex(content); got != want {
		return nil, fmt.Errorf("downloaded %d bytes with SHA-256 %s; the server's X-Content-SHA256 is %s", len(content), got, want)
	}
	return content, nil
}
