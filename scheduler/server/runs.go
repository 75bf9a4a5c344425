package server

import (
	"fmt"
	"maps"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/pipeline"
	"github.com/phalanx-sched/phalanx/scheduler"
	"github.com/phalanx-sched/phalanx/scheduler/fsm"
)

// When values of a step (pipeline.StatusSuccess, pipeline.StatusFailure).
const (
	whenSuccess = "success"
	whenFailure = "failure"
)

// runInput is everything the run controller decides one run on. It is a
// pure function of this: the leader builds it from a state snapshot, and
// tests build it by hand.
type runInput struct {
	Run *api.Run
	// Repo is the run's repo; nil once deleted.
	Repo *api.Repo
	// Secrets are the repo's secret values by name.
	Secrets map[string]string
	// Jobs and Allocs are the step jobs the run submitted, by job ID.
	Jobs   map[string]*api.Job
	Allocs map[string][]*api.Allocation
	// Nodes and Usage are the cluster's nodes and what live allocations
	// hold on each, for picking the run's node.
	Nodes []*api.Node
	Usage map[string]scheduler.Usage
	// Active are the runs that have not finished, this one included, for
	// concurrency groups.
	Active []*api.Run
	// Queues are the cluster's declared queues by name. A step's job
	// goes in at most at its queue's max_priority as it is when the step
	// is submitted (it may have been lowered since the run was
	// compiled); a step whose queue is gone fails.
	Queues map[string]*api.Queue
	Now    time.Time
}

// runDecision is what the controller wants done: the run's next version
// (nil: nothing changes) and older runs of its concurrency group to cancel.
type runDecision struct {
	Advance *fsm.RunAdvance
	Cancel  []fsm.RunCancel
}

// decideRun moves one compiled run along: it starts the run (concurrency
// group permitting) on a node that can hold every step, submits each
// step's job once its needs allow, follows the jobs, retries failed steps
// as their retry says, skips the dependants of failed steps, and finishes
// the run when every step has.
func decideRun(in runInput) runDecision {
	r := in.Run
	var d runDecision
	if !r.Compiled || r.State.Terminal() {
		return d
	}
	next := r.Clone()
	var jobs []api.Job
	if r.State == api.RunQueued {
		var wait string
		d.Cancel, wait = concurrency(in)
		if wait == "" {
			wait = startRun(in, next)
		}
		if wait != "" && next.State == api.RunQueued {
			next.Message = wait
		}
	}
	if next.State == api.RunRunning {
		for i := range next.Steps {
			if j := advanceStep(in, next, &next.Steps[i]); j != nil {
				jobs = append(jobs, *j)
			}
		}
		finishRun(next, in.Now)
	}
	if reflect.DeepEqual(next, r) {
		return d
	}
	d.Advance = &fsm.RunAdvance{Run: *next, ModifyIndex: r.ModifyIndex, Jobs: jobs, Time: in.Now}
	return d
}

// concurrency applies the run's concurrency group: with cancel-in-progress
// the run cancels the group's older runs, and in any case it waits until
// they have finished. It returns the cancels and what the run waits for.
func concurrency(in runInput) ([]fsm.RunCancel, string) {
	r := in.Run
	if r.ConcurrencyGroup == "" {
		return nil, ""
	}
	var cancels []fsm.RunCancel
	var older []string
	for _, o := range in.Active {
		if o.ID == r.ID || o.Repo != r.Repo || o.ConcurrencyGroup != r.ConcurrencyGroup || o.State.Terminal() || !runBefore(o, r) {
			continue
		}
		older = append(older, o.ID)
		if r.CancelInProgress && mayCancel(r, o) {
			cancels = append(cancels, fsm.RunCancel{RunID: o.ID, Time: in.Now,
				Reason: fmt.Sprintf("superseded by run %s (concurrency group %s)", r.ID, r.ConcurrencyGroup)})
		}
	}
	if len(older) == 0 {
		return nil, ""
	}
	return cancels, fmt.Sprintf("waiting for run %s (concurrency group %s)", strings.Join(older, ", "), r.ConcurrencyGroup)
}

// mayCancel reports whether run r's cancel_in_progress may cancel o. A
// pull request's pipeline file is its author's, group name included, so
// its runs cancel only earlier runs of the same pull request; any other
// run of the group they wait for.
func mayCancel(r, o *api.Run) bool {
	if r.Event != pipeline.EventPullRequest {
		return true
	}
	return o.Event == pipeline.EventPullRequest && o.PullRequest == r.PullRequest
}

