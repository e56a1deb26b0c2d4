package webhooks_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
	"github.com/newsroom/newsroom/webhooks"
)

// publishEmbargoed writes n messages of the embargoed stream as the embargoed outbox does, and
// returns their CloudEvent ids.
func (r *rig) publishEmbargoed(n int) []string {
	r.t.Helper()
	var ids []string
	for i := range n {
		env := events.Envelope{ID: uuid.NewString(), ArticleID: uuid.NewString(), ArticleVersion: 5, Time: time.Now(), Sequence: uint64(100 + i)}
		msg, err := events.PublicEvent{Action: events.ActionPublished, Source: env, PublicURL: "https://news.example", Trusted: true,
			Text: events.PublicText{Slug: fmt.Sprintf("embargoed-%d", i), Headline: "Under embargo", BodyHTML: "<p>Text.</p>",
				EmbargoUntil: time.Now().Add(time.Hour)}}.Msg()
		if err != nil {
			r.t.Fatal(err)
		}
		if _, err := r.js.PublishMsg(context.Background(), msg); err != nil {
			r.t.Fatal(err)
		}
		ids = append(ids, env.ID+events.EmbargoedIDSuffix)
	}
	return ids
}

// TestTrustedWebhookReceivesTheEmbargoedStream: a trusted webhook gets the embargoed stream
// beside the public one, each in its order, on cursors of its own; an untrusted one gets the
// public stream alone; deleting the trusted one removes its consumers on both streams.
func TestTrustedWebhookReceivesTheEmbargoedStream(t *testing.T) {
	r := newRig(t)
	d := r.dispatcher()
	rc := newReceiver(t, func(int, string) int { return 204 })
	ctx := context.Background()
	trusted, _, err := d.Register(ctx, webhooks.Registration{URL: rc.srv.URL + "/trusted", Trusted: true})
	if err != nil {
		t.Fatal(err)
	}
	plain, _, err := d.Register(ctx, webhooks.Registration{URL: rc.srv.URL + "/plain"})
	if err != nil {
		t.Fatal(err)
	}
	if !trusted.Trusted || plain.Trusted {
		t.Errorf("registered trusted %v and plain %v; want true and false", trusted.Trusted, plain.Trusted)
	}
	embargoed := r.publishEmbargoed(3)
	r.publish(2)

	waitFor(t, "five deliveries to the trusted webhook", func() bool { return len(rc.delivered("/trusted")) == 5 })
	var gotEmbargoed, gotPublic []string
	for _, id := range rc.delivered("/trusted") {
		if strings.HasSuffix(id, events.EmbargoedIDSuffix) {
			gotEmbargoed = append(gotEmbargoed, id)
		} else {
			gotPublic = append(gotPublic, id)
		}
	}
	if strings.Join(gotEmbargoed, ",") != strings.Join(embargoed, ",") || strings.Join(gotPublic, ",") != strings.Join(r.ids, ",") {
		t.Errorf("the trusted webhook got embargoed %v and public %v; want %v and %v, each in its order", gotEmbargoed, gotPublic, embargoed, r.ids)
	}
	waitFor(t, "two deliveries to the plain webhook", func() bool { return len(rc.delivered("/plain")) == 2 })
	if got := rc.delivered("/plain"); strings.Join(got, ",") != strings.Join(r.ids, ",") {
		t.Errorf("the plain webhook got %v; want the public stream %v alone", got, r.ids)
	}
	for _, req := range rc.all() {
		if req.path == "/plain" && strings.Contains(string(req.body), `"embargoed"`) {
			t.Errorf("the plain webhook got embargoed text: %s", req.body)
		}
	}
	waitFor(t, "both cursors of the trusted webhook", func() bool {
		w, err := d.Get(ctx, trusted.ID)
		return err == nil && w.EmbargoedSeq == 3 && w.DeliveredSeq == 2
	})
	log, err := d.Deliveries(ctx, trusted.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	streams := map[string]int{}
	for _, dl := range log {
		streams[dl.Stream]++
	}
	if streams[webhooks.StreamEmbargoed] != 3 || streams[webhooks.StreamPublic] != 2 {
		t.Errorf("the trusted webhook's attempts by stream = %v; want 3 embargoed, 2 public", streams)
	}

	// The plain webhook never had a consumer on the embargoed stream; the trusted one's go
	// with it.
	if _, err := r.js.Consumer(ctx, events.EmbargoedStreamName, webhooks.DurablePrefix+plain.ID); err == nil {
		t.Error("the plain webhook has a consumer on the embargoed stream")
	}
	if err := d.Delete(ctx, trusted.ID); err != nil {
		t.Fatal(err)
	}
	for _, stream := range []string{events.PublicStreamName, events.EmbargoedStreamName} {
		if _, err := r.js.Consumer(ctx, stream, webhooks.DurablePrefix+trusted.ID); !errors.Is(err, jetstream.ErrConsumerNotFound) {
			t.Errorf("after Delete, the consumer on %s: %v; want none", stream, err)
		}
	}
}

// TestRegistryCursorsByStream: an attempt at a message of the embargoed stream moves the
// embargoed cursor alone, and the attempts of one sequence are told apart by their stream.
func TestRegistryCursorsByStream(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		reg := webhooks.NewRegistry(db)
		now := time.Now()
		w, _, err := reg.Create(ctx, webhooks.Registration{URL: "https://partner.example/h", Trusted: true}, 4, 9, now)
		if err != nil {
			t.Fatal(err)
		}
		if !w.Trusted || w.DeliveredSeq != 4 || w.EmbargoedSeq != 9 {
			t.Fatalf("Create = %+v; want trusted with cursors 4 and 9", w)
		}
		plain, _, err := reg.Create(ctx, webhooks.Registration{URL: "https://plain.example/h"}, 4, 9, now)
		if err != nil || plain.EmbargoedSeq != 0 {
			t.Errorf("Create(untrusted) = %+v, %v; want no embargoed cursor", plain, err)
		}
		for _, d := range []webhooks.Delivery{
			{Stream: webhooks.StreamEmbargoed, Seq: 10, Attempt: 1, Outcome: webhooks.Delivered},
			{Stream: webhooks.StreamPublic, Seq: 5, Attempt: 1, Outcome: webhooks.Failed},
		} {
			d.WebhookID, d.AttemptedAt = w.ID, now
			if err := reg.Record(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		got, err := reg.Get(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.EmbargoedSeq != 10 || got.DeliveredSeq != 4 || got.Last == nil || got.Last.Stream != webhooks.StreamPublic {
			t.Errorf("after the attempts = %+v; want the embargoed cursor at 10, the public one at 4", got)
		}
		if err := reg.Record(ctx, webhooks.Delivery{WebhookID: w.ID, Stream: "other", Seq: 1, AttemptedAt: now}); err == nil {
			t.Error("Record(an unknown stream) = nil; want an error")
		}
	})
}
