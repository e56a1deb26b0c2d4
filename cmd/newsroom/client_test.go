package main

// The Go client (package client) against newsroom wired as serve wires it. The client's own
// tests cover what needs a scripted server (retries); these need the real one.

import (
	"context"
	"errors"
	"fmt"
	nethttp "net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	apiclient "github.com/newsroom/newsroom/client"
)

// clientStaff is a running newsroom with a client per user.
type clientStaff struct {
	ta                        *testApp
	reporter, editor, editor2 *apiclient.Client
	admin, public             *apiclient.Client
}

func startClientStaff(t *testing.T) clientStaff {
	t.Helper()
	s, _ := startClientStaffIn(t, t.TempDir())
	return s
}

// startClientStaffIn starts newsroom on dir, with the staff's tokens.
func startClientStaffIn(t *testing.T, dir string) (clientStaff, staff) {
	t.Helper()
	tokens := createStaff(t, dir)
	ta := startTestApp(t, dir)
	public, err := apiclient.New(ta.base, apiclient.WithHTTPClient(checkedClient(t)))
	if err != nil {
		t.Fatal(err)
	}
	return clientStaff{ta: ta, reporter: public.As(tokens.reporters[0]), editor: public.As(tokens.editors[0]),
		editor2: public.As(tokens.editors[1]), admin: public.As(tokens.admin), public: public}, tokens
}

// problemOf returns err's *Problem, failing the test if it has none.
func problemOf(tb testing.TB, err error, what string) *apiclient.Problem {
	tb.Helper()
	var p *apiclient.Problem
	if !errors.As(err, &p) {
		tb.Fatalf("%s: error = %v; want a *client.Problem", what, err)
	}
	return p
}

// publishWithClient drafts, submits, approves and publishes an article.
func publishWithClient(tb testing.TB, s clientStaff, draft apiclient.NewArticle) apiclient.Article {
	tb.Helper()
	ctx := context.Background()
	a, err := s.reporter.Draft(ctx, draft)
	if err == nil {
		a, err = s.reporter.Submit(ctx, a.ID, apiclient.IfMatch(a.ETag))
	}
	if err == nil {
		a, err = s.editor.Approve(ctx, a.ID, apiclient.IfMatch(a.ETag))
	}
	if err == nil {
		a, err = s.editor.Publish(ctx, a.ID, apiclient.IfMatch(a.ETag))
	}
	if err != nil {
		tb.Fatalf("publish %q: %v", draft.Headline, err)
	}
	return a
}

