package match_test

import (
	"fmt"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/match"
	"github.com/suanpan/suanpan/internal/recon/statement"
)

// A day with an order settled by its ID, a bulk batch settled by one line,
// an order the channel reports without a reference (and which Suanpan still
// has as unknown), and an order missing from the statement.
func ExampleReconcile() {
	day := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	orders := []match.Order{
		{ID: "po_1", Direction: channel.PayIn, Amount: 10000, Fee: 60, Asset: "CNY", State: match.StateSucceeded, At: day},
		{ID: "po_2", Group: "batch_7", Direction: channel.PayOut, Amount: 5000, Asset: "CNY", State: match.StateSucceeded, At: day},
		{ID: "po_3", Group: "batch_7", Direction: channel.PayOut, Amount: 7000, Asset: "CNY", State: match.StateSucceeded, At: day},
		{ID: "po_4", Direction: channel.PayIn, Amount: 2500, Asset: "CNY", State: match.StateUnknown, At: day, Party: "6222021234"},
		{ID: "po_5", Direction: channel.PayIn, Amount: 800, Asset: "CNY", State: match.StateSucceeded, At: day},
	}
	lines := []statement.Line{
		{No: 1, OrderID: "po_1", Direction: channel.PayIn, Amount: 10000, Fee: 60, Asset: "CNY", Status: channel.Succeeded, At: day},
		{No: 2, OrderID: "batch_7", Direction: channel.PayOut, Amount: 12000, Asset: "CNY", Status: channel.Succeeded, At: day},
		{No: 3, ChannelRef: "T0093", Direction: channel.PayIn, Amount: 2499, Asset: "CNY", Status: channel.Succeeded, At: day.Add(20 * time.Minute), Party: "6222021234"},
	}
	res, err := match.Reconcile(lines, orders, match.Rules{
		AmountTolerance: 5,
		DateTolerance:   time.Hour,
		LateWindow:      2 * time.Hour,
		AsOf:            day.Add(24 * time.Hour),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, it := range res.Items {
		fmt.Printf("%s by %q lines %v orders %v difference %d", it.Kind, it.By, it.Lines, it.Orders, it.Difference)
		if it.Detail != "" {
			fmt.Print(": ", it.Detail)
		}
		fmt.Println()
	}
	// Output:
	// matched by "order_id" lines [0] orders [0] difference 0
	// matched by "group" lines [1] orders [1 2] difference 0
	// status_mismatch by "amount" lines [2] orders [3] difference 2499: channel succeeded, order unknown
	// short by "" lines [] orders [4] difference -800: order po_5 succeeded, not in the statement
}
