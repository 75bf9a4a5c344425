package logs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// DefaultMaxBytes is the cap per allocation when NewStore gets maxBytes <= 0.
const DefaultMaxBytes = 10 << 20

// ErrNotFound means the store has no log for the allocation.
var ErrNotFound = errors.New("no log for allocation")

// ErrBusy means the allocation's log has an open writer.
var ErrBusy = errors.New("allocation's log is being written")

// Store keeps allocations' logs in one directory.
type Store struct {
	dir string
	max int64

	mu     sync.Mutex
	allocs map[string]*entry // allocations expected or being written
}

// NewStore returns a store in dir, creating it, that keeps at most about
// maxBytes of output per allocation (DefaultMaxBytes if maxBytes <= 0).
func NewStore(dir string, maxBytes int64) (*Store, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if maxBytes < 2 {
		maxBytes = 2
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	return &Store{dir: dir, max: maxBytes, allocs: map[string]*entry{}}, nil
}

// MaxBytes is the cap per allocation.
func (s *Store) MaxBytes() int64 { return s.max }

type paths struct{ cur, old, dropped string }

func (s *Store) paths(allocID string) (paths, error) {
	if allocID == "" || allocID == "." || allocID == ".." || strings.ContainsAny(allocID, `/\`+"\x00") {
		return paths{}, fmt.Errorf("logs: invalid allocation ID %q", allocID)
	}
	base := filepath.Join(s.dir, allocID)
	return paths{cur: base + ".log", old: base + ".log.1", dropped: base + ".dropped"}, nil
}

// Expect marks allocID as about to be opened: a Follow that arrives before
// Open waits for the writer instead of returning what is kept. The mark
// lasts until the writer opened after it is closed, or until Remove.
func (s *Store) Expect(allocID string) {
	p, err := s.paths(allocID)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.allocs[allocID] == nil {
		s.allocs[allocID] = newEntry(p, stateExpected)
	}
}

// Open returns the writer for allocID's log, appending to what is kept.
// Closing it tells followers that the output is complete.
func (s *Store) Open(allocID string) (io.WriteCloser, error) {
	p, err := s.paths(allocID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.allocs[allocID]
	if e == nil {
		e = newEntry(p, stateExpected)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateExpected {
		return nil, fmt.Errorf("logs: open %s: %w", allocID, ErrBusy)
	}
	f, err := os.OpenFile(p.cur, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("logs: %w", err)
	}
	e.f, e.size, e.state = f, fi.Size(), stateOpen
	e.wakeLocked()
	s.allocs[allocID] = e
	return &writer{s: s, id: allocID, e: e, half: max(s.max/2, 1)}, nil
}

// Read writes allocID's kept output to w, oldest first.
func (s *Store) Read(allocID string, w io.Writer) error {
	snap, err := s.snapshot(allocID)
	if err != nil {
		return err
	}
	defer snap.close()
	if err := s.writeKept(w, snap); err != nil {
		return err
	}
	if snap.cur != nil {
		_, err = io.Copy(w, snap.cur)
	}
	return err
}

// Remove deletes allocID's log. Removing a log that does not exist is not
// an error; removing one with an open writer is ErrBusy.
func (s *Store) Remove(allocID string) error {
	p, err := s.paths(allocID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if e := s.allocs[allocID]; e != nil {
		e.mu.Lock()
		if e.state == stateOpen {
			e.mu.Unlock()
			s.mu.Unlock()
			return fmt.Errorf("logs: remove %s: %w", allocID, ErrBusy)
		}
		e.state = stateDone
		e.wakeLocked()
		e.mu.Unlock()
		delete(s.allocs, allocID)
	}
	s.mu.Unlock()
	var errs []error
	for _, name := range []string{p.cur, p.old, p.dropped} {
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("logs: remove %s: %w", allocID, err)
	}
	return nil
}

// snapshot opens allocID's files as one consistent view: with the entry's
// lock held no rotation can happen between the two opens.
type snapshot struct {
	e        *entry // nil when no writer is expected or open
	gen      int
	dropped  bool
	old, cur *os.File // either may be nil, not both
}

func (sn *snapshot) close() {
	if sn.old != nil {
		sn.old.Close()
	}
	if sn.cur != nil {
		sn.cur.Close()
	}
}

func (s *Store) snapshot(allocID string) (*snapshot, error) {
	p, err := s.paths(allocID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	e := s.allocs[allocID]
	s.mu.Unlock()
	sn := &snapshot{e: e}
	if e != nil {
		e.mu.Lock()
		defer e.mu.Unlock()
		sn.gen = e.gen
	}
	if sn.old, err = openIfExists(p.old); err != nil {
		return nil, err
	}
	if sn.cur, err = openIfExists(p.cur); err != nil {
		sn.close()
		return nil, err
	}
	if sn.cur == nil && sn.old == nil {
		return nil, fmt.Errorf("logs: %s: %w", allocID, ErrNotFound)
	}
	_, err = os.Stat(p.dropped)
	sn.dropped = err == nil
	return sn, nil
}

func openIfExists(name string) (*os.File, error) {
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	return f, nil
}

// writeKept writes the dropped-output notice, if any, and the rotated half.
func (s *Store) writeKept(w io.Writer, sn *snapshot) error {
	if sn.dropped {
		if _, err := fmt.Fprintf(w, "[phalanx: older output dropped, log capped at %d bytes]\n", s.max); err != nil {
			return err
		}
	}
	if sn.old != nil {
		if _, err := io.Copy(w, sn.old); err != nil {
			return err
		}
	}
	return nil
}
