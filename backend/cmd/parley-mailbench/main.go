// Command parley-mailbench measures the email outbox: how fast it delivers
// to a local Mailpit, and what it costs the chat path. It starts a
// throwaway PostgreSQL (fsync on) and a Mailpit, then runs the same
// message-append load twice, side by side: without email, and while the
// outbox delivers a queue of emails (and the reply job turns the agents'
// answers into more). `make bench` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"

	"github.com/parleychat/parley/backend/chatflow"
	"github.com/parleychat/parley/backend/mail"
	"github.com/parleychat/parley/backend/pgcluster"
	"github.com/parleychat/parley/backend/store"
	"github.com/parleychat/parley/migrations"
)

func main() {
	mailpit := flag.String("mailpit", "bin/mailpit", "the mailpit binary")
	dur := flag.Duration("d", 8*time.Second, "length of each measured phase")
	emails := flag.Int("emails", 4000, "emails queued for the phase with email")
	writers := flag.Int("writers", 64, "concurrent message writers")
	flag.Parse()
	slog.SetLogLoggerLevel(slog.LevelWarn)
	if err := run(*mailpit, *dur, *emails, *writers); err != nil {
		fmt.Fprintln(os.Stderr, "parley-mailbench:", err)
		os.Exit(1)
	}
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func run(mailpitBin string, d time.Duration, nEmails, writers int) error {
	ctx := context.Background()
	root, err := os.MkdirTemp("", "parley-mailbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	if err := os.Chmod(root, 0o755); err != nil {
		return err
	}
	port, err := pgcluster.FreePort()
	if err != nil {
		return err
	}
	pg, err := pgcluster.New(filepath.Join(root, "data"), port)
	if err != nil {
		return err
	}
	if err := pg.Init(); err != nil {
		return err
	}
	if err := pg.Start(ctx, false); err != nil { // fsync on
		return err
	}
	defer pg.Stop()
	if err := pg.CreateDatabase(ctx, "parley"); err != nil {
		return err
	}
	db, err := sqlx.Open("postgres", pg.URL("parley"))
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(80)
	db.SetMaxIdleConns(80)
	defer db.Close()
	if _, err := migrations.Apply(ctx, db.DB); err != nil {
		return err
	}
	st := store.New(db)

	smtpPort, httpPort := freePort(), freePort()
	mp := exec.Command(mailpitBin, "--smtp", "127.0.0.1:"+strconv.Itoa(smtpPort), "--listen", "127.0.0.1:"+strconv.Itoa(httpPort),
		"--database", filepath.Join(root, "mailpit.db"), "--disable-version-check", "--smtp-disable-rdns", "--quiet", "--max", "0")
	if err := mp.Start(); err != nil {
		return fmt.Errorf("start mailpit (make deps-mailpit): %w", err)
	}
	defer func() { mp.Process.Kill(); mp.Wait() }()
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(smtpPort)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mailpit did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}

	convs, agentID, err := seed(ctx, st, 200)
	if err != nil {
		return err
	}
	fmt.Printf("mail bench: PostgreSQL (fsync on) and Mailpit on this machine, %d writers, %v a phase\n", writers, d)

	base := appendLoad(st, convs, agentID, writers, d, "a")

	svc := mail.New(st, mail.Config{Host: "127.0.0.1", Port: smtpPort, TLS: mail.TLSNone, From: "bench@parley.test",
		ReplyDelay: time.Second, PollEvery: 100 * time.Millisecond, PerAddress: 1000})
	for i := range nEmails {
		e := &store.OutboxEmail{Kind: store.MailAgent, MessageID: svc.NewMessageID(), Recipient: "r" + strconv.Itoa(i) + "@bench.test",
			Subject: "Bench " + strconv.Itoa(i), TextBody: "A bench email.\n", HTMLBody: "<p>A bench email.</p>"}
		if _, err := st.EnqueueEmail(ctx, e, store.MailLimit{}); err != nil {
			return err
		}
	}
	start := time.Now()
	stop := svc.Start()
	with := appendLoad(st, convs, agentID, writers, d, "b")
	var drained time.Duration
	for {
		sent, waiting, _, err := st.OutboxCounts(ctx)
		if err != nil {
			return err
		}
		if waiting == 0 && sent >= int64(nEmails) {
			drained = time.Since(start)
			break
		}
		if time.Since(start) > 5*time.Minute {
			return fmt.Errorf("outbox not drained after 5 minutes (%d sent)", sent)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	sent, _, failed, _ := st.OutboxCounts(ctx)
	rate := float64(sent) / drained.Seconds()
	fmt.Printf("| what | without email | with email | target |\n| --- | --- | --- | --- |\n")
	fmt.Printf("| message appends/s (store path: group commit, %d writers) | %.0f | %.0f (%.1f%%) | within 5%% |\n",
		writers, base, with, 100*(with-base)/base)
	fmt.Printf("| emails delivered/s to Mailpit (%d sent, %d given up, outbox drained in %.1f s) | — | %.0f | ≥ 200 |\n",
		sent, failed, drained.Seconds(), rate)
	return nil
}

// seed makes an account, an inbox, a chatflow, an agent and n
// conversations whose visitors left an address.
func seed(ctx context.Context, st *store.Store, n int) ([]int64, int64, error) {
	acct := &store.Account{Name: "Bench"}
	if err := st.CreateAccount(ctx, acct); err != nil {
		return nil, 0, err
	}
	u := &store.User{AccountID: acct.ID, Email: "agent@bench.test", Name: "Agent", HasSeat: true}
	if err := st.CreateUser(ctx, u); err != nil {
		return nil, 0, err
	}
	in := &store.Inbox{AccountID: acct.ID, Name: "Support", HasChatChannel: true}
	if err := st.CreateInbox(ctx, in); err != nil {
		return nil, 0, err
	}
	cf := chatflow.Default()
	cf.Name, cf.InboxID, cf.Enabled = "Web", in.ID, true
	row, err := cf.Row(acct.ID)
	if err != nil {
		return nil, 0, err
	}
	if err := st.CreateChatflow(ctx, row); err != nil {
		return nil, 0, err
	}
	var convs []int64
	for i := range n {
		_, v, err := st.CreateVisitor(ctx, acct.ID)
		if err != nil {
			return nil, 0, err
		}
		c, _, err := st.CreateConversation(ctx, store.NewConversation{AccountID: acct.ID, ChatflowID: row.ID, InboxID: in.ID,
			VisitorID: v.ID, PageURL: "https://bench.test/"})
		if err != nil {
			return nil, 0, err
		}
		if err := st.ClaimEmail(ctx, acct.ID, v.ID, c.ID, "visitor"+strconv.Itoa(i)+"@bench.test"); err != nil {
			return nil, 0, err
		}
		convs = append(convs, c.ID)
	}
	return convs, u.ID, nil
}

// appendLoad appends messages (visitors' and, one in four, the agent's)
// from writers goroutines for d and returns appends per second.
func appendLoad(st *store.Store, convs []int64, agentID int64, writers int, d time.Duration, phase string) float64 {
	var n atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for w := range writers {
		wg.Go(func() {
			for i := 0; time.Now().Before(end); i++ {
				m := store.NewMessage{ConversationID: convs[(w*7+i)%len(convs)], ClientID: phase + strconv.Itoa(w) + "-" + strconv.Itoa(i),
					AuthorType: store.AuthorVisitor, Body: "Hello, a bench message."}
				if i%4 == 3 {
					m.AuthorType, m.AuthorID = store.AuthorAgent, agentID
				}
				if _, _, err := st.AppendMessage(context.Background(), m); err == nil {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}
