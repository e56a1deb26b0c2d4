package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Status is where an article is in the editorial workflow.
type Status string

// The statuses. Public reads show only published and retracted.
const (
	StatusDraft            Status = "draft"
	StatusInReview         Status = "in_review"
	StatusChangesRequested Status = "changes_requested"
	StatusApproved         Status = "approved"
	StatusPublished        Status = "published"
	StatusRetracted        Status = "retracted"
	StatusSpiked           Status = "spiked"
	StatusKilled           Status = "killed"
)

// Article is an article as editors see it.
type Article struct {
	ID       string `json:"id"`
	Slug     string `json:"slug"`
	Status   Status `json:"status"`
	Version  int    `json:"version"`
	Headline string `json:"headline"`
	Summary  string `json:"summary"`
	// Body is Markdown. Lists leave it empty: Article has it.
	Body      string    `json:"body"`
	Language  string    `json:"language"`
	Byline    string    `json:"byline"`
	Dateline  string    `json:"dateline"`
	Tags      []string  `json:"tags"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// PublishedAt is the first publication; zero until then.
	PublishedAt time.Time `json:"published_at"`
	// PendingCorrection is a correction one editor proposed and another has not confirmed
	// yet; nil when there is none.
	PendingCorrection *PendingCorrection `json:"pending_correction"`

	// ETag names this version, for IfMatch and Revise. Set on answers about one article (a
	// command, Article), empty in lists.
	ETag string `json:"-"`
	// Position is the log position of the article's last event (for a command's answer, the
	// event it recorded), for MinPosition. Set like ETag.
	Position uint64 `json:"-"`
}

// PendingCorrection is a proposed correction of a published article, not public yet.
type PendingCorrection struct {
	ProposedBy string    `json:"proposed_by"` // a user id
	ProposedAt time.Time `json:"proposed_at"`
	Note       string    `json:"note"`
	Changes    Changes   `json:"changes"`
}

// NewArticle is a draft: Headline is required; Language defaults to the server's (en); Slug,
// if given, is the one publication uses (else it is derived from the headline).
type NewArticle struct {
	Headline string   `json:"headline"`
	Summary  string   `json:"summary,omitempty"`
	Body     string   `json:"body,omitempty"` // Markdown
	Language string   `json:"language,omitempty"`
	Byline   string   `json:"byline,omitempty"`
	Dateline string   `json:"dateline,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Slug     string   `json:"slug,omitempty"`
}

// Changes is a revision or a correction, as a merge patch: a nil field is left alone, a
// field pointing at a value is set to it ("" or an empty list clears it). Go 1.26 makes a
// pointer in place: Changes{Headline: new("A better headline")}.
type Changes struct {
	Headline *string   `json:"headline,omitempty"`
	Summary  *string   `json:"summary,omitempty"`
	Body     *string   `json:"body,omitempty"`
	Language *string   `json:"language,omitempty"`
	Byline   *string   `json:"byline,omitempty"`
	Dateline *string   `json:"dateline,omitempty"`
	Tags     *[]string `json:"tags,omitempty"`
	Slug     *string   `json:"slug,omitempty"`
}

// Correction is what Correct sends: changed fields, and the public note readers see.
type Correction struct {
	Changes
	Note string `json:"note"`
}

func articlePath(id string, step string) string {
	p := "/api/v1/articles/" + url.PathEscape(id)
	if step != "" {
		p += "/" + step
	}
	return p
}

// article sends a request whose answer is one article, and reads its ETag and position.
func (c *Client) article(ctx context.Context, r request) (Article, int, error) {
	ans, err := c.do(ctx, r)
	if err != nil {
		return Article{}, ans.status, err
	}
	var a Article
	if err := ans.decode(r, &a); err != nil {
		return Article{}, ans.status, err
	}
	a.ETag = ans.header.Get("ETag")
	a.Position, _ = strconv.ParseUint(ans.header.Get("X-Newsroom-Position"), 10, 64)
	return a, ans.status, nil
}

func (c *Client) command(ctx context.Context, id, step string, body any, opts []CommandOption) (Article, error) {
	a, _, err := c.article(ctx, request{method: http.MethodPost, path: articlePath(id, step), body: body, header: commandHeader(opts)})
	return a, err
}

// Draft creates an article (201). With IdempotencyKey, sending it again returns the same
// article instead of a second one.
func (c *Client) Draft(ctx context.Context, a NewArticle, opts ...CommandOption) (Article, error) {
	art, _, err := c.article(ctx, request{method: http.MethodPost, path: "/api/v1/articles", body: a, header: commandHeader(opts)})
	return art, err
}

// Article reads one article from its own events: never stale.
func (c *Client) Article(ctx context.Context, id string) (Article, error) {
	a, _, err := c.article(ctx, request{method: http.MethodGet, path: articlePath(id, "")})
	return a, err
}

// Revise changes a draft (or an article in review or approved, which returns it to draft)
// if it is still at the version etag names (the ETag of the Article being edited); otherwise
// ErrStaleVersion.
func (c *Client) Revise(ctx context.Context, id, etag string, ch Changes) (Article, error) {
	a, _, err := c.article(ctx, request{method: http.MethodPatch, path: articlePath(id, ""), body: ch,
		header: http.Header{"If-Match": {etag}}})
	return a, err
}

// Submit sends a draft to review.
func (c *Client) Submit(ctx context.Context, id string, opts ...CommandOption) (Article, error) {
	return c.command(ctx, id, "submit", nil, opts)
}

// RequestChanges sends an article in review back to its author with a comment (editors).
func (c *Client) RequestChanges(ctx context.Context, id, comment string, opts ...CommandOption) (Article, error) {
	return c.command(ctx, id, "request-changes", map[string]string{"comment": comment}, opts)
}

