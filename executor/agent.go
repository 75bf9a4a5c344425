package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/client"
	"github.com/phalanx-sched/phalanx/executor/logs"
)

// Agent runs one node's allocations.
type Agent struct {
	cfg    Config
	rt     Runtime
	logs   *logs.Store
	api    *client.Client
	nodeID string
	out    *reporter
	ws     *workspaces

	collecting atomic.Bool // a workspace collection is under way
	sweeping   atomic.Bool // a sweep of leftovers is under way
	// heardAt is when the latest request went out that the servers
	// answered and count as a heartbeat, as nanoseconds since born: a
	// monotonic reading, which a step of the wall clock cannot move.
	born    time.Time
	heardAt atomic.Int64
	// following are the goroutines that follow tasks (and collect
	// workspaces); Run waits for them, so that nothing writes under the
	// data dir after it returns.
	following sync.WaitGroup

	mu     sync.Mutex
	tasks  map[string]*task  // started by this process, not yet final
	done   map[string]bool   // reported final; skipped until the server drops them
	polled chan struct{}     // closed and replaced after every reconcile
	swept  bool              // leftovers of earlier agent processes stopped
	sick   map[string]string // GPUs reported unhealthy, by UUID: why
}

// task is one allocation this agent is running.
type task struct {
	alloc *api.Allocation
	h     Handle // nil while starting
	stop  bool   // a stop was asked for
	// findOnly: the allocation is to stop and this process never started
	// it; stop whatever an earlier agent process left of it, start nothing.
	findOnly bool
	// secrets are what its log and messages must not show (taskSecrets).
	secrets []string
	// starting bounds what comes before the task starts (its workspace's
	// checkout); a stop cancels it. Nil for findOnly tasks.
	starting    context.Context
	cancelStart context.CancelFunc
}

// New returns an agent. The node ID is kept in DataDir so a restarted
// agent is the same node.
func New(cfg Config, rt Runtime) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("agent: data dir: %w", err)
	}
	id, err := loadNodeID(filepath.Join(cfg.DataDir, "node-id"))
	if err != nil {
		return nil, err
	}
	store, err := logs.NewStore(filepath.Join(cfg.DataDir, "logs"), cfg.LogMaxBytes)
	if err != nil {
		return nil, err
	}
	ws, err := newWorkspaces(filepath.Join(cfg.DataDir, "workspaces"), cfg.Checkout, cfg.WorkspaceGrace, cfg.Now)
	if err != nil {
		return nil, err
	}
	ws.timeout = cfg.CheckoutTimeout
	c := client.New(cfg.Server)
	a := &Agent{
		cfg: cfg, rt: rt, logs: store, api: c, nodeID: id, ws: ws, born: time.Now(),
		tasks: map[string]*task{}, done: map[string]bool{}, polled: make(chan struct{}), sick: map[string]string{},
	}
	c.Agent, c.Heard = id, a.heard
	a.out = newReporter(c, cfg.ReportBatch)
	return a, nil
}

func loadNodeID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("agent: node id: %w", err)
	}
	id := uuid.NewString()
	if err := os.WriteFile(path, []byte(id+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("agent: node id: %w", err)
	}
	return id, nil
}

// NodeID is this node's stable ID.
func (a *Agent) NodeID() string { return a.nodeID }

// Logs is the agent's log store.
func (a *Agent) Logs() *logs.Store { return a.logs }

// Node is what the agent registers. GPUs this agent saw fail are
// registered unhealthy, so servers that lost their state learn it again.
func (a *Agent) Node() *api.Node {
	gpus := append([]api.GPU(nil), a.cfg.GPUs...)
	a.mu.Lock()
	for i := range gpus {
		if why, ok := a.sick[gpus[i].UUID]; ok {
			gpus[i].Healthy, gpus[i].Unhealthy = false, why
		}
	}
	a.mu.Unlock()
	return &api.Node{
		ID: a.nodeID, Name: a.cfg.NodeName, Address: a.cfg.Address, Labels: a.cfg.Labels,
		Runtime: a.rt.Name(), GPUs: gpus, Status: api.NodeReady, Ports: a.cfg.Ports,
		Resources: api.Resources{CPUMilli: a.cfg.CPUMilli, MemoryBytes: a.cfg.MemoryBytes, GPUs: len(gpus)},
	}
}

