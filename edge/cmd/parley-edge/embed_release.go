//go:build release

package main

import (
	"embed"
	"io/fs"
)

// embedded holds public/ and build/ as `make release` copied them into
// embedded/ before compiling: a release edge needs no files beside it.
//
//go:embed embedded
var embedded embed.FS

// releaseAssets returns the embedded public and build folders.
func releaseAssets() fs.FS {
	sub, err := fs.Sub(embedded, "embedded")
	if err != nil {
		panic(err)
	}
	return sub
}
