package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/embeddednats/natstest"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
	"github.com/newsroom/newsroom/webhooks"
)

// rig is a real nats-server with the public stream, a real database and dispatchers on them.
type rig struct {
	t      *testing.T
	srv    *natstest.Server
	js     jetstream.JetStream
	public jetstream.Stream
	db     *sqldb.DB

	mu  sync.Mutex // receivers read ids while the test publishes
	ids []string   // the CloudEvent ids published, in order
}

// idAt is the id of the i-th message published (from 0), or "".
func (r *rig) idAt(i int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i < len(r.ids) {
		return r.ids[i]
	}
	return ""
}

func newRig(t *testing.T) *rig {
	t.Helper()
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	public, err := events.EnsureStream(context.Background(), js, events.PublicStreamConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.EnsureStream(context.Background(), js, events.EmbargoedStreamConfig(1)); err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, srv: srv, js: js, public: public, db: sqldbtest.Open(t, sqldb.SQLite)}
}

// dispatcher starts a dispatcher with short waits: 10 ms doubling up to 80 ms between
// attempts, 300 ms before an attempt times out.
func (r *rig) dispatcher() *webhooks.Dispatcher {
	r.t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	d := webhooks.NewDispatcher(webhooks.Config{DB: r.db, Logger: log,
		Connect:  func() (*nats.Conn, error) { return nats.Connect(r.srv.ClientURL()) },
		Timeout:  300 * time.Millisecond,
		RetryMin: 10 * time.Millisecond, RetryMax: 80 * time.Millisecond,
		SyncEvery: 50 * time.Millisecond,
	})
	if err := d.Start(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { d.Close() })
	return d
}

// publish writes n public events as the outbox does.
func (r *rig) publish(n int) {
	r.t.Helper()
	for range n {
		i := len(r.ids) + 1
		env := events.Envelope{ID: uuid.NewString(), ArticleID: uuid.NewString(), ArticleVersion: 5,
			Time: time.Now(), Sequence: uint64(i)}
		msg, err := events.PublicEvent{Action: events.ActionPublished, Source: env, PublicURL: "https://news.example",
			Text: events.PublicText{Slug: fmt.Sprintf("story-%d", i), Headline: fmt.Sprintf("Story %d", i), BodyHTML: "<p>Text.</p>"}}.Msg()
		if err != nil {
			r.t.Fatal(err)
		}
		if _, err := r.js.PublishMsg(context.Background(), msg); err != nil {
			r.t.Fatal(err)
		}
		r.mu.Lock()
		r.ids = append(r.ids, env.ID)
		r.mu.Unlock()
	}
}

// received is one request a receiver got.
type received struct {
	path               string
	id, timestamp, sig string
	contentType        string
	body               []byte
	answered           int // 0: left hanging until the sender gave up
}

// receiver is a real HTTP endpoint that answers as its script says: a status, or 0 to hang
// until the sender gives up.
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []received
	attempts map[string]int // by webhook-id
	script   func(attempt int, id string) int
}

func newReceiver(t *testing.T, script func(attempt int, id string) int) *receiver {
	rc := &receiver{attempts: map[string]int{}, script: script}
	rc.srv = httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, req *nethttp.Request) {
		body, _ := io.ReadAll(req.Body)
		got := received{path: req.URL.Path, id: req.Header.Get("webhook-id"), timestamp: req.Header.Get("webhook-timestamp"),
			sig: req.Header.Get("webhook-signature"), contentType: req.Header.Get("Content-Type"), body: body}
		rc.mu.Lock()
		rc.attempts[got.id]++
		status := rc.script(rc.attempts[got.id], got.id)
		got.answered = status
		rc.requests = append(rc.requests, got)
		rc.mu.Unlock()
		if status == 0 {
			<-req.Context().Done() // the sender's timeout ends it
			return
		}
		w.WriteHeader(status)
		fmt.Fprint(w, "a body that is never stored")
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) setScript(script func(attempt int, id string) int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.script = script
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.requests...)
}

// delivered is the ids of the requests answered 2xx, in the order they came.
func (rc *receiver) delivered(path string) []string {
	var ids []string
	for _, r := range rc.all() {
		if r.path == path && r.answered >= 200 && r.answered < 300 {
			ids = append(ids, r.id)
		}
	}
	return ids
}

func ok(int, string) int { return 200 }

