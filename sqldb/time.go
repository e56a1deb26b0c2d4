package sqldb

import (
	"fmt"
	"time"
)

// TimeLayout is how every table stores a time: UTC, microseconds, fixed width, so that times
// compare and sort correctly as strings in both dialects. The zero time is stored as "".
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// FormatTime returns t in UTC as TimeLayout text, truncated to the microsecond; the zero time
// formats as "".
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

// ParseTime parses text written by FormatTime; "" parses as the zero time. The result is in UTC.
// Text in any other layout is an error.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse stored time %q: %w", s, err)
	}
	return t, nil
}
