package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	nethttp "net/http"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/media"
	"github.com/newsroom/newsroom/projections"
)

// MediaLibrary stores images; *media.Library implements it.
type MediaLibrary interface {
	Upload(ctx context.Context, f io.ReadSeeker, d domain.MediaDescription, by domain.Actor, trace events.Trace, now time.Time) (media.Uploaded, error)
	Describe(ctx context.Context, id string, p media.Patch, ifMatch []int, by domain.Actor, trace events.Trace, now time.Time) (media.Described, error)
	// Read returns a rendition's bytes; media.ErrNotFound if the object store has none.
	Read(ctx context.Context, id, rendition string) ([]byte, error)
}

// MediaViews reads the media view; *projections.Media implements it.
type MediaViews interface {
	Get(ctx context.Context, id string) (projections.MediaItem, error)
}

// PublicMedia says whether readers may see an image: it is shown by an article they may read
// now. The published view implements it (with the articles' images); nil: no image is public.
type PublicMedia interface {
	IsPublicMedia(ctx context.Context, mediaID string) (bool, error)
}

// MediaConfig is what the image endpoints serve from. Without a Library there are none.
type MediaConfig struct {
	Library MediaLibrary
	Views   MediaViews
	Public  PublicMedia
	// MaxBytes bounds an upload (media.DefaultMaxBytes if 0); TempDir is where uploads are
	// spooled (the system's if "").
	MaxBytes int64
	TempDir  string
	// Cache keeps hot renditions in memory (NewMediaCache(0) if nil); the media view evicts
	// erased images from it.
	Cache *MediaCache
}

// multipartOverhead is what a form may hold beyond its file: the boundaries, the parts'
// headers and the text fields.
const multipartOverhead = 64 << 10

type mediaAPI struct {
	cfg MediaConfig // cfg.Cache holds the renditions read
	// publicCache remembers which images are public; nil: the view is asked every time.
	publicCache *PublicCache
}

func newMediaAPI(cfg MediaConfig, publicCache *PublicCache) *mediaAPI {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = media.DefaultMaxBytes
	}
	if cfg.Cache == nil {
		cfg.Cache = NewMediaCache(0)
	}
	return &mediaAPI{cfg: cfg, publicCache: publicCache}
}

// skipsBodyLimit reports whether a request is an upload, which has its own, larger, limit.
func skipsBodyLimit(c echo.Context) bool {
	return c.Request().Method == nethttp.MethodPost && c.Request().URL.Path == "/api/v1/media"
}

// mediaJSON is an image as the editors' API shows it.
type mediaJSON struct {
	ID          string          `json:"id"`
	Version     int             `json:"version"`
	Caption     string          `json:"caption"`
	Credit      string          `json:"credit"`
	Alt         string          `json:"alt"`
	Copyright   string          `json:"copyright"`
	Width       int             `json:"width"`
	Height      int             `json:"height"`
	ContentType string          `json:"content_type"`
	UploadedBy  string          `json:"uploaded_by"`
	UploadedAt  time.Time       `json:"uploaded_at"`
	Renditions  []renditionJSON `json:"renditions"`
}

