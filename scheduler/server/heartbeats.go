package server

import (
	"context"
	"log"
	"sync"
	"time"

	"github.com/phalanx-sched/phalanx/api"
	"github.com/phalanx-sched/phalanx/scheduler/fsm"
)

// Heartbeats are the one write executors send all the time: a thousand
// nodes beating every few seconds would be hundreds of Raft entries a
// second, each waking the scheduler. So, as Nomad does, the leader keeps
// the latest heartbeat of each node in memory and writes one through Raft
// only when it changes something others must see: the node was down (it is
// ready again), or the replicated LastHeartbeat is older than
// heartbeatPersist. A new leader starts with no memory and gives every node
// a full TTL from the moment it took over, so nothing is lost by keeping
// liveness out of the log; the replicated LastHeartbeat that `phalanx node
// status` shows may lag by up to heartbeatPersist.
type heartbeats struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// heartbeatPersist is how stale a node's replicated LastHeartbeat may get
// while the leader hears from it: the larger of a minute and twice the TTL.
func (s *Server) heartbeatPersist() time.Duration {
	return max(time.Minute, 2*s.cfg.HeartbeatTTL)
}

func (h *heartbeats) record(nodeID string, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last == nil {
		h.last = map[string]time.Time{}
	}
	if at.After(h.last[nodeID]) {
		h.last[nodeID] = at
	}
}

// latest returns the later of the node's heartbeat in memory and t.
func (h *heartbeats) latest(nodeID string, t time.Time) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.last[nodeID]; m.After(t) {
		return m
	}
	return t
}

// reset forgets everything: a leader starts afresh.
func (h *heartbeats) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last = nil
}

// Heartbeat records that a node is alive (see heartbeats). Writes are
// forwarded to the leader, so this runs there.
func (s *Server) Heartbeat(ctx context.Context, nodeID string) error {
	n, err := s.state.Snapshot().Node(nodeID)
	if err != nil {
		return err
	}
	return s.alive(n)
}

// HeardFrom is Heartbeat for the node's other requests to the leader
// (reports, allocation polls, from its agent): the agent sends a
// heartbeat only when it has sent nothing else for a while. It reports
// whether the request counted: this server leads and knows the node. A
// failure to record it is logged, never the request's.
func (s *Server) HeardFrom(nodeID string) bool {
	if !s.IsLeader() {
		return false // a stale read served here: the leader did not hear it
	}
	n, err := s.state.Snapshot().Node(nodeID)
	if err != nil {
		return false
	}
	if err := s.alive(n); err != nil {
		log.Printf("server: heartbeat of node %s with its request: %v", n.Name, err)
		return false
	}
	return true
}

// alive records a heartbeat of n in memory, and through Raft when the
// node was down or its replicated heartbeat is old.
func (s *Server) alive(n *api.Node) error {
	now := s.cfg.Now()
	s.hb.record(n.ID, now)
	if n.Status == api.NodeReady && now.Sub(n.LastHeartbeat) < s.heartbeatPersist() {
		return nil
	}
	_, err := s.apply(fsm.CmdNodeHeartbeat, &fsm.NodeHeartbeat{NodeID: n.ID, Time: now})
	return err
}

// withHeartbeat is n with the latest heartbeat this server heard, which
// on the leader is newer than the replicated one.
func (s *Server) withHeartbeat(n *api.Node) *api.Node {
	last := s.hb.latest(n.ID, n.LastHeartbeat)
	if last.Equal(n.LastHeartbeat) {
		return n
	}
	cp := *n
	cp.LastHeartbeat = last
	return &cp
}
