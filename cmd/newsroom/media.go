package main

import (
	"context"

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

// mediaOf is the media view among all.
func mediaOf(all []projections.View) *projections.Media {
	for _, v := range all {
		if m, ok := v.(*projections.Media); ok {
			return m
		}
	}
	return nil
}

// imageEraser wires the housekeeper of images to the desk view, which says who uses each
// image.
type imageEraser struct{ h *media.Housekeeper }

func newImageEraser(library *media.Library, desk *projections.Desk, view *projections.Media) *imageEraser {
	return &imageEraser{h: media.NewHousekeeper(library, desk, view.IDs)}
}

// kick asks for the erasure of the images a kill's event names, if no live article uses them.
func (e *imageEraser) kick(killed events.Envelope) {
	r, err := killed.Recorded()
	if err != nil {
		return // the hourly pass looks at every image
	}
	if k, ok := r.Event.(domain.Killed); ok {
		e.h.Kick(domain.MediaIDs(k.Media)...)
	}
}

func (e *imageEraser) start(ctx context.Context, stop <-chan struct{}) { e.h.Start(ctx, stop) }
