package main

// Replay history: DESIGN.md's rule must hold in practice — drop every view, replay the log, and
// get the same rows, byte for byte, as the views the live handlers built one event at a time;
// whatever the batch size, however often a replay is killed and resumed, and while serve keeps
// serving through blue/green rebuilds.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	nethttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/editorial"
	"github.com/newsroom/newsroom/embeddednats"
	"github.com/newsroom/newsroom/events"
	"github.com/newsroom/newsroom/projections"
	"github.com/newsroom/newsroom/sqldb"
)

// staff are the tokens a workload acts with: several users in every role.
type staff struct {
	reporters []string
	editors   []string
	admin     string
	// kills: some published stories are killed. Off where readers check that what was
	// published stays (a kill takes an article out of every public list for good).
	kills bool
}

func createStaff(tb testing.TB, dir string) staff {
	tb.Helper()
	return staff{
		reporters: []string{createToken(tb, dir, "rita", "reporter"), createToken(tb, dir, "rob", "reporter")},
		editors:   []string{createToken(tb, dir, "ed", "editor"), createToken(tb, dir, "eva", "editor")},
		admin:     createToken(tb, dir, "ada", "admin"),
	}
}

// story is one article a workload made.
type story struct {
	id       string
	status   string
	slug     string // once published
	position uint64 // X-Newsroom-Position of its last command
	version  int
}

// send is call for goroutines other than the test's own: it returns an error where call fails
// the test, and an error for any status but want. Its exchanges are checked against the API's
// contract as call's are, and reported when tb ends.
func send(tb testing.TB, want int, method, url, token string, body any, headers ...string) (response, error) {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		reader = bytes.NewReader(data)
	}
	req, err := nethttp.NewRequest(method, url, reader)
	if err != nil {
		return response{}, err
	}
	if reader != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := nethttp.Client{Timeout: 30 * time.Second, Transport: checkedClient(tb).Transport}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: data}
	if r.status != want {
		return r, fmt.Errorf("%s %s: status %d; want %d\n%s", method, url, r.status, want, data)
	}
	return r, nil
}

// writeStory takes article i through the workflow over the API, to the state i selects: a draft,
// in review, changes requested, approved, published, corrected once or twice, retracted, spiked;
// in several languages, with and without tags, written by reporters and editors.
func writeStory(tb testing.TB, base string, s staff, i int) (story, error) {
	api := base + "/api/v1/articles"
	author := s.reporters[i%2]
	if i%7 == 3 {
		author = s.editors[0] // editors write too; the other one approves
	}
	approver := s.editors[(i/2)%2]
	if approver == author {
		approver = s.editors[1]
	}
	type request struct {
		want                int
		method, path, token string
		body                any
		headers             []string
	}
	var st story
	// do sends the requests in order, up to the first that fails.
	do := func(reqs ...request) error {
		for _, q := range reqs {
			url := api
			if st.id != "" {
				url += "/" + st.id
			}
			r, err := send(tb, q.want, q.method, url+q.path, q.token, q.body, q.headers...)
			if err != nil {
				return err
			}
			var a struct {
				ID      string `json:"id"`
				Status  string `json:"status"`
				Slug    string `json:"slug"`
				Version int    `json:"version"`
			}
			if err := json.Unmarshal(r.body, &a); err != nil {
				return fmt.Errorf("%s %s: %w\n%s", q.method, q.path, err, r.body)
			}
			pos, err := strconv.ParseUint(r.header.Get("X-Newsroom-Position"), 10, 64)
			if err != nil {
				return fmt.Errorf("%s %s: X-Newsroom-Position %q", q.method, q.path, r.header.Get("X-Newsroom-Position"))
			}
			st.id, st.status, st.version, st.position = a.ID, a.Status, a.Version, pos
			if a.Status == "published" || a.Status == "retracted" {
				st.slug = a.Slug
			}
		}
		return nil
	}
	languages := []string{"en", "fr", "de", "es", "en-GB"}
	tagSets := [][]string{nil, {"nato"}, {"summit", "nato"}, {"budget"}, {"climate", "energy", "summit"}}
	headline := fmt.Sprintf("Ministers meet on item %d", i)
	if i%25 == 0 {
		headline = "Council statement" // the same derived slug for many: -2, -3…
	}
	draft := map[string]any{
		"headline": headline,
		"body":     fmt.Sprintf("Ministers met on **item %d**.\n\n- first point\n- second point\n\nSee <https://example.org/%d>.", i, i),
		"language": languages[i%len(languages)],
	}
	if tags := tagSets[i%len(tagSets)]; tags != nil {
		draft["tags"] = tags
	}
	if i%3 == 0 {
		draft["summary"], draft["byline"], draft["dateline"] = fmt.Sprintf("Summary %d.", i), "Press Office", "BRUSSELS"
	}
	if i%30 == 7 {
		draft["slug"] = fmt.Sprintf("given-slug-%d", i)
	}
	if err := do(request{201, "POST", "", author, draft, nil}); err != nil {
		return st, err
	}
	submit := request{200, "POST", "/submit", author, nil, nil}
	approve := request{200, "POST", "/approve", approver, nil, nil}
	publish := request{200, "POST", "/publish", approver, nil, nil}
	requestChanges := request{200, "POST", "/request-changes", approver, map[string]any{"comment": fmt.Sprintf("Name the ministers (%d).", i)}, nil}
	// A correction that changes the text is proposed by one editor and confirmed by the other.
	correct := func(by string, body map[string]any) []request {
		confirmer := s.editors[0]
		if by == confirmer {
			confirmer = s.editors[1]
		}
		return []request{{202, "POST", "/correct", by, body, nil}, {200, "POST", "/correct/confirm", confirmer, nil, nil}}
	}
	published := func(more ...[]request) []request {
		reqs := []request{submit, approve, publish}
		for _, m := range more {
			reqs = append(reqs, m...)
		}
		return reqs
	}
	var err error
	switch i % 10 {
	case 0: // a revised draft
		err = do(request{200, "PATCH", "", author, map[string]any{"summary": fmt.Sprintf("Revised summary %d.", i)}, []string{"If-Match", `"1"`}})
	case 1:
		err = do(submit)
	case 2:
		err = do(submit, requestChanges)
	case 3: // approved, or scheduled for an hour ahead
		if i%20 == 13 {
			at := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
			err = do(submit, approve, request{200, "POST", "/schedule", approver, map[string]any{"publish_at": at}, nil})
		} else {
			err = do(submit, approve)
		}
	case 4:
		if s.kills && i%20 == 14 { // killed once published
			err = do(submit, approve, publish, request{200, "POST", "/kill", approver, map[string]any{"reason": "Legal."}, nil})
		} else {
			err = do(submit, approve, publish)
		}
	case 5:
		err = do(published(correct(approver, map[string]any{"body": fmt.Sprintf("Ministers met on item %d, corrected.", i), "note": "A typo."}))...)
	case 6: // corrected twice, proposed by each editor in turn; one more proposal left pending
		err = do(published(
			correct(s.editors[0], map[string]any{"summary": "Corrected summary.", "note": "The summary was wrong."}),
			correct(s.editors[1], map[string]any{"tags": []string{"corrected", "nato"}, "language": "fr", "note": "Tags and language."}),
			[]request{{202, "POST", "/correct", approver, map[string]any{"headline": "A proposed headline", "note": "Pending."}, nil}})...)
	case 7: // retracted, some after a correction
		reqs := []request{submit, approve, publish}
		if i%20 == 7 {
			reqs = append(reqs, correct(approver, map[string]any{"tags": []string{"retracted-later"}, "note": "Before the retraction."})...)
		}
		reqs = append(reqs, request{200, "POST", "/retract", approver, map[string]any{"reason": fmt.Sprintf("Published in error (%d).", i)}, nil})
		if s.kills && i%40 == 17 { // then killed: its earlier events are erased from the log
			reqs = append(reqs, request{200, "POST", "/kill", approver, map[string]any{"reason": "Court order."}, nil})
		}
		err = do(reqs...)
	case 8: // spiked: a draft by its author, or in review by an editor
		if i%20 == 8 {
			err = do(request{200, "POST", "/spike", author, map[string]any{"reason": "Not news."}, nil})
		} else {
			err = do(submit, request{200, "POST", "/spike", approver, nil, nil})
		}
	case 9: // changes requested, revised, resubmitted, published, corrected with the tags cleared
		err = do(submit, requestChanges,
			request{200, "PATCH", "", author, map[string]any{"body": "Ministers met.", "byline": nil}, []string{"If-Match", `"3"`}},
			submit, approve, publish,
			correct(approver, map[string]any{"tags": nil, "note": "No tags."})[0],
			correct(approver, nil)[1])
	}
	return st, err
}

