package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// BenchmarkAuthenticate compares what a request costs to authenticate by a bearer token (from
// memory, mostly) and by a session cookie (a read of the session, its token and its user).
func BenchmarkAuthenticate(b *testing.B) {
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := sqldbtest.Open(b, d)
			tk := auth.NewTokens(db)
			ss := auth.NewSessions(tk, time.Hour)
			ctx := context.Background()
			secret, _, err := tk.Create(ctx, "bench", domain.RoleEditor)
			if err != nil {
				b.Fatal(err)
			}
			id, _, err := ss.Create(ctx, secret)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("token", func(b *testing.B) {
				for b.Loop() {
					if _, err := tk.Authenticate(ctx, secret); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("session", func(b *testing.B) {
				for b.Loop() {
					if _, err := ss.Authenticate(ctx, id); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