// Run registers the node and works until ctx ends. Tasks keep running
// after Run returns; a restarted agent finds them again through its
// runtime.
func (a *Agent) Run(ctx context.Context) error {
	start := time.Now()
	if err := retry(ctx, "register node", func() error { return a.api.RegisterNode(ctx, a.Node()) }); err != nil {
		return err
	}
	a.heard(start)
	if !a.cfg.Quiet {
		log.Printf("agent: node %s (%s) registered with %s, runtime %s, %d GPUs",
			a.cfg.NodeName, a.nodeID, a.cfg.Server, a.rt.Name(), len(a.cfg.GPUs))
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); a.heartbeat(ctx) }()
	go func() { defer wg.Done(); a.out.run(ctx) }()
	go func() { defer wg.Done(); a.watchGPUs(ctx) }()
	a.poll(ctx)
	wg.Wait()
	a.following.Wait()
	if c, ok := a.cfg.GPUSource.(io.Closer); ok {
		c.Close()
	}
	return nil
}

// heard records that the servers answered a request that went out at t
// and took it as the node's heartbeat: registration, a heartbeat, and
// the polls and reports whose answers say so (api.HeardHeader).
func (a *Agent) heard(t time.Time) {
	at := int64(t.Sub(a.born))
	for {
		old := a.heardAt.Load()
		if at <= old || a.heardAt.CompareAndSwap(old, at) {
			return
		}
	}
}

// heartbeat makes sure the servers hear from the node at least every
// HeartbeatInterval: it sends a heartbeat once that long has passed since
// the last request they answered. A busy node, whose reports and polls
// already say it is alive, sends none.
func (a *Agent) heartbeat(ctx context.Context) {
	for {
		due := a.born.Add(time.Duration(a.heardAt.Load()) + a.cfg.HeartbeatInterval)
		if wait := time.Until(due); wait > 0 {
			if !sleep(ctx, wait) {
				return
			}
			continue
		}
		start := time.Now()
		err := a.api.Heartbeat(ctx, a.nodeID)
		if errors.Is(err, api.ErrNotFound) {
			// The servers do not know this node (their state was reset):
			// register again.
			err = a.api.RegisterNode(ctx, a.Node())
		}
		if err == nil {
			a.heard(start)
			continue
		}
		if ctx.Err() != nil {
			return
		}
		log.Printf("agent: heartbeat: %v", err)
		if !sleep(ctx, a.cfg.HeartbeatInterval) {
			return
		}
	}
}

// poll long-polls the node's allocations and acts on every change.
func (a *Agent) poll(ctx context.Context) {
	var index uint64
	backoff := newBackoff()
	for ctx.Err() == nil {
		res, err := a.api.NodeAllocations(ctx, a.nodeID, index, 30*time.Second)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Printf("agent: poll allocations: %v", err)
			backoff.wait(ctx)
			continue
		}
		backoff.reset()
		index = res.Index
		a.reconcile(ctx, res.Allocations)
	}
}

// reconcile starts what should run and stops what should not.
func (a *Agent) reconcile(ctx context.Context, allocs []*api.Allocation) {
	a.mu.Lock()
	defer a.mu.Unlock()
	listed := make(map[string]bool, len(allocs))
	for _, al := range allocs {
		listed[al.ID] = true
		if a.done[al.ID] {
			continue
		}
		t := a.tasks[al.ID]
		switch {
		case al.DesiredState == api.DesiredRun && t == nil:
			t = &task{alloc: al}
			t.starting, t.cancelStart = context.WithCancel(ctx)
			a.tasks[al.ID] = t
			if !a.cfg.DiscardLogs {
				a.logs.Expect(al.ID)
			}
			a.following.Go(func() { a.run(ctx, t) })
		case al.DesiredState == api.DesiredStop && t != nil:
			a.requestStop(ctx, t)
		case al.DesiredState == api.DesiredStop && t == nil:
			t = &task{alloc: al, stop: true, findOnly: true}
			a.tasks[al.ID] = t
			a.following.Go(func() { a.run(ctx, t) })
		}
	}
	// A task the servers no longer list has ended as far as they are
	// concerned (its node was marked down and it was lost, say): stop it,
	// so it never runs beside its replacement.
	for id, t := range a.tasks {
		if !listed[id] {
			a.requestStop(ctx, t)
		}
	}
	if !a.swept && a.sweeping.CompareAndSwap(false, true) {
		a.following.Go(func() {
			defer a.sweeping.Store(false)
			a.sweep(ctx, listed)
		})
	}
	a.collectWorkspaces(allocs)
	for id := range a.done {
		if !listed[id] {
			delete(a.done, id)
		}
	}
	close(a.polled)
	a.polled = make(chan struct{})
}

