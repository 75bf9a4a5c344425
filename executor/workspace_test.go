package executor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/internal/fakeclock"
)

func TestValidateWorkspaceID(t *testing.T) {
	for _, id := range []string{"run-1", "0f3c2a9e-5b7d-4c1e-9a2b-3d4e5f6a7b8c", "a", "run_7.2", strings.Repeat("x", 128)} {
		if err := ValidateWorkspaceID(id); err != nil {
			t.Errorf("ValidateWorkspaceID(%q) = %v", id, err)
		}
	}
	for id, want := range map[string]string{
		"":                       "empty",
		"..":                     "must not start with '.'",
		".hidden":                "must not start with '.'",
		"a/b":                    `byte 1 ('/')`,
		`a\b`:                    `byte 1 ('\\')`,
		"../etc":                 "must not start with '.'",
		"run 1":                  `byte 3 (' ')`,
		"run\x00":                `byte 3 ('\x00')`,
		"rün":                    "byte 1",
		strings.Repeat("x", 129): "longer than 128 bytes",
	} {
		err := ValidateWorkspaceID(id)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateWorkspaceID(%q) = %v, want an error saying %q", id, err, want)
		}
	}
}

// FuzzWorkspaceID: an ID that passes names exactly one directory right
// under the workspaces directory.
func FuzzWorkspaceID(f *testing.F) {
	for _, s := range []string{"run-1", "..", "a/../b", ".", "x\x00", "/abs", "a\\b", "ok.ok"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if ValidateWorkspaceID(id) != nil {
			return
		}
		root := "/data/workspaces"
		dir := filepath.Join(root, id)
		if filepath.Dir(dir) != root || filepath.Base(dir) != id {
			t.Fatalf("valid ID %q gives %q, not a directory right under %s", id, dir, root)
		}
		if strings.HasPrefix(id, ".") {
			t.Fatalf("valid ID %q is a dot file", id)
		}
	})
}

func TestWorkspaceMountPath(t *testing.T) {
	for p, ok := range map[string]bool{"": true, "/src": true, "/a/b": true, "/": false, "src": false, "/a/../b": false, "/a/": false} {
		got, err := workspaceMountPath(&api.Workspace{ID: "r", MountPath: p})
		if (err == nil) != ok {
			t.Errorf("mount path %q: err %v", p, err)
		}
		if p == "" && got != api.DefaultWorkspacePath {
			t.Errorf("empty mount path gives %q", got)
		}
	}
}

// fakeCheckout writes the commit into checkout.txt; it counts its calls
// and fails while fail is set, after leaving a partial file, with an
// error quoting the token as a careless implementation might.
type fakeCheckout struct {
	calls atomic.Int32
	fail  atomic.Bool
}

func (f *fakeCheckout) checkout(ctx context.Context, co api.Checkout, dir string) error {
	f.calls.Add(1)
	time.Sleep(20 * time.Millisecond) // widen the window for a second caller
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		return errors.New("checkout: directory not empty")
	}
	if f.fail.Load() {
		os.WriteFile(filepath.Join(dir, "partial"), nil, 0o644)
		return errors.New("fetch https://x-access-token:" + co.Token + "@git.example/r: connection reset")
	}
	return os.WriteFile(filepath.Join(dir, "checkout.txt"), []byte(co.Commit), 0o644)
}

