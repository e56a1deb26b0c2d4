package webhooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/newsroom/newsroom/sqldb"
)

// maxErrorLength bounds the error text recorded for an attempt.
const maxErrorLength = 300

// Registry keeps webhook registrations, their cursors and their delivery attempts in SQL:
// the tables webhooks and webhook_deliveries, operator state that replay never touches. It is
// safe for concurrent use, by several processes on one database too.
type Registry struct {
	db *sqldb.DB
}

// NewRegistry returns the registry in db, which must be migrated (sqldb.Open does it).
func NewRegistry(db *sqldb.DB) *Registry { return &Registry{db: db} }

// registration is a stored webhook with what delivering it needs.
type registration struct {
	Webhook
	Secret string
}

type webhookRow struct {
	ID           string `db:"id"`
	URL          string `db:"url"`
	Secret       string `db:"secret"`
	CreatedAt    string `db:"created_at"`
	CreatedBy    string `db:"created_by"`
	DeliveredSeq int64  `db:"delivered_seq"`
	Trusted      bool   `db:"trusted"`
	EmbargoedSeq int64  `db:"embargoed_seq"`
}

func (r webhookRow) registration() (registration, error) {
	created, err := sqldb.ParseTime(r.CreatedAt)
	if err != nil {
		return registration{}, err
	}
	return registration{Webhook: Webhook{ID: r.ID, URL: r.URL, CreatedAt: created, CreatedBy: r.CreatedBy,
		DeliveredSeq: uint64(r.DeliveredSeq), Trusted: r.Trusted, EmbargoedSeq: uint64(r.EmbargoedSeq)}, Secret: r.Secret}, nil
}

