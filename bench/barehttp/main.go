// Command barehttp is the comparison server for docs/benchmarks.md: a plain
// net/http handler that answers every request with the same 200-byte JSON
// array as application/hal+json. It is the "bare Go handler" that the
// GET /api-sys/account/{guid} figure of issue 2 is measured against.
//
//	go run ./bench/barehttp --http 127.0.0.1:18081
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// body is a fixed JSON array of exactly 200 bytes.
var body = func() []byte {
	const head = `[{"guid":"2D3E1CCD-FBAC-4779-BA51-B9703DDB9D62","username":"seed-0.test","_links":{"self":{"href":"/api-sys/account/2D3E1CCD-FBAC-4779-BA51-B9703DDB9D62"}},"note":"`
	const tail = `"}]`
	pad := 200 - len(head) - len(tail)
	if pad < 0 {
		panic("body template longer than 200 bytes")
	}
	b := []byte(head + strings.Repeat("x", pad) + tail)
	if len(b) != 200 {
		panic("body is not 200 bytes")
	}
	return b
}()

func main() {
	addr := flag.String("http", "127.0.0.1:18081", "address to listen on")
	flag.Parse()
	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/hal+json")
		w.Header().Set("Content-Length", length)
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
