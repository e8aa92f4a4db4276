package statement

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/money"
)

// maxCamtBytes bounds a camt.053 file.
const maxCamtBytes = 512 << 20

// maxRefBytes bounds a reference, account or name copied into a Line: the
// schema allows 35 characters for references and 140 for names.
const maxRefBytes = 140

// maxXMLError bounds how much of encoding/xml's error message an error
// repeats: enough for its line number and a clipped name.
const maxXMLError = 100

// notProvided is what SEPA writes for a reference the payer left out.
const notProvided = "NOTPROVIDED"

// ParseCamt053 reads an ISO 20022 camt.053 BankToCustomerStatement, any
// version from camt.053.001.02 to camt.053.001.13: elements are matched by
// local name, whatever their namespace. The file must hold exactly one
// statement (Stmt) in one currency; a file with several is refused, so
// that File's account and balances are never ambiguous: ask the bank for
// one file per account.
//
// Each booked entry (Sts BOOK, or Sts/Cd BOOK from v08) becomes one Line,
// numbered by its position among the statement's entries; other entries
// (PDNG, INFO, FUTR) are counted in Skipped. A Line has:
//
//   - Direction pay_in for CRDT and pay_out for DBIT (camt.053 does not
//     tell a refund from a pay-out), and Status succeeded. A reversal
//     (RvslInd true) describes the movement it returns: a CRDT reversal is
//     a failed pay_out (our payment came back), a DBIT reversal a failed
//     pay_in.
//   - Amount from Ntry/Amt, at the ISO 4217 scale of its currency; an
//     unknown currency or more fraction digits than the scale is an error.
//   - At the booking date (BookgDt/Dt at midnight UTC, or BookgDt/DtTm).
//   - ChannelRef the entry's AcctSvcrRef, else its one transaction's
//     Refs/AcctSvcrRef, else Refs/TxId.
//   - OrderID the one transaction's Refs/EndToEndId ("NOTPROVIDED", in
//     any reference, counts as none). A batch entry (NtryDtls/Btch, or
//     several TxDtls) is still one Line, whose OrderID is the batch's
//     PmtInfId, else its MsgId (from Btch, else shared by all its
//     TxDtls), and whose Party is empty: the caller matches it against
//     the batch's orders.
//   - Fee the entry's charges (Chrgs/TtlChrgsAndTaxAmt, else the sum of
//     Chrgs/Rcrd/Amt, or of v02's Chrgs/Amt), else those of its
//     transactions; a credited charge counts negative.
//   - Party the counterparty of the movement Direction describes: the
//     debtor of a pay-in, the creditor of a pay-out, by account
//     (IBAN or Othr/Id) when given, else by name.
//
// It checks that every amount is in the statement's currency (Acct/Ccy,
// else that of its first balance or entry), that opening (OPBD, else
// PRCD) plus booked credits minus booked debits equals closing (CLBD)
// when both balances are given, and that TxsSummry, when given, counts
// and sums all entries (booked or not) as they are. It refuses a DOCTYPE,
// any entity but XML's five, an encoding other than UTF-8, more than
// 2,000,000 entries and more than 512 MiB. Errors wrap ErrInvalid and
// name the entry and element, except a failing reader's.
func ParseCamt053(r io.Reader) (*File, error) {
	src := &source{r: r, max: maxCamtBytes}
	raw := xml.NewDecoder(src)
	raw.Strict = true
	raw.CharsetReader = func(label string, _ io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("encoding %s: camt.053 is UTF-8", quote(label))
	}
	p := camtParser{d: xml.NewTokenDecoder(noDirectives{raw}), file: &File{entries: true}}
	err := p.parse()
	if err != nil {
		var e *Error
		switch {
		case errors.As(err, &e):
		case errors.Is(err, errTooBig):
			err = entryError(0, "", "larger than %d bytes", maxCamtBytes)
		case src.readErr != nil && errors.Is(err, src.readErr):
			return nil, fmt.Errorf("read statement: %w", err)
		default:
			// encoding/xml's messages repeat names and entities whole, and
			// their bytes as they are.
			msg, more := err.Error(), ""
			if len(msg) > maxXMLError {
				msg, more = msg[:maxXMLError], "…"
			}
			err = entryError(0, "", "not well-formed XML: %s%s", strings.ToValidUTF8(msg, "\uFFFD"), more)
		}
		return nil, err
	}
	return p.file, nil
}

