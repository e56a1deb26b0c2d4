// Package bench measures the newsroom on generated event logs shaped like real traffic. Its
// benchmarks report figures; they never fail a test run on a timing.
package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
)

// Text is the copy generated articles are written from.
type Text struct {
	Headline string
	Lede     string // the first paragraph: the body of briefs, and of drafts before the full text
	Body     string // the full body, Markdown
}

// LoadText reads a communiqué whose first line is its headline and whose other lines are
// paragraphs; a short line without a full stop becomes a subheading.
func LoadText(path string) (Text, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Text{}, fmt.Errorf("load text: %w", err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) < 3 {
		return Text{}, fmt.Errorf("load text %s: want a headline and at least two paragraphs", path)
	}
	paragraphs := make([]string, 0, len(lines)-1)
	for _, l := range lines[1:] {
		if len(l) < 60 && !strings.ContainsAny(l, ".\"") {
			l = "## " + l
		}
		paragraphs = append(paragraphs, l)
	}
	return Text{Headline: lines[0], Lede: paragraphs[0], Body: strings.Join(paragraphs, "\n\n")}, nil
}

// LogSpec says what log to generate. The same spec and seed give the same articles, workflows
// and order (event ids and nothing else differ).
type LogSpec struct {
	Events   int // events in the log
	InFlight int // articles being worked on at once; their events interleave. Default 1000.
	Seed     uint64
	// Window bounds the publishes awaiting their ack. Default 256.
	Window int
	// FullShare is the share of articles that are full stories (the whole text pasted in at
	// some revision, then published and corrected with it); the others are briefs whose body
	// is one paragraph. Default 0.4, which makes about one event in ten carry the full body.
	FullShare float64
}

// LogStats describes a generated log.
type LogStats struct {
	Events, Articles                        int
	FullBody                                int // events whose payload carries the full body
	Published, Corrected, Retracted, Spiked int // events of these types
	Bytes                                   int64
	Elapsed                                 time.Duration
}

func (s LogStats) String() string {
	return fmt.Sprintf("%d events for %d articles (%.1f events/article), %.1f%% carrying the full body, "+
		"%d published, %d corrected, %d retracted, %d spiked, %.0f MB of JSON, written in %s (%.0f events/s)",
		s.Events, s.Articles, float64(s.Events)/float64(max(s.Articles, 1)), 100*float64(s.FullBody)/float64(max(s.Events, 1)),
		s.Published, s.Corrected, s.Retracted, s.Spiked, float64(s.Bytes)/1e6, s.Elapsed.Round(time.Millisecond),
		float64(s.Events)/s.Elapsed.Seconds())
}

// step is one workflow step of a generated article.
type step uint8

const (
	stepDraft step = iota
	stepRevise
	stepPasteBody // a revision that sets the full body
	stepSubmit
	stepRequestChanges
	stepApprove
	stepPublish
	stepCorrect // proposed by one editor…
	stepConfirm // …and confirmed by the other
	stepRetract
	stepSpike
)

// article is one article of a generated log as the generator works on it.
type article struct {
	n        int // its number in the log, which makes its slug unique
	id       string
	state    domain.Article
	plan     []step
	next     int
	reporter domain.Actor
	editors  [2]domain.Actor // who reviews and who approves; never the reporter (four eyes)
}

// generator decides the events of the articles in flight, one command at a time, with the
// domain's own rules: every event it writes is one the service could have written.
type generator struct {
	spec     LogSpec
	text     Text
	rng      *rand.Rand
	now      time.Time
	articles int
	stats    LogStats
}

var (
	headlines = []string{"", "NATO and Russia ministers meet in Brussels", "Foreign ministers meet at NATO-Russia Council",
		"NATO-Russia Council: frank exchanges on the CFE Treaty", "Lavrov attends NATO-Russia Council"}
	summaries = []string{"Ministers reiterated the importance of the NATO-Russia Council.",
		"Serious disagreements persist, but the Council remains a forum for frank exchanges.",
		"Ministers reviewed joint projects, from counter-terrorism to Afghanistan.",
		"The CFE Treaty was a key topic of discussion."}
	tagPool   = []string{"nato", "russia", "cfe-treaty", "diplomacy", "security", "europe", "afghanistan", "arms-control", "brussels", "counter-terrorism"}
	languages = []string{"en", "en", "en", "en", "en", "en", "fr", "de", "es", "pt-BR"}
	comments  = []string{"Please check the figures in the third paragraph.", "The headline overstates the disagreement; soften it.",
		"Add the date of the meeting and a source for the quote.", "Too long for a brief: cut it to the essentials."}
)

func newGenerator(spec LogSpec, text Text) *generator {
	return &generator{spec: spec, text: text, rng: rand.New(rand.NewPCG(spec.Seed, 0x6e657773726f6f6d)),
		now: time.Date(2026, 1, 5, 7, 0, 0, 0, time.UTC)}
}

