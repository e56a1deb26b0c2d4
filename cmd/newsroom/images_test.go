package main

// Articles' images end to end: an image uploaded, attached as the main image and placed inline,
// refused publication until it has alt text, then shown to readers (public JSON, the public
// rendition, ninjs, feeds), and gone from every surface and from the object store after the
// article is killed.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"math/rand/v2"
	nethttp "net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsroom/newsroom/media"
	"github.com/newsroom/newsroom/sqldb/sqldbtest"
)

// noisePNG is a PNG of random pixels: its renditions' bytes are found nowhere else, so that a
// window of them can be searched for on disk.
func noisePNG(tb testing.TB, w, h int, seed uint64) []byte {
	tb.Helper()
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(rnd.Uint32())
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// renditionNeedle is a window of a rendition's bytes from its middle: distinctive, and what
// must be found on disk while the image lives and nowhere once it is erased.
func renditionNeedle(tb testing.TB, rendition []byte) []byte {
	tb.Helper()
	if len(rendition) < 4096 {
		tb.Fatalf("rendition of %d bytes: too small to take a distinctive window of", len(rendition))
	}
	mid := len(rendition) / 2
	return append([]byte(nil), rendition[mid:mid+64]...)
}

// bucketObjects lists the names of the objects in the images' bucket.
func bucketObjects(tb testing.TB, natsURL string) []string {
	tb.Helper()
	nc, js := connectNATS(tb, natsURL)
	defer nc.Close()
	ctx := context.Background()
	bucket, err := js.ObjectStore(ctx, media.Bucket)
	if err != nil {
		tb.Fatal(err)
	}
	infos, err := bucket.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	names := make([]string, len(infos))
	for i, o := range infos {
		names[i] = o.Name
	}
	return names
}

func TestImagesEndToEnd(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testImagesEndToEnd(t, "") })
	t.Run("postgres", func(t *testing.T) { testImagesEndToEnd(t, sqldbtest.PostgresURL(t)) })
}

