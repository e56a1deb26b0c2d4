package media

import (
	"context"
	"time"
)

// SweepEvery is how often an instance sweeps the object store for objects without an upload.
const SweepEvery = time.Hour

// Housekeeper erases the images only killed articles use, after every kill the views have
// applied (Kick), and sweeps the object store of orphaned objects at start and every hour.
// Both are idempotent: instances sharing a log may run them at once.
type Housekeeper struct {
	Library *Library
	// Users says which articles use an image; nil: no image is ever erased (articles cannot
	// show images in this build).
	Users Users
	// Candidates lists the images not erased yet (the media view's IDs).
	Candidates func(ctx context.Context) (map[string]bool, error)

	kicks chan struct{}
}

// NewHousekeeper returns a housekeeper; users may be nil (no image is ever erased).
func NewHousekeeper(l *Library, users Users, candidates func(ctx context.Context) (map[string]bool, error)) *Housekeeper {
	return &Housekeeper{Library: l, Users: users, Candidates: candidates, kicks: make(chan struct{}, 1)}
}

// Kick asks for an erasure pass soon; it never blocks.
func (h *Housekeeper) Kick() {
	select {
	case h.kicks <- struct{}{}:
	default:
	}
}

// Start runs the sweep and the erasures in the background until ctx ends or stop is closed.
func (h *Housekeeper) Start(ctx context.Context, stop <-chan struct{}) {
	go func() {
		tick := time.NewTicker(SweepEvery)
		defer tick.Stop()
		h.sweep(ctx)
		for {
			select {
			case <-ctx.Done():
				return
			case <-stop:
				return
			case <-tick.C:
				h.sweep(ctx)
				h.erase(ctx)
			case <-h.kicks:
				h.erase(ctx)
			}
		}
	}()
}

func (h *Housekeeper) sweep(ctx context.Context) {
	if _, err := h.Library.Sweep(ctx, time.Now()); err != nil {
		h.Library.logger().Warn("images: sweep of orphaned objects failed; the next one retries", "error", err)
	}
}

// erase looks at every image not erased yet: an image used by one killed article is usually
// used by few, and a kill is rare, so the pass reads the usage of each rather than keep an
// index of its own.
func (h *Housekeeper) erase(ctx context.Context) {
	if h.Users == nil || h.Candidates == nil {
		return
	}
	ids, err := h.Candidates(ctx)
	if err != nil {
		h.Library.logger().Warn("images: list images to erase", "error", err)
		return
	}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	erased, err := h.Library.EraseUnused(ctx, h.Users, list, time.Now())
	if err != nil {
		h.Library.logger().Warn("images: erasure failed; the next kill or the hourly pass retries", "error", err)
	}
	if len(erased) > 0 {
		h.Library.logger().Info("images erased: only killed articles used them", "media_ids", erased)
	}
}
