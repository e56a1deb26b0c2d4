package main

import (
	"context"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/events"
	newsroomhttp "github.com/newsroom/newsroom/http"
	"github.com/newsroom/newsroom/media"
	"github.com/newsroom/newsroom/projections"
)

// The views play these parts for images. Said here at compile time, not found by an interface
// assertion at run time: an assertion that finds nothing (a method renamed, a signature
// changed) would silently make no image public and erase none.
var (
	_ newsroomhttp.PublicMedia = (*projections.Published)(nil) // which images readers may fetch
	_ media.Users              = (*projections.Desk)(nil)      // who uses an image (its erasure)
	_ editorial.MediaCatalog   = (*projections.Media)(nil)     // images exist, have alt text
	_ newsroomhttp.MediaImages = (*projections.Media)(nil)     // public JSON, pages, feeds
	_ projections.MediaImages  = (*projections.Media)(nil)     // ninjs associations
)

// imagesCatchUp bounds how long a command waits for the media view before it is refused for an
// image the view does not know (yet): as long as a read under min_position waits.
const imagesCatchUp = 5 * time.Second

// freshImages is the media view as the editorial desk asks it: an answer that would refuse the
// command (an image it does not know, or without alt text) is given only once the view has
// applied the log as far as it went when asked. A client that uploads an image (201) or
// describes it, then at once names it in a draft or publishes, is not refused because the view
// had not caught up; a view that does not catch up within imagesCatchUp answers from what it
// holds.
type freshImages struct {
	view  *projections.Media
	log   *events.Store
	views *projections.Runner
}

func (f freshImages) Images(ctx context.Context, ids []string) (map[string]domain.Image, error) {
	images, err := f.view.Images(ctx, ids)
	if err != nil || allDescribed(ids, images) {
		return images, err
	}
	last, err := f.log.LastSequence(ctx)
	if err != nil {
		return nil, err // the log does not answer: the command could not be recorded either
	}
	wait, cancel := context.WithTimeout(ctx, imagesCatchUp)
	defer cancel()
	if err := f.views.WaitFor(wait, last, f.view.Name()); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // the client went away
		}
		return images, nil // the view is far behind: what it holds decides
	}
	return f.view.Images(ctx, ids)
}

// allDescribed tells whether images holds every one of ids, with its alt text.
func allDescribed(ids []string, images map[string]domain.Image) bool {
	for _, id := range ids {
		if img, ok := images[id]; !ok || img.Alt == "" {
			return false
		}
	}
	return true
}

// imageEraser wires the housekeeper of images to the desk view, which says who uses each
// image: the desk's commits of kills kick the erasure, so that the pass reads a desk that knows
// of them (a kick as the log's reader handed the kill out would find the desk behind, when it
// catches up on its own, and leave the images to the hourly pass).
type imageEraser struct{ h *media.Housekeeper }

func newImageEraser(library *media.Library, desk *projections.Desk, view *projections.Media) *imageEraser {
	e := &imageEraser{h: media.NewHousekeeper(library, desk, view.IDs)}
	desk.OnKill = e.kick
	return e
}

// kick asks for the erasure of the images the kills name, if no live article uses them; after a
// rebuild of the desk (nil), of every image.
func (e *imageEraser) kick(kills []events.Envelope) {
	if kills == nil {
		e.h.KickAll()
		return
	}
	for _, killed := range kills {
		r, err := killed.Recorded()
		if err != nil {
			continue // the hourly pass looks at every image
		}
		if k, ok := r.Event.(domain.Killed); ok {
			e.h.Kick(domain.MediaIDs(k.Media)...)
		}
	}
}

func (e *imageEraser) start(ctx context.Context, stop <-chan struct{}) { e.h.Start(ctx, stop) }
