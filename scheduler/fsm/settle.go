package fsm

import (
	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler"
	"github.com/phalanx-sched/phalanx/scheduler/state"
)

// settleJobs brings Unplaced up to date for every job the entry touched
// (see state.Txn.TouchedJobs): the number of members scheduler.Missing
// finds. It runs after every command, so no path that changes a job or
// its allocations can leave it stale, and a scheduling pass reads the
// jobs with Unplaced > 0 instead of working it out for every job.
func settleJobs(tx *state.Txn) error {
	for _, id := range tx.TouchedJobs() {
		old, err := tx.Job(id)
		if err != nil {
			continue // allocations of a job we no longer have
		}
		n := 0
		if !old.State.Terminal() {
			n = len(scheduler.Missing(old, tx.JobAllocs(id)))
		}
		if n == old.Unplaced {
			continue
		}
		j := *old
		j.Unplaced = n
		if err := tx.PutJob(&j); err != nil {
			return err
		}
	}
	return nil
}

// settleDump sets Unplaced for every job of a snapshot as settleJobs
// would: a snapshot written before the field existed restores with it
// right.
func settleDump(d *state.Dump) {
	byJob := map[string][]*api.Allocation{}
	for _, a := range d.Allocs {
		byJob[a.JobID] = append(byJob[a.JobID], a)
	}
	for _, j := range d.Jobs {
		j.Unplaced = 0
		if !j.State.Terminal() {
			j.Unplaced = len(scheduler.Missing(j, byJob[j.ID]))
		}
	}
}
