// The four-eyes correction flow through the Go client: 202 with pending_correction, then
// confirm or withdraw; and the 200 of a server that lets one editor correct.

package main

import (
	"context"
	"errors"
	"slices"
	"testing"

	apiclient "github.com/newsroom/newsroom/client"
)

func TestClientCorrections(t *testing.T) {
	s := startClientStaff(t)
	ctx := context.Background()
	pub := publishWithClient(t, s, apiclient.NewArticle{Headline: "NATO-Russia foreign ministers meet", Body: "Ministers met."})

	// One editor proposes: 202, the article carries the proposal, readers see nothing of it.
	proposed, pending, err := s.editor.Correct(ctx, pub.ID, apiclient.Correction{
		Changes: apiclient.Changes{Body: new("Ministers met on 7 December.")}, Note: "The date was missing."},
		apiclient.IfMatch(pub.ETag))
	if err != nil {
		t.Fatalf("propose a correction: %v", err)
	}
	if !pending {
		t.Fatalf("a correction that changes the body was published at once (200); want it pending (202) until a second editor confirms it")
	}
	pc := proposed.PendingCorrection
	if pc == nil || pc.Note != "The date was missing." || pc.Changes.Body == nil || *pc.Changes.Body != "Ministers met on 7 December." ||
		pc.ProposedBy == "" || pc.ProposedAt.IsZero() || proposed.Body != "Ministers met." {
		t.Fatalf("the proposed correction = %+v on %+v; want the note, the body, who and when, the article's body unchanged", pc, proposed)
	}
	public, err := s.public.PublicArticle(ctx, pub.Slug, apiclient.MinPosition(proposed.Position))
	if err != nil || public.Body != "Ministers met." || len(public.Corrections) != 0 {
		t.Errorf("the public article while a correction is pending = %+v, %v; want it unchanged", public, err)
	}
	again, err := s.editor.Article(ctx, pub.ID)
	if err != nil || again.PendingCorrection == nil || again.PendingCorrection.Note != pc.Note {
		t.Errorf("the article read again = %+v, %v; want the pending correction", again.PendingCorrection, err)
	}

	// The proposer may not confirm it; another editor does.
	_, err = s.editor.ConfirmCorrection(ctx, pub.ID)
	if p := problemOf(t, err, "the proposer confirms"); !errors.Is(err, apiclient.ErrRefused) {
		t.Errorf("the proposer confirms: %+v; want 409 refused", p)
	}
	confirmed, err := s.editor2.ConfirmCorrection(ctx, pub.ID, apiclient.IfMatch(proposed.ETag))
	if err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if confirmed.PendingCorrection != nil || confirmed.Body != "Ministers met on 7 December." || confirmed.Status != apiclient.StatusPublished {
		t.Errorf("confirmed = %+v; want the new body, nothing pending", confirmed)
	}
	public, err = s.public.PublicArticle(ctx, pub.Slug, apiclient.MinPosition(confirmed.Position))
	if err != nil || public.Body != "Ministers met on 7 December." || len(public.Corrections) != 1 || public.Corrections[0].Note != "The date was missing." {
		t.Errorf("the public article after the confirmation = %+v, %v; want the new body and the note", public, err)
	}

	// A proposal withdrawn leaves the article as it was.
	proposed, pending, err = s.editor2.Correct(ctx, pub.ID, apiclient.Correction{
		Changes: apiclient.Changes{Headline: new("A headline nobody confirms")}, Note: "Shorter."})
	if err != nil || !pending {
		t.Fatalf("a second proposal: pending %v, %v; want it pending", pending, err)
	}
	withdrawn, err := s.editor2.WithdrawCorrection(ctx, pub.ID, apiclient.IfMatch(proposed.ETag))
	if err != nil || withdrawn.PendingCorrection != nil || withdrawn.Headline != pub.Headline {
		t.Errorf("withdrawn = %+v, %v; want the headline as it was, nothing pending", withdrawn, err)
	}
	if _, err := s.editor.ConfirmCorrection(ctx, pub.ID); !errors.As(err, new(*apiclient.Problem)) {
		t.Errorf("confirm with nothing pending: %v; want a problem", err)
	}

	// A note alone is published at once: 200.
	noted, pending, err := s.editor.Correct(ctx, pub.ID, apiclient.Correction{Note: "The meeting was in Brussels."})
	if err != nil || pending || noted.PendingCorrection != nil {
		t.Errorf("a correction by note alone: pending %v, %+v, %v; want it published at once", pending, noted.PendingCorrection, err)
	}

	history, err := s.editor.History(ctx, pub.ID, apiclient.MinPosition(noted.Position))
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, e := range history {
		events = append(events, e.Event)
	}
	for _, want := range []string{"article.correction_proposed", "article.corrected", "article.correction_withdrawn"} {
		if !slices.Contains(events, want) {
			t.Errorf("history = %v; want %s in it", events, want)
		}
	}
}

// On a serve run with --single-editor-corrections, the client reports a correction that
// changes a field as done at once: 200, not pending.
func TestClientSingleEditorCorrection(t *testing.T) {
	dir := t.TempDir()
	tokens := createStaff(t, dir)
	ta := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: dir, NATSListen: "127.0.0.1:0", NoSync: true,
		SingleEditorCorrections: true})
	public, err := apiclient.New(ta.base, apiclient.WithHTTPClient(checkedClient(t)))
	if err != nil {
		t.Fatal(err)
	}
	s := clientStaff{ta: ta, reporter: public.As(tokens.reporters[0]), editor: public.As(tokens.editors[0]), public: public}
	pub := publishWithClient(t, s, apiclient.NewArticle{Headline: "NATO-Russia foreign ministers meet", Body: "Ministers met."})
	corrected, pending, err := s.editor.Correct(context.Background(), pub.ID, apiclient.Correction{
		Changes: apiclient.Changes{Body: new("Ministers met on 7 December.")}, Note: "The date was missing."})
	if err != nil || pending || corrected.PendingCorrection != nil || corrected.Body != "Ministers met on 7 December." {
		t.Errorf("a one-editor correction = %+v, pending %v, %v; want the new body at once, nothing pending", corrected, pending, err)
	}
}
