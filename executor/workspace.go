package executor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/executor/logs"
)

// CheckoutFunc puts co's commit into dir, which is empty or does not
// exist. Its errors must not contain co.Token.
type CheckoutFunc func(ctx context.Context, co api.Checkout, dir string) error

// maxWorkspaceID bounds a workspace ID's length.
const maxWorkspaceID = 128

// ValidateWorkspaceID reports whether id can name a directory under the
// workspaces directory: 1 to 128 letters, digits, '.', '_' and '-', not
// starting with '.', so that it can never be "..", hold a path separator
// or collide with the agent's own dot files there.
func ValidateWorkspaceID(id string) error {
	switch {
	case id == "":
		return errors.New("workspace ID is empty")
	case len(id) > maxWorkspaceID:
		return fmt.Errorf("workspace ID %.20q...: longer than %d bytes", id, maxWorkspaceID)
	case id[0] == '.':
		return fmt.Errorf("workspace ID %q: must not start with '.'", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("workspace ID %q: byte %d (%q) is not allowed: use letters, digits, '.', '_' and '-'", id, i, c)
		}
	}
	return nil
}

// workspaceMountPath returns where ws appears inside its tasks, checked:
// an absolute, clean path other than "/".
func workspaceMountPath(ws *api.Workspace) (string, error) {
	p := WorkspacePath(ws)
	if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
		return "", fmt.Errorf("workspace %s: mount path %q must be an absolute, clean path other than /", ws.ID, p)
	}
	return p, nil
}

// workspaces keeps this node's workspace directories, <root>/<ID>, and
// the marker of each one's checkout, <root>/.<ID>.checkout, which holds
// the commit checked out. A workspace is checked out once: the first
// allocation that acquires it does so while holding the workspace's lock,
// later ones (and the allocations of a restarted agent) find the marker.
//
// A workspace nobody holds and nobody wants is removed by collect once
// grace has passed since it was last held or wanted. Its directory's
// modification time records when it was last released, so that a
// restarted agent applies the same rule to what an earlier process left.
type workspaces struct {
	root     string
	checkout CheckoutFunc
	grace    time.Duration
	now      func() time.Time
	// timeout bounds one checkout; 0: DefaultCheckoutTimeout.
	timeout time.Duration

	mu sync.Mutex
	ws map[string]*workspace
}

// workspace is one workspace's state in this agent process.
type workspace struct {
	mu    sync.Mutex      // held while it is checked out or removed
	users map[string]bool // allocations holding it; guarded by workspaces.mu
	last  time.Time       // last held or wanted; guarded by workspaces.mu
}

// newWorkspaces keeps workspaces under root; checkouts get
// DefaultCheckoutTimeout until timeout is set.
func newWorkspaces(root string, checkout CheckoutFunc, grace time.Duration, now func() time.Time) (*workspaces, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("agent: workspaces dir: %w", err)
	}
	return &workspaces{root: root, checkout: checkout, grace: grace, now: now, ws: map[string]*workspace{}}, nil
}

func (s *workspaces) dir(id string) string    { return filepath.Join(s.root, id) }
func (s *workspaces) marker(id string) string { return filepath.Join(s.root, "."+id+".checkout") }

// entry returns id's state, creating it; s.mu is held.
func (s *workspaces) entry(id string) *workspace {
	w := s.ws[id]
	if w == nil {
		w = &workspace{users: map[string]bool{}}
		s.ws[id] = w
	}
	return w
}

// acquire makes spec's workspace ready for allocation allocID and returns
// its host directory: created, and checked out unless an earlier
// allocation did that. The allocation holds the workspace until release,
// also when acquire fails. Errors never contain the checkout's token.
func (s *workspaces) acquire(ctx context.Context, allocID string, spec *api.Workspace) (string, error) {
	if err := ValidateWorkspaceID(spec.ID); err != nil {
		return "", err
	}
	if _, err := workspaceMountPath(spec); err != nil {
		return "", err
	}
	s.mu.Lock()
	w := s.entry(spec.ID)
	w.users[allocID] = true
	w.last = s.now()
	s.mu.Unlock()

	w.mu.Lock()
	defer w.mu.Unlock()
	dir := s.dir(spec.ID)
	fresh, err := makeWorkspaceDir(dir)
	if err != nil {
		return "", fmt.Errorf("workspace %s: %w", spec.ID, err)
	}
	co := spec.Checkout
	if co == nil {
		return dir, nil
	}
	if b, err := os.ReadFile(s.marker(spec.ID)); err == nil && !fresh && strings.TrimSpace(string(b)) == co.Commit {
		return dir, nil
	}
	if err := s.checkoutInto(ctx, *co, dir); err != nil {
		msg := logs.MaskString(err.Error(), []string{co.Token})
		return "", fmt.Errorf("workspace %s: checkout of %s: %s", spec.ID, co.Commit, msg)
	}
	if err := writeFileAtomic(s.marker(spec.ID), co.Commit+"\n"); err != nil {
		return "", fmt.Errorf("workspace %s: %w", spec.ID, err)
	}
	return dir, nil
}

