// Package audiotest finds tones in audio and makes them, for tests that
// check what a call carried: a tone sent in is found by Goertzel in what
// comes out.
package audiotest

import "math"

// Tone is n samples of a sine of freq Hz at rate samples/s, at amplitude
// amp (0..1 of full scale).
func Tone(freq float64, rate, n int, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(amp * 32767 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return s
}

// Power is the Goertzel power of freq in samples, normalised by the
// number of samples so that windows of different lengths compare.
func Power(samples []int16, rate int, freq float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	w := 2 * math.Pi * freq / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x)/32768 + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	n := float64(len(samples))
	return p / (n * n)
}

// Energy is the mean power of samples (the same scale as Power: a full
// sine of amplitude a has Power ≈ a²/4 and Energy ≈ a²/2).
func Energy(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var e float64
	for _, x := range samples {
		v := float64(x) / 32768
		e += v * v
	}
	return e / float64(len(samples))
}

// Has reports whether freq carries at least a fifth of the energy of
// samples and the signal is not silence: the tone is there, not merely
// leaking into noise.
func Has(samples []int16, rate int, freq float64) bool {
	e := Energy(samples)
	if e < 1e-5 {
		return false
	}
	return 2*Power(samples, rate, freq)/e > 0.2
}
