package service

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"xc5/media/conference"
	"xc5/media/prompts"
)

// ConferenceConfig configures conference rooms; zero fields take the
// defaults.
type ConferenceConfig struct {
	// MaxMembers is a room's size (50): one more hears a busy tone and
	// "Goodbye" and is hung up.
	MaxMembers int
	// Delay is each member's jitter buffer in 20 ms frames (2).
	Delay int
}

func (c ConferenceConfig) withDefaults() ConferenceConfig {
	if c.MaxMembers <= 0 {
		c.MaxMembers = 50
	}
	if c.Delay <= 0 {
		c.Delay = 2
	}
	return c
}

// rooms are the conference rooms of a media node, by room number. A room
// exists while it has members: the first to join makes it and starts its
// clock, the last to leave stops the clock and forgets it.
type rooms struct {
	mu    sync.Mutex
	rooms map[string]*conference.Room
}

// join adds a member to room, making the room if needed; nil when the room
// is full. first reports that the room was empty.
func (g *rooms) join(room string, cfg ConferenceConfig, codec conference.Codec, sink conference.Sink) (r *conference.Room, m *conference.Member, first bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r = g.rooms[room]
	if r == nil {
		if g.rooms == nil {
			g.rooms = map[string]*conference.Room{}
		}
		r = conference.NewRoom(conference.Config{Delay: cfg.Delay})
		g.rooms[room] = r
		first = true
	} else if r.Len() >= cfg.MaxMembers {
		return nil, nil, false
	}
	m = r.Join(codec, sink)
	r.Start()
	return r, m, first
}

// leave removes m from room; the last member's leaving releases the room
// (its clock's goroutine ends before leave returns). It reports whether
// members remain.
func (g *rooms) leave(room string, r *conference.Room, m *conference.Member) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r.Leave(m) > 0 {
		return true
	}
	if g.rooms[room] == r {
		delete(g.rooms, room)
	}
	r.Close()
	return false
}

func (g *rooms) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.rooms)
}

func (g *rooms) members(room string) int {
	g.mu.Lock()
	r := g.rooms[room]
	g.mu.Unlock()
	if r == nil {
		return 0
	}
	return r.Len()
}

// Rooms is the number of conference rooms with members on this node.
func (s *Service) Rooms() int { return s.rooms.count() }

// RoomMembers is the number of members in room on this node.
func (s *Service) RoomMembers(room string) int { return s.rooms.members(room) }

// conference joins the caller to its room until it hangs up, its RTP
// stops, or the leg's time cap: "You are the first participant" when the
// room was empty, a join tone to the others, *6 toggles the caller's mute
// (a low tone: muted; a high one: unmuted), and a leave tone to the others
// when it goes.
func (l *leg) conference(ctx context.Context) {
	dl, ok := l.c.(*diagoLeg)
	if !ok {
		return
	}
	cfg := l.s.cfg.Conference.withDefaults()
	rs := dl.roomStream()
	r, m, first := l.s.rooms.join(l.req.Room, cfg, rs.codec, rs)
	if m == nil {
		l.s.log.Info("media: conference room full", "room", l.req.Room, "max", cfg.MaxMembers)
		_, _ = l.c.play(ctx, slices.Concat(busyTone, system(prompts.Goodbye)), false)
		return
	}
	rs.start(m)
	l.s.log.Info("media: conference joined", "room", l.req.Room, "from", l.req.From, "first", first)
	defer func() {
		rs.stop()
		if l.s.rooms.leave(l.req.Room, r, m) {
			r.Announce(leaveTone, nil)
		}
		l.s.log.Info("media: conference left", "room", l.req.Room, "from", l.req.From)
	}()
	if first {
		m.Play(system(prompts.FirstParticipant))
	}
	r.Announce(joinTone, m)
	l.c.flushDigits()
	l.roomKeys(ctx, rs, m)
}

// roomKeys reads the member's keys until the leg ends: *6 toggles mute.
func (l *leg) roomKeys(ctx context.Context, rs *roomStream, m *conference.Member) {
	for {
		d, err := l.c.digit(ctx, time.Second)
		if err != nil {
			return
		}
		rs.check()
		if d != '*' {
			continue
		}
		if d, err = l.c.digit(ctx, l.s.cfg.Timeouts.InterDigit); err != nil {
			return
		}
		if d == '6' {
			if m.ToggleMute() {
				m.Play(mutedTone)
			} else {
				m.Play(unmutedTone)
			}
		}
	}
}

// The room's tones, synthesized (8 kHz, -12 dBFS, 10 ms ramps so that
// they do not click): rising for a join, falling for a leave, one low
// beep when muted, one high beep when unmuted, and a fast busy (480+620
// Hz, 3 × 250 ms on and off) for a full room.
var (
	joinTone    = slices.Concat(beep(660, 0, 100), beep(880, 0, 100))
	leaveTone   = slices.Concat(beep(880, 0, 100), beep(660, 0, 100))
	mutedTone   = beep(330, 0, 200)
	unmutedTone = beep(1320, 0, 200)
	busyTone    = slices.Concat(beep(480, 620, 250), make([]int16, 2000), beep(480, 620, 250), make([]int16, 2000),
		beep(480, 620, 250), make([]int16, 2000))
)

// beep is ms milliseconds of f1 (plus f2 when not 0) at -12 dBFS.
func beep(f1, f2 float64, ms int) []int16 {
	n := ms * 8
	s := make([]int16, n)
	const amp = 0.25 * 32767
	for i := range s {
		v := math.Sin(2 * math.Pi * f1 * float64(i) / 8000)
		if f2 != 0 {
			v = (v + math.Sin(2*math.Pi*f2*float64(i)/8000)) / 2
		}
		ramp := min(1, float64(i)/80, float64(n-1-i)/80)
		s[i] = int16(amp * v * ramp)
	}
	return s
}
