package main

import (
	"context"
	"errors"
	"io"
)

// apiCommand is replaced by the CLI client implementation.
func apiCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
