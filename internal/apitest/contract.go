// Package apitest checks HTTP exchanges with the API against its OpenAPI document, in tests:
// a Contract judges one request and its answer; a Recorder is an http.RoundTripper that judges
// every exchange a test client makes and keeps what did not match.
package apitest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	nethttp "net/http"
	"strings"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
)

// Contract is an OpenAPI 3.1 document ready to judge exchanges. It is safe for concurrent use.
type Contract struct {
	validator validator.Validator
	// problem is components.schemas.Problem: what an error answer at an address or with a
	// method the document does not describe must still be.
	problem *base.Schema
	schemas schema_validation.SchemaValidator
}

// Load reads an OpenAPI document (JSON or YAML). It refuses one that does not conform to the
// OpenAPI specification, or that has no Problem schema.
func Load(document []byte) (*Contract, error) {
	doc, err := libopenapi.NewDocument(document)
	if err != nil {
		return nil, fmt.Errorf("read the OpenAPI document: %w", err)
	}
	opts := []config.Option{config.WithFormatAssertions()}
	v, errs := validator.NewValidator(doc, opts...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("build the OpenAPI model: %w", errors.Join(errs...))
	}
	if ok, errs := v.ValidateDocument(); !ok {
		return nil, fmt.Errorf("the OpenAPI document does not conform to the OpenAPI specification: %s", describe(errs))
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("build the OpenAPI model: %w", err)
	}
	c := &Contract{validator: v, schemas: schema_validation.NewSchemaValidator(opts...)}
	if model.Model.Components != nil && model.Model.Components.Schemas != nil {
		if p := model.Model.Components.Schemas.GetOrZero("Problem"); p != nil {
			c.problem = p.Schema()
		}
	}
	if c.problem == nil {
		return nil, fmt.Errorf("the OpenAPI document has no components.schemas.Problem")
	}
	return c, nil
}

// Exchange is one request and the answer it got, with both bodies read whole. The body of a
// streamed answer (an event stream) is not read: its status and headers are judged alone.
type Exchange struct {
	Request      *nethttp.Request
	RequestBody  []byte
	Response     *nethttp.Response
	ResponseBody []byte
	Streamed     bool
}

// Check returns what the exchange does wrong against the document; nothing when it matches.
//
// The answer must be one the document describes for the operation, with its headers and
// body. The request must be one the document allows, unless the server refused it with a 4xx:
// a test that sends hostile or malformed input on purpose expects that, and the answer is
// still judged (it must be the problem the document names). A request the document forbids
// that the server accepted is a mismatch either way: the document or the server is wrong. An
// address or method the document does not describe may only answer 404 or 405 (with Allow),
// as a problem.
func (c *Contract) Check(x Exchange) []string {
	req := cloneWithBody(x.Request, x.RequestBody)
	resp := *x.Response
	resp.Body = io.NopCloser(bytes.NewReader(x.ResponseBody))
	if x.Streamed {
		resp.Body = nethttp.NoBody
	}

	requestOK, requestErrs := c.validator.ValidateHttpRequestSync(req)
	for _, e := range requestErrs {
		if e.IsPathMissingError() || e.IsOperationMissingError() {
			return c.checkUndescribed(req, &resp, x.ResponseBody)
		}
	}
	var problems []string
	if !requestOK && resp.StatusCode < 400 {
		problems = append(problems, fmt.Sprintf("the request is not one the document allows, yet the server accepted it (%d): %s",
			resp.StatusCode, describe(requestErrs)))
	}
	if ok, errs := c.validator.ValidateHttpResponse(cloneWithBody(x.Request, x.RequestBody), &resp); !ok {
		problems = append(problems, "the answer does not match the document: "+describe(errs))
	}
	return problems
}

// checkUndescribed judges the answer to an address or method the document does not describe.
func (c *Contract) checkUndescribed(req *nethttp.Request, resp *nethttp.Response, body []byte) []string {
	what := fmt.Sprintf("%s %s is not in the document", req.Method, req.URL.Path)
	switch resp.StatusCode {
	case nethttp.StatusNotFound:
	case nethttp.StatusMethodNotAllowed:
		if resp.Header.Get("Allow") == "" {
			return []string{what + ", and its 405 has no Allow header"}
		}
	default:
		return []string{fmt.Sprintf("%s, yet it answered %d (only 404 or 405 may answer an undescribed address or method)", what, resp.StatusCode)}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/problem+json" {
		return []string{fmt.Sprintf("%s; its %d is %q, not application/problem+json", what, resp.StatusCode, resp.Header.Get("Content-Type"))}
	}
	if req.Method == nethttp.MethodHead {
		return nil
	}
	if ok, errs := c.schemas.ValidateSchemaBytes(c.problem, body); !ok {
		return []string{fmt.Sprintf("%s; its %d is not a Problem: %s", what, resp.StatusCode, describe(errs))}
	}
	return nil
}

func cloneWithBody(r *nethttp.Request, body []byte) *nethttp.Request {
	c := r.Clone(r.Context())
	c.Body = io.NopCloser(bytes.NewReader(body))
	if body == nil {
		c.Body = nethttp.NoBody
	}
	return c
}

// describe turns validation errors into one line each, naming the field where there is one.
func describe(errs []*liberrors.ValidationError) string {
	var lines []string
	for _, e := range errs {
		line := e.Message
		if e.Reason != "" && e.Reason != e.Message {
			line += ": " + e.Reason
		}
		for _, f := range e.SchemaValidationErrors {
			where := f.FieldPath
			if where == "" {
				where = "/" + strings.Join(f.InstancePath, "/")
			}
			line += fmt.Sprintf("; at %s: %s", where, f.Reason)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, " | ")
}
