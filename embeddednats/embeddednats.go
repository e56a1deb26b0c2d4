// Package embeddednats runs the nats-server that `newsroom serve` embeds when no external NATS
// is given: JetStream with its files under the data directory, on a loopback address.
package embeddednats

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config says where the embedded server keeps its files and where it listens.
type Config struct {
	// StoreDir holds JetStream's files.
	StoreDir string
	// Listen is host:port for clients; port 0 or -1 picks a free one. Default 127.0.0.1:-1:
	// never assume 4222 is free. A port that is taken is an error at once (wrapping
	// syscall.EADDRINUSE), not a server that never gets ready.
	Listen string
	// NoSync relaxes durability: without it the server fsyncs every write before acknowledging
	// it, so an accepted command survives a power cut. With it, an acknowledged write may sit in
	// the page cache for up to two minutes and is lost if the machine (not the process) dies.
	NoSync bool
	// Logger receives the server's log lines (SlogLogger hands them to a slog.Logger); nil
	// keeps it quiet.
	Logger server.Logger
}

// Server is a running embedded nats-server.
type Server struct {
	*server.Server
	log *slogLogger // nil unless Config.Logger is a SlogLogger
}

// Start starts the server and waits until it accepts clients.
func Start(cfg Config) (*Server, error) {
	host, port, err := splitListen(cfg.Listen)
	if err != nil {
		return nil, err
	}
	if port != server.RANDOM_PORT {
		// nats-server only logs a port it cannot listen on, and never gets ready: ask first.
		// (Another process could take the port between the two; then Start fails, slowly.)
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("embedded nats: listen on %s: %w", net.JoinHostPort(host, strconv.Itoa(port)), err)
		}
		l.Close()
	}
	if err := os.MkdirAll(cfg.StoreDir, 0o750); err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	storeDir, err := filepath.Abs(cfg.StoreDir)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	opts := &server.Options{
		ServerName:            "newsroom-embedded",
		Host:                  host,
		Port:                  port,
		JetStream:             true,
		StoreDir:              storeDir,
		SyncAlways:            !cfg.NoSync,
		NoSigs:                true, // the newsroom process owns signals
		DisableShortFirstPing: true,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	log, _ := cfg.Logger.(*slogLogger)
	if log != nil {
		log.quiet.Store(true) // the banner and the recovery of the files
		defer log.quiet.Store(false)
	}
	if cfg.Logger != nil {
		srv.SetLoggerV2(cfg.Logger, log != nil && log.debug(), false, false)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats: not ready to accept clients on %s after 30s", cfg.Listen)
	}
	return &Server{Server: srv, log: log}, nil
}

// Stop shuts the server down and waits until it has released its files.
func (s *Server) Stop() {
	if s.log != nil {
		s.log.quiet.Store(true)
	}
	s.Shutdown()
	s.WaitForShutdown()
}

func splitListen(listen string) (string, int, error) {
	if listen == "" {
		return "127.0.0.1", server.RANDOM_PORT, nil
	}
	host, portText, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("embedded nats: listen address %q: want host:port, e.g. 127.0.0.1:4333 (port 0 picks a free one)", listen)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < -1 || port > 65535 {
		return "", 0, fmt.Errorf("embedded nats: listen address %q: port must be a number from 0 to 65535", listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return host, port, nil
}

// Ports PickPort chooses from: below 32768, where Linux (32768–60999), macOS and Windows (49152
// and up) begin to take the local ports of outgoing connections, so that while the server is
// stopped no outgoing connection of this machine is likely to hold its port; and above the
// ports services are usually configured on.
const (
	pickFrom  = 20000
	pickUntil = 32768
)

// PickPort returns a port in 20000–32767 that host can listen on now, chosen at random: a port
// to keep for good (newsroom records it in the data directory at the first start, so that
// subscribers find the server at the same address after every restart). It is never 4222,
// which nats-servers listen on by default.
func PickPort(host string) (int, error) {
	var last error
	for range 100 {
		port := pickFrom + rand.IntN(pickUntil-pickFrom)
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			last = err
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("embedded nats: no free port in %d-%d on %s after 100 tries: %w", pickFrom, pickUntil-1, host, last)
}
