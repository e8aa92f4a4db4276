package eod_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/eod"
	"github.com/suanpan/suanpan/ledger"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

// The crash child's instructions, from the parent test.
const (
	crashDBEnv    = "SUANPAN_EOD_CRASH_DB"
	crashStepEnv  = "SUANPAN_EOD_CRASH_STEP"
	crashPointEnv = "SUANPAN_EOD_CRASH_POINT" // "work" or "commit"
	crashExit     = 3
)

// The end of day killed in every step — once when the step has started
// and before its work, once inside the transaction that would complete it
// after all its writes — and run again: it resumes at the step and
// produces files byte for byte identical to an uninterrupted run's, with
// the same manifest checksum. The kill is a real process exit (the test
// binary re-executed as TestCrashChild) on an SQLite file; the
// uninterrupted run is on a twin file copied from the same seeded store.
func TestCrashInEveryStepResumesToTheSameFiles(t *testing.T) {
	t.Parallel()
	template := seededFile(t)
	twin := openFile(t, template)
	r := twin.runner()
	want := mustRun(t, r, closeDate)
	wantFiles := files(t, r, closeDate)
	if len(wantFiles) != 6 {
		t.Fatalf("the uninterrupted run made %d files", len(wantFiles))
	}

	for _, step := range eod.Steps() {
		for _, point := range []string{"work", "commit"} {
			t.Run(step+"/"+point, func(t *testing.T) {
				path := template.copy(t)
				cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), crashDBEnv+"="+path, crashStepEnv+"="+step, crashPointEnv+"="+point)
				out, err := cmd.CombinedOutput()
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != crashExit {
					t.Fatalf("the child did not crash (%v):\n%s", err, out)
				}

				w := openFile(t, seedFile(path))
				r := w.runner()
				ctx := context.Background()
				crashed, err := r.Get(ctx, closeDate)
				if err != nil {
					t.Fatal(err)
				}
				if crashed.Status != eod.StatusRunning {
					t.Errorf("after the crash the run is %s", crashed.Status)
				}
				for _, s := range crashed.Steps {
					wantStatus := eod.StepDone
					switch {
					case s.Name == step:
						wantStatus = eod.StepRunning
					case s.Seq > crashed.Steps[stepIndex(step)].Seq:
						wantStatus = eod.StepPending
					}
					if s.Status != wantStatus {
						t.Errorf("after the crash step %s is %s, want %s", s.Name, s.Status, wantStatus)
					}
				}
				// The dead runner's lease holds until it runs out.
				if _, err := r.Run(ctx, closeDate, "ops"); code(err) != eod.CodeRunning {
					t.Fatalf("run within the lease: %v, want %s", err, eod.CodeRunning)
				}
				w.clock.Advance(eod.DefaultLease + time.Minute)
				run := mustRun(t, r, closeDate)
				if run.Status != want.Status || run.Attempts != 2 || run.ManifestSHA256 != want.ManifestSHA256 {
					t.Errorf("resumed run %+v; uninterrupted %+v", run, want)
				}
				for _, s := range run.Steps {
					if n := map[bool]int{true: 2, false: 1}[s.Name == step]; s.Attempts != n {
						t.Errorf("step %s ran %d times, want %d", s.Name, s.Attempts, n)
					}
				}
				if diff := cmp.Diff(wantFiles, files(t, r, closeDate)); diff != "" {
					t.Errorf("files after the crash (-uninterrupted +resumed):\n%s", diff)
				}
				if n := len(events(t, w.db, eod.EventCompleted)); n != 1 {
					t.Errorf("%d eod.completed events", n)
				}
			})
		}
	}
}

func stepIndex(step string) int {
	for i, s := range eod.Steps() {
		if s == step {
			return i
		}
	}
	return -1
}

// TestCrashChild is the process the crash test kills: it runs the end of
// day on the file it is given and exits inside the step it is told to.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashDBEnv)
	if path == "" {
		t.Skip("run by TestCrashInEveryStepResumesToTheSameFiles")
	}
	w := openFile(t, seedFile(path))
	r := w.runner()
	step, point := os.Getenv(crashStepEnv), os.Getenv(crashPointEnv)
	crash := func(s string) {
		if s == step {
			os.Exit(crashExit)
		}
	}
	switch point {
	case "work":
		eod.SetHooks(r, crash, nil)
	case "commit":
		eod.SetHooks(r, nil, crash)
	default:
		t.Fatalf("%s=%q", crashPointEnv, point)
	}
	_, err := r.Run(context.Background(), closeDate, "crash-test")
	t.Fatalf("the run went through step %s (%s) without crashing: %v", step, point, err)
}

// seedFile is an SQLite store file holding newDay's books.
type seedFile string

// seededFile books newDay on a fresh SQLite store and returns a compact,
// self-contained copy of it (no WAL) to copy from.
func seededFile(t *testing.T) seedFile {
	t.Helper()
	db := storetest.Open(t, store.SQLite)
	d := newDay(t, db)
	if err := d.ledger.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "seed.db")
	if _, err := db.Write.ExecContext(context.Background(), `VACUUM INTO $1`, path); err != nil {
		t.Fatal(err)
	}
	return seedFile(path)
}

// copy returns a new file with the seed's content.
func (f seedFile) copy(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(string(f))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "suanpan.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fileWorld is a store file opened with a ledger on a fake clock at
// eodTime.
type fileWorld struct {
	db    *store.DB
	clock *clock.Fake
	l     *ledger.Ledger
}

// openFile opens a copy of the seed, or the file itself when it is the
// one a crash left behind (a path not ending in seed.db).
func openFile(t *testing.T, f seedFile) *fileWorld {
	t.Helper()
	path := string(f)
	if filepath.Base(path) == "seed.db" {
		path = f.copy(t)
	}
	db, err := store.Open(context.Background(), path, store.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := clock.NewFake(eodTime)
	l := ledger.New(db, ledger.Options{Clock: c})
	t.Cleanup(func() { l.Close() })
	return &fileWorld{db: db, clock: c, l: l}
}

func (w *fileWorld) runner() *eod.Runner {
	return eod.New(eod.Config{Ledger: w.l, Reconciler: &fakeRecon{db: w.db}})
}