// writeStories writes n stories from several concurrent clients, so that the events of
// different articles interleave in the log.
func writeStories(tb testing.TB, base string, s staff, from, n, workers int) []story {
	tb.Helper()
	stories := make([]story, n)
	next := make(chan int)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				st, err := writeStory(tb, base, s, from+i)
				if err != nil {
					mu.Lock()
					failed = errors.Join(failed, fmt.Errorf("story %d: %w", from+i, err))
					mu.Unlock()
				}
				stories[i] = st
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if failed != nil {
		tb.Fatalf("writing stories: %v", failed)
	}
	return stories
}

// writeTranslations drafts an Italian version (a language writeStory never uses) of every third
// story that can still be translated, and takes the j-th of them to a state j selects: a draft,
// published, retracted, or killed (with s.kills). It returns them as stories.
func writeTranslations(tb testing.TB, base string, s staff, stories []story) []story {
	tb.Helper()
	api := base + "/api/v1/articles"
	var out []story
	for i, original := range stories {
		switch original.status {
		case "spiked", "retracted", "killed":
			continue // withdrawn: not translated
		}
		if i%3 != 0 {
			continue
		}
		j := len(out)
		author, editor := s.reporters[j%2], s.editors[j%2]
		r := call(tb, "POST", api, author, map[string]any{"translation_of": original.id, "language": "it",
			"headline": fmt.Sprintf("Riunione dei ministri, punto %d", i), "body": "I ministri si sono riuniti."})
		expectStatus(tb, r, 201, "draft a translation")
		st := story{id: r.json(tb)["id"].(string), status: "draft"}
		step := func(path, token string, body any) {
			tb.Helper()
			r := call(tb, "POST", api+"/"+st.id+path, token, body)
			expectStatus(tb, r, 200, path+" a translation")
			st.status = r.json(tb)["status"].(string)
			if st.status == "published" {
				st.slug = r.json(tb)["slug"].(string)
			}
		}
		if j%4 != 0 {
			step("/submit", author, nil)
			step("/approve", editor, nil)
			step("/publish", editor, nil)
		}
		switch {
		case j%4 == 2:
			step("/retract", editor, map[string]any{"reason": "Traduzione errata."})
		case j%4 == 3 && s.kills:
			step("/kill", editor, map[string]any{"reason": "Court order."})
		}
		out = append(out, st)
	}
	return out
}

// viewReport is one item of GET /api/v1/projections.
type viewReport struct {
	Name        string `json:"name"`
	Version     int    `json:"version"`
	State       string `json:"state"`
	Checkpoint  uint64 `json:"checkpoint"`
	LogPosition uint64 `json:"log_position"`
	LastError   string `json:"last_error"`
	Rebuild     *struct {
		Applied    uint64    `json:"applied"`
		Checkpoint uint64    `json:"checkpoint"`
		Target     uint64    `json:"target"`
		StartedAt  time.Time `json:"started_at"`
		Done       bool      `json:"done"`
	} `json:"rebuild"`
}

func viewReports(tb testing.TB, base, admin string) map[string]viewReport {
	tb.Helper()
	r := call(tb, "GET", base+"/api/v1/projections", admin, nil)
	expectStatus(tb, r, 200, "GET /api/v1/projections")
	var out struct{ Items []viewReport }
	if err := json.Unmarshal(r.body, &out); err != nil {
		tb.Fatalf("GET /api/v1/projections: %v\n%s", err, r.body)
	}
	m := make(map[string]viewReport, len(out.Items))
	for _, v := range out.Items {
		m[v.Name] = v
	}
	return m
}

// waitCaughtUp waits until every view is live at the log's last position, and returns it.
func waitCaughtUp(tb testing.TB, base, admin string) uint64 {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		reports := viewReports(tb, base, admin)
		if want := viewNames(); len(reports) != len(want) {
			tb.Fatalf("GET /api/v1/projections lists %d views; want %v", len(reports), want)
		}
		var last uint64
		caughtUp := true
		for _, v := range reports {
			// A view that failed an attempt (a transaction that could not begin in time on a
			// loaded machine) retries by itself: only one still failing at the deadline fails.
			caughtUp = caughtUp && v.LastError == "" && v.State == "live" && v.Checkpoint == v.LogPosition
			last = v.LogPosition
		}
		if caughtUp {
			return last
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for every view to be live, without error, at the log's last position: %+v", reports)
		}
		time.Sleep(20 * time.Millisecond) // polling, with a deadline
	}
}

