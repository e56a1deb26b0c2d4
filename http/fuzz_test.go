package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/newsroom/newsroom/domain"
)

// decodeSeeds are request bodies as editors send them, and as an attacker would.
var decodeSeeds = []string{
	`{"headline":"NATO-Russia foreign ministers meet","body":"Ministers met on 7 December.","tags":["nato","russia"]}`,
	`{"headline":"x","summary":"s","body":"b","language":"pt-BR","byline":"NATO Press Office","dateline":"BRUSSELS","tags":[],"slug":"a-b"}`,
	`{"summary":null}`,
	`{"tags":null}`,
	`{"headline":null,"summary":"","tags":["a","b"]}`,
	`{}`,
	`null`,
	`[]`,
	`[{"headline":"x"}]`,
	`"headline"`,
	`42`,
	`true`,
	``,
	` `,
	`{`,
	`{"headline":`,
	`{"headline":"x"}{"headline":"y"}`,
	`{"headline":"x"} trailing`,
	`{"headline":"a","headline":"b"}`,
	`{"headline":42}`,
	`{"headline":{"x":1}}`,
	`{"tags":"nato"}`,
	`{"tags":[1,2]}`,
	`{"tags":["a",null]}`,
	`{"tags":[["a"]]}`,
	`{"status":"published"}`,
	`{"Headline":"case"}`,
	`{"HEADLINE":"case"}`,
	`{"headline ":"space"}`,
	`{"note":"n","summary":"s"}`,
	`{"headline":"\u0000\ud800\udfff\u2028"}`,
	"{\"headline\":\"\xff\xfe\"}",
	"\xef\xbb\xbf{\"headline\":\"bom\"}",
	`{"headline":"` + strings.Repeat("a", 10_000) + `"}`,
	`{"headline":` + strings.Repeat("[", 5_000) + strings.Repeat("]", 5_000) + `}`,
	`{"headline":1e999}`,
	`{"headline":"x","tags":["` + strings.Repeat(`a","`, 40) + `z"]}`,
	`{"__proto__":{"admin":true}}`,
	`{"headline":"x",}`,
	`{'headline':'x'}`,
	`  {"summary" : "spaced" }  `,
	`{"headline":"\ud83d\udcf0","body":"\\ud800","tags":["\udc00"]}`,
	`{"headline":"a","head\u006cine":"b"}`,
	`{"tags":[{"a":1,"a":2}]}`,
	"{\"byline\":\"\xed\xa0\x80\"}",
}

// editableFields maps each key decodeChanges takes to the field of domain.Changes it sets.
var editableFields = map[string]string{
	"headline": "Headline", "summary": "Summary", "body": "Body", "language": "Language",
	"byline": "Byline", "dateline": "Dateline", "tags": "Tags", "slug": "Slug",
}

// FuzzDecodeChanges feeds arbitrary bytes through decodeObject and decodeChanges, as PATCH and
// correct do. They never panic; every error is a *decodeError (a 400, never a 500); what
// decodeObject accepts is valid JSON, and the strings it calls not text are in fields it read;
// and a decoded merge patch sets exactly the fields whose keys the JSON holds, to their values.
func FuzzDecodeChanges(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := decodeObject(body, editableNames...)
		if err != nil {
			var de *decodeError
			if !errors.As(err, &de) {
				t.Fatalf("decodeObject(%q) = %T %v; want a *decodeError", body, err, err)
			}
			return
		}
		fields := o.fields
		if fields == nil {
			t.Fatalf("decodeObject(%q) = nil, nil; want an object or an error", body)
		}
		if !json.Valid(body) {
			t.Fatalf("decodeObject(%q) accepted JSON that encoding/json calls invalid", body)
		}
		for _, bad := range o.badText {
			if _, ok := fields[bad.Field]; !ok || bad.Detail == "" {
				t.Fatalf("decodeObject(%q) reports %+v, not about a field it read", body, bad)
			}
		}
		for key, raw := range fields {
			if !json.Valid(raw) {
				t.Fatalf("decodeObject(%q): field %q = %q, not a JSON value", body, key, raw)
			}
		}
		keys := make(map[string]json.RawMessage, len(fields))
		for k, v := range fields {
			keys[k] = v
		}
		ch, err := decodeChanges(fields)
		if !reflect.DeepEqual(fields, keys) {
			t.Fatalf("decodeChanges(%q) changed its argument", body)
		}
		if err != nil {
			var de *decodeError
			if !errors.As(err, &de) {
				t.Fatalf("decodeChanges(%q) = %T %v; want a *decodeError", body, err, err)
			}
			return
		}
		v := reflect.ValueOf(ch)
		for i := range v.NumField() {
			name := v.Type().Field(i).Name
			if v.Field(i).IsNil() {
				continue
			}
			var key string
			for k, field := range editableFields {
				if field == name {
					key = k
				}
			}
			if _, ok := fields[key]; !ok {
				t.Errorf("decodeChanges(%q) set %s, whose key %q the JSON does not hold", body, name, key)
			}
		}
		for key, raw := range fields {
			name, ok := editableFields[key]
			if !ok {
				t.Fatalf("decodeChanges(%q) took the unknown field %q", body, key)
			}
			got := v.FieldByName(name)
			if got.IsNil() {
				t.Fatalf("decodeChanges(%q) left %s unset; its key %q is present", body, name, key)
			}
			null := string(bytes.TrimSpace(raw)) == "null"
			switch p := got.Interface().(type) {
			case *string:
				var want string
				if !null {
					if err := json.Unmarshal(raw, &want); err != nil {
						t.Fatalf("decodeChanges(%q) took %s = %s, which is not a string", body, key, raw)
					}
				}
				if *p != want {
					t.Errorf("decodeChanges(%q): %s = %q; want %q", body, name, *p, want)
				}
			case *[]string:
				want := []string{}
				if !null {
					if err := json.Unmarshal(raw, &want); err != nil {
						t.Fatalf("decodeChanges(%q) took tags = %s, which is not an array of strings", body, raw)
					}
				}
				if len(*p) != len(want) || (len(want) > 0 && !reflect.DeepEqual(*p, want)) {
					t.Errorf("decodeChanges(%q): tags = %q; want %q", body, *p, want)
				}
			}
		}
	})
}

// FuzzDecodeDraft feeds arbitrary bytes to decodeDraft, as POST /api/v1/articles does. It
// never panics; every error is a *decodeError (400) or a *domain.ValidationError naming
// fields (422); and what it decodes survives a round trip.
func FuzzDecodeDraft(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeDraft(body)
		if err != nil {
			var notText *domain.ValidationError
			switch {
			case errors.As(err, &notText):
				for _, f := range notText.Fields {
					if f.Field == "" || f.Detail == "" {
						t.Fatalf("decodeDraft(%q) = %v; want every field named and explained", body, err)
					}
				}
			case err.Error() == "":
				t.Fatalf("decodeDraft(%q) = a *decodeError with no message", body)
			default:
				if _, ok := err.(*decodeError); !ok {
					t.Fatalf("decodeDraft(%q) = %T %v; want a *decodeError", body, err, err)
				}
			}
			return
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("marshal %+v: %v", req, err)
		}
		back, err := decodeDraft(again)
		if err != nil {
			t.Fatalf("decodeDraft(%s), the re-encoding of %q: %v", again, body, err)
		}
		if !reflect.DeepEqual(back, req) {
			t.Errorf("decodeDraft(%q) = %+v; its re-encoding decodes to %+v", body, req, back)
		}
		_ = req.command() // building the command from any decoded request is safe
	})
}
