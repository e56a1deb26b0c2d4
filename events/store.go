package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
)

// Permanent names. Renaming any of them orphans the history stored under the old one: it means
// migrating the stream or replaying history into a new one.
const (
	// StreamName is the event log, the only source of truth for articles.
	StreamName = "NEWSROOM"
	// SubjectPrefix + article id is the subject of one article's events.
	SubjectPrefix = "newsroom.article."
	// SubjectAll matches every article's events.
	SubjectAll = SubjectPrefix + "*"
	// MediaSubjectPrefix + media id is the subject of one image's events (domain.IsMediaEvent);
	// their envelopes carry the media id as their article_id (the aggregate's id: the field's
	// name is permanent) and the image's version as their article_version.
	MediaSubjectPrefix = "newsroom.media."
	// MediaSubjectAll matches every image's events.
	MediaSubjectAll = MediaSubjectPrefix + "*"
)

// LogSubjects are the subjects of the log: what the views read. Consumers of articles alone
// (the outboxes, the scheduler) filter on SubjectAll and never see an image's events.
var LogSubjects = []string{SubjectAll, MediaSubjectAll}

// JetStream error codes that mean "the expected last sequence did not match". 10164 is what a
// clustered stream answers when another write to the subject is in flight.
const (
	codeWrongLastSequence         = 10071
	codeWrongLastSequenceConstant = 10164
)

var (
	// ErrConflict: another event was appended to the article since the caller read it; nothing
	// was written.
	ErrConflict = errors.New("concurrent change: the article changed since it was read")
	// ErrUnavailable: the log did not answer; the append may or may not have happened, and
	// retrying the same envelope is safe (it is deduplicated by its id).
	ErrUnavailable = errors.New("event log unavailable")
)

// Subject is the subject of one article's events.
func Subject(articleID string) string { return SubjectPrefix + articleID }

// MediaSubject is the subject of one image's events.
func MediaSubject(mediaID string) string { return MediaSubjectPrefix + mediaID }

// subjectOf is the subject an envelope is appended on: its image's for a media event.
func subjectOf(env Envelope) string {
	if domain.IsMediaEvent(env.Type) {
		return MediaSubject(env.ArticleID)
	}
	return Subject(env.ArticleID)
}

// StreamConfig is the configuration of the log.
func StreamConfig(replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamName,
		Description: "newsroom event log: the only source of truth for articles",
		Subjects:    LogSubjects,
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Replicas:    replicas,
		Duplicates:  2 * time.Minute,
		// Reads of one article without creating a consumer. Only on a single replica: on a
		// replicated stream followers answer direct gets too, possibly behind the leader, and
		// a stale read would give a stale ETag.
		AllowDirect: replicas <= 1,
	}
}

// Store appends to and reads from the log. It is safe for concurrent use.
type Store struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	slugs  jetstream.KeyValue
	// attempts bounds how often Append retries a publish that got no answer.
	attempts int
}

// Open creates the log stream and the slug bucket with the given number of replicas if they
// are missing, and returns a Store on them. Existing ones are used as they are: an operator's
// settings (replicas above all) are never lowered by a start.
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (*Store, error) {
	stream, err := EnsureStream(ctx, js, StreamConfig(replicas))
	if err != nil {
		return nil, err
	}
	if stream, err = ensureSubjects(ctx, js, stream); err != nil {
		return nil, err
	}
	slugs, err := js.CreateKeyValue(ctx, SlugBucketConfig(replicas))
	if errors.Is(err, jetstream.ErrBucketExists) {
		slugs, err = js.KeyValue(ctx, SlugBucket)
	}
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w", SlugBucket, unavailable(err))
	}
	return &Store{js: js, stream: stream, slugs: slugs, attempts: 3}, nil
}

// EnsureStream creates the stream cfg describes, or returns the existing one unchanged.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	stream, err := js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		stream, err = js.Stream(ctx, cfg.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", cfg.Name, unavailable(err))
	}
	return stream, nil
}

// ensureSubjects adds to an existing log the subjects this release writes (an image's events
// came after the first deployments), leaving the rest of its configuration as the operator has it.
func ensureSubjects(ctx context.Context, js jetstream.JetStream, stream jetstream.Stream) (jetstream.Stream, error) {
	cfg := stream.CachedInfo().Config
	missing := false
	for _, s := range LogSubjects {
		if !slices.Contains(cfg.Subjects, s) {
			cfg.Subjects, missing = append(cfg.Subjects, s), true
		}
	}
	if !missing {
		return stream, nil
	}
	updated, err := js.UpdateStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("stream %s: add subjects %v: %w", StreamName, LogSubjects, unavailable(err))
	}
	return updated, nil
}

