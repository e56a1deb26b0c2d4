package media

import (
	"image"
	"math"
	"runtime"
	"sync"
)

// resample returns src scaled to w×h with the Catmull-Rom kernel, widened by the reduction
// when it shrinks (so that every source pixel counts: no aliasing), as golang.org/x/image/draw's
// CatmullRom does. It computes in 14-bit fixed point with the weights of each output pixel
// computed once, in two passes (across, then down) through an 8-bit intermediate image,
// each pass split in bands of rows over the processors: x/image's generic float64 code with
// its 32-bytes-a-pixel intermediate took a third of an upload's time, and 77 MB of it.
// src holds premultiplied colour (image.RGBA); so does the result.
func resample(src *image.RGBA, w, h int) *image.RGBA {
	sb := src.Bounds()
	across := kernelWeights(sb.Dx(), w)
	down := kernelWeights(sb.Dy(), h)
	// The pass across leaves 16-bit values with extraBits below the 8 bits, not clamped: the
	// kernel's overshoot at an edge is the pass down's to undo, as in x/image's float64.
	stride := 4 * w
	tmp := make([]int16, stride*sb.Dy())
	inBands(sb.Dy(), func(y0, y1 int) {
		const shift, half = weightBits - extraBits, 1 << (weightBits - extraBits - 1)
		for y := y0; y < y1; y++ {
			in := src.Pix[src.PixOffset(sb.Min.X, sb.Min.Y+y):]
			out := tmp[y*stride : y*stride+stride]
			for x := range w {
				var r, g, b, a int32
				lo := across.start[x]
				for j, wt := range across.taps(x) {
					p := in[4*(lo+j) : 4*(lo+j)+4 : 4*(lo+j)+4]
					r += wt * int32(p[0])
					g += wt * int32(p[1])
					b += wt * int32(p[2])
					a += wt * int32(p[3])
				}
				o := out[4*x : 4*x+4 : 4*x+4]
				o[0], o[1], o[2], o[3] = int16((r+half)>>shift), int16((g+half)>>shift), int16((b+half)>>shift), int16((a+half)>>shift)
			}
		}
	})
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	inBands(h, func(y0, y1 int) {
		sums := make([]int32, stride)
		for y := y0; y < y1; y++ {
			clear(sums)
			lo := down.start[y]
			for j, wt := range down.taps(y) {
				for i, v := range tmp[(lo+j)*stride : (lo+j)*stride+stride] {
					sums[i] += wt * int32(v)
				}
			}
			out := dst.Pix[y*dst.Stride : y*dst.Stride+stride]
			for x := 0; x < stride; x += 4 {
				storePixel(out[x:x+4:x+4], sums[x], sums[x+1], sums[x+2], sums[x+3])
			}
		}
	})
	return dst
}

// weightBits is the fixed-point precision of the weights, extraBits that of the intermediate
// values: 12-bit values (under 2^13 with the overshoot) times weights whose absolute values sum
// to under 1.5 stay inside an int32.
const (
	weightBits = 14
	extraBits  = 4
)

// storePixel rounds sums of weighted values to 8 bits, clamped to 0..255 (the kernel's
// negative lobes overshoot at edges), colour at most alpha (premultiplied).
func storePixel(p []uint8, r, g, b, a int32) {
	const shift, half = weightBits + extraBits, 1 << (weightBits + extraBits - 1)
	av := clamp8((a + half) >> shift)
	p[0] = min(clamp8((r+half)>>shift), av)
	p[1] = min(clamp8((g+half)>>shift), av)
	p[2] = min(clamp8((b+half)>>shift), av)
	p[3] = av
}

func clamp8(v int32) uint8 {
	return uint8(max(0, min(255, v)))
}

// weights are, for each output position, the first input position it reads and the weights of
// the inputs from there (n slots each, the unused ones zero).
type weights struct {
	start []int
	count []int
	n     int
	w     []int32
}

func (ws *weights) taps(i int) []int32 { return ws.w[i*ws.n : i*ws.n+ws.count[i]] }

// kernelWeights maps srcLen input positions onto dstLen outputs: output i is centred on
// (i+0.5)·srcLen/dstLen in the input, and reads the kernel's support (2 input pixels either
// side, times the reduction when it shrinks). Each output's weights sum to exactly 1.
func kernelWeights(srcLen, dstLen int) weights {
	scale := float64(srcLen) / float64(dstLen)
	stretch := max(scale, 1)
	support := 2 * stretch
	n := int(math.Ceil(support))*2 + 1
	ws := weights{start: make([]int, dstLen), count: make([]int, dstLen), n: n, w: make([]int32, dstLen*n)}
	f := make([]float64, n)
	for i := range dstLen {
		center := (float64(i) + 0.5) * scale
		lo := max(0, int(math.Floor(center-support+0.5)))
		hi := min(srcLen, int(math.Ceil(center+support-0.5))+1, lo+n)
		sum := 0.0
		for j := lo; j < hi; j++ {
			f[j-lo] = catmullRom((float64(j) + 0.5 - center) / stretch)
			sum += f[j-lo]
		}
		out := ws.w[i*n : i*n+(hi-lo)]
		total, largest := int32(0), 0
		for j := range out {
			out[j] = int32(math.Round(f[j] / sum * (1 << weightBits)))
			total += out[j]
			if out[j] > out[largest] {
				largest = j
			}
		}
		out[largest] += 1<<weightBits - total // rounding: a flat area stays exactly flat
		ws.start[i], ws.count[i] = lo, hi-lo
	}
	return ws
}

// catmullRom is the cubic kernel with a = -0.5.
func catmullRom(t float64) float64 {
	t = math.Abs(t)
	switch {
	case t < 1:
		return (1.5*t-2.5)*t*t + 1
	case t < 2:
		return ((-0.5*t+2.5)*t-4)*t + 2
	}
	return 0
}

// inBands calls fn for contiguous bands of rows 0..rows-1, one band per processor, in parallel.
func inBands(rows int, fn func(y0, y1 int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, rows/16))
	if workers <= 1 {
		fn(0, rows)
		return
	}
	var wg sync.WaitGroup
	for i := range workers {
		y0, y1 := rows*i/workers, rows*(i+1)/workers
		wg.Go(func() { fn(y0, y1) })
	}
	wg.Wait()
}
