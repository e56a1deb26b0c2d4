package http

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
)

// PublicChanges tells when the published view may have changed what readers see;
// *projections.Published implements it. Give it only when this process is the one writing the
// view (SQLite: the data directory is locked to one serve), or a change made by another
// instance would go unseen.
type PublicChanges interface {
	Generation() uint64
}

// maxRenderedArticles bounds the rendered-article cache; past it, the cache starts again empty.
const maxRenderedArticles = 10_000

// renderedArticles keeps public articles rendered (JSON body and ETag) by slug, for as long as
// the published view's generation does not move. Entries are only ever stored under the
// generation noted before the view was read, so a read that raced with a commit is not kept.
type renderedArticles struct {
	changes PublicChanges
	mu      sync.RWMutex
	gen     uint64
	bySlug  map[string]renderedArticle
}

type renderedArticle struct {
	body []byte
	etag string
}

func newRenderedArticles(changes PublicChanges) *renderedArticles {
	if changes == nil {
		return nil
	}
	return &renderedArticles{changes: changes, bySlug: map[string]renderedArticle{}}
}

// get returns the article with that slug rendered, from memory when the view has not changed
// since it was rendered, otherwise through load.
func (r *renderedArticles) get(ctx context.Context, slug string, load func(context.Context, string) (renderedArticle, error)) (renderedArticle, error) {
	if r == nil {
		return load(ctx, slug)
	}
	gen := r.changes.Generation()
	r.mu.RLock()
	a, ok := r.bySlug[slug]
	ok = ok && r.gen == gen
	r.mu.RUnlock()
	if ok {
		return a, nil
	}
	a, err := load(ctx, slug)
	if err != nil {
		return a, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.changes.Generation() != gen || r.gen > gen {
		return a, nil // the view moved meanwhile: serve this answer, keep nothing
	}
	if r.gen != gen || len(r.bySlug) >= maxRenderedArticles {
		r.gen, r.bySlug = gen, map[string]renderedArticle{}
	}
	r.bySlug[slug] = a
	return a, nil
}

// renderJSON encodes v as echo's Context.JSON does, so that cached and fresh answers are the
// same bytes.
func renderJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
