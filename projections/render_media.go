package projections

import (
	"context"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
)

// Inline images. An editor places one of the article's images in the body by its id,
// ![alt text](media:<id>). The views render the Markdown once, when an event is applied, but an
// image's renditions and alt text live in the media view, which a rebuild may fill after this
// one: so the rendered HTML holds a placeholder image, and readers' answers resolve it
// (ResolveImages) into the renditions of the image, through the same sanitiser.

// mediaPlaceholder is the address a placeholder image points at: a reserved domain (RFC 2606)
// that resolves nowhere, so that HTML served without resolution shows a missing image, never
// someone else's.
const mediaPlaceholder = "https://newsroom.invalid/media/"

// mediaImages rewrites media:<id> image destinations into placeholders, which the sanitiser
// keeps (it drops unknown URL schemes).
type mediaImages struct{}

func (mediaImages) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if img, ok := n.(*ast.Image); ok && entering {
			if id, ok := strings.CutPrefix(string(img.Destination), "media:"); ok {
				img.Destination = []byte(mediaPlaceholder + url.PathEscape(id))
			}
		}
		return ast.WalkContinue, nil
	})
}

// placeholderImg matches a placeholder image as the sanitiser writes it.
var (
	placeholderImg = regexp.MustCompile(`<img src="` + regexp.QuoteMeta(mediaPlaceholder) + `([^"/]*)"([^>]*)>`)
	altAttr        = regexp.MustCompile(`\salt="([^"]*)"`)
)

// ImageSizes is the sizes attribute of an image in the body of an article: the full width of a
// narrow screen, at most 800 CSS pixels (a reading column) on a wide one.
const ImageSizes = "(max-width: 800px) 100vw, 800px"

// ResolveImages replaces the placeholder images of bodyHTML with the renditions of the images
// refs lists, as images describes them, addressed by href(id, rendition name). A placeholder for
// an image the article does not list, or that images does not know (erased, say), is dropped.
func ResolveImages(bodyHTML string, refs []domain.MediaRef, images map[string]domain.Image, href func(id, name string) string) string {
	if !strings.Contains(bodyHTML, mediaPlaceholder) {
		return bodyHTML
	}
	return placeholderImg.ReplaceAllStringFunc(bodyHTML, func(tag string) string {
		m := placeholderImg.FindStringSubmatch(tag)
		id, err := url.PathUnescape(m[1])
		if err != nil || !refListed(refs, id) {
			return ""
		}
		img, ok := images[id]
		if !ok || img.Erased || len(img.Renditions) == 0 {
			return ""
		}
		alt := ""
		if a := altAttr.FindStringSubmatch(m[2]); a != nil {
			alt = html.UnescapeString(a[1])
		}
		if strings.TrimSpace(alt) == "" {
			alt = img.Alt
		}
		return sanitiser.Sanitize(ImgTag(img, alt, ImageSizes, href))
	})
}

// ImgTag is the <img> of img: its middle rendition as src, every rendition in srcset, its
// dimensions (so that the page keeps its place while it loads), alt; loaded lazily. Values are
// escaped.
func ImgTag(img domain.Image, alt, sizes string, href func(id, name string) string) string {
	return imgTag(img, alt, sizes, href, ` loading="lazy"`)
}

// LeadImgTag is ImgTag for the image a page opens with: fetched first, not lazily.
func LeadImgTag(img domain.Image, alt, sizes string, href func(id, name string) string) string {
	return imgTag(img, alt, sizes, href, ` fetchpriority="high"`)
}

func imgTag(img domain.Image, alt, sizes string, href func(id, name string) string, loading string) string {
	src := SrcRendition(img)
	var set []string
	for _, r := range img.Renditions {
		set = append(set, href(img.ID, r.Name)+" "+strconv.Itoa(r.Width)+"w")
	}
	var b strings.Builder
	b.WriteString(`<img src="` + html.EscapeString(href(img.ID, src.Name)) + `"`)
	b.WriteString(` srcset="` + html.EscapeString(strings.Join(set, ", ")) + `"`)
	b.WriteString(` sizes="` + html.EscapeString(sizes) + `"`)
	b.WriteString(` width="` + strconv.Itoa(src.Width) + `" height="` + strconv.Itoa(src.Height) + `"`)
	b.WriteString(` alt="` + html.EscapeString(alt) + `"` + loading + ` decoding="async">`)
	return b.String()
}

// SrcRendition is the rendition an image's src names: the 800-wide one, or the widest below it,
// or the narrowest.
func SrcRendition(img domain.Image) domain.Rendition {
	best := img.Renditions[0]
	for _, r := range img.Renditions {
		if r.Width <= 800 && r.Width > best.Width {
			best = r
		}
	}
	return best
}

func refListed(refs []domain.MediaRef, id string) bool {
	for _, r := range refs {
		if r.ID == id {
			return true
		}
	}
	return false
}

// MediaImages says what the media view knows of images, by id (see editorial.MediaCatalog).
type MediaImages interface {
	Images(ctx context.Context, ids []string) (map[string]domain.Image, error)
}

// PublicImages resolves refs with images into what subscribers see, renditions addressed by
// href. An image the media view does not hold, or holds erased, is left out.
func PublicImages(refs []domain.MediaRef, images map[string]domain.Image, href func(id, name string) string) []events.PublicImage {
	var out []events.PublicImage
	for _, r := range refs {
		img, ok := images[r.ID]
		if !ok || img.Erased {
			continue
		}
		p := events.PublicImage{ID: r.ID, Role: r.Role, Caption: r.Caption, Alt: img.Alt, Credit: img.Credit, Copyright: img.Copyright}
		if p.Caption == "" {
			p.Caption = img.Caption
		}
		for _, rd := range img.Renditions {
			p.Renditions = append(p.Renditions, events.PublicRendition{Name: rd.Name, Href: href(r.ID, rd.Name), Width: rd.Width, Height: rd.Height, ContentType: rd.ContentType})
		}
		out = append(out, p)
	}
	return out
}

// PublicMediaHref addresses the public renditions of images on base (the public URL): the
// media view serves them at /public/v1/media/{id}/{name} while a published article shows them.
func PublicMediaHref(base string) func(id, name string) string {
	base = strings.TrimRight(base, "/")
	return func(id, name string) string {
		return base + "/public/v1/media/" + url.PathEscape(id) + "/" + url.PathEscape(name)
	}
}
