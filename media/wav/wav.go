// Package wav turns the WAV files that customers upload as IVR and
// voicemail prompts into the one shape the media service plays: 8 kHz,
// 16-bit, mono PCM.
//
// Uploads come from every kind of tool (studio software, phones, text to
// speech services), so the parser accepts the encodings such tools
// commonly write for speech (8/16-bit PCM and G.711, at any rate from
// 8 to 48 kHz) and rejects everything else with a message the customer can
// act on. It is pure: no I/O, no cgo, no global state besides tables
// built once, so the API can call it on the request goroutine.
package wav

import (
	"fmt"
	"time"
)

// Format is the encoding of the samples in the uploaded file. It is kept on
// Audio because what a prompt was recorded in (a G.711 capture from a phone
// versus a studio PCM file) is worth showing to whoever manages prompts,
// even though Samples are always decoded to linear PCM.
type Format int

// The encodings Parse accepts. The zero value is deliberately not one of
// them, so an Audio built by hand without a Format is recognisably
// incomplete.
const (
	PCM  Format = iota + 1 // linear PCM, 8-bit unsigned or 16-bit signed
	ALaw                   // ITU-T G.711 A-law, the European telephone encoding
	ULaw                   // ITU-T G.711 μ-law, the North American one
)

// String names the format the way telephony people say it, for logs and
// for the prompt's metadata.
func (f Format) String() string {
	switch f {
	case PCM:
		return "PCM"
	case ALaw:
		return "A-law"
	case ULaw:
		return "μ-law"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Audio is a decoded prompt. Samples are linear whatever the file held, so
// resampling and re-encoding never have to care about the source encoding.
type Audio struct {
	// Format is the encoding the file held, not that of Samples.
	Format Format
	// SampleRate is in Hz, as declared by the file.
	SampleRate int
	// BitsPerSample is the file's sample size (8 or 16 for PCM, 8 for
	// G.711), not that of Samples, which is always 16.
	BitsPerSample int
	// Samples holds one int16 per sample of the single channel. 8-bit PCM
	// is widened by shifting left 8, G.711 is expanded per ITU-T G.711.
	Samples []int16
}

// Duration is what the customer will hear, derived from the sample count
// rather than from header fields, which uploading tools get wrong.
func (a *Audio) Duration() time.Duration {
	return samplesDuration(len(a.Samples), a.SampleRate)
}

// samplesDuration rounds to the nearest nanosecond without overflowing for
// any realistic length (int64 nanoseconds hold 292 years).
func samplesDuration(n, rate int) time.Duration {
	if rate <= 0 || n <= 0 {
		return 0
	}
	sec := int64(n) / int64(rate)
	rem := int64(n) % int64(rate)
	return time.Duration(sec)*time.Second +
		time.Duration((rem*int64(time.Second)+int64(rate)/2)/int64(rate))
}

// FormatError reports an upload that is not a WAV file the media service
// can play. Its message is written for the customer who uploaded the file,
// so the API returns it verbatim in a 400 response; callers find it with
// errors.As. Parse and Normalize return no other kind of error.
type FormatError struct {
	// Reason says what is wrong and, where there is one, what to do
	// instead, e.g. "stereo audio (2 channels): prompts must be mono".
	Reason string
}

// Error returns Reason alone, without a package prefix, because it is shown
// to customers as it stands.
func (e *FormatError) Error() string { return e.Reason }

// errorf builds a *FormatError; every rejection goes through it so none can
// escape as a plain error.
func errorf(format string, args ...any) *FormatError {
	return &FormatError{Reason: fmt.Sprintf(format, args...)}
}
