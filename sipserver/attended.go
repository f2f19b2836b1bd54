package sipserver

import "github.com/emiago/sipgo/sip"

// attended carries out a REFER with Replaces (RFC 3891).
func (b *b2bua) attended(c *call, x *end, replaces string, req *sip.Request, tx sip.ServerTransaction) {
	b.s.respond(tx, req, sip.StatusNotImplemented, "Attended Transfer Not Implemented")
}
