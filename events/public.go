package events

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/domain"
)

// Permanent names of the public stream, what subscribers read. Renaming any of them breaks
// every subscriber.
const (
	PublicStreamName    = "NEWSROOM_PUBLIC"
	PublicSubjectPrefix = "newsroom.public.article."
	PublicSubjectAll    = PublicSubjectPrefix + ">"
	// SourceSeqHeader carries, on every public message, the stream sequence in NEWSROOM of the
	// event it was made from: the outbox resumes after the last one it wrote.
	SourceSeqHeader = "Newsroom-Source-Seq"
)

// Public actions, the third token of a public subject and part of the CloudEvent type.
const (
	ActionPublished = "published"
	ActionCorrected = "corrected"
	ActionRetracted = "retracted"
	ActionKilled    = "killed" // withdrawn for legal reasons: drop every copy
)

// PublicSubject is the subject of one public event.
func PublicSubject(action, articleID string) string {
	return PublicSubjectPrefix + action + "." + articleID
}

// CloudEventType is the permanent CloudEvents type of a public action.
func CloudEventType(action string) string { return "org.newsroom.article." + action + ".v1" }

// PublicStreamConfig is the configuration of the public stream.
func PublicStreamConfig(replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        PublicStreamName,
		Description: "newsroom public events: what subscribers may see, as CloudEvents with IPTC ninjs bodies",
		Subjects:    []string{PublicSubjectAll},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Replicas:    replicas,
		Duplicates:  2 * time.Minute,
		AllowDirect: replicas <= 1,
	}
}

// Ninjs is an IPTC ninjs 2.2 document: the data of a public event. It holds what readers may
// see and nothing else: no draft, comment, reviewer, user id or token.
type Ninjs struct {
	URI            string      `json:"uri"`
	Type           string      `json:"type"`
	Version        string      `json:"version"`
	VersionCreated string      `json:"versioncreated"`
	FirstCreated   string      `json:"firstcreated,omitempty"`
	PubStatus      string      `json:"pubstatus"`
	Language       string      `json:"language,omitempty"`
	Slugline       string      `json:"slugline,omitempty"`
	Headlines      []ninjsText `json:"headlines,omitempty"`
	Descriptions   []ninjsText `json:"descriptions,omitempty"`
	Bodies         []ninjsBody `json:"bodies,omitempty"`
	Subjects       []ninjsName `json:"subjects,omitempty"`
	By             string      `json:"by,omitempty"`
	Located        string      `json:"located,omitempty"`
	EdNote         string      `json:"ednote,omitempty"`
	// Embargoed is the end of the embargo of a message for trusted subscribers alone.
	Embargoed string `json:"embargoed,omitempty"`

	// AltIDs names the article's translation set (AltIDTranslationSet).
	AltIDs []ninjsAltID `json:"altids,omitempty"`
	// Associations are the article's images, each a ninjs picture with its renditions.
	Associations []ninjsPicture `json:"associations,omitempty"`
}

// ninjsPicture is an image of an article as a ninjs association: named "main" for the main
// image and "inline-<n>" for the others, in the article's order.
type ninjsPicture struct {
	Name            string           `json:"name"`
	URI             string           `json:"uri"`
	Type            string           `json:"type"`
	Descriptions    []ninjsText      `json:"descriptions,omitempty"` // roles "caption" and "alt"
	By              string           `json:"by,omitempty"`           // the credit
	CopyrightNotice string           `json:"copyrightnotice,omitempty"`
	Renditions      []ninjsRendition `json:"renditions"`
}

