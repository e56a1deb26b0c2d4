package sqldb

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// IsUniqueViolation reports whether err (or an error it wraps) is a unique or primary-key
// constraint violation, from either driver.
func IsUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505" // unique_violation; PostgreSQL reports primary keys the same way
	}
	return false
}

// IsUnavailable reports whether err (or an error it wraps) says the database did not answer:
// a connection that could not be opened, was lost, or timed out, rather than a query it
// refused. Such a failure is temporary; the caller should answer 503 and let the client retry.
func IsUnavailable(err error) bool {
	var (
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)
	switch {
	case err == nil:
		return false
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		return true
	}
	return false
}