func runBefore(a, b *api.Run) bool {
	if a.CreateIndex != b.CreateIndex {
		return a.CreateIndex < b.CreateIndex
	}
	return a.ID < b.ID
}

// startRun picks the run's node and marks it running, or returns what it
// waits for; a run no node can ever hold ends in error.
func startRun(in runInput, next *api.Run) string {
	n, wait, never := pickNode(in.Nodes, in.Usage, next.Steps)
	switch {
	case never != "":
		next.State, next.Message, next.FinishTime = api.RunError, never, in.Now
		for i := range next.Steps {
			next.Steps[i].State, next.Steps[i].Reason = api.RunSkipped, "the run could not start"
		}
		return ""
	case n == nil:
		return wait
	}
	next.State, next.Message, next.StartTime = api.RunRunning, "", in.Now
	next.NodeID, next.NodeName = n.ID, n.Name
	return ""
}

// pickNode chooses the node every step of a run goes to: of the ready
// nodes that are not draining and whose total resources hold each step's
// task, the one with the most CPU free now, then memory, then by ID. When
// none qualifies it says what the run waits for (wait), or, when no
// registered node could hold some step even empty and up, why the run
// cannot run at all (never).
func pickNode(nodes []*api.Node, usage map[string]scheduler.Usage, steps []api.RunStep) (pick *api.Node, wait, never string) {
	var fits []*api.Node
	for _, st := range steps {
		if !slices.ContainsFunc(nodes, func(n *api.Node) bool { return holds(n, st.Job) }) && len(nodes) > 0 {
			return nil, "", fmt.Sprintf("no node can hold step %s (%s)", st.Name, describeResources(taskOf(st.Job).Resources))
		}
	}
	for _, n := range nodes {
		if n.Status != api.NodeReady || n.Drain != nil {
			continue
		}
		if !slices.ContainsFunc(steps, func(st api.RunStep) bool { return !holds(n, st.Job) }) {
			fits = append(fits, n)
		}
	}
	if len(fits) == 0 {
		if len(nodes) == 0 {
			return nil, "waiting for an executor node to register", ""
		}
		return nil, "waiting for a ready node that can hold every step", ""
	}
	free := func(n *api.Node) (int64, int64) {
		u := usage[n.ID]
		return n.Resources.CPUMilli - u.CPUMilli, n.Resources.MemoryBytes - u.MemoryBytes
	}
	sort.SliceStable(fits, func(i, j int) bool {
		ci, mi := free(fits[i])
		cj, mj := free(fits[j])
		if ci != cj {
			return ci > cj
		}
		if mi != mj {
			return mi > mj
		}
		return fits[i].ID < fits[j].ID
	})
	return fits[0], "", ""
}

// holds reports whether node n, empty, has the resources of spec's task.
func holds(n *api.Node, spec api.JobSpec) bool {
	r := taskOf(spec).Resources
	if n.Resources.CPUMilli < r.CPUMilli || n.Resources.MemoryBytes < r.MemoryBytes {
		return false
	}
	gpus := 0
	for _, g := range n.GPUs {
		ok := r.GPUModel == ""
		if !ok {
			ok, _ = path.Match(r.GPUModel, g.Model)
		}
		if ok && g.MemoryBytes >= r.GPUMemoryBytes {
			gpus++
		}
	}
	return gpus >= r.GPUs
}

func taskOf(spec api.JobSpec) api.Task {
	if len(spec.Groups) == 0 {
		return api.Task{}
	}
	return spec.Groups[0].Task
}

func describeResources(r api.Resources) string {
	s := fmt.Sprintf("cpu %dm, memory %d bytes", r.CPUMilli, r.MemoryBytes)
	if r.GPUs > 0 {
		s += fmt.Sprintf(", %d GPUs", r.GPUs)
		if r.GPUModel != "" {
			s += " matching " + r.GPUModel
		}
	}
	return s
}

// advanceStep moves one step of a running run along and returns a job to
// register, if it submits one.
func advanceStep(in runInput, r *api.Run, st *api.RunStep) *api.Job {
	if st.State.Terminal() {
		return nil
	}
	if id := st.JobID(); id != "" {
		return followJob(in, r, st, id)
	}
	run, skip := ready(r, st)
	switch {
	case skip != "":
		st.State, st.Reason, st.FinishTime = api.RunSkipped, skip, in.Now
		return nil
	case !run:
		st.Reason = "waiting for " + strings.Join(pendingNeeds(r, st), ", ")
		return nil
	}
	return submit(in, r, st)
}

