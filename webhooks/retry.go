package webhooks

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// RetryPolicy judges one attempt at delivering a message: delivered, or when to try again and
// why it failed. It never gives up: a webhook's messages go in order and none is skipped, so a
// failing endpoint holds its own queue (and no other webhook's) until it answers 2xx or the
// webhook is deleted. What it decides is only how far apart the attempts are.
type RetryPolicy struct {
	Min time.Duration // the wait after a first failed attempt; it doubles with each failure
	Max time.Duration // the longest wait
}

// Attempt is what the policy is told of one attempt at one message.
type Attempt struct {
	Number    int           // 1 for the first attempt at this message
	Status    int           // the answer's status; 0 if none came
	Err       error         // why no answer came, if none did
	StartedAt time.Time     // when the request was sent
	Elapsed   time.Duration // how long the attempt took
}

// Verdict is the policy's answer.
type Verdict struct {
	Delivered bool
	RetryAt   time.Time // when to try again, if not delivered
	Reason    string    // why it failed, as recorded (no URL, no answer body)
}

// Judge says whether attempt a delivered its message and, if not, when to try again: Min after
// the attempt ended, doubling with each attempt up to Max. The wait counts from the end of the
// attempt, so an endpoint that times out is not hit again at once.
func (p RetryPolicy) Judge(a Attempt) Verdict {
	if a.Err == nil && a.Status >= 200 && a.Status < 300 {
		return Verdict{Delivered: true}
	}
	return Verdict{RetryAt: a.StartedAt.Add(a.Elapsed + p.wait(a.Number)), Reason: failure(a.Status, a.Err)}
}

// wait is the pause after the attempt-th failed attempt at one message.
func (p RetryPolicy) wait(attempt int) time.Duration {
	wait := p.Min
	for i := 1; i < attempt && wait < p.Max; i++ {
		wait *= 2
	}
	return min(wait, p.Max)
}

// failure says why an attempt failed, without the URL (it is on the webhook) and without the
// answer's body (never stored).
func failure(status int, err error) string {
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			if ue.Timeout() {
				return "no answer within the timeout"
			}
			err = ue.Err
		}
		return err.Error()
	}
	if status >= 300 && status < 400 {
		return fmt.Sprintf("answered %d; redirects are not followed", status)
	}
	return fmt.Sprintf("answered %d", status)
}
