package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// PublicCacheMaxAge bounds how long a rendered answer is served after it was read from the
// view. Invalidation (PublicCache.Invalidate) normally drops an answer the moment a commit
// changes it; the bound is what a lost invalidation costs: an instance that missed one serves
// the old answer for at most this long.
const PublicCacheMaxAge = time.Second

// Bounds of the cache; past one, that part of the cache starts again empty.
const (
	maxCachedArticles = 10_000
	maxCachedLists    = 1_000 // list pages and feeds: their keys hold the query
)

// PublicCache keeps rendered public answers in memory — articles by slug, list pages, feeds —
// for every instance, whatever the database. The published view's commits invalidate it: the
// committing instance directly, the others through the announcement serve relays (NATS), and
// every answer expires PublicCacheMaxAge after it was read in any case. An answer read while an
// invalidation happened is served but not kept, so an invalidation is never undone by a read
// that raced with it.
type PublicCache struct {
	maxAge time.Duration
	now    func() time.Time

	mu        sync.RWMutex
	gen       uint64                    // moved by every invalidation
	articles  map[string]renderedAnswer // by slug
	byArticle map[string][]string       // article id, or translation set id → the keys of its answers
	lists     map[string]renderedAnswer // by listing key: they show many articles
	flights   map[flightKey]*flight     // reads of the view under way

	media publicMedia // whether images are public (mediacache.go)
}

// A read of the view under way, which readers of the same key and generation wait for rather
// than read again: after an invalidation, a burst of requests for one feed renders it once.
// Only a read begun in the same generation is joined, so no reader gets an answer read
// before an invalidation it has seen.
type flightKey struct {
	key    string
	isList bool
	gen    uint64
}

type flight struct {
	done    chan struct{}
	answer  renderedAnswer
	err     error // errFlightFailed until the read returns
	waiting int   // readers that joined it (under PublicCache.mu)
}

var errFlightFailed = errors.New("the read of the view failed")

// renderedAnswer is one public answer, ready to send.
type renderedAnswer struct {
	body      []byte
	etag      string    // "" for none
	articleID string    // the article an answer by slug shows
	setID     string    // its translation set, whose other members' changes change it too
	readAt    time.Time // noted before the view was read
}

// NewPublicCache returns an empty cache whose answers are served for at most maxAge after they
// were read (PublicCacheMaxAge in production).
func NewPublicCache(maxAge time.Duration) *PublicCache {
	return &PublicCache{maxAge: maxAge, now: time.Now, articles: map[string]renderedAnswer{},
		byArticle: map[string][]string{}, lists: map[string]renderedAnswer{}, flights: map[flightKey]*flight{}}
}

// Invalidate drops the answers that show the articles with these ids, or belong to the
// translation sets with these ids, and every list page and feed; nil ids drops everything (a
// rebuilt view, a lost track of changes).
func (c *PublicCache) Invalidate(ids []string) {
	if c == nil {
		return
	}
	c.media.invalidate()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.lists = map[string]renderedAnswer{}
	if ids == nil {
		c.articles, c.byArticle = map[string]renderedAnswer{}, map[string][]string{}
		return
	}
	for _, id := range ids {
		for _, slug := range c.byArticle[id] {
			delete(c.articles, slug)
		}
		delete(c.byArticle, id)
	}
}

// article returns the answer for slug, from memory when one is fresh, else through load.
func (c *PublicCache) article(ctx context.Context, slug string, load func(context.Context) (renderedAnswer, error)) (renderedAnswer, error) {
	return c.get(ctx, slug, false, load)
}

// list returns the answer for a listing (a list page, a feed) under key.
func (c *PublicCache) list(ctx context.Context, key string, load func(context.Context) (renderedAnswer, error)) (renderedAnswer, error) {
	return c.get(ctx, key, true, load)
}

// fresh returns the listing answer under key if one is kept and fresh.
func (c *PublicCache) fresh(ctx context.Context, key string) (renderedAnswer, bool) {
	if c == nil || freshRead(ctx) {
		return renderedAnswer{}, false
	}
	c.mu.RLock()
	a, ok := c.lists[key]
	c.mu.RUnlock()
	return a, ok && c.now().Sub(a.readAt) < c.maxAge
}

// get returns the answer under key, from memory when one is fresh, else through load, whose
// read (or the wait for another reader's) it bounds by readTimeout: a route whose reads all go
// through the cache needs no boundedRead, and an answer from memory sets no timer.
func (c *PublicCache) get(ctx context.Context, key string, isList bool, load func(context.Context) (renderedAnswer, error)) (renderedAnswer, error) {
	if c == nil || freshRead(ctx) {
		ctx, cancel := context.WithTimeout(ctx, readTimeout)
		defer cancel()
		return load(ctx)
	}
	now := c.now()
	c.mu.RLock()
	a, ok := c.lookup(key, isList)
	c.mu.RUnlock()
	if ok && now.Sub(a.readAt) < c.maxAge {
		return a, nil
	}
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()

	c.mu.Lock()
	if a, ok := c.lookup(key, isList); ok && now.Sub(a.readAt) < c.maxAge {
		c.mu.Unlock()
		return a, nil // another reader stored it meanwhile
	}
	fk := flightKey{key: key, isList: isList, gen: c.gen}
	if f := c.flights[fk]; f != nil {
		f.waiting++
		c.mu.Unlock()
		select {
		case <-f.done:
			if f.err == nil {
				return f.answer, nil
			}
			return load(ctx) // the error may be the other request's own (it went away, it panicked)
		case <-ctx.Done():
			return renderedAnswer{}, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{}), err: errFlightFailed}
	c.flights[fk] = f
	c.mu.Unlock()
	defer func() { // also when load panics: no reader waits for a flight that ended
		c.mu.Lock()
		delete(c.flights, fk)
		c.mu.Unlock()
		close(f.done)
	}()

	a, err := load(ctx)
	a.readAt = now
	f.answer, f.err = a, err
	if err != nil {
		return a, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != fk.gen {
		return a, nil // invalidated while it was read: serve it, keep nothing
	}
	if isList {
		if len(c.lists) >= maxCachedLists {
			c.lists = map[string]renderedAnswer{}
		}
		c.lists[key] = a
		return a, nil
	}
	if len(c.articles) >= maxCachedArticles {
		c.articles, c.byArticle = map[string]renderedAnswer{}, map[string][]string{}
	}
	if old, had := c.articles[key]; !had || old.articleID != a.articleID {
		c.byArticle[a.articleID] = append(c.byArticle[a.articleID], key)
		if a.setID != "" && a.setID != a.articleID {
			c.byArticle[a.setID] = append(c.byArticle[a.setID], key)
		}
	}
	c.articles[key] = a
	return a, nil
}

func (c *PublicCache) lookup(key string, isList bool) (renderedAnswer, bool) {
	if isList {
		a, ok := c.lists[key]
		return a, ok
	}
	a, ok := c.articles[key]
	return a, ok
}

type freshReadKey struct{}

// freshReads marks a request that asked for a position (min_position): it reads the view
// itself. Its views have reached the position, but another instance's invalidation for it
// may still be on its way.
func freshReads(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if askedPosition(c) != "" {
			c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), freshReadKey{}, true)))
		}
		return next(c)
	}
}

func freshRead(ctx context.Context) bool { return ctx.Value(freshReadKey{}) != nil }

// renderJSON encodes v as echo's Context.JSON does, so that cached and fresh answers are the
// same bytes.
func renderJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
