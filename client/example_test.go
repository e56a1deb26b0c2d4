package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/client"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/embeddednats"
	"github.com/newsroom/newsroom/events"
	newsroomhttp "github.com/newsroom/newsroom/http"
	"github.com/newsroom/newsroom/sqldb"
)

// A reporter drafts and submits; an editor (a second user: the author may not approve) approves
// and publishes.
func Example() {
	newsroom := startNewsroom() // yours is `newsroom serve`, with tokens from `newsroom token create`
	defer newsroom.stop()
	ctx := context.Background()

	reporter, err := client.New(newsroom.url, client.WithToken(newsroom.reporterToken))
	if err != nil {
		log.Fatal(err)
	}
	editor := reporter.As(newsroom.editorToken)

	// The key makes the draft safe to send again: a retry returns the same article.
	a, err := reporter.Draft(ctx, client.NewArticle{
		Headline: "NATO-Russia foreign ministers meet",
		Body:     "Russian Foreign Minister Sergey Lavrov met NATO foreign ministers on 7 December.",
	}, client.IdempotencyKey("nrc-ministers-2026-12-07"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Status, a.ETag)

	if a, err = reporter.Submit(ctx, a.ID, client.IfMatch(a.ETag)); err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Status)

	_, err = reporter.Approve(ctx, a.ID)
	var problem *client.Problem
	if errors.As(err, &problem) {
		fmt.Println("the reporter may not approve:", problem.Status, errors.Is(err, client.ErrForbidden))
	}

	if a, err = editor.Approve(ctx, a.ID, client.IfMatch(a.ETag)); err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Status)
	if a, err = editor.Publish(ctx, a.ID, client.IfMatch(a.ETag)); err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Status, a.Slug, a.Position > 0)
	// Output:
	// draft "1"
	// in_review
	// the reporter may not approve: 403 true
	// approved
	// published nato-russia-foreign-ministers-meet true
}

// exampleNewsroom is a newsroom's write side (the editors' commands) running in this process
// on an embedded NATS and SQLite in a temporary directory, with a reporter and an editor.
type exampleNewsroom struct {
	url, reporterToken, editorToken string
	stop                            func()
}

func startNewsroom() *exampleNewsroom {
	n, err := tryStartNewsroom()
	if err != nil {
		log.Fatalf("start a newsroom for the example: %v", err)
	}
	return n
}

func tryStartNewsroom() (_ *exampleNewsroom, err error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "newsroom-example-")
	if err != nil {
		return nil, err
	}
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		os.RemoveAll(dir)
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	srv, err := embeddednats.Start(embeddednats.Config{StoreDir: filepath.Join(dir, "nats"), NoSync: true})
	if err != nil {
		return nil, err
	}
	stops = append(stops, srv.Stop)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		return nil, err
	}
	stops = append(stops, nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	store, err := events.Open(ctx, js, 1)
	if err != nil {
		return nil, err
	}
	db, err := sqldb.Open(ctx, "", dir)
	if err != nil {
		return nil, err
	}
	stops = append(stops, func() { db.Close() })
	tokens := auth.NewTokens(db)
	reporter, _, err := tokens.Create(ctx, "rita", domain.RoleReporter)
	if err != nil {
		return nil, err
	}
	editor, _, err := tokens.Create(ctx, "ed", domain.RoleEditor)
	if err != nil {
		return nil, err
	}
	api := httptest.NewServer(newsroomhttp.New(newsroomhttp.Config{
		Desk:   editorial.NewDesk(store),
		Tokens: tokens,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}))
	stops = append(stops, api.Close)
	return &exampleNewsroom{url: api.URL, reporterToken: reporter, editorToken: editor, stop: stop}, nil
}
