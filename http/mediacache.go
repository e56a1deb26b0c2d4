package http

import (
	"container/list"
	"context"
	"strconv"
	"sync"
	"time"
)

// DefaultMediaCacheBytes bounds the renditions an instance keeps in memory.
const DefaultMediaCacheBytes = 64 << 20

// A MediaCache keeps the most recently read renditions in memory, up to a number of bytes:
// a rendition's bytes never change, so nothing expires; an erased image is evicted (the media
// view's commit says so) and remembered as erased, so that a read that fetched it just before
// cannot put it back.
type MediaCache struct {
	mu     sync.Mutex
	max    int64
	size   int64
	order  *list.List // of *cachedRendition, most recent first
	byKey  map[renditionKey]*list.Element
	erased map[string]bool
}

// renditionKey names a rendition in the cache (a struct, so that a lookup builds no string).
type renditionKey struct{ id, name string }

type cachedRendition struct {
	key  renditionKey
	body []byte
	etag string // the digest, quoted
	// The answer's header values, built once and shared by every answer (read-only).
	etagHeader, contentTypeHeader, lengthHeader []string
}

func newCachedRendition(body []byte, contentType, digest string) *cachedRendition {
	etag := `"` + digest + `"`
	return &cachedRendition{body: body, etag: etag, etagHeader: []string{etag},
		contentTypeHeader: []string{contentType}, lengthHeader: []string{strconv.Itoa(len(body))}}
}

// NewMediaCache returns a cache of renditions holding at most max bytes
// (DefaultMediaCacheBytes if 0).
func NewMediaCache(max int64) *MediaCache {
	if max <= 0 {
		max = DefaultMediaCacheBytes
	}
	return &MediaCache{max: max, order: list.New(), byKey: map[renditionKey]*list.Element{}, erased: map[string]bool{}}
}

func (c *MediaCache) get(id, name string) (*cachedRendition, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[renditionKey{id, name}]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cachedRendition), true
}

func (c *MediaCache) put(id, name string, r *cachedRendition) {
	if int64(len(r.body)) > c.max/4 {
		return // one huge rendition would push every other out
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r.key = renditionKey{id, name}
	if c.erased[id] {
		return
	}
	if _, ok := c.byKey[r.key]; ok {
		return
	}
	c.byKey[r.key] = c.order.PushFront(r)
	c.size += int64(len(r.body))
	for c.size > c.max {
		c.remove(c.order.Back())
	}
}

func (c *MediaCache) remove(el *list.Element) {
	r := c.order.Remove(el).(*cachedRendition)
	delete(c.byKey, r.key)
	c.size -= int64(len(r.body))
}

// Evict forgets every rendition of image id, for good: the media view calls it when the
// image is erased.
func (c *MediaCache) Evict(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.erased[id] = true
	for el := c.order.Front(); el != nil; {
		next := el.Next()
		if el.Value.(*cachedRendition).key.id == id {
			c.remove(el)
		}
		el = next
	}
}

// maxPublicMedia bounds the images whose publicity is remembered; past it, it starts again.
const maxPublicMedia = 10_000

// publicMedia remembers whether images are public, as the published view last said: the
// question is asked by every public rendition read, and answering it from SQL cost more than
// serving the bytes. It belongs to the PublicCache and follows its rules: every invalidation
// (a commit of the published view, here or on another instance) forgets every answer, since a
// commit's article ids do not say which images it shows or stops showing; an answer is served
// for at most the cache's maxAge; an answer read while an invalidation happened is not kept.
type publicMedia struct {
	mu   sync.RWMutex
	gen  uint64
	byID map[string]publicity
}

type publicity struct {
	public bool
	readAt time.Time
}

// invalidate forgets every answer (the PublicCache's lock is not held).
func (m *publicMedia) invalidate() {
	m.mu.Lock()
	m.gen++
	m.byID = nil
	m.mu.Unlock()
}

// isPublicMedia answers from memory when it can, else asks the view and remembers.
func (c *PublicCache) isPublicMedia(ctx context.Context, id string, ask func(context.Context, string) (bool, error)) (bool, error) {
	if c == nil {
		return ask(ctx, id)
	}
	now := c.now()
	m := &c.media
	m.mu.RLock()
	p, ok := m.byID[id]
	gen := m.gen
	m.mu.RUnlock()
	if ok && now.Sub(p.readAt) < c.maxAge {
		return p.public, nil
	}
	public, err := ask(ctx, id)
	if err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gen == gen {
		if m.byID == nil || len(m.byID) >= maxPublicMedia {
			m.byID = map[string]publicity{}
		}
		m.byID[id] = publicity{public: public, readAt: now}
	}
	return public, nil
}
