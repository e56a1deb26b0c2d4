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
	*embeddednats.Server
}

// Start starts a JetStream server that stops when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{tb: tb, StoreDir: tb.TempDir()}
	s.start("127.0.0.1:-1")
	return s
}

func (s *Server) start(listen string) {
	s.tb.Helper()
	srv, err := embeddednats.Start(embeddednats.Config{StoreDir: s.StoreDir, Listen: listen, NoSync: true})
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
