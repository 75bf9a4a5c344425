package executor

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

// Runtime runs allocations' tasks on this host: Docker containers
// (executor/docker) or host processes (executor/host).
//
// The protocol:
//   - Start creates and starts the task of alloc and copies its stdout and
//     stderr to out until the task ends. prep is what the agent made ready
//     on the host before the call (the workspace's directory, checked
//     out), which the runtime gives to the task (see Prepared). Start is
//     idempotent by alloc.ID: if this runtime already has a task for that
//     allocation (running or exited, say after an agent restart), Start
//     returns a Handle to it and starts nothing. An error from Start means
//     no task is running; the caller reports the allocation failed with
//     the error's text.
//   - Handle.Wait blocks until the task has ended and its output has been
//     copied to out, and returns how it ended. A task that exits non-zero is
//     a Result, not an error; an error means the runtime lost track of it.
//   - Handle.Stop asks the task to end (SIGTERM: to the whole process group
//     for exec; for Docker, to the container's init, which passes it to the
//     main process), and kills it (SIGKILL) if it is still running after
//     grace. Stop on a
//     task that has ended does nothing and returns nil. Wait still returns
//     the Result afterwards.
//   - Handle.Remove deletes what the task left behind (the container); the
//     caller calls it once Wait has returned. Logs already copied to out are
//     the caller's and stay.
//
// Implementations are safe for concurrent use by many allocations.
type Runtime interface {
	// Name is "docker" or "exec".
	Name() string
	Start(ctx context.Context, alloc *api.Allocation, prep Prepared, out io.Writer) (Handle, error)
}

// Prepared is what the agent made ready on the host for an allocation
// before it starts the task.
type Prepared struct {
	// WorkspaceDir is the host directory of alloc.Task.Workspace, its
	// checkout done; "" when the task has no workspace. The task sees it
	// at the workspace's mount path (Docker: a bind mount) or runs in it
	// (exec), and finds that path in WorkspaceEnv.
	WorkspaceDir string
}

// WorkspaceEnv names the variable that tells a task where its workspace
// is.
const WorkspaceEnv = "PHALANX_WORKSPACE"

// Finder is implemented by runtimes that can find the task of an
// allocation started by an earlier agent process without starting
// anything (a container created but never started is removed instead): a
// restarted agent uses it to stop work that was cancelled while it was
// away. Find returns a nil Handle and no error when there is no such task.
type Finder interface {
	Find(ctx context.Context, alloc *api.Allocation, out io.Writer) (Handle, error)
}

// Lister is implemented by runtimes that can list the allocations whose
// tasks they hold for a node, those started by earlier agent processes
// included; tasks of other nodes sharing the runtime (two agents on one
// Docker Engine) are not listed. A restarted agent stops the ones the
// servers no longer want.
type Lister interface {
	List(ctx context.Context, nodeID string) ([]string, error)
}

// ErrLost is wrapped by Start when the allocation's task was running under
// an earlier agent process and cannot be taken over (host processes): the
// runtime killed what was left of it, and the allocation is lost.
var ErrLost = errors.New("task lost")

// Handle is one started task.
type Handle interface {
	Wait(ctx context.Context) (Result, error)
	Stop(ctx context.Context, grace time.Duration) error
	Remove(ctx context.Context) error
}

// Result is how a task ended.
type Result struct {
	ExitCode int
	// Message is a short human-readable note ("OOM killed", "killed after
	// 10s grace"); empty for a plain exit.
	Message string
}
