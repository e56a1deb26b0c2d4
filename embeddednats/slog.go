package embeddednats

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/nats-io/nats-server/v2/server"
)

// SlogLogger hands the embedded server's log to log, as Config.Logger: its warnings and errors
// at WARN and ERROR, its notices at INFO, except while it starts and stops, when they are the
// banner and the recovery of its files (some thirty lines, at DEBUG); its debug lines at DEBUG
// when log enables that level.
func SlogLogger(log *slog.Logger) server.Logger {
	return &slogLogger{log: log.With("from", "nats-server")}
}

type slogLogger struct {
	log   *slog.Logger
	quiet atomic.Bool // starting or stopping: notices are DEBUG
}

func (l *slogLogger) logf(level slog.Level, format string, v ...any) {
	ctx := context.Background()
	if l.log.Enabled(ctx, level) {
		l.log.Log(ctx, level, fmt.Sprintf(format, v...))
	}
}

func (l *slogLogger) Noticef(format string, v ...any) {
	level := slog.LevelInfo
	if l.quiet.Load() {
		level = slog.LevelDebug
	}
	l.logf(level, format, v...)
}

func (l *slogLogger) Warnf(format string, v ...any)  { l.logf(slog.LevelWarn, format, v...) }
func (l *slogLogger) Errorf(format string, v ...any) { l.logf(slog.LevelError, format, v...) }

// Fatalf is an error the server cannot go on after; it stops by itself.
func (l *slogLogger) Fatalf(format string, v ...any) { l.logf(slog.LevelError, format, v...) }
func (l *slogLogger) Debugf(format string, v ...any) { l.logf(slog.LevelDebug, format, v...) }

// Tracef is the protocol's every message: never enabled (SetLoggerV2's trace is off).
func (l *slogLogger) Tracef(format string, v ...any) { l.logf(slog.LevelDebug-4, format, v...) }

// debug reports whether the server should log its debug lines at all: they cost a formatting
// each, and a busy server has many.
func (l *slogLogger) debug() bool { return l.log.Enabled(context.Background(), slog.LevelDebug) }
