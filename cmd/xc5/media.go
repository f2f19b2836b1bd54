package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"xc5"
	"xc5/mail"
	"xc5/media/relay"
	"xc5/media/service"
	"xc5/resource"
	"xc5/sipserver"
	"xc5/sqlstore"
)

// mediaOptions are serve's flags for media and mail.
type mediaOptions struct {
	nodes     string // --media: remote media nodes; "" runs one in-process
	listen    string // --media-listen: the in-process node's SIP address
	allow     string // --media-allow: other signalling nodes it takes legs from
	rtpPorts  string
	rtpAdv    string
	anchor    string
	noMWI     bool // --no-unsolicited-mwi
	smtp      string
	mailFrom  string
	mailRetry time.Duration
	// legs reads the in-process media node's legs, once startMedia
	// started one (for metrics).
	legs func() int
}

func (o *mediaOptions) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.nodes, "media", "", "media nodes that answer calls needing audio, sip:HOST:PORT[,sip:HOST:PORT…] (xc5 media); default one in-process on --media-listen")
	fs.StringVar(&o.listen, "media-listen", "127.0.0.1:0", "SIP address of the in-process media node (without --media)")
	fs.StringVar(&o.allow, "media-allow", "", "addresses or CIDR ranges of other signalling nodes the in-process media node takes legs from (conference rooms held by this node); it always takes them from loopback and --sip")
	fs.StringVar(&o.rtpPorts, "rtp-ports", "10000-20000", "UDP port range of the RTP relay (anchored calls)")
	fs.StringVar(&o.rtpAdv, "rtp-advertise", "", "IP address written into SDP for the RTP relay; default the --sip-advertise host, else the --sip host")
	fs.StringVar(&o.anchor, "media-anchor", "auto", "when calls between phones have their RTP relayed by xc5: auto (recorded calls, phones behind NAT), always or never")
	fs.BoolVar(&o.noMWI, "no-unsolicited-mwi", false, "do not send message-waiting NOTIFYs to registered phones that never subscribed (many desk phones expect them)")
	fs.StringVar(&o.smtp, "smtp", "", "SMTP server for voicemail and recordings, smtp://[USER:PASS@]HOST:PORT (STARTTLS when offered) or smtps://…; without it mail waits in the outbox")
	fs.StringVar(&o.mailFrom, "mail-from", "", "sender address of voicemail and recording mail (with --smtp)")
	fs.DurationVar(&o.mailRetry, "mail-retry", 30*time.Second, "first wait after a failed delivery, doubled after each further failure up to an hour")
}

// portRange parses LO-HI.
func portRange(v string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(v, "-")
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || lo < 1024 || hi > 65535 || hi-lo < 3 {
		return 0, 0, fmt.Errorf("%q is not LO-HI within 1024-65535 with at least 4 ports", v)
	}
	return lo, hi, nil
}

// mediaNodes parses --media: sip:HOST:PORT (or HOST:PORT) entries.
func mediaNodes(v string) ([]string, error) {
	var out []string
	for _, n := range strings.Split(v, ",") {
		n = strings.TrimPrefix(strings.TrimSpace(n), "sip:")
		if n == "" {
			continue
		}
		if _, p, err := net.SplitHostPort(n); err != nil || p == "" {
			return nil, fmt.Errorf("%q is not sip:HOST:PORT", n)
		}
		out = append(out, n)
	}
	return out, nil
}

// startMedia fills the SIP service's media settings: the RTP relay, and
// the media nodes (one in-process unless --media names others). sipHost
// is the address phones reach xc5 at, the relay's SDP address by default.
// The returned stop ends what it started.
func startMedia(ctx context.Context, o *mediaOptions, cfg *sipserver.Config, sipHost string, store xc5.MediaStore, log *slog.Logger) (stop func(), err error) {
	bind, err := newRelay(o, cfg, sipHost)
	if err != nil {
		return nil, err
	}
	cfg.MediaAnchor, cfg.NoUnsolicitedMWI = o.anchor, o.noMWI
	if cfg.Media, err = mediaNodes(o.nodes); err != nil {
		return nil, fmt.Errorf("--media: %w", err)
	}
	if len(cfg.Media) > 0 {
		return func() {}, nil
	}
	svc, err := startLocalMedia(ctx, o, bind, store, log)
	if err != nil {
		return nil, err
	}
	cfg.Media = []string{svc.Addr()}
	o.legs = svc.Legs
	return func() { svc.Close() }, nil
}

