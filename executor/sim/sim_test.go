package sim_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/executor"
	"github.com/phalanx-sched/phalanx/executor/sim"
)

func alloc(id string, env map[string]string) *api.Allocation {
	return &api.Allocation{ID: id, Task: api.Task{Env: env}}
}

func TestSimTaskRunsForItsDurationAndExits(t *testing.T) {
	rt := sim.New()
	var out strings.Builder
	start := time.Now()
	h, err := rt.Start(context.Background(), alloc("a1", map[string]string{"SIM_DURATION": "150ms", "SIM_EXIT": "3"}), executor.Prepared{}, &out)
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.Wait(context.Background())
	if err != nil || res.ExitCode != 3 {
		t.Fatalf("result %+v %v", res, err)
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Fatalf("ended after %v, before its 150ms", took)
	}
	if !strings.Contains(out.String(), "simulated task a1") {
		t.Fatalf("output %q", out.String())
	}
}

func TestSimDefaultsEndAtOnceWithZero(t *testing.T) {
	h, err := sim.New().Start(context.Background(), alloc("a1", nil), executor.Prepared{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if res, err := h.Wait(ctx); err != nil || res.ExitCode != 0 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestSimStopStartTwiceAndBadInput(t *testing.T) {
	rt := sim.New()
	a := alloc("a1", map[string]string{"SIM_DURATION": "1h"})
	h1, err := rt.Start(context.Background(), a, executor.Prepared{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := rt.Start(context.Background(), a, executor.Prepared{}, io.Discard)
	if h1 != h2 {
		t.Fatal("a second Start started a second task")
	}
	if err := h1.Stop(context.Background(), time.Second); err != nil {
		t.Fatal(err)
	}
	if res, _ := h1.Wait(context.Background()); res.ExitCode != 143 {
		t.Fatalf("stopped task exited %d, want 143", res.ExitCode)
	}
	if err := h1.Stop(context.Background(), time.Second); err != nil {
		t.Fatalf("Stop after the end: %v", err)
	}
	for _, env := range []map[string]string{{"SIM_DURATION": "soon"}, {"SIM_EXIT": "x"}} {
		if _, err := rt.Start(context.Background(), alloc("bad", env), executor.Prepared{}, io.Discard); err == nil {
			t.Errorf("env %v accepted", env)
		}
	}
}