// newArticle plans the workflow of a new article: draft, revisions, review rounds, and then
// publication (with corrections, perhaps a retraction) or, for some, a spike.
func (g *generator) newArticle() *article {
	rng := g.rng
	g.articles++
	id, err := uuid.NewRandomFromReader(rngReader{rng})
	if err != nil {
		panic(err) // rngReader never fails
	}
	a := &article{n: g.articles, id: id.String(),
		reporter: domain.Actor{ID: fmt.Sprintf("u-reporter-%02d", rng.IntN(40)), Role: domain.RoleReporter}}
	first := rng.IntN(10)
	a.editors = [2]domain.Actor{
		{ID: fmt.Sprintf("u-editor-%02d", first), Role: domain.RoleEditor},
		{ID: fmt.Sprintf("u-editor-%02d", (first+1+rng.IntN(9))%10), Role: domain.RoleEditor},
	}
	p := []step{stepDraft}
	revisions := 2 + rng.IntN(3)
	for range revisions {
		p = append(p, stepRevise)
	}
	if rng.Float64() < g.spec.FullShare {
		p[1+rng.IntN(revisions)] = stepPasteBody
	}
	p = append(p, stepSubmit)
	for round := 0; round < 3 && rng.Float64() < []float64{0.6, 0.25, 0.25}[round]; round++ {
		p = append(p, stepRequestChanges)
		for range 1 + rng.IntN(2) {
			p = append(p, stepRevise)
		}
		p = append(p, stepSubmit)
	}
	if rng.Float64() < 0.08 {
		// Abandoned somewhere before publication.
		a.plan = append(p[:1+rng.IntN(len(p))], stepSpike)
		return a
	}
	p = append(p, stepApprove, stepPublish)
	switch x := rng.Float64(); {
	case x < 0.08:
		p = append(p, stepCorrect, stepConfirm, stepCorrect, stepConfirm)
	case x < 0.30:
		p = append(p, stepCorrect, stepConfirm)
	}
	if rng.Float64() < 0.04 {
		p = append(p, stepRetract)
	}
	a.plan = p
	return a
}

// command builds the command of the article's next step, and who gives it.
func (g *generator) command(a *article) (domain.Command, domain.Actor) {
	rng, s := g.rng, a.state
	full := s.Body == g.text.Body
	switch a.plan[a.next] {
	case stepDraft:
		tags := g.tags()
		return domain.Draft{Content: domain.Content{Headline: g.text.Headline, Body: g.text.Lede,
			Language: languages[rng.IntN(len(languages))], Byline: "NATO Newsroom", Dateline: "BRUSSELS", Tags: tags}}, a.reporter
	case stepRevise:
		var c domain.Changes
		switch rng.IntN(5) {
		case 0:
			h := headlines[1+rng.IntN(len(headlines)-1)]
			c.Headline = &h
		case 1:
			sm := summaries[rng.IntN(len(summaries))]
			c.Summary = &sm
		case 2:
			tags := g.tags()
			c.Tags = &tags
		case 3:
			d := fmt.Sprintf("BRUSSELS, %d December", 1+rng.IntN(28))
			c.Dateline = &d
		default:
			if full { // the body is long now: a small revision leaves it alone
				sm := summaries[rng.IntN(len(summaries))]
				c.Summary = &sm
			} else {
				b := g.text.Lede
				if s.Body == b {
					b += " Ministers will meet again in the spring."
				}
				c.Body = &b
			}
		}
		return domain.Revise{Changes: c}, a.reporter
	case stepPasteBody:
		b := g.text.Body
		return domain.Revise{Changes: domain.Changes{Body: &b}}, a.reporter
	case stepSubmit:
		return domain.Submit{}, a.reporter
	case stepRequestChanges:
		return domain.RequestChanges{Comment: comments[rng.IntN(len(comments))]}, a.editors[0]
	case stepApprove:
		return domain.Approve{}, a.editors[1]
	case stepPublish:
		base := domain.SlugFor(s)
		suffix := fmt.Sprintf("-%d", a.n)
		if len(base)+len(suffix) > domain.MaxSlug {
			base = strings.TrimRight(base[:domain.MaxSlug-len(suffix)], "-")
		}
		return domain.Publish{Slug: base + suffix}, a.editors[1]
	case stepCorrect:
		sm := summaries[rng.IntN(len(summaries))] + fmt.Sprintf(" (Corrected at step %d.)", a.next) // never the summary it has
		return domain.Correct{Changes: domain.Changes{Summary: &sm}, Note: "An earlier version misstated the date of the meeting."}, a.editors[0]
	case stepConfirm:
		return domain.ConfirmCorrection{}, a.editors[1]
	case stepRetract:
		return domain.Retract{Reason: "The statement quoted was not final."}, a.editors[1]
	case stepSpike:
		return domain.Spike{Reason: "Overtaken by events."}, a.reporter
	}
	panic(fmt.Sprintf("unknown step %d", a.plan[a.next]))
}

