// Package accounts is the account system: customers, products, account life
// cycle and business operations, built on the ledger; it never writes a
// balance except through the ledger.
package accounts