type ninjsRendition struct {
	Name        string `json:"name"`
	Href        string `json:"href"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	ContentType string `json:"contenttype"`
}

// PublicImage is an image of a published article as subscribers see it.
type PublicImage struct {
	ID, Role, Caption, Alt, Credit, Copyright string
	Renditions                                []PublicRendition
}

// PublicRendition is one size of a PublicImage, at an absolute address.
type PublicRendition struct {
	Name, Href, ContentType string
	Width, Height           int
}

// ninjsAltID is an alternative identifier of the item: a role and a value.
type ninjsAltID struct {
	Role  string `json:"role"`
	Value string `json:"value"`
}

// AltIDTranslationSet is the role of the alternative id every language version of an article
// shares: "urn:uuid:" and the id of the original (the ce-subject of its own events). It is
// permanent: subscribers group translations by it.
const AltIDTranslationSet = "translation-set"

type ninjsText struct {
	Role  string `json:"role"`
	Value string `json:"value"`
}

type ninjsBody struct {
	Role        string `json:"role"`
	ContentType string `json:"contenttype"`
	Value       string `json:"value"`
}

type ninjsName struct {
	Name string `json:"name"`
}

// PublicText is what a public event shows of an article.
type PublicText struct {
	Slug        string
	PublishedAt time.Time
	Headline    string
	Summary     string
	BodyHTML    string // rendered and sanitised
	Language    string
	Byline      string
	Dateline    string
	Tags        []string
	Note        string // a correction's or a retraction's public words
	// EmbargoUntil is the end of the embargo the article is under (trusted subscribers only).
	EmbargoUntil time.Time

	// TranslationSet is the id of the article's translation set (domain.TranslationSetOf).
	TranslationSet string
	// Images are the article's images, resolved (a published or corrected article only).
	Images []PublicImage
}

// PublicEvent is one message of the public stream.
type PublicEvent struct {
	Action    string
	Source    Envelope // the internal event it was made from
	PublicURL string   // the base of article URIs, and the CloudEvent source
	Text      PublicText
	// Trusted: the message is for trusted subscribers alone, on NEWSROOM_EMBARGOED.
	Trusted bool
}

// Msg encodes the event as a CloudEvent in NATS binary mode: ce-* headers (values
// percent-encoded), the ninjs document as the body.
func (p PublicEvent) Msg() (*nats.Msg, error) {
	base := strings.TrimRight(p.PublicURL, "/")
	uri := base + "/public/v1/articles/" + p.Text.Slug
	if p.Action == ActionKilled {
		// The slug is text of the article, which a kill erases: the id names it instead
		// (subscribers match every event of an article on ce-subject, its id).
		uri = "urn:uuid:" + p.Source.ArticleID
	}
	doc := Ninjs{
		URI:            uri,
		Type:           "text",
		Version:        strconv.Itoa(p.Source.ArticleVersion),
		VersionCreated: p.Source.Time.UTC().Format(time.RFC3339Nano),
		PubStatus:      "usable",
		Language:       p.Text.Language,
		Slugline:       p.Text.Slug,
	}
	if !p.Text.PublishedAt.IsZero() {
		doc.FirstCreated = p.Text.PublishedAt.UTC().Format(time.RFC3339Nano)
	}
	if !p.Text.EmbargoUntil.IsZero() {
		doc.Embargoed = p.Text.EmbargoUntil.UTC().Format(time.RFC3339Nano)
	}
	if p.Text.Headline != "" {
		doc.Headlines = []ninjsText{{Role: "main", Value: p.Text.Headline}}
	}
	if p.Text.TranslationSet != "" && p.Action != ActionKilled {
		doc.AltIDs = []ninjsAltID{{Role: AltIDTranslationSet, Value: "urn:uuid:" + p.Text.TranslationSet}}
	}
	switch p.Action {
	case ActionKilled:
		doc.PubStatus, doc.Language, doc.Slugline, doc.Headlines, doc.FirstCreated = "canceled", "", "", nil, ""
	case ActionRetracted:
		doc.PubStatus, doc.Language = "canceled", ""
		doc.EdNote = p.Text.Note
	default:
		if p.Text.Summary != "" {
			doc.Descriptions = []ninjsText{{Role: "summary", Value: p.Text.Summary}}
		}
		doc.Bodies = []ninjsBody{{Role: "main", ContentType: "text/html", Value: p.Text.BodyHTML}}
		for _, t := range p.Text.Tags {
			doc.Subjects = append(doc.Subjects, ninjsName{Name: t})
		}
		doc.By, doc.Located = p.Text.Byline, p.Text.Dateline
		doc.Associations = ninjsPictures(p.Text.Images)
		if p.Action == ActionCorrected {
			doc.EdNote = p.Text.Note
		}
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("public event %s: %w", p.Source.ID, err)
	}
	subject, id := PublicSubject(p.Action, p.Source.ArticleID), p.Source.ID
	if p.Trusted {
		subject, id = EmbargoedSubject(p.Action, p.Source.ArticleID), id+EmbargoedIDSuffix
	}
	msg := nats.NewMsg(subject)
	msg.Data = data
	h := map[string]string{
		"ce-specversion":     "1.0",
		"ce-id":              id,
		"ce-source":          base,
		"ce-type":            CloudEventType(p.Action),
		"ce-time":            p.Source.Time.UTC().Format(time.RFC3339Nano),
		"ce-subject":         p.Source.ArticleID,
		"ce-datacontenttype": "application/json",
	}
	for k, v := range h {
		msg.Header.Set(k, percentEncode(v))
	}
	msg.Header.Set(SourceSeqHeader, strconv.FormatUint(p.Source.Sequence, 10))
	return msg, nil
}

func ninjsPictures(images []PublicImage) []ninjsPicture {
	var out []ninjsPicture
	inline := 0
	for _, img := range images {
		name := "main"
		if img.Role != domain.MediaMain {
			inline++
			name = "inline-" + strconv.Itoa(inline)
		}
		p := ninjsPicture{Name: name, URI: "urn:uuid:" + img.ID, Type: "picture", By: img.Credit, CopyrightNotice: img.Copyright,
			Renditions: make([]ninjsRendition, len(img.Renditions))}
		if img.Caption != "" {
			p.Descriptions = append(p.Descriptions, ninjsText{Role: "caption", Value: img.Caption})
		}
		if img.Alt != "" {
			p.Descriptions = append(p.Descriptions, ninjsText{Role: "alt", Value: img.Alt})
		}
		for i, r := range img.Renditions {
			p.Renditions[i] = ninjsRendition{Name: r.Name, Href: r.Href, Width: r.Width, Height: r.Height, ContentType: r.ContentType}
		}
		out = append(out, p)
	}
	return out
}

// percentEncode encodes a CloudEvents header value for the NATS binding: every byte outside
// printable ASCII, and '%' itself, as %XX.
func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '%' || c == '"' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// PublicActionOf says which public action an internal event makes, if any. An event about an
// article under embargo makes none (see EmbargoedActionOf); the lift of the embargo is the
// article's publication.
func PublicActionOf(e domain.Event) (string, bool) {
	if domain.AudienceOf(e) != domain.Public {
		return "", false
	}
	switch e.(type) {
	case domain.Published, domain.EmbargoLifted:
		return ActionPublished, true
	case domain.Corrected:
		return ActionCorrected, true
	case domain.Retracted:
		return ActionRetracted, true
	case domain.Killed:
		return ActionKilled, true
	}
	return "", false
}
