package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
)

// SlugBucket holds slug reservations, beside the log: key = hex SHA-256 of the slug (a key is
// not erasable text), value = the article id that holds it. The name is permanent.
const SlugBucket = "NEWSROOM_SLUGS"

// SlugBucketConfig is the configuration of the slug bucket.
func SlugBucketConfig(replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      SlugBucket,
		Description: "newsroom slug reservations: one article per slug",
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		History:     1,
	}
}

func slugKey(slug string) string { return domain.SlugDigest(slug) }

// ReserveSlug reserves slug for article articleID with a create-only put, so that two articles
// can never hold it, whatever the views say. Reserving a slug the article already holds
// succeeds (a retried publish). It returns domain.ErrSlugTaken when another article holds it,
// and ErrUnavailable when the bucket does not answer.
func (s *Store) ReserveSlug(ctx context.Context, slug, articleID string) error {
	key := slugKey(slug)
	_, err := s.slugs.Create(ctx, key, []byte(articleID))
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("reserve slug %q: %w", slug, unavailable(err))
	}
	entry, err := s.slugs.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("reserve slug %q: %w", slug, unavailable(err))
	}
	if string(entry.Value()) == articleID {
		return nil
	}
	return fmt.Errorf("reserve slug %q: %w", slug, domain.ErrSlugTaken)
}