func testImagesEndToEnd(t *testing.T, db string) {
	// Only invalidation can make a public answer current (an image described anew, a kill).
	defer func(was time.Duration) { publicCacheMaxAge = was }(publicCacheMaxAge)
	publicCacheMaxAge = time.Hour
	dir := t.TempDir()
	token := func(name, role string) string {
		if db != "" {
			return createTokenIn(t, db, name, role)
		}
		return createToken(t, dir, name, role)
	}
	rita, ed, eva, admin := token("rita", "reporter"), token("ed", "editor"), token("eva", "editor"), token("ada", "admin")
	ta := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: dir, DB: db, NATSListen: "127.0.0.1:0", NoSync: true})
	api := ta.base + "/api/v1/articles"

	// Uploaded without alt text: that is allowed, publishing is not.
	r := upload(t, ta.base, rita, "ministers.png", noisePNG(t, 900, 600, 17), map[string]string{
		"caption": "Ministers at the table", "credit": "Photo: NATO"})
	expectStatus(t, r, nethttp.StatusCreated, "upload")
	img := r.json(t)
	id := img["id"].(string)
	uploadedAt := r.header.Get("X-Newsroom-Position")
	desk := map[string][]byte{} // rendition name → the bytes the desk serves
	for _, x := range img["renditions"].([]any) {
		rd := x.(map[string]any)
		rr := call(t, "GET", ta.base+rd["href"].(string)+"?min_position="+uploadedAt, rita, nil)
		expectStatus(t, rr, nethttp.StatusOK, "GET "+rd["href"].(string))
		desk[rd["name"].(string)] = rr.body
	}
	if len(desk) != 3 {
		t.Fatalf("renditions %v; want 320, 800 and 1600 (at the image's own width, 900)", img["renditions"])
	}
	needle := renditionNeedle(t, desk["800"])

	// The desk's preview shows inline images at their desk renditions (the image is not public
	// yet); an image the media view does not hold is left out.
	r = call(t, "POST", ta.base+"/api/v1/preview", rita, map[string]any{
		"body": "Before.\n\n![The ministers](media:" + id + ")\n\n![gone](media:00000000-0000-4000-8000-000000000000)"})
	expectStatus(t, r, 200, "preview")
	previewed := r.json(t)["body_html"].(string)
	src := "/api/v1/media/" + id + "/renditions/800"
	if !strings.Contains(previewed, `src="`+src+`"`) || !strings.Contains(previewed, `alt="The ministers"`) ||
		strings.Count(previewed, "<img") != 1 || strings.Contains(previewed, "newsroom.invalid") {
		t.Fatalf("preview = %s; want one <img> at %s", previewed, src)
	}
	if rr := call(t, "GET", ta.base+src, rita, nil); rr.status != 200 || !bytes.Equal(rr.body, desk["800"]) {
		t.Fatalf("the preview's image %s answers %d", src, rr.status)
	}

	r = call(t, "POST", api, rita, map[string]any{"headline": "Ministers meet in Brussels",
		"body":  "The ministers met.\n\n![x](media:" + id + ")\n\nThey agreed.",
		"media": []map[string]any{{"id": id, "role": "main"}}})
	expectStatus(t, r, nethttp.StatusCreated, "draft with the image")
	article := r.json(t)["id"].(string)
	expectStatus(t, call(t, "POST", api+"/"+article+"/submit", rita, nil), 200, "submit")
	expectStatus(t, call(t, "POST", api+"/"+article+"/approve", ed, nil), 200, "approve")

	r = call(t, "POST", api+"/"+article+"/publish", eva, nil)
	expectStatus(t, r, nethttp.StatusUnprocessableEntity, "publish with an image without alt text")
	if p := r.json(t); !strings.HasSuffix(p["type"].(string), "/missing-alt") || !strings.Contains(string(r.body), id) {
		t.Fatalf("publish refused with %s; want missing-alt naming %s", r.body, id)
	}

	r = call(t, "PATCH", ta.base+"/api/v1/media/"+id, rita, map[string]any{"alt": "Ministers around a table"}, "If-Match", `"1"`)
	expectStatus(t, r, nethttp.StatusOK, "PATCH the image's alt")
	// The desk's check reads the media view: publish once it has the description.
	described := r.header.Get("X-Newsroom-Position")
	eventually(t, "the media view has the alt text", func() bool {
		return call(t, "GET", ta.base+"/api/v1/media/"+id+"?min_position="+described, rita, nil).json(t)["alt"] == "Ministers around a table"
	})
	r = call(t, "POST", api+"/"+article+"/publish", eva, nil)
	expectStatus(t, r, nethttp.StatusOK, "publish once the image has its alt text")
	slug := r.json(t)["slug"].(string)

	// The public article: its image with absolute renditions, the inline one resolved (its alt
	// text the body's own).
	var pub map[string]any
	eventually(t, "the article public", func() bool {
		r = call(t, "GET", ta.base+"/public/v1/articles/"+slug, "", nil)
		if r.status != 200 {
			return false
		}
		pub = r.json(t)
		return true
	})
	images, _ := pub["media"].([]any)
	if len(images) != 1 {
		t.Fatalf("public article media = %v; want the main image", pub["media"])
	}
	main := images[0].(map[string]any)
	if main["id"] != id || main["role"] != "main" || main["alt"] != "Ministers around a table" || main["caption"] != "Ministers at the table" {
		t.Fatalf("public image = %v", main)
	}
	public := map[string]string{} // rendition name → public href
	var types []string            // the renditions' content types
	for _, x := range main["renditions"].([]any) {
		rd := x.(map[string]any)
		href := rd["href"].(string)
		if !strings.HasPrefix(href, ta.base+"/public/v1/media/"+id+"/") {
			t.Fatalf("public rendition href %q; want an absolute URL under %s/public/v1/media/%s/", href, ta.base, id)
		}
		public[href[strings.LastIndex(href, "/")+1:]] = href
		types = append(types, rd["contenttype"].(string))
	}
	if len(public) != len(desk) {
		t.Fatalf("public renditions %v; want as many as the desk's (%d)", public, len(desk))
	}
	if body := pub["body_html"].(string); !strings.Contains(body, `src="`+public["800"]+`"`) || !strings.Contains(body, `alt="x"`) ||
		!strings.Contains(body, "srcset=") {
		t.Fatalf("public body_html does not show the inline image at its public renditions: %s", body)
	}
	// Caches keep a public image no longer than the article showing it, so that a kill takes
	// both off them within the same bound; an address naming the content earns nothing more.
	articleCache := r.header.Get("Cache-Control")
	if !strings.HasPrefix(articleCache, "public, max-age=") {
		t.Fatalf("the public article's Cache-Control = %q; want public, max-age", articleCache)
	}
	for name, href := range public {
		rr := call(t, "GET", href, "", nil)
		expectStatus(t, rr, nethttp.StatusOK, "GET "+href)
		if !bytes.Equal(rr.body, desk[name]) {
			t.Fatalf("public rendition %s: %d bytes, not the %d the desk serves", name, len(rr.body), len(desk[name]))
		}
		digest := strings.TrimPrefix(strings.Trim(rr.header.Get("ETag"), `"`), "SHA-256=")
		for _, addr := range []string{href, href + "?v=" + url.QueryEscape(digest[:12])} {
			if got := call(t, "GET", addr, "", nil).header.Get("Cache-Control"); got != articleCache {
				t.Errorf("GET %s: Cache-Control = %q; want the article's, %q", addr, got, articleCache)
			}
		}
		if rr := call(t, "GET", href, "", nil, "If-None-Match", rr.header.Get("ETag")); rr.status != nethttp.StatusNotModified {
			t.Errorf("GET %s with its ETag = %d; want 304", href, rr.status)
		}
	}

	// The public page: the main image with its renditions and size, og:image, twitter:image
	// and schema.org's image at the widest rendition; the inline image resolved.
	page := getHTMLPage(t, ta.base+"/news/"+slug)
	wantFigure := `<figure class="main-image"><img src="` + public["800"] + `" srcset="` + public["320"] + ` 320w, ` + public["800"] +
		` 800w, ` + public["1600"] + ` 900w" sizes="`
	if !strings.Contains(page, wantFigure) || !strings.Contains(page, `width="800" height="533" alt="Ministers around a table"`) ||
		!strings.Contains(page, `<figcaption>Ministers at the table <span class="credit">Photo: NATO</span></figcaption>`) {
		t.Fatalf("the page's main image is not %s… with its size, alt and caption:\n%s", wantFigure, page)
	}
	for _, meta := range []string{
		`<meta property="og:image" content="` + public["1600"] + `">`,
		`<meta property="og:image:width" content="900">`,
		`<meta property="og:image:height" content="600">`,
		`<meta property="og:image:alt" content="Ministers around a table">`,
		`<meta name="twitter:card" content="summary_large_image">`,
		`<meta name="twitter:image" content="` + public["1600"] + `">`,
		`<img src="` + public["800"] + `" srcset=`, // the inline one
	} {
		if !strings.Contains(page, meta) {
			t.Errorf("the page lacks %s:\n%s", meta, page)
		}
	}
	var ld struct {
		Image struct {
			Type          string `json:"@type"`
			URL           string `json:"url"`
			Width, Height int
		} `json:"image"`
	}
	if err := json.Unmarshal([]byte(scriptText(t, page)), &ld); err != nil || ld.Image.Type != "ImageObject" || ld.Image.URL != public["1600"] ||
		ld.Image.Width != 900 || ld.Image.Height != 600 {
		t.Errorf("the page's JSON-LD image = %+v (%v); want an ImageObject at %s, 900×600", ld.Image, err, public["1600"])
	}

	// A new caption of the image changes no article's events, yet readers see it at once: the
	// media view's commit invalidates the public answers of the articles showing the image.
	// Once every view has committed what it will, a read is kept in the cache.
	waitCaughtUp(t, ta.base, admin)
	expectStatus(t, call(t, "GET", ta.base+"/public/v1/articles/"+slug, "", nil), 200, "the public article, cached")
	r = call(t, "PATCH", ta.base+"/api/v1/media/"+id, rita, map[string]any{"caption": "Ministers at the NAC table"}, "If-Match", `"2"`)
	expectStatus(t, r, nethttp.StatusOK, "PATCH the image's caption")
	eventually(t, "the public article shows the new caption", func() bool {
		r := call(t, "GET", ta.base+"/public/v1/articles/"+slug, "", nil)
		return r.status == 200 && strings.Contains(string(r.body), `"caption":"Ministers at the NAC table"`)
	})
	eventually(t, "the page shows the new caption", func() bool {
		return strings.Contains(getHTMLPage(t, ta.base+"/news/"+slug), "<figcaption>Ministers at the NAC table")
	})

	// Subscribers: the ninjs carries the image as an association, valid against the schema.
	msgs := publicMessages(t, ta.natsURL, 1)
	var ninjs map[string]any
	if err := json.Unmarshal(msgs[0].Data(), &ninjs); err != nil {
		t.Fatal(err)
	}
	if err := ninjsSchema(t).Validate(ninjs); err != nil {
		t.Fatalf("published ninjs does not validate: %v\n%s", err, msgs[0].Data())
	}
	assoc, _ := ninjs["associations"].([]any)
	if len(assoc) != 1 {
		t.Fatalf("ninjs associations = %v; want the main image", ninjs["associations"])
	}
	pic := assoc[0].(map[string]any)
	rends, _ := pic["renditions"].([]any)
	if pic["name"] != "main" || pic["uri"] != "urn:uuid:"+id || len(rends) != len(desk) ||
		rends[1].(map[string]any)["href"] != public["800"] {
		t.Fatalf("ninjs association = %v; want main, urn:uuid:%s, renditions at %v", pic, id, public)
	}
	if !strings.Contains(string(msgs[0].Data()), `src=\"`+public["800"]) {
		t.Fatalf("ninjs body does not show the inline image at its public rendition: %s", msgs[0].Data())
	}

	// Feeds carry the main image.
	atom := call(t, "GET", ta.base+"/public/v1/feeds/atom.xml", "", nil)
	expectStatus(t, atom, 200, "Atom feed")
	if !strings.Contains(string(atom.body), `rel="enclosure" type="`+types[1]+`" href="`+public["800"]+`"`) {
		t.Errorf("Atom feed has no enclosure of the main image (%s):\n%s", public["800"], atom.body)
	}
	if !strings.Contains(string(atom.body), `src=&#34;`+public["800"]) || strings.Contains(string(atom.body), "newsroom.invalid") {
		t.Errorf("Atom feed does not show the inline image at its public rendition:\n%s", atom.body)
	}
	feed := call(t, "GET", ta.base+"/public/v1/feeds/feed.json", "", nil)
	expectStatus(t, feed, 200, "JSON Feed")
	items, _ := feed.json(t)["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["image"] != public["800"] {
		t.Errorf("JSON Feed items = %v; want one with image %s", items, public["800"])
	}

	if !bytes.Contains(filesUnder(t, dir), needle) {
		t.Fatalf("the data directory does not hold the rendition's bytes: the search for them cannot work")
	}

	// Kill: the image leaves every public surface, and the object store.
	r = call(t, "POST", api+"/"+article+"/kill", ed, map[string]any{"reason": "Court order 12/2026"})
	expectStatus(t, r, 200, "kill")
	eventually(t, "the public article gone", func() bool {
		return call(t, "GET", ta.base+"/public/v1/articles/"+slug, "", nil).status == nethttp.StatusGone
	})
	for _, href := range public {
		eventually(t, "the public rendition gone", func() bool {
			s := call(t, "GET", href, "", nil).status
			return s == nethttp.StatusNotFound || s == nethttp.StatusGone
		})
	}
	eventually(t, "the image erased", func() bool {
		return call(t, "GET", ta.base+"/api/v1/media/"+id, rita, nil).status == nethttp.StatusGone
	})
	eventually(t, "the image's objects deleted", func() bool {
		for _, name := range bucketObjects(t, ta.natsURL) {
			if strings.HasPrefix(name, id+"/") {
				return false
			}
		}
		return true
	})
	for name := range desk {
		expectStatus(t, call(t, "GET", ta.base+"/api/v1/media/"+id+"/renditions/"+name, rita, nil), nethttp.StatusGone, "the desk's rendition after the erasure")
	}
	expectStatus(t, call(t, "GET", ta.base+"/news/"+slug, "", nil), nethttp.StatusGone, "the killed article's page")
	for _, path := range []string{"/public/v1/feeds/atom.xml", "/public/v1/feeds/feed.json"} {
		if r := call(t, "GET", ta.base+path, "", nil); strings.Contains(string(r.body), id) {
			t.Errorf("%s still names the image after the kill:\n%s", path, r.body)
		}
	}
	checkNoBytes(t, "the data directory", filesUnder(t, dir), needle)
	ta.Close()
	checkNoBytes(t, "the data directory after a stop", filesUnder(t, dir), needle)
}

