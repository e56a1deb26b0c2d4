package projections_test

import (
	"strings"
	"testing"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/projections"
)

// TestResolveImages: an inline image of the body becomes an <img> of its renditions (srcset,
// sizes, dimensions, alt) through the sanitiser; one the article does not list, or the catalog
// does not know, and any other scheme, become nothing.
func TestResolveImages(t *testing.T) {
	const other = "c0ffee00-1234-4abc-8def-0123456789ab"
	body := "Before ![Ministers at the table](media:" + imgMain + ") then ![](media:" + imgInline + ")" +
		" and ![stray](media:" + other + ") and ![x](javascript:alert(1))"
	html, err := projections.RenderMarkdown(body)
	if err != nil {
		t.Fatal(err)
	}
	refs := []domain.MediaRef{{ID: imgMain, Role: domain.MediaMain}, {ID: imgInline, Role: domain.MediaInline}, {ID: other, Role: domain.MediaInline}}
	images := map[string]domain.Image{
		imgMain: {ID: imgMain, Alt: "Four ministers", Renditions: []domain.Rendition{
			{Name: "320", Width: 320, Height: 213, ContentType: "image/jpeg"},
			{Name: "800", Width: 800, Height: 533, ContentType: "image/jpeg"},
			{Name: "1600", Width: 1600, Height: 1066, ContentType: "image/jpeg"}}},
		imgInline: {ID: imgInline, Alt: `The "logo" & co`, Renditions: []domain.Rendition{{Name: "320", Width: 200, Height: 100, ContentType: "image/png"}}},
	}
	href := func(id, name string) string { return "https://news.example/public/v1/media/" + id + "/" + name }
	got := projections.ResolveImages(html, refs, images, href)
	for _, want := range []string{
		`<img src="https://news.example/public/v1/media/` + imgMain + `/800" srcset="https://news.example/public/v1/media/` + imgMain + `/320 320w, https://news.example/public/v1/media/` + imgMain + `/800 800w, https://news.example/public/v1/media/` + imgMain + `/1600 1600w" sizes="(max-width: 800px) 100vw, 800px" width="800" height="533" alt="Ministers at the table"`,
		// No alt in the Markdown: the image's own, escaped.
		`src="https://news.example/public/v1/media/` + imgInline + `/320" srcset="https://news.example/public/v1/media/` + imgInline + `/320 200w" sizes="(max-width: 800px) 100vw, 800px" width="200" height="100" alt="The &#34;logo&#34; &amp; co"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("ResolveImages = %s\nwant it to contain %s", got, want)
		}
	}
	for _, unwanted := range []string{"newsroom.invalid", other, "javascript", "<script"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("ResolveImages = %s\nholds %q", got, unwanted)
		}
	}
}
