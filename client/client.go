// Package client is the Go client of newsroom's HTTP API: the editors' and admins' API under
// /api/v1, the public API under /public/v1, and the readiness probes. It needs nothing beyond
// the standard library, so that any program can import it.
//
// Every answer that is not a success comes back as a *Problem (RFC 9457 problem details),
// which errors.As finds and errors.Is compares with ErrNotFound, ErrStaleVersion and the other
// sentinels. A command's answer carries the article's ETag (send it back with IfMatch) and the
// log position of the event it recorded (pass it to MinPosition to read your own writes).
//
// A 503 answered with Retry-After is retried, a few times and never past the context's
// deadline, when sending the request again cannot do a thing twice: reads, and commands that
// carry an Idempotency-Key or an If-Match naming versions (a command whose first try was
// recorded then answers 412, ErrStaleVersion).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Retry defaults; WithRetries and WithMaxRetryWait change them.
const (
	DefaultRetries      = 3
	DefaultMaxRetryWait = 10 * time.Second
)

// maxAnswer bounds how much of an answer is read: the largest the API sends is a page of 100
// articles or one article with a 1 MiB body and its HTML, well under it.
const maxAnswer = 32 << 20

// Client talks to one newsroom API as one user (or none, for the public API). It is safe for
// concurrent use.
type Client struct {
	base         string // scheme://host[/prefix], no trailing slash
	token        string
	http         *http.Client
	retries      int
	maxRetryWait time.Duration
	userAgent    string
}

// Option configures a Client.
type Option func(*Client)

// WithToken authenticates every request to /api/v1 with this API token (surrounding spaces,
// such as the newline of a token read from a file, are dropped). The public API and the
// probes are asked without it.
func WithToken(token string) Option {
	return func(c *Client) { c.token = strings.TrimSpace(token) }
}

// WithHTTPClient sends the requests through hc instead of http.DefaultClient: for a transport
// with more idle connections, a proxy, or a timeout of every request.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// WithRetries sets how many times a 503 with Retry-After is retried (0: never).
func WithRetries(n int) Option {
	return func(c *Client) { c.retries = max(n, 0) }
}

// WithMaxRetryWait sets the longest Retry-After the client waits for; a server asking for
// longer gets its 503 returned at once.
func WithMaxRetryWait(d time.Duration) Option {
	return func(c *Client) { c.maxRetryWait = d }
}

// WithUserAgent names the program in the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client of the API at baseURL (http://127.0.0.1:8080, or a prefix behind a
// reverse proxy, https://example.org/newsroom). It returns an error only for a base URL that
// is not an absolute http or https URL.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("client: base URL %q: want the API's base URL, like http://127.0.0.1:8080", baseURL)
	}
	c := &Client{
		base:         strings.TrimRight(u.String(), "/"),
		http:         http.DefaultClient,
		retries:      DefaultRetries,
		maxRetryWait: DefaultMaxRetryWait,
		userAgent:    "newsroom-go-client",
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// As returns a client of the same API, sharing its connections, that acts as the user of
// token: one client per user of a workflow (a reporter drafts, an editor approves).
func (c *Client) As(token string) *Client {
	other := *c
	other.token = strings.TrimSpace(token)
	return &other
}

// BaseURL is the API's base URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// request is one call of the API.
type request struct {
	method, path string
	query        url.Values
	body         any // sent as JSON; nil: no body
	header       http.Header
	// anonymous requests (the public API, the probes) never carry the token.
	anonymous bool
	// noRetry: the answer is wanted as it is, now (the readiness probe).
	noRetry bool
}

// answer is what the API answered.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// retryable reports whether sending r again cannot do anything twice.
func (r request) retryable() bool {
	if r.noRetry {
		return false
	}
	switch r.method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		return true
	}
	// If-Match: * matches whatever version a first try left: only named versions make a
	// command safe to repeat.
	ifMatch := strings.TrimSpace(r.header.Get("If-Match"))
	return r.header.Get("Idempotency-Key") != "" || (ifMatch != "" && ifMatch != "*")
}

// do sends r, retrying a retryable 503 that says when to, and returns a 2xx answer, or the
// answer and its *Problem, or the transport's error.
func (c *Client) do(ctx context.Context, r request) (answer, error) {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return answer{}, fmt.Errorf("client: encode the body of %s %s: %w", r.method, r.path, err)
		}
	}
	for attempt := 0; ; attempt++ {
		a, err := c.once(ctx, r, payload)
		if err != nil {
			return answer{}, err
		}
		if a.status >= 200 && a.status <= 299 {
			return a, nil
		}
		p := problemFrom(a)
		if a.status != http.StatusServiceUnavailable || !r.retryable() || attempt >= c.retries ||
			p.RetryAfter < 0 || p.RetryAfter > c.maxRetryWait {
			return a, p
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < p.RetryAfter {
			return a, p // the retry could not be answered in time: say why now
		}
		wait := time.NewTimer(p.RetryAfter)
		select {
		case <-ctx.Done():
			wait.Stop()
			return a, fmt.Errorf("%w (gave up retrying: %w)", p, ctx.Err())
		case <-wait.C:
		}
	}
}

func (c *Client) once(ctx context.Context, r request, payload []byte) (answer, error) {
	target := c.base + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return answer{}, fmt.Errorf("client: %w", err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" && !r.anonymous {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, err // a *url.Error: it names the method and the URL
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: reading the answer: %w", r.method, target, err)
	}
	if len(data) > maxAnswer {
		return answer{}, fmt.Errorf("%s %s: the answer is larger than %d MiB", r.method, target, maxAnswer>>20)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// decode reads a 2xx answer's JSON into out.
func (a answer) decode(r request, out any) error {
	if err := json.Unmarshal(a.body, out); err != nil {
		return fmt.Errorf("%s %s: the API answered %d with a body that is not what it should be: %w", r.method, r.path, a.status, err)
	}
	return nil
}

// retryAfter reads Retry-After (seconds, or an HTTP date); -1 when absent or unreadable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return -1
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return -1
		}
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0)
	}
	return -1
}

// ReadOption shapes a read from the views.
type ReadOption func(url.Values)

// MinPosition makes a read reflect at least the event at this log position, typically the
// Position of the caller's last command: the server waits up to 5 s for its views, else
// answers 503 (not-yet-visible), which the client retries.
func MinPosition(position uint64) ReadOption {
	return func(q url.Values) { q.Set("min_position", strconv.FormatUint(position, 10)) }
}

// CommandOption adds a precondition or a key to a command.
type CommandOption func(http.Header)

// IfMatch makes a command apply only to the version with this ETag (an Article's ETag, such
// as "3" with its quotes; a list, "3", "4", names several); another version answers 412
// (ErrStaleVersion). "*" matches any existing article (and makes a command no safer to
// retry than none). An empty etag sends nothing.
func IfMatch(etag string) CommandOption {
	return func(h http.Header) {
		if etag != "" {
			h.Set("If-Match", etag)
		}
	}
}

// IdempotencyKey makes a draft safe to send again: the same key from the same user returns
// the article the first request made. Up to 255 characters, no surrounding spaces.
func IdempotencyKey(key string) CommandOption {
	return func(h http.Header) {
		if key != "" {
			h.Set("Idempotency-Key", key)
		}
	}
}

func commandHeader(opts []CommandOption) http.Header {
	h := http.Header{}
	for _, o := range opts {
		o(h)
	}
	return h
}

func readQuery(opts []ReadOption) url.Values {
	q := url.Values{}
	for _, o := range opts {
		o(q)
	}
	return q
}
