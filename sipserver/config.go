package sipserver

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"xc5/media/relay"
)

// The defaults of Config's overload bounds, which the load test runs with
// (docs/sip.md, "Overload: 503 instead of a retransmission collapse").
const (
	DefaultMaxRegisterWait = time.Second
	DefaultMaxQueueWait    = 400 * time.Millisecond
)

// Config tunes the SIP service. Zero values take the defaults given.
type Config struct {
	// Addr is where Serve listens, on UDP and TCP alike. Default
	// 127.0.0.1:5060; port 0 picks a free port that both transports share.
	Addr string
	// Name goes into the Server and User-Agent headers. Default "xc5".
	Name string
	// Host is the host name or IP address xc5 puts in the Via, Contact and
	// From of the requests it sends on calls, where phones and carriers
	// send the rest of the dialog. Default: the host of Addr, or when Addr
	// is a wildcard address, the first non-loopback address of the
	// machine. Behind a NAT, or with the public address on another
	// interface, it is the address phones and carriers can reach
	// (`xc5 serve --sip-advertise`).
	Host string
	// Port is the port advertised with Host in the Via and Contact of
	// calls over UDP and TCP. Default: the port Addr bound (over TCP the
	// Via then carries the connection's own port).
	Port int
	// TLSHost and TLSPort are advertised instead of Host and the TLS
	// listener's port for calls over TLS (`--sip-tls-advertise`).
	// Default: Host and the port ListenAndServeTLS bound.
	TLSHost string
	TLSPort int

	// Media lists the media nodes ("host:port", SIP over UDP) that answer
	// the calls needing audio: menus, voicemail, prompts recorded by phone
	// (package media's protocol). Legs go to them in rotation; a node that
	// does not answer within MediaTimeout is passed over. Empty: such
	// calls get 503 "Media services not available yet".
	Media []string
	// MediaTimeout bounds how long a media node may take to answer before
	// the next is tried. Default 3 s.
	MediaTimeout time.Duration
	// MaxMediaLeg bounds one media leg (a menu, a voicemail message).
	// Default 30 minutes.
	MaxMediaLeg time.Duration
	// ParkTimeout is how long a parked call waits to be retrieved before
	// it rings the parker back (park.go). Default 60 s.
	ParkTimeout time.Duration
	// Relay anchors calls' RTP in xc5 (calls answered by a media node,
	// recorded calls, phones behind NAT). Needed by Media.
	Relay *relay.Pool
	// MediaAnchor is when a call between phones is anchored: AnchorAuto
	// (recorded, or a party behind NAT; the default), AnchorAlways or
	// AnchorNever. Calls a media node answers are always anchored.
	MediaAnchor string

	// NoUnsolicitedMWI stops the NOTIFYs of message-waiting sent to the
	// registered phones of a mailbox nobody subscribed to (mwi.go).
	NoUnsolicitedMWI bool

	// ExternalRingSeconds bounds how long a call sent out over a carrier
	// (a plain external dial or a forward to an external number) may ring
	// before xc5 gives up; the carrier usually ends it first. Default 120.
	ExternalRingSeconds int
	// MaxCallDuration hangs up answered calls that last longer, so that a
	// call whose phone vanished without a BYE does not hold its accounts'
	// concurrent_limit for ever. Default 12 hours.
	MaxCallDuration time.Duration
	// SessionExpires is the session interval (RFC 4028) given to a caller
	// that supports session timers without asking for one; MinSE the
	// least xc5 grants (a shorter one asked is raised to it). A session
	// not refreshed in time ends the call (sessiontimer.go). Defaults
	// 1800 s and 90 s.
	SessionExpires, MinSE time.Duration
	// ShareCallCounts makes concurrent_limit count the calls of every node
	// sharing the store's database (the store's active-call count), not
	// only this node's: for nodes of a PostgreSQL cluster. Default off.
	ShareCallCounts bool

	// CDRDelay is how long a call detail record may wait after its call
	// ended, so that the records of many calls are written in one
	// transaction (see cdrQueue). Default 200 ms.
	CDRDelay time.Duration

	// MaxCallSetups bounds the calls being set up at once on this node: an
	// initial INVITE counts from its arrival until a phone or carrier it
	// rings first responds (100 Trying, 180, or a final answer), or until
	// it is refused without a ring; calls that ring (waiting for a person)
	// and answered calls do not count. Above it new INVITEs get 503
	// Service Unavailable with Retry-After at once, so that an overloaded
	// node refuses new calls cheaply instead of failing the calls it
	// already carries. Setting up a call takes about a millisecond, so the
	// count stays in single figures until the node (or the network to the
	// phones) cannot keep up and set-ups queue. 128 at 500 calls a second
	// is a quarter of a second of queue, half of SIP's first
	// retransmission interval (see docs/sip.md). Default 128; negative
	// means no limit.
	MaxCallSetups int
	// MaxPendingRegisters bounds the REGISTERs being handled at once
	// (challenge, credentials, the binding's write); above it a REGISTER
	// gets 503 with Retry-After at once. Handling one takes well under a
	// millisecond of CPU and a share of a commit, so a few dozen are in
	// progress at thousands a second while commits are quick; a pause (a
	// commit slowed by other disk work, fsync p99 150 ms under load; a
	// process that lost the CPU) holds hundreds or thousands more for a
	// moment, and those should still be served. 8192 is about 0.8 s of
	// requests at 5,000 registrations (10,000 REGISTERs) a second: only a
	// queue that keeps growing, past the point where phones retransmit
	// (500 ms), reaches it. It keeps an avalanche of registrations (every
	// phone of a network coming back at once) from taking the node into
	// the collapse where queues and retransmissions feed each other.
	// Over UDP it counts the REGISTERs the registrar's workers hold (at
	// the CPU or waiting for the store), not those queued for a worker,
	// which MaxQueueWait bounds: when only the CPU is short, a 503 costs
	// as much as a challenge. Answers to challenges are refused only
	// beyond twice the limit. Default 8192; negative means no limit.
	MaxPendingRegisters int
	// MaxQueueWait bounds the wait of requests in the UDP socket's receive
	// buffer: a REGISTER, OPTIONS or initial INVITE read after waiting
	// there longer is dropped before it is parsed (its sender retransmits
	// it), so that the queue the registrar cannot see stays short under
	// overload. Responses and requests of calls in progress are never
	// dropped. The same bound, counted from the kernel's receive time,
	// drops a new REGISTER (no credentials) that waited as long for a
	// worker of the UDP registrar; answers to challenges are served first
	// and not dropped. Default 400 ms, below SIP's first retransmission;
	// negative turns it off.
	MaxQueueWait time.Duration
	// MaxRegisterWait bounds the queue of REGISTERs by waiting time: once
	// the oldest REGISTER in progress has waited this long, REGISTERs
	// that start a registration (no credentials) get 503 at once, while
	// the answers to challenges already sent are still served. Default
	// 1 s: over UDP a retransmission of a REGISTER in work is absorbed
	// (udpTxs) for the cost of a parse, so waiting past SIP's first
	// retransmission (500 ms) no longer doubles the work, while a bound
	// below it refused registrations through every store commit that
	// stalled half a second (docs/benchmarks.md, issue 11). Negative
	// turns it off.
	MaxRegisterWait time.Duration
	// RetryAfter is the Retry-After of those 503s. Default 1 s.
	RetryAfter time.Duration
	// RegisterRetrySpread spreads the Retry-After of REGISTERs refused
	// for overload evenly over RetryAfter to RetryAfter plus this, in
	// whole seconds, so that a storm of phones refused together does not
	// come back together. Default 9 s (Retry-After 1 to 10); negative
	// means no spread.
	RegisterRetrySpread time.Duration
	// StaleRefusals is how many new REGISTERs a second that waited
	// MaxQueueWait for a UDP worker are answered 503 with the spread
	// Retry-After instead of dropped unanswered: a phone refused so stays
	// away for seconds, and the storm thins, but each answer costs what a
	// challenge costs, which the CPU that is behind cannot spare for all;
	// the rest are dropped (their senders retransmit). Default 1000 (with
	// 150 µs a registration, about 3 % of two cores); negative: none.
	StaleRefusals int

	// MinExpires is the shortest registration accepted; shorter non-zero
	// requests get 423 Interval Too Brief. Default 60 s.
	MinExpires time.Duration
	// MaxExpires caps the registration interval: longer requests are
	// granted this much. Default 3600 s.
	MaxExpires time.Duration
	// DefaultExpires applies when a REGISTER names no expiry. Default
	// 3600 s (then capped by MaxExpires).
	DefaultExpires time.Duration
	// MaxContacts bounds the bindings of one account; a REGISTER that
	// would exceed it gets 403. Default 10.
	MaxContacts int

	// NonceTTL is how long a nonce is good for; older ones get a fresh
	// challenge with stale=true. Default 5 minutes.
	NonceTTL time.Duration
	// NonceKey signs nonces. Default: random per process, so that after a
	// restart phones get stale=true and re-authenticate silently.
	NonceKey []byte
	// DigestAlgorithms are the algorithms challenged for, one challenge
	// each, in this order. Default SHA-256 then MD5 (RFC 8760). Some
	// clients answer only the first challenge and know only MD5 (sipp
	// 3.6, old phones): {"MD5"} or {"MD5", "SHA-256"} lets them in.
	DigestAlgorithms []string
	// MaxNonces bounds the replay guard (nonces seen, with their last
	// nonce-count); when it is full the oldest nonces are retired early,
	// which makes them stale. Default 1<<20.
	MaxNonces int

	// AuthFailures failed authentications from one source IP within
	// AuthWindow block that IP (with a backoff that doubles while it goes
	// on): its requests are answered 403 without looking at credentials.
	// Default 20 per minute; negative disables the limits.
	// AuthFailuresPerUser (default 10) bounds the failures per username
	// from addresses that failed AuthTries (default 3) times for it;
	// addresses that have not are always checked. See package ratelimit.
	AuthFailures        int
	AuthWindow          time.Duration
	AuthFailuresPerUser int
	AuthTries           int

	// SourceRate and SourceBurst are the request budget of one source (a
	// token bucket, as Kamailio's pike module keeps): over UDP an IP
	// address and port, over TCP and TLS a connection. Requests outside
	// the dialogs of calls (REGISTER, OPTIONS, new INVITEs, …) beyond it
	// are dropped without an answer, so that a SIP scanner's flood is
	// mostly unanswered. All the sources of one address (an IPv6 /64)
	// share a ceiling of twice the budget, UDP apart from connections; an
	// address where a phone authenticated within the last MaxExpires gets
	// ten times that ceiling, and its requests whose digest nonce was
	// sent to it pass even when it is spent. A source that authenticated
	// within MaxExpires (every phone holding a binding) is not throttled,
	// nor is a carrier trunk's. Default 50 a second with a burst of 1,000
	// (see docs/sip.md "Scanners"); a SourceBurst of zero or less is the
	// default (`xc5 serve` refuses one). A negative SourceRate turns the
	// throttle off.
	SourceRate  int
	SourceBurst int

	// UDPBuffer is the size asked for the UDP socket's receive and send
	// buffers (the kernel caps it at net.core.rmem_max and wmem_max).
	// Default 4 MiB, about 8,000 requests; negative keeps the system's.
	UDPBuffer int

	// SweepInterval is how often expired bindings, nonces and failure
	// counters are dropped. Default 10 s.
	SweepInterval time.Duration
	// RequestTimeout bounds the store work of one request. Default 10 s.
	RequestTimeout time.Duration

	// Now is the clock; default time.Now. Tests inject their own.
	Now func() time.Time
}

