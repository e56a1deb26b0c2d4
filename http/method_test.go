package http

import (
	"encoding/json"
	"io"
	"log/slog"
	nethttp "net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestMethodNotAllowedUnderAPI: a path of the editors' API asked with a method it does not take
// answers 405 with Allow, as the public API does, whoever asks (the method is wrong whatever
// the token); a path that does not exist answers 404; the API's routes still want a token.
func TestMethodNotAllowedUnderAPI(t *testing.T) {
	srv := httptest.NewServer(New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()
	for _, tt := range []struct {
		method, path string
		status       int
		allow        []string // for 405
		problem      string
	}{
		{"DELETE", "/api/v1/articles", 405, []string{"GET", "POST"}, "method-not-allowed"},
		{"PUT", "/api/v1/articles/0b6f3c1e-9a4d-4f7e-8c21-5d2a7e9b1c01", 405, []string{"GET", "PATCH"}, "method-not-allowed"},
		{"GET", "/api/v1/articles/0b6f3c1e-9a4d-4f7e-8c21-5d2a7e9b1c01/publish", 405, []string{"POST"}, "method-not-allowed"},
		{"POST", "/api/v1/articles/0b6f3c1e-9a4d-4f7e-8c21-5d2a7e9b1c01/history", 405, []string{"GET"}, "method-not-allowed"},
		{"DELETE", "/api/v1/projections", 405, []string{"GET"}, "method-not-allowed"},
		{"GET", "/api/v1/projections/desk/rebuild", 405, []string{"POST"}, "method-not-allowed"},
		{"DELETE", "/public/v1/articles", 405, []string{"GET", "HEAD"}, "method-not-allowed"},
		{"GET", "/api/v1/no-such-endpoint", 404, nil, "not-found"},
		{"GET", "/api/v1", 404, nil, "not-found"},
		{"GET", "/api/v1/articles", 401, nil, "unauthenticated"},
		{"POST", "/api/v1/articles/0b6f3c1e-9a4d-4f7e-8c21-5d2a7e9b1c01/publish", 401, nil, "unauthenticated"},
		{"GET", "/api/v1/projections", 401, nil, "unauthenticated"},
	} {
		req, err := nethttp.NewRequest(tt.method, srv.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := nethttp.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var p Problem
		if resp.StatusCode != tt.status || json.Unmarshal(body, &p) != nil || p.Type != "/problems/"+tt.problem ||
			resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s = %d %s %s; want %d, a %s problem", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.status, tt.problem)
			continue
		}
		if tt.status != 405 {
			continue
		}
		allow := strings.Split(resp.Header.Get("Allow"), ", ")
		for _, m := range tt.allow {
			if !slices.Contains(allow, m) {
				t.Errorf("%s %s: Allow %q; want it to hold %s", tt.method, tt.path, resp.Header.Get("Allow"), m)
			}
		}
		if slices.Contains(allow, tt.method) {
			t.Errorf("%s %s: Allow %q holds the method refused", tt.method, tt.path, resp.Header.Get("Allow"))
		}
	}
}
