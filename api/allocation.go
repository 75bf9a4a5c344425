package api

import "time"

// AllocState is what the executor last reported about an allocation.
type AllocState string

const (
	AllocPending   AllocState = "pending"   // placed, not yet started
	AllocRunning   AllocState = "running"   // the task is running
	AllocSucceeded AllocState = "succeeded" // exited 0
	AllocFailed    AllocState = "failed"    // exited non-zero, or could not start
	AllocStopped   AllocState = "stopped"   // stopped on purpose: cancel, gang stop
	AllocLost      AllocState = "lost"      // its node went down
)

// Terminal reports whether the allocation's task has ended for good.
func (s AllocState) Terminal() bool {
	return s == AllocSucceeded || s == AllocFailed || s == AllocStopped || s == AllocLost
}

// DesiredState is what the control plane wants the executor to do.
type DesiredState string

const (
	DesiredRun  DesiredState = "run"
	DesiredStop DesiredState = "stop"
)

// Allocation is one task of a job placed on one node: the unit an executor runs.
type Allocation struct {
	ID       string `json:"id"`
	JobID    string `json:"job_id"`
	JobName  string `json:"job_name"`
	Group    string `json:"group"`
	Index    int    `json:"index"`
	NodeID   string `json:"node"`
	NodeName string `json:"node_name"`
	// Attempt is the job's attempt this allocation belongs to.
	Attempt int `json:"attempt"`
	// Task is the group's task with the environment the control plane adds
	// (PHALANX_JOB_ID, PHALANX_RANK, ...) already merged in.
	Task Task `json:"task"`
	// GPUs are the UUIDs of the GPUs this allocation holds exclusively;
	// GPUIndices are the same GPUs' indices on the node.
	GPUs       []string `json:"gpus"`
	GPUIndices []int    `json:"gpu_indices"`
	// Ports are host ports reserved for this allocation on its node: a
	// gang's rank 0 holds the rendezvous port given to every member as
	// MASTER_PORT.
	Ports []int `json:"ports,omitempty"`

	// Migrated marks an allocation moved off a draining node: lost, but
	// not a failure (it uses up no restart attempt).
	Migrated bool `json:"migrated,omitempty"`
	// Preempted marks an allocation the scheduler stopped to make room
	// for another job: not a failure either.
	Preempted bool `json:"preempted,omitempty"`

	DesiredState DesiredState `json:"desired_state"`
	State        AllocState   `json:"state"`
	ExitCode     *int         `json:"exit_code"`
	Message      string       `json:"message,omitempty"`

	CreateTime  time.Time `json:"create_time"`
	StartTime   time.Time `json:"start_time,omitzero"`
	FinishTime  time.Time `json:"finish_time,omitzero"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
}

// Live reports whether the allocation holds its node's resources: it is
// wanted, or its task has not yet ended.
func (a *Allocation) Live() bool { return !a.State.Terminal() }

// AllocUpdate is what an executor reports about one allocation.
type AllocUpdate struct {
	ID string `json:"id"`
	// NodeID is the reporting node; a report about another node's
	// allocation is ignored.
	NodeID   string     `json:"node_id"`
	State    AllocState `json:"state"`
	ExitCode *int       `json:"exit_code,omitempty"`
	Message  string     `json:"message,omitempty"`
	Time     time.Time  `json:"time"`
}
