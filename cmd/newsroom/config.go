package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/newsroom/newsroom/events"
)

// config is every setting of `serve`; the commands that open the data directory use part of it.
type config struct {
	HTTP       string // listen address of the API
	DataDir    string // embedded NATS files, SQLite database, nats.url
	DB         string // "" (SQLite in DataDir) or postgres://…
	NATSURL    string // external NATS; empty runs the embedded server
	NATSListen string // the embedded server's client address
	NoSync     bool   // relax the embedded server's fsync-before-ack
	PublicURL  string // the public base URL: article URIs, CloudEvents source, feeds
	SiteName   string // the site's name on the public pages and feeds
	// MetricsListen serves /metrics on an address of its own; empty: on HTTP.
	MetricsListen string
	Replicas      int // replicas of the streams newsroom creates; 0: 3 on a cluster, else 1
	// SessionTTL is how long a desk sign-in (a session cookie) lasts; 0: auth.DefaultSessionTTL.
	SessionTTL time.Duration
	// TrustedProxies names the reverse proxies whose X-Forwarded-For says who the client is
	// (comma-separated addresses or CIDR ranges); empty: the connection's address.
	TrustedProxies string
	// FailureLimit is how many failed sign-ins and wrong bearer tokens an address may send in a
	// minute; 0: newsroomhttp.DefaultFailureLimit.
	FailureLimit int

	// SingleEditorCorrections lets one editor publish a correction that changes the text
	// without a second editor's confirmation (domain.Policy). Off by default.
	SingleEditorCorrections bool

	// Webhook deliveries: the timeout of one attempt, and the backoff between attempts at one
	// message (doubling from the first to the cap). Zero: 10 s, 1 s, 5 min.
	WebhookTimeout, WebhookRetryMin, WebhookRetryMax time.Duration

	// Server-sent events (/public/v1/stream), fanned out from one subscription per instance.
	// Zero: the events.HubConfig defaults.
	SSEMaxClients   int // concurrent streams
	SSERingMessages int // messages kept for readers that resume
	SSERingBytes    int // bytes kept for them
	SSEClientQueue  int // messages queued for one reader before it is cut off

	// MediaMaxBytes bounds an image upload (media.DefaultMaxBytes if 0).
	MediaMaxBytes int
}

// sseFlags binds the settings of the event stream's fan-out.
func (f flags) sseFlags(c *config) {
	f.int(&c.SSEMaxClients, "sse-max-clients", events.DefaultMaxClients, "most concurrent event streams (/public/v1/stream) on this instance; "+
		"beyond it a reader is told to retry later. Each stream holds a connection, a file descriptor and a small queue: "+
		"the default fits the 20,000 open files a process may have here with room for everything else, and ~0.5 GB of memory at most")
	f.int(&c.SSERingMessages, "sse-ring-messages", events.DefaultRingMessages, "event streams: how many of the latest public messages each instance keeps in memory, so that a reader that reconnects resumes without reading NATS")
	f.int(&c.SSERingBytes, "sse-ring-bytes", events.DefaultRingBytes, "event streams: the most bytes those kept messages may take")
	f.int(&c.SSEClientQueue, "sse-client-queue", events.DefaultClientQueue, "event streams: messages queued for one reader; a reader that falls further behind is cut off, and resumes when it reconnects")
}

// siteFlags binds the settings of the public pages.
func (f flags) siteFlags(c *config) {
	f.string(&c.SiteName, "site-name", "newsroom", "the site's name on the public pages (/news) and in the feeds: their titles, Open Graph's site name, "+
		"schema.org's publisher, and the author of an article without a byline")
}

// flags binds settings to fs, each with a NEWSROOM_* environment variable as its default.
type flags struct {
	fs *flag.FlagSet
}

func newFlags(name string, stderr io.Writer) flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = flagUsage(fs)
	return flags{fs: fs}
}

func envName(flagName string) string {
	return "NEWSROOM_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (f flags) string(dst *string, name, def, help string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		def = v
	}
	f.fs.StringVar(dst, name, def, fmt.Sprintf("%s (env %s)", help, envName(name)))
}

func (f flags) bool(dst *bool, name string, help string) {
	def := false
	if v, ok := os.LookupEnv(envName(name)); ok {
		def = v == "1" || strings.EqualFold(v, "true") || strings.EqualFold(v, "yes")
	}
	f.fs.BoolVar(dst, name, def, fmt.Sprintf("%s (env %s)", help, envName(name)))
}

func (f flags) int(dst *int, name string, def int, help string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		if n, err := strconv.Atoi(v); err == nil {
			def = n
		}
	}
	f.fs.IntVar(dst, name, def, fmt.Sprintf("%s (env %s)", help, envName(name)))
}

func (f flags) duration(dst *time.Duration, name string, def time.Duration, help string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		if d, err := time.ParseDuration(v); err == nil {
			def = d
		}
	}
	f.fs.DurationVar(dst, name, def, fmt.Sprintf("%s (env %s)", help, envName(name)))
}

// storage binds the settings that say where the data lives.
func (f flags) storage(c *config) {
	f.string(&c.DataDir, "data-dir", "./data", "directory for the embedded NATS files, the SQLite database and nats.url")
	f.string(&c.DB, "db", "", `SQL database for views and tokens: empty for SQLite in the data directory, or postgres://…`)
}

// parse parses args, which may hold flags only.
func (f flags) parse(args []string) error {
	if err := f.parseArgs(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", f.fs.Name(), f.fs.Arg(0))
	}
	return nil
}

// parseArgs parses args with the flag set. Asked for (-h, --help), the usage is printed to the
// flag set's output and flag.ErrHelp returned; a bad flag is returned as an error that points at
// --help, without the whole usage around it.
func (f flags) parseArgs(args []string) error {
	out, usage := f.fs.Output(), f.fs.Usage
	f.fs.SetOutput(io.Discard)
	f.fs.Usage = func() {}
	err := f.fs.Parse(args)
	f.fs.SetOutput(out)
	f.fs.Usage = usage
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage()
		return err
	case err != nil:
		return fmt.Errorf("%s: %w (see 'newsroom %s --help')", f.fs.Name(), err, f.fs.Name())
	}
	return nil
}

// trustedProxies parses --trusted-proxies: addresses (a /32 or /128 each) and CIDR ranges,
// separated by commas.
func trustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is neither an address nor a CIDR range", item)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
