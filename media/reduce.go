package media

import (
	"image"
	"image/color"
)

// reduce returns src shrunk by the whole factor k (≥ 2), each output pixel the mean of a k×k
// block (premultiplied, so transparent pixels do not darken their neighbours). It is the cheap
// first step of a large downscale: a cubic kernel scaling a 4000-pixel-wide photo to 1600
// reads 10 source pixels per output pixel per pass, the box reads each source pixel once, and
// what is left for the kernel is a factor under 2. Area averaging is what a good downscaler
// does anyway: no aliasing, no lost detail at the target size.
func reduce(src image.Image, k int) *image.RGBA {
	b := src.Bounds()
	w, h := b.Dx()/k, b.Dy()/k
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	n := uint32(k * k)
	sums := make([]uint32, 4*w)
	for oy := 0; oy < h; oy++ {
		clear(sums)
		for y := b.Min.Y + oy*k; y < b.Min.Y+(oy+1)*k; y++ {
			addRow(sums, src, b.Min.X, y, w, k)
		}
		row := dst.Pix[oy*dst.Stride : oy*dst.Stride+4*w]
		for i := range row {
			row[i] = uint8((sums[i] + n/2) / n)
		}
	}
	return dst
}

// addRow adds row y of src, k pixels to an output pixel, to sums (RGBA, 8 bits each).
func addRow(sums []uint32, src image.Image, x0, y, w, k int) {
	switch s := src.(type) {
	case *image.YCbCr:
		yi := s.YOffset(x0, y)
		for ox := 0; ox < w; ox++ {
			o := sums[4*ox : 4*ox+4]
			for x := x0 + ox*k; x < x0+(ox+1)*k; x++ {
				ci := s.COffset(x, y)
				r, g, bl := color.YCbCrToRGB(s.Y[yi+x-x0], s.Cb[ci], s.Cr[ci])
				o[0] += uint32(r)
				o[1] += uint32(g)
				o[2] += uint32(bl)
				o[3] += 255
			}
		}
	case *image.RGBA:
		p := s.Pix[s.PixOffset(x0, y):]
		for ox := 0; ox < w; ox++ {
			o := sums[4*ox : 4*ox+4]
			for i := ox * k * 4; i < (ox+1)*k*4; i += 4 {
				o[0] += uint32(p[i])
				o[1] += uint32(p[i+1])
				o[2] += uint32(p[i+2])
				o[3] += uint32(p[i+3])
			}
		}
	default:
		for ox := 0; ox < w; ox++ {
			o := sums[4*ox : 4*ox+4]
			for x := x0 + ox*k; x < x0+(ox+1)*k; x++ {
				r, g, bl, a := src.At(x, y).RGBA() // premultiplied, 16 bits
				o[0] += r >> 8
				o[1] += g >> 8
				o[2] += bl >> 8
				o[3] += a >> 8
			}
		}
	}
}
