// Command newsroom is the one binary: `serve` runs the API, the views and (by default) an
// embedded NATS server; `token` manages API tokens. Run `newsroom help` for the rest.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `newsroom: an event-sourced publishing backend for newsrooms.

Usage:
  newsroom serve [flags]                                 run the API, the views and an embedded NATS
  newsroom token create --name NAME --role ROLE [flags]  create an API token; prints only the token

Roles: reporter, editor, admin. Every flag can also be set by the environment variable shown in
'newsroom COMMAND -h' (NEWSROOM_HTTP, NEWSROOM_DATA_DIR, …).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "newsroom:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serveCommand(ctx, rest, stderr)
	case "token":
		return tokenCommand(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