// Create stores a valid registration whose cursor is deliveredSeq (the public stream's last
// sequence when it is registered: it receives what comes after), and, for a trusted one,
// embargoedSeq on the embargoed stream likewise. A missing secret is generated. It returns the
// webhook and its secret.
//
// Errors: *InvalidError; otherwise a database error.
func (r *Registry) Create(ctx context.Context, reg Registration, deliveredSeq, embargoedSeq uint64, now time.Time) (Webhook, string, error) {
	if err := reg.Validate(); err != nil {
		return Webhook{}, "", err
	}
	if reg.Secret == "" {
		var err error
		if reg.Secret, err = NewSecret(); err != nil {
			return Webhook{}, "", err
		}
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return Webhook{}, "", fmt.Errorf("create webhook: %w", err)
	}
	w := Webhook{ID: id.String(), URL: reg.URL, CreatedAt: now.UTC().Truncate(time.Microsecond), CreatedBy: reg.CreatedBy,
		DeliveredSeq: deliveredSeq, Trusted: reg.Trusted}
	if reg.Trusted {
		w.EmbargoedSeq = embargoedSeq
	}
	x := r.db.Write
	if _, err := x.ExecContext(ctx, x.Rebind(
		`INSERT INTO webhooks (id, url, secret, created_at, created_by, delivered_seq, trusted, embargoed_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		w.ID, w.URL, reg.Secret, sqldb.FormatTime(w.CreatedAt), w.CreatedBy, int64(deliveredSeq), w.Trusted, int64(w.EmbargoedSeq)); err != nil {
		return Webhook{}, "", fmt.Errorf("create webhook: %w", err)
	}
	return w, reg.Secret, nil
}

const webhookColumns = `id, url, secret, created_at, created_by, delivered_seq, trusted, embargoed_seq`

// load reads one registration, secret included. Errors: ErrNotFound; a database error.
func (r *Registry) load(ctx context.Context, id string) (registration, error) {
	var row webhookRow
	q := r.db.Read
	err := q.GetContext(ctx, &row, q.Rebind(`SELECT `+webhookColumns+` FROM webhooks WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return registration{}, ErrNotFound
	}
	if err != nil {
		return registration{}, fmt.Errorf("read webhook %s: %w", id, err)
	}
	return row.registration()
}

// all reads every registration, secrets included, oldest first.
func (r *Registry) all(ctx context.Context) ([]registration, error) {
	var rows []webhookRow
	q := r.db.Read
	if err := q.SelectContext(ctx, &rows, `SELECT `+webhookColumns+` FROM webhooks ORDER BY created_at, id`); err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	out := make([]registration, 0, len(rows))
	for _, row := range rows {
		reg, err := row.registration()
		if err != nil {
			return nil, err
		}
		out = append(out, reg)
	}
	return out, nil
}

// Get returns one webhook and its newest attempt. Errors: ErrNotFound; a database error.
func (r *Registry) Get(ctx context.Context, id string) (Webhook, error) {
	reg, err := r.load(ctx, id)
	if err != nil {
		return Webhook{}, err
	}
	w := reg.Webhook
	last, err := r.Deliveries(ctx, id, 0, 1)
	if err != nil {
		return Webhook{}, err
	}
	if len(last) == 1 {
		w.Last = &last[0]
	}
	return w, nil
}

// List returns every webhook, oldest first, each with its newest attempt.
func (r *Registry) List(ctx context.Context) ([]Webhook, error) {
	regs, err := r.all(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Webhook, 0, len(regs))
	for _, reg := range regs {
		w := reg.Webhook
		last, err := r.Deliveries(ctx, w.ID, 0, 1)
		if err != nil && !errors.Is(err, ErrNotFound) { // deleted meanwhile: shown without
			return nil, err
		}
		if len(last) == 1 {
			w.Last = &last[0]
		}
		out = append(out, w)
	}
	return out, nil
}

// LeastCursor returns how many webhooks are registered and the least advanced cursor among
// them (0 when there is none).
func (r *Registry) LeastCursor(ctx context.Context) (int, uint64, error) {
	var row struct {
		Count int           `db:"n"`
		Least sql.NullInt64 `db:"least"`
	}
	q := r.db.Read
	if err := q.GetContext(ctx, &row, `SELECT COUNT(*) AS n, MIN(delivered_seq) AS least FROM webhooks`); err != nil {
		return 0, 0, fmt.Errorf("read the webhooks' cursors: %w", err)
	}
	return row.Count, uint64(row.Least.Int64), nil
}

// Delete removes a webhook and its attempts. Errors: ErrNotFound; a database error.
func (r *Registry) Delete(ctx context.Context, id string) error {
	tx, err := r.db.Write.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM webhooks WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	} else if n == 0 {
		return ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM webhook_deliveries WHERE webhook_id = ?`), id); err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return nil
}

type deliveryRow struct {
	ID          int64  `db:"id"`
	WebhookID   string `db:"webhook_id"`
	Stream      string `db:"stream"`
	Seq         int64  `db:"seq"`
	MessageID   string `db:"message_id"`
	EventType   string `db:"event_type"`
	ArticleID   string `db:"article_id"`
	Attempt     int64  `db:"attempt"`
	AttemptedAt string `db:"attempted_at"`
	DurationMS  int64  `db:"duration_ms"`
	Outcome     string `db:"outcome"`
	StatusCode  int64  `db:"status_code"`
	Error       string `db:"error"`
	NextRetryAt string `db:"next_retry_at"`
}

const deliveryColumns = `id, webhook_id, stream, seq, message_id, event_type, article_id, attempt, attempted_at, duration_ms,
	outcome, status_code, error, next_retry_at`

func (row deliveryRow) delivery() (Delivery, error) {
	at, err := sqldb.ParseTime(row.AttemptedAt)
	if err != nil {
		return Delivery{}, err
	}
	next, err := sqldb.ParseTime(row.NextRetryAt)
	if err != nil {
		return Delivery{}, err
	}
	return Delivery{ID: row.ID, WebhookID: row.WebhookID, Stream: row.Stream, Seq: uint64(row.Seq), MessageID: row.MessageID,
		EventType: row.EventType, ArticleID: row.ArticleID, Attempt: int(row.Attempt), AttemptedAt: at,
		Duration: time.Duration(row.DurationMS) * time.Millisecond, Outcome: Outcome(row.Outcome),
		StatusCode: int(row.StatusCode), Error: row.Error, NextRetryAt: next}, nil
}

// Record stores one attempt. A delivered or skipped message also moves the webhook's cursor on
// its stream (StreamPublic if d names none) to its sequence, in the same transaction; the
// cursor never moves back.
func (r *Registry) Record(ctx context.Context, d Delivery) error {
	if len(d.Error) > maxErrorLength {
		d.Error = d.Error[:maxErrorLength-len("…")] + "…"
	}
	cursor := "delivered_seq"
	switch d.Stream {
	case "":
		d.Stream = StreamPublic
	case StreamPublic:
	case StreamEmbargoed:
		cursor = "embargoed_seq"
	default:
		return fmt.Errorf("record delivery: unknown stream %q", d.Stream)
	}
	tx, err := r.db.Write.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO webhook_deliveries (webhook_id, stream, seq, message_id, event_type,
		article_id, attempt, attempted_at, duration_ms, outcome, status_code, error, next_retry_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		d.WebhookID, d.Stream, int64(d.Seq), d.MessageID, d.EventType, d.ArticleID, d.Attempt, sqldb.FormatTime(d.AttemptedAt),
		d.Duration.Milliseconds(), string(d.Outcome), d.StatusCode, validUTF8(d.Error), sqldb.FormatTime(d.NextRetryAt)); err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	if d.Outcome == Delivered || d.Outcome == Skipped {
		if _, err := tx.ExecContext(ctx, tx.Rebind(
			`UPDATE webhooks SET `+cursor+` = ? WHERE id = ? AND `+cursor+` < ?`),
			int64(d.Seq), d.WebhookID, int64(d.Seq)); err != nil {
			return fmt.Errorf("record delivery: move the cursor: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	return nil
}

// Deliveries returns a webhook's attempts, newest first: at most limit of them, with ids below
// before (0: from the newest). Errors: ErrNotFound; a database error.
func (r *Registry) Deliveries(ctx context.Context, webhookID string, before int64, limit int) ([]Delivery, error) {
	q := r.db.Read
	var exists int
	if err := q.GetContext(ctx, &exists, q.Rebind(`SELECT COUNT(*) FROM webhooks WHERE id = ?`), webhookID); err != nil {
		return nil, fmt.Errorf("read deliveries of %s: %w", webhookID, err)
	}
	if exists == 0 {
		return nil, ErrNotFound
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	var rows []deliveryRow
	if err := q.SelectContext(ctx, &rows, q.Rebind(`SELECT `+deliveryColumns+` FROM webhook_deliveries
		WHERE webhook_id = ? AND id < ? ORDER BY id DESC LIMIT ?`), webhookID, before, limit); err != nil {
		return nil, fmt.Errorf("read deliveries of %s: %w", webhookID, err)
	}
	out := make([]Delivery, 0, len(rows))
	for _, row := range rows {
		d, err := row.delivery()
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// lastAttempt returns the newest attempt at one message of stream, or nil if there was none.
func (r *Registry) lastAttempt(ctx context.Context, webhookID, stream string, seq uint64) (*Delivery, error) {
	var row deliveryRow
	q := r.db.Read
	err := q.GetContext(ctx, &row, q.Rebind(`SELECT `+deliveryColumns+` FROM webhook_deliveries
		WHERE webhook_id = ? AND stream = ? AND seq = ? ORDER BY attempt DESC, id DESC LIMIT 1`), webhookID, stream, int64(seq))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the last attempt of %s at %d: %w", webhookID, seq, err)
	}
	d, err := row.delivery()
	return &d, err
}

// validUTF8 makes error text storable in both dialects: PostgreSQL refuses invalid UTF-8 and NUL.
func validUTF8(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "?"), "\x00", "")
}
