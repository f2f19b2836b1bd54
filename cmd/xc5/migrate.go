package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// migrate applies the schema to a database explicitly (serve does it at
// start-up too, safely when several nodes start at once).
func migrateCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	open := storeFlags(fs, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintln(stdout, "schema is up to date")
	return nil
}
