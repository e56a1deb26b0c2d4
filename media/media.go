// Package media turns an uploaded file into the images newsroom serves: it checks what the
// bytes are by decoding them (never by the file's name or the client's Content-Type), refuses
// what is too large before reading it whole or decoding it, applies the EXIF orientation and
// re-encodes every rendition from pixels, so that nothing served carries the upload's metadata
// (EXIF with its GPS position, XMP, ICC profiles, PNG text chunks). It does no network or
// database I/O: the object store and the log are the caller's (store.go holds the object store).
package media

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Limits and sizes.
const (
	// DefaultMaxBytes is the largest upload accepted unless configured otherwise.
	DefaultMaxBytes = 20 << 20
	// MaxPixels bounds an image's width × height, read from its header before it is decoded:
	// a decoded image costs about 4 bytes a pixel (a 50-megapixel one 200 MB), and a small file
	// can claim any size (a decompression bomb).
	MaxPixels = 50_000_000
)

// Widths are the renditions' target widths; a rendition is named by its target width.
var Widths = []int{320, 800, 1600}

var (
	// ErrUnsupported: the bytes are not a JPEG, PNG, GIF or WebP image that decodes.
	ErrUnsupported = errors.New("not a JPEG, PNG, GIF or WebP image")
	// ErrTooLarge: the upload is longer than the limit.
	ErrTooLarge = errors.New("upload too large")
	// ErrTooManyPixels: the image's dimensions are beyond MaxPixels (or zero).
	ErrTooManyPixels = errors.New("image dimensions out of bounds")
)

// Spool copies r into a new temporary file in dir (the system's if ""), counting while it
// streams: past max bytes it stops, removes the file and returns ErrTooLarge, having read at
// most max+1 bytes of r. The caller closes and removes the file it returns (Discard does both).
func Spool(r io.Reader, dir string, max int64) (*os.File, int64, error) {
	f, err := os.CreateTemp(dir, "newsroom-upload-*")
	if err != nil {
		return nil, 0, fmt.Errorf("spool upload: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(r, max+1))
	if err == nil && n > max {
		err = fmt.Errorf("more than %d bytes: %w", max, ErrTooLarge)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		Discard(f)
		return nil, 0, err
	}
	return f, n, nil
}

// Discard closes and removes a file Spool returned.
func Discard(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}
