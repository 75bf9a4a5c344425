package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/internal/fakeclock"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func newTestServer(t *testing.T, configure ...func(*Config)) (*Server, *fakeclock.Clock) {
	t.Helper()
	_, trans := raft.NewInmemTransport("")
	clock := fakeclock.New(t0)
	cfg := TestConfig("s1", trans)
	cfg.Now, cfg.HeartbeatTTL = clock.Now, 10*time.Second
	for _, f := range configure {
		f(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return s, clock
}

// waitJob waits, on the state's change notifications, until cond holds.
func waitJob(t *testing.T, s *Server, id string, cond func(*api.JobStatus) bool) *api.JobStatus {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		changed := s.State().Changed()
		st, err := s.Job(id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(st) {
			return st
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("job %s: condition not met; last %+v", id, st)
		}
	}
}

func TestLeaderPlacesGangWithRendezvousEnv(t *testing.T) {
	s, _ := newTestServer(t)
	ctx := context.Background()
	for _, id := range []string{"n1", "n2"} {
		n := &api.Node{ID: id, Name: "node-" + id, Address: "10.1.0." + id[1:] + ":7402",
			Resources: api.Resources{CPUMilli: 1000, MemoryBytes: 1 << 30}, Ports: api.PortRange{Min: 40000, Max: 40009}}
		if err := s.RegisterNode(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	task := api.Task{Image: "img", Env: map[string]string{"EPOCHS": "3"}, Resources: api.Resources{CPUMilli: 1000, MemoryBytes: 64 << 20}}
	spec := &api.JobSpec{Name: "ddp", Queue: "default", Priority: 50, Gang: true, Network: api.NetworkHost, Groups: []api.Group{
		{Name: "master", Count: 1, Task: task},
		{Name: "worker", Count: 1, Task: task},
	}}
	st, err := s.SubmitJob(ctx, spec, "")
	if err != nil {
		t.Fatal(err)
	}
	st = waitJob(t, s, st.ID, func(j *api.JobStatus) bool { return j.State == api.JobRunning })
	if len(st.Allocations) != 2 || st.Allocations[0].Node == st.Allocations[1].Node {
		t.Fatalf("want the two 1-CPU members on the two 1-CPU nodes: %+v", st.Allocations)
	}
	snap := s.State().Snapshot()
	var master *api.Allocation
	for _, a := range snap.JobAllocs(st.ID) {
		if a.Group == "master" {
			master = a
		}
	}
	masterHost := map[string]string{"n1": "10.1.0.1", "n2": "10.1.0.2"}[master.NodeID]
	if diff := cmp.Diff([]int{40000}, master.Ports); diff != "" {
		t.Errorf("rank 0 reserved ports (-want +got):\n%s", diff)
	}
	for _, a := range snap.JobAllocs(st.ID) {
		rank := map[string]string{"master": "0", "worker": "1"}[a.Group]
		want := map[string]string{
			"EPOCHS": "3", "PHALANX_JOB_ID": st.ID, "PHALANX_JOB_NAME": "ddp", "PHALANX_ALLOC_ID": a.ID,
			"PHALANX_GROUP": a.Group, "PHALANX_GROUP_INDEX": "0", "PHALANX_RANK": rank, "PHALANX_WORLD_SIZE": "2",
			"PHALANX_NODE_RANK": rank, "MASTER_ADDR": masterHost, "MASTER_PORT": "40000",
		}
		if a.Task.Network != api.NetworkHost {
			t.Errorf("%s network %q, want host", a.Group, a.Task.Network)
		}
		if diff := cmp.Diff(want, a.Env()); diff != "" {
			t.Errorf("%s env (-want +got):\n%s", a.Group, diff)
		}
	}
}

func TestSilentNodeIsMarkedDownAndItsWorkLost(t *testing.T) {
	s, clock := newTestServer(t)
	ctx := context.Background()
	n := &api.Node{ID: "n1", Name: "node-1", Address: "127.0.0.1:7402", Resources: api.Resources{CPUMilli: 1000, MemoryBytes: 1 << 30}}
	if err := s.RegisterNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	spec := &api.JobSpec{Name: "j", Queue: "default", Priority: 50, Groups: []api.Group{
		{Name: "main", Count: 1, Task: api.Task{Image: "img", Resources: api.Resources{CPUMilli: 500, MemoryBytes: 1 << 20}}},
	}}
	st, err := s.SubmitJob(ctx, spec, "")
	if err != nil {
		t.Fatal(err)
	}
	waitJob(t, s, st.ID, func(j *api.JobStatus) bool { return j.State == api.JobRunning })

	// Within the TTL nothing happens, heartbeats or not.
	clock.Advance(8 * time.Second)
	if err := s.Heartbeat(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(8 * time.Second)
	// Run the leader's heartbeat check now (leadership began at t0)
	// rather than waiting for its once-a-second tick.
	if err := s.checkHeartbeats(t0); err != nil {
		t.Fatal(err)
	}
	if node, _ := s.State().Snapshot().Node("n1"); node.Status != api.NodeReady {
		t.Fatalf("node %s after a heartbeat 8s ago", node.Status)
	}
	// Past the TTL the node is fenced and its allocation lost.
	clock.Advance(5 * time.Second)
	st = waitJob(t, s, st.ID, func(j *api.JobStatus) bool { return j.State.Terminal() })
	if st.State != api.JobFailed || st.Allocations[0].State != api.AllocLost {
		t.Fatalf("job %s, alloc %s", st.State, st.Allocations[0].State)
	}
	if want := "main[0] lost: node node-1 down: no heartbeat for 13s"; st.Reason != want {
		t.Errorf("reason %q, want %q", st.Reason, want)
	}
	if err := s.Heartbeat(ctx, "unknown"); err == nil {
		t.Error("heartbeat of an unknown node accepted")
	}
}

func TestSubmitCancelAndLookups(t *testing.T) {
	s, _ := newTestServer(t)
	ctx := context.Background()
	spec := &api.JobSpec{Name: "waits", Queue: "default", Priority: 50, Groups: []api.Group{
		{Name: "main", Count: 1, Task: api.Task{Image: "img", Resources: api.Resources{CPUMilli: 500, MemoryBytes: 1 << 20}}},
	}}
	st, err := s.SubmitJob(ctx, spec, "")
	if err != nil {
		t.Fatal(err)
	}
	st = waitJob(t, s, st.ID, func(j *api.JobStatus) bool { return j.Reason == "no ready nodes" })
	if st.State != api.JobQueued {
		t.Fatalf("state %s", st.State)
	}
	if got, err := s.Job(st.ID[:8]); err != nil || got.ID != st.ID {
		t.Fatalf("lookup by prefix: %v %v", got, err)
	}
	if _, err := s.CancelJob(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Job(st.ID); got.State != api.JobCancelled {
		t.Fatalf("after cancel: %s", got.State)
	}
	if len(s.Jobs()) != 1 {
		t.Fatalf("jobs: %d", len(s.Jobs()))
	}
}

// Concurrent submissions share Raft entries, and each gets its own job:
// two submissions with one idempotency key, even in one entry, make one.
func TestConcurrentSubmissionsShareEntries(t *testing.T) {
	s, _ := newTestServer(t)
	ctx := context.Background()
	spec := &api.JobSpec{Name: "many", Queue: "default", Priority: 50, Groups: []api.Group{
		{Name: "main", Count: 1, Task: api.Task{Image: "img", Resources: api.Resources{CPUMilli: 500, MemoryBytes: 1 << 20}}},
	}}
	before := s.Raft().LastIndex()
	const keys = 100
	ids := make([][2]string, keys)
	var wg sync.WaitGroup
	for k := range keys {
		for twice := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, err := s.SubmitJob(ctx, spec, fmt.Sprint("key-", k))
				if err != nil {
					t.Error(err)
					return
				}
				ids[k][twice] = st.ID
			}()
		}
	}
	wg.Wait()
	seen := map[string]bool{}
	for k, pair := range ids {
		if pair[0] == "" || pair[0] != pair[1] {
			t.Fatalf("key %d made jobs %q and %q", k, pair[0], pair[1])
		}
		seen[pair[0]] = true
	}
	if len(seen) != keys || len(s.Jobs()) != keys {
		t.Fatalf("%d distinct jobs acknowledged, %d stored; want %d", len(seen), len(s.Jobs()), keys)
	}
	if n := s.Raft().LastIndex() - before; n >= 2*keys {
		t.Errorf("%d submissions took %d Raft entries; want them merged", 2*keys, n)
	}
}

func TestMetrics(t *testing.T) {
	s, _ := newTestServer(t)
	ctx := context.Background()
	n := &api.Node{ID: "n1", Name: "node-1", Address: "127.0.0.1:7402", Resources: api.Resources{CPUMilli: 1000, MemoryBytes: 1 << 30, GPUs: 2},
		GPUs: []api.GPU{{Index: 0, UUID: "GPU-0", Healthy: true}, {Index: 1, UUID: "GPU-1", Healthy: true}}}
	if err := s.RegisterNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := s.SetGPUHealth(ctx, "node-1", "0", api.GPUHealth{Healthy: false, Reason: "XID 79"}); err != nil {
		t.Fatal(err)
	}
	spec := &api.JobSpec{Name: "g", Queue: "default", Priority: 50, Groups: []api.Group{
		{Name: "main", Count: 1, Task: api.Task{Image: "img", Resources: api.Resources{CPUMilli: 100, MemoryBytes: 1 << 20, GPUs: 1}}},
	}}
	st, err := s.SubmitJob(ctx, spec, "")
	if err != nil {
		t.Fatal(err)
	}
	st = waitJob(t, s, st.ID, func(j *api.JobStatus) bool { return j.State == api.JobRunning })
	if got := st.Allocations[0].GPUs; len(got) != 1 || got[0] != "GPU-1" {
		t.Fatalf("the job got %v; the unhealthy GPU-0 must not be used", got)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collector())
	want := `
# HELP phalanx_gpu_allocated 1 if the GPU is held by a running or starting allocation, else 0.
# TYPE phalanx_gpu_allocated gauge
phalanx_gpu_allocated{gpu="0",node="node-1"} 0
phalanx_gpu_allocated{gpu="1",node="node-1"} 1
# HELP phalanx_gpu_healthy 1 if the GPU is healthy, 0 if it was marked unhealthy and gets no new work.
# TYPE phalanx_gpu_healthy gauge
phalanx_gpu_healthy{gpu="0",node="node-1"} 0
phalanx_gpu_healthy{gpu="1",node="node-1"} 1
# HELP phalanx_jobs Jobs by state.
# TYPE phalanx_jobs gauge
phalanx_jobs{state="cancelled"} 0
phalanx_jobs{state="failed"} 0
phalanx_jobs{state="queued"} 0
phalanx_jobs{state="running"} 1
phalanx_jobs{state="succeeded"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "phalanx_gpu_allocated", "phalanx_gpu_healthy", "phalanx_jobs"); err != nil {
		t.Fatal(err)
	}
}

// TestQuietClusterWritesNothing: a job that only partly fits must show
// why it waits and must not make the leader write Raft entries in a loop.
func TestQuietClusterWritesNothing(t *testing.T) {
	s, _ := newTestServer(t)
	ctx := context.Background()
	n := &api.Node{ID: "n1", Name: "node-1", Address: "127.0.0.1:7402", Resources: api.Resources{CPUMilli: 2000, MemoryBytes: 1 << 30}}
	if err := s.RegisterNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	spec := &api.JobSpec{Name: "three", Queue: "default", Priority: 50, Groups: []api.Group{
		{Name: "main", Count: 3, Task: api.Task{Image: "img", Resources: api.Resources{CPUMilli: 1000, MemoryBytes: 1 << 20}}},
	}}
	st, err := s.SubmitJob(ctx, spec, "")
	if err != nil {
		t.Fatal(err)
	}
	// The pass that places two says "2 of 3 members placed; ..."; the next
	// one, with only the third left, settles on why that one waits.
	st = waitJob(t, s, st.ID, func(j *api.JobStatus) bool {
		return len(j.Allocations) == 2 && strings.HasPrefix(j.Reason, "0/1 nodes fit")
	})
	if st.State != api.JobRunning || st.Reason != "0/1 nodes fit: 1 not enough CPU" {
		t.Errorf("partly placed job: %s %q", st.State, st.Reason)
	}
	before := s.raft.LastIndex()
	time.Sleep(2500 * time.Millisecond) // two heartbeat ticks and any number of scheduling passes
	if after := s.raft.LastIndex(); after != before {
		t.Fatalf("raft index moved from %d to %d while nothing happened", before, after)
	}
}

// A drained node takes no new work; at its deadline what still runs there
// moves to another node, without using up the job's restart attempts.
func TestDrainMovesWorkAtDeadline(t *testing.T) {
	s, clock := newTestServer(t)
	ctx := context.Background()
	for _, id := range []string{"n1", "n2"} {
		n := &api.Node{ID: id, Name: "node-" + id, Address: "127.0.0.1:7402", Resources: api.Resources{CPUMilli: 2000, MemoryBytes: 1 << 30}}
		if err := s.RegisterNode(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	spec := func(name string) *api.JobSpec {
		return &api.JobSpec{Name: name, Queue: "default", Priority: 50, Groups: []api.Group{
			{Name: "main", Count: 1, Task: api.Task{Image: "img", Resources: api.Resources{CPUMilli: 1000, MemoryBytes: 1 << 20}}},
		}}
	}
	a, err := s.SubmitJob(ctx, spec("a"), "")
	if err != nil {
		t.Fatal(err)
	}
	a = waitJob(t, s, a.ID, func(j *api.JobStatus) bool { return j.State == api.JobRunning })
	first := a.Allocations[0]
	drained := first.NodeID
	n, err := s.SetDrain(ctx, drained, true, 5*time.Second)
	if err != nil || n.Drain == nil || !n.Drain.Deadline.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("drain: %+v %v", n, err)
	}
	// New work goes elsewhere.
	b, _ := s.SubmitJob(ctx, spec("b"), "")
	b = waitJob(t, s, b.ID, func(j *api.JobStatus) bool { return j.State == api.JobRunning })
	if b.Allocations[0].NodeID == drained {
		t.Fatal("new work was placed on a draining node")
	}
	// Before the deadline nothing moves.
	if err := s.checkDrains(); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Job(a.ID); len(st.Allocations) != 1 || st.Allocations[0].State != api.AllocPending {
		t.Fatalf("work moved before the deadline: %+v", st.Allocations)
	}
	clock.Advance(6 * time.Second) // past the drain deadline, within the heartbeat TTL
	if err := s.checkDrains(); err != nil {
		t.Fatal(err)
	}
	a = waitJob(t, s, a.ID, func(j *api.JobStatus) bool { return len(j.Allocations) == 2 && j.State == api.JobRunning })
	if old := a.Allocations[0]; old.State != api.AllocLost || old.Message != "moved off draining node node-"+drained {
		t.Fatalf("moved allocation: %+v", old)
	}
	if now := a.Allocations[1]; now.NodeID == drained {
		t.Fatal("the work moved back onto the draining node")
	}
	// Eligible again.
	if n, err := s.SetDrain(ctx, drained, false, 0); err != nil || n.Drain != nil {
		t.Fatalf("eligible: %+v %v", n, err)
	}
}
