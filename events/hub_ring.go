package events

import (
	"sort"
	"strings"
)

// ringEntry is one message the ring holds, with what the ring needs to know of it.
type ringEntry struct {
	msg     *PublicMessage
	article string // from the subject: what a kill purges by
	size    int
}

// publicRing holds the latest messages of the public stream, oldest first, within a count and
// a byte budget. Every message of the stream after floor, up to the newest the hub has seen,
// is in it, except those of killed articles, which the stream erases too.
type publicRing struct {
	entries            []ringEntry // live from head on
	head               int
	bytes              int
	floor              uint64
	maxCount, maxBytes int
}

// messageSize is what a message costs in the ring, roughly: its bytes and the fixed parts.
func messageSize(m *PublicMessage) int {
	const overhead = 160 // the struct, its pointer in the ring, string headers
	return overhead + len(m.Data) + len(m.Subject) + len(m.Type) + len(m.ID) + len(m.Source) + len(m.Time) + len(m.Article)
}

// push appends m (newer than every message held) and evicts the oldest until the budget
// holds; it returns the evicted ones.
func (r *publicRing) push(m *PublicMessage, article string) []ringEntry {
	e := ringEntry{msg: m, article: article, size: messageSize(m)}
	r.entries = append(r.entries, e)
	r.bytes += e.size
	var evicted []ringEntry
	for r.len() > 0 && (r.len() > r.maxCount || r.bytes > r.maxBytes) {
		old := r.entries[r.head]
		r.entries[r.head] = ringEntry{} // let the message go
		r.head++
		r.bytes -= old.size
		r.floor = old.msg.Seq
		evicted = append(evicted, old)
	}
	// Reuse the slice's front once half of it is dead, so it does not grow forever.
	if r.head > 1024 && r.head > len(r.entries)/2 {
		n := copy(r.entries, r.entries[r.head:])
		clear(r.entries[n:])
		r.entries, r.head = r.entries[:n], 0
	}
	return evicted
}

func (r *publicRing) len() int { return len(r.entries) - r.head }

// purge drops every message of article. The floor stays: the messages are gone from the
// stream as well (a kill erases them), so the ring still holds all there is after it.
func (r *publicRing) purge(article string) {
	live := r.entries[r.head:]
	kept := live[:0]
	for _, e := range live {
		if e.article == article {
			r.bytes -= e.size
			continue
		}
		kept = append(kept, e)
	}
	clear(live[len(kept):])
	r.entries = r.entries[:r.head+len(kept)]
}

// after returns at most n messages with sequences in (pos, upTo], oldest first. The caller
// checks pos >= floor: below it, messages are missing.
func (r *publicRing) after(pos, upTo uint64, n int) []*PublicMessage {
	live := r.entries[r.head:]
	i := sort.Search(len(live), func(i int) bool { return live[i].msg.Seq > pos })
	var out []*PublicMessage
	for ; i < len(live) && len(out) < n && live[i].msg.Seq <= upTo; i++ {
		out = append(out, live[i].msg)
	}
	return out
}

// publicSubjectParts splits a public subject, newsroom.public.article.<action>.<id>.
func publicSubjectParts(subject string) (action, articleID string, ok bool) {
	rest, ok := strings.CutPrefix(subject, PublicSubjectPrefix)
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, ".")
}
