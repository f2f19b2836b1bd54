package sqlstore

import (
	"xc5"
	"xc5/resource"
)

// The store implements the domain's contracts; these assertions keep it
// honest at compile time, so that the SIP service and the API can depend
// on the contracts alone (cmd/xc5 hands them this store).
var (
	_ resource.Store        = (*Store)(nil)
	_ xc5.RegistrarStore    = (*Store)(nil)
	_ xc5.TrunkStore        = (*Store)(nil)
	_ xc5.CDRStore          = (*Store)(nil)
	_ xc5.ActiveCallCounter = (*Store)(nil)
	_ xc5.ReadFence         = (*Store)(nil)
	_ xc5.MediaStore        = (*Store)(nil)
	_ xc5.MailOutbox        = (*Store)(nil)
	_ xc5.VoicemailStore    = (*Store)(nil)
	_ xc5.MailLister        = (*Store)(nil)
	_ xc5.MailboxStore      = (*Store)(nil)
)