// ready says whether a step whose job is not submitted runs now (run), is
// skipped (skip says why), or waits (neither).
func ready(r *api.Run, st *api.RunStep) (run bool, skip string) {
	var failedNeed string
	for _, n := range st.Needs {
		d := r.Step(n)
		if d == nil {
			continue
		}
		if !d.State.Terminal() {
			return false, ""
		}
		if d.State != api.RunSucceeded && failedNeed == "" {
			failedNeed = fmt.Sprintf("%s %s", n, d.State)
		}
	}
	onSuccess, onFailure := slices.Contains(st.When, whenSuccess), slices.Contains(st.When, whenFailure)
	failed := runFailed(r)
	switch {
	case onFailure && failed != "":
		return true, ""
	case onSuccess && failedNeed == "":
		return true, ""
	case onFailure:
		// A cleanup step: it runs if some step fails, so it waits until
		// nothing else can.
		if othersDone(r, st) {
			return false, "no step failed (when: status: failure)"
		}
		return false, ""
	}
	return false, "needs " + failedNeed
}

// runFailed names a step of the run that failed or was cancelled, or "".
func runFailed(r *api.Run) string {
	for _, s := range r.Steps {
		if s.State == api.RunFailed || s.State == api.RunCancelled || s.State == api.RunError {
			return s.Name
		}
	}
	return ""
}

// othersDone reports whether every step of r but st and the steps that
// depend on it has finished.
func othersDone(r *api.Run, st *api.RunStep) bool {
	after := map[string]bool{st.Name: true}
	for changed := true; changed; {
		changed = false
		for _, s := range r.Steps {
			if after[s.Name] {
				continue
			}
			for _, n := range s.Needs {
				if after[n] {
					after[s.Name], changed = true, true
					break
				}
			}
		}
	}
	for _, s := range r.Steps {
		if !after[s.Name] && !s.State.Terminal() {
			return false
		}
	}
	return true
}

