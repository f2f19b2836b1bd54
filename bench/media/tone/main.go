// Command tone writes the audio of the media benchmark (bench/media/run.sh):
// the prompt both servers play (a WAV, 8 kHz 16-bit mono, uploaded to xc5 and
// read by the diago anchor) and the raw μ-law that sipp's rtp_stream loops
// as the callers' audio.
package main

import (
	"flag"
	"log"
	"math"
	"os"
	"time"

	"xc5/media/wav"
)

func main() {
	wavOut := flag.String("wav", "prompt.wav", "WAV file of the prompt")
	ulawOut := flag.String("ulaw", "caller.ulaw", "raw μ-law file of the callers' audio (1 s, looped by sipp)")
	secs := flag.Int("seconds", 60, "length of the prompt")
	flag.Parse()
	if err := os.WriteFile(*wavOut, wav.Encode(tone(1000, 8000, time.Duration(*secs)*time.Second), 8000), 0o644); err != nil {
		log.Fatal(err)
	}
	// A quiet 440 Hz tone: not a DTMF pair, so the menu reads no key.
	pcm := tone(440, 2000, time.Second)
	ulaw := make([]byte, len(pcm))
	for i, s := range pcm {
		ulaw[i] = wav.EncodeULaw(s)
	}
	if err := os.WriteFile(*ulawOut, ulaw, 0o644); err != nil {
		log.Fatal(err)
	}
}

// tone is d of a sine of freq Hz at amplitude amp, 8 kHz.
func tone(freq, amp float64, d time.Duration) []int16 {
	n := int(d.Seconds() * 8000)
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	return out
}
