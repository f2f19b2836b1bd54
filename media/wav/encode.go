package wav

import (
	"encoding/binary"
	"time"
)

// headerSize is the canonical RIFF + fmt(16) + data header: what the media
// service and every player read without chunk walking.
const headerSize = 44

// Encode writes samples as the simplest possible WAV (16-bit PCM, mono,
// 44-byte header, no other chunks), because that is the form the media
// service stores and streams, and any tool can open it when a customer
// downloads a prompt back. Data over 4 GiB cannot be described by RIFF
// sizes; the sizes are then saturated (prompts are minutes long at most).
func Encode(samples []int16, rate int) []byte {
	n := uint64(len(samples)) * 2
	b := make([]byte, headerSize+int(n))
	le := binary.LittleEndian
	copy(b[0:4], "RIFF")
	le.PutUint32(b[4:8], sat32(36+n))
	copy(b[8:12], "WAVE")
	copy(b[12:16], "fmt ")
	le.PutUint32(b[16:20], 16)
	le.PutUint16(b[20:22], tagPCM)
	le.PutUint16(b[22:24], 1) // channels
	le.PutUint32(b[24:28], uint32(rate))
	le.PutUint32(b[28:32], uint32(rate)*2) // byte rate
	le.PutUint16(b[32:34], 2)              // block align
	le.PutUint16(b[34:36], 16)             // bits per sample
	copy(b[36:40], "data")
	le.PutUint32(b[40:44], sat32(n))
	for i, s := range samples {
		le.PutUint16(b[headerSize+2*i:], uint16(s))
	}
	return b
}

// sat32 clips a RIFF size field; 0xFFFFFFFF also means "unknown, read to
// the end" to readers, including Parse.
func sat32(n uint64) uint32 {
	if n > maxChunkSize {
		return maxChunkSize
	}
	return uint32(n)
}

// Normalize is the one call the prompt upload handler makes: it validates
// the upload and returns the 8 kHz 16-bit mono WAV that the media service
// will play, with its duration for the prompt's metadata. The caller keeps
// the original as uploaded, so a better converter can redo this later.
// err is always a *FormatError, meant for a 400 response.
func Normalize(data []byte) (pcm8k []byte, duration time.Duration, err error) {
	a, err := Parse(data)
	if err != nil {
		return nil, 0, err
	}
	s := a.To8kHz()
	if len(s) == 0 {
		return nil, 0, errorf("no audio data (shorter than one sample at %d Hz)", PlaybackRate)
	}
	return Encode(s, PlaybackRate), samplesDuration(len(s), PlaybackRate), nil
}
