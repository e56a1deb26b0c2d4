package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/newsroom/newsroom/sqldb"
)

// Listings show how many rows match without counting them per request: each view keeps the
// totals of its listings in a counts table, moved by Apply in the same transaction as the rows
// (so a total is always the rows' own), and rebuilt by replay like every table of the view.

// counter is one counts table: a row per key (a tuple of key columns, the empty string meaning "any"), with
// how many rows of the view match it.
type counter struct {
	table string   // base name, listed in the view's Tables
	cols  []string // key columns
}

var (
	// publicCounts: listed public articles (published, or retracted as notices) by language
	// and tag; ('', '') is all of them.
	publicCounts = counter{table: "public_counts", cols: []string{"language", "tag"}}
	// deskCounts: desk articles by status; '' is all of them.
	deskCounts = counter{table: "desk_counts", cols: []string{"status"}}
)

// schema creates the counts table as t names it.
func (c counter) schema(d sqldb.Dialect, t Tables) string {
	var cols []string
	for _, col := range c.cols {
		cols = append(cols, col+` TEXT NOT NULL`)
	}
	return `CREATE TABLE ` + t.Name(c.table) + ` (` + strings.Join(cols, ", ") + `, n ` + bigint(d) +
		` NOT NULL, PRIMARY KEY (` + strings.Join(c.cols, ", ") + `))` + strict(d)
}

// countKey is one key of a counts table, its column values joined by countSep.
type countKey string

const countSep = "\x00"

func key(values ...string) countKey { return countKey(strings.Join(values, countSep)) }

// countDeltas is how a batch moves a counts table: what each row left and joined.
type countDeltas map[countKey]int

func (d countDeltas) move(keys []countKey, by int) {
	for _, k := range keys {
		d[k] += by
	}
}

// write adds the deltas to the table inside tx, and drops keys that fell to zero, so that a
// view applied event by event holds the same rows as one replayed in bulk.
func (c counter) write(ctx context.Context, tx *sqlx.Tx, t Tables, deltas countDeltas) error {
	keys := make([]string, 0, len(deltas))
	for k, n := range deltas {
		if n != 0 {
			keys = append(keys, string(k))
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys) // the same lock order in every transaction: PostgreSQL never deadlocks on them
	table := t.Name(c.table)
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(c.cols)), ", ")
	var match []string
	for _, col := range c.cols {
		match = append(match, col+" = ?")
	}
	upsert := tx.Rebind(`INSERT INTO ` + table + ` (` + strings.Join(c.cols, ", ") + `, n) VALUES (` + marks + `, ?)
		ON CONFLICT (` + strings.Join(c.cols, ", ") + `) DO UPDATE SET n = ` + table + `.n + excluded.n`)
	drop := tx.Rebind(`DELETE FROM ` + table + ` WHERE ` + strings.Join(match, " AND ") + ` AND n = 0`)
	for _, k := range keys {
		args := make([]any, 0, len(c.cols)+1)
		for _, v := range strings.Split(k, countSep) {
			args = append(args, v)
		}
		if _, err := tx.ExecContext(ctx, upsert, append(args, deltas[countKey(k)])...); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		if deltas[countKey(k)] < 0 {
			if _, err := tx.ExecContext(ctx, drop, args...); err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
		}
	}
	return nil
}

// read returns the count of one key of the live table (0 when the key has no row).
func (c counter) read(ctx context.Context, db *sqlx.DB, values ...string) (int, error) {
	var match []string
	args := make([]any, len(values))
	for i, col := range c.cols {
		match = append(match, col+" = ?")
		args[i] = values[i]
	}
	var n int
	err := db.GetContext(ctx, &n, db.Rebind(`SELECT n FROM `+c.table+` WHERE `+strings.Join(match, " AND ")), args...)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", c.table, err)
	}
	return n, nil
}

// publicCountKeys are the totals a public row counts in: none unless it is listed; else all,
// its language, each of its tags, and each tag within its language.
func publicCountKeys(r publicRow) ([]countKey, error) {
	if !listed(r.Status) {
		return nil, nil
	}
	var tags []string
	if err := json.Unmarshal([]byte(r.Tags), &tags); err != nil {
		return nil, fmt.Errorf("article %s: tags: %w", r.ID, err)
	}
	keys := []countKey{key("", "")}
	if r.Language != "" {
		keys = append(keys, key(r.Language, ""))
	}
	for _, tag := range dedupe(tags) {
		keys = append(keys, key("", tag))
		if r.Language != "" {
			keys = append(keys, key(r.Language, tag))
		}
	}
	return keys, nil
}

// deskCountKeys are the totals a desk row counts in: all, and its status.
func deskCountKeys(status string) []countKey { return []countKey{key(""), key(status)} }

// listed reports whether an article of that visibility is in the public list and the feeds.
// The schema says the same in public_articles.listed.
func listed(status string) bool {
	return status == VisibilityPublished || status == VisibilityRetracted
}

// countPublic moves the totals r counts in by by (-1: the row as it was, +1: as it is now).
func countPublic(d countDeltas, r publicRow, by int) error {
	keys, err := publicCountKeys(r)
	d.move(keys, by)
	return err
}
