package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	nethttp "net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/embeddednats"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
)

// Raw limits: what this machine does with the same parts newsroom is built on, with the same
// payloads, durability and concurrency, and nothing of newsroom in between.

// RevisionEnvelope is the event a revision carrying body records: the payload of the raw publish
// limit, the same size as what the command benchmark appends.
func RevisionEnvelope(articleID string, version int, body string) ([]byte, string, error) {
	env, err := events.NewEnvelope(articleID, version, domain.Revised{Changes: domain.Changes{Body: &body}},
		domain.Actor{ID: uuid.NewString(), Role: domain.RoleReporter}, time.Now().UTC(),
		events.Trace{CorrelationID: uuid.NewString()})
	if err != nil {
		return nil, "", err
	}
	data, err := env.Marshal()
	return data, env.ID, err
}

// Rate is a count over a time.
type Rate struct {
	N       int64
	Elapsed time.Duration
	Errors  int64
}

// PerSecond is N per second.
func (r Rate) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.N) / r.Elapsed.Seconds()
}

// RawPublish measures synchronous JetStream publishes with the expected-last-subject-sequence
// header and a message id, as events.Store.Append makes them: an embedded server in dir with
// serve's durability (fsync before ack unless noSync), a stream configured as the log, one TCP
// connection shared by `workers` goroutines as serve shares one among its HTTP handlers, each
// goroutine publishing to its own articles (subjects) in turn.
func RawPublish(ctx context.Context, dir string, noSync bool, body string, workers int, d time.Duration) (Rate, error) {
	srv, err := embeddednats.Start(embeddednats.Config{StoreDir: filepath.Join(dir, "nats"), Listen: "127.0.0.1:0", NoSync: noSync})
	if err != nil {
		return Rate{}, err
	}
	defer srv.Stop()
	nc, err := nats.Connect(srv.ClientURL(), nats.Name("bench raw publish"))
	if err != nil {
		return Rate{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return Rate{}, err
	}
	if _, err := events.EnsureStream(ctx, js, events.StreamConfig(1)); err != nil {
		return Rate{}, err
	}
	payload, _, err := RevisionEnvelope(uuid.NewString(), 2, body)
	if err != nil {
		return Rate{}, err
	}
	const subjectsPerWorker = 16
	var total, failed atomic.Int64
	var firstErr atomic.Pointer[error]
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			subjects := make([]string, subjectsPerWorker)
			last := make([]uint64, subjectsPerWorker)
			for i := range subjects {
				subjects[i] = events.Subject(uuid.NewString())
			}
			for n := 0; ctx.Err() == nil; n++ {
				i := n % subjectsPerWorker
				msg := &nats.Msg{Subject: subjects[i], Data: payload, Header: nats.Header{}}
				ack, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(uuid.NewString()),
					jetstream.WithExpectLastSequencePerSubject(last[i]))
				if err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, &err)
					}
					continue
				}
				last[i] = ack.Sequence
				total.Add(1)
			}
		}()
	}
	wg.Wait()
	r := Rate{N: total.Load(), Elapsed: time.Since(start), Errors: failed.Load()}
	if err := firstErr.Load(); err != nil && r.N == 0 {
		return r, *err
	}
	return r, nil
}