// Append writes env as the next event of its article, provided the last event on the article's
// subject is at stream sequence expected (0 for a new article). It returns the event's stream
// sequence. It returns ErrConflict when another event came first, and ErrUnavailable when the
// log did not answer after a few tries; a retry with the same envelope never writes it twice.
func (s *Store) Append(ctx context.Context, env Envelope, expected uint64) (uint64, error) {
	body, err := env.Marshal()
	if err != nil {
		return 0, fmt.Errorf("append article %s: %w", env.ArticleID, err)
	}
	subject := subjectOf(env)
	var lastErr error
	for attempt := 0; attempt < s.attempts; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return 0, fmt.Errorf("append article %s: %w: %w", env.ArticleID, ErrUnavailable, lastErr)
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
		ack, err := s.js.PublishMsg(ctx, msg,
			jetstream.WithMsgID(env.ID),
			jetstream.WithExpectLastSequencePerSubject(expected))
		if err == nil {
			return ack.Sequence, nil // a duplicate ack carries the original sequence
		}
		if isWrongLastSequence(err) {
			// On a single-replica stream the sequence check runs before dedupe: a retry of a
			// write whose ack was lost lands here. Look for our own event before calling it a
			// conflict.
			seq, found, scanErr := s.find(ctx, subject, expected+1, env.ID)
			if scanErr != nil {
				return 0, fmt.Errorf("append article %s: look for event %s: %w", env.ArticleID, env.ID, scanErr)
			}
			if found {
				return seq, nil
			}
			return 0, fmt.Errorf("append article %s at seq %d: %w", env.ArticleID, expected, ErrConflict)
		}
		if !isUnavailable(err) {
			return 0, fmt.Errorf("append article %s: %w", env.ArticleID, err)
		}
		lastErr = err
	}
	return 0, fmt.Errorf("append article %s: %w: %w", env.ArticleID, ErrUnavailable, lastErr)
}

// find looks on subject, from stream sequence from onward, for the message with event id id.
func (s *Store) find(ctx context.Context, subject string, from uint64, id string) (uint64, bool, error) {
	for seq := from; ; {
		msg, err := s.stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, unavailable(err)
		}
		if msg.Header.Get(jetstream.MsgIDHeader) == id {
			return msg.Sequence, true, nil
		}
		seq = msg.Sequence + 1
	}
}

// History is one article's events, oldest first, and the stream sequence of the last one
// (0 when the article has none): the sequence a following Append expects.
type History struct {
	Events       []Envelope
	LastSequence uint64
}

// Load reads every event of one article. An article with no events has an empty History and
// no error. It returns ErrUnavailable when the log does not answer.
func (s *Store) Load(ctx context.Context, articleID string) (History, error) {
	return s.load(ctx, Subject(articleID), articleID)
}

// LoadMedia reads every event of one image, as Load does an article's.
func (s *Store) LoadMedia(ctx context.Context, mediaID string) (History, error) {
	return s.load(ctx, MediaSubject(mediaID), mediaID)
}

func (s *Store) load(ctx context.Context, subject, articleID string) (History, error) {
	var h History
	for seq := uint64(1); ; {
		msg, err := s.stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return h, nil
		}
		if err != nil {
			return History{}, fmt.Errorf("load article %s: %w", articleID, unavailable(err))
		}
		env, err := Unmarshal(msg.Data, msg.Sequence)
		if err != nil {
			return History{}, fmt.Errorf("load article %s: %w", articleID, err)
		}
		h.Events = append(h.Events, env)
		h.LastSequence = msg.Sequence
		seq = msg.Sequence + 1
	}
}

// LastSequence is the stream sequence of the newest event in the log (0 when empty). It is
// the newest event that exists: a deleted last message does not count, or a read up to it
// would wait for it forever.
func (s *Store) LastSequence(ctx context.Context) (uint64, error) {
	last := uint64(0)
	for _, subject := range LogSubjects {
		msg, err := s.stream.GetLastMsgForSubject(ctx, subject)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("last event: %w", unavailable(err))
		}
		last = max(last, msg.Sequence)
	}
	return last, nil
}

// IsWrongLastSequence reports whether err is JetStream refusing a message whose expected last
// subject sequence did not match: another write to the subject came first.
func IsWrongLastSequence(err error) bool { return isWrongLastSequence(err) }

func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	code := int(apiErr.ErrorCode)
	return code == codeWrongLastSequence || code == codeWrongLastSequenceConstant
}

// isUnavailable reports whether err means the log did not answer, as opposed to refusing.
func isUnavailable(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// The server answered but could not act: no leader, or a cluster in transition.
		return apiErr.Code == 503 || strings.Contains(strings.ToLower(apiErr.Description), "unavailable")
	}
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionClosed) ||
		errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrDisconnected)
}

// unavailable marks err as ErrUnavailable when it means the log did not answer.
func unavailable(err error) error {
	if isUnavailable(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}
