// Package editorial is the write side's shell: it loads an article's events from the log, asks
// the domain to decide, and appends the one event that results. Each method is one use case.
package editorial

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/events"
)

// ErrVersionMismatch: the caller sent If-Match with a version that is not the article's current
// one, or lost the append race to another change of that version.
var ErrVersionMismatch = errors.New("version mismatch")

// maxSlugSuffix bounds the numbered variants of a derived slug ("-2" … "-10") tried before one
// derived from the article's id, which no other article has.
const maxSlugSuffix = 10

// conflictRetries is how often a command given without If-Match is decided again after losing
// an append race: the caller asked for "the current version", whichever that is.
const conflictRetries = 3

// Log is the event log as the desk uses it; *events.Store implements it.
type Log interface {
	Append(ctx context.Context, env events.Envelope, expected uint64) (uint64, error)
	Load(ctx context.Context, articleID string) (events.History, error)
	ReserveSlug(ctx context.Context, slug, articleID string) error
}

// TranslationSets reads which articles make up a translation set; *projections.Desk implements
// it.
type TranslationSets interface {
	// SetMembers returns the articles of the set setID (its original and every translation of
	// it), in any state, as a view holds them: one drafted a moment ago may be missing. An
	// error means the view did not answer.
	SetMembers(ctx context.Context, setID string) ([]domain.SetMember, error)
}

// Desk runs editorial commands against the log.
type Desk struct {
	// Policy is the newsroom's choices where the rules leave one (one-editor corrections). Set
	// it before the desk takes its first command; the zero value keeps every rule on.
	Policy domain.Policy
	// Sets tells which language a translation set has already, so that a translation is not
	// drafted, nor an article revised, into a language another version of it holds. Set it
	// before the first command; nil checks only the original a translation names.
	Sets TranslationSets
	// Media tells whether the images an article names exist and have their alt text. Set it
	// before the first command; nil checks nothing of the images but their form.
	Media MediaCatalog

	log    Log
	now    func() time.Time
	recent *recent // nil: every command loads its article from the log
	// observe, if set, is told how every Execute ended (metrics count commands by outcome).
	observe Observer
}

// Observer is told of every command Execute ran and the error it returned (nil: the event was
// recorded). It runs on the caller's goroutine and must not block.
type Observer func(cmd domain.Command, err error)

// Observed makes the desk tell o how every command ends, and returns the desk. Call it before
// the desk is used.
func (d *Desk) Observed(o Observer) *Desk {
	d.observe = o
	return d
}

// NewDesk returns a Desk on log that keeps the DefaultRecentArticles articles it last changed
// folded in memory.
func NewDesk(log Log) *Desk {
	return &Desk{log: log, now: time.Now, recent: newRecent(DefaultRecentArticles)}
}

// Request says who asks, and ties the resulting event to the request.
type Request struct {
	By    domain.Actor
	Trace events.Trace
	// IfMatch, when set, names the versions the caller accepts; the command is refused with
	// ErrVersionMismatch if the article is at none of them.
	IfMatch *IfMatch
	// Idempotent marks a draft whose id was derived from an idempotency key: if that draft
	// already exists by the same author, it is returned as it is now rather than refused.
	Idempotent bool
}

// IfMatch is a precondition on an existing article's version (HTTP's If-Match): the current
// version must be one of Versions, or, with Any, may be whichever it is. An IfMatch with
// neither matches no version (a caller that sent only tags no version carries, such as weak
// ones).
type IfMatch struct {
	Any      bool
	Versions []int
}

// Matches reports whether an article at version meets the precondition.
func (m IfMatch) Matches(version int) bool {
	return m.Any || slices.Contains(m.Versions, version)
}

// mismatch says why an article at version does not meet the precondition.
func (m IfMatch) mismatch(version int) error {
	if len(m.Versions) == 0 {
		return fmt.Errorf("%w: the article is at version %d, and If-Match names no version (a weak tag, W/\"…\", never matches)", ErrVersionMismatch, version)
	}
	named := make([]string, len(m.Versions))
	for i, v := range m.Versions {
		named[i] = strconv.Itoa(v)
	}
	return fmt.Errorf("%w: the article is at version %d, not %s", ErrVersionMismatch, version, strings.Join(named, " or "))
}

