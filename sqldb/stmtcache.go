package sqldb

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
)

// maxCachedStatements bounds the prepared statements each SQLite connection keeps.
const maxCachedStatements = 256

// cachingConnector hands out SQLite connections that keep their prepared statements by query
// text. modernc's driver parses and plans every statement it is given (ExecContext and
// QueryContext prepare and finalize each time), which profiles showed as ~30 % of a view's CPU
// when it applies events one at a time, and most of a read by key. SQLite re-prepares a kept
// statement by itself when the schema changed (a view's tables swapped, say).
type cachingConnector struct {
	driver.Connector
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	inner, ok := conn.(interface {
		driver.ConnPrepareContext
		driver.ConnBeginTx
		driver.ExecerContext
		driver.QueryerContext
	})
	if !ok {
		return conn, nil // not the driver this was written for: leave it as it is
	}
	return &cachingConn{Conn: conn, inner: inner, stmts: map[string]*cachedStmt{}}, nil
}

// cachingConn is used by one goroutine at a time, as database/sql guarantees.
type cachingConn struct {
	driver.Conn
	inner interface {
		driver.ConnPrepareContext
		driver.ConnBeginTx
		driver.ExecerContext
		driver.QueryerContext
	}
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	stmt     driver.Stmt
	inUse    bool // its rows are still open
	detached bool // dropped from the cache while in use: closed with its rows
}

// cacheable: plain data statements only; DDL, scripts and transaction control go straight to
// the driver.
func cacheable(query string) bool {
	if strings.Contains(query, ";") {
		return false
	}
	q := strings.TrimLeft(query, " \t\r\n")
	if len(q) < 6 {
		return false
	}
	switch strings.ToUpper(q[:6]) {
	case "SELECT", "INSERT", "UPDATE", "DELETE":
		return true
	}
	return false
}

// statement returns the kept statement for query, preparing it if needed; nil when query is not
// kept or its statement is busy.
func (c *cachingConn) statement(ctx context.Context, query string) (*cachedStmt, error) {
	if !cacheable(query) {
		return nil, nil
	}
	if s, ok := c.stmts[query]; ok {
		if s.inUse {
			return nil, nil
		}
		return s, nil
	}
	stmt, err := c.inner.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	_, canQuery := stmt.(driver.StmtQueryContext)
	if _, canExec := stmt.(driver.StmtExecContext); !canQuery || !canExec {
		stmt.Close()
		return nil, nil
	}
	if len(c.stmts) >= maxCachedStatements {
		c.closeStatements()
	}
	s := &cachedStmt{stmt: stmt}
	c.stmts[query] = s
	return s, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.inner.ExecContext(ctx, query, args)
	}
	return s.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.inner.QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.inUse = true
	return &cachedRows{Rows: rows, stmt: s}, nil
}

// PrepareContext hands out the kept statement for query, if it is free, until the caller
// closes it (views prepare their upserts once per batch: one event per batch when live).
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.inner.PrepareContext(ctx, query)
	}
	s.inUse = true
	return &lentStmt{cachedStmt: s}, nil
}

// lentStmt is a kept statement lent to a caller of Prepare: closing it gives it back.
type lentStmt struct {
	*cachedStmt
	closed bool
}

func (l *lentStmt) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	l.inUse = false
	if l.detached {
		return l.stmt.Close()
	}
	return nil
}

func (l *lentStmt) NumInput() int { return l.stmt.NumInput() }

func (l *lentStmt) Exec(args []driver.Value) (driver.Result, error) {
	return l.stmt.Exec(args) //nolint:staticcheck // driver.Stmt requires it
}

func (l *lentStmt) Query(args []driver.Value) (driver.Rows, error) {
	return l.stmt.Query(args) //nolint:staticcheck // driver.Stmt requires it
}

func (l *lentStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return l.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (l *lentStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return l.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.BeginTx(ctx, opts)
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *cachingConn) closeStatements() error {
	var errs []error
	for q, s := range c.stmts {
		if s.inUse {
			s.detached = true
		} else {
			errs = append(errs, s.stmt.Close())
		}
		delete(c.stmts, q)
	}
	return errors.Join(errs...)
}

func (c *cachingConn) Close() error {
	return errors.Join(c.closeStatements(), c.Conn.Close())
}

// cachedRows frees its statement for the next query once closed.
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	r.stmt.inUse = false
	err := r.Rows.Close()
	if r.stmt.detached {
		err = errors.Join(err, r.stmt.stmt.Close())
	}
	return err
}