type renditionJSON struct {
	Name        string `json:"name"`
	Href        string `json:"href"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	ContentType string `json:"contenttype"`
}

func mediaFrom(it projections.MediaItem) mediaJSON {
	out := mediaJSON{ID: it.ID, Version: it.Version, Caption: it.Caption, Credit: it.Credit, Alt: it.Alt,
		Copyright: it.Copyright, Width: it.Width, Height: it.Height, ContentType: it.ContentType,
		UploadedBy: it.UploadedBy, UploadedAt: it.UploadedAt, Renditions: []renditionJSON{}}
	for _, r := range it.Renditions {
		out.Renditions = append(out.Renditions, renditionJSON{Name: r.Name, Width: r.Width, Height: r.Height,
			ContentType: r.ContentType, Href: deskMediaHref(it.ID, r.Name)})
	}
	return out
}

// upload takes a multipart/form-data upload: the file is spooled to disk as it streams in
// (refused past the limit without reading the rest), then processed once.
func (api *mediaAPI) upload(c echo.Context) error {
	req := c.Request()
	if req.ContentLength > api.cfg.MaxBytes+multipartOverhead {
		return api.tooLarge()
	}
	mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEMultipartForm {
		return echo.NewHTTPError(nethttp.StatusUnsupportedMediaType, "send the image as multipart/form-data with a part named file")
	}
	req.Body = nethttp.MaxBytesReader(c.Response(), req.Body, api.cfg.MaxBytes+multipartOverhead)
	form, err := req.MultipartReader()
	if err != nil {
		return malformed("the multipart body does not parse: %v", err)
	}
	var d domain.MediaDescription
	var spooled *os.File
	defer func() {
		if spooled != nil {
			media.Discard(spooled)
		}
	}()
	for {
		part, err := form.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return api.bodyError(err)
		}
		name := part.FormName()
		switch name {
		case "file":
			if spooled != nil {
				return malformed("send one part named file, not several")
			}
			if spooled, _, err = media.Spool(part, api.cfg.TempDir, api.cfg.MaxBytes); err != nil {
				return api.bodyError(err)
			}
		case "caption", "credit", "alt", "copyright":
			value, err := io.ReadAll(io.LimitReader(part, 4*domain.MediaDescriptionLimit+1))
			if err != nil {
				return api.bodyError(err)
			}
			*map[string]*string{"caption": &d.Caption, "credit": &d.Credit, "alt": &d.Alt, "copyright": &d.Copyright}[name] = string(value)
		default:
			return malformed("unknown form field %q; the fields are file, caption, credit, alt and copyright", name)
		}
	}
	if spooled == nil {
		return malformed("no part named file: send the image as -F file=@picture.jpg")
	}
	p, now := principal(c), time.Now()
	up, err := api.cfg.Library.Upload(req.Context(), spooled, d, domain.Actor{ID: p.UserID, Role: p.Role},
		events.Trace{CorrelationID: c.Response().Header().Get(echo.HeaderXRequestID)}, now)
	if err != nil {
		return err
	}
	e := up.Event
	h := c.Response().Header()
	h.Set(positionHeader, strconv.FormatUint(up.Sequence, 10))
	h.Set(headerETag, etag(1))
	h.Set(echo.HeaderLocation, "/api/v1/media/"+up.ID)
	h.Set("Cache-Control", "no-store")
	return c.JSON(nethttp.StatusCreated, mediaFrom(projections.MediaItem{ID: up.ID, Version: 1, UploadedBy: e.UploadedBy,
		UploadedAt: now.UTC(), ContentType: e.ContentType, Width: e.Width, Height: e.Height,
		MediaDescription: e.MediaDescription, Renditions: e.Renditions}))
}

func (api *mediaAPI) tooLarge() error {
	return echo.NewHTTPError(nethttp.StatusRequestEntityTooLarge,
		fmt.Sprintf("an upload may hold at most %d bytes (--media-max-bytes)", api.cfg.MaxBytes))
}

// bodyError is what reading the form failed with: the limit, or a body that broke off.
func (api *mediaAPI) bodyError(err error) error {
	var maxErr *nethttp.MaxBytesError
	if errors.Is(err, media.ErrTooLarge) || errors.As(err, &maxErr) {
		return api.tooLarge()
	}
	if strings.Contains(err.Error(), "multipart") {
		return malformed("the multipart body does not parse: %v", err)
	}
	return &bodyReadError{err: err}
}

// get shows an image's metadata from the media view.
func (api *mediaAPI) get(c echo.Context) error {
	it, err := api.item(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(headerETag, etag(it.Version))
	h.Set("Cache-Control", "no-store")
	return c.JSON(nethttp.StatusOK, mediaFrom(it))
}

func (api *mediaAPI) item(ctx context.Context, id string) (projections.MediaItem, error) {
	it, err := api.cfg.Views.Get(ctx, id)
	if err != nil {
		return it, err
	}
	if it.Erased() {
		return it, projections.ErrMediaErased
	}
	return it, nil
}

// describe changes an image's caption, credit, alt text or copyright (a merge patch: fields
// left out stay as they are), under If-Match as articles are.
func (api *mediaAPI) describe(c echo.Context) error {
	ifMatch, body, err := mergePatch(c)
	if err != nil {
		return err
	}
	var patch media.Patch
	if err := decodeInto(body, &patch); err != nil {
		return err
	}
	var versions []int // nil: any version (If-Match: *)
	if !ifMatch.Any {
		versions = append([]int{}, ifMatch.Versions...) // never nil, even when empty
	}
	p := principal(c)
	id := c.Param("id")
	res, err := api.cfg.Library.Describe(c.Request().Context(), id, patch, versions, domain.Actor{ID: p.UserID, Role: p.Role},
		events.Trace{CorrelationID: c.Response().Header().Get(echo.HeaderXRequestID)}, time.Now())
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(positionHeader, strconv.FormatUint(res.Sequence, 10))
	h.Set(headerETag, etag(res.Version))
	h.Set("Cache-Control", "no-store")
	// The rest of the image is as the view has it: a description never changes the renditions.
	it, err := api.cfg.Views.Get(c.Request().Context(), id)
	if err != nil {
		it = projections.MediaItem{ID: id}
	}
	it.Version, it.MediaDescription = res.Version, res.Description
	return c.JSON(nethttp.StatusOK, mediaFrom(it))
}

// deskRendition serves a rendition to editors, whether or not any published article shows it.
func (api *mediaAPI) deskRendition(c echo.Context) error {
	// The view first, every time: only the instance whose media view committed an erasure
	// evicts the image from its rendition cache, and an erased image answers 410 on every
	// instance. (The public route asks the PublicCache, which every instance's commits reach.)
	if _, err := api.item(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return api.serve(c, c.Param("id"), c.Param("name"), deskRenditionCache)
}

// publicRendition serves a rendition to readers once an article they may read shows it. The
// same address serves the same bytes for as long as it serves any. Shared caches and browsers
// may keep an answer as long as a public article (publicCacheControl), never longer: a legal
// kill must take the image off them within the bound it takes the article's text off them. A
// cache that kept it revalidates with its ETag, which costs a 304 and no bytes. No address is
// kept longer: a ?v= naming the content used to earn a year (immutable), which outlived a
// kill; it is ignored now, as any other query.
//
// It is the hottest read there is (every picture of every page), so a read of a rendition in
// memory touches neither the views nor the object store: whether the image is public comes
// from the PublicCache (which the published view's commits invalidate), its bytes and headers
// from the MediaCache. Only a miss reads, under readTimeout (the route has no boundedRead,
// whose context and request copy every read would pay).
func (api *mediaAPI) publicRendition(c echo.Context) error {
	id := c.Param("id")
	ok := false
	if api.cfg.Public != nil {
		var err error
		if ok, err = api.publicCache.isPublicMedia(c.Request().Context(), id, api.askPublic); err != nil {
			return err
		}
	}
	if !ok {
		return echo.NewHTTPError(nethttp.StatusNotFound, "no public image at this address")
	}
	return api.serve(c, id, c.Param("name"), publicRenditionCache)
}

func (api *mediaAPI) askPublic(ctx context.Context, id string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	return api.cfg.Public.IsPublicMedia(ctx, id)
}

// Header values shared by every answer: net/http only reads them, and a slice of capacity one
// is copied, not changed, by anything that appends to it.
var (
	deskRenditionCache   = []string{"private, max-age=3600"}
	publicRenditionCache = []string{publicCacheControl}
	noSniff              = []string{"nosniff"}
)

// Canonical header keys, for setting the header map directly.
var (
	keyETag          = textproto.CanonicalMIMEHeaderKey(headerETag)
	keyCacheControl  = textproto.CanonicalMIMEHeaderKey("Cache-Control")
	keyNoSniff       = textproto.CanonicalMIMEHeaderKey("X-Content-Type-Options")
	keyContentType   = textproto.CanonicalMIMEHeaderKey(echo.HeaderContentType)
	keyContentLength = textproto.CanonicalMIMEHeaderKey(echo.HeaderContentLength)
)

// serve answers a rendition from the MediaCache, reading it from the view and the object store
// on a miss. A rendition's headers are built once, when it enters the cache; its bytes are
// written as they are kept, without a copy.
func (api *mediaAPI) serve(c echo.Context, id, name string, cacheControl []string) error {
	r, ok := api.cfg.Cache.get(id, name)
	if !ok {
		var err error
		if r, err = api.load(c.Request().Context(), id, name); err != nil {
			return err
		}
		api.cfg.Cache.put(id, name, r)
	}
	req := c.Request()
	res := c.Response()
	h := res.Header()
	h[keyETag] = r.etagHeader
	h[keyCacheControl] = cacheControl
	h[keyNoSniff] = noSniff
	if inm := req.Header[ifNoneMatch]; len(inm) > 0 && etagListMatches(inm, r.etag) {
		return c.NoContent(nethttp.StatusNotModified)
	}
	h[keyContentType] = r.contentTypeHeader
	h[keyContentLength] = r.lengthHeader
	res.WriteHeader(nethttp.StatusOK)
	_, err := res.Write(r.body) // HEAD: net/http writes no body, and says its length
	return err
}

var ifNoneMatch = textproto.CanonicalMIMEHeaderKey("If-None-Match")

// load reads a rendition from the media view and the object store, under readTimeout.
func (api *mediaAPI) load(ctx context.Context, id, name string) (*cachedRendition, error) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	it, err := api.item(ctx, id)
	if err != nil {
		return nil, err
	}
	rend, found := it.Rendition(name)
	if !found {
		return nil, echo.NewHTTPError(nethttp.StatusNotFound, "this image has no rendition "+strconv.Quote(name))
	}
	b, err := api.cfg.Library.Read(ctx, id, name)
	if err != nil {
		return nil, err
	}
	return newCachedRendition(b, rend.ContentType, rend.Digest), nil
}
