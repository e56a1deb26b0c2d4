package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startWebhookApp is startTestApp with short webhook waits: attempts time out after 500 ms and
// are retried after 10 ms, doubling up to 100 ms.
func startWebhookApp(tb testing.TB, dataDir string) *testApp {
	tb.Helper()
	return startTestAppWith(tb, config{HTTP: "127.0.0.1:0", DataDir: dataDir, NATSListen: "127.0.0.1:0", NoSync: true,
		WebhookTimeout: 500 * time.Millisecond, WebhookRetryMin: 10 * time.Millisecond, WebhookRetryMax: 100 * time.Millisecond})
}

// hookRequest is one request a webhook receiver got.
type hookRequest struct {
	id, timestamp, signature string
	body                     []byte
	status                   int // what the receiver answered; 0: it hung until the sender gave up
}

// hookReceiver is a subscriber's real HTTP endpoint. Until up is set it fails: 500, 503, then
// hangs once (the sender times out), then 503 again; once up, it answers 204.
type hookReceiver struct {
	srv *httptest.Server
	up  atomic.Bool

	mu       sync.Mutex
	requests []hookRequest
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	failures := []int{500, 503, 0}
	h.srv = httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		body, _ := io.ReadAll(r.Body)
		req := hookRequest{id: r.Header.Get("webhook-id"), timestamp: r.Header.Get("webhook-timestamp"),
			signature: r.Header.Get("webhook-signature"), body: body, status: 204}
		h.mu.Lock()
		if !h.up.Load() {
			req.status = 503
			if n := len(h.requests); n < len(failures) {
				req.status = failures[n]
			}
		}
		h.requests = append(h.requests, req)
		h.mu.Unlock()
		if req.status == 0 {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(req.status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) all() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.requests...)
}

// delivered is the webhook-ids the receiver accepted, in the order it got them.
func (h *hookReceiver) delivered() []string {
	var ids []string
	for _, r := range h.all() {
		if r.status == 204 {
			ids = append(ids, r.id)
		}
	}
	return ids
}

