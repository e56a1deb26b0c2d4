package http

import (
	"context"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/projections"
)

// MediaImages says what the media view knows of images (projections.Media, through
// projections.MediaImages); nil serves articles' images without their renditions.
type MediaImages interface {
	Images(ctx context.Context, ids []string) (map[string]domain.Image, error)
}

// mediaRefJSON is one of an article's images as the editors' API shows it.
type mediaRefJSON struct {
	ID      string `json:"id"`
	Role    string `json:"role"`
	Caption string `json:"caption"`
}

func mediaRefsJSON(refs []domain.MediaRef) *[]mediaRefJSON {
	out := make([]mediaRefJSON, len(refs))
	for i, r := range refs {
		out[i] = mediaRefJSON{ID: r.ID, Role: r.Role, Caption: r.Caption}
	}
	return &out
}

// publicImageJSON is an image of a published article as readers see it: its words (the
// article's caption, or the image's own), and its renditions at absolute addresses.
type publicImageJSON struct {
	ID         string                `json:"id"`
	Role       string                `json:"role"`
	Caption    string                `json:"caption"`
	Alt        string                `json:"alt"`
	Credit     string                `json:"credit"`
	Copyright  string                `json:"copyright"`
	Renditions []publicRenditionJSON `json:"renditions"`
}

type publicRenditionJSON struct {
	Href        string `json:"href"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	ContentType string `json:"contenttype"`
}

var publicMediaHref = projections.PublicMediaHref

// lookupImages reads what the media view knows of the images of refs; nothing without a view.
func lookupImages(ctx context.Context, m MediaImages, refs []domain.MediaRef) (map[string]domain.Image, error) {
	if m == nil || len(refs) == 0 {
		return nil, nil
	}
	return m.Images(ctx, domain.MediaIDs(refs))
}

// publicImages resolves refs with images into what readers see. An image the media view does
// not hold (or holds erased) is left out: nothing of it can be served.
func publicImages(refs []domain.MediaRef, images map[string]domain.Image, base string) []publicImageJSON {
	out := []publicImageJSON{}
	href := publicMediaHref(base)
	for _, r := range refs {
		img, ok := images[r.ID]
		if !ok || img.Erased {
			continue
		}
		p := publicImageJSON{ID: r.ID, Role: r.Role, Caption: r.Caption, Alt: img.Alt, Credit: img.Credit, Copyright: img.Copyright,
			Renditions: make([]publicRenditionJSON, len(img.Renditions))}
		if p.Caption == "" {
			p.Caption = img.Caption
		}
		for i, rd := range img.Renditions {
			p.Renditions[i] = publicRenditionJSON{Href: href(r.ID, rd.Name), Width: rd.Width, Height: rd.Height, ContentType: rd.ContentType}
		}
		out = append(out, p)
	}
	return out
}

// withImages resolves the images of a public article: its media, and the inline images of its
// body.
func withImages(out *publicArticleJSON, a projections.PublicArticle, images map[string]domain.Image, base string) {
	media := publicImages(a.Media, images, base)
	out.Media = &media
	if out.BodyHTML != "" {
		out.BodyHTML = projections.ResolveImages(out.BodyHTML, a.Media, images, publicMediaHref(base))
	}
}
