package projections

import (
	"sync"
	"time"
)

// phase is where a view stands in this process.
type phase int

const (
	// phaseStarting: its tables are being checked, or rebuilt before it is first fed.
	phaseStarting phase = iota
	// phaseAttached: the instance's reader feeds it every batch it reads.
	phaseAttached
	// phaseDetached: a batch failed on it (or it was behind the reader): the reader goes on
	// without it while it catches up from its own checkpoint, then it is attached again.
	phaseDetached
	// phaseSuperseded: the database holds a newer version of it: this process never applies
	// to it again (it serves reads), and gives up the reader to an instance of the newer release.
	phaseSuperseded
)

// viewStatus is everything this process knows of one view, as one value.
type viewStatus struct {
	phase      phase
	seq        uint64 // the last stream sequence the view is known to have applied
	err        error  // the last failure, until the view moves again
	rebuilding bool
	rebuild    *Progress // the running or the last rebuild
}

// viewState holds a view's status and lets callers wait for it to move. Its status changes in
// one place, change; readers take a copy.
type viewState struct {
	// apply is held while a batch is applied to the live tables, and while a rebuild swaps
	// them: a swap never happens under a batch in flight.
	apply sync.Mutex

	mu      sync.Mutex
	status  viewStatus
	changed chan struct{} // closed and replaced whenever seq moves
}

func newViewState() *viewState { return &viewState{changed: make(chan struct{})} }

// change applies f to the status; the sequence only ever moves forward.
func (s *viewState) change(f func(*viewStatus)) viewStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	before := s.status.seq
	f(&s.status)
	s.status.seq = max(s.status.seq, before)
	if s.status.seq != before {
		close(s.changed)
		s.changed = make(chan struct{})
	}
	return s.status
}

func (s *viewState) get() viewStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// applied records that the view's checkpoint reached seq, and clears its last failure.
func (s *viewState) applied(seq uint64) {
	s.change(func(st *viewStatus) { st.seq, st.err = max(st.seq, seq), nil })
}

// failed records err as the view's last failure.
func (s *viewState) failed(err error) { s.change(func(st *viewStatus) { st.err = err }) }

// reached reports whether the view is at seq, and a channel closed at its next move.
func (s *viewState) reached(seq uint64) (bool, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status.seq >= seq, s.changed
}

// startRebuild marks a rebuild as running; false if one already is.
func (s *viewState) startRebuild() bool {
	started := false
	s.change(func(st *viewStatus) {
		if !st.rebuilding {
			started, st.rebuilding, st.rebuild = true, true, &Progress{Started: time.Now()}
		}
	})
	return started
}

// Status is what a view has done: its checkpoint, its last error if the last batch failed,
// and where it stands.
type Status struct {
	Name    string
	Version int
	// "starting"; "rebuilding" (the live tables serve meanwhile); "live" (fed by this
	// instance's reader, which applies events if this instance holds the reader, or stands by
	// to: see events.ActiveGroup); "catching-up" (a batch failed on it, or it was behind: it
	// catches up from its own checkpoint and rejoins the reader); "superseded" (the database
	// holds a newer version of the view, which this instance neither applies nor rebuilds; it
	// serves reads)
	State      string
	Checkpoint uint64
	LastError  string
	Rebuild    *Progress // the running or the last rebuild, if any
}

func (st viewStatus) report() Status {
	out := Status{Checkpoint: st.seq, State: "starting"}
	switch {
	case st.phase == phaseSuperseded:
		out.State = "superseded"
	case st.rebuilding:
		out.State = "rebuilding"
	case st.phase == phaseAttached:
		out.State = "live"
	case st.phase == phaseDetached:
		out.State = "catching-up"
	}
	if st.err != nil {
		out.LastError = st.err.Error()
	}
	if st.rebuild != nil {
		p := *st.rebuild
		out.Rebuild = &p
	}
	return out
}
