package http

import (
	"context"
	nethttp "net/http"
	"time"

	"github.com/labstack/echo/v4"
)

type componentJSON struct {
	Status   string `json:"status"` // ok, lagging or down
	Position uint64 `json:"position"`
	Lag      uint64 `json:"lag,omitempty"`
	Error    string `json:"error,omitempty"`
}

// readyz answers 200 when this instance can accept commands (the log answers), 503 otherwise;
// the body reports the log and each view.
func readyz(r Readiness) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		report := map[string]any{}
		last, err := r.LogPosition(ctx)
		logStatus := componentJSON{Status: "ok", Position: last}
		if err != nil {
			logStatus = componentJSON{Status: "down", Error: "the event log does not answer"}
		}
		report["log"] = logStatus
		views := map[string]componentJSON{}
		for _, v := range r.Views() {
			s := componentJSON{Status: "ok", Position: v.Checkpoint}
			switch {
			case v.LastError != "":
				// The error itself is for admins (GET /api/v1/projections): it names articles.
				s.Status, s.Error = "down", "the view's last event failed; see GET /api/v1/projections"
			case err == nil && last > v.Checkpoint:
				s.Status, s.Lag = "lagging", last-v.Checkpoint
			}
			views[v.Name] = s
		}
		report["views"] = views
		status := nethttp.StatusOK
		if err != nil {
			status = nethttp.StatusServiceUnavailable
			c.Response().Header().Set("Retry-After", "1")
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.JSON(status, report)
	}
}
