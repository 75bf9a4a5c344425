package fsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler"
	"github.com/phalanx-sched/phalanx/scheduler/state"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// harness applies commands to an FSM at increasing indexes.
type harness struct {
	t     *testing.T
	fsm   *FSM
	index uint64
	log   [][]byte
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, fsm: New(state.New())}
}

func (h *harness) apply(c Command, payload any) any {
	h.t.Helper()
	data, err := Encode(c, payload)
	if err != nil {
		h.t.Fatal(err)
	}
	h.index++
	h.log = append(h.log, data)
	return h.fsm.ApplyEntry(h.index, data)
}

func (h *harness) mustApply(c Command, payload any) any {
	h.t.Helper()
	resp := h.apply(c, payload)
	if err, ok := resp.(error); ok {
		h.t.Fatalf("%v: %v", c, err)
	}
	return resp
}

func (h *harness) job(id string) *api.Job {
	h.t.Helper()
	j, err := h.fsm.State().Snapshot().Job(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return j
}

func (h *harness) alloc(id string) *api.Allocation {
	h.t.Helper()
	a, err := h.fsm.State().Snapshot().Alloc(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

func node(id string, gpus int) api.Node {
	n := api.Node{ID: id, Name: "name-" + id, Address: "10.0.0.1:7402", Ports: api.DefaultPorts,
		Resources: api.Resources{CPUMilli: 4000, MemoryBytes: 8 << 30, GPUs: gpus}}
	for i := 0; i < gpus; i++ {
		n.GPUs = append(n.GPUs, api.GPU{Index: i, UUID: id + "-gpu" + string(rune('0'+i)), Model: "A100", Healthy: true})
	}
	return n
}

func job(id string, gang bool, count, attempts, gpus int) api.Job {
	return api.Job{ID: id, Name: id, Queue: "default", Priority: 50, SubmitTime: t0, Spec: api.JobSpec{
		Name: id, Queue: "default", Priority: 50, Gang: gang,
		Groups: []api.Group{{Name: "worker", Count: count, Restart: api.RestartPolicy{Attempts: attempts},
			Task: api.Task{Image: "img", Resources: api.Resources{CPUMilli: 1000, MemoryBytes: 1 << 30, GPUs: gpus}}}},
	}}
}

func alloc(id, jobID string, index, attempt int, nodeID string, gpus ...int) api.Allocation {
	a := api.Allocation{ID: id, JobID: jobID, JobName: jobID, Group: "worker", Index: index, Attempt: attempt, NodeID: nodeID,
		Task: api.Task{Image: "img", Resources: api.Resources{CPUMilli: 1000, MemoryBytes: 1 << 30, GPUs: len(gpus)}}}
	a.GPUIndices = gpus
	for _, g := range gpus {
		a.GPUs = append(a.GPUs, nodeID+"-gpu"+string(rune('0'+g)))
	}
	return a
}

func exit(code int) *int { return &code }

// rank0 gives a gang's rank 0 its rendezvous port.
func rank0(a api.Allocation) api.Allocation { a.Ports = []int{29500}; return a }

func update(id string, s api.AllocState, code *int) AllocUpdate {
	return AllocUpdate{Updates: []api.AllocUpdate{{ID: id, State: s, ExitCode: code, Time: t0.Add(time.Minute)}}}
}

func TestJobLifecycle(t *testing.T) {
	h := newHarness(t)
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: node("n1", 0)})
	h.mustApply(CmdJobRegister, &JobRegister{Job: job("j1", false, 1, 0, 0)})
	if got := h.job("j1").State; got != api.JobQueued {
		t.Fatalf("after register: %s", got)
	}
	res := h.mustApply(CmdPlanApply, &PlanApply{Allocs: []api.Allocation{alloc("a1", "j1", 0, 0, "n1")}, Time: t0}).(*PlanResult)
	if len(res.Rejected) != 0 {
		t.Fatalf("rejected: %v", res.Rejected)
	}
	if got := h.job("j1").State; got != api.JobRunning {
		t.Fatalf("after plan: %s", got)
	}
	if a := h.alloc("a1"); a.State != api.AllocPending || a.DesiredState != api.DesiredRun {
		t.Fatalf("alloc: %s/%s", a.State, a.DesiredState)
	}
	h.mustApply(CmdAllocUpdate, ptr(update("a1", api.AllocRunning, nil)))
	h.mustApply(CmdAllocUpdate, ptr(update("a1", api.AllocSucceeded, exit(0))))
	j := h.job("j1")
	if j.State != api.JobSucceeded || j.FinishTime.IsZero() {
		t.Fatalf("after exit 0: %s finish=%v", j.State, j.FinishTime)
	}
	// A late report of a final allocation changes nothing.
	h.mustApply(CmdAllocUpdate, ptr(update("a1", api.AllocRunning, nil)))
	if a := h.alloc("a1"); a.State != api.AllocSucceeded || *a.ExitCode != 0 || a.StartTime.IsZero() {
		t.Fatalf("alloc after late report: %+v", a)
	}
}

func ptr[T any](v T) *T { return &v }

func TestTaskRestartsThenFails(t *testing.T) {
	h := newHarness(t)
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: node("n1", 0)})
	h.mustApply(CmdJobRegister, &JobRegister{Job: job("j1", false, 1, 1, 0)})
	h.mustApply(CmdPlanApply, &PlanApply{Allocs: []api.Allocation{alloc("a1", "j1", 0, 0, "n1")}})
	h.mustApply(CmdAllocUpdate, ptr(update("a1", api.AllocFailed, exit(3))))
	if j := h.job("j1"); j.State != api.JobQueued || j.Reason != "restarting after worker[0] exited with code 3" {
		t.Fatalf("after first failure: %s %q", j.State, j.Reason)
	}
	h.mustApply(CmdPlanApply, &PlanApply{Allocs: []api.Allocation{alloc("a2", "j1", 0, 0, "n1")}})
	h.mustApply(CmdAllocUpdate, ptr(update("a2", api.AllocFailed, exit(4))))
	j := h.job("j1")
	if want := "worker[0] exited with code 4 (failed 2 times)"; j.State != api.JobFailed || j.Reason != want {
		t.Fatalf("after second failure: %s %q, want failed %q", j.State, j.Reason, want)
	}
}

