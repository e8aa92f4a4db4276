package accounts_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/store"
	"github.com/suanpan/suanpan/store/storetest"
)

var (
	key1 = accounts.Key{ID: "k1", Secret: secret(1)}
	key2 = accounts.Key{ID: "k2", Secret: secret(2)}
)

func newCustomers(t *testing.T, db *store.DB, keys ...accounts.Key) (*accounts.Customers, *clock.Fake) {
	t.Helper()
	if len(keys) == 0 {
		keys = []accounts.Key{key1}
	}
	c := clock.NewFake(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	return accounts.NewCustomers(db, c, mustKeyring(t, keys...)), c
}

func alice() accounts.NewCustomer {
	return accounts.NewCustomer{InstitutionID: "bank-a", Type: accounts.Personal, Name: "张三丰",
		IDDocType: accounts.ResidentID, IDDocNumber: "110105194912310021", Phone: "13800138000",
		Properties: map[string]string{"segment": "retail"}}
}

func mustCreate(t *testing.T, cs *accounts.Customers, n accounts.NewCustomer) *accounts.Customer {
	t.Helper()
	c, err := cs.Create(context.Background(), n)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return c
}

func wantCode(t *testing.T, err error, code accounts.Code) {
	t.Helper()
	if got := accounts.ErrorCode(err); got != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}

// rawRow returns a customer's stored identity columns and index.
func rawRow(t *testing.T, db *store.DB, id string) (name, number, index, phone string) {
	t.Helper()
	err := db.Read.QueryRow(`SELECT name, id_doc_number, id_number_index, phone FROM customers WHERE id = $1`, id).
		Scan(&name, &number, &index, &phone)
	if err != nil {
		t.Fatal(err)
	}
	return name, number, index, phone
}

func TestCustomerRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cs, clk := newCustomers(t, db)
		var writes []string
		c, err := cs.Create(ctx, alice(), func(_ context.Context, _ *sql.Tx, before, after *accounts.Customer) error {
			writes = append(writes, fmt.Sprintf("%v %s %s %s", before == nil, after.Name, after.IDDocNumber, after.Phone))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"true 张** 110***********0021 138****8000"}; !cmp.Equal(writes, want) {
			t.Errorf("writes saw %v, want masked %v", writes, want)
		}
		want := &accounts.Customer{ID: c.ID, InstitutionID: "bank-a", Type: accounts.Personal, Name: "张三丰",
			IDDocType: accounts.ResidentID, IDDocNumber: "110105194912310021", Phone: "13800138000",
			Status: accounts.CustomerActive, RiskLevel: accounts.RiskLow, Properties: map[string]string{"segment": "retail"},
			CreatedAt: clk.Now(), UpdatedAt: clk.Now()}
		if diff := cmp.Diff(want, c); diff != "" {
			t.Errorf("created (-want +got):\n%s", diff)
		}
		got, err := cs.Get(ctx, c.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("read back (-want +got):\n%s", diff)
		}
		found, err := cs.FindByIDNumber(ctx, []string{"bank-a"}, "110105194912310021")
		if err != nil || len(found) != 1 || found[0].ID != c.ID {
			t.Errorf("FindByIDNumber = %v, %v", found, err)
		}
		if found, err := cs.FindByIDNumber(ctx, []string{"bank-a"}, "110105194912310022"); err != nil || len(found) != 0 {
			t.Errorf("FindByIDNumber of another number = %v, %v", found, err)
		}

		t.Run("the table holds no plaintext", func(t *testing.T) {
			var dump strings.Builder
			rows, err := db.Read.Query(`SELECT * FROM customers`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				fmt.Fprint(&dump, vals...)
			}
			for _, plain := range []string{"张三丰", "张三", "110105194912310021", "19491231", "13800138000", "00138000"} {
				if strings.Contains(dump.String(), plain) {
					t.Errorf("the stored row contains %q", plain)
				}
			}
			name, number, index, phone := rawRow(t, db, c.ID)
			for _, v := range []string{name, number, phone} {
				if !strings.HasPrefix(v, "k1:") {
					t.Errorf("stored %q is not sealed by k1", v)
				}
			}
			if len(index) != 64 {
				t.Errorf("index %q", index)
			}
		})
		t.Run("printing masks", func(t *testing.T) {
			for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(*c)} {
				if strings.Contains(s, "三丰") || strings.Contains(s, "13800138000") || strings.Contains(s, "110105194912310021") {
					t.Errorf("printed customer shows identity fields: %s", s)
				}
			}
		})
	})
}