// noDirectives passes on the tokens of d, refusing directives: a DOCTYPE
// could declare entities. (encoding/xml expands none, and refuses their
// use in strict mode; this makes the refusal plain.)
type noDirectives struct{ d *xml.Decoder }

// Token returns d's next token, or an error for a directive.
func (n noDirectives) Token() (xml.Token, error) {
	t, err := n.d.Token()
	if _, ok := t.(xml.Directive); ok {
		return nil, entryError(0, "", "a DOCTYPE or other <!…> directive is not allowed")
	}
	return t, err
}

// The camt.053 elements read, by local name. Elements appearing at most
// once in the schema are plain fields; the amount and the credit/debit
// indicator, which decide the money, are slices so that a repeated one is
// refused rather than silently overwritten.
type (
	camtAmount struct {
		Ccy   string `xml:"Ccy,attr"`
		Value string `xml:",chardata"`
	}
	camtDate struct {
		Dt   string `xml:"Dt"`
		DtTm string `xml:"DtTm"`
	}
	camtAccount struct {
		IBAN string `xml:"Id>IBAN"`
		Othr string `xml:"Id>Othr>Id"`
		Ccy  string `xml:"Ccy"`
	}
	camtBalance struct {
		Cd        string       `xml:"Tp>CdOrPrtry>Cd"`
		Amt       []camtAmount `xml:"Amt"`
		CdtDbtInd []string     `xml:"CdtDbtInd"`
		Dt        *camtDate    `xml:"Dt"`
	}
	camtTotals struct {
		NbOfNtries    *string `xml:"NbOfNtries"`
		Sum           *string `xml:"Sum"`
		TtlNetNtryAmt *string `xml:"TtlNetNtryAmt"` // v02, v03
		CdtDbtInd     string  `xml:"CdtDbtInd"`
		TtlNetNtry    *struct {
			Amt       string `xml:"Amt"`
			CdtDbtInd string `xml:"CdtDbtInd"`
		} `xml:"TtlNetNtry"` // v04 on
	}
	camtSummary struct {
		All     *camtTotals `xml:"TtlNtries"`
		Credits *camtTotals `xml:"TtlCdtNtries"`
		Debits  *camtTotals `xml:"TtlDbtNtries"`
	}
	camtStatus struct {
		Text  string `xml:",chardata"` // up to v07: <Sts>BOOK</Sts>
		Cd    string `xml:"Cd"`        // from v08: <Sts><Cd>BOOK</Cd></Sts>
		Prtry string `xml:"Prtry"`
	}
	camtCharges struct {
		Total     *camtAmount  `xml:"TtlChrgsAndTaxAmt"`
		Amt       []camtAmount `xml:"Amt"`       // v02, v03
		CdtDbtInd string       `xml:"CdtDbtInd"` // v02, v03
		Rcrd      []struct {
			Amt       camtAmount `xml:"Amt"`
			CdtDbtInd string     `xml:"CdtDbtInd"`
		} `xml:"Rcrd"` // v04 on
	}
	camtParty struct {
		Nm    string `xml:"Nm"`     // up to v07
		PtyNm string `xml:"Pty>Nm"` // from v08
	}
	camtTx struct {
		Refs struct {
			MsgID       string `xml:"MsgId"`
			AcctSvcrRef string `xml:"AcctSvcrRef"`
			PmtInfID    string `xml:"PmtInfId"`
			EndToEndID  string `xml:"EndToEndId"`
			TxID        string `xml:"TxId"`
		} `xml:"Refs"`
		Chrgs     []camtCharges `xml:"Chrgs"`
		RltdPties struct {
			Dbtr     camtParty   `xml:"Dbtr"`
			DbtrAcct camtAccount `xml:"DbtrAcct"`
			Cdtr     camtParty   `xml:"Cdtr"`
			CdtrAcct camtAccount `xml:"CdtrAcct"`
		} `xml:"RltdPties"`
	}
	camtEntry struct {
		Amt         []camtAmount  `xml:"Amt"`
		CdtDbtInd   []string      `xml:"CdtDbtInd"`
		RvslInd     string        `xml:"RvslInd"`
		Sts         *camtStatus   `xml:"Sts"`
		BookgDt     *camtDate     `xml:"BookgDt"`
		ValDt       *camtDate     `xml:"ValDt"`
		AcctSvcrRef string        `xml:"AcctSvcrRef"`
		Chrgs       []camtCharges `xml:"Chrgs"`
		NtryDtls    []struct {
			Btch []struct {
				MsgID    string `xml:"MsgId"`
				PmtInfID string `xml:"PmtInfId"`
			} `xml:"Btch"`
			TxDtls []camtTx `xml:"TxDtls"`
		} `xml:"NtryDtls"`
	}
)

