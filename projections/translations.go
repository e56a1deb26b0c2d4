package projections

import (
	"context"
	"fmt"
	"sort"

	"github.com/jmoiron/sqlx"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/sqldb"
)

// Translation sets in the views. The desk keeps each article's translation_of, so that an
// editor sees the whole set, whatever state each member is in; the published view keeps each
// article's set_id (translation_of, or its own id), so that readers see the other published
// language versions of what they read. Both take it from the draft, and from every public event,
// which names the set too (domain.TranslationSetOf): a killed article, whose draft is erased,
// keeps it.

// SetMembers returns every article of the translation set setID (the original and its
// translations) as the desk holds them, in any state, ordered by language then id. The desk is
// a view: a member drafted a moment ago may not be in it yet.
func (d *Desk) SetMembers(ctx context.Context, setID string) ([]domain.SetMember, error) {
	db := d.db.Read
	var rows []struct {
		ID       string `db:"id"`
		Language string `db:"language"`
		Status   string `db:"status"`
		Slug     string `db:"slug"`
		// PublishAt says when a scheduled member is due: a set published together is each
		// member scheduled for the same instant, and the desk shows which are still due.
		PublishAt string `db:"publish_at"`
	}
	err := db.SelectContext(ctx, &rows, db.Rebind(setMembersQuery), setID, setID)
	if err != nil {
		return nil, fmt.Errorf("translation set %s on the desk: %w", setID, err)
	}
	out := make([]domain.SetMember, len(rows))
	for i, r := range rows {
		out[i] = domain.SetMember{ID: r.ID, Language: r.Language, Status: domain.Status(r.Status), Slug: r.Slug}
		if out[i].PublishAt, err = sqldb.ParseTime(r.PublishAt); err != nil {
			return nil, fmt.Errorf("translation set %s on the desk: %w", setID, err)
		}
	}
	return out, nil
}

// setMembersQuery reads a set's members from the desk: the original by its primary key, the
// others by the index on translation_of; a set is a handful of rows, sorted in memory.
const setMembersQuery = `SELECT id, language, status, slug, publish_at FROM desk_articles
	WHERE id = ? OR translation_of = ? ORDER BY language, id`

// translationsQuery reads the published members of sets, by the index on set_id.
const translationsQuery = `SELECT id, set_id, language, slug FROM public_articles WHERE set_id IN (?) AND status = ?`

// Translation is one published language version of an article, as readers see it.
type Translation struct {
	ID       string `db:"id"`
	SetID    string `db:"set_id"`
	Language string `db:"language"`
	Slug     string `db:"slug"`
}

// Translations returns the published members of each translation set in setIDs (only
// published ones: never drafts, retracted or killed articles, nor embargoed ones, which the
// view does not show), by set id, each ordered by language then id.
func (p *Published) Translations(ctx context.Context, setIDs []string) (map[string][]Translation, error) {
	out := map[string][]Translation{}
	if len(setIDs) == 0 {
		return out, nil
	}
	db := p.db.Read
	query, args, err := sqlx.In(translationsQuery, dedupe(setIDs), VisibilityPublished)
	if err != nil {
		return nil, err
	}
	var rows []Translation
	if err := db.SelectContext(ctx, &rows, db.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("translations: %w", err)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Language != rows[j].Language {
			return rows[i].Language < rows[j].Language
		}
		return rows[i].ID < rows[j].ID
	})
	for _, r := range rows {
		out[r.SetID] = append(out[r.SetID], r)
	}
	return out, nil
}

// OtherVersions is what sets (from Translations) holds of a's set but a itself: the other
// published language versions of a.
func (a PublicArticle) OtherVersions(sets map[string][]Translation) []Translation {
	var out []Translation
	for _, t := range sets[a.SetID] {
		if t.ID != a.ID {
			out = append(out, t)
		}
	}
	return out
}
