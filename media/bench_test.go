package media_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/newsroom/newsroom/media"
)

var (
	photoOnce sync.Once
	photo     []byte
)

// Photo is a 4000×3000 JPEG of about 5 MB: smooth gradients under grain, which compresses as
// a camera's picture does (a flat image would be a few hundred KB).
func Photo(tb testing.TB) []byte {
	tb.Helper()
	photoOnce.Do(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		img := image.NewRGBA(image.Rect(0, 0, 4000, 3000))
		for y := 0; y < 3000; y++ {
			for x := 0; x < 4000; x++ {
				n := int(rng.IntN(48)) - 24
				c := func(v int) uint8 { return uint8(max(0, min(255, v+n))) }
				img.SetRGBA(x, y, color.RGBA{R: c(x * 255 / 4000), G: c(y * 255 / 3000), B: c(128), A: 255})
			}
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 88}); err != nil {
			panic(err)
		}
		photo = b.Bytes()
	})
	return photo
}

// BenchmarkProcess5MB is an upload's processing (without the object store): a 5 MB, 12
// megapixel JPEG read from a spooled file, checked, decoded, and encoded as its renditions.
// alloc-MB/op is what one upload allocates in all (not its peak).
func BenchmarkProcess5MB(b *testing.B) {
	data := Photo(b)
	f, err := os.CreateTemp(b.TempDir(), "photo")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for range b.N {
		if _, err := f.Seek(0, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := media.Process(f); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/1e6, "alloc-MB/op")
	b.ReportMetric(float64(len(data))/1e6, "upload-MB")
}
