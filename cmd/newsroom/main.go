// Command newsroom is the one binary: `serve` runs the API, the views and (by default) an
// embedded NATS server; `token` manages API tokens; `import` drafts an article from a text file
// through a running server. Run `newsroom help` for the rest.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `newsroom: an event-sourced publishing backend for newsrooms.

Usage:
  newsroom serve [flags]                                 run the API, the views and an embedded NATS
  newsroom token create --name NAME --role ROLE [flags]  create an API token; prints only the token
  newsroom token list [flags]                            list tokens (never their secrets)
  newsroom token revoke NAME [flags]                     revoke a token; servers refuse it within 30 s
  newsroom replay [--projection NAME]... [flags]         rebuild views from the log (asks a running
                                                         serve to do it, blue/green, and follows it)
  newsroom tail [--since SEQ|--new] [--durable NAME]     print public events as JSON lines
  newsroom import [flags] FILE                           draft an article from a plain-text file (- for
                                                         stdin) through a running serve; prints its id
  newsroom health [--url URL]                            exit 0 if a running serve is ready (GET /readyz
                                                         answers 2xx): the container health check
  newsroom bench [--quick] [flags]                       measure newsroom against this machine's raw
                                                         limits (NATS, SQL, Echo) and print the ratios

Roles: reporter, editor, admin. Every flag can also be set by the environment variable shown in
'newsroom COMMAND -h' (NEWSROOM_HTTP, NEWSROOM_DATA_DIR, NEWSROOM_API, NEWSROOM_TOKEN, …).
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
	case "import":
		return importCommand(ctx, rest, os.Stdin, stdout, stderr)
	case "replay":
		return replayCommand(ctx, rest, stdout, stderr)
	case "tail":
		return tailCommand(ctx, rest, stdout, stderr)
	case "health":
		return healthCommand(ctx, rest, stdout, stderr)
	case "bench":
		return benchCommand(ctx, rest, stdout, stderr)
	case loadProcessCommand: // the second process of `newsroom bench`
		return benchLoadCommand(ctx, os.Stdin, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// parseOperands parses args with f, flags before and after the operands alike, and returns the
// operands, which must be as many as names (used in the error message). After "--" everything
// is an operand.
func parseOperands(f flags, args []string, names ...string) ([]string, error) {
	var operands []string
	for {
		if err := f.fs.Parse(args); err != nil {
			return nil, err
		}
		rest := f.fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			operands = append(operands, rest...)
			break
		}
		operands = append(operands, rest[0])
		args = rest[1:]
	}
	if len(operands) != len(names) {
		return nil, fmt.Errorf("%s: want %d argument(s) (%s), got %d", f.fs.Name(), len(names), strings.Join(names, " "), len(operands))
	}
	return operands, nil
}
