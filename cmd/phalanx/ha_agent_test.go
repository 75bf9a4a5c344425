package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	dockercontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dockerclient "github.com/docker/docker/client"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/client"
	"github.com/phalanx-sched/phalanx/executor/docker"
	"github.com/phalanx-sched/phalanx/internal/testimage"
	"github.com/phalanx-sched/phalanx/internal/testutil"
)

// agentProc is one `phalanx agent` process of a test cluster. Restarting
// it keeps its name, data directory and HTTP address: the same node.
type agentProc struct {
	t                           testing.TB
	bin, name, dir, http, addrs string
	cmd                         *exec.Cmd
	log                         *bytes.Buffer
}

func startAgent(t testing.TB, bin, dir, name, servers string) *agentProc {
	t.Helper()
	a := &agentProc{t: t, bin: bin, name: name, dir: filepath.Join(dir, name), http: freeAddr(t), addrs: servers}
	a.start()
	t.Cleanup(func() {
		a.kill9()
		if t.Failed() {
			t.Logf("agent %s log:\n%s", a.name, a.log.String())
		}
	})
	return a
}

func (a *agentProc) start() {
	a.t.Helper()
	if a.log == nil {
		a.log = &bytes.Buffer{}
	}
	fmt.Fprintf(a.log, "---- start %s\n", time.Now().Format(time.RFC3339Nano))
	a.cmd = exec.Command(a.bin, "agent", "--server", a.addrs, "--runtime", "docker", "--name", a.name,
		"--data-dir", a.dir, "--http-addr", a.http, "--cpu", "1", "--memory", "1Gi", "--heartbeat-interval", "500ms")
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
}

// kill9 kills the agent process only: the tasks it started run on in
// their own process groups, as they do when an agent crashes.
func (a *agentProc) kill9() {
	if a.cmd == nil {
		return
	}
	a.cmd.Process.Signal(syscall.SIGKILL)
	a.cmd.Wait()
	a.cmd = nil
}

// TestHAAgentLossAndRestart runs a long task in Docker on one of two
// agents of a 3-server cluster and then:
//   - kills that agent with SIGKILL: the node is marked down after the
//     heartbeat TTL and the task runs again on the other node, within TTL
//     plus a few seconds;
//   - starts the killed agent again: the orphaned container it left, whose
//     allocation was replaced, is stopped, never left running twice;
//   - kills and at once restarts the agent now running the task: it
//     re-adopts the running container (same container, same allocation,
//     nothing started twice) and reports its exit code when it ends.
func TestHAAgentLossAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a multi-process cluster")
	}
	cli := testutil.Docker(t)
	const ttl = 4 * time.Second
	dir := t.TempDir()
	bin := buildPhalanx(t, dir)
	c := startHAClusterTTL(t, bin, dir, 3, ttl.String())
	cl := client.New(c.addrs())
	// Registered before the agents start, so it runs after they are
	// killed: nothing can create a container behind it.
	var jobID string
	t.Cleanup(func() { removeJobContainers(cli, jobID) })
	agents := map[string]*agentProc{}
	for _, name := range []string{"node-a", "node-b"} {
		agents[name] = startAgent(t, bin, dir, name, c.addrs())
	}
	waitFor(t, 30*time.Second, "both nodes ready", func() bool {
		nodes, err := cl.Nodes(context.Background())
		ready := 0
		for _, n := range nodes {
			if n.Status == api.NodeReady {
				ready++
			}
		}
		return err == nil && ready == 2
	})

	// One CPU per node: the task fills a node, so it can only move to the
	// other one. It runs until a file appears in its container, then
	// exits with code 3.
	job := fmt.Sprintf(`apiVersion: phalanx/v1
kind: Job
metadata: {name: survivor}
spec:
  groups:
    - name: main
      restart: {attempts: 3}
      task:
        image: %s
        command: ["sh", "-c", "echo started; while [ ! -e /tmp/finish ]; do sleep 0.2; done; echo finishing; exit 3"]
        resources: {cpu: 1, memory: 64Mi}
`, testimage.Name)
	st, err := cl.SubmitJob(context.Background(), "survivor.yaml", []byte(job), "")
	if err != nil {
		t.Fatal(err)
	}
	jobID = st.ID
	first := waitRunning(t, cl, st.ID, "")
	orphan := containerOf(t, cli, first.ID)
	if !orphan.running {
		t.Fatalf("allocation %s reported running, its container is not", first.ID)
	}

	// Kill the node's agent. Its container keeps running, unsupervised.
	lostNode := first.Node
	agents[lostNode].kill9()
	killed := time.Now()
	second := waitRunning(t, cl, st.ID, first.ID)
	moved := time.Since(killed)
	t.Logf("agent %s killed; allocation running again on %s after %v (TTL %v)", lostNode, second.Node, moved.Round(time.Millisecond), ttl)
	if second.Node == lostNode {
		t.Fatalf("replacement allocation %s runs on the lost node %s", second.ID, lostNode)
	}
	// The bound is TTL + 5 s; allow more on a slow machine, the
	// figure itself is logged above.
	if moved > ttl+20*time.Second {
		t.Errorf("work moved %v after the agent died; want within TTL (%v) plus a few seconds", moved, ttl)
	}
	if !containerOf(t, cli, first.ID).running {
		t.Fatal("the lost node's container died with its agent; the test expects it to outlive the agent")
	}

	// The lost node comes back: the container it left behind belongs to
	// a replaced allocation, so its agent stops it instead of adopting it.
	agents[lostNode].start()
	waitFor(t, 30*time.Second, "the orphaned container to be stopped", func() bool {
		return !containerOf(t, cli, first.ID).running
	})

	// Restart the agent running the task quickly (within the TTL): it
	// adopts the container instead of starting another.
	adopted := containerOf(t, cli, second.ID)
	agents[second.Node].kill9()
	agents[second.Node].start()
	time.Sleep(2 * time.Second) // let it reconcile
	cur, err := cl.Job(context.Background(), st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cur.State != api.JobRunning {
		t.Fatalf("after an agent restart the job is %s (%s); want running", cur.State, cur.Reason)
	}
	if now := containerOf(t, cli, second.ID); now.id != adopted.id || !now.running {
		t.Fatalf("after the agent restart allocation %s has container %s (running %v); want the adopted %s, running", second.ID, now.id, now.running, adopted.id)
	}
	// The task ends with exit code 3; the re-adopted allocation reports
	// exactly that.
	if out, err := exec.Command("docker", "exec", adopted.id, "touch", "/tmp/finish").CombinedOutput(); err != nil {
		t.Fatalf("docker exec: %v\n%s", err, out)
	}
	waitFor(t, 30*time.Second, "the re-adopted allocation to report its exit", func() bool {
		cur, err = cl.Job(context.Background(), st.ID)
		if err != nil {
			return false
		}
		for _, a := range cur.Allocations {
			if a.ID == second.ID && a.State.Terminal() {
				return true
			}
		}
		return false
	})
	for _, a := range cur.Allocations {
		if a.ID == second.ID && (a.State != api.AllocFailed || a.ExitCode == nil || *a.ExitCode != 3) {
			t.Fatalf("re-adopted allocation ended %s, exit %v, %q; want failed with exit code 3", a.State, a.ExitCode, a.Message)
		}
	}
	// Its log holds what it wrote before and after the agent restart,
	// once each.
	var logs bytes.Buffer
	if err := cl.Logs(context.Background(), st.ID, second.ID, false, &logs); err != nil {
		t.Fatal(err)
	}
	if got := logs.String(); strings.Count(got, "started\n") != 1 || strings.Count(got, "finishing\n") != 1 {
		t.Fatalf("logs of the re-adopted allocation: %q; want started and finishing once each", got)
	}
	// Never two containers for one allocation.
	for _, a := range cur.Allocations {
		if n := len(containersOf(t, cli, a.ID)); n > 1 {
			t.Fatalf("allocation %s has %d containers", a.ID, n)
		}
	}
	cl.CancelJob(context.Background(), st.ID)
}

