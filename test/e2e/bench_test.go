package e2e

import (
	"context"
	"os/exec"
	"sort"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/internal/testimage"
	"github.com/phalanx-sched/phalanx/internal/testutil"
)

// BenchmarkHelloLatency submits examples/jobs/hello.yaml to a dev cluster
// with the Docker runtime, one job at a time, and reports the median time
// from submit to the job placed (allocation committed through Raft), to
// the task running, and to the job done. Times are taken
// from the server's state as it changes, without polling.
func BenchmarkHelloLatency(b *testing.B) {
	c := startCluster(b, options{})
	body := example(b, "hello.yaml")
	// One warm-up job, so the image and code paths are warm.
	c.waitDone(c.submit("hello.yaml", body))
	var toPlaced, toRunning, toDone []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		id := c.submit("hello.yaml", body)
		var placed, running time.Duration
		for {
			changed := c.srv.State().Changed()
			snap := c.srv.State().Snapshot()
			j, _ := snap.Job(id)
			for _, a := range snap.JobAllocs(id) {
				if placed == 0 {
					placed = time.Since(start)
				}
				if running == 0 && (a.State == api.AllocRunning || a.State.Terminal()) {
					running = time.Since(start)
				}
			}
			if j.State.Terminal() {
				if j.State != api.JobSucceeded {
					b.Fatalf("hello %s: %s", id, j.Reason)
				}
				break
			}
			select {
			case <-changed:
			case <-time.After(30 * time.Second):
				b.Fatalf("hello %s did not finish", id)
			}
		}
		toPlaced = append(toPlaced, placed)
		toRunning = append(toRunning, running)
		toDone = append(toDone, time.Since(start))
	}
	b.ReportMetric(ms(median(toPlaced)), "ms-submit-to-placed-p50")
	b.ReportMetric(ms(median(toRunning)), "ms-submit-to-running-p50")
	b.ReportMetric(ms(median(toDone)), "ms-submit-to-done-p50")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkDockerRunTrue times `docker run --rm IMAGE true` the same way,
// as the baseline the hello figures are compared with.
func BenchmarkDockerRunTrue(b *testing.B) {
	testutil.Docker(b)
	var took []time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if out, err := exec.CommandContext(context.Background(), "docker", "run", "--rm", testimage.Name, "true").CombinedOutput(); err != nil {
			b.Fatalf("docker run: %v\n%s", err, out)
		}
		took = append(took, time.Since(start))
	}
	b.ReportMetric(ms(median(took)), "ms-docker-run-p50")
	b.ReportMetric(0, "ns/op")
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