// camtParser is the state of ParseCamt053.
type camtParser struct {
	d    *xml.Decoder
	file *File

	stmts            int
	summary          *camtSummary
	opbd, prcd, clbd *Balance
	// currency is the statement's currency, once known, and currencyFrom
	// says where it came from, for messages.
	currency, currencyFrom string
	// The tallies of all entries, for TxsSummry, and the booked net, for
	// the balances.
	count, credits, debits   int64
	sum, creditSum, debitSum int64
	net, bookedNet           int64
}

// parse walks Document/BkToCstmrStmt/Stmt, decoding the elements it needs
// one at a time so that memory stays bounded by the largest entry.
func (p *camtParser) parse() error {
	var path []string
	roots, messages := 0, 0
	for {
		t, err := p.d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			name := t.Name.Local
			switch len(path) {
			case 0:
				if roots++; name != "Document" || roots > 1 {
					return entryError(0, "", "root element <%s>, want one <Document>", clipName(name))
				}
			case 1:
				if messages++; name != "BkToCstmrStmt" || messages > 1 {
					return entryError(0, "Document", "<%s>, want one <BkToCstmrStmt>: not a camt.053 statement", clipName(name))
				}
			case 2:
				if name != "Stmt" {
					if err := p.d.Skip(); err != nil {
						return err
					}
					continue
				}
				if p.stmts++; p.stmts > 1 {
					return entryError(0, "BkToCstmrStmt/Stmt", "more than one statement in the file: one Stmt per file is supported")
				}
			case 3:
				if err := p.element(t); err != nil {
					return err
				}
				continue
			}
			path = append(path, name)
		case xml.EndElement:
			path = path[:len(path)-1]
		}
	}
	if roots == 0 {
		return entryError(0, "", "no <Document> element: not a camt.053 file")
	}
	if p.stmts == 0 {
		return entryError(0, "BkToCstmrStmt/Stmt", "no statement in the file")
	}
	return p.check()
}

// clipName shortens an element name (or a code, which is plain text) for
// a message.
func clipName(s string) string {
	cut, more := clip(s)
	return strings.ToValidUTF8(cut, "\uFFFD") + more
}

// element decodes one child of Stmt.
func (p *camtParser) element(start xml.StartElement) error {
	switch start.Name.Local {
	case "Acct":
		var a camtAccount
		if err := p.d.DecodeElement(&a, &start); err != nil {
			return err
		}
		return p.account(a)
	case "Bal":
		var b camtBalance
		if err := p.d.DecodeElement(&b, &start); err != nil {
			return err
		}
		return p.balance(b)
	case "TxsSummry":
		if p.summary != nil {
			return entryError(0, "Stmt/TxsSummry", "more than one")
		}
		p.summary = &camtSummary{}
		return p.d.DecodeElement(p.summary, &start)
	case "Ntry":
		n := p.file.Entries + 1
		if n > maxLines {
			return entryError(n, "Ntry", "more than %d entries", maxLines)
		}
		p.file.Entries = n
		var e camtEntry
		if err := p.d.DecodeElement(&e, &start); err != nil {
			return err
		}
		return p.entry(n, &e)
	}
	return p.d.Skip()
}

// account reads Stmt/Acct.
func (p *camtParser) account(a camtAccount) error {
	if p.file.Account != "" {
		return entryError(0, "Stmt/Acct", "more than one")
	}
	id := strings.TrimSpace(a.IBAN)
	if id == "" {
		id = strings.TrimSpace(a.Othr)
	}
	if id == "" || len(id) > maxRefBytes {
		return entryError(0, "Stmt/Acct/Id", "want an IBAN or Othr/Id of at most %d bytes", maxRefBytes)
	}
	p.file.Account = id
	if ccy := strings.TrimSpace(a.Ccy); ccy != "" {
		if _, ok := money.ISOScale(ccy); !ok {
			return entryError(0, "Stmt/Acct/Ccy", "unknown currency %s", quote(ccy))
		}
		if p.currency != "" && p.currency != ccy {
			return entryError(0, "Stmt/Acct/Ccy", "%s, but %s is in %s", ccy, p.currencyFrom, p.currency)
		}
		p.currency, p.currencyFrom = ccy, "the account"
	}
	return nil
}

