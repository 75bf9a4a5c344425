package state

import (
	"fmt"

	"github.com/phalanx-sched/phalanx/api"
)

const tableQueues = "queues"

// Queue returns the queue called name.
func (s *Snapshot) Queue(name string) (*api.Queue, error) {
	raw, err := s.txn.First(tableQueues, "id", name)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("queue %s: %w", name, api.ErrNotFound)
	}
	return raw.(*api.Queue), nil
}

// Queues returns every queue, sorted by name.
func (s *Snapshot) Queues() []*api.Queue { return all[api.Queue](s, tableQueues) }

// PutQueue inserts or replaces a queue, stamping its indexes.
func (tx *Txn) PutQueue(q *api.Queue) error {
	stamp(&q.CreateIndex, &q.ModifyIndex, tx.index)
	tx.dirty, tx.sched = true, true
	return tx.txn.Insert(tableQueues, q)
}

// DeleteQueue removes a queue.
func (tx *Txn) DeleteQueue(name string) error {
	q, err := tx.Queue(name)
	if err != nil {
		return err
	}
	tx.dirty, tx.sched = true, true
	return tx.txn.Delete(tableQueues, q)
}
