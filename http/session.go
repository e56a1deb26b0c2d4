package http

import (
	"context"
	"crypto/subtle"
	"errors"
	nethttp "net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/auth"
)

// Sessions make, check and end the desk's browser sessions; *auth.Sessions implements it.
type Sessions interface {
	// Create makes a session from a token's secret and returns the session's id (the cookie's
	// value). Errors: auth.ErrUnauthenticated for a bad secret, auth.ErrUnavailable.
	Create(ctx context.Context, secret string) (string, auth.Session, error)
	// Authenticate returns the session with this id. Errors: auth.ErrUnauthenticated (unknown,
	// expired, ended, or its token revoked), auth.ErrUnavailable.
	Authenticate(ctx context.Context, id string) (auth.Session, error)
	// End ends the session with this id; ending one that is gone does nothing.
	End(ctx context.Context, id string) error
}

const (
	// sessionCookie is the cookie that carries a session's id. The desk depends on this name.
	sessionCookie = "newsroom_session"
	// csrfHeader carries the session's CSRF token on every request authenticated by the
	// session cookie that is not a GET, HEAD or OPTIONS.
	csrfHeader = "X-CSRF-Token"
	// sessionKey is where authenticate leaves the session of a cookie-authenticated caller.
	sessionKey = "newsroom.session"
)

// errSignInRefused is a sign-in with a token that is malformed, unknown or revoked.
var errSignInRefused = errors.New("sign-in refused")

// csrfError is a cookie-authenticated request that may have been forged: sent from another
// site, or without the session's CSRF token. Its text is written for the client.
type csrfError struct{ reason string }

func (e *csrfError) Error() string { return e.reason }

// browserGuard decides whether a request that came with a browser's credentials (the session
// cookie) may change anything, and sets the cookie's attributes.
type browserGuard struct {
	sessions Sessions
	// origin is --public-url's scheme://host[:port], lowercase; empty when not set.
	origin string
	// secure: the cookie is Secure (the public URL is https).
	secure bool
}

func newBrowserGuard(sessions Sessions, publicURL string) *browserGuard {
	g := &browserGuard{sessions: sessions}
	if u, err := url.Parse(publicURL); err == nil && u.Scheme != "" && u.Host != "" {
		g.origin = strings.ToLower(u.Scheme + "://" + u.Host)
		g.secure = strings.EqualFold(u.Scheme, "https")
	}
	return g
}

// sameSite refuses a request a browser says came from another site: Sec-Fetch-Site
// cross-site, or an Origin that is not this server's (--public-url's, or the request's own
// Host). A request without either header (not from a browser, or an old one) passes: the CSRF
// token and the SameSite=Strict cookie still stand in the way.
func (g *browserGuard) sameSite(c echo.Context) error {
	h := c.Request().Header
	if strings.EqualFold(h.Get("Sec-Fetch-Site"), "cross-site") {
		return &csrfError{"a request from another site may not use the session; the desk sends its own"}
	}
	origin := h.Get(echo.HeaderOrigin)
	if origin == "" {
		return nil
	}
	if g.origin != "" && strings.EqualFold(origin, g.origin) {
		return nil
	}
	if u, err := url.Parse(origin); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") &&
		strings.EqualFold(u.Host, c.Request().Host) {
		return nil
	}
	return &csrfError{"Origin " + quoteShort(origin) + " is not this server's; a request from another site may not use the session"}
}

// check refuses a state-changing request authenticated by session s unless it comes from this
// site with s's CSRF token.
func (g *browserGuard) check(c echo.Context, s auth.Session) error {
	switch c.Request().Method {
	case nethttp.MethodGet, nethttp.MethodHead, nethttp.MethodOptions:
		return nil
	}
	if err := g.sameSite(c); err != nil {
		return err
	}
	got := c.Request().Header.Get(csrfHeader)
	if got == "" {
		return &csrfError{"send the session's csrf_token (from POST /api/v1/session or GET /api/v1/me) as " + csrfHeader + "; a request authenticated by the session cookie needs it to change anything"}
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRFToken)) != 1 {
		return &csrfError{csrfHeader + " is not this session's csrf_token; read it again from GET /api/v1/me"}
	}
	return nil
}

// cookie is the session cookie holding value for maxAge seconds; maxAge < 0 deletes it.
func (g *browserGuard) cookie(value string, maxAge int) *nethttp.Cookie {
	return &nethttp.Cookie{Name: sessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: g.secure, SameSite: nethttp.SameSiteStrictMode}
}

