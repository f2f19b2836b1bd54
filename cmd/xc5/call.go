package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
)

const callUsage = `usage: xc5 call [flags] FROM DIGITS

Asks the server's routing engine what happens when FROM (an account
username or GUID, or an external number) dials DIGITS, and prints the steps
and the outcome (GET /api-sys/calltrace).

flags:`

// callCommand is xc5 call: a readable front end to the call trace.
func callCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, callUsage); fs.PrintDefaults() }
	at := fs.String("at", "", "when the call is made (RFC 3339); default now")
	dtmf := fs.String("dtmf", "", "digits pressed at successive menus, comma-separated")
	registered := fs.String("registered", "", "accounts to treat as registered (comma-separated, * for all)")
	noanswer := fs.String("noanswer", "", "accounts whose phones do not answer")
	busy := fs.String("busy", "", "accounts whose phones are busy")
	asJSON := fs.Bool("json", false, "print the raw JSON array")
	var pass []string
	for _, name := range []string{"url", "user", "password"} {
		name := name
		fs.Func(name, "as for xc5 api", func(v string) error { pass = append(pass, "--"+name, v); return nil })
	}
	fs.BoolFunc("insecure", "as for xc5 api", func(string) error { pass = append(pass, "--insecure"); return nil })
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return flag.ErrHelp
	}
	q := url.Values{"from": {fs.Arg(0)}, "dial": {fs.Arg(1)}}
	for k, v := range map[string]string{"at": *at, "dtmf": *dtmf, "registered": *registered, "noanswer": *noanswer, "busy": *busy} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out bytes.Buffer
	if err := apiCommand(ctx, append(append(pass, "--raw"), "GET", "/api-sys/calltrace?"+q.Encode()), nil, &out, stderr); err != nil {
		return err
	}
	if *asJSON {
		_, err := stdout.Write(out.Bytes())
		return err
	}
	var steps []map[string]any
	if err := json.Unmarshal(out.Bytes(), &steps); err != nil || len(steps) == 0 {
		return fmt.Errorf("unexpected answer: %s", out.String())
	}
	for _, s := range steps[:len(steps)-1] {
		order := ""
		if o, ok := s["order"]; ok {
			order = fmt.Sprintf(" [order %v]", o)
		}
		fmt.Fprintf(stdout, "%-10v %v%s: %v\n", s["kind"], s["account"], order, s["text"])
	}
	o := steps[len(steps)-1]
	var parts []string
	for _, k := range []string{"by", "to", "prompt", "code", "reason", "room", "number", "mailbox"} {
		if v, ok := o[k]; ok && v != "" {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	if r, ok := o["record"].([]any); ok {
		parts = append(parts, fmt.Sprintf("recorded to %v", r))
	}
	fmt.Fprintf(stdout, "=> %v %s\n", o["outcome"], strings.Join(parts, " "))
	return nil
}
