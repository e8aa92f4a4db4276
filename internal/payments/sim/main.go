package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
)

// Main runs a simulator standalone, as `suanpan sim channel` does: it
// serves HTTP until its context ends and writes every kind's statement
// files.
type Main struct {
	// Config configures the simulator; a zero Interval becomes
	// DefaultInterval, since nobody steps a standalone simulator by hand.
	Config Config
	// StatementDir, when set, receives each kind's statement for every day
	// that ends while the simulator runs, and for the current day at
	// shutdown.
	StatementDir string
	// Log receives what happens; nil discards it.
	Log *slog.Logger
}

// DefaultInterval is how often a standalone simulator steps.
const DefaultInterval = 100 * time.Millisecond

// Timeouts of the standalone HTTP server.
const (
	readHeaderTimeout = 10 * time.Second
	shutdownTimeout   = 5 * time.Second
)

// Run serves a new simulator on ln until ctx ends, then closes it and
// writes the day's statements. ready, when not nil, is called with the
// simulator once it accepts requests.
func (m *Main) Run(ctx context.Context, ln net.Listener, ready func(*Server)) (err error) {
	log := m.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := m.Config
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	s, err := New(cfg)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: readHeaderTimeout, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	defer func() {
		// Close first: it releases the connections held by late and dropped
		// answers, which Shutdown would otherwise wait for.
		err = errors.Join(err, s.Close())
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if serr := hs.Shutdown(sctx); serr != nil {
			err = errors.Join(err, fmt.Errorf("sim: shut down: %w", serr))
		}
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, fmt.Errorf("sim: serve: %w", serr))
		}
		err = errors.Join(err, m.writeStatements(s, s.clock.Now(), log))
	}()
	log.Info("channel simulator listening", "addr", ln.Addr().String(), "seed", cfg.Seed, "data", cfg.Dir,
		"orders_restored", s.Stats().Restored)
	if ready != nil {
		ready(s)
	}
	day := s.clock.Now().UTC().Format(time.DateOnly)
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			now := s.clock.Now().UTC()
			if today := now.Format(time.DateOnly); today != day {
				if err := m.writeStatements(s, now.AddDate(0, 0, -1), log); err != nil {
					log.Error("write statements", "err", err)
				}
				day = today
			}
		}
	}
}

// writeStatements writes every kind's statement for day into StatementDir,
// each through a temporary file so no reader sees half of one.
func (m *Main) writeStatements(s *Server, day time.Time, log *slog.Logger) error {
	if m.StatementDir == "" {
		return nil
	}
	var errs []error
	for _, k := range channel.Kinds() {
		path := filepath.Join(m.StatementDir, s.StatementName(k, day))
		if err := writeFile(path, func(f *os.File) error { return s.WriteStatement(f, k, day) }); err != nil {
			errs = append(errs, err)
			continue
		}
		log.Info("wrote statement", "kind", k, "path", path)
	}
	return errors.Join(errs...)
}

// writeFile writes path through a temporary file renamed into place.
func writeFile(path string, write func(*os.File) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("sim: statement: %w", err)
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("sim: statement %s: %w", path, err)
	}
	return nil
}
