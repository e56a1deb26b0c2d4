package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	_ "image/jpeg"
	"image/png"
	"mime/multipart"
	nethttp "net/http"
	"os"
	"slices"
	"strings"
	"testing"
)

// upload posts a multipart form: the file part named filename, and the text fields.
func upload(tb testing.TB, base, token, filename string, data []byte, fields map[string]string) response {
	tb.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			tb.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		tb.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return sendBody(tb, "POST", base+"/api/v1/media", token, &body, "Content-Type", mw.FormDataContentType())
}

func pngBytes(tb testing.TB, w, h int, transparent bool) []byte {
	tb.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(i), 90, 160, 255
	}
	if transparent {
		img.Pix[3] = 0
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func gifBytes(tb testing.TB) []byte {
	tb.Helper()
	img := image.NewPaletted(image.Rect(0, 0, 500, 250), color.Palette{color.Black, color.White})
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// bombPNG is a PNG header claiming 100000×100000 pixels.
func bombPNG() []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, 100000)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 100000)
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	typed := append([]byte("IHDR"), ihdr...)
	out := append([]byte("\x89PNG\r\n\x1a\n"), binary.BigEndian.AppendUint32(nil, uint32(len(ihdr)))...)
	out = append(out, typed...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(typed))
}

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("../../media/testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Images end to end on the real object store: uploads of each format, their renditions read
// back without the upload's metadata, the description changed under If-Match, the refusals,
// and no public image until an article shows it.
func TestMediaEndToEnd(t *testing.T) {
	dir := t.TempDir()
	app := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: dir, NATSListen: "127.0.0.1:0", NoSync: true,
		MediaMaxBytes: 2 << 20})
	reporter := createToken(t, dir, "rita", "reporter")

	cases := []struct {
		file, contentType string
		data              []byte
		w, h              int
		renditions        []string // name:WxH:type
	}{
		{"ministers.jpg", "image/jpeg", readTestdata(t, "gps.jpg"), 800, 1200,
			[]string{"320:320x480:image/jpeg", "800:800x1200:image/jpeg"}},
		{"logo.png", "image/png", pngBytes(t, 1800, 900, true), 1800, 900,
			[]string{"320:320x160:image/png", "800:800x400:image/png", "1600:1600x800:image/png"}},
		{"map.gif", "image/gif", gifBytes(t), 500, 250, []string{"320:320x160:image/jpeg", "800:500x250:image/jpeg"}},
		{"frame.webp", "image/webp", readTestdata(t, "video-001.lossy.webp"), 150, 103, []string{"320:150x103:image/jpeg"}},
	}
	var jpegID string
	for _, tc := range cases {
		r := upload(t, app.base, reporter, tc.file, tc.data, map[string]string{
			"caption": "NATO ministers meet", "credit": "Photo: NATO", "alt": "Ministers around a table"})
		expectStatus(t, r, nethttp.StatusCreated, "upload "+tc.file)
		m := r.json(t)
		id, _ := m["id"].(string)
		if tc.contentType == "image/jpeg" {
			jpegID = id
		}
		if m["content_type"] != tc.contentType || m["width"] != float64(tc.w) || m["height"] != float64(tc.h) || m["alt"] != "Ministers around a table" {
			t.Fatalf("upload %s = %s; want %s %d×%d", tc.file, r.body, tc.contentType, tc.w, tc.h)
		}
		if r.header.Get("X-Newsroom-Position") == "" {
			t.Fatalf("upload %s: no X-Newsroom-Position", tc.file)
		}
		rends, _ := m["renditions"].([]any)
		var got []string
		for _, x := range rends {
			rd := x.(map[string]any)
			got = append(got, fmt.Sprintf("%v:%vx%v:%v", rd["name"], rd["width"], rd["height"], rd["contenttype"]))
			// Read back from the desk, after the view has the upload.
			rr := call(t, "GET", app.base+rd["href"].(string)+"?min_position="+r.header.Get("X-Newsroom-Position"), reporter, nil)
			expectStatus(t, rr, nethttp.StatusOK, "GET "+rd["href"].(string))
			cfg, format, err := image.DecodeConfig(bytes.NewReader(rr.body))
			if err != nil || "image/"+format != rd["contenttype"] || float64(cfg.Width) != rd["width"] || float64(cfg.Height) != rd["height"] {
				t.Fatalf("rendition %v decodes as %s %d×%d (%v); says %v", rd["href"], format, cfg.Width, cfg.Height, err, got)
			}
			for _, s := range []string{"Exif", "GPS", "xmpmeta"} {
				if bytes.Contains(rr.body, []byte(s)) {
					t.Fatalf("rendition %v holds %q", rd["href"], s)
				}
			}
			etag := rr.header.Get("ETag")
			if !strings.HasPrefix(etag, `"SHA-256=`) || rr.header.Get("Content-Type") != rd["contenttype"] {
				t.Fatalf("rendition %v: ETag %q, Content-Type %q", rd["href"], etag, rr.header.Get("Content-Type"))
			}
			again := call(t, "GET", app.base+rd["href"].(string), reporter, nil, "If-None-Match", etag)
			expectStatus(t, again, nethttp.StatusNotModified, "GET with If-None-Match")
		}
		if strings.Join(got, " ") != strings.Join(tc.renditions, " ") {
			t.Fatalf("upload %s: renditions %v; want %v", tc.file, got, tc.renditions)
		}
	}

	// The objects are in the bucket under <id>/<rendition>.
	if objects := bucketObjects(t, app.natsURL); !slices.Contains(objects, jpegID+"/800") {
		t.Fatalf("object %s/800 not in the bucket: %v", jpegID, objects)
	}

	// The description, under If-Match.
	r := call(t, "GET", app.base+"/api/v1/media/"+jpegID, reporter, nil)
	expectStatus(t, r, nethttp.StatusOK, "GET image")
	if r.header.Get("ETag") != `"1"` {
		t.Fatalf("GET image: ETag %q; want \"1\"", r.header.Get("ETag"))
	}
	r = call(t, "PATCH", app.base+"/api/v1/media/"+jpegID, reporter, map[string]any{"caption": "Ministers in Brussels"}, "If-Match", `"1"`)
	expectStatus(t, r, nethttp.StatusOK, "PATCH image")
	if m := r.json(t); m["caption"] != "Ministers in Brussels" || m["alt"] != "Ministers around a table" || m["version"] != float64(2) {
		t.Fatalf("PATCH image = %s", r.body)
	}
	r = call(t, "PATCH", app.base+"/api/v1/media/"+jpegID, reporter, map[string]any{"caption": "Late"}, "If-Match", `"1"`)
	expectStatus(t, r, nethttp.StatusPreconditionFailed, "PATCH with a stale If-Match")
	r = call(t, "PATCH", app.base+"/api/v1/media/"+jpegID, reporter, map[string]any{"caption": "No precondition"})
	expectStatus(t, r, nethttp.StatusPreconditionRequired, "PATCH without If-Match")
	r = call(t, "GET", app.base+"/api/v1/media/"+jpegID+"?min_position="+fmt.Sprint(logPosition(t, app.natsURL)), reporter, nil)
	if m := r.json(t); m["caption"] != "Ministers in Brussels" {
		t.Fatalf("GET after PATCH = %s", r.body)
	}

	// Refusals.
	r = upload(t, app.base, reporter, "holiday.jpg", []byte("Dear all, the minutes of the meeting follow.\n"), nil)
	expectStatus(t, r, nethttp.StatusUnsupportedMediaType, "a text file named .jpg")
	r = upload(t, app.base, reporter, "bomb.png", bombPNG(), nil)
	expectStatus(t, r, nethttp.StatusUnprocessableEntity, "a PNG claiming 100000×100000")
	r = upload(t, app.base, reporter, "huge.png", bytes.Repeat([]byte{0}, 3<<20), nil)
	expectStatus(t, r, nethttp.StatusRequestEntityTooLarge, "an upload over --media-max-bytes")
	r = call(t, "GET", app.base+"/api/v1/media/00000000-0000-4000-8000-000000000000", reporter, nil)
	expectStatus(t, r, nethttp.StatusNotFound, "an unknown image")
	r = call(t, "GET", app.base+"/api/v1/media/"+jpegID+"/renditions/4000", reporter, nil)
	expectStatus(t, r, nethttp.StatusNotFound, "an unknown rendition")
	r = call(t, "GET", app.base+"/api/v1/media/"+jpegID, "", nil)
	expectStatus(t, r, nethttp.StatusUnauthorized, "the desk's image without a token")

	// No article shows it: readers get nothing.
	r = call(t, "GET", app.base+"/public/v1/media/"+jpegID+"/800", "", nil)
	expectStatus(t, r, nethttp.StatusNotFound, "a public read of an image no published article shows")
}

