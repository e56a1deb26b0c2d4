package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/newsroom/newsroom/embeddednats"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
)

// Files in the data directory that other processes use to find a running serve.
const (
	lockFile    = "serve.lock" // held by serve (and by an offline replay) while it runs
	natsURLFile = "nats.url"   // the embedded NATS server's client URL
	httpURLFile = "http.url"   // the API's base URL
	// natsListenFile keeps the embedded NATS server's address (host:port) from one start to the
	// next, so that subscribers find the server where they found it before. It is a file of its
	// own, not nats.url, because nats.url files left by releases that chose a new port at every
	// start hold ports from the range outgoing connections use, which make poor addresses to keep.
	natsListenFile = "nats.listen"
)

// errDataDirBusy: another process holds the data directory.
var errDataDirBusy = errors.New("data directory in use")

// dataDirLock is an exclusive lock on a data directory: one serve (or offline replay) at a time,
// since the embedded NATS server's files cannot be shared.
type dataDirLock struct{ f *os.File }

// lockDataDir takes the data directory's lock without waiting; errDataDirBusy if it is held.
func lockDataDir(dir string) (*dataDirLock, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("data directory lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is used by another newsroom process (serve or replay)", errDataDirBusy, dir)
		}
		return nil, fmt.Errorf("data directory lock: %w", err)
	}
	return &dataDirLock{f: f}, nil
}

func (l *dataDirLock) release() {
	if l != nil && l.f != nil {
		l.f.Close() // closing releases the flock
		l.f = nil
	}
}

// readURLFile reads a URL that serve wrote into the data directory.
func readURLFile(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// views are every view newsroom maintains, in the order they are reported.
func views(db *sqldb.DB) (*projections.Published, *projections.Desk, *projections.History, []projections.View) {
	published, desk, history := projections.NewPublished(db), projections.NewDesk(db), projections.NewHistory(db)
	return published, desk, history, []projections.View{published, desk, history, projections.NewSearch(db), projections.NewMedia(db)}
}

// viewOf is the view of type V among all (its zero value if there is none).
func viewOf[V projections.View](all []projections.View) V {
	for _, v := range all {
		if found, ok := v.(V); ok {
			return found
		}
	}
	var none V
	return none
}

// natsListenAddress is where the embedded NATS server listens: the --nats-listen given (flag);
// without one, the address an earlier start recorded in the data directory; at the first start,
// 127.0.0.1 and a port embeddednats.PickPort chooses. recorded says the address came from the
// data directory.
func natsListenAddress(dataDir, flag string) (addr string, recorded bool, err error) {
	if flag != "" {
		return flag, false, nil
	}
	kept, err := readURLFile(dataDir, natsListenFile)
	switch {
	case err == nil && kept != "":
		return kept, true, nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return "", false, fmt.Errorf("read %s: %w", filepath.Join(dataDir, natsListenFile), err)
	}
	port, err := embeddednats.PickPort("127.0.0.1")
	if err != nil {
		return "", false, err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), false, nil
}
