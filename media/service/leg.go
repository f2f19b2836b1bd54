package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	dmedia "github.com/emiago/diago/media"
	"github.com/emiago/sipgo/sip"

	"xc5/media"
	"xc5/media/wav"
)

// call is what an app needs from a media leg. Apps never see diago, whose
// API changes between versions: diagoLeg, in this file, is the one place
// that uses diago's media API.
type call interface {
	// play sends samples (8 kHz) to the caller. With interrupt, a key
	// pressed stops it at once and is returned.
	play(ctx context.Context, samples []int16, interrupt bool) (rune, error)
	// digit waits up to d for a key; 0 when none came.
	digit(ctx context.Context, d time.Duration) (rune, error)
	// flushDigits forgets keys pressed so far.
	flushDigits()
	// record keeps the caller's audio until '#', silence, max or hang-up
	// (which returns what was recorded with errHangup).
	record(ctx context.Context, o recordOptions) ([]int16, error)
}

// errHangup reports that the leg ended (the caller hung up, RTP stopped,
// the leg's time cap or the service closed) while an app waited.
var errHangup = errors.New("leg ended")

// frame is 20 ms at 8 kHz: the packet size every G.711 peer expects.
const frame = 160

type recordOptions struct {
	max     time.Duration
	silence time.Duration // 0: no silence stop
}

// diagoLeg runs one answered leg: a send loop that plays the current
// source or silence (so RTP flows without gaps from answer to BYE), a
// read loop that decodes audio for a recording and finds RFC 4733 keys,
// and the keys from SIP INFO.
type diagoLeg struct {
	d       *diago.DialogServerSession
	med     *diago.DialogMedia
	log     *slog.Logger
	cancel  context.CancelFunc
	digits  chan rune
	lastRTP atomic.Int64 // unix nanoseconds of the last RTP packet read
	rtpIdle time.Duration

	mu      sync.Mutex
	src     []int16
	srcDone chan struct{}
	rec     *recorder
}

func newDiagoLeg(d *diago.DialogServerSession, med *diago.DialogMedia, cancel context.CancelFunc,
	rtpIdle time.Duration, log *slog.Logger) *diagoLeg {
	l := &diagoLeg{d: d, med: med, log: log, cancel: cancel, digits: make(chan rune, 32), rtpIdle: rtpIdle}
	l.lastRTP.Store(time.Now().UnixNano())
	return l
}

// run starts the loops; the returned wait blocks until the send loop has
// stopped (the read loop stops when diago closes the media session).
func (l *diagoLeg) run(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		l.sendLoop(ctx)
	}()
	go l.readLoop()
	return wg.Wait
}

func (l *diagoLeg) pushDigit(r rune) {
	select {
	case l.digits <- r:
	default: // a caller pressing faster than any app reads: drop
	}
}

// sendLoop writes one 20 ms frame per tick; diago's packet writer paces
// it with its own ticker. It also ends the leg when RTP has stopped.
func (l *diagoLeg) sendLoop(ctx context.Context) {
	w := l.med.RTPPacketWriter
	pcm := make([]int16, frame)
	payload := make([]byte, frame)
	for ctx.Err() == nil {
		l.nextFrame(pcm)
		alaw := dmedia.CodecAudioFromSession(l.med.MediaSession()).PayloadType == 8
		for i, s := range pcm {
			if alaw {
				payload[i] = wav.EncodeALaw(s)
			} else {
				payload[i] = wav.EncodeULaw(s)
			}
		}
		if _, err := w.Write(payload); err != nil {
			l.log.Debug("media: RTP write failed", "error", err)
			l.cancel()
			return
		}
		if l.rtpIdle > 0 && time.Since(time.Unix(0, l.lastRTP.Load())) > l.rtpIdle {
			l.log.Info("media: no RTP from the caller, ending the leg", "idle", l.rtpIdle)
			l.cancel()
			return
		}
	}
}

// nextFrame fills pcm from the playing source, or with silence.
func (l *diagoLeg) nextFrame(pcm []int16) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := copy(pcm, l.src)
	clear(pcm[n:])
	l.src = l.src[n:]
	if len(l.src) == 0 && l.srcDone != nil {
		close(l.srcDone)
		l.srcDone = nil
	}
}

