package api

import (
	"encoding/json"
	"fmt"
	"time"
)

// JobState is where a job is in its life. Terminal states never change again.
type JobState string

const (
	JobQueued    JobState = "queued"
	JobRunning   JobState = "running"
	JobSucceeded JobState = "succeeded"
	JobFailed    JobState = "failed"
	JobCancelled JobState = "cancelled"
)

// Terminal reports whether the job will never run again.
func (s JobState) Terminal() bool {
	return s == JobSucceeded || s == JobFailed || s == JobCancelled
}

// Job is a submitted job as the control plane stores it.
type Job struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Queue    string   `json:"queue"`
	Priority int      `json:"priority"`
	State    JobState `json:"state"`
	// Reason says why a queued job is not running, or why a job failed.
	Reason string  `json:"reason"`
	Spec   JobSpec `json:"spec"`
	// Attempt counts whole-gang restarts; it starts at 0. Migrations
	// counts the restarts a node drain caused, which use up no restart
	// attempts.
	Attempt    int `json:"attempt"`
	Migrations int `json:"migrations,omitempty"`
	// Preemptions counts the times the scheduler stopped the job to make
	// room for another; like migrations, they use up no restart attempts,
	// and the job keeps its place in its queue (SubmitTime).
	Preemptions int `json:"preemptions,omitempty"`
	// Unplaced is how many of the job's members need a node now (what
	// scheduler.Missing finds); the control plane keeps it current with
	// every change to the job and its allocations, so a scheduling pass
	// reads only the jobs that have some.
	Unplaced int `json:"unplaced,omitempty"`
	// Events are the latest things that happened to the job that its
	// owner should see (preemptions, walltime stops), oldest first.
	Events []JobEvent `json:"events,omitempty"`
	// IdempotencyKey is the client's key for the submission that created
	// the job: a retried submission with the same key returns this job.
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	SubmitTime     time.Time `json:"submit_time"`
	FinishTime     time.Time `json:"finish_time,omitzero"`
	CreateIndex    uint64    `json:"create_index"`
	ModifyIndex    uint64    `json:"modify_index"`
}

// Members returns the number of tasks the job runs at once: the sum of its
// groups' counts.
func (j *Job) Members() int {
	n := 0
	for _, g := range j.Spec.Groups {
		n += g.Count
	}
	return n
}

// JobSpec is the validated, canonical form of a job file (see api/jobspec for
// the YAML shape users write). Units are resolved: CPU in millicores, memory
// in bytes.
type JobSpec struct {
	Name     string            `json:"name"`
	Labels   map[string]string `json:"labels,omitempty"`
	Queue    string            `json:"queue"`
	Priority int               `json:"priority"`
	Gang     bool              `json:"gang"`
	Walltime Duration          `json:"walltime,omitzero"`
	// Network is the tasks' network: NetworkHost (the default for a gang
	// of more than one member, what NCCL wants) or NetworkBridge.
	Network string  `json:"network"`
	Groups  []Group `json:"groups"`
	// NodeSelector limits every member of the job to nodes whose Labels
	// hold all of its pairs. The reserved key NodeSelectorNode matches a
	// node's ID or Name instead of a label.
	NodeSelector map[string]string `json:"node_selector,omitempty"`
}

// NodeSelectorNode is the reserved NodeSelector key whose value must equal
// the node's ID or Name: pipelines pin every step of a run to one node.
const NodeSelectorNode = "phalanx.io/node"

// Network modes of a job's tasks.
const (
	NetworkHost   = "host"
	NetworkBridge = "bridge"
)

// Group is a set of identical tasks within a job.
type Group struct {
	Name    string        `json:"name"`
	Count   int           `json:"count"`
	Restart RestartPolicy `json:"restart"`
	Task    Task          `json:"task"`
	// Spread puts the group's members on distinct nodes.
	Spread bool `json:"spread,omitempty"`
}

// RestartPolicy says how often a failed task is started again. For a gang, a
// failed member restarts the whole gang and the attempts count for the job.
type RestartPolicy struct {
	Attempts int `json:"attempts"`
}

// Task is one container (or host process) to run.
type Task struct {
	Image      string            `json:"image"`
	Command    []string          `json:"command,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	WorkingDir string            `json:"working_dir,omitempty"`
	Resources  Resources         `json:"resources"`
	// KillTimeout is how long a task gets between SIGTERM and SIGKILL.
	KillTimeout Duration `json:"kill_timeout,omitzero"`
	// Network is the job's network mode, copied onto each allocation's
	// task by the control plane.
	Network string `json:"network,omitempty"`
	// Workspace, set for the steps of a pipeline run, is the run's shared
	// checkout (see Workspace).
	Workspace *Workspace `json:"workspace,omitempty"`
	// SecretEnv names the variables in Env whose values are secrets: the
	// executor masks those values as *** in every log line, and the HTTP
	// API never returns them.
	SecretEnv []string `json:"secret_env,omitempty"`
}

// Resources is what one task asks for, or what a node offers.
type Resources struct {
	CPUMilli    int64 `json:"cpu_milli"`
	MemoryBytes int64 `json:"memory_bytes"`
	GPUs        int   `json:"gpus"`
	// GPUModel is a glob matched against a GPU's model name ("*H100*").
	GPUModel string `json:"gpu_model,omitempty"`
	// GPUMemoryBytes is the least memory each GPU must have.
	GPUMemoryBytes int64 `json:"gpu_memory_bytes,omitempty"`
}

// Duration is a time.Duration that reads and writes JSON as "1h30m0s".
type Duration time.Duration

// D returns the standard library form.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as a string such as "2h0m0s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a string such as "90s", or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration: want a string like \"90s\", got %s", b)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}
