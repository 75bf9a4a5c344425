package logs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/phalanx-sched/phalanx/executor/logs"
)

func newStore(t *testing.T, dir string, max int64) *logs.Store {
	t.Helper()
	s, err := logs.NewStore(dir, max)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func open(t *testing.T, s *logs.Store, id string) io.WriteCloser {
	t.Helper()
	w, err := s.Open(id)
	if err != nil {
		t.Fatalf("Open(%s): %v", id, err)
	}
	return w
}

func read(t *testing.T, s *logs.Store, id string) string {
	t.Helper()
	var b bytes.Buffer
	if err := s.Read(id, &b); err != nil {
		t.Fatalf("Read(%s): %v", id, err)
	}
	return b.String()
}

func write(t *testing.T, w io.Writer, s string) {
	t.Helper()
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
}

func diskBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

func TestDefaultCap(t *testing.T) {
	s := newStore(t, t.TempDir(), 0)
	if got := s.MaxBytes(); got != 10<<20 {
		t.Errorf("MaxBytes() = %d, want 10 MiB", got)
	}
}

func TestReopenAfterRestartAppends(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, 1<<20)
	w := open(t, s, "a1")
	write(t, w, "one\n")
	if _, err := s.Open("a1"); !errors.Is(err, logs.ErrBusy) {
		t.Errorf("second Open while open: err = %v, want ErrBusy", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("late")); err == nil {
		t.Error("Write after Close succeeded")
	}

	s2 := newStore(t, dir, 1<<20) // a new agent process
	w = open(t, s2, "a1")
	write(t, w, "two\n")
	w.Close()
	if diff := cmp.Diff("one\ntwo\n", read(t, s2, "a1")); diff != "" {
		t.Errorf("Read (-want +got):\n%s", diff)
	}
}

func TestNotFoundAndInvalid(t *testing.T) {
	s := newStore(t, t.TempDir(), 0)
	if err := s.Read("nope", io.Discard); !errors.Is(err, logs.ErrNotFound) {
		t.Errorf("Read(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.Follow(context.Background(), "nope", io.Discard); !errors.Is(err, logs.ErrNotFound) {
		t.Errorf("Follow(unknown) = %v, want ErrNotFound", err)
	}
	for _, id := range []string{"", "..", "a/b"} {
		if _, err := s.Open(id); err == nil {
			t.Errorf("Open(%q) succeeded", id)
		}
	}
}

func TestRotationKeepsNewestAndCapsDisk(t *testing.T) {
	dir := t.TempDir()
	const max = 100
	s := newStore(t, dir, max)
	w := open(t, s, "r")
	// 20 lines of 10 bytes: 200 bytes through a 100-byte cap.
	var all strings.Builder
	for i := range 20 {
		line := fmt.Sprintf("line %03d\n", i)
		all.WriteString(line)
		write(t, w, line)
		if n := diskBytes(t, dir); n > max {
			t.Fatalf("after line %d: %d bytes on disk, cap %d", i, n, max)
		}
	}
	w.Close()

	got := read(t, s, "r")
	notice := "[phalanx: older output dropped, log capped at 100 bytes]\n"
	if !strings.HasPrefix(got, notice) {
		t.Fatalf("Read does not start with the notice:\n%q", got)
	}
	kept := strings.TrimPrefix(got, notice)
	if len(kept) < max/2 || !strings.HasSuffix(all.String(), kept) {
		t.Errorf("kept %q, want a suffix of the output at least %d bytes long", kept, max/2)
	}
}

func TestNoNoticeBeforeAnythingIsDropped(t *testing.T) {
	s := newStore(t, t.TempDir(), 100)
	w := open(t, s, "r")
	out := strings.Repeat("x", 80) // one rotation, nothing dropped yet
	write(t, w, out)
	w.Close()
	if diff := cmp.Diff(out, read(t, s, "r")); diff != "" {
		t.Errorf("Read (-want +got):\n%s", diff)
	}
}

func TestFollowFinishedLogReturns(t *testing.T) {
	s := newStore(t, t.TempDir(), 0)
	w := open(t, s, "done")
	write(t, w, "bye\n")
	w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var b bytes.Buffer
	if err := s.Follow(ctx, "done", &b); err != nil {
		t.Fatal(err)
	}
	if b.String() != "bye\n" {
		t.Errorf("Follow wrote %q", b.String())
	}
}

func TestFollowStopsWithContext(t *testing.T) {
	s := newStore(t, t.TempDir(), 0)
	w := open(t, s, "live")
	defer w.Close()
	write(t, w, "a")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Follow(ctx, "live", io.Discard); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Follow = %v, want DeadlineExceeded", err)
	}
}

func TestExpectThenOpenThenClose(t *testing.T) {
	s := newStore(t, t.TempDir(), 0)
	s.Expect("e")
	var b bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- s.Follow(context.Background(), "e", &b) }()

	select {
	case err := <-done:
		t.Fatalf("Follow returned before Open: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	w := open(t, s, "e")
	write(t, w, "hello ")
	write(t, w, "world\n")
	w.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Follow did not return after Close")
	}
	if b.String() != "hello world\n" {
		t.Errorf("Follow wrote %q", b.String())
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestConcurrentWriterAndFollowers(t *testing.T) {
	// The cap is large enough that followers keep up within one rotation,
	// and small enough that the output rotates several times.
	const max = 32 << 10
	s := newStore(t, t.TempDir(), max)
	s.Expect("c")

	const followers = 4
	bufs := make([]*syncBuffer, followers)
	errs := make(chan error, followers)
	var started sync.WaitGroup
	for i := range bufs {
		bufs[i] = &syncBuffer{}
		started.Add(1)
		go func() {
			started.Done()
			errs <- s.Follow(context.Background(), "c", bufs[i])
		}()
	}
	started.Wait()

	w := open(t, s, "c")
	var want strings.Builder
	for i := range 4000 {
		line := fmt.Sprintf("%05d %s\n", i, strings.Repeat("y", i%40))
		want.WriteString(line)
		write(t, w, line)
		if i%100 == 0 {
			runtime.Gosched() // let followers run, as a real task's pauses do
		}
		if i == 2000 {
			// A late follower joins mid-stream.
			bufs = append(bufs, &syncBuffer{})
			b := bufs[len(bufs)-1]
			go func() { errs <- s.Follow(context.Background(), "c", b) }()
		}
	}
	w.Close()
	for range bufs {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a follower did not return after Close")
		}
	}
	if want.Len() < 2*max {
		t.Fatalf("test writes %d bytes, too few to rotate", want.Len())
	}
	for i, b := range bufs[:followers] {
		if got := b.String(); got != want.String() {
			t.Errorf("follower %d: got %d bytes, want %d; first difference at %d",
				i, len(got), want.Len(), firstDiff(got, want.String()))
		}
	}
	// The late follower starts from what was kept when it joined, so it
	// ends with the full tail of the output.
	late := bufs[followers].String()
	late = strings.TrimPrefix(late, fmt.Sprintf("[phalanx: older output dropped, log capped at %d bytes]\n", max))
	if !strings.HasSuffix(want.String(), late) || len(late) < max/2 {
		t.Errorf("late follower got %d bytes that are not a long suffix of the output", len(late))
	}
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, 100)
	w := open(t, s, "x")
	write(t, w, strings.Repeat("z", 300))
	if err := s.Remove("x"); !errors.Is(err, logs.ErrBusy) {
		t.Errorf("Remove while open = %v, want ErrBusy", err)
	}
	w.Close()
	if err := s.Remove("x"); err != nil {
		t.Fatal(err)
	}
	if n := diskBytes(t, dir); n != 0 {
		t.Errorf("%d bytes left after Remove", n)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("files left after Remove: %v", ents)
	}
	if err := s.Read("x", io.Discard); !errors.Is(err, logs.ErrNotFound) {
		t.Errorf("Read after Remove = %v, want ErrNotFound", err)
	}
	if err := s.Remove("x"); err != nil {
		t.Errorf("second Remove = %v, want nil", err)
	}
}
