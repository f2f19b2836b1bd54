package sqlstore_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"xc5"
	"xc5/resource"
	"xc5/sqlstore"
	"xc5/storetest"
)

// TestDiskFull: on a full disk a SQLite store refuses writes as
// unavailable (503 to clients), never as an internal error, keeps
// answering reads, and writes again by itself once space is freed; every
// acknowledged write survives a reopen.
func TestDiskFull(t *testing.T) {
	dir := storetest.SmallFS(t, "2m")
	s, err := sqlstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	storetest.NewAccount(t, s, "full.test", "")
	var acked []string
	create := func(i int) error {
		number := fmt.Sprintf("64977%05d", i)
		_, _, err := s.Put(ctx, "", resource.Number, "full.test", "", resource.Input{"number": number, "cfa": fmt.Sprintf("%0200d", i)}, resource.Create)
		if err == nil {
			acked = append(acked, number)
		}
		return err
	}
	for i := 0; i < 10; i++ {
		if err := create(i); err != nil {
			t.Fatal(err)
		}
	}

	filler := storetest.Fill(t, dir)
	full := 0
	for i := 100; i < 400 && full < 20; i++ { // the WAL's free pages take some writes first
		if err := create(i); err != nil {
			if xc5.ErrorCode(err) != xc5.EUNAVAILABLE {
				t.Fatalf("write on a full disk: %v (code %q), want code %q", err, xc5.ErrorCode(err), xc5.EUNAVAILABLE)
			}
			full++
		}
	}
	if full == 0 {
		t.Fatal("no write failed on a full disk: the disk was not full")
	}
	if _, err := s.Get(ctx, "", resource.Account, "", "full.test"); err != nil {
		t.Errorf("read on a full disk: %v", err)
	}
	if got := storetest.List(t, s, "", resource.Number, resource.Query{Parent: "full.test"}); len(got) != len(acked) {
		t.Errorf("listed %d numbers on a full disk, want the %d acknowledged", len(got), len(acked))
	}

	time.Sleep(2500 * time.Millisecond) // checkpoints run meanwhile, and fail
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for i := 1000; ; i++ {
		err := create(i)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write succeeds 5 s after space was freed: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := 2000; i < 2050; i++ {
		if err := create(i); err != nil {
			t.Fatalf("write after space was freed: %v", err)
		}
	}

	s.Close()
	s, err = sqlstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, rec := range storetest.List(t, s, "", resource.Number, resource.Query{Parent: "full.test"}) {
		have[rec.Values["number"].(string)] = true
	}
	for _, n := range acked {
		if !have[n] {
			t.Errorf("acknowledged number %s lost", n)
		}
	}
}