// verify checks a request the way the Standard Webhooks spec tells a receiver to, without
// newsroom's code: HMAC-SHA256 with the base64 key after whsec_, over "id.timestamp.body",
// against each space-separated "v1,<base64>" signature; and a fresh timestamp.
func verify(secret string, r received) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(r.id + "." + r.timestamp + "."))
	mac.Write(r.body)
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	ts, err := strconv.ParseInt(r.timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q: %v", r.timestamp, err)
	}
	if age := time.Since(time.Unix(ts, 0)); age > 5*time.Minute || age < -5*time.Minute {
		return fmt.Errorf("webhook-timestamp %d is %v off", ts, age)
	}
	for _, s := range strings.Fields(r.sig) {
		if version, sig, _ := strings.Cut(s, ","); version == "v1" && hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("webhook-signature %q does not match", r.sig)
}

// checkRequests checks that every request is signed and carries its CloudEvent, and that no
// message was sent before the one before it had succeeded. A message is sent again after it
// succeeded only where repeats are allowed (a delivery cut off by a failover).
func checkRequests(t *testing.T, secret string, reqs []received, order []string, repeats bool) {
	t.Helper()
	pos := map[string]int{}
	for i, id := range order {
		pos[id] = i
	}
	next := 0 // the index in order of the message that may be sent now
	for i, r := range reqs {
		if err := verify(secret, r); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
		if r.contentType != webhooks.ContentType {
			t.Errorf("request %d Content-Type = %q", i, r.contentType)
		}
		var ce struct {
			SpecVersion string          `json:"specversion"`
			ID          string          `json:"id"`
			Type        string          `json:"type"`
			Data        json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(r.body, &ce); err != nil || ce.SpecVersion != "1.0" || ce.ID != r.id ||
			ce.Type != "org.newsroom.article.published.v1" || !strings.Contains(string(ce.Data), `"pubstatus":"usable"`) {
			t.Errorf("request %d body is not the CloudEvent %s: %s (%v)", i, r.id, r.body, err)
		}
		p, known := pos[r.id]
		switch {
		case !known:
			t.Errorf("request %d carries %s, which was not published", i, r.id)
		case p > next:
			t.Errorf("request %d sent message %d before message %d succeeded", i, p, next)
		case p < next && (!repeats || p < next-1):
			t.Errorf("request %d repeats message %d, delivered already", i, p)
		}
		if known && p == next && r.answered >= 200 && r.answered < 300 {
			next++
		}
	}
}

func waitFor(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDeliversInOrderThroughFailures(t *testing.T) {
	r := newRig(t)
	d := r.dispatcher()
	// The first message meets 500, 500, 503, a timeout, then success; the third a 404 and a
	// redirect (not followed); the rest succeed at once.
	rc := newReceiver(t, func(attempt int, id string) int {
		switch {
		case id == r.idAt(0) && attempt <= 4:
			return []int{500, 500, 503, 0}[attempt-1]
		case id == r.idAt(2) && attempt <= 2:
			return []int{404, 302}[attempt-1]
		}
		return 204
	})
	w, secret, err := d.Register(context.Background(), webhooks.Registration{URL: rc.srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	r.publish(6)
	waitFor(t, "six deliveries", func() bool { return len(rc.delivered("/hook")) == 6 })
	if got := rc.delivered("/hook"); strings.Join(got, ",") != strings.Join(r.ids, ",") {
		t.Errorf("delivered %v; want %v, in that order", got, r.ids)
	}
	checkRequests(t, secret, rc.all(), r.ids, false)

	log, err := d.Deliveries(context.Background(), w.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var first []webhooks.Delivery // the attempts at message 1, oldest first
	for i := len(log) - 1; i >= 0; i-- {
		if log[i].Seq == 1 {
			first = append(first, log[i])
		}
	}
	wantStatus := []int{500, 500, 503, 0, 204}
	if len(first) != len(wantStatus) {
		t.Fatalf("attempts at message 1: %+v; want %d", first, len(wantStatus))
	}
	for i, a := range first {
		wantOutcome := webhooks.Failed
		if i == len(first)-1 {
			wantOutcome = webhooks.Delivered
		}
		if a.Attempt != i+1 || a.StatusCode != wantStatus[i] || a.Outcome != wantOutcome || a.MessageID != r.ids[0] ||
			a.EventType != "org.newsroom.article.published.v1" || a.ArticleID == "" {
			t.Errorf("attempt %d at message 1 = %+v; want status %d, %s", i+1, a, wantStatus[i], wantOutcome)
		}
		if wantOutcome == webhooks.Failed && (a.NextRetryAt.Before(a.AttemptedAt) || a.Error == "") {
			t.Errorf("failed attempt %d = %+v; want a reason and a next retry time", i+1, a)
		}
		if strings.Contains(a.Error, "never stored") {
			t.Errorf("attempt %d stored the answer's body: %q", i+1, a.Error)
		}
	}
	if !strings.Contains(first[3].Error, "timeout") || !strings.Contains(log[0].Error+first[0].Error, "answered") {
		t.Errorf("errors = %q, %q; want a timeout and the status", first[3].Error, first[0].Error)
	}
	var got webhooks.Webhook
	// The receiver has answered; the attempt is recorded just after.
	waitFor(t, "the cursor at 6", func() bool {
		got, err = d.Get(context.Background(), w.ID)
		return err == nil && got.DeliveredSeq == 6
	})
	if got.DeliveredSeq != 6 || got.Last == nil || got.Last.Seq != 6 || got.Last.Outcome != webhooks.Delivered {
		t.Errorf("webhook after the deliveries = %+v; want cursor 6, last attempt delivered 6", got)
	}
}

func TestRegisteredWebhookGetsOnlyWhatComesAfter(t *testing.T) {
	r := newRig(t)
	r.publish(3)
	d := r.dispatcher()
	rc := newReceiver(t, ok)
	w, secret, err := d.Register(context.Background(), webhooks.Registration{URL: rc.srv.URL + "/hook", Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	if secret != testSecret || w.DeliveredSeq != 3 {
		t.Errorf("Register = %+v, %q; want the given secret and cursor 3", w, secret)
	}
	r.publish(2)
	waitFor(t, "two deliveries", func() bool { return len(rc.delivered("/hook")) == 2 })
	checkRequests(t, testSecret, rc.all(), r.ids[3:], false)
}

func TestRestartWhileRetryingLosesNothing(t *testing.T) {
	r := newRig(t)
	d := r.dispatcher()
	var up atomic.Bool // until set, the receiver answers 503
	rc := newReceiver(t, func(int, string) int {
		if up.Load() {
			return 200
		}
		return 503
	})
	w, secret, err := d.Register(context.Background(), webhooks.Registration{URL: rc.srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	r.publish(4)
	attemptsAt := func(seq uint64) int {
		log, err := d.Deliveries(context.Background(), w.ID, 0, 500)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range log {
			if a.Seq == seq {
				n++
			}
		}
		return n
	}
	waitFor(t, "three failed attempts", func() bool { return attemptsAt(1) >= 3 })
	d.Close()
	before := attemptsAt(1)
	r.publish(2)

	d = r.dispatcher()
	waitFor(t, "an attempt after the restart", func() bool { return attemptsAt(1) > before })
	up.Store(true)
	waitFor(t, "six deliveries", func() bool { return len(rc.delivered("/hook")) == 6 })
	checkRequests(t, secret, rc.all(), r.ids, false)

	log, _ := d.Deliveries(context.Background(), w.ID, 0, 500)
	var attempts []int
	for i := len(log) - 1; i >= 0; i-- {
		if log[i].Seq == 1 {
			attempts = append(attempts, log[i].Attempt)
		}
	}
	for i, a := range attempts {
		if a != i+1 {
			t.Errorf("attempts at message 1 across the restart are numbered %v; want 1, 2, 3, …", attempts)
			break
		}
	}
}

func TestTwoInstancesKeepOrder(t *testing.T) {
	r := newRig(t)
	a := r.dispatcher()
	b := r.dispatcher()
	// Every message fails twice, then succeeds.
	rc := newReceiver(t, func(attempt int, _ string) int {
		if attempt <= 2 {
			return 500
		}
		return 200
	})
	w, secret, err := a.Register(context.Background(), webhooks.Registration{URL: rc.srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	// b finds it at its next look at the registrations; stopping a hands the work to b.
	waitFor(t, "b sees the webhook", func() bool { _, err := b.Get(context.Background(), w.ID); return err == nil })
	r.publish(5)
	waitFor(t, "two deliveries", func() bool { return len(rc.delivered("/hook")) >= 2 })
	a.Close()
	r.publish(5)
	waitFor(t, "ten deliveries", func() bool { return len(rc.delivered("/hook")) == 10 })
	checkRequests(t, secret, rc.all(), r.ids, true)
}

func TestErasedMessageIsSkipped(t *testing.T) {
	r := newRig(t)
	d := r.dispatcher()
	rc := newReceiver(t, func(int, string) int { return 503 })
	w, secret, err := d.Register(context.Background(), webhooks.Registration{URL: rc.srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	r.publish(3)
	waitFor(t, "a failed attempt at message 1", func() bool {
		log, _ := d.Deliveries(context.Background(), w.ID, 0, 1)
		return len(log) == 1
	})
	// A legal kill erases the message while it is being retried. The receiver keeps failing
	// until the message is skipped: an attempt that read the message just before the erasure
	// may still be on its way (the one window the erasure cannot close).
	if err := r.public.SecureDeleteMsg(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	skipped := func() []webhooks.Delivery {
		log, _ := d.Deliveries(context.Background(), w.ID, 0, 100)
		var out []webhooks.Delivery
		for _, a := range log {
			if a.Seq == 1 && a.Outcome == webhooks.Skipped {
				out = append(out, a)
			}
		}
		return out
	}
	waitFor(t, "message 1 skipped", func() bool { return len(skipped()) > 0 })
	rc.setScript(ok)
	waitFor(t, "messages 2 and 3", func() bool { return len(rc.delivered("/hook")) == 2 })
	if got := rc.delivered("/hook"); got[0] != r.ids[1] || got[1] != r.ids[2] {
		t.Errorf("delivered %v; want messages 2 and 3", got)
	}
	for _, req := range rc.all() {
		if err := verify(secret, req); err != nil {
			t.Error(err)
		}
	}
	if s := skipped(); len(s) != 1 || s[0].MessageID != r.ids[0] || s[0].EventType != "org.newsroom.article.published.v1" {
		t.Errorf("attempts at the erased message: %+v; want one skipped, naming its id and type", s)
	}
}

// TestMessageErasedBeforeItsTurnIsSkipped: a message erased while it waits behind another (the
// endpoint is down) never reaches the worker, since consumers pass over deleted messages; it is
// still recorded skipped, in its place, and the cursor moves past it.
func TestMessageErasedBeforeItsTurnIsSkipped(t *testing.T) {
	r := newRig(t)
	d := r.dispatcher()
	rc := newReceiver(t, func(int, string) int { return 503 })
	w, _, err := d.Register(context.Background(), webhooks.Registration{URL: rc.srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	r.publish(3)
	waitFor(t, "a failed attempt at message 1", func() bool {
		log, _ := d.Deliveries(context.Background(), w.ID, 0, 1)
		return len(log) == 1
	})
	if err := r.public.SecureDeleteMsg(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	rc.setScript(ok)
	waitFor(t, "messages 1 and 3 delivered", func() bool { return len(rc.delivered("/hook")) == 2 })
	if got := rc.delivered("/hook"); got[0] != r.ids[0] || got[1] != r.ids[2] {
		t.Errorf("delivered %v; want messages 1 and 3", got)
	}
	waitFor(t, "the cursor at 3", func() bool {
		hook, err := d.Get(context.Background(), w.ID)
		return err == nil && hook.DeliveredSeq == 3
	})
	log, err := d.Deliveries(context.Background(), w.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var atTwo []webhooks.Delivery
	for _, a := range log {
		if a.Seq == 2 {
			atTwo = append(atTwo, a)
		}
	}
	if len(atTwo) != 1 || atTwo[0].Outcome != webhooks.Skipped || atTwo[0].Error == "" {
		t.Errorf("attempts at the erased message 2: %+v; want one, skipped, saying why", atTwo)
	}
	// In its place: after message 1 was delivered, before message 3 was.
	var order []string
	for i := len(log) - 1; i >= 0; i-- {
		if log[i].Outcome != webhooks.Failed {
			order = append(order, fmt.Sprintf("%d %s", log[i].Seq, log[i].Outcome))
		}
	}
	if got, want := strings.Join(order, ", "), "1 delivered, 2 skipped, 3 delivered"; got != want {
		t.Errorf("records in order = %s; want %s", got, want)
	}
}

func TestDeleteStopsDeliveries(t *testing.T) {
	r := newRig(t)
	d := r.dispatcher()
	rc := newReceiver(t, func(_ int, _ string) int { return 200 })
	gone, _, err := d.Register(context.Background(), webhooks.Registration{URL: rc.srv.URL + "/gone"})
	if err != nil {
		t.Fatal(err)
	}
	r.publish(1)
	waitFor(t, "the first delivery", func() bool { return len(rc.delivered("/gone")) == 1 })
	if err := d.Delete(context.Background(), gone.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(context.Background(), gone.ID); !errors.Is(err, webhooks.ErrNotFound) {
		t.Errorf("second Delete = %v; want ErrNotFound", err)
	}
	if _, err := r.js.Consumer(context.Background(), events.PublicStreamName, webhooks.DurablePrefix+gone.ID); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("the consumer of a deleted webhook: %v; want it gone", err)
	}
	if _, err := d.Deliveries(context.Background(), gone.ID, 0, 10); !errors.Is(err, webhooks.ErrNotFound) {
		t.Errorf("Deliveries of a deleted webhook = %v; want ErrNotFound", err)
	}
	// A webhook registered after it gets the next message; the deleted one does not.
	if _, _, err := d.Register(context.Background(), webhooks.Registration{URL: rc.srv.URL + "/kept"}); err != nil {
		t.Fatal(err)
	}
	r.publish(1)
	waitFor(t, "the delivery to the kept webhook", func() bool { return len(rc.delivered("/kept")) == 1 })
	if got := rc.delivered("/gone"); len(got) != 1 {
		t.Errorf("the deleted webhook got %d deliveries; want only the one before its deletion", len(got))
	}
}

func TestOrphanConsumerIsDeleted(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	// What a deletion leaves when NATS did not answer it; and a subscriber's own durable.
	orphan := webhooks.DurablePrefix + uuid.NewString()
	for _, name := range []string{orphan, "wire-service"} {
		if _, err := r.js.CreateConsumer(ctx, events.PublicStreamName, jetstream.ConsumerConfig{Durable: name,
			AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
			t.Fatal(err)
		}
	}
	d := r.dispatcher()
	rc := newReceiver(t, ok)
	w, _, err := d.Register(ctx, webhooks.Registration{URL: rc.srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the orphan deleted", func() bool {
		_, err := r.js.Consumer(ctx, events.PublicStreamName, orphan)
		return errors.Is(err, jetstream.ErrConsumerNotFound)
	})
	for _, name := range []string{"wire-service", webhooks.DurablePrefix + w.ID} {
		if _, err := r.js.Consumer(ctx, events.PublicStreamName, name); err != nil {
			t.Errorf("consumer %s: %v; want it kept", name, err)
		}
	}
}

func TestLostConsumerResumesAtTheCursor(t *testing.T) {
	r := newRig(t)
	d := r.dispatcher()
	rc := newReceiver(t, ok)
	w, secret, err := d.Register(context.Background(), webhooks.Registration{URL: rc.srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	r.publish(2)
	waitFor(t, "the cursor at 2", func() bool { got, err := d.Get(context.Background(), w.ID); return err == nil && got.DeliveredSeq == 2 })
	d.Close()
	// The consumer is lost (deleted by hand, a NATS store wiped): the cursor in SQL says where.
	if err := r.js.DeleteConsumer(context.Background(), events.PublicStreamName, webhooks.DurablePrefix+w.ID); err != nil {
		t.Fatal(err)
	}
	r.publish(2)
	r.dispatcher()
	waitFor(t, "four deliveries", func() bool { return len(rc.delivered("/hook")) == 4 })
	checkRequests(t, secret, rc.all(), r.ids, false)
}

// BenchmarkDeliveries measures one webhook's throughput: every delivery is a fetch, a read of
// the message, a signed POST to a local receiver, a SQL record and an acknowledgement, one
// message at a time.
//
//	go test -run '^$' -bench Deliveries -benchtime 2000x ./webhooks/
func BenchmarkDeliveries(b *testing.B) {
	srv := natstest.Start(b)
	_, js := srv.Connect(b)
	if _, err := events.EnsureStream(context.Background(), js, events.PublicStreamConfig(1)); err != nil {
		b.Fatal(err)
	}
	db := sqldbtest.Open(b, sqldb.SQLite)
	var got atomic.Int64
	receiver := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		io.Copy(io.Discard, r.Body)
		got.Add(1)
		w.WriteHeader(204)
	}))
	defer receiver.Close()
	d := webhooks.NewDispatcher(webhooks.Config{DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Connect: func() (*nats.Conn, error) { return nats.Connect(srv.ClientURL()) }})
	if err := d.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if _, _, err := d.Register(context.Background(), webhooks.Registration{URL: receiver.URL}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		env := events.Envelope{ID: uuid.NewString(), ArticleID: uuid.NewString(), ArticleVersion: 5, Time: time.Now(), Sequence: uint64(i + 1)}
		msg, err := events.PublicEvent{Action: events.ActionPublished, Source: env, PublicURL: "https://news.example",
			Text: events.PublicText{Slug: "story", Headline: "Story", BodyHTML: strings.Repeat("<p>Text.</p>", 250)}}.Msg()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := js.PublishMsg(context.Background(), msg); err != nil {
			b.Fatal(err)
		}
	}
	for got.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
