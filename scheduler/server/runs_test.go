package server

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler"
)

var runT0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// runSim drives decideRun the way the leader does, with jobs whose ends a
// test decides.
type runSim struct {
	t      *testing.T
	in     runInput
	index  uint64
	jobs   []string // every job registered, in order
	cancel []string // runs the controller cancelled
}

func newRunSim(t *testing.T, steps ...api.RunStep) *runSim {
	r := &api.Run{ID: "app-1", Repo: "app", Event: "push", Ref: "refs/heads/main", Commit: "c0ffee", Compiled: true,
		State: api.RunQueued, Steps: steps, CreateIndex: 10, ModifyIndex: 10}
	return &runSim{t: t, index: 10, in: runInput{
		Run: r, Repo: &api.Repo{Name: "app", URL: "file:///src/app", Token: "tok"},
		Secrets: map[string]string{}, Jobs: map[string]*api.Job{}, Allocs: map[string][]*api.Allocation{},
		Nodes: []*api.Node{testNode("n1", 4000, 0)}, Active: []*api.Run{r}, Now: runT0,
		Queues: map[string]*api.Queue{"ci": {Name: "ci"}},
	}}
}

func testNode(id string, cpu int64, gpus int) *api.Node {
	n := &api.Node{ID: id, Name: id, Status: api.NodeReady, Resources: api.Resources{CPUMilli: cpu, MemoryBytes: 8 << 30, GPUs: gpus}}
	for i := 0; i < gpus; i++ {
		n.GPUs = append(n.GPUs, api.GPU{Index: i, UUID: id + "-gpu", Model: "NVIDIA A100", MemoryBytes: 40 << 30, Healthy: true})
	}
	return n
}

func step(name string, needs ...string) api.RunStep {
	return api.RunStep{Name: name, Needs: needs, When: []string{whenSuccess}, State: api.RunQueued,
		Job: api.JobSpec{Name: name, Queue: "ci", Priority: 50, Groups: []api.Group{{Name: "step", Count: 1,
			Task: api.Task{Image: "busybox", Env: map[string]string{"PHALANX_STEP": name}, Resources: api.Resources{CPUMilli: 500, MemoryBytes: 1 << 20}}}}}}
}

// pass runs the controller once and applies what it decided.
func (s *runSim) pass() {
	s.t.Helper()
	d := decideRun(s.in)
	for _, c := range d.Cancel {
		s.cancel = append(s.cancel, c.RunID)
	}
	if d.Advance == nil {
		return
	}
	if d.Advance.ModifyIndex != s.in.Run.ModifyIndex {
		s.t.Fatalf("decision on index %d, run at %d", d.Advance.ModifyIndex, s.in.Run.ModifyIndex)
	}
	s.index++
	r := d.Advance.Run.Clone()
	r.ModifyIndex = s.index
	s.in.Run = r
	s.in.Active = []*api.Run{r}
	for _, j := range d.Advance.Jobs {
		j := j
		j.State = api.JobQueued
		s.in.Jobs[j.ID] = &j
		s.jobs = append(s.jobs, j.ID)
	}
}

// settle runs passes until nothing changes.
func (s *runSim) settle() {
	s.t.Helper()
	for i := 0; i < 20; i++ {
		before := s.in.Run.ModifyIndex
		s.pass()
		if s.in.Run.ModifyIndex == before {
			return
		}
	}
	s.t.Fatal("the controller does not settle")
}

// end finishes a step's latest job with exit code.
func (s *runSim) end(stepName string, code int) {
	s.t.Helper()
	id := s.in.Run.Step(stepName).JobID()
	j := s.in.Jobs[id]
	if j == nil {
		s.t.Fatalf("step %s has no job", stepName)
	}
	j.State, j.FinishTime = api.JobSucceeded, runT0.Add(time.Minute)
	st := api.AllocSucceeded
	if code != 0 {
		j.State, j.Reason, st = api.JobFailed, "step[0] exited with code "+string(rune('0'+code)), api.AllocFailed
	}
	s.in.Allocs[id] = []*api.Allocation{{ID: id + "-a", JobID: id, State: st, ExitCode: &code, StartTime: runT0, CreateIndex: s.index}}
	s.settle()
}

