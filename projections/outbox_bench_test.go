package projections_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/bench"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/embeddednats"
	"github.com/newsroom/newsroom/embeddednats/natstest"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
)

// The outbox's benchmarks run on an embedded server with serve's durability (fsync before
// every ack), with the communiqué of testdata/ as the published text, and report their figures
// beside the raw limit measured in the same run; they never fail on a figure.
//
//	go test -run=XXX -bench=Outbox -benchtime=1x ./projections

// fsyncedLog starts an embedded server that fsyncs before it acknowledges, as serve does.
func fsyncedLog(b *testing.B) (*embeddednats.Server, jetstream.JetStream, *events.Store) {
	b.Helper()
	srv := natstest.StartWith(b, embeddednats.Config{})
	_, js := srv.Connect(b)
	store, err := events.Open(context.Background(), js, 1)
	if err != nil {
		b.Fatal(err)
	}
	return srv.Server, js, store
}

func communique(b *testing.B) (headline, body string) {
	b.Helper()
	text, err := os.ReadFile("../testdata/nato-russia-council-ministers-meet.txt")
	if err != nil {
		b.Fatal(err)
	}
	headline, body, _ = strings.Cut(string(text), "\n")
	return headline, body
}

// appendPublished writes n publications of the communiqué, one per article, asynchronously
// (the fastest way to fill a log) and returns the last sequence.
func appendPublished(b *testing.B, js jetstream.JetStream, n int) uint64 {
	b.Helper()
	headline, body := communique(b)
	var futures []jetstream.PubAckFuture
	var last uint64
	wait := func() {
		for _, f := range futures {
			select {
			case ack := <-f.Ok():
				last = max(last, ack.Sequence)
			case err := <-f.Err():
				b.Fatal(err)
			}
		}
		futures = futures[:0]
	}
	for i := range n {
		if len(futures) == 256 {
			wait()
		}
		id := uuid.NewString()
		env, err := events.NewEnvelope(id, 1, domain.Published{Slug: fmt.Sprintf("communique-%d", i), PublishedAt: t0,
			Headline: headline, Body: body, Language: "en"}, editor, t0, events.Trace{})
		if err != nil {
			b.Fatal(err)
		}
		data, err := env.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		f, err := js.PublishMsgAsync(&nats.Msg{Subject: events.Subject(id), Data: data}, jetstream.WithMsgID(env.ID))
		if err != nil {
			b.Fatal(err)
		}
		futures = append(futures, f)
	}
	wait()
	return last
}

