package sipserver

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
	"xc5/routing"
)

// memCallStore is the in-memory call side of a memRegistry: its trunks,
// call detail records and count of active calls.
type memCallStore struct {
	mu     sync.Mutex
	trunks []xc5.Trunk
	cdrs   []xc5.CDR
	active map[string]map[string]time.Time // call ID -> account GUID -> expiry
	mails  []xc5.Mail
}

// The in-memory store has no conference rooms to share: every room is
// the first node's.
func (m *memCallStore) ClaimRoom(ctx context.Context, room, node string, ttl time.Duration) (string, error) {
	return node, nil
}
func (m *memCallStore) TakeRoom(ctx context.Context, room, from, node string, ttl time.Duration) (string, error) {
	return node, nil
}

// The in-memory store has no mailboxes.
func (m *memCallStore) ListVoicemail(ctx context.Context, account string, fn func(xc5.Voicemail) error) error {
	return nil
}
func (m *memCallStore) GetVoicemail(ctx context.Context, account, guid string, audio bool) (xc5.Voicemail, error) {
	return xc5.Voicemail{}, xc5.Errorf(xc5.ENOTFOUND, "no voicemail")
}
func (m *memCallStore) SetVoicemailStatus(ctx context.Context, account, guid, status string) error {
	return xc5.Errorf(xc5.ENOTFOUND, "no voicemail")
}
func (m *memCallStore) DeleteVoicemail(ctx context.Context, account, guid string) error {
	return xc5.Errorf(xc5.ENOTFOUND, "no voicemail")
}

func (m *memCallStore) QueueMail(ctx context.Context, mails []xc5.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mails = append(m.mails, mails...)
	return nil
}

func (m *memCallStore) Trunks(ctx context.Context) ([]xc5.Trunk, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]xc5.Trunk(nil), m.trunks...), nil
}

func (m *memCallStore) AddCDRs(ctx context.Context, recs []xc5.CDR) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cdrs = append(m.cdrs, recs...)
	return nil
}

func (m *memCallStore) AddActiveCall(ctx context.Context, callID, accountGUID string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.active == nil {
		m.active = map[string]map[string]time.Time{}
	}
	if m.active[callID] == nil {
		m.active[callID] = map[string]time.Time{}
	}
	if _, ok := m.active[callID][accountGUID]; !ok {
		m.active[callID][accountGUID] = expires
	}
	return nil
}

func (m *memCallStore) RemoveActiveCall(ctx context.Context, callID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.active, callID)
	return nil
}

func (m *memCallStore) RemoveActiveCallFor(ctx context.Context, callID, accountGUID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.active[callID], accountGUID)
	return nil
}

func (m *memCallStore) ActiveCalls(ctx context.Context, accountGUID string, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, accounts := range m.active {
		if exp, ok := accounts[accountGUID]; ok && exp.After(now) {
			n++
		}
	}
	return n, nil
}

// harnessView is a routing view with the memRegistry's reception (GUID
// "G-reception@…") owning 6491231234 and extension 600.
func harnessView() *routing.View {
	v := routing.NewView(routing.Defaults{CountryCode: "64"})
	v.SetAccount(resource.Record{GUID: "G-acmebrick", Values: map[string]any{"username": "acmebrick.x.co.nz", "enabled": true,
		"pickup_group": "Alpha"}}, routing.Rules{CallRules: []resource.Record{{GUID: "R1", Values: map[string]any{
		"order": int64(-2), "prefix_raw": "600", "username": reception}}}})
	v.SetAccount(resource.Record{GUID: "G-" + reception, Parent: "G-acmebrick", Values: map[string]any{"username": reception, "enabled": true,
		"cfna_duration": int64(1), "callerid": true}}, routing.Rules{Numbers: []resource.Record{{GUID: "N1", Parent: "G-" + reception, Values: map[string]any{"number": "6491231234"}}}})
	return v
}

// TestTortureCalls sends every torture message, the call ones among them
// (odd INVITEs from a carrier address, unknown dialogs, pickup codes from
// a carrier, garbage SDP), to a running PBX over UDP and TCP while a phone
// is registered; afterwards no call is left in progress and a normal call
// still goes through.
func TestTortureCalls(t *testing.T) {
	x := newPBX(t, Config{})
	x.trunk("", "", "")
	rec := x.phone(reception, password, "UDP")
	rec.behave(func(in *inbound) { in.reject(486, "Busy Here") })
	files := tortureFiles(t)
	udp, err := net.Dial("udp", x.srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	go func() {
		buf := make([]byte, 65536)
		for {
			udp.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := udp.Read(buf); err != nil {
				return
			}
		}
	}()
	for _, data := range files {
		udp.Write(data)
	}
	for _, data := range files {
		c, err := net.Dial("tcp", x.srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(data)
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		c.Read(make([]byte, 4096))
		c.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for x.srv.Calls() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := x.srv.Calls(); n != 0 {
		t.Fatalf("%d calls left in progress after the torture", n)
	}
	rec.behave(nil)
	car := x.carrier("6421555000")
	out := car.dial("6491231234")
	go rec.next(3 * time.Second).answer()
	out.answered(3 * time.Second)
	out.hangup()
	x.idle()
	if n := x.srv.ActiveCalls(x.ids[reception]); n != 0 {
		t.Fatalf("reception still counts %d active calls", n)
	}
}
