package sqlstore_test

import (
	"bytes"
	"testing"

	"xc5/sqlstore"
	"xc5/storetest"
)

// BenchmarkImportDryRun measures the import's read path alone (the
// decoding of the dump and every row's checks, nothing written) on a
// dump of 10,000 accounts and 20,000 numbers. docs/benchmarks.md,
// "Bulk import".
//
//	go test -run '^$' -bench BenchmarkImportDryRun -benchmem -cpuprofile /tmp/imp.prof ./sqlstore/
func BenchmarkImportDryRun(b *testing.B) {
	be := storetest.Backends(b)[0]
	src := be.Open(b)
	defer src.Close()
	if err := src.Seed(ctx, 10000, 20000, "seed-pw"); err != nil {
		b.Fatal(err)
	}
	var dump bytes.Buffer
	if err := src.Export(ctx, &dump); err != nil {
		b.Fatal(err)
	}
	dst, err := sqlstore.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	b.SetBytes(int64(dump.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep, err := dst.ImportDump(ctx, bytes.NewReader(dump.Bytes()), sqlstore.ImportOptions{DryRun: true})
		if err != nil || rep.Rows["numbers"] != 20000 {
			b.Fatalf("dry run: %+v, %v", rep.Rows, err)
		}
	}
}
