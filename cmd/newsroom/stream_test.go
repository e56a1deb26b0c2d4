package main

import (
	"bufio"
	"context"
	"encoding/json"
	nethttp "net/http"
	"strings"
	"testing"
	"time"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	id, event string
	data      map[string]any
}

// sseStream is a reader of the public event stream.
type sseStream struct {
	resp   *nethttp.Response
	lines  *bufio.Scanner
	cancel context.CancelFunc
}

// openSSE opens the public event stream, resuming after lastID when it is set, and fails the
// test unless it answers 200 text/event-stream.
func openSSE(tb testing.TB, base, lastID string) *sseStream {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	req, _ := nethttp.NewRequestWithContext(ctx, "GET", base+"/public/v1/stream", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := checkedClient(tb).Do(req)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		resp.Body.Close()
		cancel()
		tb.Fatalf("GET /public/v1/stream = %d %s", resp.StatusCode, ct)
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	return &sseStream{resp: resp, lines: lines, cancel: cancel}
}

// next returns the next event; false when the stream ends.
func (s *sseStream) next(tb testing.TB) (sseEvent, bool) {
	tb.Helper()
	var cur sseEvent
	for s.lines.Scan() {
		line := s.lines.Text()
		switch {
		case line == "":
			if cur.id != "" {
				return cur, true
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			cur.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			cur.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur.data); err != nil {
				tb.Errorf("event data is not JSON: %v", err)
			}
		}
	}
	return sseEvent{}, false
}

func (s *sseStream) Close() {
	s.cancel()
	s.resp.Body.Close()
}

// readSSE reads n events from the public event stream, resuming after lastID when it is set.
func readSSE(t *testing.T, base, lastID string, n int) []sseEvent {
	t.Helper()
	s := openSSE(t, base, lastID)
	defer s.Close()
	var out []sseEvent
	for len(out) < n {
		e, ok := s.next(t)
		if !ok {
			t.Fatalf("read %d events from the stream; want %d (%v)", len(out), n, s.lines.Err())
		}
		out = append(out, e)
	}
	return out
}

func TestPublicEventStream(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	ta := startTestApp(t, dir)
	expectStatus(t, call(t, "POST", ta.base+"/api/v1/articles", rita, map[string]any{"headline": "SECRET draft"}), 201, "draft")
	first, _ := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "First", "body": "One."})
	second, _ := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Second", "body": "Two."})

	all := readSSE(t, ta.base, "0", 2)
	if all[0].id != "1" || all[1].id != "2" || all[0].event != "org.newsroom.article.published.v1" ||
		all[0].data["subject"] != first || all[1].data["subject"] != second {
		t.Errorf("stream from the start = %+v", all)
	}
	if doc, _ := all[0].data["data"].(map[string]any); doc["pubstatus"] != "usable" {
		t.Errorf("event data = %v; want the ninjs document", all[0].data)
	}
	resumed := readSSE(t, ta.base, "1", 1)
	if resumed[0].id != "2" || resumed[0].data["subject"] != second {
		t.Errorf("resumed after 1 = %+v; want event 2", resumed)
	}
	expectStatus(t, call(t, "GET", ta.base+"/public/v1/stream", "", nil, "Last-Event-ID", "abc"), 400, "bad Last-Event-ID")
}
