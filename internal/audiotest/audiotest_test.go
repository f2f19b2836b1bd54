package audiotest

import "testing"

func TestHas(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tone  float64
		probe float64
		want  bool
	}{
		{"1 kHz found", 1000, 1000, true},
		{"600 Hz found", 600, 600, true},
		{"1 kHz is not 600 Hz", 1000, 600, false},
		{"600 Hz is not 1 kHz", 600, 1000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Tone(tc.tone, 8000, 8000, 0.3)
			if got := Has(s, 8000, tc.probe); got != tc.want {
				t.Fatalf("Has(%v Hz tone, %v Hz) = %v, want %v", tc.tone, tc.probe, got, tc.want)
			}
		})
	}
	if Has(make([]int16, 8000), 8000, 1000) {
		t.Fatal("silence has a tone")
	}
}
