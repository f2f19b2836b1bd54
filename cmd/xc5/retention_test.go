package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestCDRRetentionFlag: a negative --cdr-retention is refused before
// anything starts, saying what the flag takes.
func TestCDRRetentionFlag(t *testing.T) {
	var stderr bytes.Buffer
	err := serve(context.Background(), []string{"--data", t.TempDir(), "--cdr-retention", "-1"}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--cdr-retention") {
		t.Fatalf("serve --cdr-retention -1: %v, want an error naming the flag", err)
	}
}
