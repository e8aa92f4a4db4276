package statement_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/statement"
	"github.com/suanpan/suanpan/money"
)

func TestParseCamt053Samples(t *testing.T) {
	day := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		file string
		want *statement.File
	}{
		{
			// German-bank style camt.053.001.02: <Sts>BOOK</Sts>, PRCD as the
			// opening balance, a credit, a batch of three pay-outs, a
			// returned pay-out with charges, a bank fee, and a pending
			// credit.
			name: "v02 german bank", file: "camt053-v02-bank-de.xml",
			want: &statement.File{
				Account: "DE89370400440532013000", Currency: "EUR",
				Opening: &statement.Balance{Amount: 1000000, Asset: "EUR", At: time.Date(2025, 3, 13, 0, 0, 0, 0, time.UTC)},
				Closing: &statement.Balance{Amount: 943450, Asset: "EUR", At: day},
				Entries: 5, Skipped: 1, Credits: 125000, Debits: 231250,
				Lines: []statement.Line{
					{No: 1, OrderID: "PI-20250314-0001", ChannelRef: "2025031400001", Direction: channel.PayIn, Amount: 125000,
						Asset: "EUR", Status: channel.Succeeded, At: day, Party: "DE02120300000000202051"},
					{No: 2, OrderID: "PO-BATCH-0042", ChannelRef: "2025031400002", Direction: channel.PayOut, Amount: 230000,
						Asset: "EUR", Status: channel.Succeeded, At: day},
					{No: 3, OrderID: "PO-20250313-0007", ChannelRef: "2025031400003", Direction: channel.PayOut, Amount: 49700, Fee: 300,
						Asset: "EUR", Status: channel.Failed, At: day, Party: "DE75512108001245126199"},
					{No: 4, ChannelRef: "2025031400004", Direction: channel.PayOut, Amount: 1250,
						Asset: "EUR", Status: channel.Succeeded, At: day},
				},
			},
		},
		{
			// camt.053.001.08: <Sts><Cd>BOOK</Cd></Sts>, DtTm dates with an
			// offset, v08 parties (Dbtr/Pty/Nm), charges as a total and
			// as records, TtlNetNtry, and an intraday balance.
			name: "v08 chinese bank", file: "camt053-v08-bank-cn.xml",
			want: &statement.File{
				Account: "110060149018800012345", Currency: "CNY",
				Opening: &statement.Balance{Amount: 5000000, Asset: "CNY", At: time.Date(2025, 3, 13, 16, 0, 0, 0, time.UTC)},
				Closing: &statement.Balance{Amount: 5909950, Asset: "CNY", At: time.Date(2025, 3, 14, 16, 0, 0, 0, time.UTC)},
				Entries: 3, Credits: 1030000, Debits: 120050,
				Lines: []statement.Line{
					{No: 1, OrderID: "PI-20250314-0102", ChannelRef: "CN20250314000881", Direction: channel.PayIn, Amount: 880000, Fee: 880,
						Asset: "CNY", Status: channel.Succeeded, At: time.Date(2025, 3, 14, 2, 21, 7, 0, time.UTC), Party: "上海某某贸易有限公司"},
					{No: 2, OrderID: "PO-20250314-0033", ChannelRef: "CN20250314001200", Direction: channel.PayOut, Amount: 120050, Fee: 550,
						Asset: "CNY", Status: channel.Succeeded, At: time.Date(2025, 3, 14, 7, 2, 44, 0, time.UTC), Party: "6222020200112233445"},
					{No: 3, ChannelRef: "CN20250314001500", Direction: channel.PayIn, Amount: 150000,
						Asset: "CNY", Status: channel.Succeeded, At: time.Date(2025, 3, 14, 8, 45, 0, 0, time.UTC)},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := statement.ParseCamt053(bytes.NewReader(readTestdata(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, fileOpts); diff != "" {
				t.Errorf("ParseCamt053 mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// camt wraps entries and other Stmt children in a camt.053.001.08
// document.
func camt(stmt string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr>` +
		`<Stmt><Id>S</Id>` + stmt + `</Stmt></BkToCstmrStmt></Document>`
}

// ntry is a booked entry in EUR.
func ntry(amount, ind string) string {
	return `<Ntry><Amt Ccy="EUR">` + amount + `</Amt><CdtDbtInd>` + ind + `</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>` +
		`<BookgDt><Dt>2025-03-14</Dt></BookgDt><AcctSvcrRef>R</AcctSvcrRef></Ntry>`
}

func TestParseCamt053Forms(t *testing.T) {
	day := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		input string
		want  []statement.Line
	}{
		{
			name: "no namespace, no prolog, debit reversal, batch by shared PmtInfId",
			input: `<Document><BkToCstmrStmt><Stmt>` +
				`<Ntry><Amt Ccy="JPY">5000</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd><Sts>BOOK</Sts><BookgDt><Dt>2025-03-14</Dt></BookgDt>` +
				`<NtryDtls><TxDtls><Refs><EndToEndId>PI-1</EndToEndId></Refs><RltdPties><Dbtr><Nm>Yamada</Nm></Dbtr></RltdPties></TxDtls></NtryDtls></Ntry>` +
				`<Ntry><Amt Ccy="JPY">300</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2025-03-14</Dt></BookgDt>` +
				`<NtryDtls><TxDtls><Refs><PmtInfId>B-7</PmtInfId><EndToEndId>PO-1</EndToEndId></Refs></TxDtls>` +
				`<TxDtls><Refs><PmtInfId>B-7</PmtInfId><EndToEndId>PO-2</EndToEndId></Refs></TxDtls></NtryDtls></Ntry>` +
				`</Stmt></BkToCstmrStmt></Document>`,
			want: []statement.Line{
				{No: 1, OrderID: "PI-1", Direction: channel.PayIn, Amount: 5000, Asset: "JPY", Status: channel.Failed, At: day, Party: "Yamada"},
				{No: 2, OrderID: "B-7", Direction: channel.PayOut, Amount: 300, Asset: "JPY", Status: channel.Succeeded, At: day},
			},
		},
		{
			name: "prefixed namespace, batch by MsgId, TxId as reference, credited charge",
			input: `<c:Document xmlns:c="urn:iso:std:iso:20022:tech:xsd:camt.053.001.13"><c:BkToCstmrStmt><c:Stmt>` +
				`<c:Ntry><c:Amt Ccy="KWD">1.250</c:Amt><c:CdtDbtInd>CRDT</c:CdtDbtInd><c:Sts><c:Cd>BOOK</c:Cd></c:Sts>` +
				`<c:BookgDt><c:DtTm>2025-03-14T10:00:00</c:DtTm></c:BookgDt>` +
				`<c:NtryDtls><c:Btch><c:MsgId>MSG-9</c:MsgId></c:Btch><c:TxDtls><c:Refs><c:EndToEndId>X</c:EndToEndId></c:Refs></c:TxDtls></c:NtryDtls></c:Ntry>` +
				`<c:Ntry><c:Amt Ccy="KWD">2</c:Amt><c:CdtDbtInd>CRDT</c:CdtDbtInd><c:Sts><c:Cd>BOOK</c:Cd></c:Sts>` +
				`<c:BookgDt><c:Dt>2025-03-14</c:Dt></c:BookgDt>` +
				`<c:NtryDtls><c:TxDtls><c:Refs><c:TxId>T-1</c:TxId><c:EndToEndId>NOTPROVIDED</c:EndToEndId></c:Refs>` +
				`<c:Chrgs><c:Rcrd><c:Amt Ccy="KWD">0.100</c:Amt><c:CdtDbtInd>DBIT</c:CdtDbtInd></c:Rcrd>` +
				`<c:Rcrd><c:Amt Ccy="KWD">0.025</c:Amt><c:CdtDbtInd>CRDT</c:CdtDbtInd></c:Rcrd></c:Chrgs>` +
				`<c:RltdPties><c:DbtrAcct><c:Id><c:Othr><c:Id>KW-1</c:Id></c:Othr></c:Id></c:DbtrAcct></c:RltdPties></c:TxDtls></c:NtryDtls></c:Ntry>` +
				`</c:Stmt></c:BkToCstmrStmt></c:Document>`,
			want: []statement.Line{
				{No: 1, OrderID: "MSG-9", Direction: channel.PayIn, Amount: 1250, Asset: "KWD", Status: channel.Succeeded, At: time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)},
				{No: 2, ChannelRef: "T-1", Direction: channel.PayIn, Amount: 2000, Fee: 75, Asset: "KWD", Status: channel.Succeeded, At: day, Party: "KW-1"},
			},
		},
		{
			name:  "an empty statement",
			input: camt(`<Acct><Id><IBAN>DE1</IBAN></Id></Acct><TxsSummry><TtlNtries><NbOfNtries>0</NbOfNtries><Sum>0</Sum></TtlNtries></TxsSummry>`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := statement.ParseCamt053(strings.NewReader(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Lines, fileOpts); diff != "" {
				t.Errorf("lines mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseCamt053Errors(t *testing.T) {
	v02 := string(readTestdata(t, "camt053-v02-bank-de.xml"))
	v08 := string(readTestdata(t, "camt053-v08-bank-cn.xml"))
	tests := []struct {
		name  string
		input string
		entry int
		field string
		is    error
		text  string
	}{
		{name: "closing balance", input: strings.Replace(v02, "9434.50", "9434.51", 1), field: "Stmt/Bal[CLBD]",
			text: "closing balance 9434.51, but opening 10000.00 plus booked credits minus debits is 9434.50"},
		{name: "debit closing balance", input: strings.Replace(v08, "<Amt Ccy=\"CNY\">59099.50</Amt>\n        <CdtDbtInd>CRDT", "<Amt Ccy=\"CNY\">59099.50</Amt>\n        <CdtDbtInd>DBIT", 1),
			field: "Stmt/Bal[CLBD]", text: "closing balance -59099.50"},
		{name: "entry count", input: strings.Replace(v02, "<NbOfNtries>5</NbOfNtries>", "<NbOfNtries>4</NbOfNtries>", 1),
			field: "Stmt/TxsSummry/TtlNtries/NbOfNtries", text: "4 entries, but the statement has 5"},
		{name: "entry count not a number", input: strings.Replace(v02, "<NbOfNtries>5</NbOfNtries>", "<NbOfNtries>five</NbOfNtries>", 1),
			field: "Stmt/TxsSummry/TtlNtries/NbOfNtries", text: "not a count"},
		{name: "credit count", input: strings.Replace(v02, "<NbOfNtries>3</NbOfNtries>", "<NbOfNtries>2</NbOfNtries>", 1),
			field: "Stmt/TxsSummry/TtlCdtNtries/NbOfNtries", text: "2 entries, but the statement has 3"},
		{name: "sum", input: strings.Replace(v02, "<Sum>4158.50</Sum>", "<Sum>4158.00</Sum>", 1),
			field: "Stmt/TxsSummry/TtlNtries/Sum", text: "4158.00, but the entries add up to 4158.50"},
		{name: "debit sum", input: strings.Replace(v02, "<Sum>2312.50</Sum>", "<Sum>2312.05</Sum>", 1),
			field: "Stmt/TxsSummry/TtlDbtNtries/Sum", text: "2312.05"},
		{name: "sum with too many fraction digits", input: strings.Replace(v02, "<Sum>4158.50</Sum>", "<Sum>4158.500</Sum>", 1),
			field: "Stmt/TxsSummry/TtlNtries/Sum", is: money.ErrTooManyDecimals},
		{name: "v02 net", input: strings.Replace(v02, "<CdtDbtInd>DBIT</CdtDbtInd>\n        </TtlNtries>", "<CdtDbtInd>CRDT</CdtDbtInd>\n        </TtlNtries>", 1),
			field: "Stmt/TxsSummry/TtlNtries/TtlNetNtryAmt", text: "net 466.50, but the entries' credits minus debits are -466.50"},
		{name: "v08 net", input: strings.Replace(v08, "<Amt>9099.50</Amt>", "<Amt>9099.05</Amt>", 1),
			field: "Stmt/TxsSummry/TtlNtries/TtlNetNtry", text: "net 9099.05"},
		{name: "bad amount", input: strings.Replace(v02, ">1250.00</Amt>\n        <CdtDbtInd>", ">1250,00</Amt>\n        <CdtDbtInd>", 1),
			entry: 1, field: "Ntry/Amt", is: money.ErrSyntax},
		{name: "too many fraction digits", input: strings.Replace(v02, ">12.50<", ">12.505<", 1),
			entry: 4, field: "Ntry/Amt", is: money.ErrTooManyDecimals},
		{name: "fraction digits for JPY", input: camt(`<Ntry><Amt Ccy="JPY">100.5</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts></Ntry>`),
			entry: 1, field: "Ntry/Amt", is: money.ErrTooManyDecimals},
		{name: "negative amount", input: camt(strings.Replace(ntry("1.00", "CRDT"), "1.00", "-1.00", 1)),
			entry: 1, field: "Ntry/Amt", text: "CdtDbtInd gives the sign"},
		{name: "amount overflows", input: camt(ntry("92233720368547758.08", "CRDT")), entry: 1, field: "Ntry/Amt", is: money.ErrOverflow},
		{name: "total overflows", input: camt(ntry("92233720368547758.07", "CRDT") + ntry("0.01", "CRDT")),
			entry: 2, field: "Ntry/Amt", is: money.ErrOverflow},
		{name: "unknown currency", input: strings.Replace(v02, `<Amt Ccy="EUR">1250.00</Amt>`, `<Amt Ccy="EUX">1250.00</Amt>`, 1),
			entry: 1, field: "Ntry/Amt", text: `unknown currency "EUX"`},
		{name: "no currency", input: camt(`<Ntry><Amt>1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts></Ntry>`),
			entry: 1, field: "Ntry/Amt", text: "unknown currency"},
		{name: "entry in another currency", input: strings.Replace(v02, `<Amt Ccy="EUR">12.50</Amt>`, `<Amt Ccy="USD">12.50</Amt>`, 1),
			entry: 4, field: "Ntry/Amt", text: "USD, but the account is in EUR"},
		{name: "entries in two currencies", input: camt(ntry("1.00", "CRDT") + strings.Replace(ntry("1.00", "CRDT"), "EUR", "GBP", 1)),
			entry: 2, field: "Ntry/Amt", text: "GBP, but entry 1 is in EUR"},
		{name: "account in another currency", input: camt(ntry("1.00", "CRDT") + `<Acct><Id><IBAN>X</IBAN></Id><Ccy>GBP</Ccy></Acct>`),
			field: "Stmt/Acct/Ccy", text: "GBP, but entry 1 is in EUR"},
		{name: "charges in another currency", input: strings.Replace(v02, `<Amt Ccy="EUR">3.00</Amt>`, `<Amt Ccy="CHF">3.00</Amt>`, 1),
			entry: 3, field: "Ntry/NtryDtls/TxDtls/Chrgs/Amt", text: "CHF"},
		{name: "two amounts", input: camt(strings.Replace(ntry("1.00", "CRDT"), "<CdtDbtInd>", `<Amt Ccy="EUR">2.00</Amt><CdtDbtInd>`, 1)),
			entry: 1, field: "Ntry/Amt", text: "2 elements, want one"},
		{name: "bad credit/debit indicator", input: camt(ntry("1.00", "CRED")), entry: 1, field: "Ntry/CdtDbtInd", text: `"CRED"`},
		{name: "no status", input: camt(`<Ntry><Amt Ccy="EUR">1</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>`), entry: 1, field: "Ntry/Sts", text: "missing"},
		{name: "booked without a booking date", input: strings.Replace(v02, "<Sts>PDNG</Sts>", "<Sts>BOOK</Sts>", 1),
			entry: 5, field: "Ntry/BookgDt", text: "missing"},
		{name: "bad booking date", input: camt(strings.Replace(ntry("1.00", "CRDT"), "2025-03-14", "14.03.2025", 1)),
			entry: 1, field: "Ntry/BookgDt/Dt", text: "not a date"},
		{name: "bad value date", input: strings.Replace(v08, "<DtTm>2025-03-14T15:02:44+08:00</DtTm>\n        </ValDt>", "<DtTm>yesterday</DtTm>\n        </ValDt>", 1),
			entry: 2, field: "Ntry/ValDt/DtTm", text: "not a date and time"},
		{name: "date and date-time", input: camt(strings.Replace(ntry("1.00", "CRDT"), "</Dt>", "</Dt><DtTm>2025-03-14T00:00:00Z</DtTm>", 1)),
			entry: 1, field: "Ntry/BookgDt", text: "one of Dt and DtTm"},
		{name: "bad reversal indicator", input: camt(strings.Replace(ntry("1.00", "CRDT"), "<Sts>", "<RvslInd>yes</RvslInd><Sts>", 1)),
			entry: 1, field: "Ntry/RvslInd", text: `"yes"`},
		{name: "two opening balances", input: strings.Replace(v08, "<Cd>ITBD</Cd>", "<Cd>OPBD</Cd>", 1),
			field: "Stmt/Bal[OPBD]", text: "more than one"},
		{name: "balance without a date", input: camt(`<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>`),
			field: "Stmt/Bal[OPBD]/Dt", text: "missing"},
		{name: "account without an id", input: camt(`<Acct><Ccy>EUR</Ccy></Acct>`), field: "Stmt/Acct/Id", text: "IBAN"},
		{name: "overlong reference", input: camt(strings.Replace(ntry("1.00", "CRDT"), ">R<", ">"+strings.Repeat("R", 141)+"<", 1)),
			entry: 1, field: "Ntry", text: "longer than 140 bytes"},
		{name: "two statements", input: strings.Replace(v08, "</Stmt>", "</Stmt><Stmt></Stmt>", 1),
			field: "BkToCstmrStmt/Stmt", text: "more than one statement"},
		{name: "no statement", input: `<Document><BkToCstmrStmt><GrpHdr/></BkToCstmrStmt></Document>`,
			field: "BkToCstmrStmt/Stmt", text: "no statement"},
		{name: "camt.052", input: `<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08"><BkToCstmrAcctRpt/></Document>`,
			field: "Document", text: "not a camt.053 statement"},
		{name: "long root name", input: "<" + strings.Repeat("名", 30) + "/>", text: "root element <" + strings.Repeat("名", 13) + "…>"},
		{name: "wrong root", input: `<xml><return_code>SUCCESS</return_code></xml>`, text: "root element <xml>"},
		{name: "two roots", input: camt("") + camt(""), text: "want one <Document>"},
		{name: "two TxsSummry", input: camt(`<TxsSummry/><TxsSummry/>`), field: "Stmt/TxsSummry", text: "more than one"},
		{name: "doctype with an entity", input: `<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Document><BkToCstmrStmt><Stmt><Id>&xxe;</Id></Stmt></BkToCstmrStmt></Document>`,
			text: "DOCTYPE"},
		{name: "undeclared entity", input: camt(`<Id>&xxe;</Id>`), text: "not well-formed XML"},
		{name: "long undeclared entity", input: camt(`<Id>&` + strings.Repeat("x", 10000) + `;</Id>`), text: "xxxxxxxx…"},
		{name: "billion laughs", input: `<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Document>&b;</Document>`,
			text: "DOCTYPE"},
		{name: "latin-1", input: `<?xml version="1.0" encoding="ISO-8859-1"?><Document/>`, text: "camt.053 is UTF-8"},
		{name: "truncated", input: v02[:len(v02)/2], text: "not well-formed XML"},
		{name: "not xml", input: "交易时间,商户号\n", text: "no <Document> element"},
		{name: "empty", input: "", text: "no <Document> element"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := statement.ParseCamt053(strings.NewReader(tt.input))
			if err == nil {
				t.Fatalf("accepted: %+v", f)
			}
			checkErr(t, err, tt.entry, tt.field, tt.is, tt.text)
			if tt.entry > 0 && !strings.Contains(err.Error(), "entry") {
				t.Errorf("error %q does not say entry", err)
			}
		})
	}
}

// comments yields a camt.053 document padded with n comments of 1 MiB,
// without holding it in memory.
func comments(n int) io.Reader {
	comment := "<!--" + strings.Repeat("x", 1<<20-7) + "-->"
	return io.MultiReader(strings.NewReader(`<Document><BkToCstmrStmt><Stmt>`),
		&lines{line: []byte(comment), n: n},
		strings.NewReader(`</Stmt></BkToCstmrStmt></Document>`))
}

func TestParseCamt053Size(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 512 MiB")
	}
	t.Parallel()
	// 512 MiB of comments plus the elements: the bound is on bytes, not
	// on content. (source_internal_test.go checks the bound is exact.)
	_, err := statement.ParseCamt053(comments(512))
	checkErr(t, err, 0, "", nil, "larger than 536870912 bytes")
}

func TestParseCamt053TooManyEntries(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 2,000,001 entries")
	}
	t.Parallel()
	pending := []byte(`<Ntry><Amt Ccy="EUR">1</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts></Ntry>`)
	r := io.MultiReader(strings.NewReader(`<Document><BkToCstmrStmt><Stmt>`),
		&lines{line: pending, n: 2_000_001},
		strings.NewReader(`</Stmt></BkToCstmrStmt></Document>`))
	_, err := statement.ParseCamt053(r)
	checkErr(t, err, 2_000_001, "Ntry", nil, "more than 2000000 entries")
}

func TestParseCamt053ReadError(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := statement.ParseCamt053(io.MultiReader(strings.NewReader(`<Document><BkToCstmrStmt>`), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || errors.Is(err, statement.ErrInvalid) {
		t.Errorf("ParseCamt053 of a failing reader: %v, want the reader's error and not ErrInvalid", err)
	}
}