// useCurrency checks that an amount in ccy, at where, is in the
// statement's currency, which the first amount sets when Acct/Ccy did not.
func (p *camtParser) useCurrency(ccy string, n int, field, where string) error {
	switch p.currency {
	case "":
		p.currency, p.currencyFrom = ccy, where
	case ccy:
	default:
		return entryError(n, field, "%s, but %s is in %s", ccy, p.currencyFrom, p.currency)
	}
	return nil
}

// amount parses a camt.053 amount with its currency, at the ISO 4217
// scale, and checks the currency is the statement's. The schema's amounts
// are never negative: CdtDbtInd gives the sign.
func (p *camtParser) amount(a camtAmount, n int, field string) (int64, error) {
	ccy := strings.TrimSpace(a.Ccy)
	scale, ok := money.ISOScale(ccy)
	if !ok {
		return 0, entryError(n, field, "unknown currency %s", quote(ccy))
	}
	where := fmt.Sprintf("entry %d", n)
	if n == 0 {
		where = "a balance"
	}
	if err := p.useCurrency(ccy, n, field, where); err != nil {
		return 0, err
	}
	return decimal(strings.TrimSpace(a.Value), scale, n, field)
}

// decimal parses a non-negative camt.053 decimal at scale.
func decimal(s string, scale, n int, field string) (int64, error) {
	if strings.HasPrefix(s, "-") {
		return 0, entryError(n, field, "%s is negative: CdtDbtInd gives the sign", quote(s))
	}
	v, err := money.Parse(s, scale)
	if err != nil {
		return 0, &Error{Line: n, Field: field, Err: err, entry: true}
	}
	return v, nil
}

// one returns the only element of xs, or an error naming field.
func one[T any](xs []T, n int, field string) (T, error) {
	var zero T
	if len(xs) != 1 {
		return zero, entryError(n, field, "%d elements, want one", len(xs))
	}
	return xs[0], nil
}

// credit reads a CdtDbtInd: true for CRDT, false for DBIT.
func credit(s string, n int, field string) (bool, error) {
	switch strings.TrimSpace(s) {
	case "CRDT":
		return true, nil
	case "DBIT":
		return false, nil
	}
	return false, entryError(n, field, "%s is not CRDT or DBIT", quote(s))
}

// signed returns v, negated for a debit.
func signed(v int64, isCredit bool) int64 {
	if isCredit {
		return v
	}
	return -v // v >= 0, so this cannot overflow
}

// balance reads Stmt/Bal, keeping the opening and closing balances.
func (p *camtParser) balance(b camtBalance) error {
	code := strings.TrimSpace(b.Cd)
	field := "Stmt/Bal[" + clipName(code) + "]"
	amt, err := one(b.Amt, 0, field+"/Amt")
	if err != nil {
		return err
	}
	v, err := p.amount(amt, 0, field+"/Amt")
	if err != nil {
		return err
	}
	ind, err := one(b.CdtDbtInd, 0, field+"/CdtDbtInd")
	if err != nil {
		return err
	}
	isCredit, err := credit(ind, 0, field+"/CdtDbtInd")
	if err != nil {
		return err
	}
	if b.Dt == nil {
		return entryError(0, field+"/Dt", "missing")
	}
	at, err := b.Dt.time(0, field+"/Dt")
	if err != nil {
		return err
	}
	var dst **Balance
	switch code {
	case "OPBD":
		dst = &p.opbd
	case "PRCD": // what German banks give as the opening balance
		dst = &p.prcd
	case "CLBD":
		dst = &p.clbd
	default:
		return nil // another balance (ITBD, CLAV, …): checked, not kept
	}
	if *dst != nil {
		return entryError(0, field, "more than one")
	}
	*dst = &Balance{Amount: signed(v, isCredit), Asset: strings.TrimSpace(amt.Ccy), At: at}
	return nil
}

