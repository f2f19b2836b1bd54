package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// exportCommand writes the whole provisioning as versioned JSON.
func exportCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	open := storeFlags(fs, "./xc5-data")
	out := fs.String("o", "-", "output file (- for standard output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	w := stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	return s.Export(ctx, w)
}

// importCommand loads an export into an empty database.
func importCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	open := storeFlags(fs, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: xc5 import [--db URL | --data DIR] FILE (- for standard input)")
	}
	s, err := open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	in := stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	if err := s.Import(ctx, in); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "imported")
	return nil
}
