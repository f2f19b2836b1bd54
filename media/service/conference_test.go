package service

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	dmedia "github.com/emiago/diago/media"

	"xc5/internal/audiotest"
	"xc5/media"
	"xc5/media/wav"
)

const testRoom = "6499290085"

// member calls the room from a phone of its own and sends a tone of freq
// for as long as the test runs.
func member(t *testing.T, s *Service, room string, freq float64) *phoneCall {
	t.Helper()
	c := newPhone(t).call(t, s, media.AppConference, media.Request{Room: room, From: fmt.Sprint(freq)})
	c.say(audiotest.Tone(freq, 8000, 8000*120, 0.2))
	return c
}

// memberPCMA is member with a phone that offers PCMA alone. The test
// phone's sender encodes µ-law, so this one sends its tone itself.
func memberPCMA(t *testing.T, s *Service, room string, freq float64) *phoneCall {
	t.Helper()
	c := newPhone(t, dmedia.CodecAudioAlaw, dmedia.CodecTelephoneEvent8000).call(t, s, media.AppConference,
		media.Request{Room: room, From: fmt.Sprint(freq)})
	if pt := dmedia.CodecAudioFromSession(c.med.MediaSession()).PayloadType; pt != 8 {
		t.Fatalf("payload type %d, want PCMA", pt)
	}
	c.quiet.Store(true)
	tone := audiotest.Tone(freq, 8000, 8000*120, 0.2)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		buf := make([]byte, frame)
		for k := 0; (k+1)*frame <= len(tone); k++ {
			select {
			case <-c.stop:
				return
			default:
			}
			for i, v := range tone[k*frame : (k+1)*frame] {
				buf[i] = wav.EncodeALaw(v)
			}
			if _, err := c.dw.Write(buf); err != nil {
				return
			}
		}
	}()
	return c
}

