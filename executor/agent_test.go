package executor_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/handler"
	"github.com/phalanx-sched/phalanx/executor"
	"github.com/phalanx-sched/phalanx/gpu"
	"github.com/phalanx-sched/phalanx/internal/fakeclock"
	"github.com/phalanx-sched/phalanx/scheduler/server"
)

// fakeRuntime keeps its "containers" across agent instances, as the Docker
// Engine does, so agent restarts can be tested. Tasks run until the test
// ends them or they are stopped.
type fakeRuntime struct {
	mu     sync.Mutex
	procs  map[string]*fakeProc
	starts map[string]int
	// onRemove, if set, runs when a task is removed.
	onRemove func(id string)
}

type fakeProc struct {
	rt      *fakeRuntime
	id      string
	node    string
	done    chan struct{}
	code    int
	stopped bool
}

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{procs: map[string]*fakeProc{}, starts: map[string]int{}}
}

func (r *fakeRuntime) Name() string { return "fake" }

func (r *fakeRuntime) Start(ctx context.Context, a *api.Allocation, prep executor.Prepared, out io.Writer) (executor.Handle, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.procs[a.ID]; p != nil {
		return p, nil
	}
	p := &fakeProc{rt: r, id: a.ID, node: a.NodeID, done: make(chan struct{})}
	r.procs[a.ID] = p
	r.starts[a.ID]++
	fmt.Fprintf(out, "started %s\n", a.ID)
	return p, nil
}

