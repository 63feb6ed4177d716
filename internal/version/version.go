// Package version holds the release version stamped into the binaries.
package version

// Version is set at link time by `make release`:
//
//	-ldflags "-X github.com/parleychat/parley/internal/version.Version=v1.2.3"
//
// A plain `go build` says "dev".
var Version = "dev"
