package pipeline

import (
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

// Version is the only pipeline file version there is.
const Version = 1

// Defaults and limits of the pipeline file; docs/pipelines.md lists them.
const (
	// MaxIncludeDepth is how deep includes may nest: the pipeline file
	// includes files at depth 1, they include files at depth 2, and so on.
	MaxIncludeDepth = 8
	// MaxSteps bounds the steps of a pipeline, matrix cells counted.
	MaxSteps = 500
	// MaxMatrixCells bounds the cells of one step's matrix.
	MaxMatrixCells = 256
)

// Event kinds: what started a run.
const (
	EventPush        = "push"
	EventTag         = "tag"
	EventPullRequest = "pull_request"
	EventManual      = "manual"
)

// Step statuses a step may run on (When.Status).
const (
	StatusSuccess = "success" // every step it needs succeeded (the default)
	StatusFailure = "failure" // some step of the run failed: cleanup steps
)

// Spec is a validated pipeline file with its includes resolved and its
// defaults applied to every step. Parse builds it; Lint and Compile read it.
type Spec struct {
	// File is the file name given to Parse.
	File    string
	Version int
	On      Triggers
	// Queue and Priority are those of every step's job: jobspec's
	// defaults ("default", 50) when the file leaves them out.
	Queue       string
	Priority    int
	Env         map[string]string
	Concurrency Concurrency
	// Includes lists the files read for include, in the order read.
	Includes []string
	// Steps are the steps of the pipeline file, then those of its
	// includes, each in file order; names are unique.
	Steps []Step
	// lines maps the field paths of the pipeline file to their lines,
	// for Lint; nil for a Spec not made by Parse.
	lines map[string]int
}

// Pos is a place in a file, for messages.
type Pos struct {
	File string
	Line int
	// Field is the field path there, such as "steps[2]".
	Field string
}

// Triggers says which events start the pipeline (the on field). A nil
// trigger does not fire; a file without on fires on every event.
type Triggers struct {
	Push        *PushTrigger
	Tag         *TagTrigger
	PullRequest *PullRequestTrigger
}

// PushTrigger fires on a push to a branch matching Branches (any branch when
// empty) that changed a file matching Paths (any file when empty).
type PushTrigger struct {
	Branches []string
	Paths    []string
}

// TagTrigger fires on a tag matching Tags (any tag when empty).
type TagTrigger struct {
	Tags []string
}

// PullRequestTrigger fires on a pull request whose target branch matches
// Branches (any branch when empty).
type PullRequestTrigger struct {
	Branches []string
}

// Concurrency names the group of runs of which only one runs at a time. An
// empty Group means no limit. Group may hold ${PHALANX_BRANCH} and the other
// event variables (see EventEnv); Compile expands them.
type Concurrency struct {
	Group string `json:"group,omitempty"`
	// CancelInProgress cancels the group's running run when a new one
	// starts, instead of queueing the new one behind it.
	CancelInProgress bool `json:"cancel_in_progress,omitempty"`
}

// Step is one step as written, with defaults applied.
type Step struct {
	Name     string
	Image    string
	Commands []string
	Needs    []string
	When     When
	// Matrix maps variable names to their values; each combination is
	// its own step in the compiled DAG.
	Matrix    map[string][]string
	Retry     Retry
	Timeout   time.Duration // 0: no limit
	Resources api.Resources
	Secrets   []string
	Env       map[string]string
	// Pos is where the step starts.
	Pos Pos
}

// When filters a step. Empty lists accept everything, except Status, which
// defaults to [success].
type When struct {
	Branch []string
	Event  []string
	Paths  []string
	Status []string
}

// Retry says how often a failed step runs again.
type Retry struct {
	Attempts int `json:"attempts"`
	// OnExitCodes limits retries to these exit codes; empty means any
	// failure.
	OnExitCodes []int `json:"on_exit_codes,omitempty"`
}
