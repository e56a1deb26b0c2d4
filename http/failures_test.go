package http

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

func TestFailureLimiter(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	l := newFailureLimiter(3, time.Minute)
	l.now = func() time.Time { return now }
	const ip = "192.0.2.7"
	for i := range 3 {
		if err := l.allow(ip); err != nil {
			t.Fatalf("allow after %d failures = %v; want nil", i, err)
		}
		l.failed(ip)
		now = now.Add(time.Second)
	}
	var tooMany *tooManyFailuresError
	if err := l.allow(ip); !errors.As(err, &tooMany) || tooMany.retryAfterSeconds() != 57 {
		t.Fatalf("allow after 3 failures in 3 s = %v; want too many, retry after 57 s", err)
	}
	if err := l.allow("192.0.2.8"); err != nil {
		t.Errorf("another address: allow = %v; want nil", err)
	}
	now = now.Add(57 * time.Second) // the window that began with the first failure ends
	if err := l.allow(ip); err != nil {
		t.Fatalf("allow once the window ended = %v; want nil", err)
	}
	l.failed(ip)
	if err := l.allow(ip); err != nil {
		t.Errorf("allow after one failure of a new window = %v; want nil", err)
	}

	// IPv6: one /64 is one client; an IPv4 address mapped into IPv6 is that address.
	for i := range 3 {
		l.failed(fmt.Sprintf("2001:db8:1:2::%x", i+1))
	}
	if err := l.allow("2001:db8:1:2:ffff::1"); err == nil {
		t.Errorf("three failures from one /64: allow = nil; want too many")
	}
	if err := l.allow("2001:db8:1:3::1"); err != nil {
		t.Errorf("another /64: allow = %v; want nil", err)
	}
	if clientKey("::ffff:192.0.2.7") != clientKey(ip) {
		t.Errorf("clientKey(::ffff:%s) = %v; want %v", ip, clientKey("::ffff:192.0.2.7"), clientKey(ip))
	}
}

// TestFailureLimiterMemoryIsBounded: addresses without number cannot grow the limiter past its
// bound; the oldest windows go first.
func TestFailureLimiterMemoryIsBounded(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	l := newFailureLimiter(3, time.Minute)
	l.now = func() time.Time { return now }
	l.max = 100
	for i := range 1000 {
		l.failed(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String())
	}
	if got := l.remembered(); got > 100 {
		t.Fatalf("after failures from 1000 addresses the limiter holds %d; want at most 100", got)
	}
	for range 3 {
		l.failed("192.0.2.1")
	}
	if l.allow("192.0.2.1") == nil {
		t.Errorf("the newest address was forgotten first")
	}
}

// TestClientAddress: X-Forwarded-For is believed only from a trusted proxy, and names the
// nearest address that proxy does not trust.
func TestClientAddress(t *testing.T) {
	proxy := netip.MustParsePrefix("10.0.0.0/8")
	tests := []struct {
		trusted []netip.Prefix
		remote  string
		xff     string
		want    string
	}{
		{nil, "192.0.2.1:4000", "198.51.100.9", "192.0.2.1"},
		{nil, "127.0.0.1:4000", "198.51.100.9", "127.0.0.1"}, // not even from loopback
		{[]netip.Prefix{proxy}, "10.1.2.3:4000", "198.51.100.9", "198.51.100.9"},
		{[]netip.Prefix{proxy}, "10.1.2.3:4000", "203.0.113.5, 198.51.100.9", "198.51.100.9"}, // the client wrote the first
		{[]netip.Prefix{proxy}, "192.0.2.1:4000", "198.51.100.9", "192.0.2.1"},                // not from the proxy
		{[]netip.Prefix{proxy}, "10.1.2.3:4000", "", "10.1.2.3"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tt.remote
		if tt.xff != "" {
			req.Header.Set(echo.HeaderXForwardedFor, tt.xff)
		}
		req.Header.Set(echo.HeaderXRealIP, "203.0.113.77")
		if got := clientAddress(tt.trusted)(req); got != tt.want {
			t.Errorf("client address of %s with X-Forwarded-For %q, trusting %v = %s; want %s", tt.remote, tt.xff, tt.trusted, got, tt.want)
		}
	}
}
