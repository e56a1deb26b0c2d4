package projections_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
)

// The cast of the tests. Ids are opaque, as in the log.
var (
	reporter = domain.Actor{ID: "u-rep-1", Role: domain.RoleReporter}
	editor   = domain.Actor{ID: "u-ed-1", Role: domain.RoleEditor}
	// editor2 confirms the corrections editor proposes (four eyes).
	editor2 = domain.Actor{ID: "u-ed-2", Role: domain.RoleEditor}
)

// t0 is when the first event of every story in these tests was recorded.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// envelope wraps e as the version'th event of article id, recorded at at, and gives it stream
// sequence seq as if the log had assigned it (seq 0 leaves it unset, for appends).
func envelope(tb testing.TB, id string, version int, seq uint64, e domain.Event, at time.Time) events.Envelope {
	tb.Helper()
	by := reporter
	switch e.(type) {
	case domain.Approved, domain.Published:
		by = editor
	}
	env, err := events.NewEnvelope(id, version, e, by, at, events.Trace{CorrelationID: "req-test"})
	if err != nil {
		tb.Fatalf("NewEnvelope(%s v%d %s): %v", id, version, e.EventType(), err)
	}
	env.Sequence = seq
	return env
}

func revision(headline string) domain.Revised {
	return domain.Revised{Changes: domain.Changes{Headline: &headline}}
}

// story is one article's way from draft to publication. Its draft text is marked "SECRET" so
// that a test can tell whether any of it leaked into the public model.
type story struct {
	id          string
	slug        string
	publishedAt time.Time
}

const draftSecret = "SECRET draft text"

// events returns the story's five events in order: drafted, revised, submitted, approved,
// published. What is published is the revision, never the draft text.
func (s story) events() []domain.Event {
	headline, body := "Headline of "+s.id, "Body of "+s.id+" with **bold** news."
	summary, tags := "Summary of "+s.id, []string{"city", "council"}
	return []domain.Event{
		domain.Drafted{Headline: draftSecret + " headline", Summary: draftSecret + " summary",
			Body: draftSecret + " body", Language: "en", Byline: "A. Reporter", Slug: s.slug},
		domain.Revised{Changes: domain.Changes{Headline: &headline, Summary: &summary, Body: &body, Tags: &tags}},
		domain.Submitted{},
		domain.Approved{},
		domain.Published{Slug: s.slug, PublishedAt: s.publishedAt, Headline: headline, Summary: summary,
			Body: body, Language: "en", Byline: "A. Reporter", Dateline: "LISBON", Tags: tags},
	}
}

// envelopes returns the story's events as envelopes with sequences from first on, each recorded
// a minute after the one before.
func (s story) envelopes(tb testing.TB, first uint64) []events.Envelope {
	tb.Helper()
	var out []events.Envelope
	for i, e := range s.events() {
		out = append(out, envelope(tb, s.id, i+1, first+uint64(i), e, t0.Add(time.Duration(i)*time.Minute)))
	}
	return out
}

// apply applies env to v and fails the test on an error.
func apply(tb testing.TB, db *sqldb.DB, v projections.View, env events.Envelope) bool {
	tb.Helper()
	applied, err := projections.Apply(context.Background(), db, v, env)
	if err != nil {
		tb.Fatalf("Apply(%s v%d seq %d) = %v; want no error", env.Type, env.ArticleVersion, env.Sequence, err)
	}
	return applied
}

// applyAll applies every envelope, which must each take effect.
func applyAll(tb testing.TB, db *sqldb.DB, v projections.View, envs []events.Envelope) {
	tb.Helper()
	for _, env := range envs {
		if !apply(tb, db, v, env) {
			tb.Fatalf("Apply(%s v%d seq %d) = false; want true", env.Type, env.ArticleVersion, env.Sequence)
		}
	}
}

func checkpoint(tb testing.TB, db *sqldb.DB) uint64 {
	tb.Helper()
	seq, err := projections.Checkpoint(context.Background(), db, "published")
	if err != nil {
		tb.Fatalf("Checkpoint(published): %v", err)
	}
	return seq
}

