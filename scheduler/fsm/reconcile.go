package fsm

import (
	"fmt"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler"
	"github.com/phalanx-sched/phalanx/scheduler/state"
)

// reconcileJob derives a job's state from its allocations after they
// changed, stops the rest of a gang whose member failed, and restarts a
// gang or fails the job as its restart policy says.
func reconcileJob(tx *state.Txn, jobID string, now time.Time) error {
	old, err := tx.Job(jobID)
	if err != nil {
		return nil // allocations of a job we no longer have
	}
	if old.State.Terminal() {
		return nil
	}
	allocs := tx.JobAllocs(jobID)
	j := *old
	if j.Spec.Gang {
		err = reconcileGang(tx, &j, allocs, now)
	} else {
		reconcileTasks(&j, allocs, now)
	}
	if err != nil {
		return err
	}
	if j.State == old.State && j.Reason == old.Reason && j.Attempt == old.Attempt {
		return nil
	}
	return tx.PutJob(&j)
}

// reconcileGang handles a gang: all members of the current attempt live
// and die together.
func reconcileGang(tx *state.Txn, j *api.Job, allocs []*api.Allocation, now time.Time) error {
	var cur []*api.Allocation
	for _, a := range allocs {
		if a.Attempt == j.Attempt {
			cur = append(cur, a)
		}
	}
	if len(cur) == 0 {
		return nil // still queued
	}
	var failed *api.Allocation
	live, succeeded := 0, 0
	for _, a := range cur {
		switch {
		case a.Live():
			live++
		case a.State == api.AllocSucceeded:
			succeeded++
		case failed == nil && (a.State == api.AllocFailed || a.State == api.AllocLost):
			failed = a
		}
	}
	if failed == nil {
		if live == 0 && succeeded == j.Members() {
			j.State, j.Reason, j.FinishTime = api.JobSucceeded, "", now
		}
		return nil
	}
	// A member failed: the rest of the gang stops, then the gang restarts
	// whole or the job fails.
	for _, a := range cur {
		if a.Live() && a.DesiredState != api.DesiredStop {
			if err := stopAlloc(tx, a, fmt.Sprintf("gang stopped: %s", describe(failed))); err != nil {
				return err
			}
		}
	}
	if live > 0 {
		j.Reason = "stopping gang: " + describe(failed)
		return nil
	}
	if failed.Migrated {
		// Moved off a draining node: the gang starts again elsewhere, and
		// that uses up none of its restart attempts.
		j.Attempt++
		j.Migrations++
		j.State, j.Reason = api.JobQueued, "moving the gang off a draining node"
		return nil
	}
	attempts := 0
	if gi := groupIndex(j, failed.Group); gi >= 0 {
		attempts = j.Spec.Groups[gi].Restart.Attempts
	}
	// Restarts a drain or a preemption caused use up no attempts.
	if used := j.Attempt - j.Migrations - j.Preemptions; used < attempts {
		j.Attempt++
		j.State = api.JobQueued
		j.Reason = fmt.Sprintf("restarting gang (restart %d of %d) after %s", used+1, attempts, describe(failed))
		return nil
	}
	j.State, j.FinishTime = api.JobFailed, now
	j.Reason = describe(failed)
	if attempts > 0 {
		j.Reason += fmt.Sprintf(" (after %d restarts)", attempts)
	}
	return nil
}

// reconcileTasks handles a job whose members run independently, each
// restarted by its group's policy.
func reconcileTasks(j *api.Job, allocs []*api.Allocation, now time.Time) {
	missing := len(scheduler.Missing(j, allocs))
	live := 0
	var lastFailed *api.Allocation
	failures := map[[2]any]int{}
	succeeded := map[[2]any]bool{}
	for _, a := range allocs {
		key := [2]any{a.Group, a.Index}
		switch {
		case a.Live():
			live++
		case a.State == api.AllocSucceeded:
			succeeded[key] = true
		case a.Migrated || a.Preempted:
			// moved off a draining node or preempted: placed again, not a
			// failure
		case a.State == api.AllocFailed || a.State == api.AllocLost:
			failures[key]++
			lastFailed = a
		}
	}
	switch {
	case live > 0:
		j.State, j.Reason = api.JobRunning, ""
	case missing > 0:
		j.State = api.JobQueued
		if lastFailed != nil {
			j.Reason = "restarting after " + describe(lastFailed)
		}
	case len(succeeded) == j.Members():
		j.State, j.Reason, j.FinishTime = api.JobSucceeded, "", now
	default:
		j.State, j.FinishTime = api.JobFailed, now
		if lastFailed == nil {
			j.Reason = "no member succeeded"
			return
		}
		j.Reason = describe(lastFailed)
		if n := failures[[2]any{lastFailed.Group, lastFailed.Index}]; n > 1 {
			j.Reason += fmt.Sprintf(" (failed %d times)", n)
		}
	}
}

// describe says how an allocation ended, for job reasons.
func describe(a *api.Allocation) string {
	s := fmt.Sprintf("%s[%d] ", a.Group, a.Index)
	switch {
	case a.State == api.AllocLost:
		s += "lost"
	case a.ExitCode != nil:
		s += fmt.Sprintf("exited with code %d", *a.ExitCode)
	default:
		s += string(a.State)
	}
	if a.Message != "" {
		s += ": " + a.Message
	}
	return s
}
