package fsm

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler/state"
)

func runStep(name string, needs ...string) api.RunStep {
	return api.RunStep{Name: name, Needs: needs, When: []string{"success"}, State: api.RunQueued,
		Job: api.JobSpec{Name: name, Queue: "default", Priority: 50, Groups: []api.Group{{Name: "step", Count: 1, Task: api.Task{Image: "busybox"}}}}}
}

// pipelineHarness applies a repo, a secret, a run created by a delivery and
// compiled to two steps.
func pipelineHarness(t *testing.T) *harness {
	h := newHarness(t)
	h.mustApply(CmdRepoPut, &RepoPut{Repo: api.Repo{Name: "app", URL: "file:///src/app", WebhookSecret: "s3cret", Token: "tok"}})
	h.mustApply(CmdSecretPut, &SecretPut{Secret: api.Secret{Repo: "app", Name: "API_KEY", Value: "k1"}})
	h.mustApply(CmdRunCreate, &RunCreate{Run: api.Run{ID: "app-1", Repo: "app", Event: "push", Ref: "refs/heads/main", Commit: "abc", DeliveryID: "github:d1", CreateTime: t0}})
	h.mustApply(CmdRunCompile, &RunCompile{RunID: "app-1", State: api.RunQueued, Queue: "ci",
		Steps: []api.RunStep{runStep("build"), runStep("test", "build")}, Time: t0})
	return h
}

func (h *harness) run(id string) *api.Run {
	h.t.Helper()
	r, err := h.fsm.State().Snapshot().Run(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func TestRepoPutKeepsSecretsOnReplaceAndDeleteTakesSecrets(t *testing.T) {
	h := pipelineHarness(t)
	h.mustApply(CmdRepoPut, &RepoPut{Repo: api.Repo{Name: "app", URL: "file:///elsewhere", Queue: "ci"}})
	r, err := h.fsm.State().Snapshot().Repo("app")
	if err != nil {
		t.Fatal(err)
	}
	if r.URL != "file:///elsewhere" || r.Queue != "ci" || r.WebhookSecret != "s3cret" || r.Token != "tok" || r.CreateIndex != 1 {
		t.Fatalf("replaced repo %+v", r)
	}
	if err, ok := h.apply(CmdSecretPut, &SecretPut{Secret: api.Secret{Repo: "nope", Name: "X", Value: "v"}}).(error); !ok || !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("secret of an unknown repo: %v", err)
	}
	h.mustApply(CmdRepoDelete, &RepoDelete{Name: "app"})
	snap := h.fsm.State().Snapshot()
	if len(snap.Repos()) != 0 || len(snap.RepoSecrets("app")) != 0 {
		t.Fatalf("after delete: repos %v, secrets %v", snap.Repos(), snap.RepoSecrets("app"))
	}
	if _, err := snap.Run("app-1"); err != nil {
		t.Fatalf("a deleted repo's runs stay: %v", err)
	}
}

func TestRunCreateDeduplicatesDeliveries(t *testing.T) {
	h := pipelineHarness(t)
	resp := h.mustApply(CmdRunCreate, &RunCreate{Run: api.Run{ID: "app-2", Repo: "app", Event: "push", Commit: "abc", DeliveryID: "github:d1"}})
	if got := resp.(*RunCreated); !got.Duplicate || got.RunID != "app-1" {
		t.Fatalf("second delivery: %+v", got)
	}
	if _, err := h.fsm.State().Snapshot().Run("app-2"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("a duplicate delivery created a run: %v", err)
	}
	if err, ok := h.apply(CmdRunCreate, &RunCreate{Run: api.Run{ID: "x-1", Repo: "unknown"}}).(error); !ok || !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("a run of an unknown repo: %v", err)
	}
}

func TestRunCompileOnlyOnce(t *testing.T) {
	h := pipelineHarness(t)
	h.mustApply(CmdRunCompile, &RunCompile{RunID: "app-1", State: api.RunError, Message: "late second compile", Time: t0})
	if r := h.run("app-1"); r.State != api.RunQueued || len(r.Steps) != 2 || r.Queue != "ci" || !r.Compiled {
		t.Fatalf("run after a second compile: %+v", r)
	}
}

