package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/sqldb"
)

const tokenUsage = `usage:
  newsroom token create --name NAME --role reporter|editor|admin [--data-dir DIR] [--db DSN]
  newsroom token list [--data-dir DIR] [--db DSN]
  newsroom token revoke NAME [--data-dir DIR] [--db DSN]`

func tokenCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(tokenUsage)
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "create":
		return tokenCreate(ctx, rest, stdout, stderr)
	case "list":
		return tokenList(ctx, rest, stdout, stderr)
	case "revoke":
		return tokenRevoke(ctx, rest, stderr)
	default:
		return fmt.Errorf("unknown token command %q\n%s", sub, tokenUsage)
	}
}

func tokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cfg        config
		name, role string
	)
	f := newFlags("token create", stderr)
	f.storage(&cfg)
	f.fs.StringVar(&name, "name", "", "a name for the token's holder (shown in lists, never in events)")
	f.fs.StringVar(&role, "role", "", "reporter, editor or admin")
	if err := f.parse(args); err != nil {
		return err
	}
	if name == "" {
		return errors.New("token create: --name is required")
	}
	r, err := domain.ParseRole(role)
	if err != nil {
		return fmt.Errorf("token create: --role %q: %w", role, err)
	}
	db, err := sqldb.Open(ctx, cfg.DB, cfg.DataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	secret, _, err := auth.NewTokens(db).Create(ctx, name, r)
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	_, err = fmt.Fprintln(stdout, secret)
	return err
}

// tokenList prints every token, revoked ones included, as an aligned table. auth.TokenInfo
// holds neither the secret nor its hash, so neither can reach the table.
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
	fmt.Fprintln(w, "NAME\tROLE\tCREATED\tLAST USED\tREVOKED")
	for _, i := range infos {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", i.Name, i.Role, listTime(i.CreatedAt), listTime(i.LastUsedAt), listTime(i.RevokedAt))
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

func tokenRevoke(ctx context.Context, args []string, stderr io.Writer) error {
	var cfg config
	f := newFlags("token revoke", stderr)
	f.storage(&cfg)
	operands, err := parseOperands(f, args, "NAME")
	if err != nil {
		return err
	}
	name := operands[0]
	db, err := sqldb.Open(ctx, cfg.DB, cfg.DataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := auth.NewTokens(db).Revoke(ctx, name); errors.Is(err, auth.ErrNotFound) {
		return fmt.Errorf("token revoke: no token named %s", name)
	} else if err != nil {
		return fmt.Errorf("token revoke: %w", err)
	}
	// Running servers remember a verified token for up to 30 s (auth.Tokens.Authenticate).
	_, err = fmt.Fprintf(stderr, "revoked token %s; running servers refuse it within 30 s\n", name)
	return err
}