func TestGangMemberFailureStopsGangThenRestarts(t *testing.T) {
	h := newHarness(t)
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: node("n1", 0)})
	h.mustApply(CmdJobRegister, &JobRegister{Job: job("g", true, 2, 1, 0)})
	h.mustApply(CmdPlanApply, &PlanApply{Allocs: []api.Allocation{rank0(alloc("a0", "g", 0, 0, "n1")), alloc("a1", "g", 1, 0, "n1")}})
	h.mustApply(CmdAllocUpdate, ptr(update("a0", api.AllocRunning, nil)))
	h.mustApply(CmdAllocUpdate, ptr(update("a1", api.AllocFailed, exit(2))))
	if a := h.alloc("a0"); a.DesiredState != api.DesiredStop {
		t.Fatalf("surviving member not stopped: %s", a.DesiredState)
	}
	if j := h.job("g"); j.State != api.JobRunning || j.Attempt != 0 {
		t.Fatalf("while stopping: %s attempt %d", j.State, j.Attempt)
	}
	h.mustApply(CmdAllocUpdate, ptr(update("a0", api.AllocStopped, exit(143))))
	j := h.job("g")
	if j.State != api.JobQueued || j.Attempt != 1 {
		t.Fatalf("after gang stopped: %s attempt %d %q", j.State, j.Attempt, j.Reason)
	}
	// The restarted gang must be placed whole, at the new attempt.
	res := h.mustApply(CmdPlanApply, &PlanApply{Allocs: []api.Allocation{rank0(alloc("b0", "g", 0, 1, "n1"))}}).(*PlanResult)
	if res.Rejected["g"] == "" {
		t.Fatal("half a gang was committed")
	}
	res = h.mustApply(CmdPlanApply, &PlanApply{Allocs: []api.Allocation{rank0(alloc("b0", "g", 0, 1, "n1")), alloc("b1", "g", 1, 1, "n1")}}).(*PlanResult)
	if len(res.Rejected) != 0 {
		t.Fatalf("rejected: %v", res.Rejected)
	}
	h.mustApply(CmdAllocUpdate, &AllocUpdate{Updates: []api.AllocUpdate{
		{ID: "b0", State: api.AllocFailed, ExitCode: exit(1), Time: t0},
		{ID: "b1", State: api.AllocFailed, ExitCode: exit(1), Time: t0},
	}})
	if j := h.job("g"); j.State != api.JobFailed || j.Reason != "worker[0] exited with code 1 (after 1 restarts)" {
		t.Fatalf("after restarts exhausted: %s %q", j.State, j.Reason)
	}
}

