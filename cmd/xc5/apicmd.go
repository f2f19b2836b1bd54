package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

const apiUsage = `usage: xc5 api [flags] METHOD PATH [JSON|@file|-]

Sends one api-sys request and prints the reply: JSON pretty-printed to
stdout (key order kept), anything else (audio) as received. A 4xx/5xx reply
is an error "STATUS: message" taken from the reply's [0].error.

  METHOD  GET, PUT, PATCH, DELETE or OPTIONS (any case)
  PATH    /api-sys/… as in the document, with its query string sent exactly
          as typed (?filter=%88, ?filter=<CallR%); a full http(s):// URL
          is accepted too, and a PATH without a leading "/" is taken below
          /api-sys/
  BODY    literal JSON, @file to read a file (a .wav file is sent as
          audio/wav), or - for standard input

The document's quoted form can be pasted as it is:
  xc5 api 'PUT /api-sys/account/', '{"username":"acmebrick.x.co.nz"}'

flags:`

// apiMethods are the methods the client sends.
var apiMethods = map[string]bool{
	"GET": true, "HEAD": true, "PUT": true, "PATCH": true,
	"POST": true, "DELETE": true, "OPTIONS": true,
}

// apiFlags are xc5 api's flags, with the environment's defaults filled
// in for those not given.
type apiFlags struct {
	base, user, password string
	contentType, accept  string
	insecure, raw        bool
	verbose              bool
	timeout              time.Duration
	// set names the flags given on the command line: they win over the
	// environment and over credentials in a URL.
	set map[string]bool
}

// apiCommand implements "xc5 api": one request to an api-sys server.
func apiCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	o, err := parseAPIFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	method, target, bodyArg, err := parseAPIArgs(fs.Args())
	if err != nil {
		fs.Usage()
		return err
	}
	scheme, host, reqURL, err := o.requestURL(target)
	if err != nil {
		return err
	}
	body, ctype, err := o.readBody(bodyArg, stdin)
	if err != nil {
		return err
	}
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	var rd io.Reader
	if bodyArg != "" {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, scheme+"://"+host+"/", rd)
	if err != nil {
		return err
	}
	req.URL = reqURL
	if bodyArg != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", o.accept)
	req.Header.Set("User-Agent", "xc5-api")
	if o.password != "" {
		req.SetBasicAuth(o.user, o.password)
	}
	return o.send(ctx, req, scheme+"://"+host+reqURL.RequestURI(), stdout, stderr)
}

// parseAPIFlags reads xc5 api's flags into fs; the environment is read
// now, at each call, and explicit flags win.
func parseAPIFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (*apiFlags, error) {
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, apiUsage)
		fs.PrintDefaults()
	}
	o := &apiFlags{set: map[string]bool{}}
	fs.StringVar(&o.base, "url", "", "server `URL` (default $XC5_URL, else http://127.0.0.1:8080)")
	fs.StringVar(&o.user, "user", "", "`name` for Basic authentication (default $XC5_USER, else admin)")
	fs.StringVar(&o.password, "password", "", "password for Basic authentication (default $XC5_PASSWORD)")
	fs.BoolVar(&o.insecure, "insecure", false, "skip TLS certificate verification (self-signed test certificates)")
	fs.BoolVar(&o.raw, "raw", false, "print the reply body as received, unformatted")
	fs.StringVar(&o.contentType, "content-type", "application/json", "content `type` of the request body (a .wav @file or WAV data: audio/wav)")
	fs.StringVar(&o.accept, "accept", "application/hal+json, application/json", "Accept header (audio/wav to GET a prompt's audio)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "time limit for the whole request (0: none)")
	fs.BoolVar(&o.verbose, "v", false, "print the status line and reply headers to stderr")
	fs.BoolVar(&o.verbose, "verbose", false, "same as -v")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	for name, def := range map[string]struct{ env, fallback string }{
		"url":      {"XC5_URL", "http://127.0.0.1:8080"},
		"user":     {"XC5_USER", "admin"},
		"password": {"XC5_PASSWORD", ""},
	} {
		if o.set[name] {
			continue
		}
		v := os.Getenv(def.env)
		if v == "" {
			v = def.fallback
		}
		fs.Lookup(name).Value.Set(v)
	}
	return o, nil
}

// requestURL finds the server (--url, unless PATH is a full URL) and
// makes the request's URL; credentials in either URL count as --user and
// --password when those were not given.
func (o *apiFlags) requestURL(target string) (scheme, host string, u *url.URL, err error) {
	baseURL, err := url.Parse(o.base)
	if err != nil || (baseURL.Scheme != "http" && baseURL.Scheme != "https") || baseURL.Host == "" {
		return "", "", nil, fmt.Errorf("--url %q: want http://host[:port] or https://host[:port]", o.base)
	}
	o.credentials(baseURL.User)
	prefix := strings.TrimSuffix(strings.TrimSuffix(baseURL.EscapedPath(), "/"), "/api-sys")
	scheme, host = baseURL.Scheme, baseURL.Host
	if s, h, rest, info, ok := splitAbsolute(target); ok {
		scheme, host, target, prefix = s, h, rest, ""
		o.credentials(info)
	}
	if !strings.HasPrefix(target, "/") {
		target = "/api-sys/" + target
	}
	return scheme, host, buildURL(scheme, host, prefix, target), nil
}

// credentials takes a URL's user and password for those flags not given.
func (o *apiFlags) credentials(info *url.Userinfo) {
	if info == nil {
		return
	}
	if !o.set["user"] {
		o.user = info.Username()
	}
	if p, ok := info.Password(); ok && !o.set["password"] {
		o.password = p
	}
}

