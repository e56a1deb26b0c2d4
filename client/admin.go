package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Projection is one view as operators see it.
type Projection struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	// State is starting, rebuilding, live or superseded.
	State       string `json:"state"`
	Checkpoint  uint64 `json:"checkpoint"`
	LogPosition uint64 `json:"log_position"`
	Lag         uint64 `json:"lag"`
	LastError   string `json:"last_error"`
	// Rebuild is the last rebuild's progress; nil when none ran since the server started.
	Rebuild *Rebuild `json:"rebuild"`
}

// Rebuild is a rebuild's progress.
type Rebuild struct {
	Applied    uint64    `json:"applied"`
	Checkpoint uint64    `json:"checkpoint"`
	Target     uint64    `json:"target"`
	From       uint64    `json:"from"`
	StartedAt  time.Time `json:"started_at"`
	Rate       float64   `json:"events_per_second"`
	Done       bool      `json:"done"`
}

// Projections reads the state of every view (admins).
func (c *Client) Projections(ctx context.Context) ([]Projection, error) {
	r := request{method: http.MethodGet, path: "/api/v1/projections"}
	var out struct{ Items []Projection }
	ans, err := c.do(ctx, r)
	if err == nil {
		err = ans.decode(r, &out)
	}
	return out.Items, err
}

// Rebuild starts a blue/green rebuild of the view (admins); follow it with Projections. An
// unknown view is ErrNotFound; one already rebuilding, ErrRefused.
func (c *Client) Rebuild(ctx context.Context, view string) error {
	_, err := c.do(ctx, request{method: http.MethodPost, path: "/api/v1/projections/" + url.PathEscape(view) + "/rebuild"})
	return err
}

// Webhook is a subscriber's webhook as admins see it.
type Webhook struct {
	ID  string `json:"id"`
	URL string `json:"url"`
	// Secret is set only in RegisterWebhook's answer: it is never shown again.
	Secret       string    `json:"secret"`
	CreatedAt    time.Time `json:"created_at"`
	CreatedBy    string    `json:"created_by"`
	DeliveredSeq uint64    `json:"delivered_seq"`
	LastDelivery *Delivery `json:"last_delivery"`
	Deliveries   string    `json:"deliveries"` // the path of its attempts
}

// Delivery is one attempt at delivering a public event to a webhook.
type Delivery struct {
	ID          int64     `json:"id"`
	Seq         uint64    `json:"seq"`
	MessageID   string    `json:"message_id"`
	Type        string    `json:"type"`
	ArticleID   string    `json:"article_id"`
	Attempt     int       `json:"attempt"`
	AttemptedAt time.Time `json:"attempted_at"`
	DurationMS  int64     `json:"duration_ms"`
	Outcome     string    `json:"outcome"`
	Status      *int      `json:"status"` // the subscriber's HTTP status; nil if it did not answer
	Error       string    `json:"error"`
	NextRetryAt time.Time `json:"next_retry_at"` // zero when none is planned
}

// WebhookRegistration is a webhook to register. An empty Secret has one generated.
type WebhookRegistration struct {
	URL    string `json:"url"`
	Secret string `json:"secret,omitempty"`
}

// DeliveryQuery picks a page of a webhook's attempts.
type DeliveryQuery struct {
	PerPage int   // 1 to 500; 0: the server's default, 50
	Before  int64 // an attempt id (a page's NextBefore); 0: the newest
}

// Deliveries is a page of a webhook's attempts, newest first.
type Deliveries struct {
	Items []Delivery `json:"items"`
	// Next is the path of the following page while there may be more, and NextBefore its
	// Before; empty and 0 on the last page.
	Next       string `json:"next"`
	NextBefore int64  `json:"-"`
}

func webhookPath(id string) string { return "/api/v1/webhooks/" + url.PathEscape(id) }

// RegisterWebhook registers a webhook (admins); the answer holds its secret, this once.
// An invalid URL or secret is ErrInvalid.
func (c *Client) RegisterWebhook(ctx context.Context, reg WebhookRegistration) (Webhook, error) {
	r := request{method: http.MethodPost, path: "/api/v1/webhooks", body: reg}
	var w Webhook
	ans, err := c.do(ctx, r)
	if err == nil {
		err = ans.decode(r, &w)
	}
	return w, err
}

// Webhooks lists every webhook, oldest first (admins).
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	r := request{method: http.MethodGet, path: "/api/v1/webhooks"}
	var out struct{ Items []Webhook }
	ans, err := c.do(ctx, r)
	if err == nil {
		err = ans.decode(r, &out)
	}
	return out.Items, err
}

// Webhook reads one webhook (admins); an unknown id is ErrNotFound.
func (c *Client) Webhook(ctx context.Context, id string) (Webhook, error) {
	r := request{method: http.MethodGet, path: webhookPath(id)}
	var w Webhook
	ans, err := c.do(ctx, r)
	if err == nil {
		err = ans.decode(r, &w)
	}
	return w, err
}

// DeleteWebhook stops a webhook's deliveries and deletes it (admins).
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: webhookPath(id)})
	return err
}

// Deliveries reads a page of a webhook's attempts (admins).
func (c *Client) Deliveries(ctx context.Context, id string, q DeliveryQuery) (Deliveries, error) {
	query := url.Values{}
	if q.PerPage > 0 {
		query.Set("per_page", strconv.Itoa(q.PerPage))
	}
	if q.Before > 0 {
		query.Set("before", strconv.FormatInt(q.Before, 10))
	}
	r := request{method: http.MethodGet, path: webhookPath(id) + "/deliveries", query: query}
	var out Deliveries
	ans, err := c.do(ctx, r)
	if err == nil {
		err = ans.decode(r, &out)
	}
	if out.Next != "" {
		if u, perr := url.Parse(out.Next); perr == nil {
			out.NextBefore, _ = strconv.ParseInt(u.Query().Get("before"), 10, 64)
		}
	}
	return out, err
}

// Readiness is what /readyz reports about one instance.
type Readiness struct {
	// Status is ok, degraded (commands are accepted, but the database or a view is down) or
	// down (the log does not answer: commands are refused).
	Status   string               `json:"status"`
	Log      Component            `json:"log"`
	Database Component            `json:"database"`
	Views    map[string]Component `json:"views"`
}

// Component is the state of one part of an instance.
type Component struct {
	Status   string `json:"status"` // ok, lagging or down
	Position uint64 `json:"position"`
	Lag      uint64 `json:"lag,omitempty"`
	Error    string `json:"error,omitempty"` // why it is down
}

// Ready asks the instance whether it accepts commands. It answers at once, without retrying:
// an instance that does not is a *Problem (ErrUnavailable) whose Detail says why, with the
// report it sent, if any.
func (c *Client) Ready(ctx context.Context) (Readiness, error) {
	r := request{method: http.MethodGet, path: "/readyz", anonymous: true, noRetry: true}
	var rd Readiness
	ans, err := c.do(ctx, r)
	var p *Problem
	switch {
	case err == nil:
		return rd, ans.decode(r, &rd)
	case errors.As(err, &p) && ans.decode(r, &rd) == nil && rd.Status != "":
		// The report is the answer's body, not a problem document: say what it says.
		p.Title, p.Detail = "Not ready", "status "+rd.Status
		if rd.Log.Error != "" {
			p.Detail += ": " + rd.Log.Error
		}
		return rd, p
	}
	return Readiness{}, err
}

// Healthy asks the instance whether its process runs (/healthz).
func (c *Client) Healthy(ctx context.Context) error {
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/healthz", anonymous: true, noRetry: true})
	return err
}
