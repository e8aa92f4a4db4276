package sim_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
)

// TestMainRun runs the standalone simulator: it serves with background
// stepping, and writes every kind's statement file when it stops.
func TestMainRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m := &sim.Main{Config: sim.Config{Seed: 1, Clock: clock.NewFake(epoch)}, StatementDir: dir}
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan *sim.Server, 1)
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, ln, func(s *sim.Server) { ready <- s }) }()
	s := <-ready

	a, err := channel.New(s.ChannelConfig("http://"+ln.Addr().String(), channel.BankTransfer))
	if err != nil {
		t.Fatal(err)
	}
	req := channel.Request{OrderID: "MAIN-1", Direction: channel.PayIn, Amount: 500, Asset: "CNY", Party: "P1"}
	if _, err := a.Start(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	s.Settle()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	for _, k := range channel.Kinds() {
		data, err := os.ReadFile(filepath.Join(dir, s.StatementName(k, epoch)))
		if err != nil {
			t.Fatal(err)
		}
		if k == channel.BankTransfer && !strings.Contains(string(data), req.OrderID) {
			t.Errorf("bank statement lacks %s:\n%s", req.OrderID, data)
		}
	}
}