// A client that names an image in a command right after uploading or describing it (201, 200)
// is not refused because the media view had not applied the upload yet: the desk's check waits
// for the view before it says an image does not exist or has no alt text.
func TestCommandsRightAfterAnUploadSeeTheImage(t *testing.T) {
	dir := t.TempDir()
	ta := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: dir, NATSListen: "127.0.0.1:0", NoSync: true})
	rita, ed, eva := createToken(t, dir, "rita", "reporter"), createToken(t, dir, "ed", "editor"), createToken(t, dir, "eva", "editor")
	api := ta.base + "/api/v1/articles"
	for i := range 8 {
		r := upload(t, ta.base, rita, "ministers.png", noisePNG(t, 400, 300, uint64(i)), map[string]string{
			"caption": "Ministers at the table", "credit": "Photo: NATO"})
		expectStatus(t, r, nethttp.StatusCreated, "upload")
		id := r.json(t)["id"].(string)
		r = call(t, "POST", api, rita, map[string]any{"headline": fmt.Sprintf("Ministers meet, take %d", i),
			"body": "The ministers met.", "media": []map[string]any{{"id": id, "role": "main"}}})
		expectStatus(t, r, nethttp.StatusCreated, "draft naming the image just uploaded")
		article := r.json(t)["id"].(string)
		expectStatus(t, call(t, "POST", api+"/"+article+"/submit", rita, nil), 200, "submit")
		expectStatus(t, call(t, "POST", api+"/"+article+"/approve", ed, nil), 200, "approve")
		r = call(t, "PATCH", ta.base+"/api/v1/media/"+id, rita, map[string]any{"alt": "Ministers around a table"}, "If-Match", `"1"`)
		expectStatus(t, r, nethttp.StatusOK, "PATCH the image's alt")
		expectStatus(t, call(t, "POST", api+"/"+article+"/publish", eva, nil), 200, "publish right after the alt text was given")
	}
	// An image that does not exist is still refused, once the view has caught up.
	r := call(t, "POST", api, rita, map[string]any{"headline": "No such picture", "body": "Text.",
		"media": []map[string]any{{"id": "00000000-0000-4000-8000-000000000000", "role": "main"}}})
	expectStatus(t, r, nethttp.StatusUnprocessableEntity, "draft naming no image")
	if !strings.Contains(string(r.body), "upload it first") {
		t.Errorf("refusal = %s; want it to say the image does not exist", r.body)
	}
}

