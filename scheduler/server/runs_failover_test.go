package server

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

// gitRepoWith makes a real repository with one commit of files and returns
// its directory and the commit.
func gitRepoWith(t *testing.T, files map[string]string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", name)
	}
	git("commit", "-q", "-m", "first")
	return dir, git("rev-parse", "HEAD")
}

// waitFor polls s's run until cond holds.
func waitFor(t *testing.T, s *Server, id string, cond func(*api.Run) bool) *api.Run {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r, err := s.Run(id)
		if err == nil && cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s on %s: condition not met; last %+v (%v)", id, s.cfg.NodeID, r, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunContinuesOnNewLeader checks that the run controller keeps nothing
// in memory: after a failover, the new leader follows the run from the
// replicated state, submits the next step once, and never resubmits the
// one that ran.
func TestRunContinuesOnNewLeader(t *testing.T) {
	dir, commit := gitRepoWith(t, map[string]string{".phalanx.yml": `version: 1
steps:
  - {name: a, image: busybox, commands: [echo a]}
  - {name: b, image: busybox, needs: [a], commands: [echo b]}
`})
	c := newTestCluster(t, 3)
	ctx := context.Background()
	old := c.leader()
	if _, err := old.PutRepo(ctx, api.RepoRequest{Name: "app", URL: "file://" + dir}); err != nil {
		t.Fatal(err)
	}
	n := &api.Node{ID: "n1", Name: "node-1", Resources: api.Resources{CPUMilli: 4000, MemoryBytes: 8 << 30}}
	if err := old.RegisterNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	res, err := old.CreateRun(ctx, api.Run{Repo: "app", Event: "manual", Ref: "refs/heads/main", Commit: commit})
	if err != nil {
		t.Fatal(err)
	}
	run := waitFor(t, old, res.Run, func(r *api.Run) bool {
		return r.State.Terminal() || (r.Step("a") != nil && r.Step("a").JobID() != "")
	})
	aJob := run.Step("a").JobID()
	var allocID string
	for allocID == "" {
		if st, err := old.Job(aJob); err == nil && len(st.Allocations) > 0 {
			allocID = st.Allocations[0].ID
		}
		time.Sleep(10 * time.Millisecond)
	}

	c.isolate(old)
	now := c.leader(old)
	if err := now.Heartbeat(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	code := 0
	if err := now.UpdateAllocations(ctx, []api.AllocUpdate{
		{ID: allocID, NodeID: "n1", State: api.AllocRunning, Time: time.Now()},
		{ID: allocID, NodeID: "n1", State: api.AllocSucceeded, ExitCode: &code, Time: time.Now()},
	}); err != nil {
		t.Fatal(err)
	}
	run = waitFor(t, now, res.Run, func(r *api.Run) bool { return r.Step("b").JobID() != "" })
	if run.Step("a").State != api.RunSucceeded || len(run.Step("a").JobIDs) != 1 || run.NodeID != "n1" {
		t.Fatalf("after failover: %+v", run.Steps)
	}
	var stepJobs []string
	for _, j := range now.Jobs() {
		stepJobs = append(stepJobs, j.ID)
	}
	want := res.Run + "-a-0 " + res.Run + "-b-0"
	if got := strings.Join(stepJobs, " "); got != want {
		t.Fatalf("jobs %s, want %s", got, want)
	}
}
