package projections

import (
	"strings"

	"github.com/newsroom/newsroom/sqldb"
)

// bulk is b with its {table} names resolved for this generation.
func (t Tables) bulk(b sqldb.Bulk) sqldb.Bulk {
	b.Table = t.names(b.Table)
	return b
}

// columnList splits a comma-separated column list such as deskColumns.
func columnList(columns string) []string {
	list := strings.Split(columns, ",")
	for i := range list {
		list[i] = strings.TrimSpace(list[i])
	}
	return list
}

// RebuildSchema is view v's DDL for the fresh tables t of a rebuild, in the order a rebuild
// runs it: tables first, poured full from the log, then the secondary indexes (see deferIndexes).
func RebuildSchema(v View, d sqldb.Dialect, t Tables) (tables, indexes []string) {
	return deferIndexes(v.Schema(d, t))
}

// deferIndexes splits a view's DDL into what a fresh generation needs while the log is poured
// into it (its tables, with their primary keys and unique constraints) and its secondary
// indexes, which a rebuild creates once after its long pass: maintaining them row by row while
// the tables grow cost more than building them at the end, and no write path needs them (the
// views write by primary key).
func deferIndexes(ddl []string) (tables, indexes []string) {
	for _, stmt := range ddl {
		trimmed := strings.TrimSpace(stmt)
		if rest, ok := strings.CutPrefix(trimmed, "CREATE INDEX "); ok {
			// IF NOT EXISTS: a rebuild resumed after an interruption may have built them.
			indexes = append(indexes, "CREATE INDEX IF NOT EXISTS "+rest)
			continue
		}
		tables = append(tables, stmt)
	}
	return tables, indexes
}
