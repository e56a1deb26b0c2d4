package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/domain"
)

// bodyLimit caps every request body; a larger one is refused with 413 before it is read whole.
const (
	bodyLimit     = "1MiB"
	bodyLimitText = "1 MiB"
)

// decodeError is a request body the server cannot read: malformed JSON, an unknown field, a
// wrong type. Its message tells the client which.
type decodeError struct{ msg string }

func (e *decodeError) Error() string { return e.msg }

func malformed(format string, args ...any) error {
	return &decodeError{msg: fmt.Sprintf(format, args...)}
}

// readJSONBody returns the request body after checking that it is JSON (by media type, when
// one is given). A body over the limit surfaces as echo's 413 error.
func readJSONBody(c echo.Context, mediaTypes ...string) ([]byte, error) {
	if ct := c.Request().Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !contains(mediaTypes, mt) {
			return nil, echo.NewHTTPError(415, fmt.Sprintf("send the body as %s, not %q", strings.Join(mediaTypes, " or "), ct))
		}
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
			return nil, echo.ErrStatusRequestEntityTooLarge
		}
		return nil, &bodyReadError{err: err}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, malformed("the request body is empty; send a JSON object")
	}
	return body, nil
}

// decodeStrict decodes one JSON object into dst, refusing unknown fields and trailing data.
func decodeStrict(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return explainJSONError(err)
	}
	if dec.More() {
		return malformed("the request body holds more than one JSON value")
	}
	return nil
}

func explainJSONError(err error) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		return malformed("malformed JSON at byte %d: %v", syntax.Offset, syntax)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return malformed("the body must be a JSON object, not %s", typ.Value)
		}
		return malformed("field %q must be %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return malformed("the JSON body ends too early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return malformed("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return malformed("malformed JSON: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int64", "float64":
		return "a number"
	}
	return goKind
}

// draftRequest is the body of POST /api/v1/articles.
type draftRequest struct {
	Headline string   `json:"headline"`
	Summary  string   `json:"summary"`
	Body     string   `json:"body"`
	Language string   `json:"language"`
	Byline   string   `json:"byline"`
	Dateline string   `json:"dateline"`
	Tags     []string `json:"tags"`
	Slug     string   `json:"slug"`
}

func (r draftRequest) command() domain.Draft {
	return domain.Draft{Content: domain.Content{
		Headline: r.Headline, Summary: r.Summary, Body: r.Body, Language: r.Language,
		Byline: r.Byline, Dateline: r.Dateline, Tags: r.Tags, Slug: r.Slug,
	}}
}

// decodeObject reads a JSON object's fields without decoding their values.
func decodeObject(body []byte) (map[string]json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := decodeStrict(body, &fields); err != nil {
		return nil, err
	}
	if fields == nil {
		return nil, malformed("the body must be a JSON object, not null")
	}
	return fields, nil
}

// takeString removes field name from fields and returns its string value ("" if absent or null).
func takeString(fields map[string]json.RawMessage, name string) (string, error) {
	raw, ok := fields[name]
	if !ok {
		return "", nil
	}
	delete(fields, name)
	var s *string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", malformed("field %q must be a string", name)
	}
	if s == nil {
		return "", nil
	}
	return *s, nil
}

// decodeChanges reads a JSON merge patch (RFC 7396) of the editable fields: a field that is
// present is set, null clears it, an absent one is left alone. Any other field is refused.
func decodeChanges(fields map[string]json.RawMessage) (domain.Changes, error) {
	var ch domain.Changes
	strs := map[string]**string{
		"headline": &ch.Headline, "summary": &ch.Summary, "body": &ch.Body, "language": &ch.Language,
		"byline": &ch.Byline, "dateline": &ch.Dateline, "slug": &ch.Slug,
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first error named is the same on every call
	for _, name := range keys {
		raw := fields[name]
		null := string(bytes.TrimSpace(raw)) == "null"
		if dst, ok := strs[name]; ok {
			var s string
			if !null {
				if err := json.Unmarshal(raw, &s); err != nil {
					return domain.Changes{}, malformed("field %q must be a string", name)
				}
			}
			*dst = &s
			continue
		}
		if name == "tags" {
			tags := []string{}
			if !null {
				if err := json.Unmarshal(raw, &tags); err != nil {
					return domain.Changes{}, malformed("field \"tags\" must be an array of strings")
				}
			}
			ch.Tags = &tags
			continue
		}
		return domain.Changes{}, malformed("unknown field %q; editable fields are headline, summary, body, language, byline, dateline, tags, slug", name)
	}
	return ch, nil
}

// reasonRequest is the body of request-changes, retract and spike: one text field.
func decodeText(c echo.Context, field string, optional bool) (string, error) {
	if optional && c.Request().ContentLength == 0 {
		return "", nil
	}
	body, err := readJSONBody(c, echo.MIMEApplicationJSON)
	if err != nil {
		return "", err
	}
	fields, err := decodeObject(body)
	if err != nil {
		return "", err
	}
	text, err := takeString(fields, field)
	if err != nil {
		return "", err
	}
	for name := range fields {
		return "", malformed("unknown field %q; this request takes only %q", name, field)
	}
	return text, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
