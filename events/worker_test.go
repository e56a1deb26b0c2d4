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

// workerLog is what a worker's owner records as handled for good: its "checkpoint".
type workerLog struct {
	mu      sync.Mutex
	seqs    []uint64
	batches int
	biggest int
}

func (l *workerLog) resume(context.Context) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seqs) == 0 {
		return 0, nil
	}
	return l.seqs[len(l.seqs)-1], nil
}

func (l *workerLog) record(batch []jetstream.Msg) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches++
	l.biggest = max(l.biggest, len(batch))
	for _, m := range batch {
		md, _ := m.Metadata()
		l.seqs = append(l.seqs, md.Sequence.Stream)
	}
}

func (l *workerLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seqs)
}

func workerStream(tb testing.TB, js jetstream.JetStream, n int) jetstream.Stream {
	tb.Helper()
	ctx := context.Background()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "WORK", Subjects: []string{"work.>"}})
	if err != nil {
		tb.Fatal(err)
	}
	publish(tb, js, 0, n)
	return stream
}

func publish(tb testing.TB, js jetstream.JetStream, from, n int) {
	tb.Helper()
	for i := from; i < from+n; i++ {
		if _, err := js.PublishAsync(fmt.Sprintf("work.%d", i%7), []byte("x")); err != nil {
			tb.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(10 * time.Second):
		tb.Fatal("publishes not acknowledged")
	}
}

func newWorker(js jetstream.JetStream, l *workerLog) *events.Worker {
	return &events.Worker{JS: js, Stream: "WORK", MaxBatch: 100, Resume: l.resume,
		Consumer: jetstream.ConsumerConfig{Durable: "worker", AckPolicy: jetstream.AckAllPolicy, MaxAckPending: 1000,
			PinnedTTL: 2 * time.Second}}
}

func waitFor(tb testing.TB, what string, ok func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func inOrderOnce(tb testing.TB, seqs []uint64, n int) {
	tb.Helper()
	if len(seqs) != n {
		tb.Fatalf("handled %d messages; want %d", len(seqs), n)
	}
	for i, s := range seqs {
		if s != uint64(i+1) {
			tb.Fatalf("message %d handled was seq %d; want %d (in order, each once)", i, s, i+1)
		}
	}
}

func TestWorkerHandsOutBatchesInOrderAndAcksThem(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	stream := workerStream(t, js, 2000)
	var l workerLog
	w := newWorker(js, &l)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- w.Run(ctx, func(_ context.Context, batch []jetstream.Msg) error { l.record(batch); return nil })
	}()
	waitFor(t, "2000 messages handled", func() bool { return l.count() == 2000 })
	waitFor(t, "the ack floor at 2000", func() bool {
		c, err := stream.Consumer(context.Background(), "worker")
		return err == nil && c.CachedInfo().AckFloor.Stream == 2000
	})
	cancel()
	<-done
	inOrderOnce(t, l.seqs, 2000)
	if l.biggest < 2 || l.batches >= 2000 {
		t.Errorf("2000 messages came in %d batches (biggest %d); want batches of more than one", l.batches, l.biggest)
	}
	if l.biggest > 100 {
		t.Errorf("biggest batch %d; want at most MaxBatch 100", l.biggest)
	}
}

// A handler that fails resumes from its owner's record, however many messages were in flight:
// what the owner recorded is every message once, in order.
func TestWorkerResumesFromTheOwnersRecordAfterAFailure(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	workerStream(t, js, 1000)
	var l workerLog
	w := newWorker(js, &l)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	failed := 0
	go w.Run(ctx, func(_ context.Context, batch []jetstream.Msg) error {
		md, _ := batch[len(batch)-1].Metadata()
		if md.Sequence.Stream >= 500 && failed < 2 {
			failed++
			// Half the batch reached the owner's record before the failure.
			l.record(batch[:len(batch)/2])
			return errors.New("the database is away")
		}
		l.record(batch)
		return nil
	})
	waitFor(t, "1000 messages recorded", func() bool { return l.count() >= 1000 })
	cancel()
	l.mu.Lock()
	defer l.mu.Unlock()
	inOrderOnce(t, l.seqs, 1000)
}

// Two instances: the server hands the messages to the pinned one alone; when it stops, the other
// takes over at once (it unpinned itself) and goes on from the record.
func TestWorkerOneActiveInstanceAndHandover(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	workerStream(t, js, 300)
	var l workerLog
	var mu sync.Mutex
	who := map[string]int{}
	run := func(name string) (stop func()) {
		_, js := srv.Connect(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			newWorker(js, &l).Run(ctx, func(_ context.Context, batch []jetstream.Msg) error {
				mu.Lock()
				who[name] += len(batch)
				mu.Unlock()
				l.record(batch)
				return nil
			})
		}()
		return func() { cancel(); <-done }
	}
	stopA := run("a")
	waitFor(t, "300 messages handled", func() bool { return l.count() == 300 })
	stopB := run("b")
	defer stopB()
	publish(t, js, 300, 200)
	waitFor(t, "500 messages handled", func() bool { return l.count() == 500 })
	mu.Lock()
	if who["b"] != 0 {
		t.Errorf("the standby handled %d messages while the active instance ran; want 0", who["b"])
	}
	mu.Unlock()
	stopA()
	publish(t, js, 500, 100)
	waitFor(t, "600 messages handled", func() bool { return l.count() == 600 })
	mu.Lock()
	if who["b"] != 100 {
		t.Errorf("after the handover the standby handled %d messages; want 100", who["b"])
	}
	mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	inOrderOnce(t, l.seqs, 600)
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 7: time.Minute, 50: time.Minute} {
		if got := events.Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %v; want %v", n, got, want)
		}
	}
}

