package scheduler

import (
	"slices"
	"strings"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

// Overrun is a job that ran past its walltime.
type Overrun struct {
	JobID string
	// Deadline is when the walltime ran out: the earliest StartTime of an
	// overdue allocation plus the job's Spec.Walltime.
	Deadline time.Time
	// AllocIDs are the allocations to stop, sorted: for a gang every live
	// allocation (the gang stops whole), otherwise the overdue ones.
	AllocIDs []string
}

// Overdue lists the jobs with a walltime whose live allocations have run
// for at least that long at now (StartTime + Spec.Walltime <= now), sorted
// by job ID. Allocations that have not started (zero StartTime) or are
// already stopping (DesiredStop: evicted, or the rest of a gang whose
// member failed), a gang's allocations of earlier attempts, jobs without
// a walltime and allocations of jobs not in jobs are ignored.
// Stopping them is the caller's; Schedule assumes each allocation ends at
// StartTime + walltime when it computes reservations.
func Overdue(jobs []*api.Job, allocs []*api.Allocation, now time.Time) []Overrun {
	byID := make(map[string]*api.Job, len(jobs))
	for _, j := range jobs {
		if j != nil && j.Spec.Walltime > 0 {
			byID[j.ID] = j
		}
	}
	over := map[string]*Overrun{}
	live := map[string][]string{} // live allocations by job, for gangs
	for _, a := range allocs {
		if a == nil || !a.Live() || a.DesiredState == api.DesiredStop {
			continue
		}
		j := byID[a.JobID]
		if j == nil || j.Spec.Gang && a.Attempt != j.Attempt {
			continue
		}
		live[j.ID] = append(live[j.ID], a.ID)
		if a.StartTime.IsZero() {
			continue
		}
		deadline := a.StartTime.Add(j.Spec.Walltime.D())
		if deadline.After(now) {
			continue
		}
		o := over[j.ID]
		if o == nil {
			o = &Overrun{JobID: j.ID, Deadline: deadline}
			over[j.ID] = o
		}
		if deadline.Before(o.Deadline) {
			o.Deadline = deadline
		}
		o.AllocIDs = append(o.AllocIDs, a.ID)
	}
	out := make([]Overrun, 0, len(over))
	for id, o := range over {
		if byID[id].Spec.Gang {
			o.AllocIDs = live[id]
		}
		slices.Sort(o.AllocIDs)
		o.AllocIDs = slices.Compact(o.AllocIDs)
		out = append(out, *o)
	}
	slices.SortFunc(out, func(a, b Overrun) int { return strings.Compare(a.JobID, b.JobID) })
	return out
}

// allocEnd is when an allocation of job is expected to end: StartTime (or
// now, if it has not started) plus the job's walltime; ok is false when
// the job has no walltime.
func allocEnd(a *api.Allocation, job *api.Job, now time.Time) (time.Time, bool) {
	if job == nil || job.Spec.Walltime <= 0 {
		return time.Time{}, false
	}
	start := a.StartTime
	if start.IsZero() {
		start = now
	}
	return start.Add(job.Spec.Walltime.D()), true
}

// gpuSeconds is the GPU work an allocation has done by now.
func gpuSeconds(a *api.Allocation, now time.Time) int64 {
	if a.StartTime.IsZero() || !now.After(a.StartTime) {
		return 0
	}
	return int64(len(a.GPUIndices)) * int64(now.Sub(a.StartTime)/time.Second)
}
