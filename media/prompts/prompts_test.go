package prompts

import (
	"testing"

	"xc5/internal/audiotest"
	"xc5/media/wav"
)

func TestPrompts(t *testing.T) {
	all := All()
	if len(all) != 17 {
		t.Fatalf("%d prompts, want 17", len(all))
	}
	total := 0
	guids := map[string]bool{}
	for _, p := range all {
		total += len(p.WAV)
		if guids[p.GUID] || len(p.GUID) != 36 {
			t.Errorf("%s: GUID %q duplicate or malformed", p.Name, p.GUID)
		}
		guids[p.GUID] = true
		a, err := wav.Parse(p.WAV)
		if err != nil || a.SampleRate != 8000 || a.BitsPerSample != 16 {
			t.Fatalf("%s: %v", p.Name, err)
		}
		if p.Length < 200e6 || audiotest.Energy(a.Samples) < 1e-4 {
			t.Errorf("%s: %v long, energy %g: not audible", p.Name, p.Length, audiotest.Energy(a.Samples))
		}
	}
	if total > 704<<10 { // decoded to 16-bit; the feature codes' answers are mu-law on disk
		t.Errorf("prompts take %d bytes, want < 704 KB", total)
	}
	if g := ByName(EnterPIN).GUID; g != "F4FE3E59-0439-4849-9444-85BEFE8694B3" {
		t.Errorf("enter-pin GUID %s", g)
	}
	beep, _ := wav.Parse(ByName(Beep).WAV)
	if !audiotest.Has(beep.Samples, 8000, 1000) {
		t.Error("the beep is not 1 kHz")
	}
	music, _ := wav.Parse(ByName(HoldMusic).WAV)
	if ByName(HoldMusic).GUID != HoldMusicGUID || len(music.Samples) < 8000 || !audiotest.Has(music.Samples[:4000], 8000, 523.25) {
		t.Error("the hold music does not start on C5 (523 Hz)")
	}
	// The feature codes' answers start with their tone (docs/sip.md).
	for _, c := range []struct {
		name string
		freq float64
	}{{FeatureDNDOn, 1400}, {FeatureCFAOff, 1400}, {FeatureRefused, 480}} {
		a, _ := wav.Parse(ByName(c.name).WAV)
		if len(a.Samples) < 1600 || !audiotest.Has(a.Samples[:1200], 8000, c.freq) {
			t.Errorf("%s does not start with %v Hz", c.name, c.freq)
		}
	}
	if ByName("nope").WAV != nil {
		t.Error("unknown name found")
	}
}
