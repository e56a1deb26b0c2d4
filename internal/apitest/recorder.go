package apitest

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	nethttp "net/http"
	"strings"
	"sync"
	"testing"
)

// Recorder is an http.RoundTripper that sends each request on Next, checks the exchange
// against Contract, and keeps every mismatch. It reads each answer whole before handing it on
// (an event stream excepted: its status and headers are checked, its body is left to the
// caller). It is safe for concurrent use.
type Recorder struct {
	Contract *Contract
	Next     nethttp.RoundTripper // nil: http.DefaultTransport

	mu         sync.Mutex
	mismatches []string
}

// RoundTrip implements http.RoundTripper.
func (r *Recorder) RoundTrip(req *nethttp.Request) (*nethttp.Response, error) {
	var reqBody []byte
	out := req
	if req.Body != nil && req.Body != nethttp.NoBody {
		var err error
		reqBody, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("apitest: read the request body: %w", err)
		}
		// The request goes out as the caller made it: with its length, or chunked when it has
		// none (ContentLength 0 with a body).
		out = req.Clone(req.Context())
		out.Body = io.NopCloser(bytes.NewReader(reqBody))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	}
	next := r.Next
	if next == nil {
		next = nethttp.DefaultTransport
	}
	resp, err := next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	x := Exchange{Request: out, RequestBody: reqBody, Response: resp}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/event-stream" {
		x.Streamed = true
	} else {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			// Cut off mid-answer: the caller sees the same error; there is no whole answer to judge.
			resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
			return resp, nil
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		x.ResponseBody = body
	}
	if problems := r.Contract.Check(x); len(problems) > 0 {
		r.record(fmt.Sprintf("%s %s → %d: %s", req.Method, req.URL.RequestURI(), resp.StatusCode, strings.Join(problems, "; ")))
	}
	return resp, nil
}

func (r *Recorder) record(mismatch string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mismatches = append(r.mismatches, mismatch)
}

// Mismatches returns the exchanges that did not match the document so far, in order.
func (r *Recorder) Mismatches() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.mismatches...)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Clients hands each test a client whose exchanges are checked against a contract, and fails
// the test at its end with every mismatch they had. It is safe for concurrent use.
type Clients struct {
	contract *Contract
	next     nethttp.RoundTripper

	mu     sync.Mutex
	byTest map[testing.TB]*nethttp.Client
}

// NewClients returns Clients that check exchanges against contract, sent on next (nil:
// http.DefaultTransport).
func NewClients(contract *Contract, next nethttp.RoundTripper) *Clients {
	return &Clients{contract: contract, next: next, byTest: map[testing.TB]*nethttp.Client{}}
}

// For returns tb's client, the same on every call; when tb ends, tb fails with the mismatches.
func (cs *Clients) For(tb testing.TB) *nethttp.Client {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c, ok := cs.byTest[tb]; ok {
		return c
	}
	c := &nethttp.Client{Transport: Record(tb, cs.contract, cs.next)}
	cs.byTest[tb] = c
	tb.Cleanup(func() {
		cs.mu.Lock()
		delete(cs.byTest, tb)
		cs.mu.Unlock()
	})
	return c
}

// Record returns a Recorder that checks exchanges against contract and sends them on next (nil:
// http.DefaultTransport); when tb ends, tb fails with the mismatches.
func Record(tb testing.TB, contract *Contract, next nethttp.RoundTripper) *Recorder {
	rec := &Recorder{Contract: contract, Next: next}
	tb.Cleanup(func() {
		if report := Report(rec.Mismatches()); report != "" {
			tb.Error(report)
		}
	})
	return rec
}

// maxReported bounds how many different mismatches a report lists.
const maxReported = 20

// Report describes mismatches for a failing test: each different one once, with how often it
// came (a polling loop repeats the same exchange). It is empty when there are none.
func Report(mismatches []string) string {
	if len(mismatches) == 0 {
		return ""
	}
	count := map[string]int{}
	var order []string
	for _, m := range mismatches {
		if count[m] == 0 {
			order = append(order, m)
		}
		count[m]++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d exchanges did not match the OpenAPI document (http/openapi.json):", len(mismatches))
	for i, m := range order {
		if i == maxReported {
			fmt.Fprintf(&b, "\n- … and %d more different ones", len(order)-maxReported)
			break
		}
		fmt.Fprintf(&b, "\n- %s", m)
		if n := count[m]; n > 1 {
			fmt.Fprintf(&b, " (×%d)", n)
		}
	}
	return b.String()
}
