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
