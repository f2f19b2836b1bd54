package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"xc5/resource"
)

// importCSVCommand onboards a company's users from CSV, straight into the
// store: the same code as PUT /api-sys/account/{company}/bulk. It writes
// the users created, with their generated passwords, as CSV on standard
// output; on a problem it lists every one and writes nothing.
func importCSVCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import-csv", flag.ContinueOnError)
	fs.SetOutput(stderr)
	open := storeFlags(fs, "")
	company := fs.String("company", "", "the company (username or GUID) the users go under")
	dry := fs.Bool("dry-run", false, "check every line and report every problem, writing nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *company == "" {
		return errors.New("usage: xc5 import-csv [--db URL | --data DIR] --company COMPANY [--dry-run] FILE (- for standard input)")
	}
	in := stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	users, err := resource.ParseBulkCSV(in)
	if err != nil {
		return bulkProblems(stderr, err)
	}
	s, err := open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	done, err := s.Onboard(ctx, "", *company, users, *dry)
	if err != nil {
		return bulkProblems(stderr, err)
	}
	if *dry {
		fmt.Fprintf(stdout, "checked %d users for %s (dry run, nothing written)\n", len(done), *company)
		return nil
	}
	w := csv.NewWriter(stdout)
	w.Write([]string{"line", "username", "guid", "password", "extension", "ddi", "voicemail"})
	for _, u := range done {
		w.Write([]string{strconv.Itoa(u.Line), u.Username, u.GUID, u.Password, u.Extension, u.DDI, u.Voicemail})
	}
	w.Flush()
	return w.Error()
}

// bulkProblems lists an onboarding's problems one a line.
func bulkProblems(stderr io.Writer, err error) error {
	var p resource.BulkProblems
	if !errors.As(err, &p) {
		return err
	}
	for _, line := range p {
		fmt.Fprintln(stderr, line)
	}
	return fmt.Errorf("%d problem(s); nothing written", len(p))
}
