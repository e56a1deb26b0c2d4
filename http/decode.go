package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

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

// Request bodies are read exactly: one JSON object, each field named as documented (case
// included) and given once, each string text. encoding/json alone is lenient on all three: it
// matches a field name whatever its case, keeps the last of two equal keys, and turns bytes that
// are not UTF-8, and escapes of half a UTF-16 surrogate pair (\ud800), into U+FFFD, so that
// what would be recorded is not what was sent. decodeObject reads the body's tokens, with their
// raw bytes, before any value is decoded.

// maxJSONDepth bounds how deeply a body may nest; no body this API takes nests deeper than 2.
const maxJSONDepth = 32

// object is a request body's JSON object as decodeObject read it.
type object struct {
	// fields holds each field's raw value, by its exact name.
	fields map[string]json.RawMessage
	// badText says, for each field holding a string that is not text, what is wrong with it,
	// in the order of the body.
	badText []domain.FieldError
}

// textError is the 422 for the fields whose strings are not text, or nil. Callers check it after
// decoding the values' types, so that a body that is malformed as well is a 400.
func (o object) textError() error {
	if len(o.badText) == 0 {
		return nil
	}
	return &domain.ValidationError{Fields: o.badText}
}

// decodeObject reads body as one JSON object whose field names are among names, exactly, each
// once (keys of nested objects, too, appear once). It returns a *decodeError otherwise, or for
// malformed JSON and trailing data.
func decodeObject(body []byte, names ...string) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // 1e999 is a number of the wrong type, not an error of the tokenizer
	tok, err := dec.Token()
	if err != nil {
		return object{}, explainJSONError(err)
	}
	if tok != json.Delim('{') {
		return object{}, malformed("the body must be a JSON object, not %s", describeToken(tok))
	}
	type frame struct {
		keys    map[string]bool // nil for an array
		wantKey bool            // in an object, the next string is a key
	}
	o := object{fields: map[string]json.RawMessage{}}
	stack := []frame{{keys: map[string]bool{}, wantKey: true}}
	var (
		field     string // the top-level field whose value is being read
		valueFrom int64  // where that value starts in body (after the key)
		prev      = dec.InputOffset()
	)
	// valueEnded records, once a value is read whole, that its object wants a key next, and a
	// top-level value's raw bytes.
	valueEnded := func(end int64) {
		top := &stack[len(stack)-1]
		if top.keys == nil {
			return
		}
		top.wantKey = true
		if len(stack) == 1 {
			o.fields[field] = json.RawMessage(bytes.TrimLeft(body[valueFrom:end], " \t\r\n:"))
		}
	}
	for len(stack) > 0 {
		tok, err := dec.Token()
		if err != nil {
			return object{}, explainJSONError(err)
		}
		end := dec.InputOffset()
		top := &stack[len(stack)-1]
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{keys: map[string]bool{}, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default: // '}' or ']'
				stack = stack[:len(stack)-1]
				if len(stack) > 0 {
					valueEnded(end)
				}
			}
			if len(stack) > maxJSONDepth {
				return object{}, malformed("the JSON nests deeper than %d levels", maxJSONDepth)
			}
		case string:
			if top.keys != nil && top.wantKey {
				if top.keys[t] {
					if len(stack) == 1 {
						return object{}, malformed("field %q appears twice; send each field once", t)
					}
					return object{}, malformed("key %q appears twice in an object in field %q", t, field)
				}
				top.keys[t], top.wantKey = true, false
				if len(stack) == 1 {
					if !contains(names, t) {
						return object{}, unknownField(t, names)
					}
					field, valueFrom = t, end
				}
				break
			}
			if problem := stringProblem(bytes.TrimLeft(body[prev:end], " \t\r\n:,")); problem != "" && !o.hasBadText(field) {
				o.badText = append(o.badText, domain.FieldError{Field: field, Detail: problem})
			}
			valueEnded(end)
		default: // a number, true, false or null
			valueEnded(end)
		}
		prev = end
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return object{}, explainJSONError(err)
		}
		return object{}, malformed("the request body holds more than one JSON value (then %s)", describeToken(tok))
	}
	return o, nil
}

