package main

import (
	"net/url"
	"strings"

	"github.com/nats-io/nats.go"
)

// newsroomInboxPrefix is where newsroom asks NATS for replies, instead of the default _INBOX.
// Users who may only read the public stream (user "subscriber" in deploy/nats/auth.conf) may
// listen on _INBOX.>: what newsroom reads from the internal log, drafts included, reaches it as
// replies, and must never travel there. The name is part of deploy/nats/auth.conf.
const newsroomInboxPrefix = "_INBOX_newsroom"

// newsroomNATSOptions are the options of every connection newsroom opens to read or write the
// internal log. serverURLs is what --nats-url holds: one URL or a comma-separated list, each
// with its own user and password if the servers want them (nats://user:pass@host:4222).
func newsroomNATSOptions(name string, extra ...nats.Option) []nats.Option {
	return append([]nats.Option{nats.Name(name), nats.CustomInboxPrefix(newsroomInboxPrefix)}, extra...)
}

// redactNATSURL hides the passwords in a --nats-url (one URL or a comma-separated list) so that
// it may be logged or shown in an error.
func redactNATSURL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		u, err := url.Parse(p)
		switch {
		case err != nil && strings.Contains(p, "@"):
			parts[i] = "(unparsable URL with user information)"
		case err != nil:
			parts[i] = p
		default:
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}
