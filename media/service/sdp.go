package service

import (
	"fmt"

	dmedia "github.com/emiago/diago/media"
	"github.com/emiago/diago/media/sdp"
)

// sdpDescription is what the service checks of an offer before answering:
// an audio stream with a G.711 codec (diago would accept an offer of
// telephone-event alone and then have no audio).
type sdpDescription struct {
	g711 bool
}

func (d *sdpDescription) parse(body []byte) error {
	sd := sdp.SessionDescription{}
	if err := sdp.Unmarshal(body, &sd); err != nil {
		return err
	}
	md, err := sd.MediaDescription("audio")
	if err != nil {
		return fmt.Errorf("no audio stream")
	}
	codecs := make([]dmedia.Codec, len(md.Formats))
	n, _ := dmedia.CodecsFromSDPRead(md.Formats, sd.Values("a"), codecs)
	for _, c := range codecs[:n] {
		if c.Matches(dmedia.CodecAudioUlaw) || c.Matches(dmedia.CodecAudioAlaw) {
			d.g711 = true
		}
	}
	return nil
}
