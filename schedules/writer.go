package schedules

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
)

// write brings the schedules of a batch of log events up to date: for each article and kind,
// the last effect in the batch is written, fenced by its event's log sequence. The worker
// acknowledges the batch once this returns nil.
func (s *Scheduler) write(ctx context.Context, batch []jetstream.Msg) error {
	envs, err := events.EnvelopesOf(batch)
	if err != nil {
		return err
	}
	type target struct {
		id   string
		kind Kind
	}
	type change struct {
		effect
		cause string
		src   uint64
	}
	var order []target
	last := map[target]change{}
	for _, env := range envs {
		if !affects[env.Type] {
			continue
		}
		r, err := env.Recorded()
		if err != nil {
			return err
		}
		for _, ef := range effectsOf(r.Event) {
			t := target{env.ArticleID, ef.kind}
			if _, seen := last[t]; !seen {
				order = append(order, t)
			}
			last[t] = change{effect: ef, cause: env.ID, src: env.Sequence}
		}
	}
	for _, t := range order {
		c := last[t]
		if _, err := s.apply(ctx, t.id, c.kind, c.at, c.cause, c.src, false); err != nil {
			return err
		}
	}
	return nil
}

// applyAttempts bounds how often apply looks again after another write to the subject came
// between its read and its write.
const applyAttempts = 5

// apply sets article id's schedule of kind k to at (cancels it when at is zero), as the log up
// to sequence src says, unless the subject already holds a message reflecting the log at src
// or later: an older write never overwrites a newer one (each write expects the subject's last
// sequence it read). A cancellation with nothing to cancel writes nothing. With restore (the
// reconciliation), a schedule already set for at, or already fired for at and not yet
// handled, is left as it is. It reports whether it wrote.
func (s *Scheduler) apply(ctx context.Context, id string, k Kind, at time.Time, cause string, src uint64, restore bool) (bool, error) {
	subject := ScheduleSubject(k, id)
	for attempt := 1; ; attempt++ {
		have, found, err := s.last(ctx, subject)
		if err != nil {
			return false, err
		}
		var expect uint64
		if found {
			if have.src >= src || restore && !have.cancelled && have.at.Equal(at) {
				return false, nil
			}
			expect = have.seq
		}
		var msg *nats.Msg
		switch {
		case at.IsZero() && (!found || have.cancelled):
			return false, nil
		case at.IsZero():
			msg = cancellation(k, id, src)
		default:
			if restore && (!found || have.cancelled) {
				fired, ok, err := s.last(ctx, DueSubject(k, id))
				if err != nil {
					return false, err
				}
				if ok && fired.at.Equal(at) {
					return false, nil // fired, and waiting for the trigger
				}
			}
			if msg, err = scheduleMsg(k, id, at, cause, src); err != nil {
				return false, err
			}
		}
		_, err = s.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(expect))
		if err == nil {
			return true, nil
		}
		if !events.IsWrongLastSequence(err) || attempt == applyAttempts {
			return false, fmt.Errorf("schedules: write %s: %w", subject, err)
		}
		// Another write to the subject came between the read and this write: read again.
	}
}

// last reads the last message on subject of the schedules stream.
func (s *Scheduler) last(ctx context.Context, subject string) (stored, bool, error) {
	m, err := s.stream.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return stored{}, false, nil
	}
	if err != nil {
		return stored{}, false, fmt.Errorf("schedules: read %s: %w", subject, err)
	}
	st, err := storedOf(m)
	if err != nil {
		// Not newsroom's: written over as if it reflected no event.
		s.cfg.Logger.Warn("schedules: a message newsroom cannot read", "subject", subject, "error", err)
		return stored{seq: m.Sequence}, true, nil
	}
	return st, true, nil
}

// reconcile restores the schedule messages of every article the desk view shows as scheduled or
// under embargo, once the view has reached the log position upTo; it tries again after a
// failure until ctx ends. Together with the writer, which handles every event after upTo, every
// schedule the log holds has its message.
func (s *Scheduler) reconcile(ctx context.Context, upTo uint64) {
	for failures := 0; ctx.Err() == nil; {
		checked, restored, err := s.reconcileOnce(ctx, upTo)
		if err == nil {
			s.cfg.Logger.Info("schedules reconciled with the log", "up_to", upTo, "articles", checked, "restored", restored)
			return
		}
		if ctx.Err() != nil {
			return
		}
		failures++
		s.cfg.Logger.Warn("schedules: reconciliation failed; trying again", "error", err, "failures", failures)
		select {
		case <-ctx.Done():
		case <-time.After(events.Backoff(failures)):
		}
	}
}

func (s *Scheduler) reconcileOnce(ctx context.Context, upTo uint64) (checked, restored int, err error) {
	if err := s.deskServes(ctx); err != nil {
		return 0, 0, err
	}
	if err := s.cfg.Views.WaitFor(ctx, upTo, s.cfg.Desk.Name()); err != nil {
		return 0, 0, err
	}
	ids, err := s.cfg.Desk.ScheduledIDs(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, id := range ids {
		n, err := s.reconcileArticle(ctx, id)
		if err != nil {
			return checked, restored, err
		}
		checked, restored = checked+1, restored+n
	}
	return checked, restored, nil
}

// deskServes waits until this instance's desk view serves tables of its own version: while a
// new version of the view is rebuilt (at the first start of a release), the older tables
// serve, without what the reconciliation reads.
func (s *Scheduler) deskServes(ctx context.Context) error {
	for {
		for _, st := range s.cfg.Views.Statuses() {
			if st.Name == s.cfg.Desk.Name() && st.State != "starting" && st.State != "rebuilding" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// reconcileArticle restores article id's schedules as the log has it now, fenced by the
// sequence of its last event. It returns how many it wrote.
func (s *Scheduler) reconcileArticle(ctx context.Context, id string) (int, error) {
	h, err := s.cfg.Log.Load(ctx, id)
	if err != nil {
		return 0, err
	}
	history := make([]domain.Recorded, len(h.Events))
	causes := map[Kind]string{}
	for i, env := range h.Events {
		if history[i], err = env.Recorded(); err != nil {
			return 0, err
		}
		for _, ef := range effectsOf(history[i].Event) {
			causes[ef.kind] = env.ID
		}
	}
	a := domain.Fold(id, history)
	restored := 0
	for _, k := range []Kind{Publish, Lift} {
		at := wanted(a, k)
		if at.IsZero() {
			continue // a schedule that no longer applies does nothing when it fires
		}
		wrote, err := s.apply(ctx, id, k, at, causes[k], h.LastSequence, true)
		if err != nil {
			return restored, err
		}
		if wrote {
			restored++
			s.cfg.Logger.Info("schedules: restored a missing schedule", "article", id, "kind", string(k), "at", at)
		}
	}
	return restored, nil
}
