package wav

import (
	"math"
	"sync"
)

// PlaybackRate is the rate the media service plays prompts at: G.711 over
// RTP, as every SIP phone and trunk supports it.
const PlaybackRate = 8000

// The anti-alias filter is a Kaiser-windowed sinc, designed for the
// narrower of the two rates so it serves for decimation (any upload above
// 8 kHz) and, should an Audio be built by hand at a lower rate, for
// interpolation as well. Relative to that rate fn (8 kHz for uploads):
//   - the cut-off is 0.4875·fn (3.9 kHz), keeping the whole telephone band
//     (300–3400 Hz) and a 3.5 kHz tone within a fraction of a dB;
//   - the transition is 0.1·fn wide (3.5–4.3 kHz), so what folds back is
//     only the 4.0–4.3 kHz sliver, landing above 3.7 kHz;
//   - the window gives about 70 dB of stop-band attenuation, well below
//     the noise floor of G.711.
const (
	cutoffFraction     = 0.4875
	transitionFraction = 0.1
	stopbandDB         = 70
)

// kernelTablePoints samples the continuous filter finely enough that
// linear interpolation between table points errs by less than -90 dB, so
// any ratio (44100/8000, or an odd 12345/8000) evaluates the filter from
// one 32 KiB table, however many phases the ratio has.
const kernelTablePoints = 4096

// kernel is the anti-alias filter as a function of time in units of the
// narrower rate's sample period, tabulated over [0, half].
type kernel struct {
	half  float64 // half-width, in periods of the narrower rate
	table [kernelTablePoints + 2]float64
}

var (
	kernelOnce sync.Once
	theKernel  *kernel
)

// sharedKernel builds the table on first use: it depends only on the
// fractions above, not on either rate.
func sharedKernel() *kernel {
	kernelOnce.Do(func() {
		k := &kernel{}
		// Kaiser's design formulas (Oppenheim & Schafer 7.6).
		beta := 0.1102 * (stopbandDB - 8.7)
		taps := (stopbandDB - 8) / (2.285 * 2 * math.Pi * transitionFraction)
		k.half = math.Ceil(taps / 2)
		i0b := besselI0(beta)
		for i := range k.table {
			t := float64(i) * k.half / kernelTablePoints
			v := 0.0
			if t < k.half {
				r := t / k.half
				w := besselI0(beta*math.Sqrt(1-r*r)) / i0b
				v = 2 * cutoffFraction * sinc(2*cutoffFraction*t) * w
			}
			k.table[i] = v
		}
		theKernel = k
	})
	return theKernel
}

// at evaluates the kernel at t (in narrower-rate periods, either sign).
func (k *kernel) at(t float64) float64 {
	t = math.Abs(t)
	if t >= k.half {
		return 0
	}
	x := t * kernelTablePoints / k.half
	i := int(x)
	f := x - float64(i)
	return k.table[i] + f*(k.table[i+1]-k.table[i])
}

// To8kHz returns the samples at PlaybackRate, which is what the media
// service sends. At 8 kHz it returns a copy, so the caller may change the
// result freely. Above it, every output sample is a windowed-sinc
// low-pass interpolation of the input, so content above 4 kHz (sibilants,
// music, 6 kHz test tones) is removed instead of aliasing into the speech
// band as plain decimation or linear interpolation would make it. The
// output has the same duration, rounded to the nearest sample.
func (a *Audio) To8kHz() []int16 {
	return resample(a.Samples, a.SampleRate, PlaybackRate)
}

// resample converts between any two positive rates; a zero-padded input
// is filtered, so the first and last few milliseconds fade in and out over
// the filter's length instead of clicking.
func resample(in []int16, from, to int) []int16 {
	if from <= 0 || to <= 0 || len(in) == 0 {
		return nil
	}
	if from == to {
		return append([]int16(nil), in...)
	}
	out := make([]int16, resampledLen(len(in), from, to))
	newResampler(from, to, len(in)).run(len(in), len(out),
		func(dst []int16, at int) { copy(dst, in[at:]) },
		func(j int, block []int16) { copy(out[j:], block) })
	return out
}

// resampledLen is the number of samples n samples at from make at to: the
// same duration, rounded to the nearest sample.
func resampledLen(n, from, to int) int {
	return int((int64(n)*int64(to) + int64(from)/2) / int64(from))
}