func TestPlanRecheck(t *testing.T) {
	h := newHarness(t)
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: node("n1", 2)})
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: node("down", 2)})
	h.mustApply(CmdNodeDown, &NodeDown{NodeID: "down", Reason: "test", Time: t0})
	for _, id := range []string{"j1", "j2", "j3", "j4"} {
		h.mustApply(CmdJobRegister, &JobRegister{Job: job(id, false, 1, 0, 1)})
	}
	res := h.mustApply(CmdPlanApply, &PlanApply{Allocs: []api.Allocation{
		alloc("a1", "j1", 0, 0, "n1", 0),
		alloc("a2", "j2", 0, 0, "n1", 0),   // GPU 0 taken by j1 in the same plan
		alloc("a3", "j3", 0, 0, "down", 0), // node down
		alloc("a4", "j4", 0, 0, "n1", 1),
	}}).(*PlanResult)
	want := map[string]string{"j2": "worker[0] on node n1: GPU 0 is in use: placement does not fit", "j3": "node name-down is down"}
	if diff := cmp.Diff(want, res.Rejected); diff != "" {
		t.Errorf("rejected (-want +got):\n%s", diff)
	}
	for id, st := range map[string]api.JobState{"j1": api.JobRunning, "j2": api.JobQueued, "j3": api.JobQueued, "j4": api.JobRunning} {
		if got := h.job(id).State; got != st {
			t.Errorf("%s: %s, want %s", id, got, st)
		}
	}
	// The same member cannot be placed twice.
	res = h.mustApply(CmdPlanApply, &PlanApply{Allocs: []api.Allocation{alloc("a5", "j1", 0, 0, "n1", 1)}}).(*PlanResult)
	if res.Rejected["j1"] == "" {
		t.Error("a member with a live allocation was placed again")
	}
}

func TestPendingReason(t *testing.T) {
	h := newHarness(t)
	h.mustApply(CmdJobRegister, &JobRegister{Job: job("j1", false, 1, 0, 0)})
	h.mustApply(CmdPlanApply, &PlanApply{Pending: []scheduler.Pending{{JobID: "j1", Reason: "no ready nodes"}}})
	if got := h.job("j1").Reason; got != "no ready nodes" {
		t.Fatalf("reason %q", got)
	}
}

func TestCancel(t *testing.T) {
	h := newHarness(t)
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: node("n1", 0)})
	h.mustApply(CmdJobRegister, &JobRegister{Job: job("j1", true, 2, 0, 0)})
	h.mustApply(CmdPlanApply, &PlanApply{Allocs: []api.Allocation{rank0(alloc("a0", "j1", 0, 0, "n1")), alloc("a1", "j1", 1, 0, "n1")}})
	h.mustApply(CmdJobCancel, &JobCancel{JobID: "j1", Time: t0})
	if j := h.job("j1"); j.State != api.JobCancelled {
		t.Fatalf("job %s", j.State)
	}
	for _, id := range []string{"a0", "a1"} {
		if a := h.alloc(id); a.DesiredState != api.DesiredStop {
			t.Errorf("%s desired %s", id, a.DesiredState)
		}
	}
	err, _ := h.apply(CmdJobCancel, &JobCancel{JobID: "j1", Time: t0}).(error)
	if !errors.Is(err, api.ErrConflict) {
		t.Fatalf("second cancel: %v", err)
	}
	err, _ = h.apply(CmdJobCancel, &JobCancel{JobID: "nope", Time: t0}).(error)
	if !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("cancel of unknown job: %v", err)
	}
}

