package fsm

import (
	"fmt"
	"net"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/internal/wire"
	"github.com/phalanx-sched/phalanx/scheduler"
	"github.com/phalanx-sched/phalanx/scheduler/state"
)

// Place commits the leader's placements and pending reasons, as
// PlanApply does, but carries only what the scheduler decided: for each
// member its allocation ID, node, GPU indices and ports. The FSM builds
// each allocation from the job as it applies the entry (the group's task,
// the member's rank and rendezvous address, the GPUs' UUIDs), so a job of
// a hundred members is a few kilobytes to write, send and read instead of
// a hundred copies of its task. It is written in binary (see wire.go).
type Place struct {
	Jobs    []PlaceJob
	Pending []scheduler.Pending
	Time    time.Time
}

// PlaceJob is one job's placements in a Place.
type PlaceJob struct {
	JobID string
	// Attempt is the job's attempt the placements are for; they are
	// dropped if the job has moved on.
	Attempt int
	Members []PlaceMember
}

// PlaceMember is one member's placement.
type PlaceMember struct {
	AllocID    string
	GroupIndex int // into the job's Spec.Groups
	Index      int
	NodeID     string
	GPUIndices []int
	Ports      []int
}

func (p *Place) appendBinary(w *wire.Writer) {
	w.Time(p.Time)
	w.Len(len(p.Jobs))
	for _, j := range p.Jobs {
		w.Str(j.JobID)
		w.Int(int64(j.Attempt))
		w.Len(len(j.Members))
		for _, m := range j.Members {
			w.Str(m.AllocID)
			w.Int(int64(m.GroupIndex))
			w.Int(int64(m.Index))
			w.Str(m.NodeID)
			w.Ints(m.GPUIndices)
			w.Ints(m.Ports)
		}
	}
	w.Len(len(p.Pending))
	for _, pe := range p.Pending {
		w.Str(pe.JobID)
		w.Str(pe.Reason)
	}
}

func (p *Place) readBinary(r *wire.Reader) {
	p.Time = r.Time()
	p.Jobs = wire.List[PlaceJob](r.Len())
	for i := range p.Jobs {
		j := &p.Jobs[i]
		j.JobID = r.Str()
		j.Attempt = int(r.Int())
		j.Members = wire.List[PlaceMember](r.Len())
		for k := range j.Members {
			m := &j.Members[k]
			m.AllocID = r.Str()
			m.GroupIndex = int(r.Int())
			m.Index = int(r.Int())
			m.NodeID = r.Str()
			m.GPUIndices = r.Ints()
			m.Ports = r.Ints()
		}
	}
	p.Pending = wire.List[scheduler.Pending](r.Len())
	for i := range p.Pending {
		p.Pending[i].JobID = r.Str()
		p.Pending[i].Reason = r.Str()
	}
}

// applyPlace builds each job's allocations and commits them as applyPlan
// does, job by job, whole or not at all.
func applyPlace(tx *state.Txn, c *Place) (*PlanResult, error) {
	plan := &PlanApply{Pending: c.Pending, Time: c.Time}
	rejected := map[string]string{}
	nodes := nodeCache{tx: tx}
	for i := range c.Jobs {
		allocs, why := buildAllocs(tx, &nodes, &c.Jobs[i], c.Time)
		if why != "" {
			rejected[c.Jobs[i].JobID] = why
			continue
		}
		plan.Allocs = append(plan.Allocs, allocs...)
	}
	res, err := applyPlan(tx, plan)
	if err != nil {
		return nil, err
	}
	for id, why := range rejected {
		res.Rejected[id] = why
	}
	return res, nil
}

// buildAllocs turns one job's placements into allocations, with what
// every member is told of the job (rank, world size, its node's rank,
// the rendezvous address: see api.Allocation.Env), or says why it
// cannot. What it builds is checked against the state by applyPlan.
func buildAllocs(tx *state.Txn, nodes *nodeCache, pj *PlaceJob, now time.Time) ([]api.Allocation, string) {
	job, err := tx.Job(pj.JobID)
	if err != nil {
		return nil, "job no longer exists"
	}
	world := job.Members()
	// Every member's node by rank, from this plan and from live
	// allocations of the attempt (a gang is placed whole; a non-gang
	// job's earlier members keep running). Rank 0's node is the
	// rendezvous host.
	nodeOfRank := make([]string, world)
	masterPort := 0
	for _, a := range tx.JobAllocs(job.ID) {
		if a.Live() && a.Attempt == job.Attempt {
			if r := rank(job, a.Group, a.Index); r >= 0 {
				nodeOfRank[r] = a.NodeID
				if r == 0 && len(a.Ports) > 0 {
					masterPort = a.Ports[0]
				}
			}
		}
	}
	for _, m := range pj.Members {
		if m.GroupIndex < 0 || m.GroupIndex >= len(job.Spec.Groups) || m.Index < 0 || m.Index >= job.Spec.Groups[m.GroupIndex].Count {
			return nil, fmt.Sprintf("no member %d of group %d", m.Index, m.GroupIndex)
		}
		r := rank(job, job.Spec.Groups[m.GroupIndex].Name, m.Index)
		nodeOfRank[r] = m.NodeID
		if r == 0 && len(m.Ports) > 0 {
			masterPort = m.Ports[0]
		}
	}
	nodeRank := map[string]int{}
	for _, id := range nodeOfRank {
		if _, ok := nodeRank[id]; !ok && id != "" {
			nodeRank[id] = len(nodeRank)
		}
	}
	masterAddr := ""
	if masterPort > 0 {
		masterAddr = "127.0.0.1"
		if n, err := nodes.get(nodeOfRank[0]); err == nil {
			masterAddr = hostOf(n)
		}
	}
	out := make([]api.Allocation, 0, len(pj.Members))
	for _, m := range pj.Members {
		node, err := nodes.get(m.NodeID)
		if err != nil {
			return nil, fmt.Sprintf("node %s no longer exists", m.NodeID)
		}
		gpus := make([]string, len(m.GPUIndices))
		for i, gi := range m.GPUIndices {
			if gi < 0 || gi >= len(node.GPUs) {
				return nil, fmt.Sprintf("node %s has no GPU %d", node.Name, gi)
			}
			gpus[i] = node.GPUs[gi].UUID
		}
		group := job.Spec.Groups[m.GroupIndex]
		task := group.Task // its Env is the job's, shared: never written
		task.Network = job.Spec.Network
		a := api.Allocation{
			ID: m.AllocID, JobID: job.ID, JobName: job.Name, Group: group.Name, Index: m.Index,
			NodeID: node.ID, NodeName: node.Name, Attempt: pj.Attempt, Task: task,
			GPUs: gpus, GPUIndices: m.GPUIndices, Ports: m.Ports, CreateTime: now,
			Rank: rank(job, group.Name, m.Index), NodeRank: nodeRank[m.NodeID], WorldSize: world,
		}
		if masterPort > 0 {
			a.MasterAddr, a.MasterPort = masterAddr, masterPort
		}
		out = append(out, a)
	}
	return out, ""
}

// rank is a member's rank across the job: groups in order, then index;
// -1 for a group the job does not have.
func rank(job *api.Job, group string, index int) int {
	r := 0
	for _, g := range job.Spec.Groups {
		if g.Name == group {
			return r + index
		}
		r += g.Count
	}
	return -1
}

// hostOf is the host part of a node's address, for MASTER_ADDR.
func hostOf(n *api.Node) string {
	host, _, err := net.SplitHostPort(n.Address)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		return "127.0.0.1"
	}
	return host
}