// Result is the article after a command, and the stream sequence of the event it recorded (a
// position that views can be waited on).
type Result struct {
	Article  domain.Article
	Position uint64
	// Recorded is the type of the event the command recorded; empty for a read, and for a
	// retried draft that recorded nothing new.
	Recorded string
}

// NewArticleID returns a fresh article id.
func NewArticleID() string { return uuid.NewString() }

// idempotencyNamespace scopes ids derived from idempotency keys. It is permanent: changing it
// would let a retried request create a second article.
var idempotencyNamespace = uuid.MustParse("5b0d6c1e-3f4a-4c59-9a0e-6e2b8f6a1d37")

// IdempotentArticleID derives the id of the article a draft with idempotency key key from user
// userID creates, so that a retry names the same article.
func IdempotentArticleID(userID, key string) string {
	return uuid.NewSHA1(idempotencyNamespace, []byte(userID+"\x00"+key)).String()
}

// ValidID reports whether id is an article id: a UUID in its canonical lowercase form, which
// is also safe as a NATS subject token.
func ValidID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// Get returns the article as its own events say, with the stream sequence of its last event.
// It returns domain.ErrNotFound and events.ErrUnavailable.
func (d *Desk) Get(ctx context.Context, id string) (Result, error) {
	if !ValidID(id) {
		return Result{}, domain.ErrNotFound
	}
	a, h, err := d.load(ctx, id)
	if err != nil {
		return Result{}, err
	}
	if !a.Exists() {
		return Result{}, domain.ErrNotFound
	}
	return Result{Article: a, Position: h.LastSequence}, nil
}

// GetVersion returns the article as it was at version, folded from its events up to that one:
// what the desk compares when it shows the difference between two revisions. A version the
// article never reached, or whose events a kill erased, is domain.ErrNotFound; the log's
// errors are events.ErrUnavailable.
func (d *Desk) GetVersion(ctx context.Context, id string, version int) (Result, error) {
	if !ValidID(id) || version < 1 {
		return Result{}, domain.ErrNotFound
	}
	h, err := d.log.Load(ctx, id)
	if err != nil {
		return Result{}, err
	}
	all := make([]domain.Recorded, len(h.Events))
	var upTo []domain.Recorded
	for i, env := range h.Events {
		if all[i], err = env.Recorded(); err != nil {
			return Result{}, fmt.Errorf("load article %s: %w", id, err)
		}
		if all[i].Version <= version {
			upTo = append(upTo, all[i])
		}
	}
	if now := domain.Fold(id, all); now.Status == domain.StatusKilled && version != now.Version {
		// The eraser may not have reached the earlier events yet: a killed text is not
		// served, whatever the log still holds.
		return Result{}, domain.ErrNotFound
	}
	a := domain.Fold(id, upTo)
	if !a.Exists() || a.Version != version {
		return Result{}, domain.ErrNotFound
	}
	return Result{Article: a, Position: h.LastSequence}, nil
}

// Execute decides cmd on article id and appends the resulting event. Errors: those of
// domain.Decide, ErrVersionMismatch, events.ErrConflict (lost the race too often),
// events.ErrUnavailable.
func (d *Desk) Execute(ctx context.Context, id string, cmd domain.Command, req Request) (res Result, err error) {
	if d.observe != nil {
		defer func() { d.observe(cmd, err) }()
	}
	if !ValidID(id) {
		return Result{}, domain.ErrNotFound
	}
	for attempt := 0; ; attempt++ {
		res, err := d.execute(ctx, id, cmd, req)
		if !errors.Is(err, events.ErrConflict) {
			return res, err
		}
		if req.IfMatch != nil {
			return Result{}, fmt.Errorf("%w: another change was saved first", ErrVersionMismatch)
		}
		if attempt == conflictRetries {
			return Result{}, err
		}
	}
}

