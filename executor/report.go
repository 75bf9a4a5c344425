package executor

import (
	"context"
	"log"
	"sync"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/api/client"
)

// reporter sends allocation updates to the servers in order, batching
// what queued up meanwhile, and retries until they are accepted.
type reporter struct {
	api   *client.Client
	batch time.Duration // how long updates gather before a send
	mu    sync.Mutex
	queue []pending
	wake  chan struct{}
}

// pending is a queued update and the channel closed once a server has
// accepted it.
type pending struct {
	update api.AllocUpdate
	acked  chan struct{}
}

func newReporter(c *client.Client, batch time.Duration) *reporter {
	return &reporter{api: c, batch: batch, wake: make(chan struct{}, 1)}
}

// send queues u and returns a channel closed once a server accepted it.
func (r *reporter) send(u api.AllocUpdate) <-chan struct{} {
	p := pending{update: u, acked: make(chan struct{})}
	r.mu.Lock()
	r.queue = append(r.queue, p)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return p.acked
}

func (r *reporter) run(ctx context.Context) {
	b := newBackoff()
	for {
		r.mu.Lock()
		sent := append([]pending(nil), r.queue...)
		r.mu.Unlock()
		batch := make([]api.AllocUpdate, len(sent))
		for i, p := range sent {
			batch[i] = p.update
		}
		if len(batch) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-r.wake:
			}
			// Let the reports that come at about the same time gather.
			if r.batch > 0 && !sleep(ctx, r.batch) {
				return
			}
			continue
		}
		if err := r.api.UpdateAllocations(ctx, batch); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Printf("agent: report %d allocation updates: %v (will retry)", len(batch), err)
			b.wait(ctx)
			continue
		}
		b.reset()
		r.mu.Lock()
		r.queue = r.queue[len(sent):]
		r.mu.Unlock()
		for _, p := range sent {
			close(p.acked)
		}
	}
}

// sleep waits d, or until ctx ends: it reports whether it slept all of d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// backoff waits 100ms, doubling to 5s.
type backoff struct{ d time.Duration }

func newBackoff() *backoff { return &backoff{d: 100 * time.Millisecond} }

func (b *backoff) reset() { b.d = 100 * time.Millisecond }

func (b *backoff) wait(ctx context.Context) {
	sleep(ctx, b.d)
	b.d = min(2*b.d, 5*time.Second)
}

// retry calls fn until it succeeds or ctx ends, with backoff, logging
// failures.
func retry(ctx context.Context, what string, fn func() error) error {
	b := newBackoff()
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Printf("agent: %s: %v (retrying)", what, err)
		b.wait(ctx)
	}
}
