// Package http is newsroom's HTTP API on Echo: the editors' API under /api/v1, the public API
// under /public/v1, and the operators' endpoints. Handlers decode, build one command or query,
// call one method, and render; errors go to the one error handler, as problem details.
package http

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	nethttp "net/http"
	"net/netip"
	"net/textproto"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/projections"
)

// Desk runs editorial commands; *editorial.Desk implements it.
type Desk interface {
	Get(ctx context.Context, id string) (editorial.Result, error)
	// GetVersion returns the article as it was at that version (domain.ErrNotFound if it
	// never was, or a kill erased it).
	GetVersion(ctx context.Context, id string, version int) (editorial.Result, error)
	Execute(ctx context.Context, id string, cmd domain.Command, req editorial.Request) (editorial.Result, error)
}

// PublicArticles reads the published view; *projections.Published implements it.
type PublicArticles interface {
	List(ctx context.Context, q projections.PublicQuery) (projections.PublicList, error)
	BySlug(ctx context.Context, slug string) (projections.PublicArticle, error)
	// Translations returns the published members of these translation sets, by set id.
	Translations(ctx context.Context, setIDs []string) (map[string][]projections.Translation, error)
	// Newest returns the id and version of the n newest listed articles (of that language,
	// unless empty), newest first.
	Newest(ctx context.Context, language string, n int) ([]projections.Stamp, error)
	// ImagesShown returns the ids of the images each of these articles shows, by article id,
	// in the article's order.
	ImagesShown(ctx context.Context, articleIDs []string) (map[string][]string, error)
}

// DeskViews reads the editors' views; *projections.Desk and *projections.History implement it
// together (see cmd/newsroom).
type DeskViews interface {
	List(ctx context.Context, q projections.DeskQuery) (projections.DeskList, error)
	Timeline(ctx context.Context, articleID string) ([]projections.Entry, error)
	// SetMembers returns the articles of a translation set, in any state.
	SetMembers(ctx context.Context, setID string) ([]domain.SetMember, error)
}

// Searches reads the search view; *projections.Search implements it.
type Searches interface {
	// Desk searches every article on the desk; Public what readers may see. A query made only
	// of stop words is a *search.QueryError.
	Desk(ctx context.Context, q projections.DeskSearch) (projections.DeskHits, error)
	Public(ctx context.Context, q projections.PublicSearch) (projections.PublicHits, error)
}

// Readiness reports whether this instance can accept commands and how far its views are.
type Readiness interface {
	// LogPosition is the log's last stream sequence; an error means the log is unreachable.
	LogPosition(ctx context.Context) (uint64, error)
	// Database is how far the SQL database holds the log for the views (the lowest of their
	// checkpoints); an error means it does not answer.
	Database(ctx context.Context) (uint64, error)
	Views() []projections.Status
}

// Authenticator checks bearer tokens; *auth.Tokens implements it.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (auth.Principal, error)
	// Known tells, without a database read, whether the secret is one the database confirmed
	// before: such a secret is checked even from an address past its failure limit.
	Known(secret string) bool
}

