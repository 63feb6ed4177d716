package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

type mailOpts struct {
	mailpit string
	rounds  int
	emails  int
	alone   int
}

func mailFlags(fs *flag.FlagSet) *mailOpts {
	o := &mailOpts{}
	fs.StringVar(&o.mailpit, "mailpit", "bin/mailpit", "mail: the Mailpit binary (make deps-mailpit)")
	fs.IntVar(&o.rounds, "mail-rounds", 3, "mail: rounds without and with email, alternating (the medians are compared)")
	fs.IntVar(&o.emails, "mail-emails", 10000, "mail: emails queued for each round with email (more than it can send in a round)")
	fs.IntVar(&o.alone, "mail-alone", 4000, "mail: emails queued for the delivery rate without chat load")
	return o
}

// Targets of the email issue.
const (
	targetEmailsPerSec = 200
	targetEmailCost    = 0.05
)

// runMail measures what sending email costs the chat path: the saturated
// durable message rate through the real socket path (visitor sockets →
// edge → backend → agent socket, as the throughput step) in alternating
// rounds without email and with the backend's outbox delivering to a local
// Mailpit all through the round, side by side with the delivery rate; then
// the outbox's delivery rate with nothing else running. Every round runs
// with SMTP configured; only the queued emails differ. CPU seconds per
// second of each process over the measured window say where the time goes.
func runMail(ctx context.Context, d dirs, o *throughputOpts, mo *mailOpts) error {
	fmt.Println("== email beside the chat path: durable messages from visitor sockets to an agent socket, without and with the outbox sending")
	fmt.Println("   load average before:", loadavg())
	sys, err := startSystem(ctx, d)
	if err != nil {
		return err
	}
	defer sys.close()
	smtpPort, err := startMailpit(ctx, sys, mo.mailpit)
	if err != nil {
		return err
	}
	smtpEnv := []string{"SMTP_HOST=127.0.0.1", "SMTP_PORT=" + strconv.Itoa(smtpPort), "SMTP_TLS=none", "MAIL_FROM=bench@parley.test"}
	var without, with, emailRates []float64
	for r := range mo.rounds {
		for _, email := range []bool{false, true} {
			if email {
				if err := queueEmails(ctx, sys, mo.emails, "r"+strconv.Itoa(r)); err != nil {
					return err
				}
			}
			var cpu0, cpu1 cpuSample
			var sent0, sent1 int64
			var t0, t1 time.Time
			rate, err := saturated(ctx, sys, o, round{label: "e" + strconv.Itoa(r) + onOff(email), backendEnv: smtpEnv,
				measuring: func(be, edge *process, end bool) {
					s := sys.cpu(be, edge)
					n := sentEmails(ctx, sys)
					if end {
						cpu1, sent1, t1 = s, n, time.Now()
					} else {
						cpu0, sent0, t0 = s, n, time.Now()
					}
				}})
			if err != nil {
				return err
			}
			secs := t1.Sub(t0).Seconds()
			emails := float64(sent1-sent0) / secs
			line := fmt.Sprintf("   round %d, %-8s %6.0f msg/s", r+1, map[bool]string{false: "no email", true: "email"}[email]+":", rate)
			if email {
				with = append(with, rate)
				emailRates = append(emailRates, emails)
				line += fmt.Sprintf(", %4.0f emails/s delivered meanwhile", emails)
				var left int64
				sys.db.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE sent_at IS NULL`).Scan(&left)
				if left == 0 {
					line += " (the queue ran dry: queue more with -mail-emails)"
				}
				if _, err := sys.db.ExecContext(ctx, `DELETE FROM outbox WHERE sent_at IS NULL`); err != nil {
					return err
				}
			} else {
				without = append(without, rate)
				line += "                                  "
			}
			fmt.Printf("%s   CPU s/s: %s\n", line, cpu1.perSecond(cpu0, secs))
		}
	}
	if mo.rounds > 0 {
		mOff, mOn := median(without), median(with)
		cost := (mOff - mOn) / mOff
		fmt.Printf("   %d visitors × %d in flight, %v measured per round, median of %d rounds:\n", o.visitors, o.window, o.measure, mo.rounds)
		fmt.Printf("     without email: %6.0f msg/s   with email: %6.0f msg/s (%+.1f%%), %.0f emails/s delivered meanwhile\n",
			mOff, mOn, -100*cost, median(emailRates))
		fmt.Printf("     target: with email within %.0f%% of without: %s\n", 100*targetEmailCost, verdict(cost <= targetEmailCost))
	}

	// The outbox alone: how fast it empties a queue with nothing else running.
	if err := queueEmails(ctx, sys, mo.alone, "alone"); err != nil {
		return err
	}
	start := time.Now()
	be, err := sys.startBackend(ctx, smtpEnv...)
	if err != nil {
		return err
	}
	defer be.stop()
	cpu0 := sys.cpu(be, be)
	if err := waitUntil(ctx, 5*time.Minute, func() bool {
		var due bool // the outbox's own partial index answers this at once
		sys.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL)`).Scan(&due)
		return !due
	}); err != nil {
		return fmt.Errorf("the outbox did not drain: %w", err)
	}
	took := time.Since(start)
	cpu1 := sys.cpu(be, be)
	per := func(a, b int64) float64 { return float64(a-b) * 10000 / float64(mo.alone) } // ticks of 10 ms → µs per email
	fmt.Printf("   CPU per email delivered: backend %.0f µs, postgres %.0f µs, Mailpit %.0f µs, this process (polling) %.0f µs\n",
		per(cpu1.backend, cpu0.backend), per(cpu1.postgres, cpu0.postgres), per(cpu1.mailpit, cpu0.mailpit), per(cpu1.load, cpu0.load))
	alone := float64(mo.alone) / took.Seconds()
	var failed int64
	sys.db.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL`).Scan(&failed)
	fmt.Printf("   outbox alone: %d emails delivered to Mailpit in %.1fs (backend start included): %.0f emails/s, %d given up\n",
		mo.alone, took.Seconds(), alone, failed)
	fmt.Printf("     target ≥ %d emails/s: %s\n", targetEmailsPerSec, verdict(alone >= targetEmailsPerSec))
	fmt.Println("   load average after:", loadavg())
	return nil
}

// startMailpit runs Mailpit for the system (stopped with it) and returns its SMTP port.
func startMailpit(ctx context.Context, sys *system, bin string) (int, error) {
	smtpPort, httpPort := freeTCPPort(), freeTCPPort()
	cmd := exec.Command(bin, "--smtp", "127.0.0.1:"+strconv.Itoa(smtpPort), "--listen", "127.0.0.1:"+strconv.Itoa(httpPort),
		"--database", filepath.Join(sys.root, "mailpit.db"), "--disable-version-check", "--smtp-disable-rdns", "--quiet", "--max", "0")
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start mailpit (make deps-mailpit, or pass -mailpit): %w", err)
	}
	p := &process{name: "mailpit", cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	sys.mu.Lock()
	sys.procs = append(sys.procs, p)
	sys.mailpit = p
	sys.mu.Unlock()
	err := waitUntil(ctx, 20*time.Second, func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(smtpPort))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return smtpPort, err
}

func freeTCPPort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// queueEmails writes n due emails to the outbox in one statement, as the
// transactions that decide on email would have, each to its own address.
func queueEmails(ctx context.Context, sys *system, n int, tag string) error {
	_, err := sys.db.ExecContext(ctx, `INSERT INTO outbox (kind, message_id, recipient, subject, text_body, html_body)
		SELECT 'agent', '<bench-' || $2 || '-' || i || '@parley.test>', 'r' || i || '@bench.test', 'Bench email ' || i,
			'A bench email of about the size of a reply email.' || repeat(' Some words of a reply.', 20),
			'<p>A bench email of about the size of a reply email.</p>' || repeat('<p>Some words of a reply.</p>', 20)
		FROM generate_series(1, $1) AS i`, n, tag)
	return err
}

func sentEmails(ctx context.Context, sys *system) int64 {
	var n int64
	sys.db.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL`).Scan(&n)
	return n
}

