package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of HubConfig.
const (
	DefaultRingMessages = 10_000
	DefaultRingBytes    = 64 << 20
	DefaultClientQueue  = 256
	DefaultMaxClients   = 10_000
	DefaultPastReads    = 4
)

// pastReadBatch is how many messages one read beyond the ring fetches; a reader far behind
// reads again, each time with a consumer of its own that is deleted at once.
const pastReadBatch = 256

// refusalLogEvery bounds how often refused subscribers are logged: a crowd being turned away
// must not flood the log.
const refusalLogEvery = 10 * time.Second

var (
	// ErrHubFull: the hub has as many subscribers as it may; the caller should come back later.
	ErrHubFull = errors.New("public stream: too many subscribers on this instance")
	// ErrCutOff: the subscriber fell further behind the live stream than its queue holds.
	// It may resume after the last message it got.
	ErrCutOff = errors.New("public stream: subscriber fell behind and was cut off")
	// ErrHubClosed: the hub is stopping.
	ErrHubClosed = errors.New("public stream: closed")
)

// HubConfig sizes a PublicHub; zero values take the defaults.
type HubConfig struct {
	RingMessages int // most messages the ring keeps for resuming readers
	RingBytes    int // most bytes the ring keeps
	ClientQueue  int // live messages queued for one subscriber before it is cut off
	MaxClients   int // concurrent subscribers
	PastReads    int // concurrent reads of the stream for readers that resume beyond the ring
	Logger       *slog.Logger
}

// HubStats counts what a hub did since it started.
type HubStats struct {
	Subscribers  int    // subscribed now
	Refused      uint64 // turned away at MaxClients
	CutOff       uint64 // cut off for falling behind
	PastReads    uint64 // reads of the stream beyond the ring
	RingMessages int
	RingBytes    int
	Last         uint64 // sequence of the newest message seen
}

// PublicHub is an instance's one reader of the public stream: a single ordered consumer whose
// messages go to a bounded ring of the latest ones and to every subscriber's bounded queue.
// However many readers an instance serves, the server holds one consumer for it (plus, for a
// moment, one per resume beyond the ring, at most PastReads at a time).
type PublicHub struct {
	js        jetstream.JetStream
	cfg       HubConfig
	log       *slog.Logger
	stream    jetstream.Stream
	pastReads chan struct{} // a semaphore
	follower  *PublicFollower
	done      chan struct{} // closed when the reading goroutine ends

	mu        sync.Mutex
	ring      publicRing
	last      uint64            // newest sequence seen
	startLast uint64            // the stream's last sequence when the hub started
	killed    map[string]uint64 // article → its kill's sequence, while the kill is in the ring
	subs      map[*PublicSubscription]struct{}
	closed    bool
	stats     HubStats
	refusedAt time.Time // when refusals were last logged
	refusals  uint64    // refusals since then
}

