package http

import (
	"container/list"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"
)

// Failed sign-ins (POST /api/v1/session) and requests with a wrong bearer token are limited per
// client address, so that nobody tries tokens at the speed of the network. The limit is kept in
// this instance's memory: behind a load balancer, an address gets it on each instance.
const (
	// DefaultFailureLimit is how many failures an address may have within FailureWindow; the
	// next attempt is refused until the window that began with its first failure ends.
	DefaultFailureLimit = 10
	// FailureWindow is how long failures are remembered.
	FailureWindow = time.Minute
	// maxFailingAddresses bounds the addresses remembered: past it, the one whose window began
	// first is forgotten. An attacker with many addresses cannot grow memory beyond it; each of
	// its addresses has its own limit in any case.
	maxFailingAddresses = 10_000
)

// tooManyFailuresError refuses an attempt from an address past its limit; Retry-After says
// when its window ends. Its text is written for the client.
type tooManyFailuresError struct {
	limit      int
	window     time.Duration
	retryAfter time.Duration
}

func (e *tooManyFailuresError) Error() string {
	return fmt.Sprintf("%d failed sign-ins or wrong bearer tokens came from this address within %s; no token is checked for it for %d s (Retry-After)",
		e.limit, e.window, e.retryAfterSeconds())
}

// retryAfterSeconds is Retry-After's value: whole seconds, rounded up.
func (e *tooManyFailuresError) retryAfterSeconds() int {
	return int(math.Ceil(e.retryAfter.Seconds()))
}

// failureLimiter counts failures per client address within a window (fixed: it starts at an
// address's first failure). A success is neither counted nor refused by it: the caller asks
// before checking a credential (allow) and reports only failures (failed).
type failureLimiter struct {
	limit  int
	window time.Duration
	max    int
	now    func() time.Time

	mu     sync.Mutex
	byAddr map[netip.Prefix]*list.Element // of *failures
	order  *list.List                     // oldest window first
}

type failures struct {
	addr  netip.Prefix
	since time.Time // the window's start
	n     int
}

func newFailureLimiter(limit int, window time.Duration) *failureLimiter {
	if limit <= 0 {
		limit = DefaultFailureLimit
	}
	return &failureLimiter{limit: limit, window: window, max: maxFailingAddresses, now: time.Now,
		byAddr: map[netip.Prefix]*list.Element{}, order: list.New()}
}

// clientKey is what failures are counted by: the address, or its /64 for IPv6, which one
// subscriber usually holds whole (counting each of its addresses would give it 2^64 limits).
// An address that does not parse counts as one shared key.
func clientKey(ip string) netip.Prefix {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.WithZone("").Prefix(64)
	return p
}

// allow returns a *tooManyFailuresError if ip is past its limit, else nil.
func (l *failureLimiter) allow(ip string) error {
	if l == nil {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.byAddr[clientKey(ip)]
	if !ok {
		return nil
	}
	f := el.Value.(*failures)
	end := f.since.Add(l.window)
	if !now.Before(end) || f.n < l.limit {
		return nil
	}
	return &tooManyFailuresError{limit: l.limit, window: l.window, retryAfter: end.Sub(now)}
}

// admit refuses an attempt from ip past its limit, unless its secret is one the database
// confirmed before: one stale script or guesser behind an office's NAT does not lock out the
// rest, and one who guesses tokens cannot hold such a secret.
func (l *failureLimiter) admit(ip, secret string, tokens Authenticator) error {
	if err := l.allow(ip); err != nil && !tokens.Known(secret) {
		return err
	}
	return nil
}

// failed counts a failure of ip.
func (l *failureLimiter) failed(ip string) {
	if l == nil {
		return
	}
	now := l.now()
	key := clientKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.byAddr[key]; ok {
		f := el.Value.(*failures)
		if now.Before(f.since.Add(l.window)) {
			f.n++
			return
		}
		// Its window ended: a new one begins, the newest.
		f.since, f.n = now, 1
		l.order.MoveToBack(el)
		return
	}
	// Forget what has expired, then the oldest windows if there are still too many.
	for front := l.order.Front(); front != nil; front = l.order.Front() {
		f := front.Value.(*failures)
		if now.Before(f.since.Add(l.window)) && l.order.Len() < l.max {
			break
		}
		l.order.Remove(front)
		delete(l.byAddr, f.addr)
	}
	l.byAddr[key] = l.order.PushBack(&failures{addr: key, since: now, n: 1})
}

// remembered is how many addresses the limiter holds (for tests).
func (l *failureLimiter) remembered() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.byAddr)
}
