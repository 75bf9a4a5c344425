package sim

import (
	"container/heap"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

// eventKind is what happens at an event. Events of one instant are applied
// in kind order, then in the order they were pushed.
type eventKind uint8

const (
	// evFinish: one allocation's task ends (its duration is over, or its
	// job's walltime).
	evFinish eventKind = iota
	// evRelease: an evicted job's grace period is over; what it still
	// holds comes free and it goes back to its queue.
	evRelease
	// evSubmit: a job arrives.
	evSubmit
)

type event struct {
	at    time.Duration
	kind  eventKind
	seq   uint64
	job   *simJob
	alloc *api.Allocation // evFinish
	// attempt is the job's attempt when the event was made; an evRelease
	// of an attempt that is over does nothing.
	attempt int
}

// events is a min-heap of events by (at, kind, seq).
type events []*event

func (q events) Len() int { return len(q) }
func (q events) Less(i, j int) bool {
	a, b := q[i], q[j]
	if a.at != b.at {
		return a.at < b.at
	}
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return a.seq < b.seq
}
func (q events) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *events) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *events) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}

// queue is the simulation's event queue.
type queue struct {
	h   events
	seq uint64
}

func (q *queue) push(e *event) {
	q.seq++
	e.seq = q.seq
	heap.Push(&q.h, e)
}

// next returns when the earliest event happens.
func (q *queue) next() (time.Duration, bool) {
	if len(q.h) == 0 {
		return 0, false
	}
	return q.h[0].at, true
}

// popAt removes and returns the earliest event if it happens at t.
func (q *queue) popAt(t time.Duration) *event {
	if len(q.h) == 0 || q.h[0].at != t {
		return nil
	}
	return heap.Pop(&q.h).(*event)
}
