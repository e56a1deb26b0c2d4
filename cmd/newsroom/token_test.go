package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
	columns := []string{"NAME", "ROLE", "CREATED", "LAST USED", "REVOKED"}
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
	if edRow[0] != "ed" || edRow[1] != "editor" || ago(edRow[2]) > time.Minute || ago(edRow[3]) > time.Minute || edRow[4] != "-" {
		t.Errorf("token list row %q; want ed, editor, created and used just now, not revoked\n%s", edRow, out)
	}
	if ritaRow[0] != "rita" || ritaRow[1] != "reporter" || ago(ritaRow[2]) > time.Minute || ritaRow[3] != "-" || ritaRow[4] != "-" {
		t.Errorf("token list row %q; want rita, reporter, created just now, never used, not revoked\n%s", ritaRow, out)
	}

	out, errOut, err = runToken(t, dir, "revoke", "rita")
	if err != nil {
		t.Fatalf("token revoke rita: %v", err)
	}
	if out != "" || !strings.Contains(errOut, "revoked token rita") || strings.Count(errOut, "\n") != 1 {
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
	if rows := tokenTable(t, out); len(rows) != 3 || rows[2][0] != "rita" || ago(rows[2][4]) > time.Minute || rows[1][4] != "-" {
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
		{"unknown name", []string{"revoke", "nobody"}, "no token named nobody"},
		{"no name", []string{"revoke"}, "NAME"},
		{"two names", []string{"revoke", "rita", "ed"}, "got 2"},
		{"list with an argument", []string{"list", "rita"}, "unexpected argument"},
		{"unknown subcommand", []string{"delete", "rita"}, "token list"},
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
	if err := run(context.Background(), []string{"token"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "token revoke NAME") {
		t.Errorf("token with no subcommand: error = %v; want the usage", err)
	}
	// Nothing was revoked by the failures.
	rows := tokenTable(t, mustList(t, dir))
	if len(rows) != 2 || rows[1][4] != "-" {
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
