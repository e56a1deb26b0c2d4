package events_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
)

// TestSchema1LogIsUpcast reads a log written before article.drafted's schema 2 (tags as one
// comma-separated string): loading it gives today's events.
func TestSchema1LogIsUpcast(t *testing.T) {
	ctx := context.Background()
	store, _, js := openStore(t)
	f, err := os.Open("testdata/log-schema1.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		var env events.Envelope
		if err := json.Unmarshal(lines.Bytes(), &env); err != nil {
			t.Fatal(err)
		}
		// Written as the old build wrote it: the stored body as it is in the file.
		msg := &nats.Msg{Subject: events.Subject(env.ArticleID), Data: lines.Bytes(), Header: nats.Header{}}
		msg.Header.Set(nats.MsgIdHdr, env.ID)
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		id       string
		tags     []string
		version  int
		language string
	}{
		{"7d1c3a52-5a38-4c1e-9d43-0e3c7b1f0a01", []string{"nato", "russia", "diplomacy"}, 2, "en"},
		{"7d1c3a52-5a38-4c1e-9d43-0e3c7b1f0a02", nil, 1, "fr"},
	}
	for _, tt := range tests {
		h, err := store.Load(ctx, tt.id)
		if err != nil {
			t.Fatal(err)
		}
		var history []domain.Recorded
		for _, env := range h.Events {
			r, err := env.Recorded()
			if err != nil {
				t.Fatalf("decode %s schema %d: %v", env.Type, env.SchemaVersion, err)
			}
			history = append(history, r)
		}
		a := domain.Fold(tt.id, history)
		if !reflect.DeepEqual(a.Tags, tt.tags) || a.Version != tt.version || a.Language != tt.language {
			t.Errorf("article %s from a schema 1 log: tags %q, version %d, language %q; want %q, %d, %q",
				tt.id, a.Tags, a.Version, a.Language, tt.tags, tt.version, tt.language)
		}
	}
}

func TestNewEnvelopesUseTheCurrentSchema(t *testing.T) {
	env := envelope(t, "7d1c3a52-5a38-4c1e-9d43-0e3c7b1f0a09", 1, domain.Drafted{Headline: "H", Tags: []string{"a"}})
	if env.SchemaVersion != 2 {
		t.Errorf("a new article.drafted has schema %d; want 2", env.SchemaVersion)
	}
	// A schema 2 payload is not upcast again.
	r, err := env.Recorded()
	if err != nil || !reflect.DeepEqual(r.Event.(domain.Drafted).Tags, []string{"a"}) {
		t.Errorf("Recorded() = %+v, %v; want tags [a]", r, err)
	}
	bad := env
	bad.SchemaVersion = 3
	if _, err := bad.Recorded(); err == nil {
		t.Error("schema 3 (from a newer build) decoded; want an error naming the versions this build reads")
	}
}
