package media

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	xdraw "golang.org/x/image/draw"
)

// grainy is a w×h opaque image of gradients under grain, and a few hard edges (where a cubic
// kernel overshoots).
func grainy(w, h int) *image.RGBA {
	rng := rand.New(rand.NewPCG(3, 4))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			n := rng.IntN(32) - 16
			c := func(v int) uint8 { return uint8(max(0, min(255, v+n))) }
			v := x * 255 / w
			if (x/37+y/41)%5 == 0 {
				v = 255 - v // a block of the opposite shade: hard edges
			}
			img.SetRGBA(x, y, color.RGBA{R: c(v), G: c(y * 255 / h), B: c(128), A: 255})
		}
	}
	return img
}

// differences compares a and b channel by channel, leaving out a border of the given width
// (the kernels treat the edges of the image differently): the largest and the mean difference.
func differences(a, b *image.RGBA, border int) (largest int, mean float64) {
	r := a.Bounds().Inset(border)
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			pa, pb := a.Pix[a.PixOffset(x, y):a.PixOffset(x, y)+4], b.Pix[b.PixOffset(x, y):b.PixOffset(x, y)+4]
			for i := range pa {
				d := int(pa[i]) - int(pb[i])
				largest = max(largest, d, -d)
				mean += float64(max(d, -d))
				n++
			}
		}
	}
	return largest, mean / float64(n)
}

// TestResampleMatchesCatmullRom checks resample against golang.org/x/image/draw's CatmullRom,
// which it replaces: the same kernel, widened the same way when shrinking.
func TestResampleMatchesCatmullRom(t *testing.T) {
	for _, c := range []struct{ sw, sh, w, h int }{
		{2000, 1500, 1600, 1200}, // an upload's first rendition, after the box reduction
		{1000, 700, 400, 280},    // a 2.5× reduction, the kernel widened
		{1600, 1200, 800, 600},
		{801, 533, 320, 213},
		{300, 200, 299, 199},
	} {
		src := grainy(c.sw, c.sh)
		got := resample(src, c.w, c.h)
		want := image.NewRGBA(image.Rect(0, 0, c.w, c.h))
		xdraw.CatmullRom.Scale(want, want.Bounds(), src, src.Bounds(), xdraw.Src, nil)
		largest, mean := differences(got, want, 4)
		if largest > 3 || mean > 0.25 {
			t.Errorf("resample %d×%d → %d×%d: differs from x/image's CatmullRom by up to %d, %.3f on average; want ≤ 3, ≤ 0.25",
				c.sw, c.sh, c.w, c.h, largest, mean)
		}
	}
}

func TestResampleKeepsFlatAreasFlat(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 999, 777))
	for i := 0; i < len(src.Pix); i += 4 {
		src.Pix[i], src.Pix[i+1], src.Pix[i+2], src.Pix[i+3] = 200, 17, 255, 255
	}
	got := resample(src, 320, 249)
	for i := 0; i < len(got.Pix); i += 4 {
		if p := got.Pix[i : i+4]; p[0] != 200 || p[1] != 17 || p[2] != 255 || p[3] != 255 {
			t.Fatalf("pixel %d of a flat image = %v; want [200 17 255 255]", i/4, p)
		}
	}
}

// TestReduceYCbCrMatchesRGB checks that averaging a decoded JPEG's blocks as stored (luma and
// chroma) gives the colours that averaging their RGB gives, to rounding, for colours that
// stay in the RGB cube. (Near its faces they differ: where a block's pixels, converted one by
// one, are clamped to 0 or 255, the mean of the clamped colours is not the clamped colour of
// the means: a textured highlight comes out some levels brighter, as if not clipped.)
func TestReduceYCbCrMatchesRGB(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio444,
		image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio440} {
		// Luma 60..190 under grain, chroma within 20 of neutral: every pixel's RGB in 0..255.
		src := image.NewYCbCr(image.Rect(0, 0, 601, 403), ratio)
		for y := range 403 {
			for x := range 601 {
				src.Y[src.YOffset(x, y)] = uint8(60 + x*110/601 + rng.IntN(20))
				src.Cb[src.COffset(x, y)] = uint8(108 + y*40/403)
				src.Cr[src.COffset(x, y)] = uint8(108 + (x+y)*40/1004)
			}
		}
		for _, k := range []int{2, 3} {
			got := reduce(src, k)
			want := reduce(struct{ image.Image }{src}, k) // through At: RGB per pixel
			if got.Bounds() != want.Bounds() {
				t.Fatalf("ratio %v, k %d: bounds %v; want %v", ratio, k, got.Bounds(), want.Bounds())
			}
			largest, mean := differences(got, want, 0)
			if largest > 2 || mean > 0.6 {
				t.Errorf("ratio %v, k %d: the YCbCr mean differs from the RGB mean by up to %d, %.3f on average; want ≤ 2, ≤ 0.6",
					ratio, k, largest, mean)
			}
		}
	}
}

// TestReduceNRGBAMatchesAt checks reduce's own reading of a PNG with transparency against the
// colours image.Image's At gives (premultiplied).
func TestReduceNRGBAMatchesAt(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	src := image.NewNRGBA(image.Rect(0, 0, 301, 203))
	for i := range src.Pix {
		src.Pix[i] = uint8(rng.IntN(256))
	}
	for _, k := range []int{1, 2, 3} {
		got := reduce(src, k)
		want := reduce(struct{ image.Image }{src}, k)
		if largest, _ := differences(got, want, 0); largest != 0 {
			t.Errorf("k %d: differs from the colours At gives by up to %d; want 0", k, largest)
		}
	}
}
