package audit_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/internal/audit"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

var base = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// record is the i-th record of the test chains: records alternate between
// institutions a and b.
func record(i int) audit.Record {
	inst := "a"
	if i%2 == 0 {
		inst = "b"
	}
	return audit.Record{At: base.Add(time.Duration(i) * time.Minute), KeyID: "key-1", InstitutionID: inst, Source: "10.0.0.1",
		Operation: "accounts.freeze", Target: fmt.Sprintf("account:%d", i), RequestID: fmt.Sprintf("req-%d", i),
		Before: map[string]any{"status": "active"}, After: map[string]any{"status": "frozen", "n": i}}
}

func appendOne(t *testing.T, db *store.DB, r audit.Record) *audit.Record {
	t.Helper()
	var out *audit.Record
	err := db.InTx(context.Background(), store.TxOptions{}, func(tx *sql.Tx) error {
		var err error
		out, err = audit.Append(context.Background(), tx, db.Dialect, r)
		return err
	})
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return out
}

// chain appends records 1..n.
func chain(t *testing.T, db *store.DB, n int) []*audit.Record {
	t.Helper()
	var out []*audit.Record
	for i := 1; i <= n; i++ {
		out = append(out, appendOne(t, db, record(i)))
	}
	return out
}

func exec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Write.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func verify(t *testing.T, db *store.DB) *audit.Report {
	t.Helper()
	rep, err := audit.Verify(context.Background(), db)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

func TestAppend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if rep := verify(t, db); !rep.OK || rep.Records != 0 || rep.Head != 0 {
			t.Errorf("empty log: %+v", rep)
		}
		// Times are kept in UTC to the microsecond.
		r := record(1)
		r.At = time.Date(2026, 11, 2, 17, 0, 0, 123456789, time.FixedZone("CST", 8*3600))
		first := appendOne(t, db, r)
		if first.Seq != 1 || first.PrevHash != "" || len(first.Hash) != 64 || !first.At.Equal(base.Add(123456*time.Microsecond)) || first.At.Location() != time.UTC {
			t.Errorf("first record %+v", first)
		}
		recs := []*audit.Record{first}
		for i := 2; i <= 5; i++ {
			recs = append(recs, appendOne(t, db, record(i)))
		}
		for i, r := range recs[1:] {
			if r.Seq != int64(i+2) || r.PrevHash != recs[i].Hash || r.Hash == recs[i].Hash {
				t.Errorf("record %d: seq %d prev %q", i+2, r.Seq, r.PrevHash)
			}
		}
		if rep := verify(t, db); !rep.OK || rep.Records != 5 || rep.Head != 5 || len(rep.Problems) != 0 {
			t.Errorf("report %+v", rep)
		}

		t.Run("a rolled-back append leaves no trace", func(t *testing.T) {
			boom := errors.New("boom")
			err := db.InTx(context.Background(), store.TxOptions{}, func(tx *sql.Tx) error {
				if _, err := audit.Append(context.Background(), tx, db.Dialect, record(99)); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("err %v", err)
			}
			if rep := verify(t, db); !rep.OK || rep.Records != 5 || rep.Head != 5 {
				t.Errorf("report %+v", rep)
			}
			if next := appendOne(t, db, record(6)); next.Seq != 6 || next.PrevHash != recs[4].Hash {
				t.Errorf("next record %+v", next)
			}
		})
	})
}

