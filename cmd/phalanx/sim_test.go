package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/client"
)

// startSimAgent runs `phalanx agent --sim-nodes n --sim-gpus gpus` against
// servers and waits until all n nodes are registered.
func startSimAgent(t testing.TB, bin, dir, servers string, n, gpus int) {
	t.Helper()
	var log bytes.Buffer
	cmd := exec.Command(bin, "agent", "--server", servers, "--sim-nodes", fmt.Sprint(n), "--sim-gpus", fmt.Sprint(gpus),
		"--name", "sim", "--data-dir", filepath.Join(dir, "sim-agent"), "--http-addr", freeAddr(t), "--heartbeat-interval", "5s")
	cmd.Stdout, cmd.Stderr = &log, &log
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
			return
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

// BenchmarkSimThroughput: three server processes and one agent process
// with 1,000 simulated nodes of 8 GPUs. It submits 150 jobs of 50
// single-GPU tasks (7,500 placements; the cluster holds 8,000) as fast as
// 8 clients can, and
// reports jobs submitted per second, task placements committed per
// second, and submit-to-placed latency. Run with -benchtime 1x.
func BenchmarkSimThroughput(b *testing.B) {
	const nodes, jobs, tasks = 1000, 150, 50
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		bin := buildPhalanx(b, dir)
		c := startHACluster(b, bin, dir, 3)
		startSimAgent(b, bin, dir, c.addrs(), nodes, 8)
		cl := client.New(c.addrs())
		body := simJob("tput", tasks, 1, false, "1h")
		type sub struct {
			id string
			at time.Time
		}
		subs := make(chan sub, jobs)
		stopProfile := profileLeader(b, c, "sim-throughput")
		start := time.Now()
		work := make(chan int, jobs)
		for j := 0; j < jobs; j++ {
			work <- j
		}
		close(work)
		done := make(chan struct{})
		for w := 0; w < 8; w++ {
			go func() {
				for j := range work {
					t0 := time.Now()
					st, err := cl.SubmitJob(context.Background(), "tput.yaml", body, fmt.Sprintf("tput-%d", j))
					if err != nil {
						b.Error(err)
						continue
					}
					subs <- sub{st.ID, t0}
				}
				done <- struct{}{}
			}()
		}
		for w := 0; w < 8; w++ {
			<-done
		}
		submitted := time.Since(start)
		close(subs)
		submitAt := map[string]time.Time{}
		for s := range subs {
			submitAt[s.id] = s.at
		}
		// Wait until every task is placed, noting when each job was.
		placedAt := map[string]time.Time{}
		deadline := time.Now().Add(5 * time.Minute)
		for len(placedAt) < len(submitAt) {
			list, err := cl.Jobs(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			for _, j := range list {
				if _, ok := placedAt[j.ID]; !ok && len(j.Allocations) == tasks {
					placedAt[j.ID] = now
				}
			}
			if now.After(deadline) {
				b.Fatalf("%d of %d jobs placed after 5 minutes", len(placedAt), len(submitAt))
			}
			time.Sleep(250 * time.Millisecond) // the list is large: do not load the leader with it
		}
		all := time.Since(start)
		stopProfile()
		var lat []time.Duration
		for id, t := range placedAt {
			lat = append(lat, t.Sub(submitAt[id]))
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(jobs)/submitted.Seconds(), "jobs-submitted/s")
		b.ReportMetric(float64(jobs*tasks)/all.Seconds(), "placements/s")
		b.ReportMetric(float64(lat[len(lat)/2])/1e6, "ms-submit-to-placed-p50")
		b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "ms-submit-to-placed-p99")
		b.ReportMetric(0, "ns/op")
	}
}

// benchProfileEnv names a directory: when set, benchmarks that start
// server processes give them profiling endpoints and save a 10-second CPU
// profile of the leader, taken from the start of the measured phase, there
// (NAME.leader.cpu.pprof), for `go tool pprof`.
const benchProfileEnv = "PHALANX_BENCH_PROFILE"

// profileLeader starts a CPU profile of the cluster's leader when
// benchProfileEnv is set; the returned function waits for it and saves it.
func profileLeader(b *testing.B, c *haCluster, name string) func() {
	dir := os.Getenv(benchProfileEnv)
	if dir == "" {
		return func() {}
	}
	leader := c.waitLeader(10 * time.Second)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get("http://" + leader.pprof + "/debug/pprof/profile?seconds=10")
		if err != nil {
			b.Logf("profile: %v", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(filepath.Join(dir, name+".leader.cpu.pprof"))
		if err != nil {
			b.Logf("profile: %v", err)
			return
		}
		defer f.Close()
		io.Copy(f, resp.Body)
	}()
	return func() { <-done }
}
