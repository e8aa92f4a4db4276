package channel_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/suanpan/suanpan/clock"
	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/payments/sim"
)

// updateCorpus rewrites the fuzz seed corpora in testdata/fuzz from the
// simulator: go test -run TestFuzzCorpus -update-corpus.
var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seed corpora from the simulator")

// The configuration the fuzz targets parse with, and the corpora are
// signed with: callbacks in the corpora are fresh at fuzzEpoch.
const (
	fuzzMerchant = "suanpan"
	fuzzSecret   = "fuzz-secret"
)

var fuzzEpoch = time.Date(2025, 3, 14, 2, 0, 0, 0, time.UTC)

// fuzzAdapter is kind k's adapter as the fuzz targets use it.
func fuzzAdapter(t testing.TB, k channel.Kind) channel.Adapter {
	t.Helper()
	a, err := channel.New(channel.Config{Kind: k, Endpoint: "http://127.0.0.1:1/" + string(k), MerchantID: fuzzMerchant,
		Secret: fuzzSecret, Clock: clock.NewFake(fuzzEpoch)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// fuzzStatement fuzzes kind k's statement parser: it must never panic, and
// what it accepts must be well formed.
func fuzzStatement(f *testing.F, k channel.Kind) {
	a := fuzzAdapter(f, k)
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := a.ParseStatement(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, l := range lines {
			if l.OrderID == "" || l.Amount < 0 || l.Fee < 0 || !slices.Contains(k.Directions(), l.Direction) || !l.Status.Final() {
				t.Errorf("accepted a malformed line %+v", l)
			}
		}
	})
}

// fuzzCallback fuzzes kind k's callback decoder with a header block
// ("Name: value" lines) and a body: it must never panic, and must accept
// only what the secret signed.
func fuzzCallback(f *testing.F, k channel.Kind) {
	a := fuzzAdapter(f, k)
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		res, err := a.VerifyCallback(parseHeader(header), body)
		if err == nil && (res == nil || res.OrderID == "" || res.Status == channel.NotFound) {
			t.Errorf("accepted %+v", res)
		}
	})
}

// parseHeader reads "Name: value" lines.
func parseHeader(s string) http.Header {
	h := http.Header{}
	for line := range strings.SplitSeq(s, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			h.Add(k, v)
		}
	}
	return h
}

// formatHeader writes h as "Name: value" lines, sorted.
func formatHeader(h http.Header) string {
	var lines []string
	for k, vs := range h {
		for _, v := range vs {
			lines = append(lines, k+": "+v)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func FuzzStatementBankTransfer(f *testing.F) { fuzzStatement(f, channel.BankTransfer) }
func FuzzStatementPOSCard(f *testing.F)      { fuzzStatement(f, channel.POSCard) }
func FuzzStatementQRWallet(f *testing.F)     { fuzzStatement(f, channel.QRWallet) }
func FuzzStatementUnionPay(f *testing.F)     { fuzzStatement(f, channel.UnionPay) }
func FuzzStatementCashCounter(f *testing.F)  { fuzzStatement(f, channel.CashCounter) }
func FuzzStatementCheque(f *testing.F)       { fuzzStatement(f, channel.Cheque) }

func FuzzCallbackBankTransfer(f *testing.F) { fuzzCallback(f, channel.BankTransfer) }
func FuzzCallbackPOSCard(f *testing.F)      { fuzzCallback(f, channel.POSCard) }
func FuzzCallbackQRWallet(f *testing.F)     { fuzzCallback(f, channel.QRWallet) }
func FuzzCallbackUnionPay(f *testing.F)     { fuzzCallback(f, channel.UnionPay) }
func FuzzCallbackCheque(f *testing.F)       { fuzzCallback(f, channel.Cheque) }

// fuzzName is the fuzz target of kind k's statement or callback corpus.
func fuzzName(what string, k channel.Kind) string {
	name := map[channel.Kind]string{channel.BankTransfer: "BankTransfer", channel.POSCard: "POSCard", channel.QRWallet: "QRWallet",
		channel.UnionPay: "UnionPay", channel.CashCounter: "CashCounter", channel.Cheque: "Cheque"}[k]
	return "Fuzz" + what + name
}

// capture records the callbacks posted to it.
type capture struct {
	mu  sync.Mutex
	got map[channel.Kind][][2]string // header block, body
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	k := channel.Kind(strings.TrimPrefix(r.URL.Path, "/"))
	c.got[k] = append(c.got[k], [2]string{formatHeader(r.Header), string(body)})
}

// TestFuzzCorpus checks that the seed corpora exist, and with
// -update-corpus rewrites them: statements and callbacks (succeeded,
// failed, a stale "processing", and one signed with the wrong key) from
// the simulator, signed with fuzzSecret at fuzzEpoch.
func TestFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		for _, k := range channel.Kinds() {
			targets := []string{fuzzName("Statement", k)}
			if k != channel.CashCounter {
				targets = append(targets, fuzzName("Callback", k))
			}
			for _, target := range targets {
				if files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*")); len(files) == 0 {
					t.Errorf("no seed corpus for %s; run go test -run TestFuzzCorpus -update-corpus", target)
				}
			}
		}
		return
	}
	secrets := map[channel.Kind]string{}
	for _, k := range channel.Kinds() {
		secrets[k] = fuzzSecret
	}
	rec := &capture{got: map[channel.Kind][][2]string{}}
	recv := httptest.NewServer(rec)
	defer recv.Close()
	s, err := sim.New(sim.Config{Seed: 1, FailRate: 3000, PendingRate: sim.Always, OutOfOrderRate: 5000, BadSignatureRate: 1000,
		MerchantID: fuzzMerchant, Secrets: secrets, Clock: clock.NewFake(fuzzEpoch), MinDelay: time.Second, MaxDelay: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	defer s.Close()
	for _, k := range channel.Kinds() {
		a, err := channel.New(s.ChannelConfig(srv.URL, k))
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range k.Directions() {
			for j := range 3 {
				r := channel.Request{OrderID: fmt.Sprintf("F%d-%d", i, j), Direction: d, Amount: int64(12345 * (j + 1)), Asset: "CNY",
					Party: "P1", CallbackURL: recv.URL + "/" + string(k)}
				if d == channel.Refund {
					r.Original, r.Amount = fmt.Sprintf("F0-%d", j), 100
				}
				if _, err := a.Start(t.Context(), r); err != nil {
					t.Fatal(err)
				}
				s.Settle()
			}
		}
		var b bytes.Buffer
		if err := s.WriteStatement(&b, k, fuzzEpoch); err != nil {
			t.Fatal(err)
		}
		writeCorpus(t, fuzzName("Statement", k), "sim", fmt.Sprintf("[]byte(%q)", b.String()))
		for i, cb := range rec.got[k] {
			writeCorpus(t, fuzzName("Callback", k), fmt.Sprintf("sim-%d", i), fmt.Sprintf("string(%q)\n[]byte(%q)", cb[0], cb[1]))
		}
	}
}

// writeCorpus writes one seed corpus file.
func writeCorpus(t *testing.T, target, name, values string) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n"+values+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
