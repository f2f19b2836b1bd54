package sipserver

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"xc5"
	"xc5/resource"
	"xc5/routing"
)

// b2bua carries out calls: xc5 answers every INVITE itself and places its
// own INVITEs toward the phones and carriers the routing engine picks, so
// that it stays in both dialogs (see docs/sip.md for why a B2BUA).
type b2bua struct {
	s       *Server
	view    *routing.View
	store   Store
	client  *sipgo.Client // UDP and TCP: Via host and port are Config.Host and Port
	tls     *sipgo.Client // TLS: Config.TLSHost and TLSPort
	trunks  *trunkCache
	cdrs    *cdrQueue
	host    string // what goes into Via, Contact and From
	tlsHost string // what goes into Via and Contact over TLS

	// removals deletes the shared count of calls that ended while the
	// database was away.
	removals removals

	// shared, when set, counts calls for concurrent_limit across the
	// nodes sharing a database; active still counts this node's.
	shared xc5.ActiveCallCounter

	mu      sync.Mutex
	active  map[string]int        // account GUID -> calls set up on this node
	dialogs map[string]*end       // dialog key -> one end of a call
	ringing map[*ringing]struct{} // rings in progress, for pickup
	parks   parkLot               // parked calls (park.go)
	calls   int                   // calls in progress

	setups    atomic.Int64 // calls being set up (see Config.MaxCallSetups)
	emergency atomic.Int64 // emergency calls being set up (emergencySetups)
	shed      atomic.Int64 // INVITEs refused for overload
	mediaNext atomic.Int64 // rotation over Config.Media
	mwi       *mwi         // message-summary subscriptions (mwi.go)
	lamps     *mwi         // busy-lamp (dialog) subscriptions (blf.go)
	board     *lampBoard   // the lines' calls, for the busy lamps (lampboard.go)
}

// EnableCalls makes the server carry calls: INVITEs from phones
// (authenticated with 407 digest challenges) and from carrier trunks are
// decided by the routing engine over view and carried out by xc5 as a
// back-to-back user agent, over the store given to New (its trunks, its
// call detail records and, with Config.ShareCallCounts, its call count).
// It installs the INVITE, ACK, BYE and CANCEL handlers; call it once,
// before or while serving.
func (s *Server) EnableCalls(view *routing.View) error {
	if view == nil {
		return errors.New("sip: EnableCalls needs a routing view")
	}
	store := s.store
	host := s.cfg.Host
	if host == "" {
		addr := s.Addr()
		if addr == "" {
			addr = s.cfg.Addr
		}
		host, _, _ = net.SplitHostPort(addr)
		if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
			host = firstAddress()
		}
	}
	tlsHost := s.cfg.TLSHost
	if tlsHost == "" {
		tlsHost = host
	}
	client, err := s.callClient(host, s.cfg.Port)
	if err != nil {
		return err
	}
	tlsClient, err := s.callClient(tlsHost, s.cfg.TLSPort)
	if err != nil {
		return err
	}
	b := &b2bua{s: s, view: view, store: store, client: client, tls: tlsClient, host: host, tlsHost: tlsHost,
		trunks:  newTrunkCache(store, 10*time.Second, s.cfg.RequestTimeout, s.log),
		cdrs:    newCDRQueue(store, s.log),
		active:  map[string]int{},
		dialogs: map[string]*end{},
		ringing: map[*ringing]struct{}{},
		mwi:     newMWI(),
		lamps:   newMWI(),
		board:   newLampBoard(),
	}
	if s.cfg.ShareCallCounts {
		b.shared = store
	}
	b.removals.log = s.log
	store.OnChange(func(c resource.Change) {
		if c.Resource == nil || c.Resource == resource.Trunk {
			b.trunks.invalidate()
		}
	})
	s.mu.Lock()
	s.b2b = b
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		b.cdrs.run(s.ctx, s.cfg.CDRDelay)
	}()
	s.Handle(sip.INVITE, b.onInvite)
	s.Handle(sip.ACK, b.onAck)
	s.Handle(sip.BYE, b.onBye)
	s.Handle(sip.CANCEL, b.onCancel)
	s.Handle(sip.INFO, b.onInfo)
	s.Handle(sip.SUBSCRIBE, b.onSubscribe)
	s.Handle(sip.REFER, b.onRefer)
	s.Handle(sip.UPDATE, b.onUpdate) // indialog.go
	s.Handle(sip.PRACK, b.onPrack)
	b.watchMailboxes(store)
	return nil
}

// Calls reports how many calls are in progress on this node, ringing or
// answered.
func (s *Server) Calls() int {
	s.mu.RLock()
	b := s.b2b
	s.mu.RUnlock()
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls
}

// callClient is the client that sends xc5's requests on calls, with host
// and port (0: the socket's) in the Via. With an advertised address
// (Config.Host, Port, TLSHost, TLSPort: xc5 behind a NAT) the Via asks for
// rport (RFC 3581), so that responses come back to the address the
// request was seen from, through the NAT, rather than to the advertised
// port at the request's source IP (RFC 3261 §18.2.2), where nothing may
// listen.
func (s *Server) callClient(host string, port int) (*sipgo.Client, error) {
	opts := []sipgo.ClientOption{sipgo.WithClientHostname(host), sipgo.WithClientPort(port), sipgo.WithClientLogger(s.log)}
	if c := s.cfg; c.Host != "" || c.Port != 0 || c.TLSHost != "" || c.TLSPort != 0 {
		opts = append(opts, sipgo.WithClientNAT())
	}
	return sipgo.NewClient(s.ua, opts...)
}

// firstAddress is the first non-loopback address of the machine, for a
// server listening on a wildcard address; 127.0.0.1 when there is none.
func firstAddress() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return "127.0.0.1"
}

// contact is xc5's Contact for a dialog over transport: where the other
// side sends BYE and re-INVITE. It carries the advertised address
// (Config.Host and Port, TLSHost and TLSPort) when one is set.
func (b *b2bua) contact(transport string) sip.ContactHeader {
	tp := strings.ToLower(transport)
	host, port := b.host, b.s.cfg.Port
	switch tp {
	case "tls":
		host, port = b.tlsHost, b.s.cfg.TLSPort
		if port == 0 {
			port = b.s.listenPort(tp)
		}
	case "udp", "tcp", "":
	default:
		port = b.s.listenPort(tp)
	}
	if port == 0 {
		addr := b.s.Addr()
		if addr == "" {
			addr = b.s.cfg.Addr
		}
		_, p, _ := net.SplitHostPort(addr)
		port, _ = strconv.Atoi(p)
	}
	u := sip.Uri{Scheme: "sip", User: "xc5", Host: host, Port: port}
	if tp != "udp" && tp != "" {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", tp)
	}
	return sip.ContactHeader{Address: u}
}

// dialogUA is the sipgo dialog user agent for one end of a call. Requests
// in the dialog go back to where the other side's messages came from
// (RewriteContact): phones behind NAT register from the address they can
// be reached at, not the one in their Contact.
func (b *b2bua) dialogUA(transport string) *sipgo.DialogUA {
	c := b.client
	if strings.EqualFold(transport, "tls") {
		c = b.tls
	}
	return &sipgo.DialogUA{Client: c, ContactHDR: b.contact(transport), RewriteContact: true}
}
