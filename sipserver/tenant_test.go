package sipserver

import (
	"context"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
)

// TestPartitionCannotTakeEmergencyNumber: a company with user-level API
// access (a partition) once could create the number 111 and so receive
// another company's emergency calls. Now the store refuses the number, and
// a phone of another company dialing 111 never rings the partition.
func TestPartitionCannotTakeEmergencyNumber(t *testing.T) {
	x := newPBX(t, Config{})
	const co = "acmebrick.x.co.nz"
	x.put(resource.AccountResource, co, "", `{"name":"api_access","value":"user"}`, resource.Create)
	root, err := x.store.Get(context.Background(), "", resource.Account, "", co)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := resource.Decode(resource.Number, []byte(`{"number":"111"}`))
	_, _, err = x.store.Put(context.Background(), resource.Scope(root.Path), resource.Number, reception, "", in, resource.Create)
	if xc5.ErrorCode(err) != xc5.EFORBIDDEN {
		t.Errorf("the partition creating 111: %v, want %s", err, xc5.EFORBIDDEN)
	}
	x.account("", `{"username":"beta.test"}`)
	x.account("beta.test", `{"username":"b1@beta.test","password":"B1-pw-123"}`)
	rec := x.phone(reception, password, "UDP")
	b1 := x.phone("b1@beta.test", "B1-pw-123", "UDP")
	out := b1.dial("111")
	rec.none(2 * time.Second)
	out.cancel()
}
