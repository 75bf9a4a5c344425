package host

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/phalanx-sched/phalanx/executor"
)

// A host task leaves two records in the work dir, so that a restarted
// agent neither runs it twice nor kills a stranger:
//   - <id>.pgid while it runs: its process group, the boot it ran in and
//     its leader's start time. A leftover is killed only if all three
//     still match, so a process group ID reused after a reboot or by a
//     new process is never hit.
//   - <id>.exit once it ended: how. Start and Find of that allocation
//     return the ended task instead of running it again; Remove deletes
//     the record once the agent has reported the result.

type groupRecord struct {
	PGID      int    `json:"pgid"`
	BootID    string `json:"boot_id"`
	StartTime string `json:"start_time"` // /proc/PID/stat field 22
}

func (r *Runtime) pgidFile(allocID string) string {
	return filepath.Join(r.cfg.WorkDir, allocID+".pgid")
}

func (r *Runtime) exitFile(allocID string) string {
	return filepath.Join(r.cfg.WorkDir, allocID+".exit")
}

func recordGroup(path string, pgid int) error {
	b, err := json.Marshal(groupRecord{PGID: pgid, BootID: bootID(), StartTime: startTime(pgid)})
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// killLeftover kills the process group an earlier agent process started
// for allocID, if it is still that group, and reports whether it did.
func (r *Runtime) killLeftover(allocID string) bool {
	b, err := os.ReadFile(r.pgidFile(allocID))
	if err != nil {
		return false
	}
	os.Remove(r.pgidFile(allocID))
	var g groupRecord
	if json.Unmarshal(b, &g) != nil || g.PGID <= 1 || g.BootID == "" || g.BootID != bootID() {
		return false // another boot: that group is long gone
	}
	// A live leader must be the same process; with the leader gone, the
	// group ID cannot have been reused while members of it remain.
	if st := startTime(g.PGID); st != "" && st != g.StartTime {
		return false
	}
	return syscall.Kill(-g.PGID, syscall.SIGKILL) == nil
}

func bootID() string {
	b, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(string(b))
}

// startTime is field 22 of /proc/PID/stat, or "" if there is no such
// process.
func startTime(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19] // fields after ')' start at field 3
}

type exitRecord struct {
	ExitCode int    `json:"exit_code"`
	Message  string `json:"message,omitempty"`
}

func (r *Runtime) recordExit(allocID string, res executor.Result) {
	b, _ := json.Marshal(exitRecord{ExitCode: res.ExitCode, Message: res.Message})
	if err := os.WriteFile(r.exitFile(allocID), b, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "host: record exit of %s: %v\n", allocID, err)
	}
}

// ended returns the task of allocID that ended under an earlier agent
// process, or nil.
func (r *Runtime) ended(allocID string) *endedTask {
	b, err := os.ReadFile(r.exitFile(allocID))
	if err != nil {
		return nil
	}
	var e exitRecord
	if json.Unmarshal(b, &e) != nil {
		return nil
	}
	return &endedTask{r: r, id: allocID, res: executor.Result{ExitCode: e.ExitCode, Message: e.Message}}
}

// endedTask is a task that ended before this agent process started.
type endedTask struct {
	r   *Runtime
	id  string
	res executor.Result
}

func (t *endedTask) Wait(ctx context.Context) (executor.Result, error) { return t.res, nil }

func (t *endedTask) Stop(ctx context.Context, grace time.Duration) error { return nil }

func (t *endedTask) Remove(ctx context.Context) error {
	os.Remove(t.r.exitFile(t.id))
	if err := os.RemoveAll(filepath.Join(t.r.cfg.WorkDir, t.id)); err != nil {
		return fmt.Errorf("host: remove: %w", err)
	}
	return nil
}