// dumpRow is one row of a view table: its primary key and every column, as text.
type dumpRow struct{ key, row string }

// viewDump is every row of every view's tables, ordered by primary key, and each view's
// checkpoint (its position and version, not the generation of its tables).
type viewDump map[string][]dumpRow

func openDB(tb testing.TB, dir string) *sqldb.DB {
	tb.Helper()
	db, err := sqldb.Open(context.Background(), "", dir)
	if err != nil {
		tb.Fatalf("open the database in %s: %v", dir, err)
	}
	return db
}

func dumpViews(tb testing.TB, dir string) viewDump {
	tb.Helper()
	db := openDB(tb, dir)
	defer db.Close()
	return dumpViewsIn(tb, db)
}

// dumpViewsIn dumps the views of db, SQLite or PostgreSQL.
func dumpViewsIn(tb testing.TB, db *sqldb.DB) viewDump {
	tb.Helper()
	ctx := context.Background()
	_, _, _, all := views(db)
	d := viewDump{}
	for _, v := range all {
		for _, table := range v.Tables() {
			d[table] = dumpTable(tb, db.Read, table)
		}
		var cp struct {
			Seq     uint64 `db:"seq"`
			Version int    `db:"version"`
		}
		if err := db.Read.GetContext(ctx, &cp, db.Read.Rebind(`SELECT seq, version FROM checkpoints WHERE name = ?`), v.Name()); err != nil {
			tb.Fatalf("checkpoint of %s: %v", v.Name(), err)
		}
		d["checkpoint "+v.Name()] = []dumpRow{{key: v.Name(), row: fmt.Sprintf("seq=%d version=%d", cp.Seq, cp.Version)}}
	}
	return d
}

func dumpTable(tb testing.TB, db *sqlx.DB, table string) []dumpRow {
	tb.Helper()
	ctx := context.Background()
	primaryKey := `SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`
	if db.DriverName() == "pgx" {
		primaryKey = `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`
	}
	pkRows, err := db.QueryContext(ctx, primaryKey, table)
	if err != nil {
		tb.Fatalf("primary key of %s: %v", table, err)
	}
	var pk []string
	for pkRows.Next() {
		var name string
		if err := pkRows.Scan(&name); err != nil {
			tb.Fatal(err)
		}
		pk = append(pk, name)
	}
	if err := errors.Join(pkRows.Err(), pkRows.Close()); err != nil {
		tb.Fatalf("primary key of %s: %v", table, err)
	}
	columns := `*`
	if len(pk) == 0 && db.DriverName() != "pgx" {
		// An FTS5 table (the search view's): its documents by rowid.
		columns, pk = `rowid, *`, []string{"rowid"}
	}
	if len(pk) == 0 {
		tb.Fatalf("%s has no primary key", table)
	}
	rows, err := db.QueryContext(ctx, `SELECT `+columns+` FROM `+table+` ORDER BY `+strings.Join(pk, ", "))
	if err != nil {
		tb.Fatalf("dump %s: %v", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		tb.Fatal(err)
	}
	var out []dumpRow
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			tb.Fatalf("dump %s: %v", table, err)
		}
		var key, row []string
		for i, c := range cols {
			text := "NULL"
			if vals[i].Valid {
				text = strconv.Quote(vals[i].String)
			}
			row = append(row, c+"="+text)
			if slices.Contains(pk, c) {
				key = append(key, text)
			}
		}
		out = append(out, dumpRow{key: strings.Join(key, ","), row: strings.Join(row, " ")})
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("dump %s: %v", table, err)
	}
	return out
}

// compareDumps reports every table of got that is not row for row the same as in want.
func compareDumps(tb testing.TB, what string, want, got viewDump) {
	tb.Helper()
	var tables []string
	for t := range want {
		tables = append(tables, t)
	}
	for t := range got {
		if _, ok := want[t]; !ok {
			tables = append(tables, t)
		}
	}
	slices.Sort(tables)
	for _, table := range tables {
		w, g := want[table], got[table]
		if slices.Equal(w, g) {
			continue
		}
		var diffs []string
		wi, gi := 0, 0
		for (wi < len(w) || gi < len(g)) && len(diffs) < 4 {
			switch {
			case gi == len(g) || wi < len(w) && w[wi].key < g[gi].key:
				diffs = append(diffs, "missing: "+w[wi].row)
				wi++
			case wi == len(w) || g[gi].key < w[wi].key:
				diffs = append(diffs, "extra:   "+g[gi].row)
				gi++
			default:
				if w[wi].row != g[gi].row {
					diffs = append(diffs, "got:     "+g[gi].row+"\n      want:    "+w[wi].row)
				}
				wi, gi = wi+1, gi+1
			}
		}
		tb.Errorf("%s: table %s differs (%d rows; want %d); first differences:\n      %s",
			what, table, len(g), len(w), strings.Join(diffs, "\n      "))
	}
}

// dropViews does what a DBA would: drop every view table (and any rebuild's) and delete every
// checkpoint, in plain SQL.
func dropViews(tb testing.TB, dir string) {
	tb.Helper()
	db := openDB(tb, dir)
	defer db.Close()
	_, _, _, all := views(db)
	for _, v := range all {
		for _, table := range v.Tables() {
			for _, name := range []string{table, table + "_next"} {
				if _, err := db.Write.Exec(`DROP TABLE IF EXISTS ` + name); err != nil {
					tb.Fatalf("drop %s: %v", name, err)
				}
			}
		}
	}
	if _, err := db.Write.Exec(`DELETE FROM checkpoints`); err != nil {
		tb.Fatalf("delete checkpoints: %v", err)
	}
}

// viewNames are the names of every view serve runs.
func viewNames() []string {
	_, _, _, all := views(nil)
	names := make([]string, len(all))
	for i, v := range all {
		names[i] = v.Name()
	}
	return names
}

