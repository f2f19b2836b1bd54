package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// migrate applies the schema to a database explicitly (serve does it at
// start-up too, safely when several nodes start at once).
func migrateCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("db", os.Getenv("XC5_DB"), "postgres://… URL (default $XC5_DB)")
	data := fs.String("data", "", "SQLite data directory, when not using --db")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dbURL == "" && *data == "" {
		return errors.New("migrate needs --db postgres://… or --data DIR")
	}
	s, err := openStore(ctx, *data, *dbURL)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintln(stdout, "schema is up to date")
	return nil
}
