package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/parleychat/parley/backend/internal/onboarding"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/server"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/migrations"
)

// defaultPublicURL is the edge's address when PUBLIC_URL is not set: its
// default listen address, as `make run` starts it.
const defaultPublicURL = "http://127.0.0.1:8080"

// PasswordEnv carries create-account's admin password when the flag does
// not (the flag shows in the process list; the environment does not).
const PasswordEnv = "PARLEY_ADMIN_PASSWORD"

func publicURL(cfg server.Config) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	return defaultPublicURL
}

// createAccount makes an account from flags, as the setup page does, and
// prints what it made as JSON: for automation and for operators hosting
// several accounts in one installation. The admin password comes from
// --admin-password, else $PARLEY_ADMIN_PASSWORD, else the first line of
// standard input.
func createAccount(ctx context.Context, cfg server.Config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("create-account", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var in onboarding.Input
	var domains, public string
	fs.StringVar(&in.Company, "company", "", "company name (required)")
	fs.StringVar(&domains, "domains", "", "the site's host names, comma-separated: where the chat may run (required)")
	fs.StringVar(&in.Timezone, "timezone", "UTC", "IANA time zone of office hours")
	fs.StringVar(&in.Language, "language", "en", "language of the chatflow: en, nl, de, fr or es")
	fs.StringVar(&in.AdminName, "admin-name", "", "the first admin's name (required)")
	fs.StringVar(&in.AdminEmail, "admin-email", "", "the first admin's email, their sign-in (required)")
	fs.StringVar(&in.AdminPassword, "admin-password", "", "the first admin's password (else $"+PasswordEnv+" or standard input)")
	fs.StringVar(&public, "public-url", publicURL(cfg), "the edge's public address, for the script tag (default $PUBLIC_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("create-account: unexpected argument %q", fs.Arg(0))
	}
	in.Domains = onboarding.SplitDomains(domains)
	if in.AdminPassword == "" {
		in.AdminPassword = os.Getenv(PasswordEnv)
	}
	if in.AdminPassword == "" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		in.AdminPassword = strings.TrimRight(line, "\r\n")
	}
	db, err := open(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := migrations.Apply(ctx, db.DB); err != nil {
		return err
	}
	res, err := onboarding.Create(ctx, store.New(db), in, onboarding.Options{PublicURL: public})
	var bad problem.Errors
	if errors.As(err, &bad) {
		for _, f := range bad {
			fmt.Fprintf(stderr, "--%s: %s\n", strings.ReplaceAll(f.Field, "_", "-"), f.Message)
		}
		return errors.New("create-account: nothing was created; see the messages above")
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(res)
}
