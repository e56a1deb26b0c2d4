// Package natstest starts in-process nats-servers for tests, each on a free loopback port with
// its files in a temporary directory.
package natstest

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/embeddednats"
)

// Server is a test nats-server that can be stopped and started again on the same files.
type Server struct {
	tb       testing.TB
	StoreDir string
	cfg      embeddednats.Config
	*embeddednats.Server
}

// Start starts a JetStream server that stops when the test ends. It acknowledges before it
// fsyncs: tests need the speed, not the power-cut durability.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return StartWith(tb, embeddednats.Config{NoSync: true})
}

// StartWith starts a server with cfg (benchmarks that measure with serve's durability leave
// NoSync unset); an empty StoreDir is a temporary directory, an empty Listen a free loopback
// port.
func StartWith(tb testing.TB, cfg embeddednats.Config) *Server {
	tb.Helper()
	if cfg.StoreDir == "" {
		cfg.StoreDir = tb.TempDir()
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:-1"
	}
	s := &Server{tb: tb, StoreDir: cfg.StoreDir, cfg: cfg}
	s.start(cfg.Listen)
	return s
}

func (s *Server) start(listen string) {
	s.tb.Helper()
	cfg := s.cfg
	cfg.StoreDir, cfg.Listen = s.StoreDir, listen
	srv, err := embeddednats.Start(cfg)
	if err != nil {
		s.tb.Fatalf("start nats-server: %v", err)
	}
	s.Server = srv
	s.tb.Cleanup(srv.Stop)
}

// Restart stops the server and starts it again on the same files and port.
func (s *Server) Restart() {
	s.tb.Helper()
	addr := s.Addr().String()
	s.Stop()
	s.start(addr)
}

// Connect returns a client connection that closes when the test ends.
func (s *Server) Connect(tb testing.TB) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(-1))
	if err != nil {
		tb.Fatalf("connect to nats-server: %v", err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("jetstream: %v", err)
	}
	return nc, js
}
