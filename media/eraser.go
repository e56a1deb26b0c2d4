package media

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// SweepEvery is how often an instance sweeps the object store for objects without an upload.
const SweepEvery = time.Hour

// Housekeeper erases the images only killed articles use: those of each kill the views have
// applied (Kick), and every image once an hour (a kill whose pass failed, or that a stopped
// instance never looked at); and sweeps the object store of orphaned objects at start and every
// hour.
// Both are idempotent: instances sharing a log may run them at once.
type Housekeeper struct {
	Library *Library
	// Users says which articles use an image; nil: no image is ever erased (articles cannot
	// show images in this build).
	Users Users
	// Candidates lists the images not erased yet (the media view's IDs).
	Candidates func(ctx context.Context) (map[string]bool, error)

	kicks   chan struct{}
	mu      sync.Mutex
	pending map[string]bool // images of the kills since the last pass
	all     bool            // look at every image in the next pass

	onPass func() // for tests: called after each pass of the loop

	erased, failures atomic.Uint64 // since the start: Stats
}

// HousekeeperStats counts what a housekeeper did since its start, for the metrics: an erasure
// a kill demands and that keeps failing must show, not only in a log line.
type HousekeeperStats struct {
	Erased       uint64 // images erased
	FailedPasses uint64 // erasure passes that failed (each is tried again)
}

// Stats returns what the housekeeper did since its start.
func (h *Housekeeper) Stats() HousekeeperStats {
	return HousekeeperStats{Erased: h.erased.Load(), FailedPasses: h.failures.Load()}
}

// NewHousekeeper returns a housekeeper; users may be nil (no image is ever erased).
func NewHousekeeper(l *Library, users Users, candidates func(ctx context.Context) (map[string]bool, error)) *Housekeeper {
	return &Housekeeper{Library: l, Users: users, Candidates: candidates, kicks: make(chan struct{}, 1), pending: map[string]bool{}}
}

// Kick asks for an erasure pass over the images of a killed article soon; it never blocks.
func (h *Housekeeper) Kick(mediaIDs ...string) {
	if len(mediaIDs) == 0 {
		return
	}
	h.mu.Lock()
	for _, id := range mediaIDs {
		h.pending[id] = true
	}
	h.mu.Unlock()
	select {
	case h.kicks <- struct{}{}:
	default:
	}
}

// KickAll asks for an erasure pass over every image soon (the kills a rebuilt view holds were
// never told one by one); it never blocks.
func (h *Housekeeper) KickAll() {
	h.mu.Lock()
	h.all = true
	h.mu.Unlock()
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
		// A kill this or another instance committed just before it stopped may have been
		// kicked to no pass: look at every image once now, not in an hour.
		h.eraseAll(ctx)
		h.passed()
		for {
			select {
			case <-ctx.Done():
				return
			case <-stop:
				return
			case <-tick.C:
				h.sweep(ctx)
				h.eraseAll(ctx)
			case <-h.kicks:
				if ids, all := h.takePending(); all {
					h.eraseAll(ctx)
				} else {
					h.erase(ctx, ids)
				}
			}
			h.passed()
		}
	}()
}

func (h *Housekeeper) passed() {
	if h.onPass != nil {
		h.onPass()
	}
}

// retryErasure is how long a failed erasure pass waits before it is tried again (the object
// store or the log did not answer): a killed article's images must not wait for the hourly pass.
const retryErasure = 30 * time.Second

func (h *Housekeeper) sweep(ctx context.Context) {
	if _, err := h.Library.Sweep(ctx, time.Now()); err != nil {
		h.Library.logger().Warn("images: sweep of orphaned objects failed; the next one retries", "error", err)
	}
}

// takePending returns the images kicked since the last pass, and whether every image was asked
// for, and forgets them.
func (h *Housekeeper) takePending() (ids []string, all bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids = make([]string, 0, len(h.pending))
	for id := range h.pending {
		ids = append(ids, id)
	}
	clear(h.pending)
	slices.Sort(ids)
	all, h.all = h.all, false
	return ids, all
}

// eraseAll looks at every image not erased yet: an image used by one killed article is usually
// used by few, and the pass is hourly, so it reads the usage of each rather than keep an index
// of its own.
func (h *Housekeeper) eraseAll(ctx context.Context) {
	if h.Users == nil || h.Candidates == nil {
		return
	}
	ids, err := h.Candidates(ctx)
	if err != nil {
		h.failures.Add(1)
		h.Library.logger().Warn("images: list images to erase; tried again shortly", "error", err)
		time.AfterFunc(retryErasure, h.KickAll)
		return
	}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	h.erase(ctx, list)
}

// erase erases those of ids that only killed articles use.
func (h *Housekeeper) erase(ctx context.Context, ids []string) {
	if h.Users == nil || len(ids) == 0 {
		return
	}
	erased, err := h.Library.EraseUnused(ctx, h.Users, ids, time.Now())
	h.erased.Add(uint64(len(erased)))
	if err != nil && ctx.Err() == nil {
		h.failures.Add(1)
		// Erasure is idempotent: the whole pass again.
		h.Library.logger().Warn("images: erasure failed; tried again shortly", "error", err, "retry_in", retryErasure)
		time.AfterFunc(retryErasure, func() { h.Kick(ids...) })
	}
	if len(erased) > 0 {
		h.Library.logger().Info("images erased: only killed articles used them", "media_ids", erased)
	}
}