func ensureCheckpoint(tb testing.TB, db *sqldb.DB) {
	tb.Helper()
	if _, err := projections.EnsureTables(context.Background(), db, projections.NewPublished(db)); err != nil {
		tb.Fatalf("EnsureTables(published): %v", err)
	}
}

// setCheckpoint moves the published view's checkpoint behind the view's back, as another
// process (or an operator) would.
func setCheckpoint(tb testing.TB, db *sqldb.DB, seq uint64) {
	tb.Helper()
	if _, err := db.Write.Exec(db.Write.Rebind(`UPDATE checkpoints SET seq = ? WHERE name = ?`), seq, "published"); err != nil {
		tb.Fatalf("set checkpoint to %d: %v", seq, err)
	}
}

// row is a public_articles row, every column as stored.
type row struct {
	ID          string `db:"id"`
	Version     int    `db:"version"`
	Status      string `db:"status"`
	Slug        string `db:"slug"`
	Headline    string `db:"headline"`
	Summary     string `db:"summary"`
	Body        string `db:"body"`
	BodyHTML    string `db:"body_html"`
	Language    string `db:"language"`
	Byline      string `db:"byline"`
	Dateline    string `db:"dateline"`
	Tags        string `db:"tags"`
	CreatedAt   string `db:"created_at"`
	UpdatedAt   string `db:"updated_at"`
	PublishedAt string `db:"published_at"`
}

// rows returns the whole public_articles table, by id: what a test compares before and after
// an Apply that must change nothing.
func rows(tb testing.TB, db *sqldb.DB) []row {
	tb.Helper()
	var out []row
	err := db.Read.Select(&out, `SELECT id, version, status, slug, headline, summary, body, body_html,
		language, byline, dateline, tags, created_at, updated_at, published_at
		FROM public_articles ORDER BY id`)
	if err != nil {
		tb.Fatalf("read public_articles: %v", err)
	}
	return out
}

// tags returns the public_tags table as "tag article" lines.
func tags(tb testing.TB, db *sqldb.DB) []string {
	tb.Helper()
	var out []string
	if err := db.Read.Select(&out, `SELECT tag || ' ' || article_id FROM public_tags ORDER BY tag, article_id`); err != nil {
		tb.Fatalf("read public_tags: %v", err)
	}
	return out
}

// snapshot is everything the published view holds.
type snapshot struct {
	Articles []row
	Tags     []string
}

func snap(tb testing.TB, db *sqldb.DB) snapshot {
	tb.Helper()
	return snapshot{Articles: rows(tb, db), Tags: tags(tb, db)}
}

// unchanged fails the test if the view's tables or checkpoint differ from before.
func unchanged(tb testing.TB, db *sqldb.DB, before snapshot, beforeCheckpoint uint64) {
	tb.Helper()
	if got := snap(tb, db); !reflect.DeepEqual(got, before) {
		tb.Errorf("published view changed:\n got %+v\nwant %+v", got, before)
	}
	if got := checkpoint(tb, db); got != beforeCheckpoint {
		tb.Errorf("Checkpoint(published) = %d; want %d (unchanged)", got, beforeCheckpoint)
	}
}

// listAll returns every published article and the total List reports.
func listAll(tb testing.TB, p *projections.Published) ([]projections.PublicArticle, int) {
	tb.Helper()
	list, err := p.List(context.Background(), projections.PublicQuery{Page: projections.Page{Number: 1, PerPage: 100}})
	if err != nil {
		tb.Fatalf("List: %v", err)
	}
	return list.Items, list.Total
}

func notPublic(tb testing.TB, p *projections.Published, slug string) {
	tb.Helper()
	if a, err := p.BySlug(context.Background(), slug); !errors.Is(err, projections.ErrNotPublic) {
		tb.Errorf("BySlug(%q) = %+v, %v; want ErrNotPublic", slug, a, err)
	}
}

// eventually polls cond every 20 ms until it holds or the deadline passes, and fails the test
// with what the last call said.
func eventually(tb testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, last := cond()
		if ok {
			return
		}
		select {
		case <-deadline.C:
			tb.Fatalf("%s: not within %v; last: %s", what, within, last)
		case <-tick.C:
		}
	}
}
