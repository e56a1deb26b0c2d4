package editorial

import (
	"context"
	"fmt"
	"strings"

	"github.com/newsroom/newsroom/domain"
)

// MediaCatalog says what the media view knows of images; the media view (projections.Media)
// implements it. One article's events cannot tell whether an image exists or has its alt text.
type MediaCatalog interface {
	// Images returns the images among ids that the view holds, erased ones included (marked),
	// by id; an id it does not hold is absent from the map. An error means the view did not
	// answer.
	Images(ctx context.Context, ids []string) (map[string]domain.Image, error)
}

// MissingAltError refuses the publication (or the schedule) of an article showing images that
// have no alt text: readers of screen readers would get nothing of them.
type MissingAltError struct {
	IDs []string
}

func (e *MissingAltError) Error() string {
	return fmt.Sprintf("cannot publish: image %s has no alt text; describe each image (PATCH /api/v1/media/{id} with alt) before publication",
		strings.Join(e.IDs, ", "))
}

// checkMedia checks what a command asks of the article's images that its events cannot tell:
// that the images a draft, revision or correction names exist and are not erased, and that
// every image of an article to be published or scheduled has its alt text. Without a catalog it
// checks nothing. It returns a *domain.ValidationError naming media, a *MissingAltError, or the
// catalog's error.
func (d *Desk) checkMedia(ctx context.Context, a domain.Article, cmd domain.Command) error {
	if d.Media == nil {
		return nil
	}
	var named *[]domain.MediaRef
	switch c := cmd.(type) {
	case domain.Draft:
		named = &c.Content.Media
	case domain.Revise:
		named = c.Changes.Media
	case domain.Correct:
		named = c.Changes.Media
	case domain.Publish, domain.Schedule:
		if len(a.Media) == 0 {
			return nil
		}
		images, err := d.Media.Images(ctx, domain.MediaIDs(a.Media))
		if err != nil {
			return fmt.Errorf("check the images of article %s: %w", a.ID, err)
		}
		if ids := domain.WithoutAlt(a.Media, images); len(ids) > 0 {
			return &MissingAltError{IDs: ids}
		}
		return nil
	}
	if named == nil || len(*named) == 0 {
		return nil
	}
	// Only images new to the article are looked up: one it shows already stays, even if it was
	// erased since (a revision of the text must not fail on it).
	var added []string
	for _, r := range *named {
		if !slicesContainsRef(a.Media, r.ID) {
			added = append(added, r.ID)
		}
	}
	if len(added) == 0 {
		return nil
	}
	images, err := d.Media.Images(ctx, added)
	if err != nil {
		return fmt.Errorf("check the images of article %s: %w", a.ID, err)
	}
	var v domain.ValidationError
	for _, id := range added {
		switch img, ok := images[id]; {
		case !ok:
			v.Fields = append(v.Fields, domain.FieldError{Field: "media", Detail: fmt.Sprintf("no image has the id %s; upload it first (POST /api/v1/media)", id)})
		case img.Erased:
			v.Fields = append(v.Fields, domain.FieldError{Field: "media", Detail: fmt.Sprintf("image %s was erased and cannot be attached", id)})
		}
	}
	if len(v.Fields) > 0 {
		return &v
	}
	return nil
}

func slicesContainsRef(refs []domain.MediaRef, id string) bool {
	for _, r := range refs {
		if r.ID == id {
			return true
		}
	}
	return false
}
