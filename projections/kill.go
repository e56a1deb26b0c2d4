package projections

import (
	"context"
	"fmt"

	"github.com/newsroom/newsroom/events"
)

// erase removes a killed article's text from the log and the public stream.
func (o *Outbox) erase(ctx context.Context, articleID string, killSeq uint64) error {
	erased, err := events.EraseKilled(ctx, o.js, articleID, killSeq)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if erased.LogEvents+erased.PublicMessages > 0 {
		o.cfg.Logger.Info("killed article erased", "article", articleID, "log_events", erased.LogEvents,
			"public_messages", erased.PublicMessages)
	}
	return nil
}

// SweepKilled erases again every article whose kill reached the public stream. It runs at
// every start: a crash between publishing a kill and erasing its text (the outbox resumes
// after its last public message, so it would not come back to it) is finished here. Erasing
// what is erased already costs one read per article.
func (o *Outbox) SweepKilled(ctx context.Context) error {
	killed, err := events.KilledArticles(ctx, o.js)
	if err != nil {
		return fmt.Errorf("sweep killed articles: %w", err)
	}
	for _, k := range killed {
		if err := o.erase(ctx, k.ID, k.KillSeq); err != nil {
			return fmt.Errorf("sweep killed articles: %w", err)
		}
	}
	return nil
}
