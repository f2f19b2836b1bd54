package storetest

import (
	"context"
	"testing"

	"xc5"
	"xc5/resource"
)

// Store is every contract of the domain a store implements: the
// provisioning store (package resource) and the capabilities the SIP
// service, the media service, the mail and webhook senders and the API
// need (package xc5). Run holds a store to all of them.
type Store interface {
	resource.Store
	resource.Onboarder
	xc5.RegistrarStore
	xc5.TrunkStore
	xc5.CDRStore
	xc5.ActiveCallCounter
	xc5.ReadFence
	xc5.AccountSummaries
	xc5.MediaStore
	xc5.MailOutbox
	xc5.MailLister
	xc5.MailboxStore
	xc5.RoomStore
	xc5.WebhookOutbox
	xc5.AuditLog
}

// AdminPassword is the password open must bootstrap the admin account
// with.
const AdminPassword = "store-admin-password-9"

// Run is the conformance suite: one subtest per promise of the contract,
// each on stores of its own.
//
// open returns a store on a new, empty database of its own, bootstrapped
// (the system accounts and admin with AdminPassword). again returns
// another store on the database s was opened on, while s is open (a
// second node of a cluster) or after it was closed (the node after a
// restart). Run closes every store it gets.
func Run(t *testing.T, open func(t testing.TB) Store, again func(t testing.TB, s Store) Store) {
	b := backend{openFn: open, againFn: again}
	for _, c := range suite {
		t.Run(c.name, func(t *testing.T) { c.fn(t, b) })
	}
}

// suite lists the subtests of Run, by the file that holds them.
var suite = []struct {
	name string
	fn   func(t *testing.T, b backend)
}{
	// suite_store.go
	{"ReopenKeepsWrites", testReopenKeepsWrites},
	{"NumberCRUD", testNumberCRUD},
	{"NumberUniqueness", testNumberUniqueness},
	{"ConcurrentSameNumber", testConcurrentSameNumber},
	{"Accounts", testAccounts},
	{"Scope", testScope},
	{"PasswordsStoredHashed", testPasswordsStoredHashed},
	{"CredentialsAccess", testCredentialsAccess},
	// suite_number.go
	{"NumberCreateAnswers", testNumberCreateAnswers},
	{"ConcurrentPutOfNewGUID", testConcurrentPutOfNewGUID},
	// suite_tenant.go
	{"NumberLimitConcurrent", testNumberLimitConcurrent},
	{"PoolNumberRace", testPoolNumberRace},
	{"AliasReturnRace", testAliasReturnRace},
	{"MoveReturnRace", testMoveReturnRace},
	// suite_text.go
	{"BadTextLookups", testBadTextLookups},
	// suite_onboard.go
	{"Onboard", testOnboard},
	{"OnboardTrail", testOnboardTrail},
	{"OnboardRefusedFileCostsNoHashes", testOnboardRefusedFileCostsNoHashes},
	// suite_session.go
	{"SessionsEndWithCredentials", testSessionsEndWithCredentials},
	{"CredentialsUnavailable", testCredentialsUnavailable},
	// suite_registration.go
	{"SIPCredentials", testSIPCredentials},
	{"LocalHA1", testLocalHA1},
	{"Registrations", testRegistrations},
	{"RegistrationsCascade", testRegistrationsCascade},
	{"PutRegistrationBatch", testPutRegistrationBatch},
	{"ContactCap", testContactCap},
	{"RegistrationsOtherPaths", testRegistrationsOtherPaths},
	{"RegistrationsTwoNodes", testRegistrationsTwoNodes},
	// suite_trunk.go
	{"Trunks", testTrunks},
	// suite_calls.go
	{"ActiveCalls", testActiveCalls},
	// suite_cdr.go
	{"AddCDRs", testAddCDRs},
	// suite_summaries.go
	{"AccountSummaries", testAccountSummaries},
	// suite_prompt.go
	{"PromptCreate", testPromptCreate},
	// suite_media.go
	{"VoicemailStore", testVoicemailStore},
	{"PromptAudioStore", testPromptAudioStore},
	{"MailClaim", testMailClaim},
	{"MailClaimTwoNodes", testMailClaimTwoNodes},
	// suite_mailbox.go
	{"MailboxPIN", testMailboxPIN},
	{"MailboxGreeting", testMailboxGreeting},
	{"VoicemailChanges", testVoicemailChanges},
	{"MailboxTimezone", testMailboxTimezone},
	// suite_room.go
	{"RoomClaims", testRoomClaims},
	// suite_webhook.go
	{"WebhookFanOut", testWebhookFanOut},
	{"WebhookCallEvents", testWebhookCallEvents},
	{"WebhookOrderLeases", testWebhookOrderLeases},
	{"WebhookOutboxSurvivesRestart", testWebhookOutboxSurvivesRestart},
	{"WebhookValidation", testWebhookValidation},
	{"WebhookVoicemailNew", testWebhookVoicemailNew},
	{"WebhookRegistrationChanged", testWebhookRegistrationChanged},
	// suite_webhook_scope.go
	{"WebhookUmsPinNotInTrailOrEvents", testWebhookUmsPinNotInTrailOrEvents},
	{"WebhookCallEventsPartitioned", testWebhookCallEventsPartitioned},
	{"WebhookWithoutSecret", testWebhookWithoutSecret},
	{"WebhookHydraEvents", testWebhookHydraEvents},
	// suite_audit.go
	{"AuditTrail", testAuditTrail},
	{"AuditMailboxAndAudio", testAuditMailboxAndAudio},
}

// backend opens the stores of one subtest.
type backend struct {
	openFn  func(t testing.TB) Store
	againFn func(t testing.TB, s Store) Store
}

// open opens a bootstrapped store on a fresh database, closed when the
// test ends.
func (b backend) open(t testing.TB) Store {
	t.Helper()
	s := b.openFn(t)
	t.Cleanup(func() { s.Close() })
	return s
}

// again opens another store on s's database, closed when the test ends.
func (b backend) again(t testing.TB, s Store) Store {
	t.Helper()
	s2 := b.againFn(t, s)
	t.Cleanup(func() { s2.Close() })
	return s2
}

var ctx = context.Background()