// runReplay runs `newsroom replay --data-dir dir args…` in this process and returns its output.
func runReplay(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append([]string{"replay", "--data-dir", dir}, args...), &out, &errOut); err != nil {
		tb.Fatalf("newsroom replay %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

var replayedLine = regexp.MustCompile(`(?m)^(\w+): (\d+) events applied in .*, at position (\d+)$`)

// replayed parses replay's summary: per view, the events applied and the position reached.
func replayed(tb testing.TB, out string) map[string][2]uint64 {
	tb.Helper()
	m := map[string][2]uint64{}
	for _, match := range replayedLine.FindAllStringSubmatch(out, -1) {
		applied, _ := strconv.ParseUint(match[2], 10, 64)
		at, _ := strconv.ParseUint(match[3], 10, 64)
		m[match[1]] = [2]uint64{applied, at}
	}
	if want := viewNames(); len(m) != len(want) {
		tb.Fatalf("replay output names %d views; want %v:\n%s", len(m), want, out)
	}
	return m
}

// leftovers lists what a finished rebuild must not leave behind: "_next" tables and
// "+rebuild" checkpoints.
func leftovers(tb testing.TB, dir string) []string {
	tb.Helper()
	db := openDB(tb, dir)
	defer db.Close()
	var names []string
	if err := db.Read.Select(&names, `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%\_next' ESCAPE '\'
		UNION ALL SELECT name FROM checkpoints WHERE name LIKE '%+rebuild'`); err != nil {
		tb.Fatal(err)
	}
	return names
}

// readerPages reads what readers and editors see: every page of the public list (all, by tag,
// by language) and of the desk, the public page of every story published, and the history of
// some.
func readerPages(tb testing.TB, base, token string, stories []story) map[string]string {
	tb.Helper()
	pages := map[string]string{}
	for _, list := range []struct{ path, token string }{
		{"/public/v1/articles?", ""},
		{"/public/v1/articles?tag=nato&", ""},
		{"/public/v1/articles?lang=fr&", ""},
		{"/api/v1/articles?", token},
		{"/api/v1/articles?status=published&", token},
	} {
		for page := 1; ; page++ {
			r := call(tb, "GET", fmt.Sprintf("%s%sper_page=100&page=%d", base, list.path, page), list.token, nil)
			expectStatus(tb, r, 200, list.path)
			pages[fmt.Sprintf("%s page %d", list.path, page)] = string(r.body)
			if items, _ := r.json(tb)["items"].([]any); len(items) < 100 {
				break
			}
		}
	}
	for i, st := range stories {
		if st.slug != "" {
			r := call(tb, "GET", base+"/public/v1/articles/"+st.slug, "", nil)
			want := 200
			if st.status == "killed" {
				want = 410
			}
			expectStatus(tb, r, want, "public article "+st.slug)
			// Its translations' URLs are on the address it was read at, which a restart moves.
			pages["/public/v1/articles/"+st.slug] = strings.ReplaceAll(string(r.body), base, "{base}")
		}
		if i%4 == 0 {
			path := "/api/v1/articles/" + st.id + "/history"
			r := call(tb, "GET", base+path, token, nil)
			expectStatus(tb, r, 200, path)
			pages[path] = string(r.body)
		}
	}
	return pages
}

func TestReplayIsIdenticalToLive(t *testing.T) {
	// In parallel with TestReplaySurvivesSIGKILL only (the tests that run in parallel here):
	// neither asserts on anything that a busy machine could delay past its deadline.
	t.Parallel()
	dir := t.TempDir()
	s := createStaff(t, dir)
	s.kills = true // killed articles too: replay must give what the live views hold
	ta := startTestApp(t, dir)

	// 120 articles, some 500 events: under the race detector the live views apply about a
	// hundred events a second each, and the test waits for them.
	const n = 120
	stories := writeStories(t, ta.base, s, 0, n, 4)
	waitCaughtUp(t, ta.base, s.admin) // the translation checks read the desk view
	// Translations in every state: the views keep each set, and replay must keep it too.
	translations := writeTranslations(t, ta.base, s, stories)
	states := map[string]bool{}
	for _, st := range translations {
		states[st.status] = true
	}
	if len(states) != 4 {
		t.Fatalf("translations in the states %v; want draft, published, retracted and killed", states)
	}
	stories = append(stories, translations...)
	last := waitCaughtUp(t, ta.base, s.admin)
	for _, status := range domain.Statuses {
		if status == domain.StatusScheduled {
			continue // the workload schedules nothing: a scheduled article would publish itself mid-test
		}
		r := call(t, "GET", ta.base+"/api/v1/articles?per_page=1&status="+string(status), s.editors[0], nil)
		expectStatus(t, r, 200, "desk by status")
		if total := r.json(t)["total"]; total == 0.0 {
			t.Errorf("the workload left no article %s; want every state", status)
		}
	}
	before := readerPages(t, ta.base, s.editors[0], stories)
	if !strings.Contains(strings.Join(slices.Collect(maps.Values(before)), "\n"), `"translations":[{"language":"it"`) {
		t.Fatal("no public page lists a translation: the workload does not exercise them")
	}
	// Kills erased their articles' earlier events: the log holds fewer events than its last
	// sequence, and a replay applies exactly those.
	for _, st := range stories {
		if st.status == "killed" {
			eventually(t, "the kill of "+st.id+" erased", func() bool {
				return subjectMessages(t, ta.natsURL, "NEWSROOM", "newsroom.article."+st.id) == 1
			})
		}
	}
	remaining := streamMessages(t, ta.natsURL)
	if remaining >= last {
		t.Fatalf("the log holds %d events up to %d; want fewer, the kills erasing some", remaining, last)
	}
	ta.Close()

	live := dumpViews(t, dir)
	for table, want := range map[string]int{"desk_articles": len(stories), "public_articles": len(stories)} {
		if got := len(live[table]); got != want {
			t.Fatalf("live %s holds %d rows; want %d", table, got, want)
		}
	}
	for _, table := range []string{"article_history", "public_corrections", "public_tags"} {
		if len(live[table]) == 0 {
			t.Fatalf("live %s is empty: the workload does not exercise it", table)
		}
	}
	if got := int(last); got != len(live["article_history"]) {
		t.Fatalf("the log ends at %d; the history holds %d events", last, got)
	}

	// A DBA drops every view; replay rebuilds them from the log alone.
	dropViews(t, dir)
	out := runReplay(t, dir)
	for view, r := range replayed(t, out) {
		if r != [2]uint64{remaining, last} {
			t.Errorf("replay of %s applied %d events to position %d; want %d to %d", view, r[0], r[1], remaining, last)
		}
	}
	compareDumps(t, "replay after dropping every view", live, dumpViews(t, dir))

	// Batches merge an article's rows; the result must not depend on where batches end. This
	// replay runs over the existing views: it rebuilds them beside the live tables and swaps.
	runReplay(t, dir, "--batch-size", "7")
	compareDumps(t, "replay with --batch-size 7 over the existing views", live, dumpViews(t, dir))
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("after replays the database still holds %v", l)
	}

	// A DBA drops one table and keeps the checkpoints: replaying that one view restores it.
	db := openDB(t, dir)
	if _, err := db.Write.Exec(`DROP TABLE public_tags`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	runReplay(t, dir, "--projection", "published")
	compareDumps(t, "replay --projection published after DROP TABLE public_tags", live, dumpViews(t, dir))

	// serve carries on from the replayed views: readers see the same articles.
	ta = startTestApp(t, dir)
	if got := waitCaughtUp(t, ta.base, s.admin); got != last {
		t.Errorf("after the replay the views are at %d; want %d", got, last)
	}
	after := readerPages(t, ta.base, s.editors[0], stories)
	for page, want := range before {
		if after[page] != want {
			t.Errorf("after replay and restart %s =\n%.300s\nwant\n%.300s", page, after[page], want)
		}
	}
	if len(after) != len(before) {
		t.Errorf("after replay and restart %d pages; want %d", len(after), len(before))
	}
}

// writeLog appends the events of n articles through the desk itself (no HTTP, no views) to the
// log in dir, and returns the log's last sequence.
func writeLog(tb testing.TB, dir string, n int) uint64 {
	tb.Helper()
	ctx := context.Background()
	srv, err := embeddednats.Start(embeddednats.Config{StoreDir: filepath.Join(dir, "nats"), NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer srv.Stop()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		tb.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	store, err := events.Open(ctx, js, 1)
	if err != nil {
		tb.Fatal(err)
	}
	desk := editorial.NewDesk(store)
	reporters := []domain.Actor{{ID: "reporter-1", Role: domain.RoleReporter}, {ID: "reporter-2", Role: domain.RoleReporter}}
	editors := []domain.Actor{{ID: "editor-1", Role: domain.RoleEditor}, {ID: "editor-2", Role: domain.RoleEditor}}
	text := func(s string) *string { return &s }
	article := func(i int) error {
		id := editorial.NewArticleID()
		author, editor := reporters[i%2], editors[(i/2)%2]
		steps := []struct {
			by  domain.Actor
			cmd domain.Command
		}{
			{author, domain.Draft{Content: domain.Content{Headline: fmt.Sprintf("Statement %d", i%40),
				Body: fmt.Sprintf("Text **%d**.", i), Language: []string{"en", "fr", "de"}[i%3],
				Tags: [][]string{nil, {"nato"}, {"summit", "nato"}}[i%3]}}},
			{author, domain.Revise{Changes: domain.Changes{Summary: text(fmt.Sprintf("Summary %d.", i))}}},
			{author, domain.Submit{}},
			{editor, domain.Approve{}},
			{editor, domain.Publish{}},
			{editor, domain.Correct{Changes: domain.Changes{Body: text("Corrected."), Tags: &[]string{"corrected"}}, Note: "Fixed."}},
			{editors[((i/2)+1)%2], domain.ConfirmCorrection{}},
			{editor, domain.Retract{Reason: "Withdrawn."}},
		}
		// Stop at a state that i selects: a draft, revised, in review, approved, published,
		// with a correction pending, corrected or retracted.
		steps = steps[:1+i%len(steps)]
		if i%11 == 5 {
			steps = append(steps[:min(len(steps), 3)], struct {
				by  domain.Actor
				cmd domain.Command
			}{editor, domain.Spike{Reason: "No."}})
		}
		for _, s := range steps {
			if _, err := desk.Execute(ctx, id, s.cmd, editorial.Request{By: s.by}); err != nil {
				return fmt.Errorf("article %d: %T: %w", i, s.cmd, err)
			}
		}
		return nil
	}
	var (
		wg     sync.WaitGroup
		failed atomic.Pointer[error]
		next   atomic.Int64
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n && failed.Load() == nil; i = int(next.Add(1)) - 1 {
				if err := article(i); err != nil {
					failed.Store(&err)
				}
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		tb.Fatal(*err)
	}
	last, err := store.LastSequence(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return last
}

// copyDir copies a stopped data directory.
func copyDir(tb testing.TB, from, to string) {
	tb.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o750)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o640)
	})
	if err != nil {
		tb.Fatalf("copy %s to %s: %v", from, to, err)
	}
}

// replayProcess is `newsroom replay` running as a process of its own: the test binary,
// re-executed as the newsroom command (see TestMain).
type replayProcess struct {
	cmd    *exec.Cmd
	output *bytes.Buffer // stdout and stderr; read it only once done is closed
	done   chan struct{}
	err    error // how the process ended, once done is closed
}

func startReplayProcess(tb testing.TB, dir string, args ...string) *replayProcess {
	tb.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"replay", "--data-dir", dir}, args...)...)
	cmd.Env = append(os.Environ(), testMainEnv+"=1")
	p := &replayProcess{cmd: cmd, output: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.output, p.output
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// signalMidway polls the database until view's rebuild checkpoint is past from and before
// until, then sends sig to the process and waits for it to end. It returns the checkpoint it
// saw and how the process ended.
func (p *replayProcess) signalMidway(tb testing.TB, db *sqldb.DB, view string, from, until uint64, sig os.Signal) (uint64, error) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.done:
			tb.Fatalf("replay ended (%v) before its %s rebuild was between %d and %d:\n%s", p.err, view, from, until, p.output)
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the rebuild of %s did not pass %d within 60 s", view, from)
		}
		var seq uint64
		err := db.Read.Get(&seq, `SELECT seq FROM checkpoints WHERE name = ?`, view+"+rebuild")
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			tb.Fatal(err)
		}
		if seq > from && seq < until {
			if err := p.cmd.Process.Signal(sig); err != nil {
				tb.Fatal(err)
			}
			<-p.done
			return seq, p.err
		}
		time.Sleep(2 * time.Millisecond) // polling, with a deadline
	}
}

