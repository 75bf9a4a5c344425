package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/client"
)

// simAgent is a running `phalanx agent --sim-nodes` process.
type simAgent struct {
	cmd   *exec.Cmd
	pprof string // profiling address, see benchProfileEnv
}

// startSimAgent runs `phalanx agent --sim-nodes n --sim-gpus gpus` against
// servers and waits until all n nodes are registered.
func startSimAgent(t testing.TB, bin, dir, servers string, n, gpus int) *simAgent {
	t.Helper()
	var log bytes.Buffer
	// Simulated nodes keep a data directory each (node ID, empty logs):
	// on tmpfs when there is one, since thousands of file creations on
	// this VM's disk cost the agent more CPU than everything else.
	data := filepath.Join(dir, "sim-agent")
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		shm, err := os.MkdirTemp("/dev/shm", "phalanx-sim-")
		if err == nil {
			data = shm
			t.Cleanup(func() { os.RemoveAll(shm) })
		}
	}
	cmd := exec.Command(bin, "agent", "--server", servers, "--sim-nodes", fmt.Sprint(n), "--sim-gpus", fmt.Sprint(gpus),
		"--name", "sim", "--data-dir", data, "--http-addr", freeAddr(t), "--heartbeat-interval", "5s")
	cmd.Stdout, cmd.Stderr = &log, &log
	sa := &simAgent{cmd: cmd}
	if os.Getenv(benchProfileEnv) != "" {
		sa.pprof = freeAddr(t)
		cmd.Env = append(os.Environ(), "PHALANX_PPROF_ADDR="+sa.pprof)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("sim agent log:\n%s", log.String())
		}
	})
	cl := client.New(servers)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		nodes, err := cl.Nodes(context.Background())
		if err == nil && len(nodes) == n {
			return sa
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d simulated nodes registered: %v", len(nodes), n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func simJob(name string, count, gpus int, gang bool, duration string) []byte {
	return []byte(fmt.Sprintf(`apiVersion: phalanx/v1
kind: Job
metadata: {name: %s}
spec:
  gang: %v
  groups:
    - name: w
      count: %d
      task: {image: none, env: {SIM_DURATION: %q}, resources: {cpu: 1, memory: 1Gi, gpus: %d}}
`, name, gang, count, duration, gpus))
}

// A 20-node x 8-GPU gang on 20 simulated nodes of 8 GPUs: it must span
// every node, and it runs to success through the real servers.
func TestSimulatedNodesRunAGang(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	bin := buildPhalanx(t, dir)
	c := startHACluster(t, bin, dir, 1)
	startSimAgent(t, bin, dir, c.addrs(), 20, 8)
	cl := client.New(c.addrs())
	st, err := cl.SubmitJob(context.Background(), "gang.yaml", simJob("big-gang", 20, 8, true, "300ms"), "")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for !st.State.Terminal() {
		if time.Now().After(deadline) {
			t.Fatalf("gang not done: %s %s", st.State, st.Reason)
		}
		time.Sleep(100 * time.Millisecond)
		if st, err = cl.Job(context.Background(), st.ID); err != nil {
			t.Fatal(err)
		}
	}
	if st.State != api.JobSucceeded {
		t.Fatalf("gang %s: %s", st.State, st.Reason)
	}
	nodes := map[string]bool{}
	for _, a := range st.Allocations {
		nodes[a.Node] = true
		if len(a.GPUs) != 8 {
			t.Fatalf("member %d holds %d GPUs", a.Index, len(a.GPUs))
		}
	}
	if len(nodes) != 20 {
		t.Fatalf("the gang used %d nodes, want all 20", len(nodes))
	}
}

