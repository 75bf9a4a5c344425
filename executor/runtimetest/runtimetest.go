package runtimetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/executor"
)

// Grace is the stop grace the suite gives tasks that ignore SIGTERM.
const Grace = time.Second

// Run checks that the runtimes newRuntime returns follow the
// executor.Runtime protocol. image is the Task.Image of every task.
func Run(t *testing.T, newRuntime func(t *testing.T) executor.Runtime, image string) {
	s := suite{newRuntime: newRuntime, image: image}
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"ExitZeroCapturesOutput", s.exitZero},
		{"NonZeroExitIsAResult", s.exitNonZero},
		{"Env", s.env},
		{"StdoutAndStderr", s.stdoutAndStderr},
		{"StopWithinGrace", s.stopWithinGrace},
		{"StopKillsAfterGrace", s.stopKillsAfterGrace},
		{"StartTwiceStartsOnce", s.startTwice},
		{"StartAfterExitStartsNothing", s.startAfterExit},
		{"StopAfterExitIsNoop", s.stopAfterExit},
		{"Workspace", s.workspace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t)
		})
	}
}

type suite struct {
	newRuntime func(t *testing.T) executor.Runtime
	image      string
}

// Buffer is an io.Writer safe for a runtime writing and a test reading.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// WaitFor waits until the buffer contains sub, failing t after timeout.
func (b *Buffer) WaitFor(t testing.TB, sub string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(b.String(), sub) {
		if time.Now().After(deadline) {
			t.Fatalf("output did not contain %q within %v; got %q", sub, timeout, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Alloc returns an allocation with a unique ID whose task runs script with
// sh -c.
func Alloc(t testing.TB, image, script string) *api.Allocation {
	var r [4]byte
	rand.Read(r[:])
	id := "rt-" + hex.EncodeToString(r[:])
	return &api.Allocation{
		ID:      id,
		JobID:   "job-" + id,
		JobName: "conformance",
		Group:   "main",
		NodeID:  "node-" + id,
		Task: api.Task{
			Image:   image,
			Command: []string{"sh", "-c", script},
		},
	}
}

// Start starts alloc and removes its task when the test ends.
func Start(t testing.TB, rt executor.Runtime, alloc *api.Allocation, out *Buffer) executor.Handle {
	t.Helper()
	return StartPrepared(t, rt, alloc, executor.Prepared{}, out)
}

// StartPrepared is Start with what an agent would have prepared.
func StartPrepared(t testing.TB, rt executor.Runtime, alloc *api.Allocation, prep executor.Prepared, out *Buffer) executor.Handle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := rt.Start(ctx, alloc, prep, out)
	if err != nil {
		t.Fatalf("Start(%s): %v", alloc.ID, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.Remove(ctx); err != nil {
			t.Errorf("Remove(%s): %v", alloc.ID, err)
		}
	})
	return h
}

// Wait waits for h's result, failing t after 30 s.
func Wait(t testing.TB, h executor.Handle) executor.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := h.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return res
}

func (s suite) run(t *testing.T, script string) (executor.Result, string) {
	t.Helper()
	var out Buffer
	h := Start(t, s.newRuntime(t), Alloc(t, s.image, script), &out)
	return Wait(t, h), out.String()
}

func (s suite) exitZero(t *testing.T) {
	res, out := s.run(t, "echo hello; echo world")
	if diff := cmp.Diff(executor.Result{}, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("hello\nworld\n", out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func (s suite) exitNonZero(t *testing.T) {
	res, _ := s.run(t, "exit 3")
	if diff := cmp.Diff(executor.Result{ExitCode: 3}, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
}

func (s suite) env(t *testing.T) {
	alloc := Alloc(t, s.image, `echo "$PHALANX_RANK|$WITH_SPACE|$EMPTY|"`)
	alloc.Task.Env = map[string]string{"PHALANX_RANK": "3", "WITH_SPACE": "a b", "EMPTY": ""}
	var out Buffer
	res := Wait(t, Start(t, s.newRuntime(t), alloc, &out))
	if res.ExitCode != 0 {
		t.Fatalf("Result = %+v", res)
	}
	if diff := cmp.Diff("3|a b||\n", out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func (s suite) stdoutAndStderr(t *testing.T) {
	res, out := s.run(t, "echo to-stdout; echo to-stderr >&2; exit 0")
	if res.ExitCode != 0 {
		t.Fatalf("Result = %+v", res)
	}
	for _, want := range []string{"to-stdout\n", "to-stderr\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
}

func (s suite) stopWithinGrace(t *testing.T) {
	var out Buffer
	h := Start(t, s.newRuntime(t), Alloc(t, s.image,
		`trap 'echo got-term; exit 143' TERM; echo ready; while :; do sleep 0.1; done`), &out)
	out.WaitFor(t, "ready", 20*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := h.Stop(ctx, 20*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	res := Wait(t, h)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("a task that exits on SIGTERM took %v to stop", took)
	}
	if res.ExitCode != 143 {
		t.Errorf("Result = %+v, want exit code 143", res)
	}
	if !strings.Contains(out.String(), "got-term") {
		t.Errorf("output %q: the task's TERM trap did not run", out.String())
	}
}

func (s suite) stopKillsAfterGrace(t *testing.T) {
	var out Buffer
	h := Start(t, s.newRuntime(t), Alloc(t, s.image, `trap '' TERM; echo ready; sleep 60`), &out)
	out.WaitFor(t, "ready", 20*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := h.Stop(ctx, Grace); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	res := Wait(t, h)
	took := time.Since(start)
	if took < Grace-100*time.Millisecond {
		t.Errorf("killed after %v, before the %v grace", took, Grace)
	}
	if took > Grace+10*time.Second {
		t.Errorf("killed after %v, long after the %v grace", took, Grace)
	}
	if res.ExitCode != 137 {
		t.Errorf("Result = %+v, want exit code 137 (SIGKILL)", res)
	}
}

func (s suite) startTwice(t *testing.T) {
	rt := s.newRuntime(t)
	alloc := Alloc(t, s.image, `echo started; sleep 1; echo finished; exit 5`)
	var out1, out2 Buffer
	h1 := Start(t, rt, alloc, &out1)
	out1.WaitFor(t, "started", 20*time.Second)
	h2 := Start(t, rt, alloc, &out2)
	r1, r2 := Wait(t, h1), Wait(t, h2)
	if r1.ExitCode != 5 || r2.ExitCode != 5 {
		t.Errorf("results %+v and %+v, want exit code 5 from both handles", r1, r2)
	}
	if n := strings.Count(out1.String()+out2.String(), "started"); n != 1 {
		t.Errorf("the task started %d times; outputs %q and %q", n, out1.String(), out2.String())
	}
}

func (s suite) startAfterExit(t *testing.T) {
	rt := s.newRuntime(t)
	alloc := Alloc(t, s.image, `echo once; exit 7`)
	var out1, out2 Buffer
	r1 := Wait(t, Start(t, rt, alloc, &out1))
	r2 := Wait(t, Start(t, rt, alloc, &out2))
	if diff := cmp.Diff(r1, r2); diff != "" {
		t.Errorf("second Start's Result differs (-first +second):\n%s", diff)
	}
	if r1.ExitCode != 7 {
		t.Errorf("Result = %+v, want exit code 7", r1)
	}
	if n := strings.Count(out1.String()+out2.String(), "once"); n != 1 {
		t.Errorf("the task ran %d times; outputs %q and %q", n, out1.String(), out2.String())
	}
}

func (s suite) stopAfterExit(t *testing.T) {
	var out Buffer
	h := Start(t, s.newRuntime(t), Alloc(t, s.image, `exit 0`), &out)
	first := Wait(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := h.Stop(ctx, 30*time.Second); err != nil {
		t.Errorf("Stop after exit: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Stop after exit took %v", took)
	}
	if diff := cmp.Diff(first, Wait(t, h)); diff != "" {
		t.Errorf("Result changed after Stop (-before +after):\n%s", diff)
	}
}

// workspace: a task with a prepared workspace runs in it, finds it in
// PHALANX_WORKSPACE, reads what is there and leaves what it writes.
func (s suite) workspace(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("from the checkout\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	alloc := Alloc(t, s.image, `cat hello.txt && [ "$PHALANX_WORKSPACE" = "$(pwd)" ] && echo in-workspace && echo made > new.txt`)
	alloc.Task.Workspace = &api.Workspace{ID: "ws-" + alloc.ID}
	var out Buffer
	res := Wait(t, StartPrepared(t, s.newRuntime(t), alloc, executor.Prepared{WorkspaceDir: dir}, &out))
	if res.ExitCode != 0 {
		t.Fatalf("Result = %+v, output %q", res, out.String())
	}
	if diff := cmp.Diff("from the checkout\nin-workspace\n", out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "new.txt")); err != nil || string(b) != "made\n" {
		t.Errorf("the file the task wrote: %q, %v", b, err)
	}
}
