package logs

import (
	"context"
	"fmt"
	"io"
	"os"
)

// Follow writes allocID's kept output to w and then its new output as it is
// written. It returns nil once the writer is closed and everything it wrote
// has been written to w, or ctx's error if ctx ends first. If no writer is
// open or expected, it writes what is kept and returns.
func (s *Store) Follow(ctx context.Context, allocID string, w io.Writer) error {
	if _, err := s.paths(allocID); err != nil {
		return err
	}
	if err := s.waitOpened(ctx, allocID); err != nil {
		return err
	}
	sn, err := s.snapshot(allocID)
	if err != nil {
		return err
	}
	defer sn.close()
	if err := s.writeKept(w, sn); err != nil {
		return err
	}
	if sn.old != nil {
		sn.old.Close()
		sn.old = nil
	}
	if sn.e == nil {
		if sn.cur != nil {
			_, err = io.Copy(w, sn.cur)
		}
		return err
	}
	return s.tail(ctx, sn, w)
}

// waitOpened waits while allocID is expected but its writer not yet open.
func (s *Store) waitOpened(ctx context.Context, allocID string) error {
	for {
		s.mu.Lock()
		e := s.allocs[allocID]
		s.mu.Unlock()
		if e == nil {
			return nil
		}
		e.mu.Lock()
		st, ch := e.state, e.notify
		e.mu.Unlock()
		if st != stateExpected {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// tail copies sn.cur to w, and each file that replaces it on rotation,
// until the entry is done.
//
// A rotation renames <id>.log, whose descriptor we hold, to <id>.log.1, so
// what we have not yet read of it stays readable. After one rotation we go
// on with the new <id>.log; after two, <id>.log.1 holds the generation in
// between; after more, the generations in between are gone and we say so.
func (s *Store) tail(ctx context.Context, sn *snapshot, w io.Writer) error {
	e, gen := sn.e, sn.gen
	var off int64 // bytes of this generation's file written to w
	for {
		n, err := io.Copy(w, sn.cur)
		off += n
		if err != nil {
			return err
		}
		e.mu.Lock()
		if e.gen == gen {
			st, ch, size := e.state, e.notify, e.size
			e.mu.Unlock()
			if size > off && st == stateOpen {
				continue // written after our read hit EOF, before we locked
			}
			if st == stateDone {
				// Anything written between our last read and the close.
				_, err := io.Copy(w, sn.cur)
				return err
			}
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		skipped := e.gen - gen
		gen = e.gen
		var between *os.File
		if skipped >= 2 {
			between, err = openIfExists(e.p.old)
		}
		var next *os.File
		if err == nil {
			next, err = openIfExists(e.p.cur)
		}
		e.mu.Unlock()
		if err != nil {
			if between != nil {
				between.Close()
			}
			return err
		}
		// The file we hold is complete: finish it.
		_, err = io.Copy(w, sn.cur)
		sn.cur.Close()
		sn.cur, off = next, 0
		if err == nil && skipped > 2 {
			_, err = fmt.Fprintf(w, "\n[phalanx: output dropped while following, log capped at %d bytes]\n", s.max)
		}
		if err == nil && between != nil {
			_, err = io.Copy(w, between)
		}
		if between != nil {
			between.Close()
		}
		if err != nil {
			return err
		}
		if sn.cur == nil {
			// Removed under us; nothing more will come.
			return nil
		}
	}
}
