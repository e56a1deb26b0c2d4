package bench

import (
	"bytes"
	"image"
	"image/jpeg"
	"math/rand/v2"
)

// Photo returns a w×h JPEG that compresses as a camera's picture does: smooth gradients under
// grain (a flat image would be a few hundred KB where a 12-megapixel photo is 4 to 5 MB). The
// same size always gives the same bytes.
func Photo(w, h int) ([]byte, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	clamp := func(v int) uint8 { return uint8(max(0, min(255, v))) }
	for y := range h {
		row := img.Pix[y*img.Stride:]
		for x := range w {
			n := rng.IntN(48) - 24
			p := row[4*x : 4*x+4]
			p[0], p[1], p[2], p[3] = clamp(x*255/w+n), clamp(y*255/h+n), clamp(128+n), 255
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 88}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
