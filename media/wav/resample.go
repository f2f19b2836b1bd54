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
//
// Output sample j sits at input position j·from/to exactly (integer
// arithmetic, no drift over long prompts), so its filter weights depend
// only on the fractional phase of that position. Common ratios have few
// phases (44100/8000 has 80, 48000/8000 one), and their weights are
// computed once per phase; odd ratios compute them per sample.
func resample(in []int16, from, to int) []int16 {
	if from <= 0 || to <= 0 || len(in) == 0 {
		return nil
	}
	if from == to {
		return append([]int16(nil), in...)
	}
	n := int((int64(len(in))*int64(to) + int64(from)/2) / int64(from))
	out := make([]int16, n)
	k := sharedKernel()
	// scale converts an input-sample distance into periods of the
	// narrower rate, where the kernel is defined.
	scale := 1.0
	if from > to {
		scale = float64(to) / float64(from)
	}
	reach := int(math.Ceil(k.half / scale)) // kernel half-width in input samples
	width := 2*reach + 2                    // taps base-reach .. base+reach+1
	g := gcd(from, to)
	phases, step := int64(to/g), int64(from/g) // position j·step/phases
	weights := func(p int64, w []float64) {
		f := float64(p) / float64(phases)
		var sum float64
		for d := range w {
			w[d] = k.at((float64(d-reach) - f) * scale)
			sum += w[d]
		}
		// Normalising to a unit sum gives exactly unity gain at DC
		// whatever the phase, removing the ripple a sampled kernel
		// otherwise has between phases.
		for d := range w {
			w[d] /= sum
		}
	}
	// The table costs no more memory than the input, and is only built
	// when it is smaller than the input, so each phase is reused.
	var table []float64
	if phases*int64(width) <= int64(len(in)) {
		table = make([]float64, int(phases)*width)
		for p := range phases {
			weights(p, table[int(p)*width:int(p+1)*width])
		}
	}
	scratch := make([]float64, width)
	for j := range out {
		pos := int64(j) * step
		base, p := int(pos/phases), pos%phases
		w := scratch
		if table != nil {
			w = table[int(p)*width : int(p+1)*width]
		} else {
			weights(p, w)
		}
		lo := base - reach
		var acc float64
		if lo >= 0 && lo+width <= len(in) {
			for d, s := range in[lo : lo+width] {
				acc += w[d] * float64(s)
			}
		} else {
			for d := range w {
				if i := lo + d; i >= 0 && i < len(in) {
					acc += w[d] * float64(in[i])
				}
			}
		}
		out[j] = clamp16(acc)
	}
	return out
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
