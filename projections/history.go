package projections

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/sqldb"
)

// History is each article's timeline: who did what, when, with what comment.
type History struct {
	db *sqldb.DB
}

// NewHistory returns the history view on db.
func NewHistory(db *sqldb.DB) *History { return &History{db: db} }

// Name implements View.
func (*History) Name() string { return "history" }

// Version implements View.
func (*History) Version() int { return 1 }

// Tables implements View.
func (*History) Tables() []string { return []string{"article_history"} }

// Schema implements View.
func (*History) Schema(d sqldb.Dialect, t Tables) []string {
	return []string{
		`CREATE TABLE ` + t.Name("article_history") + ` (
			article_id TEXT    NOT NULL,
			version    ` + bigint(d) + ` NOT NULL,
			seq        ` + bigint(d) + ` NOT NULL,
			event_type TEXT    NOT NULL,
			status     TEXT    NOT NULL,
			actor_id   TEXT    NOT NULL,
			actor_role TEXT    NOT NULL,
			at         TEXT    NOT NULL,
			comment    TEXT    NOT NULL DEFAULT '',
			PRIMARY KEY (article_id, version)
		)` + strict(d),
	}
}

// Apply implements View.
func (h *History) Apply(ctx context.Context, tx *sqlx.Tx, t Tables, batch []events.Envelope) error {
	var rows []struct {
		ID      string `db:"article_id"`
		Version int    `db:"version"`
	}
	if err := selectIn(ctx, tx, t, `SELECT article_id, MAX(version) AS version FROM {article_history}
		WHERE article_id IN (?) GROUP BY article_id`, articleIDs(batch), &rows); err != nil {
		return err
	}
	versions := make(map[string]int, len(rows))
	for _, r := range rows {
		versions[r.ID] = r.Version
	}
	// The batch's rows are collected and inserted in bulk at the end; a kill drops the rows the
	// batch had collected for its article and deletes those of earlier batches first.
	var pending []historyRow
	var killed []string
	for _, env := range batch {
		r, err := env.Recorded()
		if err != nil {
			return err
		}
		if err := nextVersion(versions[env.ArticleID], env); err != nil {
			return err
		}
		versions[env.ArticleID] = env.ArticleVersion
		if k, ok := r.Event.(domain.Killed); ok {
			// The article's timeline becomes the one its kill carries: the same steps without
			// their words (comments, notes and reasons may quote the text), and without their
			// log sequences (0), since the events themselves are erased.
			pending = slices.DeleteFunc(pending, func(row historyRow) bool { return row.articleID == env.ArticleID })
			killed = append(killed, env.ArticleID)
			for _, step := range k.Timeline {
				pending = append(pending, historyRow{articleID: env.ArticleID, step: step})
			}
		}
		step := domain.Step{Type: env.Type, Version: env.ArticleVersion, ActorID: env.Actor.ID, ActorRole: domain.Role(env.Actor.Role), At: r.At}
		pending = append(pending, historyRow{articleID: env.ArticleID, seq: env.Sequence, step: step, comment: commentOf(r.Event)})
	}
	for _, id := range killed {
		if _, err := tx.ExecContext(ctx, t.SQL(tx, `DELETE FROM {article_history} WHERE article_id = ?`), id); err != nil {
			return err
		}
	}
	args := make([]any, 0, len(pending)*len(historyInsert.Columns))
	for _, row := range pending {
		status, ok := domain.StatusAfter(row.step.Type)
		if !ok {
			return fmt.Errorf("history: no status for event type %s", row.step.Type)
		}
		args = append(args, row.articleID, row.step.Version, row.seq, row.step.Type, string(status),
			row.step.ActorID, string(row.step.ActorRole), sqldb.FormatTime(row.step.At), row.comment)
	}
	return t.bulk(historyInsert).Exec(ctx, tx, args)
}

// historyRow is one row of article_history before it is written.
type historyRow struct {
	articleID string
	seq       uint64 // 0 for the steps a kill rewrote
	step      domain.Step
	comment   string
}

var historyInsert = sqldb.Bulk{Table: "{article_history}",
	Columns: []string{"article_id", "version", "seq", "event_type", "status", "actor_id", "actor_role", "at", "comment"}}

func commentOf(e domain.Event) string {
	switch e := e.(type) {
	case domain.ChangesRequested:
		return e.Comment
	case domain.Corrected:
		return e.Note
	case domain.CorrectionProposed:
		return e.Note
	case domain.Retracted:
		return e.Reason
	case domain.Spiked:
		return e.Reason
	case domain.Killed:
		return e.Reason
	}
	return ""
}

// Entry is one step of an article's timeline.
type Entry struct {
	Version   int
	Sequence  uint64
	EventType string
	Status    domain.Status
	ActorID   string
	ActorName string // from the token that holds the user id; empty if it is gone
	ActorRole string
	At        time.Time
	Comment   string
}

type entryRow struct {
	Version   int    `db:"version"`
	Seq       uint64 `db:"seq"`
	EventType string `db:"event_type"`
	Status    string `db:"status"`
	ActorID   string `db:"actor_id"`
	ActorName string `db:"actor_name"`
	ActorRole string `db:"actor_role"`
	At        string `db:"at"`
	Comment   string `db:"comment"`
}

// Timeline returns the article's history, oldest first; empty if the view has none.
func (h *History) Timeline(ctx context.Context, articleID string) ([]Entry, error) {
	db := h.db.Read
	var rows []entryRow
	// Names are operator state joined at read time: the log and this view hold user ids only.
	if err := db.SelectContext(ctx, &rows, db.Rebind(`SELECT h.version, h.seq, h.event_type, h.status,
		h.actor_id, COALESCE(u.name, '') AS actor_name, h.actor_role, h.at, h.comment
		FROM article_history h LEFT JOIN users u ON u.id = h.actor_id
		WHERE h.article_id = ? ORDER BY h.version`), articleID); err != nil {
		return nil, fmt.Errorf("history of %s: %w", articleID, err)
	}
	out := make([]Entry, len(rows))
	for i, r := range rows {
		at, err := sqldb.ParseTime(r.At)
		if err != nil {
			return nil, err
		}
		out[i] = Entry{Version: r.Version, Sequence: r.Seq, EventType: r.EventType, Status: domain.Status(r.Status),
			ActorID: r.ActorID, ActorName: r.ActorName, ActorRole: r.ActorRole, At: at, Comment: r.Comment}
	}
	return out, nil
}
