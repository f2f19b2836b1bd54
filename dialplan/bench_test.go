package dialplan

import "testing"

// BenchmarkParse is what one parse of each grammar costs, for the values
// routing's BenchmarkRouteWrite writes: a write that parsed them several
// times paid this for each (docs/benchmarks.md, "a grammar parsed once per
// write").
func BenchmarkParse(b *testing.B) {
	b.Run("destination", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := ParseDestination("two@bw.test"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("digit_map", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := ParseDigitMap("1=one@bw.test,2=#2,3=6499990001,T=#1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("time_definition", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := ParseTimeDefinition("Mon-Fri 08:00-17:00,!Sat-Sun", nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
