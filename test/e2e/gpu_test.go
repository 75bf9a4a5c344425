package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/gpu"
)

// Two executors with 8 mock A100s each, in Docker: 32 jobs of 2 GPUs each
// see exactly their own 2 GPUs, never share one, and a GPU that raised a
// critical XID gets no work.
func TestGPUJobsNeverShareAndAvoidFailedGPUs(t *testing.T) {
	var xids chan<- gpu.XIDInjection
	c := startCluster(t, options{agents: 2, cpu: 4000, gpus: func(i int) gpu.Discoverer {
		if i == 0 {
			d, ch := gpu.NewScriptedMock()
			xids = ch
			return d
		}
		d, err := gpu.Open(gpu.SourceMockDGXA100)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}})

	xids <- gpu.XIDInjection{Index: 5, XID: 79}
	var sick string
	deadline := time.Now().Add(10 * time.Second)
	for sick == "" {
		st, err := c.client.Node(context.Background(), "node-0")
		if err != nil {
			t.Fatal(err)
		}
		if g := st.GPUs[5]; !g.Healthy {
			sick = g.UUID
		} else if time.Now().After(deadline) {
			t.Fatal("GPU 5 of node-0 was not marked unhealthy")
		}
		time.Sleep(20 * time.Millisecond)
	}

	job := func(i int) []byte {
		return []byte(fmt.Sprintf(`apiVersion: phalanx/v1
kind: Job
metadata: {name: gpu-%d}
spec:
  groups:
    - name: main
      task:
        image: phalanx/busybox:latest
        command: [sh, -c, 'echo "visible=$NVIDIA_VISIBLE_DEVICES cuda=$CUDA_VISIBLE_DEVICES"; sleep 0.3']
        resources: {cpu: 100m, memory: 16Mi, gpus: 2}
`, i))
	}
	var ids []string
	for i := 0; i < 32; i++ {
		ids = append(ids, c.submit("gpu.yaml", job(i)))
	}
	type use struct {
		job        string
		start, end time.Time
	}
	uses := map[string][]use{}
	for _, id := range ids {
		st := c.wait(id, 3*time.Minute, func(s *api.JobStatus) bool { return s.State.Terminal() })
		if st.State != api.JobSucceeded {
			t.Fatalf("%s: %s (%s)", id, st.State, st.Reason)
		}
		a := st.Allocations[0]
		if len(a.GPUs) != 2 || a.GPUs[0] == a.GPUs[1] {
			t.Fatalf("%s holds %v, want 2 distinct GPUs", id, a.GPUs)
		}
		want := strings.Join(a.GPUs, ",")
		if got := c.logs(id, ""); !strings.Contains(got, "visible="+want+" cuda="+want) {
			t.Errorf("%s saw %q, want exactly its GPUs %s", id, strings.TrimSpace(got), want)
		}
		for _, g := range a.GPUs {
			if g == sick {
				t.Errorf("%s ran on the GPU that raised XID 79", id)
			}
			uses[g] = append(uses[g], use{id, a.StartTime, a.FinishTime})
		}
	}
	// No GPU is held by two jobs at once. Times are the agent's reports:
	// running after the container started, finished after it exited; a
	// GPU is placed again only once its last holder is recorded finished.
	maxAtOnce := 0
	for g, us := range uses {
		sort.Slice(us, func(i, j int) bool { return us[i].start.Before(us[j].start) })
		for i := 1; i < len(us); i++ {
			if us[i].start.Before(us[i-1].end) {
				t.Errorf("GPU %s held by %s and %s at once", g, us[i-1].job, us[i].job)
			}
		}
	}
	var all []use
	for _, us := range uses {
		all = append(all, us...)
	}
	for _, u := range all {
		n := 0
		for _, v := range all {
			if !v.start.After(u.start) && v.end.After(u.start) {
				n++
			}
		}
		maxAtOnce = max(maxAtOnce, n/2) // each job holds two GPUs
	}
	if maxAtOnce < 2 {
		t.Errorf("at most %d job ran at a time: the test did not exercise sharing", maxAtOnce)
	}
	t.Logf("%d GPUs used, up to %d jobs at once", len(uses), maxAtOnce)
	if len(uses) > 15 {
		t.Errorf("%d distinct GPUs used; only 15 are healthy", len(uses))
	}
}

// A CPU-only gang over two executors finds its rank 0 through MASTER_ADDR
// and the MASTER_PORT reserved for it, as examples/jobs/rendezvous.yaml
// shows.
func TestRendezvousAcrossTwoExecutors(t *testing.T) {
	// One CPU each: the two 600m members cannot share an executor.
	c := startCluster(t, options{agents: 2, cpu: 1000})
	id := c.submit("rendezvous.yaml", example(t, "rendezvous.yaml"))
	st := c.wait(id, 2*time.Minute, func(s *api.JobStatus) bool { return s.State.Terminal() })
	if st.State != api.JobSucceeded {
		for _, a := range st.Allocations {
			t.Logf("%s[%d] on %s: %s", a.Group, a.Index, a.Node, c.logs(id, a.ID))
		}
		t.Fatalf("rendezvous: %s (%s)", st.State, st.Reason)
	}
	if st.Allocations[0].Node == st.Allocations[1].Node {
		t.Fatalf("both ranks ran on %s", st.Allocations[0].Node)
	}
	for _, a := range st.Allocations {
		got := c.logs(id, a.ID)
		want := map[int]string{0: "rank 0: all 2 ranks met", 1: "rank 1: welcome rank 1 from rank 0"}[a.Index]
		if !strings.Contains(got, want) {
			t.Errorf("rank %d logs %q lack %q", a.Index, got, want)
		}
		if !strings.Contains(got, fmt.Sprintf("on node rank %d;", a.Index)) {
			t.Errorf("rank %d logs %q: wrong PHALANX_NODE_RANK", a.Index, got)
		}
	}
}
