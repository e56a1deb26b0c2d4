package media

import (
	"image"
	"image/color"
)

// reduce returns src shrunk by the whole factor k (≥ 1; 1 converts to RGBA), each output
// pixel the mean of a k×k block (premultiplied, so that transparent pixels do not darken their
// neighbours). It is the cheap first step of a large downscale: a cubic kernel scaling a
// 4000-pixel-wide photo to 1600 reads 10 source pixels per output pixel per pass, the box
// reads each source pixel once, and what is left for the kernel is a factor under 2. Area
// averaging is what a good downscaler does anyway: no aliasing, no lost detail at the target
// size. Bands of rows run in parallel.
func reduce(src image.Image, k int) *image.RGBA {
	b := src.Bounds()
	w, h := b.Dx()/k, b.Dy()/k
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if s, ok := src.(*image.YCbCr); ok {
		inBands(h, func(y0, y1 int) { reduceYCbCr(dst, s, k, y0, y1) })
		return dst
	}
	inBands(h, func(y0, y1 int) {
		n := uint32(k * k)
		sums := make([]uint32, 4*w)
		for oy := y0; oy < y1; oy++ {
			clear(sums)
			for y := b.Min.Y + oy*k; y < b.Min.Y+(oy+1)*k; y++ {
				addRow(sums, src, b.Min.X, y, w, k)
			}
			row := dst.Pix[oy*dst.Stride : oy*dst.Stride+4*w]
			for i := range row {
				row[i] = uint8((sums[i] + n/2) / n)
			}
		}
	})
	return dst
}

// reduceYCbCr is reduce's rows y0..y1-1 of a decoded JPEG: the blocks are averaged as they
// are stored, luma and chroma, and only the mean is turned into RGB. The conversion is affine,
// so the mean of the colours is the colour of the means (to rounding), at a k² fraction of
// the conversions (a 12-megapixel photo's decoding left 12 million of them to do).
func reduceYCbCr(dst *image.RGBA, s *image.YCbCr, k, y0, y1 int) {
	b := s.Bounds()
	xdiv, ydiv := chromaDivisors(s.SubsampleRatio)
	w := dst.Bounds().Dx()
	n := k * k
	// The chroma column of each luma column, computed once: a division per sample cost more
	// than the rest of the loop.
	cx := make([]int32, w*k)
	for i := range cx {
		cx[i] = int32((b.Min.X+i)/xdiv - b.Min.X/xdiv)
	}
	for oy := y0; oy < y1; oy++ {
		out := dst.Pix[oy*dst.Stride : oy*dst.Stride+4*w]
		for ox := range w {
			x0, yTop := b.Min.X+ox*k, b.Min.Y+oy*k
			var ys, cbs, crs int
			for y := yTop; y < yTop+k; y++ {
				yi := (y-b.Min.Y)*s.YStride + (x0 - b.Min.X)
				for _, v := range s.Y[yi : yi+k] {
					ys += int(v)
				}
				crow := (y/ydiv - b.Min.Y/ydiv) * s.CStride
				for _, c := range cx[ox*k : ox*k+k] {
					cbs += int(s.Cb[crow+int(c)])
					crs += int(s.Cr[crow+int(c)])
				}
			}
			r, g, bl := color.YCbCrToRGB(uint8((ys+n/2)/n), uint8((cbs+n/2)/n), uint8((crs+n/2)/n))
			p := out[4*ox : 4*ox+4 : 4*ox+4]
			p[0], p[1], p[2], p[3] = r, g, bl, 255
		}
	}
}

// premultiply is c·a/255 as color.NRGBA.RGBA computes it, in 8 bits.
func premultiply(c uint8, a uint32) uint32 {
	c16 := uint32(c) | uint32(c)<<8
	a16 := a | a<<8
	return (c16 * a16 / 0xffff) >> 8
}

// chromaDivisors are how many luma samples, across and down, share one chroma sample.
func chromaDivisors(r image.YCbCrSubsampleRatio) (x, y int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 2, 1
	case image.YCbCrSubsampleRatio420:
		return 2, 2
	case image.YCbCrSubsampleRatio440:
		return 1, 2
	case image.YCbCrSubsampleRatio411:
		return 4, 1
	case image.YCbCrSubsampleRatio410:
		return 4, 2
	}
	return 1, 1
}

// addRow adds row y of src, k pixels to an output pixel, to sums (RGBA, 8 bits each).
func addRow(sums []uint32, src image.Image, x0, y, w, k int) {
	switch s := src.(type) {
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
	case *image.NRGBA: // a PNG with transparency: premultiplied here, as At would, without its interface call
		p := s.Pix[s.PixOffset(x0, y):]
		for ox := 0; ox < w; ox++ {
			o := sums[4*ox : 4*ox+4]
			for i := ox * k * 4; i < (ox+1)*k*4; i += 4 {
				a := uint32(p[i+3])
				o[0] += premultiply(p[i], a)
				o[1] += premultiply(p[i+1], a)
				o[2] += premultiply(p[i+2], a)
				o[3] += a
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