func (o object) hasBadText(field string) bool {
	for _, f := range o.badText {
		if f.Field == field {
			return true
		}
	}
	return false
}

// unknownField is the refusal of a field name that is not among names.
func unknownField(name string, names []string) error {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return malformed("unknown field %q: field names are case-sensitive; did you mean %q?", name, n)
		}
	}
	if len(names) == 1 {
		return malformed("unknown field %q; this request takes only %q", name, names[0])
	}
	return malformed("unknown field %q; this request takes %s", name, strings.Join(names, ", "))
}

// stringProblem says why raw, a JSON string literal as sent (quotes and escapes included), is
// not text, or "".
func stringProblem(raw []byte) string {
	if !utf8.Valid(raw) {
		return "holds bytes that are not UTF-8; send text encoded as UTF-8"
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++ // the escaped character; the tokenizer checked that the escape is well formed
		if raw[i] != 'u' {
			continue
		}
		r := hex4(raw[i+1 : i+5])
		i += 4
		switch {
		case r >= 0xd800 && r < 0xdc00: // a high surrogate: a low one must follow
			if i+7 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if low := hex4(raw[i+3 : i+7]); low >= 0xdc00 && low <= 0xdfff {
					i += 6
					continue
				}
			}
			return loneSurrogate(r)
		case r >= 0xdc00 && r <= 0xdfff:
			return loneSurrogate(r)
		}
	}
	return ""
}

func loneSurrogate(r rune) string {
	return fmt.Sprintf("holds the escape \\u%04X, half of a UTF-16 surrogate pair without its other half, which is no character", r)
}

// hex4 reads four hexadecimal digits.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// describeToken names what a JSON token is, for refusals.
func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", tok)
}

// decodeInto reads body, one JSON object, into the struct dst points to, exactly: its field
// names are dst's json names, each once. Errors: a *decodeError (400), then a
// *domain.ValidationError naming the fields whose strings are not text (422).
func decodeInto(body []byte, dst any) error {
	o, err := decodeObject(body, jsonNames(dst)...)
	if err != nil {
		return err
	}
	if err := decodeStrict(body, dst); err != nil {
		return err
	}
	return o.textError()
}

// jsonNames lists the json names of the fields of the struct v points to.
func jsonNames(v any) []string {
	t := reflect.TypeOf(v).Elem()
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		switch name {
		case "-":
		case "":
			names = append(names, t.Field(i).Name)
		default:
			names = append(names, name)
		}
	}
	return names
}

// decodeStrict decodes one JSON object into dst, refusing unknown fields and trailing data. On
// its own it matches field names whatever their case: decodeInto checks them first.
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
	// Media are the article's images: [{id, role: "main"|"inline", caption}].
	Media []domain.MediaRef `json:"media"`

	// TranslationOf is the id of the article this one translates (its original).
	TranslationOf string `json:"translation_of"`
}

