// Package sim is a Runtime whose tasks only pretend to run: each "runs"
// for the duration in its environment's SIM_DURATION (a Go
// duration; default: it ends at once) and exits with SIM_EXIT
// (default 0). `phalanx agent --sim-nodes N` runs many simulated nodes on
// it against real servers, to measure the control plane at scale without
// that many machines, as nomad-nodesim does for Nomad.
//
// It follows the executor.Runtime protocol: Start is idempotent by
// allocation ID, Stop ends a task with exit code 143, Remove forgets it.
// Tasks live in memory only: a restarted agent has none.
package sim

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/executor"
)

// Runtime runs simulated tasks.
type Runtime struct {
	mu    sync.Mutex
	tasks map[string]*task
}

// New returns a simulated runtime.
func New() *Runtime { return &Runtime{tasks: map[string]*task{}} }

// Name is "sim".
func (r *Runtime) Name() string { return "sim" }

// Start starts alloc's simulated task, or returns the one already running.
func (r *Runtime) Start(ctx context.Context, alloc *api.Allocation, prep executor.Prepared, out io.Writer) (executor.Handle, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.tasks[alloc.ID]; t != nil {
		return t, nil
	}
	var d time.Duration
	if s := alloc.Task.Env["SIM_DURATION"]; s != "" {
		v, err := time.ParseDuration(s)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("sim: SIM_DURATION %q: want a duration such as 30s", s)
		}
		d = v
	}
	code := 0
	if s := alloc.Task.Env["SIM_EXIT"]; s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("sim: SIM_EXIT %q: want an exit code", s)
		}
		code = v
	}
	fmt.Fprintf(out, "simulated task %s: runs %v, exits %d\n", alloc.ID, d, code)
	t := &task{r: r, id: alloc.ID, done: make(chan struct{}), code: code}
	t.timer = time.AfterFunc(d, func() { t.end(code) })
	r.tasks[alloc.ID] = t
	return t, nil
}

type task struct {
	r     *Runtime
	id    string
	timer *time.Timer
	once  sync.Once
	done  chan struct{}
	mu    sync.Mutex
	code  int
}

func (t *task) end(code int) {
	t.once.Do(func() {
		t.mu.Lock()
		t.code = code
		t.mu.Unlock()
		close(t.done)
	})
}

// Wait returns once the simulated task has ended.
func (t *task) Wait(ctx context.Context) (executor.Result, error) {
	select {
	case <-t.done:
		t.mu.Lock()
		defer t.mu.Unlock()
		return executor.Result{ExitCode: t.code}, nil
	case <-ctx.Done():
		return executor.Result{}, ctx.Err()
	}
}

// Stop ends the task at once, as if SIGTERM ended it.
func (t *task) Stop(ctx context.Context, grace time.Duration) error {
	t.timer.Stop()
	t.end(143)
	return nil
}

// Remove forgets the task.
func (t *task) Remove(ctx context.Context) error {
	t.r.mu.Lock()
	defer t.r.mu.Unlock()
	delete(t.r.tasks, t.id)
	return nil
}
