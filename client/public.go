package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// PublicArticle is a published (or retracted) article as readers see it.
type PublicArticle struct {
	ID       string `json:"id"`
	Slug     string `json:"slug"`
	Status   Status `json:"status"` // published or retracted
	Version  int    `json:"version"`
	Headline string `json:"headline"`
	Summary  string `json:"summary"`
	// Body (Markdown) and BodyHTML (rendered and sanitised) are empty in lists and in a
	// retraction notice.
	Body        string    `json:"body"`
	BodyHTML    string    `json:"body_html"`
	Language    string    `json:"language"`
	Byline      string    `json:"byline"`
	Dateline    string    `json:"dateline"`
	Tags        []string  `json:"tags"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	PublishedAt time.Time `json:"published_at"`

	Corrections []PublicCorrection `json:"corrections"`
	Retraction  *Retraction        `json:"retraction"`

	// ETag is the answer's ETag (PublicArticle only).
	ETag string `json:"-"`
}

// PublicCorrection is the note of a published correction.
type PublicCorrection struct {
	Note        string    `json:"note"`
	CorrectedAt time.Time `json:"corrected_at"`
}

// Retraction says why and when an article was retracted.
type Retraction struct {
	Reason      string    `json:"reason"`
	RetractedAt time.Time `json:"retracted_at"`
}

// PublicQuery picks a page of the public list. Before (a NextCursor) and Page exclude each
// other.
type PublicQuery struct {
	Language string // a BCP 47 tag; empty: every language
	Tag      string
	Page     int    // from 1; 0: the first
	PerPage  int    // 1 to 100; 0: the server's default, 20
	Before   string // the NextCursor of the page before
}

func publicPath(slug string) string { return "/public/v1/articles/" + url.PathEscape(slug) }

// PublicArticle reads a published article by its slug. A killed one is ErrGone; one never
// published, ErrNotFound.
func (c *Client) PublicArticle(ctx context.Context, slug string, opts ...ReadOption) (PublicArticle, error) {
	r := request{method: http.MethodGet, path: publicPath(slug), query: readQuery(opts), anonymous: true}
	var a PublicArticle
	ans, err := c.do(ctx, r)
	if err == nil {
		err = ans.decode(r, &a)
		a.ETag = ans.header.Get("ETag")
	}
	return a, err
}

// PublicArticleJSON is PublicArticle's answer as the server sent it, byte for byte: for
// callers that keep or forward answers (a cache, a static mirror) rather than read them.
func (c *Client) PublicArticleJSON(ctx context.Context, slug string, opts ...ReadOption) ([]byte, error) {
	ans, err := c.do(ctx, request{method: http.MethodGet, path: publicPath(slug), query: readQuery(opts), anonymous: true})
	if err != nil {
		return nil, err
	}
	return ans.body, nil
}

// PublicArticles reads a page of the published articles, newest publication first, without
// their text; retracted ones are listed as notices.
func (c *Client) PublicArticles(ctx context.Context, q PublicQuery, opts ...ReadOption) (Page[PublicArticle], error) {
	r := request{method: http.MethodGet, path: "/public/v1/articles", anonymous: true,
		query: listQuery(q.Page, q.PerPage, q.Before, opts, "lang", q.Language, "tag", q.Tag)}
	var page Page[PublicArticle]
	ans, err := c.do(ctx, r)
	if err == nil {
		err = ans.decode(r, &page)
	}
	return page, err
}

// AllPublicArticles reads the public list from q on, page after page, following the cursors.
// It stops at the first error, which it yields.
func (c *Client) AllPublicArticles(ctx context.Context, q PublicQuery, opts ...ReadOption) iter.Seq2[PublicArticle, error] {
	return all(func(before string) (Page[PublicArticle], error) {
		if before != "" {
			q.Page, q.Before = 0, before
		}
		return c.PublicArticles(ctx, q, opts...)
	})
}