func TestNodeDownLosesAllocations(t *testing.T) {
	h := newHarness(t)
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: node("n1", 0)})
	h.mustApply(CmdJobRegister, &JobRegister{Job: job("j1", false, 1, 0, 0)})
	h.mustApply(CmdPlanApply, &PlanApply{Allocs: []api.Allocation{alloc("a1", "j1", 0, 0, "n1")}})
	h.mustApply(CmdNodeDown, &NodeDown{NodeID: "n1", Reason: "no heartbeat for 20s", Time: t0})
	a := h.alloc("a1")
	if a.State != api.AllocLost || a.Message != "node name-n1 down: no heartbeat for 20s" {
		t.Fatalf("alloc %s %q", a.State, a.Message)
	}
	if j := h.job("j1"); j.State != api.JobFailed {
		t.Fatalf("job %s", j.State)
	}
	// A heartbeat brings the node back.
	h.mustApply(CmdNodeHeartbeat, &NodeHeartbeat{NodeID: "n1", Time: t0})
	n, _ := h.fsm.State().Snapshot().Node("n1")
	if n.Status != api.NodeReady {
		t.Fatalf("node %s", n.Status)
	}
}

// An entry of a command this server does not know (a newer leader wrote
// it) stops the server rather than be refused: a follower's refusal is
// dropped, and its state would drift from the others'.
func TestUnknownCommandStopsTheServer(t *testing.T) {
	h := newHarness(t)
	defer func() {
		r := recover()
		if msg, _ := r.(string); !strings.Contains(msg, "upgrade it") {
			t.Fatalf("recovered %v, want a panic asking for an upgrade", r)
		}
	}()
	h.fsm.ApplyEntry(1, []byte{250, '{', '}'})
	t.Fatal("an unknown command was applied")
}

func TestCorruptEntryPanics(t *testing.T) {
	h := newHarness(t)
	defer func() {
		if recover() == nil {
			t.Fatal("a corrupt entry did not panic")
		}
	}()
	h.fsm.ApplyEntry(1, []byte{byte(CmdJobRegister), '{', 'x'})
}

// TestSnapshotRestoreAndReplay checks that a snapshot restores the same
// state and that replaying the log on a fresh FSM gives it too.
func TestSnapshotRestoreAndReplay(t *testing.T) {
	h := newHarness(t)
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: node("n1", 2)})
	h.mustApply(CmdJobRegister, &JobRegister{Job: job("j1", true, 2, 0, 1)})
	h.mustApply(CmdJobRegister, &JobRegister{Job: job("j2", false, 1, 0, 0)})
	h.mustApply(CmdPlanApply, &PlanApply{Allocs: []api.Allocation{rank0(alloc("a0", "j1", 0, 0, "n1", 0)), alloc("a1", "j1", 1, 0, "n1", 1)}})
	h.mustApply(CmdAllocUpdate, ptr(update("a0", api.AllocRunning, nil)))

	want := dump(t, h.fsm)
	restored := New(state.New())
	sink := persist(t, h.fsm)
	if err := restored.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, dump(t, restored)); diff != "" {
		t.Errorf("restored state differs (-want +got):\n%s", diff)
	}
	replayed := New(state.New())
	for i, e := range h.log {
		replayed.ApplyEntry(uint64(i+1), e)
	}
	if diff := cmp.Diff(want, dump(t, replayed)); diff != "" {
		t.Errorf("replayed state differs (-want +got):\n%s", diff)
	}
	if got := restored.State().Snapshot().Index(); got != h.index {
		t.Errorf("restored index %d, want %d", got, h.index)
	}
}

