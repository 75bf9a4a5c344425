package docker_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/google/go-cmp/cmp"

	"github.com/phalanx-sched/phalanx/executor"
	"github.com/phalanx-sched/phalanx/executor/docker"
	"github.com/phalanx-sched/phalanx/executor/logs"
	"github.com/phalanx-sched/phalanx/executor/runtimetest"
	"github.com/phalanx-sched/phalanx/internal/testimage"
	"github.com/phalanx-sched/phalanx/internal/testutil"
)

// newRuntime returns a Docker runtime; every container named after an
// allocation the test starts is force-removed when the test ends.
func newRuntime(t *testing.T) (*docker.Runtime, *client.Client) {
	t.Helper()
	cli := testutil.Docker(t)
	rt, err := docker.New(docker.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt, cli
}

// forceRemoveOnCleanup removes alloc's container when t ends, whatever the
// runtime did.
func forceRemoveOnCleanup(t *testing.T, cli *client.Client, allocID string) {
	t.Cleanup(func() {
		cli.ContainerRemove(context.Background(), "phalanx-"+allocID, container.RemoveOptions{Force: true})
	})
}

func TestConformance(t *testing.T) {
	runtimetest.Run(t, func(t *testing.T) executor.Runtime {
		rt, _ := newRuntime(t)
		return rt
	}, testimage.Name)
}

func TestPing(t *testing.T) {
	rt, _ := newRuntime(t)
	if err := rt.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rt.Name() != "docker" {
		t.Errorf("Name() = %q", rt.Name())
	}
}

func TestContainerSettings(t *testing.T) {
	t.Parallel()
	rt, cli := newRuntime(t)
	alloc := runtimetest.Alloc(t, testimage.Name, "echo hi")
	alloc.JobName, alloc.Group, alloc.Index = "train", "worker", 3
	alloc.Task.Resources.CPUMilli = 500
	alloc.Task.Resources.MemoryBytes = 64 << 20
	forceRemoveOnCleanup(t, cli, alloc.ID)
	h := runtimetest.Start(t, rt, alloc, &runtimetest.Buffer{})
	runtimetest.Wait(t, h)

	info, err := cli.ContainerInspect(context.Background(), "phalanx-"+alloc.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{
		"phalanx.alloc_id": alloc.ID,
		"phalanx.job_id":   alloc.JobID,
		"phalanx.job_name": "train",
		"phalanx.group":    "worker",
		"phalanx.index":    "3",
		"phalanx.managed":  "true",
		"phalanx.node_id":  alloc.NodeID,
	}
	gotLabels := map[string]string{}
	for k, v := range info.Config.Labels {
		if strings.HasPrefix(k, "phalanx.") && k != "phalanx.test-image" {
			gotLabels[k] = v
		}
	}
	if diff := cmp.Diff(wantLabels, gotLabels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	hc := info.HostConfig
	type settings struct {
		NanoCPUs, Memory, MemorySwap, PidsLimit int64
		Init, Privileged                        bool
		CapAdd                                  []string
		LogType                                 string
		LogConfig                               map[string]string
	}
	got := settings{
		NanoCPUs: hc.NanoCPUs, Memory: hc.Memory, MemorySwap: hc.MemorySwap,
		Init: hc.Init != nil && *hc.Init, Privileged: hc.Privileged, CapAdd: hc.CapAdd,
		LogType: hc.LogConfig.Type, LogConfig: hc.LogConfig.Config,
	}
	if hc.PidsLimit != nil {
		got.PidsLimit = *hc.PidsLimit
	}
	want := settings{
		NanoCPUs: 500_000_000, Memory: 64 << 20, MemorySwap: 64 << 20, PidsLimit: 4096,
		Init: true, LogType: "json-file", LogConfig: map[string]string{"max-size": "10m", "max-file": "1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("container settings (-want +got):\n%s", diff)
	}
}

func TestMissingImageCannotBePulled(t *testing.T) {
	t.Parallel()
	rt, cli := newRuntime(t)
	alloc := runtimetest.Alloc(t, "phalanx/does-not-exist:1", "true")
	forceRemoveOnCleanup(t, cli, alloc.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := rt.Start(ctx, alloc, executor.Prepared{}, &runtimetest.Buffer{})
	if err == nil {
		t.Fatal("Start with a missing image succeeded")
	}
	const want = `image "phalanx/does-not-exist:1" is not on this node and could not be pulled: `
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %q, want it to start with %q", err, want)
	}
	if _, ierr := cli.ContainerInspect(ctx, "phalanx-"+alloc.ID); ierr == nil {
		t.Error("a container exists after the failed Start")
	}
}

func TestOutputOutlivesContainer(t *testing.T) {
	t.Parallel()
	rt, cli := newRuntime(t)
	store, err := logs.NewStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	alloc := runtimetest.Alloc(t, testimage.Name, "echo line-one; echo line-two >&2")
	forceRemoveOnCleanup(t, cli, alloc.ID)
	w, err := store.Open(alloc.ID)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := rt.Start(ctx, alloc, executor.Prepared{}, w)
	if err != nil {
		t.Fatal(err)
	}
	runtimetest.Wait(t, h)
	w.Close()
	if err := h.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ContainerInspect(ctx, "phalanx-"+alloc.ID); err == nil {
		t.Fatal("the container still exists after Remove")
	}
	var b bytes.Buffer
	if err := store.Read(alloc.ID, &b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"line-one\n", "line-two\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("stored output %q lacks %q", b.String(), want)
		}
	}
}

func TestListAndReadopt(t *testing.T) {
	t.Parallel()
	rt, cli := newRuntime(t)
	alloc := runtimetest.Alloc(t, testimage.Name, "echo before; sleep 2; echo after; exit 4")
	forceRemoveOnCleanup(t, cli, alloc.ID)
	var out1 runtimetest.Buffer
	if _, err := rt.Start(context.Background(), alloc, executor.Prepared{}, &out1); err != nil {
		t.Fatal(err)
	}
	out1.WaitFor(t, "before", 20*time.Second)

	ids, err := rt.List(context.Background(), alloc.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ids, alloc.ID) {
		t.Errorf("List() = %v, lacks %s", ids, alloc.ID)
	}
	// Another node's listing on the same engine does not include it.
	if others, err := rt.List(context.Background(), "another-node"); err != nil || slices.Contains(others, alloc.ID) {
		t.Errorf("List(another-node) = %v, %v: lists this node's container", others, err)
	}

	// A new agent process: a fresh Runtime adopts the running container.
	rt2, _ := newRuntime(t)
	var out2 runtimetest.Buffer
	h2 := runtimetest.Start(t, rt2, alloc, &out2)
	res := runtimetest.Wait(t, h2)
	if res.ExitCode != 4 {
		t.Errorf("adopted container's Result = %+v, want exit code 4", res)
	}
	if got := out2.String(); strings.Contains(got, "before") || !strings.Contains(got, "after") {
		t.Errorf("adopted output = %q, want only what came after adoption", got)
	}
	if n := countContainers(t, cli, alloc.ID); n != 1 {
		t.Errorf("%d containers for the allocation, want 1", n)
	}
}

func countContainers(t *testing.T, cli *client.Client, allocID string) int {
	t.Helper()
	cs, err := cli.ContainerList(context.Background(), container.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cs {
		if c.Labels["phalanx.alloc_id"] == allocID {
			n++
		}
	}
	return n
}

func TestOOMKilled(t *testing.T) {
	t.Parallel()
	rt, cli := newRuntime(t)
	// dd allocates and fills its whole 64 MiB block at once: the kernel
	// kills it straight away, with no slow growth to wait for.
	alloc := runtimetest.Alloc(t, testimage.Name, "dd if=/dev/zero of=/dev/null bs=64M count=1")
	alloc.Task.Resources.MemoryBytes = 16 << 20
	forceRemoveOnCleanup(t, cli, alloc.ID)
	res := runtimetest.Wait(t, runtimetest.Start(t, rt, alloc, &runtimetest.Buffer{}))
	if diff := cmp.Diff(executor.Result{ExitCode: 137, Message: "OOM killed"}, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
}
