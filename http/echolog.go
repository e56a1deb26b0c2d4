package http

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/labstack/gommon/log"
)

// echoLogger hands whatever logs through Echo's own logger (c.Logger(), e.Logger: middleware,
// a handler written that way) to the server's slog logger, at the level asked for. Echo's
// default logger writes to stdout in a format of its own and drops everything below ERROR.
type echoLogger struct {
	echo.Logger // prefix, level and output settings; Fatal and Panic, which Echo never calls
	log         *slog.Logger
}

func newEchoLogger(base echo.Logger, log *slog.Logger) echoLogger {
	return echoLogger{Logger: base, log: log.With("from", "echo")}
}

func (l echoLogger) text(level slog.Level, i ...any) {
	l.log.Log(context.Background(), level, fmt.Sprint(i...))
}
func (l echoLogger) textf(level slog.Level, format string, args ...any) {
	l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
}
func (l echoLogger) json(level slog.Level, j log.JSON) {
	attrs := make([]any, 0, 2*len(j))
	for k, v := range j {
		attrs = append(attrs, k, v)
	}
	l.log.Log(context.Background(), level, "echo", attrs...)
}

func (l echoLogger) Print(i ...any)                 { l.text(slog.LevelInfo, i...) }
func (l echoLogger) Printf(format string, a ...any) { l.textf(slog.LevelInfo, format, a...) }
func (l echoLogger) Printj(j log.JSON)              { l.json(slog.LevelInfo, j) }
func (l echoLogger) Debug(i ...any)                 { l.text(slog.LevelDebug, i...) }
func (l echoLogger) Debugf(format string, a ...any) { l.textf(slog.LevelDebug, format, a...) }
func (l echoLogger) Debugj(j log.JSON)              { l.json(slog.LevelDebug, j) }
func (l echoLogger) Info(i ...any)                  { l.text(slog.LevelInfo, i...) }
func (l echoLogger) Infof(format string, a ...any)  { l.textf(slog.LevelInfo, format, a...) }
func (l echoLogger) Infoj(j log.JSON)               { l.json(slog.LevelInfo, j) }
func (l echoLogger) Warn(i ...any)                  { l.text(slog.LevelWarn, i...) }
func (l echoLogger) Warnf(format string, a ...any)  { l.textf(slog.LevelWarn, format, a...) }
func (l echoLogger) Warnj(j log.JSON)               { l.json(slog.LevelWarn, j) }
func (l echoLogger) Error(i ...any)                 { l.text(slog.LevelError, i...) }
func (l echoLogger) Errorf(format string, a ...any) { l.textf(slog.LevelError, format, a...) }
func (l echoLogger) Errorj(j log.JSON)              { l.json(slog.LevelError, j) }

// logPanic logs a handler's panic, with its goroutine's stack, at ERROR; the error handler then
// answers 500.
func logPanic(log *slog.Logger) middleware.LogErrorFunc {
	return func(c echo.Context, err error, stack []byte) error {
		log.Error("handler panicked", "error", err, "method", c.Request().Method, "path", c.Path(),
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID), "stack", string(stack))
		return err
	}
}
