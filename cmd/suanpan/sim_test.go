package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suanpan/suanpan/internal/payments/channel"
)

// TestSimChannelKeepsOrders restarts `suanpan sim channel` on its data
// directory: the new process knows the order the first acknowledged, and a
// repeated start of it is the same order, not a second one.
func TestSimChannelKeepsOrders(t *testing.T) {
	cleanEnv(t)
	dir := filepath.Join(t.TempDir(), "sim")
	ctx := context.Background()
	req := channel.Request{OrderID: "SIM-KEEP-1", Direction: channel.PayOut, Amount: 12_00, Asset: "CNY",
		Party: "6222020200112233", PartyName: "Li Lei"}

	first := startCommand(t, "http", "sim", "channel", "--addr", "127.0.0.1:0", "--data", dir)
	if out := first.stdout.String(); !strings.Contains(out, "0 from earlier runs") {
		t.Errorf("first run printed:\n%s\nwant no orders from earlier runs", out)
	}
	started, err := simAdapter(t, first).Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	first.mustStop()

	second := startCommand(t, "http", "sim", "channel", "--addr", "127.0.0.1:0", "--data", dir)
	if out := second.stdout.String(); !strings.Contains(out, "1 from earlier runs") {
		t.Errorf("second run printed:\n%s\nwant the order from the first", out)
	}
	a := simAdapter(t, second)
	got, err := a.Query(ctx, req.OrderID, req.Direction)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status == channel.NotFound || got.ChannelRef != started.ChannelRef {
		t.Errorf("query after the restart: %s %s, want the order started before (%s)", got.Status, got.ChannelRef, started.ChannelRef)
	}
	again, err := a.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if again.ChannelRef != started.ChannelRef {
		t.Errorf("a repeated start after the restart is order %s, want %s", again.ChannelRef, started.ChannelRef)
	}
	second.mustStop()
}

// simAdapter returns a bank_transfer adapter for the simulator r runs, as
// its banner configures it.
func simAdapter(t *testing.T, r *running) channel.Adapter {
	t.Helper()
	for _, line := range strings.Split(r.stdout.String(), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == string(channel.BankTransfer) {
			a, err := channel.New(channel.Config{Kind: channel.BankTransfer, Endpoint: f[1], MerchantID: "suanpan", Secret: f[2]})
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
	}
	t.Fatalf("no bank_transfer line in:\n%s", r.stdout.String())
	return nil
}