// TestImageDescriptionMovesPublicAnswers: a new caption, credit and alt text of a published
// article's image change no article's version, yet its public JSON, page and feeds show them:
// each answer is dropped from every public cache and comes back with a new ETag, so that a
// client or shared cache revalidating with the old one gets the new answer, not a 304.
func TestImageDescriptionMovesPublicAnswers(t *testing.T) {
	// Only invalidation can make a public answer current.
	defer func(was time.Duration) { publicCacheMaxAge = was }(publicCacheMaxAge)
	publicCacheMaxAge = time.Hour
	dir := t.TempDir()
	rita, ed, admin := createToken(t, dir, "rita", "reporter"), createToken(t, dir, "ed", "editor"), createToken(t, dir, "ada", "admin")
	ta := startTestAppWith(t, config{HTTP: "127.0.0.1:0", DataDir: dir, NATSListen: "127.0.0.1:0", NoSync: true})

	r := upload(t, ta.base, rita, "ministers.png", noisePNG(t, 400, 300, 5), map[string]string{
		"caption": "Ministers at the table", "credit": "Photo: NATO", "alt": "Ministers seated"})
	expectStatus(t, r, nethttp.StatusCreated, "upload")
	id := r.json(t)["id"].(string)
	expectStatus(t, call(t, "GET", ta.base+"/api/v1/media/"+id+"?min_position="+r.header.Get("X-Newsroom-Position"), rita, nil), 200, "the image in the media view")
	// The inline image has no alt text of its own: the feeds show the image's.
	_, slug := publishedArticle(t, ta.base, rita, ed, map[string]any{"headline": "Ministers meet in Brussels",
		"body": "The ministers met.\n\n![](media:" + id + ")", "media": []map[string]any{{"id": id, "role": "main"}}})
	waitCaughtUp(t, ta.base, admin)

	paths := []string{"/public/v1/articles/" + slug, "/news/" + slug, "/public/v1/feeds/atom.xml", "/public/v1/feeds/feed.json"}
	before := map[string]string{} // path → ETag
	for _, path := range paths {
		r := call(t, "GET", ta.base+path, "", nil)
		expectStatus(t, r, 200, "GET "+path)
		if !strings.Contains(string(r.body), "Ministers seated") {
			t.Fatalf("GET %s does not show the image's alt text:\n%s", path, r.body)
		}
		before[path] = r.header.Get("ETag")
		// Kept in the public cache from now on: only an invalidation drops it.
		expectStatus(t, call(t, "GET", ta.base+path, "", nil, "If-None-Match", before[path]), nethttp.StatusNotModified, "GET "+path+" with its ETag")
	}

	r = call(t, "PATCH", ta.base+"/api/v1/media/"+id, rita, map[string]any{
		"alt": "Ministers standing", "caption": "Ministers in Brussels", "credit": "Photo: NATO/Smith"}, "If-Match", `"1"`)
	expectStatus(t, r, 200, "PATCH the image")
	eventually(t, "the public article shows the new alt text", func() bool {
		return strings.Contains(string(call(t, "GET", ta.base+paths[0], "", nil).body), "Ministers standing")
	})
	for _, path := range paths {
		r := call(t, "GET", ta.base+path, "", nil, "If-None-Match", before[path])
		if r.status != 200 || r.header.Get("ETag") == before[path] || !strings.Contains(string(r.body), "Ministers standing") {
			t.Errorf("GET %s with the ETag it had before the image was described anew = %d, ETag %s (was %s); want 200, a new ETag, the new alt text:\n%s",
				path, r.status, r.header.Get("ETag"), before[path], r.body)
		}
	}
	for _, path := range paths[:2] { // the JSON and the page show the caption and credit too
		if body := string(call(t, "GET", ta.base+path, "", nil).body); !strings.Contains(body, "Ministers in Brussels") || !strings.Contains(body, "Photo: NATO/Smith") {
			t.Errorf("GET %s does not show the new caption and credit:\n%s", path, body)
		}
	}
}