// sweep stops the tasks an earlier agent process of this node left that
// the servers no longer list (lost while the agent was away, or
// replaced). It runs after the first poll, outside the lock, and again
// after the next poll if listing failed.
func (a *Agent) sweep(ctx context.Context, listed map[string]bool) {
	l, ok := a.rt.(Lister)
	if !ok {
		a.mu.Lock()
		a.swept = true
		a.mu.Unlock()
		return
	}
	ids, err := l.List(ctx, a.nodeID)
	if err != nil {
		log.Printf("agent: list leftover tasks: %v (will retry)", err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.swept {
		return
	}
	a.swept = true
	for _, id := range ids {
		if listed[id] || a.tasks[id] != nil || a.done[id] {
			continue
		}
		log.Printf("agent: stopping %s, left by an earlier agent process and no longer wanted", id)
		t := &task{alloc: &api.Allocation{ID: id, NodeID: a.nodeID}, stop: true, findOnly: true}
		a.tasks[id] = t
		a.following.Go(func() { a.run(ctx, t) })
	}
}

// followWait is how long a log follower waits for an allocation this
// agent has not heard of yet: the servers may have placed it a moment
// before the agent's long poll returns it.
const followWait = 30 * time.Second

// follow streams an allocation's log, waiting for allocations that are
// about to arrive.
func (a *Agent) follow(ctx context.Context, id string, w io.Writer) error {
	deadline := time.NewTimer(followWait)
	defer deadline.Stop()
	for {
		a.mu.Lock()
		polled := a.polled
		a.mu.Unlock()
		err := a.logs.Follow(ctx, id, w)
		if !errors.Is(err, logs.ErrNotFound) {
			return err
		}
		select {
		case <-polled:
		case <-deadline.C:
			return err
		case <-ctx.Done():
			return err
		}
	}
}

// requestStop asks a task to stop; a.mu is held.
func (a *Agent) requestStop(ctx context.Context, t *task) {
	if t.stop {
		return
	}
	t.stop = true
	if t.h != nil {
		go a.stopTask(ctx, t.h, t.alloc)
	} else if t.cancelStart != nil {
		t.cancelStart() // a checkout under way gives up
	}
}

func (a *Agent) stopTask(ctx context.Context, h Handle, al *api.Allocation) {
	grace := al.Task.KillTimeout.D()
	if grace <= 0 {
		grace = 10 * time.Second
	}
	if err := h.Stop(ctx, grace); err != nil && ctx.Err() == nil {
		log.Printf("agent: stop %s: %v", al.ID, err)
	}
}

// run starts one allocation's task, waits for it and reports how it
// ended.
func (a *Agent) run(ctx context.Context, t *task) {
	id := t.alloc.ID
	secrets, short := taskSecrets(&t.alloc.Task)
	t.secrets = secrets
	var lw io.WriteCloser = nopCloser{io.Discard}
	var err error
	if !a.cfg.DiscardLogs {
		if lw, err = a.logs.Open(id); err != nil {
			a.finish(t, api.AllocFailed, nil, "cannot open log: "+err.Error())
			return
		}
	}
	var w io.WriteCloser = lw
	if len(secrets) > 0 {
		w = logs.NewMasker(lw, secrets)
	}
	if len(short) > 0 && !t.findOnly {
		fmt.Fprintf(w, "[phalanx: secret %s: values (or lines of values) shorter than %d characters are not masked]\n",
			strings.Join(short, ", "), logs.MinSecretLen)
	}
	var prep Prepared
	starting := ctx
	if t.starting != nil {
		starting = t.starting
		defer t.cancelStart()
	}
	if ws := t.alloc.Task.Workspace; ws != nil && !t.findOnly {
		dir, err := a.ws.acquire(starting, id, ws)
		defer a.ws.release(id, ws.ID)
		if err != nil {
			if ctx.Err() != nil {
				w.Close()
				return // the agent is stopping; the next one tries again
			}
			a.mu.Lock()
			stopped := t.stop
			a.mu.Unlock()
			if stopped {
				w.Close()
				a.finish(t, api.AllocStopped, nil, "stopped before it started")
				return
			}
			fmt.Fprintf(w, "[phalanx: task did not start: workspace not ready: %v]\n", err)
			w.Close()
			a.finish(t, api.AllocFailed, nil, "workspace not ready: "+err.Error())
			return
		}
		prep.WorkspaceDir = dir
	}
	var h Handle
	if t.findOnly {
		if f, ok := a.rt.(Finder); ok {
			h, err = f.Find(ctx, t.alloc, w)
		}
		if h == nil && err == nil {
			w.Close()
			a.finish(t, api.AllocStopped, nil, "stopped before it started")
			return
		}
	} else {
		h, err = a.rt.Start(ctx, t.alloc, prep, w)
	}
	if err != nil {
		fmt.Fprintf(w, "[phalanx: task did not start: %v]\n", err)
		w.Close()
		state := api.AllocFailed
		if errors.Is(err, ErrLost) {
			state = api.AllocLost
		}
		a.finish(t, state, nil, err.Error())
		return
	}
	a.mu.Lock()
	t.h = h
	stop := t.stop
	a.mu.Unlock()
	if !t.findOnly {
		a.out.send(api.AllocUpdate{ID: id, NodeID: a.nodeID, State: api.AllocRunning, Time: a.cfg.Now()})
	}
	if stop {
		go a.stopTask(ctx, h, t.alloc)
	}
	res, err := h.Wait(ctx)
	w.Close()
	if ctx.Err() != nil {
		return // the agent is stopping; the task runs on
	}
	if err != nil {
		a.finish(t, api.AllocFailed, nil, "runtime lost the task: "+err.Error())
		return
	}
	a.mu.Lock()
	stopped := t.stop
	a.mu.Unlock()
	state := api.AllocSucceeded
	switch {
	case stopped:
		state = api.AllocStopped
	case res.ExitCode != 0:
		state = api.AllocFailed
	}
	code := res.ExitCode
	acked := a.finish(t, state, &code, res.Message)
	// Keep the container until a server has the result: an agent that
	// restarts before then finds the exited container and reports again,
	// instead of starting the task a second time.
	select {
	case <-acked:
	case <-ctx.Done():
		return
	}
	if err := h.Remove(context.WithoutCancel(ctx)); err != nil {
		log.Printf("agent: remove %s: %v", id, err)
	}
}

// finish forgets a task and reports how it ended; the returned channel is
// closed once a server has accepted the report.
func (a *Agent) finish(t *task, state api.AllocState, code *int, msg string) <-chan struct{} {
	a.mu.Lock()
	delete(a.tasks, t.alloc.ID)
	a.done[t.alloc.ID] = true
	a.mu.Unlock()
	msg = logs.MaskString(msg, t.secrets)
	return a.out.send(api.AllocUpdate{ID: t.alloc.ID, NodeID: a.nodeID, State: state, ExitCode: code, Message: msg, Time: a.cfg.Now()})
}

// Handler serves the agent's HTTP API: allocation logs for the servers.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/allocations/{id}/logs", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fw := flushWriter{w}
		var err error
		if f := r.URL.Query().Get("follow"); f == "1" || f == "true" {
			err = a.follow(r.Context(), id, fw)
		} else {
			err = a.logs.Read(id, fw)
		}
		if errors.Is(err, logs.ErrNotFound) {
			http.Error(w, fmt.Sprintf("no logs for allocation %s on this node", id), http.StatusNotFound)
		}
	})
	mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "ok %s\n", a.nodeID)
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(gpuCollector{a})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