func (g *generator) tags() []string {
	perm := g.rng.Perm(len(tagPool))
	tags := make([]string, 2+g.rng.IntN(4))
	for i := range tags {
		tags[i] = tagPool[perm[i]]
	}
	return tags
}

// event decides the article's next event and wraps it.
func (g *generator) event(a *article) (events.Envelope, error) {
	cmd, by := g.command(a)
	g.now = g.now.Add(time.Duration(500+g.rng.IntN(4000)) * time.Millisecond)
	e, err := domain.Decide(a.state, cmd, domain.Decision{By: by, Now: g.now})
	if err != nil {
		return events.Envelope{}, fmt.Errorf("generate article %d (%s) step %d %s: %w", a.n, a.id, a.next, domain.CommandName(cmd), err)
	}
	version := a.state.Version + 1
	env, err := events.NewEnvelope(a.id, version, e, by, g.now,
		events.Trace{CorrelationID: fmt.Sprintf("req-%d-%d", a.n, version)})
	if err != nil {
		return events.Envelope{}, err
	}
	a.state = domain.Evolve(a.state, domain.Recorded{Event: e, Version: version, By: by, At: g.now})
	a.next++
	switch e := e.(type) {
	case domain.Revised:
		if e.Body != nil && *e.Body == g.text.Body {
			g.stats.FullBody++
		}
	case domain.Published:
		g.stats.Published++
		if e.Body == g.text.Body {
			g.stats.FullBody++
		}
	case domain.Corrected:
		g.stats.Corrected++
		if e.Body == g.text.Body {
			g.stats.FullBody++
		}
	case domain.Retracted:
		g.stats.Retracted++
	case domain.Spiked:
		g.stats.Spiked++
	}
	return env, nil
}

// GenerateLog appends spec.Events events to the log on nc's server, publishing asynchronously
// within a bounded window. The stream must exist (events.Open) and be empty: versions start at
// 1. Articles are picked at random among those in flight, so their events interleave as they
// do when many editors work at once. Messages of one connection are stored in the order they
// are published, so each article's versions follow each other in the log.
func GenerateLog(ctx context.Context, nc *nats.Conn, spec LogSpec, text Text) (LogStats, error) {
	if spec.InFlight <= 0 {
		spec.InFlight = 1000
	}
	if spec.Window <= 0 {
		spec.Window = 256
	}
	if spec.FullShare == 0 {
		spec.FullShare = 0.4
	}
	var failed atomic.Pointer[error]
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(spec.Window),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, msg *nats.Msg, err error) {
			err = fmt.Errorf("event %s: %w", msg.Header.Get(jetstream.MsgIDHeader), err)
			failed.CompareAndSwap(nil, &err)
		}))
	if err != nil {
		return LogStats{}, err
	}
	start := time.Now()
	g := newGenerator(spec, text)
	active := make([]*article, spec.InFlight)
	for i := range active {
		active[i] = g.newArticle()
	}
	for g.stats.Events < spec.Events {
		if err := failed.Load(); err != nil {
			return g.stats, fmt.Errorf("publish: %w", *err)
		}
		if err := ctx.Err(); err != nil {
			return g.stats, err
		}
		i := g.rng.IntN(len(active))
		a := active[i]
		env, err := g.event(a)
		if err != nil {
			return g.stats, err
		}
		if a.next == len(a.plan) {
			active[i] = g.newArticle()
		}
		body, err := env.Marshal()
		if err != nil {
			return g.stats, err
		}
		msg := &nats.Msg{Subject: events.Subject(env.ArticleID), Data: body, Header: nats.Header{}}
		// The window bounds what is in flight; a stall longer than this means the server is stuck.
		if _, err := js.PublishMsgAsync(msg, jetstream.WithMsgID(env.ID), jetstream.WithStallWait(time.Minute)); err != nil {
			return g.stats, fmt.Errorf("publish event %d: %w", g.stats.Events+1, err)
		}
		g.stats.Events++
		g.stats.Bytes += int64(len(body))
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return g.stats, ctx.Err()
	case <-time.After(5 * time.Minute):
		return g.stats, errors.New("publish: acks still pending after 5 minutes")
	}
	if err := failed.Load(); err != nil {
		return g.stats, fmt.Errorf("publish: %w", *err)
	}
	// An article replacing a finished one may never have been picked: it is not in the log.
	g.stats.Articles = g.articles
	for _, a := range active {
		if a.next == 0 {
			g.stats.Articles--
		}
	}
	g.stats.Elapsed = time.Since(start)
	return g.stats, nil
}

// rngReader feeds uuid.NewRandomFromReader from a seeded generator, so article ids repeat
// with the seed.
type rngReader struct{ rng *rand.Rand }

func (r rngReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.rng.Uint32())
	}
	return len(p), nil
}
