package api

import (
	"slices"
	"time"
)

// RunState is where a pipeline run, or one of its steps, is.
type RunState string

const (
	RunQueued    RunState = "queued"    // waiting: for its pipeline file, a node, its needs, or its job
	RunRunning   RunState = "running"   // started (a run), or its job runs (a step)
	RunSucceeded RunState = "succeeded" // every step that ran succeeded
	RunFailed    RunState = "failed"    // a step failed
	RunCancelled RunState = "cancelled" // cancelled by a person or by a newer run
	RunSkipped   RunState = "skipped"   // a step whose needs failed, or a run the event does not trigger
	RunError     RunState = "error"     // the run could not start: bad pipeline file, fetch error, no node
)

// Terminal reports whether the state never changes again.
func (s RunState) Terminal() bool {
	return s != RunQueued && s != RunRunning
}

// Run is one pipeline run: an event (push, tag, pull request, manual)
// against one commit of a repo, and the steps its pipeline file compiled
// to. The leader's run controller moves it along; everything it decides
// is in here, so a new leader carries on where the old one stopped.
type Run struct {
	ID   string `json:"id"`
	Repo string `json:"repo"`
	// Event is push, tag, pull_request or manual.
	Event       string `json:"event"`
	Ref         string `json:"ref"`
	Branch      string `json:"branch,omitempty"`
	Tag         string `json:"tag,omitempty"`
	Commit      string `json:"commit"`
	Before      string `json:"before,omitempty"`
	PullRequest int    `json:"pull_request,omitempty"`
	// DeliveryID is the webhook delivery that started the run, if one did.
	DeliveryID string `json:"delivery_id,omitempty"`

	State RunState `json:"state"`
	// Message says what a queued run waits for, or why it ended as it did.
	Message string `json:"message,omitempty"`
	// Compiled is set once the pipeline file was read and compiled (or
	// failed to); until then the leader fetches it.
	Compiled bool `json:"compiled"`
	// NodeID is the node every step runs on, picked when the run starts.
	NodeID   string `json:"node_id,omitempty"`
	NodeName string `json:"node_name,omitempty"`
	Queue    string `json:"queue,omitempty"`
	// Concurrency: two runs of a repo in one group never overlap.
	ConcurrencyGroup string `json:"concurrency_group,omitempty"`
	CancelInProgress bool   `json:"cancel_in_progress,omitempty"`

	Steps []RunStep `json:"steps"`
	// Dropped are the steps the event's when filters left out.
	Dropped []DroppedStep `json:"dropped,omitempty"`

	CreateTime  time.Time `json:"create_time"`
	StartTime   time.Time `json:"start_time,omitzero"`
	FinishTime  time.Time `json:"finish_time,omitzero"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
}

// Step returns the step called name, or nil.
func (r *Run) Step(name string) *RunStep {
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			return &r.Steps[i]
		}
	}
	return nil
}

// Clone returns a copy of r that shares no slice with it.
func (r *Run) Clone() *Run {
	c := *r
	c.Steps = slices.Clone(r.Steps)
	for i := range c.Steps {
		c.Steps[i].JobIDs = slices.Clone(r.Steps[i].JobIDs)
	}
	c.Dropped = slices.Clone(r.Dropped)
	return &c
}

// RunStep is one step of a run (one matrix cell of a matrix step) and the
// jobs it ran.
type RunStep struct {
	Name string `json:"name"`
	// Needs are the steps this one waits for.
	Needs []string `json:"needs,omitempty"`
	// When says on which outcome of its needs the step runs: "success"
	// (all succeeded), "failure" (some step of the run failed), or both.
	When []string `json:"when"`
	// Retry: a failed step's job runs again, at most Attempts more times,
	// and only for one of OnExitCodes when that is set.
	RetryAttempts    int   `json:"retry_attempts,omitempty"`
	RetryOnExitCodes []int `json:"retry_on_exit_codes,omitempty"`
	// Secrets are the repo secrets the step gets as environment variables.
	Secrets []string `json:"secrets,omitempty"`
	// Job is the step's job, as compiled; the controller adds the
	// workspace, the node pin and the secrets when it submits it.
	Job JobSpec `json:"job"`

	State  RunState `json:"state"`
	Reason string   `json:"reason,omitempty"`
	// JobIDs are the jobs the step ran, one per attempt, the latest last.
	JobIDs     []string  `json:"job_ids,omitempty"`
	ExitCode   *int      `json:"exit_code,omitempty"`
	StartTime  time.Time `json:"start_time,omitzero"`
	FinishTime time.Time `json:"finish_time,omitzero"`
}

// JobID is the step's latest job, or "".
func (s *RunStep) JobID() string {
	if len(s.JobIDs) == 0 {
		return ""
	}
	return s.JobIDs[len(s.JobIDs)-1]
}

// DroppedStep is a step the event's when filters left out, and why.
type DroppedStep struct {
	Step   string `json:"step"`
	Reason string `json:"reason"`
}

// RunRequest is the body of POST /v1/repos/{name}/runs: a manual run of
// ref ("main", "refs/tags/v1", or a commit).
type RunRequest struct {
	Ref string `json:"ref"`
}

// HookResult answers a webhook delivery.
type HookResult struct {
	// Run is the run the delivery started (or, for a duplicate, started
	// the first time).
	Run string `json:"run,omitempty"`
	// Duplicate is set when the delivery was seen before: nothing new
	// starts.
	Duplicate bool `json:"duplicate,omitempty"`
	// Ignored says why the delivery starts nothing (a branch deletion, a
	// ping).
	Ignored string `json:"ignored,omitempty"`
}
