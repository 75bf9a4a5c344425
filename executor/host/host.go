package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/executor"
)

// Config configures the exec runtime.
type Config struct {
	// WorkDir holds one directory per allocation.
	WorkDir string
}

// DefaultConfig returns a configuration with WorkDir under the system's
// temporary directory.
func DefaultConfig() Config {
	return Config{WorkDir: filepath.Join(os.TempDir(), "phalanx-exec")}
}

// Validate reports whether cfg is usable.
func (c Config) Validate() error {
	if c.WorkDir == "" {
		return errors.New("host: WorkDir must be set")
	}
	if !filepath.IsAbs(c.WorkDir) {
		return fmt.Errorf("host: WorkDir must be an absolute path, got %q", c.WorkDir)
	}
	return nil
}

// outputDrain is how long Wait waits, after the process group is gone, for
// a process that left the group (setsid) to release the output pipe.
const outputDrain = 2 * time.Second

// Runtime runs tasks as host processes. It is safe for concurrent use.
type Runtime struct {
	cfg Config

	mu    sync.Mutex
	tasks map[string]*task
}

var _ executor.Runtime = (*Runtime)(nil)

// New returns an exec runtime, creating cfg.WorkDir.
func New(cfg Config) (*Runtime, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	return &Runtime{cfg: cfg, tasks: map[string]*task{}}, nil
}

// Name returns "exec".
func (r *Runtime) Name() string { return "exec" }

// Start runs alloc's task, or returns the Handle of the task this Runtime
// already runs for alloc.ID.
func (r *Runtime) Start(ctx context.Context, alloc *api.Allocation, prep executor.Prepared, out io.Writer) (executor.Handle, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.tasks[alloc.ID]; t != nil {
		return t, nil
	}
	if e := r.ended(alloc.ID); e != nil {
		return e, nil
	}
	t, err := r.start(alloc, prep, out)
	if err != nil {
		return nil, err
	}
	r.tasks[alloc.ID] = t
	return t, nil
}

