package server

import (
	"context"
	"slices"
	"strings"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler/fsm"
)

// Queues returns every queue with what its jobs hold and wait for,
// sorted by name; "default" is there even when no one declared it.
func (s *Server) Queues() []*api.QueueStatus {
	snap := s.state.Snapshot()
	byName := map[string]*api.QueueStatus{}
	var out []*api.QueueStatus
	for _, q := range queues(snap) {
		st := &api.QueueStatus{Queue: q}
		byName[q.Name] = st
		out = append(out, st)
	}
	// What each queue holds is what its unfinished jobs' live
	// allocations hold: read from the live allocations, not from every
	// job's history.
	queueOf := map[string]*api.QueueStatus{}
	for _, j := range snap.ActiveJobs() {
		st := byName[j.Queue]
		if st == nil {
			continue
		}
		queueOf[j.ID] = st
		switch j.State {
		case api.JobRunning:
			st.Running++
		case api.JobQueued:
			st.Queued++
		}
	}
	for _, a := range snap.LiveAllocs() {
		if st := queueOf[a.JobID]; st != nil {
			st.Used.CPUMilli += a.Task.Resources.CPUMilli
			st.Used.MemoryBytes += a.Task.Resources.MemoryBytes
			st.Used.GPUs += len(a.GPUs)
		}
	}
	slices.SortFunc(out, func(a, b *api.QueueStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// PutQueues creates or replaces queues.
func (s *Server) PutQueues(ctx context.Context, qs []api.Queue) ([]*api.QueueStatus, error) {
	if _, err := s.apply(fsm.CmdQueuePut, &fsm.QueuePut{Queues: qs}); err != nil {
		return nil, err
	}
	var out []*api.QueueStatus
	for _, st := range s.Queues() {
		for _, q := range qs {
			if q.Name == st.Name {
				out = append(out, st)
			}
		}
	}
	return out, nil
}

// DeleteQueue removes a queue no active job uses.
func (s *Server) DeleteQueue(ctx context.Context, name string) error {
	_, err := s.apply(fsm.CmdQueueDelete, &fsm.QueueDelete{Name: name})
	return err
}
