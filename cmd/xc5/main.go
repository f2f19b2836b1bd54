// Command xc5 is the xc5 hosted virtual PBX: one binary whose subcommands
// run the server and work with it.
//
//	xc5 serve   [--http ADDR] [--data DIR | --db URL] [--sip ADDR] … (see README.md)
//	xc5 api     METHOD PATH [JSON|@file|-]
//	xc5 call    FROM DIGITS [--at T] [--dtmf D] [--registered U,…] [--json]
//	xc5 media   [--sip ADDR] [--data DIR | --db URL]
//	xc5 migrate [--db URL | --data DIR]
//	xc5 export  [--db URL | --data DIR] [-o FILE]
//	xc5 import  [--db URL | --data DIR] [--dry-run] FILE
//	xc5 import-csv [--db URL | --data DIR] --company COMPANY [--dry-run] FILE
//	xc5 seed    [--data DIR] [--accounts N] [--numbers N]
//
// The usage text (usage, below) lists the same nine. serve wires the adapters
// together, each once: the SQL store into the API, the portal, the SIP
// service, the media node and the mail and webhook senders, and their
// counters into the metrics (serve.go); media runs a media node alone;
// api and call are clients of a running server; migrate, export, import,
// import-csv and seed work on the store directly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "xc5:", err)
		}
		os.Exit(2)
	}
}

// run dispatches a subcommand; it is main without the process, for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "media":
		return mediaCommand(ctx, args[1:], stderr)
	case "seed":
		return seed(ctx, args[1:], stdout, stderr)
	case "api":
		return apiCommand(ctx, args[1:], os.Stdin, stdout, stderr)
	case "call":
		return callCommand(ctx, args[1:], stdout, stderr)
	case "migrate":
		return migrateCommand(ctx, args[1:], stdout, stderr)
	case "export":
		return exportCommand(ctx, args[1:], stdout, stderr)
	case "import":
		return importCommand(ctx, args[1:], os.Stdin, stdout, stderr)
	case "import-csv":
		return importCSVCommand(ctx, args[1:], os.Stdin, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

const usage = `usage: xc5 <command> [flags]

commands:
  serve   run the api-sys provisioning server
  api     send one api-sys request: xc5 api METHOD PATH [JSON|@file|-]
  call    trace a call through the routing engine: xc5 call FROM DIGITS
  media   run a media node alone (voicemail, menus, prompts) for xc5 serve --media sip:HOST:PORT
  migrate apply the database schema: xc5 migrate --db postgres://… (or --data DIR)
  export  write the whole provisioning as versioned JSON: xc5 export [--db URL | --data DIR] [-o FILE]
  import  load an export into an empty database: xc5 import [--db URL | --data DIR] [--dry-run] FILE
  import-csv onboard a company's users from CSV: xc5 import-csv --company COMPANY [--dry-run] FILE
  seed    fill a data directory with synthetic accounts and numbers (load tests)

Run "xc5 <command> -h" for the flags of a command.`
