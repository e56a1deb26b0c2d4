package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats.go"
)

// logSettings say how serve logs: one slog logger for every part (the API, the views, the
// outbox, webhooks, Watermill, the embedded nats-server), at one level, in one format.
type logSettings struct {
	level, format string
}

// logFlags binds --log-level and --log-format.
func (f flags) logFlags(s *logSettings) {
	f.string(&s.level, "log-level", "info", "least severe records logged: debug, info, warn or error "+
		"(debug adds Watermill's and the embedded NATS server's own lines)")
	f.string(&s.format, "log-format", "text", "text (key=value lines) or json (one object a line)")
}

// logger is the logger the settings describe, writing to w.
func (s logSettings) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.level)); err != nil || strings.ContainsAny(s.level, "+-") {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", s.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(s.format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", s.format)
}

// natsLogOptions send a connection's asynchronous errors (a slow consumer, a permission
// refused), its losses and its reconnections to log: nats.go would print the errors to stderr in
// a format of its own, and say nothing of the rest.
func natsLogOptions(log *slog.Logger) []nats.Option {
	return []nats.Option{
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			attrs := []any{"error", err}
			if sub != nil {
				attrs = append(attrs, "subject", sub.Subject)
			}
			log.Warn("NATS: asynchronous error", attrs...)
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: closed on purpose
				log.Warn("NATS: connection lost; reconnecting", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("NATS: reconnected", "url", nc.ConnectedUrlRedacted())
		}),
	}
}

// describeDatabase names the SQL database a --db value opens, for the log: the dialect, and the
// file or the server (a password shows as xxxxx).
func describeDatabase(dsn, dataDir string) []any {
	switch {
	case dsn == "":
		return []any{"database", "sqlite", "path", filepath.Join(dataDir, "newsroom.db")}
	case strings.HasPrefix(dsn, "sqlite:"):
		return []any{"database", "sqlite", "path", strings.TrimPrefix(dsn, "sqlite:")}
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return []any{"database", "postgres"}
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return []any{"database", "postgres", "url", u.Redacted()}
}
