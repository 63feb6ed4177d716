package store_test

import (
	"testing"

	"github.com/parleychat/parley/backend/internal/dbtest"
)

// TestMain gives the package's tests one throwaway PostgreSQL cluster.
// (One TestMain per package: add tests to this package without another.)
func TestMain(m *testing.M) { dbtest.Main(m) }