func waitMembers(t *testing.T, s *Service, room string, n int) {
	t.Helper()
	for range 400 {
		if s.RoomMembers(room) == n {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("room %s has %d members, want %d", room, s.RoomMembers(room), n)
}

// checkHears asserts that the 100 ms windows of what c received during
// the next d hold each of want (three in four of them at least: on a
// loaded machine a sender's packets come late now and then, and the
// mixer rightly plays silence for them) and none of not (not one).
func checkHears(t *testing.T, calls []*phoneCall, d time.Duration, want [][]float64, not []float64) {
	t.Helper()
	from := make([]int, len(calls))
	for i, c := range calls {
		from[i] = len(c.heardAudio())
	}
	time.Sleep(d)
	for i, c := range calls {
		h := c.heardAudio()[from[i]:]
		if len(h) < int(d.Seconds()*8000)/2 { // audio flows (half of it: the machine is shared)
			t.Fatalf("member %d received %d samples in %v", i, len(h), d)
		}
		windows, missing := 0, map[float64]int{}
		for w := 0; w+800 <= len(h); w += 800 {
			win := h[w : w+800]
			windows++
			for _, f := range want[i] {
				if !audiotest.Has(win, 8000, f) {
					missing[f]++
				}
			}
			if audiotest.Has(win, 8000, not[i]) {
				t.Fatalf("member %d, window %d: hears its own %v Hz", i, w/800, not[i])
			}
		}
		for f, n := range missing {
			if 4*n > windows {
				t.Fatalf("member %d: %v Hz missing in %d of %d windows", i, f, n, windows)
			}
		}
	}
}

// TestConferenceRoom: the first member hears "You are the first
// participant", then silence; three members (one on PCMA) each hear
// exactly the two others, never themselves; a fourth who joins is heard while there and
// not after it leaves; the room is released when the last one leaves.
func TestConferenceRoom(t *testing.T) {
	s := startService(t, newMemStore(), Timeouts{})
	a := member(t, s, testRoom, 500)
	waitMembers(t, s, testRoom, 1)
	time.Sleep(2500 * time.Millisecond)
	alone := a.heardAudio()
	if len(alone) < 8000*2 || audiotest.Energy(alone[:8000*3/2]) < 1e-4 {
		t.Fatal("the first member did not hear the first-participant prompt")
	}
	if e := audiotest.Energy(alone[len(alone)-2400:]); e > 1e-6 {
		t.Fatalf("the member alone hears %g, not silence", e)
	}

	b, c := member(t, s, testRoom, 1000), memberPCMA(t, s, testRoom, 1500)
	waitMembers(t, s, testRoom, 3)
	if s.Rooms() != 1 {
		t.Fatalf("%d rooms", s.Rooms())
	}
	time.Sleep(time.Second) // join tones over
	three := []*phoneCall{a, b, c}
	checkHears(t, three, 2*time.Second, [][]float64{{1000, 1500}, {500, 1500}, {500, 1000}}, []float64{500, 1000, 1500})

	d := member(t, s, testRoom, 2000)
	waitMembers(t, s, testRoom, 4)
	for _, x := range three {
		x.waitHear(2000, true)
	}
	time.Sleep(500 * time.Millisecond)
	checkHears(t, []*phoneCall{a, d}, time.Second, [][]float64{{1000, 1500, 2000}, {500, 1000, 1500}}, []float64{500, 2000})
	d.hangup()
	waitMembers(t, s, testRoom, 3)
	for _, x := range three {
		waitGone(t, x, 2000)
	}
	time.Sleep(500 * time.Millisecond)
	checkHears(t, three, time.Second, [][]float64{{1000, 1500}, {500, 1500}, {500, 1000}}, []float64{500, 1000, 1500})

	for _, x := range three {
		x.hangup()
	}
	waitRoomsReleased(t, s)
}

// waitRoomsReleased waits until the service has no room, no leg and no
// room clock left.
func waitRoomsReleased(t *testing.T, s *Service) {
	t.Helper()
	waitLegs(t, s)
	if n := s.Rooms(); n != 0 {
		t.Fatalf("Rooms() = %d after every member left", n)
	}
	buf := make([]byte, 1<<22)
	if st := string(buf[:runtime.Stack(buf, true)]); strings.Contains(st, "conference.(*Room).run") {
		t.Fatal("a room clock still runs after its room emptied")
	}
}

// waitGone waits until the last 100 ms c received lacks freq (waitHear
// with present false needs to see the tone first).
func waitGone(t *testing.T, c *phoneCall, freq float64) {
	t.Helper()
	for range 1000 {
		if h := c.heardAudio(); len(h) >= 800 && !audiotest.Has(h[len(h)-800:], 8000, freq) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%v Hz still heard after 20 s", freq)
}

// TestConferenceMute: *6 (RFC 4733 or SIP INFO) mutes a member, whom the
// others stop hearing while it still hears them; *6 again unmutes.
func TestConferenceMute(t *testing.T) {
	for _, by := range []string{"rfc4733", "info"} {
		t.Run(by, func(t *testing.T) {
			s := startService(t, newMemStore(), Timeouts{})
			a, b, c := member(t, s, testRoom, 500), member(t, s, testRoom, 1000), member(t, s, testRoom, 1500)
			waitMembers(t, s, testRoom, 3)
			b.waitHear(500, true)
			press := func() {
				if by == "rfc4733" {
					a.keys("*6")
					return
				}
				for _, k := range []string{"*", "6"} {
					if err := a.info("application/dtmf-relay", "Signal="+k+"\r\nDuration=160\r\n"); err != nil {
						t.Fatal(err)
					}
				}
			}
			press()
			waitGone(t, b, 500)
			waitGone(t, c, 500)
			time.Sleep(300 * time.Millisecond) // the mute tone is over
			checkHears(t, []*phoneCall{a, b}, time.Second, [][]float64{{1000, 1500}, {1500}}, []float64{500, 500})
			press()
			b.waitHear(500, true)
			c.waitHear(500, true)
		})
	}
}

// TestConferenceFull: one more than MaxMembers hears a busy tone and is
// hung up; the members stay.
func TestConferenceFull(t *testing.T) {
	s, err := New(Config{Addr: "127.0.0.1:0", Store: newMemStore(), Log: testLog(t), Conference: ConferenceConfig{MaxMembers: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	member(t, s, testRoom, 500)
	member(t, s, testRoom, 1000)
	waitMembers(t, s, testRoom, 2)
	extra := member(t, s, testRoom, 1500)
	if r := extra.bye(); r != (media.Result{}) {
		t.Fatalf("result %+v", r)
	}
	if runs, _ := toneRuns(extra.heardAudio(), 620); runs < 2 {
		t.Fatalf("the refused member heard %d busy tone bursts", runs)
	}
	if n := s.RoomMembers(testRoom); n != 2 {
		t.Fatalf("%d members after a refusal", n)
	}
}

// TestConferenceLeave: a member leaves when it hangs up and when its RTP
// stops (RTPIdle); the other hears the leave, and the room goes with its
// last member.
func TestConferenceLeave(t *testing.T) {
	for _, tc := range []struct {
		name  string
		leave func(c *phoneCall)
	}{
		{"hang up", func(c *phoneCall) { c.hangup() }},
		{"RTP stops", func(c *phoneCall) { c.quiet.Store(true); c.bye() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startService(t, newMemStore(), Timeouts{RTPIdle: time.Second})
			a, b := member(t, s, testRoom, 500), member(t, s, testRoom, 1000)
			waitMembers(t, s, testRoom, 2)
			a.waitHear(1000, true)
			tc.leave(b)
			waitMembers(t, s, testRoom, 1)
			waitGone(t, a, 1000)
			time.Sleep(500 * time.Millisecond) // the leave tone
			if _, w := toneRuns(a.heardAudio(), 660); w == 0 {
				t.Error("the member who stayed heard no leave tone")
			}
			a.hangup()
			waitRoomsReleased(t, s)
		})
	}
}

// TestConferenceServiceClose: closing the service ends every member's leg
// with its BYE and releases the rooms.
func TestConferenceServiceClose(t *testing.T) {
	s := startService(t, newMemStore(), Timeouts{})
	a, b := member(t, s, testRoom, 500), member(t, s, "other-room", 1000)
	waitMembers(t, s, testRoom, 1)
	waitMembers(t, s, "other-room", 1)
	if n := s.Rooms(); n != 2 {
		t.Fatalf("%d rooms", n)
	}
	go s.Close()
	a.bye()
	b.bye()
	waitRoomsReleased(t, s)
}
