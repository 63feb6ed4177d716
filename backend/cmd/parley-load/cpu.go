package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// cpuTotals is CPU time in clock ticks (user + system; 100 a second on
// Linux) used so far by each kind of process of a system: "backend",
// "edge", "postgres" (the postmaster, every live process of the cluster,
// and the processes of it that have exited) and "load" (this process).
type cpuTotals map[string]int64

// cpuNow reads /proc for the system's backends, edges and PostgreSQL, and
// this process.
func (s *system) cpuNow() cpuTotals {
	t := cpuTotals{"load": cpuTicks(os.Getpid())}
	s.mu.Lock()
	procs := append([]*process(nil), s.procs...)
	s.mu.Unlock()
	for _, p := range procs {
		select {
		case <-p.done:
			continue
		default:
		}
		kind := strings.TrimPrefix(p.name, "parley-")
		t[kind] += cpuTicks(p.cmd.Process.Pid)
	}
	t["postgres"] = s.postgresTicks()
	return t
}

// postgresTicks is the CPU time of the whole cluster: the postmaster's own
// and that of its exited children (cutime, cstime: it waits for each), plus
// every live child's.
func (s *system) postgresTicks() int64 {
	b, err := os.ReadFile(filepath.Join(s.pg.Dir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	pm, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return 0
	}
	st := procStat(pm)
	if len(st) < 15 {
		return 0
	}
	var total int64
	for _, f := range st[11:15] { // utime, stime, cutime, cstime
		n, _ := strconv.ParseInt(f, 10, 64)
		total += n
	}
	ents, _ := os.ReadDir("/proc")
	parent := strconv.Itoa(pm)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st := procStat(pid); len(st) > 12 && st[1] == parent {
			total += ticksOf(st)
		}
	}
	return total
}

// perUnit returns microseconds of CPU per unit of work between two samples,
// by kind, and their sum over the server processes (the load generator
// not included).
func (t cpuTotals) perUnit(before cpuTotals, units float64) (map[string]float64, float64) {
	out := map[string]float64{}
	sum := 0.0
	for k, v := range t {
		us := float64(v-before[k]) * 10000 / max(units, 1) // a tick is 10 ms = 10,000 µs
		out[k] = us
		if k != "load" {
			sum += us
		}
	}
	return out, sum
}

// cpuLine formats perUnit's figures: servers first, then the sum, then the load generator.
func cpuLine(per map[string]float64, sum float64, unit string) string {
	var kinds []string
	for k := range per {
		if k != "load" {
			kinds = append(kinds, k)
		}
	}
	sort.Strings(kinds)
	var b strings.Builder
	for _, k := range kinds {
		fmt.Fprintf(&b, "%s %.0f, ", k, per[k])
	}
	fmt.Fprintf(&b, "summed %.0f µs of CPU per %s (the load generator: %.0f)", sum, unit, per["load"])
	return b.String()
}