// time reads a DateAndDateTimeChoice: a date (midnight UTC) or a date and
// time (with its offset, else UTC).
func (c *camtDate) time(n int, field string) (time.Time, error) {
	dt, dtm := strings.TrimSpace(c.Dt), strings.TrimSpace(c.DtTm)
	switch {
	case dt != "" && dtm == "":
		t, err := time.Parse(time.DateOnly, dt)
		if err != nil {
			return time.Time{}, entryError(n, field+"/Dt", "%s is not a date YYYY-MM-DD", quote(dt))
		}
		return t, nil
	case dtm != "" && dt == "":
		t, err := time.Parse(time.RFC3339, dtm)
		if err != nil {
			t, err = time.Parse("2006-01-02T15:04:05", dtm)
		}
		if err != nil {
			return time.Time{}, entryError(n, field+"/DtTm", "%s is not a date and time", quote(dtm))
		}
		return t.UTC(), nil
	}
	return time.Time{}, entryError(n, field, "want one of Dt and DtTm")
}

// entry reads entry n into a Line, or counts it skipped.
func (p *camtParser) entry(n int, e *camtEntry) error {
	amt, err := one(e.Amt, n, "Ntry/Amt")
	if err != nil {
		return err
	}
	v, err := p.amount(amt, n, "Ntry/Amt")
	if err != nil {
		return err
	}
	ind, err := one(e.CdtDbtInd, n, "Ntry/CdtDbtInd")
	if err != nil {
		return err
	}
	isCredit, err := credit(ind, n, "Ntry/CdtDbtInd")
	if err != nil {
		return err
	}
	if err := p.tally(n, v, isCredit); err != nil {
		return err
	}
	if e.Sts == nil {
		return entryError(n, "Ntry/Sts", "missing")
	}
	sts := strings.TrimSpace(e.Sts.Text)
	if sts == "" {
		sts = strings.TrimSpace(e.Sts.Cd)
	}
	if sts == "" && strings.TrimSpace(e.Sts.Prtry) == "" {
		return entryError(n, "Ntry/Sts", "no status code")
	}
	if sts != "BOOK" {
		p.file.Skipped++
		return nil
	}
	if p.bookedNet, err = money.Add(p.bookedNet, signed(v, isCredit)); err != nil {
		return &Error{Line: n, Field: "Ntry/Amt", Reason: "the booked total overflows", Err: err, entry: true}
	}

	l := Line{No: n, Amount: v, Asset: strings.TrimSpace(amt.Ccy), Direction: channel.PayOut, Status: channel.Succeeded}
	if isCredit {
		l.Direction = channel.PayIn
	}
	switch strings.TrimSpace(e.RvslInd) {
	case "", "false", "0":
	case "true", "1":
		// A reversal returns the opposite movement: a credit returns our
		// pay-out, a debit takes back a pay-in.
		l.Status, l.Direction = channel.Failed, channel.PayIn
		if isCredit {
			l.Direction = channel.PayOut
		}
	default:
		return entryError(n, "Ntry/RvslInd", "%s is not true or false", quote(e.RvslInd))
	}
	if e.BookgDt == nil {
		return entryError(n, "Ntry/BookgDt", "missing in a booked entry")
	}
	if l.At, err = e.BookgDt.time(n, "Ntry/BookgDt"); err != nil {
		return err
	}
	if e.ValDt != nil {
		if _, err := e.ValDt.time(n, "Ntry/ValDt"); err != nil {
			return err
		}
	}
	if err := p.details(&l, e); err != nil {
		return err
	}
	return p.file.add(l)
}

// tally counts entry n's amount v for the TxsSummry checks.
func (p *camtParser) tally(n int, v int64, isCredit bool) error {
	var err error
	add := func(dst *int64, v int64) {
		if err == nil {
			*dst, err = money.Add(*dst, v)
		}
	}
	p.count++
	add(&p.sum, v)
	add(&p.net, signed(v, isCredit))
	if isCredit {
		p.credits++
		add(&p.creditSum, v)
	} else {
		p.debits++
		add(&p.debitSum, v)
	}
	if err != nil {
		return &Error{Line: n, Field: "Ntry/Amt", Reason: "the statement's total overflows", Err: err, entry: true}
	}
	return nil
}