func pendingNeeds(r *api.Run, st *api.RunStep) []string {
	var out []string
	for _, n := range st.Needs {
		if d := r.Step(n); d != nil && !d.State.Terminal() {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		out = append(out, "the rest of the run to finish")
	}
	return out
}

// followJob updates a step from its latest job, and retries a failed one
// as its retry says.
func followJob(in runInput, r *api.Run, st *api.RunStep, id string) *api.Job {
	j, ok := in.Jobs[id]
	if !ok {
		return nil // registered by a decision not yet visible
	}
	allocs := in.Allocs[id]
	var last *api.Allocation
	for _, a := range allocs {
		if last == nil || a.CreateIndex >= last.CreateIndex {
			last = a
		}
		if !a.StartTime.IsZero() && (st.StartTime.IsZero() || a.StartTime.Before(st.StartTime)) {
			st.StartTime = a.StartTime
		}
	}
	switch j.State {
	case api.JobQueued:
		st.State = api.RunQueued
		if j.Reason != "" {
			st.Reason = j.Reason
		}
	case api.JobRunning:
		st.State, st.Reason = api.RunQueued, "starting"
		if last != nil && last.State == api.AllocRunning {
			st.State, st.Reason = api.RunRunning, ""
		}
	case api.JobSucceeded:
		st.State, st.Reason, st.FinishTime = api.RunSucceeded, "", j.FinishTime
		st.ExitCode = exitOf(last)
	case api.JobCancelled:
		st.State, st.Reason, st.FinishTime = api.RunCancelled, j.Reason, j.FinishTime
		st.ExitCode = exitOf(last)
	case api.JobFailed:
		st.ExitCode = exitOf(last)
		retries := len(st.JobIDs) - 1
		if retries < st.RetryAttempts && retryable(st, st.ExitCode) {
			st.State = api.RunQueued
			st.Reason = fmt.Sprintf("retry %d of %d after %s", retries+1, st.RetryAttempts, j.Reason)
			return submit(in, r, st)
		}
		st.State, st.Reason, st.FinishTime = api.RunFailed, j.Reason, j.FinishTime
	}
	return nil
}

func exitOf(a *api.Allocation) *int {
	if a == nil || a.ExitCode == nil {
		return nil
	}
	c := *a.ExitCode
	return &c
}

// retryable reports whether a step that exited with code may run again:
// any failure when the step lists no exit codes, else only those.
func retryable(st *api.RunStep, code *int) bool {
	if len(st.RetryOnExitCodes) == 0 {
		return true
	}
	return code != nil && slices.Contains(st.RetryOnExitCodes, *code)
}

// stepJobID names a step's job for one attempt; the same decision always
// gives the same ID, so a repeated submission registers nothing twice.
func stepJobID(runID, step string, attempt int) string {
	return fmt.Sprintf("%s-%s-%d", runID, step, attempt)
}

// submit builds the step's next job: the compiled spec in the run's queue,
// pinned to the run's node, with the run's workspace and the secrets it
// names. A step that may not have its secrets fails instead.
func submit(in runInput, r *api.Run, st *api.RunStep) *api.Job {
	fail := func(why string) *api.Job {
		st.State, st.Reason, st.FinishTime = api.RunFailed, why, in.Now
		return nil
	}
	if in.Repo == nil {
		return fail(fmt.Sprintf("repo %s was removed", r.Repo))
	}
	spec := st.Job
	spec.Labels = maps.Clone(spec.Labels)
	spec.Groups = slices.Clone(spec.Groups)
	if len(spec.Groups) != 1 {
		return fail(fmt.Sprintf("step job has %d groups, want 1", len(spec.Groups)))
	}
	if r.Queue != "" {
		spec.Queue = r.Queue
	}
	if q, ok := in.Queues[spec.Queue]; ok {
		if q.MaxPriority != nil && spec.Priority > *q.MaxPriority {
			spec.Priority = *q.MaxPriority
		}
	} else if spec.Queue != api.DefaultQueue && spec.Queue != "" {
		return fail(fmt.Sprintf("queue %s no longer exists (phalanx queue list shows the queues)", spec.Queue))
	}
	spec.NodeSelector = map[string]string{api.NodeSelectorNode: r.NodeID}
	task := &spec.Groups[0].Task
	task.Env = maps.Clone(task.Env)
	if task.Env == nil {
		task.Env = map[string]string{}
	}
	task.SecretEnv = nil
	for _, name := range st.Secrets {
		if r.Event == pipeline.EventPullRequest && !in.Repo.AllowPRSecrets {
			return fail(fmt.Sprintf("secret %s is not available to pull requests (phalanx repo add %s --allow-pr-secrets allows it)", name, r.Repo))
		}
		v, ok := in.Secrets[name]
		if !ok {
			return fail(fmt.Sprintf("secret %s is not set for repo %s (phalanx secret set %s --repo %s --from-file F)", name, r.Repo, name, r.Repo))
		}
		task.Env[name] = v
		task.SecretEnv = append(task.SecretEnv, name)
	}
	task.Workspace = &api.Workspace{ID: r.ID, Checkout: &api.Checkout{URL: in.Repo.URL, Commit: r.Commit, Ref: r.Ref, Token: in.Repo.Token}}
	id := stepJobID(r.ID, st.Name, len(st.JobIDs))
	st.JobIDs = append(st.JobIDs, id)
	if st.Reason == "" || !strings.HasPrefix(st.Reason, "retry") {
		st.Reason = "submitted"
	}
	st.State = api.RunQueued
	return &api.Job{ID: id, Name: spec.Name, Queue: spec.Queue, Priority: spec.Priority, Spec: spec, SubmitTime: in.Now}
}

// finishRun ends a running run once every step has: failed if a step
// failed, cancelled if one was cancelled, else succeeded.
func finishRun(r *api.Run, now time.Time) {
	var failed, cancelled []string
	for _, s := range r.Steps {
		switch s.State {
		case api.RunQueued, api.RunRunning:
			return
		case api.RunFailed, api.RunError:
			failed = append(failed, s.Name)
		case api.RunCancelled:
			cancelled = append(cancelled, s.Name)
		}
	}
	r.FinishTime = now
	switch {
	case len(failed) > 0:
		r.State, r.Message = api.RunFailed, "failed steps: "+strings.Join(failed, ", ")
	case len(cancelled) > 0:
		r.State, r.Message = api.RunCancelled, "cancelled steps: "+strings.Join(cancelled, ", ")
	default:
		r.State, r.Message = api.RunSucceeded, ""
	}
}