// Config is what the server serves from.
type Config struct {
	Desk      Desk
	DeskViews DeskViews
	Public    PublicArticles
	// Search, if set, serves GET /api/v1/articles?q=… and GET /public/v1/search.
	Search Searches
	// PublicCache, if set, serves public answers (articles, list pages, feeds) from memory
	// until the published view's commits invalidate them, or PublicCacheMaxAge passes.
	PublicCache *PublicCache
	Readiness   Readiness
	Positions   Positions
	Projections Projections
	Stream      PublicStream
	// Webhooks, when set, serves /api/v1/webhooks (admins only).
	Webhooks Webhooks
	// Closing, once closed, ends long-lived responses (the event stream), so that a graceful
	// shutdown does not wait for them.
	Closing <-chan struct{}
	Tokens  Authenticator
	// Sessions, if set, lets browsers sign in (POST /api/v1/session) and use /api/v1 with the
	// session cookie instead of a bearer token, under CSRF checks.
	Sessions Sessions
	// FailureLimit is how many failed sign-ins and wrong bearer tokens a client address may
	// send within FailureWindow before it is refused (429) for the rest of it;
	// DefaultFailureLimit if 0.
	FailureLimit int
	// TrustedProxies are the addresses of the reverse proxies in front of this server: a
	// request from one of them is taken to come from the address it names in
	// X-Forwarded-For (the nearest it does not trust). Empty: every request comes from its
	// connection's address, and X-Forwarded-For is ignored (anyone can send it).
	TrustedProxies []netip.Prefix
	Logger         *slog.Logger

	// Instrument, if set, wraps every request outermost, after routing: it sees the route
	// template (c.Path()) and, once it has let the error handler answer, the final status.
	Instrument echo.MiddlewareFunc
	// Metrics, if set, is served at GET /metrics (the Prometheus exposition).
	Metrics nethttp.Handler
	// Version is the version this instance runs, as /readyz reports it (during a rolling
	// deploy, which instance runs what).
	Version string

	// Media, if set, serves the images: /api/v1/media and /public/v1/media.
	Media *MediaConfig

	// PublicURL is the absolute base URL readers reach the public API at (for example
	// https://news.example.org), for the absolute links of the feeds. Empty: each request's
	// scheme and Host.
	PublicURL string
	// Images, if set, resolves articles' images (alt, credit, renditions) for readers.
	Images MediaImages

	// SiteName names the site on the public pages and feeds, and is the author of an article
	// with no byline in its schema.org data. Empty: "newsroom".
	SiteName string
}

// New returns the API as an http.Handler.
func New(cfg Config) nethttp.Handler {
	return closeAfterChunkedRequest(newsIndexWithSlash(newEcho(cfg)))
}

