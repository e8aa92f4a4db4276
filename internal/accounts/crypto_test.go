package accounts_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/suanpan/suanpan/internal/accounts"
)

// secret returns a 32-byte key filled with b.
func secret(b byte) []byte { return bytes.Repeat([]byte{b}, accounts.KeySize) }

func keyText(id string, b byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(secret(b))
}

func mustKeyring(t testing.TB, keys ...accounts.Key) *accounts.Keyring {
	t.Helper()
	kr, err := accounts.NewKeyring(keys...)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return kr
}

func TestParseKeyring(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		current  string
		ids      []string
		wantErr  string
	}{
		{name: "one key", in: keyText("k1", 1), current: "k1", ids: []string{"k1"}},
		{name: "current first", in: keyText("k2", 2) + ", " + keyText("k1", 1), current: "k2", ids: []string{"k2", "k1"}},
		{name: "surrounding space", in: "  " + keyText("k1", 1) + "\n", current: "k1", ids: []string{"k1"}},
		{name: "empty", in: "", wantErr: "empty"},
		{name: "blank", in: " \n", wantErr: "empty"},
		{name: "no id", in: base64.StdEncoding.EncodeToString(secret(1)), wantErr: "not ID:BASE64"},
		{name: "empty id", in: ":" + base64.StdEncoding.EncodeToString(secret(1)), wantErr: "key id"},
		{name: "bad id", in: "k 1:" + base64.StdEncoding.EncodeToString(secret(1)), wantErr: "key id"},
		{name: "bad base64", in: "k1:not*base64", wantErr: `key "k1" is not valid base64`},
		{name: "short key", in: "k1:" + base64.StdEncoding.EncodeToString(secret(1)[:16]), wantErr: `key "k1" is 16 bytes, want 32`},
		{name: "long key", in: "k1:" + base64.StdEncoding.EncodeToString(append(secret(1), 0)), wantErr: "33 bytes"},
		{name: "duplicate id", in: keyText("k1", 1) + "," + keyText("k1", 2), wantErr: `"k1" appears twice`},
		{name: "trailing comma", in: keyText("k1", 1) + ",", wantErr: "not ID:BASE64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := accounts.ParseKeyring(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(secret(1))) {
					t.Errorf("the error shows key material: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if kr.Current() != tc.current || strings.Join(kr.IDs(), ",") != strings.Join(tc.ids, ",") {
				t.Errorf("current %q ids %v, want %q %v", kr.Current(), kr.IDs(), tc.current, tc.ids)
			}
		})
	}
	if _, err := accounts.NewKeyring(); err == nil {
		t.Error("NewKeyring() with no keys succeeded")
	}
}

func TestEncryptDecrypt(t *testing.T) {
	kr := mustKeyring(t, accounts.Key{ID: "k1", Secret: secret(1)})
	c1, err := kr.Encrypt("name", "row-1", "张三")
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := kr.Encrypt("name", "row-1", "张三")
	if c1 == c2 {
		t.Error("two encryptions of one value are equal: the nonce is not random")
	}
	if !strings.HasPrefix(c1, "k1:") || strings.Contains(c1, "张三") {
		t.Errorf("ciphertext %q", c1)
	}
	if got, err := kr.Decrypt("name", "row-1", c1); err != nil || got != "张三" {
		t.Errorf("Decrypt = %q, %v", got, err)
	}
	if got, err := kr.Encrypt("name", "row-1", ""); err != nil || got != "" {
		t.Errorf("Encrypt of empty = %q, %v", got, err)
	}
	for _, tc := range []struct{ name, field, row, stored, wantErr string }{
		{"other field", "phone", "row-1", c1, "authentication failed"},
		{"other row", "name", "row-2", c1, "authentication failed"},
		{"unknown key", "name", "row-1", "k9" + c1[2:], `unknown key id "k9"`},
		{"no key id", "name", "row-1", "garbage", "not KEYID:CIPHERTEXT"},
		{"bad base64", "name", "row-1", "k1:***", "malformed"},
		{"too short", "name", "row-1", "k1:AAAA", "malformed"},
		{"altered", "name", "row-1", c1[:len(c1)-4] + "AAA=", "authentication failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kr.Decrypt(tc.field, tc.row, tc.stored)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestBlindIndex(t *testing.T) {
	k1 := accounts.Key{ID: "k1", Secret: secret(1)}
	k2 := accounts.Key{ID: "k2", Secret: secret(2)}
	kr1, kr21 := mustKeyring(t, k1), mustKeyring(t, k2, k1)
	if kr1.BlindIndex("11010519491231002X") != kr1.BlindIndex("11010519491231002x") {
		t.Error("the index depends on letter case")
	}
	if kr1.BlindIndex("a") == kr1.BlindIndex("b") || len(kr1.BlindIndex("a")) != 64 {
		t.Error("the index does not tell numbers apart")
	}
	if kr1.BlindIndex("") != "" {
		t.Error("an empty number has an index")
	}
	if kr21.BlindIndex("a") == kr1.BlindIndex("a") {
		t.Error("the index does not depend on the key")
	}
	if got := kr21.BlindIndexes("a"); len(got) != 2 || got[0] != kr21.BlindIndex("a") || got[1] != kr1.BlindIndex("a") {
		t.Errorf("BlindIndexes = %v", got)
	}
}

func FuzzParseKeyring(f *testing.F) {
	f.Add(keyText("k1", 1))
	f.Add(keyText("k2", 2) + "," + keyText("k1", 1))
	f.Add("k1:")
	f.Add(",,,")
	f.Add("k1:" + strings.Repeat("A", 44))
	f.Fuzz(func(t *testing.T, s string) {
		kr, err := accounts.ParseKeyring(s)
		if err != nil {
			return
		}
		c, err := kr.Encrypt("f", "r", "v")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := kr.Decrypt("f", "r", c); err != nil || got != "v" {
			t.Fatalf("round trip: %q, %v", got, err)
		}
		// Whatever was accepted decrypts nothing it did not encrypt.
		_, _ = kr.Decrypt("f", "r", s)
	})
}
