package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/events"
)

// publicConsumers counts the consumers on the public stream.
func publicConsumers(tb testing.TB, natsURL string) int {
	tb.Helper()
	return streamInfo(tb, natsURL, events.PublicStreamName).State.Consumers
}

// publishPublic writes a public message straight to the public stream, with a body of about
// size bytes, as the outbox would: for tests of the event stream alone.
func publishPublic(tb testing.TB, js jetstream.JetStream, action, article string, size int) uint64 {
	tb.Helper()
	msg := nats.NewMsg(events.PublicSubject(action, article))
	msg.Header.Set("ce-type", events.CloudEventType(action))
	msg.Header.Set("ce-id", fmt.Sprintf("%s-%s", action, article))
	msg.Header.Set("ce-subject", article)
	msg.Data = []byte(`{"pubstatus":"usable","body":"` + strings.Repeat("x", size) + `"}`)
	ack, err := js.PublishMsg(context.Background(), msg)
	if err != nil {
		tb.Fatal(err)
	}
	return ack.Sequence
}

func appJetStream(tb testing.TB, ta *testApp) jetstream.JetStream {
	tb.Helper()
	js, err := jetstream.New(ta.nc)
	if err != nil {
		tb.Fatal(err)
	}
	return js
}

// TestSSEChurnLeavesNoConsumers opens and closes thousands of event streams, half of them
// resuming beyond the ring: the consumers on the public stream stay the hub's one, plus for a
// moment the few short reads the hub allows at once.
func TestSSEChurnLeavesNoConsumers(t *testing.T) {
	ta := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: t.TempDir(), NATSListen: "127.0.0.1:0", NoSync: true,
		SSERingMessages: 2})
	js := appJetStream(t, ta)
	for i := range 5 {
		publishPublic(t, js, events.ActionPublished, fmt.Sprintf("a%d", i), 100)
	}
	eventually(t, "the hub at the last message", func() bool { return ta.hub.Stats().Last == 5 })
	before := publicConsumers(t, ta.natsURL)
	if before != 1 {
		t.Fatalf("consumers on %s at start = %d; want the hub's one", events.PublicStreamName, before)
	}

	var most atomic.Int64
	sampling, stopSampling := context.WithCancel(context.Background())
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		nc, err := nats.Connect(ta.natsURL)
		if err != nil {
			return
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		for sampling.Err() == nil {
			if s, err := js.Stream(sampling, events.PublicStreamName); err == nil {
				if n := int64(s.CachedInfo().State.Consumers); n > most.Load() {
					most.Store(n)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	const connections, workers = 3000, 50
	client := &nethttp.Client{Transport: checkedTransport(t, &nethttp.Transport{DisableKeepAlives: true})}
	var wg sync.WaitGroup
	var failures atomic.Int64
	work := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := touchSSE(client, ta.base, i%2 == 0); err != nil && failures.Add(1) == 1 {
					t.Errorf("connection %d: %v", i, err)
				}
			}
		}()
	}
	for i := range connections {
		work <- i
	}
	close(work)
	wg.Wait()
	stopSampling()
	<-sampled

	eventually(t, "every stream gone from the hub", func() bool { return ta.hub.Stats().Subscribers == 0 })
	if after := publicConsumers(t, ta.natsURL); after != before {
		t.Errorf("consumers on %s after %d streams = %d; want %d", events.PublicStreamName, connections, after, before)
	}
	if limit := int64(before + events.DefaultPastReads); most.Load() > limit {
		t.Errorf("at most %d consumers during the churn; want at most %d (the hub's and its short reads)", most.Load(), limit)
	}
	if st := ta.hub.Stats(); st.PastReads < connections/2 {
		t.Errorf("past reads = %d; want one per resume beyond the ring (%d)", st.PastReads, connections/2)
	}
}

