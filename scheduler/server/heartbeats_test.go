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

// What its agent sends besides heartbeats (reports, allocation polls:
// the handler calls HeardFrom for them) keeps a node up, and brings back
// one marked down; only the leader counts them.
func TestRequestsOfTheAgentAreHeartbeats(t *testing.T) {
	s, clock := newTestServer(t)
	ctx := context.Background()
	n := &api.Node{ID: "n1", Name: "node-1", Address: "127.0.0.1:7402", Resources: api.Resources{CPUMilli: 1000, MemoryBytes: 1 << 30}}
	if err := s.RegisterNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		clock.Advance(8 * time.Second) // under the 10s TTL each time, far past it in all
		if !s.HeardFrom("n1") {
			t.Fatal("the leader did not count a request of a known node")
		}
		if err := s.checkHeartbeats(t0); err != nil {
			t.Fatal(err)
		}
		if node, _ := s.State().Snapshot().Node("n1"); node.Status != api.NodeReady {
			t.Fatalf("after %v of requests only, the node is %s", 8*time.Second*time.Duration(i+1), node.Status)
		}
	}
	clock.Advance(11 * time.Second)
	if err := s.checkHeartbeats(t0); err != nil {
		t.Fatal(err)
	}
	if node, _ := s.State().Snapshot().Node("n1"); node.Status != api.NodeDown {
		t.Fatalf("a node silent for 11s is %s", node.Status)
	}
	if !s.HeardFrom("n1") {
		t.Fatal("a request of a down node did not count")
	}
	if node, _ := s.State().Snapshot().Node("n1"); node.Status != api.NodeReady {
		t.Fatalf("a down node that is heard again is %s", node.Status)
	}
	if s.HeardFrom("nope") {
		t.Fatal("a request for an unknown node counted")
	}
}