// newEcho routes the API; http/openapi.json describes every route.
func newEcho(cfg Config) *echo.Echo {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(cfg.Logger)
	e.IPExtractor = clientAddress(cfg.TrustedProxies)
	e.Logger = newEchoLogger(e.Logger, cfg.Logger)
	if cfg.Instrument != nil {
		e.Use(cfg.Instrument)
	}
	e.Use(
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: logPanic(cfg.Logger)}),
		requestID(newRequestIDs()),
		middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: bodyLimit, Skipper: skipsBodyLimit}),
	)

	// Probes, caches and link checkers send HEAD: the reads below answer it as GET without
	// the body (net/http discards it).
	read := []string{nethttp.MethodGet, nethttp.MethodHead}
	e.Match(read, "/healthz", func(c echo.Context) error { return c.String(nethttp.StatusOK, "ok\n") })

	e.Match(read, "/readyz", readyz(cfg.Readiness, cfg.Version))
	e.Match(read, "/openapi.json", serveOpenAPI)
	if cfg.Metrics != nil {
		e.Match(read, "/metrics", echo.WrapHandler(cfg.Metrics))
	}
	routeDesk(e, read) // the editors' browser client (http/desk.go)

	editors := &editorsAPI{desk: cfg.Desk, views: cfg.DeskViews, search: cfg.Search}
	var guard *browserGuard
	if cfg.Sessions != nil {
		guard = newBrowserGuard(cfg.Sessions, cfg.PublicURL)
	}
	failures := newFailureLimiter(cfg.FailureLimit, FailureWindow)
	api := newRoutes(e, "/api/v1", authenticate(cfg.Tokens, guard, failures))
	// Who the caller is, sessions (the desk's sign-in) and the Markdown preview: issue 16.
	api.GET("/me", me)
	api.POST("/preview", previewAPI{media: cfg.Images}.preview)
	if guard != nil {
		sessions := &sessionAPI{guard: guard, tokens: cfg.Tokens, failures: failures}
		e.POST("/api/v1/session", sessions.signIn)
		e.DELETE("/api/v1/session", sessions.signOut)
	}
	api.POST("/articles", editors.draft)
	api.GET("/articles", editors.list, boundedRead, deskOrSearch(readYourWrites(cfg.Positions, "desk"), readYourWrites(cfg.Positions, "search")))
	api.GET("/articles/:id", editors.get)
	api.GET("/articles/:id/history", editors.history, boundedRead, readYourWrites(cfg.Positions, "history"))
	api.PATCH("/articles/:id", editors.revise)
	api.POST("/articles/:id/submit", editors.command(fixed(domain.Submit{})))
	api.POST("/articles/:id/request-changes", editors.command(requestChanges))
	api.POST("/articles/:id/approve", editors.command(fixed(domain.Approve{})))
	api.POST("/articles/:id/publish", editors.command(publish))
	api.POST("/articles/:id/schedule", editors.command(schedule))
	api.POST("/articles/:id/unschedule", editors.command(fixed(domain.Unschedule{})))
	api.POST("/articles/:id/lift-embargo", editors.command(fixed(domain.LiftEmbargo{})))
	api.POST("/articles/:id/embargo", editors.command(moveEmbargo))
	api.POST("/articles/:id/correct", editors.command(correct))
	api.POST("/articles/:id/correct/confirm", editors.command(fixed(domain.ConfirmCorrection{})))
	api.POST("/articles/:id/correct/withdraw", editors.command(fixed(domain.WithdrawCorrection{})))
	api.POST("/articles/:id/retract", editors.command(retract))
	api.POST("/articles/:id/spike", editors.command(spike))
	api.POST("/articles/:id/kill", editors.command(kill))

	if cfg.Media != nil {
		images := newMediaAPI(*cfg.Media, cfg.PublicCache)
		api.POST("/media", aboutImage(images.upload), requireRole(domain.RoleReporter))
		api.GET("/media/:id", aboutImage(images.get), boundedRead, readYourWrites(cfg.Positions, "media"))
		api.PATCH("/media/:id", aboutImage(images.describe))
		api.GET("/media/:id/renditions/:name", aboutImage(images.deskRendition), boundedRead, readYourWrites(cfg.Positions, "media"))
		e.Match(read, "/public/v1/media/:id/:name", images.publicRendition) // bounds its own reads
	}

	admin := &adminAPI{projections: cfg.Projections, readiness: cfg.Readiness}
	ops := api.Group("/projections", requireRole(domain.RoleAdmin))
	ops.GET("", admin.list, boundedRead)
	ops.POST("/:name/rebuild", admin.rebuild)
	if cfg.Webhooks != nil {
		hooks := &webhooksAPI{webhooks: cfg.Webhooks}
		wh := api.Group("/webhooks", requireRole(domain.RoleAdmin))
		wh.POST("", hooks.register)
		wh.GET("", hooks.list)
		wh.GET("/:id", hooks.get)
		wh.DELETE("/:id", hooks.delete)
		wh.GET("/:id/deliveries", hooks.deliveries)
	}

	public := &publicAPI{log: cfg.Logger, publicStream: cfg.Stream, frames: newSSEFrames(), closing: cfg.Closing, articles: cfg.Public, cache: cfg.PublicCache,
		publicURL: strings.TrimRight(cfg.PublicURL, "/"), media: cfg.Images}
	fresh := func(next echo.HandlerFunc) echo.HandlerFunc {
		return freshReads(readYourWrites(cfg.Positions, "published")(next))
	}
	e.GET("/public/v1/stream", public.events)
	e.Match(read, "/public/v1/articles", composed(public.list, fresh))      // bounds its reads (PublicCache)
	e.Match(read, "/public/v1/articles/:slug", composed(public.get, fresh)) // bounds its reads (PublicCache)
	if cfg.Search != nil {
		searches := &publicSearchAPI{search: cfg.Search, cache: cfg.PublicCache}
		e.Match(read, "/public/v1/search", composed(searches.find, boundedRead, freshReads, readYourWrites(cfg.Positions, "search")))
	}
	if cfg.SiteName == "" {
		cfg.SiteName = "newsroom"
	}
	feeds := &feedsAPI{articles: cfg.Public, cache: cfg.PublicCache, publicURL: strings.TrimRight(cfg.PublicURL, "/"), siteName: cfg.SiteName,
		media: cfg.Images}
	e.Match(read, "/public/v1/feeds/atom.xml", composed(feeds.atom, boundedRead, fresh))
	e.Match(read, "/public/v1/feeds/feed.json", composed(feeds.json, boundedRead, fresh))

	// The public pages (pages.go): HTML for readers, beside the public API. Every read of theirs
	// goes through the PublicCache, which bounds it (readTimeout): no boundedRead.
	pages := &pagesAPI{articles: cfg.Public, cache: cfg.PublicCache, publicURL: strings.TrimRight(cfg.PublicURL, "/"), siteName: cfg.SiteName,
		media: cfg.Images}
	e.Match(read, "/news", composed(pages.index, fresh))
	e.Match(read, "/news/:slug", composed(pages.article, fresh)) // bounds its reads (PublicCache)
	e.Match(read, "/news/tag/:tag", composed(pages.tag, fresh))
	e.Match(read, "/news/language/:lang", composed(pages.language, fresh))
	e.Match(read, "/sitemap.xml", composed(pages.sitemap, fresh))
	e.Match(read, "/robots.txt", pages.robots)
	// A reader who types the site's address lands on the index (/news/ does too: New).
	e.Match(read, "/", toNewsIndex)
	return e
}

