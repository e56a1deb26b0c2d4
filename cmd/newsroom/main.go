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
	"slices"
	"strings"
	"syscall"
)

// command is one of newsroom's commands. The table of them (commandTable) is what `newsroom
// help` lists, what `newsroom COMMAND --help` heads its flags with, and what the tests walk.
type command struct {
	name     string // "serve", or "create" under "token"
	synopsis string // the arguments after the name, as usage shows them
	summary  string // what it does, in a sentence or two
	// run runs the command with the arguments after its name. A command with subcommands has
	// none: it dispatches to them.
	run    func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	sub    []command
	hidden bool // not listed: a process newsroom starts itself
}

// commandTable is every command. It is a function, not a variable, because `help` refers to it.
func commandTable() []command {
	return []command{
		{name: "serve", synopsis: "[flags]", summary: "run the API, the views and an embedded NATS server",
			run: func(ctx context.Context, args []string, _, stderr io.Writer) error {
				return serveCommand(ctx, args, stderr)
			}},
		{name: "token", summary: "manage API tokens: each belongs to a user, who may hold several", sub: []command{
			{name: "create", synopsis: "--name NAME [--role reporter|editor|admin] [flags]",
				summary: "issue a token to the user NAME, printing only the token; creates the user (--role required) or gives an existing one another token",
				run:     tokenCreate},
			{name: "list", synopsis: "[flags]", summary: "list every token and its user (never the secrets)",
				run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
					return tokenList(ctx, args, stdout, stderr)
				}},
			{name: "revoke", synopsis: "ID|NAME [flags]",
				summary: "revoke the token with this id, or every token of the user NAME; servers refuse them within 30 s",
				run: func(ctx context.Context, args []string, _, stderr io.Writer) error {
					return tokenRevoke(ctx, args, stderr)
				}},
		}},
		{name: "replay", synopsis: "[--projection NAME]... [flags]",
			summary: "rebuild views from the log (asks a running serve to do it, blue/green, and follows it)",
			run:     replayCommand},
		{name: "tail", synopsis: "[--since SEQ|--new] [--durable NAME] [--embargoed] [--article ID] [flags]", summary: "print public (or embargoed) events as JSON lines",
			run: tailCommand},
		{name: "import", synopsis: "[flags] FILE",
			summary: "draft an article from a plain-text file (- for stdin) through a running serve; prints its id",
			run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
				return importCommand(ctx, args, os.Stdin, stdout, stderr)
			}},
		{name: "health", synopsis: "[--url URL]",
			summary: "exit 0 if a running serve is ready (GET /readyz answers 2xx): the container health check",
			run:     healthCommand},
		{name: "bench", synopsis: "[--quick] [flags]",
			summary: "measure newsroom against this machine's raw limits (NATS, SQL, Echo) and print the ratios",
			run:     benchCommand},
		{name: "version", summary: "print the version, the VCS revision and whether the tree was modified",
			run: versionCommand},
		{name: "help", synopsis: "[COMMAND [SUBCOMMAND]]", summary: "show this, or a command's flags",
			run: helpCommand},
		{name: loadProcessCommand, hidden: true, // the second process of `newsroom bench`
			run: func(ctx context.Context, _ []string, stdout, _ io.Writer) error {
				return benchLoadCommand(ctx, os.Stdin, stdout)
			}},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp): // help was asked for, and printed
	default:
		fmt.Fprintln(os.Stderr, "newsroom:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return errors.New("no command given")
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprint(stdout, usage())
		return nil
	case "-version", "--version":
		return versionCommand(ctx, nil, stdout, stderr)
	}
	return dispatch(ctx, commandTable(), nil, args, stdout, stderr)
}

// dispatch runs the command of table that args[0] names (under the commands in path), with
// the rest of args.
func dispatch(ctx context.Context, table []command, path []string, args []string, stdout, stderr io.Writer) error {
	parent := strings.Join(path, " ")
	i := slices.IndexFunc(table, func(c command) bool { return c.name == args[0] })
	if i < 0 {
		if parent == "" {
			fmt.Fprint(stderr, usage())
			return fmt.Errorf("unknown command %q", args[0])
		}
		fmt.Fprint(stderr, subcommandUsage(parent, table))
		return fmt.Errorf("unknown command %q", parent+" "+args[0])
	}
	c, rest := table[i], args[1:]
	if c.sub != nil {
		name := strings.Join(append(path, c.name), " ")
		switch {
		case len(rest) == 0:
			fmt.Fprint(stderr, subcommandUsage(name, c.sub))
			return fmt.Errorf("%s: no subcommand given", name)
		case rest[0] == "-h" || rest[0] == "-help" || rest[0] == "--help" || rest[0] == "help":
			fmt.Fprint(stdout, subcommandUsage(name, c.sub))
			return nil
		}
		return dispatch(ctx, c.sub, append(path, c.name), rest, stdout, stderr)
	}
	if helpAsked(rest) {
		// The flag package prints a command's usage where it prints errors; asked for, it is
		// the answer, and goes to stdout (`newsroom serve --help | less`).
		stderr = stdout
	}
	return c.run(ctx, rest, stdout, stderr)
}

