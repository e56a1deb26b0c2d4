package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestWebhookMessageKilledBeforeDeliveryIsSkipped: while a webhook's endpoint is down, an
// article is published and then killed. Its published message waits behind an earlier one, and
// the kill erases it before its turn: the receiver never gets it, and the deliveries record it
// `skipped`, in its place, between the earlier message and the kill.
func TestWebhookMessageKilledBeforeDeliveryIsSkipped(t *testing.T) {
	dir := t.TempDir()
	admin := createToken(t, dir, "ada", "admin")
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	ta := startWebhookApp(t, dir)
	hooks := newHookReceiver(t) // down until hooks.up is set

	r := call(t, "POST", ta.base+"/api/v1/webhooks", admin, map[string]any{"url": hooks.srv.URL + "/newsroom"})
	expectStatus(t, r, 201, "register a webhook")
	hookID, _ := r.json(t)["id"].(string)
	deliveries := func() []map[string]any {
		t.Helper()
		r := call(t, "GET", ta.base+"/api/v1/webhooks/"+hookID+"/deliveries?per_page=500", admin, nil)
		expectStatus(t, r, 200, "deliveries")
		var page struct{ Items []map[string]any }
		if err := json.Unmarshal(r.body, &page); err != nil {
			t.Fatal(err)
		}
		return page.Items
	}

	survivor, _ := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Survivor", "body": "Stays."})
	eventually(t, "a failed attempt at the first message", func() bool { return len(deliveries()) > 0 })
	doomed, _ := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Doomed", "body": "Goes."})
	expectStatus(t, call(t, "POST", ta.base+"/api/v1/articles/"+doomed+"/kill", ed, map[string]any{"reason": "Court order 12/2026"}), 200, "kill")

	// The public stream: 1 survivor published, 2 doomed published (erased), 3 doomed killed.
	nc, err := nats.Connect(ta.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	public, err := js.Stream(context.Background(), "NEWSROOM_PUBLIC")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the kill's public message, and message 2 erased", func() bool {
		_, gone := public.GetMsg(context.Background(), 2)
		last, err := public.GetLastMsgForSubject(context.Background(), "newsroom.public.article.killed."+doomed)
		return errors.Is(gone, jetstream.ErrMsgNotFound) && err == nil && last.Sequence == 3
	})
	if len(hooks.delivered()) != 0 {
		t.Fatalf("delivered %v while the endpoint was down", hooks.delivered())
	}

	hooks.up.Store(true)
	eventually(t, "the cursor at 3", func() bool {
		r := call(t, "GET", ta.base+"/api/v1/webhooks/"+hookID, admin, nil)
		return r.json(t)["delivered_seq"] == 3.0
	})
	var got []string
	for _, req := range hooks.all() {
		if req.status == 204 {
			var ce struct{ Type, Subject string }
			json.Unmarshal(req.body, &ce)
			got = append(got, ce.Type+" "+ce.Subject)
		}
	}
	want := []string{"org.newsroom.article.published.v1 " + survivor, "org.newsroom.article.killed.v1 " + doomed}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("the receiver accepted %v; want %v", got, want)
	}
	for _, req := range hooks.all() {
		if strings.Contains(string(req.body), "Goes.") {
			t.Errorf("a request carried the killed article's text: %s", req.body)
		}
	}

	var records []string // outcomes other than failures, oldest first
	var skipped map[string]any
	items := deliveries()
	for i := len(items) - 1; i >= 0; i-- {
		d := items[i]
		if d["outcome"] == "failed" {
			continue
		}
		records = append(records, fmt.Sprintf("%v %v", d["seq"], d["outcome"]))
		if d["outcome"] == "skipped" {
			skipped = d
		}
	}
	if got, want := strings.Join(records, ", "), "1 delivered, 2 skipped, 3 delivered"; got != want {
		t.Errorf("deliveries = %s; want %s", got, want)
	}
	if skipped != nil && (skipped["error"] == nil || skipped["error"] == "") {
		t.Errorf("the skipped record says not why: %v", skipped)
	}
	if raw := fmt.Sprint(skipped); strings.Contains(raw, "Goes.") || strings.Contains(raw, "Doomed") {
		t.Errorf("the skipped record holds the killed article's text: %v", skipped)
	}
}
