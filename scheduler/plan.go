package scheduler

import (
	"fmt"
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
	// Nodes is every node; only nodes with Status == api.NodeReady and no
	// Drain take work. Node IDs are unique.
	Nodes []*api.Node
	// Allocs are the allocations that hold resources: callers pass those
	// with Live() == true (others are ignored). They may reference nodes
	// not in Nodes. A live allocation whose DesiredState is
	// api.DesiredStop is stopping: it still holds its resources, is never
	// evicted again, and a job that fits once the stopping allocations
	// are gone waits for them (see Plan.Evictions) instead of preempting.
	Allocs []*api.Allocation
	// Jobs is the work to place, in any order. Job IDs are unique.
	Jobs []*JobRequest
	// Running is the jobs that hold the allocations in Allocs, in any
	// order; a job may also be in Jobs, and jobs holding nothing are
	// ignored. Schedule reads their Queue and Priority (for fair share,
	// quotas and preemption) and Spec.Walltime (with each allocation's
	// StartTime, for reservations). An allocation whose job is in neither
	// Running nor Jobs still holds its resources but counts for no queue,
	// is never preempted, and is assumed never to end.
	Running []*api.Job
	// Queues, when not nil, is every queue, names unique. A job whose
	// queue is not among them stays pending ("unknown queue X"). When
	// nil, every queue a job names exists implicitly with weight 1, no
	// quota, no priority cap, and Borrow set.
	Queues []api.Queue
	// Policy is how work is ordered and placed; "" is PolicyFair.
	Policy Policy
	// PreemptionGap is how many priority points a job must be above a
	// running job of its own queue to preempt it; 0 means
	// DefaultPreemptionGap and a negative value turns preemption within a
	// queue off (reclaiming across queues is unaffected).
	PreemptionGap int
	// Now is the time of the decision. It is passed in, never read from the
	// clock: reservations (allocation StartTime + job walltime) and the
	// work a preemption loses (GPU-seconds run) are measured from it.
	Now time.Time
}

// Policy names a scheduling policy.
type Policy string

const (
	// PolicyFair orders queues by weighted dominant-resource fair share,
	// then jobs by priority and age; it preempts, reclaims, reserves for
	// the first job that does not fit and backfills around it, and
	// prefers best-fit nodes and NVLink-local GPUs. It is the default.
	PolicyFair Policy = "fair"
	// PolicyFIFO is the baseline to compare with: jobs in submit order
	// (then ID) whatever their queue or priority, each member on the
	// first node by ID that fits and the lowest free GPU indices, and
	// the first job that does not fit blocks every later one (jobs that
	// could never fit, or wait for their queue's quota, block nothing).
	// Gangs are still all-or-nothing and quotas still apply; there is no
	// fair share, backfill, preemption or topology preference.
	PolicyFIFO Policy = "fifo"
)

// Policies lists the valid policies, default first.
var Policies = []Policy{PolicyFair, PolicyFIFO}

// ParsePolicy returns the policy named s ("" is PolicyFair), or an error
// listing the valid names.
func ParsePolicy(s string) (Policy, error) {
	switch Policy(s) {
	case "", PolicyFair:
		return PolicyFair, nil
	case PolicyFIFO:
		return PolicyFIFO, nil
	}
	return "", fmt.Errorf("unknown scheduling policy %q: want %s or %s", s, PolicyFair, PolicyFIFO)
}

// DefaultPreemptionGap is Input.PreemptionGap's default.
const DefaultPreemptionGap = 10

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
// scheduling order. A non-gang job that was placed in part appears in both.
type Plan struct {
	Jobs    []JobPlacement
	Pending []Pending
	// Evictions are running jobs to stop so that pending ones can run,
	// in the order they were decided. The caller stops every listed
	// allocation and keeps the job queued at its original SubmitTime (a
	// gang starts a new attempt, as for a drain migration: the eviction
	// uses up no restart attempt), and tells the owner Reason. The
	// preemptor is not placed in the same plan: it stays pending,
	// "preempting N jobs", with the room it needs reserved (Reservations,
	// at Now), and a later Schedule places it once the evicted
	// allocations are no longer live; while they are only stopping, it
	// waits for them and evicts nothing more.
	Evictions []Eviction
	// Reservations are the pending jobs that hold room ahead: nothing
	// placed in this plan can delay them. One is the first job in order
	// that does not fit (at the earliest time the running jobs'
	// walltimes free enough room); the others wait for evicted or
	// stopping allocations (at Now).
	Reservations []Reservation
}

// Eviction stops one running job, whole, to make room for another.
type Eviction struct {
	// JobID is the job to stop; AllocIDs are all of its live
	// allocations, sorted.
	JobID    string
	AllocIDs []string
	// Preemptor is the pending job the room is for.
	Preemptor string
	// Cause is EvictPreempt or EvictReclaim.
	Cause EvictionCause
	// GPUSeconds is the work the eviction loses: each allocation's GPUs
	// times the time it has run (Now - StartTime).
	GPUSeconds int64
	// Reason is for the job's owner, such as "preempted by job j7
	// (priority 80 > 60 in queue research)".
	Reason string
}

// EvictionCause says which rule an eviction follows.
type EvictionCause string

const (
	// EvictPreempt: a job of the same queue at least PreemptionGap
	// priority points higher needs the room.
	EvictPreempt EvictionCause = "preempt"
	// EvictReclaim: a queue below its fair share, and within it once the
	// preemptor runs, takes back what the victim's queue, above its own,
	// borrowed; the victim's queue still comes after the preemptor's in
	// queue order once the victims are gone.
	EvictReclaim EvictionCause = "reclaim"
)

// Reservation is room held for a pending job from Time on.
type Reservation struct {
	JobID string
	Time  time.Time
	// NodeIDs are the nodes the job is expected to use, sorted.
	NodeIDs []string
}