// TestImageRefusalsSpeakOfImages: every refusal of an image route says what is wrong with the
// image, never of an article, and has the type its kind of problem has elsewhere.
func TestImageRefusalsSpeakOfImages(t *testing.T) {
	dir := t.TempDir()
	rita := createToken(t, dir, "rita", "reporter")
	ta := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: dir, NATSListen: "127.0.0.1:0", NoSync: true})
	r := upload(t, ta.base, rita, "dot.png", pngBytes(t, 40, 30, false), map[string]string{"alt": "A dot"})
	expectStatus(t, r, nethttp.StatusCreated, "upload")
	img := ta.base + "/api/v1/media/" + r.json(t)["id"].(string)
	expectStatus(t, call(t, "GET", img+"?min_position="+r.header.Get("X-Newsroom-Position"), rita, nil), 200, "the image in the media view")
	const unknown = "/api/v1/media/00000000-0000-4000-8000-000000000000"
	asJSON := []string{"Content-Type", "application/json"}
	tests := []struct {
		name, method, url string
		body              any
		headers           []string
		status            int
		typ               string
	}{
		{"invalid field", "PATCH", img, `{"caption":"` + strings.Repeat("x", 2001) + `"}`, []string{"If-Match", `"1"`}, 422, "invalid-image"},
		{"control character", "PATCH", img, `{"alt":"a\u0007b"}`, []string{"If-Match", `"1"`}, 422, "invalid-image"},
		{"unknown field", "PATCH", img, `{"headline":"x"}`, []string{"If-Match", `"1"`}, 400, "malformed-request"},
		{"field name's case", "PATCH", img, `{"Caption":"x"}`, []string{"If-Match", `"1"`}, 400, "malformed-request"},
		{"bad JSON", "PATCH", img, `{"caption":`, []string{"If-Match", `"1"`}, 400, "malformed-request"},
		{"not an object", "PATCH", img, `[]`, []string{"If-Match", `"1"`}, 400, "malformed-request"},
		{"wrong type", "PATCH", img, `{"caption":3}`, []string{"If-Match", `"1"`}, 400, "malformed-request"},
		{"no If-Match", "PATCH", img, `{"caption":"x"}`, nil, 428, "precondition-required"},
		{"stale If-Match", "PATCH", img, `{"caption":"x"}`, []string{"If-Match", `"7"`}, 412, "stale-version"},
		{"unknown image", "PATCH", ta.base + unknown, `{"caption":"x"}`, []string{"If-Match", `"1"`}, 404, "not-found"},
		{"unknown image read", "GET", ta.base + unknown, nil, nil, 404, "not-found"},
		{"unknown rendition", "GET", img + "/renditions/99", nil, nil, 404, "not-found"},
		{"unknown public image", "GET", ta.base + "/public/v1/media/00000000-0000-4000-8000-000000000000/800", nil, nil, 404, "not-found"},
		{"invalid upload field", "POST", "", nil, nil, 422, "invalid-image"},
	}
	for _, tt := range tests {
		var got response
		if tt.method == "POST" {
			got = upload(t, ta.base, rita, "dot.png", pngBytes(t, 40, 30, false), map[string]string{"credit": strings.Repeat("x", 2001)})
		} else {
			got = call(t, tt.method, tt.url, rita, tt.body, append(append([]string{}, asJSON...), tt.headers...)...)
		}
		var p struct{ Type, Title, Detail string }
		if err := json.Unmarshal(got.body, &p); got.status != tt.status || err != nil || p.Type != "/problems/"+tt.typ {
			t.Errorf("%s: %d %s; want %d /problems/%s", tt.name, got.status, got.body, tt.status, tt.typ)
			continue
		}
		if text := strings.ToLower(p.Title + " " + p.Detail); strings.Contains(text, "article") {
			t.Errorf("%s: the problem speaks of an article: %s", tt.name, got.body)
		}
	}
}