// BenchmarkSimThroughput measures the control plane the way the issue
// asks: three server processes and one agent process with 5,000 simulated
// nodes of 8 GPUs, all on this machine.
//
// Throughput: 8 clients submit 380 jobs of 100 single-GPU tasks (38,000
// placements, 95% of the cluster) as fast as the servers take them; it
// reports jobs submitted per second and task placements committed per
// second, from the first submission until every GPU is held (read from
// GET /v1/queues, which is cheap). It fills the cluster twice, cancelling
// everything in between, and measures the second fill, a cluster in its
// steady state; the first, a cluster that just started, is reported as
// cold-placements/s.
//
// Latency: once those are cancelled, one client submits single-task
// jobs open-loop at 1,000 a second for 5 s (each job due at its time
// whatever happened to the ones before), and the benchmark reports the
// rate offered and the rate acknowledged, the submit request's latency
// from the job's due time, and submit-to-placed latency (the leader's
// placement time minus its submit time, both in the job's status), p50
// and p99. Run with -benchtime 1x;
// PHALANX_BENCH_NODES=N runs it on N nodes instead of 5,000.
func BenchmarkSimThroughput(b *testing.B) {
	nodes, tasks := 5000, 100
	if n, err := strconv.Atoi(os.Getenv("PHALANX_BENCH_NODES")); err == nil && n > 0 {
		nodes = n
	}
	// Jobs of 100 tasks that fill 95% of the cluster: a node that drops
	// out for a moment (a heartbeat lost on this loaded machine) does not
	// leave the last job unplaceable.
	jobs := nodes * 8 * 95 / 100 / tasks
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		bin := buildPhalanx(b, dir)
		// Raft's timeouts as Nomad's defaults have them (1 s heartbeat
		// and election, 500 ms lease): with everything on two cores at
		// full load, Phalanx's own 500/500/250 ms let a busy moment pass
		// for a dead leader now and then, and a leader change in the
		// middle of the run measures the change, not the throughput.
		// PHALANX_BENCH_RAFT_MULTIPLIER=1 runs with the defaults.
		c := startHAClusterWith(b, bin, dir, 3, &haCluster{ttl: "10s", multiplier: "2"})
		agent := startSimAgent(b, bin, dir, c.addrs(), nodes, 8)
		cl := client.New(c.addrs())
		// The first fill is a cold cluster: nodes that registered a
		// moment ago, connections not yet open for the bursts of reports
		// a fill brings. The second, measured, is a cluster in its steady
		// state, as one that has been running work for a while.
		cold, _ := fillCluster(b, cl, jobs, tasks, "cold")
		cancelAll(b, cl)
		stopProfile := profileAll(b, c, agent, "sim-throughput")
		cpu := startCPUAccount(b, c, agent)
		placed, submitted := fillCluster(b, cl, jobs, tasks, "warm")
		cpu.report(placed)
		logPasses(b, c)
		stopProfile()
		c.logElections(b)
		b.ReportMetric(float64(jobs)/submitted.Seconds(), "jobs-submitted/s")
		b.ReportMetric(float64(jobs*tasks)/placed.Seconds(), "placements/s")
		b.ReportMetric(float64(jobs*tasks)/cold.Seconds(), "cold-placements/s")
		b.Logf("throughput: %d jobs submitted in %v, %d placements committed in %v (cold cluster: %v)", jobs, submitted, jobs*tasks, placed, cold)
		cancelAll(b, cl)

		// Latency: single-task jobs at 1,000 a second.
		const rate, seconds = 1000, 5
		one := simJob("lat", 1, 1, false, "1h")
		var wg sync.WaitGroup
		var mu sync.Mutex
		var reqLat []time.Duration
		var ids []string
		stopProfile = profileAll(b, c, agent, "sim-latency")
		latCPU := startCPUAccount(b, c, agent)
		// Open loop: job k is due at begin + k/rate whatever happened to
		// the ones before, and its request latency counts from then, so
		// a slow server (or a slow benchmark process) shows as latency,
		// not as a lower offered rate.
		begin := time.Now()
		for k := 0; k < rate*seconds; k++ {
			due := begin.Add(time.Duration(k) * time.Second / rate)
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				// Retried with the same key until acknowledged: a job is
				// created once however often its submission is retried.
				var st *api.JobStatus
				if err := retry(func() (err error) {
					st, err = cl.SubmitJob(context.Background(), "lat.yaml", one, fmt.Sprintf("lat-%d", k))
					return err
				}); err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				reqLat = append(reqLat, time.Since(due))
				ids = append(ids, st.ID)
				mu.Unlock()
			}(k)
		}
		offered := float64(rate*seconds) / time.Since(begin).Seconds()
		wg.Wait()
		achieved := float64(len(ids)) / time.Since(begin).Seconds()
		// Every job placed, or every GPU held on a cluster smaller than
		// the 5,000 single-GPU jobs (PHALANX_BENCH_NODES under 625); the
		// latencies are then those of the jobs that were placed.
		waitGPUs(b, cl, func(used int) bool { return used >= min(len(ids), nodes*8) }, 5*time.Minute)
		latCPU.report(time.Since(begin))
		logPasses(b, c)
		stopProfile()
		list, err := cl.Jobs(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		var placeLat []time.Duration
		for _, j := range list {
			if j.Name != "lat" || len(j.Allocations) == 0 {
				continue
			}
			placeLat = append(placeLat, j.Allocations[0].CreateTime.Sub(j.SubmitTime))
		}
		b.ReportMetric(offered, "latency-phase-offered-jobs/s")
		b.ReportMetric(achieved, "latency-phase-jobs/s")
		b.ReportMetric(ms(percentile(reqLat, 50)), "ms-submit-request-p50")
		b.ReportMetric(ms(percentile(reqLat, 99)), "ms-submit-request-p99")
		b.ReportMetric(ms(percentile(placeLat, 50)), "ms-submit-to-placed-p50")
		b.ReportMetric(ms(percentile(placeLat, 99)), "ms-submit-to-placed-p99")
		b.ReportMetric(0, "ns/op")
	}
}