// touchSSE opens the event stream, reads its first event when resuming from the start (from
// the stream, beyond the ring), and goes.
func touchSSE(client *nethttp.Client, base string, resume bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := nethttp.NewRequestWithContext(ctx, "GET", base+"/public/v1/stream", nil)
	if resume {
		req.Header.Set("Last-Event-ID", "0")
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	if resume {
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || line != "id: 1\n" {
			return fmt.Errorf("first line %q (%v); want id: 1", line, err)
		}
	}
	return nil
}

// TestSSEFanOutToManyClientsWithResume: every client gets every message in order; clients
// that come back with Last-Event-ID get exactly what they missed, from the ring or beyond it.
func TestSSEFanOutToManyClientsWithResume(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	ta := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: dir, NATSListen: "127.0.0.1:0", NoSync: true,
		SSERingMessages: 4})

	const clients, articles = 200, 10
	streams := make([]*sseStream, clients)
	for i := range streams {
		streams[i] = openSSE(t, ta.base, "")
		defer streams[i].Close()
	}
	eventually(t, "every client subscribed", func() bool { return ta.hub.Stats().Subscribers == clients })
	var ids []string
	for i := range articles {
		id, _ := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": fmt.Sprintf("Article %d", i), "body": "Text."})
		ids = append(ids, id)
	}
	var wg sync.WaitGroup
	for c, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range articles {
				e, ok := s.next(t)
				if !ok {
					t.Errorf("client %d: the stream ended after %d events", c, i)
					return
				}
				if e.id != strconv.Itoa(i+1) || e.data["subject"] != ids[i] {
					t.Errorf("client %d: event %d = id %s subject %v; want id %d subject %s", c, i, e.id, e.data["subject"], i+1, ids[i])
					return
				}
			}
		}()
	}
	wg.Wait()

	// Back after missing some: in the ring (the last 4), and beyond it. A message published
	// once the stream is open ends what each must get, so that a duplicate would show.
	for _, tc := range []struct {
		name   string
		lastID int
	}{{"in the ring", articles - 3}, {"beyond the ring", 1}, {"from the start", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			s := openSSE(t, ta.base, strconv.Itoa(tc.lastID))
			defer s.Close()
			marker := publishPublic(t, appJetStream(t, ta), events.ActionPublished, "marker-"+strings.ReplaceAll(tc.name, " ", "-"), 10)
			var got []string
			for {
				e, ok := s.next(t)
				if !ok {
					t.Fatalf("the stream ended after %v", got)
				}
				got = append(got, e.id)
				if e.id == strconv.FormatUint(marker, 10) {
					break
				}
			}
			var want []string
			for seq := tc.lastID + 1; seq < int(marker); seq++ {
				want = append(want, strconv.Itoa(seq))
			}
			want = append(want, strconv.FormatUint(marker, 10))
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("resumed after %d: got ids %v; want %v", tc.lastID, got, want)
			}
		})
	}
}

// TestSSEKillPurgesWhatResumesGet: after a kill, no resume, from the ring or beyond it, hands
// out the killed article's text.
func TestSSEKillPurgesWhatResumesGet(t *testing.T) {
	for _, ring := range []int{0, 2} { // the default ring holds all; a ring of 2 holds the kill and one more
		t.Run(fmt.Sprintf("ring %d", ring), func(t *testing.T) {
			dir := t.TempDir()
			rita := createToken(t, dir, "rita", "reporter")
			ed := createToken(t, dir, "ed", "editor")
			eva := createToken(t, dir, "eva", "editor") // confirms corrections: four eyes
			ta := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: dir, NATSListen: "127.0.0.1:0", NoSync: true,
				SSERingMessages: ring})
			api := ta.base + "/api/v1/articles"
			live := openSSE(t, ta.base, "")
			defer live.Close()
			eventually(t, "the live client subscribed", func() bool { return ta.hub.Stats().Subscribers == 1 })
			victim, _ := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Quokka libel", "body": "The quokka libel text."})
			correctText(t, ta.base, victim, ed, eva, map[string]any{"summary": "Quokka summary", "note": "n"})
			publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Control", "body": "Stays."})
			expectStatus(t, call(t, "POST", api+"/"+victim+"/kill", ed, map[string]any{"reason": "Court order"}), 200, "kill")
			for i := 0; i < 4; i++ { // published, corrected, control, killed
				if _, ok := live.next(t); !ok {
					t.Fatal("the live stream ended")
				}
			}
			resumed := readSSE(t, ta.base, "0", 2)
			for _, e := range resumed {
				if e.data["subject"] == victim && e.event != events.CloudEventType(events.ActionKilled) {
					t.Errorf("a resume from the start got the killed article's %s: %v", e.event, e.data)
				}
			}
			if resumed[0].id != "3" || resumed[1].id != "4" || resumed[1].event != events.CloudEventType(events.ActionKilled) {
				t.Errorf("resume from the start = %+v; want the control article (3), then the kill (4)", resumed)
			}
		})
	}
}

