package sipserver

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"xc5/internal/poll"
)

const bobUser, bobPassword = "bob@other.test", "Bob-pw-4242"

// otherCompanyPhone provisions other.test with bob and registers bob.
func (x *pbx) otherCompanyPhone() *uaPhone {
	x.t.Helper()
	x.account("", `{"username":"other.test"}`)
	x.account("other.test", `{"username":"`+bobUser+`","password":"`+bobPassword+`"}`)
	poll.Until(x.t, 5*time.Second, "bob in the view", func() bool { return x.view.Account(bobUser) != nil })
	p, _ := x.mediaPhone(bobUser, bobPassword)
	return p
}

// TestCrossCompanyParkAndReplaces: a phone of another company can
// neither retrieve acmebrick's parked call (*701) nor take over one of
// its calls with an INVITE with Replaces; the caller stays parked.
func TestCrossCompanyParkAndReplaces(t *testing.T) {
	x := newMediaPBX(t, Config{})
	x.trunk("", "", "")
	bob := x.otherCompanyPhone()
	sal, _ := x.mediaPhone(sales, salesPassword)
	// Replaces naming reception's dialog.
	a := x.answeredCall()
	xc5Tag, _ := a.in.req.From().Params.Get("tag")
	recTag, _ := a.in.dlg.InviteResponse.To().Params.Get("tag")
	replaces := a.in.req.CallID().Value() + ";to-tag=" + recTag + ";from-tag=" + xc5Tag
	if res := bob.dial("6491231234", sip.NewHeader("Replaces", replaces)).result(5 * time.Second); res.StatusCode != sip.StatusForbidden {
		t.Errorf("another company's INVITE with Replaces: %d %s, want 403", res.StatusCode, res.Reason)
	}
	// An unauthenticated INVITE with Replaces (a carrier's source).
	car2, _ := x.mediaPhone("", "")
	car2.number = "6421555009"
	if res := car2.dial("6491231234", sip.NewHeader("Replaces", replaces)).result(5 * time.Second); res.StatusCode == sip.StatusOK {
		// a carrier's call is a new call to reception's DDI: it must not take reception's place
		if a.rec.saw("BYE", time.Second) {
			t.Errorf("a carrier's INVITE with Replaces hung reception up")
		}
	}
	if res := a.in.refer(t, "*70"); res.StatusCode != sip.StatusAccepted {
		t.Fatalf("REFER *70: %d %s", res.StatusCode, res.Reason)
	}
	a.rec.notified(t, "SIP/2.0 200 Parked *701", 10*time.Second)
	if res := bob.dial("*701").result(5 * time.Second); res.StatusCode != sip.StatusNotFound {
		t.Errorf("another company's *701: %d %s, want 404", res.StatusCode, res.Reason)
	}
	if res := sal.dial("*701").result(5 * time.Second); res.StatusCode != sip.StatusOK {
		t.Errorf("acmebrick's own *701 after bob's attempt: %d %s", res.StatusCode, res.Reason)
	}
}
