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
	b := encodeHeader(len(samples), rate)
	putSamples(b[headerSize:], samples)
	return b
}

// encodeHeader allocates the whole WAV for n samples at rate and writes
// its header; the samples go after headerSize.
func encodeHeader(n, rate int) []byte {
	size := uint64(n) * 2
	b := make([]byte, headerSize+int(size))
	le := binary.LittleEndian
	copy(b[0:4], "RIFF")
	le.PutUint32(b[4:8], sat32(36+size))
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
	le.PutUint32(b[40:44], sat32(size))
	return b
}

// putSamples writes samples as 16-bit little-endian PCM.
func putSamples(b []byte, samples []int16) {
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
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
//
// It decodes and resamples a block at a time straight into the WAV it
// returns, so that converting an upload needs memory for the result and a
// few small buffers, not for the decoded audio at two rates besides: a
// 20 MiB μ-law upload once took four times its size on top of itself.
func Normalize(data []byte) (pcm8k []byte, duration time.Duration, err error) {
	payload, info, err := chunks(data)
	if err != nil {
		return nil, 0, err
	}
	n := sampleCount(payload, info)
	if n == 0 {
		return nil, 0, errorf("no audio data")
	}
	outN := resampledLen(n, info.rate, PlaybackRate)
	if outN == 0 {
		return nil, 0, errorf("no audio data (shorter than one sample at %d Hz)", PlaybackRate)
	}
	out := encodeHeader(outN, PlaybackRate)
	bps := 1
	if info.bits == 16 {
		bps = 2
	}
	fill := func(dst []int16, at int) { decodeInto(dst, payload[at*bps:], info) }
	put := func(j int, block []int16) { putSamples(out[headerSize+2*j:], block) }
	if info.rate == PlaybackRate {
		// Already at the playback rate: decode into place, a block at a time.
		block := make([]int16, resampleBlock)
		for j := 0; j < n; j += resampleBlock {
			b := block[:min(resampleBlock, n-j)]
			fill(b, j)
			put(j, b)
		}
	} else {
		newResampler(info.rate, PlaybackRate, n).run(n, outN, fill, put)
	}
	return out, samplesDuration(outN, PlaybackRate), nil
}