func (s *runSim) states() map[string]api.RunState {
	out := map[string]api.RunState{"RUN": s.in.Run.State}
	for _, st := range s.in.Run.Steps {
		out[st.Name] = st.State
	}
	return out
}

func (s *runSim) submitted() map[string]bool {
	out := map[string]bool{}
	for _, st := range s.in.Run.Steps {
		if st.JobID() != "" {
			out[st.Name] = true
		}
	}
	return out
}

func TestDiamondRunsInDAGOrder(t *testing.T) {
	s := newRunSim(t, step("a"), step("b", "a"), step("c", "a"), step("d", "b", "c"))
	s.settle()
	if s.in.Run.State != api.RunRunning || s.in.Run.NodeID != "n1" {
		t.Fatalf("run %s on %q", s.in.Run.State, s.in.Run.NodeID)
	}
	if diff := cmp.Diff(map[string]bool{"a": true}, s.submitted()); diff != "" {
		t.Fatalf("first pass submits (-want +got):\n%s", diff)
	}
	s.end("a", 0)
	if diff := cmp.Diff(map[string]bool{"a": true, "b": true, "c": true}, s.submitted()); diff != "" {
		t.Fatalf("after a (-want +got):\n%s", diff)
	}
	s.end("b", 0)
	if s.submitted()["d"] {
		t.Fatal("d submitted before c finished")
	}
	s.end("c", 0)
	s.end("d", 0)
	want := map[string]api.RunState{"RUN": api.RunSucceeded, "a": api.RunSucceeded, "b": api.RunSucceeded, "c": api.RunSucceeded, "d": api.RunSucceeded}
	if diff := cmp.Diff(want, s.states()); diff != "" {
		t.Fatalf("states (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"app-1-a-0", "app-1-b-0", "app-1-c-0", "app-1-d-0"}, s.jobs); diff != "" {
		t.Fatalf("jobs (-want +got):\n%s", diff)
	}
	// Every job is pinned to the run's node and shares its workspace.
	for _, id := range s.jobs {
		spec := s.in.Jobs[id].Spec
		ws := spec.Groups[0].Task.Workspace
		if spec.NodeSelector[api.NodeSelectorNode] != "n1" || ws == nil || ws.ID != "app-1" || ws.Checkout.Commit != "c0ffee" || ws.Checkout.Token != "tok" {
			t.Fatalf("job %s: selector %v, workspace %+v", id, spec.NodeSelector, ws)
		}
	}
}

func TestFailedStepSkipsDependantsAndRunsCleanup(t *testing.T) {
	cleanup := step("cleanup", "b")
	cleanup.When = []string{whenFailure}
	s := newRunSim(t, step("a"), step("b", "a"), step("c", "b"), cleanup)
	s.settle()
	s.end("a", 0)
	s.end("b", 2)
	want := map[string]api.RunState{"RUN": api.RunRunning, "a": api.RunSucceeded, "b": api.RunFailed, "c": api.RunSkipped, "cleanup": api.RunQueued}
	if diff := cmp.Diff(want, s.states()); diff != "" {
		t.Fatalf("states (-want +got):\n%s", diff)
	}
	if !s.submitted()["cleanup"] {
		t.Fatal("the failure step was not submitted")
	}
	if got := s.in.Run.Step("c").Reason; got != "needs b failed" {
		t.Errorf("skip reason %q", got)
	}
	s.end("cleanup", 0)
	if s.in.Run.State != api.RunFailed || !strings.Contains(s.in.Run.Message, "b") {
		t.Fatalf("run %s: %s", s.in.Run.State, s.in.Run.Message)
	}
	if got := s.in.Run.Step("b").ExitCode; got == nil || *got != 2 {
		t.Errorf("exit code of b: %v", got)
	}
}

func TestCleanupStepIsSkippedWhenNothingFails(t *testing.T) {
	cleanup := step("cleanup")
	cleanup.When = []string{whenFailure}
	s := newRunSim(t, step("a"), cleanup)
	s.settle()
	if s.submitted()["cleanup"] {
		t.Fatal("cleanup submitted while a could still fail")
	}
	s.end("a", 0)
	want := map[string]api.RunState{"RUN": api.RunSucceeded, "a": api.RunSucceeded, "cleanup": api.RunSkipped}
	if diff := cmp.Diff(want, s.states()); diff != "" {
		t.Fatalf("states (-want +got):\n%s", diff)
	}
}

func TestRetryRerunsOnlyTheFailedStepForListedExitCodes(t *testing.T) {
	flaky := step("flaky", "a")
	flaky.RetryAttempts, flaky.RetryOnExitCodes = 2, []int{3}
	s := newRunSim(t, step("a"), flaky, step("b", "flaky"))
	s.settle()
	s.end("a", 0)
	s.end("flaky", 3)
	st := s.in.Run.Step("flaky")
	if st.State != api.RunQueued || len(st.JobIDs) != 2 || !strings.HasPrefix(st.Reason, "retry 1 of 2") {
		t.Fatalf("after exit 3: %s %q jobs %v", st.State, st.Reason, st.JobIDs)
	}
	s.end("flaky", 4) // not a listed code: no more retries
	want := map[string]api.RunState{"RUN": api.RunFailed, "a": api.RunSucceeded, "flaky": api.RunFailed, "b": api.RunSkipped}
	if diff := cmp.Diff(want, s.states()); diff != "" {
		t.Fatalf("states (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"app-1-a-0", "app-1-flaky-0", "app-1-flaky-1"}, s.jobs); diff != "" {
		t.Fatalf("jobs: only the failed step runs again (-want +got):\n%s", diff)
	}
}

func TestRetryThenSucceed(t *testing.T) {
	flaky := step("flaky")
	flaky.RetryAttempts = 1
	s := newRunSim(t, flaky)
	s.settle()
	s.end("flaky", 1)
	s.end("flaky", 0)
	if s.in.Run.State != api.RunSucceeded || len(s.in.Run.Step("flaky").JobIDs) != 2 {
		t.Fatalf("run %s, step %+v", s.in.Run.State, s.in.Run.Step("flaky"))
	}
}

func TestCancelledStepJobCancelsTheRun(t *testing.T) {
	s := newRunSim(t, step("a"), step("b", "a"))
	s.settle()
	j := s.in.Jobs["app-1-a-0"]
	j.State, j.Reason = api.JobCancelled, "cancelled by user"
	s.settle()
	want := map[string]api.RunState{"RUN": api.RunCancelled, "a": api.RunCancelled, "b": api.RunSkipped}
	if diff := cmp.Diff(want, s.states()); diff != "" {
		t.Fatalf("states (-want +got):\n%s", diff)
	}
}

func TestConcurrencyGroup(t *testing.T) {
	for _, cancelInProgress := range []bool{false, true} {
		older := &api.Run{ID: "app-0", Repo: "app", Compiled: true, State: api.RunRunning, ConcurrencyGroup: "deploy-main", CreateIndex: 5}
		s := newRunSim(t, step("a"))
		s.in.Run.ConcurrencyGroup, s.in.Run.CancelInProgress = "deploy-main", cancelInProgress
		otherRepo := &api.Run{ID: "lib-0", Repo: "lib", Compiled: true, State: api.RunRunning, ConcurrencyGroup: "deploy-main", CreateIndex: 4}
		d := decideRun(runInput{Run: s.in.Run, Repo: s.in.Repo, Nodes: s.in.Nodes, Active: []*api.Run{otherRepo, older, s.in.Run}, Queues: s.in.Queues, Now: runT0})
		if d.Advance == nil || d.Advance.Run.State != api.RunQueued || !strings.Contains(d.Advance.Run.Message, "waiting for run app-0") {
			t.Fatalf("cancel_in_progress=%v: the newer run did not wait: %+v", cancelInProgress, d.Advance)
		}
		var cancelled []string
		for _, c := range d.Cancel {
			cancelled = append(cancelled, c.RunID)
		}
		var want []string
		if cancelInProgress {
			want = []string{"app-0"}
		}
		if diff := cmp.Diff(want, cancelled); diff != "" {
			t.Errorf("cancel_in_progress=%v: cancelled (-want +got):\n%s", cancelInProgress, diff)
		}
		// Once the older run has finished, the newer one starts.
		older.State = api.RunCancelled
		d = decideRun(runInput{Run: s.in.Run, Repo: s.in.Repo, Nodes: s.in.Nodes, Active: []*api.Run{otherRepo, s.in.Run}, Queues: s.in.Queues, Now: runT0})
		if d.Advance == nil || d.Advance.Run.State != api.RunRunning || len(d.Advance.Jobs) != 1 {
			t.Fatalf("cancel_in_progress=%v: after the older run: %+v", cancelInProgress, d.Advance)
		}
	}
}

// TestPullRequestCancelsOnlyItsOwnRuns: a pull request writes its own
// .phalanx.yml, so its concurrency group is the author's choice; with
// cancel_in_progress it may cancel the earlier runs of the same pull
// request, never a push's run (a deploy) or another pull request's. It
// still waits for them.
func TestPullRequestCancelsOnlyItsOwnRuns(t *testing.T) {
	push := &api.Run{ID: "app-0", Repo: "app", Event: "push", Compiled: true, State: api.RunRunning, ConcurrencyGroup: "deploy", CreateIndex: 5}
	otherPR := &api.Run{ID: "app-2", Repo: "app", Event: "pull_request", PullRequest: 8, Compiled: true, State: api.RunRunning, ConcurrencyGroup: "deploy", CreateIndex: 6}
	samePR := &api.Run{ID: "app-3", Repo: "app", Event: "pull_request", PullRequest: 7, Compiled: true, State: api.RunRunning, ConcurrencyGroup: "deploy", CreateIndex: 7}
	s := newRunSim(t, step("a"))
	s.in.Run.Event, s.in.Run.PullRequest = "pull_request", 7
	s.in.Run.ConcurrencyGroup, s.in.Run.CancelInProgress = "deploy", true
	s.in.Active = []*api.Run{push, otherPR, samePR, s.in.Run}
	d := decideRun(s.in)
	var cancelled []string
	for _, c := range d.Cancel {
		cancelled = append(cancelled, c.RunID)
	}
	if diff := cmp.Diff([]string{"app-3"}, cancelled); diff != "" {
		t.Errorf("cancelled (-want +got):\n%s", diff)
	}
	if d.Advance == nil || d.Advance.Run.State != api.RunQueued || !strings.Contains(d.Advance.Run.Message, "app-0, app-2, app-3") {
		t.Fatalf("the pull request's run does not wait: %+v", d.Advance)
	}
}

func TestSecrets(t *testing.T) {
	deploy := step("deploy")
	deploy.Secrets = []string{"API_KEY"}
	for _, tc := range []struct {
		name, event string
		allowPR     bool
		secrets     map[string]string
		wantState   api.RunState
		wantReason  string
	}{
		{name: "push gets it", event: "push", secrets: map[string]string{"API_KEY": "hunter2"}, wantState: api.RunQueued},
		{name: "pull request refused", event: "pull_request", secrets: map[string]string{"API_KEY": "hunter2"}, wantState: api.RunFailed,
			wantReason: "secret API_KEY is not available to pull requests"},
		{name: "pull request allowed", event: "pull_request", allowPR: true, secrets: map[string]string{"API_KEY": "hunter2"}, wantState: api.RunQueued},
		{name: "not set", event: "push", wantState: api.RunFailed, wantReason: "secret API_KEY is not set for repo app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRunSim(t, deploy)
			s.in.Run.Event, s.in.Repo.AllowPRSecrets, s.in.Secrets = tc.event, tc.allowPR, tc.secrets
			s.settle()
			st := s.in.Run.Step("deploy")
			if st.State != tc.wantState || !strings.HasPrefix(st.Reason, tc.wantReason) {
				t.Fatalf("step %s (%q), want %s (%q)", st.State, st.Reason, tc.wantState, tc.wantReason)
			}
			if tc.wantState != api.RunQueued {
				if len(s.jobs) != 0 || s.in.Run.State != api.RunFailed {
					t.Fatalf("jobs %v, run %s", s.jobs, s.in.Run.State)
				}
				return
			}
			task := s.in.Jobs[s.jobs[0]].Spec.Groups[0].Task
			if task.Env["API_KEY"] != "hunter2" || !cmp.Equal(task.SecretEnv, []string{"API_KEY"}) {
				t.Fatalf("env %v, secret env %v", task.Env, task.SecretEnv)
			}
			if red := task.Redacted(); red.Env["API_KEY"] != api.Redacted || red.Workspace.Checkout.Token != api.Redacted || task.Env["API_KEY"] != "hunter2" {
				t.Fatalf("redacted %v %+v", red.Env, red.Workspace.Checkout)
			}
			// The run keeps the compiled spec: no secret value in it.
			if _, ok := s.in.Run.Step("deploy").Job.Groups[0].Task.Env["API_KEY"]; ok {
				t.Fatal("the run stores the secret value")
			}
		})
	}
}

func TestPickNode(t *testing.T) {
	gpuStep := step("train")
	gpuStep.Job.Groups[0].Task.Resources.GPUs = 2
	big, small, down := testNode("big", 8000, 2), testNode("small", 2000, 0), testNode("down", 16000, 2)
	down.Status = api.NodeDown
	usage := map[string]scheduler.Usage{"big": {CPUMilli: 7000}}
	for _, tc := range []struct {
		name             string
		nodes            []*api.Node
		steps            []api.RunStep
		pick, wait, fail string
	}{
		{name: "most free CPU", nodes: []*api.Node{small, big}, steps: []api.RunStep{step("a")}, pick: "small"},
		{name: "only one holds the largest step", nodes: []*api.Node{small, big}, steps: []api.RunStep{step("a"), gpuStep}, pick: "big"},
		{name: "the one that could is down", nodes: []*api.Node{small, down}, steps: []api.RunStep{gpuStep}, wait: "waiting for a ready node that can hold every step"},
		{name: "no node can", nodes: []*api.Node{small}, steps: []api.RunStep{gpuStep}, fail: "no node can hold step train (cpu 500m, memory 1048576 bytes, 2 GPUs)"},
		{name: "no nodes yet", steps: []api.RunStep{step("a")}, wait: "waiting for an executor node to register"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, wait, never := pickNode(tc.nodes, usage, tc.steps)
			got := ""
			if n != nil {
				got = n.ID
			}
			if got != tc.pick || wait != tc.wait || never != tc.fail {
				t.Fatalf("got (%q, %q, %q), want (%q, %q, %q)", got, wait, never, tc.pick, tc.wait, tc.fail)
			}
		})
	}
}

