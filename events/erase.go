package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
)

// JetStream's answers to deleting a message that is gone already: "no message found", and
// "sequence N not found" (a message another eraser deleted a moment ago).
const (
	codeNoMessageFound   = 10057
	codeSequenceNotFound = 10043
)

// Erasure is what erasing one killed article removed.
type Erasure struct {
	LogEvents      int // events before the kill, from the log
	PublicMessages int // public messages other than the kill's
	// EmbargoedMessages are the messages trusted subscribers had of it, from the embargoed
	// stream (but the kill's own, when it was killed under embargo).
	EmbargoedMessages int
}

// EraseKilled securely deletes (overwrites on disk, not only marks) a killed article's text
// from the three streams: every event of the article before the kill at log sequence killSeq,
// and every public and embargoed message of the article but the kill's own. It is idempotent;
// the kill event and the killed message stay, so the log still folds to a killed article and
// subscribers still learn of the kill. The log goes first: an outbox that is behind then never
// reads the text it would write again.
//
// On a replicated stream the copies in the servers' Raft logs remain until those compact, and
// a server with encryption at rest turns the secure delete into a plain one: the README says so.
func EraseKilled(ctx context.Context, js jetstream.JetStream, articleID string, killSeq uint64) (Erasure, error) {
	var out Erasure
	log, err := js.Stream(ctx, StreamName)
	if err != nil {
		return out, fmt.Errorf("erase article %s: %w", articleID, unavailable(err))
	}
	out.LogEvents, err = eraseSubject(ctx, log, Subject(articleID), func(seq uint64, _ string) bool {
		return seq >= killSeq
	})
	if err != nil {
		return out, fmt.Errorf("erase article %s from the log: %w", articleID, err)
	}
	if out.PublicMessages, err = eraseMessages(ctx, js, PublicStreamName, PublicSubject, articleID); err != nil {
		return out, err
	}
	if out.EmbargoedMessages, err = eraseMessages(ctx, js, EmbargoedStreamName, EmbargoedSubject, articleID); err != nil {
		return out, err
	}
	return out, nil
}

// eraseMessages securely deletes every message of an article from a stream of messages made
// from the log (public or embargoed), but its kill's.
func eraseMessages(ctx context.Context, js jetstream.JetStream, name string, subject func(action, id string) string, articleID string) (int, error) {
	stream, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil // no such stream yet: nothing was written there
	}
	if err != nil {
		return 0, fmt.Errorf("erase article %s: %w", articleID, unavailable(err))
	}
	killed := subject(ActionKilled, articleID)
	n, err := eraseSubject(ctx, stream, subject("*", articleID), func(_ uint64, s string) bool { return s == killed })
	if err != nil {
		return n, fmt.Errorf("erase article %s from %s: %w", articleID, name, err)
	}
	return n, nil
}

// eraseSubject securely deletes the messages on subject (wildcards allowed) that keep does not
// keep, and returns how many it deleted. It deletes the newest first: a view reading the log
// forward meanwhile sees what it had, then the kill, never a hole between two survivors (which
// it would take for a gap in the log).
func eraseSubject(ctx context.Context, stream jetstream.Stream, subject string, keep func(seq uint64, subject string) bool) (int, error) {
	var doomed []uint64
	for seq := uint64(1); ; {
		msg, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return 0, unavailable(err)
		}
		seq = msg.Sequence + 1
		if !keep(msg.Sequence, msg.Subject) {
			doomed = append(doomed, msg.Sequence)
		}
	}
	for i := len(doomed) - 1; i >= 0; i-- {
		if err := stream.SecureDeleteMsg(ctx, doomed[i]); err != nil && !isNoMessageFound(err) {
			return len(doomed) - 1 - i, unavailable(err)
		}
	}
	return len(doomed), nil
}

func isNoMessageFound(err error) bool {
	var apiErr *jetstream.APIError
	if errors.Is(err, jetstream.ErrMsgNotFound) || (errors.As(err, &apiErr) &&
		(int(apiErr.ErrorCode) == codeNoMessageFound || int(apiErr.ErrorCode) == codeSequenceNotFound)) {
		return true
	}
	// nats.go reports a refused delete with the server's error as text only.
	return errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) &&
		(strings.Contains(err.Error(), "err_code="+strconv.Itoa(codeNoMessageFound)) ||
			strings.Contains(err.Error(), "err_code="+strconv.Itoa(codeSequenceNotFound)))
}

// KilledArticle is an article whose kill reached the public or the embargoed stream.
type KilledArticle struct {
	ID      string
	KillSeq uint64 // log sequence of the kill
}

// KilledArticles lists every killed article the public and the embargoed streams record (a kill
// under embargo is on the embargoed one alone), oldest kill first in each: what the sweep at
// start erases again, in case a crash interrupted an erasure.
func KilledArticles(ctx context.Context, js jetstream.JetStream) ([]KilledArticle, error) {
	public, err := killedOn(ctx, js, PublicStreamName, PublicSubjectPrefix)
	if err != nil {
		return nil, err
	}
	embargoed, err := killedOn(ctx, js, EmbargoedStreamName, EmbargoedSubjectPrefix)
	return append(public, embargoed...), err
}

func killedOn(ctx context.Context, js jetstream.JetStream, name, subjectPrefix string) ([]KilledArticle, error) {
	stream, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("killed articles: %w", unavailable(err))
	}
	prefix := subjectPrefix + ActionKilled + "."
	var out []KilledArticle
	for seq := uint64(1); ; {
		msg, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(prefix+"*"))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("killed articles: %w", unavailable(err))
		}
		seq = msg.Sequence + 1
		killSeq, err := strconv.ParseUint(msg.Header.Get(SourceSeqHeader), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("killed articles: message %d of %s has no %s header", msg.Sequence, name, SourceSeqHeader)
		}
		out = append(out, KilledArticle{ID: strings.TrimPrefix(msg.Subject, prefix), KillSeq: killSeq})
	}
}

// KillOf returns the log sequence of an article's kill, if the article's last event is one (a
// kill is final: nothing follows it). It reads one message.
func KillOf(ctx context.Context, js jetstream.JetStream, articleID string) (uint64, bool, error) {
	log, err := js.Stream(ctx, StreamName)
	if err != nil {
		return 0, false, fmt.Errorf("kill of article %s: %w", articleID, unavailable(err))
	}
	msg, err := log.GetLastMsgForSubject(ctx, Subject(articleID))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("kill of article %s: %w", articleID, unavailable(err))
	}
	env, err := Unmarshal(msg.Data, msg.Sequence)
	if err != nil {
		return 0, false, fmt.Errorf("kill of article %s: %w", articleID, err)
	}
	return msg.Sequence, env.Type == domain.TypeKilled, nil
}

// EraseMediaEvents securely deletes an image's events before its erasure at log sequence
// erasedSeq: its caption, credit and alt text may name people, and the erasure carries none of
// it. The erasure event stays, so the log still folds to an erased image. Idempotent.
func EraseMediaEvents(ctx context.Context, js jetstream.JetStream, mediaID string, erasedSeq uint64) (int, error) {
	log, err := js.Stream(ctx, StreamName)
	if err != nil {
		return 0, fmt.Errorf("erase image %s: %w", mediaID, unavailable(err))
	}
	n, err := eraseSubject(ctx, log, MediaSubject(mediaID), func(seq uint64, _ string) bool { return seq >= erasedSeq })
	if err != nil {
		return n, fmt.Errorf("erase image %s from the log: %w", mediaID, err)
	}
	return n, nil
}
