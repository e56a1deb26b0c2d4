package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	nethttp "net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/events"
)

// PublicStream fans the public stream out to readers; *events.PublicHub implements it.
type PublicStream interface {
	// Subscribe takes a place for a reader that has seen up to sequence after (fromNow: only
	// new messages). It returns events.ErrHubFull at the instance's cap of streams, and
	// events.ErrHubClosed when the instance stops.
	Subscribe(after uint64, fromNow bool) (*events.PublicSubscription, error)
}

var sseKeepAliveComment = []byte(": keep-alive\n\n")

const (
	// sseKeepAlive is how often an idle event stream sends a comment, so that proxies keep it open.
	sseKeepAlive = 15 * time.Second
	// sseWriteTimeout bounds one write to a reader: one that stops reading is let go, not
	// waited for.
	sseWriteTimeout = 20 * time.Second
	// A reader turned away at the cap is told to come back after sseRetryMin plus up to
	// sseRetryJitter, spread so that a crowd does not come back all at once.
	sseRetryMin    = 5 * time.Second
	sseRetryJitter = 10 * time.Second
)

// events serves the public stream as server-sent events: each event's id is its
// NEWSROOM_PUBLIC sequence, its name the CloudEvent type, its data a JSON object with the
// CloudEvent's id, time and subject and the ninjs document. Last-Event-ID (or ?since=) resumes
// after that sequence; without either, the stream starts with what is published from now on.
func (api *publicAPI) events(c echo.Context) error {
	after, fromNow := uint64(0), true
	if raw := firstOf(c.Request().Header.Get("Last-Event-ID"), c.QueryParam("since")); raw != "" {
		seq, err := strconv.ParseUint(strings.TrimSpace(raw), 10, 64)
		if err != nil {
			return malformed("Last-Event-ID or since %q must be an event id of this stream (a whole number)", raw)
		}
		after, fromNow = seq, false
	}
	sub, err := api.publicStream.Subscribe(after, fromNow)
	if errors.Is(err, events.ErrHubFull) {
		return comeBackLater(c, "this instance serves as many streams as it may; come back later")
	}
	if errors.Is(err, events.ErrHubClosed) {
		return comeBackLater(c, "this instance is stopping; reconnect")
	}
	if err != nil {
		return err
	}
	defer sub.Close()

	w := c.Response()
	rc := nethttp.NewResponseController(w.Writer)
	startEventStream(w)
	var mu sync.Mutex // the keep-alive and the events write to the same response
	ctx, cancel := context.WithCancel(c.Request().Context())
	watching := make(chan struct{})
	// The watcher is gone before the response is finished: it must not set a deadline on a
	// connection that serves the next request.
	defer func() { cancel(); <-watching }()
	var deadline time.Time // of the writes; under mu
	write := func(frame []byte) error {
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// A stream outlives the server's write timeout, meant for ordinary responses: writes
		// get their own, moved on only when half of it is gone (moving it costs as much as a
		// small write, and every reader gets every message).
		if now := time.Now(); deadline.Sub(now) < sseWriteTimeout/2 {
			deadline = now.Add(sseWriteTimeout)
			_ = rc.SetWriteDeadline(deadline)
		}
		if _, err := w.Write(frame); err != nil {
			return err
		}
		w.Flush()
		return nil
	}
	// One goroutine per stream besides the handler's (10,000 streams are the default cap):
	// keep-alives, shutdown, and the hub cutting the reader off.
	go func() {
		defer close(watching)
		t := time.NewTicker(sseKeepAlive)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-api.closing: // shutting down: the client reconnects elsewhere with Last-Event-ID
				cancel()
				return
			case <-sub.Cut():
				// Cut off for falling behind, and likely blocked writing to a reader that does
				// not read: end the write now. The reader reconnects with Last-Event-ID.
				cancel()
				_ = rc.SetWriteDeadline(time.Now())
				return
			case <-t.C:
				if write(sseKeepAliveComment) != nil {
					cancel()
					return
				}
			}
		}
	}()
	err = sub.Run(ctx, func(m events.PublicMessage) error {
		frame, err := api.frames.frame(m)
		if err != nil {
			return err
		}
		return write(frame)
	})
	if err != nil && ctx.Err() == nil && !errors.Is(err, events.ErrCutOff) && !errors.Is(err, events.ErrHubClosed) {
		// The response has started: the client sees the stream end, and reconnects with
		// Last-Event-ID. The error is logged. (Cut-offs are counted by the hub: a slow reader
		// is the reader's business.)
		api.log.Warn("public event stream ended by an error; the reader reconnects", "error", err,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	}
	return nil
}

func startEventStream(w *echo.Response) {
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(nethttp.StatusOK)
	w.Flush()
}

// comeBackLater turns a reader away at the cap of streams in a way EventSource honours: it
// gives up for good on any status but 200, so the answer is an event stream that sets the
// reconnection delay (retry, with jitter) and ends at once. Retry-After says the same to other
// clients.
func comeBackLater(c echo.Context, why string) error {
	wait := sseRetryMin + rand.N(sseRetryJitter)
	w := c.Response()
	w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	startEventStream(w)
	_, err := fmt.Fprintf(w, ": %s\nretry: %d\n\n", why, wait.Milliseconds())
	w.Flush()
	return err
}

// sseFrames keeps the latest messages as server-sent events: every reader of the fan-out gets
// the same message at the same moment, and encoding it once instead of once per reader is
// most of the work saved. The first reader of a message encodes it; the others wait for that.
type sseFrames struct {
	mu     sync.RWMutex
	bySeq  map[uint64]*sseFrame
	recent []uint64 // the sequences kept, as a ring: the oldest is forgotten first
	next   int
}

type sseFrame struct {
	once  sync.Once
	frame []byte // shared by every reader: never changed once made
	err   error
}

// sseFramesKept covers the messages readers are sending at once: those behind it are
// encoded again, which costs time, never correctness.
const sseFramesKept = 1024

func newSSEFrames() *sseFrames {
	return &sseFrames{bySeq: make(map[uint64]*sseFrame, sseFramesKept), recent: make([]uint64, sseFramesKept)}
}

// frame is m as a server-sent event: id, event name, data.
func (f *sseFrames) frame(m events.PublicMessage) ([]byte, error) {
	f.mu.RLock()
	e := f.bySeq[m.Seq]
	f.mu.RUnlock()
	if e == nil {
		f.mu.Lock()
		if e = f.bySeq[m.Seq]; e == nil {
			e = &sseFrame{}
			delete(f.bySeq, f.recent[f.next])
			f.bySeq[m.Seq], f.recent[f.next] = e, m.Seq
			f.next = (f.next + 1) % len(f.recent)
		}
		f.mu.Unlock()
	}
	e.once.Do(func() {
		data, err := json.Marshal(map[string]any{"id": m.ID, "type": m.Type, "time": m.Time,
			"subject": m.Article, "data": json.RawMessage(m.Data)})
		e.frame, e.err = fmt.Appendf(nil, "id: %d\nevent: %s\ndata: %s\n\n", m.Seq, m.Type, data), err
	})
	return e.frame, e.err
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
