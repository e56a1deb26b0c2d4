package projections

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/sqldb"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// TestListingPlansWalkAnIndex: every listing query (public list with each filter, the feeds'
// ETag, the desk with and without status; first pages, page numbers and cursors) is planned as
// a walk of an index in the listing's order: no sort of the matching rows (SQLite's "USE TEMP
// B-TREE", PostgreSQL's Sort), no scan of a whole table. On PostgreSQL sequential scans and
// sorts are priced out (enable_seqscan, enable_sort off), so that the plan shows whether an
// index-ordered plan exists at all, whatever the planner would pick for a table this small.
func TestListingPlansWalkAnIndex(t *testing.T) {
	sqldbtest.Dialects(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		for _, v := range []View{NewPublished(db), NewDesk(db)} {
			if _, err := EnsureTables(ctx, db, v); err != nil {
				t.Fatal(err)
			}
		}
		fillForPlans(t, db)
		cursor := Cursor{At: sqldb.FormatTime(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)), ID: "a-1"}
		first, deep := Page{Number: 1, PerPage: 15}, Page{Number: 40, PerPage: 15}
		type query struct {
			name string
			sql  string
			args []any
		}
		var queries []query
		public := func(name string, q PublicQuery) {
			sql, args := publicListQuery(q)
			queries = append(queries, query{"public " + name, sql, args})
		}
		for _, f := range []struct {
			name      string
			lang, tag string
		}{{"all", "", ""}, {"lang", "en", ""}, {"tag", "", "nato"}, {"lang+tag", "en", "nato"}} {
			public(f.name, PublicQuery{Page: first, Language: f.lang, Tag: f.tag})
			public(f.name+" page 40", PublicQuery{Page: deep, Language: f.lang, Tag: f.tag})
			public(f.name+" before", PublicQuery{Page: first, Before: cursor, Language: f.lang, Tag: f.tag})
			public(f.name+" feed", PublicQuery{Page: Page{Number: 1, PerPage: 50}, Language: f.lang, Tag: f.tag, Content: true})
		}
		for _, lang := range []string{"", "en"} {
			sql, args := newestQuery(lang, 50)
			queries = append(queries, query{"newest " + lang, sql, args})
		}
		for _, status := range []domain.Status{"", domain.StatusPublished} {
			for _, q := range []DeskQuery{{Status: status, Page: first}, {Status: status, Page: deep}, {Status: status, Page: first, Before: cursor}} {
				sql, args := deskListQuery(q)
				queries = append(queries, query{"desk " + string(status), sql, args})
			}
		}
		for _, q := range queries {
			plan := explain(t, db, q.sql, q.args)
			if bad := unorderedStep(db.Dialect, plan); bad != "" {
				t.Errorf("%s: the plan has %q:\n%s\nquery: %s", q.name, bad, plan, q.sql)
			}
		}
		// A translation set is looked up by index, never by a scan: it is read for every article
		// by slug and every feed. Its few rows are sorted in memory.
		sets, args, err := sqlx.In(translationsQuery, []string{"a-00001", "a-00002"}, VisibilityPublished)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []query{{"set members", setMembersQuery, []any{"a-00001", "a-00001"}}, {"translations", sets, args}} {
			plan := explain(t, db, q.sql, q.args)
			if bad := tableScan(db.Dialect, plan); bad != "" {
				t.Errorf("%s: the plan has %q:\n%s\nquery: %s", q.name, bad, plan, q.sql)
			}
		}
	})
}

// fillForPlans writes rows as a real archive would spread them (two languages, tags of every
// size, a desk in every status) and has the database gather statistics, so that the planner
// chooses as it would in production rather than for empty tables.
func fillForPlans(tb testing.TB, db *sqldb.DB) {
	tb.Helper()
	ctx := context.Background()
	tx, err := db.Write.BeginTxx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	statuses := []domain.Status{domain.StatusDraft, domain.StatusInReview, domain.StatusPublished, domain.StatusRetracted}
	for i := range 2000 {
		id := fmt.Sprintf("a-%05d", i)
		at := sqldb.FormatTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute))
		lang := []string{"en", "fr"}[i%2]
		status := VisibilityPublished
		if i%10 == 0 {
			status = VisibilityUnpublished
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO public_articles (id, version, status, slug, headline, language,
			created_at, updated_at, published_at) VALUES (?, 5, ?, ?, 'H', ?, ?, ?, ?)`), id, status, "s-"+id, lang, at, at, at); err != nil {
			tb.Fatal(err)
		}
		for _, tag := range []string{"all", []string{"nato", "eu", "un"}[i%3]} {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO public_tags (tag, article_id, published_at) VALUES (?, ?, ?)`), tag, id, at); err != nil {
				tb.Fatal(err)
			}
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO desk_articles (id, version, status, created_by, last_revised_by,
			created_at, updated_at) VALUES (?, 1, ?, 'u', 'u', ?, ?)`), id, string(statuses[i%len(statuses)]), at, at); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.Write.ExecContext(ctx, `ANALYZE`); err != nil {
		tb.Fatal(err)
	}
}

// explain returns the plan of query as text, one step a line.
func explain(tb testing.TB, db *sqldb.DB, query string, args []any) string {
	tb.Helper()
	ctx := context.Background()
	tx, err := db.Read.BeginTxx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // read only
	prefix := `EXPLAIN QUERY PLAN `
	if db.Dialect == sqldb.Postgres {
		prefix = `EXPLAIN `
		for _, set := range []string{`SET LOCAL enable_seqscan = off`, `SET LOCAL enable_sort = off`} {
			if _, err := tx.ExecContext(ctx, set); err != nil {
				tb.Fatal(err)
			}
		}
	}
	rows, err := tx.QueryxContext(ctx, tx.Rebind(prefix+query), args...)
	if err != nil {
		tb.Fatalf("explain %s: %v", query, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		cols, err := rows.SliceScan()
		if err != nil {
			tb.Fatal(err)
		}
		// SQLite: id, parent, notused, detail; PostgreSQL: one line of text.
		switch detail := cols[len(cols)-1].(type) {
		case string:
			lines = append(lines, detail)
		case []byte:
			lines = append(lines, string(detail))
		}
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

var (
	sqliteTableScan = regexp.MustCompile(`(?m)^SCAN [^ ]+( AS [^ ]+)?$`)
	// A join must look rows up by the join key: a Join Filter, a hash or a materialised inner
	// side means the inner table is walked as a whole.
	postgresBad = regexp.MustCompile(`Seq Scan|Sort|Materialize|Hash|Join Filter`)
)

// tableScan returns the step of plan that scans a whole table, or "".
func tableScan(d sqldb.Dialect, plan string) string {
	if d == sqldb.Postgres {
		return regexp.MustCompile(`Seq Scan`).FindString(plan)
	}
	return sqliteTableScan.FindString(plan)
}

// unorderedStep returns the step of plan that sorts rows or scans a whole table, or "".
func unorderedStep(d sqldb.Dialect, plan string) string {
	if d == sqldb.Postgres {
		return postgresBad.FindString(plan)
	}
	if i := strings.Index(plan, "USE TEMP B-TREE"); i >= 0 {
		return "USE TEMP B-TREE"
	}
	return sqliteTableScan.FindString(plan)
}