func TestReplaySurvivesSIGKILL(t *testing.T) {
	t.Parallel() // see TestReplayIsIdenticalToLive
	dir, clean := t.TempDir(), t.TempDir()
	const articles = 500 // some 2,000 events
	last := writeLog(t, dir, articles)
	openDB(t, dir).Close() // the database exists before the replay starts: the poller reads it
	copyDir(t, dir, clean)
	db := openDB(t, dir)
	defer db.Close()
	rebuildCheckpoint := func(view string) uint64 {
		t.Helper()
		var seq uint64
		if err := db.Read.Get(&seq, `SELECT seq FROM checkpoints WHERE name = ?`, view+"+rebuild"); err != nil {
			t.Fatalf("checkpoint %s+rebuild: %v", view, err)
		}
		return seq
	}

	// SIGINT midway through the first view: replay stops after the batch in hand, says where,
	// and exits with an error.
	p := startReplayProcess(t, dir, "--batch-size", "5")
	seen, err := p.signalMidway(t, db, "published", last/3, 2*last/3, os.Interrupt)
	var exit *exec.ExitError
	stoppedAt := rebuildCheckpoint("published")
	wantMsg := fmt.Sprintf("newsroom: replay of published interrupted at position %d; run replay again to resume there", stoppedAt)
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(p.output.String(), wantMsg) || stoppedAt < seen {
		t.Fatalf("replay interrupted at %d: %v, stopped at %d; want exit status 2 and %q; output:\n%s", seen, err, stoppedAt, wantMsg, p.output)
	}

	// Run again, and SIGKILL it midway through the second view: the first one resumed where
	// the interrupted run stopped, and was swapped in.
	p = startReplayProcess(t, dir, "--batch-size", "5")
	killedAt, err := p.signalMidway(t, db, "desk", last/3, 2*last/3, os.Kill)
	if !errors.As(err, &exit) || exit.Success() {
		t.Fatalf("replay killed at desk %d ended with %v; want killed", killedAt, err)
	}
	t.Logf("interrupted the replay with published at %d, killed the next one (%v) with desk at %d, of %d", stoppedAt, err, killedAt, last)
	out := p.output.String()
	if m := replayedLine.FindStringSubmatch(out); m == nil || m[1] != "published" || m[2] != strconv.FormatUint(last-stoppedAt, 10) || m[3] != strconv.FormatUint(last, 10) {
		t.Errorf("the second replay printed %q; want published resumed from %d: %d events applied, at position %d\n%s", m, stoppedAt, last-stoppedAt, last, out)
	}

	// Run again to completion: the killed view resumes from its rebuild checkpoint, the
	// others are rebuilt whole.
	resumed := replayed(t, runReplay(t, dir))
	if r := resumed["desk"]; r[1] != last || r[0] > last-killedAt {
		t.Errorf("the last replay applied %d events to desk, reaching %d; want at most %d (resumed from %d or later), reaching %d",
			r[0], r[1], last-killedAt, killedAt, last)
	}
	for view, r := range resumed {
		if r[1] != last {
			t.Errorf("after the last replay %s is at %d; want %d", view, r[1], last)
		}
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("after the last replay the database still holds %v", l)
	}

	// A clean replay of the same log, never interrupted, is the reference.
	runReplay(t, clean)
	want := dumpViews(t, clean)
	if got := len(want["desk_articles"]); got != articles {
		t.Fatalf("the clean replay's desk holds %d articles; want %d", got, articles)
	}
	compareDumps(t, "replay interrupted, killed with SIGKILL and resumed", want, dumpViews(t, dir))
}

