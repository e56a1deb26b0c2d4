// Package webhooks delivers the public stream to subscribers' HTTP endpoints: admins register a
// URL and a secret; every public event (published, corrected, retracted, killed) is POSTed to
// it as a CloudEvent, signed the Standard Webhooks way, in the order of NEWSROOM_PUBLIC, retried
// with backoff until the endpoint answers 2xx, and every attempt is recorded. A webhook
// registered as trusted also receives the embargoed stream, NEWSROOM_EMBARGOED, in its order,
// on a cursor of its own: the two streams are delivered side by side, neither waits for the
// other.
//
// Registrations, their cursors and the attempts are operator state in SQL (the Registry).
// Each webhook reads the public stream through its own durable JetStream consumer with one
// message in flight, so order holds across restarts and across several newsroom instances (the
// Dispatcher).
package webhooks

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/newsroom/newsroom/domain"
)

var (
	// ErrNotFound: no webhook has this id.
	ErrNotFound = errors.New("webhook not found")
)

// InvalidError lists what is wrong with a registration.
type InvalidError struct {
	Fields []domain.FieldError
}

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Detail
	}
	return "invalid webhook: " + strings.Join(parts, "; ")
}

// Registration is what an admin registers.
type Registration struct {
	URL string
	// Secret is the signing secret (whsec_ and base64); empty: one is generated.
	Secret string
	// CreatedBy is the admin's user id.
	CreatedBy string
	// Trusted: the webhook also receives NEWSROOM_EMBARGOED, articles under embargo before the
	// public has them.
	Trusted bool
}

// maxURLLength bounds a webhook URL; browsers and servers commonly refuse longer ones.
const maxURLLength = 2048

// Validate says what is wrong with r, all at once, as an *InvalidError.
func (r Registration) Validate() error {
	var e InvalidError
	add := func(field, format string, args ...any) {
		e.Fields = append(e.Fields, domain.FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
	}
	if detail := checkURL(r.URL); detail != "" {
		add("url", "%s", detail)
	}
	if r.Secret != "" {
		if _, err := secretKey(r.Secret); err != nil {
			add("secret", "%v", err)
		}
	}
	if len(e.Fields) > 0 {
		return &e
	}
	return nil
}

// checkURL returns what is wrong with a webhook URL, or "".
func checkURL(raw string) string {
	switch {
	case strings.TrimSpace(raw) == "":
		return "is required: the absolute http or https URL deliveries are POSTed to"
	case len(raw) > maxURLLength:
		return fmt.Sprintf("is longer than %d characters", maxURLLength)
	case strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return "must not contain spaces or control characters"
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an absolute http or https URL"
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return "must name a host, as in https://example.org/hooks/newsroom"
	case u.User != nil:
		return "must not carry a user name or password; deliveries are authenticated by their signature"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "must not have a #fragment, which is never sent"
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "has an invalid port"
		}
	}
	return ""
}

// Webhook is a registration as admins see it. It never holds the secret.
type Webhook struct {
	ID        string
	URL       string
	CreatedAt time.Time
	CreatedBy string
	// DeliveredSeq is the cursor: the last NEWSROOM_PUBLIC sequence delivered (or skipped
	// because it was erased). At registration, the public stream's last sequence.
	DeliveredSeq uint64
	// Trusted: the webhook receives NEWSROOM_EMBARGOED too, and EmbargoedSeq is its cursor
	// there, as DeliveredSeq is on the public stream.
	Trusted      bool
	EmbargoedSeq uint64
	// Last is the newest attempt; nil before the first.
	Last *Delivery
}

// Outcome is how one attempt ended.
type Outcome string

const (
	// Delivered: the endpoint answered 2xx; the next message may go.
	Delivered Outcome = "delivered"
	// Failed: no answer, or not 2xx; the message is tried again at NextRetryAt.
	Failed Outcome = "failed"
	// Skipped: the message was erased from the public stream (a legal kill) before it could be
	// delivered; nothing was sent.
	Skipped Outcome = "skipped"
)

// Streams a webhook is delivered from: Delivery.Stream.
const (
	StreamPublic    = "public"    // NEWSROOM_PUBLIC: every webhook
	StreamEmbargoed = "embargoed" // NEWSROOM_EMBARGOED: trusted webhooks
)

// Delivery is one attempt to deliver one message. It holds no payload and no article text: a
// killed article's words must not outlive their erasure from the stream.
type Delivery struct {
	ID        int64 // increases with every attempt recorded
	WebhookID string
	// Stream is the stream Seq is a sequence of: StreamPublic, or StreamEmbargoed.
	Stream      string
	Seq         uint64 // the message's sequence in Stream
	MessageID   string // the CloudEvent id, sent as webhook-id
	EventType   string // the CloudEvent type
	ArticleID   string
	Attempt     int // 1, 2, … for this message
	AttemptedAt time.Time
	Duration    time.Duration
	Outcome     Outcome
	StatusCode  int    // 0 when no HTTP answer came
	Error       string // why it failed, bounded; never the response body
	NextRetryAt time.Time
}
