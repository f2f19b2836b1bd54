package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"xc5/sqlstore"
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

// importCommand loads an export into an empty database, streamed, with a
// progress bar when standard error is a terminal. --dry-run checks
// everything and writes nothing; every problem is listed with its place.
func importCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	open := storeFlags(fs, "")
	dry := fs.Bool("dry-run", false, "check the whole dump and report every problem, writing nothing")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the import to this file (bench/import.sh)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: xc5 import [--db URL | --data DIR] [--dry-run] FILE (- for standard input)")
	}
	s, err := open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	in := stdin
	var size int64
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		in = f
	}
	opt := sqlstore.ImportOptions{DryRun: *dry}
	bar := newProgressBar(stderr, size)
	if bar != nil {
		opt.Progress = bar.show
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	start := time.Now()
	rep, err := s.ImportDump(ctx, bufio.NewReaderSize(in, 1<<20), opt)
	if bar != nil {
		bar.done()
	}
	if err != nil {
		return err
	}
	verb := "imported"
	if *dry {
		verb = "checked (dry run, nothing written)"
	}
	fmt.Fprintf(stdout, "%s %d accounts, %d numbers, %d rows in all in %s\n", verb, rep.Rows["accounts"], rep.Rows["numbers"],
		rep.Total(), time.Since(start).Round(time.Millisecond))
	return nil
}

// progressBar draws the share of the dump read on a terminal.
type progressBar struct {
	w     io.Writer
	total int64
}

// newProgressBar returns a bar when w is a terminal (a character device),
// else nil: logs and pipes get no carriage returns.
func newProgressBar(w io.Writer, total int64) *progressBar {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return &progressBar{w: w, total: total}
}

func (b *progressBar) show(read int64) {
	const width = 40
	if b.total <= 0 {
		fmt.Fprintf(b.w, "\rimporting: %.1f MB read", float64(read)/1e6)
		return
	}
	done := int(min(read, b.total) * width / b.total)
	fmt.Fprintf(b.w, "\rimporting [%s%s] %3d%% %.1f/%.1f MB", strings.Repeat("#", done), strings.Repeat(" ", width-done),
		read*100/b.total, float64(read)/1e6, float64(b.total)/1e6)
}

func (b *progressBar) done() { fmt.Fprintln(b.w) }
