package projections_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// TestDeskHoldsSchedulesAndEmbargoes: applied one event at a time, so that each is folded from
// the row the one before wrote, the desk holds what the domain's fold holds: the schedule and
// its embargo while an article is scheduled, none once it is published, the embargo of an
// article published under one through a correction; and it lists the articles the scheduler
// must hold a schedule message for.
func TestDeskHoldsSchedulesAndEmbargoes(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		desk := projections.NewDesk(db)
		if _, err := projections.EnsureTables(ctx, db, desk); err != nil {
			t.Fatal(err)
		}
		due := t0.Add(48 * time.Hour)
		lift := due.Add(2 * time.Hour)
		text := domain.Drafted{Headline: "H", Body: "B", Language: "en"}
		published := domain.Published{Slug: "h", PublishedAt: due, Headline: "H", Body: "B", Language: "en"}
		publishedUnder := published
		publishedUnder.Slug, publishedUnder.EmbargoUntil, publishedUnder.ScheduledBy = "h-2", lift, editor.ID
		type step struct {
			id string
			by domain.Actor
			e  domain.Event
		}
		steps := []step{
			{"s-1", reporter, text}, {"s-1", reporter, domain.Submitted{}}, {"s-1", editor, domain.Approved{}},
			{"s-1", editor, domain.Scheduled{PublishAt: due.Add(-time.Hour), Slug: "h"}},
			{"s-1", editor2, domain.Scheduled{PublishAt: due, EmbargoUntil: lift, Slug: "h"}}, // rescheduled
			{"s-2", reporter, text}, {"s-2", reporter, domain.Submitted{}}, {"s-2", editor, domain.Approved{}},
			{"s-2", editor, domain.Scheduled{PublishAt: due, Slug: "h-2"}},
			{"s-2", domain.Scheduler, publishedUnder},
			{"s-2", editor, domain.CorrectionProposed{Note: "n", Changes: domain.Changes{}}},
			{"s-3", reporter, text}, {"s-3", reporter, domain.Submitted{}}, {"s-3", editor, domain.Approved{}},
			{"s-3", editor, domain.Scheduled{PublishAt: due, Slug: "h-3"}},
			{"s-3", editor, domain.Unscheduled{}},
			{"s-4", reporter, text}, {"s-4", reporter, domain.Submitted{}}, {"s-4", editor, domain.Approved{}},
			{"s-4", editor, published},
		}
		versions := map[string]int{}
		history := map[string][]domain.Recorded{}
		for i, s := range steps {
			versions[s.id]++
			at := t0.Add(time.Duration(i) * time.Minute)
			env, err := events.NewEnvelope(s.id, versions[s.id], s.e, s.by, at, events.Trace{})
			if err != nil {
				t.Fatal(err)
			}
			env.Sequence = uint64(i + 1)
			if applied, err := projections.Apply(ctx, db, desk, env); !applied || err != nil {
				t.Fatalf("Apply(%s %s) = %v, %v", s.id, s.e.EventType(), applied, err)
			}
			r, err := env.Recorded()
			if err != nil {
				t.Fatal(err)
			}
			history[s.id] = append(history[s.id], r)
		}
		list, err := desk.List(ctx, projections.DeskQuery{Page: projections.Page{Number: 1, PerPage: 50}})
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range list.Items {
			want := domain.Fold(got.ID, history[got.ID])
			if got.Status != want.Status || !got.PublishAt.Equal(want.PublishAt) ||
				!got.ScheduleEmbargo.Equal(want.ScheduleEmbargo) || !got.EmbargoUntil.Equal(want.EmbargoUntil) {
				t.Errorf("desk %s = %s, publish_at %v, schedule embargo %v, embargo %v; want %s, %v, %v, %v", got.ID,
					got.Status, got.PublishAt, got.ScheduleEmbargo, got.EmbargoUntil, want.Status, want.PublishAt, want.ScheduleEmbargo, want.EmbargoUntil)
			}
		}
		scheduled, err := desk.List(ctx, projections.DeskQuery{Status: domain.StatusScheduled, Page: projections.Page{Number: 1, PerPage: 50}})
		if err != nil {
			t.Fatal(err)
		}
		if len(scheduled.Items) != 1 || scheduled.Total != 1 || scheduled.Items[0].ID != "s-1" || !scheduled.Items[0].PublishAt.Equal(due) {
			t.Errorf("desk with status=scheduled = %+v (total %d); want s-1 alone, due at %v", scheduled.Items, scheduled.Total, due)
		}
		ids, err := desk.ScheduledIDs(ctx)
		slices.Sort(ids)
		if err != nil || !slices.Equal(ids, []string{"s-1", "s-2"}) {
			t.Errorf("ScheduledIDs = %v, %v; want s-1 (scheduled) and s-2 (under embargo)", ids, err)
		}
	})
}
