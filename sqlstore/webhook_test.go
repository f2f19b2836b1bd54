package sqlstore_test

import (
	"context"
)

var _ = context.Background
