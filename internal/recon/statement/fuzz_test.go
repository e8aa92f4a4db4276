package statement_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/statement"
	"github.com/suanpan/suanpan/money"
)

// updateCorpus rewrites the fuzz seed corpora in testdata/fuzz from the
// sample files: go test -run TestFuzzCorpus -update-corpus.
var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seed corpora from testdata's samples")

// fuzzMaps are the column maps FuzzParseCSV parses with, chosen by its
// first argument.
func fuzzMaps() []*statement.ColumnMap {
	return []*statement.ColumnMap{wechatMap(), gbkBankMap(), signedMap(), headerlessMap(), plainMap()}
}

// checkFile fails t unless f keeps File's promises.
func checkFile(t *testing.T, f *statement.File) {
	t.Helper()
	var credits, debits int64
	var err error
	for i, l := range f.Lines {
		if l.Amount < 0 || !l.Status.Final() ||
			(l.Direction != channel.PayIn && l.Direction != channel.PayOut && l.Direction != channel.Refund) {
			t.Errorf("accepted a malformed line %+v", l)
		}
		if i > 0 && l.No <= f.Lines[i-1].No {
			t.Errorf("line %d numbered %d after %d", i, l.No, f.Lines[i-1].No)
		}
		if l.Status != channel.Succeeded {
			continue
		}
		if l.Direction == channel.PayIn {
			credits, err = money.Add(credits, l.Amount)
		} else {
			debits, err = money.Add(debits, l.Amount)
		}
		if err != nil {
			t.Fatalf("accepted lines whose total overflows: %v", err)
		}
	}
	if credits != f.Credits || debits != f.Debits {
		t.Errorf("Credits, Debits = %d, %d; the lines add up to %d, %d", f.Credits, f.Debits, credits, debits)
	}
	if len(f.Lines) != f.Entries-f.Skipped {
		t.Errorf("%d lines from %d entries with %d skipped", len(f.Lines), f.Entries, f.Skipped)
	}
}

// checkError fails t unless err is an *Error wrapping ErrInvalid whose
// text is short and valid UTF-8, whatever the input.
func checkError(t *testing.T, err error) {
	t.Helper()
	var e *statement.Error
	if !errors.As(err, &e) || !errors.Is(err, statement.ErrInvalid) {
		t.Errorf("error %v is not an *Error wrapping ErrInvalid", err)
	}
	if msg := err.Error(); len(msg) > 400 || !utf8.ValidString(msg) {
		t.Errorf("error text of %d bytes, valid UTF-8 %v: %q", len(msg), utf8.ValidString(msg), msg)
	}
}

func FuzzParseCSV(f *testing.F) {
	maps := fuzzMaps()
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		file, err := statement.ParseCSV(bytes.NewReader(data), maps[int(which)%len(maps)])
		if err != nil {
			checkError(t, err)
			return
		}
		checkFile(t, file)
	})
}

func FuzzParseCamt053(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := statement.ParseCamt053(bytes.NewReader(data))
		if err != nil {
			checkError(t, err)
			return
		}
		checkFile(t, file)
		if (file.Opening != nil || file.Closing != nil || len(file.Lines) > 0) && file.Currency == "" {
			t.Errorf("amounts without a currency: %+v", file)
		}
		for _, l := range file.Lines {
			if l.Asset != file.Currency {
				t.Errorf("line %d in %s, statement in %s", l.No, l.Asset, file.Currency)
			}
		}
	})
}

// csvSeeds are FuzzParseCSV's seeds: each sample with its map, and small
// files for the other maps.
func csvSeeds(t *testing.T) map[string]struct {
	which uint8
	data  string
} {
	wechat := string(readTestdata(t, "wechat-bill.csv"))
	return map[string]struct {
		which uint8
		data  string
	}{
		"wechat-bill":    {0, wechat},
		"wechat-refund":  {0, strings.Replace(wechat, "`SUCCESS", "`REFUND", 1)},
		"bank-gbk":       {1, string(readTestdata(t, "bank-gbk.csv"))},
		"signed":         {2, string(readTestdata(t, "signed.csv"))},
		"headerless":     {3, "A,1,2025-03-14T08:00:00Z,in\nB,\"2\",2025-03-14T09:00:00+08:00,refund\n2,3\n"},
		"plain":          {4, "\uFEFForder,amount,fee,status,time\r\n\"A,1\",1.50,,OK,2025-03-14 08:00:00\r\n\r\nB,2,-0.01,FAIL,2025-03-14 09:00:00\r\n"},
		"plain-overflow": {4, "order,amount,fee,status,time\nA,92233720368547758.07,,OK,2025-03-14 08:00:00\nB,0.01,,OK,2025-03-14 08:00:00\n"},
	}
}

