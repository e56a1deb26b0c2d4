package events

import (
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// EnvelopesOf decodes a batch of log messages, as a Worker hands them over, in order.
func EnvelopesOf(batch []jetstream.Msg) ([]Envelope, error) {
	out := make([]Envelope, 0, len(batch))
	for _, m := range batch {
		md, err := m.Metadata()
		if err != nil {
			return nil, fmt.Errorf("log message on %s: %w", m.Subject(), err)
		}
		env, err := Unmarshal(m.Data(), md.Sequence.Stream)
		if err != nil {
			return nil, err
		}
		out = append(out, env)
	}
	return out, nil
}