// fillCluster submits jobs of tasks single-GPU tasks from 8 clients as
// fast as the servers take them, and returns how long until every GPU
// they ask for is held, and how long the submissions took.
func fillCluster(b *testing.B, cl *client.Client, jobs, tasks int, round string) (placed, submitted time.Duration) {
	body := simJob("tput", tasks, 1, false, "1h")
	start := time.Now()
	eachRetried(b, jobs, func(j int) error {
		_, err := cl.SubmitJob(context.Background(), "tput.yaml", body, fmt.Sprintf("tput-%s-%d", round, j))
		return err
	})
	submitted = time.Since(start)
	waitGPUs(b, cl, func(used int) bool { return used == jobs*tasks }, 5*time.Minute)
	return time.Since(start), submitted
}

// cancelAll cancels every job and waits until no GPU is held.
func cancelAll(b *testing.B, cl *client.Client) {
	var all []*api.JobStatus
	if err := retry(func() (err error) { all, err = cl.Jobs(context.Background()); return err }); err != nil {
		b.Fatal(err)
	}
	var ids []string
	for _, j := range all {
		if !j.State.Terminal() {
			ids = append(ids, j.ID)
		}
	}
	// A cancel whose outcome was unknown (the leader changed) is tried
	// again; one that finds the job already cancelled is done.
	eachRetried(b, len(ids), func(i int) error {
		_, err := cl.CancelJob(context.Background(), ids[i])
		if errors.Is(err, api.ErrConflict) {
			return nil
		}
		return err
	})
	waitGPUs(b, cl, func(used int) bool { return used == 0 }, 5*time.Minute)
}

