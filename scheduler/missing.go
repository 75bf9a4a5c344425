package scheduler

import "github.com/phalanx-sched/phalanx/api"

// Missing returns the members of job that need a node now, in Spec.Groups
// order and index order, given every allocation of the job (terminal ones
// included; allocations of other jobs are ignored).
//
//   - A terminal job needs nothing.
//   - A gang is placed once per attempt: if any allocation belongs to
//     job.Attempt, nothing is missing; otherwise every member is. Restarting
//     a gang bumps job.Attempt elsewhere.
//   - A non-gang member is missing unless it has a live or succeeded
//     allocation, or has used up its restarts: Restart.Attempts+1
//     allocations that failed or were lost (stopped ones, and ones moved
//     off a draining node or preempted, do not count).
func Missing(job *api.Job, allocs []*api.Allocation) []Member {
	if job == nil || job.State.Terminal() {
		return nil
	}
	if job.Spec.Gang {
		for _, a := range allocs {
			if a != nil && a.JobID == job.ID && a.Attempt == job.Attempt {
				return nil
			}
		}
		var out []Member
		for gi, g := range job.Spec.Groups {
			for i := range g.Count {
				out = append(out, Member{Group: g.Name, GroupIndex: gi, Index: i})
			}
		}
		return out
	}

	type history struct {
		done   bool // live or succeeded
		failed int  // failed or lost
	}
	byGroup := make(map[string][]history, len(job.Spec.Groups))
	for _, g := range job.Spec.Groups {
		if _, dup := byGroup[g.Name]; !dup {
			byGroup[g.Name] = make([]history, max(g.Count, 0))
		}
	}
	for _, a := range allocs {
		if a == nil || a.JobID != job.ID {
			continue
		}
		hs := byGroup[a.Group]
		if a.Index < 0 || a.Index >= len(hs) {
			continue
		}
		switch {
		case a.Live() || a.State == api.AllocSucceeded:
			hs[a.Index].done = true
		case (a.State == api.AllocFailed || a.State == api.AllocLost) && !a.Migrated && !a.Preempted:
			hs[a.Index].failed++
		}
	}
	var out []Member
	for gi, g := range job.Spec.Groups {
		hs := byGroup[g.Name]
		limit := max(g.Restart.Attempts, 0) + 1
		for i := range min(g.Count, len(hs)) {
			if !hs[i].done && hs[i].failed < limit {
				out = append(out, Member{Group: g.Name, GroupIndex: gi, Index: i})
			}
		}
	}
	return out
}
