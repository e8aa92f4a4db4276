package money_test

import (
	"errors"
	"fmt"

	"github.com/suanpan/suanpan/money"
)

func ExampleParse() {
	cny, _ := money.LookupISO("CNY") // scale 2: amounts count fen

	for _, s := range []string{"12.34", "-0.5", "12", "1.234", "1e3"} {
		amount, err := money.Parse(s, cny.Scale)
		switch {
		case errors.Is(err, money.ErrTooManyDecimals):
			fmt.Printf("%s: finer than 0.01 CNY\n", s)
		case err != nil:
			fmt.Printf("%s: %v\n", s, err)
		default:
			fmt.Printf("%s: %d fen\n", s, amount)
		}
	}
	// Output:
	// 12.34: 1234 fen
	// -0.5: -50 fen
	// 12: 1200 fen
	// 1.234: finer than 0.01 CNY
	// 1e3: parse amount "1e3": invalid decimal syntax
}

func ExampleFormat() {
	fmt.Println(money.Format(1234, 2))
	fmt.Println(money.Format(-5, 2))
	fmt.Println(money.Format(7, 0))
	fmt.Println(money.Format(1500, 3))
	// Output:
	// 12.34
	// -0.05
	// 7
	// 1.500
}

func ExampleApplyRate() {
	fee, err := money.ParseRate("0.006") // 0.6%
	if err != nil {
		panic(err)
	}
	amount := int64(1001) // 10.01 CNY; the exact fee is 6.006 fen

	for _, mode := range []money.Rounding{money.HalfEven, money.Down, money.Up} {
		f, err := money.ApplyRate(amount, fee, mode)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-9s fee %s CNY\n", mode, money.Format(f, 2))
	}
	// Output:
	// half_even fee 0.06 CNY
	// down      fee 0.06 CNY
	// up        fee 0.07 CNY
}

func ExampleSum() {
	total, err := money.Sum(9223372036854775807, 1)
	fmt.Println(total, err)
	total, err = money.Sum(9223372036854775807, 1, -1) // only the total must fit
	fmt.Println(total, err)
	// Output:
	// 0 amount out of range
	// 9223372036854775807 <nil>
}
