// Command parley-precompress writes FILE.br, the best-quality brotli of
// FILE, for each FILE named. The edge serves such a sibling (once it has
// checked that it decodes to FILE) instead of spending seconds of CPU on
// quality 11 after every start (`make wasm` runs it on widget.wasm).
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/andybalholm/brotli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: parley-precompress FILE...")
		os.Exit(2)
	}
	for _, name := range os.Args[1:] {
		if err := precompress(name); err != nil {
			fmt.Fprintln(os.Stderr, "parley-precompress:", err)
			os.Exit(1)
		}
	}
}

func precompress(name string) error {
	body, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, brotli.BestCompression)
	if _, err := w.Write(body); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	// Written aside and renamed, so an interrupted build leaves no
	// half-written .br; a dot name, so an edge starting meanwhile skips it.
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".br.*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), name+".br"); err != nil {
		return err
	}
	fmt.Printf("%s.br: %d bytes (%s: %d)\n", name, buf.Len(), filepath.Base(name), len(body))
	return nil
}
