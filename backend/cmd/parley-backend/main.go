// Command parley-backend runs the backend: admin REST, agent inbox and
// conversation engine. "parley-backend migrate" only applies migrations;
// "parley-backend seed FILE" creates the demo account; "parley-backend
// reset-password EMAIL [ACCOUNT_ID]" sets a new password read from standard
// input (or prints a generated one when the input is empty) and signs the
// user out (ACCOUNT_ID picks the user when several accounts have the email);
// "parley-backend create-account --company … --domains … --admin-email …"
// makes an account with its first admin and prints it as JSON. Serving on
// a database without accounts logs a one-time setup link instead.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/onboarding"
	"github.com/parleychat/parley/backend/internal/seed"
	"github.com/parleychat/parley/backend/internal/server"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/internal/localsock"
	"github.com/parleychat/parley/internal/logging"
	"github.com/parleychat/parley/internal/metrics"
	"github.com/parleychat/parley/internal/profiling"
	"github.com/parleychat/parley/internal/version"
	"github.com/parleychat/parley/migrations"
)

func main() {
	if v := arg(1); v == "--version" || v == "-version" || v == "version" {
		fmt.Println("parley-backend", version.Version)
		return
	}
	logging.Setup()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := server.FromEnv()
	var err error
	switch cmd := arg(1); cmd {
	case "", "serve":
		err = serve(ctx, cfg)
	case "migrate":
		err = migrate(ctx, cfg)
	case "seed":
		err = seedDemo(ctx, cfg, arg(2))
	case "reset-password":
		err = resetPassword(ctx, cfg, arg(2), arg(3))
	case "create-account":
		err = createAccount(ctx, cfg, os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
	default:
		err = fmt.Errorf("unknown command %q (serve, migrate, seed FILE, reset-password EMAIL [ACCOUNT_ID], create-account)", cmd)
	}
	if err != nil {
		slog.Error("parley-backend", "err", err)
		os.Exit(1)
	}
}

// resetPassword reads the new password from standard input, not the
// command line, so it stays out of shell history and the process list.
func resetPassword(ctx context.Context, cfg server.Config, email, account string) error {
	var accountID int64
	if account != "" {
		id, err := strconv.ParseInt(account, 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("the account id %q is not a number", account)
		}
		accountID = id
	}
	db, err := open(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	generated, err := inbox.ResetPasswordIn(ctx, store.New(db), email, accountID, strings.TrimRight(line, "\r\n"))
	if err != nil {
		return err
	}
	if generated != "" {
		fmt.Printf("New password for %s: %s\n", email, generated)
	} else {
		fmt.Printf("Password of %s changed; their sessions have ended.\n", email)
	}
	return nil
}

func arg(i int) string {
	if len(os.Args) > i {
		return os.Args[i]
	}
	return ""
}

func serve(ctx context.Context, cfg server.Config) error {
	profiling.StartFromEnv("BACKEND_PPROF_ADDR")
	if cfg.MetricsAddr == metrics.Off {
		metrics.Disable()
	}
	s, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	metrics.Serve(cfg.MetricsAddr, s.Metrics, map[string]http.Handler{"GET /readyz": s.Handler, "GET /healthz": s.Handler})
	slog.Info("backend starting", "version", version.Version)
	if _, err := onboarding.AnnounceSetup(ctx, s.Store, publicURL(cfg), slog.Default()); err != nil {
		slog.Warn("first-run setup link", "err", err)
	}
	srv := &http.Server{Addr: cfg.Addr, Handler: s.Handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- srv.ListenAndServe() }()
	slog.Info("backend listening", "addr", cfg.Addr)
	if cfg.Socket != "" {
		ln, err := localsock.Listen(cfg.Socket)
		if err != nil {
			return err
		}
		go func() { errc <- srv.Serve(ln) }()
		slog.Info("backend listening", "socket", cfg.Socket)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func open(cfg server.Config) (*sqlx.DB, error) {
	if cfg.DatabaseURL == "" {
		return nil, errors.New("DATABASE_URL is not set")
	}
	return sqlx.Open("postgres", cfg.DatabaseURL)
}

func migrate(ctx context.Context, cfg server.Config) error {
	db, err := open(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	ran, err := migrations.Apply(ctx, db.DB)
	for _, name := range ran {
		fmt.Println("applied", name)
	}
	return err
}

func seedDemo(ctx context.Context, cfg server.Config, credFile string) error {
	if credFile == "" {
		return errors.New("usage: parley-backend seed CREDENTIALS_FILE")
	}
	db, err := open(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := migrations.Apply(ctx, db.DB); err != nil {
		return err
	}
	d, err := seed.EnsureDemo(ctx, store.New(db), credFile)
	if err != nil {
		return err
	}
	fmt.Printf("site=%s api_key=%s agent=%s password=%s\n", d.Site, d.APIKey, d.AgentEmail, d.AgentPass)
	return nil
}
