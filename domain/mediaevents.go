package domain

import "strings"

// Images (media) are aggregates of their own beside articles: their events travel in the same
// log, on subjects of their own (events.MediaSubject), so that every view sees articles and
// images in one order. Their bytes are not in the log: they live in the object store, named by
// the image's id; the log records the fact of the upload, the description and the erasure.

// Media event type names are permanent, as the article ones are.
const (
	TypeMediaUploaded  = "media.uploaded"
	TypeMediaDescribed = "media.described"
	TypeMediaErased    = "media.erased"
)

// mediaTypePrefix starts every media event type and no article one.
const mediaTypePrefix = "media."

// IsMediaEvent reports whether an event of type eventType is about an image, not an article.
// Article views and the outboxes never see these; the media view sees only these.
func IsMediaEvent(eventType string) bool { return strings.HasPrefix(eventType, mediaTypePrefix) }

// ErasesEarlierEvents tells whether an event of this type has the earlier events of its article
// (a kill) or image (an erasure) erased from the log: it carries all a view needs, and a view
// that was behind sees it right after what it had.
func ErasesEarlierEvents(eventType string) bool {
	return eventType == TypeKilled || eventType == TypeMediaErased
}

// Rendition is one stored size of an image, named by its target width ("320", "800", "1600").
type Rendition struct {
	Name        string `json:"name"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	ContentType string `json:"contenttype"`
	// Digest is the rendition's content hash as the object store keeps it ("SHA-256=…"):
	// its ETag, and what a reader checks the bytes against.
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// MediaDescription is what editors say of an image; the alt text is required before an
// article using the image is published (h-attach checks it there).
type MediaDescription struct {
	Caption   string `json:"caption"`
	Credit    string `json:"credit"`
	Alt       string `json:"alt"`
	Copyright string `json:"copyright,omitempty"`
}

// MediaUploaded records an image whose renditions are in the object store.
type MediaUploaded struct {
	MediaDescription
	UploadedBy  string      `json:"uploaded_by"`
	ContentType string      `json:"content_type"` // of the upload, as decoded: image/jpeg, image/png, …
	Width       int         `json:"width"`        // of the upload, after its EXIF orientation
	Height      int         `json:"height"`
	Renditions  []Rendition `json:"renditions"`
}

// MediaDescribed replaces an image's description.
type MediaDescribed struct {
	MediaDescription
}

// MediaErased records that an image's bytes left the object store: every article that used it
// was killed. Its description goes too (a caption may name the people in the picture).
type MediaErased struct {
	Reason string `json:"reason,omitempty"`
}

// EventType implements Event.
func (MediaUploaded) EventType() string { return TypeMediaUploaded }

// EventType implements Event.
func (MediaDescribed) EventType() string { return TypeMediaDescribed }

// EventType implements Event.
func (MediaErased) EventType() string { return TypeMediaErased }

// MediaDescriptionLimit bounds each description field, in characters.
const MediaDescriptionLimit = 2000

// ValidateMediaDescription checks a description's fields: within the limit, without control
// characters. It returns a *ValidationError listing every invalid field.
func ValidateMediaDescription(d MediaDescription) error {
	var v ValidationError
	for _, f := range []struct{ name, value string }{
		{"caption", d.Caption}, {"credit", d.Credit}, {"alt", d.Alt}, {"copyright", d.Copyright},
	} {
		checkLength(&v, f.name, f.value, MediaDescriptionLimit)
		for _, r := range f.value {
			if r == '\uFFFD' || (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
				v.add(f.name, "must not hold control characters or invalid text")
				break
			}
		}
	}
	return v.orNil()
}
