package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/suanpan/suanpan/client"
)

// A transfer between two accounts, and what the server says when it
// refuses one. (Compiled, not run: it needs a server.)
func Example() {
	ctx := context.Background()
	c, err := client.New("http://127.0.0.1:8080", "sp_...") // the key serve or demo printed
	if err != nil {
		log.Fatal(err)
	}

	acct, err := c.GetAccountWithResponse(ctx, "ACCOUNT-ID")
	if err := client.Check(acct, err); err != nil {
		log.Fatal(err)
	}
	fmt.Println(acct.JSON200.Name, acct.JSON200.BalanceDisplay, acct.JSON200.Asset)

	reference := "order-0001" // also the Idempotency-Key: sending it again moves no money twice
	postings := []client.PostingBody{{Debit: acct.JSON200.Id, Credit: "OTHER-ACCOUNT-ID", Asset: "CNY", Amount: 1234}}
	tr, err := c.CreateTransactionWithResponse(ctx,
		&client.CreateTransactionParams{IdempotencyKey: &reference},
		client.TransferBody{Reference: reference, Postings: &postings})
	switch err := client.Check(tr, err); {
	case client.Code(err) == "insufficient_funds":
		fmt.Println("not enough money")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println("transaction", tr.JSON201.Id)
	}
}