// details fills l's references, fee and party from entry e.
func (p *camtParser) details(l *Line, e *camtEntry) error {
	n := l.No
	var txs []*camtTx
	var batchMsg, batchPmt string
	batch := false
	for i := range e.NtryDtls {
		d := &e.NtryDtls[i]
		for _, b := range d.Btch {
			batch = true
			batchMsg, batchPmt = firstRef(batchMsg, b.MsgID), firstRef(batchPmt, b.PmtInfID)
		}
		for j := range d.TxDtls {
			if len(txs) == maxLines {
				return entryError(n, "Ntry/NtryDtls/TxDtls", "more than %d transactions", maxLines)
			}
			txs = append(txs, &d.TxDtls[j])
		}
	}
	batch = batch || len(txs) > 1

	l.ChannelRef = ref(e.AcctSvcrRef)
	if batch {
		if batchPmt == "" {
			batchPmt = shared(txs, func(t *camtTx) string { return t.Refs.PmtInfID })
		}
		if batchMsg == "" {
			batchMsg = shared(txs, func(t *camtTx) string { return t.Refs.MsgID })
		}
		l.OrderID = firstRef(batchPmt, batchMsg)
	} else if len(txs) == 1 {
		t := txs[0]
		l.OrderID = ref(t.Refs.EndToEndID)
		l.ChannelRef = firstRef(l.ChannelRef, t.Refs.AcctSvcrRef, t.Refs.TxID)
		party := &t.RltdPties.Cdtr
		acct := &t.RltdPties.CdtrAcct
		if l.Direction == channel.PayIn {
			party, acct = &t.RltdPties.Dbtr, &t.RltdPties.DbtrAcct
		}
		l.Party = firstRef(acct.IBAN, acct.Othr, party.Nm, party.PtyNm)
	}
	for _, s := range [...]struct{ field, v string }{
		{"OrderID", l.OrderID}, {"ChannelRef", l.ChannelRef}, {"Party", l.Party},
	} {
		if len(s.v) > maxRefBytes {
			return entryError(n, "Ntry", "%s %s is longer than %d bytes", s.field, quote(s.v), maxRefBytes)
		}
	}

	fee, found, err := p.charges(e.Chrgs, n, "Ntry/Chrgs")
	if err != nil {
		return err
	}
	if !found {
		for _, t := range txs {
			f, _, err := p.charges(t.Chrgs, n, "Ntry/NtryDtls/TxDtls/Chrgs")
			if err != nil {
				return err
			}
			if fee, err = money.Add(fee, f); err != nil {
				return &Error{Line: n, Field: "Ntry/NtryDtls/TxDtls/Chrgs", Reason: "the charges overflow", Err: err, entry: true}
			}
		}
	}
	l.Fee = fee
	return nil
}

// ref returns a reference trimmed, with "NOTPROVIDED" as none.
func ref(s string) string {
	s = strings.TrimSpace(s)
	if s == notProvided {
		return ""
	}
	return s
}

// firstRef returns the first of refs that is not none.
func firstRef(refs ...string) string {
	for _, r := range refs {
		if r = ref(r); r != "" {
			return r
		}
	}
	return ""
}

// shared returns the reference get gives for every transaction, or ""
// when they differ or there are none.
func shared(txs []*camtTx, get func(*camtTx) string) string {
	s := ""
	for i, t := range txs {
		r := ref(get(t))
		if i > 0 && r != s {
			return ""
		}
		s = r
	}
	return s
}

// charges totals one Chrgs list: its TtlChrgsAndTaxAmt, else its records'
// amounts, a credited charge counting negative. found is false for none.
func (p *camtParser) charges(cs []camtCharges, n int, field string) (fee int64, found bool, err error) {
	for _, c := range cs {
		if c.Total != nil {
			v, err := p.amount(*c.Total, n, field+"/TtlChrgsAndTaxAmt")
			return v, true, err
		}
	}
	add := func(a camtAmount, ind, field string) error {
		v, err := p.amount(a, n, field+"/Amt")
		if err != nil {
			return err
		}
		isCredit := false
		if ind != "" {
			if isCredit, err = credit(ind, n, field+"/CdtDbtInd"); err != nil {
				return err
			}
		}
		// A charge debited from the account is a fee; one credited returns
		// a fee.
		if fee, err = money.Add(fee, signed(v, !isCredit)); err != nil {
			return &Error{Line: n, Field: field, Reason: "the charges overflow", Err: err, entry: true}
		}
		found = true
		return nil
	}
	for _, c := range cs {
		for _, a := range c.Amt {
			if err := add(a, c.CdtDbtInd, field); err != nil {
				return 0, false, err
			}
		}
		for _, r := range c.Rcrd {
			if err := add(r.Amt, r.CdtDbtInd, field+"/Rcrd"); err != nil {
				return 0, false, err
			}
		}
	}
	return fee, found, nil
}

