package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/sqldb"
)

// tokenCreate issues a token to a user, creating the user at their first token.
func tokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cfg        config
		name, role string
	)
	f := newFlags("token create", stderr)
	f.storage(&cfg)
	f.fs.StringVar(&name, "name", "", "the user the token is for (shown in lists and the history, never in events); an existing user gets another token")
	f.fs.StringVar(&role, "role", "", "reporter, editor or admin: required for a new user; for an existing one it may be left out, and must be the user's")
	if err := f.parse(args); err != nil {
		return err
	}
	if name == "" {
		return errors.New("token create: --name is required")
	}
	var r domain.Role
	if role != "" {
		var err error
		if r, err = domain.ParseRole(role); err != nil {
			return fmt.Errorf("token create: --role %q: %w", role, err)
		}
	}
	db, err := sqldb.Open(ctx, cfg.DB, cfg.DataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	secret, p, err := auth.NewTokens(db).Create(ctx, name, r)
	switch {
	case errors.Is(err, domain.ErrUnknownRole) && role == "":
		return fmt.Errorf("token create: %s is a new user: give --role reporter, editor or admin", name)
	case errors.Is(err, auth.ErrRoleMismatch):
		return fmt.Errorf("token create: %w (a user's tokens all have the user's role: leave --role out, or use another --name)", err)
	case err != nil:
		return fmt.Errorf("token create: %w", err)
	}
	// Only the secret goes to stdout, so that R=$(newsroom token create …) holds it alone.
	if _, err := fmt.Fprintln(stdout, secret); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stderr, "token %s issued to %s (%s, user %s)\n", p.TokenID, p.Name, p.Role, p.UserID)
	return err
}

// tokenList prints every token, revoked ones included, as an aligned table: the user's name and
// role, then the token's id (what `token revoke` takes). auth.TokenInfo holds neither the secret
// nor its hash, so neither can reach the table.
func tokenList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg config
	f := newFlags("token list", stderr)
	f.storage(&cfg)
	if err := f.parse(args); err != nil {
		return err
	}
	db, err := sqldb.Open(ctx, cfg.DB, cfg.DataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	infos, err := auth.NewTokens(db).List(ctx)
	if err != nil {
		return fmt.Errorf("token list: %w", err)
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tROLE\tTOKEN\tCREATED\tLAST USED\tREVOKED")
	for _, i := range infos {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", i.Name, i.Role, i.TokenID, listTime(i.CreatedAt), listTime(i.LastUsedAt), listTime(i.RevokedAt))
	}
	return w.Flush()
}

// listTime is t in UTC to the second, or "-" for never. It has no spaces, so that the columns
// split on whitespace.
func listTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// tokenRevoke revokes one token by its id, or every token of a user by the user's name: a token
// id is looked for first (ids are UUIDs, names rarely are).
func tokenRevoke(ctx context.Context, args []string, stderr io.Writer) error {
	var cfg config
	f := newFlags("token revoke", stderr)
	f.storage(&cfg)
	operands, err := parseOperands(f, args, "ID|NAME")
	if err != nil {
		return err
	}
	which := operands[0]
	db, err := sqldb.Open(ctx, cfg.DB, cfg.DataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	tokens := auth.NewTokens(db)
	// Running servers remember a verified token for up to 30 s (auth.Tokens.Authenticate).
	err = tokens.Revoke(ctx, which)
	if err == nil {
		_, err = fmt.Fprintf(stderr, "revoked token %s; running servers refuse it within 30 s, and its desk sessions at once\n", which)
		return err
	}
	if !errors.Is(err, auth.ErrNotFound) {
		return fmt.Errorf("token revoke: %w", err)
	}
	revoked, err := tokens.RevokeUser(ctx, which)
	switch {
	case errors.Is(err, auth.ErrNotFound):
		return fmt.Errorf("token revoke: no token with the id %s, and no user named %s ('newsroom token list' shows both)", which, which)
	case err != nil:
		return fmt.Errorf("token revoke: %w", err)
	case len(revoked) == 0:
		_, err = fmt.Fprintf(stderr, "%s holds no token that is not revoked already: nothing to revoke\n", which)
	default:
		_, err = fmt.Fprintf(stderr, "revoked every token of %s (%d: %s); running servers refuse them within 30 s, and their desk sessions at once\n",
			which, len(revoked), strings.Join(revoked, ", "))
	}
	return err
}
