package projections

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/sqldb"
)

// The images articles show, as the desk view (desk_media) and the published view (public_media)
// hold them: one row per image of an article, in the article's order.

type mediaRefRow struct {
	ArticleID string `db:"article_id"`
	Position  int    `db:"position"`
	MediaID   string `db:"media_id"`
	Role      string `db:"role"`
	Caption   string `db:"caption"`
}

// loadMedia reads the images of articles ids from table (desk_media or public_media), by article.
func loadMedia(ctx context.Context, tx *sqlx.Tx, t Tables, table string, ids []string) (map[string][]domain.MediaRef, error) {
	var rows []mediaRefRow
	if err := selectIn(ctx, tx, t, `SELECT article_id, position, media_id, role, caption FROM {`+table+`}
		WHERE article_id IN (?) ORDER BY article_id, position`, ids, &rows); err != nil {
		return nil, fmt.Errorf("%s: %w", table, err)
	}
	out := make(map[string][]domain.MediaRef)
	for _, r := range rows {
		out[r.ArticleID] = append(out[r.ArticleID], domain.MediaRef{ID: r.MediaID, Role: r.Role, Caption: r.Caption})
	}
	return out, nil
}

// writeMedia replaces the images of each article of changed in table with its list (none for
// an empty one).
func writeMedia(ctx context.Context, tx *sqlx.Tx, t Tables, table string, changed map[string][]domain.MediaRef) error {
	if len(changed) == 0 {
		return nil
	}
	var args []any
	for id, refs := range changed {
		if _, err := tx.ExecContext(ctx, t.SQL(tx, `DELETE FROM {`+table+`} WHERE article_id = ?`), id); err != nil {
			return fmt.Errorf("%s of %s: %w", table, id, err)
		}
		for i, r := range refs {
			args = append(args, id, i, r.ID, r.Role, r.Caption)
		}
	}
	return t.bulk(sqldb.Bulk{Table: "{" + table + "}", Columns: []string{"article_id", "position", "media_id", "role", "caption"}}).Exec(ctx, tx, args)
}

// MediaUsers returns the articles that show image mediaID, in any state, with their status: a
// killed article keeps the ids of the images it showed, so that an image used only by killed
// articles can be erased.
func (d *Desk) MediaUsers(ctx context.Context, mediaID string) ([]domain.ArticleStatusRef, error) {
	db := d.db.Read
	var rows []struct {
		ID     string `db:"id"`
		Status string `db:"status"`
	}
	if err := db.SelectContext(ctx, &rows, db.Rebind(`SELECT a.id, a.status FROM desk_media m
		JOIN desk_articles a ON a.id = m.article_id WHERE m.media_id = ? ORDER BY a.id`), mediaID); err != nil {
		return nil, fmt.Errorf("users of image %s: %w", mediaID, err)
	}
	out := make([]domain.ArticleStatusRef, len(rows))
	for i, r := range rows {
		out[i] = domain.ArticleStatusRef{ID: r.ID, Status: domain.Status(r.Status)}
	}
	return out, nil
}

// ArticlesShowing returns the ids of the articles the published view shows any of the images
// mediaIDs in: those whose public answers change when an image's words do.
func (p *Published) ArticlesShowing(ctx context.Context, mediaIDs []string) ([]string, error) {
	if len(mediaIDs) == 0 {
		return nil, nil
	}
	db := p.db.Read
	query, args, err := sqlx.In(`SELECT DISTINCT article_id FROM public_media WHERE media_id IN (?) ORDER BY article_id`, mediaIDs)
	if err != nil {
		return nil, err
	}
	var ids []string
	if err := db.SelectContext(ctx, &ids, db.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("articles showing images: %w", err)
	}
	return ids, nil
}

// ImagesShown returns the ids of the images each of articleIDs shows (those published now), in
// the article's order: what a feed's ETag must cover besides its entries' versions, read without
// their rows (an image's words change without any article's version).
func (p *Published) ImagesShown(ctx context.Context, articleIDs []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(articleIDs) == 0 {
		return out, nil
	}
	db := p.db.Read
	query, args, err := sqlx.In(`SELECT article_id, media_id FROM public_media WHERE article_id IN (?) ORDER BY article_id, position`, articleIDs)
	if err != nil {
		return nil, err
	}
	var rows []mediaRefRow
	if err := db.SelectContext(ctx, &rows, db.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("images shown by articles: %w", err)
	}
	for _, r := range rows {
		out[r.ArticleID] = append(out[r.ArticleID], r.MediaID)
	}
	return out, nil
}

// IsPublicMedia reports whether image mediaID is shown by an article readers may read now: a
// published one (not retracted, killed, under embargo or unpublished).
func (p *Published) IsPublicMedia(ctx context.Context, mediaID string) (bool, error) {
	db := p.db.Read
	var n int
	if err := db.GetContext(ctx, &n, db.Rebind(`SELECT COUNT(*) FROM public_media m
		JOIN public_articles a ON a.id = m.article_id WHERE m.media_id = ? AND a.status = ?`), mediaID, VisibilityPublished); err != nil {
		return false, fmt.Errorf("is image %s public: %w", mediaID, err)
	}
	return n > 0, nil
}
