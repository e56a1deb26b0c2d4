package http

import (
	"container/list"
	"sync"
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
	byKey  map[string]*list.Element
	erased map[string]bool
}

type cachedRendition struct {
	key         string
	id          string
	body        []byte
	contentType string
	etag        string
}

// NewMediaCache returns a cache of renditions holding at most max bytes
// (DefaultMediaCacheBytes if 0).
func NewMediaCache(max int64) *MediaCache {
	if max <= 0 {
		max = DefaultMediaCacheBytes
	}
	return &MediaCache{max: max, order: list.New(), byKey: map[string]*list.Element{}, erased: map[string]bool{}}
}

func (c *MediaCache) get(id, name string) (*cachedRendition, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[id+"/"+name]
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
	r.key, r.id = id+"/"+name, id
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
		if el.Value.(*cachedRendition).id == id {
			c.remove(el)
		}
		el = next
	}
}