// resampler is the filter for one pair of rates.
//
// Output sample j sits at input position j·from/to exactly (integer
// arithmetic, no drift over long prompts), so its filter weights depend
// only on the fractional phase of that position. Common ratios have few
// phases (44100/8000 has 80, 48000/8000 one), and their weights are
// computed once per phase; odd ratios compute them per sample.
type resampler struct {
	k             *kernel
	scale         float64 // converts an input-sample distance into periods of the narrower rate
	reach, width  int     // kernel half-width in input samples; taps base-reach .. base+reach+1
	phases, step  int64   // position j·step/phases
	table         []float64
	scratch       []float64
	window, block []int16
}

// resampleBlock is how many output samples run computes from one window
// of input: a few tens of KiB of buffers, whatever the length.
const resampleBlock = 4096

// newResampler prepares the filter for converting n samples.
func newResampler(from, to, n int) *resampler {
	r := &resampler{k: sharedKernel(), scale: 1}
	if from > to {
		r.scale = float64(to) / float64(from)
	}
	r.reach = int(math.Ceil(r.k.half / r.scale))
	r.width = 2*r.reach + 2
	g := gcd(from, to)
	r.phases, r.step = int64(to/g), int64(from/g)
	r.scratch = make([]float64, r.width)
	// The table costs no more memory than the input, and is only built
	// when it is smaller than the input, so each phase is reused.
	if r.phases*int64(r.width) <= int64(n) {
		r.table = make([]float64, int(r.phases)*r.width)
		for p := range r.phases {
			r.weights(p, r.table[int(p)*r.width:int(p+1)*r.width])
		}
	}
	return r
}

// weights fills w with the filter's taps for phase p.
func (r *resampler) weights(p int64, w []float64) {
	f := float64(p) / float64(r.phases)
	var sum float64
	for d := range w {
		w[d] = r.k.at((float64(d-r.reach) - f) * r.scale)
		sum += w[d]
	}
	// Normalising to a unit sum gives exactly unity gain at DC
	// whatever the phase, removing the ripple a sampled kernel
	// otherwise has between phases.
	for d := range w {
		w[d] /= sum
	}
}

// run computes outN output samples from n input samples, a block at a
// time: fill(dst, at) provides input samples at..at+len(dst) (always
// within 0..n), and put(j, block) takes the outputs from j on. Input
// outside 0..n counts as silence. Only one block of input and output is
// held, so a long prompt needs no copy of itself at either rate.
func (r *resampler) run(n, outN int, fill func(dst []int16, at int), put func(j int, block []int16)) {
	for j0 := 0; j0 < outN; j0 += resampleBlock {
		m := min(resampleBlock, outN-j0)
		first := int(int64(j0)*r.step/r.phases) - r.reach
		last := int(int64(j0+m-1)*r.step/r.phases) - r.reach + r.width
		r.window = fillWindow(r.window, first, last, n, fill)
		if cap(r.block) < m {
			r.block = make([]int16, m)
		}
		r.block = r.block[:m]
		for j := j0; j < j0+m; j++ {
			pos := int64(j) * r.step
			base, p := int(pos/r.phases), pos%r.phases
			w := r.scratch
			if r.table != nil {
				w = r.table[int(p)*r.width : int(p+1)*r.width]
			} else {
				r.weights(p, w)
			}
			var acc float64
			for d, s := range r.window[base-r.reach-first:][:r.width] {
				acc += w[d] * float64(s)
			}
			r.block[j-j0] = clamp16(acc)
		}
		put(j0, r.block)
	}
}

// fillWindow returns buf holding input samples first..last, zero outside
// 0..n, reusing buf's storage when it is large enough.
func fillWindow(buf []int16, first, last, n int, fill func(dst []int16, at int)) []int16 {
	if cap(buf) < last-first {
		buf = make([]int16, last-first)
	}
	buf = buf[:last-first]
	clear(buf)
	lo, hi := max(first, 0), min(last, n)
	if lo < hi {
		fill(buf[lo-first:hi-first], lo)
	}
	return buf
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// clamp16 rounds to the nearest int16, saturating: a full-scale square
// wave overshoots after low-pass filtering (Gibbs), and wrapping around
// would turn that into a loud click.
func clamp16(v float64) int16 {
	v = math.Round(v)
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(v)
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	px := math.Pi * x
	return math.Sin(px) / px
}

// besselI0 is the modified Bessel function of the first kind, order 0, by
// its power series, which converges quickly for the Kaiser β used here.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 100; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}
