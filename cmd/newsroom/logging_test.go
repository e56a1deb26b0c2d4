package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// logBuffer collects what a slog handler writes, for tests; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records parses the JSON lines written so far.
func (b *logBuffer) records(tb testing.TB) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			tb.Fatalf("log line is not a JSON record: %v\n%s", err, line)
		}
		out = append(out, rec)
	}
	return out
}

// watermillMessages are lines Watermill's router writes at INFO of its own accord.
var watermillMessages = map[string]bool{"Adding handler": true, "Running router handlers": true, "Starting handler": true,
	"Subscriber stopped": true, "Closing router": true, "Router closed": true, "Waiting for messages": true,
	"All messages processed": true}

// fromLibrary reports whether a record comes from inside a library rather than from newsroom.
func fromLibrary(rec map[string]any) bool {
	msg, _ := rec["msg"].(string)
	return rec["from"] == "watermill" || rec["from"] == "nats-server" || watermillMessages[msg]
}

// serveUntilServing runs `newsroom serve` with args on dir until it says it serves, stops it as
// SIGINT would, and returns what it logged.
func serveUntilServing(t *testing.T, dir string, args ...string) *logBuffer {
	t.Helper()
	logs := &logBuffer{}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() {
		served <- run(ctx, append([]string{"serve", "--http", "127.0.0.1:0", "--data-dir", dir, "--log-format", "json"}, args...), io.Discard, logs)
	}()
	waitUntilOrServed := func() bool {
		select {
		case err := <-served:
			t.Fatalf("serve ended before serving: %v\n%s", err, logs)
		default:
		}
		return strings.Contains(logs.String(), `"newsroom serving"`)
	}
	eventually(t, "serve to say it serves", waitUntilOrServed)
	stop()
	if err := <-served; err != nil {
		t.Fatalf("serve: %v\n%s", err, logs)
	}
	return logs
}

// TestServeLogsAFewLinesAtStart: at INFO, a start says what listens where, which database and
// which NATS in a few lines, nothing from Watermill's or nats-server's insides; at DEBUG those
// are there.
func TestServeLogsAFewLinesAtStart(t *testing.T) {
	dir := t.TempDir()
	for _, start := range []string{"first", "second"} {
		recs := serveUntilServing(t, dir, "--log-level", "info").records(t)
		var started []map[string]any // up to "newsroom serving"
		for _, rec := range recs {
			started = append(started, rec)
			if rec["msg"] == "newsroom serving" {
				break
			}
		}
		if len(started) > 10 {
			t.Errorf("%s start: %d lines at INFO before serving; want at most 10", start, len(started))
		}
		var said []string
		for _, rec := range recs {
			said = append(said, rec["msg"].(string))
			if fromLibrary(rec) {
				t.Errorf("%s start: a library's own line at INFO: %v", start, rec)
			}
		}
		whole := strings.Join(said, "\n")
		for _, want := range []string{"NATS: embedded server", "SQL database open", "newsroom serving"} {
			if !strings.Contains(whole, want) {
				t.Errorf("%s start: no %q line; the lines:\n%s", start, want, whole)
			}
		}
		if t.Failed() {
			t.Logf("%s start logged:\n%s", start, whole)
		}
	}

	debug := serveUntilServing(t, dir, "--log-level", "debug").records(t)
	var watermill, natsServer int
	for _, rec := range debug {
		switch {
		case rec["from"] == "watermill" && rec["level"] == "DEBUG":
			watermill++
		case rec["from"] == "nats-server" && rec["level"] == "DEBUG":
			natsServer++
		}
	}
	if watermill == 0 || natsServer == 0 {
		t.Errorf("at DEBUG: %d lines of Watermill's and %d of nats-server's; want both there", watermill, natsServer)
	}
}

// TestEventStreamFailureIsAWarning: a public event stream that fails (here, a message on the
// public stream that is not JSON cannot be framed) ends for its reader, and the failure is a
// WARN record on the logger the server was given.
func TestEventStreamFailureIsAWarning(t *testing.T) {
	logs := &logBuffer{}
	cfg := config{HTTP: "127.0.0.1:0", DataDir: t.TempDir(), NATSListen: "127.0.0.1:0", NoSync: true}
	a, err := startApp(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	ta := &testApp{app: a, dataDir: cfg.DataDir, base: "http://" + a.httpAddr}
	t.Cleanup(ta.Close)

	stream := openSSE(t, ta.base, "")
	defer stream.Close()
	nc, err := nats.Connect(ta.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	article := uuid.NewString()
	msg := nats.NewMsg("newsroom.public.article.published." + article)
	msg.Header.Set("ce-id", uuid.NewString())
	msg.Header.Set("ce-type", "org.newsroom.article.published.v1")
	msg.Header.Set("ce-subject", article)
	msg.Data = []byte(`{"uri": not JSON`)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for {
			if _, ok := stream.next(t); !ok {
				return
			}
		}
	}()
	// The stream's place is taken before its answer starts: what is published now reaches it.
	if _, err := js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the stream to end", func() bool {
		select {
		case <-ended:
			return true
		default:
			return false
		}
	})
	eventually(t, "a WARN record of the failure", func() bool {
		for _, rec := range logs.records(t) {
			if rec["level"] == "WARN" && strings.Contains(rec["msg"].(string), "public event stream") && rec["error"] != nil {
				return true
			}
		}
		return false
	})
}
