package http

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/internal/apitest"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/webhooks"
)

// noWebhooks is a Webhooks that holds none; it makes New route the webhook endpoints.
type noWebhooks struct{}

func (noWebhooks) Register(context.Context, webhooks.Registration) (webhooks.Webhook, string, error) {
	return webhooks.Webhook{}, "", webhooks.ErrUnavailable
}
func (noWebhooks) List(context.Context) ([]webhooks.Webhook, error) { return nil, nil }
func (noWebhooks) Get(context.Context, string) (webhooks.Webhook, error) {
	return webhooks.Webhook{}, webhooks.ErrNotFound
}
func (noWebhooks) Delete(context.Context, string) error { return webhooks.ErrNotFound }
func (noWebhooks) Deliveries(context.Context, string, int64, int) ([]webhooks.Delivery, error) {
	return nil, webhooks.ErrNotFound
}

// noSearch finds nothing; it makes New route the public search.
type noSearch struct{}

func (noSearch) Desk(context.Context, projections.DeskSearch) (projections.DeskHits, error) {
	return projections.DeskHits{}, nil
}
func (noSearch) Public(context.Context, projections.PublicSearch) (projections.PublicHits, error) {
	return projections.PublicHits{}, nil
}

type noSessions struct{}

func (noSessions) Create(context.Context, string) (string, auth.Session, error) {
	return "", auth.Session{}, auth.ErrUnauthenticated
}
func (noSessions) Authenticate(context.Context, string) (auth.Session, error) {
	return auth.Session{}, auth.ErrUnauthenticated
}
func (noSessions) End(context.Context, string) error { return nil }

// TestOpenAPIDescribesEveryRoute checks that the document conforms to OpenAPI 3.1 and names
// every route the server has, and that every operation it describes is routed.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	if _, err := apitest.Load(OpenAPI()); err != nil {
		t.Fatalf("http/openapi.json: %v", err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q; want 3.1.x", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}

	e := newEcho(Config{Webhooks: noWebhooks{}, Search: noSearch{}, Sessions: noSessions{}, Metrics: nethttp.NotFoundHandler(), Media: &MediaConfig{}})
	param := regexp.MustCompile(`:([a-z_]+)`)
	routed := map[string]bool{}
	for _, r := range e.Routes() {
		if !slices.Contains([]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}, r.Method) {
			continue // a group's not-found catch-all
		}
		routed[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	for _, op := range sortedKeys(routed) {
		if !documented[op] {
			t.Errorf("the server routes %s; http/openapi.json does not describe it", op)
		}
	}
	for _, op := range sortedKeys(documented) {
		if !routed[op] {
			t.Errorf("http/openapi.json describes %s; the server does not route it", op)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestOpenAPIServed fetches the document as a client would, and again with its ETag.
func TestOpenAPIServed(t *testing.T) {
	contract, err := apitest.Load(OpenAPI())
	if err != nil {
		t.Fatalf("http/openapi.json: %v", err)
	}
	client := &nethttp.Client{Transport: apitest.Record(t, contract, nil)} // the document describes itself
	srv := httptest.NewServer(New(Config{}))
	defer srv.Close()
	resp, err := client.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json = %d %s; want 200 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !bytes.Equal(body, OpenAPI()) {
		t.Errorf("GET /openapi.json served %d bytes; want the %d of http/openapi.json", len(body), len(OpenAPI()))
	}
	tag := resp.Header.Get("ETag")
	if tag == "" {
		t.Fatal("GET /openapi.json has no ETag")
	}
	req, _ := nethttp.NewRequest("GET", srv.URL+"/openapi.json", nil)
	req.Header.Set("If-None-Match", tag)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != nethttp.StatusNotModified {
		t.Errorf("GET /openapi.json with If-None-Match: %s = %d; want 304", tag, resp.StatusCode)
	}
}