// RawUpsert measures batched upserts of rows shaped like the published view's (an id, a
// version, the body and its HTML) into a fresh database opened as serve opens it (sqldb.Open:
// SQLite in dir with its pragmas, or dsn), batch rows per transaction, for d.
func RawUpsert(ctx context.Context, dsn, dir string, body, bodyHTML string, batch int, d time.Duration) (Rate, error) {
	db, err := sqldb.Open(ctx, dsn, dir)
	if err != nil {
		return Rate{}, err
	}
	defer db.Close()
	table := "bench_raw_upsert_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := db.Write.ExecContext(ctx, `CREATE TABLE `+table+` (id TEXT PRIMARY KEY, version BIGINT NOT NULL,
		body TEXT NOT NULL, body_html TEXT NOT NULL)`); err != nil {
		return Rate{}, err
	}
	defer db.Write.ExecContext(context.WithoutCancel(ctx), `DROP TABLE `+table) //nolint:errcheck
	upsert := db.Write.Rebind(`INSERT INTO ` + table + ` (id, version, body, body_html) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET version = excluded.version, body = excluded.body, body_html = excluded.body_html`)
	// Keys repeat, as an article's rows are rewritten by its later events: half the upserts
	// update a row written before.
	ids := make([]string, 0, 1<<16)
	deadline := time.Now().Add(d)
	start := time.Now()
	var n int64
	for time.Now().Before(deadline) && ctx.Err() == nil {
		tx, err := db.Write.BeginTxx(ctx, nil)
		if err != nil {
			return Rate{}, err
		}
		stmt, err := tx.PreparexContext(ctx, upsert)
		if err != nil {
			tx.Rollback() //nolint:errcheck
			return Rate{}, err
		}
		for i := 0; i < batch; i++ {
			var id string
			if len(ids) > 0 && (n+int64(i))%2 == 1 {
				id = ids[(int(n)+i*7919)%len(ids)]
			} else {
				id = uuid.NewString()
				if len(ids) < cap(ids) {
					ids = append(ids, id)
				}
			}
			if _, err := stmt.ExecContext(ctx, id, n+int64(i), body, bodyHTML); err != nil {
				tx.Rollback() //nolint:errcheck
				return Rate{}, err
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			return Rate{}, err
		}
		n += int64(batch)
	}
	return Rate{N: n, Elapsed: time.Since(start)}, nil
}

// RawOrderedRead measures reading the log (stream NEWSROOM) from its start to its end in order,
// as a replay reads it (an ordered consumer fetching ahead as events.Store.ReadLog does), and
// nothing else: no decoding, no SQL. It counts messages, not positions (erased events are gone).
func RawOrderedRead(ctx context.Context, js jetstream.JetStream, batch int) (Rate, error) {
	start := time.Now()
	consumer, err := js.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.SubjectAll},
	})
	if err != nil {
		return Rate{}, err
	}
	it, err := consumer.Messages(jetstream.PullMaxMessagesWithBytesLimit(max(2*batch, 256), events.MaxBatchBytes))
	if err != nil {
		return Rate{}, err
	}
	defer it.Stop()
	var n int64
	for {
		msg, err := it.Next()
		if err != nil {
			return Rate{N: n, Elapsed: time.Since(start)}, err
		}
		n++
		md, err := msg.Metadata()
		if err != nil {
			return Rate{}, err
		}
		if md.NumPending == 0 {
			return Rate{N: n, Elapsed: time.Since(start)}, nil
		}
	}
}

// RawBulkInsert measures writing the rows the views hold (after a replay) into fresh copies of
// their tables, as a rebuild writes its fresh generation, with nothing of newsroom in between:
// the same DDL (tables first, secondary indexes after), the same multi-row statements
// (sqldb.Bulk), rowsPerTx rows per transaction, rows in the order the tables hold them (article
// ids are random, as in the log). Only the writes are timed, not reading the rows back. It is
// the bound of any replay into that database: replay writes at least these rows.
func RawBulkInsert(ctx context.Context, db *sqldb.DB, views []projections.View, rowsPerTx int) (Rate, error) {
	raw := projections.Tables{Suffix: "_raw", Generation: 1 << 20}
	var r Rate
	timed := func(fn func() error) error {
		start := time.Now()
		err := fn()
		r.Elapsed += time.Since(start)
		return err
	}
	var indexes []string
	for _, v := range views {
		tables, idx := projections.RebuildSchema(v, db.Dialect, raw)
		indexes = append(indexes, idx...)
		for _, base := range v.Tables() {
			if _, err := db.Write.ExecContext(ctx, `DROP TABLE IF EXISTS `+raw.Name(base)); err != nil {
				return Rate{}, err
			}
			defer db.Write.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS `+raw.Name(base)) //nolint:errcheck
		}
		if err := timed(func() error { return execAll(ctx, db, tables) }); err != nil {
			return Rate{}, err
		}
		for _, base := range v.Tables() {
			n, err := copyRows(ctx, db, base, raw.Name(base), rowsPerTx, timed)
			if err != nil {
				return Rate{}, fmt.Errorf("raw bulk insert into %s: %w", raw.Name(base), err)
			}
			r.N += n
		}
	}
	return r, timed(func() error { return execAll(ctx, db, indexes) })
}

