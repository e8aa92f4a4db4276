package statement_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/suanpan/suanpan/internal/payments/channel"
	"github.com/suanpan/suanpan/internal/recon/statement"
)

// A bank's CSV export: a title line, a header, signed amounts in yuan.
func ExampleParseCSV() {
	m := &statement.ColumnMap{
		Skip: 1, Header: true,
		ChannelRef: "流水号", OrderID: "附言", Amount: "金额", Time: "时间",
		AmountFormat: statement.AmountDecimal, Scale: new(2), SignGivesDirection: true,
		DefaultStatus: channel.Succeeded, DefaultAsset: "CNY",
		TimeLayout: "2006-01-02 15:04:05", TimeZone: "Asia/Shanghai",
	}
	file := "某银行账户明细\n" +
		"时间,流水号,金额,附言\n" +
		"2025-03-14 09:00:00,S001,1250.00,PI-1\n" +
		"2025-03-14 10:30:00,S002,-80.50,PO-7\n"
	f, err := statement.ParseCSV(strings.NewReader(file), m)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range f.Lines {
		fmt.Println(l.No, l.OrderID, l.Direction, l.Amount, l.Asset, l.At.Format("2006-01-02T15:04Z07:00"))
	}
	fmt.Println("credits", f.Credits, "debits", f.Debits)

	_, err = statement.ParseCSV(strings.NewReader(file+"2025-03-14 11:00:00,S003,1.005,PI-2\n"), m)
	fmt.Println(errors.Is(err, statement.ErrInvalid), err)
	// Output:
	// 3 PI-1 pay_in 125000 CNY 2025-03-14T01:00Z
	// 4 PO-7 pay_out 8050 CNY 2025-03-14T02:30Z
	// credits 125000 debits 8050
	// true statement line 5: amount: parse amount "1.005": 3 decimal places, scale allows 2: too many decimal places
}