// check runs the statement-wide checks once every entry is read.
func (p *camtParser) check() error {
	f := p.file
	f.Currency = p.currency
	f.Opening, f.Closing = p.opbd, p.clbd
	if f.Opening == nil {
		f.Opening = p.prcd
	}
	if f.Opening != nil && f.Closing != nil {
		want, err := money.Add(f.Opening.Amount, p.bookedNet)
		if err != nil {
			return &Error{Field: "Stmt/Bal", Reason: "opening balance plus entries overflows", Err: err, entry: true}
		}
		if want != f.Closing.Amount {
			scale := p.scale()
			return entryError(0, "Stmt/Bal[CLBD]", "closing balance %s, but opening %s plus booked credits minus debits is %s",
				money.Format(f.Closing.Amount, scale), money.Format(f.Opening.Amount, scale), money.Format(want, scale))
		}
	}
	if p.summary == nil {
		return nil
	}
	for _, t := range [...]struct {
		name  string
		tot   *camtTotals
		count int64
		sum   int64
	}{
		{"TtlNtries", p.summary.All, p.count, p.sum},
		{"TtlCdtNtries", p.summary.Credits, p.credits, p.creditSum},
		{"TtlDbtNtries", p.summary.Debits, p.debits, p.debitSum},
	} {
		if t.tot == nil {
			continue
		}
		if err := p.checkTotals("Stmt/TxsSummry/"+t.name, t.tot, t.count, t.sum); err != nil {
			return err
		}
	}
	if all := p.summary.All; all != nil {
		amt, ind, field := all.TtlNetNtryAmt, all.CdtDbtInd, "Stmt/TxsSummry/TtlNtries/TtlNetNtryAmt"
		if all.TtlNetNtry != nil {
			amt, ind, field = &all.TtlNetNtry.Amt, all.TtlNetNtry.CdtDbtInd, "Stmt/TxsSummry/TtlNtries/TtlNetNtry"
		}
		if amt != nil {
			v, err := decimal(strings.TrimSpace(*amt), p.scale(), 0, field)
			if err != nil {
				return err
			}
			isCredit, err := credit(ind, 0, field+"/CdtDbtInd")
			if err != nil {
				return err
			}
			if got := signed(v, isCredit); got != p.net {
				scale := p.scale()
				return entryError(0, field, "net %s, but the entries' credits minus debits are %s",
					money.Format(got, scale), money.Format(p.net, scale))
			}
		}
	}
	return nil
}

// checkTotals checks one NumberAndSumOfTransactions against the entries.
func (p *camtParser) checkTotals(field string, t *camtTotals, count, sum int64) error {
	if t.NbOfNtries != nil {
		s := strings.TrimSpace(*t.NbOfNtries)
		want, err := strconv.ParseInt(s, 10, 64)
		if err != nil || want < 0 {
			return entryError(0, field+"/NbOfNtries", "%s is not a count", quote(s))
		}
		if want != count {
			return entryError(0, field+"/NbOfNtries", "%d entries, but the statement has %d", want, count)
		}
	}
	if t.Sum != nil {
		scale := p.scale()
		want, err := decimal(strings.TrimSpace(*t.Sum), scale, 0, field+"/Sum")
		if err != nil {
			return err
		}
		if want != sum {
			return entryError(0, field+"/Sum", "%s, but the entries add up to %s", money.Format(want, scale), money.Format(sum, scale))
		}
	}
	return nil
}

// scale is the statement currency's scale; with no currency (no amounts
// at all) it is the largest, at which only zero sums match.
func (p *camtParser) scale() int {
	if s, ok := money.ISOScale(p.currency); ok {
		return s
	}
	return money.MaxScale
}