func TestList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		recs := chain(t, db, 7)
		ctx := context.Background()
		seqs := func(t *testing.T, f audit.Filter) ([]int64, int64) {
			t.Helper()
			got, next, err := audit.List(ctx, db, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []int64
			for _, r := range got {
				out = append(out, r.Seq)
			}
			return out, next
		}
		tests := []struct {
			name     string
			f        audit.Filter
			want     []int64
			wantNext int64
		}{
			{"all", audit.Filter{}, []int64{1, 2, 3, 4, 5, 6, 7}, 0},
			{"a page", audit.Filter{Limit: 3}, []int64{1, 2, 3}, 3},
			{"the next page", audit.Filter{Limit: 3, After: 3}, []int64{4, 5, 6}, 6},
			{"the last page", audit.Filter{Limit: 3, After: 6}, []int64{7}, 0},
			{"exactly a page", audit.Filter{Limit: 7}, []int64{1, 2, 3, 4, 5, 6, 7}, 0},
			{"limit above the maximum", audit.Filter{Limit: 1001}, []int64{1, 2, 3, 4, 5, 6, 7}, 0},
			{"by target", audit.Filter{Target: "account:4"}, []int64{4}, 0},
			{"by institution", audit.Filter{InstitutionIDs: []string{"a"}}, []int64{1, 3, 5, 7}, 0},
			{"by institutions", audit.Filter{InstitutionIDs: []string{"b", "a"}, Limit: 2, After: 1}, []int64{2, 3}, 3},
			{"no institutions", audit.Filter{InstitutionIDs: []string{}}, nil, 0},
			{"target in another institution", audit.Filter{Target: "account:4", InstitutionIDs: []string{"a"}}, nil, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, next := seqs(t, tt.f)
				if diff := cmp.Diff(tt.want, got); diff != "" || next != tt.wantNext {
					t.Errorf("seqs (-want +got):\n%s\nnext %d, want %d", diff, next, tt.wantNext)
				}
			})
		}
		t.Run("records as appended", func(t *testing.T) {
			got, _, err := audit.List(ctx, db, audit.Filter{Target: "account:2"})
			if err != nil || len(got) != 1 {
				t.Fatalf("%v %v", got, err)
			}
			r := got[0]
			before, _ := json.Marshal(r.Before)
			after, _ := json.Marshal(r.After)
			want := *recs[1]
			if r.Seq != want.Seq || !r.At.Equal(want.At) || r.KeyID != want.KeyID || r.InstitutionID != "b" || r.Source != want.Source ||
				r.Operation != want.Operation || r.Target != want.Target || r.RequestID != want.RequestID || r.PrevHash != want.PrevHash ||
				r.Hash != want.Hash || string(before) != `{"status":"active"}` || string(after) != `{"n":2,"status":"frozen"}` {
				t.Errorf("listed %+v (before %s after %s), appended %+v", r, before, after, want)
			}
		})
	})
}

// TestVerifyDetectsTampering alters, deletes and inserts records behind
// Append's back, with SQL, and checks that Verify reports each at the
// right place.
func TestVerifyDetectsTampering(t *testing.T) {
	type want struct {
		seq    int64
		detail string // a substring of the problem's detail
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, db *store.DB, recs []*audit.Record)
		want   []want
	}{
		{"intact", func(*testing.T, *store.DB, []*audit.Record) {}, nil},
		{"alter a record's operation", func(t *testing.T, db *store.DB, _ []*audit.Record) {
			exec(t, db, `UPDATE audit_log SET operation = 'keys.create' WHERE seq = 3`)
		}, []want{{3, "content does not match its hash"}}},
		{"alter a record's state after", func(t *testing.T, db *store.DB, _ []*audit.Record) {
			exec(t, db, `UPDATE audit_log SET after = '{"n":3,"status":"active"}' WHERE seq = 3`)
		}, []want{{3, "altered"}}},
		{"alter a record's time", func(t *testing.T, db *store.DB, _ []*audit.Record) {
			exec(t, db, `UPDATE audit_log SET at = at + 1 WHERE seq = 1`)
		}, []want{{1, "altered"}}},
		{"alter a record and its hash", func(t *testing.T, db *store.DB, _ []*audit.Record) {
			exec(t, db, `UPDATE audit_log SET operation = 'keys.create', hash = $1 WHERE seq = 3`, strings.Repeat("0", 64))
		}, []want{{3, "content does not match its hash"}, {4, "does not link"}}},
		{"delete a middle record", func(t *testing.T, db *store.DB, _ []*audit.Record) {
			exec(t, db, `DELETE FROM audit_log WHERE seq = 3`)
		}, []want{{4, "sequence jumps from 2 to 4"}, {4, "does not link"}}},
		{"delete the first record", func(t *testing.T, db *store.DB, _ []*audit.Record) {
			exec(t, db, `DELETE FROM audit_log WHERE seq = 1`)
		}, []want{{2, "sequence jumps from 0 to 2"}, {2, "does not link"}}},
		{"delete the newest record", func(t *testing.T, db *store.DB, _ []*audit.Record) {
			exec(t, db, `DELETE FROM audit_log WHERE seq = 5`)
		}, []want{{5, "the chain ends at 4 but its head says 5"}}},
		{"insert a forged record after the newest", func(t *testing.T, db *store.DB, recs []*audit.Record) {
			r := recs[4]
			exec(t, db, `INSERT INTO audit_log (seq, at, key_id, institution_id, source, operation, target, request_id, before, after, prev_hash, hash)
				VALUES (6, $1, $2, $3, $4, 'keys.revoke', 'key:key-1', 'req-forged', '', '', $5, $6)`,
				r.At.UnixMicro(), r.KeyID, r.InstitutionID, r.Source, r.Hash, strings.Repeat("f", 64))
		}, []want{{6, "content does not match its hash"}, {5, "the chain ends at 6 but its head says 5"}}},
		{"insert a well-formed record after the newest", func(t *testing.T, db *store.DB, _ []*audit.Record) {
			// The same chain in another store, one record longer: its
			// sixth record links to the fifth and hashes right.
			twin := storetest.Open(t, db.Dialect)
			chain(t, twin, 5)
			appendOne(t, twin, record(6))
			copyRecord(t, twin, db, 6)
		}, []want{{5, "the chain ends at 6 but its head says 5"}}},
		{"replace a record", func(t *testing.T, db *store.DB, recs []*audit.Record) {
			exec(t, db, `DELETE FROM audit_log WHERE seq = 2`)
			r := recs[1]
			exec(t, db, `INSERT INTO audit_log (seq, at, key_id, institution_id, source, operation, target, request_id, before, after, prev_hash, hash)
				VALUES (2, $1, $2, $3, $4, $5, 'account:other', $6, '{"status":"active"}', '{"n":2,"status":"frozen"}', $7, $8)`,
				r.At.UnixMicro(), r.KeyID, r.InstitutionID, r.Source, r.Operation, r.RequestID, r.PrevHash, r.Hash)
		}, []want{{2, "content does not match its hash"}}},
		{"alter the head", func(t *testing.T, db *store.DB, _ []*audit.Record) {
			exec(t, db, `UPDATE audit_head SET seq = 4`)
		}, []want{{4, "the chain ends at 5 but its head says 4"}}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				// Each case starts from an empty log.
				exec(t, db, `DELETE FROM audit_log`)
				exec(t, db, `UPDATE audit_head SET seq = 0, hash = ''`)
				recs := chain(t, db, 5)
				tt.tamper(t, db, recs)
				rep := verify(t, db)
				if rep.OK != (len(tt.want) == 0) {
					t.Errorf("ok %v with problems %+v", rep.OK, rep.Problems)
				}
				if len(rep.Problems) != len(tt.want) {
					t.Fatalf("problems %+v, want %+v", rep.Problems, tt.want)
				}
				for i, w := range tt.want {
					p := rep.Problems[i]
					if p.Seq != w.seq || !strings.Contains(p.Detail, w.detail) {
						t.Errorf("problem %d: %+v, want seq %d with %q", i, p, w.seq, w.detail)
					}
				}
			})
		}
	})
}

