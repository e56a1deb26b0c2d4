package main

import (
	"strconv"
	"testing"
)

// A read with min_position reflects the caller's own command without polling.
func TestReadYourWrites(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ed := createToken(t, dir, "ed", "editor")
	ta := startTestApp(t, dir)
	api := ta.base + "/api/v1/articles"

	for i := range 5 {
		r := call(t, "POST", api, rita, map[string]any{"headline": "Ministers meet " + strconv.Itoa(i), "body": "Text."})
		expectStatus(t, r, 201, "draft")
		id := r.json(t)["id"].(string)
		expectStatus(t, call(t, "POST", api+"/"+id+"/submit", rita, nil), 200, "submit")
		expectStatus(t, call(t, "POST", api+"/"+id+"/approve", ed, nil), 200, "approve")
		r = call(t, "POST", api+"/"+id+"/publish", ed, nil)
		expectStatus(t, r, 200, "publish")
		pos, slug := r.header.Get("X-Newsroom-Position"), r.json(t)["slug"].(string)

		r = callOnce(t, "GET", ta.base+"/public/v1/articles/"+slug+"?min_position="+pos, "", nil)
		expectStatus(t, r, 200, "public read at the publish position")
		r = callOnce(t, "GET", ta.base+"/public/v1/articles", "", nil, "X-Newsroom-Min-Position", pos)
		if total := r.json(t)["total"]; total != float64(i+1) {
			t.Errorf("list at position %s: total %v; want %d", pos, total, i+1)
		}
		r = callOnce(t, "GET", api+"?status=published&min_position="+pos, ed, nil)
		if total := r.json(t)["total"]; total != float64(i+1) {
			t.Errorf("desk at position %s: total %v; want %d", pos, total, i+1)
		}
		r = callOnce(t, "GET", api+"/"+id+"/history?min_position="+pos, ed, nil)
		if items := r.json(t)["items"].([]any); len(items) != 4 {
			t.Errorf("history at position %s: %d entries; want 4", pos, len(items))
		}
	}

	expectStatus(t, callOnce(t, "GET", ta.base+"/public/v1/articles?min_position=-1", "", nil), 400, "negative position")
	r := callOnce(t, "GET", ta.base+"/public/v1/articles?min_position=1000000", "", nil)
	expectStatus(t, r, 503, "a position the log has not reached")
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}