// execute decides cmd on the article as this desk last left it, if it remembers it, and appends
// the event expecting the last sequence it remembers. The append's check makes a success on a
// stale state impossible; any other outcome on a remembered state (a refusal, a version
// mismatch, a conflict) may be an artefact of staleness (another instance wrote since), so it is
// decided again on the article as the log has it.
func (d *Desk) execute(ctx context.Context, id string, cmd domain.Command, req Request) (Result, error) {
	if _, isDraft := cmd.(domain.Draft); !isDraft {
		if a, lastSeq, ok := d.recent.get(id); ok {
			res, err := d.decide(ctx, id, a, lastSeq, cmd, req)
			if err == nil || errors.Is(err, events.ErrUnavailable) || ctx.Err() != nil {
				return res, err
			}
			d.recent.forget(id)
		}
	}
	a, h, err := d.load(ctx, id)
	if err != nil {
		return Result{}, err
	}
	if _, isDraft := cmd.(domain.Draft); isDraft && req.Idempotent && a.Exists() && a.CreatedBy == req.By.ID {
		return Result{Article: a, Position: h.LastSequence}, nil
	}
	return d.decide(ctx, id, a, h.LastSequence, cmd, req)
}

// decide decides cmd on a, whose last event is at lastSeq, and appends the event.
func (d *Desk) decide(ctx context.Context, id string, a domain.Article, lastSeq uint64, cmd domain.Command, req Request) (Result, error) {
	var err error
	if req.IfMatch != nil && a.Exists() && !req.IfMatch.Matches(a.Version) {
		return Result{}, req.IfMatch.mismatch(a.Version)
	}
	// Microseconds: the precision every SQL view stores, so the write side and the views agree.
	decision := domain.Decision{By: req.By, Now: d.now().UTC().Truncate(time.Microsecond), Policy: d.Policy}
	if cmd, err = d.withSlug(ctx, a, cmd, decision); err != nil {
		return Result{}, err
	}
	event, err := domain.Decide(a, cmd, decision)
	if err != nil {
		return Result{}, err
	}
	if err := d.checkTranslationSet(ctx, id, a, cmd); err != nil {
		return Result{}, err
	}
	if err := d.checkMedia(ctx, a, cmd); err != nil {
		return Result{}, err
	}
	env, err := events.NewEnvelope(id, a.Version+1, event, req.By, decision.Now, req.Trace)
	if err != nil {
		return Result{}, err
	}
	seq, err := d.log.Append(ctx, env, lastSeq)
	if err != nil {
		return Result{}, err
	}
	recorded, err := env.Recorded()
	if err != nil {
		return Result{}, err
	}
	after := domain.Evolve(a, recorded)
	d.recent.put(after, seq)
	return Result{Article: after, Position: seq, Recorded: event.EventType()}, nil
}

// withSlug reserves the slug of a Publish or a Schedule given without one, and returns the
// command with it. A Schedule reserves it when it is set, as a Publish does, so that the
// scheduler's publication cannot fail on it; a reschedule keeps the slug already reserved.
func (d *Desk) withSlug(ctx context.Context, a domain.Article, cmd domain.Command, decision domain.Decision) (domain.Command, error) {
	switch c := cmd.(type) {
	case domain.Publish:
		if c.Slug == "" {
			return d.reserveSlug(ctx, a, decision, func(slug string) domain.Command { c.Slug = slug; return c })
		}
	case domain.Schedule:
		if c.Slug == "" {
			return d.reserveSlug(ctx, a, decision, func(slug string) domain.Command { c.Slug = slug; return c })
		}
	}
	return cmd, nil
}

