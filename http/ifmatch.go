package http

import (
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/newsroom/newsroom/editorial"
)

const headerETag = "ETag"

// etag is the ETag of an article at version: a strong entity tag, the version in quotes.
func etag(version int) string { return `"` + strconv.Itoa(version) + `"` }

// entityTag is one entity tag of an If-Match or If-None-Match list (RFC 9110 §8.8.3).
type entityTag struct {
	weak   bool
	opaque string // between the quotes
}

// parseEntityTags reads a field value that is "*" or a list of entity tags (RFC 9110 §13.1.1,
// §13.1.2); several field lines are one list. ok is false if it is neither. Empty list
// members are allowed, as the list syntax (§5.6.1) says.
func parseEntityTags(lines []string) (tags []entityTag, star bool, ok bool) {
	field := strings.Join(lines, ",")
	if strings.Trim(field, " \t") == "*" {
		return nil, true, true
	}
	for rest := field; ; {
		rest = strings.TrimLeft(rest, " \t,")
		if rest == "" {
			return tags, false, true
		}
		tag, after, ok := cutEntityTag(rest)
		if !ok {
			return nil, false, false
		}
		tags = append(tags, tag)
		rest = strings.TrimLeft(after, " \t")
		if rest != "" && rest[0] != ',' {
			return nil, false, false
		}
	}
}

// cutEntityTag reads the entity tag s starts with: an optional W/ (case-sensitive), then
// characters between double quotes that are not controls, spaces or double quotes.
func cutEntityTag(s string) (entityTag, string, bool) {
	var tag entityTag
	if strings.HasPrefix(s, "W/") {
		tag.weak, s = true, s[2:]
	}
	if s == "" || s[0] != '"' {
		return entityTag{}, "", false
	}
	for i := 1; i < len(s); i++ {
		switch b := s[i]; {
		case b == '"':
			tag.opaque = s[1:i]
			return tag, s[i+1:], true
		case b <= ' ' || b == 0x7f: // etagc is %x21 / %x23-7E / obs-text
			return entityTag{}, "", false
		}
	}
	return entityTag{}, "", false
}

// articleVersion is the version an opaque tag this API sent names: strong comparison is octet
// by octet, so "03" names no version.
func articleVersion(opaque string) (int, bool) {
	v, err := strconv.Atoi(opaque)
	if err != nil || v < 1 || strconv.Itoa(v) != opaque {
		return 0, false
	}
	return v, true
}

// maxShownIfMatch bounds how much of a refused If-Match its problem quotes.
const maxShownIfMatch = 64

// parseIfMatch reads If-Match (RFC 9110 §13.1.1): "*" matches any version of an article that
// exists; a list matches if any member is the article's current ETag under strong comparison,
// so a weak tag (W/"3") or one this API never sent matches nothing and the command answers 412.
// nil means no If-Match, or an empty one.
func parseIfMatch(c echo.Context) (*editorial.IfMatch, error) {
	lines := c.Request().Header.Values("If-Match")
	tags, star, ok := parseEntityTags(lines)
	if !ok {
		shown := strings.Join(lines, ", ")
		if len(shown) > maxShownIfMatch {
			shown = shown[:maxShownIfMatch] + "…"
		}
		return nil, malformed(`If-Match %q is neither "*" nor a list of entity tags; send the ETag you received, quotes included, e.g. If-Match: "3"`, shown)
	}
	if star {
		return &editorial.IfMatch{Any: true}, nil
	}
	if len(tags) == 0 {
		return nil, nil
	}
	m := &editorial.IfMatch{}
	for _, t := range tags {
		if v, ok := articleVersion(t.opaque); ok && !t.weak {
			m.Versions = append(m.Versions, v)
		}
	}
	return m, nil
}

// etagListMatches reports whether If-None-Match (its field lines) matches tag under weak
// comparison (RFC 9110 §13.1.2): "*", or a list member whose opaque part is tag's, weak or not.
// A malformed field matches nothing: the full answer is sent.
func etagListMatches(lines []string, tag string) bool {
	tags, star, ok := parseEntityTags(lines)
	if !ok || len(lines) == 0 {
		return false
	}
	if star {
		return true
	}
	want, _, ok := cutEntityTag(strings.TrimPrefix(tag, "W/"))
	for _, t := range tags {
		if ok && t.opaque == want.opaque {
			return true
		}
	}
	return false
}

// mergePatch reads what every PATCH under If-Match starts with: the versions the client saw
// (required: 428 without, so that no edit lands blind) and the body, a JSON merge patch.
func mergePatch(c echo.Context) (*editorial.IfMatch, []byte, error) {
	ifMatch, err := parseIfMatch(c)
	if err != nil {
		return nil, nil, err
	}
	if ifMatch == nil {
		return nil, nil, errPreconditionRequired
	}
	body, err := readJSONBody(c, echo.MIMEApplicationJSON, "application/merge-patch+json")
	if err != nil {
		return nil, nil, err
	}
	return ifMatch, body, nil
}