func dump(t *testing.T, f *FSM) string {
	t.Helper()
	s, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// persist writes f's snapshot, as Raft would, into memory.
func persist(t testing.TB, f *FSM) *memSink {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	return sink
}

type memSink struct{ bytes.Buffer }

func (m *memSink) ID() string    { return "mem" }
func (m *memSink) Cancel() error { return nil }
func (m *memSink) Close() error  { return nil }

var _ raft.SnapshotSink = (*memSink)(nil)

func TestGPUHealthSurvivesReregistrationUntilRecovered(t *testing.T) {
	h := newHarness(t)
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: node("n1", 2)})
	sick := api.GPUHealth{UUID: "n1-gpu1", Healthy: false, Reason: "XID 79 (GPU has fallen off the bus)"}
	h.mustApply(CmdGPUHealth, &GPUHealth{NodeID: "n1", Health: sick, Time: t0})
	gpus := func() []api.GPU {
		n, _ := h.fsm.State().Snapshot().Node("n1")
		return n.GPUs
	}
	want := "XID 79 (GPU has fallen off the bus) at 2026-11-22T10:00:00Z"
	if g := gpus()[1]; g.Healthy || g.Unhealthy != want {
		t.Fatalf("after report: %+v", g)
	}
	// The agent restarts and registers all its GPUs as healthy again.
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: node("n1", 2)})
	if g := gpus()[1]; g.Healthy || g.Unhealthy != want {
		t.Fatalf("re-registration healed the GPU: %+v", g)
	}
	if g := gpus()[0]; !g.Healthy {
		t.Fatalf("GPU 0 changed: %+v", g)
	}
	// The same report again changes nothing, not even the time.
	h.mustApply(CmdGPUHealth, &GPUHealth{NodeID: "n1", Health: sick, Time: t0.Add(time.Hour)})
	if g := gpus()[1]; g.Unhealthy != want {
		t.Fatalf("repeated report: %+v", g)
	}
	// An operator recovers it.
	h.mustApply(CmdGPUHealth, &GPUHealth{NodeID: "n1", Health: api.GPUHealth{UUID: "n1-gpu1", Healthy: true}, Time: t0})
	if g := gpus()[1]; !g.Healthy || g.Unhealthy != "" {
		t.Fatalf("after recovery: %+v", g)
	}
	err, _ := h.apply(CmdGPUHealth, &GPUHealth{NodeID: "n1", Health: api.GPUHealth{UUID: "nope"}, Time: t0}).(error)
	if !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("unknown GPU: %v", err)
	}
}

func TestUpdateFromAnotherNodeIsIgnored(t *testing.T) {
	h := newHarness(t)
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: node("n1", 0)})
	h.mustApply(CmdJobRegister, &JobRegister{Job: job("j1", false, 1, 0, 0)})
	h.mustApply(CmdPlanApply, &PlanApply{Allocs: []api.Allocation{alloc("a1", "j1", 0, 0, "n1")}})
	h.mustApply(CmdAllocUpdate, &AllocUpdate{Updates: []api.AllocUpdate{{ID: "a1", NodeID: "n2", State: api.AllocStopped, Time: t0}}})
	if a := h.alloc("a1"); a.State != api.AllocPending {
		t.Fatalf("node n2 changed n1's allocation to %s", a.State)
	}
	h.mustApply(CmdAllocUpdate, &AllocUpdate{Updates: []api.AllocUpdate{{ID: "a1", NodeID: "n1", State: api.AllocRunning, Time: t0}}})
	if a := h.alloc("a1"); a.State != api.AllocRunning {
		t.Fatalf("its own node's report was not applied: %s", a.State)
	}
}

