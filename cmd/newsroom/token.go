package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/newsroom/newsroom/auth"
	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/sqldb"
)

func tokenCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: newsroom token create --name NAME --role reporter|editor|admin")
	}
	var (
		cfg        config
		name, role string
	)
	f := newFlags("token create", stderr)
	f.storage(&cfg)
	f.fs.StringVar(&name, "name", "", "a name for the token's holder (shown in lists, never in events)")
	f.fs.StringVar(&role, "role", "", "reporter, editor or admin")
	if err := f.parse(args[1:]); err != nil {
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
