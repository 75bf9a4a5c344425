package state

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

func put(t *testing.T, s *Store, index uint64, a *api.Allocation) {
	t.Helper()
	if err := s.Write(index, func(tx *Txn) error { return tx.PutAlloc(a) }); err != nil {
		t.Fatal(err)
	}
}

func TestNodeAllocsBlocksUntilTheNodeChanges(t *testing.T) {
	s := New()
	put(t, s, 5, &api.Allocation{ID: "a1", JobID: "j", NodeID: "n1", State: api.AllocPending})

	got, idx, err := s.NodeAllocs(context.Background(), "n1", 0)
	if err != nil || len(got) != 1 || idx != 5 {
		t.Fatalf("first query: %v idx %d err %v", got, idx, err)
	}

	res := make(chan []*api.Allocation, 1)
	go func() {
		got, _, _ := s.NodeAllocs(context.Background(), "n1", idx)
		res <- got
	}()
	// A write to another node must not wake the query with nothing new.
	put(t, s, 6, &api.Allocation{ID: "b1", JobID: "j", NodeID: "n2", State: api.AllocPending})
	select {
	case got := <-res:
		t.Fatalf("woke for another node's write: %v", got)
	case <-time.After(100 * time.Millisecond):
	}
	put(t, s, 7, &api.Allocation{ID: "a2", JobID: "j", NodeID: "n1", State: api.AllocPending})
	select {
	case got := <-res:
		if len(got) != 2 {
			t.Fatalf("after write: %d allocations", len(got))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("query did not wake for its node's write")
	}

	// What the executor reported itself (a1 finished) wakes no one; the
	// view, when next read, no longer hands it the terminal allocation.
	put(t, s, 8, &api.Allocation{ID: "a1", JobID: "j", NodeID: "n1", State: api.AllocSucceeded})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	got, idx, _ = s.NodeAllocs(ctx, "n1", 7)
	if len(got) != 1 || got[0].ID != "a2" || idx != 7 {
		t.Fatalf("after a1 finished: %v idx %d; want a2 at index 7 (the report wakes no query)", got, idx)
	}
	// A new desired state is for the executor: it wakes the query.
	go func() {
		got, idx, _ := s.NodeAllocs(context.Background(), "n1", 7)
		if idx == 9 {
			res <- got
		} else {
			res <- nil
		}
	}()
	put(t, s, 9, &api.Allocation{ID: "a2", JobID: "j", NodeID: "n1", State: api.AllocPending, DesiredState: api.DesiredStop})
	select {
	case got := <-res:
		if len(got) != 1 || got[0].DesiredState != api.DesiredStop {
			t.Fatalf("after a2 was asked to stop: %v", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("query did not wake for a new desired state")
	}
}

func TestRestoreWakesBlockedQueries(t *testing.T) {
	s := New()
	res := make(chan int, 1)
	go func() {
		got, _, _ := s.NodeAllocs(context.Background(), "n1", 1)
		res <- len(got)
	}()
	time.Sleep(20 * time.Millisecond)
	if err := s.Restore(9, Dump{Allocs: []*api.Allocation{{ID: "a", JobID: "j", NodeID: "n1", State: api.AllocRunning, ModifyIndex: 9}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-res:
		if n != 1 {
			t.Fatalf("after restore: %d allocations", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("restore did not wake the query")
	}
}

func TestJobLookupByPrefix(t *testing.T) {
	s := New()
	for i, id := range []string{"train-aaaa1", "train-aaaa2", "eval-bbbb"} {
		j := &api.Job{ID: id}
		if err := s.Write(uint64(i+1), func(tx *Txn) error { return tx.PutJob(j) }); err != nil {
			t.Fatal(err)
		}
	}
	snap := s.Snapshot()
	if j, err := snap.LookupJob("eval"); err != nil || j.ID != "eval-bbbb" {
		t.Errorf("unique prefix: %v %v", j, err)
	}
	if _, err := snap.LookupJob("train-aaaa"); err == nil {
		t.Error("ambiguous prefix matched")
	}
	if _, err := snap.LookupJob("abc"); !errors.Is(err, ErrNotFound) {
		t.Errorf("short unknown ID: %v", err)
	}
	if jobs := snap.Jobs(); len(jobs) != 3 || jobs[0].ID != "train-aaaa1" {
		t.Errorf("jobs not in creation order: %v", jobs)
	}
}

// Restoring an older snapshot moves a node's index back: a query blocked
// at the newer index must still wake, and see the restored allocations.
func TestRestoreOfOlderSnapshotWakesBlockedQueries(t *testing.T) {
	s := New()
	put(t, s, 100, &api.Allocation{ID: "new", JobID: "j", NodeID: "n1", State: api.AllocRunning})
	res := make(chan []*api.Allocation, 1)
	go func() {
		got, _, _ := s.NodeAllocs(context.Background(), "n1", 100)
		res <- got
	}()
	time.Sleep(20 * time.Millisecond)
	old := []*api.Allocation{{ID: "old", JobID: "j", NodeID: "n1", State: api.AllocRunning, ModifyIndex: 40}}
	if err := s.Restore(40, Dump{Allocs: old}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-res:
		if len(got) != 1 || got[0].ID != "old" {
			t.Fatalf("after restore: %v", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a restore of an older snapshot did not wake the query")
	}
}

// A snapshot keeps the allocations it saw whatever is written after it,
// and a write that fails leaves nothing behind.
func TestSnapshotsAndFailedWritesKeepAllocations(t *testing.T) {
	s := New()
	put(t, s, 1, &api.Allocation{ID: "a1", JobID: "j", NodeID: "n1", State: api.AllocPending})
	before := s.Snapshot()
	put(t, s, 2, &api.Allocation{ID: "a1", JobID: "j", NodeID: "n1", State: api.AllocSucceeded})
	put(t, s, 3, &api.Allocation{ID: "a2", JobID: "j", NodeID: "n1", State: api.AllocRunning})
	if a, err := before.Alloc("a1"); err != nil || a.State != api.AllocPending {
		t.Fatalf("old snapshot: a1 %v %v, want pending", a, err)
	}
	if got := before.LiveNodeAllocs("n1"); len(got) != 1 || got[0].ID != "a1" {
		t.Fatalf("old snapshot: live on n1 %v, want a1 alone", got)
	}
	boom := errors.New("boom")
	err := s.Write(4, func(tx *Txn) error {
		if err := tx.PutAlloc(&api.Allocation{ID: "a3", JobID: "j", NodeID: "n1", State: api.AllocPending}); err != nil {
			return err
		}
		if got := tx.LiveNodeAllocs("n1"); len(got) != 2 {
			t.Errorf("inside the write: live on n1 %v, want a2 and a3", got)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("write: %v", err)
	}
	now := s.Snapshot()
	if _, err := now.Alloc("a3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a failed write left a3: %v", err)
	}
	if got := now.LiveAllocs(); len(got) != 1 || got[0].ID != "a2" {
		t.Fatalf("live: %v, want a2 alone", got)
	}
	if got := now.JobAllocs("j"); len(got) != 2 {
		t.Fatalf("job allocations: %v, want a1 and a2", got)
	}
}

// SchedIndex moves with what a scheduling pass reads, and not with
// reports that tasks run or heartbeats that change nothing else.
func TestSchedIndexMovesOnlyWithWhatPassesRead(t *testing.T) {
	s := New()
	write := func(index uint64, fn func(tx *Txn) error) uint64 {
		t.Helper()
		if err := s.Write(index, fn); err != nil {
			t.Fatal(err)
		}
		return s.Snapshot().SchedIndex()
	}
	n := &api.Node{ID: "n1", Name: "n1", Status: api.NodeReady, LastHeartbeat: time.Unix(1, 0)}
	for _, step := range []struct {
		what  string
		fn    func(tx *Txn) error
		moves bool
	}{
		{"a node registers", func(tx *Txn) error { c := *n; return tx.PutNode(&c) }, true},
		{"its heartbeat is written", func(tx *Txn) error { c := *n; c.LastHeartbeat = time.Unix(9, 0); return tx.PutNode(&c) }, false},
		{"it starts draining", func(tx *Txn) error { c := *n; c.Drain = &api.Drain{}; return tx.PutNode(&c) }, true},
		{"a job is written", func(tx *Txn) error { return tx.PutJob(&api.Job{ID: "j"}) }, true},
		{"an allocation is placed", func(tx *Txn) error {
			return tx.PutAlloc(&api.Allocation{ID: "a", JobID: "j", NodeID: "n1", State: api.AllocPending, DesiredState: api.DesiredRun})
		}, true},
		{"it runs", func(tx *Txn) error {
			return tx.PutAlloc(&api.Allocation{ID: "a", JobID: "j", NodeID: "n1", State: api.AllocRunning, DesiredState: api.DesiredRun})
		}, false},
		{"it is asked to stop", func(tx *Txn) error {
			return tx.PutAlloc(&api.Allocation{ID: "a", JobID: "j", NodeID: "n1", State: api.AllocRunning, DesiredState: api.DesiredStop})
		}, true},
		{"it ends", func(tx *Txn) error {
			return tx.PutAlloc(&api.Allocation{ID: "a", JobID: "j", NodeID: "n1", State: api.AllocStopped, DesiredState: api.DesiredStop})
		}, true},
		{"a queue is written", func(tx *Txn) error { return tx.PutQueue(&api.Queue{Name: "q"}) }, true},
	} {
		before := s.Snapshot().SchedIndex()
		index := s.Snapshot().Index() + 1
		got := write(index, step.fn)
		if moved := got != before; moved != step.moves || (moved && got != index) {
			t.Errorf("%s: SchedIndex %d -> %d at index %d; want it moved: %v", step.what, before, got, index, step.moves)
		}
	}
}
