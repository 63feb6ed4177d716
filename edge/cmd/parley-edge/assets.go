package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// useEmbedded writes a release binary's embedded public and build folders
// to a private temporary folder and points s at it, unless the folders
// were named (PUBLIC_DIR, BUILD_DIR, -public, -build): then, as in a
// development build, those are served. It returns the folder to remove at
// exit ("" when nothing was written).
func useEmbedded(publicDir, buildDir *string) (string, error) {
	assets := releaseAssets()
	if assets == nil || os.Getenv("PUBLIC_DIR") != "" || os.Getenv("BUILD_DIR") != "" {
		return "", nil
	}
	named := false
	flag.Visit(func(f *flag.Flag) { named = named || f.Name == "public" || f.Name == "build" })
	if named {
		return "", nil
	}
	dir, err := os.MkdirTemp("", "parley-edge-assets-")
	if err != nil {
		return "", err
	}
	err = fs.WalkDir(assets, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := fs.ReadFile(assets, p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("writing the embedded assets: %w", err)
	}
	*publicDir, *buildDir = filepath.Join(dir, "public"), filepath.Join(dir, "build")
	return dir, nil
}