// rebuildDone reports whether view name is live again after a rebuild that started at or after
// since.
func rebuildDone(tb testing.TB, base, admin, name string, since time.Time) bool {
	tb.Helper()
	v := viewReports(tb, base, admin)[name]
	if v.LastError != "" {
		tb.Fatalf("view %s: %s", name, v.LastError)
	}
	return v.State == "live" && v.Rebuild != nil && v.Rebuild.Done && !v.Rebuild.StartedAt.Before(since)
}

func TestRebuildWhileServing(t *testing.T) {
	dir := t.TempDir()
	s := createStaff(t, dir)
	ta := startTestApp(t, dir)
	seeded := writeStories(t, ta.base, s, 0, 30, 4)
	waitCaughtUp(t, ta.base, s.admin)

	// Who may rebuild: admins only; what: a view that exists.
	for _, token := range []string{s.reporters[0], s.editors[0]} {
		expectStatus(t, call(t, "POST", ta.base+"/api/v1/projections/desk/rebuild", token, nil), 403, "rebuild by a non-admin")
		expectStatus(t, call(t, "GET", ta.base+"/api/v1/projections", token, nil), 403, "projections for a non-admin")
	}
	expectStatus(t, call(t, "POST", ta.base+"/api/v1/projections/desk/rebuild", "", nil), 401, "rebuild without a token")
	expectStatus(t, call(t, "POST", ta.base+"/api/v1/projections/nope/rebuild", s.admin, nil), 404, "rebuild of an unknown view")

	// Clients read and write all along.
	var (
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []error
		created  []story // by the writers, in the order they were drafted
		requests atomic.Int64
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, err)
		}
	}
	for _, st := range seeded {
		created = append(created, st)
	}
	// Clients pace themselves, so that the live views (slow under the race detector) keep up
	// and reads with min_position answer well within their 5 s.
	paced := func(every time.Duration) func() bool {
		tick := time.NewTicker(every)
		return func() bool {
			select {
			case <-stop:
				tick.Stop()
				return false
			case <-tick.C:
				return true
			}
		}
	}
	api := ta.base + "/api/v1/articles"
	for w := range 2 {
		wg.Add(1)
		go func() { // a writer: drafts, revises, publishes
			defer wg.Done()
			author, editor := s.reporters[w], s.editors[w]
			for i, next := 0, paced(150*time.Millisecond); next(); i++ {
				r, err := send(t, 201, "POST", api, author, map[string]any{"headline": fmt.Sprintf("Writer %d story %d", w, i),
					"body": "Text.", "tags": []string{"live"}})
				requests.Add(1)
				if err != nil {
					fail(err)
					return
				}
				var a struct{ ID string }
				if err := json.Unmarshal(r.body, &a); err != nil {
					fail(err)
					return
				}
				mu.Lock()
				created = append(created, story{id: a.ID, status: "draft"})
				k := len(created) - 1
				mu.Unlock()
				steps := []struct {
					method, path, token string
					body                any
					headers             []string
				}{
					{"PATCH", "", author, map[string]any{"summary": "Revised."}, []string{"If-Match", `"1"`}},
					{"POST", "/submit", author, nil, nil},
					{"POST", "/approve", editor, nil, nil},
					{"POST", "/publish", editor, nil, nil},
				}
				if i%2 == 1 {
					steps = steps[:1] // some stay drafts
				}
				for _, step := range steps {
					r, err = send(t, 200, step.method, api+"/"+a.ID+step.path, step.token, step.body, step.headers...)
					requests.Add(1)
					if err != nil {
						fail(err)
						return
					}
				}
				var p struct {
					Status, Slug string
					Version      int
				}
				_ = json.Unmarshal(r.body, &p)
				pos, _ := strconv.ParseUint(r.header.Get("X-Newsroom-Position"), 10, 64)
				mu.Lock()
				created[k].status, created[k].version, created[k].position = p.Status, p.Version, pos
				if p.Status == "published" {
					created[k].slug = p.Slug
				}
				mu.Unlock()
			}
		}()
	}
	for rd := range 2 {
		wg.Add(1)
		go func() { // a reader: the public list and articles, the desk, articles and their history
			defer wg.Done()
			var deskTotal, publicTotal float64
			for i, next := 0, paced(20*time.Millisecond); next(); i++ {
				mu.Lock()
				st := created[(i*7+rd)%len(created)]
				mu.Unlock()
				type check struct {
					url, token string
					total      *float64 // a total that never goes down
					items      int      // so many items, if not 0
				}
				checks := []check{
					{url: ta.base + "/public/v1/articles?per_page=5", total: &publicTotal},
					{url: api + "?per_page=5", token: s.editors[rd], total: &deskTotal},
					{url: api + "/" + st.id, token: s.reporters[rd]},
				}
				if st.position > 0 { // its last command is known: its views must show it
					checks = append(checks, check{url: fmt.Sprintf("%s/%s/history?min_position=%d", api, st.id, st.position),
						token: s.reporters[rd], items: st.version})
				}
				if st.slug != "" {
					checks = append(checks, check{url: fmt.Sprintf("%s/public/v1/articles/%s?min_position=%d", ta.base, st.slug, st.position)})
				}
				for _, c := range checks {
					r, err := send(t, 200, "GET", c.url, c.token, nil)
					requests.Add(1)
					if err != nil {
						fail(err)
						continue
					}
					if c.total == nil && c.items == 0 {
						continue
					}
					var list struct {
						Total float64
						Items []json.RawMessage
					}
					if err := json.Unmarshal(r.body, &list); err != nil {
						fail(fmt.Errorf("GET %s: %w", c.url, err))
						continue
					}
					if c.items > 0 && len(list.Items) != c.items {
						fail(fmt.Errorf("GET %s: %d events in the history; want %d", c.url, len(list.Items), c.items))
					}
					if c.total != nil {
						if list.Total < *c.total {
							fail(fmt.Errorf("GET %s: total went down from %v to %v: articles vanished during a rebuild", c.url, *c.total, list.Total))
						}
						*c.total = list.Total
					}
				}
			}
		}()
	}

	// Rebuild every view, twice in a row through the API, each to the end; then once more with
	// `newsroom replay`, which finds serve running and asks it.
	conflicts := 0
	for round := 1; round <= 2; round++ {
		for _, name := range []string{"published", "desk", "history"} {
			since := time.Now()
			expectStatus(t, call(t, "POST", ta.base+"/api/v1/projections/"+name+"/rebuild", s.admin, nil), 202, "rebuild "+name)
			// A second request while it runs is refused; if the first one has already
			// finished, the second is a rebuild of its own, and followed as well.
			switch r := call(t, "POST", ta.base+"/api/v1/projections/"+name+"/rebuild", s.admin, nil); r.status {
			case 409:
				conflicts++
			case 202:
			default:
				t.Fatalf("a second rebuild of %s: status %d; want 409 (or 202 once the first one finished)\n%s", name, r.status, r.body)
			}
			eventually(t, fmt.Sprintf("rebuild %d of %s", round, name), func() bool {
				return rebuildDone(t, ta.base, s.admin, name, since)
			})
		}
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"replay", "--data-dir", dir, "--token", s.admin}, &out, &errOut); err != nil {
		t.Fatalf("newsroom replay beside serve: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "serve is running: asking it to rebuild "+strings.Join(viewNames(), ", ")+" blue/green") {
		t.Errorf("newsroom replay beside serve said:\n%s\nwant it to ask serve", errOut.String())
	}
	for view, r := range replayed(t, out.String()) {
		if r[1] == 0 {
			t.Errorf("newsroom replay beside serve: %s at position %d", view, r[1])
		}
	}
	close(stop)
	wg.Wait()
	if conflicts == 0 {
		t.Errorf("no second rebuild request was refused with 409 while one ran")
	}
	for _, err := range failures {
		t.Errorf("a client's request failed during rebuilds: %v", err)
	}
	if requests.Load() < 100 {
		t.Errorf("clients made only %d requests during the rebuilds", requests.Load())
	}

	// Nothing lost, nothing twice: the desk lists exactly the articles the writers made.
	waitCaughtUp(t, ta.base, s.admin)
	var listed []string
	for page := 1; ; page++ {
		r := call(t, "GET", fmt.Sprintf("%s?per_page=100&page=%d", api, page), s.editors[0], nil)
		expectStatus(t, r, 200, "desk")
		var list struct {
			Items []struct{ ID string }
			Total int
		}
		if err := json.Unmarshal(r.body, &list); err != nil {
			t.Fatal(err)
		}
		for _, it := range list.Items {
			listed = append(listed, it.ID)
		}
		if len(list.Items) < 100 {
			if list.Total != len(created) {
				t.Errorf("desk total = %d; want the %d articles written", list.Total, len(created))
			}
			break
		}
	}
	var want []string
	for _, st := range created {
		want = append(want, st.id)
	}
	slices.Sort(listed)
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Errorf("the desk lists %d articles; want exactly the %d written, each once", len(listed), len(want))
	}
	t.Logf("%d requests by clients during 9 rebuilds; %d articles; %d second requests refused", requests.Load(), len(want), conflicts)
	ta.Close()
	if err := run(context.Background(), []string{"replay", "--data-dir", dir, "--projection", "nope"}, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), `no view named "nope"; the views are `+strings.Join(viewNames(), ", ")) {
		t.Errorf("replay --projection nope: %v; want no view named \"nope\"", err)
	}

	// The views serve rebuilt many times over are those a clean replay of the log gives.
	served := dumpViews(t, dir)
	dropViews(t, dir)
	runReplay(t, dir)
	compareDumps(t, "views rebuilt while serving, against a clean replay", dumpViews(t, dir), served)
}

