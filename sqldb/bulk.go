package sqldb

import (
	"context"
	"fmt"
	"math/bits"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Bulk writes many rows of one table with multi-row statements, `INSERT INTO t (…) VALUES
// (…), (…) … <Tail>`, instead of one statement per row: a view rebuilt from a long log writes
// hundreds of thousands of rows, and one round through database/sql and the driver per row cost
// more than SQLite's own work.
//
// A statement holds at most maxBulkRows rows and never more bound values than the dialect
// allows (SQLite 32,766, PostgreSQL 65,535). The rows are cut into chunks whose sizes are powers
// of two, so that a table is written through at most a dozen distinct statement texts, which
// the statement caches of both drivers keep prepared.
type Bulk struct {
	Table   string   // the table's name, as the statement says it
	Columns []string // the columns each row gives, in order
	Tail    string   // what follows the VALUES list, such as an ON CONFLICT clause; may be empty
}

// maxBulkRows bounds the rows of one statement: beyond a few hundred, a larger statement saves
// nothing measurable and costs memory in every connection's statement cache.
const maxBulkRows = 256

// Bound values per statement: SQLITE_MAX_VARIABLE_NUMBER's default since SQLite 3.32, and the
// 16-bit parameter count of PostgreSQL's wire protocol.
const (
	sqliteMaxVars   = 32766
	postgresMaxVars = 65535
)

// Exec writes the rows whose values args holds, len(Columns) values per row, row after row, in
// tx, in order. With an ON CONFLICT … DO UPDATE tail, no two rows may have the same key
// (PostgreSQL refuses a statement that would update a row twice): fold them first.
func (b Bulk) Exec(ctx context.Context, tx *sqlx.Tx, args []any) error {
	cols := len(b.Columns)
	if cols == 0 || len(args)%cols != 0 {
		return fmt.Errorf("bulk insert into %s: %d values for %d columns", b.Table, len(args), cols)
	}
	maxVars := sqliteMaxVars
	if tx.DriverName() == "pgx" {
		maxVars = postgresMaxVars
	}
	perStatement := min(maxBulkRows, maxVars/cols)
	perStatement = 1 << (bits.Len(uint(perStatement)) - 1) // a power of two
	for rows := len(args) / cols; rows > 0; {
		n := min(perStatement, 1<<(bits.Len(uint(rows))-1))
		if _, err := tx.ExecContext(ctx, tx.Rebind(b.statement(n)), args[:n*cols]...); err != nil {
			return fmt.Errorf("bulk insert into %s: %w", b.Table, err)
		}
		args, rows = args[n*cols:], rows-n
	}
	return nil
}

// statement is the text of a statement that writes rows rows.
func (b Bulk) statement(rows int) string {
	var s strings.Builder
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(b.Columns)), ", ") + ")"
	s.Grow(len(b.Table) + len(b.Tail) + 64 + rows*(len(row)+2))
	s.WriteString("INSERT INTO ")
	s.WriteString(b.Table)
	s.WriteString(" (")
	s.WriteString(strings.Join(b.Columns, ", "))
	s.WriteString(") VALUES ")
	for i := range rows {
		if i > 0 {
			s.WriteString(", ")
		}
		s.WriteString(row)
	}
	if b.Tail != "" {
		s.WriteByte(' ')
		s.WriteString(b.Tail)
	}
	return s.String()
}