func newTestWorkspaces(t *testing.T, root string, fc *fakeCheckout, clock *fakeclock.Clock) *workspaces {
	t.Helper()
	s, err := newWorkspaces(root, fc.checkout, 10*time.Minute, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func spec(id, commit string) *api.Workspace {
	return &api.Workspace{ID: id, Checkout: &api.Checkout{URL: "https://git.example/r", Commit: commit, Token: "tok-s3cret-123"}}
}

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestWorkspaceIsCheckedOutOnce(t *testing.T) {
	root := filepath.Join(t.TempDir(), "workspaces")
	fc, clock := &fakeCheckout{}, fakeclock.New(t0)
	s := newTestWorkspaces(t, root, fc, clock)
	var wg sync.WaitGroup
	dirs := make([]string, 4)
	for i := range dirs {
		wg.Go(func() {
			dir, err := s.acquire(context.Background(), "alloc-"+string(rune('a'+i)), spec("run-1", "c1"))
			if err != nil {
				t.Error(err)
			}
			dirs[i] = dir
		})
	}
	wg.Wait()
	if n := fc.calls.Load(); n != 1 {
		t.Errorf("checked out %d times by 4 concurrent steps, want once", n)
	}
	for _, d := range dirs {
		if d != filepath.Join(root, "run-1") {
			t.Errorf("dir %q", d)
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "run-1", "checkout.txt")); err != nil || string(b) != "c1" {
		t.Errorf("checkout.txt: %q, %v", b, err)
	}
	fi, err := os.Stat(filepath.Join(root, "run-1", "checkout.txt"))
	if err != nil || fi.Mode().Perm()&0o666 != 0o666 {
		t.Errorf("checked-out file mode %v, %v: want readable and writable by every user", fi.Mode(), err)
	}

	// A restarted agent finds the checkout through its marker.
	again := newTestWorkspaces(t, root, fc, clock)
	if _, err := again.acquire(context.Background(), "alloc-z", spec("run-1", "c1")); err != nil {
		t.Fatal(err)
	}
	if n := fc.calls.Load(); n != 1 {
		t.Errorf("a restarted agent checked out again (%d calls)", n)
	}
}

func TestFailedCheckoutIsRetriedAndHidesTheToken(t *testing.T) {
	root := filepath.Join(t.TempDir(), "workspaces")
	fc, clock := &fakeCheckout{}, fakeclock.New(t0)
	s := newTestWorkspaces(t, root, fc, clock)
	fc.fail.Store(true)
	_, err := s.acquire(context.Background(), "a1", spec("run-1", "c1"))
	if err == nil {
		t.Fatal("a failed checkout was not an error")
	}
	if strings.Contains(err.Error(), "tok-s3cret-123") {
		t.Errorf("error shows the token: %v", err)
	}
	if !strings.Contains(err.Error(), "workspace run-1: checkout of c1: ") || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("error does not say what failed: %v", err)
	}
	s.release("a1", "run-1")
	fc.fail.Store(false)
	if _, err := s.acquire(context.Background(), "a2", spec("run-1", "c1")); err != nil {
		t.Fatalf("the next attempt: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "run-1", "partial")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed attempt's leftovers are still there: %v", err)
	}
}

func TestWorkspaceWithAnotherCommitIsCheckedOutAgain(t *testing.T) {
	root := filepath.Join(t.TempDir(), "workspaces")
	fc, clock := &fakeCheckout{}, fakeclock.New(t0)
	s := newTestWorkspaces(t, root, fc, clock)
	for _, c := range []string{"c1", "c2"} {
		if _, err := s.acquire(context.Background(), "a-"+c, spec("run-1", c)); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, "run-1", "checkout.txt")); string(b) != "c2" {
		t.Errorf("checkout.txt holds %q, want c2", b)
	}
}

func TestInvalidWorkspaceIsRefused(t *testing.T) {
	s := newTestWorkspaces(t, filepath.Join(t.TempDir(), "ws"), &fakeCheckout{}, fakeclock.New(t0))
	for _, ws := range []*api.Workspace{{ID: "../escape"}, {ID: "a/b"}, {ID: "ok", MountPath: "relative"}} {
		if _, err := s.acquire(context.Background(), "a1", ws); err == nil {
			t.Errorf("acquire(%+v) = nil error", ws)
		}
	}
}

