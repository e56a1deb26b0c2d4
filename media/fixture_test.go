package media_test

import (
	"bytes"
	"encoding/binary"
	"flag"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/gps.jpg")

// secret is in the fixture's EXIF and XMP text: no rendition may carry it.
const secret = "GPS-SECRET-50.8798N-4.4250E"

// GPSJPEG is a 1200×800 JPEG, stored on its side: its left half red, its right half blue, with
// EXIF orientation 6 (turn it a quarter clockwise to see it upright: 800×1200, red on top), a
// GPS block and an XMP packet. The EXIF segment is inserted after SOI, as cameras write it.
func GPSJPEG(tb testing.TB) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 1200, 800))
	for y := 0; y < 800; y++ {
		for x := 0; x < 1200; x++ {
			c := color.RGBA{R: 220, G: 20, B: 20, A: 255}
			if x >= 600 {
				c = color.RGBA{R: 20, G: 20, B: 220, A: 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var plain bytes.Buffer
	if err := jpeg.Encode(&plain, img, &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	out.Write(plain.Bytes()[:2]) // SOI
	out.Write(segment(0xE1, append([]byte("Exif\x00\x00"), exifTIFF(6)...)))
	out.Write(segment(0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><exif:GPSLatitude>"+secret+"</exif:GPSLatitude></x:xmpmeta>")))
	out.Write(plain.Bytes()[2:])
	return out.Bytes()
}

func segment(marker byte, payload []byte) []byte {
	b := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(len(payload)+2))
	return append(b, payload...)
}

// exifTIFF is a little-endian TIFF block: IFD0 with the orientation and a GPS IFD pointer;
// the GPS IFD with a latitude reference, a latitude (three rationals) and a processing method
// holding secret.
func exifTIFF(orientation uint16) []byte {
	le := binary.LittleEndian
	b := []byte("II*\x00\x08\x00\x00\x00")
	entry := func(tag, typ uint16, count, value uint32) {
		b = le.AppendUint16(b, tag)
		b = le.AppendUint16(b, typ)
		b = le.AppendUint32(b, count)
		b = le.AppendUint32(b, value)
	}
	// IFD0 at 8: 2 entries (2 + 24 + 4 bytes) → GPS IFD at 38.
	b = le.AppendUint16(b, 2)
	entry(0x0112, 3, 1, uint32(orientation))
	entry(0x8825, 4, 1, 38)
	b = le.AppendUint32(b, 0)
	// GPS IFD at 38: 3 entries (2 + 36 + 4) → data at 80.
	method := []byte(secret)
	b = le.AppendUint16(b, 3)
	entry(0x0001, 2, 2, uint32('N'))
	entry(0x0002, 5, 3, 80)
	entry(0x001B, 7, uint32(len(method)), 104)
	b = le.AppendUint32(b, 0)
	for _, r := range [][2]uint32{{50, 1}, {52, 1}, {4728, 100}} {
		b = le.AppendUint32(b, r[0])
		b = le.AppendUint32(b, r[1])
	}
	return append(b, method...)
}

// BombPNG is a PNG header claiming width × height pixels, and nothing after it.
func BombPNG(width, height uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, width)
	ihdr = binary.BigEndian.AppendUint32(ihdr, height)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8-bit RGBA
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(ihdr)))
	typed := append([]byte("IHDR"), ihdr...)
	chunk = append(chunk, typed...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(typed))
	return append([]byte("\x89PNG\r\n\x1a\n"), chunk...)
}

// The fixture in testdata is what GPSJPEG builds (the JPEG encoder is deterministic).
func TestFixture(t *testing.T) {
	built := GPSJPEG(t)
	if *update {
		if err := os.WriteFile("testdata/gps.jpg", built, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := os.ReadFile("testdata/gps.jpg")
	if err != nil {
		t.Fatalf("%v (write it with go test ./media -run TestFixture -update)", err)
	}
	if !bytes.Equal(stored, built) {
		t.Fatal("testdata/gps.jpg differs from what GPSJPEG builds; rewrite it with -update")
	}
	for _, s := range []string{"Exif", secret, "xmpmeta"} {
		if !bytes.Contains(stored, []byte(s)) {
			t.Fatalf("testdata/gps.jpg does not hold %q", s)
		}
	}
}