// TestSSESlowClientIsCutOff: a reader that never reads is cut off, its stream ends, and the
// others get every message meanwhile.
func TestSSESlowClientIsCutOff(t *testing.T) {
	ta := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: t.TempDir(), NATSListen: "127.0.0.1:0", NoSync: true,
		SSEClientQueue: 2})
	js := appJetStream(t, ta)

	// A reader that sends its request and reads nothing: the server's writes block once the
	// socket buffers are full, a few megabytes. (A tiny receive buffer would fill them sooner,
	// but on loopback's 64 KB segments it makes the final drain crawl.)
	conn, err := net.Dial("tcp", ta.httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /public/v1/stream HTTP/1.1\r\nHost: %s\r\n\r\n", ta.httpAddr)
	eventually(t, "the slow reader subscribed", func() bool { return ta.hub.Stats().Subscribers == 1 })
	fast := openSSE(t, ta.base, "")
	defer fast.Close()
	eventually(t, "the fast reader subscribed", func() bool { return ta.hub.Stats().Subscribers == 2 })

	for i := 0; ta.hub.Stats().CutOff == 0; i++ {
		if i == 400 {
			t.Fatalf("the slow reader was not cut off after %d messages of 256 KB", i)
		}
		seq := publishPublic(t, js, events.ActionPublished, fmt.Sprintf("a%d", i), 256<<10)
		e, ok := fast.next(t)
		if !ok || e.id != strconv.FormatUint(seq, 10) {
			t.Fatalf("the fast reader got %v (%v); want event %d", e.id, ok, seq)
		}
	}
	// The slow reader's stream ends: cleanly if the server's last write got through, or with
	// the connection cut if it was stuck; either way reading it comes to an end.
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := nethttp.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("the slow reader's stream did not end: %v (hub %+v)", err, ta.hub.Stats())
	}
	if st := ta.hub.Stats(); st.CutOff != 1 || st.Subscribers != 1 {
		t.Errorf("hub stats = %+v; want 1 cut off and the fast reader left", st)
	}
}

// TestSSECapTellsClientsToComeBack: beyond --sse-max-clients a reader gets what EventSource
// honours: 200 text/event-stream with a retry delay, and the stream ends.
func TestSSECapTellsClientsToComeBack(t *testing.T) {
	ta := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: t.TempDir(), NATSListen: "127.0.0.1:0", NoSync: true,
		SSEMaxClients: 2})
	first := openSSE(t, ta.base, "")
	second := openSSE(t, ta.base, "")
	defer second.Close()
	eventually(t, "two streams", func() bool { return ta.hub.Stats().Subscribers == 2 })

	r := call(t, "GET", ta.base+"/public/v1/stream", "", nil)
	expectStatus(t, r, 200, "a stream beyond the cap")
	if ct := r.header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q; want text/event-stream", ct)
	}
	after, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || after < 5 || after > 15 {
		t.Errorf("Retry-After = %q; want 5 to 15 seconds", r.header.Get("Retry-After"))
	}
	var retry int
	for _, line := range strings.Split(string(r.body), "\n") {
		if v, ok := strings.CutPrefix(line, "retry: "); ok {
			retry, _ = strconv.Atoi(v)
		}
	}
	if retry < 5000 || retry > 15000 {
		t.Errorf("body %q; want a retry field of 5,000 to 15,000 ms", r.body)
	}
	if st := ta.hub.Stats(); st.Refused != 1 {
		t.Errorf("refused = %d; want 1", st.Refused)
	}
	first.Close()
	eventually(t, "a place free again", func() bool { return ta.hub.Stats().Subscribers == 1 })
	third := openSSE(t, ta.base, "")
	third.Close()
}

// TestTailLeavesNoConsumer: `newsroom tail` deletes its consumer when it exits, whether it
// stops after --count or is interrupted while waiting.
func TestTailLeavesNoConsumer(t *testing.T) {
	dir := t.TempDir()
	ta := startTestApp(t, dir)
	publishPublic(t, appJetStream(t, ta), events.ActionPublished, "a1", 10)
	before := publicConsumers(t, ta.natsURL)

	var out, errOut strings.Builder
	if err := run(context.Background(), []string{"tail", "--data-dir", dir, "--count", "1"}, &out, &errOut); err != nil {
		t.Fatalf("tail --count 1: %v (%s)", err, errOut.String())
	}
	if !strings.Contains(out.String(), `"seq":1`) {
		t.Errorf("tail printed %q; want message 1", out.String())
	}
	if n := publicConsumers(t, ta.natsURL); n != before {
		t.Errorf("consumers after tail --count 1 = %d; want %d", n, before)
	}

	ctx, interrupt := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"tail", "--data-dir", dir, "--new"}, io.Discard, io.Discard) }()
	eventually(t, "tail's consumer", func() bool { return publicConsumers(t, ta.natsURL) == before+1 })
	interrupt()
	if err := <-done; err != nil {
		t.Errorf("interrupted tail: %v", err)
	}
	if n := publicConsumers(t, ta.natsURL); n != before {
		t.Errorf("consumers after an interrupted tail = %d; want %d", n, before)
	}
}
