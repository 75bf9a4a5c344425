package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/client"
)

// serverProc is one `phalanx server` process of a test cluster.
type serverProc struct {
	id, http, raft, dir string
	pprof               string // profiling address, see benchProfileEnv
	cmd                 *exec.Cmd
	log                 *lockedBuffer
}

// lockedBuffer is a process's output, safe to read while it still runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// haCluster is n server processes that form one cluster by
// --bootstrap-expect and --join, as an operator would start them.
type haCluster struct {
	t       testing.TB
	bin     string
	servers []*serverProc
	ttl     string // the servers' --heartbeat-ttl
	// multiplier is the servers' --raft-multiplier ("": the default);
	// PHALANX_BENCH_RAFT_MULTIPLIER overrides it.
	multiplier string
}

func startHACluster(t testing.TB, bin, dir string, n int) *haCluster {
	t.Helper()
	return startHAClusterTTL(t, bin, dir, n, "10s")
}

// startHAClusterTTL is startHACluster with the servers' heartbeat TTL.
func startHAClusterTTL(t testing.TB, bin, dir string, n int, ttl string) *haCluster {
	t.Helper()
	return startHAClusterWith(t, bin, dir, n, &haCluster{ttl: ttl})
}

// startHAClusterWith is startHACluster with the settings in c.
func startHAClusterWith(t testing.TB, bin, dir string, n int, c *haCluster) *haCluster {
	t.Helper()
	c.t, c.bin = t, bin
	var https []string
	for i := 0; i < n; i++ {
		sp := &serverProc{id: fmt.Sprintf("s%d", i+1), http: freeAddr(t), raft: freeAddr(t), dir: filepath.Join(dir, fmt.Sprintf("s%d", i+1))}
		c.servers = append(c.servers, sp)
		https = append(https, sp.http)
	}
	for _, sp := range c.servers {
		c.start(sp, strings.Join(https, ","), n)
	}
	t.Cleanup(func() {
		for _, sp := range c.servers {
			if sp.cmd != nil {
				sp.cmd.Process.Kill()
				sp.cmd.Wait()
			}
			if t.Failed() {
				t.Logf("server %s log:\n%s", sp.id, sp.log.String())
			}
		}
	})
	c.waitLeader(30 * time.Second)
	return c
}

func (c *haCluster) start(sp *serverProc, join string, expect int) {
	sp.log = &lockedBuffer{}
	args := []string{"server", "--node-id", sp.id, "--data-dir", sp.dir, "--http-addr", sp.http,
		"--raft-addr", sp.raft, "--heartbeat-ttl", c.ttl}
	if expect > 1 {
		args = append(args, "--bootstrap-expect", fmt.Sprint(expect), "--join", join)
	}
	m := c.multiplier
	if env := os.Getenv("PHALANX_BENCH_RAFT_MULTIPLIER"); env != "" {
		m = env // for overloaded benchmark machines
	}
	if m != "" {
		args = append(args, "--raft-multiplier", m)
	}
	sp.cmd = exec.Command(c.bin, args...)
	sp.cmd.Stdout, sp.cmd.Stderr = sp.log, sp.log
	if os.Getenv(benchProfileEnv) != "" {
		if sp.pprof == "" {
			sp.pprof = freeAddr(c.t)
		}
		sp.cmd.Env = append(os.Environ(), "PHALANX_PPROF_ADDR="+sp.pprof)
	}
	if err := sp.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
}

func (c *haCluster) addrs() string {
	var a []string
	for _, sp := range c.servers {
		a = append(a, sp.http)
	}
	return strings.Join(a, ",")
}

