package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
)

// Bucket is the object store of images' renditions, beside the log. Its name is permanent: the
// bytes of every image uploaded are there, named ObjectName(id, rendition).
const Bucket = "NEWSROOM_MEDIA"

// ObjectName is the name of an image's rendition in Bucket.
func ObjectName(id, rendition string) string { return id + "/" + rendition }

// orphanAge is how old objects must be before the sweep deletes them for want of an upload
// event: an upload in flight on another instance writes its objects before its event.
const orphanAge = 15 * time.Minute

var (
	// ErrNotFound: no image has that id, or no rendition that name.
	ErrNotFound = errors.New("image not found")
	// ErrErased: the image was erased.
	ErrErased = errors.New("image erased")
	// ErrVersionMismatch: the image changed since the version the caller named (If-Match).
	ErrVersionMismatch = errors.New("the image changed since that version")
)

// OpenBucket creates the object store with the log's replicas if it is missing, and returns it.
// An existing one is used as it is.
func OpenBucket(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.ObjectStore, error) {
	os, err := js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: Bucket, Replicas: replicas,
		Description: "newsroom images: the renditions of every upload, <media id>/<rendition>"})
	if errors.Is(err, jetstream.ErrBucketExists) {
		os, err = js.ObjectStore(ctx, Bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("object store %s: %w", Bucket, err)
	}
	return os, nil
}

// Library stores images: their renditions in the object store, the facts about them in the log.
type Library struct {
	Objects jetstream.ObjectStore
	Log     *events.Store
	JS      jetstream.JetStream // for the erasure of an image's events
	Logger  *slog.Logger
}

// Uploaded is an upload as recorded.
type Uploaded struct {
	ID       string
	Event    domain.MediaUploaded
	Sequence uint64 // of its event in the log: the position a reader may wait for
}

// NewID returns a fresh image id (the form of an article id).
func NewID() string { return uuid.NewString() }

// Upload processes a spooled upload (Process) and records it: the renditions go to the object
// store first, then the event to the log, so that an event never names bytes that are not
// there. Objects whose event never landed (a crash between the two) are deleted by Sweep.
func (l *Library) Upload(ctx context.Context, f io.ReadSeeker, d domain.MediaDescription, by domain.Actor, trace events.Trace, now time.Time) (Uploaded, error) {
	if err := domain.ValidateMediaDescription(d); err != nil {
		return Uploaded{}, err
	}
	img, err := Process(f)
	if err != nil {
		return Uploaded{}, err
	}
	id := NewID()
	e := domain.MediaUploaded{MediaDescription: d, UploadedBy: by.ID, ContentType: img.ContentType,
		Width: img.Width, Height: img.Height}
	for _, r := range img.Renditions {
		info, err := l.Objects.Put(ctx, jetstream.ObjectMeta{Name: ObjectName(id, r.Name),
			Headers: map[string][]string{"Content-Type": {r.ContentType}}}, bytes.NewReader(r.Bytes))
		if err != nil {
			return Uploaded{}, fmt.Errorf("store image %s rendition %s: %w", id, r.Name, err)
		}
		if info.Digest != r.Digest {
			return Uploaded{}, fmt.Errorf("store image %s rendition %s: digest %s, computed %s", id, r.Name, info.Digest, r.Digest)
		}
		e.Renditions = append(e.Renditions, r.Rendition)
	}
	env, err := events.NewEnvelope(id, 1, e, by, now, trace)
	if err != nil {
		return Uploaded{}, err
	}
	seq, err := l.Log.Append(ctx, env, 0)
	if err != nil {
		return Uploaded{}, fmt.Errorf("record image %s: %w", id, err)
	}
	return Uploaded{ID: id, Event: e, Sequence: seq}, nil
}

// state is an image as its own events say.
type state struct {
	version int
	lastSeq uint64
	erased  bool
	desc    domain.MediaDescription
}