func execAll(ctx context.Context, db *sqldb.DB, ddl []string) error {
	for _, stmt := range ddl {
		if _, err := db.Write.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// copyRows copies table from into table to, rowsPerTx rows per transaction, and returns how
// many; timed wraps each write transaction. SQLite only (it pages by rowid).
func copyRows(ctx context.Context, db *sqldb.DB, from, to string, rowsPerTx int, timed func(func() error) error) (int64, error) {
	// The stored columns only: a generated one (public_articles.listed) cannot be inserted.
	var columns []string
	if err := db.Read.SelectContext(ctx, &columns, `SELECT name FROM pragma_table_xinfo(?) WHERE hidden = 0 ORDER BY cid`, from); err != nil {
		return 0, err
	}
	insert := sqldb.Bulk{Table: to, Columns: columns}
	page := `SELECT rowid, ` + strings.Join(columns, ", ") + ` FROM ` + from + ` WHERE rowid > ? ORDER BY rowid LIMIT ?`
	var n int64
	var after int64
	for {
		rows, err := db.Read.QueryxContext(ctx, page, after, rowsPerTx)
		if err != nil {
			return n, err
		}
		var args []any
		for rows.Next() {
			values, err := rows.SliceScan()
			if err != nil {
				rows.Close()
				return n, err
			}
			after = values[0].(int64)
			args = append(args, values[1:]...)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, err
		}
		if len(args) == 0 {
			return n, nil
		}
		err = timed(func() error {
			tx, err := db.Write.BeginTxx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback() //nolint:errcheck
			if err := insert.Exec(ctx, tx, args); err != nil {
				return err
			}
			return tx.Commit()
		})
		if err != nil {
			return n, err
		}
		n += int64(len(args) / len(columns))
	}
}

// RawEcho serves, for each path in bodies, its JSON from memory with Echo, nothing else in
// between: the bound of any public read. It returns the address and a function that stops it.
func RawEcho(bodies map[string][]byte) (string, func(), error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/*", func(c echo.Context) error {
		body, ok := bodies[c.Request().URL.Path]
		if !ok {
			return echo.ErrNotFound
		}
		return c.JSONBlob(nethttp.StatusOK, body)
	})
	return serveRaw(e)
}

// RawEchoAs serves bodies as RawEcho does, of another media type and with their length, as
// the public pages go out (one piece, not chunked): the bound of a page.
func RawEchoAs(bodies map[string][]byte, contentType string) (string, func(), error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/*", func(c echo.Context) error {
		body, ok := bodies[c.Request().URL.Path]
		if !ok {
			return echo.ErrNotFound
		}
		c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
		return c.Blob(nethttp.StatusOK, contentType, body)
	})
	return serveRaw(e)
}

func serveRaw(e *echo.Echo) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &nethttp.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, nethttp.ErrServerClosed) {
			fmt.Println("raw echo:", err)
		}
	}()
	return ln.Addr().String(), func() {
		srv.Close()
		<-done
	}, nil
}

// Humanize formats a rate with thousands separators.
func Humanize(f float64) string {
	s := strconv.FormatInt(int64(f+0.5), 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
