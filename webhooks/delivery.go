// The per-webhook worker: one feed delivered to one endpoint, attempt by attempt, with its
// records (delivered, failed, skipped) and the wait between attempts.

package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	nethttp "net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/events"
)

// worker delivers one feed to one webhook.
type worker struct {
	d      *Dispatcher
	id     string
	feed   feed
	stream jetstream.Stream
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
}

// run delivers the webhook's messages one at a time, through the one durable worker of the
// read side, until ctx ends or the webhook is gone.
func (w *worker) run(ctx context.Context) {
	err := w.d.durable(w.id, w.feed, w.log).Run(ctx, func(ctx context.Context, batch []jetstream.Msg) error { return w.deliver(ctx, batch[0]) })
	if errors.Is(err, events.ErrStopWorker) {
		// Deleted (perhaps through another instance while this one recreated the durable):
		// leave no orphan consumer behind.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, lerr := w.d.reg.load(dctx, w.id); errors.Is(lerr, ErrNotFound) {
			_ = w.d.js.DeleteConsumer(dctx, w.feed.stream, DurablePrefix+w.id)
		}
	}
}

// durable is the durable worker of webhook id's consumer on a feed's stream; it resumes after
// the webhook's cursor there, the last message of that stream it was delivered.
func (d *Dispatcher) durable(id string, f feed, log *slog.Logger) *events.Worker {
	return &events.Worker{JS: d.js, Stream: f.stream, MaxBatch: 1, Logger: log,
		Consumer: d.consumerConfig(id, f), Resume: func(ctx context.Context) (uint64, error) {
			reg, err := d.reg.load(ctx, id)
			if errors.Is(err, ErrNotFound) || (err == nil && !f.receives(reg.Webhook)) {
				return 0, fmt.Errorf("webhook %s: %w", id, events.ErrStopWorker)
			}
			return f.cursor(reg.Webhook), err
		}}
}

// errNotDelivered: the message in hand was not delivered (shutdown, or the registry was
// unreadable); the worker hands it back, or delivers it again from the cursor.
var errNotDelivered = errors.New("webhook message not delivered")

// deliver delivers one message: it retries until the endpoint answers 2xx, or the message
// turns out erased (then records it skipped): nil, and the worker acknowledges it. Otherwise
// (ctx ended, the webhook was deleted, the registry is unreadable) it returns an error, and
// the message is handed back or delivered again from the cursor.
func (w *worker) deliver(ctx context.Context, msg jetstream.Msg) error {
	md, err := msg.Metadata()
	if err != nil {
		return err
	}
	seq := md.Sequence.Stream
	giveBack := func() error { return errNotDelivered }

	reg, err := w.d.reg.load(ctx, w.id)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("webhook %s: %w", w.id, events.ErrStopWorker)
	}
	if err != nil {
		return fmt.Errorf("webhooks: read the registration: %w", err)
	}
	delivered := w.feed.cursor(reg.Webhook)
	if seq <= delivered {
		return nil // delivered already; the ack was lost
	}
	// The consumer passes over deleted messages without a word: those between the cursor and
	// this one were erased (a legal kill) while they waited behind an earlier one. Each is
	// recorded skipped, in its place, before this one is tried.
	for gap := delivered + 1; gap < seq; gap++ {
		if err := w.skipErased(ctx, gap); err != nil {
			return err
		}
	}
	last, err := w.d.reg.lastAttempt(ctx, w.id, w.feed.name, seq)
	if err != nil {
		return fmt.Errorf("webhooks: read the last attempt: %w", err)
	}
	attempt, next := 0, time.Time{}
	if last != nil {
		attempt, next = last.Attempt, last.NextRetryAt // after a restart: carry on where it was
	}
	for {
		if !sleep(ctx, time.Until(next)) {
			return giveBack()
		}
		if attempt > 0 {
			// This worker may have lost the message during the wait (its connection was away
			// longer than AckWait) to another instance, which delivered it and went on: sending
			// it again would be a duplicate, and could land after the next one.
			if now, err := w.d.reg.load(ctx, w.id); err == nil && seq <= w.feed.cursor(now.Webhook) {
				return nil
			} else if errors.Is(err, ErrNotFound) {
				return fmt.Errorf("webhook %s deleted meanwhile: %w", w.id, events.ErrStopWorker)
			}
		}
		// The payload is read afresh for each attempt: a message erased meanwhile (a legal
		// kill) is never sent again, and no copy of it lingers here between attempts.
		raw, err := w.stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			// Its attributes (no text) as the consumer handed it over.
			pm := events.PublicMessageOf(seq, msg.Subject(), msg.Headers(), nil)
			d := Delivery{WebhookID: w.id, Stream: w.feed.name, Seq: seq, MessageID: pm.ID, EventType: pm.Type, ArticleID: pm.Article,
				Attempt: attempt + 1, AttemptedAt: time.Now(), Outcome: Skipped,
				Error: "erased from the " + w.feed.name + " stream before it was delivered"}
			if !w.record(ctx, d, true) {
				return giveBack()
			}
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return giveBack()
			}
			w.log.Warn("webhooks: read the message to deliver", "seq", seq, "error", err)
			next = time.Now().Add(time.Second) // not an attempt: nothing was sent
			continue
		}
		pm := events.PublicMessageOf(seq, raw.Subject, raw.Header, raw.Data)
		attempt++
		d := Delivery{WebhookID: w.id, Stream: w.feed.name, Seq: seq, MessageID: pm.ID, EventType: pm.Type, ArticleID: pm.Article,
			Attempt: attempt, AttemptedAt: time.Now()}
		status, err := w.post(ctx, reg, pm)
		d.Duration = time.Since(d.AttemptedAt)
		d.StatusCode = status
		verdict := w.d.retry.Judge(Attempt{Number: attempt, Status: status, Err: err, StartedAt: d.AttemptedAt, Elapsed: d.Duration})
		if verdict.Delivered {
			d.Outcome = Delivered
			// Recorded even if shutdown began meanwhile: the endpoint has the message, and
			// handing it back would send it again.
			recordCtx, cancel := withGrace(ctx, shutdownGrace)
			recorded := w.record(recordCtx, d, true)
			cancel()
			if !recorded {
				return giveBack()
			}
			return nil
		}
		if ctx.Err() != nil {
			return giveBack() // cut short by shutdown: not an attempt that says anything of the endpoint
		}
		d.Outcome, d.Error = Failed, verdict.Reason
		next = verdict.RetryAt
		d.NextRetryAt = next
		w.log.Warn("webhooks: delivery failed", "seq", seq, "attempt", attempt, "status", status,
			"error", d.Error, "next_retry_at", next)
		w.record(ctx, d, false)
	}
}