// helpAsked reports whether args hold -h, -help or --help before any "--".
func helpAsked(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// lookup returns the command that path names ("serve", "token create"), if there is one.
func lookup(path string) (command, bool) {
	table := commandTable()
	var found command
	for _, name := range strings.Fields(path) {
		i := slices.IndexFunc(table, func(c command) bool { return c.name == name })
		if i < 0 {
			return command{}, false
		}
		found, table = table[i], table[i].sub
	}
	return found, found.name != ""
}

// usage is the list of commands, as `newsroom help` prints it.
func usage() string {
	var lines [][2]string
	for _, c := range commandTable() {
		if c.hidden {
			continue
		}
		if c.sub == nil {
			lines = append(lines, [2]string{strings.TrimSpace("newsroom " + c.name + " " + c.synopsis), c.summary})
			continue
		}
		for _, s := range c.sub {
			lines = append(lines, [2]string{"newsroom " + c.name + " " + s.name + " " + s.synopsis, s.summary})
		}
	}
	return "newsroom: an event-sourced publishing backend for newsrooms.\n\nUsage:\n" + columns(lines) + `
Roles: reporter, editor, admin. 'newsroom COMMAND --help' shows a command's flags; every flag
can also be set by the environment variable shown there (NEWSROOM_HTTP, NEWSROOM_DATA_DIR,
NEWSROOM_API, NEWSROOM_TOKEN, …).
`
}

// subcommandUsage lists the subcommands of the command called name.
func subcommandUsage(name string, sub []command) string {
	var lines [][2]string
	for _, s := range sub {
		lines = append(lines, [2]string{"newsroom " + name + " " + s.name + " " + s.synopsis, s.summary})
	}
	return "usage:\n" + columns(lines) + "\n'newsroom " + name + " SUBCOMMAND --help' shows a subcommand's flags.\n"
}

// usageWidth is the width usage text is wrapped to.
const usageWidth = 100

// columns lays out (synopsis, summary) pairs: synopses on the left, summaries wrapped beside
// them, or under a synopsis too long to leave them room.
func columns(lines [][2]string) string {
	const maxLeft = 48
	left := 0
	for _, l := range lines {
		if n := len(l[0]); n <= maxLeft {
			left = max(left, n)
		}
	}
	indent := strings.Repeat(" ", 2+left+2)
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  " + l[0])
		if len(l[0]) > left {
			b.WriteString("\n" + indent)
		} else {
			b.WriteString(strings.Repeat(" ", left-len(l[0])+2))
		}
		b.WriteString(strings.Join(wrap(l[1], usageWidth-len(indent)), "\n"+indent))
		b.WriteString("\n")
	}
	return b.String()
}

// wrap breaks text into lines of at most width bytes, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}

// helpCommand prints the list of commands, or what `newsroom COMMAND --help` prints.
func helpCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || helpAsked(args) { // help --help: this is help's usage
		fmt.Fprint(stdout, usage())
		return nil
	}
	if _, ok := lookup(strings.Join(args, " ")); !ok {
		fmt.Fprint(stderr, usage())
		return fmt.Errorf("help: no command %q", strings.Join(args, " "))
	}
	return dispatch(ctx, commandTable(), nil, append(slices.Clone(args), "--help"), stdout, stderr)
}

// flagUsage prints the usage of the command that fs belongs to: its synopsis and summary from
// the command table, then its flags.
func flagUsage(fs *flag.FlagSet) func() {
	return func() {
		w := fs.Output()
		c, ok := lookup(fs.Name())
		if ok {
			fmt.Fprintf(w, "usage: newsroom %s %s\n\n%s\n", fs.Name(), c.synopsis, strings.Join(wrap(c.summary, usageWidth), "\n"))
		} else {
			fmt.Fprintf(w, "usage: newsroom %s\n", fs.Name())
		}
		fmt.Fprintln(w, "\nFlags:")
		fs.PrintDefaults()
	}
}

// parseOperands parses args with f, flags before and after the operands alike, and returns the
// operands, which must be as many as names (used in the error message). After "--" everything
// is an operand.
func parseOperands(f flags, args []string, names ...string) ([]string, error) {
	var operands []string
	for {
		if err := f.parseArgs(args); err != nil {
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
