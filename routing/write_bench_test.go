package routing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"xc5/resource"
	"xc5/routing"
	"xc5/storetest"
)

// The write path as the API runs it for one PUT, without HTTP: decoding
// and checking the body (resource.Decode), the trunk-zero check, the
// store's write (reference checks in the transaction, the commit) and the
// view's update before the write returns. Each iteration writes one record
// again with the other of two bodies, so that every grammar value changes.
// docs/benchmarks.md, "Issue 12: a grammar parsed once per write".

// writeBench is a store with a following view, and the write of the API.
type writeBench struct {
	store resource.Store
	view  *routing.View
}

func newWriteBench(b *testing.B) *writeBench {
	store := storetest.Open(b, "pw")
	v := routing.NewView(routing.Defaults{Location: time.UTC, CountryCode: "64"})
	v.Follow(store)
	if err := v.Load(context.Background(), store); err != nil {
		b.Fatal(err)
	}
	return &writeBench{store: store, view: v}
}

// put writes body as api's put does.
func (w *writeBench) put(b *testing.B, scope resource.Scope, r *resource.Resource, parent, id, body string, mode resource.PutMode) resource.Record {
	in, err := resource.Decode(r, []byte(body))
	if err == nil {
		err = w.view.RefuseTrunkZero(r, in)
	}
	var rec resource.Record
	if err == nil {
		rec, _, err = w.store.Put(context.Background(), scope, r, parent, id, in, mode)
	}
	if err != nil {
		b.Fatalf("%s %s: %v", r.Name, body, err)
	}
	return rec
}

// BenchmarkRouteWrite: a partition's route (a menu with a destination, a
// digit_map and a time_definition), written again and again.
func BenchmarkRouteWrite(b *testing.B) {
	w := newWriteBench(b)
	root := w.put(b, "", resource.Account, "", "", `{"username":"bw.test"}`, resource.Create)
	one := w.put(b, "", resource.Account, "", "", `{"username":"one@bw.test","parent":"bw.test"}`, resource.Create)
	w.put(b, "", resource.Account, "", "", `{"username":"two@bw.test","parent":"bw.test"}`, resource.Create)
	scope := resource.Scope(root.Path)
	bodies := [2]string{
		`{"order":-3,"destination":"two@bw.test","menu_level":1,"digit_map":"1=one@bw.test,2=#2,3=6499990001,T=#1","time_definition":"Mon-Fri 08:00-17:00,!Sat-Sun"}`,
		`{"order":-3,"destination":"one@bw.test","menu_level":1,"digit_map":"1=two@bw.test,2=#2,3=6499990002,T=#1","time_definition":"Mon-Fri 08:30-17:30,!Sat-Sun"}`,
	}
	guid := w.put(b, scope, resource.Route, one.GUID, "", bodies[1], resource.Create).GUID
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.put(b, scope, resource.Route, one.GUID, guid, bodies[i%2], resource.Upsert)
	}
}

// BenchmarkTimeSetWrite: one of 50 time sets, written again and again.
func BenchmarkTimeSetWrite(b *testing.B) {
	w := newWriteBench(b)
	for i := 0; i < 50; i++ {
		w.put(b, "", resource.TimeDefinition, "", "", fmt.Sprintf(`{"name":"set%d","dates":"2030-01-%02d,2030-02-01..2030-02-%02d","definition":"Sat-Sun 09:00-1%d:00"}`, i, i%28+1, i%28+1, i%10), resource.Create)
	}
	bodies := [2]string{
		`{"dates":"2030-12-25,2030-12-26..2031-01-02","definition":"Mon-Fri 12:00-13:00,Sat 09:00-12:00"}`,
		`{"dates":"2030-12-24,2030-12-27..2031-01-03","definition":"Mon-Fri 12:30-13:30,Sat 09:30-12:30"}`,
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.put(b, "", resource.TimeDefinition, "", "set7", bodies[i%2], resource.Patch)
	}
}