// verifyStandardWebhook checks a request as the Standard Webhooks spec tells receivers to, with
// no newsroom code: the key is the base64 after whsec_; the signed content is
// "<webhook-id>.<webhook-timestamp>.<body>"; webhook-signature lists "v1,<base64 HMAC-SHA256>".
func verifyStandardWebhook(secret string, r hookRequest) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		return fmt.Errorf("secret %q is not whsec_<base64>", secret)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", r.id, r.timestamp, r.body)
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	ts, err := strconv.ParseInt(r.timestamp, 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return fmt.Errorf("webhook-timestamp %q is not a current unix time", r.timestamp)
	}
	for _, sig := range strings.Fields(r.signature) {
		if v, mac, _ := strings.Cut(sig, ","); v == "v1" && hmac.Equal([]byte(mac), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("webhook-signature %q does not match", r.signature)
}

// deskVolume drafts, submits, sends back and spikes articles: desk work none of which may
// reach a subscriber.
func deskVolume(t *testing.T, base, reporter, editor string, n int) {
	t.Helper()
	api := base + "/api/v1/articles"
	for i := range n {
		r := call(t, "POST", api, reporter, map[string]any{"headline": fmt.Sprintf("SECRET draft %d", i), "body": "SECRET body"})
		expectStatus(t, r, 201, "draft")
		id := r.json(t)["id"].(string)
		switch i % 3 {
		case 0:
			expectStatus(t, call(t, "POST", api+"/"+id+"/submit", reporter, nil), 200, "submit")
			expectStatus(t, call(t, "POST", api+"/"+id+"/request-changes", editor, map[string]any{"comment": "SECRET comment"}), 200, "request changes")
		case 1:
			expectStatus(t, call(t, "POST", api+"/"+id+"/submit", reporter, nil), 200, "submit")
		case 2:
			expectStatus(t, call(t, "POST", api+"/"+id+"/spike", reporter, map[string]any{"reason": "SECRET reason"}), 200, "spike")
		}
	}
}

// TestWebhookReceiverThatFailsThenRecovers: a receiver that fails for a while (errors, a
// timeout), across a restart of newsroom, then recovers, gets every public event once, in the
// order of the public stream, each with a valid signature; drafts and reviews in volume reach
// it not at all; the deliveries endpoint shows the failed attempts, then the success.
func TestWebhookReceiverThatFailsThenRecovers(t *testing.T) {
	dir := t.TempDir()
	admin := createToken(t, dir, "ada", "admin")
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	eva := createToken(t, dir, "eva", "editor") // confirms corrections: four eyes
	ta := startWebhookApp(t, dir)
	hooks := newHookReceiver(t)

	r := call(t, "POST", ta.base+"/api/v1/webhooks", admin, map[string]any{"url": hooks.srv.URL + "/newsroom"})
	expectStatus(t, r, 201, "register a webhook")
	reg := r.json(t)
	hookID, _ := reg["id"].(string)
	secret, _ := reg["secret"].(string)
	if hookID == "" || !strings.HasPrefix(secret, "whsec_") || r.header.Get("Location") != "/api/v1/webhooks/"+hookID {
		t.Fatalf("registration = %s (Location %q); want an id, a generated whsec_ secret, a Location", r.body, r.header.Get("Location"))
	}

	api := ta.base + "/api/v1/articles"
	deskVolume(t, ta.base, rita, ed, 12)
	first, _ := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "First", "body": "One."})
	deskVolume(t, ta.base, rita, ed, 6)
	second, _ := publishedArticle(t, ta.base, rita, ed, corpus(t))
	correctText(t, ta.base, second, ed, eva, map[string]any{"summary": "Ministers met.", "note": "Added a summary."})
	expectStatus(t, call(t, "POST", api+"/"+first+"/retract", ed, map[string]any{"reason": "Issued in error."}), 200, "retract")

	deliveries := func(query string) []map[string]any {
		t.Helper()
		r := call(t, "GET", ta.base+"/api/v1/webhooks/"+hookID+"/deliveries"+query, admin, nil)
		expectStatus(t, r, 200, "deliveries")
		var page struct{ Items []map[string]any }
		if err := json.Unmarshal(r.body, &page); err != nil {
			t.Fatal(err)
		}
		return page.Items
	}
	eventually(t, "four failed attempts", func() bool { return len(deliveries("")) >= 4 })

	// Restart while the first message is being retried. The views and the outbox are let
	// catch up first: one stopped while it holds an event hands it back (nak), but the embedded
	// server does not keep that across its own restart, so the event comes back only after its
	// AckWait (30 s), longer than these tests wait.
	publicMessages(t, ta.natsURL, 4)
	waitCaughtUp(t, ta.base, admin)
	ta.Close()
	ta = startWebhookApp(t, dir)
	api = ta.base + "/api/v1/articles"
	before := len(deliveries("?per_page=500"))
	eventually(t, "an attempt after the restart", func() bool { return len(deliveries("?per_page=500")) > before })
	hooks.up.Store(true)
	deskVolume(t, ta.base, rita, ed, 6)
	// The last public event: once it is delivered, everything before it has been.
	publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Last", "body": "Five."})
	for deadline := time.Now().Add(20 * time.Second); len(hooks.delivered()) < 5; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			for _, r := range hooks.all() {
				t.Logf("received %s %d", r.id, r.status)
			}
			for _, d := range deliveries("?per_page=500") {
				t.Logf("delivery %v", d)
			}
			nc, _ := nats.Connect(ta.natsURL)
			js, _ := jetstream.New(nc)
			ctx := context.Background()
			for _, name := range []string{"NEWSROOM", "NEWSROOM_PUBLIC"} {
				s, err := js.Stream(ctx, name)
				if err != nil {
					t.Logf("stream %s: %v", name, err)
					continue
				}
				t.Logf("stream %s: %+v", name, s.CachedInfo().State)
				for ci := range s.ListConsumers(ctx).Info() {
					t.Logf("consumer %s: delivered %+v ackfloor %+v pending %d ackpending %d redelivered %d waiting %d", ci.Name, ci.Delivered, ci.AckFloor, ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.NumWaiting)
				}
			}
			nc.Close()
			t.Fatalf("timed out waiting for five deliveries")
		}
	}

	public := publicMessages(t, ta.natsURL, 5)
	var want []string
	for _, m := range public {
		id, _ := url.PathUnescape(m.Headers().Get("ce-id"))
		want = append(want, id)
	}
	if got := hooks.delivered(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the receiver accepted %v; want the public stream %v, each once, in order", got, want)
	}
	requests := hooks.all()
	next := 0 // the index in want of the message that may be sent now
	for i, req := range requests {
		if err := verifyStandardWebhook(secret, req); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
		if next >= len(want) || req.id != want[next] {
			t.Errorf("request %d carries %s; want %s (nothing sent before the one before it succeeded)", i, req.id, want[min(next, len(want)-1)])
		} else if req.status == 204 {
			next++
		}
		if strings.Contains(string(req.body), "SECRET") {
			t.Errorf("request %d carries desk text: %s", i, req.body)
		}
		var ce map[string]any
		if err := json.Unmarshal(req.body, &ce); err != nil || ce["specversion"] != "1.0" || ce["id"] != req.id {
			t.Errorf("request %d body is not its CloudEvent: %s", i, req.body)
		}
	}
	if len(requests) > 0 {
		var ce struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		json.Unmarshal(requests[0].body, &ce)
		if ce.Type != "org.newsroom.article.published.v1" || ce.Data["pubstatus"] != "usable" || ce.Data["headlines"] == nil {
			t.Errorf("first delivery = %s; want the published event with its ninjs document", requests[0].body)
		}
	}

	// The deliveries endpoint: newest first; message 1's failed attempts, then its success.
	log := deliveries("?per_page=500")
	var attempts []map[string]any
	for i := len(log) - 1; i >= 0; i-- {
		if log[i]["message_id"] == want[0] {
			attempts = append(attempts, log[i])
		}
	}
	if len(attempts) < 6 {
		t.Fatalf("attempts at the first message: %v; want at least 5 failures and a success", attempts)
	}
	for i, a := range attempts {
		wantOutcome := "failed"
		if i == len(attempts)-1 {
			wantOutcome = "delivered"
		}
		if a["attempt"] != float64(i+1) || a["outcome"] != wantOutcome || a["seq"] != 1.0 || a["type"] != "org.newsroom.article.published.v1" || a["article_id"] != first {
			t.Errorf("attempt %d at message 1 = %v; want attempt %d %s", i+1, a, i+1, wantOutcome)
		}
		if wantOutcome == "failed" && a["next_retry_at"] == nil {
			t.Errorf("failed attempt %d has no next_retry_at: %v", i+1, a)
		}
	}
	if attempts[0]["status"] != 500.0 || attempts[1]["status"] != 503.0 || attempts[2]["status"] != nil || attempts[5]["status"] == nil {
		t.Errorf("statuses of the first attempts: %v, %v, %v; want 500, 503, none (a timeout)", attempts[0]["status"], attempts[1]["status"], attempts[2]["status"])
	}
	r = call(t, "GET", ta.base+"/api/v1/webhooks/"+hookID+"/deliveries?per_page=2", admin, nil)
	var page struct {
		Items []map[string]any
		Next  string
	}
	json.Unmarshal(r.body, &page)
	if len(page.Items) != 2 || page.Next == "" {
		t.Fatalf("a page of 2 = %s; want 2 items and a next link", r.body)
	}
	r = call(t, "GET", ta.base+page.Next, admin, nil)
	var page2 struct{ Items []map[string]any }
	json.Unmarshal(r.body, &page2)
	if len(page2.Items) != 2 || page2.Items[0]["id"].(float64) >= page.Items[1]["id"].(float64) {
		t.Errorf("the next page = %s; want the two attempts before", r.body)
	}

	// The secret is shown once: never in the list or the webhook's own page.
	for _, path := range []string{"/api/v1/webhooks", "/api/v1/webhooks/" + hookID} {
		r := call(t, "GET", ta.base+path, admin, nil)
		expectStatus(t, r, 200, path)
		if strings.Contains(string(r.body), secret) || strings.Contains(string(r.body), `"secret"`) {
			t.Errorf("GET %s shows the secret: %s", path, r.body)
		}
	}
	// The receiver has answered; the attempt is recorded just after.
	eventually(t, "the cursor at 5", func() bool {
		r = call(t, "GET", ta.base+"/api/v1/webhooks/"+hookID, admin, nil)
		return r.json(t)["delivered_seq"] == 5.0
	})
	if got := r.json(t); got["url"] != hooks.srv.URL+"/newsroom" || got["last_delivery"].(map[string]any)["outcome"] != "delivered" {
		t.Errorf("the webhook = %s; want its url, the last attempt delivered", r.body)
	}
}

