package auth

import (
	"log/slog"
	"time"
)

// SetClock makes t read the time from now, so tests can move time without sleeping.
func SetClock(t *Tokens, now func() time.Time) { t.now = now }

// SetLogger makes t log to log instead of slog.Default().
func SetLogger(t *Tokens, log *slog.Logger) { t.log = log }

// SetMaxVerified bounds how many verified secrets t remembers (10,000 by default).
func SetMaxVerified(t *Tokens, n int) { t.maxVerified = n }

// Remembered is how many verified secrets t holds in memory.
func Remembered(t *Tokens) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.verified)
}

// MaxVerified is how many verified secrets Tokens remember by default.
const MaxVerified = maxVerified
