package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/executor"
	"github.com/phalanx-sched/phalanx/executor/host"
	"github.com/phalanx-sched/phalanx/executor/runtimetest"
)

func newRuntime(t *testing.T) *host.Runtime {
	t.Helper()
	rt, err := host.New(host.Config{WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func TestConformance(t *testing.T) {
	runtimetest.Run(t, func(t *testing.T) executor.Runtime { return newRuntime(t) }, "")
}

func TestConfigValidate(t *testing.T) {
	for _, cfg := range []host.Config{{}, {WorkDir: "relative"}} {
		if _, err := host.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	if err := host.DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig: %v", err)
	}
}

func TestNeedsCommand(t *testing.T) {
	rt := newRuntime(t)
	_, err := rt.Start(context.Background(), &api.Allocation{ID: "a", Task: api.Task{Image: "busybox"}}, executor.Prepared{}, &runtimetest.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "command") {
		t.Errorf("Start without a command: err = %v", err)
	}
}

func TestWorkingDirAndHome(t *testing.T) {
	rt := newRuntime(t)
	alloc := runtimetest.Alloc(t, "", `pwd; echo "$HOME"; echo "$PATH"`)
	var out runtimetest.Buffer
	runtimetest.Wait(t, runtimetest.Start(t, rt, alloc, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || filepath.Base(lines[0]) != alloc.ID || lines[1] != lines[0] || lines[2] != "/usr/local/bin:/usr/bin:/bin" {
		t.Errorf("pwd, HOME, PATH = %q; want the allocation's directory twice and the fixed PATH", lines)
	}

	dir := t.TempDir()
	alloc = runtimetest.Alloc(t, "", "pwd")
	alloc.Task.WorkingDir = dir
	out = runtimetest.Buffer{}
	runtimetest.Wait(t, runtimetest.Start(t, rt, alloc, &out))
	if got := strings.TrimSpace(out.String()); got != dir {
		t.Errorf("pwd = %q, want Task.WorkingDir %q", got, dir)
	}
}

// A background child that outlives the main process is killed with its
// group, so Wait returns promptly instead of waiting for it.
func TestLeftoverChildrenAreKilled(t *testing.T) {
	rt := newRuntime(t)
	var out runtimetest.Buffer
	start := time.Now()
	h := runtimetest.Start(t, rt, runtimetest.Alloc(t, "", `sleep 30 & echo main-done`), &out)
	res := runtimetest.Wait(t, h)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Wait took %v with a background child", took)
	}
	if res.ExitCode != 0 || !strings.Contains(out.String(), "main-done") {
		t.Errorf("Result %+v, output %q", res, out.String())
	}
}

func TestSignalMessage(t *testing.T) {
	rt := newRuntime(t)
	var out runtimetest.Buffer
	h := runtimetest.Start(t, rt, runtimetest.Alloc(t, "", `trap '' TERM; echo ready; sleep 60`), &out)
	out.WaitFor(t, "ready", 10*time.Second)
	if err := h.Stop(context.Background(), 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	res := runtimetest.Wait(t, h)
	want := executor.Result{ExitCode: 137, Message: "killed by signal 9 after 200ms grace"}
	if res != want {
		t.Errorf("Result = %+v, want %+v", res, want)
	}
}

func TestRemoveDeletesAllocDir(t *testing.T) {
	workDir := t.TempDir()
	rt, err := host.New(host.Config{WorkDir: workDir})
	if err != nil {
		t.Fatal(err)
	}
	alloc := runtimetest.Alloc(t, "", "echo x > file")
	h, err := rt.Start(context.Background(), alloc, executor.Prepared{}, &runtimetest.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	runtimetest.Wait(t, h)
	if _, err := os.Stat(filepath.Join(workDir, alloc.ID, "file")); err != nil {
		t.Fatalf("the task's file: %v", err)
	}
	if err := h.Remove(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(workDir, alloc.ID)); !os.IsNotExist(err) {
		t.Errorf("allocation directory after Remove: %v", err)
	}
}

// A restarted agent's runtime must not start a host task a second time:
// it kills what the earlier process left and says the allocation is lost.
func TestRestartedRuntimeKillsLeftoverAndReportsLost(t *testing.T) {
	dir := t.TempDir()
	first, err := host.New(host.Config{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	alloc := &api.Allocation{ID: "left-1", Task: api.Task{Command: []string{"sh", "-c", "sleep 60"}}}
	h, err := first.Start(context.Background(), alloc, executor.Prepared{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Remove(context.Background()) })
	b, err := os.ReadFile(filepath.Join(dir, "left-1.pgid"))
	if err != nil {
		t.Fatalf("no process group recorded: %v", err)
	}
	var rec struct{ PGID int }
	if err := json.Unmarshal(b, &rec); err != nil || rec.PGID <= 1 {
		t.Fatalf("process group record %q: %v", b, err)
	}
	pgid := rec.PGID

	second, err := host.New(host.Config{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if ids, err := second.List(context.Background(), ""); err != nil || len(ids) != 1 || ids[0] != "left-1" {
		t.Fatalf("List = %v, %v", ids, err)
	}
	_, err = second.Start(context.Background(), alloc, executor.Prepared{}, io.Discard)
	if !errors.Is(err, executor.ErrLost) {
		t.Fatalf("Start of a leftover: %v, want ErrLost", err)
	}
	res, err := h.Wait(context.Background())
	if err != nil || res.ExitCode != 137 {
		t.Fatalf("leftover ended with %+v, %v; want killed (137)", res, err)
	}
	// Its children may linger a moment as zombies until they are reaped.
	for deadline := time.Now().Add(5 * time.Second); syscall.Kill(-pgid, 0) == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the leftover process group still exists")
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "left-1.pgid")); !os.IsNotExist(err) {
		t.Fatalf("the leftover's process group record is still there: %v", err)
	}
	// Find of a task nobody runs finds nothing.
	if h, err := second.Find(context.Background(), &api.Allocation{ID: "none"}, io.Discard); h != nil || err != nil {
		t.Fatalf("Find = %v, %v", h, err)
	}
}

// A task that ended before its agent restarted (its result not yet
// reported) is not run again: the new runtime returns how it ended.
func TestEndedTaskIsNotRunAgain(t *testing.T) {
	dir := t.TempDir()
	first, err := host.New(host.Config{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "runs")
	alloc := &api.Allocation{ID: "ended-1", Task: api.Task{Command: []string{"sh", "-c", "echo x >> " + marker + "; exit 7"}}}
	h, err := first.Start(context.Background(), alloc, executor.Prepared{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := h.Wait(context.Background()); err != nil || res.ExitCode != 7 {
		t.Fatalf("first run: %+v %v", res, err)
	}
	// The agent restarts before reporting, so nothing was removed.
	second, err := host.New(host.Config{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if ids, _ := second.List(context.Background(), ""); len(ids) != 1 || ids[0] != "ended-1" {
		t.Fatalf("List = %v", ids)
	}
	h2, err := second.Start(context.Background(), alloc, executor.Prepared{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := h2.Wait(context.Background()); err != nil || res.ExitCode != 7 {
		t.Fatalf("after restart: %+v %v, want the first run's exit 7", res, err)
	}
	if b, _ := os.ReadFile(marker); strings.Count(string(b), "x") != 1 {
		t.Fatalf("the task ran %d times", strings.Count(string(b), "x"))
	}
	if err := h2.Remove(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ids, _ := second.List(context.Background(), ""); len(ids) != 0 {
		t.Fatalf("List after Remove = %v", ids)
	}
}

// A process group record from another boot is never acted on: that ID
// may belong to anything now.
func TestLeftoverFromAnotherBootIsNotKilled(t *testing.T) {
	dir := t.TempDir()
	victim := exec.Command("sleep", "30")
	victim.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { victim.Process.Kill(); victim.Wait() })
	rec := fmt.Sprintf(`{"pgid": %d, "boot_id": "an-earlier-boot", "start_time": "1"}`, victim.Process.Pid)
	if err := os.WriteFile(filepath.Join(dir, "old-1.pgid"), []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, err := host.New(host.Config{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	alloc := &api.Allocation{ID: "old-1", Task: api.Task{Command: []string{"true"}}}
	if h, err := rt.Find(context.Background(), alloc, io.Discard); h != nil || err != nil {
		t.Fatalf("Find = %v, %v", h, err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := syscall.Kill(victim.Process.Pid, 0); err != nil {
		t.Fatalf("an unrelated process with the recorded group ID was killed: %v", err)
	}
}