// camtSeeds are FuzzParseCamt053's seeds: the samples, and small
// documents in other shapes.
func camtSeeds(t *testing.T) map[string]string {
	return map[string]string{
		"v02-bank-de": string(readTestdata(t, "camt053-v02-bank-de.xml")),
		"v08-bank-cn": string(readTestdata(t, "camt053-v08-bank-cn.xml")),
		"prefixed": `<c:Document xmlns:c="urn:iso:std:iso:20022:tech:xsd:camt.053.001.13"><c:BkToCstmrStmt><c:Stmt>` +
			`<c:Ntry><c:Amt Ccy="KWD">1.250</c:Amt><c:CdtDbtInd>DBIT</c:CdtDbtInd><c:RvslInd>true</c:RvslInd><c:Sts><c:Cd>BOOK</c:Cd></c:Sts>` +
			`<c:BookgDt><c:DtTm>2025-03-14T10:00:00</c:DtTm></c:BookgDt></c:Ntry></c:Stmt></c:BkToCstmrStmt></c:Document>`,
		"doctype":  `<!DOCTYPE Document [<!ENTITY a "x">]><Document>&a;</Document>`,
		"overflow": camt(ntry("92233720368547758.07", "CRDT") + ntry("0.01", "CRDT")),
	}
}

// TestFuzzCorpus checks that the seed corpora exist, and with
// -update-corpus rewrites them from the samples. Crashers the fuzzer
// finds are kept beside them, under their hash names.
func TestFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		for _, target := range []string{"FuzzParseCSV", "FuzzParseCamt053"} {
			if files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", target, "seed-*")); len(files) == 0 {
				t.Errorf("no seed corpus for %s; run go test -run TestFuzzCorpus -update-corpus", target)
			}
		}
		return
	}
	for name, s := range csvSeeds(t) {
		writeCorpus(t, "FuzzParseCSV", name, fmt.Sprintf("uint8(%d)\n[]byte(%q)", s.which, s.data))
	}
	for name, s := range camtSeeds(t) {
		writeCorpus(t, "FuzzParseCamt053", name, fmt.Sprintf("[]byte(%q)", s))
	}
}

// writeCorpus writes the seed corpus file seed-name of target.
func writeCorpus(t *testing.T, target, name, values string) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte("go test fuzz v1\n"+values+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzFormat decodes arbitrary JSON as a channel's statement format, as
// the settings API does, and reads a small statement with every format
// that validates: neither may panic, and a file read keeps File's
// promises.
func FuzzFormat(f *testing.F) {
	for _, m := range fuzzMaps() {
		b, err := json.Marshal(statement.Format{Kind: statement.KindCSV, Columns: m})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte("order_id,amount,time\nA1,1.00,2026-11-21 10:00:00\n"))
	}
	f.Add([]byte(`{"kind":"camt053"}`), []byte("<Document/>"))
	f.Add([]byte(`{"kind":"csv","columns":{"amount":"#1","time":"#2","order_id":"#3","amount_format":"minor","time_layout":"2006","time_zone":"UTC"}}`),
		[]byte("100,2026,A1\n"))
	f.Fuzz(func(t *testing.T, format, file []byte) {
		var fm statement.Format
		if err := json.Unmarshal(format, &fm); err != nil {
			return
		}
		if err := fm.Validate(); err != nil {
			if !errors.Is(err, statement.ErrBadFormat) {
				t.Fatalf("Validate: %v does not wrap ErrBadFormat", err)
			}
			return
		}
		if fm.Kind == statement.KindNative {
			return // the channels' own parsers have their fuzz targets
		}
		got, err := statement.Parse(bytes.NewReader(file), fm, nil)
		if err != nil {
			return
		}
		checkFile(t, got)
	})
}
