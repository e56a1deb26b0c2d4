package http

import (
	"errors"
	nethttp "net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/auth"
)

// TestBrowserGuard: which requests made with the session cookie may change something.
func TestBrowserGuard(t *testing.T) {
	s := auth.Session{CSRFToken: "tok3n"}
	tests := []struct {
		name      string
		publicURL string
		method    string
		host      string
		headers   map[string]string
		ok        bool
	}{
		{"GET needs nothing", "", "GET", "desk.local:8080", map[string]string{"Sec-Fetch-Site": "cross-site"}, true},
		{"HEAD needs nothing", "", "HEAD", "desk.local:8080", nil, true},
		{"POST with the token", "", "POST", "desk.local:8080", map[string]string{csrfHeader: "tok3n"}, true},
		{"POST without the token", "", "POST", "desk.local:8080", nil, false},
		{"POST with another token", "", "POST", "desk.local:8080", map[string]string{csrfHeader: "tok3N"}, false},
		{"POST with a prefix of the token", "", "POST", "desk.local:8080", map[string]string{csrfHeader: "tok3"}, false},
		{"DELETE without the token", "", "DELETE", "desk.local:8080", nil, false},
		{"same-origin", "", "PATCH", "desk.local:8080", map[string]string{csrfHeader: "tok3n", "Sec-Fetch-Site": "same-origin"}, true},
		{"cross-site", "", "PATCH", "desk.local:8080", map[string]string{csrfHeader: "tok3n", "Sec-Fetch-Site": "cross-site"}, false},
		{"Origin of the Host", "", "POST", "desk.local:8080", map[string]string{csrfHeader: "tok3n", "Origin": "http://desk.local:8080"}, true},
		{"Origin of the Host, other case", "", "POST", "desk.local:8080", map[string]string{csrfHeader: "tok3n", "Origin": "http://DESK.local:8080"}, true},
		{"Origin on another port", "", "POST", "desk.local:8080", map[string]string{csrfHeader: "tok3n", "Origin": "http://desk.local:9090"}, false},
		{"Origin of another site", "", "POST", "desk.local:8080", map[string]string{csrfHeader: "tok3n", "Origin": "https://evil.example"}, false},
		{"Origin null", "", "POST", "desk.local:8080", map[string]string{csrfHeader: "tok3n", "Origin": "null"}, false},
		{"Origin with another scheme", "", "POST", "desk.local:8080", map[string]string{csrfHeader: "tok3n", "Origin": "ftp://desk.local:8080"}, false},
		{"Origin of the public URL behind a proxy", "https://news.example.org/", "POST", "10.0.0.5:8080", map[string]string{csrfHeader: "tok3n", "Origin": "https://news.example.org"}, true},
		{"public URL's host over http", "https://news.example.org", "POST", "10.0.0.5:8080", map[string]string{csrfHeader: "tok3n", "Origin": "http://news.example.org"}, false},
	}
	for _, tt := range tests {
		g := newBrowserGuard(nil, tt.publicURL)
		req := httptest.NewRequest(tt.method, "/api/v1/articles", nil)
		req.Host = tt.host
		for k, v := range tt.headers {
			req.Header.Set(k, v)
		}
		err := g.check(echo.New().NewContext(req, httptest.NewRecorder()), s)
		if tt.ok && err != nil || !tt.ok && !errors.As(err, new(*csrfError)) {
			t.Errorf("%s: check = %v; want ok %v (a *csrfError otherwise)", tt.name, err, tt.ok)
		}
	}
}

// TestSessionCookieAttributes: the cookie is HttpOnly and SameSite=Strict on every path, and
// Secure exactly when the public URL is https.
func TestSessionCookieAttributes(t *testing.T) {
	for publicURL, secure := range map[string]bool{"": false, "http://news.example.org": false, "https://news.example.org": true, "HTTPS://news.example.org": true} {
		c := newBrowserGuard(nil, publicURL).cookie("ns_x", 60)
		if c.Name != "newsroom_session" || c.Path != "/" || !c.HttpOnly || c.SameSite != nethttp.SameSiteStrictMode || c.Secure != secure || c.MaxAge != 60 {
			t.Errorf("public URL %q: cookie %+v; want newsroom_session, Path=/, HttpOnly, SameSite=Strict, Secure %v, Max-Age 60", publicURL, c, secure)
		}
	}
}