func TestRendezvousPortCheckedAtCommit(t *testing.T) {
	h := newHarness(t)
	n := node("n1", 0)
	n.Ports = api.PortRange{Min: 30000, Max: 30001}
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: n})
	for _, id := range []string{"g1", "g2", "g3"} {
		h.mustApply(CmdJobRegister, &JobRegister{Job: job(id, true, 2, 0, 0)})
	}
	withPorts := func(a api.Allocation, ports ...int) api.Allocation { a.Ports = ports; return a }
	res := h.mustApply(CmdPlanApply, &PlanApply{Allocs: []api.Allocation{
		withPorts(alloc("a0", "g1", 0, 0, "n1"), 30000), alloc("a1", "g1", 1, 0, "n1"), // right
		alloc("b0", "g2", 0, 0, "n1"), alloc("b1", "g2", 1, 0, "n1"), // rank 0 without its port
		withPorts(alloc("c0", "g3", 0, 0, "n1"), 30000), alloc("c1", "g3", 1, 0, "n1"), // g1's port again
	}}).(*PlanResult)
	if len(res.Rejected) != 2 || res.Rejected["g1"] != "" || res.Rejected["g2"] == "" || res.Rejected["g3"] == "" {
		t.Fatalf("rejected %v: want g2 (no port) and g3 (port taken)", res.Rejected)
	}
}

// The leader decides a node is down from a snapshot; a heartbeat
// committed before the NodeDown entry wins.
func TestNodeDownLosesToALaterHeartbeat(t *testing.T) {
	h := newHarness(t)
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: node("n1", 0)})
	h.mustApply(CmdNodeHeartbeat, &NodeHeartbeat{NodeID: "n1", Time: t0})
	h.mustApply(CmdNodeHeartbeat, &NodeHeartbeat{NodeID: "n1", Time: t0.Add(time.Second)})
	h.mustApply(CmdNodeDown, &NodeDown{NodeID: "n1", Reason: "silent", Time: t0.Add(time.Minute), LastHeartbeat: t0})
	if n, _ := h.fsm.State().Snapshot().Node("n1"); n.Status != api.NodeReady {
		t.Fatal("a node that heartbeat after the decision was marked down")
	}
	h.mustApply(CmdNodeDown, &NodeDown{NodeID: "n1", Reason: "silent", Time: t0.Add(time.Minute), LastHeartbeat: t0.Add(time.Second)})
	if n, _ := h.fsm.State().Snapshot().Node("n1"); n.Status != api.NodeDown {
		t.Fatal("a node silent since the decision was not marked down")
	}
}

// A gang moved off a draining node restarts whole and keeps its restart
// attempts for real failures.
func TestMigrationRestartsGangWithoutUsingAttempts(t *testing.T) {
	h := newHarness(t)
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: node("n1", 0)})
	h.mustApply(CmdJobRegister, &JobRegister{Job: job("g", true, 2, 0, 0)})
	h.mustApply(CmdPlanApply, &PlanApply{Allocs: []api.Allocation{rank0(alloc("a0", "g", 0, 0, "n1")), alloc("a1", "g", 1, 0, "n1")}})
	if err, _ := h.apply(CmdNodeMigrate, &NodeMigrate{NodeID: "n1", Time: t0}).(error); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("migrate of a node not draining: %v", err)
	}
	h.mustApply(CmdNodeDrain, &NodeDrain{NodeID: "n1", Drain: &api.Drain{Since: t0}})
	// The agent registering again keeps the drain.
	h.mustApply(CmdNodeRegister, &NodeRegister{Node: node("n1", 0)})
	if n, _ := h.fsm.State().Snapshot().Node("n1"); n.Drain == nil {
		t.Fatal("re-registration ended the drain")
	}
	h.mustApply(CmdNodeMigrate, &NodeMigrate{NodeID: "n1", Time: t0})
	j := h.job("g")
	if j.State != api.JobQueued || j.Attempt != 1 || j.Migrations != 1 {
		t.Fatalf("after migration: %s attempt %d migrations %d (%q)", j.State, j.Attempt, j.Migrations, j.Reason)
	}
	for _, id := range []string{"a0", "a1"} {
		if a := h.alloc(id); a.State != api.AllocLost || !a.Migrated || a.DesiredState != api.DesiredStop {
			t.Fatalf("%s: %+v", id, a)
		}
	}
}
