package scheduler

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/phalanx-sched/phalanx/api"
)

// Schedule places as much of in.Jobs as fits on in.Nodes, given the
// resources in.Allocs already hold, and says why the rest waits.
//
// Jobs are taken in order of Priority (highest first), then SubmitTime
// (oldest first), then ID; only queued and running jobs are considered.
// Each member goes to the ready node that fits it and leaves the least
// free resources (best fit), and holds free matching GPUs of that node:
// the lowest indices, inside one NVLink domain when the node reports
// NVLink peers (see pickGPUs). A gang job is placed whole or not at all; a
// non-gang job places the members that fit. Rank 0 of a gang of more than
// one member also holds its node's lowest free host port (Placement.Ports),
// the gang's rendezvous port. Schedule is deterministic and does not
// modify in.
func Schedule(in Input) Plan {
	c := newCluster(in.Nodes, in.Allocs)
	var plan Plan
	for _, req := range orderJobs(in.Jobs) {
		placed, why := c.placeJob(req)
		if len(placed) > 0 {
			plan.Jobs = append(plan.Jobs, JobPlacement{JobID: req.Job.ID, Placements: placed})
		}
		if why != "" {
			plan.Pending = append(plan.Pending, Pending{JobID: req.Job.ID, Reason: why})
		}
	}
	return plan
}

// orderJobs returns the requests Schedule considers, in the order it
// places them.
func orderJobs(reqs []*JobRequest) []*JobRequest {
	out := make([]*JobRequest, 0, len(reqs))
	for _, r := range reqs {
		if r == nil || r.Job == nil || len(r.Members) == 0 {
			continue
		}
		if r.Job.State != api.JobQueued && r.Job.State != api.JobRunning {
			continue
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b *JobRequest) int {
		if c := cmp.Compare(b.Job.Priority, a.Job.Priority); c != 0 {
			return c
		}
		if c := a.Job.SubmitTime.Compare(b.Job.SubmitTime); c != 0 {
			return c
		}
		return strings.Compare(a.Job.ID, b.Job.ID)
	})
	return out
}

// placeJob places one job's members and returns the placements and, if
// any member is left unplaced, why.
func (c *cluster) placeJob(req *JobRequest) ([]Placement, string) {
	job := req.Job
	members := sortedMembers(req.Members)
	if why := validate(job, members); why != "" {
		return nil, why
	}
	demands := make([]*demand, len(job.Spec.Groups))
	var rank0 *demand // the group's demand plus a rendezvous port
	demandOf := func(m Member) *demand {
		if demands[m.GroupIndex] == nil {
			d := c.demandFor(job.Spec.Groups[m.GroupIndex].Task.Resources)
			demands[m.GroupIndex] = &d
		}
		if !NeedsRendezvousPort(job, m) {
			return demands[m.GroupIndex]
		}
		if rank0 == nil {
			d := *demands[m.GroupIndex]
			d.port = true
			rank0 = &d
		}
		return rank0
	}
	if job.Spec.Gang {
		return c.placeGang(members, demandOf)
	}
	return c.placeEach(members, len(job.Spec.Groups), demandOf)
}

// placeGang places every member or, rolling back what it took, none.
func (c *cluster) placeGang(members []Member, demandOf func(Member) *demand) ([]Placement, string) {
	takes := make([]taken, 0, len(members))
	for i, m := range members {
		d := demandOf(m)
		n, why := c.find(d, i > 0)
		if n < 0 {
			for j, t := range takes {
				c.undo(t, demandOf(members[j]))
			}
			switch i {
			case 0:
				return nil, fmt.Sprintf("gang of %d: %s", len(members), why)
			case 1:
				return nil, fmt.Sprintf("gang of %d: only 1 member fits; %s", len(members), why)
			}
			return nil, fmt.Sprintf("gang of %d: only %d members fit; %s", len(members), i, why)
		}
		takes = append(takes, c.take(n, d))
	}
	out := make([]Placement, len(takes))
	for i, t := range takes {
		out[i] = c.placement(members[i], t)
	}
	return out, ""
}

// placeEach places each member that fits on its own.
func (c *cluster) placeEach(members []Member, groups int, demandOf func(Member) *demand) ([]Placement, string) {
	var out []Placement
	var why string
	// Placing only uses resources up, so once a group's member does not
	// fit, none of that group's later members will.
	failed := make([]bool, groups)
	for _, m := range members {
		if failed[m.GroupIndex] {
			continue
		}
		d := demandOf(m)
		n, reason := c.find(d, false)
		if n < 0 {
			failed[m.GroupIndex] = true
			if why == "" {
				why = reason
			}
			continue
		}
		out = append(out, c.placement(m, c.take(n, d)))
	}
	if why != "" && len(out) > 0 {
		why = fmt.Sprintf("%d of %d members placed; %s", len(out), len(members), why)
	}
	return out, why
}

// sortedMembers returns the members in group, then index order, without
// duplicates, so that the caller's order cannot change the plan.
func sortedMembers(ms []Member) []Member {
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b Member) int {
		if c := cmp.Compare(a.GroupIndex, b.GroupIndex); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Index, b.Index); c != 0 {
			return c
		}
		return strings.Compare(a.Group, b.Group)
	})
	return slices.Compact(out)
}

// validate returns why the members cannot be placed whatever the cluster
// looks like, or "". Such a request is a bug in the caller or an invalid
// spec; the job stays pending with the reason.
func validate(job *api.Job, members []Member) string {
	for _, m := range members {
		if m.GroupIndex < 0 || m.GroupIndex >= len(job.Spec.Groups) {
			return fmt.Sprintf("invalid member %s[%d]: job has no group at position %d", m.Group, m.Index, m.GroupIndex)
		}
		g := &job.Spec.Groups[m.GroupIndex]
		if g.Name != m.Group {
			return fmt.Sprintf("invalid member %s[%d]: group at position %d is %q", m.Group, m.Index, m.GroupIndex, g.Name)
		}
		if m.Index < 0 || m.Index >= g.Count {
			return fmt.Sprintf("invalid member %s[%d]: group has %d tasks", m.Group, m.Index, g.Count)
		}
		if err := validateResources(g.Task.Resources); err != nil {
			return fmt.Sprintf("group %s: %v", g.Name, err)
		}
	}
	return ""
}

// validateResources reports resources no node can ever serve because they
// are malformed.
func validateResources(r api.Resources) error {
	switch {
	case r.CPUMilli < 0:
		return fmt.Errorf("cpu must be >= 0, got %dm", r.CPUMilli)
	case r.MemoryBytes < 0:
		return fmt.Errorf("memory must be >= 0, got %d", r.MemoryBytes)
	case r.GPUs < 0:
		return fmt.Errorf("gpus must be >= 0, got %d", r.GPUs)
	case r.GPUMemoryBytes < 0:
		return fmt.Errorf("gpu_memory must be >= 0, got %d", r.GPUMemoryBytes)
	}
	if _, err := path.Match(r.GPUModel, ""); err != nil {
		return fmt.Errorf("gpu_model %q: %w", r.GPUModel, err)
	}
	return nil
}
