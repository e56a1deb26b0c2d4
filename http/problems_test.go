package http

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestErrorHandlerLogs: a failure nobody expected is logged as an error and answered 500; a
// request the client abandoned is neither (its context error is not a failure of newsroom's).
func TestErrorHandlerLogs(t *testing.T) {
	for _, tt := range []struct {
		name      string
		abandoned bool
		wantLog   string
		wantCode  int
	}{
		{"unexpected failure", false, "level=ERROR msg=\"request failed\"", 500},
		{"client hung up", true, "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logged bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logged, nil))
			ctx, cancel := context.WithCancel(context.Background())
			if tt.abandoned {
				cancel()
			}
			defer cancel()
			req := httptest.NewRequestWithContext(ctx, nethttp.MethodGet, "/public/v1/articles", nil)
			rec := httptest.NewRecorder()
			c := echo.New().NewContext(req, rec)
			errorHandler(log)(errors.Join(errors.New("query failed"), ctx.Err()), c)
			if got := logged.String(); (tt.wantLog == "") != (got == "") || !strings.Contains(got, tt.wantLog) {
				t.Errorf("logged %q; want %q", got, tt.wantLog)
			}
			if tt.wantCode == 0 && c.Response().Committed {
				t.Errorf("answered %d to a client that hung up; want no answer", rec.Code)
			}
			if tt.wantCode != 0 && rec.Code != tt.wantCode {
				t.Errorf("answered %d; want %d", rec.Code, tt.wantCode)
			}
		})
	}
}
