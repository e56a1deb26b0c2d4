package main

import (
	nethttp "net/http"
	"sync"
	"testing"

	newsroomhttp "github.com/newsroom/newsroom/http"
	"github.com/newsroom/newsroom/internal/apitest"
)

// The API's contract is http/openapi.json: every exchange the end-to-end tests make through
// checkedClient or checkedTransport is checked against it, and a test whose exchanges did not
// match fails at its end with the list (see internal/apitest). Requests a test makes invalid
// on purpose must be refused (4xx) to pass; their answers are checked all the same.
var (
	loadContract = sync.OnceValues(func() (*apitest.Contract, error) { return apitest.Load(newsroomhttp.OpenAPI()) })
	apiClients   = sync.OnceValue(func() *apitest.Clients {
		c, err := loadContract()
		if err != nil {
			return nil
		}
		return apitest.NewClients(c, nil)
	})
)

func apiContract(tb testing.TB) *apitest.Contract {
	tb.Helper()
	c, err := loadContract()
	if err != nil {
		tb.Fatalf("load the API's contract: %v", err)
	}
	return c
}

// checkedClient is tb's HTTP client: the same on every call in tb, checked against the API's
// contract.
func checkedClient(tb testing.TB) *nethttp.Client {
	tb.Helper()
	apiContract(tb)
	return apiClients().For(tb)
}

// checkedTransport checks every exchange sent on next (nil: the default transport) against
// the API's contract, for clients with transports of their own.
func checkedTransport(tb testing.TB, next nethttp.RoundTripper) nethttp.RoundTripper {
	tb.Helper()
	return apitest.Record(tb, apiContract(tb), next)
}