func TestRunNoNodeCanHoldIsRefused(t *testing.T) {
	gpuStep := step("train")
	gpuStep.Job.Groups[0].Task.Resources.GPUs = 1
	s := newRunSim(t, gpuStep)
	s.settle()
	if s.in.Run.State != api.RunError || !strings.Contains(s.in.Run.Message, "no node can hold step train") || len(s.jobs) != 0 {
		t.Fatalf("run %s: %s, jobs %v", s.in.Run.State, s.in.Run.Message, s.jobs)
	}
}

// TestStepOfARemovedQueueFails: a queue removed between two steps of a run
// fails the next step with the reason, instead of a job the FSM refuses.
func TestStepOfARemovedQueueFails(t *testing.T) {
	s := newRunSim(t, step("a"), step("b", "a"))
	s.settle()
	delete(s.in.Queues, "ci")
	s.end("a", 0)
	b := s.in.Run.Step("b")
	if b.State != api.RunFailed || b.Reason != "queue ci no longer exists (phalanx queue list shows the queues)" || s.in.Run.State != api.RunFailed {
		t.Fatalf("run %s, step b %s %q", s.in.Run.State, b.State, b.Reason)
	}
	if diff := cmp.Diff([]string{"app-1-a-0"}, s.jobs); diff != "" {
		t.Fatalf("jobs (-want +got):\n%s", diff)
	}
}

