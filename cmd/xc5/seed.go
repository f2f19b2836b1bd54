package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"xc5/sqlstore"
)

// seed fills a data directory with synthetic accounts and numbers, for
// load tests and the figures in docs/benchmarks.md. Creating accounts
// through the API costs a password hash each; this writes them directly.
func seed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./xc5-data", "data directory")
	accounts := fs.Int("accounts", 100000, "accounts to create")
	numbers := fs.Int("numbers", 200000, "numbers to create, spread over the accounts")
	password := fs.String("password", "seed-password", "password of every seeded account")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, err := sqlstore.Open(*data)
	if err != nil {
		return err
	}
	defer store.Close()
	start := time.Now()
	if err := store.Seed(ctx, *accounts, *numbers, *password); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d accounts and %d numbers in %s\n", *accounts, *numbers, time.Since(start).Round(time.Millisecond))
	return nil
}
