package metrics

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"xc5/internal/stat"
)

// scrapeQuery bounds the store's counting queries at a scrape.
const scrapeQuery = 2 * time.Second

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	sipRequests     = desc("xc5_sip_requests_total", "SIP requests received (not dropped by the throttle), by method.", "method")
	sipResponses    = desc("xc5_sip_responses_total", "SIP responses sent, by request method and status code.", "method", "code")
	sipCalls        = desc("xc5_sip_calls_in_progress", "Calls in progress on this node, ringing or answered.")
	sipStarted      = desc("xc5_sip_calls_started_total", "INVITEs that became calls.")
	sipAnswered     = desc("xc5_sip_calls_answered_total", "Calls answered (by a phone, a carrier or a media app).")
	sipThrottled    = desc("xc5_sip_throttled_total", "SIP requests dropped by the per-source throttle.")
	sipRefused      = desc("xc5_sip_overload_refused_total", "SIP requests answered 503 because this node was overloaded, by method (INVITE, REGISTER).", "method")
	sipStale        = desc("xc5_sip_overload_dropped_total", "SIP requests that start work (REGISTER, OPTIONS, a new INVITE) dropped unread because they had waited MaxQueueWait, or found the REGISTER queue full; their senders retransmit.")
	authFailures    = desc("xc5_auth_failures_total", "Failed password checks, by service (api or sip).", "service")
	authRefused     = desc("xc5_auth_rate_limited_total", "Authentication attempts refused by the rate limiter without a check, by service.", "service")
	bindings        = desc("xc5_sip_bindings", "Registered contacts of phones (all nodes).")
	mediaLegs       = desc("xc5_media_legs", "Calls the in-process media node is answering.")
	relaySessions   = desc("xc5_relay_sessions", "RTP relay sessions open.")
	relayPackets    = desc("xc5_relay_packets_total", "RTP and RTCP packets relayed.")
	relayBytes      = desc("xc5_relay_bytes_total", "UDP payload bytes relayed.")
	relayDropped    = desc("xc5_relay_dropped_total", "RTP and RTCP packets not relayed.")
	commitSeconds   = desc("xc5_store_commit_seconds", "Time from a group-commit batch's BEGIN to its durable COMMIT.")
	commitBatch     = desc("xc5_store_commit_batch_size", "Writes per committed group-commit batch.")
	feedLag         = desc("xc5_store_feed_lag_seconds", "How long this node's last marker took to come back through the PostgreSQL change feed.")
	mailQueued      = desc("xc5_mail_outbox_queued", "Mails in the outbox waiting to be sent (all nodes).")
	eventsQueued    = desc("xc5_webhook_outbox_queued", "Webhook deliveries in the outbox waiting to be made (all nodes).")
	storeScrapeErrs = desc("xc5_store_scrape_errors", "1 when this scrape's counting queries failed (the store is unreachable).")
)

var allDescs = []*prometheus.Desc{sipRequests, sipResponses, sipCalls, sipStarted, sipAnswered, sipThrottled, sipRefused, sipStale,
	authFailures, authRefused, bindings, mediaLegs, relaySessions, relayPackets, relayBytes, relayDropped,
	commitSeconds, commitBatch, feedLag, mailQueued, eventsQueued, storeScrapeErrs}

// collector reads the sources at each scrape.
type collector struct {
	src Sources
	api *atomic.Pointer[AuthStatser]
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if a := c.api.Load(); a != nil {
		st := (*a).AuthStats()
		counter(authFailures, float64(st.Failed), "api")
		counter(authRefused, float64(st.Refused), "api")
	}
	if s := c.src.SIP; s != nil {
		c.collectSIP(s, counter, gauge)
	}
	if c.src.Legs != nil {
		gauge(mediaLegs, float64(c.src.Legs()))
	}
	if c.src.Relay != nil {
		st := c.src.Relay()
		gauge(relaySessions, float64(st.Sessions))
		counter(relayPackets, float64(st.Packets))
		counter(relayBytes, float64(st.Bytes))
		counter(relayDropped, float64(st.Dropped))
	}
	if c.src.Store != nil {
		c.collectStore(ch, gauge)
	}
}

type emit func(d *prometheus.Desc, v float64, labels ...string)

func (c *collector) collectSIP(s SIP, counter, gauge emit) {
	st := s.Stats()
	for m, n := range st.Requests {
		counter(sipRequests, float64(n), m)
	}
	for m, codes := range st.Responses {
		for code, n := range codes {
			counter(sipResponses, float64(n), m, strconv.Itoa(code))
		}
	}
	gauge(sipCalls, float64(s.Calls()))
	counter(sipStarted, float64(st.CallsStarted))
	counter(sipAnswered, float64(st.CallsAnswered))
	counter(sipThrottled, float64(s.Throttled()))
	counter(sipRefused, float64(s.Shed()), "INVITE")
	counter(sipRefused, float64(s.ShedRegisters()), "REGISTER")
	counter(sipStale, float64(s.StaleDropped()))
	a := s.AuthStats()
	counter(authFailures, float64(a.Failed), "sip")
	counter(authRefused, float64(a.Refused), "sip")
}

func (c *collector) collectStore(ch chan<- prometheus.Metric, gauge emit) {
	s := c.src.Store
	secs, batch := s.CommitStats()
	ch <- histogram(commitSeconds, secs)
	ch <- histogram(commitBatch, batch)
	gauge(feedLag, s.FeedLag().Seconds())
	ctx, cancel := context.WithTimeout(context.Background(), scrapeQuery)
	defer cancel()
	failed := 0.0
	if n, err := s.QueuedMail(ctx); err == nil {
		gauge(mailQueued, float64(n))
	} else {
		failed = 1
	}
	if n, err := s.QueuedEvents(ctx); err == nil {
		gauge(eventsQueued, float64(n))
	} else {
		failed = 1
	}
	if n, err := s.Bindings(ctx); err == nil {
		gauge(bindings, float64(n))
	} else {
		failed = 1
	}
	gauge(storeScrapeErrs, failed)
}

func histogram(d *prometheus.Desc, s stat.Snapshot) prometheus.Metric {
	return prometheus.MustNewConstHistogram(d, s.Count, s.Sum, s.Buckets)
}