func (l *Library) load(ctx context.Context, id string) (state, error) {
	h, err := l.Log.LoadMedia(ctx, id)
	if err != nil {
		return state{}, err
	}
	if len(h.Events) == 0 {
		return state{}, fmt.Errorf("image %s: %w", id, ErrNotFound)
	}
	last := h.Events[len(h.Events)-1]
	s := state{version: last.ArticleVersion, lastSeq: h.LastSequence, erased: last.Type == domain.TypeMediaErased}
	for _, env := range h.Events {
		r, err := env.Recorded()
		if err != nil {
			return state{}, err
		}
		switch e := r.Event.(type) {
		case domain.MediaUploaded:
			s.desc = e.MediaDescription
		case domain.MediaDescribed:
			s.desc = e.MediaDescription
		}
	}
	return s, nil
}

// Patch changes some fields of a description: nil leaves a field as it is.
type Patch struct {
	Caption   *string `json:"caption"`
	Credit    *string `json:"credit"`
	Alt       *string `json:"alt"`
	Copyright *string `json:"copyright"`
}

func (p Patch) apply(d domain.MediaDescription) domain.MediaDescription {
	for _, f := range []struct {
		v   *string
		dst *string
	}{{p.Caption, &d.Caption}, {p.Credit, &d.Credit}, {p.Alt, &d.Alt}, {p.Copyright, &d.Copyright}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	return d
}

// Described is a description as recorded.
type Described struct {
	Description domain.MediaDescription
	Version     int
	Sequence    uint64
}

// Describe changes an image's description as the log holds it; ifMatch, when not nil, lists
// the versions the caller may have seen (ErrVersionMismatch if the image is at none of them).
func (l *Library) Describe(ctx context.Context, id string, p Patch, ifMatch []int, by domain.Actor, trace events.Trace, now time.Time) (Described, error) {
	s, err := l.load(ctx, id)
	if err != nil {
		return Described{}, err
	}
	if s.erased {
		return Described{}, fmt.Errorf("image %s: %w", id, ErrErased)
	}
	if ifMatch != nil && !slices.Contains(ifMatch, s.version) {
		return Described{}, fmt.Errorf("the image is at version %d: %w", s.version, ErrVersionMismatch)
	}
	d := p.apply(s.desc)
	if err := domain.ValidateMediaDescription(d); err != nil {
		return Described{}, err
	}
	env, err := events.NewEnvelope(id, s.version+1, domain.MediaDescribed{MediaDescription: d}, by, now, trace)
	if err != nil {
		return Described{}, err
	}
	seq, err := l.Log.Append(ctx, env, s.lastSeq)
	if errors.Is(err, events.ErrConflict) {
		return Described{}, fmt.Errorf("another change was saved first: %w", ErrVersionMismatch)
	}
	if err != nil {
		return Described{}, err
	}
	return Described{Description: d, Version: s.version + 1, Sequence: seq}, nil
}

// Read returns the bytes of one rendition (the object store checks them against their digest).
func (l *Library) Read(ctx context.Context, id, rendition string) ([]byte, error) {
	b, err := l.Objects.GetBytes(ctx, ObjectName(id, rendition))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("image %s rendition %s: %w", id, rendition, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("image %s rendition %s: %w", id, rendition, err)
	}
	return b, nil
}

// Erase deletes every rendition of an image from the object store, then records media.erased
// in the log and securely deletes the image's earlier events (their description may name
// people). It is idempotent: an image erased before is left as it is.
func (l *Library) Erase(ctx context.Context, id, reason string, now time.Time) error {
	s, err := l.load(ctx, id)
	if err != nil {
		return err
	}
	objects, err := l.objectsOf(ctx, id)
	if err != nil {
		return err
	}
	if err := l.deleteObjects(ctx, objects); err != nil {
		return err
	}
	seq := s.lastSeq
	if !s.erased {
		env, err := events.NewEnvelope(id, s.version+1, domain.MediaErased{Reason: reason},
			domain.Actor{ID: "system", Role: domain.RoleSystem}, now, events.Trace{})
		if err != nil {
			return err
		}
		if seq, err = l.Log.Append(ctx, env, s.lastSeq); err != nil {
			return fmt.Errorf("record the erasure of image %s: %w", id, err)
		}
	}
	if _, err := events.EraseMediaEvents(ctx, l.JS, id, seq); err != nil {
		return err
	}
	return nil
}

// objectsOf are the objects of image id in the store: its renditions, each named by its target
// width (a lookup each, rather than a listing of the whole bucket).
func (l *Library) objectsOf(ctx context.Context, id string) ([]*jetstream.ObjectInfo, error) {
	var objects []*jetstream.ObjectInfo
	for _, w := range Widths {
		o, err := l.Objects.GetInfo(ctx, ObjectName(id, strconv.Itoa(w)))
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", id, err)
		}
		objects = append(objects, o)
	}
	return objects, nil
}