func (r *Runtime) start(alloc *api.Allocation, prep executor.Prepared, out io.Writer) (*task, error) {
	if alloc.ID == "" || alloc.ID == "." || alloc.ID == ".." || strings.ContainsAny(alloc.ID, `/\`+"\x00") {
		return nil, fmt.Errorf("host: invalid allocation ID %q", alloc.ID)
	}
	if len(alloc.Task.Command) == 0 {
		return nil, errors.New("host: the exec runtime needs task.command; it does not use images")
	}
	if r.killLeftover(alloc.ID) {
		return nil, fmt.Errorf("host: %w: the agent restarted while this host process ran, and a host process cannot be taken over, so it was killed", executor.ErrLost)
	}
	allocDir := filepath.Join(r.cfg.WorkDir, alloc.ID)
	if err := os.MkdirAll(allocDir, 0o755); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	dir := allocDir
	switch {
	case alloc.Task.WorkingDir != "":
		dir = alloc.Task.WorkingDir
	case prep.WorkspaceDir != "":
		dir = prep.WorkspaceDir
	}

	cmd := exec.Command(alloc.Task.Command[0], alloc.Task.Command[1:]...)
	cmd.Dir = dir
	cmd.Env = environ(alloc, allocDir, prep.WorkspaceDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("host: start %q: %w", alloc.Task.Command[0], err)
	}
	pw.Close() // the children hold the write end now
	// Record the process group, so a restarted agent can kill it rather
	// than run the task twice.
	if err := recordGroup(r.pgidFile(alloc.ID), cmd.Process.Pid); err != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		pr.Close()
		return nil, fmt.Errorf("host: record process group: %w", err)
	}

	t := &task{
		r:        r,
		id:       alloc.ID,
		allocDir: allocDir,
		cmd:      cmd,
		pgid:     cmd.Process.Pid,
		done:     make(chan struct{}),
		copied:   make(chan struct{}),
	}
	go func() {
		io.Copy(out, pr)
		close(t.copied)
	}()
	go t.wait(pr)
	return t, nil
}

// Find returns the task this Runtime runs for alloc. A host process
// started by an earlier agent process cannot be taken over: Find kills
// what is left of it and returns nil.
func (r *Runtime) Find(ctx context.Context, alloc *api.Allocation, out io.Writer) (executor.Handle, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.tasks[alloc.ID]; t != nil {
		return t, nil
	}
	if e := r.ended(alloc.ID); e != nil {
		return e, nil
	}
	r.killLeftover(alloc.ID)
	return nil, nil
}

// List returns the allocations with a host process group or an exit
// recorded: those this Runtime runs and those an earlier agent process
// left. The work dir is the node's own, so nodeID needs no filtering.
func (r *Runtime) List(ctx context.Context, nodeID string) ([]string, error) {
	seen := map[string]bool{}
	var ids []string
	for _, ext := range []string{".pgid", ".exit"} {
		files, err := filepath.Glob(filepath.Join(r.cfg.WorkDir, "*"+ext))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if id := strings.TrimSuffix(filepath.Base(f), ext); !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

// environ returns the task's environment: a fixed PATH and HOME, then
// the task's variables, the GPU variables naming exactly its GPUs, and
// PHALANX_WORKSPACE naming its workspace directory when it has one.
func environ(alloc *api.Allocation, home, workspace string) []string {
	base := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home}
	return append(base, executor.TaskEnv(alloc, "void", workspace)...) // exec.Cmd keeps the last value of a repeated name
}

// task is one host process group.
type task struct {
	r        *Runtime
	id       string
	allocDir string
	cmd      *exec.Cmd
	pgid     int
	done     chan struct{} // closed once the result is set and output copied
	copied   chan struct{} // closed when the output pipe reaches EOF

	mu          sync.Mutex
	exited      bool
	killedGrace time.Duration // grace after which Stop sent SIGKILL, if it did
	result      executor.Result
	err         error
}

func (t *task) wait(pr *os.File) {
	err := t.cmd.Wait()
	t.mu.Lock()
	t.exited = true
	t.mu.Unlock()
	// Kill what is left of the group, as a container's end would. The
	// group's ID is the leader's PID, just reaped; reuse of it as another
	// group's ID in this instant is not a practical concern.
	syscall.Kill(-t.pgid, syscall.SIGKILL)
	select {
	case <-t.copied:
	case <-time.After(outputDrain):
		pr.Close() // a process escaped the group and holds the pipe
		<-t.copied
	}
	pr.Close()

	res, werr := result(t.cmd.ProcessState, err)
	t.mu.Lock()
	if t.killedGrace > 0 && res.Message != "" {
		res.Message += fmt.Sprintf(" after %s grace", t.killedGrace)
	}
	t.result, t.err = res, werr
	t.mu.Unlock()
	if werr == nil {
		t.r.recordExit(t.id, res)
	}
	os.Remove(t.r.pgidFile(t.id))
	close(t.done)
}

func result(ps *os.ProcessState, err error) (executor.Result, error) {
	if ps == nil {
		return executor.Result{}, fmt.Errorf("host: waiting for the process: %w", err)
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		sig := int(ws.Signal())
		return executor.Result{ExitCode: 128 + sig, Message: fmt.Sprintf("killed by signal %d", sig)}, nil
	}
	return executor.Result{ExitCode: ps.ExitCode()}, nil
}

// Wait blocks until the task has ended and its output is copied.
func (t *task) Wait(ctx context.Context) (executor.Result, error) {
	select {
	case <-t.done:
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.result, t.err
	case <-ctx.Done():
		return executor.Result{}, ctx.Err()
	}
}

// Stop sends SIGTERM to the task's process group and SIGKILL once grace has
// passed. It returns when the task has ended, or with ctx's error if ctx
// ends first; the SIGKILL is sent either way.
func (t *task) Stop(ctx context.Context, grace time.Duration) error {
	if !t.signal(syscall.SIGTERM) {
		return nil
	}
	if grace <= 0 {
		t.signal(syscall.SIGKILL)
	} else {
		timer := time.AfterFunc(grace, func() {
			t.mu.Lock()
			if !t.exited && t.killedGrace == 0 {
				t.killedGrace = grace
			}
			t.mu.Unlock()
			t.signal(syscall.SIGKILL)
		})
		defer func() {
			select {
			case <-t.done:
				timer.Stop()
			default: // ctx ended first: leave the kill armed
			}
		}()
	}
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// signal sends sig to the process group unless the leader has exited, and
// reports whether it did.
func (t *task) signal(sig syscall.Signal) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.exited {
		return false
	}
	err := syscall.Kill(-t.pgid, sig)
	return err == nil
}

// Remove kills the task if it still runs and deletes its allocation
// directory. The Runtime forgets the task once Remove has succeeded.
func (t *task) Remove(ctx context.Context) error {
	if err := t.Stop(ctx, 0); err != nil {
		return err
	}
	select {
	case <-t.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	os.Remove(t.r.exitFile(t.id))
	if err := os.RemoveAll(t.allocDir); err != nil {
		return fmt.Errorf("host: remove: %w", err)
	}
	t.r.mu.Lock()
	if t.r.tasks[t.id] == t {
		delete(t.r.tasks, t.id)
	}
	t.r.mu.Unlock()
	return nil
}