// readLoop reads every RTP packet of the leg until the media session is
// closed. A panic in diago's packet parsing (it has one on inconsistent
// padding) ends the leg instead of the process.
func (l *diagoLeg) readLoop() {
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("media: RTP reader panicked", "panic", fmt.Sprint(r))
			l.cancel()
		}
	}()
	r := l.med.RTPPacketReader
	buf := make([]byte, dmedia.RTPBufSize)
	pcm := make([]int16, 0, dmedia.RTPBufSize)
	var det eventDetector
	var sess *dmedia.MediaSession
	var tePT int = -1
	for {
		n, err := r.Read(buf)
		if err != nil {
			return
		}
		l.lastRTP.Store(time.Now().UnixNano())
		if n == 0 {
			continue
		}
		if ms := l.med.MediaSession(); ms != sess { // negotiated (again): find the event type
			sess, tePT = ms, eventPayloadType(ms)
		}
		hdr := r.PacketHeader
		switch pt := int(hdr.PayloadType); {
		case pt == tePT:
			if d := det.packet(hdr.Timestamp, hdr.Marker, buf[:n]); d != 0 {
				l.pushDigit(d)
			}
		case pt == 0 || pt == 8:
			pcm = pcm[:n]
			for i, b := range buf[:n] {
				if pt == 0 {
					pcm[i] = wav.DecodeULaw(b)
				} else {
					pcm[i] = wav.DecodeALaw(b)
				}
			}
			l.mu.Lock()
			rec := l.rec
			l.mu.Unlock()
			if rec != nil {
				rec.add(pcm)
			}
		}
	}
}

// eventPayloadType is the payload type the caller sends telephone-event
// with, or -1.
func eventPayloadType(ms *dmedia.MediaSession) int {
	if ms == nil {
		return -1
	}
	for _, c := range ms.CommonCodecs() {
		if c.Matches(dmedia.CodecTelephoneEvent8000) {
			return int(c.PayloadTypeRecv())
		}
	}
	return -1
}

func (l *diagoLeg) play(ctx context.Context, samples []int16, interrupt bool) (rune, error) {
	if len(samples) == 0 {
		return 0, ctx.Err()
	}
	done := make(chan struct{})
	l.mu.Lock()
	if l.srcDone != nil {
		close(l.srcDone)
	}
	l.src, l.srcDone = samples, done
	l.mu.Unlock()
	defer func() { // stop at once when interrupted or hung up
		l.mu.Lock()
		if l.srcDone == done {
			l.src, l.srcDone = nil, nil
			close(done)
		}
		l.mu.Unlock()
	}()
	var keys chan rune
	if interrupt {
		keys = l.digits
	}
	select {
	case <-done:
		return 0, nil
	case <-ctx.Done():
		return 0, errHangup
	case d := <-keys:
		return d, nil
	}
}

func (l *diagoLeg) digit(ctx context.Context, d time.Duration) (rune, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-l.digits:
		return r, nil
	case <-t.C:
		return 0, nil
	case <-ctx.Done():
		return 0, errHangup
	}
}

func (l *diagoLeg) flushDigits() {
	for {
		select {
		case <-l.digits:
		default:
			return
		}
	}
}

func (l *diagoLeg) record(ctx context.Context, o recordOptions) ([]int16, error) {
	rec := &recorder{max: int(o.max / time.Second * 8000), lastLoud: time.Now()}
	l.mu.Lock()
	l.rec = rec
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.rec = nil
		l.mu.Unlock()
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return rec.take(false), errHangup
		case d := <-l.digits:
			if d == '#' {
				return rec.take(false), nil
			}
		case <-tick.C:
			if rec.full() {
				return rec.take(false), nil
			}
			if o.silence > 0 && rec.quietFor() >= o.silence {
				return rec.take(true), nil
			}
		}
	}
}

// hangup ends the leg with a BYE carrying the result.
func (l *diagoLeg) hangup(ctx context.Context, res media.Result) error {
	bye := sip.NewRequest(sip.BYE, l.d.RemoteContact().Address)
	bye.SetTransport(l.d.InviteRequest.Transport())
	bye.AppendHeader(sip.NewHeader(media.HeaderResult, res.Encode()))
	return l.d.WriteBye(ctx, bye)
}

// silenceLevel is the mean power (of full scale) under which a frame is
// silence: about -40 dBFS, above line noise, below any speech.
const silenceLevel = 1e-4

// recorder keeps the caller's audio while a recording runs.
type recorder struct {
	mu       sync.Mutex
	samples  []int16
	max      int
	lastLoud time.Time
	loudEnd  int // len(samples) after the last frame that was not silence
}

func (r *recorder) add(pcm []int16) {
	var e float64
	for _, s := range pcm {
		v := float64(s) / 32768
		e += v * v
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	room := r.max - len(r.samples)
	if room <= 0 {
		return
	}
	r.samples = append(r.samples, pcm[:min(room, len(pcm))]...)
	if len(pcm) > 0 && e/float64(len(pcm)) >= silenceLevel {
		r.lastLoud, r.loudEnd = time.Now(), len(r.samples)
	}
}

func (r *recorder) full() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.samples) >= r.max
}

func (r *recorder) quietFor() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Since(r.lastLoud)
}

// take returns the recording; trimmed, without the silence that ended it.
func (r *recorder) take(trimmed bool) []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if trimmed {
		return r.samples[:r.loudEnd:r.loudEnd]
	}
	return r.samples[:len(r.samples):len(r.samples)]
}