// finishStep reports, as the run's executor would, that the latest job of
// a step ran and exited with code 0.
func finishStep(t *testing.T, s *Server, runID, step string) {
	t.Helper()
	run := waitFor(t, s, runID, func(r *api.Run) bool {
		if r.Step(step) == nil {
			return false
		}
		id := r.Step(step).JobID()
		return id != "" && len(s.State().Snapshot().JobAllocs(id)) > 0
	})
	code := 0
	for _, a := range s.State().Snapshot().JobAllocs(run.Step(step).JobID()) {
		if err := s.UpdateAllocations(context.Background(), []api.AllocUpdate{
			{ID: a.ID, NodeID: a.NodeID, State: api.AllocRunning, Time: t0},
			{ID: a.ID, NodeID: a.NodeID, State: api.AllocSucceeded, ExitCode: &code, Time: t0},
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStepPriorityFollowsTheQueueCap checks that a pipeline asking for
// more than its queue's max_priority runs at the cap, and that a cap
// lowered while a run is under way neither lets a later step in above it
// nor wedges the run controller (the FSM refuses a job above its queue's
// cap, so a step submitted at the old cap was refused on every pass and
// held up every run behind it).
func TestStepPriorityFollowsTheQueueCap(t *testing.T) {
	const file = `version: 1
queue: ci
priority: 90
steps:
  - {name: a, image: busybox, commands: [echo a]}
  - {name: b, image: busybox, needs: [a], commands: [echo b]}
`
	dir, commit := gitRepoWith(t, map[string]string{".phalanx.yml": file})
	s, _ := newTestServer(t)
	ctx := context.Background()
	cap := func(q string, p int) {
		t.Helper()
		if _, err := s.PutQueues(ctx, []api.Queue{{Name: q, MaxPriority: &p}}); err != nil {
			t.Fatal(err)
		}
	}
	cap("ci", 60)
	cap("other", 100)
	for _, name := range []string{"app", "lib"} {
		if _, err := s.PutRepo(ctx, api.RepoRequest{Name: name, URL: "file://" + dir}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RegisterNode(ctx, &api.Node{ID: "n1", Name: "n1", Resources: api.Resources{CPUMilli: 64000, MemoryBytes: 64 << 30}}); err != nil {
		t.Fatal(err)
	}
	start := func(repo string) string {
		t.Helper()
		res, err := s.CreateRun(ctx, api.Run{Repo: repo, Event: "manual", Ref: "refs/heads/main", Commit: commit})
		if err != nil {
			t.Fatal(err)
		}
		return res.Run
	}
	jobPriority := func(runID, step string) int {
		t.Helper()
		r := waitFor(t, s, runID, func(r *api.Run) bool {
			return r.State.Terminal() || (r.Step(step) != nil && r.Step(step).JobID() != "")
		})
		if r.Step(step) == nil {
			t.Fatalf("run %s %s: %s", runID, r.State, r.Message)
		}
		j, err := s.State().Snapshot().Job(r.Step(step).JobID())
		if err != nil {
			t.Fatalf("run %s step %s: %v (run %s: %s)", runID, step, err, r.State, r.Message)
		}
		return j.Priority
	}

	first := start("app")
	if got := jobPriority(first, "a"); got != 60 {
		t.Fatalf("step a of a priority-90 pipeline in a queue capped at 60 runs at %d", got)
	}
	cap("ci", 30)
	finishStep(t, s, first, "a")
	if got := jobPriority(first, "b"); got != 30 {
		t.Fatalf("step b after the cap was lowered to 30 runs at %d", got)
	}
	// A run created after it is not held up by it.
	if got := jobPriority(start("lib"), "a"); got != 30 {
		t.Fatalf("a later run's step a runs at %d", got)
	}
}

// TestRepoURLWithCredentialsIsRefused: a repo's URL is shown by GET
// /v1/repos, in run messages and in the allocations GET /v1/nodes/{id}
// returns, so a token written into it would leak; PutRepo refuses it,
// without echoing it, and points at --token-file.
func TestRepoURLWithCredentialsIsRefused(t *testing.T) {
	s, _ := newTestServer(t)
	ctx := context.Background()
	for _, url := range []string{
		"https://user:hunter2secret@git.example.com/app.git",
		"https://hunter2secret@git.example.com/app.git",
		"http://x-access-token:hunter2secret@127.0.0.1:3000/app.git",
	} {
		_, err := s.PutRepo(ctx, api.RepoRequest{Name: "app", URL: url})
		if !errors.Is(err, api.ErrInvalid) || strings.Contains(err.Error(), "hunter2secret") || !strings.Contains(err.Error(), "--token-file") {
			t.Errorf("%s: %v", url, err)
		}
	}
	if len(s.Repos()) != 0 {
		t.Fatalf("repos: %+v", s.Repos())
	}
	info, err := s.PutRepo(ctx, api.RepoRequest{Name: "app", URL: "https://git.example.com/app.git", Token: "hunter2secret"})
	if err != nil || info.URL != "https://git.example.com/app.git" || !info.HasToken {
		t.Fatalf("a clean URL with a token: %+v, %v", info, err)
	}
}

// TestPullRequestRunsAtItsTargetBranchsPriorityAndQueue: a pull request
// brings its own .phalanx.yml, so its steps take the priority and queue of
// the target branch's file, whatever its own file asks for.
func TestPullRequestRunsAtItsTargetBranchsPriorityAndQueue(t *testing.T) {
	dir, _ := gitRepoWith(t, map[string]string{".phalanx.yml": `version: 1
queue: ci
priority: 20
steps:
  - {name: a, image: busybox, commands: [echo a]}
`})
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("checkout", "-q", "-b", "feature")
	if err := os.WriteFile(filepath.Join(dir, ".phalanx.yml"), []byte(`version: 1
queue: fast
priority: 90
steps:
  - {name: a, image: busybox, commands: [echo a]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	git("commit", "-q", "-am", "faster, please")
	head := git("rev-parse", "HEAD")

	s, _ := newTestServer(t)
	ctx := context.Background()
	hundred := 100
	if _, err := s.PutQueues(ctx, []api.Queue{{Name: "ci", MaxPriority: &hundred}, {Name: "fast", MaxPriority: &hundred}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutRepo(ctx, api.RepoRequest{Name: "app", URL: "file://" + dir}); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterNode(ctx, &api.Node{ID: "n1", Name: "n1", Resources: api.Resources{CPUMilli: 64000, MemoryBytes: 64 << 30}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		event, branch, queue string
		prio                 int
	}{
		{event: "pull_request", branch: "main", queue: "ci", prio: 20},
		// A push of the same commit runs as its file says.
		{event: "push", branch: "feature", queue: "fast", prio: 90},
	} {
		run := api.Run{Repo: "app", Event: tc.event, Branch: tc.branch, Ref: "refs/heads/feature", Commit: head}
		if tc.event == "pull_request" {
			run.PullRequest = 7
		}
		res, err := s.CreateRun(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		r := waitFor(t, s, res.Run, func(r *api.Run) bool { return r.State.Terminal() || (r.Step("a") != nil && r.Step("a").JobID() != "") })
		if r.Step("a") == nil {
			t.Fatalf("%s: run %s: %s", tc.event, r.State, r.Message)
		}
		j, err := s.State().Snapshot().Job(r.Step("a").JobID())
		if err != nil {
			t.Fatal(err)
		}
		if j.Queue != tc.queue || j.Priority != tc.prio {
			t.Errorf("%s: step a in queue %s at priority %d, want %s at %d", tc.event, j.Queue, j.Priority, tc.queue, tc.prio)
		}
	}
}
