package fsm

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/internal/wire"
	"github.com/phalanx-sched/phalanx/scheduler"
)

// Command is the type byte of a log entry.
type Command uint8

// The command enum only grows; never renumber or reuse a value.
const (
	CmdJobRegister   Command = 1
	CmdJobCancel     Command = 2
	CmdPlanApply     Command = 3
	CmdAllocUpdate   Command = 4
	CmdNodeRegister  Command = 5
	CmdNodeHeartbeat Command = 6
	CmdNodeDown      Command = 7
	CmdGPUHealth     Command = 8
	CmdServerAddr    Command = 9
	CmdNodeDrain     Command = 10
	CmdNodeMigrate   Command = 11
	CmdQueuePut      Command = 12
	CmdQueueDelete   Command = 13
	CmdEvict         Command = 14
	CmdWalltime      Command = 15
	// 12-19 are kept for queues and preemption.
	CmdRepoPut      Command = 20
	CmdRepoDelete   Command = 21
	CmdSecretPut    Command = 22
	CmdSecretDelete Command = 23
	CmdRunCreate    Command = 24
	CmdRunCompile   Command = 25
	CmdRunAdvance   Command = 26
	CmdRunCancel    Command = 27
	// CmdPlace and CmdReport are written in binary (see wire.go): they
	// supersede CmdPlanApply and CmdAllocUpdate, which a log written by
	// an older leader may still hold and which still apply.
	CmdPlace  Command = 28
	CmdReport Command = 29
	// CmdJobsRegister is CmdJobRegister for many jobs in one entry.
	CmdJobsRegister Command = 30
)

// binary reports whether c's payload is written in binary.
func (c Command) binary() bool { return c == CmdPlace || c == CmdReport }

func (c Command) String() string {
	switch c {
	case CmdJobRegister:
		return "JobRegister"
	case CmdJobCancel:
		return "JobCancel"
	case CmdPlanApply:
		return "PlanApply"
	case CmdAllocUpdate:
		return "AllocUpdate"
	case CmdNodeRegister:
		return "NodeRegister"
	case CmdNodeHeartbeat:
		return "NodeHeartbeat"
	case CmdNodeDown:
		return "NodeDown"
	case CmdGPUHealth:
		return "GPUHealth"
	case CmdServerAddr:
		return "ServerAddr"
	case CmdNodeDrain:
		return "NodeDrain"
	case CmdNodeMigrate:
		return "NodeMigrate"
	case CmdQueuePut:
		return "QueuePut"
	case CmdQueueDelete:
		return "QueueDelete"
	case CmdEvict:
		return "Evict"
	case CmdWalltime:
		return "Walltime"
	case CmdRepoPut:
		return "RepoPut"
	case CmdRepoDelete:
		return "RepoDelete"
	case CmdSecretPut:
		return "SecretPut"
	case CmdSecretDelete:
		return "SecretDelete"
	case CmdRunCreate:
		return "RunCreate"
	case CmdRunCompile:
		return "RunCompile"
	case CmdRunAdvance:
		return "RunAdvance"
	case CmdRunCancel:
		return "RunCancel"
	case CmdPlace:
		return "Place"
	case CmdReport:
		return "Report"
	case CmdJobsRegister:
		return "JobsRegister"
	}
	return fmt.Sprintf("Command(%d)", uint8(c))
}

// JobRegister stores a new job as queued. The leader fills in ID and
// SubmitTime before the entry is written. If the job carries an
// idempotency key that an existing job has, nothing is stored and the
// response is that job's ID (a *JobRegistered).
type JobRegister struct {
	Job api.Job `json:"job"`
}

// JobRegistered is JobRegister's response.
type JobRegistered struct {
	JobID string
	// Existing is true when the key matched an earlier submission.
	Existing bool
	// Err, in a JobsRegistered, is why this job was not stored.
	Err error
}

// JobsRegister stores several new jobs, in order, each as JobRegister
// would: the leader merges submissions that arrive together into one
// entry. One job refused (its ID taken) stores the others.
type JobsRegister struct {
	Jobs []api.Job `json:"jobs"`
}

// JobsRegistered is JobsRegister's response: one per job, in order.
type JobsRegistered struct {
	Jobs []JobRegistered
}

// ServerAddr records a control-plane server's Raft and HTTP addresses,
// so any server can forward requests to the leader.
type ServerAddr struct {
	Server api.Server `json:"server"`
}

// JobCancel cancels a job and asks its running allocations to stop.
type JobCancel struct {
	JobID string    `json:"job_id"`
	Time  time.Time `json:"time"`
}

// PlanApply commits the leader's placements and pending reasons. The FSM
// re-checks every job's placements against the state at apply time and
// drops a job's placements whole when any of them no longer fits.
type PlanApply struct {
	Allocs  []api.Allocation    `json:"allocs"`
	Pending []scheduler.Pending `json:"pending,omitempty"`
	Time    time.Time           `json:"time"`
}

// PlanResult is PlanApply's response.
type PlanResult struct {
	// Rejected maps a job ID to why its placements were dropped.
	Rejected map[string]string
}

// AllocUpdate records what executors report about their allocations.
type AllocUpdate struct {
	Updates []api.AllocUpdate `json:"updates"`
}

// NodeRegister adds a node, or updates one that registers again.
type NodeRegister struct {
	Node api.Node `json:"node"`
}

// NodeHeartbeat records that a node is alive.
type NodeHeartbeat struct {
	NodeID string    `json:"node_id"`
	Time   time.Time `json:"time"`
}

// NodeDown marks a node down and its unfinished allocations lost, unless
// the node has heartbeat since LastHeartbeat, the one the leader decided
// on (a heartbeat committed in between wins).
type NodeDown struct {
	NodeID        string    `json:"node_id"`
	Reason        string    `json:"reason"`
	Time          time.Time `json:"time"`
	LastHeartbeat time.Time `json:"last_heartbeat,omitzero"`
}

// GPUHealth marks one GPU of a node unhealthy (reported by its agent) or
// healthy again (an operator's recovery).
type GPUHealth struct {
	NodeID string        `json:"node_id"`
	Health api.GPUHealth `json:"health"`
	Time   time.Time     `json:"time"`
}

// NodeDrain starts draining a node (Drain set: no new work) or makes it
// eligible again (Drain nil).
type NodeDrain struct {
	NodeID string     `json:"node_id"`
	Drain  *api.Drain `json:"drain"`
}

// NodeMigrate moves what still runs on a draining node elsewhere: its live
// allocations are lost, marked migrated (no failure), and their jobs
// place them again.
type NodeMigrate struct {
	NodeID string    `json:"node_id"`
	Time   time.Time `json:"time"`
}

// Encode builds a log entry.
func Encode(c Command, payload any) ([]byte, error) {
	if c.binary() {
		p, ok := payload.(binaryPayload)
		if !ok {
			return nil, fmt.Errorf("encode %v: %T has no binary form", c, payload)
		}
		w := wire.Writer{B: []byte{byte(c)}}
		p.appendBinary(&w)
		return w.B, nil
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode %v: %w", c, err)
	}
	return append([]byte{byte(c)}, b...), nil
}
