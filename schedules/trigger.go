package schedules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/events"
)

// earlyMargin is added to the wait of a trigger that came early, so that it does not come
// back a hair before its time again.
const earlyMargin = 5 * time.Millisecond

// fire executes one due trigger (the trigger worker hands them one by one) through the
// editorial desk, as newsroom's scheduler. A trigger that no longer applies is dropped; one that
// came before its time by this instance's clock is handed back until then; one that met a log
// that did not answer is handed back after a backoff. None is dropped before the domain has
// decided on it.
func (s *Scheduler) fire(ctx context.Context, batch []jetstream.Msg) error {
	msg := batch[0]
	md, err := msg.Metadata()
	if err != nil {
		return err
	}
	log := s.cfg.Logger.With("subject", msg.Subject(), "trigger", md.Sequence.Stream)
	due, err := dueOf(msg.Subject(), msg.Data())
	if err != nil {
		log.Warn("schedules: not a trigger newsroom wrote; dropped", "error", err)
		s.forget(ctx, md.Sequence.Stream)
		return nil
	}
	log = log.With("article", due.ArticleID, "kind", string(due.Kind), "due_at", due.At)
	var missingAlt *editorial.MissingAltError
	res, err := s.cfg.Commands.Execute(ctx, due.ArticleID, due.Command(), editorial.Request{
		By:    domain.Scheduler,
		Trace: events.Trace{CorrelationID: fmt.Sprintf("schedule-%d", md.Sequence.Stream), CausationID: due.Cause},
	})
	switch {
	case err == nil:
		late := res.Article.UpdatedAt.Sub(due.At) // the decision's time, as the event records it
		level := slog.LevelInfo
		if late > s.cfg.LateWarning {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "schedules: "+string(res.Recorded)+" on schedule", "late", late, "position", res.Position)
	case errors.Is(err, domain.ErrTooEarly):
		wait := time.Until(due.At) + earlyMargin
		log.Info("schedules: the trigger came before its time by this instance's clock; handed back until then", "wait", wait)
		return &events.Later{After: max(wait, earlyMargin)}
	case errors.As(err, &missingAlt):
		// Published without it, the image says nothing to a screen reader; dropped, the article
		// would stay scheduled for ever. It waits, and goes out once the image is described.
		log.Warn("schedules: the publication waits: an image has no alt text (PATCH /api/v1/media/{id}); trying again",
			"media_ids", missingAlt.IDs, "retry", s.cfg.MissingAltRetry)
		return &events.Later{After: s.cfg.MissingAltRetry}
	case errors.Is(err, domain.ErrInvalidTransition), errors.Is(err, domain.ErrNotFound):
		log.Info("schedules: the schedule no longer applies; trigger dropped", "reason", err.Error())
	default:
		return fmt.Errorf("schedules: trigger for article %s: %w", due.ArticleID, err)
	}
	s.forget(ctx, md.Sequence.Stream)
	return nil
}

// forget deletes a handled trigger, so that the stream does not grow with every schedule ever
// fired. One left behind (the delete failed) is handed out again only to a new durable, and
// records nothing then.
func (s *Scheduler) forget(ctx context.Context, seq uint64) {
	if err := s.stream.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		s.cfg.Logger.Debug("schedules: delete a handled trigger", "trigger", seq, "error", err)
	}
}
