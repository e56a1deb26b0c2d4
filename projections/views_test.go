package projections_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// fullStory is one article through the whole desk: review round trip, publication, two
// corrections, retraction; plus a second article that is spiked.
func fullStory(tb testing.TB) []events.Envelope {
	tb.Helper()
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	body, note := "Corrected body.", "A date was wrong."
	list := []struct {
		id string
		e  domain.Event
	}{
		{"a-1", domain.Drafted{Headline: "H", Body: "B", Language: "en", Tags: []string{"x"}}},
		{"a-2", domain.Drafted{Headline: "Spike me", Language: "fr"}},
		{"a-1", domain.Submitted{}},
		{"a-1", domain.ChangesRequested{Comment: "More detail."}},
		{"a-1", revision("H2")},
		{"a-2", domain.Spiked{Reason: "duplicate"}},
		{"a-1", domain.Submitted{}},
		{"a-1", domain.Approved{}},
		{"a-1", domain.Published{Slug: "h2", PublishedAt: at(8), Headline: "H2", Body: "B", Language: "en", Tags: []string{"x"}}},
		{"a-1", domain.Corrected{Note: note, Slug: "h2", PublishedAt: at(8), Headline: "H2", Body: body, Language: "en", Tags: []string{"x", "y"}}},
		{"a-1", domain.Corrected{Note: "Typo.", Slug: "h2", PublishedAt: at(8), Headline: "H2", Body: body + "!", Language: "en"}},
		{"a-1", domain.Retracted{Reason: "Published in error."}},
	}
	versions := map[string]int{}
	var out []events.Envelope
	for i, it := range list {
		versions[it.id]++
		out = append(out, envelope(tb, it.id, versions[it.id], uint64(i+1), it.e, at(i)))
	}
	return out
}

// dumpView reads every table of view v, every row ordered by every column, as text.
func dumpView(tb testing.TB, db *sqldb.DB, v projections.View) string {
	tb.Helper()
	var b strings.Builder
	for _, table := range v.Tables() {
		rows, err := db.Read.Queryx(`SELECT * FROM ` + table + ` ORDER BY 1, 2`)
		if err != nil {
			tb.Fatalf("dump %s: %v", table, err)
		}
		for rows.Next() {
			cols, err := rows.SliceScan()
			if err != nil {
				tb.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %v\n", table, cols)
		}
		rows.Close()
	}
	return b.String()
}

// TestViewsContract runs every view through the whole desk, on both dialects: applied one by
// one or in one batch, the result is the same; a repeat changes nothing; a gap stops the view.
func TestViewsContract(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		all := []projections.View{projections.NewPublished(db), projections.NewDesk(db), projections.NewHistory(db)}
		envs := fullStory(t)
		for _, v := range all {
			t.Run(v.Name(), func(t *testing.T) {
				if _, err := projections.EnsureTables(ctx, db, v); err != nil {
					t.Fatal(err)
				}
				for _, env := range envs {
					if applied, err := projections.Apply(ctx, db, v, env); !applied || err != nil {
						t.Fatalf("Apply(seq %d %s) = %v, %v; want true, nil", env.Sequence, env.Type, applied, err)
					}
				}
				one := dumpView(t, db, v)
				if one == "" {
					t.Fatal("the view is empty after the whole story")
				}
				for _, env := range envs { // a repeat has no effect
					if applied, err := projections.Apply(ctx, db, v, env); applied || err != nil {
						t.Fatalf("repeat of seq %d = %v, %v; want false, nil", env.Sequence, applied, err)
					}
				}
				if again := dumpView(t, db, v); again != one {
					t.Errorf("a repeat changed the view:\n%s\nwant\n%s", again, one)
				}

				// A gap: version 3 of a new article at version 1.
				gapped := []events.Envelope{
					envelope(t, "a-3", 1, 100, domain.Drafted{Headline: "G", Language: "en"}, t0),
					envelope(t, "a-3", 3, 101, domain.Submitted{}, t0),
				}
				if _, err := projections.Apply(ctx, db, v, gapped[0]); err != nil {
					t.Fatal(err)
				}
				before := dumpView(t, db, v)
				if _, err := projections.Apply(ctx, db, v, gapped[1]); !errors.Is(err, projections.ErrGap) {
					t.Errorf("Apply(the gap) = %v; want ErrGap", err)
				}
				if after := dumpView(t, db, v); after != before {
					t.Error("a refused gap changed the view")
				}
				if cp, _ := projections.Checkpoint(ctx, db, v.Name()); cp != 100 {
					t.Errorf("checkpoint after the gap = %d; want 100 (the event before it)", cp)
				}
			})
		}
	})
}

// TestRebuildMatchesLiveApply: a rebuild in batches of any size gives what applying events one
// by one gives, and swaps it in under the live names.
func TestRebuildMatchesLiveApply(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		envs := fullStory(t)
		log := memoryLog(envs)
		for _, v := range []projections.View{projections.NewPublished(db), projections.NewDesk(db), projections.NewHistory(db)} {
			t.Run(v.Name(), func(t *testing.T) {
				if _, err := projections.EnsureTables(ctx, db, v); err != nil {
					t.Fatal(err)
				}
				for _, env := range envs {
					if _, err := projections.Apply(ctx, db, v, env); err != nil {
						t.Fatal(err)
					}
				}
				live := dumpView(t, db, v)
				for _, size := range []int{1, 3, 1000} {
					p, err := projections.Rebuild{DB: db, Log: log, View: v, BatchSize: size}.Run(ctx)
					if err != nil || !p.Done || p.Checkpoint != uint64(len(envs)) {
						t.Fatalf("Rebuild(batch %d) = %+v, %v; want done at %d", size, p, err, len(envs))
					}
					if got := dumpView(t, db, v); got != live {
						t.Errorf("rebuild in batches of %d:\n%s\nwant\n%s", size, got, live)
					}
				}
				if cp, _ := projections.Checkpoint(ctx, db, v.Name()); cp != uint64(len(envs)) {
					t.Errorf("checkpoint after the rebuild = %d; want %d", cp, len(envs))
				}
			})
		}
	})
}

// memoryLog is a log held in memory, for rebuilds without a NATS server.
type memoryLog []events.Envelope

func (l memoryLog) LastSequence(context.Context) (uint64, error) {
	if len(l) == 0 {
		return 0, nil
	}
	return l[len(l)-1].Sequence, nil
}

func (l memoryLog) ReadLog(_ context.Context, from, until uint64, batchSize int, fn func([]events.Envelope) error) error {
	var batch []events.Envelope
	for _, env := range l {
		if env.Sequence < from || env.Sequence > until {
			continue
		}
		batch = append(batch, env)
		if len(batch) == batchSize {
			if err := fn(batch); err != nil {
				return err
			}
			batch = nil
		}
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}
