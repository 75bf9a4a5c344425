package api

import (
	"maps"
	"strconv"
	"time"
)

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
	// Task is the group's task (with the job's network mode). The
	// environment the control plane adds for the member (PHALANX_RANK,
	// MASTER_ADDR, ...) is not in its Env but in the fields below; Env()
	// is the whole environment the executor gives the task.
	Task Task `json:"task"`
	// GPUs are the UUIDs of the GPUs this allocation holds exclusively;
	// GPUIndices are the same GPUs' indices on the node.
	GPUs       []string `json:"gpus"`
	GPUIndices []int    `json:"gpu_indices"`
	// Ports are host ports reserved for this allocation on its node: a
	// gang's rank 0 holds the rendezvous port given to every member as
	// MASTER_PORT.
	Ports []int `json:"ports,omitempty"`

	// Rank is the member's rank across its job (groups in order, then
	// index), WorldSize the job's number of members, and NodeRank the
	// rank of its node among the job's nodes (in the order of their
	// lowest member rank). MasterAddr and MasterPort, for a gang of more
	// than one member, are rank 0's host and rendezvous port. An
	// allocation stored before these fields existed has WorldSize 0 and
	// carries the variables in Task.Env already.
	Rank       int    `json:"rank"`
	NodeRank   int    `json:"node_rank"`
	WorldSize  int    `json:"world_size"`
	MasterAddr string `json:"master_addr,omitempty"`
	MasterPort int    `json:"master_port,omitempty"`

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

// Env is the task's whole environment as the executor gives it: Task.Env
// and, set over it, PHALANX_JOB_ID, PHALANX_JOB_NAME, PHALANX_ALLOC_ID,
// PHALANX_GROUP, PHALANX_GROUP_INDEX, PHALANX_RANK, PHALANX_WORLD_SIZE
// and PHALANX_NODE_RANK, and for a gang of more than one member
// MASTER_ADDR and MASTER_PORT (rank 0's), the names torchrun and Horovod
// read. The result may be Task.Env itself: do not change it.
func (a *Allocation) Env() map[string]string {
	if a.WorldSize == 0 {
		return a.Task.Env // stored with the variables merged in
	}
	env := make(map[string]string, len(a.Task.Env)+10)
	maps.Copy(env, a.Task.Env)
	env["PHALANX_JOB_ID"] = a.JobID
	env["PHALANX_JOB_NAME"] = a.JobName
	env["PHALANX_ALLOC_ID"] = a.ID
	env["PHALANX_GROUP"] = a.Group
	env["PHALANX_GROUP_INDEX"] = strconv.Itoa(a.Index)
	env["PHALANX_RANK"] = strconv.Itoa(a.Rank)
	env["PHALANX_WORLD_SIZE"] = strconv.Itoa(a.WorldSize)
	env["PHALANX_NODE_RANK"] = strconv.Itoa(a.NodeRank)
	if a.MasterPort > 0 {
		env["MASTER_ADDR"] = a.MasterAddr
		env["MASTER_PORT"] = strconv.Itoa(a.MasterPort)
	}
	return env
}

// WithEnv returns a copy of a whose Task.Env is Env(): the allocation as
// the JSON API shows it, and as executors that predate the rank fields
// read it.
func (a *Allocation) WithEnv() *Allocation {
	c := *a
	c.Task.Env = a.Env()
	return &c
}

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
