package server

import "sync"

// groupCommit merges what callers hand in while one Raft write is under
// way into the next write (group commit): a thousand nodes reporting, or
// a thousand clients submitting, at once cost a few entries, not a
// thousand. Merging changes nothing the FSM decides: it applies a merged
// entry item by item, in order, as it would apply them one entry each.
//
// The zero value is ready. T is what callers hand in (a report, a job),
// R what each item's write says of it.
type groupCommit[T, R any] struct {
	mu      sync.Mutex
	running bool
	pending []T
	waiters []waiter[R]
}

type waiter[R any] struct {
	n    int // items of this caller, in order, from the batch's start
	done chan outcome[R]
}

type outcome[R any] struct {
	results []R
	err     error
}

// do queues items and returns once an entry holding them is applied: the
// results write gave for them (one per item, in order, or none), or the
// whole write's error. A writer goroutine, started when items arrive and
// none runs, writes everything queued, entry after entry, until nothing
// is; callers only wait for their own entry, so none is held up by a
// steady stream of others. An entry holds at most what arrived during
// the previous write, and at most maxBatch items.
func (g *groupCommit[T, R]) do(items []T, write func([]T) ([]R, error)) ([]R, error) {
	done := make(chan outcome[R], 1)
	g.mu.Lock()
	g.pending = append(g.pending, items...)
	g.waiters = append(g.waiters, waiter[R]{n: len(items), done: done})
	if !g.running {
		g.running = true
		go g.write(write)
	}
	g.mu.Unlock()
	o := <-done
	return o.results, o.err
}

// maxBatch is the most items one entry holds.
const maxBatch = 4096

// write applies what is queued until nothing is.
func (g *groupCommit[T, R]) write(write func([]T) ([]R, error)) {
	for {
		g.mu.Lock()
		if len(g.waiters) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		// At most maxBatch items an entry (a caller's items stay in one),
		// so that one entry, and the FSM's write lock over it, stays short.
		nw, n := 0, 0
		for nw < len(g.waiters) && (nw == 0 || n+g.waiters[nw].n <= maxBatch) {
			n += g.waiters[nw].n
			nw++
		}
		batch, waiters := g.pending[:n:n], g.waiters[:nw:nw]
		g.pending, g.waiters = g.pending[n:], g.waiters[nw:]
		if len(g.waiters) == 0 {
			g.pending, g.waiters = nil, nil
		}
		g.mu.Unlock()
		results, err := write(batch)
		at := 0
		for _, w := range waiters {
			o := outcome[R]{err: err}
			if err == nil && len(results) == len(batch) {
				o.results = results[at : at+w.n]
			}
			at += w.n
			w.done <- o
		}
	}
}