func TestCollectAfterGrace(t *testing.T) {
	root := filepath.Join(t.TempDir(), "workspaces")
	fc, clock := &fakeCheckout{}, fakeclock.New(t0)
	s := newTestWorkspaces(t, root, fc, clock)
	for _, id := range []string{"held", "wanted", "idle"} {
		if _, err := s.acquire(context.Background(), "a-"+id, spec(id, "c1")); err != nil {
			t.Fatal(err)
		}
	}
	s.release("a-wanted", "wanted")
	s.release("a-idle", "idle")
	wanted := map[string]bool{"wanted": true}

	collect := func() []string {
		t.Helper()
		removed, err := s.collect(wanted)
		if err != nil {
			t.Fatal(err)
		}
		return removed
	}
	clock.Advance(9 * time.Minute)
	if got := collect(); len(got) != 0 {
		t.Fatalf("removed %v within the grace", got)
	}
	clock.Advance(time.Minute)
	if diff := cmp.Diff([]string{"idle"}, collect()); diff != "" {
		t.Errorf("removed after the grace (-want +got):\n%s", diff)
	}
	for id, want := range map[string]bool{"held": true, "wanted": true, "idle": false} {
		if _, err := os.Stat(filepath.Join(root, id)); (err == nil) != want {
			t.Errorf("workspace %s exists: %v, want %v", id, err == nil, want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, ".idle.checkout")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the removed workspace's marker is left: %v", err)
	}
	// Wanted no more: it goes a grace after it was last wanted.
	delete(wanted, "wanted")
	clock.Advance(9 * time.Minute)
	if got := collect(); len(got) != 0 {
		t.Fatalf("removed %v within the grace after it was last wanted", got)
	}
	clock.Advance(time.Minute)
	if diff := cmp.Diff([]string{"wanted"}, collect()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	clock.Advance(time.Hour)
	if got := collect(); len(got) != 0 {
		t.Errorf("removed %v while an allocation holds it", got)
	}
	// Acquired again after removal: checked out afresh.
	if _, err := s.acquire(context.Background(), "a-again", spec("idle", "c1")); err != nil {
		t.Fatal(err)
	}
	if n := fc.calls.Load(); n != 4 {
		t.Errorf("%d checkouts, want 4 (3, and 1 after removal)", n)
	}
}

// An agent that starts sweeps what an earlier process left, by the same
// rule: last used when its directory was last modified.
func TestCollectSweepsLeftovers(t *testing.T) {
	root := filepath.Join(t.TempDir(), "workspaces")
	clock := fakeclock.New(t0)
	for id, age := range map[string]time.Duration{"old": time.Hour, "recent": time.Minute} {
		dir := filepath.Join(root, id)
		if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(root, "."+id+".checkout"), []byte("c1\n"), 0o600)
		if err := os.Chtimes(dir, t0.Add(-age), t0.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	s := newTestWorkspaces(t, root, &fakeCheckout{}, clock)
	removed, err := s.collect(nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"old"}, removed); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	entries, _ := os.ReadDir(root)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{".recent.checkout", "recent"}, names); diff != "" {
		t.Errorf("left in the workspaces dir (-want +got):\n%s", diff)
	}
}

// Removing a workspace removes symbolic links in it, or in its place,
// never what they point at.
func TestCollectFollowsNoSymlink(t *testing.T) {
	tmp := t.TempDir()
	root, outside := filepath.Join(tmp, "workspaces"), filepath.Join(tmp, "precious")
	if err := os.MkdirAll(filepath.Join(root, "run-1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(outside, "keep.txt")
	os.WriteFile(keep, []byte("x"), 0o644)
	for _, link := range []string{filepath.Join(root, "run-1", "escape"), filepath.Join(root, "run-2")} {
		if err := os.Symlink(outside, link); err != nil {
			t.Fatal(err)
		}
	}
	clock := fakeclock.New(t0.Add(24 * time.Hour * 365 * 10)) // long after anything's mtime
	s := newTestWorkspaces(t, root, &fakeCheckout{}, clock)
	removed, err := s.collect(nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"run-1", "run-2"}, removed); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("a file outside the workspaces dir is gone: %v", err)
	}
	// A symbolic link where a workspace should be is replaced, not
	// checked out into.
	os.Symlink(outside, filepath.Join(root, "run-3"))
	dir, err := s.acquire(context.Background(), "a1", spec("run-3", "c1"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		t.Errorf("workspace %s is %v, %v: want a directory", dir, fi.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(outside, "checkout.txt")); err == nil {
		t.Error("checked out through a symbolic link")
	}
}
