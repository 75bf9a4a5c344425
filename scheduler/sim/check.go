package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler"
)

// checkStep checks the invariants on every node and job the step that
// just ended touched, and forgets them.
func (s *sim) checkStep() {
	if len(s.touchedNodes) > 0 {
		ids := make([]string, 0, len(s.touchedNodes))
		for id := range s.touchedNodes {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			for _, v := range checkNode(s.nodes[id].node, s.nodes[id].allocs) {
				s.violate("%s", v)
			}
		}
		clear(s.touchedNodes)
	}
	if len(s.touchedJobs) > 0 {
		jobs := make([]*simJob, 0, len(s.touchedJobs))
		for j := range s.touchedJobs {
			jobs = append(jobs, j)
		}
		slices.SortFunc(jobs, func(a, b *simJob) int { return strings.Compare(a.job.ID, b.job.ID) })
		for _, j := range jobs {
			if v := checkGang(j.job, j.live); v != "" {
				s.violate("%s", v)
			}
		}
		clear(s.touchedJobs)
	}
}

// checkNode returns the invariants that allocs, the live allocations on
// node n, break: a GPU or port held by two of them, a GPU the node does
// not have, more CPU or memory held than the node has.
func checkNode(n *api.Node, allocs []*api.Allocation) []string {
	var out []string
	var cpu, mem int64
	gpuHolder := map[int]string{}
	portHolder := map[int]string{}
	for _, a := range allocs {
		if !a.Live() {
			continue
		}
		cpu += a.Task.Resources.CPUMilli
		mem += a.Task.Resources.MemoryBytes
		for _, g := range a.GPUIndices {
			if !slices.ContainsFunc(n.GPUs, func(d api.GPU) bool { return d.Index == g }) {
				out = append(out, fmt.Sprintf("node %s: allocation %s holds GPU %d, which the node does not have", n.ID, a.ID, g))
			}
			if prev, held := gpuHolder[g]; held {
				out = append(out, fmt.Sprintf("node %s: GPU %d held by two allocations: %s and %s", n.ID, g, prev, a.ID))
			}
			gpuHolder[g] = a.ID
		}
		for _, p := range a.Ports {
			if prev, held := portHolder[p]; held {
				out = append(out, fmt.Sprintf("node %s: port %d held by two allocations: %s and %s", n.ID, p, prev, a.ID))
			}
			portHolder[p] = a.ID
		}
	}
	if cpu > n.Resources.CPUMilli {
		out = append(out, fmt.Sprintf("node %s over capacity: %dm CPU held, %dm there", n.ID, cpu, n.Resources.CPUMilli))
	}
	if mem > n.Resources.MemoryBytes {
		out = append(out, fmt.Sprintf("node %s over capacity: %d bytes of memory held, %d there", n.ID, mem, n.Resources.MemoryBytes))
	}
	return out
}

// checkGang returns what is wrong with the live allocations of job if it
// is a gang: they must be every member of one attempt, or none.
func checkGang(job *api.Job, live []*api.Allocation) string {
	if !job.Spec.Gang || len(live) == 0 {
		return ""
	}
	members := map[string]bool{}
	for _, a := range live {
		if a.Attempt != live[0].Attempt {
			return fmt.Sprintf("gang %s runs allocations of attempts %d and %d at once", job.ID, live[0].Attempt, a.Attempt)
		}
		members[fmt.Sprintf("%s[%d]", a.Group, a.Index)] = true
	}
	if want := job.Members(); len(members) != want || len(live) != want {
		return fmt.Sprintf("partial gang: %s (%s) runs %d of its %d members", job.ID, job.Name, len(members), want)
	}
	return ""
}

// checkReservations checks that nothing plan placed delays one of its
// reservations: for each allocation placed on a reserved node that holds
// its resources past the reservation's time (its job has no walltime, or
// the walltime ends later), the reserved job must fit at that time beside
// every allocation that still holds resources then (stopping ones are
// gone by then), or not fit even without what the plan placed.
func (s *sim) checkReservations(plan scheduler.Plan, placed []*api.Allocation) {
	if len(plan.Reservations) == 0 || len(placed) == 0 {
		return
	}
	for _, r := range plan.Reservations {
		j := s.byID[r.JobID]
		if j == nil || j.waitPos < 0 {
			continue
		}
		var suspects []*api.Allocation
		for _, a := range placed {
			if (len(r.NodeIDs) == 0 || slices.Contains(r.NodeIDs, a.NodeID)) && s.holdsAt(a, r.Time) {
				suspects = append(suspects, a)
			}
		}
		if len(suspects) == 0 || s.fitsAt(j, r.Time, nil) {
			continue
		}
		without := make(map[*api.Allocation]bool, len(placed))
		for _, a := range placed {
			without[a] = true
		}
		if !s.fitsAt(j, r.Time, without) {
			continue
		}
		var names []string
		for _, a := range suspects {
			if n := a.JobID; !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		s.violate("reservation of job %s (%s) for %s delayed: it fits then without the jobs just placed (%s on its nodes %s), not with them",
			j.job.ID, j.job.Name, r.Time.Sub(Epoch), strings.Join(names, ", "), strings.Join(r.NodeIDs, ","))
	}
}

// holdsAt reports whether a still holds its resources at t, as far as the
// core can know: it is not stopping and its job's walltime, if any, has
// not run out by then.
func (s *sim) holdsAt(a *api.Allocation, t time.Time) bool {
	if a.DesiredState == api.DesiredStop {
		return false
	}
	j := s.byID[a.JobID]
	w := j.job.Spec.Walltime.D()
	return w <= 0 || a.StartTime.Add(w).After(t)
}

// fitsAt reports whether the core would place j at t, given the
// allocations that hold resources then, leaving out those in without.
func (s *sim) fitsAt(j *simJob, t time.Time, without map[*api.Allocation]bool) bool {
	in := scheduler.Input{
		Nodes: s.cluster.Nodes, Queues: s.cluster.Queues, Policy: s.cfg.Policy,
		PreemptionGap: s.cfg.PreemptionGap, Now: t,
		Jobs: []*scheduler.JobRequest{j.request()},
	}
	for _, r := range s.running {
		in.Running = append(in.Running, r.job)
		for _, a := range r.live {
			if s.holdsAt(a, t) && !without[a] {
				in.Allocs = append(in.Allocs, a)
			}
		}
	}
	for _, jp := range s.schedule(in).Jobs {
		if jp.JobID == j.job.ID {
			return len(jp.Placements) == len(j.request().Members)
		}
	}
	return false
}
