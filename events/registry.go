package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/newsroom/newsroom/domain"
)

// kind describes one event type: how to decode its current schema, and how to bring an older
// schema up to date. An upcaster at index v turns schema v+1 into v+2 (schema versions start at 1).
type kind struct {
	current   int
	decode    func([]byte) (domain.Event, error)
	upcasters []func(json.RawMessage) (json.RawMessage, error)
}

// registry maps the permanent event type names to their decoders.
var registry = map[string]kind{
	// Schema 2 of article.drafted (2026-11) made tags a JSON array; schema 1 stored them as one
	// comma-separated string ("nato, russia"). Logs written before then still hold schema 1.
	domain.TypeDrafted:   current[domain.Drafted]().then(draftedTagsAsArray),
	domain.TypeRevised:   current[domain.Revised](),
	domain.TypeSubmitted: current[domain.Submitted](),
	domain.TypeApproved:  current[domain.Approved](),
	domain.TypePublished: current[domain.Published](),

	domain.TypeChangesRequested: current[domain.ChangesRequested](),
	domain.TypeCorrected:        current[domain.Corrected](),
	domain.TypeRetracted:        current[domain.Retracted](),
	domain.TypeSpiked:           current[domain.Spiked](),
	domain.TypeKilled:           current[domain.Killed](),

	domain.TypeCorrectionProposed:  current[domain.CorrectionProposed](),
	domain.TypeCorrectionWithdrawn: current[domain.CorrectionWithdrawn](),

	domain.TypeScheduled:     current[domain.Scheduled](),
	domain.TypeUnscheduled:   current[domain.Unscheduled](),
	domain.TypeEmbargoLifted: current[domain.EmbargoLifted](),
	domain.TypeEmbargoMoved:  current[domain.EmbargoMoved](),

	domain.TypeMediaUploaded:  current[domain.MediaUploaded](),
	domain.TypeMediaDescribed: current[domain.MediaDescribed](),
	domain.TypeMediaErased:    current[domain.MediaErased](),
}

// then records that the schema moved on by one version, with the upcaster from the previous one.
func (k kind) then(up func(json.RawMessage) (json.RawMessage, error)) kind {
	k.current++
	k.upcasters = append(k.upcasters, up)
	return k
}

// draftedTagsAsArray upcasts article.drafted from schema 1 to 2: "tags": "a, b" → ["a", "b"].
func draftedTagsAsArray(data json.RawMessage) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, err
	}
	raw, ok := fields["tags"]
	if !ok {
		return data, nil
	}
	var joined string
	if err := json.Unmarshal(raw, &joined); err != nil {
		return nil, fmt.Errorf("schema 1 tags must be a string: %w", err)
	}
	tags := []string{}
	for _, t := range strings.Split(joined, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	delete(fields, "tags")
	if len(tags) > 0 {
		encoded, err := json.Marshal(tags)
		if err != nil {
			return nil, err
		}
		fields["tags"] = encoded
	}
	return json.Marshal(fields)
}

func current[E domain.Event]() kind {
	return kind{current: 1, decode: func(data []byte) (domain.Event, error) {
		var e E
		dec := json.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(&e); err != nil {
			return nil, err
		}
		return e, nil
	}}
}

func decodeEvent(typ string, schema int, data json.RawMessage) (domain.Event, error) {
	k, ok := registry[typ]
	if !ok {
		return nil, fmt.Errorf("unknown event type %q", typ)
	}
	if schema < 1 || schema > k.current {
		return nil, fmt.Errorf("%s: schema version %d, this build reads 1 to %d", typ, schema, k.current)
	}
	for v := schema; v < k.current; v++ {
		var err error
		if data, err = k.upcasters[v-1](data); err != nil {
			return nil, fmt.Errorf("%s: upcast schema %d: %w", typ, v, err)
		}
	}
	e, err := k.decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: decode payload: %w", typ, err)
	}
	return e, nil
}
