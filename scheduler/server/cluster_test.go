package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/phalanx-sched/phalanx/api"
)

// testCluster is n in-process servers on raft's in-memory transport,
// all connected, which a test can partition.
type testCluster struct {
	t       *testing.T
	servers []*Server
	trans   []*raft.InmemTransport
}

func newTestCluster(t *testing.T, n int) *testCluster {
	t.Helper()
	c := &testCluster{t: t}
	var all []api.Server
	for i := 0; i < n; i++ {
		addr, trans := raft.NewInmemTransport("")
		c.trans = append(c.trans, trans)
		all = append(all, api.Server{ID: fmt.Sprintf("s%d", i+1), RaftAddr: string(addr), HTTPAddr: fmt.Sprintf("127.0.0.1:%d", 17400+i)})
	}
	for i, a := range c.trans {
		for j, b := range c.trans {
			if i != j {
				a.Connect(b.LocalAddr(), b)
			}
		}
	}
	for i := 0; i < n; i++ {
		cfg := TestConfig(all[i].ID, c.trans[i])
		cfg.Bootstrap, cfg.HTTPAddr = false, all[i].HTTPAddr
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Shutdown() })
		c.servers = append(c.servers, s)
	}
	for _, s := range c.servers {
		if err := s.Bootstrap(all); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// leader waits for exactly one leader among the servers not in except.
func (c *testCluster) leader(except ...*Server) *Server {
	c.t.Helper()
	skip := map[*Server]bool{}
	for _, s := range except {
		skip[s] = true
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var leaders []*Server
		for _, s := range c.servers {
			if !skip[s] && s.IsLeader() {
				leaders = append(leaders, s)
			}
		}
		if len(leaders) == 1 {
			return leaders[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatal("no single leader")
	return nil
}

// isolate cuts s off from every other server, both ways.
func (c *testCluster) isolate(s *Server) {
	i := c.index(s)
	c.trans[i].DisconnectAll()
	for j, t := range c.trans {
		if j != i {
			t.Disconnect(c.trans[i].LocalAddr())
		}
	}
}

// heal reconnects every server.
func (c *testCluster) heal() {
	for i, a := range c.trans {
		for j, b := range c.trans {
			if i != j {
				a.Connect(b.LocalAddr(), b)
			}
		}
	}
}

func (c *testCluster) index(s *Server) int {
	for i, x := range c.servers {
		if x == s {
			return i
		}
	}
	c.t.Fatal("not a server of this cluster")
	return -1
}

// eventually waits until every given server has job id.
func (c *testCluster) hasJob(id string, servers ...*Server) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range servers {
		for {
			if _, err := s.Job(id); err == nil {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("job %s never reached %s", id, s.cfg.NodeID)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func testSpec(name string) *api.JobSpec {
	return &api.JobSpec{Name: name, Queue: "default", Priority: 50, Groups: []api.Group{
		{Name: "main", Count: 1, Task: api.Task{Image: "img", Resources: api.Resources{CPUMilli: 100, MemoryBytes: 1 << 20}}},
	}}
}

func TestClusterReplicatesAndFailsOver(t *testing.T) {
	c := newTestCluster(t, 3)
	ctx := context.Background()
	old := c.leader()
	st, err := old.SubmitJob(ctx, testSpec("before"), "key-before")
	if err != nil {
		t.Fatal(err)
	}
	c.hasJob(st.ID, c.servers...)
	// Every server learns the leader's HTTP address, to forward to it.
	for _, s := range c.servers {
		deadline := time.Now().Add(5 * time.Second)
		for s.LeaderHTTP() != old.cfg.HTTPAddr {
			if time.Now().After(deadline) {
				t.Fatalf("%s does not know the leader's HTTP address (%q)", s.cfg.NodeID, s.LeaderHTTP())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// Cut the leader off: the others elect a new one, which accepts writes;
	// the old one cannot commit any.
	c.isolate(old)
	now := c.leader(old)
	if _, err := now.SubmitJob(ctx, testSpec("during"), "key-during"); err != nil {
		t.Fatalf("new leader refused a write: %v", err)
	}
	octx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := old.SubmitJob(octx, testSpec("lost"), ""); err == nil {
		t.Fatal("the isolated old leader committed a write")
	} else if !errors.Is(err, api.ErrNotLeader) {
		t.Logf("isolated leader's write failed with %v", err)
	}

	// A retry of the first submission with its key, on the new leader,
	// returns the first job: nothing is created twice across a failover.
	again, err := now.SubmitJob(ctx, testSpec("before"), "key-before")
	if err != nil || again.ID != st.ID {
		t.Fatalf("retry with the same key: %v %v, want job %s", again, err, st.ID)
	}

	// Heal: the old leader follows and has every committed job.
	c.heal()
	deadline := time.Now().Add(10 * time.Second)
	for len(old.Jobs()) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("old leader has %d jobs after healing, want 2", len(old.Jobs()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, j := range old.Jobs() {
		if j.Name == "lost" {
			t.Fatal("the write the isolated leader could not commit survived")
		}
	}
}

func TestMembershipAndLeadershipTransfer(t *testing.T) {
	c := newTestCluster(t, 3)
	ctx := context.Background()
	l := c.leader()
	var target *Server
	for _, s := range c.servers {
		if s != l {
			target = s
			break
		}
	}
	if err := l.TransferLeadership(ctx, target.cfg.NodeID); err != nil {
		t.Fatal(err)
	}
	if got := c.leader(); got != target {
		t.Fatalf("leader is %s, want %s", got.cfg.NodeID, target.cfg.NodeID)
	}
	// Remove a follower; the configuration shrinks to two.
	var gone *Server
	for _, s := range c.servers {
		if s != target {
			gone = s
			break
		}
	}
	if err := target.RemoveServer(ctx, gone.cfg.NodeID); err != nil {
		t.Fatal(err)
	}
	peers, err := target.Peers()
	if err != nil || len(peers) != 2 {
		t.Fatalf("peers after remove: %v %v", peers, err)
	}
	for _, p := range peers {
		if p.ID == gone.cfg.NodeID {
			t.Fatalf("%s still in %v", gone.cfg.NodeID, peers)
		}
		if p.Leader != (p.ID == target.cfg.NodeID) {
			t.Fatalf("leader flag wrong in %v", peers)
		}
	}
	// A follower cannot change membership.
	for _, s := range c.servers {
		if s != target && s != gone {
			if err := s.RemoveServer(ctx, target.cfg.NodeID); !errors.Is(err, api.ErrNotLeader) {
				t.Fatalf("follower removed a server: %v", err)
			}
		}
	}
}

func TestSnapshotSaveAndRestore(t *testing.T) {
	c := newTestCluster(t, 3)
	ctx := context.Background()
	l := c.leader()
	kept, err := l.SubmitJob(ctx, testSpec("kept"), "")
	if err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if err := l.SaveSnapshot(&snap); err != nil {
		t.Fatal(err)
	}
	later, err := l.SubmitJob(ctx, testSpec("later"), "")
	if err != nil {
		t.Fatal(err)
	}
	c.hasJob(later.ID, c.servers...)
	if err := l.RestoreSnapshot(bytes.NewReader(snap.Bytes())); err != nil {
		t.Fatal(err)
	}
	// Every server goes back to the snapshot: the later job is gone.
	for _, s := range c.servers {
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, errKept := s.Job(kept.ID)
			_, errLater := s.Job(later.ID)
			if errKept == nil && errors.Is(errLater, api.ErrNotFound) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s after restore: kept %v, later %v", s.cfg.NodeID, errKept, errLater)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err := l.RestoreSnapshot(bytes.NewReader([]byte("not a snapshot\n"))); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("restore of garbage: %v", err)
	}
	// A damaged body of the right size must be refused before Raft sees
	// it: Raft stops the server on a restore that fails.
	header, body, _ := bytes.Cut(snap.Bytes(), []byte("\n"))
	damaged := append(append(header, '\n'), bytes.Repeat([]byte("x"), len(body))...)
	if err := l.RestoreSnapshot(bytes.NewReader(damaged)); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("restore of a damaged snapshot: %v", err)
	}
	if _, err := l.SubmitJob(ctx, testSpec("after"), ""); err != nil {
		t.Fatalf("the leader did not survive a damaged restore: %v", err)
	}
}
