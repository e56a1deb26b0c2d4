package sqldb_test

import (
	"slices"
	"testing"
	"time"

	"github.com/newsroom/newsroom/sqldb"
)

func TestFormatTime(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Time{}, ""},
		{time.Date(2026, 11, 28, 9, 5, 3, 0, time.UTC), "2026-11-28T09:05:03.000000Z"},
		{time.Date(2026, 11, 28, 10, 5, 3, 120_000_000, paris), "2026-11-28T09:05:03.120000Z"},
		{time.Date(2026, 1, 2, 3, 4, 5, 999_999_999, time.UTC), "2026-01-02T03:04:05.999999Z"}, // truncated, not rounded
	}
	for _, tt := range tests {
		if got := sqldb.FormatTime(tt.in); got != tt.want {
			t.Errorf("FormatTime(%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	in := time.Date(2026, 11, 28, 10, 5, 3, 123_456_789, time.FixedZone("CET", 3600))
	got, err := sqldb.ParseTime(sqldb.FormatTime(in))
	if err != nil {
		t.Fatal(err)
	}
	if want := in.Truncate(time.Microsecond); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("ParseTime(FormatTime(%v)) = %v; want %v in UTC", in, got, want.UTC())
	}

	zero, err := sqldb.ParseTime("")
	if err != nil || !zero.IsZero() {
		t.Errorf("ParseTime(\"\") = %v, %v; want the zero time, nil", zero, err)
	}

	for _, bad := range []string{
		"2026-11-28T09:05:03Z",        // no fraction
		"2026-11-28T09:05:03.123Z",    // short fraction
		"2026-11-28 09:05:03.000000Z", // space
		"2026-11-28T09:05:03.000000+01:00",
		"yesterday",
	} {
		if got, err := sqldb.ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) = %v, nil; want an error", bad, got)
		}
	}
}

// TestFormatTimeSorts checks the reason for the fixed width: string order is time order.
func TestFormatTimeSorts(t *testing.T) {
	base := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	times := []time.Time{
		base,
		base.Add(time.Microsecond),
		base.Add(10 * time.Microsecond),
		base.Add(time.Second),
		base.Add(9 * time.Second),
		base.Add(10 * time.Second),
		base.Add(time.Hour),
		base.AddDate(1, 0, 0),
	}
	var s []string
	for _, tm := range times {
		s = append(s, sqldb.FormatTime(tm.In(time.FixedZone("X", -7*3600))))
	}
	if !slices.IsSorted(s) {
		t.Errorf("formatted times in time order are not sorted as strings: %q", s)
	}
	for _, v := range s {
		if len(v) != len(sqldb.TimeLayout) {
			t.Errorf("len(%q) = %d; want %d", v, len(v), len(sqldb.TimeLayout))
		}
	}
}
