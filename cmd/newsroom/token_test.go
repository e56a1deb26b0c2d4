package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/sqldb"
)

// runToken runs `newsroom token ARGS --data-dir dir` and returns its stdout and stderr.
func runToken(tb testing.TB, dir string, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append(append([]string{"token"}, args...), "--data-dir", dir), &out, &errOut)
	return out.String(), errOut.String(), err
}

// tokenTable splits the output of token list into rows of cells, header first, and checks that
// every column starts at the same place on every line.
func tokenTable(tb testing.TB, out string) [][]string {
	tb.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	header := lines[0]
	columns := []string{"NAME", "ROLE", "TOKEN", "CREATED", "LAST USED", "REVOKED"}
	var starts []int
	for _, c := range columns {
		i := strings.Index(header, c)
		if i < 0 {
			tb.Fatalf("token list header %q has no column %s", header, c)
		}
		starts = append(starts, i)
	}
	var rows [][]string
	for _, line := range lines {
		var cells []string
		for j, start := range starts {
			if start > 0 && (len(line) <= start || line[start-1] != ' ' || line[start] == ' ') {
				tb.Fatalf("token list line %q: column %s does not start at %d, as in the header\n%s", line, columns[j], start, out)
			}
			end := len(line)
			if j+1 < len(starts) {
				end = starts[j+1]
			}
			cells = append(cells, strings.TrimSpace(line[start:end]))
		}
		rows = append(rows, cells)
	}
	return rows
}

func TestTokenListAndRevoke(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")

	// ed has used the token; rita has not.
	db, err := sqldb.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := auth.NewTokens(db).Authenticate(ctx, ed); err != nil {
		t.Fatalf("Authenticate(ed): %v", err)
	}

	out, errOut, err := runToken(t, dir, "list")
	if err != nil {
		t.Fatalf("token list: %v (%s)", err, errOut)
	}
	for _, secret := range []string{rita, ed} {
		sum := sha256.Sum256([]byte(secret))
		if strings.Contains(out, strings.TrimPrefix(secret, "nr_")) || strings.Contains(out, hex.EncodeToString(sum[:])) {
			t.Errorf("token list shows a secret or its hash:\n%s", out)
		}
	}
	rows := tokenTable(t, out)
	if len(rows) != 3 {
		t.Fatalf("token list has %d lines; want a header and 2 tokens:\n%s", len(rows), out)
	}
	ago := func(cell string) time.Duration {
		t.Helper()
		at, err := time.Parse(time.RFC3339, cell)
		if err != nil {
			t.Errorf("time %q: %v", cell, err)
		}
		return time.Since(at)
	}
	edRow, ritaRow := rows[1], rows[2] // ordered by name
	if edRow[0] != "ed" || edRow[1] != "editor" || ago(edRow[3]) > time.Minute || ago(edRow[4]) > time.Minute || edRow[5] != "-" {
		t.Errorf("token list row %q; want ed, editor, created and used just now, not revoked\n%s", edRow, out)
	}
	if ritaRow[0] != "rita" || ritaRow[1] != "reporter" || ago(ritaRow[3]) > time.Minute || ritaRow[4] != "-" || ritaRow[5] != "-" {
		t.Errorf("token list row %q; want rita, reporter, created just now, never used, not revoked\n%s", ritaRow, out)
	}

	out, errOut, err = runToken(t, dir, "revoke", "rita")
	if err != nil {
		t.Fatalf("token revoke rita: %v", err)
	}
	if out != "" || !strings.Contains(errOut, "revoked every token of rita (1: "+ritaRow[2]+")") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("token revoke printed %q on stdout and %q on stderr; want one line on stderr", out, errOut)
	}
	// Another process (the server) refuses the token once it is past what it remembers; a
	// fresh Tokens remembers nothing.
	if _, err := auth.NewTokens(db).Authenticate(ctx, rita); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("Authenticate(rita) after token revoke = %v; want ErrUnauthenticated", err)
	}
	if p, err := auth.NewTokens(db).Authenticate(ctx, ed); err != nil || p.Role != domain.RoleEditor {
		t.Errorf("Authenticate(ed) after revoking rita = %+v, %v; want ed, an editor", p, err)
	}
	out, _, err = runToken(t, dir, "list")
	if err != nil {
		t.Fatal(err)
	}
	if rows := tokenTable(t, out); len(rows) != 3 || rows[2][0] != "rita" || ago(rows[2][5]) > time.Minute || rows[1][5] != "-" {
		t.Errorf("token list after revoking rita:\n%s\nwant rita revoked just now, ed not revoked", out)
	}

	// Revoking again is harmless; flags may come before the name.
	var o, e bytes.Buffer
	if err := run(ctx, []string{"token", "revoke", "--data-dir", dir, "rita"}, &o, &e); err != nil {
		t.Errorf("token revoke rita again: %v", err)
	}
}

