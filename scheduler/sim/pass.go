package sim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler"
)

// nodeLoad is one node and the live allocations on it.
type nodeLoad struct {
	node   *api.Node
	allocs []*api.Allocation
}

func (n *nodeLoad) add(a *api.Allocation) { n.allocs = append(n.allocs, a) }

func (n *nodeLoad) remove(a *api.Allocation) {
	if i := slices.Index(n.allocs, a); i >= 0 {
		n.allocs = slices.Delete(n.allocs, i, i+1)
	}
}

// input is the core's view of the simulation now.
func (s *sim) input() scheduler.Input {
	in := scheduler.Input{
		Nodes: s.cluster.Nodes, Queues: s.cluster.Queues, Policy: s.cfg.Policy,
		PreemptionGap: s.cfg.PreemptionGap, Now: Epoch.Add(s.now),
		Allocs:  s.liveAllocs(),
		Running: s.runningJobs, // the core does not keep or change it
		Jobs:    make([]*scheduler.JobRequest, 0, len(s.waiting)),
	}
	for _, j := range s.waiting {
		in.Jobs = append(in.Jobs, j.request())
	}
	return in
}

// liveAllocs returns every live allocation, sorted by ID, in
// O(live + started·log started): what was live at the last pass and is
// still, merged with what started since.
func (s *sim) liveAllocs() []*api.Allocation {
	byID := func(a, b *api.Allocation) int { return strings.Compare(a.ID, b.ID) }
	slices.SortFunc(s.started, byID)
	out := make([]*api.Allocation, 0, len(s.live)+len(s.started))
	old, added := s.live, s.started
	for len(old) > 0 || len(added) > 0 {
		var a *api.Allocation
		if len(added) == 0 || len(old) > 0 && byID(old[0], added[0]) < 0 {
			a, old = old[0], old[1:]
		} else {
			a, added = added[0], added[1:]
		}
		if a.Live() {
			out = append(out, a)
		}
	}
	clear(s.started)
	s.live, s.started = out, s.started[:0]
	return out
}

// request is what the core is asked to place for j: its missing members.
func (j *simJob) request() *scheduler.JobRequest {
	if j.req == nil {
		r := &scheduler.JobRequest{Job: j.job, Members: make([]scheduler.Member, 0, j.missing)}
		for i, st := range j.state {
			if st == memberMissing {
				r.Members = append(r.Members, j.members[i])
			}
		}
		j.req = r
	}
	return j.req
}

// pass runs the core once and applies its plan.
func (s *sim) pass() {
	s.dirty = false
	in := s.input()
	plan := s.schedule(in)
	s.stats.passes++
	for _, p := range plan.Pending {
		if j := s.byID[p.JobID]; j != nil {
			j.reason = p.Reason
		}
	}
	placed := s.place(plan)
	s.evict(plan)
	s.checkReservations(plan, placed)
}

// place starts the placements of plan and returns the allocations made.
func (s *sim) place(plan scheduler.Plan) []*api.Allocation {
	var placed []*api.Allocation
	for _, jp := range plan.Jobs {
		j := s.byID[jp.JobID]
		switch {
		case j == nil:
			s.violate("the plan places job %s, which is not in the input", jp.JobID)
			continue
		case j.waitPos < 0:
			s.violate("the plan places job %s, which does not wait", jp.JobID)
			continue
		case j.job.Spec.Gang && len(jp.Placements) != j.missing:
			s.violate("partial gang: the plan places %d of the %d members of gang %s (%s)", len(jp.Placements), j.missing, j.job.ID, j.job.Name)
		}
		if len(j.live) == 0 {
			j.placed = nil // a new start: report only its allocations
		}
		for _, p := range jp.Placements {
			if a := s.start(j, p); a != nil {
				placed = append(placed, a)
				j.placed = append(j.placed, a)
			}
		}
		j.reason = ""
		if !j.hasStarted {
			j.hasStarted, j.started = true, s.now
		}
		s.setRunning(j)
		s.settle(j)
	}
	return placed
}

// start makes the allocation of one placement and schedules its end.
func (s *sim) start(j *simJob, p scheduler.Placement) *api.Allocation {
	m := p.Member
	pos := -1
	if m.GroupIndex >= 0 && m.GroupIndex < len(j.job.Spec.Groups) && m.Index >= 0 && m.Index < j.job.Spec.Groups[m.GroupIndex].Count {
		pos = j.memberPos(j.job.Spec.Groups[m.GroupIndex].Name, m.Index)
	}
	n := s.nodes[p.NodeID]
	switch {
	case pos < 0:
		s.violate("the plan places %s[%d] of job %s, which has no such member", m.Group, m.Index, j.job.ID)
		return nil
	case j.state[pos] != memberMissing:
		s.violate("the plan places %s[%d] of job %s, which is not missing", m.Group, m.Index, j.job.ID)
		return nil
	case n == nil:
		s.violate("the plan places %s[%d] of job %s on node %s, which is not in the cluster", m.Group, m.Index, j.job.ID, p.NodeID)
		return nil
	}
	g := j.job.Spec.Groups[m.GroupIndex]
	a := &api.Allocation{
		ID:    fmt.Sprintf("%s/%d/%s/%d", j.job.ID, j.job.Attempt, g.Name, m.Index),
		JobID: j.job.ID, JobName: j.job.Name, Group: g.Name, Index: m.Index,
		NodeID: n.node.ID, NodeName: n.node.Name, Attempt: j.job.Attempt, Task: g.Task,
		GPUs: p.GPUs, GPUIndices: p.GPUIndices, Ports: p.Ports,
		DesiredState: api.DesiredRun, State: api.AllocRunning,
		CreateTime: Epoch.Add(s.now), StartTime: Epoch.Add(s.now),
	}
	j.state[pos] = memberLive
	j.missing--
	j.req = nil
	j.live = append(j.live, a)
	s.started = append(s.started, a)
	n.add(a)
	s.touchedNodes[n.node.ID] = true
	s.touchedJobs[j] = true
	s.q.push(&event{at: s.now + j.run, kind: evFinish, job: j, alloc: a})
	return a
}

// evict starts the grace period of the jobs the plan evicts.
func (s *sim) evict(plan scheduler.Plan) {
	for _, ev := range plan.Evictions {
		j := s.byID[ev.JobID]
		if j == nil || len(j.live) == 0 {
			s.violate("the plan evicts job %s, which holds nothing", ev.JobID)
			continue
		}
		if j.evicted {
			s.violate("the plan evicts job %s again while it stops", ev.JobID)
			continue
		}
		var missed []string
		for _, a := range j.live {
			if !slices.Contains(ev.AllocIDs, a.ID) {
				missed = append(missed, a.ID)
			}
			a.DesiredState = api.DesiredStop
			a.Message = ev.Reason
		}
		if len(missed) > 0 {
			s.violate("the eviction of job %s leaves %s running", j.job.ID, strings.Join(missed, ", "))
		}
		j.evicted = true
		j.evictions = append(j.evictions, EvictionResult{At: seconds(s.now), Preemptor: ev.Preemptor, Cause: string(ev.Cause), Reason: ev.Reason})
		s.stats.evictions++
		s.unsetWaiting(j)
		s.touchedJobs[j] = true
		s.q.push(&event{at: s.now + j.grace, kind: evRelease, job: j, attempt: j.job.Attempt})
	}
}
