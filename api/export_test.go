package api

// LenientUnescape lets the OpenAPI checker (openapicheck_test.go) read a
// query string as the server does.
var LenientUnescape = lenientUnescape