func TestRunAdvanceRegistersJobsOnlyAtTheVersionDecidedOn(t *testing.T) {
	h := pipelineHarness(t)
	r := h.run("app-1")
	next := r.Clone()
	next.State, next.NodeID = api.RunRunning, "n1"
	next.Steps[0].State, next.Steps[0].JobIDs = api.RunQueued, []string{"app-1-build-0"}
	jobs := []api.Job{{ID: "app-1-build-0", Name: "build", Spec: r.Steps[0].Job}}
	h.mustApply(CmdRunAdvance, &RunAdvance{Run: *next, ModifyIndex: r.ModifyIndex, Jobs: jobs, Time: t0})
	if j := h.job("app-1-build-0"); j.State != api.JobQueued {
		t.Fatalf("step job %+v", j)
	}
	if got := h.run("app-1"); got.NodeID != "n1" || got.Steps[0].JobID() != "app-1-build-0" {
		t.Fatalf("run after advance %+v", got)
	}
	// A decision made on the old version changes nothing.
	stale := r.Clone()
	stale.Message = "stale"
	jobs[0].ID = "app-1-build-9"
	h.mustApply(CmdRunAdvance, &RunAdvance{Run: *stale, ModifyIndex: r.ModifyIndex, Jobs: jobs, Time: t0})
	if got := h.run("app-1"); got.Message == "stale" {
		t.Fatal("a stale decision applied")
	}
	if _, err := h.fsm.State().Snapshot().Job("app-1-build-9"); err == nil {
		t.Fatal("a stale decision registered a job")
	}
}

func TestRunCancelStopsStepJobs(t *testing.T) {
	h := pipelineHarness(t)
	r := h.run("app-1")
	next := r.Clone()
	next.State = api.RunRunning
	next.Steps[0].State, next.Steps[0].JobIDs = api.RunRunning, []string{"app-1-build-0"}
	h.mustApply(CmdRunAdvance, &RunAdvance{Run: *next, ModifyIndex: r.ModifyIndex, Jobs: []api.Job{{ID: "app-1-build-0", Spec: r.Steps[0].Job}}, Time: t0})
	h.mustApply(CmdRunCancel, &RunCancel{RunID: "app-1", Reason: "cancelled by user", Time: t0})
	got := h.run("app-1")
	if got.State != api.RunCancelled || got.Steps[0].State != api.RunCancelled || got.Steps[1].State != api.RunCancelled {
		t.Fatalf("cancelled run %+v", got)
	}
	if j := h.job("app-1-build-0"); j.State != api.JobCancelled || !strings.Contains(j.Reason, "cancelled by user") {
		t.Fatalf("step job %s (%s)", j.State, j.Reason)
	}
	if err, ok := h.apply(CmdRunCancel, &RunCancel{RunID: "app-1", Time: t0}).(error); !ok || !errors.Is(err, ErrConflict) {
		t.Fatalf("cancelling twice: %v", err)
	}
}

// TestPipelineSnapshotRoundTrip checks that repos, secrets, deliveries and
// runs survive a snapshot and a replay, and the delivery record still
// de-duplicates after a restore.
func TestPipelineSnapshotRoundTrip(t *testing.T) {
	h := pipelineHarness(t)
	want := dump(t, h.fsm)
	for _, table := range []string{`"repos"`, `"secrets"`, `"deliveries"`, `"runs"`} {
		if !strings.Contains(want, table) {
			t.Fatalf("snapshot has no %s: %s", table, want)
		}
	}
	sink := persist(t, h.fsm)
	if err := CheckSnapshot(bytes.NewReader(sink.Bytes())); err != nil {
		t.Fatal(err)
	}
	restored := New(state.New())
	if err := restored.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, dump(t, restored)); diff != "" {
		t.Errorf("restored state differs (-want +got):\n%s", diff)
	}
	replayed := New(state.New())
	for i, e := range h.log {
		replayed.ApplyEntry(uint64(i+1), e)
	}
	if diff := cmp.Diff(want, dump(t, replayed)); diff != "" {
		t.Errorf("replayed state differs (-want +got):\n%s", diff)
	}
	data, _ := Encode(CmdRunCreate, &RunCreate{Run: api.Run{ID: "app-9", Repo: "app", DeliveryID: "github:d1"}})
	if got := restored.ApplyEntry(h.index+1, data).(*RunCreated); !got.Duplicate {
		t.Fatalf("after restore, a redelivery is not a duplicate: %+v", got)
	}
	bad := strings.Replace(sink.String(), `"name":"API_KEY"`, `"name":""`, 1)
	if err := CheckSnapshot(strings.NewReader(bad)); err == nil {
		t.Fatal("a snapshot with a nameless secret passed the check")
	}
}
