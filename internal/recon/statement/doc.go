// Package statement reads channel and bank statement files into one
// normalized form for reconciliation: the channels' own formats (through
// their adapters), CSV files described by a column map, and ISO 20022
// camt.053 bank statements. It only parses and validates; it never
// touches storage or decides what a line means for an order.
//
// A Format, stored per channel (or bank branch) by the caller, says how
// its file is laid out; Parse reads a file in that format into a File of
// Lines. Every parser checks what the file says about itself: a CSV
// footer's count and total, a camt.053 statement's entry count, sums and
// opening and closing balances. A file that breaks its format or its own
// totals gives an error wrapping ErrInvalid (an *Error naming the line or
// entry and the field); a Format that breaks the rules gives an error
// wrapping ErrBadFormat.
//
// camt.053 is read with the standard library's encoding/xml, matching
// elements by local name so that every version from camt.053.001.02 to
// camt.053.001.13 parses. The one Go library for ISO 20022 messages,
// github.com/moov-io/iso20022, is deprecated by its authors, and a
// statement needs only a few dozen of the schema's elements.
//
// This package must never use floating point for an amount (amounts are
// int64 minor units, parsed with money and added with its
// overflow checks), never read without a bound (lines, line length and
// input size are all capped), never expand an XML entity or accept a
// DOCTYPE, and never guess: an unknown currency, status word or column
// is an error, not a default.
package statement
