package sqlstore_test

import (
	"testing"

	"xc5/resource"
	"xc5/storetest"
)

// TestPromptCreate: an empty prompt gets the next recording code. The
// INSERT once named group_access twice (the code and the field's
// default), which PostgreSQL refuses.
func TestPromptCreate(t *testing.T) { forEachBackend(t, testPromptCreate) }

func testPromptCreate(t *testing.T, b storetest.Backend) {
	t.Parallel()
	s, _ := openStore(t, b)
	newAccount(t, s, "prompt.test", "")
	for _, want := range []string{"*2200101", "*2200102"} {
		rec := put(t, s, "", resource.Prompt, "prompt.test", "", resource.Input{"description": "greeting"}, resource.Create)
		if got := rec.Values["group_access"]; got != want {
			t.Errorf("group_access = %v, want %s", got, want)
		}
	}
}
