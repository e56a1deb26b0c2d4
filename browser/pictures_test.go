package browser

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"mime/multipart"
	nethttp "net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/newsroom/newsroom/internal/browsertest"
)

// writePNG writes an opaque w × h PNG (a gradient, so that its renditions are not blank) to a
// file in dir and returns its path.
func writePNG(t *testing.T, dir, name string, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{R: uint8(40 + 180*x/w), G: uint8(90 + 100*y/h), B: 160, A: 255})
		}
	}
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// harbourPNG draws a harbour at dusk, 1200 × 675: a sky, a low sun, the sea and a quay.
func harbourPNG(t *testing.T) []byte {
	t.Helper()
	const w, h = 1200, 675
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			f := float64(y) / h
			c := color.RGBA{R: uint8(250 - 120*f), G: uint8(170 - 60*f), B: uint8(110 + 80*f), A: 255} // sky
			if d := math.Hypot(float64(x-820), float64(y-330)); d < 70 {
				c = color.RGBA{R: 255, G: 226, B: 150, A: 255} // sun
			}
			if y > 400 { // sea, with the sun's glitter
				c = color.RGBA{R: uint8(30 + 40*(1-f)), G: uint8(70 + 30*(1-f)), B: uint8(120 + 20*(1-f)), A: 255}
				if x > 760 && x < 880 && (y/6)%3 == 0 {
					c = color.RGBA{R: 240, G: 200, B: 140, A: 255}
				}
			}
			if y > 560 && x < 520 { // the quay
				c = color.RGBA{R: 60, G: 58, B: 64, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// uploadImage uploads an image (POST /api/v1/media) as user with the description fields and
// returns its id once the media view holds it (an article may name it then).
func (n *newsroom) uploadImage(t *testing.T, user string, file []byte, fields map[string]string) string {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, err := w.CreateFormFile("file", "picture.png")
	if err != nil {
		t.Fatal(err)
	}
	part.Write(file)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := nethttp.NewRequest("POST", n.base+"/api/v1/media", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+n.tokens[user])
	resp, err := nethttp.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != nethttp.StatusCreated {
		t.Fatalf("upload an image as %s: %d; want 201", user, resp.StatusCode)
	}
	id := strings.TrimPrefix(resp.Header.Get("Location"), "/api/v1/media/")
	n.must(t, nethttp.StatusOK, "GET", "/api/v1/media/"+id+"?min_position="+resp.Header.Get("X-Newsroom-Position"), user, nil)
	return id
}

// uploadInDesk uploads the file at path with the desk's form, with alt text and caption, and
// returns the new image's id once the desk lists it among the article's pictures.
func uploadInDesk(t *testing.T, p *browsertest.Page, path, alt, caption string) string {
	t.Helper()
	before := p.Count("#pictures-list [data-media-id]")
	p.SetUploadFiles("#upload-file", path)
	p.Fill("#upload-alt", alt)
	p.Fill("#upload-caption", caption)
	p.Fill("#upload-credit", "Photo: Rita Reporter")
	p.Click("#upload-submit")
	p.WaitUntil("the upload to be listed", fmt.Sprintf(`document.querySelectorAll('#pictures-list [data-media-id]').length === %d`, before+1))
	var id string
	p.Eval(fmt.Sprintf(`document.querySelectorAll('#pictures-list [data-media-id]')[%d].dataset.mediaId`, before), &id)
	if id == "" {
		t.Fatal("the uploaded picture has no id in the list")
	}
	return id
}

// TestDeskPictures is a picture's way from the reporter's desk to the reader: rita uploads two
// images in the desk (one without alt text, which the list flags), the first becomes the main
// image, she places the second in the body, changes its caption for the article (meeting a
// concurrent change: the conflict shows the pictures) and submits; an editor approves; the
// second editor's publish is refused for the missing alt text, naming the picture, until she
// describes it from its thumbnail; the public page shows both as <img> with srcset.
func TestDeskPictures(t *testing.T) {
	b := browsertest.Start(t)
	srv := server(t)
	dir := t.TempDir()
	crane := writePNG(t, dir, "crane.png", 900, 600)
	chart := writePNG(t, dir, "chart.png", 400, 300)
	headline := "Cranes return to the harbour " + time.Now().Format("150405.000")

	rita := b.NewPage(t)
	signIn(t, rita, srv, "rita", "#/articles/new")
	rita.WaitVisible("#headline")
	rita.Fill("#headline", headline)
	rita.Fill("#body", "The cranes are back.")
	rita.Fill("#language", "en")
	if !rita.Visible("#pictures-empty") {
		t.Error("a new article's pictures do not say there are none")
	}

	craneID := uploadInDesk(t, rita, crane, "A yellow crane over the quay", "The new crane")
	chartID := uploadInDesk(t, rita, chart, "", "Tonnage by month")
	li := func(id string) string { return fmt.Sprintf(`#pictures-list [data-media-id=%q]`, id) }
	if got := rita.Attr(li(craneID), "data-role"); got != "main" {
		t.Errorf("the first picture uploaded is %q; want the main image", got)
	}
	if got := rita.Attr(li(chartID), "data-role"); got != "inline" {
		t.Errorf("the second picture uploaded is %q; want inline (there is a main image)", got)
	}
	// Thumbnails are the desk's 320 rendition, loaded with the session.
	rita.WaitUntil("the thumbnails to load", fmt.Sprintf(`[...document.querySelectorAll('#pictures-list img.thumb')].filter(i => i.complete && i.naturalWidth > 0).length === 2`))
	if src := rita.Attr(li(craneID)+" img.thumb", "src"); !strings.Contains(src, "/api/v1/media/"+craneID+"/renditions/320") {
		t.Errorf("the crane's thumbnail is %q; want its 320 desk rendition", src)
	}
	if got := rita.Text(li(craneID)); !strings.Contains(got, "The new crane") || !strings.Contains(got, "A yellow crane over the quay") || !strings.Contains(got, "Photo: Rita Reporter") {
		t.Errorf("the crane's entry reads %q; want its caption, alt text and credit", got)
	}
	if got := rita.Text(li(chartID)); !strings.Contains(got, "needs alt text") {
		t.Errorf("the chart (no alt text) reads %q; want it flagged: needs alt text", got)
	}
	if got := rita.Text(li(craneID)); strings.Contains(got, "needs alt text") {
		t.Errorf("the crane, with alt text, is flagged: %q", got)
	}

	// The chart goes in the body at the cursor (the end), and the preview shows it.
	rita.Eval(`(() => { const b = document.querySelector('#body'); b.focus(); b.setSelectionRange(b.value.length, b.value.length); })()`, nil)
	rita.Click("#pic-insert-1")
	wantRef := fmt.Sprintf("![](media:%s)", chartID)
	if got := rita.Value("#body"); got != "The cranes are back.\n\n"+wantRef+"\n\n" {
		t.Errorf("after Insert in body the body is %q; want the reference on a line of its own at the end", got)
	}
	rita.WaitUntil("the preview to show the inline picture", fmt.Sprintf(`!!document.querySelector('#preview img[src*=%q]')`, chartID))
	rita.Accessible("the editor with pictures")

	rita.Click("#save")
	rita.WaitUntil("the saved draft to open in the editor", `/^#\/articles\/(?!new)[^/?]+$/.test(location.hash)`)
	id := articleIDFromURL(t, rita.URL())
	waitStatus(t, rita, "draft")
	a := srv.article(t, id)
	if got := fmt.Sprint(a["media"]); got != fmt.Sprintf("[map[caption: id:%s role:main] map[caption: id:%s role:inline]]", craneID, chartID) {
		t.Errorf("the draft's media are %s; want the crane main and the chart inline", got)
	}
	if body, _ := a["body"].(string); !strings.Contains(body, wantRef) {
		t.Errorf("the draft's body is %q; want %s in it", body, wantRef)
	}
	rita.WaitVisible(li(chartID) + " img.thumb")

	// Meanwhile another client gives the crane a caption for this article; rita gives the chart
	// one: her save is stale, and the conflict shows the pictures on both sides.
	srv.must(t, nethttp.StatusOK, "PATCH", "/api/v1/articles/"+id, "rita", map[string]any{"media": []map[string]any{
		{"id": craneID, "role": "main", "caption": "At the quay"}, {"id": chartID, "role": "inline"}}},
		"If-Match", fmt.Sprintf(`"%v"`, a["version"]))
	rita.Fill("#pic-caption-1", "Tonnage this year")
	if got := rita.Text("#save-state"); got != "Unsaved changes" {
		t.Errorf("after a caption for the article the save state is %q; want Unsaved changes", got)
	}
	rita.Click("#save")
	rita.WaitVisible("#conflict")
	if got := rita.Text(`#conflict-rows [data-field="media"]`); !strings.Contains(got, "Pictures") || !strings.Contains(got, "quay") || !strings.Contains(got, "Tonnage this year") {
		t.Errorf("the conflict's pictures row reads %q; want the server's caption and mine", got)
	}
	rita.Click("#reapply")
	rita.WaitHidden("#conflict")
	a = srv.article(t, id)
	// Pictures are one field, as the body is: re-applying puts my list over theirs.
	if got, want := fmt.Sprint(a["media"]), fmt.Sprintf("[map[caption: id:%s role:main] map[caption:Tonnage this year id:%s role:inline]]", craneID, chartID); got != want {
		t.Errorf("after re-applying the media are %s; want mine, %s", got, want)
	}
	// The history compares the pictures of two versions as it compares their text.
	rita.WaitUntil("the history to offer version 3", `document.querySelector('#compare-to').value === '3'`)
	rita.Click(`#compare button[type="submit"]`)
	if got := rita.WaitText(`#diff [data-field="media"]`, "Tonnage"); !strings.Contains(got, "Pictures") || !strings.Contains(got, "year") {
		t.Errorf("the difference of versions 2 and 3 shows %q for the pictures; want them labelled Pictures, with my caption", got)
	}

	// On a 375 px phone the pictures fit the screen.
	rita.SetPhone()
	rita.NoHorizontalScroll()
	rita.SetDesktop()

	rita.Click(`[data-action="submit"]`)
	waitStatus(t, rita, "in_review")

	ed := b.NewPage(t)
	signIn(t, ed, srv, "ed", "#/articles/"+id)
	waitStatus(t, ed, "in_review")
	ed.Click(`[data-action="approve"]`)
	waitStatus(t, ed, "approved")

	// The second editor's publish is refused: the chart has no alt text; the refusal names it.
	eva := b.NewPage(t)
	signIn(t, eva, srv, "eva", "#/articles/"+id)
	waitStatus(t, eva, "approved")
	eva.WaitUntil("the chart's entry to load", fmt.Sprintf(`!!document.querySelector('%s .needs-alt, %s.needs-alt')`, li(chartID), li(chartID)))
	eva.Click(`[data-action="publish"]`)
	eva.WaitVisible("#problem")
	if got := eva.Text("#problem"); !strings.Contains(got, "Alt Text") || !strings.Contains(got, "Tonnage this year") {
		t.Errorf("the refused publish shows %q; want the missing-alt problem naming the chart", got)
	}
	if !strings.Contains(eva.Attr(li(chartID), "class"), "is-flagged") {
		t.Error("the refused publish does not mark the chart in the pictures")
	}
	eva.Click("#pic-describe-1")
	eva.WaitVisible("#describe-form")
	eva.Accessible("the editor describing a picture, after a refused publish")
	eva.Fill("#describe-alt", "A bar chart of tonnage by month")
	eva.Click("#describe-submit")
	eva.WaitHidden("#describe-form")
	eva.WaitUntil("the chart to lose its flag", fmt.Sprintf(`!document.querySelector('%s').classList.contains('needs-alt')`, li(chartID)))
	if got := srv.must(t, nethttp.StatusOK, "GET", "/api/v1/media/"+chartID, "ed", nil).json(t)["alt"]; got != "A bar chart of tonnage by month" {
		t.Errorf("after Describe the chart's alt text is %q", got)
	}
	eva.Click(`[data-action="publish"]`)
	waitStatus(t, eva, "published")
	slug, _ := srv.article(t, id)["slug"].(string)

	reader := b.NewPage(t)
	waitPublicPage(t, reader, srv.base+"/news/"+slug)
	var imgs []struct{ Src, Srcset, Alt string }
	reader.Eval(`[...document.querySelectorAll('main article img')].map(i => ({src: i.getAttribute('src'), srcset: i.getAttribute('srcset') || '', alt: i.alt}))`, &imgs)
	seen := map[string]bool{}
	for _, img := range imgs {
		for _, mid := range []string{craneID, chartID} {
			if strings.Contains(img.Src, mid) {
				seen[mid] = true
				if !strings.Contains(img.Srcset, mid) || !strings.Contains(img.Srcset, "w") {
					t.Errorf("the public <img> of %s has srcset %q; want its renditions with widths", mid, img.Srcset)
				}
			}
		}
	}
	if !seen[craneID] || !seen[chartID] {
		t.Errorf("the public page's images are %+v; want the crane (main) and the chart (inline)", imgs)
	}
}

// TestDeskUploadRefused: a file the server refuses as a picture (a text file: 415; one past
// --media-max-bytes, 20 MiB by default: 413) shows the problem's title and detail beside the
// form (role=alert), and nothing is attached.
func TestDeskUploadRefused(t *testing.T) {
	b := browsertest.Start(t)
	srv := server(t)
	dir := t.TempDir()
	notImage := filepath.Join(dir, "notes.png")
	if err := os.WriteFile(notImage, []byte("minutes of the meeting, not a picture\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tooBig := filepath.Join(dir, "huge.png")
	if err := os.WriteFile(tooBig, make([]byte, 21<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	rita := b.NewPage(t)
	signIn(t, rita, srv, "rita", "#/articles/new")
	for _, c := range []struct{ file, title, detail string }{
		{notImage, "Unsupported Media Type", "not a JPEG, PNG, GIF or WebP image"},
		{tooBig, "Content Too Large", "at most 20971520 bytes"},
	} {
		rita.WaitVisible("#upload-file")
		rita.SetUploadFiles("#upload-file", c.file)
		rita.Fill("#upload-alt", "Notes")
		rita.Click("#upload-submit")
		got := rita.WaitText("#pictures-problem", c.title)
		if !strings.Contains(got, c.detail) {
			t.Errorf("the refused upload of %s shows %q; want the problem's title %q and detail %q", filepath.Base(c.file), got, c.title, c.detail)
		}
		if got := rita.Attr("#pictures-problem", "role"); got != "alert" {
			t.Errorf("the upload's problem has role %q; want alert", got)
		}
		if n := rita.Count("#pictures-list [data-media-id]"); n != 0 {
			t.Errorf("after a refused upload of %s the article lists %d pictures; want none", filepath.Base(c.file), n)
		}
	}
}
