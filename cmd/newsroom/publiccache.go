package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	newsroomhttp "github.com/newsroom/newsroom/http"
	"github.com/newsroom/newsroom/projections"
)

// publicChangesSubject carries the published view's commits from the instance that made them
// to every instance's public cache. It is core NATS: nothing is stored, and a lost message
// costs at most newsroomhttp.PublicCacheMaxAge of staleness. Named in deploy/nats/auth.conf
// (newsroom may publish and subscribe; subscribers may not). Instances of two releases in a
// rolling deploy must agree on it and on publicChange: renaming either leaves the old and new
// instances bounded by the maximum age alone until the deploy ends.
const publicChangesSubject = "newsroom.internal.published"

// publicCacheMaxAge is how long an instance serves a public answer it read; a test lengthens
// it to show that invalidation alone keeps instances current.
var publicCacheMaxAge = newsroomhttp.PublicCacheMaxAge

// publicChange is one commit of the published view, as announced.
type publicChange struct {
	Instance string   `json:"instance"`      // who committed (it has invalidated its own cache already)
	IDs      []string `json:"ids,omitempty"` // the articles whose public events were applied
	All      bool     `json:"all,omitempty"` // anything may have changed: a rebuild was swapped in
}

// sharePublicChanges makes every commit of the published view in this process invalidate this
// instance's public cache at once (before a kill's text is scrubbed), and announces it to the
// other instances; their announcements invalidate this cache too. Between a commit on one
// instance and a read on another, the window is the announcement's trip through NATS; a lost
// one is bounded by the cache's maximum age. It must run before the views start. It returns
// what the published view's commits call, for changes of what readers see that the view does
// not commit (an image described anew): it invalidates here and announces, and never blocks.
func sharePublicChanges(nc *nats.Conn, published *projections.Published, cache *newsroomhttp.PublicCache, log *slog.Logger) (func(ids []string), error) {
	instance := uuid.NewString()
	_, err := nc.Subscribe(publicChangesSubject, func(m *nats.Msg) {
		var c publicChange
		switch err := json.Unmarshal(m.Data, &c); {
		case err != nil:
			// Not an announcement newsroom wrote: dropping everything is never wrong.
			cache.Invalidate(nil)
		case c.Instance == instance:
		case c.All:
			cache.Invalidate(nil)
		default:
			cache.Invalidate(c.IDs)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", publicChangesSubject, err)
	}
	// The server knows of the subscription before this instance serves a read.
	if err := nc.Flush(); err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", publicChangesSubject, err)
	}
	changed := func(ids []string) {
		cache.Invalidate(ids)
		c := publicChange{Instance: instance, IDs: ids, All: ids == nil}
		data, _ := json.Marshal(c)
		if int64(len(data)) > nc.MaxPayload() {
			data, _ = json.Marshal(publicChange{Instance: instance, All: true})
		}
		// Buffered, never blocking the view; a failure costs the others the maximum age.
		if err := nc.Publish(publicChangesSubject, data); err != nil {
			log.Warn("announce a change of the published view", "error", err)
		}
	}
	published.OnCommit = func(ids []string, _ uint64) { changed(ids) }
	return changed, nil
}

// imagesDescribed makes a new description (or the erasure) of images invalidate the public
// answers of the articles showing them, here and on the other instances: their JSON, pages
// and feeds show the images' words. The articles are looked up off the view's goroutine.
func imagesDescribed(view *projections.Media, published *projections.Published, changed func(ids []string), log *slog.Logger) {
	view.OnDescribe = func(images []string) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ids, err := published.ArticlesShowing(ctx, images)
			if err != nil {
				// Not knowing which: every answer goes (a description is a rare change).
				log.Warn("articles showing described images; the whole public cache is dropped", "error", err)
				changed(nil)
				return
			}
			if len(ids) > 0 {
				changed(ids)
			}
		}()
	}
}
