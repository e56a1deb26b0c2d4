package webhooks_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/newsroom/newsroom/webhooks"
)

func TestRetryPolicyJudge(t *testing.T) {
	policy := webhooks.RetryPolicy{Min: time.Second, Max: 5 * time.Minute}
	start := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	timeout := &url.Error{Op: "Post", URL: "https://hook.example/secret-path", Err: context.DeadlineExceeded}
	refused := &url.Error{Op: "Post", URL: "https://hook.example/secret-path", Err: errors.New("connection refused")}
	tests := []struct {
		name string
		a    webhooks.Attempt
		want webhooks.Verdict
	}{
		{"200", webhooks.Attempt{Number: 1, Status: 200, StartedAt: start}, webhooks.Verdict{Delivered: true}},
		{"204 after retries", webhooks.Attempt{Number: 9, Status: 204, StartedAt: start}, webhooks.Verdict{Delivered: true}},
		{"first failure: Min after the attempt ended", webhooks.Attempt{Number: 1, Status: 500, StartedAt: start, Elapsed: 300 * time.Millisecond},
			webhooks.Verdict{RetryAt: start.Add(1300 * time.Millisecond), Reason: "answered 500"}},
		{"third failure: doubled twice", webhooks.Attempt{Number: 3, Status: 503, StartedAt: start},
			webhooks.Verdict{RetryAt: start.Add(4 * time.Second), Reason: "answered 503"}},
		{"tenth failure: capped at Max", webhooks.Attempt{Number: 10, Status: 500, StartedAt: start},
			webhooks.Verdict{RetryAt: start.Add(5 * time.Minute), Reason: "answered 500"}},
		{"a thousandth failure: still Max, never given up", webhooks.Attempt{Number: 1000, Status: 500, StartedAt: start},
			webhooks.Verdict{RetryAt: start.Add(5 * time.Minute), Reason: "answered 500"}},
		{"a redirect is a failure, not followed", webhooks.Attempt{Number: 1, Status: 301, StartedAt: start},
			webhooks.Verdict{RetryAt: start.Add(time.Second), Reason: "answered 301; redirects are not followed"}},
		{"4xx is retried too", webhooks.Attempt{Number: 2, Status: 404, StartedAt: start},
			webhooks.Verdict{RetryAt: start.Add(2 * time.Second), Reason: "answered 404"}},
		{"timeout: counted from the end of the attempt, no URL in the reason", webhooks.Attempt{Number: 1, Err: timeout, StartedAt: start, Elapsed: 10 * time.Second},
			webhooks.Verdict{RetryAt: start.Add(11 * time.Second), Reason: "no answer within the timeout"}},
		{"connection refused, no URL in the reason", webhooks.Attempt{Number: 2, Err: refused, StartedAt: start},
			webhooks.Verdict{RetryAt: start.Add(2 * time.Second), Reason: "connection refused"}},
		{"an error with a 2xx is a failure", webhooks.Attempt{Number: 1, Status: 200, Err: errors.New("reset"), StartedAt: start},
			webhooks.Verdict{RetryAt: start.Add(time.Second), Reason: "reset"}},
	}
	for _, tt := range tests {
		if got := policy.Judge(tt.a); got != tt.want {
			t.Errorf("%s: Judge(%+v) = %+v; want %+v", tt.name, tt.a, got, tt.want)
		}
	}
}

// TestRetryPolicyWaits: the waits double from Min and stay at Max, whatever Min and Max.
func TestRetryPolicyWaits(t *testing.T) {
	for _, p := range []webhooks.RetryPolicy{
		{Min: time.Second, Max: 5 * time.Minute},
		{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		{Min: time.Minute, Max: time.Minute},
	} {
		t.Run(fmt.Sprintf("%v-%v", p.Min, p.Max), func(t *testing.T) {
			var start time.Time
			want := p.Min
			for n := 1; n <= 40; n++ {
				got := p.Judge(webhooks.Attempt{Number: n, Status: 500, StartedAt: start}).RetryAt.Sub(start)
				if got != want {
					t.Fatalf("wait after failure %d = %v; want %v", n, got, want)
				}
				want = min(2*want, p.Max)
			}
		})
	}
}
