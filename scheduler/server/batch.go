package server

import (
	"sync"

	"github.com/phalanx-sched/phalanx/api"
)

// updateBatcher merges executors' allocation reports that arrive while
// one is being written into the next Raft entry (group commit): a
// thousand nodes reporting at once cost a few entries, not a thousand.
// Merging changes nothing: the FSM applies a list of reports one by one,
// ignoring late and foreign ones, whether they came in one entry or many.
type updateBatcher struct {
	mu      sync.Mutex
	running bool
	pending []api.AllocUpdate
	waiters []chan error
}

// do queues us and returns once an entry holding them is applied, with
// that entry's error. A writer goroutine, started when reports arrive and
// none runs, writes everything queued, entry after entry, until nothing
// is; callers only wait for their own entry, so none is held up by a
// steady stream of others. An entry holds at most what arrived during
// the previous write: each executor has one report in flight at a time,
// so that is bounded by the number of nodes.
func (b *updateBatcher) do(us []api.AllocUpdate, apply func([]api.AllocUpdate) error) error {
	done := make(chan error, 1)
	b.mu.Lock()
	b.pending = append(b.pending, us...)
	b.waiters = append(b.waiters, done)
	if !b.running {
		b.running = true
		go b.write(apply)
	}
	b.mu.Unlock()
	return <-done
}

// write applies what is queued until nothing is.
func (b *updateBatcher) write(apply func([]api.AllocUpdate) error) {
	for {
		b.mu.Lock()
		if len(b.waiters) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		batch, waiters := b.pending, b.waiters
		b.pending, b.waiters = nil, nil
		b.mu.Unlock()
		err := apply(batch)
		for _, w := range waiters {
			w <- err
		}
	}
}
