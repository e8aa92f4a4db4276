package sim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
)

// JournalFile is the name of the simulator's order journal in Config.Dir.
const JournalFile = "orders.jsonl"

// maxJournalLine bounds one line of the journal: an order's record is well
// under a kilobyte, its texts being bounded by the dialects.
const maxJournalLine = 64 << 10

// journal keeps the simulator's orders in an append-only file of JSON
// lines, one full record of an order per change, the last one winning. A
// record of an acknowledged order is synced before the answer goes out,
// so a restarted simulator knows every order it ever acknowledged, as a
// real channel does; decisions are synced before their callbacks go out.
// Opening the journal compacts it to one line per order.
type journal struct {
	f         *os.File
	closeOnce sync.Once
	closeErr  error
}

// entry is one line of the journal: an order's record as it stands, or,
// for an order never recorded (Order.Status empty: only Kind and ID are
// set), how many of its start attempts were dropped, so that a restarted
// simulator goes on drawing afresh for each attempt instead of repeating
// the draws it made.
type entry struct {
	Order Order `json:"order"`
	// Fate is what will happen to the order, kept so that a simulator
	// restarted with another seed or rates decides it as it was going to.
	Fate storedFate `json:"fate"`
	// Fee is charged if the order succeeds.
	Fee int64 `json:"fee"`
	// Owed is set while callbacks about the order remain to be delivered;
	// a restarted simulator sends the final one again.
	Owed bool `json:"owed,omitempty"`
	// Dropped counts the dropped start attempts of an order never
	// recorded.
	Dropped int `json:"dropped,omitempty"`
}

// storedFate is a fate as the journal keeps it.
type storedFate struct {
	Late, Fail, Pending                  bool
	FailureCode, FailureMessage          string
	Delay                                time.Duration
	DropCallbacks, Duplicate, OutOfOrder bool
}

func (f fate) stored() storedFate {
	return storedFate{Late: f.late, Fail: f.fail, Pending: f.pending, FailureCode: f.failure.code,
		FailureMessage: f.failure.message, Delay: f.delay, DropCallbacks: f.dropCallbacks, Duplicate: f.duplicate,
		OutOfOrder: f.outOfOrder}
}

func (f storedFate) fate() fate {
	return fate{late: f.Late, fail: f.Fail, pending: f.Pending, failure: failure{code: f.FailureCode, message: f.FailureMessage},
		delay: f.Delay, dropCallbacks: f.DropCallbacks, duplicate: f.Duplicate, outOfOrder: f.OutOfOrder}
}

// entryOf is o's journal line.
func entryOf(o *order) entry {
	v := o.Order
	v.Deliveries = nil // kept in memory only: the journal keeps what the channel owes
	return entry{Order: v, Fate: o.fate.stored(), Fee: o.fee, Owed: len(o.pending) > 0}
}

// openJournal reads the journal in dir (creating dir and the journal when
// missing), rewrites it compacted, and returns it open for appending with
// the orders it holds. A torn last line, left by a crash in the middle of
// a write, is dropped: its order was never acknowledged.
func openJournal(dir string) (*journal, []entry, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("sim: data directory: %w", err)
	}
	path := filepath.Join(dir, JournalFile)
	entries, err := readJournal(path)
	if err != nil {
		return nil, nil, err
	}
	if err := compact(path, entries); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("sim: journal: %w", err)
	}
	return &journal{f: f}, entries, nil
}

// readJournal returns the last record of every order in the journal at
// path, by kind and ID; none if there is no journal.
func readJournal(path string) ([]entry, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sim: journal: %w", err)
	}
	defer f.Close()
	last := map[key]entry{}
	r := bufio.NewReaderSize(f, 64<<10)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			break // a torn last line, if any: never synced, never acknowledged
		}
		if err != nil {
			return nil, fmt.Errorf("sim: journal %s: %w", path, err)
		}
		if len(line) > maxJournalLine {
			return nil, fmt.Errorf("sim: journal %s line %d: longer than %d bytes", path, n, maxJournalLine)
		}
		var e entry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("sim: journal %s line %d: %w", path, n, err)
		}
		if _, err := channel.ParseKind(string(e.Order.Kind)); err != nil || e.Order.ID == "" {
			return nil, fmt.Errorf("sim: journal %s line %d: no order", path, n)
		}
		last[key{e.Order.Kind, e.Order.ID}] = e
	}
	out := make([]entry, 0, len(last))
	for _, k := range slices.SortedFunc(maps.Keys(last), compareKeys) {
		out = append(out, last[k])
	}
	return out, nil
}

// compact replaces the journal at path by one holding entries, through a
// synced temporary file renamed into place.
func compact(path string, entries []entry) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("sim: journal: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, e := range entries {
		line, err := json.Marshal(e)
		if err == nil {
			_, err = w.Write(append(line, '\n'))
		}
		if err != nil {
			_ = f.Close()
			return fmt.Errorf("sim: journal: %w", err)
		}
	}
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("sim: compact journal %s: %w", path, err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// write appends o's record. s.mu is held: records reach the file in the
// order the changes happened.
func (j *journal) write(o *order) error {
	return j.append(entryOf(o))
}

// append appends e as a line.
func (j *journal) append(e entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("sim: journal %s: %w", e.Order.ID, err)
	}
	if _, err := j.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("sim: journal %s: %w", e.Order.ID, err)
	}
	return nil
}

// sync makes every record written so far durable. It need not hold s.mu.
func (j *journal) sync() error {
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sim: sync journal: %w", err)
	}
	return nil
}

// close syncs and closes the file, once; writing afterwards fails.
func (j *journal) close() error {
	j.closeOnce.Do(func() {
		j.closeErr = j.f.Sync()
		if err := j.f.Close(); j.closeErr == nil {
			j.closeErr = err
		}
	})
	return j.closeErr
}
