package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

func gpuNode(id string, gpus int) *api.Node {
	n := &api.Node{ID: id, Name: id, Address: "127.0.0.1:1", Resources: api.Resources{CPUMilli: 64000, MemoryBytes: 256 << 30, GPUs: gpus}}
	for i := range gpus {
		n.GPUs = append(n.GPUs, api.GPU{Index: i, UUID: id + "-gpu" + string(rune('0'+i)), Model: "A100", MemoryBytes: 80 << 30, Healthy: true})
	}
	return n
}

func gpuSpec(name, queue string, prio, gpus int, gang bool) *api.JobSpec {
	return &api.JobSpec{Name: name, Queue: queue, Priority: prio, Gang: gang, Network: api.NetworkBridge, Groups: []api.Group{{
		Name: "w", Count: 1, Task: api.Task{Image: "img", Resources: api.Resources{CPUMilli: 1000, MemoryBytes: 1 << 30, GPUs: gpus}},
	}}}
}

// report tells the server, as an executor would, that every live
// allocation of the job is running (or, with stopped, that those asked to
// stop have stopped).
func report(t *testing.T, s *Server, jobID string, at time.Time) {
	t.Helper()
	var us []api.AllocUpdate
	for _, a := range s.State().Snapshot().JobAllocs(jobID) {
		switch {
		case a.Live() && a.DesiredState == api.DesiredStop:
			us = append(us, api.AllocUpdate{ID: a.ID, NodeID: a.NodeID, State: api.AllocStopped, Time: at})
		case a.Live() && a.State == api.AllocPending:
			us = append(us, api.AllocUpdate{ID: a.ID, NodeID: a.NodeID, State: api.AllocRunning, Time: at})
		}
	}
	if err := s.UpdateAllocations(context.Background(), us); err != nil {
		t.Fatal(err)
	}
}

func TestQueuesRefuseUnknownQueueAndPriorityAboveCap(t *testing.T) {
	s, _ := newTestServer(t)
	ctx := context.Background()
	eighty := 80
	if _, err := s.PutQueues(ctx, []api.Queue{{Name: "research", Weight: 2, MaxPriority: &eighty}}); err != nil {
		t.Fatal(err)
	}
	var fe *api.FieldError
	_, err := s.SubmitJob(ctx, gpuSpec("x", "nope", 10, 0, false), "")
	if !errors.As(err, &fe) || fe.Field != "spec.queue" || !strings.Contains(fe.Msg, `unknown queue "nope"; the queues are default, research`) || !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("unknown queue: %v", err)
	}
	_, err = s.SubmitJob(ctx, gpuSpec("x", "research", 90, 0, false), "")
	if !errors.As(err, &fe) || fe.Field != "spec.priority" || !strings.Contains(fe.Msg, "90 is above queue research's max_priority of 80") {
		t.Fatalf("priority above the cap: %v", err)
	}
	if _, err := s.SubmitJob(ctx, gpuSpec("x", "research", 80, 0, false), ""); err != nil {
		t.Fatalf("priority at the cap: %v", err)
	}
	if _, err := s.SubmitJob(ctx, gpuSpec("x", "default", 100, 0, false), ""); err != nil {
		t.Fatalf("the undeclared default queue: %v", err)
	}
	qs := s.Queues()
	if len(qs) != 2 || qs[0].Name != "default" || qs[1].Name != "research" || qs[1].Queued+qs[1].Running != 1 {
		t.Fatalf("queues: %+v %+v", *qs[0], *qs[1])
	}
	// A queue with active jobs cannot go; default never can.
	if err := s.DeleteQueue(ctx, "research"); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("delete a queue with jobs: %v", err)
	}
	if err := s.DeleteQueue(ctx, "default"); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("delete default: %v", err)
	}
}

