package schedules

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/newsroom/newsroom/embeddednats/natstest"
	"github.com/newsroom/newsroom/events"
)

// TestApplyNeverGoesBack: each schedule message reflects the log up to a sequence, and a write
// from an older event (an instance that stalled with a batch while another went on) neither
// overwrites nor cancels a newer one; a cancellation with nothing to cancel writes nothing; the
// reconciliation leaves a schedule that is already right as it is.
func TestApplyNeverGoesBack(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect(t)
	ctx := context.Background()
	s := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.js = js
	var err error
	if s.stream, err = events.EnsureStream(ctx, js, StreamConfig(1)); err != nil {
		t.Fatal(err)
	}
	const id = "3fac72b2-ff3a-476a-8db2-7d92ddbb8ad3"
	t1 := time.Now().Add(time.Hour).UTC()
	t2 := t1.Add(time.Hour)
	steps := []struct {
		what    string
		at      time.Time // zero: cancel
		src     uint64
		restore bool
		wrote   bool
		want    stored // what the subject holds after (seq not compared)
	}{
		{"cancel with nothing scheduled", time.Time{}, 3, false, false, stored{}},
		{"schedule at t1 (event 10)", t1, 10, false, true, stored{src: 10, at: t1}},
		{"an older cancellation (event 9)", time.Time{}, 9, false, false, stored{src: 10, at: t1}},
		{"an older schedule (event 5)", t2, 5, false, false, stored{src: 10, at: t1}},
		{"the same event again", t1, 10, false, false, stored{src: 10, at: t1}},
		{"cancelled (event 11)", time.Time{}, 11, false, true, stored{src: 11, cancelled: true}},
		{"cancelled again (event 12)", time.Time{}, 12, false, false, stored{src: 11, cancelled: true}},
		{"the stale schedule of event 10", t1, 10, false, false, stored{src: 11, cancelled: true}},
		{"scheduled at t2 (event 13)", t2, 13, false, true, stored{src: 13, at: t2}},
		{"restored at t2 as of event 14: already right", t2, 14, true, false, stored{src: 13, at: t2}},
		{"restored at t1 as of event 15", t1, 15, true, true, stored{src: 15, at: t1}},
	}
	for _, step := range steps {
		wrote, err := s.apply(ctx, id, Publish, step.at, "cause", step.src, step.restore)
		if err != nil || wrote != step.wrote {
			t.Fatalf("%s: apply = %v, %v; want %v", step.what, wrote, err, step.wrote)
		}
		have, found, err := s.last(ctx, ScheduleSubject(Publish, id))
		if err != nil {
			t.Fatal(err)
		}
		have.seq = 0
		if found != (step.want != stored{}) || !have.at.Equal(step.want.at) || have.src != step.want.src || have.cancelled != step.want.cancelled {
			t.Fatalf("%s: the subject holds %+v (found %v); want %+v", step.what, have, found, step.want)
		}
	}
}