// waitLeader waits until a live server leads and its HTTP address is
// known to the others (so they can forward), and returns it.
func (c *haCluster) waitLeader(timeout time.Duration) *serverProc {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, sp := range c.servers {
			if sp.cmd == nil {
				continue
			}
			cl := client.New(sp.http)
			cl.Rounds = 1
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := cl.Leader(ctx)
			peers, perr := cl.Peers(ctx) // forwarded to the leader: works only once forwarding does
			cancel()
			if err != nil || perr != nil || !st.IsSelf {
				continue
			}
			for _, p := range peers {
				if p.Leader && p.ID == sp.id && p.HTTPAddr == sp.http {
					return sp // followers can now forward to it
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("no leader within %v", timeout)
	return nil
}

// waitRejoined waits until a restarted server answers and follows a
// leader with the cluster's state.
func (c *haCluster) waitRejoined(sp *serverProc, timeout time.Duration) {
	c.t.Helper()
	cl := client.New(sp.http)
	cl.Rounds = 1
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := cl.Leader(ctx)
		cancel()
		if err == nil && st.Leader != "" && st.Index > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("server %s did not rejoin within %v", sp.id, timeout)
}

// kill9 kills a server process the hard way.
func (c *haCluster) kill9(sp *serverProc) {
	sp.cmd.Process.Signal(syscall.SIGKILL)
	sp.cmd.Wait()
	sp.cmd = nil
}

// TestHAClusterSurvivesLeaderKill starts 3 servers and an agent, submits
// 500 jobs with idempotency keys and retries while the leader is killed
// with SIGKILL, and checks that every acknowledged job exists exactly
// once and every job finishes.
func TestHAClusterSurvivesLeaderKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a multi-process cluster")
	}
	dir := t.TempDir()
	bin := buildPhalanx(t, dir)
	c := startHACluster(t, bin, dir, 3)

	agentLog := &bytes.Buffer{}
	agent := exec.Command(bin, "agent", "--server", c.addrs(), "--runtime", "exec", "--name", "exec-node",
		"--data-dir", filepath.Join(dir, "agent"), "--http-addr", freeAddr(t), "--cpu", "100", "--memory", "8Gi",
		"--heartbeat-interval", "1s")
	agent.Stdout, agent.Stderr = agentLog, agentLog
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		agent.Process.Kill()
		agent.Wait()
		if t.Failed() {
			t.Logf("agent log:\n%s", agentLog.String())
		}
	})

	job := []byte("apiVersion: phalanx/v1\nkind: Job\nmetadata: {name: ha}\nspec:\n  groups:\n    - name: main\n      task: {image: none, command: [\"true\"], resources: {cpu: 100m, memory: 16Mi}}\n")
	cl := client.New(c.addrs())
	const total = 500
	acked := make([]string, total) // job ID per key index
	var submitted atomic.Int32
	next := make(chan int, total)
	for i := 0; i < total; i++ {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				key := fmt.Sprintf("ha-%d", i)
				deadline := time.Now().Add(60 * time.Second)
				for {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					st, err := cl.SubmitJob(ctx, "ha.yaml", job, key)
					cancel()
					if err == nil {
						acked[i] = st.ID
						submitted.Add(1)
						break
					}
					if time.Now().After(deadline) {
						errs <- fmt.Errorf("key %s: %v", key, err)
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	// Kill the leader once a fifth of the jobs are in.
	for submitted.Load() < total/5 {
		time.Sleep(5 * time.Millisecond)
	}
	old := c.waitLeader(5 * time.Second)
	c.kill9(old)
	killed := time.Now()
	newLeader := c.waitLeader(30 * time.Second)
	t.Logf("killed leader %s after %d submissions; %s leads %v later", old.id, submitted.Load(), newLeader.id, time.Since(killed).Round(time.Millisecond))
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// Every acknowledged submission is exactly one job, and no other job
	// exists: retries during the failover created nothing twice.
	jobs, err := cl.Jobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, id := range acked {
		ids[id] = true
	}
	if len(jobs) != total || len(ids) != total {
		t.Fatalf("%d jobs in the cluster, %d distinct acknowledged IDs; want %d of each", len(jobs), len(ids), total)
	}
	for _, j := range jobs {
		if !ids[j.ID] {
			t.Fatalf("job %s was never acknowledged", j.ID)
		}
	}
	// And every job finishes.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		jobs, err := cl.Jobs(context.Background())
		done := 0
		for _, j := range jobs {
			if j.State == api.JobSucceeded {
				done++
			} else if j.State.Terminal() {
				t.Fatalf("job %s %s: %s", j.ID, j.State, j.Reason)
			}
		}
		if err == nil && done == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d jobs succeeded (%v)", done, total, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The killed server comes back, catches up, and serves the same state.
	c.start(old, c.addrs(), 3)
	back := client.New(old.http)
	deadline = time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := back.Leader(ctx)
		cancel()
		if err == nil && st.Leader != "" {
			jobs, err := back.Jobs(context.Background())
			if err == nil && len(jobs) == total {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted server %s did not rejoin: %v", old.id, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A fourth server started with the same shared settings
	// (--bootstrap-expect 3, --join everyone) finds a running cluster and
	// joins it instead of bootstrapping a second one.
	s4 := &serverProc{id: "s4", http: freeAddr(t), raft: freeAddr(t), dir: filepath.Join(dir, "s4")}
	c.servers = append(c.servers, s4)
	c.start(s4, c.addrs(), 3)
	deadline = time.Now().Add(30 * time.Second)
	for {
		peers, err := cl.Peers(context.Background())
		if err == nil && len(peers) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("s4 did not join: %v %+v", err, peers)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The operator commands, through the real binary.
	op := func(args ...string) string {
		t.Helper()
		start := time.Now()
		out, err := exec.Command(bin, append(append([]string{"operator"}, args...), "--addr", c.addrs())...).CombinedOutput()
		t.Logf("operator %v took %v", args, time.Since(start))
		if err != nil {
			t.Fatalf("operator %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	peers := op("raft", "peers")
	if n := strings.Count(peers, "true"); strings.Count(peers, "\ns") != 4 || n != 5 {
		t.Errorf("raft peers: want 4 voters, one leader:\n%s", peers)
	}
	snap := filepath.Join(dir, "snap.json")
	op("snapshot", "save", snap)
	extra, err := cl.SubmitJob(context.Background(), "ha.yaml", job, "after-save")
	if err != nil {
		t.Fatal(err)
	}
	op("snapshot", "restore", snap)
	jobs, err = cl.Jobs(context.Background())
	if err != nil || len(jobs) != total {
		t.Fatalf("after snapshot restore: %d jobs, %v; want the %d saved", len(jobs), err, total)
	}
	if _, err := cl.Job(context.Background(), extra.ID); err == nil {
		t.Fatal("the job submitted after the save survived the restore")
	}
}