// composed applies a route's middleware once, when the route is registered: Echo applies the
// middleware given with a route anew on every request (a closure each), which a public read
// answered from memory notices. The first of mw runs first, as with Echo's.
func composed(h echo.HandlerFunc, mw ...echo.MiddlewareFunc) echo.HandlerFunc {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// clientAddress is how a request's client address is found (Echo's RealIP): the connection's,
// unless it comes from one of trusted, whose X-Forwarded-For then names it. Echo without an
// extractor believes X-Forwarded-For and X-Real-IP from anyone, which would let a client pick
// the address its failed sign-ins are counted against.
func clientAddress(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		p = p.Masked()
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// readTimeout bounds a read from the views. A database behind a network that drops packets
// never answers: without a bound, a request would hold its client and a pooled connection until
// TCP gives up, many minutes later. It outlasts maxPositionWait, so that a read waiting for the
// views to reach a position says so. Past it the client gets a 503.
const readTimeout = 10 * time.Second

func boundedRead(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		ctx, cancel := context.WithTimeout(req.Context(), readTimeout)
		defer cancel()
		// The error handler runs after this returns, once ctx is cancelled: it must see the
		// client's own context, or it takes every failure for a client that hung up and
		// answers nothing (an empty 200).
		defer c.SetRequest(req)
		c.SetRequest(req.WithContext(ctx))
		return next(c)
	}
}

// maxRequestID bounds a client's own X-Request-Id.
const maxRequestID = 128

// requestID gives every request an id, the answer's X-Request-Id: the client's own if it is
// plain (plainID), else a fresh one. The request id becomes the correlation id of the event a
// command records: a client's unbounded one would write past every limit the body and its
// fields have. (It is Echo's RequestID and a bound on the client's id in one: Echo's draws 32
// bytes from crypto/rand for every request, more than a cached image read costs otherwise.)
func requestID(next func() string) echo.MiddlewareFunc {
	return func(h echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(echo.HeaderXRequestID)
			if id == "" || !plainID(id) {
				id = next()
			}
			c.Response().Header()[keyRequestID] = []string{id}
			return h(c)
		}
	}
}

var keyRequestID = textproto.CanonicalMIMEHeaderKey(echo.HeaderXRequestID)

// newRequestIDs returns a generator of request ids, 32 letters and digits as Echo's are: a
// random prefix drawn once, so that instances do not share ids, and a counter. Ids need to be
// unique, not secret: the client sees its own.
func newRequestIDs() func() string {
	var seed [10]byte
	if _, err := rand.Read(seed[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	prefix := hex.EncodeToString(seed[:])
	var n atomic.Uint64
	return func() string {
		var b [32]byte
		copy(b[:], prefix)
		v := n.Add(1)
		for i := len(b) - 1; i >= len(prefix); i-- {
			b[i] = "0123456789abcdef"[v&15]
			v >>= 4
		}
		return string(b[:])
	}
}

func plainID(id string) bool {
	if len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '.' || b == '_' || b == ':' || b == '-') {
			return false
		}
	}
	return true
}

// fixed builds a command that takes nothing from the request.
func fixed(cmd domain.Command) func(echo.Context) (domain.Command, error) {
	return func(echo.Context) (domain.Command, error) { return cmd, nil }
}

// principalKey is where authenticate leaves the caller in the Echo context.
const principalKey = "newsroom.principal"

func principal(c echo.Context) auth.Principal {
	p, _ := c.Get(principalKey).(auth.Principal)
	return p
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