// An Unordered worker settles each message on its own: one handed back for later waits while
// the others go on, and comes again (it is not taken for a redelivery of what was handled); one
// whose handling failed comes again after a backoff. None is dropped, each is acknowledged once
// handled, and the durable is not moved back to Resume.
func TestUnorderedWorkerHandsBackWithoutHoldingUpOthers(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	stream := workerStream(t, js, 5)
	w := &events.Worker{JS: js, Stream: "WORK", MaxBatch: 1, Unordered: true,
		Resume:   func(context.Context) (uint64, error) { return 0, nil },
		Consumer: jetstream.ConsumerConfig{Durable: "triggers", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 100}}
	var mu sync.Mutex
	var handled []uint64
	seen := map[uint64]int{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- w.Run(ctx, func(_ context.Context, batch []jetstream.Msg) error {
			md, _ := batch[0].Metadata()
			seq := md.Sequence.Stream
			mu.Lock()
			defer mu.Unlock()
			seen[seq]++
			switch {
			case seq == 2 && seen[seq] == 1:
				return &events.Later{After: 300 * time.Millisecond}
			case seq == 4 && seen[seq] == 1:
				return errors.New("the log is away")
			}
			handled = append(handled, seq)
			return nil
		})
	}()
	waitFor(t, "5 messages handled", func() bool { mu.Lock(); defer mu.Unlock(); return len(handled) == 5 })
	waitFor(t, "the ack floor at 5", func() bool {
		c, err := stream.Consumer(context.Background(), "triggers")
		return err == nil && c.CachedInfo().AckFloor.Stream == 5 && c.CachedInfo().NumAckPending == 0
	})
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	pos := map[uint64]int{}
	for i, s := range handled {
		pos[s] = i
	}
	if len(pos) != 5 {
		t.Fatalf("handled %v; want each of 1..5 once", handled)
	}
	if pos[3] > pos[2] {
		t.Errorf("handled %v; want 3 handled while 2 waited to come again", handled)
	}
	if seen[2] != 2 || seen[4] != 2 {
		t.Errorf("deliveries %v; want 2 and 4 twice (handed back once), the others once", seen)
	}

	// A restart with a Resume behind the acknowledgements leaves the durable where it is:
	// nothing is handed out again.
	_, js2 := srv.Connect(t)
	w.JS = js2
	if err := w.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := stream.Consumer(context.Background(), "triggers")
	if err != nil || c.CachedInfo().NumPending != 0 || c.CachedInfo().AckFloor.Stream != 5 {
		t.Errorf("after Ensure the durable has %+v (%v); want it left at its acknowledgements", c.CachedInfo(), err)
	}
}