// BenchmarkOutboxCatchUp: 10,000 public events in the log, the outbox started: messages/s
// until it has published them all, beside the raw fsync'd synchronous publish rate of a
// payload of the same size (bench.RawPublish, 1 and 64 publishers) measured just before and just
// after it, on the same disk: on a shared machine the rate of fsyncs swings by a factor of two
// within a minute, so the ratio is taken against the mean of the two.
func BenchmarkOutboxCatchUp(b *testing.B) {
	const events = 10_000
	_, body := communique(b)
	ctx := context.Background()
	raw := func() (one, many float64) {
		r1, err := bench.RawPublish(ctx, b.TempDir(), false, body, 1, 3*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		r64, err := bench.RawPublish(ctx, b.TempDir(), false, body, 64, 3*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		return r1.PerSecond(), r64.PerSecond()
	}
	for range b.N {
		srv, js, store := fsyncedLog(b)
		last := appendPublished(b, js, events)
		before1, before64 := raw()
		o := projections.NewOutbox(projections.OutboxConfig{
			Connect:   func() (*nats.Conn, error) { return nats.Connect(srv.ClientURL()) },
			Log:       store,
			PublicURL: "https://news.example",
			Logger:    quietLog,
		})
		start := time.Now()
		if err := o.Start(ctx); err != nil {
			b.Fatal(err)
		}
		for o.LastSource() < last {
			time.Sleep(time.Millisecond)
		}
		elapsed := time.Since(start)
		_ = o.Close()
		after1, after64 := raw()
		rate := float64(events) / elapsed.Seconds()
		raw1, raw64 := (before1+after1)/2, (before64+after64)/2
		b.ReportMetric(rate, "msgs/s")
		b.ReportMetric(raw1, "raw1/s")
		b.ReportMetric(raw64, "raw64/s")
		b.ReportMetric(rate/max(raw1, raw64), "×raw")
		b.Logf("outbox after a burst of %d: %.0f msgs/s; raw fsync'd publishes before/after: %.0f/%.0f/s (1 publisher), %.0f/%.0f/s (64 publishers); ratio %.2f × the better raw mean",
			events, rate, before1, after1, before64, after64, rate/max(raw1, raw64))
	}
}

// BenchmarkKillErasure: the delay from a kill's append being answered to its article's text
// gone from NEWSROOM and NEWSROOM_PUBLIC, at 5 kills/s within 200 commands/s (revisions of
// drafts), with the outbox running. Two feeds of the eraser: "log" follows the log and enqueues
// each kill as soon as it is read (the views' reader will do so after its commit, which adds
// the views' commit time), "outbox" leaves it to the outbox's pass after it has published the
// kill.
func BenchmarkKillErasure(b *testing.B) {
	for _, feed := range []string{"log", "outbox"} {
		b.Run(feed, func(b *testing.B) {
			for range b.N {
				delays, rate := killLoad(b, feed == "log", 20*time.Second)
				slices.Sort(delays)
				p := func(q float64) time.Duration { return delays[min(len(delays)-1, int(q*float64(len(delays))))] }
				b.ReportMetric(float64(p(0.5).Milliseconds()), "p50-ms")
				b.ReportMetric(float64(p(0.99).Milliseconds()), "p99-ms")
				b.ReportMetric(rate, "commands/s")
				b.Logf("feed %s: %d kills within %.0f commands/s; kill → text gone: p50 %v, p99 %v, max %v",
					feed, len(delays), rate, p(0.5), p(0.99), delays[len(delays)-1])
			}
		})
	}
}

// killLoad runs the load for d and returns each kill's delay and the commands per second the
// log took (the load aims at 200; a slow disk gives fewer).
func killLoad(b *testing.B, followLog bool, d time.Duration) ([]time.Duration, float64) {
	b.Helper()
	const (
		commandsPerSecond = 200
		killEvery         = 40 // one command in 40 is a kill: 5/s
		workers           = 4
	)
	ctx := context.Background()
	srv, js, store := fsyncedLog(b)
	headline, body := communique(b)

	// The articles to kill, published (and on the public stream) before the load.
	kills := int(d.Seconds()*commandsPerSecond/killEvery) + workers
	type target struct {
		id   string
		last uint64
	}
	targets := make(chan target, kills)
	for i := range kills {
		id := uuid.NewString()
		var seq uint64
		for v, e := range []domain.Event{
			domain.Drafted{Headline: headline, Body: body, Language: "en"},
			domain.Published{Slug: fmt.Sprintf("doomed-%d", i), PublishedAt: t0, Headline: headline, Body: body, Language: "en"},
		} {
			env, err := events.NewEnvelope(id, v+1, e, editor, t0, events.Trace{})
			if err != nil {
				b.Fatal(err)
			}
			if seq, err = store.Append(ctx, env, seq); err != nil {
				b.Fatal(err)
			}
		}
		targets <- target{id, seq}
	}

	var mu sync.Mutex
	killedAt := map[string]time.Time{}
	var delays []time.Duration
	eraser := projections.NewEraser(js, quietLog)
	eraser.OnErased(func(id string, _ uint64, e events.Erasure) {
		mu.Lock()
		defer mu.Unlock()
		if at, ok := killedAt[id]; ok && e.LogEvents > 0 {
			delays = append(delays, time.Since(at))
			delete(killedAt, id)
		}
	})
	eraser.Start()
	defer eraser.Close()
	o := projections.NewOutbox(projections.OutboxConfig{
		Connect: func() (*nats.Conn, error) { return nats.Connect(srv.ClientURL()) }, Log: store,
		PublicURL: "https://news.example", Logger: quietLog, Eraser: eraser,
	})
	if err := o.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	last, err := store.LastSequence(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for o.LastSource() < last {
		time.Sleep(time.Millisecond)
	}
	if followLog {
		stop := followKills(b, js, last, eraser.Enqueue)
		defer stop()
	}

	b.ResetTimer()
	var issued, done atomic.Int64
	loadStart := time.Now()
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			draft, seq, version := uuid.NewString(), uint64(0), 0
			tick := time.NewTicker(time.Second * workers / commandsPerSecond)
			defer tick.Stop()
			for range tick.C {
				if time.Now().After(deadline) {
					return
				}
				if issued.Add(1)%killEvery == 0 {
					t := <-targets
					env, err := events.NewEnvelope(t.id, 3, domain.Killed{Reason: "Court order.", CreatedBy: editor.ID,
						CreatedAt: t0, LastRevisedBy: editor.ID, PublishedAt: t0, Timeline: []domain.Step{}}, editor, time.Now(), events.Trace{})
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock() // the erasure may be done before Append returns: note the time first
					killedAt[t.id] = time.Now()
					mu.Unlock()
					if _, err := store.Append(ctx, env, t.last); err != nil {
						b.Error(err)
						return
					}
					done.Add(1)
					mu.Lock()
					if _, pending := killedAt[t.id]; pending {
						killedAt[t.id] = time.Now() // answered: the delay counts from here
					}
					mu.Unlock()
					continue
				}
				version++
				var e domain.Event = domain.Revised{Changes: domain.Changes{Body: &body}}
				if version == 1 {
					e = domain.Drafted{Headline: headline, Body: body, Language: "en"}
				}
				env, err := events.NewEnvelope(draft, version, e, reporter, time.Now(), events.Trace{})
				if err != nil {
					b.Error(err)
					return
				}
				if seq, err = store.Append(ctx, env, seq); err != nil {
					b.Error(err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	rate := float64(done.Load()) / time.Since(loadStart).Seconds()
	waitUntil := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		left := len(killedAt)
		mu.Unlock()
		if left == 0 || time.Now().After(waitUntil) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	if len(killedAt) > 0 {
		b.Errorf("%d kills not erased within 30 s of the load's end", len(killedAt))
	}
	return delays, rate
}

// followKills calls enqueue with every kill appended to the log after sequence after, as soon
// as it is read, until stop is called.
func followKills(b *testing.B, js jetstream.JetStream, after uint64, enqueue func(string, uint64)) (stop func()) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := js.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.SubjectAll}, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: after + 1})
	if err != nil {
		b.Fatal(err)
	}
	cc, err := c.Consume(func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil {
			return
		}
		env, err := events.Unmarshal(m.Data(), md.Sequence.Stream)
		if err == nil && env.Type == domain.TypeKilled {
			enqueue(env.ArticleID, env.Sequence)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	return func() {
		cc.Stop()
		cancel()
	}
}