// Approve approves an article in review (an editor who did not write its latest revision).
func (c *Client) Approve(ctx context.Context, id string, opts ...CommandOption) (Article, error) {
	return c.command(ctx, id, "approve", nil, opts)
}

// Publish publishes an approved article; the answer has its slug.
func (c *Client) Publish(ctx context.Context, id string, opts ...CommandOption) (Article, error) {
	return c.command(ctx, id, "publish", nil, opts)
}

// Correct corrects a published article (editors). A correction that changes public fields
// waits for a second editor (pending is true, the article carries it as PendingCorrection and
// readers see nothing yet: ConfirmCorrection or WithdrawCorrection follow); one with only a
// note, or on a server run with --single-editor-corrections, is published at once.
func (c *Client) Correct(ctx context.Context, id string, corr Correction, opts ...CommandOption) (a Article, pending bool, err error) {
	a, status, err := c.article(ctx, request{method: http.MethodPost, path: articlePath(id, "correct"), body: corr, header: commandHeader(opts)})
	return a, status == http.StatusAccepted, err
}

// ConfirmCorrection publishes the pending correction: an editor other than the one who
// proposed it.
func (c *Client) ConfirmCorrection(ctx context.Context, id string, opts ...CommandOption) (Article, error) {
	return c.command(ctx, id, "correct/confirm", nil, opts)
}

// WithdrawCorrection drops the pending correction.
func (c *Client) WithdrawCorrection(ctx context.Context, id string, opts ...CommandOption) (Article, error) {
	return c.command(ctx, id, "correct/withdraw", nil, opts)
}

// Retract withdraws a published article; it stays at its address as a notice with the
// (public) reason.
func (c *Client) Retract(ctx context.Context, id, reason string, opts ...CommandOption) (Article, error) {
	return c.command(ctx, id, "retract", map[string]string{"reason": reason}, opts)
}

// Spike abandons an unpublished article; the reason may be empty.
func (c *Client) Spike(ctx context.Context, id, reason string, opts ...CommandOption) (Article, error) {
	return c.command(ctx, id, "spike", map[string]string{"reason": reason}, opts)
}

// Kill takes a published or retracted article out of every public view and erases its text
// (editors); the reason is internal.
func (c *Client) Kill(ctx context.Context, id, reason string, opts ...CommandOption) (Article, error) {
	return c.command(ctx, id, "kill", map[string]string{"reason": reason}, opts)
}

// ArticleQuery picks a page of the desk. Before (a NextCursor) and Page exclude each other.
type ArticleQuery struct {
	Status  Status // empty: every status
	Page    int    // from 1; 0: the first
	PerPage int    // 1 to 100; 0: the server's default, 20
	Before  string // the NextCursor of the page before
}

// Page is one page of a listing, newest first.
type Page[T any] struct {
	Items   []T `json:"items"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	Total   int `json:"total"`
	// NextCursor, for Before, asks for the page after this one; empty on the last page. Next
	// is the same as a path.
	Next       string `json:"next"`
	NextCursor string `json:"next_cursor"`
}

func listQuery(page, perPage int, before string, opts []ReadOption, filters ...string) url.Values {
	q := readQuery(opts)
	for i := 0; i+1 < len(filters); i += 2 {
		if filters[i+1] != "" {
			q.Set(filters[i], filters[i+1])
		}
	}
	if page > 0 {
		q.Set("page", strconv.Itoa(page))
	}
	if perPage > 0 {
		q.Set("per_page", strconv.Itoa(perPage))
	}
	if before != "" {
		q.Set("before", before)
	}
	return q
}

// Articles reads a page of the desk: every article (of a status), most recently changed
// first, without its body.
func (c *Client) Articles(ctx context.Context, q ArticleQuery, opts ...ReadOption) (Page[Article], error) {
	r := request{method: http.MethodGet, path: "/api/v1/articles",
		query: listQuery(q.Page, q.PerPage, q.Before, opts, "status", string(q.Status))}
	var page Page[Article]
	ans, err := c.do(ctx, r)
	if err == nil {
		err = ans.decode(r, &page)
	}
	return page, err
}

// AllArticles reads the desk from q on, page after page, following the cursors. It stops at
// the first error, which it yields.
func (c *Client) AllArticles(ctx context.Context, q ArticleQuery, opts ...ReadOption) iter.Seq2[Article, error] {
	return all(func(before string) (Page[Article], error) {
		if before != "" {
			q.Page, q.Before = 0, before
		}
		return c.Articles(ctx, q, opts...)
	})
}

func all[T any](page func(before string) (Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		before := ""
		for {
			p, err := page(before)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range p.Items {
				if !yield(item, nil) {
					return
				}
			}
			if p.NextCursor == "" {
				return
			}
			before = p.NextCursor
		}
	}
}

// Entry is one step of an article's history.
type Entry struct {
	Version  int       `json:"version"`
	Position uint64    `json:"position"`
	Event    string    `json:"event"` // article.drafted, article.published…
	Status   Status    `json:"status"`
	Actor    Actor     `json:"actor"`
	At       time.Time `json:"at"`
	Comment  string    `json:"comment"`
}

// Actor is who did something.
type Actor struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// History reads an article's timeline, oldest first.
func (c *Client) History(ctx context.Context, id string, opts ...ReadOption) ([]Entry, error) {
	r := request{method: http.MethodGet, path: articlePath(id, "history"), query: readQuery(opts)}
	var out struct{ Items []Entry }
	ans, err := c.do(ctx, r)
	if err == nil {
		err = ans.decode(r, &out)
	}
	return out.Items, err
}
