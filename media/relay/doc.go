// Package relay anchors a call's RTP in xc5: each party sends its audio
// to a socket of ours, and we pass it on to the other party. The B2BUA
// uses it for the calls whose media xc5 must carry: recorded calls, calls
// answered by the media service, and phones behind NAT, whose SDP names
// an address nobody can send to.
//
// # Sessions, sides and ports
//
// A Pool owns a port range. Open takes two port pairs from it, one per
// side (an even RTP port and RTCP on the port above, as RFC 3550 expects)
// and binds all four sockets; it fails with ErrExhausted when no pair is
// left. Freed pairs go to the back of the queue, so a port is reused as
// late as possible and stray packets of an ended call do not reach the
// next one. Side 0 faces the caller, side 1 the callee: the B2BUA writes
// Side(1).Local into the offer it sends the callee (RewriteSDP) and
// Side(0).Local into the answer it sends the caller, and gives each side
// the address from that party's own SDP (SDPAddr, SetRemote).
//
// Each socket has one goroutine that reads into a buffer it reuses, and
// sends what it accepts from the other side's socket of the same kind
// (RTP or RTCP), so the party sees one address for us in both directions.
// Counters are atomics; nothing is allocated per packet and no lock is
// taken unless the call is being recorded.
//
// # Latching (symmetric RTP)
//
// A party behind NAT sends from an address and port its SDP does not
// name. So a socket latches on the source of the first packet it receives
// after SetRemote (or at all), and from then on sends that party's media
// to where its packets come from, not to the SDP address (which is used
// only until the first packet). Packets from any other source are dropped
// (and counted) while the latched source is live; only when it has been
// silent for Config.Silence (2 s) may another source take over, which is
// how a phone whose NAT binding changed, or that moved network, is
// followed. The one exception is the address of the party's own SDP: a
// packet from it takes over at once, since signalling vouches for it. RTCP sockets latch the same way, with six times the silence,
// since reports come only every few seconds. SetRemote (a re-INVITE)
// forgets the latch at once. Packets from the pool's own sockets are
// always dropped, so an SDP that names the relay cannot make it send to
// itself in a loop.
//
// This is stricter than rtpengine's default, which latches the same way
// but still forwards packets from other sources ("strict source" is an
// option there): here a stranger who learns the port can neither take
// the stream over while the call is live nor inject audio into it. The
// cost is that a party that sends from two addresses at once is heard
// only from the first; phones do not do that.
//
// # Recording
//
// StartRecording makes the RTP goroutines decode G.711 (PCMU and PCMA, by
// the payload types of SetPayloadTypes) from each side into a channel of
// its own: channel 0 what the caller said, channel 1 the callee. Both
// share one time line starting at StartRecording. A stream's first packet
// is placed by its arrival time; the following ones by their RTP
// timestamps relative to it, so jitter does not smear the audio and a lost
// packet leaves silence of its length. When a stream's timestamps stray
// more than a second from arrival time (a new SSRC, a jump), it is placed
// by arrival again. StopRecording returns a stereo 8 kHz 16-bit WAV.
// Telephone-event and other payload types are not decoded.
//
// # DTMF
//
// With SetDTMFPayloadType and OnDTMF, RFC 4733 events arriving on a side
// are reported, one call per key press, on the first packet of the event
// (even one of duration 0), and the event is relayed unchanged.
//
// # SDP
//
// SDPAddr, RewriteSDP and SDPCodecs read and edit just the lines the
// anchoring needs and keep the rest of the body byte for byte.
package relay
