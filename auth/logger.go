package auth

import "log/slog"

// UseLogger sends what the tokens have to say (the database away, and back) to log instead of
// slog.Default(). Call it before the tokens are used; it returns t.
func (t *Tokens) UseLogger(log *slog.Logger) *Tokens {
	t.log = log
	return t
}
