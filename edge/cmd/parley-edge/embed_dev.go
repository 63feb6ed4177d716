//go:build !release

package main

import "io/fs"

// releaseAssets is nil in a development build: the edge reads the public
// and build folders (-public, -build).
func releaseAssets() fs.FS { return nil }