// copyRecord copies the audit record seq from one store to another as it is.
func copyRecord(t *testing.T, from, to *store.DB, seq int64) {
	t.Helper()
	var at int64
	var key, inst, src, op, target, rid, before, after, prev, hash string
	err := from.Read.QueryRowContext(context.Background(), `SELECT at, key_id, institution_id, source, operation, target, request_id,
		before, after, prev_hash, hash FROM audit_log WHERE seq = $1`, seq).
		Scan(&at, &key, &inst, &src, &op, &target, &rid, &before, &after, &prev, &hash)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, to, `INSERT INTO audit_log (seq, at, key_id, institution_id, source, operation, target, request_id, before, after, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, seq, at, key, inst, src, op, target, rid, before, after, prev, hash)
}

func TestMask(t *testing.T) {
	in := map[string]any{
		"name":      "Alice",
		"token":     "sp_abcdefgh_secretsecret",
		"api_token": "abcdefghijkl",
		"Password":  "hunter2",
		"secret":    12345.0,
		"pan":       "",
		"key_hash":  nil,
		"exactly8":  "12345678",
		"profile": map[string]any{
			"phone":      "13800138000",
			"Email":      "alice@example.com",
			"ID_NUMBER":  "110101199003078888",
			"tokenizer":  "kept",
			"phone_note": "kept too",
			"nested":     map[string]any{"bank_account": "6222020202020202", "short_id_card": "12345678"},
		},
		"cards": []any{map[string]any{"card_number": "6222020202020202", "cvv": "123"}, "plain", 42.0},
	}
	want := map[string]any{
		"name":      "Alice",
		"token":     "***cret",
		"api_token": "***ijkl",
		"Password":  "***",
		"secret":    "***",
		"pan":       "***",
		"key_hash":  "***",
		"exactly8":  "12345678",
		"profile": map[string]any{
			"phone":      "***8000",
			"Email":      "***.com",
			"ID_NUMBER":  "***8888",
			"tokenizer":  "kept",
			"phone_note": "kept too",
			"nested":     map[string]any{"bank_account": "***0202", "short_id_card": "***"},
		},
		"cards": []any{map[string]any{"card_number": "***0202", "cvv": "***"}, "plain", 42.0},
	}
	orig, _ := json.Marshal(in)
	if diff := cmp.Diff(want, audit.Mask(in)); diff != "" {
		t.Errorf("masked (-want +got):\n%s", diff)
	}
	if again, _ := json.Marshal(in); string(again) != string(orig) {
		t.Errorf("Mask changed its input: %s", again)
	}
	for _, v := range []any{nil, "token", 7.0, []any{"secret"}} {
		if diff := cmp.Diff(v, audit.Mask(v)); diff != "" {
			t.Errorf("Mask(%v) (-want +got):\n%s", v, diff)
		}
	}
	// A value of exactly 9 characters keeps its last four.
	if got := audit.Mask(map[string]any{"secret": "123456789"}); !cmp.Equal(got, map[string]any{"secret": "***6789"}) {
		t.Errorf("nine characters: %v", got)
	}
}

// TestAppendMasks: what Append stores is masked, whatever the Go type of
// Before and After.
func TestAppendMasks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		type key struct {
			ID    string `json:"id"`
			Token string `json:"token"`
		}
		r := record(1)
		r.Before = key{ID: "k1", Token: "sp_k1_0123456789abcdef"}
		r.After = map[string]any{"contact": map[string]string{"mobile": "13900139000"}}
		appendOne(t, db, r)
		got, _, err := audit.List(context.Background(), db, audit.Filter{})
		if err != nil || len(got) != 1 {
			t.Fatalf("%v %v", got, err)
		}
		before, _ := json.Marshal(got[0].Before)
		after, _ := json.Marshal(got[0].After)
		if string(before) != `{"id":"k1","token":"***cdef"}` || string(after) != `{"contact":{"mobile":"***9000"}}` {
			t.Errorf("stored before %s after %s", before, after)
		}
		if rep := verify(t, db); !rep.OK {
			t.Errorf("report %+v", rep)
		}
	})
}

// TestVerifyDetectsTruncation: deleting the newest records and rewinding
// the head to match is tampering too.
func TestVerifyDetectsTruncation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		recs := chain(t, db, 5)
		ctx := context.Background()
		head, err := audit.Head(ctx, db)
		if err != nil || head.Seq != 5 || head.Hash != recs[4].Hash {
			t.Fatalf("Head = %+v, %v; want record 5", head, err)
		}
		// An anchor kept outside the database, as `suanpan serve` logs it.
		anchor, err := audit.ParseAnchor(head.String())
		if err != nil || anchor != head {
			t.Fatalf("ParseAnchor(%q) = %+v, %v", head.String(), anchor, err)
		}
		if rep, err := audit.Verify(ctx, db, anchor); err != nil || !rep.OK || rep.HeadHash != head.Hash {
			t.Fatalf("intact chain with its anchor: %+v, %v", rep, err)
		}

		// Delete the newest records and rewrite the head to match: the chain
		// alone is consistent again...
		exec(t, db, `DELETE FROM audit_log WHERE seq >= 4`)
		exec(t, db, `UPDATE audit_head SET seq = 3, hash = $1`, recs[2].Hash)
		if rep := verify(t, db); !rep.OK {
			t.Fatalf("without an anchor the truncated chain looks intact, as documented: %+v", rep)
		}
		// ...but not against the anchor.
		rep, err := audit.Verify(ctx, db, anchor)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK || len(rep.Problems) != 1 || rep.Problems[0].Seq != 5 {
			t.Errorf("truncation against the anchor: %+v, want one problem at seq 5", rep)
		}
		// A rewritten record under an anchor is caught too.
		if rep, _ := audit.Verify(ctx, db, audit.Anchor{Seq: 2, Hash: strings.Repeat("0", 64)}); rep.OK {
			t.Errorf("a wrong anchor hash went unnoticed: %+v", rep)
		}
	})
}

func TestParseAnchor(t *testing.T) {
	h := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		in string
		ok bool
	}{{"7:" + h, true}, {"0:" + h, false}, {"x:" + h, false}, {"7", false}, {"7:" + h[:63], false}, {"7:" + strings.ToUpper(h), false}} {
		if _, err := audit.ParseAnchor(tc.in); (err == nil) != tc.ok {
			t.Errorf("ParseAnchor(%q): err %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}
