package sqldb

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// TestKeptStatements: statements kept by a SQLite connection still see tables replaced under
// the same name, run nested inside their own open rows, and survive the cache filling up.
func TestKeptStatements(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "kept.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := db.Write
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := w.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE kept (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`)
	exec(`INSERT INTO kept (id, name) VALUES (?, ?)`, 1, "old")
	name := func() string {
		t.Helper()
		var s string
		if err := w.GetContext(ctx, &s, `SELECT name FROM kept WHERE id = ?`, 1); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := name(); got != "old" {
		t.Fatalf("name = %q; want old", got)
	}
	// A blue/green swap, as a view's rebuild does.
	exec(`CREATE TABLE kept_next (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`)
	exec(`INSERT INTO kept (id, name) VALUES (?, ?)`, 2, "old too")
	exec(`INSERT INTO kept_next (id, name) VALUES (?, ?)`, 1, "new")
	exec(`DROP TABLE kept`)
	exec(`ALTER TABLE kept_next RENAME TO kept`)
	if got := name(); got != "new" {
		t.Errorf("after the swap, name = %q; want new", got)
	}

	// The same query while its own rows are open.
	exec(`INSERT INTO kept (id, name) VALUES (?, ?)`, 2, "second")
	tx, err := w.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	const all = `SELECT id, name FROM kept ORDER BY id`
	outer, err := tx.QueryxContext(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for outer.Next() {
		var inner []struct {
			ID   int
			Name string
		}
		if err := tx.SelectContext(ctx, &inner, all); err != nil {
			t.Fatalf("nested query: %v", err)
		}
		if len(inner) != 2 {
			t.Errorf("nested query = %d rows; want 2", len(inner))
		}
		rows++
	}
	if err := outer.Close(); err != nil {
		t.Fatal(err)
	}
	if rows != 2 {
		t.Errorf("outer query = %d rows; want 2", rows)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	// More distinct statements than a connection keeps.
	for i := range maxCachedStatements + 10 {
		var n int
		if err := w.GetContext(ctx, &n, fmt.Sprintf(`SELECT COUNT(*) + %d FROM kept`, i)); err != nil {
			t.Fatal(err)
		}
		if n != 2+i {
			t.Fatalf("statement %d = %d; want %d", i, n, 2+i)
		}
	}
	if got := name(); got != "new" {
		t.Errorf("after the cache filled, name = %q; want new", got)
	}
}

// TestLentStatements: a statement prepared by a caller is the kept one while the caller holds
// it, and the same query run meanwhile (or prepared again) still works.
func TestLentStatements(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "lent.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := db.Write
	if _, err := w.ExecContext(ctx, `CREATE TABLE lent (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const upsert = `INSERT INTO lent (id, n) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET n = lent.n + excluded.n`
	for round := range 3 {
		tx, err := w.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, err := tx.PreparexContext(ctx, upsert)
		if err != nil {
			t.Fatal(err)
		}
		b, err := tx.PreparexContext(ctx, upsert) // while a is held
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if _, err := a.ExecContext(ctx, i, 1); err != nil {
				t.Fatal(err)
			}
			if _, err := b.ExecContext(ctx, i, 10); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, upsert, i, 100); err != nil {
				t.Fatal(err)
			}
		}
		a.Close()
		b.Close()
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		var sum int
		if err := w.GetContext(ctx, &sum, `SELECT SUM(n) FROM lent`); err != nil {
			t.Fatal(err)
		}
		if want := 5 * 111 * (round + 1); sum != want {
			t.Fatalf("round %d: sum = %d; want %d", round, sum, want)
		}
	}
}

// TestWriterPageCache: the writer connection has the larger page cache; readers the default.
func TestWriterPageCache(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "cache.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var w, r int
	if err := db.Write.GetContext(ctx, &w, `PRAGMA cache_size`); err != nil {
		t.Fatal(err)
	}
	if err := db.Read.GetContext(ctx, &r, `PRAGMA cache_size`); err != nil {
		t.Fatal(err)
	}
	if w != -65536 || r != -2000 {
		t.Errorf("cache_size = %d (writer), %d (reader); want -65536, -2000", w, r)
	}
}