// container is what the test needs to know of one container.
type container struct {
	id      string
	running bool
}

// containersOf lists the containers, running or not, of one allocation.
func containersOf(t *testing.T, cli *dockerclient.Client, allocID string) []container {
	t.Helper()
	list, err := cli.ContainerList(context.Background(), dockercontainer.ListOptions{
		All: true, Filters: filters.NewArgs(filters.Arg("label", docker.LabelAllocID+"="+allocID)),
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []container
	for _, c := range list {
		out = append(out, container{id: c.ID, running: c.State == "running"})
	}
	return out
}

// containerOf returns the one container of an allocation; a removed
// container reads as not running.
func containerOf(t *testing.T, cli *dockerclient.Client, allocID string) container {
	t.Helper()
	l := containersOf(t, cli, allocID)
	switch len(l) {
	case 0:
		return container{}
	case 1:
		return l[0]
	}
	t.Fatalf("allocation %s has %d containers: %v", allocID, len(l), l)
	return container{}
}

// removeJobContainers removes whatever the test's job left behind. A
// killed agent's last create request may still complete in the engine, so
// it looks twice.
func removeJobContainers(cli *dockerclient.Client, jobID string) {
	if jobID == "" {
		return
	}
	for round := 0; round < 2; round++ {
		if round > 0 {
			time.Sleep(time.Second)
		}
		list, err := cli.ContainerList(context.Background(), dockercontainer.ListOptions{
			All: true, Filters: filters.NewArgs(filters.Arg("label", docker.LabelJobID+"="+jobID)),
		})
		if err != nil {
			return
		}
		for _, c := range list {
			cli.ContainerRemove(context.Background(), c.ID, dockercontainer.RemoveOptions{Force: true})
		}
	}
}

// waitRunning waits until the job has a running allocation other than
// not, and returns it.
func waitRunning(t *testing.T, cl *client.Client, jobID, not string) api.AllocStatus {
	t.Helper()
	var found api.AllocStatus
	waitFor(t, 60*time.Second, "a running allocation of "+jobID, func() bool {
		st, err := cl.Job(context.Background(), jobID)
		if err != nil {
			return false
		}
		for _, a := range st.Allocations {
			if a.State == api.AllocRunning && a.ID != not {
				found = a
				return true
			}
		}
		return false
	})
	return found
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