func TestCustomerCiphertextBoundToRowAndField(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cs, _ := newCustomers(t, db)
		a := mustCreate(t, cs, alice())
		bn := alice()
		bn.IDDocNumber, bn.Name = "E12345678", "Bob"
		b := mustCreate(t, cs, bn)
		aName, _, _, aPhone := rawRow(t, db, a.ID)
		bName, _, _, _ := rawRow(t, db, b.ID)
		// Swap the names of two rows, and move a's phone into its name.
		for _, u := range [][2]string{{bName, a.ID}, {aName, b.ID}} {
			if _, err := db.Write.Exec(`UPDATE customers SET name = $1 WHERE id = $2`, u[0], u[1]); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []string{a.ID, b.ID} {
			if _, err := cs.Get(ctx, id, nil); err == nil || !strings.Contains(err.Error(), "authentication failed") {
				t.Errorf("Get %s after the swap: %v, want an authentication failure", id, err)
			}
		}
		if _, err := db.Write.Exec(`UPDATE customers SET name = $1 WHERE id = $2`, aPhone, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Get(ctx, a.ID, nil); err == nil || !strings.Contains(err.Error(), "authentication failed") {
			t.Errorf("Get with the phone moved into the name: %v", err)
		}
	})
}

func TestRotateCustomers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		old, _ := newCustomers(t, db, key1)
		var ids []string
		for i := range 5 {
			n := alice()
			n.IDDocNumber = fmt.Sprintf("11010519491231%04d", i)
			if i == 4 {
				n.IDDocNumber, n.IDDocType, n.Phone = "", "", "" // empty fields stay empty
			}
			ids = append(ids, mustCreate(t, old, n).ID)
		}
		rotated, _ := newCustomers(t, db, key2, key1)
		// A customer written under the new key before the rotation.
		n := alice()
		n.IDDocNumber = "E99999999"
		ids = append(ids, mustCreate(t, rotated, n).ID)

		// Old rows are readable and findable before the rotation.
		if c, err := rotated.Get(ctx, ids[0], nil); err != nil || c.IDDocNumber != "110105194912310000" {
			t.Fatalf("old row under the new keyring: %v, %v", c, err)
		}
		if found, err := rotated.FindByIDNumber(ctx, nil, "110105194912310001"); err != nil || len(found) != 1 {
			t.Fatalf("find an old row before rotating: %v, %v", found, err)
		}
		// A duplicate of a number indexed under the old key is refused.
		dup := alice()
		dup.IDDocNumber = "110105194912310002"
		_, err := rotated.Create(ctx, dup)
		wantCode(t, err, accounts.CodeConflict)

		got, err := rotated.RotateCustomers(ctx)
		if err != nil || got != 5 {
			t.Fatalf("RotateCustomers = %d, %v; want 5", got, err)
		}
		if again, err := rotated.RotateCustomers(ctx); err != nil || again != 0 {
			t.Errorf("second RotateCustomers = %d, %v; want 0 (idempotent)", again, err)
		}
		for _, id := range ids {
			name, number, _, phone := rawRow(t, db, id)
			for _, v := range []string{name, number, phone} {
				if v != "" && !strings.HasPrefix(v, "k2:") {
					t.Errorf("customer %s still has %q", id, v)
				}
			}
		}
		// Without the old key, everything still reads and is found.
		onlyNew, _ := newCustomers(t, db, key2)
		for i := range 4 {
			num := fmt.Sprintf("11010519491231%04d", i)
			found, err := onlyNew.FindByIDNumber(ctx, nil, num)
			if err != nil || len(found) != 1 || found[0].ID != ids[i] || found[0].IDDocNumber != num {
				t.Errorf("find %s with only the new key: %v, %v", num, found, err)
			}
		}
		if c, err := onlyNew.Get(ctx, ids[4], nil); err != nil || c.Name != "张三丰" || c.Phone != "" {
			t.Errorf("the row with empty fields: %v, %v", c, err)
		}
		// And the old keyring alone no longer reads them, naming the key.
		if _, err := old.Get(ctx, ids[0], nil); err == nil || !strings.Contains(err.Error(), `unknown key id "k2"`) {
			t.Errorf("old keyring on a rotated row: %v", err)
		}
	})
}

func TestRotateCustomersInBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	old, _ := newCustomers(t, db, key1)
	const n = 450 // more than two batches
	for i := range n {
		c := alice()
		c.IDDocNumber = fmt.Sprintf("P%08d", i)
		mustCreate(t, old, c)
	}
	rotated, _ := newCustomers(t, db, key2, key1)
	if got, err := rotated.RotateCustomers(ctx); err != nil || got != n {
		t.Fatalf("RotateCustomers = %d, %v; want %d", got, err, n)
	}
	var stale int
	if err := db.Read.QueryRow(`SELECT COUNT(*) FROM customers WHERE name NOT LIKE 'k2:%'`).Scan(&stale); err != nil || stale != 0 {
		t.Errorf("%d customers not rotated (%v)", stale, err)
	}
}

func TestCustomerValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		cs, _ := newCustomers(t, db)
		manyProps := map[string]string{}
		for i := range accounts.MaxProperties + 1 {
			manyProps[fmt.Sprint("p", i)] = "v"
		}
		for _, tc := range []struct {
			name  string
			edit  func(n *accounts.NewCustomer)
			field string
		}{
			{"no institution", func(n *accounts.NewCustomer) { n.InstitutionID = "" }, "institution_id"},
			{"bad institution", func(n *accounts.NewCustomer) { n.InstitutionID = "a b" }, "institution_id"},
			{"no type", func(n *accounts.NewCustomer) { n.Type = "" }, "type"},
			{"unknown type", func(n *accounts.NewCustomer) { n.Type = "robot" }, "type"},
			{"no name", func(n *accounts.NewCustomer) { n.Name = "" }, "name"},
			{"blank name", func(n *accounts.NewCustomer) { n.Name = "  " }, "name"},
			{"long name", func(n *accounts.NewCustomer) { n.Name = strings.Repeat("x", accounts.MaxNameBytes+1) }, "name"},
			{"control character in name", func(n *accounts.NewCustomer) { n.Name = "a\x00b" }, "name"},
			{"number without type", func(n *accounts.NewCustomer) { n.IDDocType = "" }, "id_doc_type"},
			{"unknown document type", func(n *accounts.NewCustomer) { n.IDDocType = "library_card" }, "id_doc_type"},
			{"type without number", func(n *accounts.NewCustomer) { n.IDDocNumber = "" }, "id_doc_number"},
			{"bad number", func(n *accounts.NewCustomer) { n.IDDocNumber = "1101 0519" }, "id_doc_number"},
			{"long number", func(n *accounts.NewCustomer) { n.IDDocNumber = strings.Repeat("1", accounts.MaxIDNumberBytes+1) }, "id_doc_number"},
			{"bad phone", func(n *accounts.NewCustomer) { n.Phone = "138-0013" }, "phone"},
			{"short phone", func(n *accounts.NewCustomer) { n.Phone = "+123" }, "phone"},
			{"long phone", func(n *accounts.NewCustomer) { n.Phone = strings.Repeat("1", accounts.MaxPhoneBytes+1) }, "phone"},
			{"unknown risk", func(n *accounts.NewCustomer) { n.RiskLevel = "extreme" }, "risk_level"},
			{"too many properties", func(n *accounts.NewCustomer) { n.Properties = manyProps }, "properties"},
			{"empty property name", func(n *accounts.NewCustomer) { n.Properties = map[string]string{"": "v"} }, "properties"},
			{"long property value", func(n *accounts.NewCustomer) {
				n.Properties = map[string]string{"k": strings.Repeat("v", accounts.MaxPropertyValue+1)}
			}, "properties.k"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				n := alice()
				tc.edit(&n)
				_, err := cs.Create(context.Background(), n)
				var e *accounts.Error
				if !errors.As(err, &e) || e.Code != accounts.CodeInvalidRequest || e.Field != tc.field {
					t.Fatalf("err = %v, want invalid_request on %s", err, tc.field)
				}
				if strings.Contains(e.Message, "110105194912310021") || strings.Contains(e.Message, "13800138000") {
					t.Errorf("the message shows an identity value: %s", e.Message)
				}
			})
		}
		t.Run("defaults and optional fields", func(t *testing.T) {
			c := mustCreate(t, cs, accounts.NewCustomer{InstitutionID: "bank-a", Type: accounts.Supplier, Name: "ACME Ltd"})
			if c.RiskLevel != accounts.RiskLow || c.IDDocNumber != "" || c.Phone != "" || c.Properties == nil {
				t.Errorf("created %+v", *c)
			}
		})
		t.Run("one open customer per number and institution", func(t *testing.T) {
			ctx := context.Background()
			a := mustCreate(t, cs, alice())
			_, err := cs.Create(ctx, alice())
			wantCode(t, err, accounts.CodeConflict)
			other := alice()
			other.InstitutionID = "bank-b"
			mustCreate(t, cs, other)
			if _, _, err := cs.SetStatus(ctx, a.ID, accounts.CustomerClosed, "moved away", nil); err != nil {
				t.Fatal(err)
			}
			mustCreate(t, cs, alice()) // a closed customer frees the number
		})
		t.Run("list filters", func(t *testing.T) {
			_, _, err := cs.List(context.Background(), accounts.CustomerFilter{Type: "robot"})
			wantCode(t, err, accounts.CodeInvalidRequest)
			_, _, err = cs.List(context.Background(), accounts.CustomerFilter{Status: "gone"})
			wantCode(t, err, accounts.CodeInvalidRequest)
			_, _, err = cs.List(context.Background(), accounts.CustomerFilter{IDNumber: "a b"})
			wantCode(t, err, accounts.CodeInvalidRequest)
			_, err = cs.FindByIDNumber(context.Background(), nil, "")
			wantCode(t, err, accounts.CodeInvalidRequest)
		})
	})
}

func TestCustomerStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cs, clk := newCustomers(t, db)
		c := mustCreate(t, cs, alice())
		writes := 0
		count := func(_ context.Context, _ *sql.Tx, before, after *accounts.Customer) error {
			writes++
			if before.Name != "张**" || after.Phone != "138****8000" {
				t.Errorf("writes see unmasked customers: %v %v", before.Name, after.Phone)
			}
			return nil
		}
		for _, step := range []struct {
			to     accounts.CustomerStatus
			code   accounts.Code
			writes int
		}{
			{accounts.CustomerFrozen, "", 1},
			{accounts.CustomerFrozen, "", 1}, // no change, no write
			{accounts.CustomerActive, "", 2},
			{accounts.CustomerClosed, "", 3},
			{accounts.CustomerClosed, "", 3},
			{accounts.CustomerActive, accounts.CodeInvalidStatusChange, 3},
			{accounts.CustomerFrozen, accounts.CodeInvalidStatusChange, 3},
			{"gone", accounts.CodeInvalidRequest, 3},
		} {
			clk.Advance(time.Minute)
			before, after, err := cs.SetStatus(ctx, c.ID, step.to, "reason "+string(step.to), nil, count)
			if step.code != "" {
				wantCode(t, err, step.code)
			} else if err != nil {
				t.Fatalf("to %s: %v", step.to, err)
			} else if after.Status != step.to || before == nil {
				t.Errorf("to %s: before %v after %v", step.to, before, after)
			}
			if writes != step.writes {
				t.Errorf("after the change to %s: %d writes, want %d", step.to, writes, step.writes)
			}
		}
		got, _ := cs.Get(ctx, c.ID, nil)
		if got.Status != accounts.CustomerClosed || got.StatusReason != "reason closed" || !got.UpdatedAt.After(got.CreatedAt) {
			t.Errorf("final %+v", *got)
		}
		_, err := cs.UpdateProperties(ctx, c.ID, map[string]string{"a": "b"}, nil)
		wantCode(t, err, accounts.CodeInvalidStatusChange)
		_, _, err = cs.SetStatus(ctx, c.ID, accounts.CustomerClosed, strings.Repeat("x", accounts.MaxReasonBytes+1), nil)
		wantCode(t, err, accounts.CodeInvalidRequest)
		// A failing write undoes the change.
		d := alice()
		d.IDDocNumber = "E00000001"
		c2 := mustCreate(t, cs, d)
		boom := errors.New("boom")
		_, _, err = cs.SetStatus(ctx, c2.ID, accounts.CustomerFrozen, "", nil,
			func(context.Context, *sql.Tx, *accounts.Customer, *accounts.Customer) error { return boom })
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		if got, _ := cs.Get(ctx, c2.ID, nil); got.Status != accounts.CustomerActive {
			t.Errorf("status %s after a failed write", got.Status)
		}
	})
}