// A high-priority job preempts a lower one of its queue: the victim is
// asked to stop, sees an event, keeps its submit time and attempts, and
// runs again once there is room; the preemptor runs once the victim has
// stopped.
func TestPreemptionStopsTheVictimAndRequeuesIt(t *testing.T) {
	s, clock := newTestServer(t)
	ctx := context.Background()
	if err := s.RegisterNode(ctx, gpuNode("n1", 8)); err != nil {
		t.Fatal(err)
	}
	low, err := s.SubmitJob(ctx, gpuSpec("low", "default", 10, 8, true), "")
	if err != nil {
		t.Fatal(err)
	}
	waitJob(t, s, low.ID, func(j *api.JobStatus) bool { return len(j.Allocations) == 1 })
	report(t, s, low.ID, clock.Now())
	clock.Advance(5 * time.Second) // under the heartbeat TTL
	high, err := s.SubmitJob(ctx, gpuSpec("high", "default", 50, 8, true), "")
	if err != nil {
		t.Fatal(err)
	}
	st := waitJob(t, s, low.ID, func(j *api.JobStatus) bool { return j.Preemptions == 1 })
	if len(st.Events) != 1 || st.Events[0].Kind != api.EventPreempted || !strings.Contains(st.Events[0].Message, high.ID) {
		t.Fatalf("victim events: %+v", st.Events)
	}
	if !st.SubmitTime.Equal(low.SubmitTime) {
		t.Fatalf("victim's submit time moved from %v to %v", low.SubmitTime, st.SubmitTime)
	}
	a := s.State().Snapshot().JobAllocs(low.ID)[0]
	if a.DesiredState != api.DesiredStop || !a.Preempted {
		t.Fatalf("victim allocation: desired %s, preempted %v", a.DesiredState, a.Preempted)
	}
	// Until the victim has stopped, the preemptor waits for it.
	if hs, _ := s.Job(high.ID); len(hs.Allocations) != 0 || hs.State != api.JobQueued {
		t.Fatalf("preemptor placed before the victim stopped: %+v", hs)
	}
	report(t, s, low.ID, clock.Now())
	hs := waitJob(t, s, high.ID, func(j *api.JobStatus) bool { return len(j.Allocations) == 1 })
	if hs.Allocations[0].NodeID != "n1" {
		t.Fatalf("preemptor on %s", hs.Allocations[0].NodeID)
	}
	ls, _ := s.Job(low.ID)
	if ls.State != api.JobQueued || ls.Attempt != 1 {
		t.Fatalf("victim: %s attempt %d (%s); want queued for a new attempt", ls.State, ls.Attempt, ls.Reason)
	}
	// The preemption used up no restart attempt: once the preemptor is
	// done, the victim runs again.
	report(t, s, high.ID, clock.Now())
	var done []api.AllocUpdate
	for _, a := range s.State().Snapshot().JobAllocs(high.ID) {
		done = append(done, api.AllocUpdate{ID: a.ID, NodeID: a.NodeID, State: api.AllocSucceeded, ExitCode: new(int), Time: clock.Now()})
	}
	if err := s.UpdateAllocations(ctx, done); err != nil {
		t.Fatal(err)
	}
	waitJob(t, s, low.ID, func(j *api.JobStatus) bool { return j.State == api.JobRunning || len(j.Allocations) == 2 })
}

// A job that runs past its walltime is stopped and fails with an event
// that says so.
func TestWalltimeIsEnforced(t *testing.T) {
	// A TTL beyond the test's fake minutes: the node stays up.
	s, clock := newTestServer(t, func(c *Config) { c.HeartbeatTTL = time.Hour })
	ctx := context.Background()
	if err := s.RegisterNode(ctx, gpuNode("n1", 0)); err != nil {
		t.Fatal(err)
	}
	spec := gpuSpec("short", "default", 10, 0, false)
	spec.Walltime = api.Duration(time.Minute)
	st, err := s.SubmitJob(ctx, spec, "")
	if err != nil {
		t.Fatal(err)
	}
	waitJob(t, s, st.ID, func(j *api.JobStatus) bool { return len(j.Allocations) == 1 })
	report(t, s, st.ID, clock.Now())
	clock.Advance(59 * time.Second)
	if err := s.Heartbeat(ctx, "n1"); err != nil { // a write: wakes the leader loop
		t.Fatal(err)
	}
	if j, _ := s.Job(st.ID); j.State != api.JobRunning {
		t.Fatalf("before its walltime the job is %s (%s)", j.State, j.Reason)
	}
	clock.Advance(2 * time.Second)
	if err := s.Heartbeat(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, s, st.ID, func(j *api.JobStatus) bool { return j.State.Terminal() })
	if j.State != api.JobFailed || !strings.Contains(j.Reason, "walltime 1m0s exceeded") || len(j.Events) != 1 || j.Events[0].Kind != api.EventWalltime {
		t.Fatalf("after its walltime: %s (%s) events %+v", j.State, j.Reason, j.Events)
	}
	if a := s.State().Snapshot().JobAllocs(st.ID)[0]; a.DesiredState != api.DesiredStop {
		t.Fatalf("its allocation is not asked to stop: %s", a.DesiredState)
	}
}

// Queues declared in the configuration exist once a leader runs.
func TestConfiguredQueuesAreDeclared(t *testing.T) {
	s, _ := newTestServer(t, func(c *Config) { c.Queues = []api.Queue{{Name: "ci", Weight: 1, Borrow: true}} })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := s.State().Snapshot().Queue("ci"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the configured queue was never declared")
		}
		time.Sleep(10 * time.Millisecond)
	}
	idx := s.State().Snapshot().Index()
	if err := s.declareQueues(); err != nil { // unchanged: writes nothing
		t.Fatal(err)
	}
	if s.State().Snapshot().Index() != idx {
		t.Fatal("declaring unchanged queues wrote to Raft")
	}
}
