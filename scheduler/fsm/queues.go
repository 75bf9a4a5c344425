package fsm

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler"
	"github.com/phalanx-sched/phalanx/scheduler/state"
)

// QueuePut creates or replaces queues (phalanx queue apply, or the
// server's configuration when a leader starts).
type QueuePut struct {
	Queues []api.Queue `json:"queues"`
}

// QueueDelete removes a queue that no active job uses.
type QueueDelete struct {
	Name string `json:"name"`
}

// Evict stops running jobs the scheduler chose to make room for others
// (scheduler.Plan.Evictions). A victim keeps its place in its queue.
type Evict struct {
	Evictions []scheduler.Eviction `json:"evictions"`
	Time      time.Time            `json:"time"`
}

// Walltime stops jobs that ran past their walltime; they fail.
type Walltime struct {
	Overruns []scheduler.Overrun `json:"overruns"`
	Time     time.Time           `json:"time"`
}

func applyQueuePut(tx *state.Txn, c *QueuePut) error {
	for i := range c.Queues {
		q := c.Queues[i]
		if q.Name == "" {
			return fmt.Errorf("queue %d has no name: %w", i, api.ErrInvalid)
		}
		if old, err := tx.Queue(q.Name); err == nil {
			if QueueEqual(old, &q) {
				continue
			}
			q.CreateIndex = old.CreateIndex
		}
		if err := tx.PutQueue(&q); err != nil {
			return err
		}
	}
	return nil
}

// QueueEqual reports whether two queues have the same settings (their
// Raft indexes aside).
func QueueEqual(a, b *api.Queue) bool {
	x, y := *a, *b
	x.CreateIndex, x.ModifyIndex, y.CreateIndex, y.ModifyIndex = 0, 0, 0, 0
	return reflect.DeepEqual(x, y)
}

func applyQueueDelete(tx *state.Txn, c *QueueDelete) error {
	if c.Name == api.DefaultQueue {
		return fmt.Errorf("queue %s cannot be deleted: jobs that name no queue go there: %w", c.Name, ErrConflict)
	}
	if _, err := tx.Queue(c.Name); err != nil {
		return err
	}
	n := 0
	for _, j := range tx.ActiveJobs() {
		if j.Queue == c.Name {
			n++
		}
	}
	if n > 0 {
		return fmt.Errorf("queue %s has %d active jobs; cancel them or let them finish first: %w", c.Name, n, ErrConflict)
	}
	return tx.DeleteQueue(c.Name)
}

// applyEvict stops each victim's listed allocations that are still live
// and not already stopping. A gang starts a new attempt at once (its
// members are placed again, together, once there is room); other jobs
// place the stopped members again when they have stopped. Neither uses
// up restart attempts, and SubmitTime stays: the victim keeps its place.
// An eviction the state no longer allows (the job ended, its allocations
// stopped) is skipped.
func applyEvict(tx *state.Txn, c *Evict) error {
	for _, ev := range c.Evictions {
		old, err := tx.Job(ev.JobID)
		if err != nil || old.State.Terminal() {
			continue
		}
		stopped := 0
		for _, id := range ev.AllocIDs {
			a, err := tx.Alloc(id)
			if err != nil || a.JobID != ev.JobID || !a.Live() || a.DesiredState == api.DesiredStop {
				continue
			}
			if err := preemptAlloc(tx, a, ev.Reason); err != nil {
				return err
			}
			stopped++
		}
		if stopped == 0 {
			continue
		}
		j := *old
		j.Preemptions++
		j.AddEvent(api.JobEvent{Time: c.Time, Kind: api.EventPreempted, Message: ev.Reason})
		j.Reason = ev.Reason
		if j.Spec.Gang {
			// Stop the rest of the attempt too: a gang runs whole or not
			// at all.
			for _, a := range tx.JobAllocs(j.ID) {
				if a.Attempt == j.Attempt && a.Live() && a.DesiredState != api.DesiredStop {
					if err := preemptAlloc(tx, a, ev.Reason); err != nil {
						return err
					}
				}
			}
			j.Attempt++
			j.State = api.JobQueued
		}
		if err := tx.PutJob(&j); err != nil {
			return err
		}
	}
	return nil
}

// applyWalltime fails each job that ran past its walltime and stops all
// of its live allocations.
func applyWalltime(tx *state.Txn, c *Walltime) error {
	for _, o := range c.Overruns {
		old, err := tx.Job(o.JobID)
		if err != nil || old.State.Terminal() {
			continue
		}
		j := *old
		why := fmt.Sprintf("walltime %v exceeded (ran until %s)", j.Spec.Walltime.D(), o.Deadline.UTC().Format(time.RFC3339))
		j.State, j.Reason, j.FinishTime = api.JobFailed, why, c.Time
		j.AddEvent(api.JobEvent{Time: c.Time, Kind: api.EventWalltime, Message: why})
		if err := tx.PutJob(&j); err != nil {
			return err
		}
		if err := stopJobAllocs(tx, j.ID, why); err != nil {
			return err
		}
	}
	return nil
}

// CheckQueue says why a job may not be submitted to its queue: the queue
// does not exist (the queue "default" always does), or the job's priority
// is above the queue's cap; nil if it may. The leader checks it at submit,
// against its latest state; the FSM does not (a log written before queues
// existed must replay as it was committed), so a queue deleted between the
// check and the commit leaves a job that waits with "unknown queue X".
func CheckQueue(snap *state.Snapshot, j *api.Job) error {
	q, err := snap.Queue(j.Queue)
	if err != nil {
		if j.Queue == api.DefaultQueue || j.Queue == "" {
			return nil
		}
		var names []string
		for _, q := range snap.Queues() {
			names = append(names, q.Name)
		}
		if !slices.Contains(names, api.DefaultQueue) {
			names = append(names, api.DefaultQueue)
		}
		slices.Sort(names)
		return &api.FieldError{Field: "spec.queue", Msg: fmt.Sprintf("unknown queue %q; the queues are %s", j.Queue, strings.Join(names, ", "))}
	}
	if q.MaxPriority != nil && j.Priority > *q.MaxPriority {
		return &api.FieldError{Field: "spec.priority", Msg: fmt.Sprintf("%d is above queue %s's max_priority of %d", j.Priority, q.Name, *q.MaxPriority)}
	}
	return nil
}
