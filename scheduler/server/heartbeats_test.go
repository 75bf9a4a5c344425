package server

import (
	"context"
	"testing"
	"time"

	"github.com/phalanx-sched/phalanx/api"
)

// Heartbeats keep a node alive without a Raft write each; one is written
// when the replicated heartbeat grows stale, and one brings a down node
// back.
func TestHeartbeatsStayOutOfTheLogUntilTheyMatter(t *testing.T) {
	s, clock := newTestServer(t)
	ctx := context.Background()
	n := &api.Node{ID: "n1", Name: "node-1", Address: "127.0.0.1:7402", Resources: api.Resources{CPUMilli: 1000, MemoryBytes: 1 << 30}}
	if err := s.RegisterNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	index := func() uint64 { return s.State().Snapshot().Index() }
	before := index()
	// Beat every 5 s for 50 s: far past the 10 s TTL, under the persist
	// interval (1 minute).
	for i := 0; i < 10; i++ {
		clock.Advance(5 * time.Second)
		if err := s.Heartbeat(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
		if err := s.checkHeartbeats(t0); err != nil {
			t.Fatal(err)
		}
	}
	if node, _ := s.State().Snapshot().Node("n1"); node.Status != api.NodeReady {
		t.Fatalf("a node beating every 5s is %s", node.Status)
	}
	if got := index(); got != before {
		t.Fatalf("heartbeats within the persist interval wrote %d Raft entries", got-before)
	}
	if got := s.Nodes()[0].LastHeartbeat; !got.Equal(clock.Now()) {
		t.Fatalf("the leader shows last heartbeat %v, want the latest, %v", got, clock.Now())
	}
	// Past the persist interval one beat is written.
	clock.Advance(11 * time.Second)
	if err := s.Heartbeat(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if index() == before {
		t.Fatal("no heartbeat written after the persist interval")
	}
	if node, _ := s.State().Snapshot().Node("n1"); !node.LastHeartbeat.Equal(clock.Now()) {
		t.Fatalf("replicated heartbeat %v, want %v", node.LastHeartbeat, clock.Now())
	}
	// Silent past the TTL: down. The next beat brings it back, through
	// Raft.
	clock.Advance(11 * time.Second)
	if err := s.checkHeartbeats(t0); err != nil {
		t.Fatal(err)
	}
	if node, _ := s.State().Snapshot().Node("n1"); node.Status != api.NodeDown {
		t.Fatalf("a node silent for 11s is %s", node.Status)
	}
	if err := s.Heartbeat(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if node, _ := s.State().Snapshot().Node("n1"); node.Status != api.NodeReady {
		t.Fatalf("a down node that beats again is %s", node.Status)
	}
}

// A node's reports and allocation polls are heartbeats too: a busy node
// that sends nothing else stays up, and one marked down comes back with
// its next poll.
func TestReportsAndPollsAreHeartbeats(t *testing.T) {
	s, clock := newTestServer(t)
	ctx := context.Background()
	n := &api.Node{ID: "n1", Name: "node-1", Address: "127.0.0.1:7402", Resources: api.Resources{CPUMilli: 1000, MemoryBytes: 1 << 30}}
	if err := s.RegisterNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	poll := func() {
		t.Helper()
		done, cancel := context.WithCancel(ctx)
		cancel() // answer at once
		if _, err := s.NodeAllocations(done, "n1", 0); err != nil {
			t.Fatal(err)
		}
	}
	report := func() {
		t.Helper()
		// An allocation the servers do not know: the report changes
		// nothing, but it was heard.
		if err := s.UpdateAllocations(ctx, []api.AllocUpdate{{ID: "gone", NodeID: "n1", State: api.AllocRunning, Time: clock.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 6; i++ {
		clock.Advance(8 * time.Second) // under the 10s TTL each time, far past it in all
		if i%2 == 0 {
			poll()
		} else {
			report()
		}
		if err := s.checkHeartbeats(t0); err != nil {
			t.Fatal(err)
		}
		if node, _ := s.State().Snapshot().Node("n1"); node.Status != api.NodeReady {
			t.Fatalf("after %v of reports and polls only, the node is %s", 8*time.Second*time.Duration(i+1), node.Status)
		}
	}
	clock.Advance(11 * time.Second)
	if err := s.checkHeartbeats(t0); err != nil {
		t.Fatal(err)
	}
	if node, _ := s.State().Snapshot().Node("n1"); node.Status != api.NodeDown {
		t.Fatalf("a node silent for 11s is %s", node.Status)
	}
	poll()
	if node, _ := s.State().Snapshot().Node("n1"); node.Status != api.NodeReady {
		t.Fatalf("a down node that polls again is %s", node.Status)
	}
}
