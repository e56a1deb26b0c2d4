package domain

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// An article's images. The bytes, the alt text, the credit and the renditions belong to the
// image (the media package and its view); an article only names the images it shows, in which
// role, with an optional caption of its own. Whether an image exists and has its alt text is the
// shell's to check (see editorial.MediaCatalog): one article's events cannot tell.

// Image roles. They are stored in events: renaming one means migrating or replaying history.
const (
	MediaMain   = "main"   // the article's lead picture: the public pages' and the feeds' image
	MediaInline = "inline" // placed in the body by a Markdown image, ![alt](media:<id>)
)

// Limits on an article's images.
const (
	MaxMedia   = 20    // images per article
	MaxCaption = 1_000 // characters of a caption
)

// MediaRef names one image of an article. Its JSON form is stored in events (field names are
// permanent).
type MediaRef struct {
	ID   string `json:"id"`
	Role string `json:"role"`
	// Caption overrides the image's own caption for this article; empty: the image's caption.
	Caption string `json:"caption,omitempty"`
}

// ArticleStatusRef names an article and the status it is in: who uses an image, as the desk
// view says (projections.Desk.MediaUsers).
type ArticleStatusRef struct {
	ID     string
	Status Status
}

// mediaIDPattern is the form of an image id: a UUID in its canonical lowercase form, as article
// ids are (the same generator makes both).
var mediaIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ValidMediaID reports whether id is well formed as an image id.
func ValidMediaID(id string) bool { return mediaIDPattern.MatchString(id) }

// inlineImage matches a Markdown image whose destination is an image of the article:
// ![alt text](media:<id>), with an optional title after the id. The id is captured as written
// (checked by ValidMediaID afterwards), so that a malformed one is reported, not ignored.
var inlineImage = regexp.MustCompile(`!\[[^\]]*\]\(\s*<?media:([^)\s>]*)>?(?:\s+[^)]*)?\)`)

// InlineMediaIDs lists the image ids a Markdown body places with ![alt](media:<id>), in order of
// first appearance.
func InlineMediaIDs(body string) []string {
	if !strings.Contains(body, "media:") {
		return nil
	}
	var ids []string
	for _, m := range inlineImage.FindAllStringSubmatch(body, -1) {
		if !contains(ids, m[1]) {
			ids = append(ids, m[1])
		}
	}
	return ids
}

// MediaIDs lists the ids of refs, in order.
func MediaIDs(refs []MediaRef) []string {
	if len(refs) == 0 {
		return nil
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	return ids
}

// MainMedia returns the article's main image, if it has one.
func MainMedia(refs []MediaRef) (MediaRef, bool) {
	for _, r := range refs {
		if r.Role == MediaMain {
			return r, true
		}
	}
	return MediaRef{}, false
}

// validateMedia checks an article's images and the images its body places, adding what is wrong
// to v under "media" (and "body" for an inline image the article does not list).
func validateMedia(v *ValidationError, refs []MediaRef, body string) {
	if len(refs) > MaxMedia {
		v.add("media", "has %d images; at most %d are allowed", len(refs), MaxMedia)
	}
	seen := make(map[string]bool, len(refs))
	mains := 0
	for i, r := range refs {
		switch {
		case !ValidMediaID(r.ID):
			v.add("media", "image %d: id %.40q is not an image id (a lowercase UUID, as the upload answered)", i+1, r.ID)
		case seen[r.ID]:
			v.add("media", "image %s appears twice; list each image once", r.ID)
		}
		seen[r.ID] = true
		switch r.Role {
		case MediaMain:
			mains++
		case MediaInline:
		default:
			v.add("media", "image %d: role %.20q is not %q or %q", i+1, r.Role, MediaMain, MediaInline)
		}
		if n := utf8.RuneCountInString(r.Caption); n > MaxCaption {
			v.add("media", "image %d: the caption is %d characters long; at most %d are allowed", i+1, n, MaxCaption)
		} else if problem := checkText(r.Caption, true, plainText); problem != "" {
			v.add("media", "image %d: the caption %s", i+1, problem)
		}
	}
	if mains > 1 {
		v.add("media", "has %d main images; an article has at most one", mains)
	}
	for _, id := range InlineMediaIDs(body) {
		if !seen[id] {
			v.add("body", "places the image media:%.40s, which is not among the article's media; add it to media (role inline) or remove it from the body", id)
		}
	}
}

// normalizedMedia returns a copy of refs with their ids, roles and captions in NFC; nil stays nil
// and empty stays empty ("unchanged" and "none" differ to a revision).
func normalizedMedia(refs []MediaRef) []MediaRef {
	if refs == nil {
		return nil
	}
	out := make([]MediaRef, len(refs))
	for i, r := range refs {
		out[i] = MediaRef{ID: norm.NFC.String(r.ID), Role: norm.NFC.String(r.Role), Caption: norm.NFC.String(r.Caption)}
	}
	return out
}

// sameMedia reports whether x and y list the same images in the same order and roles, with the
// same captions.
func SameMedia(x, y []MediaRef) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// withoutCaptions returns the ids and roles of refs: what a kill keeps (the ids say which images
// the article used, so that they can be erased; captions are text, and go).
func withoutCaptions(refs []MediaRef) []MediaRef {
	if len(refs) == 0 {
		return nil
	}
	out := make([]MediaRef, len(refs))
	for i, r := range refs {
		out[i] = MediaRef{ID: r.ID, Role: r.Role}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Image is what the media view knows of one image: what an article's ref resolves to. The
// article side reads it (through the shell) and never changes it.
type Image struct {
	ID         string
	Caption    string
	Credit     string
	Alt        string // required before an article showing the image is published
	Copyright  string
	Width      int
	Height     int
	Renditions []Rendition // narrowest first
	Erased     bool        // its bytes were deleted: it may not be attached again
}

// WithoutAlt lists the images of refs that images says have no alt text (or that images does
// not know), in the order of refs: what keeps an article from publication.
func WithoutAlt(refs []MediaRef, images map[string]Image) []string {
	var ids []string
	for _, r := range refs {
		if img, ok := images[r.ID]; !ok || strings.TrimSpace(img.Alt) == "" {
			ids = append(ids, r.ID)
		}
	}
	return ids
}
