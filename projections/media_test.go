package projections_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

const (
	imgMain   = "0b7f3c2e-5d1a-4c8e-9f00-1a2b3c4d5e6f"
	imgInline = "7e6d5c4b-3a29-4817-b6f5-e4d3c2b1a090"
)

// TestViewsFollowMedia: the desk view knows which articles use an image, in every state down to
// a kill; the published view says an image is public only while an article showing it is
// published; and a rebuild from the log gives both the same answers. On both dialects.
func TestViewsFollowMedia(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		desk, pub := projections.NewDesk(db), projections.NewPublished(db)
		for _, v := range []projections.View{desk, pub} {
			if _, err := projections.EnsureTables(ctx, db, v); err != nil {
				t.Fatal(err)
			}
		}
		both := []domain.MediaRef{{ID: imgMain, Role: domain.MediaMain, Caption: "Ministers"}, {ID: imgInline, Role: domain.MediaInline}}
		inlineOnly := both[1:]
		drafted := domain.Drafted{Headline: "Ministers meet", Body: "Text ![logo](media:" + imgInline + ")", Language: "en", Media: both}
		published := domain.Published{Slug: "ministers-meet", PublishedAt: t0, Headline: drafted.Headline, Body: drafted.Body, Language: "en", Media: both}
		corrected := domain.Corrected{Note: "Dropped the photo.", Slug: "ministers-meet", PublishedAt: t0, Headline: drafted.Headline,
			Body: drafted.Body, Language: "en", Media: inlineOnly}
		steps := []struct {
			name        string
			event       domain.Event
			users       []domain.ArticleStatusRef // of imgInline
			mainUsers   int
			publicMain  bool
			publicInl   bool
			publicMedia []domain.MediaRef // BySlug's Media, when readable
		}{
			{"drafted", drafted, []domain.ArticleStatusRef{{ID: "m-1", Status: domain.StatusDraft}}, 1, false, false, nil},
			{"submitted", domain.Submitted{}, []domain.ArticleStatusRef{{ID: "m-1", Status: domain.StatusInReview}}, 1, false, false, nil},
			{"approved", domain.Approved{}, []domain.ArticleStatusRef{{ID: "m-1", Status: domain.StatusApproved}}, 1, false, false, nil},
			{"published", published, []domain.ArticleStatusRef{{ID: "m-1", Status: domain.StatusPublished}}, 1, true, true, both},
			{"corrected", corrected, []domain.ArticleStatusRef{{ID: "m-1", Status: domain.StatusPublished}}, 0, false, true, inlineOnly},
			{"retracted", domain.Retracted{Reason: "Issued in error.", Slug: "ministers-meet", PublishedAt: t0, Headline: drafted.Headline},
				[]domain.ArticleStatusRef{{ID: "m-1", Status: domain.StatusRetracted}}, 0, false, false, nil},
			{"killed", domain.Killed{Reason: "Court order.", SlugDigest: domain.SlugDigest("ministers-meet"), Language: "en", CreatedBy: reporter.ID,
				CreatedAt: t0, LastRevisedBy: reporter.ID, PublishedAt: t0, Media: []domain.MediaRef{{ID: imgInline, Role: domain.MediaInline}}},
				[]domain.ArticleStatusRef{{ID: "m-1", Status: domain.StatusKilled}}, 0, false, false, nil},
		}
		var log []events.Envelope
		check := func(t *testing.T, step int) {
			t.Helper()
			s := steps[step]
			users, err := desk.MediaUsers(ctx, imgInline)
			if err != nil || !reflect.DeepEqual(users, s.users) {
				t.Errorf("after %s: MediaUsers(inline) = %v, %v; want %v", s.name, users, err, s.users)
			}
			mainUsers, err := desk.MediaUsers(ctx, imgMain)
			if err != nil || len(mainUsers) != s.mainUsers {
				t.Errorf("after %s: MediaUsers(main) = %v, %v; want %d users", s.name, mainUsers, err, s.mainUsers)
			}
			for id, want := range map[string]bool{imgMain: s.publicMain, imgInline: s.publicInl} {
				if got, err := pub.IsPublicMedia(ctx, id); err != nil || got != want {
					t.Errorf("after %s: IsPublicMedia(%s) = %v, %v; want %v", s.name, id, got, err, want)
				}
			}
			if s.publicMedia != nil {
				a, err := pub.BySlug(ctx, "ministers-meet")
				if err != nil || !reflect.DeepEqual(a.Media, s.publicMedia) {
					t.Errorf("after %s: BySlug().Media = %v, %v; want %v", s.name, a.Media, err, s.publicMedia)
				}
			}
		}
		for i, s := range steps {
			env := envelope(t, "m-1", i+1, uint64(i+1), s.event, t0.Add(time.Duration(i)*time.Minute))
			log = append(log, env)
			applyAll(t, db, desk, []events.Envelope{env})
			applyAll(t, db, pub, []events.Envelope{env})
			check(t, i)
		}
		// Replay: the views rebuilt from the log (as it is after the kill's erasure: the
		// kill alone) answer as the live ones did.
		erased := log[len(log)-1:]
		for _, v := range []projections.View{desk, pub} {
			if p, err := (projections.Rebuild{DB: db, Log: memoryLog(erased), View: v, BatchSize: 1000}).Run(ctx); err != nil {
				t.Fatalf("Rebuild(%s) = %+v, %v", v.Name(), p, err)
			}
		}
		check(t, len(steps)-1)
		// A database rebuilt from the log up to the publication, in batches that fold several
		// events at once: the image is public there.
		other := sqldbtest.Open(t, db.Dialect)
		desk, pub = projections.NewDesk(other), projections.NewPublished(other)
		for _, v := range []projections.View{desk, pub} {
			if _, err := projections.EnsureTables(ctx, other, v); err != nil {
				t.Fatal(err)
			}
			if p, err := (projections.Rebuild{DB: other, Log: memoryLog(log[:4]), View: v, BatchSize: 3}).Run(ctx); err != nil {
				t.Fatalf("Rebuild(%s) = %+v, %v", v.Name(), p, err)
			}
		}
		check(t, 3)
	})
}