// checkoutInto empties dir (what a failed attempt left) and checks co out
// into it, readable and writable by any user a container runs as.
func (s *workspaces) checkoutInto(ctx context.Context, co api.Checkout, dir string) error {
	if s.checkout == nil {
		return errors.New("this agent cannot check out repositories")
	}
	if err := emptyDir(dir); err != nil {
		return err
	}
	timeout := s.timeout
	if timeout <= 0 {
		timeout = DefaultCheckoutTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := s.checkout(cctx, co, dir); err != nil {
		if ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("no answer within %v from %s (the agent's checkout timeout): %w", timeout, co.URL, err)
		}
		return err
	}
	return openUp(dir)
}

// release ends allocID's hold on workspace id.
func (s *workspaces) release(allocID, id string) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.ws[id]
	if w == nil {
		return
	}
	delete(w.users, allocID)
	w.last = now
	if len(w.users) == 0 {
		// Best effort: it only lets a restarted agent keep the workspace
		// for the rest of its grace.
		os.Chtimes(s.dir(id), now, now)
	}
}

// collect removes every workspace under the root that no allocation of
// this agent holds, none of wanted names, and that has been neither for
// grace; it returns the IDs it removed. Workspaces left by an earlier
// agent process count as last used when their directory was last
// modified.
func (s *workspaces) collect(wanted map[string]bool) ([]string, error) {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("agent: workspaces: %w", err)
	}
	now := s.now()
	var removed []string
	var errs []error
	for _, e := range entries {
		id := e.Name()
		if ValidateWorkspaceID(id) != nil {
			continue // the agent's markers, and nothing it made
		}
		s.mu.Lock()
		w := s.entry(id)
		if wanted[id] || len(w.users) > 0 {
			w.last = now
		}
		if w.last.IsZero() {
			w.last = modTime(s.dir(id), now)
		}
		expired := now.Sub(w.last) >= s.grace
		s.mu.Unlock()
		if !expired {
			continue
		}
		ok, err := s.remove(id, w)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			removed = append(removed, id)
		}
	}
	return removed, errors.Join(errs...)
}

// remove deletes workspace id unless an allocation acquired it since
// collect looked.
func (s *workspaces) remove(id string, w *workspace) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s.mu.Lock()
	held := len(w.users) > 0
	s.mu.Unlock()
	if held {
		return false, nil
	}
	// The marker first: a directory without one is checked out again.
	for _, m := range []string{s.marker(id), s.marker(id) + ".tmp"} {
		if err := os.Remove(m); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("agent: remove workspace %s: %w", id, err)
		}
	}
	// RemoveAll removes symbolic links, never what they point at, so
	// nothing outside the workspace is touched.
	if err := os.RemoveAll(s.dir(id)); err != nil {
		return false, fmt.Errorf("agent: remove workspace %s: %w", id, err)
	}
	s.mu.Lock()
	if len(w.users) == 0 && s.ws[id] == w {
		delete(s.ws, id)
	}
	s.mu.Unlock()
	return true, nil
}

// makeWorkspaceDir creates dir, open to every user (the root above it is
// the agent's alone), and reports whether it did not exist. Something
// else at dir (a symbolic link, a file) is replaced.
func makeWorkspaceDir(dir string) (fresh bool, err error) {
	fi, err := os.Lstat(dir)
	switch {
	case err == nil && fi.IsDir():
		return false, nil
	case err == nil:
		if err := os.Remove(dir); err != nil {
			return false, err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return false, err
	}
	if err := os.Mkdir(dir, 0o777); err != nil {
		return false, err
	}
	return true, os.Chmod(dir, 0o777) // past the umask
}

// emptyDir removes everything in dir, following no symbolic link.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// openUp makes everything under dir readable and writable by every user
// (directories searchable), so that a container running as any user can
// work in its checkout. Symbolic links are left alone.
func openUp(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		mode := fi.Mode().Perm() | 0o666
		if d.IsDir() || fi.Mode().Perm()&0o111 != 0 {
			mode |= 0o111
		}
		return os.Chmod(p, mode)
	})
}

// writeFileAtomic writes data to name through a temporary file and a
// rename, so that a crash leaves the old file or the new one.
func writeFileAtomic(name, data string) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

func modTime(name string, otherwise time.Time) time.Time {
	fi, err := os.Lstat(name)
	if err != nil {
		return otherwise
	}
	return fi.ModTime()
}

// collectWorkspaces starts a collection of unused workspaces, unless one
// is under way; allocs are the allocations the servers list for this
// node. a.mu is held.
func (a *Agent) collectWorkspaces(allocs []*api.Allocation) {
	wanted := map[string]bool{}
	for _, al := range allocs {
		if ws := al.Task.Workspace; ws != nil && al.DesiredState == api.DesiredRun && !al.State.Terminal() && !a.done[al.ID] {
			wanted[ws.ID] = true
		}
	}
	for _, t := range a.tasks {
		if ws := t.alloc.Task.Workspace; ws != nil && !t.findOnly {
			wanted[ws.ID] = true
		}
	}
	if !a.collecting.CompareAndSwap(false, true) {
		return
	}
	a.following.Go(func() {
		defer a.collecting.Store(false)
		removed, err := a.ws.collect(wanted)
		if err != nil {
			log.Printf("agent: %v", err)
		}
		if len(removed) > 0 && !a.cfg.Quiet {
			log.Printf("agent: removed workspaces %s, unused for %v", strings.Join(removed, ", "), a.cfg.WorkspaceGrace)
		}
	})
}