// eachRetried calls fn for 0 to n-1 from 8 goroutines, each call retried
// (see retry), and fails b for each that never succeeds.
func eachRetried(b *testing.B, n int, fn func(i int) error) {
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if err := retry(func() error { return fn(i) }); err != nil {
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

// retry calls fn until it succeeds, at most 20 times 200 ms apart, and
// returns its last error: for writes whose outcome a leader change left
// unknown (submissions carry idempotency keys, so a retry creates nothing
// twice).
func retry(fn func() error) error {
	var err error
	for try := 0; try < 20; try++ {
		if err = fn(); err == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

// waitGPUs polls the queues until the GPUs their jobs hold satisfy ok.
func waitGPUs(b *testing.B, cl *client.Client, ok func(used int) bool, timeout time.Duration) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	used := -1
	report := time.Now().Add(10 * time.Second)
	for {
		if time.Now().After(report) {
			b.Logf("waiting: %d GPUs in use", used)
			report = time.Now().Add(10 * time.Second)
		}
		qs, err := cl.Queues(context.Background())
		if err == nil {
			used = 0
			for _, q := range qs {
				used += q.Used.GPUs
			}
			if ok(used) {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("GPUs in use: %d after %v (%v)", used, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// benchProfileEnv names a directory: when set, benchmarks that start
// server processes give them profiling endpoints and save a 10-second CPU
// profile of the leader, taken from the start of the measured phase, there
// (NAME.leader.cpu.pprof), for `go tool pprof`.
const benchProfileEnv = "PHALANX_BENCH_PROFILE"

// profileAll starts a CPU profile of every server and the simulating
// agent when benchProfileEnv is set; the returned function waits for them
// and saves them as NAME.<role>.cpu.pprof.
func profileAll(b *testing.B, c *haCluster, agent *simAgent, name string) func() {
	dir := os.Getenv(benchProfileEnv)
	if dir == "" {
		return func() {}
	}
	leader := c.waitLeader(10 * time.Second)
	targets := map[string]string{"agent": agent.pprof}
	for _, sp := range c.servers {
		role := "follower-" + sp.id
		if sp == leader {
			role = "leader"
		}
		targets[role] = sp.pprof
		b.Logf("server %s (%s): profiling on http://%s/debug/pprof/", sp.id, role, sp.pprof)
	}
	var wg sync.WaitGroup
	for role, addr := range targets {
		wg.Go(func() {
			resp, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=" + profileSeconds())
			if err != nil {
				b.Logf("profile %s: %v", role, err)
				return
			}
			defer resp.Body.Close()
			f, err := os.Create(filepath.Join(dir, name+"."+role+".cpu.pprof"))
			if err != nil {
				b.Logf("profile %s: %v", role, err)
				return
			}
			defer f.Close()
			io.Copy(f, resp.Body)
		})
	}
	return wg.Wait
}

// cpuAccount is the CPU time each process of a benchmark (servers, the
// simulating agent, the benchmark itself) has used since it was made:
// on a shared machine, where the time goes between processes.
type cpuAccount struct {
	b     *testing.B
	names []string
	pids  []int
	start []time.Duration
}

func startCPUAccount(b *testing.B, c *haCluster, agent *simAgent) *cpuAccount {
	a := &cpuAccount{b: b}
	leader := c.waitLeader(10 * time.Second)
	for _, sp := range c.servers {
		name := "server " + sp.id
		if sp == leader {
			name += " (leader)"
		}
		a.names, a.pids = append(a.names, name), append(a.pids, sp.cmd.Process.Pid)
	}
	a.names, a.pids = append(a.names, "sim agent", "benchmark"), append(a.pids, agent.cmd.Process.Pid, os.Getpid())
	for _, pid := range a.pids {
		a.start = append(a.start, procCPU(pid))
	}
	return a
}

// report logs each process's CPU time since the start, over wall.
func (a *cpuAccount) report(wall time.Duration) {
	var total time.Duration
	var parts []string
	for i, pid := range a.pids {
		used := procCPU(pid) - a.start[i]
		total += used
		parts = append(parts, fmt.Sprintf("%s %.1fs", a.names[i], used.Seconds()))
	}
	a.b.Logf("CPU over %.1fs: %s; total %.1fs (%.2f cores)", wall.Seconds(), strings.Join(parts, ", "),
		total.Seconds(), total.Seconds()/wall.Seconds())
}

// procCPU is a process's user and system CPU time so far, from
// /proc/PID/stat (0 where that cannot be read).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// logElections logs the lines of the servers' logs so far that show
// leadership changing hands: on an overloaded machine they explain a slow
// run.
func (c *haCluster) logElections(b *testing.B) {
	for _, sp := range c.servers {
		var lines []string
		for _, l := range strings.Split(sp.log.String(), "\n") {
			if strings.Contains(l, "election") || strings.Contains(l, "stepping down") || strings.Contains(l, "quorum") {
				lines = append(lines, l)
			}
		}
		if len(lines) > 0 {
			b.Logf("server %s: %d lines about elections, the first: %s", sp.id, len(lines), lines[0])
		}
	}
}

// logPasses logs the leader's scheduling counters so far, from its
// /metrics: how many passes, how long they took, what they placed.
func logPasses(b *testing.B, c *haCluster) {
	leader := c.waitLeader(10 * time.Second)
	resp, err := http.Get("http://" + leader.http + "/metrics")
	if err != nil {
		b.Logf("metrics: %v", err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var parts []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "phalanx_scheduler_") {
			parts = append(parts, strings.TrimPrefix(l, "phalanx_scheduler_"))
		}
	}
	b.Logf("leader %s: %s", leader.id, strings.Join(parts, ", "))
}

// profileSeconds is how long profileAll profiles: 10 s, or
// PHALANX_BENCH_PROFILE_SECONDS.
func profileSeconds() string {
	if s := os.Getenv("PHALANX_BENCH_PROFILE_SECONDS"); s != "" {
		return s
	}
	return "10"
}
