package storetest

import (
	"testing"

	"xc5/resource"
)

// testPromptCreate: an empty prompt gets the next recording code. The
// INSERT once named group_access twice (the code and the field's
// default), which PostgreSQL refuses.
func testPromptCreate(t *testing.T, b backend) {
	t.Parallel()
	s := b.open(t)
	NewAccount(t, s, "prompt.test", "")
	for _, want := range []string{"*2200101", "*2200102"} {
		rec := Put(t, s, "", resource.Prompt, "prompt.test", "", resource.Input{"description": "greeting"}, resource.Create)
		if got := rec.Values["group_access"]; got != want {
			t.Errorf("group_access = %v, want %s", got, want)
		}
	}
}
