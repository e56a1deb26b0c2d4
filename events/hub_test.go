package events_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/embeddednats/natstest"
	"github.com/newsroom/newsroom/events"
)

// publicFixture is a nats-server with the public stream, written to directly: the hub reads
// whatever the outbox would have written.
type publicFixture struct {
	srv *natstest.Server
	js  jetstream.JetStream
}

func newPublicFixture(tb testing.TB) *publicFixture {
	tb.Helper()
	srv := natstest.Start(tb)
	_, js := srv.Connect(tb)
	if _, err := events.EnsureStream(context.Background(), js, events.PublicStreamConfig(1)); err != nil {
		tb.Fatal(err)
	}
	return &publicFixture{srv: srv, js: js}
}

// publish writes one public message of article and returns its sequence.
func (f *publicFixture) publish(tb testing.TB, action, article string) uint64 {
	tb.Helper()
	ack, err := f.js.Publish(context.Background(), events.PublicSubject(action, article), []byte(`{"headline":"`+action+` `+article+`"}`))
	if err != nil {
		tb.Fatal(err)
	}
	return ack.Sequence
}

func (f *publicFixture) consumers(tb testing.TB) int {
	tb.Helper()
	s, err := f.js.Stream(context.Background(), events.PublicStreamName)
	if err != nil {
		tb.Fatal(err)
	}
	return s.CachedInfo().State.Consumers
}

func (f *publicFixture) startHub(tb testing.TB, cfg events.HubConfig) *events.PublicHub {
	tb.Helper()
	h := events.NewPublicHub(f.js, cfg)
	if err := h.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

// collector runs a subscription in the background and keeps the sequences it is given.
type collector struct {
	mu   sync.Mutex
	seqs []uint64
	err  chan error
}

func collect(tb testing.TB, h *events.PublicHub, after uint64, fromNow bool) (*collector, context.CancelFunc) {
	tb.Helper()
	sub, err := h.Subscribe(after, fromNow)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	c := &collector{err: make(chan error, 1)}
	go func() {
		c.err <- sub.Run(ctx, func(m events.PublicMessage) error {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.seqs = append(c.seqs, m.Seq)
			return nil
		})
	}()
	return c, cancel
}

func (c *collector) got() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]uint64(nil), c.seqs...)
}

