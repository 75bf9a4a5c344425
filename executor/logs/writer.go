package logs

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

type state int

const (
	stateExpected state = iota // Expect was called; no writer yet
	stateOpen                  // a writer is open
	stateDone                  // the writer was closed, or the log removed
)

// entry is the live state of an allocation that is expected or being
// written. Its mutex guards the fields and is held by writers for the
// duration of a file write and by readers only to take a consistent view,
// never while they write to their own output.
type entry struct {
	p paths

	mu     sync.Mutex
	state  state
	f      *os.File // the open <id>.log, while stateOpen
	size   int64    // bytes in <id>.log
	gen    int      // rotations since this entry was opened
	notify chan struct{}
}

func newEntry(p paths, st state) *entry {
	return &entry{p: p, state: st, notify: make(chan struct{})}
}

// wakeLocked wakes everyone waiting for a change. e.mu must be held.
func (e *entry) wakeLocked() {
	close(e.notify)
	e.notify = make(chan struct{})
}

// writer is the io.WriteCloser Store.Open returns.
type writer struct {
	s    *Store
	id   string
	e    *entry
	half int64 // rotate when <id>.log reaches this size
}

var errClosed = errors.New("logs: write to a closed log")

func (w *writer) Write(p []byte) (int, error) {
	e := w.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateOpen {
		return 0, errClosed
	}
	n := 0
	defer func() {
		if n > 0 {
			e.wakeLocked()
		}
	}()
	for len(p) > 0 {
		room := w.half - e.size
		if room <= 0 {
			if err := w.rotateLocked(); err != nil {
				return n, err
			}
			continue
		}
		chunk := p[:min(room, int64(len(p)))]
		k, err := e.f.Write(chunk)
		n += k
		e.size += int64(k)
		p = p[k:]
		if err != nil {
			return n, fmt.Errorf("logs: %s: %w", w.id, err)
		}
	}
	return n, nil
}

// rotateLocked moves <id>.log over <id>.log.1 and starts an empty <id>.log.
// If the rename fails the writer keeps appending to <id>.log past the cap
// rather than losing output.
func (w *writer) rotateLocked() error {
	e := w.e
	if _, err := os.Stat(e.p.old); err == nil {
		if err := os.WriteFile(e.p.dropped, nil, 0o644); err != nil {
			return fmt.Errorf("logs: rotate %s: %w", w.id, err)
		}
	}
	if err := os.Rename(e.p.cur, e.p.old); err != nil {
		return fmt.Errorf("logs: rotate %s: %w", w.id, err)
	}
	// The old file is complete: it was written only under e.mu, which we hold.
	f, err := os.OpenFile(e.p.cur, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("logs: rotate %s: %w", w.id, err)
	}
	e.f.Close()
	e.f, e.size = f, 0
	e.gen++
	return nil
}

// Close ends the log: followers return once they have written its last byte.
func (w *writer) Close() error {
	e := w.e
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateOpen {
		return nil
	}
	var err error
	if e.f != nil {
		err = e.f.Close()
		e.f = nil
	}
	e.state = stateDone
	e.wakeLocked()
	if w.s.allocs[w.id] == e {
		delete(w.s.allocs, w.id)
	}
	return err
}
