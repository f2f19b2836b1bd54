package resource

// ParsedKey is where an Input carries its parsed forms (parsed.go), for
// the tests that look at an Input's fields alone.
const ParsedKey = parsedKey