// NewPublicHub returns a hub reading through js; Start starts it.
func NewPublicHub(js jetstream.JetStream, cfg HubConfig) *PublicHub {
	defaults := HubConfig{RingMessages: DefaultRingMessages, RingBytes: DefaultRingBytes,
		ClientQueue: DefaultClientQueue, MaxClients: DefaultMaxClients, PastReads: DefaultPastReads}
	for _, p := range []struct{ v, def *int }{{&cfg.RingMessages, &defaults.RingMessages},
		{&cfg.RingBytes, &defaults.RingBytes}, {&cfg.ClientQueue, &defaults.ClientQueue},
		{&cfg.MaxClients, &defaults.MaxClients}, {&cfg.PastReads, &defaults.PastReads}} {
		if *p.v <= 0 {
			*p.v = *p.def
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &PublicHub{js: js, cfg: cfg, log: cfg.Logger, pastReads: make(chan struct{}, cfg.PastReads),
		done: make(chan struct{}), killed: map[string]uint64{}, subs: map[*PublicSubscription]struct{}{},
		ring: publicRing{maxCount: cfg.RingMessages, maxBytes: cfg.RingBytes}}
}

// prefillWait bounds how long Start waits for the ring to fill with the stream's latest messages.
const prefillWait = 5 * time.Second

// Start subscribes to the public stream (which must exist) from its latest RingMessages
// messages, so that a reader reconnecting right after a restart resumes from memory, and
// returns once they are in the ring (or after prefillWait).
func (h *PublicHub) Start(ctx context.Context) error {
	stream, err := h.js.Stream(ctx, PublicStreamName)
	if err != nil {
		return fmt.Errorf("public hub: %w", unavailable(err))
	}
	h.stream = stream
	last := stream.CachedInfo().State.LastSeq
	start := uint64(1)
	if last >= uint64(h.cfg.RingMessages) {
		start = last - uint64(h.cfg.RingMessages) + 1
	}
	h.mu.Lock()
	h.ring.floor, h.last, h.startLast = start-1, start-1, last
	h.mu.Unlock()
	if h.follower, err = FollowPublic(ctx, h.js, start-1, false); err != nil {
		return fmt.Errorf("public hub: %w", err)
	}
	go h.read()
	deadline := time.NewTimer(prefillWait)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for h.Stats().Last < last {
		select {
		case <-tick.C:
		case <-deadline.C:
			h.log.Warn("public hub: the ring is not filled yet; resumes read the stream meanwhile", "at", h.Stats().Last, "stream_last", last)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// read takes every message from the follower until Close. The ordered consumer recreates
// itself after a reconnect or a lost heartbeat, from the message after the last it gave.
func (h *PublicHub) read() {
	defer close(h.done)
	for {
		m, err := h.follower.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return
		}
		if err != nil {
			// Not expected: the ordered consumer retries by itself. Log and go on.
			h.log.Warn("public hub: read the public stream", "error", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		h.fanOut(&m)
	}
}

// fanOut keeps m in the ring and queues it for every subscriber, cutting off any whose queue
// is full: a slow reader never holds up the others, nor grows the hub's memory.
func (h *PublicHub) fanOut(m *PublicMessage) {
	action, article, _ := publicSubjectParts(m.Subject)
	h.mu.Lock()
	defer h.mu.Unlock()
	if m.Seq <= h.last {
		return // the ordered consumer never goes back; a replay after a failure might
	}
	h.last = m.Seq
	if action == ActionKilled {
		h.killed[article] = m.Seq
		h.ring.purge(article)
	}
	for _, old := range h.ring.push(m, article) {
		if h.killed[old.article] == old.msg.Seq {
			// The kill leaves the ring long after the outbox erased the article's text
			// from the stream (it does so right after publishing the kill).
			delete(h.killed, old.article)
		}
	}
	for s := range h.subs {
		select {
		case s.live <- m:
		default:
			h.drop(s)
			close(s.cut)
			h.stats.CutOff++
		}
	}
}

// Subscribe takes a place in the fan-out for a reader that has seen the stream up to sequence
// after (0: nothing); with fromNow, it gets only what is published from now on. Run delivers;
// Close gives the place back. It returns ErrHubFull at MaxClients, ErrHubClosed after Close.
func (h *PublicHub) Subscribe(after uint64, fromNow bool) (*PublicSubscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrHubClosed
	}
	if len(h.subs) >= h.cfg.MaxClients {
		h.stats.Refused++
		h.refusals++
		if now := time.Now(); now.Sub(h.refusedAt) >= refusalLogEvery {
			h.log.Warn("public stream: readers turned away, at the cap of concurrent streams",
				"refused", h.refusals, "cap", h.cfg.MaxClients)
			h.refusedAt, h.refusals = now, 0
		}
		return nil, ErrHubFull
	}
	if fromNow {
		after = max(h.last, h.startLast)
	}
	s := &PublicSubscription{hub: h, pos: after, upTo: h.last,
		live: make(chan *PublicMessage, h.cfg.ClientQueue), cut: make(chan struct{})}
	h.subs[s] = struct{}{}
	return s, nil
}

// drop removes s from the fan-out; h.mu is held.
func (h *PublicHub) drop(s *PublicSubscription) {
	delete(h.subs, s)
}

// Stats returns the hub's counters.
func (h *PublicHub) Stats() HubStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.stats
	st.Subscribers, st.RingMessages, st.RingBytes, st.Last = len(h.subs), h.ring.len(), h.ring.bytes, h.last
	return st
}

// Close stops reading, deletes the hub's consumer from the server and ends every
// subscription (their Run returns ErrHubClosed).
func (h *PublicHub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	for s := range h.subs {
		h.drop(s)
		close(s.cut)
	}
	h.mu.Unlock()
	if h.follower != nil {
		h.follower.Stop()
		<-h.done
	}
	return nil
}

// backlog returns what a subscriber at pos has missed up to upTo, at most a batch of it, and
// the sequence up to which the batch covers the stream (covered > pos, or the subscriber is
// caught up). From the ring when the ring holds everything after pos; from one short read of
// the stream otherwise.
func (h *PublicHub) backlog(ctx context.Context, pos, upTo uint64) (batch []*PublicMessage, covered uint64, err error) {
	h.mu.Lock()
	if pos >= h.ring.floor {
		batch = h.ring.after(pos, upTo, pastReadBatch)
		h.mu.Unlock()
		if len(batch) < pastReadBatch {
			return batch, upTo, nil
		}
		return batch, batch[len(batch)-1].Seq, nil
	}
	h.mu.Unlock()

	select {
	case h.pastReads <- struct{}{}:
	case <-ctx.Done():
		return nil, pos, ctx.Err()
	}
	defer func() { <-h.pastReads }()
	read, last := 0, pos
	err = readOnce(ctx, h.stream, []string{PublicSubjectAll}, pos+1, pastReadBatch, func(msg jetstream.Msg, seq uint64) error {
		read, last = read+1, seq
		if seq <= upTo {
			m := PublicMessageOf(seq, msg.Subject(), msg.Headers(), msg.Data())
			batch = append(batch, &m)
		}
		return nil
	})
	if err != nil {
		return nil, pos, fmt.Errorf("public stream: read from %d: %w", pos+1, err)
	}
	h.mu.Lock()
	h.stats.PastReads++
	// A killed article's messages may still be in the stream for a moment after the kill
	// (the outbox erases them right after publishing it): never hand them out again.
	kept := batch[:0]
	for _, m := range batch {
		if _, article, _ := publicSubjectParts(m.Subject); h.killed[article] <= m.Seq {
			kept = append(kept, m)
		}
	}
	h.mu.Unlock()
	if read < pastReadBatch || last >= upTo {
		return kept, upTo, nil // the read reached the end of the stream, or upTo
	}
	return kept, last, nil
}

// PublicSubscription is one reader's place in a hub's fan-out.
type PublicSubscription struct {
	hub  *PublicHub
	pos  uint64 // the reader has seen the stream up to here
	upTo uint64 // newer messages than this come through live
	live chan *PublicMessage
	cut  chan struct{} // closed when the hub drops the subscription
	once sync.Once
}

// Cut is closed when the hub cuts the subscription off (it fell behind) or closes: a caller
// blocked writing to a reader that does not read should give up then.
func (s *PublicSubscription) Cut() <-chan struct{} { return s.cut }

// Run calls fn with every message after the subscription's start, in order, each once: first
// what was missed (from the ring, or read from the stream), then the live messages. It
// returns when ctx ends (nil), fn fails (its error), the reader falls behind (ErrCutOff), the
// hub closes (ErrHubClosed), or the stream cannot be read (ErrUnavailable).
func (s *PublicSubscription) Run(ctx context.Context, fn func(PublicMessage) error) error {
	defer s.Close()
	deliver := func(m *PublicMessage) error {
		if m.Seq <= s.pos {
			return nil // sent already, while catching up
		}
		if err := fn(*m); err != nil {
			return err
		}
		s.pos = m.Seq
		return nil
	}
	for s.pos < s.upTo {
		if err := s.stopped(ctx); err != nil {
			return err
		}
		batch, covered, err := s.hub.backlog(ctx, s.pos, s.upTo)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, m := range batch {
			if err := deliver(m); err != nil {
				return err
			}
		}
		s.pos = max(s.pos, covered)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.cut:
			return s.stopped(ctx)
		case m := <-s.live:
			if err := deliver(m); err != nil {
				return err
			}
		}
	}
}

// stopped says why the subscription must end, if it must.
func (s *PublicSubscription) stopped(ctx context.Context) error {
	if ctx.Err() != nil {
		return nil
	}
	select {
	case <-s.cut:
		s.hub.mu.Lock()
		closed := s.hub.closed
		s.hub.mu.Unlock()
		if closed {
			return ErrHubClosed
		}
		return ErrCutOff
	default:
		return nil
	}
}

// Close gives the subscription's place back. It may be called more than once.
func (s *PublicSubscription) Close() {
	s.once.Do(func() {
		s.hub.mu.Lock()
		s.hub.drop(s)
		s.hub.mu.Unlock()
	})
}
