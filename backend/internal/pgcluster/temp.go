package pgcluster

import (
	"context"
	"os"
	"path/filepath"
)

// Temp is a throwaway cluster in a temporary folder, removed by Close.
type Temp struct {
	*Cluster
	root string
}

// StartTemp initialises and starts a fast throwaway cluster on a free port.
func StartTemp(ctx context.Context) (*Temp, error) {
	root, err := os.MkdirTemp("", "parley-pg-")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	c, err := New(filepath.Join(root, "data"), port)
	if err == nil {
		err = os.Chmod(root, 0o755)
	}
	if err == nil {
		err = c.Init()
	}
	if err == nil {
		err = c.Start(ctx, true)
	}
	if err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	return &Temp{Cluster: c, root: root}, nil
}

// Close stops the server and removes its folder.
func (t *Temp) Close() error {
	err := t.Stop()
	if rmErr := os.RemoveAll(t.root); err == nil {
		err = rmErr
	}
	return err
}
