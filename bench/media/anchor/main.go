// Command anchor is the reference of the media benchmark (bench/media/run.sh):
// a diago server that answers every INVITE and plays one WAV with diago's own
// playback loop (AudioPlayback.Play), as media/service's BenchmarkMenuLegs
// does in process, so that sipp's load measures it exactly as it measures
// xc5's media node. With -read it also reads (and drops) the caller's RTP,
// which xc5's media node always does (for keys) and Play alone does not.
package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
)

func main() {
	host := flag.String("host", "127.0.0.1", "SIP host (UDP)")
	port := flag.Int("port", 15090, "SIP port (UDP)")
	wavFile := flag.String("wav", "prompt.wav", "WAV to play on every call")
	read := flag.Bool("read", false, "also read and drop the caller's audio")
	flag.Parse()
	data, err := os.ReadFile(*wavFile)
	if err != nil {
		log.Fatal(err)
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("anchor"))
	if err != nil {
		log.Fatal(err)
	}
	defer ua.Close()
	lg := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dg := diago.NewDiago(ua, diago.WithLogger(lg),
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: *host, BindPort: *port}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err = dg.Serve(ctx, func(d *diago.DialogServerSession) {
		med, err := d.Answer(diago.AnswerOptions{})
		if err != nil {
			return
		}
		if *read {
			if r, err := med.AudioReader(); err == nil {
				go drain(r)
			}
		}
		pb, err := med.PlaybackCreate()
		if err != nil {
			return
		}
		_, _ = pb.Play(bytes.NewReader(data), "audio/wav")
	})
	if err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}

// drain reads r until it fails (the call ended).
func drain(r io.Reader) {
	buf := make([]byte, 1500)
	for {
		if _, err := r.Read(buf); err != nil {
			return
		}
	}
}