func TestClientWorkflow(t *testing.T) {
	s := startClientStaff(t)
	ctx := context.Background()

	// A draft sent twice with one key is one article.
	draft := apiclient.NewArticle{Headline: "NATO-Russia foreign ministers meet", Body: "Ministers met on 7 December.",
		Tags: []string{"nato"}}
	a, err := s.reporter.Draft(ctx, draft, apiclient.IdempotencyKey("nrc-2026-12-07"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.reporter.Draft(ctx, draft, apiclient.IdempotencyKey("nrc-2026-12-07"))
	if err != nil || again.ID != a.ID {
		t.Fatalf("the same draft again = %s, %v; want article %s", again.ID, err, a.ID)
	}
	if a.Status != apiclient.StatusDraft || a.Version != 1 || a.ETag != `"1"` || a.Position == 0 || a.PendingCorrection != nil {
		t.Errorf("draft = %+v; want a draft at version 1, ETag \"1\", a position, no pending correction", a)
	}

	// If-Match: the current ETag wins, a stale one is 412, none at all 428.
	revised, err := s.reporter.Revise(ctx, a.ID, a.ETag, apiclient.Changes{Summary: new("Foreign ministers met in Brussels.")})
	if err != nil {
		t.Fatal(err)
	}
	if revised.Version != 2 || revised.ETag != `"2"` || revised.Summary != "Foreign ministers met in Brussels." || revised.Position <= a.Position {
		t.Errorf("revision = %+v; want version 2 with the summary and a later position", revised)
	}
	_, err = s.reporter.Revise(ctx, a.ID, a.ETag, apiclient.Changes{Summary: new("A lost update.")})
	if p := problemOf(t, err, "revise with a stale ETag"); p.Status != 412 || p.Type != "/problems/stale-version" ||
		!errors.Is(err, apiclient.ErrStaleVersion) || p.Detail == "" || p.Instance != "/api/v1/articles/"+a.ID {
		t.Errorf("revise with a stale ETag: %+v; want a 412 stale-version problem about the article", p)
	}
	_, err = s.reporter.Revise(ctx, a.ID, "", apiclient.Changes{Summary: new("No precondition.")})
	if p := problemOf(t, err, "revise without If-Match"); p.Status != 428 {
		t.Errorf("revise without If-Match: status %d; want 428", p.Status)
	}
	_, err = s.reporter.Submit(ctx, a.ID, apiclient.IfMatch(a.ETag))
	if !errors.Is(err, apiclient.ErrStaleVersion) {
		t.Errorf("submit with a stale ETag: %v; want ErrStaleVersion", err)
	}

	// Problems: invalid fields, a bad token, no such article, a role that may not.
	_, err = s.reporter.Draft(ctx, apiclient.NewArticle{Headline: " ", Language: "english!"})
	if p := problemOf(t, err, "an invalid draft"); p.Status != 422 || !errors.Is(err, apiclient.ErrInvalid) ||
		!slices.ContainsFunc(p.Errors, func(e apiclient.FieldError) bool { return e.Field == "headline" && e.Detail != "" }) ||
		!slices.ContainsFunc(p.Errors, func(e apiclient.FieldError) bool { return e.Field == "language" }) {
		t.Errorf("an invalid draft: %+v; want a 422 naming headline and language", p)
	}
	_, err = s.public.As("nr_"+strings.Repeat("A", 43)).Article(ctx, a.ID)
	if p := problemOf(t, err, "a bad token"); p.Status != 401 || !errors.Is(err, apiclient.ErrUnauthenticated) {
		t.Errorf("a bad token: %+v; want 401", p)
	}
	if _, err = s.reporter.Article(ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, apiclient.ErrNotFound) {
		t.Errorf("no such article: %v; want ErrNotFound", err)
	}

	a, err = s.reporter.Submit(ctx, a.ID, apiclient.IfMatch(revised.ETag))
	if err != nil || a.Status != apiclient.StatusInReview {
		t.Fatalf("submit = %+v, %v; want in_review", a, err)
	}
	_, err = s.reporter.Approve(ctx, a.ID)
	if p := problemOf(t, err, "a reporter approves"); p.Status != 403 || !errors.Is(err, apiclient.ErrForbidden) {
		t.Errorf("a reporter approves: %+v; want 403", p)
	}
	_, err = s.editor.Publish(ctx, a.ID)
	if p := problemOf(t, err, "publish before approval"); p.Status != 409 || !errors.Is(err, apiclient.ErrRefused) || errors.Is(err, apiclient.ErrConflict) {
		t.Errorf("publish before approval: %+v; want 409 refused", p)
	}
	if a, err = s.editor.Approve(ctx, a.ID, apiclient.IfMatch(a.ETag)); err != nil {
		t.Fatal(err)
	}
	pub, err := s.editor.Publish(ctx, a.ID, apiclient.IfMatch(a.ETag))
	if err != nil || pub.Status != apiclient.StatusPublished || pub.Slug != "nato-russia-foreign-ministers-meet" || pub.PublishedAt.IsZero() {
		t.Fatalf("publish = %+v, %v; want it published with its slug and time", pub, err)
	}

	// Read your writes: with the command's position, the views show it at once.
	public, err := s.public.PublicArticle(ctx, pub.Slug, apiclient.MinPosition(pub.Position))
	if err != nil {
		t.Fatal(err)
	}
	if public.ID != pub.ID || public.Version != pub.Version || public.Headline != draft.Headline || !strings.Contains(public.BodyHTML, "7 December") ||
		public.ETag == "" || public.Status != apiclient.StatusPublished {
		t.Errorf("public article = %+v; want version %d with its HTML and an ETag", public, pub.Version)
	}
	raw, err := s.public.PublicArticleJSON(ctx, pub.Slug)
	if err != nil || !strings.HasPrefix(string(raw), `{"id":"`+pub.ID+`"`) {
		t.Errorf("public article's JSON = %.80s, %v; want the answer as sent", raw, err)
	}
	history, err := s.reporter.History(ctx, pub.ID, apiclient.MinPosition(pub.Position))
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, e := range history {
		events = append(events, e.Event)
	}
	if want := []string{"article.drafted", "article.revised", "article.submitted", "article.approved", "article.published"}; !slices.Equal(events, want) ||
		history[4].Position != pub.Position || history[4].Actor.Role != "editor" || history[4].Status != apiclient.StatusPublished {
		t.Errorf("history = %+v; want %v, the last at the publication's position, by an editor", history, want)
	}

	// A correction with a note alone is published at once (200); TestClientCorrections has
	// those that wait for a second editor.
	corrected, pending, err := s.editor.Correct(ctx, pub.ID, apiclient.Correction{Note: "The meeting was in Brussels."}, apiclient.IfMatch(pub.ETag))
	if err != nil || pending || corrected.PendingCorrection != nil || corrected.Version != pub.Version+1 {
		t.Fatalf("a correction by note = %+v, pending %v, %v; want it published at once", corrected, pending, err)
	}
	public, err = s.public.PublicArticle(ctx, pub.Slug, apiclient.MinPosition(corrected.Position))
	if err != nil || len(public.Corrections) != 1 || public.Corrections[0].Note != "The meeting was in Brussels." {
		t.Errorf("public article after the correction = %+v, %v; want its note", public.Corrections, err)
	}

	// The other ways out: changes requested, spiked; retracted, killed.
	other, err := s.reporter.Draft(ctx, apiclient.NewArticle{Headline: "A second communiqué", Body: "Text."})
	if err == nil {
		other, err = s.reporter.Submit(ctx, other.ID)
	}
	if err == nil {
		other, err = s.editor.RequestChanges(ctx, other.ID, "Name the ministers.")
	}
	if err != nil || other.Status != apiclient.StatusChangesRequested {
		t.Fatalf("request changes = %+v, %v; want changes_requested", other, err)
	}
	if other, err = s.reporter.Spike(ctx, other.ID, ""); err != nil || other.Status != apiclient.StatusSpiked {
		t.Errorf("spike = %+v, %v; want spiked", other, err)
	}
	retracted, err := s.editor.Retract(ctx, pub.ID, "Published in error.")
	if err != nil || retracted.Status != apiclient.StatusRetracted {
		t.Fatalf("retract = %+v, %v; want retracted", retracted, err)
	}
	public, err = s.public.PublicArticle(ctx, pub.Slug, apiclient.MinPosition(retracted.Position))
	if err != nil || public.Status != apiclient.StatusRetracted || public.Retraction == nil || public.Retraction.Reason != "Published in error." {
		t.Errorf("retracted public article = %+v, %v; want a notice with the reason", public, err)
	}
	killed, err := s.editor.Kill(ctx, pub.ID, "Legal order.")
	if err != nil || killed.Status != apiclient.StatusKilled {
		t.Fatalf("kill = %+v, %v; want killed", killed, err)
	}
	_, err = s.public.PublicArticle(ctx, pub.Slug, apiclient.MinPosition(killed.Position))
	if p := problemOf(t, err, "a killed article's address"); p.Status != 410 || !errors.Is(err, apiclient.ErrGone) {
		t.Errorf("a killed article's address: %+v; want 410", p)
	}
}

// Lists come a page at a time; the iterators follow the cursors to the end.
func TestClientLists(t *testing.T) {
	s := startClientStaff(t)
	ctx := context.Background()
	var drafted []string
	var last uint64
	for i := range 5 {
		a, err := s.reporter.Draft(ctx, apiclient.NewArticle{Headline: fmt.Sprintf("Draft %d", i), Body: "Text."})
		if err != nil {
			t.Fatal(err)
		}
		drafted, last = append(drafted, a.ID), a.Position
	}
	var published []string
	for i := range 3 {
		a := publishWithClient(t, s, apiclient.NewArticle{Headline: fmt.Sprintf("Communiqué %d", i), Body: "Text.", Language: "fr", Tags: []string{"nato"}})
		published, last = append(published, a.ID), a.Position
	}

	page, err := s.editor.Articles(ctx, apiclient.ArticleQuery{Status: apiclient.StatusDraft, PerPage: 2}, apiclient.MinPosition(last))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || page.Total != 5 || page.PerPage != 2 || page.NextCursor == "" || page.Items[0].ID != drafted[4] || page.Items[0].Body != "" {
		t.Errorf("first page of drafts = %+v; want the 2 newest of 5, without their bodies, and a cursor", page)
	}
	var listed []string
	for a, err := range s.editor.AllArticles(ctx, apiclient.ArticleQuery{Status: apiclient.StatusDraft, PerPage: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, a.ID)
	}
	slices.Reverse(listed)
	if !slices.Equal(listed, drafted) {
		t.Errorf("every draft, page by page = %v; want %v", listed, drafted)
	}

	listed = nil
	for a, err := range s.public.AllPublicArticles(ctx, apiclient.PublicQuery{Language: "fr", Tag: "nato", PerPage: 2}, apiclient.MinPosition(last)) {
		if err != nil {
			t.Fatal(err)
		}
		if a.Body != "" || a.Status != apiclient.StatusPublished {
			t.Errorf("listed public article = %+v; want it published, without its text", a)
		}
		listed = append(listed, a.ID)
	}
	slices.Reverse(listed)
	if !slices.Equal(listed, published) {
		t.Errorf("every public article, page by page = %v; want %v", listed, published)
	}
	pubPage, err := s.public.PublicArticles(ctx, apiclient.PublicQuery{Language: "en"})
	if err != nil || len(pubPage.Items) != 0 || pubPage.Total != 0 || pubPage.NextCursor != "" {
		t.Errorf("public articles in en = %+v, %v; want none", pubPage, err)
	}
	// A stopped loop stops reading.
	n := 0
	for _, err := range s.editor.AllArticles(ctx, apiclient.ArticleQuery{PerPage: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			break
		}
	}
	_, err = s.editor.Articles(ctx, apiclient.ArticleQuery{Status: "lost"})
	if p := problemOf(t, err, "a status that is none"); p.Status != 400 || !strings.Contains(p.Detail, "status") {
		t.Errorf("a status that is none: %+v; want 400 naming the parameter", p)
	}
}

func TestClientAdmin(t *testing.T) {
	s := startClientStaff(t)
	ctx := context.Background()

	views, err := s.admin.Projections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range views {
		names = append(names, v.Name)
	}
	if !slices.Equal(names, []string{"published", "desk", "history", "search", "media"}) {
		t.Errorf("projections = %v; want published, desk, history, search, media", names)
	}
	if _, err := s.editor.Projections(ctx); !errors.Is(err, apiclient.ErrForbidden) {
		t.Errorf("projections for an editor: %v; want ErrForbidden", err)
	}
	if err := s.admin.Rebuild(ctx, "nope"); !errors.Is(err, apiclient.ErrNotFound) {
		t.Errorf("rebuild of no view: %v; want ErrNotFound", err)
	}
	publishWithClient(t, s, apiclient.NewArticle{Headline: "Before the rebuild", Body: "Text."})
	// The first start's rebuild must be over, or serve answers that one is already running.
	eventually(t, "the first start's rebuild to end", func() bool {
		views, err := s.admin.Projections(ctx)
		for _, v := range views {
			if v.State != "live" {
				return false
			}
		}
		return err == nil
	})
	if err := s.admin.Rebuild(ctx, "desk"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the rebuild of desk", func() bool {
		views, err := s.admin.Projections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(views, func(v apiclient.Projection) bool { return v.Name == "desk" })
		v := views[i]
		return v.State == "live" && v.Rebuild != nil && v.Rebuild.Done && v.Rebuild.Applied > 0 && v.LogPosition > 0
	})

	// Webhooks: registered, read, listed, their attempts paged, deleted.
	receiver := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, _ *nethttp.Request) {
		w.WriteHeader(nethttp.StatusNoContent)
	}))
	defer receiver.Close()
	_, err = s.admin.RegisterWebhook(ctx, apiclient.WebhookRegistration{URL: "ftp://example.org"})
	if p := problemOf(t, err, "an invalid webhook"); p.Status != 422 || len(p.Errors) != 1 || p.Errors[0].Field != "url" {
		t.Errorf("an invalid webhook: %+v; want 422 naming url", p)
	}
	hook, err := s.admin.RegisterWebhook(ctx, apiclient.WebhookRegistration{URL: receiver.URL + "/newsroom"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hook.Secret, "whsec_") || hook.URL != receiver.URL+"/newsroom" || hook.LastDelivery != nil {
		t.Errorf("registered webhook = %+v; want its secret, its URL, no delivery yet", hook)
	}
	for i := range 2 {
		publishWithClient(t, s, apiclient.NewArticle{Headline: fmt.Sprintf("For the webhook %d", i), Body: "Text."})
	}
	eventually(t, "two deliveries", func() bool {
		all, err := s.admin.Deliveries(ctx, hook.ID, apiclient.DeliveryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return len(all.Items) >= 2
	})
	deliveries, err := s.admin.Deliveries(ctx, hook.ID, apiclient.DeliveryQuery{PerPage: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(deliveries.Items) != 1 {
		t.Fatalf("a page of one delivery holds %d", len(deliveries.Items))
	}
	if d := deliveries.Items[0]; d.Outcome == "" || d.Status == nil || *d.Status != 204 || deliveries.NextBefore != d.ID {
		t.Errorf("newest delivery = %+v, next before %d; want a 204 and the next page before it", d, deliveries.NextBefore)
	}
	older, err := s.admin.Deliveries(ctx, hook.ID, apiclient.DeliveryQuery{PerPage: 1, Before: deliveries.NextBefore})
	if err != nil || len(older.Items) != 1 || older.Items[0].ID >= deliveries.Items[0].ID {
		t.Errorf("the page before = %+v, %v; want an older delivery", older, err)
	}
	got, err := s.admin.Webhook(ctx, hook.ID)
	if err != nil || got.Secret != "" || got.LastDelivery == nil || got.DeliveredSeq == 0 {
		t.Errorf("webhook = %+v, %v; want no secret, its last delivery and cursor", got, err)
	}
	hooks, err := s.admin.Webhooks(ctx)
	if err != nil || len(hooks) != 1 || hooks[0].ID != hook.ID {
		t.Errorf("webhooks = %+v, %v; want the one registered", hooks, err)
	}
	if err := s.admin.DeleteWebhook(ctx, hook.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.admin.Webhook(ctx, hook.ID); !errors.Is(err, apiclient.ErrNotFound) {
		t.Errorf("a deleted webhook: %v; want ErrNotFound", err)
	}

	// The probes.
	ready, err := s.public.Ready(ctx)
	if err != nil || ready.Status != "ok" || ready.Log.Status != "ok" || ready.Log.Position == 0 || len(ready.Views) != 5 {
		t.Errorf("readiness = %+v, %v; want ok with the log's position and five views", ready, err)
	}
	if err := s.public.Healthy(ctx); err != nil {
		t.Errorf("healthy: %v", err)
	}
	s.ta.Close()
	if _, err := s.public.Ready(ctx); err == nil || errors.As(err, new(*apiclient.Problem)) {
		t.Errorf("readiness of a stopped serve: %v; want a transport error, not a problem", err)
	}
}

// `newsroom replay` beside a running serve asks it, through the client, to rebuild, and
// follows; the serve's refusals come back as plain messages.
func TestReplayBesideServeUsesTheAPI(t *testing.T) {
	dir := t.TempDir()
	s, st := startClientStaffIn(t, dir)
	pub := publishWithClient(t, s, apiclient.NewArticle{Headline: "Before the replay", Body: "Text."})
	// The first start's rebuild must be over, or serve answers that one is already running.
	waitCaughtUp(t, s.ta.base, st.admin)

	var out, errOut strings.Builder
	err := run(context.Background(), []string{"replay", "--data-dir", dir, "--token", st.editors[0], "--projection", "desk"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "admin") || strings.Contains(err.Error(), "{") {
		t.Errorf("replay with an editor's token: %v; want serve's 403 as a plain message naming the admin role", err)
	}
	out.Reset()
	errOut.Reset()
	if err := run(context.Background(), []string{"replay", "--data-dir", dir, "--token", st.admin}, &out, &errOut); err != nil {
		t.Fatalf("replay beside serve: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "serve is running: asking it to rebuild published, desk, history, search, media blue/green") {
		t.Errorf("replay beside serve said %q; want it to ask serve", errOut.String())
	}
	for view, r := range replayed(t, out.String()) {
		if r[1] < pub.Position {
			t.Errorf("replay beside serve: %s at position %d; want at least %d, the publication's", view, r[1], pub.Position)
		}
	}
}
