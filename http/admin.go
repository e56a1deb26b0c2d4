package http

import (
	"context"
	"errors"
	nethttp "net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/projections"
)

// Projections is the operators' handle on the views; *projections.Runner implements it.
type Projections interface {
	Statuses() []projections.Status
	// Rebuild starts a blue/green rebuild; it returns projections.ErrNoView or
	// projections.ErrRebuilding.
	Rebuild(name string) error
}

// projectionJSON is one view as operators see it.
type projectionJSON struct {
	Name        string       `json:"name"`
	Version     int          `json:"version"`
	State       string       `json:"state"`
	Checkpoint  uint64       `json:"checkpoint"`
	LogPosition uint64       `json:"log_position"`
	Lag         uint64       `json:"lag"`
	LastError   string       `json:"last_error,omitempty"`
	Rebuild     *rebuildJSON `json:"rebuild,omitempty"`
}

type rebuildJSON struct {
	Applied    uint64    `json:"applied"`
	Checkpoint uint64    `json:"checkpoint"`
	Target     uint64    `json:"target"`
	From       uint64    `json:"from"`
	StartedAt  time.Time `json:"started_at"`
	Rate       float64   `json:"events_per_second"`
	Done       bool      `json:"done"`
}

type adminAPI struct {
	projections Projections
	readiness   Readiness
}

// requireRole refuses callers below role min.
func requireRole(min domain.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if p := principal(c); !p.Role.AtLeast(min) {
				return &domain.RuleError{Kind: domain.ErrForbidden,
					Reason: "this operator endpoint needs the " + string(min) + " role; yours is " + roleName(p.Role)}
			}
			return next(c)
		}
	}
}

func roleName(r domain.Role) string {
	if r == "" {
		return "none"
	}
	return string(r)
}

func (api *adminAPI) list(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	last, err := api.readiness.LogPosition(ctx)
	if err != nil {
		return err
	}
	statuses := api.projections.Statuses()
	items := make([]projectionJSON, len(statuses))
	for i, s := range statuses {
		p := projectionJSON{Name: s.Name, Version: s.Version, State: s.State, Checkpoint: s.Checkpoint,
			LogPosition: last, LastError: s.LastError}
		if last > s.Checkpoint {
			p.Lag = last - s.Checkpoint
		}
		if r := s.Rebuild; r != nil {
			p.Rebuild = &rebuildJSON{Applied: r.Applied, Checkpoint: r.Checkpoint, Target: r.Target, From: r.From,
				StartedAt: r.Started.UTC(), Rate: r.Rate(), Done: r.Done}
		}
		items[i] = p
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(nethttp.StatusOK, map[string]any{"items": items})
}

func (api *adminAPI) rebuild(c echo.Context) error {
	name := c.Param("name")
	err := api.projections.Rebuild(name)
	switch {
	case errors.Is(err, projections.ErrNoView):
		return echo.NewHTTPError(nethttp.StatusNotFound, "no view named "+name)
	case errors.Is(err, projections.ErrRebuilding):
		return &domain.RuleError{Kind: domain.ErrInvalidTransition, Reason: "a rebuild of " + name + " is already running; follow it at GET /api/v1/projections"}
	case err != nil:
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/projections")
	return c.JSON(nethttp.StatusAccepted, map[string]string{"view": name, "status": "rebuilding",
		"follow": "/api/v1/projections"})
}