func (r *fakeRuntime) List(ctx context.Context, nodeID string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id, p := range r.procs {
		if p.node == nodeID {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (r *fakeRuntime) Find(ctx context.Context, a *api.Allocation, out io.Writer) (executor.Handle, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.procs[a.ID]; p != nil {
		return p, nil
	}
	return nil, nil
}

// exit ends a task with code.
func (r *fakeRuntime) exit(id string, code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.procs[id]
	select {
	case <-p.done:
	default:
		p.code = code
		close(p.done)
	}
}

func (r *fakeRuntime) proc(id string) *fakeProc {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.procs[id]
}

// stoppedOrGone reports whether id's task was stopped or no longer exists.
func (r *fakeRuntime) stoppedOrGone(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.procs[id]
	return p == nil || p.stopped
}

func (r *fakeRuntime) startCount(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts[id]
}

func (p *fakeProc) Wait(ctx context.Context) (executor.Result, error) {
	select {
	case <-p.done:
		p.rt.mu.Lock()
		defer p.rt.mu.Unlock()
		return executor.Result{ExitCode: p.code}, nil
	case <-ctx.Done():
		return executor.Result{}, ctx.Err()
	}
}

func (p *fakeProc) Stop(ctx context.Context, grace time.Duration) error {
	p.rt.mu.Lock()
	p.stopped = true
	p.rt.mu.Unlock()
	p.rt.exit(p.id, 143)
	return nil
}

func (p *fakeProc) Remove(ctx context.Context) error {
	if p.rt.onRemove != nil {
		p.rt.onRemove(p.id)
	}
	p.rt.mu.Lock()
	defer p.rt.mu.Unlock()
	delete(p.rt.procs, p.id)
	return nil
}

// harness is an in-memory Raft server behind real HTTP, and agents on it.
type harness struct {
	t     *testing.T
	srv   *server.Server
	addr  string
	clock *fakeclock.Clock
	rt    *fakeRuntime
	// runtime, if set, is what agents run on instead of rt.
	runtime executor.Runtime
	dir     string
	// partitioned makes the server miss every new request of the agent
	// (heartbeats, polls, reports), as a network partition would; one
	// already under way still gets its answer.
	partitioned atomic.Bool
}

func newHarness(t *testing.T) *harness {
	_, trans := raft.NewInmemTransport("")
	clock := fakeclock.New(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	cfg := server.TestConfig("s1", trans)
	cfg.Now, cfg.HeartbeatTTL = clock.Now, 10*time.Second
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := handler.New(srv, handler.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	hr := &harness{t: t, srv: srv, clock: clock, rt: newFakeRuntime(), dir: t.TempDir()}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hr.partitioned.Load() {
			http.Error(w, "partitioned", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	hr.addr = strings.TrimPrefix(hs.URL, "http://")
	return hr
}

// startAgent runs an agent (the same node across restarts: same data
// dir) until the returned stop is called.
func (h *harness) startAgent() (stop func()) {
	stop, _ = h.startAgentWith(nil)
	return stop
}

// startAgentWith is startAgent with the config changed by edit.
func (h *harness) startAgentWith(edit func(*executor.Config)) (stop func(), ag *executor.Agent) {
	cfg := executor.DefaultConfig()
	cfg.Server, cfg.NodeName, cfg.DataDir, cfg.Address = h.addr, "n1", h.dir, "127.0.0.1:1"
	cfg.CPUMilli, cfg.MemoryBytes, cfg.HeartbeatInterval = 1000, 1<<30, 100*time.Millisecond
	if edit != nil {
		edit(&cfg)
	}
	var rt executor.Runtime = h.rt
	if h.runtime != nil {
		rt = h.runtime
	}
	ag, err := executor.New(cfg, rt)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ag.Run(ctx) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	h.t.Cleanup(stop)
	return stop, ag
}

func (h *harness) submit(attempts int) string {
	spec := &api.JobSpec{Name: "j", Queue: "default", Priority: 50, Groups: []api.Group{{
		Name: "main", Count: 1, Restart: api.RestartPolicy{Attempts: attempts},
		Task: api.Task{Image: "img", Resources: api.Resources{CPUMilli: 1000, MemoryBytes: 1 << 20}},
	}}}
	st, err := h.srv.SubmitJob(context.Background(), spec, "")
	if err != nil {
		h.t.Fatal(err)
	}
	return st.ID
}

// eventually waits until cond holds.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) alloc(jobID string, i int) *api.AllocStatus {
	st, err := h.srv.Job(jobID)
	if err != nil || len(st.Allocations) <= i {
		return nil
	}
	return &st.Allocations[i]
}

func (h *harness) allocState(jobID string, i int, want api.AllocState) func() bool {
	return func() bool { a := h.alloc(jobID, i); return a != nil && a.State == want }
}

func TestRunsAndReportsExit(t *testing.T) {
	h := newHarness(t)
	h.startAgent()
	id := h.submit(0)
	h.eventually("running", h.allocState(id, 0, api.AllocRunning))
	allocID := h.alloc(id, 0).ID
	var removedTooEarly bool
	h.rt.onRemove = func(a string) {
		// The container must outlive the report of how it ended.
		st, _ := h.srv.Job(id)
		removedTooEarly = st.Allocations[0].State != api.AllocFailed
	}
	h.rt.exit(allocID, 3)
	h.eventually("failed", h.allocState(id, 0, api.AllocFailed))
	h.eventually("removed", func() bool { return h.rt.proc(allocID) == nil })
	if removedTooEarly {
		t.Error("the task was removed before the server had its exit code")
	}
	if a := h.alloc(id, 0); a.ExitCode == nil || *a.ExitCode != 3 {
		t.Errorf("exit code %v", a.ExitCode)
	}
}

// A node marked down has its allocations lost: its agent must stop them,
// so they never run beside their replacements.
func TestLostAllocationIsStopped(t *testing.T) {
	h := newHarness(t)
	h.startAgent()
	id := h.submit(1)
	h.eventually("running", h.allocState(id, 0, api.AllocRunning))
	first := h.alloc(id, 0).ID
	// The server stops hearing the node for longer than its TTL.
	h.partitioned.Store(true)
	h.clock.Advance(time.Minute)
	h.eventually("lost", h.allocState(id, 0, api.AllocLost))
	h.eventually("the lost task stopped", func() bool { return h.rt.stoppedOrGone(first) })
	// Heartbeats bring the node back and the restart runs there: one task
	// at a time.
	h.partitioned.Store(false)
	h.eventually("the replacement running", h.allocState(id, 1, api.AllocRunning))
	if !h.rt.stoppedOrGone(first) {
		t.Fatal("the lost task still runs beside its replacement")
	}
}

// A task lost while its agent was down is stopped when the agent comes
// back.
func TestRestartedAgentStopsLeftoverOfLostAllocation(t *testing.T) {
	h := newHarness(t)
	stop := h.startAgent()
	id := h.submit(0)
	h.eventually("running", h.allocState(id, 0, api.AllocRunning))
	allocID := h.alloc(id, 0).ID
	stop()
	h.clock.Advance(time.Minute)
	h.eventually("lost", h.allocState(id, 0, api.AllocLost))
	h.startAgent()
	h.eventually("the leftover stopped", func() bool { return h.rt.stoppedOrGone(allocID) })
}

// Two agents on one runtime (two nodes on one Docker Engine): a starting
// agent must leave the other node's tasks alone.
func TestAgentLeavesOtherNodesTasksAlone(t *testing.T) {
	h := newHarness(t)
	h.startAgent()
	id := h.submit(0)
	h.eventually("running", h.allocState(id, 0, api.AllocRunning))
	allocID := h.alloc(id, 0).ID
	_, second := h.startAgentWith(func(c *executor.Config) {
		c.NodeName, c.DataDir = "n2", h.t.TempDir()
	})
	h.eventually("the second node registered", func() bool { _, err := h.srv.Node(second.NodeID()); return err == nil })
	time.Sleep(500 * time.Millisecond) // its first polls and sweep
	if h.rt.stoppedOrGone(allocID) {
		t.Fatal("the second agent stopped the first node's task")
	}
	if a := h.alloc(id, 0); a.State != api.AllocRunning {
		t.Fatalf("the first node's allocation is %s", a.State)
	}
}

// An agent that restarts finds its running task and starts nothing again.
func TestRestartedAgentAdoptsItsTask(t *testing.T) {
	h := newHarness(t)
	stop := h.startAgent()
	id := h.submit(0)
	h.eventually("running", h.allocState(id, 0, api.AllocRunning))
	allocID := h.alloc(id, 0).ID
	stop()
	h.startAgent()
	time.Sleep(300 * time.Millisecond) // a few polls
	h.rt.exit(allocID, 0)
	h.eventually("succeeded", h.allocState(id, 0, api.AllocSucceeded))
	if n := h.rt.startCount(allocID); n != 1 {
		t.Fatalf("started %d times", n)
	}
}

// A job cancelled while its agent was down is stopped when the agent
// comes back, with the task's real exit status.
func TestCancelWhileAgentDownStopsTheTask(t *testing.T) {
	h := newHarness(t)
	stop := h.startAgent()
	id := h.submit(0)
	h.eventually("running", h.allocState(id, 0, api.AllocRunning))
	allocID := h.alloc(id, 0).ID
	stop()
	if _, err := h.srv.CancelJob(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	h.startAgent()
	h.eventually("stopped", h.allocState(id, 0, api.AllocStopped))
	a := h.alloc(id, 0)
	if a.ExitCode == nil || *a.ExitCode != 143 || a.Message == "stopped before it started" {
		t.Fatalf("allocation %+v: want the running task stopped (143), not skipped", a)
	}
	if n := h.rt.startCount(allocID); n != 1 {
		t.Fatalf("started %d times", n)
	}
}

// A GPU whose driver reports a critical XID is marked unhealthy in the
// control plane, gets no new work, and shows so in the agent's metrics.
func TestFailingGPUGetsNoWork(t *testing.T) {
	h := newHarness(t)
	src, xids := gpu.NewScriptedMock()
	inv, err := src.Discover()
	if err != nil {
		t.Fatal(err)
	}
	_, ag := h.startAgentWith(func(c *executor.Config) {
		c.GPUs, c.GPUSource = inv.API(), src
		c.CPUMilli = 8000
	})
	h.eventually("the node registered", func() bool { _, err := h.srv.Node("n1"); return err == nil })
	sick := inv.Devices[3].UUID
	xids <- gpu.XIDInjection{Index: 3, XID: 79}
	h.eventually("GPU 3 marked unhealthy", func() bool {
		n, _ := h.srv.Node("n1")
		return !n.GPUs[3].Healthy
	})
	n, _ := h.srv.Node("n1")
	if why := n.GPUs[3].Unhealthy; !strings.Contains(why, "XID 79") {
		t.Errorf("reason %q does not name the XID", why)
	}

	var jobs []string
	for i := 0; i < 8; i++ {
		spec := &api.JobSpec{Name: "g", Queue: "default", Priority: 50, Groups: []api.Group{{
			Name: "main", Count: 1,
			Task: api.Task{Image: "img", Resources: api.Resources{CPUMilli: 100, MemoryBytes: 1 << 20, GPUs: 1}},
		}}}
		st, err := h.srv.SubmitJob(context.Background(), spec, "")
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, st.ID)
	}
	h.eventually("7 jobs running and 1 waiting", func() bool {
		running, waiting := 0, 0
		for _, id := range jobs {
			st, _ := h.srv.Job(id)
			switch {
			case st.State == api.JobRunning:
				running++
			case st.State == api.JobQueued && strings.Contains(st.Reason, "too few free GPUs"):
				waiting++
			}
		}
		return running == 7 && waiting == 1
	})
	for _, id := range jobs {
		st, _ := h.srv.Job(id)
		for _, a := range st.Allocations {
			if len(a.GPUs) == 1 && a.GPUs[0] == sick {
				t.Fatalf("job %s was placed on the unhealthy GPU", id)
			}
		}
	}
	rec := httptest.NewRecorder()
	ag.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{`phalanx_gpu_memory_total_bytes{gpu="0",node="n1"}`, `phalanx_gpu_allocated{gpu="3",node="n1"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("agent metrics lack %s:\n%s", want, body)
		}
	}
	allocated := regexp.MustCompile(`phalanx_gpu_allocated\{gpu="(\d)",node="n1"\} 1`)
	h.eventually("7 GPUs shown allocated, not GPU 3", func() bool {
		rec := httptest.NewRecorder()
		ag.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		held := allocated.FindAllStringSubmatch(rec.Body.String(), -1)
		for _, m := range held {
			if m[1] == "3" {
				t.Fatal("metrics show the unhealthy GPU allocated")
			}
		}
		return len(held) == 7
	})
}

// TestStopDuringCheckout: a step cancelled while its workspace is being
// checked out stops then, not after the checkout ends (a slow or silent
// git server could take the whole checkout timeout).
func TestStopDuringCheckout(t *testing.T) {
	h := newHarness(t)
	entered, gaveUp := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h.startAgentWith(func(c *executor.Config) {
		c.Checkout = func(ctx context.Context, co api.Checkout, dir string) error {
			once.Do(func() { close(entered) })
			<-ctx.Done()
			close(gaveUp)
			return ctx.Err()
		}
	})
	spec := &api.JobSpec{Name: "step", Queue: "default", Priority: 50, Groups: []api.Group{{
		Name: "step", Count: 1,
		Task: api.Task{Image: "img", Resources: api.Resources{CPUMilli: 100, MemoryBytes: 1 << 20},
			Workspace: &api.Workspace{ID: "run-1", Checkout: &api.Checkout{URL: "https://git.example/r", Commit: strings.Repeat("a", 40)}}},
	}}}
	st, err := h.srv.SubmitJob(context.Background(), spec, "")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the checkout never started")
	}
	if _, err := h.srv.CancelJob(context.Background(), st.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gaveUp:
	case <-time.After(10 * time.Second):
		t.Fatal("the checkout goes on after its step was cancelled")
	}
	h.eventually("the allocation to stop", func() bool {
		a := h.alloc(st.ID, 0)
		return a != nil && a.State == api.AllocStopped
	})
	if h.rt.startCount(h.alloc(st.ID, 0).ID) != 0 {
		t.Fatal("the task was started after its checkout was given up")
	}
}
