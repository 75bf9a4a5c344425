// Package host is the "exec" executor.Runtime: it runs an allocation's task
// as a process on the host, with no isolation, as Nomad's raw_exec does.
//
// What it does with a task:
//   - Task.Command is required and is run directly (no shell); Task.Image is
//     ignored.
//   - The process starts in a new process group. Its environment is
//     PATH=/usr/local/bin:/usr/bin:/bin, HOME=<WorkDir>/<alloc ID> and
//     Task.Env, in that order (Task.Env wins). It runs in Task.WorkingDir if
//     set, else in its workspace's directory (Prepared.WorkspaceDir) if it
//     has one, else in <WorkDir>/<alloc ID>, which Start creates. A task
//     with a workspace gets PHALANX_WORKSPACE set to that directory's host
//     path: exec tasks see the host's file system, so there is no mount.
//   - stdout and stderr both go to out, through one pipe, so their relative
//     order is kept.
//   - Stop sends SIGTERM to the whole process group and SIGKILL to the group
//     once grace has passed (at once if grace <= 0).
//   - When the task's main process exits, whatever is left of its process
//     group is killed, as it would be when a container's PID 1 exits.
//   - A process killed by signal N ends with exit code 128+N and the message
//     "killed by signal N".
//   - Remove kills the task if it still runs, forgets it and deletes
//     <WorkDir>/<alloc ID>.
//
// Start is idempotent by allocation ID within one Runtime value only: host
// processes are children of the agent and cannot be re-adopted after an
// agent restart. An agent that restarts must treat the exec allocations it
// was running as lost.
package host
