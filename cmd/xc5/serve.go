package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"xc5/api"
	"xc5/media/prompts"
	"xc5/metrics"
	"xc5/portal"
	"xc5/ratelimit"
	"xc5/resource"
	"xc5/routing"
	"xc5/secret"
	"xc5/sipserver"
	"xc5/sqlstore"
)

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("http", "127.0.0.1:8080", "address to serve the API on")
	data := fs.String("data", "./xc5-data", "data directory (holds the SQLite database and the installation key)")
	dbURL := fs.String("db", os.Getenv("XC5_DB"), "postgres://… URL to use PostgreSQL instead of SQLite (default $XC5_DB)")
	cert := fs.String("tls-cert", "", "TLS certificate file: serve HTTPS")
	key := fs.String("tls-key", "", "TLS private key file")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file until shutdown (for load tests)")
	sipAddr := fs.String("sip", "127.0.0.1:5060", `SIP address (UDP and TCP on one port); "" turns SIP off`)
	sipTLS := fs.String("sip-tls", "", "SIP over TLS address (uses --tls-cert and --tls-key)")
	sipDigest := fs.String("sip-digest", "MD5", "digest algorithms challenged for, in order (SHA-256,MD5 for fleets that support RFC 8760)")
	sipAdvertise := fs.String("sip-advertise", "", "HOST[:PORT] written into Via and Contact for SIP over UDP and TCP (xc5 behind NAT); default the --sip address")
	sipTLSAdvertise := fs.String("sip-tls-advertise", "", "HOST[:PORT] written into Via and Contact for SIP over TLS; default --sip-advertise's host and the --sip-tls port")
	sipSourceRate := fs.Int("sip-source-rate", 50, "requests a second one source (UDP address and port, or TCP/TLS connection) may send outside calls before they are dropped (a scanner); negative turns the throttle off")
	sipSourceBurst := fs.Int("sip-source-burst", 1000, "burst of --sip-source-rate, at least 1 (one source; an address gets twice it, ten times that where phones authenticated)")
	tz := fs.String("timezone", "Pacific/Auckland", "default time zone of accounts that set none")
	cc := fs.String("country-code", "64", "default country code for number translation")
	ac := fs.String("area-code", "", "default area code for number translation")
	vmNumbers := fs.String("voicemail-number", "", "the provider's voicemail access numbers, E.164, comma-separated: a forward to one (a POTS line's cfna_dest) lands in the forwarding account's mailbox; an account dialing one reaches its own mailbox")
	mo := mediaFlags(fs)
	metricsAddr := fs.String("metrics", "", "private address serving /metrics without credentials, /healthz and /readyz (for a scraper and probes)")
	cdrDays := fs.Int("cdr-retention", 400, "days of call detail records to keep (older ones are purged hourly); 0 keeps them forever")
	hookPrivate := fs.Bool("webhook-private", false, "let webhooks POST to loopback, private and link-local addresses (refused by default, so that a company's webhook cannot reach the provider's own network)")
	hookBackoff := fs.Duration("webhook-backoff", 0, "for tests and drills only: the wait after a webhook POST's first failure, at most four times it after later ones, and the outbox's poll (0: 5s doubling to 10m, poll 2s)")
	auditDays := fs.Int("audit-retention", 90, "days of the API's audit trail (and of done webhook deliveries) to keep, purged hourly; 0 keeps them forever")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*cert == "") != (*key == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if *sipTLS != "" && (*cert == "" || *sipAddr == "") {
		return errors.New("--sip-tls needs --sip, --tls-cert and --tls-key")
	}
	if err := resource.CheckNumbering(*cc, *ac); err != nil {
		return fmt.Errorf("--country-code, --area-code: %w", err)
	}
	if *cdrDays < 0 {
		return errors.New("--cdr-retention is a number of days, 0 to keep records forever")
	}
	if *auditDays < 0 {
		return errors.New("--audit-retention is a number of days, 0 to keep the audit trail forever")
	}
	sipCfg := sipserver.Config{DigestAlgorithms: strings.Split(*sipDigest, ","), SourceRate: *sipSourceRate, SourceBurst: *sipSourceBurst}
	if *sipSourceRate == 0 {
		return errors.New("--sip-source-rate 0 would drop every request: give a rate, or a negative one for no throttle")
	}
	if *sipSourceBurst < 1 {
		return errors.New("--sip-source-burst must be at least 1 (to turn the throttle off, give a negative --sip-source-rate)")
	}
	var err error
	if sipCfg.Host, sipCfg.Port, err = advertised(*sipAdvertise); err != nil {
		return fmt.Errorf("--sip-advertise: %w", err)
	}
	if sipCfg.TLSHost, sipCfg.TLSPort, err = advertised(*sipTLSAdvertise); err != nil {
		return fmt.Errorf("--sip-tls-advertise: %w", err)
	}
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if *logFormat == "json" {
		h = slog.NewJSONHandler(stderr, nil)
	}
	log := slog.New(h)
	slog.SetDefault(log)

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	// Most of the heap is the long-lived routing view; collecting at half
	// of it rather than all of it keeps memory near the view's size for a
	// few per cent of CPU. GOGC, when set, decides instead.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	started := time.Now()
	store, err := openStore(ctx, *data, *dbURL)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()
	if *cdrDays > 0 {
		defer store.RetainCDRs(time.Duration(*cdrDays)*24*time.Hour, time.Hour, log)()
	}
	if *auditDays > 0 {
		defer store.RetainAudit(time.Duration(*auditDays)*24*time.Hour, time.Hour, log)()
	}
	password, fromEnv := os.LookupEnv("XC5_ADMIN_PASSWORD")
	if !fromEnv || password == "" {
		password = secret.Generate()
	}
	created, err := store.Bootstrap(ctx, password)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if created && !fromEnv {
		fmt.Fprintf(stderr, "xc5: created the system account admin with password %s\n", password)
		fmt.Fprintln(stderr, "xc5: this is shown only once; set XC5_ADMIN_PASSWORD on first start to choose it")
	}
	if err := prompts.Load(ctx, store); err != nil {
		return fmt.Errorf("system prompts: %w", err)
	}
	if err := startMail(ctx, mo, store, nodeName(), log); err != nil {
		return err
	}
	if err := startWebhooks(ctx, store, nodeName(), *hookPrivate, *hookBackoff, log); err != nil {
		return err
	}

	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return fmt.Errorf("--timezone: %w", err)
	}
	vms, err := e164List(*vmNumbers)
	if err != nil {
		return fmt.Errorf("--voicemail-number: %w", err)
	}
	view := routing.NewView(routing.Defaults{Location: loc, CountryCode: *cc, AreaCode: *ac, VoicemailNumbers: vms})
	view.Follow(store)
	// Other nodes' writes, when on PostgreSQL. The node leaves the feed
	// (and the read fence) only once it has stopped serving, after the
	// HTTP shutdown below: writes still being answered meanwhile wait for
	// the other nodes as usual.
	followCtx, leave := context.WithCancel(context.Background())
	defer leave()
	store.Follow(followCtx, *dbURL)
	// The view loads in the background so that the API answers at once;
	// decisions (call traces, calls) wait until it is loaded.
	view.Loading()
	go func() {
		started := time.Now()
		if err := view.Load(ctx, store); err != nil {
			log.Error("load routing view", "err", err)
			return
		}
		debug.FreeOSMemory() // return the loading garbage, not keep it as the GC goal
		accounts, numbers, rules := view.Size()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		log.Info("routing view loaded", "accounts", accounts, "numbers", numbers, "rules", rules,
			"took", time.Since(started), "heap_mib", ms.HeapAlloc>>20)
	}()
	skey, err := store.InstallationKey(ctx)
	if err != nil {
		return fmt.Errorf("installation key: %w", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	src := metrics.Sources{Store: store}
	if *sipAddr != "" {
		sipCfg.Addr, sipCfg.NonceKey = *sipAddr, derive(skey, "sip-nonce")
		// concurrent_limit across the nodes on a shared database.
		sipCfg.ShareCallCounts = *dbURL != ""
		host, _, err := net.SplitHostPort(*sipAddr)
		if err != nil {
			return fmt.Errorf("--sip: %w", err)
		}
		stopMedia, err := startMedia(ctx, mo, &sipCfg, host, store, log)
		if err != nil {
			return err
		}
		defer stopMedia()
		sip, err := sipserver.New(sipCfg, store, log)
		if err != nil {
			return fmt.Errorf("sip: %w", err)
		}
		if err := sip.Listen(); err != nil {
			return fmt.Errorf("sip: %w", err)
		}
		defer sip.Close()
		src.SIP, src.Legs = sip, mo.legs
		if sipCfg.Relay != nil {
			src.Relay = sipCfg.Relay.Stats
		}
		// Calls: decided by the same routing view as the call trace,
		// carried out by the SIP service as a B2BUA, recorded as CDRs.
		if err := sip.EnableCalls(view); err != nil {
			return fmt.Errorf("sip: %w", err)
		}
		go func() {
			if err := sip.Serve(ctx); err != nil {
				log.Error("sip service stopped", "err", err)
			}
		}()
		if *sipTLS != "" {
			pair, err := tls.LoadX509KeyPair(*cert, *key)
			if err != nil {
				return fmt.Errorf("sip-tls: %w", err)
			}
			go func() {
				if err := sip.ListenAndServeTLS(ctx, *sipTLS, &tls.Config{Certificates: []tls.Certificate{pair}}); err != nil {
					log.Error("sip tls service stopped", "err", err)
				}
			}()
		}
		log.Info("xc5 sip serving", "addr", sip.Addr())
	}
	met := metrics.New(src)
	probes := metrics.Health(metrics.Checks{Store: store.Ping, Loaded: metrics.ViewLoaded(view.Ready), Fresh: store.Fresh})
	// One failed-login limiter for the API and the portal: a password
	// guessed at one counts at the other (docs/portal.md).
	logins := loginLimiter(store, *dbURL)
	apiSrv := api.New(store, api.Options{Logger: log, SessionKey: derive(skey, "session"), View: view, Auth: authOptions(store, *dbURL, logins),
		ViewReads: true, Fresh: store.Fresh, Metrics: met.Handler(), Health: probes, Observe: met.Observe, WebhookPrivate: *hookPrivate})
	met.SetAPI(apiSrv)
	if *metricsAddr != "" {
		stop, err := serveMetrics(*metricsAddr, metrics.Mux(met, probes), log)
		if err != nil {
			return fmt.Errorf("--metrics: %w", err)
		}
		defer stop()
	}
	// The company portal: a company's own host, or /portal/{company}/ on
	// any host; everything else (and /api-sys/ everywhere) is the API's.
	portalSrv := portal.New(portal.Options{Store: store, View: view, SessionKey: derive(skey, "portal-session"),
		Limiter: logins, Insecure: *cert == "", Logger: log})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if portalSrv.Match(r) {
			portalSrv.ServeHTTP(w, r)
			return
		}
		apiSrv.ServeHTTP(w, r)
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(h, slog.LevelWarn),
	}
	scheme := "http"
	if *cert != "" {
		scheme = "https"
	}
	log.Info("xc5 serving", "url", scheme+"://"+ln.Addr().String()+api.Base, "data", *data, "startup", time.Since(started))
	errc := make(chan error, 1)
	go func() {
		if *cert != "" {
			errc <- srv.ServeTLS(ln, *cert, *key)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
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

// derive makes a key for one purpose from the installation's key, so that
// one secret in the data directory serves sessions and SIP nonces without
// the two uses sharing a key.
func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// storeFlags adds --db and --data to a client subcommand's flags and
// returns what opens the store they name; with no default data directory,
// one of the two must be given.
func storeFlags(fs *flag.FlagSet, defaultData string) func(context.Context) (*sqlstore.Store, error) {
	dbURL := fs.String("db", os.Getenv("XC5_DB"), "postgres://… URL (default $XC5_DB)")
	data := fs.String("data", defaultData, "SQLite data directory, when not using --db")
	return func(ctx context.Context) (*sqlstore.Store, error) {
		if *dbURL == "" && *data == "" {
			return nil, fmt.Errorf("%s needs --db postgres://… or --data DIR", fs.Name())
		}
		return openStore(ctx, *data, *dbURL)
	}
}

// openStore opens PostgreSQL when a URL is given, else the embedded SQLite
// database in the data directory.
func openStore(ctx context.Context, dir, dbURL string) (*sqlstore.Store, error) {
	if dbURL != "" {
		return sqlstore.OpenPostgres(ctx, dbURL)
	}
	return sqlstore.Open(dir)
}

// loginLimiter is the failed-login limiter the API and the portal share:
// counted through the database when several nodes may share it
// (PostgreSQL); one SQLite node counts in memory.
func loginLimiter(store *sqlstore.Store, dbURL string) *ratelimit.Limiter {
	if dbURL == "" {
		return ratelimit.New(ratelimit.Config{})
	}
	return ratelimit.New(ratelimit.Config{Shared: store})
}

// authOptions gives the API the shared limiter and, on PostgreSQL, trusts
// cached credentials only while the node hears of every write.
func authOptions(store *sqlstore.Store, dbURL string, logins *ratelimit.Limiter) api.AuthOptions {
	if dbURL == "" {
		return api.AuthOptions{Limiter: logins}
	}
	return api.AuthOptions{Limiter: logins, Fresh: store.Fresh}
}
