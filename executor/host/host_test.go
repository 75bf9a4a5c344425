package host_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
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
	_, err := rt.Start(context.Background(), &api.Allocation{ID: "a", Task: api.Task{Image: "busybox"}}, &runtimetest.Buffer{})
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
	h, err := rt.Start(context.Background(), alloc, &runtimetest.Buffer{})
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
