// Command gaps reads a tcpdump capture of RTP (bench/media/run.sh) and prints
// the inter-packet gaps of each stream (source and destination address and
// port) at the capture point: p50, p99, p99.9 and max of the raw gap, and
// p99 of its deviation from the 20 ms frame time, over all streams. The pcap
// is parsed by hand (no gopacket in go.mod): classic pcap, micro- or
// nanosecond timestamps, link types Ethernet (Linux lo), Linux cooked v1/v2,
// BSD null and raw IP; IPv4 only. RTCP (second byte 200–204) is skipped.
// "sound" is the share of packets whose captured payload is not G.711
// silence (μ-law 0xFF/0x7F, A-law 0xD5/0x55): the prompt is being played,
// not silence in its place.
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"slices"
)

type key struct {
	src, dst [4]byte
	sp, dp   uint16
}

func main() {
	file := flag.String("pcap", "", "capture to read")
	frame := flag.Float64("frame", 20, "expected gap in ms")
	label := flag.String("label", "", "label printed first")
	flag.Parse()
	last, gaps, packets, sound, err := read(*file)
	if err != nil {
		log.Fatal(err)
	}
	dev := make([]float64, len(gaps))
	late := 0
	for i, g := range gaps {
		dev[i] = math.Abs(g - *frame)
		if g > *frame+5 {
			late++
		}
	}
	slices.Sort(gaps)
	slices.Sort(dev)
	share := 0.0
	if len(gaps) > 0 {
		share = 100 * float64(late) / float64(len(gaps))
	}
	fmt.Printf("%sstreams=%d packets=%d sound=%.1f%% gap_ms p50=%.2f p99=%.2f p999=%.2f max=%.2f  |gap-%gms| p50=%.2f p99=%.2f p999=%.2f  gaps_over_%gms=%.2f%%\n",
		*label, len(last), packets, 100*float64(sound)/float64(max(packets, 1)), q(gaps, .5), q(gaps, .99), q(gaps, .999), q(gaps, 1),
		*frame, q(dev, .5), q(dev, .99), q(dev, .999), *frame+5, share)
}

// q is the p-quantile of sorted v (nearest rank).
func q(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p*float64(len(v)))) - 1
	return v[max(0, min(i, len(v)-1))]
}

// read returns each stream's last arrival, every gap in ms, the RTP
// packets counted and how many of them carried sound.
func read(name string) (last map[key]int64, gaps []float64, packets, sound int, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	defer f.Close()
	hdr := make([]byte, 24)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return nil, nil, 0, 0, err
	}
	var bo binary.ByteOrder = binary.LittleEndian
	nano := false
	switch binary.LittleEndian.Uint32(hdr) {
	case 0xa1b2c3d4:
	case 0xa1b23c4d:
		nano = true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nano = binary.BigEndian, true
	default:
		return nil, nil, 0, 0, errors.New("not a classic pcap file")
	}
	skip, ok := map[uint32]int{1: 14, 113: 16, 276: 20, 0: 4, 12: 0, 101: 0}[bo.Uint32(hdr[20:])]
	if !ok {
		return nil, nil, 0, 0, fmt.Errorf("link type %d not handled", bo.Uint32(hdr[20:]))
	}
	last = map[key]int64{}
	rec := make([]byte, 16)
	buf := make([]byte, 65536)
	for {
		if _, err := io.ReadFull(f, rec); err == io.EOF {
			return last, gaps, packets, sound, nil
		} else if err != nil {
			return nil, nil, 0, 0, err
		}
		n := int(bo.Uint32(rec[8:]))
		if n > len(buf) {
			return nil, nil, 0, 0, fmt.Errorf("record of %d bytes", n)
		}
		if _, err := io.ReadFull(f, buf[:n]); err != nil {
			return nil, nil, 0, 0, err
		}
		frac := int64(bo.Uint32(rec[4:]))
		if !nano {
			frac *= 1000
		}
		t := int64(bo.Uint32(rec[0:]))*1e9 + frac
		k, payload, ok := rtp(buf[:n], skip)
		if !ok {
			continue
		}
		packets++
		if !silent(payload) {
			sound++
		}
		if prev, seen := last[k]; seen {
			gaps = append(gaps, float64(t-prev)/1e6)
		}
		last[k] = t
	}
}

// silent reports a captured payload of G.711 silence only.
func silent(p []byte) bool {
	for _, b := range p {
		if b != 0xff && b != 0x7f && b != 0xd5 && b != 0x55 {
			return false
		}
	}
	return true
}

// rtp finds the UDP 4-tuple of an IPv4 RTP packet after skip bytes of link
// header, and the captured part of its payload.
func rtp(p []byte, skip int) (key, []byte, bool) {
	if len(p) < skip+20 || p[skip]>>4 != 4 || p[skip+9] != 17 {
		return key{}, nil, false
	}
	ip := p[skip:]
	ihl := int(ip[0]&0x0f) * 4
	if len(ip) < ihl+8+12 {
		return key{}, nil, false
	}
	udp := ip[ihl:]
	if udp[8]>>6 != 2 || (udp[9] >= 200 && udp[9] <= 204) {
		return key{}, nil, false
	}
	var k key
	copy(k.src[:], ip[12:16])
	copy(k.dst[:], ip[16:20])
	k.sp = binary.BigEndian.Uint16(udp[0:])
	k.dp = binary.BigEndian.Uint16(udp[2:])
	return k, udp[8+12:], true
}