func TestWebhooksAPI(t *testing.T) {
	dir := t.TempDir()
	admin := createToken(t, dir, "ada", "admin")
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	ta := startWebhookApp(t, dir)
	hooks := ta.base + "/api/v1/webhooks"

	r := call(t, "POST", hooks, admin, map[string]any{"url": "https://subscriber.example/hooks?token=abc", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	expectStatus(t, r, 201, "register")
	reg := r.json(t)
	id := reg["id"].(string)
	if reg["secret"] != "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" || reg["last_delivery"] != nil || reg["deliveries"] != "/api/v1/webhooks/"+id+"/deliveries" {
		t.Errorf("registration = %s", r.body)
	}

	for _, tt := range []struct {
		method, path string
		body         any
	}{
		{"POST", "", map[string]any{"url": "https://x.example/h"}},
		{"GET", "", nil},
		{"GET", "/" + id, nil},
		{"DELETE", "/" + id, nil},
		{"GET", "/" + id + "/deliveries", nil},
	} {
		for _, who := range []struct{ name, token string }{{"reporter", rita}, {"editor", ed}} {
			r := call(t, tt.method, hooks+tt.path, who.token, tt.body)
			expectStatus(t, r, 403, who.name+" "+tt.method+" "+tt.path)
			if !strings.Contains(string(r.body), "admin") {
				t.Errorf("%s %s %s: %s; want the problem to name the admin role", who.name, tt.method, tt.path, r.body)
			}
		}
		expectStatus(t, call(t, tt.method, hooks+tt.path, "", tt.body), 401, "anonymous "+tt.method+" "+tt.path)
	}

	for _, tt := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"no url", `{}`, 422, "url"},
		{"relative url", map[string]any{"url": "/hooks"}, 422, "url"},
		{"ftp url", map[string]any{"url": "ftp://x.example/h"}, 422, "url"},
		{"credentials in the url", map[string]any{"url": "https://u:p@x.example/h"}, 422, "url"},
		{"secret not whsec_", map[string]any{"url": "https://x.example/h", "secret": "hunter2"}, 422, "secret"},
		{"short secret", map[string]any{"url": "https://x.example/h", "secret": "whsec_c2hvcnQ="}, 422, "secret"},
		{"unknown field", map[string]any{"url": "https://x.example/h", "events": []string{"all"}}, 400, ""},
		{"url not a string", `{"url": 5}`, 400, ""},
		{"null", `null`, 400, ""},
		{"wrongly cased field", `{"URL":"https://x.example/h"}`, 400, ""},
		{"url twice", `{"url":"https://x.example/h","url":"https://y.example/h"}`, 400, ""},
		{"lone surrogate in the url", `{"url":"https://x.example/h\ud800"}`, 422, "url"},
		{"url not UTF-8", "{\"url\":\"https://x.example/h\xff\"}", 422, "url"},
	} {
		r := call(t, "POST", hooks, admin, tt.body)
		if r.status != tt.status || r.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s; want a %d problem", tt.name, r.status, r.body, tt.status)
			continue
		}
		if tt.field != "" {
			var p struct {
				Type   string
				Errors []struct{ Field string }
			}
			json.Unmarshal(r.body, &p)
			if p.Type != "/problems/invalid-webhook" || len(p.Errors) != 1 || p.Errors[0].Field != tt.field {
				t.Errorf("%s: %s; want an invalid-webhook problem about %s", tt.name, r.body, tt.field)
			}
		}
	}
	for _, q := range []string{"?per_page=0", "?per_page=501", "?before=x", "?before=-1"} {
		expectStatus(t, call(t, "GET", hooks+"/"+id+"/deliveries"+q, admin, nil), 400, "deliveries"+q)
	}

	r = call(t, "GET", hooks, admin, nil)
	expectStatus(t, r, 200, "list")
	var list struct{ Items []map[string]any }
	json.Unmarshal(r.body, &list)
	if len(list.Items) != 1 || list.Items[0]["id"] != id || strings.Contains(string(r.body), "whsec_") {
		t.Errorf("list = %s; want the one webhook, without its secret", r.body)
	}
	expectStatus(t, call(t, "DELETE", hooks+"/"+id, admin, nil), 204, "delete")
	for _, path := range []string{"/" + id, "/" + id + "/deliveries", "/no-such-webhook"} {
		r := call(t, "GET", hooks+path, admin, nil)
		expectStatus(t, r, 404, "GET after delete "+path)
		if !strings.Contains(string(r.body), "webhook") {
			t.Errorf("404 for %s: %s; want it to say no webhook", path, r.body)
		}
	}
	expectStatus(t, call(t, "DELETE", hooks+"/"+id, admin, nil), 404, "delete twice")
}