// reserveSlug finds and reserves the slug the command withSlug makes will use, after checking
// that the command would be allowed at all, so that a refused command reserves nothing. An
// editor's own slug is taken as given or refused, and a scheduled article's reserved slug is
// kept. One derived from the headline gets a numbered suffix when taken ("-2" … "-10"), then
// one from the article's id: its first 8 hex digits, or all 32 should another slug end with
// those; a headline may recur any number of times.
func (d *Desk) reserveSlug(ctx context.Context, a domain.Article, decision domain.Decision, withSlug func(string) domain.Command) (domain.Command, error) {
	base, own := domain.SlugFor(a), a.Slug != ""
	if a.ScheduledSlug != "" {
		base, own = a.ScheduledSlug, true
	}
	name := domain.CommandName(withSlug(base))
	if _, err := domain.Decide(a, withSlug(base), decision); err != nil {
		return nil, err
	}
	suffixes := []string{""}
	for n := 2; n <= maxSlugSuffix; n++ {
		suffixes = append(suffixes, "-"+strconv.Itoa(n))
	}
	if id := strings.ReplaceAll(a.ID, "-", ""); len(id) > 8 {
		suffixes = append(suffixes, "-"+id[:8], "-"+id)
	}
	for _, suffix := range suffixes {
		slug := trimSlug(base, domain.MaxSlug-len(suffix)) + suffix
		err := d.log.ReserveSlug(ctx, slug, a.ID)
		if err == nil {
			return withSlug(slug), nil
		}
		if !errors.Is(err, domain.ErrSlugTaken) {
			return nil, err
		}
		if own {
			return nil, &domain.RuleError{Kind: domain.ErrSlugTaken,
				Reason: fmt.Sprintf("cannot %s: the slug %q belongs to another published article; revise the slug", name, slug)}
		}
	}
	return nil, &domain.RuleError{Kind: domain.ErrSlugTaken,
		Reason: fmt.Sprintf("cannot %s: the slug %q, its numbered variants and the ones from the article's id are taken; give the article a slug", name, base)}
}

func trimSlug(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && s[len(s)-1] == '-' {
		s = s[:len(s)-1]
	}
	return s
}

func (d *Desk) load(ctx context.Context, id string) (domain.Article, events.History, error) {
	h, err := d.log.Load(ctx, id)
	if err != nil {
		return domain.Article{}, events.History{}, err
	}
	history := make([]domain.Recorded, len(h.Events))
	for i, env := range h.Events {
		if history[i], err = env.Recorded(); err != nil {
			return domain.Article{}, events.History{}, fmt.Errorf("load article %s: %w", id, err)
		}
	}
	a := domain.Fold(id, history)
	d.recent.put(a, h.LastSequence)
	return a, h, nil
}

// checkTranslationSet checks what a command does to a translation set, which no one article's
// events can tell: a translation names an existing original (read from its own events, never
// stale), and no two versions of a set share a language (read from the desk view, see Sets).
// The view can be behind the log by the time it takes to apply an event: two drafts of one set
// in one language within that moment can both pass. Nothing public depends on it (each member
// has its own slug and review; both would be listed), so newsroom accepts that race rather than
// keep a reservation per language that spikes, kills and language changes would have to release.
// For the same reason a view that does not answer skips the language check: commands depend on
// the log alone, and are accepted while the database is down. It returns a
// *domain.ValidationError naming translation_of or language, or the log's errors.
func (d *Desk) checkTranslationSet(ctx context.Context, id string, a domain.Article, cmd domain.Command) error {
	var changes domain.Changes
	switch c := cmd.(type) {
	case domain.Draft:
		if c.TranslationOf == "" {
			return nil
		}
		if !ValidID(c.TranslationOf) {
			return &domain.ValidationError{Fields: []domain.FieldError{{Field: "translation_of",
				Detail: fmt.Sprintf("%q is not an article id", c.TranslationOf)}}}
		}
		original, _, err := d.load(ctx, c.TranslationOf)
		if err != nil {
			return err
		}
		return domain.CheckTranslation(id, original, c.Content.Language, d.setMembers(ctx, c.TranslationOf))
	case domain.Revise:
		changes = c.Changes
	case domain.Correct:
		changes = c.Changes
	default:
		return nil
	}
	if changes.Language == nil || strings.EqualFold(*changes.Language, a.Language) {
		return nil
	}
	return domain.CheckSetLanguage(id, *changes.Language, d.setMembers(ctx, a.TranslationSet()))
}

// setReadTimeout bounds the view read of a translation set's check: a database behind a network
// that drops packets never answers, and a command must not wait for it.
const setReadTimeout = 2 * time.Second

// setMembers is what the view knows of set setID: nothing when there is no view, or when it does
// not answer within setReadTimeout.
func (d *Desk) setMembers(ctx context.Context, setID string) []domain.SetMember {
	if d.Sets == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, setReadTimeout)
	defer cancel()
	members, err := d.Sets.SetMembers(ctx, setID)
	if err != nil {
		return nil
	}
	return members
}