// expectSeqs waits until c has len(want) messages and checks they are want, in order.
func expectSeqs(tb testing.TB, c *collector, want []uint64) {
	tb.Helper()
	waitFor(tb, fmt.Sprintf("%d messages", len(want)), func() bool { return len(c.got()) >= len(want) })
	if got := c.got(); fmt.Sprint(got) != fmt.Sprint(want) {
		tb.Fatalf("got sequences %v; want %v", got, want)
	}
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func TestHubResumesFromTheRingAndBeyondItWithoutLossOrDuplicate(t *testing.T) {
	f := newPublicFixture(t)
	for i := range 600 {
		f.publish(t, events.ActionPublished, fmt.Sprintf("a%d", i))
	}
	h := f.startHub(t, events.HubConfig{RingMessages: 100})
	if st := h.Stats(); st.RingMessages != 100 || st.Last != 600 {
		t.Fatalf("after start, stats = %+v; want the last 100 messages in the ring", st)
	}

	inRing, _ := collect(t, h, 550, false)
	beyond, _ := collect(t, h, 0, false) // 500 to read from the stream, in two reads, then the ring
	live, _ := collect(t, h, 0, true)
	// Live messages arrive while the resumes catch up: each must come once, after the past.
	for i := range 50 {
		f.publish(t, events.ActionCorrected, fmt.Sprintf("a%d", i))
	}
	expectSeqs(t, inRing, seqRange(551, 650))
	expectSeqs(t, beyond, seqRange(1, 650))
	expectSeqs(t, live, seqRange(601, 650))
	if st := h.Stats(); st.PastReads < 2 || st.PastReads > 3 {
		t.Errorf("past reads = %d; want the 500 messages beyond the ring read in batches (2 or 3 reads)", st.PastReads)
	}
	if n := f.consumers(t); n != 1 {
		t.Errorf("consumers on the public stream = %d; want the hub's one (the past reads deleted theirs)", n)
	}
	h.Close()
	if n := f.consumers(t); n != 0 {
		t.Errorf("consumers after Close = %d; want 0", n)
	}
}

func TestHubKillPurgesTheArticleFromWhatResumesGet(t *testing.T) {
	f := newPublicFixture(t)
	h := f.startHub(t, events.HubConfig{RingMessages: 3})
	f.publish(t, events.ActionPublished, "victim") // 1: beyond the ring once the kill comes
	f.publish(t, events.ActionPublished, "other")  // 2
	f.publish(t, events.ActionCorrected, "other")  // 3
	f.publish(t, events.ActionCorrected, "victim") // 4: in the ring when the kill comes
	kill := f.publish(t, events.ActionKilled, "victim")
	waitFor(t, "the kill in the hub", func() bool { return h.Stats().Last == kill })

	// Nothing erased message 1 from the stream here (the outbox does, a moment after the
	// kill): the hub still never hands it out again.
	fromStart, _ := collect(t, h, 0, false)
	expectSeqs(t, fromStart, []uint64{2, 3, kill})
	fromRing, _ := collect(t, h, 2, false)
	expectSeqs(t, fromRing, []uint64{3, kill})
}

func TestHubCutsOffASubscriberThatDoesNotKeepUp(t *testing.T) {
	f := newPublicFixture(t)
	h := f.startHub(t, events.HubConfig{ClientQueue: 4})
	stuck, err := h.Subscribe(0, true)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	stuckErr := make(chan error, 1)
	go func() {
		stuckErr <- stuck.Run(context.Background(), func(events.PublicMessage) error {
			<-release // a reader whose writes never complete
			return nil
		})
	}()
	others, _ := collect(t, h, 0, true)
	// One at a time: each reaches the others while the stuck one holds its first.
	for i := range 20 {
		seq := f.publish(t, events.ActionPublished, fmt.Sprintf("a%d", i))
		expectSeqs(t, others, seqRange(1, seq))
	}
	select {
	case <-stuck.Cut():
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck subscriber was not cut off")
	}
	close(release)
	if err := <-stuckErr; !errors.Is(err, events.ErrCutOff) {
		t.Errorf("stuck Run = %v; want ErrCutOff", err)
	}
	if st := h.Stats(); st.CutOff != 1 || st.Subscribers != 1 {
		t.Errorf("stats = %+v; want 1 cut off, 1 subscriber left", st)
	}
}

func TestHubRefusesSubscribersBeyondItsCap(t *testing.T) {
	f := newPublicFixture(t)
	h := f.startHub(t, events.HubConfig{MaxClients: 2})
	a, err := h.Subscribe(0, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe(0, true); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe(0, true); !errors.Is(err, events.ErrHubFull) {
		t.Fatalf("third Subscribe = %v; want ErrHubFull", err)
	}
	a.Close()
	if _, err := h.Subscribe(0, true); err != nil {
		t.Errorf("Subscribe after one left = %v; want a place", err)
	}
	if st := h.Stats(); st.Refused != 1 {
		t.Errorf("refused = %d; want 1", st.Refused)
	}
}

func TestHubSurvivesANATSRestart(t *testing.T) {
	f := newPublicFixture(t)
	h := f.startHub(t, events.HubConfig{})
	c, _ := collect(t, h, 0, true)
	f.publish(t, events.ActionPublished, "before")
	expectSeqs(t, c, []uint64{1})
	f.srv.Restart()
	// The client reconnects by itself; publish once it has (a retry whose ack was lost is
	// deduplicated).
	waitFor(t, "a publish after the restart", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := f.js.Publish(ctx, events.PublicSubject(events.ActionPublished, "after"), []byte(`{}`), jetstream.WithMsgID("after"))
		return err == nil
	})
	expectSeqs(t, c, []uint64{1, 2})
}
