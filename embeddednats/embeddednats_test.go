package embeddednats_test

import (
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"

	"github.com/newsroom/newsroom/embeddednats"
)

// TestNatsPickPort: a picked port is free, never 4222, and below the ranges where systems take
// the local ports of outgoing connections.
func TestNatsPickPort(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		port, err := embeddednats.PickPort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if port < 20000 || port >= 32768 || port == 4222 {
			t.Errorf("PickPort = %d; want 20000-32767", port)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Errorf("PickPort = %d, which cannot be listened on: %v", port, err)
			continue
		}
		l.Close()
		seen[port] = true
	}
	if len(seen) < 2 {
		t.Errorf("20 picks gave %d distinct ports; want them chosen at random", len(seen))
	}
}

// TestNatsStartOnATakenPort: a port another process holds is an error that says so (wrapping
// EADDRINUSE), not a server that never gets ready.
func TestNatsStartOnATakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	srv, err := embeddednats.Start(embeddednats.Config{StoreDir: t.TempDir(), Listen: taken.Addr().String(), NoSync: true})
	if err == nil {
		srv.Stop()
		t.Fatalf("Start on %s, which is taken: no error", taken.Addr())
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("Start on %s, which is taken: %v; want an error wrapping EADDRINUSE", taken.Addr(), err)
	}

	// The same address, once free, serves.
	addr := taken.Addr().String()
	taken.Close()
	srv, err = embeddednats.Start(embeddednats.Config{StoreDir: t.TempDir(), Listen: addr, NoSync: true})
	if err != nil {
		t.Fatalf("Start on %s once it is free: %v", addr, err)
	}
	defer srv.Stop()
	if got := srv.Addr().String(); got != addr {
		t.Errorf("listening on %s; want %s", got, addr)
	}
}