// readBody reads the body argument: "-" (or "@-") is standard input,
// @file a file, anything else the body itself. WAV data, or a .wav file,
// goes as audio/wav unless --content-type says otherwise.
func (o *apiFlags) readBody(bodyArg string, stdin io.Reader) (body []byte, ctype string, err error) {
	ctype = o.contentType
	switch {
	case bodyArg == "-" || bodyArg == "@-":
		if body, err = io.ReadAll(stdin); err != nil {
			return nil, "", fmt.Errorf("reading the body from stdin: %w", err)
		}
	case strings.HasPrefix(bodyArg, "@"):
		name := bodyArg[1:]
		if name == "" {
			return nil, "", errors.New("@ needs a file name: @body.json")
		}
		if body, err = os.ReadFile(name); err != nil {
			return nil, "", fmt.Errorf("reading the body: %w", err)
		}
		if !o.set["content-type"] && strings.EqualFold(filepath.Ext(name), ".wav") {
			ctype = "audio/wav"
		}
	default:
		body = []byte(bodyArg)
	}
	if !o.set["content-type"] && len(body) >= 12 && string(body[:4]) == "RIFF" && string(body[8:12]) == "WAVE" {
		ctype = "audio/wav"
	}
	return body, ctype, nil
}

// send sends req and prints the reply (display is the request's URL as
// shown in messages): the body to stdout, and with -v the status line and
// headers to stderr; a 4xx/5xx reply is an error.
func (o *apiFlags) send(ctx context.Context, req *http.Request, display string, stdout, stderr io.Writer) error {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if o.insecure {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	method := req.Method
	if o.verbose {
		fmt.Fprintf(stderr, "> %s %s\n", method, display)
	}
	resp, err := client.Do(req)
	if err != nil {
		return transportError(method, display, o.timeout, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(resp.Body)
	if o.verbose {
		writeHeaders(stderr, resp)
	}
	if err != nil {
		if ctx.Err() != nil {
			return transportError(method, display, o.timeout, ctx.Err())
		}
		return fmt.Errorf("%s %s: reading the reply (%d): %w", method, display, resp.StatusCode, err)
	}
	if resp.StatusCode >= 400 {
		return replyError(resp, reply, o.password == "")
	}
	return writeReply(stdout, resp.Header.Get("Content-Type"), reply, o.raw)
}

// writeHeaders prints the reply's status line and headers, sorted, for -v.
func writeHeaders(w io.Writer, resp *http.Response) {
	fmt.Fprintf(w, "%s %s\n", resp.Proto, resp.Status)
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range resp.Header[k] {
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintln(w)
}

// transportError explains a request that got no reply.
func transportError(method, target string, timeout time.Duration, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var (
		unknownCA  x509.UnknownAuthorityError
		hostname   x509.HostnameError
		certErr    *tls.CertificateVerificationError
		opErr      *net.OpError
		dnsErr     *net.DNSError
		recordErr  tls.RecordHeaderError
		timeoutErr interface{ Timeout() bool }
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &timeoutErr) && timeoutErr.Timeout()):
		return fmt.Errorf("%s %s: no reply within %s (--timeout)", method, target, timeout)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s %s: interrupted", method, target)
	case errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &certErr):
		return fmt.Errorf("%s %s: the server's TLS certificate is not trusted (%v); use --insecure for a self-signed test certificate", method, target, err)
	case errors.As(err, &recordErr):
		return fmt.Errorf("%s %s: the server does not speak TLS; use an http:// URL", method, target)
	case errors.As(err, &dnsErr):
		return fmt.Errorf("%s %s: cannot resolve host %q: %v", method, target, dnsErr.Name, dnsErr.Err)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Errorf("%s %s: cannot connect to the server (is xc5 serve running? set --url or $XC5_URL): %v", method, target, opErr.Err)
	}
	return fmt.Errorf("%s %s: %v", method, target, err)
}

// replyError is the error for a 4xx/5xx reply: "STATUS: [0].error".
func replyError(resp *http.Response, reply []byte, noPassword bool) error {
	var errs []struct {
		Error string `json:"error"`
	}
	msg := ""
	if json.Unmarshal(reply, &errs) == nil && len(errs) > 0 && errs[0].Error != "" {
		msg = errs[0].Error
	} else {
		msg = strings.TrimSpace(string(reply))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
	}
	if resp.StatusCode == http.StatusUnauthorized && noPassword {
		msg += " (no password given: use --password or $XC5_PASSWORD)"
	}
	return fmt.Errorf("%d: %s", resp.StatusCode, msg)
}

// writeReply prints a reply body: JSON indented by two spaces in the order
// received, anything else unchanged.
func writeReply(w io.Writer, contentType string, reply []byte, raw bool) error {
	if len(reply) == 0 {
		return nil
	}
	if !raw && isJSON(contentType, reply) {
		var b bytes.Buffer
		if err := json.Indent(&b, bytes.TrimSpace(reply), "", "  "); err == nil {
			b.WriteByte('\n')
			_, err = w.Write(b.Bytes())
			return err
		}
	}
	_, err := w.Write(reply)
	return err
}

func isJSON(contentType string, reply []byte) bool {
	ct := strings.ToLower(contentType)
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	if ct == "application/json" || strings.HasSuffix(ct, "+json") {
		return true
	}
	if ct == "" || ct == "text/plain" {
		t := bytes.TrimSpace(reply)
		return len(t) > 0 && (t[0] == '[' || t[0] == '{') && json.Valid(t)
	}
	return false
}
