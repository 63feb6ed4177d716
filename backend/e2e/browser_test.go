package e2e

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel context.CancelFunc
	browserErr    error
	userDataDir   string
)

// browser returns the one headless Chromium the package shares.
func browser(t *testing.T) context.Context {
	t.Helper()
	browserOnce.Do(func() {
		path, err := exec.LookPath("chromium")
		if err != nil {
			browserErr = err
			return
		}
		userDataDir, browserErr = os.MkdirTemp("", "parley-chromium-")
		if browserErr != nil {
			return
		}
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path),
			chromedp.UserDataDir(userDataDir),
			chromedp.Flag("headless", true),
			chromedp.Flag("no-sandbox", true),
			chromedp.Flag("disable-gpu", true),
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("no-first-run", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			// Host pages on names of their own (eu.shop.test, other.test),
			// all on this machine: origins differ by host, as real sites do.
			chromedp.Flag("host-resolver-rules", "MAP *.test 127.0.0.1"),
			chromedp.WindowSize(1280, 900),
		}
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(alloc)
		if err := chromedp.Do(ctx); err != nil { // starts the browser
			browserErr = err
			cancelCtx()
			cancelAlloc()
			return
		}
		browserCtx = ctx
		browserCancel = func() { cancelCtx(); cancelAlloc() }
	})
	if browserErr != nil {
		t.Fatalf("chromium: %v (make test installs Debian's chromium)", browserErr)
	}
	return browserCtx
}

// closeBrowser ends the shared browser; TestMain calls it.
func closeBrowser() {
	if browserCancel != nil {
		browserCancel()
	}
	if userDataDir != "" {
		os.RemoveAll(userDataDir)
	}
}

// Tab opens a tab in a browser context of its own (its own cookies and
// storage, like a separate person), closed when the test ends.
func Tab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser(t), chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// within bounds one browser step.
func within(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}
