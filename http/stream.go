package http

import (
	"context"
	"encoding/json"
	"fmt"
	nethttp "net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/events"
)

// PublicStream follows the public stream; *events.PublicReader implements it.
type PublicStream interface {
	Follow(ctx context.Context, after uint64, fromNow bool, fn func(events.PublicMessage) error) error
}

// sseKeepAlive is how often an idle event stream sends a comment, so that proxies keep it open.
const sseKeepAlive = 15 * time.Second

// stream serves the public stream as server-sent events: each event's id is its
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
	w := c.Response()
	// A stream outlives the server's write timeout, which is meant for ordinary responses.
	_ = nethttp.NewResponseController(w.Writer).SetWriteDeadline(time.Time{})
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(nethttp.StatusOK)
	w.Flush()

	var mu sync.Mutex // the keep-alive and the events write to the same response
	write := func(s string) error {
		mu.Lock()
		defer mu.Unlock()
		if _, err := w.Write([]byte(s)); err != nil {
			return err
		}
		w.Flush()
		return nil
	}
	ctx, cancel := context.WithCancel(c.Request().Context())
	defer cancel()
	if api.closing != nil {
		go func() {
			select {
			case <-api.closing: // shutting down: the client reconnects elsewhere with Last-Event-ID
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	go func() {
		t := time.NewTicker(sseKeepAlive)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if write(": keep-alive\n\n") != nil {
					cancel()
					return
				}
			}
		}
	}()
	err := api.publicStream.Follow(ctx, after, fromNow, func(m events.PublicMessage) error {
		data, err := json.Marshal(map[string]any{"id": m.ID, "type": m.Type, "time": m.Time,
			"subject": m.Article, "data": json.RawMessage(m.Data)})
		if err != nil {
			return err
		}
		return write(fmt.Sprintf("id: %d\nevent: %s\ndata: %s\n\n", m.Seq, m.Type, data))
	})
	if err != nil && ctx.Err() == nil {
		// The response has started: the client sees the stream end, and reconnects with
		// Last-Event-ID. The error is logged.
		c.Logger().Warn("public event stream: ", err)
	}
	return nil
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
