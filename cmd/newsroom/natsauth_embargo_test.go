package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/events"
)

// partnerInbox is the inbox prefix deploy/nats/auth.conf gives a partner user.
func partnerInbox(user string) string { return "_INBOX_" + user }

// noneOverheard fails the test if a message sub holds carries text.
func noneOverheard(t *testing.T, sub *nats.Subscription, text string) {
	t.Helper()
	for {
		m, err := sub.NextMsg(0)
		if err != nil {
			return
		}
		if bytes.Contains(m.Data, []byte(text)) {
			t.Errorf("a subscriber on %s overheard embargoed text: %s %.200s", sub.Subject, m.Subject, m.Data)
		}
	}
}

// TestNATSUsersPartnersReadTheEmbargoedStream: each partner user reads NEWSROOM_EMBARGOED (and
// NEWSROOM_PUBLIC) with durable and ordered consumers and live, on its own inbox prefix; a
// partner on the default prefix gets nothing; the subscriber user cannot read the embargoed
// stream in any way, and no listener on _INBOX.> hears what the partners read.
func TestNATSUsersPartnersReadTheEmbargoedStream(t *testing.T) {
	ns := startAuthNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const secret = "EMBARGOED until Thursday"

	nr := connectAs(t, ns.url("newsroom", ns.newsroomPass), newsroomNATSOptions("newsroom test")...)
	if _, err := events.Open(ctx, nr.js, 1); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []jetstream.StreamConfig{events.PublicStreamConfig(1), events.EmbargoedStreamConfig(1)} {
		if _, err := events.EnsureStream(ctx, nr.js, cfg); err != nil {
			t.Fatalf("as newsroom, create %s: %v", cfg.Name, err)
		}
	}
	embargoedSubject := events.EmbargoedSubject(events.ActionPublished, "a1")
	if _, err := nr.js.Publish(ctx, embargoedSubject, []byte(`{"headline":"`+secret+`"}`)); err != nil {
		t.Fatalf("as newsroom, publish an embargoed message: %v", err)
	}
	if _, err := nr.js.Publish(ctx, events.PublicSubject(events.ActionPublished, "a0"), []byte(`{"headline":"public"}`)); err != nil {
		t.Fatal(err)
	}

	sub := connectAs(t, ns.url("subscriber", ns.subscriberPass))
	overheard, err := sub.nc.SubscribeSync("_INBOX.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.nc.Flush(); err != nil {
		t.Fatal(err)
	}

	for user := range partnerUsers {
		t.Run(user+" reads", func(t *testing.T) {
			p := connectAs(t, ns.url(user, ns.partnerPass[user]), nats.CustomInboxPrefix(partnerInbox(user)))
			s, err := p.js.Stream(ctx, events.EmbargoedStreamName)
			if err != nil {
				t.Fatalf("as %s, stream info of %s: %v", user, events.EmbargoedStreamName, err)
			}
			if n := s.CachedInfo().State.Msgs; n < 1 {
				t.Errorf("as %s, %s holds %d messages; want at least 1", user, events.EmbargoedStreamName, n)
			}
			durable, err := p.js.CreateOrUpdateConsumer(ctx, events.EmbargoedStreamName, jetstream.ConsumerConfig{
				Durable: user + "-wire", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: events.EmbargoedSubjectAll})
			if err != nil {
				t.Fatalf("as %s, create a durable consumer: %v", user, err)
			}
			msg, err := durable.Next(jetstream.FetchContext(ctx))
			if err != nil || msg.Subject() != embargoedSubject || !bytes.Contains(msg.Data(), []byte(secret)) {
				t.Fatalf("as %s, fetch from the durable: %v", user, err)
			}
			if err := msg.DoubleAck(ctx); err != nil {
				t.Errorf("as %s, ack: %v", user, err)
			}
			if err := p.js.DeleteConsumer(ctx, events.EmbargoedStreamName, user+"-wire"); err != nil {
				t.Errorf("as %s, delete its consumer: %v", user, err)
			}
			for _, name := range []string{events.EmbargoedStreamName, events.PublicStreamName} {
				ordered, err := p.js.OrderedConsumer(ctx, name, jetstream.OrderedConsumerConfig{})
				if err != nil {
					t.Fatalf("as %s, ordered consumer on %s: %v", user, name, err)
				}
				if _, err := ordered.Next(jetstream.FetchContext(ctx)); err != nil {
					t.Fatalf("as %s, ordered read of %s: %v", user, name, err)
				}
			}
			if _, err := s.GetMsg(ctx, 1); err != nil {
				t.Errorf("as %s, get a message of %s: %v", user, events.EmbargoedStreamName, err)
			}
			live, err := p.nc.SubscribeSync(events.EmbargoedSubjectAll)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.nc.Flush(); err != nil {
				t.Fatal(err)
			}
			moved := events.EmbargoedSubject(events.ActionEmbargoMoved, "a1")
			if _, err := nr.js.Publish(ctx, moved, []byte(`{"headline":"`+secret+`"}`)); err != nil {
				t.Fatal(err)
			}
			if m, err := live.NextMsgWithContext(ctx); err != nil || m.Subject != moved {
				t.Fatalf("as %s, listen to %s: %v", user, events.EmbargoedSubjectAll, err)
			}
			select {
			case err := <-p.violations:
				t.Errorf("as %s: %v", user, err)
			default:
			}
		})
	}

	// A partner left on the default inbox prefix gets no answer at all: its client may not
	// listen where the replies would come.
	t.Run("a partner on the default inbox", func(t *testing.T) {
		p := connectAs(t, ns.url("partner-afp", ns.partnerPass["partner-afp"]))
		askCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := p.js.Stream(askCtx, events.EmbargoedStreamName)
			done <- err
		}()
		for seen := false; !seen; {
			select {
			case err := <-p.violations:
				seen = strings.Contains(err.Error(), `Permissions Violation for Subscription to "_INBOX.`)
			case <-askCtx.Done():
				t.Fatal("no permission violation for a partner listening on _INBOX.>")
			}
		}
		cancel()
		if err := <-done; err == nil {
			t.Error("a partner on the default inbox read the embargoed stream's info; want no answer")
		}
	})

	request := func(c *client, subject string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := c.nc.RequestWithContext(ctx, subject, []byte(`{"seq":1}`))
			return err
		}
	}
	reuters := connectAs(t, ns.url("partner-reuters", ns.partnerPass["partner-reuters"]), nats.CustomInboxPrefix(partnerInbox("partner-reuters")))
	for _, tc := range []struct {
		what string
		c    *client
		kind string
		subj string
		op   func(ctx context.Context) error
	}{
		{"subscriber: the embargoed stream's info", sub, "Publish", "$JS.API.STREAM.INFO.NEWSROOM_EMBARGOED", func(ctx context.Context) error {
			_, err := sub.js.Stream(ctx, events.EmbargoedStreamName)
			return err
		}},
		{"subscriber: a consumer on the embargoed stream", sub, "Publish", "$JS.API.CONSUMER.CREATE.NEWSROOM_EMBARGOED.snoop", func(ctx context.Context) error {
			_, err := sub.js.CreateConsumer(ctx, events.EmbargoedStreamName, jetstream.ConsumerConfig{Durable: "snoop"})
			return err
		}},
		{"subscriber: a direct get", sub, "Publish", "$JS.API.DIRECT.GET.NEWSROOM_EMBARGOED", request(sub, "$JS.API.DIRECT.GET.NEWSROOM_EMBARGOED")},
		{"subscriber: a message get", sub, "Publish", "$JS.API.STREAM.MSG.GET.NEWSROOM_EMBARGOED", request(sub, "$JS.API.STREAM.MSG.GET.NEWSROOM_EMBARGOED")},
		{"subscriber: listen to the embargoed subjects", sub, "Subscription", events.EmbargoedSubjectAll, func(context.Context) error {
			_, err := sub.nc.SubscribeSync(events.EmbargoedSubjectAll)
			return err
		}},
		{"partner: listen on _INBOX.>", reuters, "Subscription", "_INBOX.>", func(context.Context) error {
			_, err := reuters.nc.SubscribeSync("_INBOX.>")
			return err
		}},
		{"partner: listen on another partner's inbox", reuters, "Subscription", partnerInbox("partner-afp") + ".>", func(context.Context) error {
			_, err := reuters.nc.SubscribeSync(partnerInbox("partner-afp") + ".>")
			return err
		}},
		{"partner: look at the log", reuters, "Publish", "$JS.API.STREAM.INFO.NEWSROOM", func(ctx context.Context) error {
			_, err := reuters.js.Stream(ctx, events.StreamName)
			return err
		}},
		{"partner: listen to the log", reuters, "Subscription", events.SubjectAll, func(context.Context) error {
			_, err := reuters.nc.SubscribeSync(events.SubjectAll)
			return err
		}},
		{"partner: forge an embargoed message", reuters, "Publish", events.EmbargoedSubject(events.ActionPublished, "forged"), func(ctx context.Context) error {
			_, err := reuters.js.Publish(ctx, events.EmbargoedSubject(events.ActionPublished, "forged"), []byte(`{}`))
			return err
		}},
		{"partner: delete the embargoed stream", reuters, "Publish", "$JS.API.STREAM.DELETE.NEWSROOM_EMBARGOED", func(ctx context.Context) error {
			return reuters.js.DeleteStream(ctx, events.EmbargoedStreamName)
		}},
		{"partner: listen to the views' announcements", reuters, "Subscription", publicChangesSubject, func(context.Context) error {
			_, err := reuters.nc.SubscribeSync(publicChangesSubject)
			return err
		}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			tc.c.denied(t, tc.kind, tc.subj, tc.op)
		})
	}

	if err := sub.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	noneOverheard(t, overheard, secret)
	s, err := nr.js.Stream(ctx, events.EmbargoedStreamName)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 1+uint64(len(partnerUsers)) {
		t.Errorf("%s holds %d messages; want %d: nobody forged one", events.EmbargoedStreamName, n, 1+len(partnerUsers))
	}
}

