package media

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strconv"
	"sync"

	_ "golang.org/x/image/webp" // registers WebP with image.Decode

	"github.com/newsroom/newsroom/domain"
)

// Formats decoded, by the name image.DecodeConfig gives, with their media types. Registering
// another decoder (a blank import anywhere in the binary) does not widen this list.
var formats = map[string]string{
	"jpeg": "image/jpeg",
	"png":  "image/png",
	"gif":  "image/gif",
	"webp": "image/webp",
}

// JPEGQuality is the quality renditions are encoded at.
const JPEGQuality = 85

// Image is an upload turned into renditions.
type Image struct {
	ContentType string // of the upload, as its bytes say
	Width       int    // upright, after the EXIF orientation
	Height      int
	Opaque      bool // no transparent pixel: renditions are JPEG, else PNG
	Renditions  []Encoded
}

// Encoded is one rendition and its bytes.
type Encoded struct {
	domain.Rendition
	Bytes []byte
}

// Header is what an image's header says, before any pixel is decoded.
type Header struct {
	ContentType   string
	Width, Height int // as stored, before orientation
}

// Inspect reads an image's header: its format and dimensions. It returns ErrUnsupported for
// anything but a JPEG, PNG, GIF or WebP header, and ErrTooManyPixels beyond MaxPixels.
func Inspect(r io.Reader) (Header, error) {
	cfg, format, err := image.DecodeConfig(r)
	if err != nil {
		return Header{}, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	ct, ok := formats[format]
	if !ok {
		return Header{}, fmt.Errorf("%w: %s", ErrUnsupported, format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return Header{}, fmt.Errorf("%w: %d×%d pixels, at most %d in all", ErrTooManyPixels, cfg.Width, cfg.Height, MaxPixels)
	}
	return Header{ContentType: ct, Width: cfg.Width, Height: cfg.Height}, nil
}

// Process reads an upload (a spooled file: it is read more than once, never held whole in
// memory), checks it (Inspect), decodes it once (a GIF's first frame), turns it upright and
// encodes the renditions: one per width in Widths, never upscaled (an image narrower than a
// width gets that rendition at its own width; renditions of equal size collapse into the
// first). Opaque images are encoded as JPEG, others as PNG (the standard library encodes no
// WebP, and neither does golang.org/x/image). The encoders write pixels only: no metadata of
// the upload survives.
//
// Memory at its peak: the decoded upload (1.5 to 4 bytes a pixel), its box reduction (RGBA, a
// whole factor smaller: 12 MB for a 12-megapixel photo), the resampler's intermediate image
// and the renditions' RGBA pixels and, transiently, their encoded bytes; the renditions' bytes
// stay for the caller.
func Process(r io.ReadSeeker) (Image, error) {
	h, err := Inspect(r)
	if err != nil {
		return Image{}, err
	}
	orientation := 1
	if h.ContentType == "image/jpeg" {
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return Image{}, err
		}
		orientation = jpegOrientation(r)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return Image{}, err
	}
	src, err := decode(r, h.ContentType)
	if err != nil {
		return Image{}, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	b := src.Bounds()
	if b.Dx() != h.Width || b.Dy() != h.Height {
		return Image{}, fmt.Errorf("%w: header says %d×%d, pixels are %d×%d", ErrUnsupported, h.Width, h.Height, b.Dx(), b.Dy())
	}
	out := Image{ContentType: h.ContentType, Width: h.Width, Height: h.Height, Opaque: opaque(src)}
	if transposes(orientation) {
		out.Width, out.Height = h.Height, h.Width
	}
	// Named from the smallest up, so that sizes that collapse keep the smallest name: an image
	// 500 pixels wide has renditions 320 and 800 (at 500), none called 1600.
	var plan []Encoded
	for _, target := range Widths {
		w := min(target, out.Width)
		h := max(1, int((int64(out.Height)*int64(w)+int64(out.Width)/2)/int64(out.Width)))
		if n := len(plan); n > 0 && plan[n-1].Width == w {
			continue
		}
		plan = append(plan, Encoded{Rendition: domain.Rendition{Name: strconv.Itoa(target), Width: w, Height: h}})
	}
	// Scaled from the largest down, each from the one before once the source is: the later
	// ones cost a fraction of the first, at a quality a good kernel keeps. Each is encoded as
	// soon as it is scaled, beside the scaling of the next (an encoder uses one processor).
	errs := make([]error, len(plan))
	var encoding sync.WaitGroup
	// The largest first, from the source: scaled as stored, then the small image turned
	// upright (turning the source would copy it whole). The source is not read after this
	// call, so the collector may take it (the largest thing held) while the rest is done.
	last := len(plan) - 1
	sw, sh := plan[last].Width, plan[last].Height
	if transposes(orientation) {
		sw, sh = sh, sw
	}
	prev := orient(scale(src, sw, sh), orientation)
	for i := last; i >= 0; i-- {
		upright := prev
		if i < last {
			upright = scale(prev, plan[i].Width, plan[i].Height)
		}
		prev = upright
		encoding.Go(func() {
			enc, err := encode(upright, out.Opaque)
			enc.Name = plan[i].Name
			plan[i], errs[i] = enc, err
		})
	}
	encoding.Wait()
	if err := errors.Join(errs...); err != nil {
		return Image{}, err
	}
	out.Renditions = plan
	return out, nil
}

func decode(r io.Reader, contentType string) (image.Image, error) {
	if contentType == "image/gif" {
		// The first frame only: renditions are still pictures.
		return gif.Decode(r)
	}
	img, _, err := image.Decode(r)
	return img, err
}

// opaque reports whether img has no pixel that is not fully opaque.
func opaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a != 0xffff {
				return false
			}
		}
	}
	return true
}

// scale returns src scaled to w×h: by box averaging down to less than twice the size (reduce),
// then with Catmull-Rom (a sharp cubic kernel, resample); an image of that size already is
// returned as it is, once in RGBA.
func scale(src image.Image, w, h int) *image.RGBA {
	k := min(src.Bounds().Dx()/w, src.Bounds().Dy()/h)
	rgba, ok := src.(*image.RGBA)
	if k >= 2 || !ok {
		rgba = reduce(src, max(k, 1))
	}
	if rgba.Bounds().Dx() == w && rgba.Bounds().Dy() == h {
		return rgba
	}
	return resample(rgba, w, h)
}

// encode writes img as JPEG when opaque, else PNG, and names its content hash as the object
// store does (ObjectInfo.Digest: "SHA-256=" and the URL-safe base64 of the hash).
func encode(img *image.RGBA, opaque bool) (Encoded, error) {
	var buf bytes.Buffer
	ct := "image/png"
	var err error
	if opaque {
		ct = "image/jpeg"
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: JPEGQuality})
	} else {
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img)
	}
	if err != nil {
		return Encoded{}, fmt.Errorf("encode %s: %w", ct, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return Encoded{Rendition: domain.Rendition{Width: img.Bounds().Dx(), Height: img.Bounds().Dy(), ContentType: ct,
		Digest: "SHA-256=" + base64.URLEncoding.EncodeToString(sum[:]), Size: int64(buf.Len())}, Bytes: buf.Bytes()}, nil
}

// IsRefusal reports whether err is the upload's fault (a bad or oversized file) rather than
// the server's.
func IsRefusal(err error) bool {
	return errors.Is(err, ErrUnsupported) || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrTooManyPixels)
}