// skipErased records public message seq, which the consumer passed over, as skipped: it was
// erased, and its id, type and article went with it, so the record has its sequence and says
// why. A message still there is not skipped: the error makes the worker deliver from it again.
func (w *worker) skipErased(ctx context.Context, seq uint64) error {
	_, err := w.stream.GetMsg(ctx, seq)
	switch {
	case err == nil:
		return fmt.Errorf("webhooks: message %d was passed over but is in %s: delivering from it again", seq, w.feed.stream)
	case !errors.Is(err, jetstream.ErrMsgNotFound):
		return fmt.Errorf("webhooks: look for erased message %d: %w", seq, err)
	}
	d := Delivery{WebhookID: w.id, Stream: w.feed.name, Seq: seq, Attempt: 1, AttemptedAt: time.Now(), Outcome: Skipped,
		Error: "erased from the " + w.feed.name + " stream (a legal kill) before its turn; its id and type went with it"}
	if !w.record(ctx, d, true) {
		return errNotDelivered
	}
	return nil
}

// record stores an attempt. An attempt that moves the cursor (must) is retried until it is
// stored or ctx ends, so that a database outage holds the message rather than sends it twice;
// a failed attempt is recorded once, and not recording it only loses a line of the log.
func (w *worker) record(ctx context.Context, d Delivery, must bool) bool {
	if w.d.cfg.Observe != nil {
		w.d.cfg.Observe(d)
	}
	for wait := time.Second; ; wait = min(2*wait, time.Minute) {
		err := w.d.reg.Record(ctx, d)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		w.log.Warn("webhooks: record an attempt", "seq", d.Seq, "attempt", d.Attempt, "error", err)
		if !must {
			return false
		}
		if !sleep(ctx, wait) {
			return false
		}
	}
}

// post sends one signed attempt and returns the answer's status.
func (w *worker) post(ctx context.Context, reg registration, pm events.PublicMessage) (int, error) {
	body, err := pm.StructuredJSON()
	if err != nil {
		return 0, err
	}
	timestamp := time.Now().Unix()
	signature, err := Sign(reg.Secret, pm.ID, timestamp, body)
	if err != nil {
		return 0, err
	}
	req, err := nethttp.NewRequestWithContext(ctx, nethttp.MethodPost, reg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	h := req.Header
	h.Set("Content-Type", ContentType)
	h.Set("User-Agent", userAgent)
	h.Set(HeaderID, pm.ID)
	h.Set(HeaderTimestamp, strconv.FormatInt(timestamp, 10))
	h.Set(HeaderSignature, signature)
	resp, err := w.d.cfg.Client.Do(req)
	if err != nil {
		return 0, err
	}
	// Read a little so the connection can be reused; keep none of it.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// shutdownGrace is how long a delivery that succeeded may still take to be recorded once
// shutdown begins.
const shutdownGrace = 5 * time.Second

// withGrace returns a context that ends grace after ctx ends.
func withGrace(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	out, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return out, func() {
		stop()
		cancel()
	}
}

// sleep waits for d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
