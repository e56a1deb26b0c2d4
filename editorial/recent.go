package editorial

import (
	"container/list"
	"sync"

	"github.com/newsroom/newsroom/domain"
)

// DefaultRecentArticles is how many articles a Desk keeps folded in memory.
const DefaultRecentArticles = 4096

// recent keeps the articles commands were last decided on, folded, with the stream sequence of
// their last event, so that a command on an article edited a moment ago does not read and fold
// its whole history again. An entry may be stale (another instance appended since): a decision
// taken on it is only written if the append's expected sequence still matches, and any refusal
// taken on it is checked again against the log (see Desk.execute). Articles are values whose
// slices evolve never appends to in place, so entries can be shared between goroutines.
type recent struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *recentEntry, most recent first
	byID  map[string]*list.Element
}

type recentEntry struct {
	article domain.Article
	lastSeq uint64
}

func newRecent(max int) *recent {
	return &recent{max: max, order: list.New(), byID: make(map[string]*list.Element)}
}

func (r *recent) get(id string) (domain.Article, uint64, bool) {
	if r == nil {
		return domain.Article{}, 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	el, ok := r.byID[id]
	if !ok {
		return domain.Article{}, 0, false
	}
	r.order.MoveToFront(el)
	e := el.Value.(*recentEntry)
	return e.article, e.lastSeq, true
}

// put remembers a at lastSeq unless a newer state of it is remembered already.
func (r *recent) put(a domain.Article, lastSeq uint64) {
	if r == nil || r.max <= 0 || !a.Exists() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.byID[a.ID]; ok {
		e := el.Value.(*recentEntry)
		if e.lastSeq < lastSeq {
			e.article, e.lastSeq = a, lastSeq
		}
		r.order.MoveToFront(el)
		return
	}
	r.byID[a.ID] = r.order.PushFront(&recentEntry{article: a, lastSeq: lastSeq})
	for r.order.Len() > r.max {
		oldest := r.order.Back()
		r.order.Remove(oldest)
		delete(r.byID, oldest.Value.(*recentEntry).article.ID)
	}
}

// forget drops id, whose entry turned out stale.
func (r *recent) forget(id string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.byID[id]; ok {
		r.order.Remove(el)
		delete(r.byID, id)
	}
}
