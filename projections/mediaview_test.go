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
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

func uploaded(caption string) domain.MediaUploaded {
	return domain.MediaUploaded{
		MediaDescription: domain.MediaDescription{Caption: caption, Credit: "Photo: NATO", Alt: "Ministers at a table"},
		UploadedBy:       reporter.ID, ContentType: "image/jpeg", Width: 2000, Height: 1000,
		Renditions: []domain.Rendition{
			{Name: "320", Width: 320, Height: 160, ContentType: "image/jpeg", Digest: "SHA-256=a", Size: 10},
			{Name: "800", Width: 800, Height: 400, ContentType: "image/jpeg", Digest: "SHA-256=b", Size: 20},
		},
	}
}

// The media view folds an image's events (upload, description, erasure) and ignores the
// articles' events that share the log with them, while the article views ignore the images':
// every view's checkpoint passes both.
func TestMediaView(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		media, desk := projections.NewMedia(db), projections.NewDesk(db)
		for _, v := range []projections.View{media, desk} {
			if _, err := projections.EnsureTables(ctx, db, v); err != nil {
				t.Fatal(err)
			}
		}
		article := story{id: "a-1", slug: "a-1", publishedAt: t0}.envelopes(t, 1) // seq 1..5
		img := envelope(t, "m-1", 1, 6, uploaded("The ministers"), t0.Add(time.Hour))
		described := envelope(t, "m-1", 2, 7, domain.MediaDescribed{MediaDescription: domain.MediaDescription{
			Caption: "The ministers, Brussels", Credit: "Photo: NATO", Alt: "Ministers", Copyright: "NATO"}}, t0.Add(2*time.Hour))
		other := envelope(t, "m-2", 1, 8, uploaded("Another"), t0.Add(3*time.Hour))
		all := append(append([]events.Envelope{}, article...), img, described, other)
		for _, v := range []projections.View{media, desk} {
			applyAll(t, db, v, all)
			if cp, err := projections.Checkpoint(ctx, db, v.Name()); err != nil || cp != 8 {
				t.Fatalf("Checkpoint(%s) = %d, %v; want 8", v.Name(), cp, err)
			}
		}
		got, err := media.Get(ctx, "m-1")
		if err != nil {
			t.Fatal(err)
		}
		want := projections.MediaItem{ID: "m-1", Version: 2, UploadedBy: reporter.ID, UploadedAt: t0.Add(time.Hour),
			ContentType: "image/jpeg", Width: 2000, Height: 1000,
			MediaDescription: domain.MediaDescription{Caption: "The ministers, Brussels", Credit: "Photo: NATO", Alt: "Ministers", Copyright: "NATO"},
			Renditions:       uploaded("").Renditions}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Get(m-1) = %+v; want %+v", got, want)
		}
		if r, ok := got.Rendition("800"); !ok || r.Width != 800 {
			t.Fatalf("Rendition(800) = %+v, %v; want width 800", r, ok)
		}
		if _, err := media.Get(ctx, "a-1"); !errors.Is(err, projections.ErrMediaNotFound) {
			t.Fatalf("Get(an article's id) = %v; want ErrMediaNotFound", err)
		}
		found, err := media.Lookup(ctx, []string{"m-1", "m-2", "m-3", "m-1"})
		if err != nil || len(found) != 2 || found["m-2"].Caption != "Another" {
			t.Fatalf("Lookup = %+v, %v; want m-1 and m-2", found, err)
		}

		// A gap is a bug, as for articles.
		gap := envelope(t, "m-1", 4, 9, domain.MediaDescribed{}, t0.Add(4*time.Hour))
		if _, err := projections.Apply(ctx, db, media, gap); !errors.Is(err, projections.ErrGap) {
			t.Fatalf("Apply(version 4 after 2) = %v; want ErrGap", err)
		}
		// An erasure may follow a gap (the log's earlier events were erased), and leaves no text.
		erased := envelope(t, "m-1", 4, 9, domain.MediaErased{Reason: "killed"}, t0.Add(5*time.Hour))
		applyAll(t, db, media, []events.Envelope{erased})
		got, err = media.Get(ctx, "m-1")
		if err != nil || !got.Erased() || got.Caption != "" || got.Alt != "" || len(got.Renditions) != 0 {
			t.Fatalf("Get(erased) = %+v, %v; want erased without text or renditions", got, err)
		}
		ids, err := media.IDs(ctx)
		if err != nil || !reflect.DeepEqual(ids, map[string]bool{"m-2": true}) {
			t.Fatalf("IDs() = %v, %v; want m-2 only", ids, err)
		}
	})
}