// newRelay makes the RTP relay for anchored calls (cfg.Relay), bound to
// the --sip host and advertised as --rtp-advertise, else --sip-advertise's
// host, else the bound one. It returns the address it binds to.
func newRelay(o *mediaOptions, cfg *sipserver.Config, sipHost string) (bind netip.Addr, err error) {
	lo, hi, err := portRange(o.rtpPorts)
	if err != nil {
		return bind, fmt.Errorf("--rtp-ports: %w", err)
	}
	bind, err = netip.ParseAddr(sipHost)
	if err != nil {
		return bind, fmt.Errorf("the RTP relay binds to the --sip host, which must be an IP address: %w", err)
	}
	adv := bind
	switch {
	case o.rtpAdv != "":
		if adv, err = netip.ParseAddr(o.rtpAdv); err != nil {
			return bind, fmt.Errorf("--rtp-advertise: %w", err)
		}
	case cfg.Host != "":
		if a, err := netip.ParseAddr(cfg.Host); err == nil {
			adv = a
		}
	}
	if bind.IsUnspecified() && !adv.IsValid() {
		return bind, errors.New("with --sip on a wildcard address, give --rtp-advertise")
	}
	pool, err := relay.NewPool(relay.Config{Bind: bind, Advertise: adv, PortMin: lo, PortMax: hi})
	if err != nil {
		return bind, fmt.Errorf("rtp relay: %w", err)
	}
	cfg.Relay = pool
	return bind, nil
}

// startLocalMedia starts the in-process media node. Only this node's SIP
// service asks it for legs: from loopback, or from the --sip address (bind)
// when that is another; --media-allow adds other signalling nodes.
func startLocalMedia(ctx context.Context, o *mediaOptions, bind netip.Addr, store xc5.MediaStore, log *slog.Logger) (*service.Service, error) {
	allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	if !bind.IsUnspecified() {
		allow = append(allow, netip.PrefixFrom(bind, bind.BitLen()))
	}
	if o.allow != "" {
		more, err := prefixes(o.allow)
		if err != nil {
			return nil, fmt.Errorf("--media-allow: %w", err)
		}
		allow = append(allow, more...)
	}
	svc, err := service.New(service.Config{Addr: o.listen, Store: store, Log: log, Allow: allow})
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	if err := svc.Start(ctx); err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	log.Info("xc5 media serving in-process", "sip", svc.Addr())
	return svc, nil
}

// startMail runs the outbox's sender until ctx ends.
func startMail(ctx context.Context, o *mediaOptions, store *sqlstore.Store, node string, log *slog.Logger) error {
	if o.smtp != "" && o.mailFrom == "" {
		return errors.New("--smtp needs --mail-from")
	}
	s, err := mail.NewSender(mail.Config{URL: o.smtp, From: o.mailFrom, Node: node, Outbox: store, Log: log,
		Poll: 2 * time.Second, Backoff: o.mailRetry})
	if err != nil {
		return fmt.Errorf("--smtp: %w", err)
	}
	store.OnMailQueued(s.Kick) // a new voicemail leaves at once, not at the next poll
	go s.Run(ctx)
	return nil
}

// mediaCommand runs a media node alone: `xc5 media --sip ADDR`, for
// `xc5 serve --media sip:ADDR` on other machines. It reads prompts from
// and leaves voicemail in the same database as the signalling nodes.
func mediaCommand(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("media", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("sip", "127.0.0.1:5080", "SIP address (UDP) the signalling nodes send media calls to")
	allowFlag := fs.String("allow", "127.0.0.0/8,::1/128", "addresses or CIDR ranges of the signalling nodes (xc5 serve) allowed to send media legs; a leg can leave voicemail in any mailbox, so keep it to them")
	open := storeFlags(fs, "./xc5-data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	allow, err := prefixes(*allowFlag)
	if err != nil {
		return fmt.Errorf("--allow: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	store, err := open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	svc, err := service.New(service.Config{Addr: *addr, Store: store, Log: log, Allow: allow})
	if err != nil {
		return err
	}
	if err := svc.Start(ctx); err != nil {
		return err
	}
	defer svc.Close()
	log.Info("xc5 media serving", "sip", svc.Addr())
	<-ctx.Done()
	return nil
}

// prefixes parses a comma-separated list of addresses and CIDR ranges,
// at least one.
func prefixes(v string) ([]netip.Prefix, error) {
	out, err := resource.ParsePrefixes(v)
	if err == nil && len(out) == 0 {
		err = errors.New("no address given")
	}
	return out, err
}

// e164List parses comma-separated E.164 numbers (digits, 8 to 15).
func e164List(v string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimPrefix(strings.TrimSpace(f), "+")
		if f == "" {
			continue
		}
		if len(f) < 8 || len(f) > 15 || strings.Trim(f, "0123456789") != "" || f[0] == '0' {
			return nil, fmt.Errorf("%q is not an E.164 number (country code first, digits only)", f)
		}
		out = append(out, f)
	}
	return out, nil
}

// nodeName names this process in the mail outbox's claims.
func nodeName() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%d", h, os.Getpid(), time.Now().UnixNano())
}
