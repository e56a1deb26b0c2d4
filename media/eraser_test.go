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

// The housekeeper erases, at its start, the images only killed articles use; on a kick, those
// of the kicked images; on a kick for all (a rebuilt desk view), those of every candidate; an
// image a living article shows, or that no article uses yet, stays. On a real object store and
// log; each check follows a whole pass.
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
	early, kept, killedOnly, unused, rebuilt := upload(), upload(), upload(), upload(), upload()
	killed := func(article string) domain.ArticleStatusRef {
		return domain.ArticleStatusRef{ID: article, Status: domain.StatusKilled}
	}
	u := &users{refs: map[string][]domain.ArticleStatusRef{}}
	u.set(early, killed("a0")) // killed before the housekeeper started: no kick will come
	candidates := func(context.Context) (map[string]bool, error) {
		return map[string]bool{early: true, kept: true, killedOnly: true, unused: true, rebuilt: true}, nil
	}
	h := media.NewHousekeeper(lib, u, candidates)
	passes := make(chan struct{}, 100)
	h.OnPass(func() { passes <- struct{}{} })
	stop := make(chan struct{})
	defer close(stop)
	h.Start(ctx, stop)
	pass := func(what string) {
		t.Helper()
		select {
		case <-passes:
		case <-time.After(30 * time.Second):
			t.Fatalf("no pass of the housekeeper after %s", what)
		}
	}
	erased := func(id string) bool {
		_, err := lib.Read(ctx, id, "320")
		return errors.Is(err, media.ErrNotFound)
	}
	expect := func(when string, want map[string]bool) {
		t.Helper()
		names := map[string]string{early: "early", kept: "kept", killedOnly: "killedOnly", unused: "unused", rebuilt: "rebuilt"}
		for id, gone := range want {
			if erased(id) != gone {
				t.Errorf("%s: image %s erased = %t; want %t", when, names[id], !gone, gone)
			}
		}
	}

	pass("its start")
	expect("after the start", map[string]bool{early: true, kept: false, killedOnly: false, unused: false, rebuilt: false})

	u.set(kept, killed("a1"), domain.ArticleStatusRef{ID: "a2", Status: domain.StatusPublished})
	u.set(killedOnly, killed("a1"))
	h.Kick(kept, killedOnly, unused)
	pass("a kick")
	expect("after a kick", map[string]bool{kept: false, killedOnly: true, unused: false, rebuilt: false})
	history, err := log.LoadMedia(ctx, killedOnly)
	if err != nil || len(history.Events) == 0 || history.Events[len(history.Events)-1].Type != domain.TypeMediaErased {
		t.Errorf("the erased image's log = %+v (%v); want it to end with %s", history.Events, err, domain.TypeMediaErased)
	}

	// The desk view rebuilt, holding a kill it never told of: a kick for all finds it.
	u.set(rebuilt, killed("a3"))
	h.KickAll()
	pass("a kick for all")
	expect("after a kick for all", map[string]bool{kept: false, unused: false, rebuilt: true})
}
