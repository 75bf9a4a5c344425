package scheduler

import (
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

// Member identifies one task of a job: the group's name, the group's
// position in Spec.Groups, and the task's index within the group.
type Member struct {
	Group      string
	GroupIndex int
	Index      int
}

// JobRequest is a job with the members that still need a node, as Missing
// returns them.
type JobRequest struct {
	Job     *api.Job
	Members []Member
}

// Input is a snapshot of everything placement reads. Schedule does not
// modify it.
type Input struct {
	// Nodes is every node; only nodes with Status == api.NodeReady take
	// work. Node IDs are unique.
	Nodes []*api.Node
	// Allocs are the allocations that hold resources: callers pass those
	// with Live() == true (others are ignored). They may reference nodes
	// not in Nodes.
	Allocs []*api.Allocation
	// Jobs is the work to place, in any order. Job IDs are unique.
	Jobs []*JobRequest
	// Now is the time of the decision. It is passed in, never read from the
	// clock; placement does not use it yet.
	Now time.Time
}

// Placement puts one member on one node, with the exact GPUs and host
// ports it holds.
type Placement struct {
	Member     Member
	NodeID     string
	GPUIndices []int
	// GPUs are the UUIDs of the GPUs at GPUIndices, in the same order.
	GPUs []string
	// Ports are host ports reserved on the node: for rank 0 of a gang of
	// more than one member (NeedsRendezvousPort), exactly one, the gang's
	// rendezvous port (MASTER_PORT); otherwise none.
	Ports []int
}

// JobPlacement is every member of one job that the plan places.
type JobPlacement struct {
	JobID      string
	Placements []Placement
}

// Pending says why some or all of a job's members were not placed.
type Pending struct {
	JobID  string
	Reason string
}

// Plan is the outcome of one Schedule call. Jobs and Pending are both in
// scheduling order (priority, then age, then ID). A non-gang job that was
// placed in part appears in both.
type Plan struct {
	Jobs    []JobPlacement
	Pending []Pending
}
