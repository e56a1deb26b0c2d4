package http

import (
	"context"
	nethttp "net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/projections"
)

type componentJSON struct {
	Status   string `json:"status"` // ok, lagging or down
	Position uint64 `json:"position"`
	Lag      uint64 `json:"lag,omitempty"`
	Error    string `json:"error,omitempty"`
}

// readyTimeout bounds each question /readyz asks, so that a database that hangs rather than
// fails (a dropped network) still gets an answer to the health check in time.
const readyTimeout = 2 * time.Second

// What /readyz says about a component that is down. The errors themselves are for admins
// (GET /api/v1/projections, the log): they name articles and hosts.
const (
	logDownReason      = "the event log does not answer: commands are refused"
	databaseDownReason = "the database does not answer: views cannot apply events and reads from them fail; commands are still accepted"
	viewDBDownReason   = "database unreachable: the view resumes where it stopped when the database returns"
	viewFailedReason   = "the view's last event failed; see GET /api/v1/projections"
)

// readyz answers 200 when this instance can accept commands (the log answers), 503 otherwise.
// The body says which parts are down and why: "status" is ok, degraded (commands are accepted
// but the database or a view is down) or down; then the log, the database and each view, with
// its position and how far it is behind the log; and the version this instance runs.
func readyz(r Readiness, version string) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		// The views' positions are read from the database: ask while the log and the database
		// are asked, so that a hanging database costs one timeout, not three.
		views := make(chan []projections.Status, 1)
		go func() { views <- r.Views() }()

		logCtx, cancel := context.WithTimeout(ctx, readyTimeout)
		last, logErr := r.LogPosition(logCtx)
		cancel()
		dbCtx, cancel := context.WithTimeout(ctx, readyTimeout)
		dbPosition, dbErr := r.Database(dbCtx)
		cancel()

		overall := "ok"
		logStatus := componentJSON{Status: "ok", Position: last}
		if logErr != nil {
			logStatus = componentJSON{Status: "down", Error: logDownReason}
			overall = "down"
		}
		dbStatus := componentJSON{Status: "ok", Position: dbPosition}
		if dbErr != nil {
			dbStatus = componentJSON{Status: "down", Error: databaseDownReason}
			if overall == "ok" {
				overall = "degraded"
			}
		}
		viewReport := map[string]componentJSON{}
		for _, v := range <-views {
			s := componentJSON{Status: "ok", Position: v.Checkpoint}
			if logErr == nil && last > v.Checkpoint {
				s.Status, s.Lag = "lagging", last-v.Checkpoint
			}
			switch {
			case dbErr != nil:
				s.Status, s.Error = "down", viewDBDownReason
			case v.LastError != "":
				s.Status, s.Error = "down", viewFailedReason
			}
			if s.Status == "down" && overall == "ok" {
				overall = "degraded"
			}
			viewReport[v.Name] = s
		}
		status := nethttp.StatusOK
		if logErr != nil {
			status = nethttp.StatusServiceUnavailable
			c.Response().Header().Set("Retry-After", "1")
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.JSON(status, map[string]any{"status": overall, "log": logStatus, "database": dbStatus, "views": viewReport,
			"version": version})
	}
}
