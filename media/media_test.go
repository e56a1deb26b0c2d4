package media_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/newsroom/newsroom/media"
)

func pngOf(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// gradient is a w×h image with alpha a everywhere but the top left pixel, fully transparent
// when transparent is set.
func gradient(w, h int, transparent bool) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(x), G: uint8(y), B: 128, A: 255})
		}
	}
	if transparent {
		for y := 0; y < h/2; y++ {
			for x := 0; x < w/2; x++ {
				img.SetNRGBA(x, y, color.NRGBA{})
			}
		}
	}
	return img
}

func gifOf(tb testing.TB, w, h int) []byte {
	tb.Helper()
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
	for i := range img.Pix {
		img.Pix[i] = uint8(i % 2)
	}
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

type size struct {
	name, contentType string
	w, h              int
}

// Each format decodes, and its renditions have the expected sizes and types: never upscaled,
// collapsed sizes keep the smallest name, JPEG when opaque, PNG with transparency.
func TestProcess(t *testing.T) {
	tests := []struct {
		name        string
		data        []byte
		contentType string
		w, h        int
		want        []size
	}{
		{"opaque png", pngOf(t, gradient(2000, 1000, false)), "image/png", 2000, 1000, []size{
			{"320", "image/jpeg", 320, 160}, {"800", "image/jpeg", 800, 400}, {"1600", "image/jpeg", 1600, 800}}},
		{"transparent png", pngOf(t, gradient(1000, 600, true)), "image/png", 1000, 600, []size{
			{"320", "image/png", 320, 192}, {"800", "image/png", 800, 480}, {"1600", "image/png", 1000, 600}}},
		{"gif", gifOf(t, 100, 50), "image/gif", 100, 50, []size{{"320", "image/jpeg", 100, 50}}},
		{"jpeg turned upright", GPSJPEG(t), "image/jpeg", 800, 1200, []size{
			{"320", "image/jpeg", 320, 480}, {"800", "image/jpeg", 800, 1200}}},
		{"webp", readFile(t, "testdata/video-001.lossy.webp"), "image/webp", 150, 103, []size{{"320", "image/jpeg", 150, 103}}},
		{"webp with alpha", readFile(t, "testdata/yellow_rose.lossy-with-alpha.webp"), "image/webp", 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := media.Process(bytes.NewReader(tt.data))
			if err != nil {
				t.Fatalf("Process = %v", err)
			}
			if img.ContentType != tt.contentType {
				t.Errorf("ContentType = %q; want %q", img.ContentType, tt.contentType)
			}
			if tt.want == nil { // sizes of a file made elsewhere: its type is what matters
				if img.Opaque || img.Renditions[0].ContentType != "image/png" {
					t.Fatalf("renditions of a transparent WebP: opaque %v, %s; want PNG", img.Opaque, img.Renditions[0].ContentType)
				}
				return
			}
			if img.Width != tt.w || img.Height != tt.h {
				t.Errorf("size = %d×%d; want %d×%d", img.Width, img.Height, tt.w, tt.h)
			}
			var got []size
			for _, r := range img.Renditions {
				got = append(got, size{r.Name, r.ContentType, r.Width, r.Height})
				decoded, format, err := image.Decode(bytes.NewReader(r.Bytes))
				if err != nil {
					t.Fatalf("rendition %s does not decode: %v", r.Name, err)
				}
				if b := decoded.Bounds(); b.Dx() != r.Width || b.Dy() != r.Height || "image/"+format != r.ContentType {
					t.Errorf("rendition %s decodes as %s %d×%d; says %s %d×%d", r.Name, format, b.Dx(), b.Dy(), r.ContentType, r.Width, r.Height)
				}
				if r.Size != int64(len(r.Bytes)) || !strings.HasPrefix(r.Digest, "SHA-256=") {
					t.Errorf("rendition %s: size %d digest %q for %d bytes", r.Name, r.Size, r.Digest, len(r.Bytes))
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("renditions = %v; want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("rendition %d = %v; want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// Nothing of the upload's metadata is in a rendition: no EXIF segment, no GPS text, no XMP;
// and the picture is upright (red on top, as orientation 6 says).
func TestProcessStripsMetadata(t *testing.T) {
	img, err := media.Process(bytes.NewReader(readFile(t, "testdata/gps.jpg")))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range img.Renditions {
		for _, s := range []string{"Exif", secret, "GPS", "xmpmeta", "http://ns.adobe.com"} {
			if bytes.Contains(r.Bytes, []byte(s)) {
				t.Errorf("rendition %s holds %q", r.Name, s)
			}
		}
		decoded, err := jpeg.Decode(bytes.NewReader(r.Bytes))
		if err != nil {
			t.Fatal(err)
		}
		b := decoded.Bounds()
		top, bottom := decoded.At(b.Dx()/2, b.Dy()/8), decoded.At(b.Dx()/2, b.Dy()*7/8)
		if r, _, bl, _ := top.RGBA(); r < bl {
			t.Errorf("rendition %s: top is %v; want red (upright)", img.Renditions[0].Name, top)
		}
		if r, _, bl, _ := bottom.RGBA(); bl < r {
			t.Errorf("rendition %s: bottom is %v; want blue (upright)", img.Renditions[0].Name, bottom)
		}
	}
	// The transparency of a PNG survives, its metadata does not: the encoder writes no text.
	tr, err := media.Process(bytes.NewReader(pngOf(t, gradient(400, 400, true))))
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := png.Decode(bytes.NewReader(tr.Renditions[0].Bytes))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, a := decoded.At(1, 1).RGBA(); a != 0 {
		t.Errorf("transparent corner has alpha %d; want 0", a)
	}
}

// Every orientation turns a stored image upright.
func TestOrientations(t *testing.T) {
	// Upright, the picture is 3 wide and 2 high with a marked pixel at its top left. Stored
	// with each orientation, the mark sits where the EXIF specification puts it.
	stored := map[int]struct{ w, h, x, y int }{
		1: {3, 2, 0, 0}, 2: {3, 2, 2, 0}, 3: {3, 2, 2, 1}, 4: {3, 2, 0, 1},
		5: {2, 3, 0, 0}, 6: {2, 3, 0, 2}, 7: {2, 3, 1, 2}, 8: {2, 3, 1, 0},
	}
	for o, s := range stored {
		src := image.NewRGBA(image.Rect(0, 0, s.w, s.h))
		src.SetRGBA(s.x, s.y, color.RGBA{R: 255, A: 255})
		got := media.Orient(src, o)
		if b := got.Bounds(); b.Dx() != 3 || b.Dy() != 2 {
			t.Errorf("orientation %d: %d×%d; want 3×2", o, b.Dx(), b.Dy())
			continue
		}
		if got.RGBAAt(0, 0).R != 255 {
			t.Errorf("orientation %d: the mark is not at the top left", o)
		}
	}
}

// What is not an image, or is too large, is refused before it is decoded.
func TestRefusals(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"text named .jpg", []byte("Ministers met in Brussels.\nThis is not a picture.\n"), media.ErrUnsupported},
		{"empty", nil, media.ErrUnsupported},
		{"truncated jpeg", readFile(t, "testdata/gps.jpg")[:3000], media.ErrUnsupported},
		{"bomb: png header claiming 100000×100000", BombPNG(100000, 100000), media.ErrTooManyPixels},
		{"bomb: one row of 60 megapixels", BombPNG(60_000_000, 1), media.ErrTooManyPixels},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), media.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := media.Process(bytes.NewReader(tt.data))
			if !errors.Is(err, tt.want) || !media.IsRefusal(err) {
				t.Fatalf("Process = %v; want %v", err, tt.want)
			}
		})
	}
}

// countingReader counts what was read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// An upload past the limit is refused having read one byte past it, not the whole body.
func TestSpoolLimit(t *testing.T) {
	dir := t.TempDir()
	body := &countingReader{r: io.LimitReader(zeros{}, 10<<20)}
	_, _, err := media.Spool(body, dir, 1<<20)
	if !errors.Is(err, media.ErrTooLarge) {
		t.Fatalf("Spool(10 MiB, limit 1 MiB) = %v; want ErrTooLarge", err)
	}
	if body.n != 1<<20+1 {
		t.Errorf("read %d bytes; want %d", body.n, 1<<20+1)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left %d files behind", len(left))
	}
	f, n, err := media.Spool(bytes.NewReader([]byte("exactly")), dir, 7)
	if err != nil || n != 7 {
		t.Fatalf("Spool(7 bytes, limit 7) = %d, %v", n, err)
	}
	media.Discard(f)
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("Discard left %d files behind", len(left))
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
