package media_test

import (
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/newsroom/newsroom/bench"
	"github.com/newsroom/newsroom/media"
)

// photo is a 4000×3000 JPEG of about 5 MB, made once: the benchmark function runs several times.
var photo = sync.OnceValues(func() ([]byte, error) { return bench.Photo(4000, 3000) })

// BenchmarkProcess5MB is an upload's processing (without the object store): a 5 MB, 12
// megapixel JPEG read from a spooled file, checked, decoded, and encoded as its renditions.
// alloc-MB/op is what one upload allocates in all (not its peak).
func BenchmarkProcess5MB(b *testing.B) {
	data, err := photo()
	if err != nil {
		b.Fatal(err)
	}
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