// cpuSample is CPU time (user + system, clock ticks) used so far by the
// backend, the edge, PostgreSQL (every process of the cluster), Mailpit and
// this process (the load generator).
type cpuSample struct{ backend, edge, postgres, mailpit, load int64 }

func (s *system) cpu(be, edge *process) cpuSample {
	c := cpuSample{backend: cpuTicks(be.cmd.Process.Pid), edge: cpuTicks(edge.cmd.Process.Pid), load: cpuTicks(os.Getpid())}
	if s.mailpit != nil {
		c.mailpit = cpuTicks(s.mailpit.cmd.Process.Pid)
	}
	if b, err := os.ReadFile(filepath.Join(s.pg.Dir, "postmaster.pid")); err == nil {
		if pm, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])); err == nil {
			c.postgres = cpuTicks(pm)
			ents, _ := os.ReadDir("/proc")
			for _, e := range ents {
				pid, err := strconv.Atoi(e.Name())
				if err != nil {
					continue
				}
				if st := procStat(pid); len(st) > 12 && st[1] == strconv.Itoa(pm) {
					c.postgres += ticksOf(st)
				}
			}
		}
	}
	return c
}

func (c cpuSample) perSecond(before cpuSample, secs float64) string {
	f := func(a, b int64) float64 { return float64(a-b) / 100 / secs } // USER_HZ is 100 on Linux
	return fmt.Sprintf("backend %.2f edge %.2f postgres %.2f mailpit %.2f load %.2f", f(c.backend, before.backend), f(c.edge, before.edge),
		f(c.postgres, before.postgres), f(c.mailpit, before.mailpit), f(c.load, before.load))
}

// procStat returns /proc/PID/stat's fields after the command name: [0] is
// the state, [1] the parent, [11] and [12] utime and stime.
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

func ticksOf(st []string) int64 {
	u, _ := strconv.ParseInt(st[11], 10, 64)
	s, _ := strconv.ParseInt(st[12], 10, 64)
	return u + s
}

func cpuTicks(pid int) int64 {
	if st := procStat(pid); len(st) > 12 {
		return ticksOf(st)
	}
	return 0
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ") + " (1, 5, 15 min), " + strconv.Itoa(runtime.NumCPU()) + " cores"
}
