package auth

import "time"

// SetClock makes t read the time from now, so tests can move time without sleeping.
func SetClock(t *Tokens, now func() time.Time) { t.now = now }