func quoteShort(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

// authenticate requires a valid bearer token or, when g is not nil, a valid session cookie
// (with its CSRF checks), and records who the caller is. A bearer token wins over the cookie:
// a request with an Authorization header is judged by it alone.
//
// A bearer token from an address past its limit of failures is refused before it is checked
// (a right one too: answering it would tell a guesser when it found one); a wrong one counts.
// Cookies neither count nor are refused: a session's id is not guessed, and a newsroom behind
// one address keeps its desk while someone there is throttled.
func authenticate(tokens Authenticator, g *browserGuard, failures *failureLimiter) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Request().Header.Get(echo.HeaderAuthorization)
			if h == "" && g != nil {
				if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
					s, err := g.sessions.Authenticate(c.Request().Context(), ck.Value)
					if errors.Is(err, auth.ErrUnauthenticated) {
						// The browser may as well forget it.
						c.SetCookie(g.cookie("", -1))
						return err
					} else if err != nil {
						return err
					}
					if err := g.check(c, s); err != nil {
						return err
					}
					c.Set(principalKey, s.Principal)
					c.Set(sessionKey, s)
					return next(c)
				}
			}
			const prefix = "Bearer "
			if len(h) <= len(prefix) || !equalFold(h[:len(prefix)], prefix) {
				return errUnauthenticated
			}
			ip, secret := c.RealIP(), h[len(prefix):]
			if err := failures.admit(ip, secret, tokens); err != nil {
				return err
			}
			p, err := tokens.Authenticate(c.Request().Context(), secret)
			if errors.Is(err, auth.ErrUnauthenticated) {
				failures.failed(ip)
			}
			if err != nil {
				return err
			}
			c.Set(principalKey, p)
			return next(c)
		}
	}
}

// session is the caller's session, when the session cookie authenticated the request.
func session(c echo.Context) (auth.Session, bool) {
	s, ok := c.Get(sessionKey).(auth.Session)
	return s, ok
}

type sessionAPI struct {
	guard    *browserGuard
	tokens   Authenticator
	failures *failureLimiter
}

// sessionJSON is what signing in answers.
type sessionJSON struct {
	UserID    string    `json:"user_id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// meJSON is who the caller is, and how they were authenticated.
type meJSON struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	Via    string `json:"via"` // "session" or "token"
	// CSRFToken and ExpiresAt: only via a session.
	CSRFToken string     `json:"csrf_token,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// signIn makes a session from a token: POST /api/v1/session.
func (api *sessionAPI) signIn(c echo.Context) error {
	// Login CSRF: another site must not sign a browser in as someone else.
	if err := api.guard.sameSite(c); err != nil {
		return err
	}
	body, err := readJSONBody(c, echo.MIMEApplicationJSON)
	if err != nil {
		return err
	}
	var req struct {
		Token string `json:"token"`
	}
	if err := decodeInto(body, &req); err != nil {
		return err
	}
	ip := c.RealIP()
	if err := api.failures.admit(ip, req.Token, api.tokens); err != nil {
		return err
	}
	id, s, err := api.guard.sessions.Create(c.Request().Context(), req.Token)
	if errors.Is(err, auth.ErrUnauthenticated) {
		api.failures.failed(ip)
		return errSignInRefused
	} else if err != nil {
		return err
	}
	c.SetCookie(api.guard.cookie(id, int(s.ExpiresAt.Sub(s.CreatedAt)/time.Second)))
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(nethttp.StatusCreated, sessionJSON{UserID: s.UserID, Name: s.Name, Role: string(s.Role),
		CSRFToken: s.CSRFToken, ExpiresAt: s.ExpiresAt})
}

// signOut ends the cookie's session, on every instance, and clears the cookie: DELETE
// /api/v1/session. A session that still stands is ended only with its CSRF token; a cookie
// whose session is gone (or none) is cleared all the same.
func (api *sessionAPI) signOut(c echo.Context) error {
	if err := api.guard.sameSite(c); err != nil {
		return err
	}
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
		ctx := c.Request().Context()
		s, err := api.guard.sessions.Authenticate(ctx, ck.Value)
		switch {
		case errors.Is(err, auth.ErrUnauthenticated):
		case err != nil:
			return err
		default:
			if err := api.guard.check(c, s); err != nil {
				return err
			}
			if err := api.guard.sessions.End(ctx, ck.Value); err != nil {
				return err
			}
		}
	}
	c.SetCookie(api.guard.cookie("", -1))
	return c.NoContent(nethttp.StatusNoContent)
}

// me says who the caller is: GET /api/v1/me.
func me(c echo.Context) error {
	p := principal(c)
	out := meJSON{UserID: p.UserID, Name: p.Name, Role: string(p.Role), Via: "token"}
	if s, ok := session(c); ok {
		out.Via, out.CSRFToken = "session", s.CSRFToken
		out.ExpiresAt = &s.ExpiresAt
	}
	// It may hold the CSRF token, and says who is signed in: no cache keeps it.
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(nethttp.StatusOK, out)
}
