package api

import "time"

// JobStatus is a job as `phalanx job status` shows it: the job and its
// allocations. Its JSON shape is part of the CLI's contract.
type JobStatus struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Queue    string   `json:"queue"`
	Priority int      `json:"priority"`
	State    JobState `json:"state"`
	Reason   string   `json:"reason"`
	Attempt  int      `json:"attempt"`
	// Unplaced is how many members wait for a node.
	Unplaced    int           `json:"unplaced,omitempty"`
	Preemptions int           `json:"preemptions,omitempty"`
	Events      []JobEvent    `json:"events,omitempty"`
	SubmitTime  time.Time     `json:"submit_time"`
	FinishTime  time.Time     `json:"finish_time,omitzero"`
	Allocations []AllocStatus `json:"allocations"`
}

// AllocStatus is one allocation within a JobStatus.
type AllocStatus struct {
	ID       string     `json:"id"`
	Group    string     `json:"group"`
	Index    int        `json:"index"`
	Attempt  int        `json:"attempt"`
	Node     string     `json:"node"`
	NodeID   string     `json:"node_id"`
	State    AllocState `json:"state"`
	ExitCode *int       `json:"exit_code"`
	GPUs     []string   `json:"gpus"`
	Message  string     `json:"message,omitempty"`
	// CreateTime is when the leader placed it.
	CreateTime time.Time `json:"create_time"`
	StartTime  time.Time `json:"start_time,omitzero"`
	FinishTime time.Time `json:"finish_time,omitzero"`
}

// NewJobStatus builds the status view of a job and its allocations.
func NewJobStatus(j *Job, allocs []*Allocation) *JobStatus {
	s := &JobStatus{
		ID: j.ID, Name: j.Name, Queue: j.Queue, Priority: j.Priority,
		State: j.State, Reason: j.Reason, Attempt: j.Attempt, Unplaced: j.Unplaced,
		Preemptions: j.Preemptions, Events: j.Events,
		SubmitTime: j.SubmitTime, FinishTime: j.FinishTime,
		Allocations: []AllocStatus{},
	}
	for _, a := range allocs {
		gpus := a.GPUs
		if gpus == nil {
			gpus = []string{}
		}
		s.Allocations = append(s.Allocations, AllocStatus{
			ID: a.ID, Group: a.Group, Index: a.Index, Attempt: a.Attempt,
			Node: a.NodeName, NodeID: a.NodeID, State: a.State, ExitCode: a.ExitCode,
			GPUs: gpus, Message: a.Message, CreateTime: a.CreateTime, StartTime: a.StartTime, FinishTime: a.FinishTime,
		})
	}
	return s
}

// LeaderStatus answers GET /v1/status/leader.
type LeaderStatus struct {
	Leader   string `json:"leader"`    // the leader's Raft address, "" if none
	LeaderID string `json:"leader_id"` // the leader's server ID
	IsSelf   bool   `json:"is_self"`   // this server is the leader
	Index    uint64 `json:"index"`     // the last applied Raft index here
}

// NodeAllocations answers an executor's blocking query for its work.
type NodeAllocations struct {
	Index       uint64        `json:"index"`
	Allocations []*Allocation `json:"allocations"`
}

// NodeDetail is a node as `phalanx node status` shows it: the node and the
// allocations that hold its resources.
type NodeDetail struct {
	*Node
	Allocations []*Allocation `json:"allocations"`
}

// Server is one control-plane server as the cluster knows it.
type Server struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	HTTPAddr string `json:"http_addr"`
	// In the Raft configuration (servers table only knows addresses):
	Voter  bool `json:"voter"`
	Leader bool `json:"leader"`
	// InCluster, in GET /v1/operator/raft/self, says the server already
	// belongs to a cluster: a forming server joins it, never bootstraps
	// a second one.
	InCluster bool `json:"in_cluster,omitempty"`
}
