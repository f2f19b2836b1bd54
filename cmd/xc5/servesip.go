package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"

	"xc5/metrics"
	"xc5/routing"
	"xc5/sipserver"
	"xc5/sqlstore"
)

// startSIP starts the SIP service on --sip (and --sip-tls) with its RTP
// relay and media nodes. Calls are decided by the same routing view as the
// call trace, carried out by the SIP service as a B2BUA, recorded as CDRs.
// It adds the service to src, for the metrics.
func startSIP(ctx context.Context, cfg *serveConfig, store *sqlstore.Store, view *routing.View, skey []byte, src *metrics.Sources, log *slog.Logger, st *stops) error {
	sipCfg := cfg.sip
	sipCfg.Addr, sipCfg.NonceKey = cfg.sipAddr, derive(skey, "sip-nonce")
	// concurrent_limit across the nodes on a shared database.
	sipCfg.ShareCallCounts = cfg.dbURL != ""
	host, _, err := net.SplitHostPort(cfg.sipAddr)
	if err != nil {
		return fmt.Errorf("--sip: %w", err)
	}
	stopMedia, err := startMedia(ctx, &cfg.media, &sipCfg, host, store, log)
	if err != nil {
		return err
	}
	st.add(stopMedia)
	sip, err := sipserver.New(sipCfg, store, log)
	if err != nil {
		return fmt.Errorf("sip: %w", err)
	}
	if err := sip.Listen(); err != nil {
		return fmt.Errorf("sip: %w", err)
	}
	st.add(func() { sip.Close() })
	src.SIP, src.Legs = sip, cfg.media.legs
	if sipCfg.Relay != nil {
		src.Relay = sipCfg.Relay.Stats
	}
	if err := sip.EnableCalls(view); err != nil {
		return fmt.Errorf("sip: %w", err)
	}
	go func() {
		if err := sip.Serve(ctx); err != nil {
			log.Error("sip service stopped", "err", err)
		}
	}()
	if cfg.sipTLS != "" {
		if err := serveSIPTLS(ctx, sip, cfg, log); err != nil {
			return err
		}
	}
	log.Info("xc5 sip serving", "addr", sip.Addr())
	return nil
}

// serveSIPTLS serves SIP over TLS on --sip-tls with the HTTP server's
// certificate.
func serveSIPTLS(ctx context.Context, sip *sipserver.Server, cfg *serveConfig, log *slog.Logger) error {
	pair, err := tls.LoadX509KeyPair(cfg.cert, cfg.key)
	if err != nil {
		return fmt.Errorf("sip-tls: %w", err)
	}
	go func() {
		if err := sip.ListenAndServeTLS(ctx, cfg.sipTLS, &tls.Config{Certificates: []tls.Certificate{pair}}); err != nil {
			log.Error("sip tls service stopped", "err", err)
		}
	}()
	return nil
}
