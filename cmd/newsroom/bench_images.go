package main

// The images' phases: an upload of a camera-sized JPEG end to end, and the public renditions
// of a published image read beside raw Echo serving the same bytes.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	nethttp "net/http"
	"runtime/debug"
	"slices"
	"time"

	"github.com/newsroom/newsroom/bench"
)

// benchPhotoWidth × benchPhotoHeight is the uploaded photo: 12 megapixels, about 4.6 MB.
const benchPhotoWidth, benchPhotoHeight = 4000, 3000

// imageFigures is what the images' phases measured.
type imageFigures struct {
	photoBytes int
	uploads    []time.Duration // each upload's wall time, answered 201
	renditions []string        // the public paths read, and their sizes
	sizes      []int
	rawEcho    bench.LoadResult
	reads      bench.LoadResult
}

// runImages uploads the photo (timed, one upload at a time, cfg.Uploads times), attaches the
// first upload to an article as its main image and publishes it, then reads its public
// renditions under load, after raw Echo serving the same bytes at the same paths.
func (b *benchRun) runImages(ctx context.Context, c *benchUsers) error {
	cfg := b.cfg
	if !cfg.wants("upload") && !cfg.wants("raw-echo-images") && !cfg.wants("images") {
		return nil
	}
	photo, err := bench.Photo(benchPhotoWidth, benchPhotoHeight)
	if err != nil {
		return err
	}
	b.images.photoBytes = len(photo)
	// Making the photo took 48 MB of pixels: given back to the system, so that the upload's
	// peak RSS grows from what the server holds, not from the bench's leftovers.
	debug.FreeOSMemory()
	var first uploadedImage
	if err := b.phase("upload", time.Duration(cfg.Uploads)*time.Second, func() error {
		for i := range cfg.Uploads {
			start := time.Now()
			up, err := c.upload(ctx, photo, fmt.Sprintf("bench photo %d", i))
			if err != nil {
				return err
			}
			b.images.uploads = append(b.images.uploads, time.Since(start))
			if i == 0 {
				first = up
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if !cfg.wants("raw-echo-images") && !cfg.wants("images") {
		return nil
	}
	if first.ID == "" { // the upload phase was left out: one upload, not timed
		if first, err = c.upload(ctx, photo, "bench photo"); err != nil {
			return err
		}
	}
	b.logf("images: attaching %s to an article and publishing it", first.ID)
	id, err := c.draftWithImage(ctx, b.text, b.body, first.ID)
	if err != nil {
		return err
	}
	if err := c.approve(ctx, id); err != nil {
		return err
	}
	if _, err := c.publish(ctx, id); err != nil {
		return err
	}
	client := &nethttp.Client{Timeout: 30 * time.Second}
	bodies := map[string][]byte{}
	for _, r := range first.Renditions {
		path := "/public/v1/media/" + first.ID + "/" + r.Name
		body, err := publicWithin(ctx, client, "http://"+c.addr+path, 30*time.Second)
		if err != nil {
			return err
		}
		bodies[path] = body
		b.images.renditions = append(b.images.renditions, path)
		b.images.sizes = append(b.images.sizes, len(body))
	}
	paths := b.images.renditions
	if err := b.phase("raw-echo-images", cfg.Duration, func() error {
		addr, stop, err := bench.RawEchoAs(bodies, "image/jpeg")
		if err != nil {
			return err
		}
		defer stop()
		b.images.rawEcho, err = runLoadProcess(ctx, bench.LoadSpec{Addr: addr, Connections: cfg.Connections, Duration: cfg.Duration, Paths: paths})
		return err
	}); err != nil {
		return err
	}
	return b.phase("images", cfg.Duration, func() (err error) {
		b.images.reads, err = runLoadProcess(ctx, bench.LoadSpec{Addr: c.addr, Connections: cfg.Connections, Duration: cfg.Duration, Paths: paths})
		return err
	})
}

// uploadedImage is the part of POST /api/v1/media's answer the bench uses.
type uploadedImage struct {
	ID         string `json:"id"`
	Renditions []struct {
		Name string `json:"name"`
	} `json:"renditions"`
}

// upload sends photo as POST /api/v1/media (multipart/form-data, built before the clock starts
// for the caller: the timed part is the request, the processing and the object store's puts).
func (c *benchUsers) upload(ctx context.Context, photo []byte, caption string) (uploadedImage, error) {
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	for _, f := range [][2]string{{"caption", caption}, {"credit", "Bench"}, {"alt", "A gradient under grain"}} {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return uploadedImage{}, err
		}
	}
	part, err := mw.CreateFormFile("file", "photo.jpg")
	if err != nil {
		return uploadedImage{}, err
	}
	part.Write(photo) //nolint:errcheck // a bytes.Buffer
	if err := mw.Close(); err != nil {
		return uploadedImage{}, err
	}
	var up uploadedImage
	err = c.call(ctx, "POST", "/api/v1/media", mw.FormDataContentType(), &form, nethttp.StatusCreated, &up)
	return up, err
}

// draftWithImage drafts an article from the corpus with image mediaID as its main image.
func (c *benchUsers) draftWithImage(ctx context.Context, text bench.Text, body, mediaID string) (string, error) {
	draft, err := json.Marshal(map[string]any{
		"headline": text.Headline + " (with a picture)", "summary": text.Lede, "body": body,
		"byline": "Bench Reporter", "dateline": "BRUSSELS", "tags": []string{"nato", "bench"},
		"media": []map[string]string{{"id": mediaID, "role": "main"}},
	})
	if err != nil {
		return "", err
	}
	var a struct {
		ID string `json:"id"`
	}
	err = c.call(ctx, "POST", "/api/v1/articles", "application/json", bytes.NewReader(draft), nethttp.StatusCreated, &a)
	return a.ID, err
}

// call sends a request as the reporter and decodes the answer, which must have status want.
func (c *benchUsers) call(ctx context.Context, method, path, contentType string, body io.Reader, want int, out any) error {
	req, err := nethttp.NewRequestWithContext(ctx, method, "http://"+c.addr+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.reporterToken)
	req.Header.Set("Content-Type", contentType)
	resp, err := nethttp.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, answer)
	}
	return json.Unmarshal(answer, out)
}

// publicWithin polls a public address until it answers 200 (the published view has to show the
// article first), and returns the answer's bytes.
func publicWithin(ctx context.Context, client *nethttp.Client, url string, within time.Duration) ([]byte, error) {
	deadline := time.Now().Add(within)
	for {
		body, err := getPageBytes(ctx, client, url)
		if err == nil {
			return body, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("not public after %s: %w", within, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// uploadSpread is the median, fastest and slowest of the uploads' wall times.
func (f imageFigures) uploadSpread() (median, fastest, slowest time.Duration) {
	if len(f.uploads) == 0 {
		return 0, 0, 0
	}
	d := slices.Clone(f.uploads)
	slices.Sort(d)
	return d[len(d)/2], d[0], d[len(d)-1]
}
