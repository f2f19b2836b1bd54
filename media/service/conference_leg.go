package service

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"

	dmedia "github.com/emiago/diago/media"
	"github.com/pion/rtp"

	"xc5/media/conference"
)

// roomStream hands a leg's RTP to a conference room, so that the room's
// clock, not the leg's send loop, paces what the member hears: packets
// received go to the member's jitter buffer as they are read (with their
// timestamps, which the call interface does not carry), and the room's
// frames are written to the RTP session directly, as a stream of their own
// (a new SSRC: an RTP mixer is a new source, RFC 3550 7.1).
//
// It uses diago's media API, like leg.go, by interposing on the leg's
// packet reader and writer rather than changing the leg's loops: the read
// loop keeps finding RFC 4733 keys and noting RTP for the idle timeout,
// and the send loop keeps its pacing and idle check but writes into
// nothing while the leg is in the room.
type roomStream struct {
	l     *diagoLeg
	codec conference.Codec

	mu     sync.Mutex
	real   dmedia.RTPWriter // where the room writes; nil outside the room
	tap    *tapReader
	member *conference.Member
	pkt    rtp.Packet
}

// discardRTP takes the leg's own frames while the room speaks for it.
type discardRTP struct{}

func (discardRTP) WriteRTP(*rtp.Packet) error { return nil }

func (l *diagoLeg) roomStream() *roomStream {
	c := conference.PCMU
	if dmedia.CodecAudioFromSession(l.med.MediaSession()).PayloadType == 8 {
		c = conference.PCMA
	}
	return &roomStream{l: l, codec: c}
}

// WriteFrame sends one frame of the room; nothing before start or after
// stop.
func (s *roomStream) WriteFrame(f *conference.Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.real == nil {
		return nil
	}
	s.pkt.Header = rtp.Header{Version: 2, Marker: f.Marker, PayloadType: f.PayloadType,
		SequenceNumber: f.Seq, Timestamp: f.Timestamp, SSRC: f.SSRC}
	s.pkt.Payload = f.Payload
	return s.real.WriteRTP(&s.pkt)
}

// start routes the leg's RTP to and from m.
func (s *roomStream) start(m *conference.Member) {
	s.mu.Lock()
	s.member = m
	s.mu.Unlock()
	s.check()
}

// check (re)installs the interposition: at start, and after a re-INVITE
// made diago replace the session (and with it our reader and writer).
func (s *roomStream) check() {
	w, r := s.l.med.RTPPacketWriter, s.l.med.RTPPacketReader
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.member == nil {
		return
	}
	if cur := w.Writer(); cur != (discardRTP{}) {
		s.real = cur
		w.UpdateWriter(discardRTP{}, dmedia.CodecAudioFromSession(s.l.med.MediaSession()))
	}
	if cur := r.Reader(); s.tap == nil || cur != dmedia.RTPReader(s.tap) {
		t := &tapReader{inner: cur, sess: s.l.med.MediaSession()}
		t.member.Store(s.member)
		t.resume.Store(true)
		if s.tap != nil {
			s.tap.member.Store(nil)
		}
		s.tap = t
		r.UpdateReader(t)
	}
}

// stop gives the leg its RTP back.
func (s *roomStream) stop() {
	w, r := s.l.med.RTPPacketWriter, s.l.med.RTPPacketReader
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tap != nil {
		s.tap.member.Store(nil)
		if r.Reader() == dmedia.RTPReader(s.tap) {
			r.UpdateReader(s.tap.inner)
		}
		s.tap = nil
	}
	if s.real != nil {
		if w.Writer() == (discardRTP{}) {
			w.UpdateWriter(s.real, dmedia.CodecAudioFromSession(s.l.med.MediaSession()))
		}
		s.real = nil
	}
	s.member = nil
}

// tapReader reads RTP for the leg's packet reader and gives each packet
// to the room member too.
type tapReader struct {
	inner  dmedia.RTPReader
	sess   *dmedia.MediaSession
	member atomic.Pointer[conference.Member]
	// resume: diago interrupts the read in progress with a read deadline
	// when a reader is swapped, and clears it only for its own reader
	// types: the first deadline error after the swap is that one.
	resume atomic.Bool
}

func (t *tapReader) ReadRTP(buf []byte, p *rtp.Packet) (int, error) {
	for {
		n, err := t.inner.ReadRTP(buf, p)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && t.resume.CompareAndSwap(true, false) && t.sess != nil {
				_ = t.sess.StartRTP(1)
				continue
			}
			return n, err
		}
		if m := t.member.Load(); m != nil {
			m.Push(p.PayloadType, p.Timestamp, p.Payload)
		}
		return n, nil
	}
}