func TestRebuildAtStartOnNewViewVersion(t *testing.T) {
	dir := t.TempDir()
	s := createStaff(t, dir)
	ta := startTestApp(t, dir)
	stories := writeStories(t, ta.base, s, 0, 30, 4)
	last := waitCaughtUp(t, ta.base, s.admin)
	const desk = "/api/v1/articles?per_page=100"
	r := call(t, "GET", ta.base+desk, s.editors[0], nil)
	expectStatus(t, r, 200, "desk")
	before := string(r.body)
	ta.Close()
	want := dumpViews(t, dir)

	// The desk's tables were built by an older version of the view.
	db := openDB(t, dir)
	generation := func(name string) int {
		t.Helper()
		var g int
		if err := db.Read.Get(&g, `SELECT generation FROM checkpoints WHERE name = ?`, name); err != nil {
			t.Fatal(err)
		}
		return g
	}
	generations := map[string]int{"published": generation("published"), "desk": generation("desk"), "history": generation("history")}
	if _, err := db.Write.Exec(`UPDATE checkpoints SET version = 0 WHERE name = 'desk'`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// At start the desk is rebuilt blue/green; the old tables serve meanwhile.
	ta = startTestApp(t, dir)
	var (
		stop     = make(chan struct{})
		readers  sync.WaitGroup
		reads    atomic.Int64
		mu       sync.Mutex
		failures []error
	)
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := send(t, 200, "GET", ta.base+desk, s.editors[0], nil)
				if err == nil && string(r.body) != before {
					err = fmt.Errorf("the desk while it rebuilds =\n%.300s\nwant\n%.300s", r.body, before)
				}
				reads.Add(1)
				if err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	polls, rebuilding := 0, 0
	for done := false; !done; polls++ {
		v := viewReports(t, ta.base, s.admin)["desk"]
		if v.LastError != "" {
			t.Fatalf("desk: %s", v.LastError)
		}
		if v.State == "rebuilding" {
			rebuilding++
		}
		done = v.State == "live" && v.Version == projections.NewDesk(nil).Version() && v.Checkpoint == last && v.Rebuild != nil && v.Rebuild.Done
		if !done && time.Now().After(deadline) {
			t.Fatalf("the desk is not rebuilt after 30 s: %+v", v)
		}
	}
	close(stop)
	readers.Wait()
	for _, err := range failures {
		t.Error(err)
	}
	t.Logf("%d desk reads while the desk was rebuilt; %d of %d status polls said rebuilding", reads.Load(), rebuilding, polls)
	reports := viewReports(t, ta.base, s.admin)
	for _, name := range []string{"published", "history"} {
		if v := reports[name]; v.Rebuild != nil || v.State != "live" {
			t.Errorf("view %s: state %s, rebuild %+v; want live, never rebuilt", name, v.State, v.Rebuild)
		}
	}
	// The views carry on: a new article reaches the rebuilt desk.
	r = call(t, "POST", ta.base+"/api/v1/articles", s.reporters[0], map[string]any{"headline": "After the upgrade"})
	expectStatus(t, r, 201, "draft after the upgrade")
	r = call(t, "GET", ta.base+desk+"&min_position="+r.header.Get("X-Newsroom-Position"), s.editors[0], nil)
	expectStatus(t, r, 200, "desk with the new article")
	if total := r.json(t)["total"]; total != float64(len(stories)+1) {
		t.Errorf("desk total = %v; want %d", total, len(stories)+1)
	}
	ta.Close()

	// The rebuilt desk holds the rows the old one held, and the new article.
	got := dumpViews(t, dir)["desk_articles"]
	got = slices.DeleteFunc(got, func(r dumpRow) bool { return strings.Contains(r.row, `headline="After the upgrade"`) })
	compareDumps(t, "desk rebuilt at start", viewDump{"desk": want["desk_articles"]}, viewDump{"desk": got})
	db = openDB(t, dir)
	defer db.Close()
	var version int
	if want := projections.NewDesk(nil).Version(); db.Read.Get(&version, `SELECT version FROM checkpoints WHERE name = 'desk'`) != nil || version != want {
		t.Errorf("desk checkpoint version = %d; want %d", version, want)
	}
	for name, g := range generations {
		wantGen := g
		if name == "desk" {
			wantGen = g + 1 // new tables were swapped in
		}
		if got := generation(name); got != wantGen {
			t.Errorf("view %s is at generation %d; want %d", name, got, wantGen)
		}
	}
}

func TestServeRefillsAViewWhoseTableWasDropped(t *testing.T) {
	dir := t.TempDir()
	s := createStaff(t, dir)
	ta := startTestApp(t, dir)
	writeStories(t, ta.base, s, 0, 10, 4)
	waitCaughtUp(t, ta.base, s.admin)
	const desk = "/api/v1/articles?per_page=100"
	r := call(t, "GET", ta.base+desk, s.editors[0], nil)
	expectStatus(t, r, 200, "desk")
	before := string(r.body)
	ta.Close()
	want := dumpViews(t, dir)

	db := openDB(t, dir)
	if _, err := db.Write.Exec(`DROP TABLE desk_articles`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	ta = startTestApp(t, dir)
	waitCaughtUp(t, ta.base, s.admin)
	r = call(t, "GET", ta.base+desk, s.editors[0], nil)
	expectStatus(t, r, 200, "desk after DROP TABLE desk_articles and a restart")
	if string(r.body) != before {
		t.Errorf("the desk after DROP TABLE desk_articles and a restart =\n%.300s\nwant\n%.300s", r.body, before)
	}
	r = call(t, "POST", ta.base+"/api/v1/articles", s.reporters[0], map[string]any{"headline": "After the drop"})
	expectStatus(t, r, 201, "draft after the drop")
	expectStatus(t, call(t, "GET", ta.base+desk+"&min_position="+r.header.Get("X-Newsroom-Position"), s.editors[0], nil), 200, "desk with the new article")
	ta.Close()
	got := dumpViews(t, dir)["desk_articles"]
	got = slices.DeleteFunc(got, func(r dumpRow) bool { return strings.Contains(r.row, `headline="After the drop"`) })
	compareDumps(t, "desk refilled at start", viewDump{"desk": want["desk_articles"]}, viewDump{"desk": got})
}