// deleteObjects deletes objects, each securely.
func (l *Library) deleteObjects(ctx context.Context, objects []*jetstream.ObjectInfo) error {
	var (
		stream jetstream.Stream
		err    error
	)
	for _, o := range objects {
		// The object store's delete purges the chunks, which leaves their bytes in the
		// stream's block files: overwrite them first.
		if stream == nil {
			if stream, err = l.JS.Stream(ctx, bucketStream); err != nil {
				return fmt.Errorf("images' stream: %w", err)
			}
		}
		if _, err := events.SecureDeleteSubject(ctx, stream, chunkSubject(o.NUID)); err != nil {
			return fmt.Errorf("erase the bytes of %s: %w", o.Name, err)
		}
		if err := l.Objects.Delete(ctx, o.Name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return fmt.Errorf("delete %s: %w", o.Name, err)
		}
	}
	return nil
}

// bucketStream is the stream behind Bucket, and chunkSubject the subject of an object's
// chunks in it: how nats.go's object store lays a bucket out (ADR-20), which its API does not
// expose.
const bucketStream = "OBJ_" + Bucket

func chunkSubject(nuid string) string { return "$O." + Bucket + ".C." + nuid }

// Sweep deletes the objects of images the log has no upload of (a crash between the objects
// and the event), once they are older than an upload could be in flight. It returns how many
// images it deleted. Serve runs it at start and every hour.
func (l *Library) Sweep(ctx context.Context, now time.Time) (int, error) {
	objects, err := l.Objects.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("list images: %w", err)
	}
	newest := map[string]time.Time{}
	byImage := map[string][]*jetstream.ObjectInfo{}
	for _, o := range objects {
		id, _, _ := strings.Cut(o.Name, "/")
		if o.ModTime.After(newest[id]) {
			newest[id] = o.ModTime
		}
		byImage[id] = append(byImage[id], o)
	}
	n := 0
	for id, mod := range newest {
		if now.Sub(mod) < orphanAge {
			continue
		}
		h, err := l.Log.LoadMedia(ctx, id)
		if err != nil {
			return n, err
		}
		if len(h.Events) > 0 && h.Events[len(h.Events)-1].Type != domain.TypeMediaErased {
			continue
		}
		if err := l.deleteObjects(ctx, byImage[id]); err != nil {
			return n, err
		}
		l.logger().Info("image objects without an upload in the log deleted", "media_id", id)
		n++
	}
	return n, nil
}

func (l *Library) logger() *slog.Logger {
	if l.Logger == nil {
		return slog.Default()
	}
	return l.Logger
}

// Users says which articles show an image, in which status (the desk view implements it).
type Users interface {
	MediaUsers(ctx context.Context, mediaID string) ([]domain.ArticleStatusRef, error)
}

// EraseUnused erases each image in ids that some article used and that only killed articles
// use now: an image never attached is kept (it may be about to be), one a living article
// shows is kept. It returns the ids it erased.
func (l *Library) EraseUnused(ctx context.Context, users Users, ids []string, now time.Time) ([]string, error) {
	var erased []string
	for _, id := range ids {
		refs, err := users.MediaUsers(ctx, id)
		if err != nil {
			return erased, err
		}
		if len(refs) == 0 {
			continue
		}
		alive := false
		for _, r := range refs {
			alive = alive || r.Status != domain.StatusKilled
		}
		if alive {
			continue
		}
		if err := l.Erase(ctx, id, "every article using it was killed", now); err != nil {
			return erased, err
		}
		erased = append(erased, id)
	}
	return erased, nil
}