// TestServeEmbargoAsNATSUsers: newsroom as its NATS user publishes an article under embargo; a
// partner reads it on its own inbox, the subscriber user's live subscription to the public
// subjects and its listener on every default inbox get nothing of it; after the lift the
// subscriber's first public event (read with newsroom tail) is its publication.
func TestServeEmbargoAsNATSUsers(t *testing.T) {
	ns := startAuthNATS(t)
	snoop := connectAs(t, ns.url("subscriber", ns.subscriberPass))
	overheard, err := snoop.nc.SubscribeSync("_INBOX.>")
	if err != nil {
		t.Fatal(err)
	}
	public, err := snoop.nc.SubscribeSync(events.PublicSubjectAll)
	if err != nil {
		t.Fatal(err)
	}
	if err := snoop.nc.Flush(); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	app, err := startApp(context.Background(), config{HTTP: "127.0.0.1:0", DataDir: dir, NATSURL: ns.url("newsroom", ns.newsroomPass)},
		slog.New(slog.NewTextHandler(&lockedBuffer{}, nil)))
	if err != nil {
		t.Fatalf("serve as newsroom: %v", err)
	}
	defer app.Close()
	base := "http://" + app.httpAddr
	api := base + "/api/v1/articles"

	body := corpus(t)
	headline := body["headline"].(string)
	id := reviewed(t, base, rita, ed, body)
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	expectStatus(t, call(t, "POST", api+"/"+id+"/publish", ed, map[string]any{"embargo_until": until.Format(time.RFC3339)}), 200, "publish under embargo")

	partner := connectAs(t, ns.url("partner-reuters", ns.partnerPass["partner-reuters"]), nats.CustomInboxPrefix(partnerInbox("partner-reuters")))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var doc map[string]any
	eventually(t, "the partner reads the embargoed publication", func() bool {
		readCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		ordered, err := partner.js.OrderedConsumer(readCtx, events.EmbargoedStreamName, jetstream.OrderedConsumerConfig{})
		if err != nil {
			return false
		}
		msg, err := ordered.Next(jetstream.FetchContext(readCtx))
		if err != nil {
			return false
		}
		return msg.Subject() == events.EmbargoedSubject(events.ActionPublished, id) && json.Unmarshal(msg.Data(), &doc) == nil
	})
	if doc["embargoed"] != until.Format(time.RFC3339Nano) || !strings.Contains(string(mustJSON(t, doc)), headline) {
		t.Errorf("the partner read %v; want the text with embargoed %s", doc, until.Format(time.RFC3339Nano))
	}
	if m, err := public.NextMsg(0); err == nil {
		t.Errorf("the subscriber heard %s under embargo; want nothing", m.Subject)
	}
	var tailed, tailErr bytes.Buffer
	if err := run(ctx, []string{"tail", "--nats-url", ns.url("partner-reuters", ns.partnerPass["partner-reuters"]), "--embargoed",
		"--inbox-prefix", partnerInbox("partner-reuters"), "--count", "1"}, &tailed, &tailErr); err != nil {
		t.Fatalf("tail --embargoed as a partner: %v (%s)", err, tailErr.String())
	}
	var tailed1 tailLine
	if err := json.Unmarshal(tailed.Bytes(), &tailed1); err != nil || tailed1.Article != id || !bytes.Contains(tailed1.Data, []byte(`"embargoed"`)) {
		t.Errorf("tail --embargoed as a partner printed %s (%v); want the embargoed publication of %s", tailed.String(), err, id)
	}

	r := call(t, "POST", api+"/"+id+"/lift-embargo", ed, nil)
	expectStatus(t, r, 200, "lift the embargo")
	if m, err := public.NextMsgWithContext(ctx); err != nil || m.Subject != events.PublicSubject(events.ActionPublished, id) {
		t.Fatalf("the subscriber's first public event after the lift: %v; want the publication of %s", err, id)
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"tail", "--nats-url", ns.url("subscriber", ns.subscriberPass), "--count", "1"}, &out, &errOut); err != nil {
		t.Fatalf("tail as subscriber: %v (%s)", err, errOut.String())
	}
	var line tailLine
	if err := json.Unmarshal(out.Bytes(), &line); err != nil || line.Article != id || line.Seq != 1 {
		t.Errorf("tail's first public event = %s (%v); want the lift's publication of %s at 1", out.String(), err, id)
	}
	if err := snoop.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	// Every default inbox heard, the tail's own replies included: nothing from before the lift.
	for {
		m, err := overheard.NextMsg(0)
		if err != nil {
			break
		}
		if bytes.Contains(m.Data, []byte(`"embargoed"`)) || bytes.Contains(m.Data, []byte(`"article.`)) {
			t.Errorf("a subscriber on _INBOX.> overheard %s %.200s", m.Subject, m.Data)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
