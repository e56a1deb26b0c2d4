package media_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/embeddednats/natstest"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/media"
)

// users is who uses each image, as the desk view would say it; the test changes it.
type users struct {
	mu   sync.Mutex
	refs map[string][]domain.ArticleStatusRef
}

func (u *users) MediaUsers(_ context.Context, id string) ([]domain.ArticleStatusRef, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.refs[id], nil
}

func (u *users) set(id string, refs ...domain.ArticleStatusRef) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.refs[id] = refs
}

// The housekeeper erases, on a kick, the kicked images that only killed articles use, and on a
// kick for all (a rebuilt desk view) every candidate that only killed articles use; an image a
// living article shows, or that no article uses yet, stays. On a real object store and log.
func TestHousekeeperErasesWhatOnlyKilledArticlesUse(t *testing.T) {
	ctx := context.Background()
	_, js := natstest.Start(t).Connect(t)
	log, err := events.Open(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	objects, err := media.OpenBucket(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	lib := &media.Library{Objects: objects, Log: log, JS: js}
	photo, err := os.ReadFile("testdata/gps.jpg")
	if err != nil {
		t.Fatal(err)
	}
	upload := func() string {
		t.Helper()
		up, err := lib.Upload(ctx, bytes.NewReader(photo), domain.MediaDescription{Caption: "Ministers", Alt: "Ministers at a table"},
			domain.Actor{ID: "rita", Role: domain.RoleReporter}, events.Trace{}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return up.ID
	}
	kept, killedOnly, unused, rebuilt := upload(), upload(), upload(), upload()
	u := &users{refs: map[string][]domain.ArticleStatusRef{}}
	u.set(kept, domain.ArticleStatusRef{ID: "a1", Status: domain.StatusKilled}, domain.ArticleStatusRef{ID: "a2", Status: domain.StatusPublished})
	u.set(killedOnly, domain.ArticleStatusRef{ID: "a1", Status: domain.StatusKilled})
	candidates := func(context.Context) (map[string]bool, error) {
		return map[string]bool{kept: true, killedOnly: true, unused: true, rebuilt: true}, nil
	}
	h := media.NewHousekeeper(lib, u, candidates)
	stop := make(chan struct{})
	defer close(stop)
	h.Start(ctx, stop)

	erased := func(id string) bool {
		_, err := lib.Read(ctx, id, "320")
		return errors.Is(err, media.ErrNotFound)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}

	h.Kick(kept, killedOnly, unused)
	waitFor("the image only a killed article used erased", func() bool { return erased(killedOnly) })
	for id, what := range map[string]string{kept: "shown by a living article", unused: "used by no article yet", rebuilt: "never kicked"} {
		if erased(id) {
			t.Errorf("image %s erased; want it kept", what)
		}
	}
	history, err := log.LoadMedia(ctx, killedOnly)
	if err != nil || len(history.Events) == 0 || history.Events[len(history.Events)-1].Type != domain.TypeMediaErased {
		t.Errorf("the erased image's log = %+v (%v); want it to end with %s", history.Events, err, domain.TypeMediaErased)
	}

	// The desk view rebuilt, holding a kill it never told of: a kick for all finds it.
	u.set(rebuilt, domain.ArticleStatusRef{ID: "a3", Status: domain.StatusKilled})
	h.KickAll()
	waitFor("the image of the kill the rebuilt view holds erased", func() bool { return erased(rebuilt) })
	if erased(kept) || erased(unused) {
		t.Errorf("a kick for all erased an image a living article shows, or no article uses")
	}
}