func (r draftRequest) command() domain.Draft {
	return domain.Draft{Content: domain.Content{
		Headline: r.Headline, Summary: r.Summary, Body: r.Body, Language: r.Language,
		Byline: r.Byline, Dateline: r.Dateline, Tags: r.Tags, Slug: r.Slug, Media: r.Media,
	}, TranslationOf: r.TranslationOf}
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

// decodeDraft reads the body of POST /api/v1/articles.
func decodeDraft(body []byte) (draftRequest, error) {
	var req draftRequest
	if err := decodeInto(body, &req); err != nil {
		return req, err
	}
	var media struct {
		Media json.RawMessage `json:"media"`
	}
	if err := json.Unmarshal(body, &media); err == nil && len(media.Media) > 0 && string(media.Media) != "null" {
		return req, checkMediaKeys(media.Media)
	}
	return req, nil
}

// decodeRevision reads the body of PATCH /api/v1/articles/{id}: a merge patch of the editable
// fields.
func decodeRevision(body []byte) (domain.Changes, error) {
	o, err := decodeObject(body, editableNames...)
	if err != nil {
		return domain.Changes{}, err
	}
	changes, err := decodeChanges(o.fields)
	if err != nil {
		return domain.Changes{}, err
	}
	return changes, o.textError()
}

// decodeCorrection reads the body of a correction: a merge patch of the editable fields, and
// the public note.
func decodeCorrection(body []byte) (domain.Changes, string, error) {
	o, err := decodeObject(body, append([]string{"note"}, editableNames...)...)
	if err != nil {
		return domain.Changes{}, "", err
	}
	note, err := takeString(o.fields, "note")
	if err != nil {
		return domain.Changes{}, "", err
	}
	changes, err := decodeChanges(o.fields)
	if err != nil {
		return domain.Changes{}, "", err
	}
	return changes, note, o.textError()
}

// editableNames are the fields a revision or a correction may change.
var editableNames = []string{"headline", "summary", "body", "language", "byline", "dateline", "tags", "slug", "media"}

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
		if name == "media" {
			media, err := decodeMedia(raw, null)
			if err != nil {
				return domain.Changes{}, err
			}
			ch.Media = &media
			continue
		}
		return domain.Changes{}, malformed("unknown field %q; editable fields are %s", name, strings.Join(editableNames, ", "))
	}
	return ch, nil
}

// decodeMedia reads a revision's or a correction's media: an array of {id, role, caption}
// objects, each field named exactly; null is none.
func decodeMedia(raw json.RawMessage, null bool) ([]domain.MediaRef, error) {
	media := []domain.MediaRef{}
	if null {
		return media, nil
	}
	if err := checkMediaKeys(raw); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &media); err != nil {
		return nil, malformed("field \"media\" must be an array of objects {\"id\", \"role\", \"caption\"}")
	}
	return media, nil
}

// mediaRefNames are the fields of one of an article's images in a request.
var mediaRefNames = []string{"id", "role", "caption"}

// checkMediaKeys refuses a media array whose objects name a field other than id, role and
// caption, exactly (encoding/json alone would take "ID" for "id").
func checkMediaKeys(raw json.RawMessage) error {
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return malformed("field \"media\" must be an array of objects {\"id\", \"role\", \"caption\"}")
	}
	for i, item := range items {
		for k := range item {
			if !contains(mediaRefNames, k) {
				return malformed("field \"media\", image %d: unknown field %q; an image takes id, role and caption (case-sensitive)", i+1, k)
			}
		}
	}
	return nil
}

// decodeText reads the body of request-changes, retract, spike and kill: one text field,
// which may be optional (then an empty body is allowed).
func decodeText(c echo.Context, field string, optional bool) (string, error) {
	if optional && c.Request().ContentLength == 0 {
		return "", nil
	}
	body, err := readJSONBody(c, echo.MIMEApplicationJSON)
	if err != nil {
		return "", err
	}
	o, err := decodeObject(body, field)
	if err != nil {
		return "", err
	}
	text, err := takeString(o.fields, field)
	if err != nil {
		return "", err
	}
	return text, o.textError()
}

// decodeTime reads a body of one field holding an RFC 3339 date and time, which may be
// optional (then no body at all is the zero time). An absent or null field is the zero time too,
// which the domain refuses where one is required. A string that is no RFC 3339 time is a 422
// naming the field.
func decodeTime(c echo.Context, field string, optional bool) (time.Time, error) {
	text, err := decodeText(c, field, optional)
	if err != nil || text == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339, text)
	if err != nil {
		return time.Time{}, &domain.ValidationError{Fields: []domain.FieldError{{Field: field,
			Detail: fmt.Sprintf("%q is not an RFC 3339 date and time, such as 2026-12-07T10:00:00+01:00", text)}}}
	}
	return t, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
