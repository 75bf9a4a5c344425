package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api/client"
	"github.com/phalanx-sched/phalanx/internal/testutil"
)

// BenchmarkDevMemory reports the peak memory (VmHWM) of a `phalanx dev`
// process with the Docker runtime: idle after start, and after 1,000
// hello jobs have run to completion. Run it with -benchtime 1x.
func BenchmarkDevMemory(b *testing.B) {
	testutil.Docker(b)
	const jobs = 1000
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		bin := buildPhalanx(b, dir)
		addr := freeAddr(b)
		dev, _, _ := startDev(b, bin, dir, addr, "--runtime", "docker")
		time.Sleep(5 * time.Second)
		idle := procStatus(b, dev.Process.Pid)

		body, err := os.ReadFile(filepath.Join("..", "..", "examples", "jobs", "hello.yaml"))
		if err != nil {
			b.Fatal(err)
		}
		c := client.New(addr)
		ctx := context.Background()
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, jobs)
		next := make(chan int, jobs)
		for j := 0; j < jobs; j++ {
			next <- j
		}
		close(next)
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range next {
					if _, err := c.SubmitJob(ctx, "hello.yaml", body, ""); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		for {
			list, err := c.Jobs(ctx)
			if err != nil {
				b.Fatal(err)
			}
			done := 0
			for _, j := range list {
				if j.State.Terminal() {
					if j.State != "succeeded" {
						b.Fatalf("job %s %s: %s", j.ID, j.State, j.Reason)
					}
					done++
				}
			}
			if done == jobs {
				break
			}
			if time.Since(start) > 20*time.Minute {
				b.Fatalf("only %d of %d jobs done after 20 minutes", done, jobs)
			}
			time.Sleep(time.Second)
		}
		took := time.Since(start)
		after := procStatus(b, dev.Process.Pid)
		b.ReportMetric(float64(idle["VmHWM"])/1024, "MiB-peak-idle")
		b.ReportMetric(float64(after["VmHWM"])/1024, "MiB-peak-after-1000-jobs")
		b.ReportMetric(float64(after["VmRSS"])/1024, "MiB-rss-after-1000-jobs")
		b.ReportMetric(float64(jobs)/took.Seconds(), "jobs/s")
		b.ReportMetric(0, "ns/op")
	}
}

// procStatus reads the kB figures of /proc/PID/status.
func procStatus(t testing.TB, pid int) map[string]int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if f := strings.Fields(v); ok && len(f) == 2 && f[1] == "kB" {
			out[k], _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	return out
}

// BenchmarkFailover kills the leader of a three-server cluster of real
// processes with SIGKILL, ten times, and reports the time from the kill
// to the first write the new leader accepts (a job submission through
// the surviving servers), median and max. The killed server is restarted
// and rejoins before the next round. Run it with -benchtime 1x.
func BenchmarkFailover(b *testing.B) {
	const rounds = 10
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		bin := buildPhalanx(b, dir)
		c := startHACluster(b, bin, dir, 3)
		job := []byte("apiVersion: phalanx/v1\nkind: Job\nmetadata: {name: fo}\nspec:\n  groups:\n    - name: main\n      task: {image: none, command: [\"true\"]}\n")
		var took []time.Duration
		for r := 0; r < rounds; r++ {
			old := c.waitLeader(30 * time.Second)
			var rest []string
			for _, sp := range c.servers {
				if sp != old {
					rest = append(rest, sp.http)
				}
			}
			cl := client.New(strings.Join(rest, ","))
			cl.Rounds = 1
			c.kill9(old)
			start := time.Now()
			for {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_, err := cl.SubmitJob(ctx, "fo.yaml", job, fmt.Sprintf("fo-%d", r))
				cancel()
				if err == nil {
					break
				}
				if time.Since(start) > 30*time.Second {
					b.Fatalf("round %d: no write accepted 30s after the kill: %v", r, err)
				}
				time.Sleep(5 * time.Millisecond)
			}
			took = append(took, time.Since(start))
			c.start(old, c.addrs(), 3)
			c.waitRejoined(old, 30*time.Second)
		}
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		b.ReportMetric(float64(took[len(took)/2])/1e6, "ms-failover-p50")
		b.ReportMetric(float64(took[len(took)-1])/1e6, "ms-failover-max")
		b.ReportMetric(0, "ns/op")
	}
}
