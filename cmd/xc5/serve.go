package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
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
	"time"

	"xc5/api"
	"xc5/media/prompts"
	"xc5/metrics"
	"xc5/routing"
	"xc5/secret"
	"xc5/sqlstore"
)

// serve runs xc5 serve: the API, the company portal and the SIP service
// (with its media node and mail) over one store until ctx ends. Each step
// wires one adapter once; what a step starts it adds to st, which ends it
// when serve returns.
func serve(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg.logFormat, stderr)
	var st stops
	defer st.run()
	if err := startProfile(cfg.cpuProfile, &st); err != nil {
		return err
	}
	keepHeapNearView()
	started := time.Now()
	store, err := openServeStore(ctx, cfg, stderr, log, &st)
	if err != nil {
		return err
	}
	// Before the senders start: what a killed earlier run had claimed
	// (SQLite) is sent now rather than after its lease.
	if err := store.ReleaseOrphanClaims(ctx); err != nil {
		return err
	}
	if err := startMail(ctx, &cfg.media, store, nodeName(), log); err != nil {
		return err
	}
	if err := startWebhooks(ctx, store, nodeName(), cfg.hookPrivate, cfg.hookBackoff, log); err != nil {
		return err
	}
	view, err := startView(ctx, cfg, store, log, &st)
	if err != nil {
		return err
	}
	skey, err := store.InstallationKey(ctx)
	if err != nil {
		return fmt.Errorf("installation key: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	// Closed again by the HTTP server's shutdown; this is for a step below
	// that fails before it serves, which would leave the port taken.
	st.add(func() { ln.Close() })
	src := metrics.Sources{Store: store}
	if cfg.sipAddr != "" {
		if err := startSIP(ctx, cfg, store, view, skey, &src, log, &st); err != nil {
			return err
		}
	}
	handler, err := newWeb(cfg, store, view, skey, src, log, &st)
	if err != nil {
		return err
	}
	return serveHTTP(ctx, cfg, ln, handler, log, started)
}

// stops is what serve started and must end, in the order started; run
// ends them last first, as deferred calls would.
type stops []func()

func (s *stops) add(stop func()) { *s = append(*s, stop) }

func (s *stops) run() {
	for i := len(*s) - 1; i >= 0; i-- {
		(*s)[i]()
	}
}

// newLogger makes the structured log on stderr (--log-format) the
// default one.
func newLogger(format string, stderr io.Writer) *slog.Logger {
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if format == "json" {
		h = slog.NewJSONHandler(stderr, nil)
	}
	log := slog.New(h)
	slog.SetDefault(log)
	return log
}

// startProfile writes a CPU profile to file (--cpuprofile, for load
// tests) until serve returns.
func startProfile(file string, st *stops) error {
	if file == "" {
		return nil
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	pprof.StartCPUProfile(f)
	st.add(func() { pprof.StopCPUProfile(); f.Close() })
	return nil
}

// keepHeapNearView: most of the heap is the long-lived routing view;
// collecting at half of it rather than all of it keeps memory near the
// view's size for a few per cent of CPU. GOGC, when set, decides instead.
func keepHeapNearView() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
}

// openServeStore opens the store, starts its retention sweeps, and makes
// sure the system account and the system prompts are there.
func openServeStore(ctx context.Context, cfg *serveConfig, stderr io.Writer, log *slog.Logger, st *stops) (*sqlstore.Store, error) {
	store, err := openStore(ctx, cfg.data, cfg.dbURL)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	st.add(func() { store.Close() })
	store.SetLazyRefreshes(cfg.sipUnsynced)
	if cfg.cdrDays > 0 {
		st.add(store.RetainCDRs(time.Duration(cfg.cdrDays)*24*time.Hour, time.Hour, log))
	}
	if cfg.auditDays > 0 {
		st.add(store.RetainAudit(time.Duration(cfg.auditDays)*24*time.Hour, time.Hour, log))
	}
	if err := bootstrapAdmin(ctx, store, stderr); err != nil {
		return nil, err
	}
	if err := prompts.Load(ctx, store); err != nil {
		return nil, fmt.Errorf("system prompts: %w", err)
	}
	return store, nil
}

// bootstrapAdmin creates the system account admin on first start, with
// $XC5_ADMIN_PASSWORD or a generated password shown once on stderr.
func bootstrapAdmin(ctx context.Context, store *sqlstore.Store, stderr io.Writer) error {
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
	return nil
}

// startView makes the routing view that decides call traces and calls,
// follows the store's changes into it and loads it in the background.
func startView(ctx context.Context, cfg *serveConfig, store *sqlstore.Store, log *slog.Logger, st *stops) (*routing.View, error) {
	loc, err := time.LoadLocation(cfg.tz)
	if err != nil {
		return nil, fmt.Errorf("--timezone: %w", err)
	}
	vms, err := e164List(cfg.vmNumbers)
	if err != nil {
		return nil, fmt.Errorf("--voicemail-number: %w", err)
	}
	view := routing.NewView(routing.Defaults{Location: loc, CountryCode: cfg.cc, AreaCode: cfg.ac, VoicemailNumbers: vms})
	view.Follow(store)
	// Other nodes' writes, when on PostgreSQL. The node leaves the feed
	// (and the read fence) only once it has stopped serving, after the
	// HTTP shutdown: writes still being answered meanwhile wait for the
	// other nodes as usual.
	followCtx, leave := context.WithCancel(context.Background())
	st.add(leave)
	store.Follow(followCtx, cfg.dbURL)
	// The view loads in the background so that the API answers at once;
	// decisions (call traces, calls) wait until it is loaded.
	view.Loading()
	go loadView(ctx, view, store, log)
	return view, nil
}

// loadView loads the routing view, then gives the loading garbage back
// to the system and logs the view's size.
func loadView(ctx context.Context, view *routing.View, store *sqlstore.Store, log *slog.Logger) {
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
}

// serveHTTP serves handler on ln (HTTPS with --tls-cert) until ctx ends,
// then shuts the server down, letting requests in flight finish.
func serveHTTP(ctx context.Context, cfg *serveConfig, ln net.Listener, handler http.Handler, log *slog.Logger, started time.Time) error {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if cfg.cert != "" {
		scheme = "https"
	}
	log.Info("xc5 serving", "url", scheme+"://"+ln.Addr().String()+api.Base, "data", cfg.data, "startup", time.Since(started))
	errc := make(chan error, 1)
	go func() {
		if cfg.cert != "" {
			errc <- srv.ServeTLS(ln, cfg.cert, cfg.key)
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