func (c *Config) defaults() error {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:5060"
	}
	if c.Name == "" {
		c.Name = "xc5"
	}
	if c.ExternalRingSeconds <= 0 {
		c.ExternalRingSeconds = 120
	}
	def(&c.MaxCallDuration, 12*time.Hour)
	def(&c.SessionExpires, 30*time.Minute)
	def(&c.MinSE, 90*time.Second)
	def(&c.MediaTimeout, 3*time.Second)
	def(&c.MaxMediaLeg, 30*time.Minute)
	def(&c.ParkTimeout, time.Minute)
	switch c.MediaAnchor {
	case "":
		c.MediaAnchor = AnchorAuto
	case AnchorAuto, AnchorAlways, AnchorNever:
	default:
		return fmt.Errorf("media anchor %q: want auto, always or never", c.MediaAnchor)
	}
	if len(c.Media) > 0 && c.Relay == nil {
		return fmt.Errorf("media nodes need an RTP relay (Config.Relay)")
	}
	def(&c.MinExpires, 60*time.Second)
	def(&c.MaxExpires, 3600*time.Second)
	def(&c.DefaultExpires, 3600*time.Second)
	def(&c.NonceTTL, 5*time.Minute)
	def(&c.AuthWindow, time.Minute)
	def(&c.SweepInterval, 10*time.Second)
	def(&c.RequestTimeout, 10*time.Second)
	if c.MaxCallSetups == 0 {
		c.MaxCallSetups = 128
	}
	def(&c.RetryAfter, time.Second)
	def(&c.MaxRegisterWait, DefaultMaxRegisterWait)
	def(&c.MaxQueueWait, DefaultMaxQueueWait)
	def(&c.RegisterRetrySpread, 9*time.Second)
	if c.StaleRefusals == 0 {
		c.StaleRefusals = 1000
	}
	if c.MaxPendingRegisters == 0 {
		c.MaxPendingRegisters = 8192
	}
	def(&c.CDRDelay, 200*time.Millisecond)
	if c.UDPBuffer == 0 {
		c.UDPBuffer = 4 << 20
	}
	if c.MaxContacts == 0 {
		c.MaxContacts = 10
	}
	if c.MaxNonces == 0 {
		c.MaxNonces = 1 << 20
	}
	if c.AuthFailures == 0 {
		c.AuthFailures = 20
	}
	if c.SourceRate == 0 {
		c.SourceRate = 50
	}
	if c.SourceBurst <= 0 {
		c.SourceBurst = max(1000, c.SourceRate)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if len(c.DigestAlgorithms) == 0 {
		c.DigestAlgorithms = defaultAlgorithms
	}
	algs := make([]string, len(c.DigestAlgorithms))
	for i, a := range c.DigestAlgorithms {
		algs[i] = strings.ToUpper(a)
		if a == "" || hasher(a) == nil {
			return fmt.Errorf("sip: digest algorithm %q is not MD5 or SHA-256", a)
		}
	}
	c.DigestAlgorithms = algs
	if len(c.NonceKey) == 0 {
		c.NonceKey = make([]byte, 32)
		rand.Read(c.NonceKey)
	}
	switch {
	case c.Port < 0 || c.Port > 65535 || c.TLSPort < 0 || c.TLSPort > 65535:
		return fmt.Errorf("sip: advertised ports %d, %d out of range", c.Port, c.TLSPort)
	case c.MinExpires < time.Second || c.MaxExpires < c.MinExpires:
		return fmt.Errorf("sip: need 1s <= MinExpires (%v) <= MaxExpires (%v)", c.MinExpires, c.MaxExpires)
	case c.NonceTTL < time.Second:
		return fmt.Errorf("sip: NonceTTL %v is too short", c.NonceTTL)
	}
	return nil
}
