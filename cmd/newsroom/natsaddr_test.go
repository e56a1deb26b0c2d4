package main

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// publicLines collects the JSON lines `newsroom tail` prints, as a subscriber's script would.
type publicLines struct {
	mu       sync.Mutex
	articles []string // the "article" of each line, in order
}

func (l *publicLines) has(article string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(strings.Join(l.articles, " "), article)
}

// TestNatsAddressKeptAcrossRestarts: serve with no --nats-listen keeps its NATS address across
// restarts of one data directory, so a subscriber (nats.go, reconnecting as it does by
// default) and `newsroom tail` started before a restart get what is published after it; and a
// kept address that another process took stops serve at once, naming --nats-listen.
func TestNatsAddressKeptAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	reporter := createToken(t, dir, "rita", "reporter")
	editor := createToken(t, dir, "ed", "editor")
	serve := startServeProcess(t, dir, 0, nil, "--data-dir", dir, "--nats-no-sync")
	natsURL, err := readURLFile(dir, natsURLFile)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := readURLFile(dir, natsListenFile)
	if err != nil {
		t.Fatal(err)
	}
	_, portText, _ := net.SplitHostPort(kept)
	if port, _ := strconv.Atoi(portText); port < 20000 || port >= 32768 || natsURL != "nats://"+kept {
		t.Errorf("nats.listen %q, nats.url %q; want 127.0.0.1 and a port in 20000-32767, the same in both", kept, natsURL)
	}

	// A plain NATS subscriber of the public subjects, with nats.go's default reconnects.
	nc, err := nats.Connect(natsURL, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var subMu sync.Mutex
	var subjects []string
	if _, err := nc.Subscribe("newsroom.public.>", func(m *nats.Msg) {
		subMu.Lock()
		defer subMu.Unlock()
		subjects = append(subjects, m.Subject)
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	subscribed := func(article string) bool {
		subMu.Lock()
		defer subMu.Unlock()
		return strings.Contains(strings.Join(subjects, " "), "newsroom.public.article.published."+article)
	}

	// newsroom tail, a process of its own, finding the server through <data-dir>/nats.url.
	tail := exec.Command(os.Args[0], "tail", "--data-dir", dir)
	tail.Env = append(os.Environ(), testMainEnv+"=1")
	tailErr := &lockedBuffer{}
	tail.Stderr = tailErr
	stdout, err := tail.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	tailDone := make(chan error, 1)
	lines := &publicLines{}
	go func() {
		scanner := bufio.NewScanner(stdout)
		scanner.Buffer(nil, 1<<20)
		for scanner.Scan() {
			var line struct {
				Article string `json:"article"`
			}
			if err := json.Unmarshal(scanner.Bytes(), &line); err != nil {
				t.Errorf("tail printed %q: %v", scanner.Text(), err)
				continue
			}
			lines.mu.Lock()
			lines.articles = append(lines.articles, line.Article)
			lines.mu.Unlock()
		}
		tailDone <- tail.Wait()
	}()
	defer func() {
		_ = tail.Process.Signal(os.Interrupt)
		if err := <-tailDone; err != nil {
			t.Errorf("tail ended with %v after SIGINT\n%s", err, tailErr)
		}
	}()

	before, _ := publishedArticle(t, serve.base, reporter, editor, map[string]any{"headline": "Before the restart", "body": "Text."})
	eventually(t, "the subscriber to get the publication before the restart", func() bool { return subscribed(before) })
	eventually(t, "tail to print the publication before the restart", func() bool { return lines.has(before) })

	serve.stop(t)
	serve = startServeProcess(t, dir, 0, nil, "--data-dir", dir, "--nats-no-sync")
	if again, _ := readURLFile(dir, natsURLFile); again != natsURL {
		t.Errorf("nats.url after a restart = %q; want %q, as before", again, natsURL)
	}
	// A plain subscriber hears only what is published while it is connected: wait until it is
	// back (a JetStream consumer, as tail uses, would catch up on its own).
	eventually(t, "the subscriber to reconnect", func() bool { return nc.IsConnected() && nc.Flush() == nil })
	after, _ := publishedArticle(t, serve.base, reporter, editor, map[string]any{"headline": "After the restart", "body": "Text."})
	eventually(t, "the subscriber to get the publication after the restart", func() bool { return subscribed(after) })
	eventually(t, "tail to print the publication after the restart", func() bool { return lines.has(after) })
	select {
	case err := <-tailDone:
		t.Fatalf("tail ended: %v\n%s", err, tailErr)
	default:
	}

	// Another process takes the kept address while serve is stopped: serve refuses to start,
	// saying how to choose another address, rather than moving where subscribers cannot find it.
	serve.stop(t)
	taken, err := net.Listen("tcp", kept)
	if err != nil {
		t.Fatalf("take %s: %v", kept, err)
	}
	defer taken.Close()
	refused := launchServeProcess(t, dir, 0, nil, "--data-dir", dir, "--nats-no-sync")
	if code := refused.exitCode(t); code != 2 || !strings.Contains(refused.stderr.String(), "--nats-listen") ||
		!strings.Contains(refused.stderr.String(), kept) {
		t.Errorf("serve on a data directory whose NATS address is taken: exit %d\n%s\nwant exit 2 and a message naming %s and --nats-listen", code, refused.stderr, kept)
	}
	if again, _ := readURLFile(dir, natsListenFile); again != kept {
		t.Errorf("nats.listen after a refused start = %q; want %q, unchanged", again, kept)
	}
}
