package server

import (
	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler/fsm"
	"github.com/phalanx-sched/phalanx/scheduler/state"
)

// DefaultQueueSpec is the queue "default" as it exists when no
// configuration declares it: weight 1, no quota, no priority cap, may
// borrow.
func DefaultQueueSpec() api.Queue {
	return api.Queue{Name: api.DefaultQueue, Weight: 1, Borrow: true}
}

// queues is every queue for a scheduling pass: the replicated ones, plus
// "default" as DefaultQueueSpec says while it is not stored.
func queues(snap *state.Snapshot) []api.Queue {
	stored := snap.Queues()
	out := make([]api.Queue, 0, len(stored)+1)
	hasDefault := false
	for _, q := range stored {
		out = append(out, *q)
		hasDefault = hasDefault || q.Name == api.DefaultQueue
	}
	if !hasDefault {
		out = append(out, DefaultQueueSpec())
	}
	return out
}

// declareQueues writes the configuration's queues that the replicated
// state does not already hold as configured.
func (s *Server) declareQueues() error {
	snap := s.state.Snapshot()
	var put []api.Queue
	for _, q := range s.cfg.Queues {
		if old, err := snap.Queue(q.Name); err == nil && fsm.QueueEqual(old, &q) {
			continue
		}
		put = append(put, q)
	}
	if len(put) == 0 {
		return nil
	}
	_, err := s.apply(fsm.CmdQueuePut, &fsm.QueuePut{Queues: put})
	return err
}
