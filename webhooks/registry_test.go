package webhooks_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
	"github.com/newsroom/newsroom/webhooks"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestSignMatchesTheStandardWebhooksExample(t *testing.T) {
	// The example of the Standard Webhooks libraries' tests (standard-webhooks/standard-webhooks).
	got, err := webhooks.Sign(testSecret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign(example) = %s; want %s", got, want)
	}
}

func TestNewSecret(t *testing.T) {
	a, err := webhooks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := webhooks.NewSecret()
	if !strings.HasPrefix(a, "whsec_") || a == b {
		t.Errorf("NewSecret() = %q, %q; want two different whsec_ secrets", a, b)
	}
	if err := (webhooks.Registration{URL: "https://example.org/h", Secret: a}).Validate(); err != nil {
		t.Errorf("a generated secret is refused: %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		url, secret string
		bad         []string // the fields refused
	}{
		{"https://example.org/hooks/newsroom", "", nil},
		{"http://127.0.0.1:8081/h?token=abc", testSecret, nil},
		{"https://[::1]:9000/", "", nil},
		{"", "", []string{"url"}},
		{"   ", "", []string{"url"}},
		{"/relative/path", "", []string{"url"}},
		{"example.org/hook", "", []string{"url"}},
		{"ftp://example.org/hook", "", []string{"url"}},
		{"javascript:alert(1)", "", []string{"url"}},
		{"https://user:pass@example.org/hook", "", []string{"url"}},
		{"https://user@example.org/hook", "", []string{"url"}},
		{"https:///hook", "", []string{"url"}},
		{"https://example.org/hook#part", "", []string{"url"}},
		{"https://example.org:99999/hook", "", []string{"url"}},
		{"https://example.org/a b", "", []string{"url"}},
		{"https://example.org/\x00", "", []string{"url"}},
		{"https://example.org/" + strings.Repeat("a", 2100), "", []string{"url"}},
		{"https://example.org/hook", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", []string{"secret"}},
		{"https://example.org/hook", "whsec_not base64!", []string{"secret"}},
		{"https://example.org/hook", "whsec_c2hvcnQ=", []string{"secret"}},
		{"nope", "nope", []string{"url", "secret"}},
	}
	for _, tt := range tests {
		err := webhooks.Registration{URL: tt.url, Secret: tt.secret}.Validate()
		var invalid *webhooks.InvalidError
		if tt.bad == nil {
			if err != nil {
				t.Errorf("Validate(%.40q, %q) = %v; want nil", tt.url, tt.secret, err)
			}
			continue
		}
		if !errors.As(err, &invalid) {
			t.Errorf("Validate(%.40q, %q) = %v; want an *InvalidError", tt.url, tt.secret, err)
			continue
		}
		var fields []string
		for _, f := range invalid.Fields {
			fields = append(fields, f.Field)
			if f.Detail == "" {
				t.Errorf("Validate(%.40q): field %s without a detail", tt.url, f.Field)
			}
		}
		if !reflect.DeepEqual(fields, tt.bad) {
			t.Errorf("Validate(%.40q, %q) refuses %v; want %v", tt.url, tt.secret, fields, tt.bad)
		}
	}
}

// TestRegistry is the registry's contract on both dialects.
func TestRegistry(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		reg := webhooks.NewRegistry(db)
		now := time.Date(2026, 11, 28, 4, 0, 0, 123456789, time.UTC)

		least := func(wantCount int, wantLeast uint64) {
			t.Helper()
			n, cursor, err := reg.LeastCursor(ctx)
			if err != nil || n != wantCount || cursor != wantLeast {
				t.Errorf("LeastCursor = %d, %d, %v; want %d webhooks, least cursor %d", n, cursor, err, wantCount, wantLeast)
			}
		}
		least(0, 0)
		if _, _, err := reg.Create(ctx, webhooks.Registration{URL: "ftp://x"}, 0, 0, now); !errors.As(err, new(*webhooks.InvalidError)) {
			t.Fatalf("Create(ftp) = %v; want an *InvalidError", err)
		}
		a, secretA, err := reg.Create(ctx, webhooks.Registration{URL: "https://a.example/h", CreatedBy: "u-admin"}, 7, 0, now)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secretA, "whsec_") || a.ID == "" || a.DeliveredSeq != 7 || a.CreatedBy != "u-admin" {
			t.Errorf("Create = %+v, %q; want an id, a generated secret, cursor 7", a, secretA)
		}
		b, secretB, err := reg.Create(ctx, webhooks.Registration{URL: "https://b.example/h", Secret: testSecret}, 0, 0, now.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if secretB != testSecret {
			t.Errorf("Create with a secret returned %q; want the one given", secretB)
		}

		least(2, 0)

		got, err := reg.Get(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.URL != a.URL || !got.CreatedAt.Equal(now.Truncate(time.Microsecond)) || got.Last != nil {
			t.Errorf("Get = %+v; want the registration, no attempt yet", got)
		}
		if _, err := reg.Get(ctx, "nope"); !errors.Is(err, webhooks.ErrNotFound) {
			t.Errorf("Get(unknown) = %v; want ErrNotFound", err)
		}
		list, err := reg.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
			t.Errorf("List = %+v; want a then b", list)
		}

		at := now.Add(time.Minute)
		record := func(d webhooks.Delivery) {
			t.Helper()
			d.WebhookID, d.AttemptedAt = a.ID, at
			if err := reg.Record(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		long := strings.Repeat("é", 400) + "\x00"
		record(webhooks.Delivery{Seq: 8, MessageID: "m8", EventType: "t", ArticleID: "a", Attempt: 1, Outcome: webhooks.Failed,
			StatusCode: 503, Error: "answered 503", NextRetryAt: at.Add(time.Second), Duration: 1500 * time.Millisecond})
		record(webhooks.Delivery{Seq: 8, MessageID: "m8", Attempt: 2, Outcome: webhooks.Failed, Error: long})
		if w, _ := reg.Get(ctx, a.ID); w.DeliveredSeq != 7 {
			t.Errorf("after failures the cursor is %d; want 7", w.DeliveredSeq)
		}
		record(webhooks.Delivery{Seq: 8, MessageID: "m8", Attempt: 3, Outcome: webhooks.Delivered, StatusCode: 204})
		record(webhooks.Delivery{Seq: 9, MessageID: "m9", Attempt: 1, Outcome: webhooks.Skipped})
		record(webhooks.Delivery{Seq: 8, MessageID: "m8", Attempt: 4, Outcome: webhooks.Delivered, StatusCode: 200}) // a late duplicate
		w, err := reg.Get(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if w.DeliveredSeq != 9 || w.Last == nil || w.Last.Attempt != 4 {
			t.Errorf("cursor %d, last attempt %+v; want 9 (never moved back) and the newest attempt", w.DeliveredSeq, w.Last)
		}

		all, err := reg.Deliveries(ctx, a.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 5 {
			t.Fatalf("%d deliveries; want 5", len(all))
		}
		for i := 1; i < len(all); i++ {
			if all[i].ID >= all[i-1].ID {
				t.Errorf("deliveries are not newest first: %d after %d", all[i].ID, all[i-1].ID)
			}
		}
		first := all[4]
		if first.Seq != 8 || first.Attempt != 1 || first.StatusCode != 503 || first.Outcome != webhooks.Failed ||
			first.Duration != 1500*time.Millisecond || !first.NextRetryAt.Equal(at.Add(time.Second).Truncate(time.Microsecond)) || first.MessageID != "m8" {
			t.Errorf("first attempt read back as %+v", first)
		}
		if e := all[3].Error; len(e) > 300 || !strings.HasSuffix(e, "…") || strings.Contains(e, "\x00") {
			t.Errorf("a long error is stored as %d bytes %.20q…; want it cut to at most 300 and marked", len(e), e)
		}
		page, err := reg.Deliveries(ctx, a.ID, all[1].ID, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != 2 || page[0].ID != all[2].ID || page[1].ID != all[3].ID {
			t.Errorf("the page before %d = %+v; want the next two", all[1].ID, page)
		}
		if d, err := reg.Deliveries(ctx, b.ID, 0, 10); err != nil || len(d) != 0 {
			t.Errorf("Deliveries(b) = %v, %v; want none: attempts belong to their webhook", d, err)
		}
		if _, err := reg.Deliveries(ctx, "nope", 0, 10); !errors.Is(err, webhooks.ErrNotFound) {
			t.Errorf("Deliveries(unknown) = %v; want ErrNotFound", err)
		}

		if err := reg.Delete(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if err := reg.Delete(ctx, a.ID); !errors.Is(err, webhooks.ErrNotFound) {
			t.Errorf("second Delete = %v; want ErrNotFound", err)
		}
		var left int
		if err := db.Read.GetContext(ctx, &left, db.Read.Rebind(`SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = ?`), a.ID); err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Errorf("%d attempts left after Delete; want none", left)
		}
		if list, _ := reg.List(ctx); len(list) != 1 || list[0].ID != b.ID {
			t.Errorf("List after Delete = %+v; want b alone", list)
		}
		least(1, 0)
		record = func(d webhooks.Delivery) {
			t.Helper()
			d.WebhookID, d.AttemptedAt = b.ID, at
			if err := reg.Record(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		record(webhooks.Delivery{Seq: 12, MessageID: "m12", Attempt: 1, Outcome: webhooks.Delivered, StatusCode: 204})
		least(1, 12)
	})
}
