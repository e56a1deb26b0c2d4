package http

import (
	"context"
	"errors"
	"fmt"
	nethttp "net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/webhooks"
)

// Webhooks registers and shows the subscribers' webhooks; *webhooks.Dispatcher implements it.
type Webhooks interface {
	// Register returns the webhook and its secret. Errors: *webhooks.InvalidError,
	// webhooks.ErrUnavailable.
	Register(ctx context.Context, reg webhooks.Registration) (webhooks.Webhook, string, error)
	List(ctx context.Context) ([]webhooks.Webhook, error)
	// Get, Delete and Deliveries return webhooks.ErrNotFound for an unknown id.
	Get(ctx context.Context, id string) (webhooks.Webhook, error)
	Delete(ctx context.Context, id string) error
	Deliveries(ctx context.Context, id string, before int64, limit int) ([]webhooks.Delivery, error)
}

// Bounds of a page of deliveries.
const (
	defaultDeliveriesPage = 50
	maxDeliveriesPage     = 500
)

type webhooksAPI struct {
	webhooks Webhooks
}

// webhookRequest is the body of POST /api/v1/webhooks.
type webhookRequest struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
	// Trusted: the webhook receives the embargoed stream too.
	Trusted bool `json:"trusted"`
}

// webhookJSON is a webhook as admins see it: never its secret, except in the registration's
// answer.
type webhookJSON struct {
	ID           string    `json:"id"`
	URL          string    `json:"url"`
	Secret       string    `json:"secret,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	CreatedBy    string    `json:"created_by"`
	DeliveredSeq uint64    `json:"delivered_seq"`
	Trusted      bool      `json:"trusted"`
	// EmbargoedSeq is a trusted webhook's cursor on NEWSROOM_EMBARGOED; absent for the others.
	EmbargoedSeq *uint64       `json:"embargoed_seq,omitempty"`
	LastDelivery *deliveryJSON `json:"last_delivery"`
	Deliveries   string        `json:"deliveries"`
}

type deliveryJSON struct {
	ID          int64      `json:"id"`
	Stream      string     `json:"stream"` // public or embargoed: the stream seq is of
	Seq         uint64     `json:"seq"`
	MessageID   string     `json:"message_id"`
	Type        string     `json:"type"`
	ArticleID   string     `json:"article_id"`
	Attempt     int        `json:"attempt"`
	AttemptedAt time.Time  `json:"attempted_at"`
	DurationMS  int64      `json:"duration_ms"`
	Outcome     string     `json:"outcome"`
	Status      *int       `json:"status"`
	Error       string     `json:"error,omitempty"`
	NextRetryAt *time.Time `json:"next_retry_at,omitempty"`
}

func webhookPath(id string) string { return "/api/v1/webhooks/" + url.PathEscape(id) }

func webhookFrom(w webhooks.Webhook) webhookJSON {
	out := webhookJSON{ID: w.ID, URL: w.URL, CreatedAt: w.CreatedAt.UTC(), CreatedBy: w.CreatedBy,
		DeliveredSeq: w.DeliveredSeq, Trusted: w.Trusted, Deliveries: webhookPath(w.ID) + "/deliveries"}
	if w.Trusted {
		seq := w.EmbargoedSeq
		out.EmbargoedSeq = &seq
	}
	if w.Last != nil {
		d := deliveryFrom(*w.Last)
		out.LastDelivery = &d
	}
	return out
}

func deliveryFrom(d webhooks.Delivery) deliveryJSON {
	out := deliveryJSON{ID: d.ID, Stream: d.Stream, Seq: d.Seq, MessageID: d.MessageID, Type: d.EventType, ArticleID: d.ArticleID,
		Attempt: d.Attempt, AttemptedAt: d.AttemptedAt.UTC(), DurationMS: d.Duration.Milliseconds(),
		Outcome: string(d.Outcome), Error: d.Error}
	if d.StatusCode != 0 {
		status := d.StatusCode
		out.Status = &status
	}
	if !d.NextRetryAt.IsZero() {
		next := d.NextRetryAt.UTC()
		out.NextRetryAt = &next
	}
	return out
}

func (api *webhooksAPI) register(c echo.Context) error {
	body, err := readJSONBody(c, echo.MIMEApplicationJSON)
	if err != nil {
		return err
	}
	var req webhookRequest
	if err := decodeInto(body, &req); err != nil {
		var notText *domain.ValidationError
		if errors.As(err, &notText) {
			return &webhooks.InvalidError{Fields: notText.Fields}
		}
		return err
	}
	w, secret, err := api.webhooks.Register(c.Request().Context(),
		webhooks.Registration{URL: req.URL, Secret: req.Secret, Trusted: req.Trusted, CreatedBy: principal(c).UserID})
	if err != nil {
		return err
	}
	out := webhookFrom(w)
	out.Secret = secret // shown this once
	c.Response().Header().Set(echo.HeaderLocation, webhookPath(w.ID))
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(nethttp.StatusCreated, out)
}

func (api *webhooksAPI) list(c echo.Context) error {
	list, err := api.webhooks.List(c.Request().Context())
	if err != nil {
		return err
	}
	items := make([]webhookJSON, len(list))
	for i, w := range list {
		items[i] = webhookFrom(w)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(nethttp.StatusOK, map[string]any{"items": items})
}

func (api *webhooksAPI) get(c echo.Context) error {
	w, err := api.webhooks.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(nethttp.StatusOK, webhookFrom(w))
}

func (api *webhooksAPI) delete(c echo.Context) error {
	if err := api.webhooks.Delete(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(nethttp.StatusNoContent)
}

// deliveries lists a webhook's attempts, newest first, a page at a time: ?per_page= (1–500,
// default 50) and ?before= (the id of the last attempt of the previous page, as in next).
func (api *webhooksAPI) deliveries(c echo.Context) error {
	perPage, err := queryInt(c, "per_page", defaultDeliveriesPage, 1, maxDeliveriesPage)
	if err != nil {
		return err
	}
	before, err := queryInt(c, "before", 0, 1, 1<<62)
	if err != nil {
		return err
	}
	id := c.Param("id")
	list, err := api.webhooks.Deliveries(c.Request().Context(), id, int64(before), perPage)
	if err != nil {
		return err
	}
	items := make([]deliveryJSON, len(list))
	for i, d := range list {
		items[i] = deliveryFrom(d)
	}
	out := map[string]any{"items": items}
	if len(list) == perPage {
		out["next"] = fmt.Sprintf("%s/deliveries?before=%d&per_page=%d", webhookPath(id), list[len(list)-1].ID, perPage)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(nethttp.StatusOK, out)
}

// queryInt reads an optional whole-number query parameter within [lo, hi].
func queryInt(c echo.Context, name string, def, lo, hi int) (int, error) {
	raw := c.QueryParam(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, malformed("%s must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}