func TestTokenCommandErrors(t *testing.T) {
	dir := t.TempDir()
	createToken(t, dir, "rita", "reporter")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown name", []string{"revoke", "nobody"}, "no user named nobody"},
		{"no name", []string{"revoke"}, "ID|NAME"},
		{"two names", []string{"revoke", "rita", "ed"}, "got 2"},
		{"list with an argument", []string{"list", "rita"}, "unexpected argument"},
		{"unknown subcommand", []string{"delete", "rita"}, `unknown command "token delete"`},
		{"another role for rita", []string{"create", "--name", "rita", "--role", "editor"}, "rita is a user with role reporter, not editor"},
		{"a new user without a role", []string{"create", "--name", "newcomer"}, "newcomer is a new user: give --role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runToken(t, dir, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("token %v error = %v; want it to mention %q", tt.args, err, tt.want)
			}
			if out != "" {
				t.Errorf("token %v printed %q; want nothing", tt.args, out)
			}
		})
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"token"}, &out, &errOut); err == nil || !strings.Contains(errOut.String(), "token revoke ID|NAME") {
		t.Errorf("token with no subcommand: error = %v, stderr %q; want an error and the usage", err, errOut.String())
	}
	// Nothing was revoked by the failures.
	rows := tokenTable(t, mustList(t, dir))
	if len(rows) != 2 || rows[1][5] != "-" {
		t.Errorf("after failed commands, token list = %q; want rita, not revoked", rows)
	}
}

func mustList(tb testing.TB, dir string) string {
	tb.Helper()
	out, errOut, err := runToken(tb, dir, "list")
	if err != nil {
		tb.Fatalf("token list: %v (%s)", err, errOut)
	}
	return out
}

// A second token for an existing user is the same person to the workflow: what ed wrote with
// one token, ed cannot approve with the other, and the history names ed for both. Revoking one
// of ed's tokens leaves the other working.
func TestTokensOfOneUserAreOnePerson(t *testing.T) {
	dir := t.TempDir()
	edAtDesk := createToken(t, dir, "ed", "editor")
	edOnPhone := createToken(t, dir, "ed", "editor")
	eva := createToken(t, dir, "eva", "editor")
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1/articles"

	r := call(t, "POST", api, edAtDesk, map[string]any{"headline": "Ministers meet", "body": "Foreign ministers met."})
	expectStatus(t, r, 201, "draft with ed's first token")
	id := r.json(t)["id"].(string)
	expectStatus(t, call(t, "POST", api+"/"+id+"/submit", edAtDesk, nil), 200, "submit")
	r = call(t, "POST", api+"/"+id+"/approve", edOnPhone, nil)
	if r.status != 409 || !strings.Contains(string(r.body), "refused") {
		t.Errorf("approve with ed's second token what ed wrote with the first: %d %s; want 409, refused (self-approval)", r.status, r.body)
	}
	expectStatus(t, call(t, "POST", api+"/"+id+"/approve", eva, nil), 200, "approve by eva")
	expectStatus(t, call(t, "POST", api+"/"+id+"/publish", edOnPhone, nil), 200, "publish with ed's second token")

	var history struct {
		Items []struct {
			Actor struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"actor"`
		} `json:"items"`
	}
	eventually(t, "the history of the article", func() bool {
		r := call(t, "GET", api+"/"+id+"/history", edAtDesk, nil)
		return r.status == 200 && json.Unmarshal(r.body, &history) == nil && len(history.Items) == 4
	})
	names := make([]string, len(history.Items))
	for i, e := range history.Items {
		names[i] = e.Actor.Name
	}
	if want := []string{"ed", "ed", "eva", "ed"}; !slices.Equal(names, want) {
		t.Errorf("history actors = %q; want %q", names, want)
	}
	if first, last := history.Items[0].Actor.ID, history.Items[3].Actor.ID; first != last || first == "" {
		t.Errorf("history: drafted by user %q, published by user %q; want one user", first, last)
	}

	// Revoke ed's first token by its id (from token list): the second keeps working.
	rows := tokenTable(t, mustList(t, dir))
	var edTokens []string
	for _, row := range rows[1:] {
		if row[0] == "ed" {
			edTokens = append(edTokens, row[2])
		}
	}
	if len(edTokens) != 2 {
		t.Fatalf("token list shows %d tokens of ed; want 2\n%q", len(edTokens), rows)
	}
	db := openDB(t, dir)
	first, err := auth.NewTokens(db).Authenticate(context.Background(), edAtDesk)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(edTokens, first.TokenID) {
		t.Fatalf("ed's first token %s is not in token list's %q", first.TokenID, edTokens)
	}
	if _, errOut, err := runToken(t, dir, "revoke", first.TokenID); err != nil || !strings.Contains(errOut, "revoked token "+first.TokenID) {
		t.Fatalf("token revoke %s: %v (%s)", first.TokenID, err, errOut)
	}
	// The server remembers a verified token for up to 30 s: a fresh Tokens, as a server started
	// now, answers at once.
	tokens := auth.NewTokens(db)
	if _, err := tokens.Authenticate(context.Background(), edAtDesk); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("ed's revoked token: %v; want ErrUnauthenticated", err)
	}
	if p, err := tokens.Authenticate(context.Background(), edOnPhone); err != nil || p.UserID != first.UserID {
		t.Errorf("ed's other token after revoking the first: %+v, %v; want ed", p, err)
	}
}