func TestCustomerProperties(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cs, _ := newCustomers(t, db)
		c := mustCreate(t, cs, alice())
		var before, after map[string]string
		got, err := cs.UpdateProperties(ctx, c.ID, map[string]string{"tier": "gold"}, []string{"bank-a"},
			func(_ context.Context, _ *sql.Tx, b, a *accounts.Customer) error {
				before, after = b.Properties, a.Properties
				return nil
			})
		if err != nil || !cmp.Equal(got.Properties, map[string]string{"tier": "gold"}) {
			t.Fatalf("UpdateProperties = %v, %v", got, err)
		}
		if !cmp.Equal(before, map[string]string{"segment": "retail"}) || !cmp.Equal(after, map[string]string{"tier": "gold"}) {
			t.Errorf("writes saw %v → %v", before, after)
		}
		if got, _ := cs.Get(ctx, c.ID, nil); !cmp.Equal(got.Properties, map[string]string{"tier": "gold"}) || got.Name != "张三丰" {
			t.Errorf("read back %v", got)
		}
		_, err = cs.UpdateProperties(ctx, c.ID, map[string]string{"": "x"}, nil)
		wantCode(t, err, accounts.CodeInvalidRequest)
	})
}

func TestCustomerScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cs, _ := newCustomers(t, db)
		a := mustCreate(t, cs, alice())
		bn := alice()
		bn.InstitutionID = "bank-b"
		b := mustCreate(t, cs, bn)
		other := []string{"bank-b"}
		_, err := cs.Get(ctx, a.ID, other)
		wantCode(t, err, accounts.CodeCustomerNotFound)
		_, err = cs.Get(ctx, "no-such-customer", nil)
		wantCode(t, err, accounts.CodeCustomerNotFound)
		_, _, err = cs.SetStatus(ctx, a.ID, accounts.CustomerFrozen, "", other)
		wantCode(t, err, accounts.CodeCustomerNotFound)
		_, err = cs.UpdateProperties(ctx, a.ID, nil, other)
		wantCode(t, err, accounts.CodeCustomerNotFound)
		found, err := cs.FindByIDNumber(ctx, other, alice().IDDocNumber)
		if err != nil || len(found) != 1 || found[0].ID != b.ID {
			t.Errorf("FindByIDNumber in bank-b = %v, %v", found, err)
		}
		list, _, err := cs.List(ctx, accounts.CustomerFilter{InstitutionIDs: []string{}})
		if err != nil || len(list) != 0 {
			t.Errorf("List with an empty scope = %v, %v", list, err)
		}
		if got, _ := cs.Get(ctx, a.ID, nil); got.Status != accounts.CustomerActive {
			t.Errorf("an out-of-scope change happened: %s", got.Status)
		}
	})
}

func TestListCustomers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cs, _ := newCustomers(t, db)
		var all []string
		for i, typ := range []accounts.CustomerType{accounts.Personal, accounts.Merchant, accounts.Personal, accounts.Staff, accounts.Personal} {
			c := mustCreate(t, cs, accounts.NewCustomer{InstitutionID: "bank-a", Type: typ, Name: fmt.Sprint("C", i)})
			all = append(all, c.ID)
		}
		var paged []string
		after := ""
		for range 10 {
			page, next, err := cs.List(ctx, accounts.CustomerFilter{InstitutionIDs: []string{"bank-a"}, After: after, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				paged = append(paged, c.ID)
			}
			if next == "" {
				break
			}
			after = next
		}
		if diff := cmp.Diff(all, paged); diff != "" {
			t.Errorf("pages (-want +got):\n%s", diff)
		}
		persons, _, err := cs.List(ctx, accounts.CustomerFilter{Type: accounts.Personal})
		if err != nil || len(persons) != 3 {
			t.Errorf("personal customers: %d, %v", len(persons), err)
		}
		if _, _, err := cs.SetStatus(ctx, all[1], accounts.CustomerFrozen, "", nil); err != nil {
			t.Fatal(err)
		}
		frozen, _, err := cs.List(ctx, accounts.CustomerFilter{Status: accounts.CustomerFrozen})
		if err != nil || len(frozen) != 1 || frozen[0].ID != all[1] {
			t.Errorf("frozen customers: %v, %v", frozen, err)
		}
	})
}
