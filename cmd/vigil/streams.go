package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vigilhq/vigil/stream"
)

// streamFlags configure the log streams of vigil serve.
type streamFlags struct {
	syslog, syslogCA, syslogCert, syslogKey string
	https, httpsFormat, httpsTokenFile      string
	httpsCA, hostname                       string
	backoffMax                              time.Duration
}

func registerStreamFlags(fs *flag.FlagSet) *streamFlags {
	s := &streamFlags{}
	fs.StringVar(&s.syslog, "stream-syslog", "", "stream every event to a syslog server: tls://HOST:PORT (RFC 5424 over TLS, RFC 5425)")
	fs.StringVar(&s.syslogCA, "stream-syslog-ca", "", "PEM file of the CAs the syslog server's certificate must chain to (default: the system's)")
	fs.StringVar(&s.syslogCert, "stream-syslog-cert", "", "client certificate (PEM) presented to the syslog server, with --stream-syslog-key (IHE ATNA's mutual authentication)")
	fs.StringVar(&s.syslogKey, "stream-syslog-key", "", "the client certificate's private key (PEM)")
	fs.StringVar(&s.https, "stream-https", "", "stream every event to an HTTPS endpoint as NDJSON (a webhook, or Splunk HEC's /services/collector/event)")
	fs.StringVar(&s.httpsFormat, "stream-https-format", stream.FormatNDJSON, "ndjson (plain NDJSON lines) or hec (Splunk HTTP Event Collector)")
	fs.StringVar(&s.httpsTokenFile, "stream-https-token-file", "", "file holding the token sent to the HTTPS endpoint (Bearer, or Splunk for hec); VIGIL_STREAM_HTTPS_TOKEN also serves")
	fs.StringVar(&s.httpsCA, "stream-https-ca", "", "PEM file of the CAs the HTTPS endpoint's certificate must chain to (default: the system's)")
	fs.StringVar(&s.hostname, "stream-hostname", "", "the host name streamed events carry (syslog HOSTNAME, HEC host; default: this machine's)")
	fs.DurationVar(&s.backoffMax, "stream-backoff-max", 30*time.Second, "longest wait between two tries after a failed delivery")
	return s
}

// streams is the running followers.
type streams struct {
	followers []*stream.Follower
	wg        sync.WaitGroup
}

// committed wakes every follower after a commit; it never blocks.
func (s *streams) committed() {
	for _, f := range s.followers {
		f.Wake()
	}
}

func (s *streams) wait() { s.wg.Wait() }

// startStreams builds the configured destinations, registers their
// metrics and runs them until ctx ends.
func startStreams(ctx context.Context, env *Env, f *streamFlags, d *dataDir, reg *prometheus.Registry, logger *slog.Logger) (*streams, error) {
	host := f.hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	var senders []stream.Sender
	if f.syslog != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		roots, err := readCAs(f.syslogCA)
		if err != nil {
			return nil, fmt.Errorf("--stream-syslog-ca: %w", err)
		}
		cfg.RootCAs = roots
		if (f.syslogCert == "") != (f.syslogKey == "") {
			return nil, errors.New("--stream-syslog-cert and --stream-syslog-key go together")
		}
		if f.syslogCert != "" {
			cert, err := tls.LoadX509KeyPair(f.syslogCert, f.syslogKey)
			if err != nil {
				return nil, fmt.Errorf("--stream-syslog-cert: %w", err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		s, err := stream.NewSyslog(f.syslog, cfg, host)
		if err != nil {
			return nil, fmt.Errorf("--stream-syslog: %w", err)
		}
		senders = append(senders, s)
	}
	if f.https != "" {
		token := env.Getenv("VIGIL_STREAM_HTTPS_TOKEN")
		if f.httpsTokenFile != "" {
			b, err := os.ReadFile(f.httpsTokenFile)
			if err != nil {
				return nil, fmt.Errorf("--stream-https-token-file: %w", err)
			}
			token = strings.TrimSpace(string(b))
		}
		roots, err := readCAs(f.httpsCA)
		if err != nil {
			return nil, fmt.Errorf("--stream-https-ca: %w", err)
		}
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 2}}
		h, err := stream.NewHTTPS(f.https, f.httpsFormat, token, host, client)
		if err != nil {
			return nil, fmt.Errorf("--stream-https: %w", err)
		}
		senders = append(senders, h)
	}
	s := &streams{}
	for _, sender := range senders {
		fl := stream.New(stream.Config{Log: d.db, Cursors: d.db, Sender: sender, BackoffMax: f.backoffMax, Logger: logger})
		labels := prometheus.Labels{"stream": fl.Name()}
		for _, c := range []prometheus.Collector{
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_stream_lag_events", ConstLabels: labels,
				Help: "Events of the log not yet delivered to the stream's destination; -1 until the stream has first compared its cursor with the log."}, func() float64 { return float64(fl.Lag()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigil_stream_sent_events_total", ConstLabels: labels,
				Help: "Events delivered to the stream's destination (those sent again after a failure included)."}, func() float64 { return float64(fl.Sent()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigil_stream_failures_total", ConstLabels: labels,
				Help: "Failed deliveries to the stream's destination, each retried."}, func() float64 { return float64(fl.Failures()) }),
		} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
		s.followers = append(s.followers, fl)
		s.wg.Add(1)
		go func() { defer s.wg.Done(); fl.Run(ctx) }()
		logger.Info("streaming events", "stream", fl.Name())
	}
	return s, nil
}
