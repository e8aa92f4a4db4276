package accounts

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a field-encryption key: AES-256.
const KeySize = 32

// maxKeyIDLen bounds a key ID, which prefixes every ciphertext.
const maxKeyIDLen = 32

// maxKeys bounds a keyring: rotation needs the current key and a few old
// ones, never hundreds.
const maxKeys = 16

// Key is one field-encryption key with the ID stored beside what it
// encrypts, so that old rows stay readable after a rotation.
type Key struct {
	ID     string
	Secret []byte // KeySize bytes
}

// Keyring holds the keys that encrypt customers' identity fields at rest.
// The first key is current: it encrypts every new value and keys the blind
// index; the others only decrypt rows written before a rotation (and find
// them by index until RotateCustomers has re-indexed them).
//
// A Keyring never reveals its keys and is safe for concurrent use.
type Keyring struct {
	current string
	order   []string
	aeads   map[string]cipher.AEAD
	// indexKeys are HMAC keys derived from each key for the blind index.
	indexKeys map[string][]byte
}

// NewKeyring builds a keyring from raw keys, the current one first.
func NewKeyring(keys ...Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("keyring: no keys")
	}
	if len(keys) > maxKeys {
		return nil, fmt.Errorf("keyring: %d keys, at most %d", len(keys), maxKeys)
	}
	kr := &Keyring{current: keys[0].ID, aeads: map[string]cipher.AEAD{}, indexKeys: map[string][]byte{}}
	for _, k := range keys {
		if err := checkKeyID(k.ID); err != nil {
			return nil, err
		}
		if _, dup := kr.aeads[k.ID]; dup {
			return nil, fmt.Errorf("keyring: key id %q appears twice", k.ID)
		}
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("keyring: key %q is %d bytes, want %d", k.ID, len(k.Secret), KeySize)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block) // 12-byte nonces
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", k.ID, err)
		}
		ik, err := hkdf.Key(sha256.New, k.Secret, nil, "suanpan customers blind index v1", sha256.Size)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", k.ID, err)
		}
		kr.order = append(kr.order, k.ID)
		kr.aeads[k.ID] = aead
		kr.indexKeys[k.ID] = ik
	}
	return kr, nil
}

// ParseKeyring parses keys from configuration text: comma-separated
// "ID:BASE64" pairs, the current key first, each key 32 bytes in standard
// base64 ("k1:…,k0:…"). Errors name the key at fault but never show key
// material.
func ParseKeyring(s string) (*Keyring, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("keyring: empty: give at least one key as ID:BASE64")
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxKeys {
		return nil, fmt.Errorf("keyring: %d keys, at most %d", len(parts), maxKeys)
	}
	keys := make([]Key, 0, len(parts))
	for i, p := range parts {
		id, b64, ok := strings.Cut(strings.TrimSpace(p), ":")
		if !ok {
			return nil, fmt.Errorf("keyring: key %d is not ID:BASE64", i+1)
		}
		if err := checkKeyID(id); err != nil {
			return nil, err
		}
		secret, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q is not valid base64", id)
		}
		if len(secret) != KeySize {
			return nil, fmt.Errorf("keyring: key %q is %d bytes, want %d (base64 of 32 random bytes)", id, len(secret), KeySize)
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	return NewKeyring(keys...)
}

// GenerateKey returns a new random key in ParseKeyring's syntax.
func GenerateKey(id string) (string, error) {
	if err := checkKeyID(id); err != nil {
		return "", err
	}
	secret := make([]byte, KeySize)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails
	return id + ":" + base64.StdEncoding.EncodeToString(secret), nil
}

// checkKeyID accepts 1..32 letters, digits, _ and -.
func checkKeyID(id string) error {
	if id == "" || len(id) > maxKeyIDLen {
		return fmt.Errorf("keyring: a key id must be 1 to %d letters, digits, _ or -", maxKeyIDLen)
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("keyring: key id %q may hold only letters, digits, _ and -", id)
		}
	}
	return nil
}

// Current returns the ID of the key new values are encrypted with.
func (kr *Keyring) Current() string { return kr.current }

// IDs returns the key IDs, the current one first.
func (kr *Keyring) IDs() []string { return append([]string(nil), kr.order...) }

// aad binds a ciphertext to its field and row: moved to another field or
// another customer, it no longer decrypts. Field names are constants
// without NUL, so the encoding is unambiguous.
func aad(field, rowID string) []byte { return []byte("suanpan\x00" + field + "\x00" + rowID) }

// Encrypt seals plaintext for field of row rowID under the current key, as
// "KEYID:BASE64(nonce|ciphertext)". The empty string stays empty: there is
// nothing to hide, and empty optional fields need no key.
func (kr *Keyring) Encrypt(field, rowID, plaintext string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	aead := kr.aeads[kr.current]
	buf := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	_, _ = rand.Read(buf) // crypto/rand.Read never fails
	buf = aead.Seal(buf, buf, []byte(plaintext), aad(field, rowID))
	return kr.current + ":" + base64.StdEncoding.EncodeToString(buf), nil
}

// Decrypt opens a value Encrypt sealed for the same field and row. Errors
// name the field, the row and the key ID, never the value.
func (kr *Keyring) Decrypt(field, rowID, stored string) (string, error) {
	if stored == "" {
		return "", nil
	}
	kid, b64, ok := strings.Cut(stored, ":")
	if !ok {
		return "", fmt.Errorf("decrypt %s of %s: not KEYID:CIPHERTEXT", field, rowID)
	}
	aead, ok := kr.aeads[kid]
	if !ok {
		return "", fmt.Errorf("decrypt %s of %s: unknown key id %q: add it to the encryption keys", field, rowID, kid)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", fmt.Errorf("decrypt %s of %s: malformed ciphertext (key %q)", field, rowID, kid)
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, raw[:n], raw[n:], aad(field, rowID))
	if err != nil {
		return "", fmt.Errorf("decrypt %s of %s with key %q: authentication failed (altered, or moved from another field or row)", field, rowID, kid)
	}
	return string(plain), nil
}

// keyOf returns the ID of the key a stored value was sealed with ("" for
// an empty value).
func keyOf(stored string) string {
	kid, _, _ := strings.Cut(stored, ":")
	return kid
}

// BlindIndex returns the exact-match index of an ID document number under
// the current key: HMAC-SHA256, keyed by a key derived from the current
// encryption key with HKDF, of the normalized number (spaces removed,
// letters upper-cased). It lets a lookup by number find a row without
// decrypting every row, and reveals only which rows share a number.
//
// Because the index is keyed by the current key, rotating the key means
// re-indexing: until RotateCustomers has run, rows keep the index of the key
// that wrote them, and lookups try every key's index (see BlindIndexes).
func (kr *Keyring) BlindIndex(number string) string { return kr.blindIndex(kr.current, number) }

// BlindIndexes returns the index of number under every key, the current
// first: what a lookup must match while a rotation is under way.
func (kr *Keyring) BlindIndexes(number string) []string {
	out := make([]string, len(kr.order))
	for i, kid := range kr.order {
		out[i] = kr.blindIndex(kid, number)
	}
	return out
}

func (kr *Keyring) blindIndex(kid, number string) string {
	number = normalizeIDNumber(number)
	if number == "" {
		return ""
	}
	m := hmac.New(sha256.New, kr.indexKeys[kid])
	m.Write([]byte(number))
	return hex.EncodeToString(m.Sum(nil))
}

// normalizeIDNumber makes the forms of one number index alike: "110 105 x"
// and "110105X" are one number.
func normalizeIDNumber(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}
