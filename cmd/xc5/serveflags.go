package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"xc5/resource"
	"xc5/sipserver"
)

// serveConfig is xc5 serve's command line. The flags that need nothing
// but themselves are checked by parseServe; the time zone, the voicemail
// numbers, --smtp and the media flags are checked where they are used, as
// each service starts.
type serveConfig struct {
	addr, data, dbURL     string // --http, --data, --db
	cert, key             string // --tls-cert, --tls-key
	logFormat, cpuProfile string
	metricsAddr           string

	sipAddr, sipTLS string
	sipDigest       string
	sipAdvertise    string
	sipTLSAdvertise string
	sipSourceRate   int
	sipSourceBurst  int
	sipUnsynced     bool // --sip-unsynced-refreshes
	// sip is the SIP service's settings from the flags above; startSIP
	// adds the addresses, the nonce key and the media.
	sip sipserver.Config

	tz, cc, ac string
	vmNumbers  string
	media      mediaOptions

	cdrDays, auditDays int
	hookPrivate        bool
	hookBackoff        time.Duration
}

// parseServe reads serve's flags and checks those that need nothing else.
func parseServe(args []string, stderr io.Writer) (*serveConfig, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &serveConfig{}
	c.flags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *serveConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "http", "127.0.0.1:8080", "address to serve the API on")
	fs.StringVar(&c.data, "data", "./xc5-data", "data directory (holds the SQLite database and the installation key)")
	fs.StringVar(&c.dbURL, "db", os.Getenv("XC5_DB"), "postgres://… URL to use PostgreSQL instead of SQLite (default $XC5_DB)")
	fs.StringVar(&c.cert, "tls-cert", "", "TLS certificate file: serve HTTPS")
	fs.StringVar(&c.key, "tls-key", "", "TLS private key file")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile to this file until shutdown (for load tests)")
	fs.StringVar(&c.sipAddr, "sip", "127.0.0.1:5060", `SIP address (UDP and TCP on one port); "" turns SIP off`)
	fs.StringVar(&c.sipTLS, "sip-tls", "", "SIP over TLS address (uses --tls-cert and --tls-key)")
	fs.StringVar(&c.sipDigest, "sip-digest", "MD5", "digest algorithms challenged for, in order (SHA-256,MD5 for fleets that support RFC 8760)")
	fs.StringVar(&c.sipAdvertise, "sip-advertise", "", "HOST[:PORT] written into Via and Contact for SIP over UDP and TCP (xc5 behind NAT); default the --sip address")
	fs.StringVar(&c.sipTLSAdvertise, "sip-tls-advertise", "", "HOST[:PORT] written into Via and Contact for SIP over TLS; default --sip-advertise's host and the --sip-tls port")
	fs.IntVar(&c.sipSourceRate, "sip-source-rate", 50, "requests a second one source (UDP address and port, or TCP/TLS connection) may send outside calls before they are dropped (a scanner); negative turns the throttle off")
	fs.IntVar(&c.sipSourceBurst, "sip-source-burst", 1000, "burst of --sip-source-rate, at least 1 (one source; an address gets twice it, ten times that where phones authenticated)")
	fs.BoolVar(&c.sipUnsynced, "sip-unsynced-refreshes", false, "SQLite only: commit refreshes of live registrations without an fsync, as Kamailio's usrloc write-back keeps them in memory (less CPU in a registration storm; a power loss, not a crash of xc5, may lose the last second of refreshes, and such a phone's binding may lapse before its next REGISTER)")
	fs.StringVar(&c.tz, "timezone", "Pacific/Auckland", "default time zone of accounts that set none")
	fs.StringVar(&c.cc, "country-code", "64", "default country code for number translation")
	fs.StringVar(&c.ac, "area-code", "", "default area code for number translation")
	fs.StringVar(&c.vmNumbers, "voicemail-number", "", "the provider's voicemail access numbers, E.164, comma-separated: a forward to one (a POTS line's cfna_dest) lands in the forwarding account's mailbox; an account dialing one reaches its own mailbox")
	c.media.flags(fs)
	fs.StringVar(&c.metricsAddr, "metrics", "", "private address serving /metrics without credentials, /healthz and /readyz (for a scraper and probes)")
	fs.IntVar(&c.cdrDays, "cdr-retention", 400, "days of call detail records to keep (older ones are purged hourly); 0 keeps them forever")
	fs.BoolVar(&c.hookPrivate, "webhook-private", false, "let webhooks POST to loopback, private and link-local addresses (refused by default, so that a company's webhook cannot reach the provider's own network)")
	fs.DurationVar(&c.hookBackoff, "webhook-backoff", 0, "for tests and drills only: the wait after a webhook POST's first failure, at most four times it after later ones, and the outbox's poll (0: 5s doubling to 10m, poll 2s)")
	fs.IntVar(&c.auditDays, "audit-retention", 90, "days of the API's audit trail (and of done webhook deliveries) to keep, purged hourly; 0 keeps them forever")
}

// check refuses flags that are wrong by themselves, before anything
// starts, and fills c.sip.
func (c *serveConfig) check() error {
	if (c.cert == "") != (c.key == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.sipTLS != "" && (c.cert == "" || c.sipAddr == "") {
		return errors.New("--sip-tls needs --sip, --tls-cert and --tls-key")
	}
	if err := resource.CheckNumbering(c.cc, c.ac); err != nil {
		return fmt.Errorf("--country-code, --area-code: %w", err)
	}
	if c.cdrDays < 0 {
		return errors.New("--cdr-retention is a number of days, 0 to keep records forever")
	}
	if c.auditDays < 0 {
		return errors.New("--audit-retention is a number of days, 0 to keep the audit trail forever")
	}
	if c.sipSourceRate == 0 {
		return errors.New("--sip-source-rate 0 would drop every request: give a rate, or a negative one for no throttle")
	}
	if c.sipUnsynced && c.dbURL != "" {
		return errors.New("--sip-unsynced-refreshes is for SQLite: PostgreSQL commits registrations as it commits everything")
	}
	if c.sipSourceBurst < 1 {
		return errors.New("--sip-source-burst must be at least 1 (to turn the throttle off, give a negative --sip-source-rate)")
	}
	c.sip = sipserver.Config{DigestAlgorithms: strings.Split(c.sipDigest, ","), SourceRate: c.sipSourceRate, SourceBurst: c.sipSourceBurst}
	var err error
	if c.sip.Host, c.sip.Port, err = advertised(c.sipAdvertise); err != nil {
		return fmt.Errorf("--sip-advertise: %w", err)
	}
	if c.sip.TLSHost, c.sip.TLSPort, err = advertised(c.sipTLSAdvertise); err != nil {
		return fmt.Errorf("--sip-tls-advertise: %w", err)
	}
	return nil
}

// advertised parses HOST[:PORT] (an IPv6 host in brackets when a port
// follows); "" is no advertised address, a port of 0 the bound one.
func advertised(v string) (host string, port int, err error) {
	if v == "" {
		return "", 0, nil
	}
	host, p, err := net.SplitHostPort(v)
	if err != nil {
		// No port: the whole value is the host (an IPv6 address too).
		host, p = strings.Trim(v, "[]"), "0"
	}
	port, err = strconv.Atoi(p)
	switch {
	case err != nil || port < 0 || port > 65535:
		return "", 0, fmt.Errorf("port %q is not 0-65535", p)
	case host == "" || strings.ContainsAny(host, " /@;<>[]"):
		return "", 0, fmt.Errorf("%q is not HOST[:PORT]", v)
	}
	return host, port, nil
}
