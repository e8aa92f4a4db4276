// Package money counts value exactly: assets and their scales, amounts as
// int64 minor units, overflow-checked arithmetic, strict decimal text for
// amounts, and rates applied with an explicit rounding mode.
//
// An amount is a signed count of an asset's minor units: 1234 CNY at scale 2
// is 12.34 yuan. Arithmetic on amounts never wraps; it fails with ErrOverflow.
// Rates (fees, interest, exchange) are decimals, and applying one to an amount
// rounds exactly once, in the mode the caller names.
//
// This package must never use float64 (or float32) on a money path: not to
// parse, format, multiply or round. Binary floating point cannot represent
// 0.1, and a ledger that is off by one minor unit is wrong.
//
// It is part of Suanpan's public Go API, with ledger, store and clock.
package money
