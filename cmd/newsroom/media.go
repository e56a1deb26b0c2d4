package main

import (
	"context"

	newsroomhttp "github.com/newsroom/newsroom/http"
	"github.com/newsroom/newsroom/media"
	"github.com/newsroom/newsroom/projections"
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

// publicMediaOf is the published view as the judge of which images are public, once it can
// say (articles with images); until then nil: no image is public.
func publicMediaOf(published *projections.Published) newsroomhttp.PublicMedia {
	if p, ok := any(published).(newsroomhttp.PublicMedia); ok {
		return p
	}
	return nil
}

// imageEraser wires the housekeeper of images to the desk view, which says who uses each
// image once articles can show them.
type imageEraser struct{ h *media.Housekeeper }

func newImageEraser(library *media.Library, desk *projections.Desk, view *projections.Media) *imageEraser {
	var users media.Users
	if u, ok := any(desk).(media.Users); ok {
		users = u
	}
	return &imageEraser{h: media.NewHousekeeper(library, users, view.IDs)}
}

func (e *imageEraser) kick() { e.h.Kick() }

func (e *imageEraser) start(ctx context.Context, stop <-chan struct{}) { e.h.Start(ctx, stop) }
